import PlumbCore
import PlumbFlight
import PlumbHAL
import PlumbLinux
import PlumbVehicle

/// The MAVLink 2 link to the autopilot over UDP, around the sans-I/O bridge.
struct AutopilotRuntime {
    let socket: UDPSocket
    /// The autopilot's address; learnt from the first datagram when not configured.
    var peer: NetAddress?
    var bridge: AutopilotBridge
    var rx: [UInt8]
    var tx: [UInt8]
    var sendFailures = 0

    static func start(config: PlumbConfig, log: Log) -> AutopilotRuntime? {
        guard let listen = NetAddress.parse(config.autopilot.listen) else { return nil }
        do {
            let s = try UDPSocket(bind: listen)
            log.info("autopilot: MAVLink 2 (\(config.flight.autopilot)) on udp \(config.autopilot.listen)" +
                     (config.autopilot.address.isEmpty ? "" : " to \(config.autopilot.address)"))
            return AutopilotRuntime(socket: s, peer: NetAddress.parse(config.autopilot.address),
                                    bridge: AutopilotBridge(flavor: config.flight.autopilot, config: config.autopilot),
                                    rx: [UInt8](repeating: 0, count: 2048), tx: reserved(1024), sendFailures: 0)
        } catch {
            log.error("autopilot: cannot open udp \(config.autopilot.listen): \(describe(error))")
            return nil
        }
    }

    /// Drains the socket (bounded).
    mutating func readable(nowNs: UInt64) {
        for _ in 0..<64 {
            let r = socket.receive(into: &rx)
            guard case .datagram(let count, let from) = r else {
                if case .none = r { return }
                continue
            }
            if peer == nil { peer = from }
            rx.withUnsafeBytes { bridge.receive(UnsafeRawBufferPointer(rebasing: $0[0..<count]), nowNs: nowNs) }
        }
    }

    /// Hands the tick's outputs over and sends what is due.
    mutating func send(_ o: FlightOutputs, nowNs: UInt64) {
        bridge.apply(o, nowNs: nowNs)
        tx.removeAll(keepingCapacity: true)
        bridge.poll(nowNs: nowNs, into: &tx)
        guard !tx.isEmpty, let to = peer else { return }
        var failed = false
        tx.withUnsafeBytes { b in
            do throws(IOError) {
                try socket.send(b, to: to)
            } catch {
                failed = true
            }
        }
        if failed { sendFailures += 1 }
    }
}

func reserved(_ n: Int) -> [UInt8] {
    var a: [UInt8] = []
    a.reserveCapacity(n)
    return a
}
