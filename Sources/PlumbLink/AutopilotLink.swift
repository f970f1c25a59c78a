// The companion computer's end of the MAVLink link to the flight controller (ArduPilot in
// GUIDED, or PX4 in OFFBOARD). Sans-I/O: it takes received bytes and the time, and appends
// what is due to an output array. It never reads a clock or a socket.

/// Which flight-control firmware is on the other end; it decides how modes are numbered.
public enum AutopilotFlavor: Equatable, Sendable {
    case ardupilot, px4
}

/// The flight modes the companion cares about, independent of the firmware.
public enum AutopilotMode: Equatable, Sendable {
    /// ArduPilot GUIDED, PX4 OFFBOARD: the companion's setpoints fly the vehicle.
    case guided
    /// The autopilot's own vertical landing.
    case land
    /// Hold position (ArduPilot LOITER, PX4 AUTO.LOITER "Hold").
    case hold
    /// Return to launch and land there.
    case returnHome
    /// Any other mode.
    case other
}

/// ArduCopter custom_mode numbers (HEARTBEAT.custom_mode, DO_SET_MODE param2).
public enum ArduCopterModeNumber {
    public static let stabilize: UInt32 = 0
    public static let auto: UInt32 = 3
    public static let guided: UInt32 = 4
    public static let loiter: UInt32 = 5
    public static let rtl: UInt32 = 6
    public static let land: UInt32 = 9
    public static let brake: UInt32 = 17
}

/// PX4 custom modes: custom_mode = main_mode << 16 | sub_mode << 24.
public enum PX4ModeNumber {
    public static let mainManual: UInt32 = 1
    public static let mainAltitude: UInt32 = 2
    public static let mainPosition: UInt32 = 3
    public static let mainAuto: UInt32 = 4
    public static let mainAcro: UInt32 = 5
    public static let mainOffboard: UInt32 = 6
    public static let mainStabilized: UInt32 = 7

    public static let subAutoReady: UInt32 = 1
    public static let subAutoTakeoff: UInt32 = 2
    public static let subAutoLoiter: UInt32 = 3
    public static let subAutoMission: UInt32 = 4
    public static let subAutoRTL: UInt32 = 5
    public static let subAutoLand: UInt32 = 6
    public static let subAutoPrecisionLand: UInt32 = 9

    public static func customMode(main: UInt32, sub: UInt32) -> UInt32 { (main & 0xFF) << 16 | (sub & 0xFF) << 24 }
    public static func main(of customMode: UInt32) -> UInt32 { (customMode >> 16) & 0xFF }
    public static func sub(of customMode: UInt32) -> UInt32 { (customMode >> 24) & 0xFF }
}

extension AutopilotFlavor {
    /// MAV_AUTOPILOT value this firmware reports in its heartbeat.
    public var autopilotType: UInt8 {
        switch self {
        case .ardupilot: return MAVAutopilot.ardupilotmega
        case .px4: return MAVAutopilot.px4
        }
    }

    /// The custom_mode this firmware reports for `mode`; nil for `.other`.
    public func customMode(for mode: AutopilotMode) -> UInt32? {
        switch self {
        case .ardupilot:
            switch mode {
            case .guided: return ArduCopterModeNumber.guided
            case .land: return ArduCopterModeNumber.land
            case .hold: return ArduCopterModeNumber.loiter
            case .returnHome: return ArduCopterModeNumber.rtl
            case .other: return nil
            }
        case .px4:
            switch mode {
            case .guided: return PX4ModeNumber.customMode(main: PX4ModeNumber.mainOffboard, sub: 0)
            case .land: return PX4ModeNumber.customMode(main: PX4ModeNumber.mainAuto, sub: PX4ModeNumber.subAutoLand)
            case .hold: return PX4ModeNumber.customMode(main: PX4ModeNumber.mainAuto, sub: PX4ModeNumber.subAutoLoiter)
            case .returnHome: return PX4ModeNumber.customMode(main: PX4ModeNumber.mainAuto, sub: PX4ModeNumber.subAutoRTL)
            case .other: return nil
            }
        }
    }

    /// The mode a heartbeat's custom_mode means for this firmware.
    public func mode(customMode: UInt32) -> AutopilotMode {
        switch self {
        case .ardupilot:
            switch customMode {
            case ArduCopterModeNumber.guided: return .guided
            case ArduCopterModeNumber.land: return .land
            case ArduCopterModeNumber.loiter: return .hold
            case ArduCopterModeNumber.rtl: return .returnHome
            default: return .other
            }
        case .px4:
            let main = PX4ModeNumber.main(of: customMode)
            let sub = PX4ModeNumber.sub(of: customMode)
            if main == PX4ModeNumber.mainOffboard { return .guided }
            guard main == PX4ModeNumber.mainAuto else { return .other }
            switch sub {
            case PX4ModeNumber.subAutoLand, PX4ModeNumber.subAutoPrecisionLand: return .land
            case PX4ModeNumber.subAutoLoiter: return .hold
            case PX4ModeNumber.subAutoRTL: return .returnHome
            default: return .other
            }
        }
    }

    /// DO_SET_MODE parameters for `mode`: param1 base mode (custom-mode flag), param2 the
    /// ArduPilot mode number or PX4 main mode, param3 the PX4 sub mode. nil for `.other`.
    public func setModeParameters(for mode: AutopilotMode) -> (param1: Float, param2: Float, param3: Float)? {
        guard let custom = customMode(for: mode) else { return nil }
        let base = Float(MAVModeFlag.customModeEnabled)
        switch self {
        case .ardupilot:
            return (base, Float(custom), 0)
        case .px4:
            return (base, Float(PX4ModeNumber.main(of: custom)), Float(PX4ModeNumber.sub(of: custom)))
        }
    }
}

/// A vector in the autopilot's local NED frame (m or m/s), as sent on the wire.
public struct LocalNED: Equatable, Sendable {
    public var n: Float
    public var e: Float
    public var d: Float

    public init(_ n: Float, _ e: Float, _ d: Float) {
        self.n = n
        self.e = e
        self.d = d
    }

    public static let zero = LocalNED(0, 0, 0)
}

/// What the flight controller has told us, with the times (our clock) things arrived.
public struct AutopilotState: Equatable, Sendable {
    /// A heartbeat from the autopilot has been received at least once.
    public var heartbeatSeen = false
    public var lastHeartbeatNs: UInt64 = 0
    public var armed = false
    public var mode: AutopilotMode = .other
    public var customMode: UInt32 = 0
    public var baseMode: UInt8 = 0
    /// MAV_STATE.
    public var systemStatus: UInt8 = 0
    /// MAV_TYPE and MAV_AUTOPILOT from the heartbeat.
    public var vehicleType: UInt8 = 0
    public var autopilotType: UInt8 = 0
    /// MAV_LANDED_STATE from EXTENDED_SYS_STATE (0 until one arrives).
    public var landedState: UInt8 = 0
    public var landedStateNs: UInt64 = 0

    /// LOCAL_POSITION_NED.
    public var position = LocalNED.zero
    public var velocity = LocalNED.zero
    public var positionTimeBootMs: UInt32 = 0
    /// When the local position arrived (our clock); 0 = never.
    public var positionNs: UInt64 = 0

    /// GLOBAL_POSITION_INT: degrees × 1e7, mm above mean sea level, mm above home.
    public var latE7: Int32 = 0
    public var lonE7: Int32 = 0
    public var altMm: Int32 = 0
    public var relativeAltMm: Int32 = 0
    /// When the global position arrived (our clock); 0 = never.
    public var globalNs: UInt64 = 0

    /// VFR_HUD throttle, percent.
    public var throttlePercent: UInt16 = 0

    /// The setpoint the autopilot reports using (POSITION_TARGET_LOCAL_NED), if any.
    public var positionTarget: MAVLocalTarget? = nil

    /// STATUSTEXT messages received, and the severity of the last.
    public var statusTexts: UInt32 = 0
    public var lastStatusSeverity: UInt8 = 0

    /// Frames accepted by the parser (from anyone), checksum failures, and frames from
    /// systems or components other than the autopilot (not acted on).
    public var framesReceived: UInt32 = 0
    public var crcErrors: UInt32 = 0
    public var framesIgnored: UInt32 = 0
    /// The autopilot's wind estimate: WIND (from-direction and speed) or WIND_COV (the air's
    /// velocity, north/east/down); `windNs` = 0 when none has arrived.
    public var windFromDeg: Float = 0
    public var windSpeed: Float = 0
    public var windVector: LocalNED? = nil
    public var windNs: UInt64 = 0

    public init() {}
}

/// A command to the autopilot.
public enum AutopilotCommand: Equatable, Sendable {
    case arm
    case disarm
    case setMode(AutopilotMode)
    /// Climb to this height above home (ArduPilot: in GUIDED; PX4: switches to AUTO.TAKEOFF).
    case takeoff(altitudeM: Float)
    /// Switch to the autopilot's own landing (MAV_CMD_NAV_LAND).
    case land
    /// Return to launch (MAV_CMD_NAV_RETURN_TO_LAUNCH).
    case returnHome
}

/// Where the outstanding (or last) command stands.
public enum CommandStatus: Equatable, Sendable {
    case idle
    case waiting(AutopilotCommand)
    case accepted(AutopilotCommand)
    /// Refused with this MAV_RESULT.
    case rejected(AutopilotCommand, UInt8)
    case timedOut(AutopilotCommand)
}

/// The companion computer's side of the MAVLink link to the flight controller.
public struct AutopilotLink {
    /// Output bytes one `poll` can append at most (heartbeat, a command, a setpoint); an
    /// output array with this much spare capacity is never reallocated.
    public static let maxPollBytes = 160
    public static let heartbeatPeriodNs: UInt64 = 1_000_000_000

    public let flavor: AutopilotFlavor
    public let systemId: UInt8
    public let componentId: UInt8
    public let targetSystem: UInt8
    public let targetComponent: UInt8
    public let commandRetryNs: UInt64
    public let maxCommandAttempts: Int
    public let heartbeatLossNs: UInt64

    public private(set) var state = AutopilotState()
    public private(set) var commandStatus: CommandStatus = .idle
    /// Transmissions of the current command so far.
    public private(set) var commandAttempts = 0
    /// The setpoint streamed on every poll (nil: none).
    public private(set) var currentSetpoint: MAVSetPositionTargetLocalNED? = nil
    /// The parser's counters (bytes discarded, MAVLink 1 frames skipped, ...).
    public var parserStats: MAVLinkParserStats { parser.stats }
    public var framesSent: UInt32 { sender.framesSent }

    private var parser = MAVLinkParser()
    private var sender: MAVLinkSender
    private var pendingCommand = MAVCommandLong(targetSystem: 0, targetComponent: 0, command: 0)
    private var nextCommandNs: UInt64 = 0
    /// The autopilot answered IN_PROGRESS: stop resending, wait for the final answer.
    private var commandInProgress = false
    private var nextHeartbeatNs: UInt64 = 0
    private var originNs: UInt64 = 0
    private var originSet = false

    public init(flavor: AutopilotFlavor, systemId: UInt8 = 1, componentId: UInt8 = 191,
                targetSystem: UInt8 = 1, targetComponent: UInt8 = 1,
                commandRetryNs: UInt64 = 500_000_000, maxCommandAttempts: Int = 5,
                heartbeatLossNs: UInt64 = 1_500_000_000) {
        self.flavor = flavor
        self.systemId = systemId
        self.componentId = componentId
        self.targetSystem = targetSystem
        self.targetComponent = targetComponent
        self.commandRetryNs = commandRetryNs
        self.maxCommandAttempts = max(1, maxCommandAttempts)
        self.heartbeatLossNs = heartbeatLossNs
        self.sender = MAVLinkSender(systemId: systemId, componentId: componentId)
    }

    // MARK: Time

    /// The link's time origin is the first time it is given; time_boot_ms counts from there.
    private mutating func note(_ nowNs: UInt64) {
        if !originSet {
            originSet = true
            originNs = nowNs
        }
    }

    private func bootMs(_ nowNs: UInt64) -> UInt32 {
        let elapsed = nowNs >= originNs ? nowNs - originNs : 0
        return UInt32(truncatingIfNeeded: elapsed / 1_000_000)
    }

    /// A heartbeat from the autopilot arrived within `heartbeatLossNs`.
    public func connected(nowNs: UInt64) -> Bool {
        guard state.heartbeatSeen else { return false }
        if nowNs < state.lastHeartbeatNs { return true }
        return nowNs - state.lastHeartbeatNs <= heartbeatLossNs
    }

    // MARK: Receiving

    /// Takes bytes from the autopilot's link (any chunking; frames may span calls).
    public mutating func receive(_ bytes: UnsafeRawBufferPointer, nowNs: UInt64) {
        note(nowNs)
        var offset = 0
        while let p = parser.parse(bytes, offset: &offset) {
            handle(p, nowNs: nowNs)
        }
        state.framesReceived = parser.stats.frames
        state.crcErrors = parser.stats.crcErrors
    }

    public mutating func receive(_ bytes: ArraySlice<UInt8>, nowNs: UInt64) {
        bytes.withUnsafeBytes { receive($0, nowNs: nowNs) }
    }

    public mutating func receive(_ bytes: [UInt8], nowNs: UInt64) {
        bytes.withUnsafeBytes { receive($0, nowNs: nowNs) }
    }

    private mutating func handle(_ p: MAVLinkPacket, nowNs: UInt64) {
        guard p.systemId == targetSystem && (targetComponent == 0 || p.componentId == targetComponent) else {
            state.framesIgnored &+= 1
            return
        }
        switch p.message {
        case .heartbeat(let h):
            // Other components of the vehicle (cameras, gimbals, companions) say INVALID.
            guard h.autopilot != MAVAutopilot.invalid else {
                state.framesIgnored &+= 1
                return
            }
            state.heartbeatSeen = true
            state.lastHeartbeatNs = nowNs
            state.armed = h.baseMode & MAVModeFlag.safetyArmed != 0
            state.baseMode = h.baseMode
            state.customMode = h.customMode
            state.mode = h.baseMode & MAVModeFlag.customModeEnabled != 0 ? flavor.mode(customMode: h.customMode) : .other
            state.systemStatus = h.systemStatus
            state.vehicleType = h.type
            state.autopilotType = h.autopilot
        case .localPositionNED(let m):
            state.position = LocalNED(m.x, m.y, m.z)
            state.velocity = LocalNED(m.vx, m.vy, m.vz)
            state.positionTimeBootMs = m.timeBootMs
            state.positionNs = nowNs
        case .globalPositionInt(let m):
            state.latE7 = m.lat
            state.lonE7 = m.lon
            state.altMm = m.alt
            state.relativeAltMm = m.relativeAlt
            state.globalNs = nowNs
        case .vfrHUD(let m):
            state.throttlePercent = m.throttle
        case .extendedSysState(let m):
            state.landedState = m.landedState
            state.landedStateNs = nowNs
        case .positionTargetLocalNED(let m):
            state.positionTarget = m.target
        case .statusText(let m):
            state.statusTexts &+= 1
            state.lastStatusSeverity = m.severity
        case .commandAck(let a):
            acknowledge(a, nowNs: nowNs)
        case .wind(let m):
            // Where it comes from (degrees) and how fast: as the velocity of the air.
            state.windFromDeg = m.direction
            state.windSpeed = m.speed
            state.windVector = nil
            state.windNs = nowNs
        case .windCov(let m):
            state.windVector = LocalNED(m.windX, m.windY, m.windZ)
            state.windNs = nowNs
        case .commandLong, .setPositionTargetLocalNED, .landingTarget, .unknown:
            break
        }
    }

    private mutating func acknowledge(_ a: MAVCommandAck, nowNs: UInt64) {
        guard case .waiting(let c) = commandStatus, a.command == pendingCommand.command else { return }
        // The addressee fields are an extension: zero when the autopilot leaves them out.
        if a.targetSystem != 0 && a.targetSystem != systemId { return }
        if a.targetComponent != 0 && a.targetComponent != componentId { return }
        switch a.result {
        case MAVResult.accepted:
            commandStatus = .accepted(c)
        case MAVResult.inProgress:
            // Stop resending; give the autopilot the whole retry budget for its final answer.
            commandInProgress = true
            nextCommandNs = nowNs &+ commandRetryNs &* UInt64(maxCommandAttempts)
        default:
            commandStatus = .rejected(c, a.result)
        }
    }

    // MARK: Commands

    /// Starts a command, replacing any outstanding one. It goes out on the next `poll` and is
    /// resent every `commandRetryNs` until acknowledged or `maxCommandAttempts` were sent.
    public mutating func command(_ c: AutopilotCommand, nowNs: UInt64) {
        note(nowNs)
        guard let long = commandLong(for: c) else {
            commandStatus = .rejected(c, MAVResult.unsupported)
            return
        }
        pendingCommand = long
        commandStatus = .waiting(c)
        commandAttempts = 0
        commandInProgress = false
        nextCommandNs = nowNs
    }

    /// Forgets the outstanding command (no more resends) and returns to `.idle`.
    public mutating func cancelCommand() {
        commandStatus = .idle
        commandAttempts = 0
        commandInProgress = false
    }

    /// The COMMAND_LONG that carries `c` to this flavour of autopilot; nil if it cannot.
    public func commandLong(for c: AutopilotCommand) -> MAVCommandLong? {
        var m = MAVCommandLong(targetSystem: targetSystem, targetComponent: targetComponent, command: 0)
        let nan = Float.nan
        switch c {
        case .arm:
            m.command = MAVCmd.componentArmDisarm
            m.param1 = 1
        case .disarm:
            m.command = MAVCmd.componentArmDisarm
            m.param1 = 0
        case .setMode(let mode):
            guard let p = flavor.setModeParameters(for: mode) else { return nil }
            m.command = MAVCmd.doSetMode
            m.param1 = p.param1
            m.param2 = p.param2
            m.param3 = p.param3
        case .takeoff(let altitudeM):
            m.command = MAVCmd.navTakeoff
            switch flavor {
            case .ardupilot:
                // ArduPilot reads param7 as the height above home.
                m.param7 = altitudeM
            case .px4:
                // PX4 reads param7 as altitude above mean sea level, and NaN yaw/latitude/
                // longitude as "current". Home's altitude comes from GLOBAL_POSITION_INT;
                // without it, NaN lets PX4 use its configured take-off height.
                m.param4 = nan
                m.param5 = nan
                m.param6 = nan
                if state.globalNs != 0 {
                    let homeAmslM = Float(state.altMm - state.relativeAltMm) / 1000
                    m.param7 = homeAmslM + altitudeM
                } else {
                    m.param7 = nan
                }
            }
        case .land:
            m.command = MAVCmd.navLand
            if flavor == .px4 {
                m.param4 = nan
                m.param5 = nan
                m.param6 = nan
            }
        case .returnHome:
            m.command = MAVCmd.navReturnToLaunch
        }
        return m
    }

    // MARK: Setpoints

    /// Sets the setpoint streamed on every poll (the latest call wins). Position and/or
    /// velocity in the autopilot's local NED frame (m, m/s); yaw in radians, nil to leave
    /// the heading alone. Both nil clears the setpoint.
    public mutating func setpoint(position: (n: Float, e: Float, d: Float)?,
                                  velocity: (n: Float, e: Float, d: Float)?,
                                  yawRad: Float?, nowNs: UInt64) {
        note(nowNs)
        var t = MAVLocalTarget()
        t.coordinateFrame = MAVFrame.localNED
        t.timeBootMs = bootMs(nowNs)
        var mask: UInt16
        if let p = position, let v = velocity {
            mask = MAVTypeMask.positionVelocity
            t.x = p.n; t.y = p.e; t.z = p.d
            t.vx = v.n; t.vy = v.e; t.vz = v.d
        } else if let p = position {
            mask = MAVTypeMask.positionOnly
            t.x = p.n; t.y = p.e; t.z = p.d
        } else if let v = velocity {
            mask = MAVTypeMask.velocityOnly
            t.vx = v.n; t.vy = v.e; t.vz = v.d
        } else {
            clearSetpoint()
            return
        }
        if let yaw = yawRad {
            mask = MAVTypeMask.withYaw(mask)
            t.yaw = yaw
        }
        t.typeMask = mask
        currentSetpoint = MAVSetPositionTargetLocalNED(targetSystem: targetSystem, targetComponent: targetComponent,
                                                       target: t)
    }

    /// Stops streaming setpoints (e.g. while ArduPilot flies its own take-off).
    public mutating func clearSetpoint() {
        currentSetpoint = nil
    }

    // MARK: Sending

    /// Appends what is due now: a heartbeat (1 Hz), the command when its (re)send is due,
    /// and the current setpoint (once per call; PX4 leaves OFFBOARD when the stream stops).
    public mutating func poll(nowNs: UInt64, into out: inout [UInt8]) {
        note(nowNs)
        if nowNs >= nextHeartbeatNs {
            let hb = MAVHeartbeat(customMode: 0, type: MAVType.onboardController, autopilot: MAVAutopilot.invalid,
                                  baseMode: 0, systemStatus: MAVState.active)
            sender.append(.heartbeat(hb), to: &out)
            nextHeartbeatNs &+= AutopilotLink.heartbeatPeriodNs
            if nextHeartbeatNs <= nowNs { nextHeartbeatNs = nowNs &+ AutopilotLink.heartbeatPeriodNs }
        }
        if case .waiting(let c) = commandStatus, nowNs >= nextCommandNs {
            if commandInProgress || commandAttempts >= maxCommandAttempts {
                commandStatus = .timedOut(c)
            } else {
                pendingCommand.confirmation = UInt8(truncatingIfNeeded: min(commandAttempts, 255))
                sender.append(.commandLong(pendingCommand), to: &out)
                commandAttempts += 1
                nextCommandNs = nowNs &+ commandRetryNs
            }
        }
        if var sp = currentSetpoint {
            sp.target.timeBootMs = bootMs(nowNs)
            sender.append(.setPositionTargetLocalNED(sp), to: &out)
        }
    }
}
