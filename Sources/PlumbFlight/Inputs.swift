import PlumbCore

// What the flight code sees in one tick and what it asks for. Plain values: the
// drivers fill a snapshot, the flight code returns outputs, nothing else crosses.

/// A GNSS navigation solution as the flight code needs it.
public struct GNSSFix: Equatable {
    public var position: GeoPoint
    public var velocity: NED
    /// 0 no fix, 2 2-D, 3 3-D, 4 GNSS + dead reckoning.
    public var fixType: UInt8
    /// 0 none, 1 RTK float, 2 RTK fixed.
    public var carrierSolution: UInt8
    public var hAccM: Double
    public var vAccM: Double
    public var satellites: Int
    /// When the position was true on our monotonic clock (read time minus the
    /// receiver's latency).
    public var validNs: UInt64

    public init(position: GeoPoint, velocity: NED, fixType: UInt8, carrierSolution: UInt8,
                hAccM: Double, vAccM: Double, satellites: Int, validNs: UInt64) {
        self.position = position
        self.velocity = velocity
        self.fixType = fixType
        self.carrierSolution = carrierSolution
        self.hAccM = hAccM
        self.vAccM = vAccM
        self.satellites = satellites
        self.validNs = validNs
    }

    public var usable: Bool { fixType >= 3 && fixType <= 4 }
    public var rtkFixed: Bool { usable && carrierSolution == 2 }
}

/// One tick's sensor readings, each with its health.
public struct SensorSnapshot: Equatable {
    public var nowNs: UInt64 = 0

    public var batteryOK = false
    public var batteryVoltageV: Double = 0
    /// Positive while discharging.
    public var batteryCurrentA: Double = 0
    public var batterySoCPct: Double = 0
    public var batteryRemainingAh: Double = 0
    public var batteryFullAh: Double = 0
    public var batteryTemperatureC: Double = 20

    public var gnssOK = false
    public var gnss: GNSSFix? = nil
    /// True in the tick a new solution arrived.
    public var gnssNew = false

    public var encoderOK = false
    public var ropeOutM: Double = 0
    public var ropeSpeedMps: Double = 0
    public var tensionOK = false
    public var tensionN: Double = 0
    /// nil when the board has no such switch or it cannot be read.
    public var hookLatched: Bool? = nil
    public var drumHome: Bool? = nil

    /// The camera's newest sightings since the last tick (none without a camera).
    public var vision = VisionInbox()

    public init() {}
}

/// Flight modes the flight code asks of the autopilot, independent of its flavour.
public enum AutopilotModeRequest: Equatable {
    case guided, land, hold, returnHome
}

/// What the autopilot reports, reduced to what the flight code uses.
public struct AutopilotView: Equatable {
    public var connected = false
    public var armed = false
    public var guided = false
    public var landing = false
    /// MAV_LANDED_STATE: 0 unknown, 1 on ground, 2 in air, 3 taking off, 4 landing.
    public var landedState: UInt8 = 0
    public var position = NED.zero
    public var velocity = NED.zero
    /// Time the local position was received (our clock); 0 = never.
    public var positionNs: UInt64 = 0
    /// Throttle 0...1 (VFR_HUD).
    public var throttle: Double = 0
    /// The autopilot's wind estimate as the air's velocity (north, east, m/s); nil when it
    /// sends none (or it is older than 5 s).
    public var wind: NED? = nil
    /// Outcome of the last command: nil none/pending, true accepted, false refused/timed out.
    public var lastCommandAccepted: Bool? = nil
    public var commandPending = false

    public init() {}
}

/// One command to the autopilot.
public enum FlightCommand: Equatable {
    case arm, disarm, takeoff(altitudeM: Double), mode(AutopilotModeRequest)
}

/// What the flight code asks for in one tick.
public struct FlightOutputs: Equatable {
    /// A command to send (nil: none this tick).
    public var command: FlightCommand? = nil
    /// Position setpoint in the autopilot's local frame and a velocity feed-forward.
    public var setpoint: NED? = nil
    public var setpointVelocity = NED.zero
    /// Winch drum speed demand, −1 (reel in at full speed) ... +1 (pay out at full speed).
    public var winch: Double = 0
    public var brake = true
    public var hookOpen = false
    /// Ask the rope cutter to arm and then fire (two-step; the driver enforces the delay).
    public var cutRope = false

    public init() {}
}
