import PlumbCore
import PlumbFlight
import PlumbLink

/// Connects the flight code's requests and view to the MAVLink link (ArduPilot or PX4).
public struct AutopilotBridge {
    public private(set) var link: AutopilotLink

    public init(flavor: String, config: AutopilotConfig) {
        link = AutopilotLink(flavor: flavor == "px4" ? .px4 : .ardupilot,
                             systemId: UInt8(clamping: config.systemID), componentId: UInt8(clamping: config.componentID),
                             targetSystem: UInt8(clamping: config.targetSystem),
                             targetComponent: UInt8(clamping: config.targetComponent))
    }

    public mutating func receive(_ bytes: UnsafeRawBufferPointer, nowNs: UInt64) {
        link.receive(bytes, nowNs: nowNs)
    }

    public mutating func receive(_ bytes: [UInt8], nowNs: UInt64) {
        link.receive(bytes, nowNs: nowNs)
    }

    /// What the flight code sees of the autopilot.
    public func view(nowNs: UInt64) -> AutopilotView {
        let s = link.state
        var v = AutopilotView()
        v.connected = link.connected(nowNs: nowNs)
        v.armed = s.armed
        v.guided = s.mode == .guided
        v.landing = s.mode == .land
        v.landedState = s.landedState
        v.position = NED(Double(s.position.n), Double(s.position.e), Double(s.position.d))
        v.velocity = NED(Double(s.velocity.n), Double(s.velocity.e), Double(s.velocity.d))
        v.positionNs = s.positionNs
        v.throttle = Double(s.throttlePercent) / 100
        if s.windNs != 0 && nowNs &- s.windNs < 5_000_000_000 {
            if let w = s.windVector {
                v.wind = NED(Double(w.n), Double(w.e), 0)
            } else {
                let to = (Double(s.windFromDeg) + 180) * Math.pi / 180
                v.wind = NED(Double(s.windSpeed) * Math.cos(to), Double(s.windSpeed) * Math.sin(to), 0)
            }
        }
        switch link.commandStatus {
        case .idle: v.lastCommandAccepted = nil
        case .waiting: v.commandPending = true
        case .accepted: v.lastCommandAccepted = true
        case .rejected, .timedOut: v.lastCommandAccepted = false
        }
        return v
    }

    /// Hands the tick's requests to the link (the setpoint is streamed by `poll`).
    public mutating func apply(_ o: FlightOutputs, nowNs: UInt64) {
        if let c = o.command {
            switch c {
            case .arm: link.command(.arm, nowNs: nowNs)
            case .disarm: link.command(.disarm, nowNs: nowNs)
            case .takeoff(let alt): link.command(.takeoff(altitudeM: Float(alt)), nowNs: nowNs)
            case .mode(let m):
                switch m {
                case .guided: link.command(.setMode(.guided), nowNs: nowNs)
                case .land: link.command(.land, nowNs: nowNs)
                case .hold: link.command(.setMode(.hold), nowNs: nowNs)
                case .returnHome: link.command(.returnHome, nowNs: nowNs)
                }
            }
        }
        if let p = o.setpoint {
            let v = o.setpointVelocity
            let hasV = v.n != 0 || v.e != 0 || v.d != 0
            link.setpoint(position: (Float(p.n), Float(p.e), Float(p.d)),
                          velocity: hasV ? (Float(v.n), Float(v.e), Float(v.d)) : nil, yawRad: nil, nowNs: nowNs)
        } else {
            link.clearSetpoint()
        }
    }

    public mutating func poll(nowNs: UInt64, into out: inout [UInt8]) {
        link.poll(nowNs: nowNs, into: &out)
    }
}
