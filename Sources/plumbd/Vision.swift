import PlumbCore
import PlumbHAL
import PlumbFlight
import PlumbLinux
import PlumbVehicle

/// The camera process's sightings over local UDP (docs/vision.md): decoded as they arrive
/// and handed to the next tick. A bad datagram is counted and dropped; the count is
/// logged at most every 10 s.
struct VisionRuntime {
    let socket: UDPSocket
    var rx: [UInt8]
    var received = 0
    var bad = 0
    var lastBadLogNs: UInt64 = 0

    static func start(config: PlumbConfig, log: Log) -> VisionRuntime? {
        guard !config.visionListen.isEmpty, let listen = NetAddress.parse(config.visionListen) else { return nil }
        do {
            let s = try UDPSocket(bind: listen)
            log.info("vision: camera sightings on udp \(config.visionListen)")
            return VisionRuntime(socket: s, rx: [UInt8](repeating: 0, count: 256))
        } catch {
            log.warning("vision: cannot open udp \(config.visionListen): \(describe(error)); flying without the camera")
            return nil
        }
    }

    /// Drains the socket (bounded) into the vehicle's inbox.
    mutating func readable(into inbox: inout VisionInbox, nowNs: UInt64, log: Log) {
        for _ in 0..<64 {
            let r = socket.receive(into: &rx)
            guard case .datagram(let count, _) = r else {
                if case .none = r { return }
                continue
            }
            let decoded = rx.withUnsafeBytes { VisionDatagram.decode(UnsafeRawBufferPointer(rebasing: $0[0..<min(count, $0.count)])) }
            switch decoded {
            case .success(let s):
                received += 1
                inbox.put(s)
            case .failure:
                bad += 1
                if lastBadLogNs == 0 || nowNs &- lastBadLogNs > 10_000_000_000 {
                    lastBadLogNs = nowNs
                    log.warning("vision: \(bad) malformed datagram(s) dropped so far")
                }
            }
        }
    }
}
