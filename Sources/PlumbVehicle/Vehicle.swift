import PlumbCore
import PlumbDevices
import PlumbFlight
import PlumbHAL

/// One control tick, the same in the daemon and in the in-process HIL: drivers → one
/// snapshot → mission (estimator, controllers, failsafes) → winch, hook and cutter
/// outputs. The autopilot's side (MAVLink) is handled by the caller with the returned
/// outputs, so that this stays free of I/O beyond the board's own devices.
public struct Vehicle<Bus: I2CBus, Input: GPIOInput, Output: GPIOOutput> {
    public var devices: DeviceRuntime<Bus, Input, Output>
    public var mission: Mission
    public private(set) var snapshot = SensorSnapshot()
    public private(set) var outputs = FlightOutputs()
    /// PWM channel numbers of the winch motor and the hook servo (nil: not wired).
    public let winchChannel: PWMChannelSpec?
    public let hookChannel: PWMChannelSpec?
    public let brake: Output?
    /// Hook servo pulse that opens the hook, µs.
    public var hookOpenUs: UInt16 = 1900
    private var lastGNSSNs: UInt64 = 0
    /// The camera's sightings received since the last tick; the next tick hands them over.
    public var visionInbox = VisionInbox()
    private var winchPulse: UInt16 = 0
    private var hookPulse: UInt16 = 0
    private var brakeLevel: Bool? = nil
    private var cutterFired = false
    /// Actuator writes that failed (the next tick tries again).
    public private(set) var actuatorErrors = 0

    public init(devices: DeviceRuntime<Bus, Input, Output>, mission: Mission, board: BoardDescription,
                outputs: [Output], outputRoles: [String]) {
        self.devices = devices
        self.mission = mission
        var w: PWMChannelSpec? = nil
        var h: PWMChannelSpec? = nil
        for p in board.pwm {
            if p.role == "winch_motor" { w = p }
            if p.role == "hook_servo" { h = p }
        }
        winchChannel = w
        hookChannel = h
        var b: Output? = nil
        for (i, role) in outputRoles.enumerated() where role == "brake" { b = outputs[i] }
        brake = b
    }

    public mutating func tick(_ n: UInt64, nowNs: UInt64, autopilot: AutopilotView) -> FlightOutputs {
        devices.tick(n, nowNs: nowNs)
        devices.snapshot(nowNs: nowNs, into: &snapshot, lastGNSSNs: &lastGNSSNs)
        snapshot.vision = visionInbox
        visionInbox = VisionInbox()
        outputs = mission.step(snapshot, autopilot)
        actuate(nowNs: nowNs)
        return outputs
    }

    /// Winch motor (bidirectional ESC around the safe pulse), hook servo, brake, cutter.
    mutating func actuate(nowNs: UInt64) {
        let o = outputs
        // Mutated in place (a copy would share, then copy, the driver's pulse array).
        if devices.pwm != nil {
            if let w = winchChannel {
                let mid = Double(w.safePulseUs)
                let span = o.winch >= 0 ? Double(w.maxPulseUs) - mid : mid - Double(w.minPulseUs)
                let demand = o.brake ? 0 : Math.clamp(o.winch, -1, 1)
                let us = UInt16(Math.clamp((mid + demand * span).rounded(), Double(w.minPulseUs), Double(w.maxPulseUs)))
                if us != winchPulse {
                    if devices.pwm?.setPulse(channel: w.channel, us: us, nowNs: nowNs) == true { winchPulse = us } else { actuatorErrors += 1 }
                }
            }
            if let h = hookChannel {
                let us = o.hookOpen ? min(hookOpenUs, h.maxPulseUs) : h.safePulseUs
                if us != hookPulse {
                    if devices.pwm?.setPulse(channel: h.channel, us: us, nowNs: nowNs) == true { hookPulse = us } else { actuatorErrors += 1 }
                }
            }
        }
        if let b = brake, brakeLevel != o.brake {
            do throws(GPIOError) {
                try b.set(o.brake)
                brakeLevel = o.brake
            } catch {
                actuatorErrors += 1
            }
        }
        if var c = devices.cutter {
            if o.cutRope && !cutterFired {
                switch c.state {
                case .safe:
                    do throws(RopeCutter<Output>.Failure) { try c.armCutter(nowNs: nowNs) } catch { actuatorErrors += 1 }
                case .armed:
                    do throws(RopeCutter<Output>.Failure) {
                        try c.fireCutter(nowNs: nowNs)
                        cutterFired = true
                    } catch {
                        // Not yet past the arm delay: try again next tick.
                    }
                case .firing: break
                }
            }
            if !o.cutRope { cutterFired = false }
            c.update(nowNs: nowNs)
            devices.cutter = c
        }
    }
}
