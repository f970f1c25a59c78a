// The simulated flight controller: it speaks MAVLink 2 to the companion computer the way an
// ArduCopter or PX4 autopilot does, and flies the simulated airframe by setting its guidance.
// Sans-I/O like the companion's side: bytes in with a time, bytes out when polled. The same
// sequence of calls always produces the same bytes.

import PlumbCore
import Foundation
import PlumbLink

/// The vehicle as the world simulates it; the autopilot reads its state and commands it.
public protocol SimulatedAirframe: AnyObject {
    var positionNED: Vec3 { get }      // metres from home, D positive down
    var velocityNED: Vec3 { get }
    var onGround: Bool { get }
    var thrustFraction: Double { get } // 0...1 of maximum thrust
    var armed: Bool { get set }
    var guidance: Guidance { get set }
    /// The wind (the air's velocity, NED), which the autopilot's estimator follows.
    var windNED: Vec3 { get }
}

/// One command the simulated autopilot handled, for scenario checks and reports.
public struct SimCommandRecord: Equatable {
    public var timeNs: UInt64
    public var command: UInt16
    public var result: UInt8
}

public final class SimAutopilot {
    public let flavor: AutopilotFlavor
    public let airframe: any SimulatedAirframe
    public let systemId: UInt8
    public let componentId: UInt8
    public let homeLatDeg: Double
    public let homeLonDeg: Double
    public let homeAltM: Double

    /// False simulates a lost link: nothing is sent and everything received is ignored. The
    /// autopilot keeps flying (and its failsafes keep running) meanwhile.
    public var linkUp = true

    // Behaviour, tunable by scenarios.
    /// Descent rate of LAND (and the last phase of RTL).
    public var landRateMps = 0.7
    /// RTL flies home at this height above home (or higher, if already higher).
    public var rtlAltitudeM = 30.0
    /// PX4: OFFBOARD without a setpoint for longer than this falls back to HOLD.
    public var offboardLossNs: UInt64 = 500_000_000
    /// ArduPilot: a GUIDED velocity target older than this is replaced by a stop (hold).
    public var guidedVelocityTimeoutNs: UInt64 = 3_000_000_000
    /// Landing is detected when the airframe is on the ground with thrust below this.
    public var landedThrustFraction = 0.3
    /// Auto-disarm after landing in LAND/RTL (and on PX4 after any flight).
    public var landDisarmDelayNs: UInt64 = 2_000_000_000
    /// Auto-disarm when armed on the ground without flying (or ArduPilot landed in GUIDED).
    public var groundDisarmDelayNs: UInt64 = 10_000_000_000
    /// PX4: take-off height above home when the command gives no altitude (NaN).
    public var px4DefaultTakeoffAltitudeM = 2.5
    /// Take-off counts as complete within this of the target height.
    public var takeoffToleranceM = 0.5
    /// RTL's descent starts within this horizontal distance of home.
    public var rtlArrivalRadiusM = 1.0

    public private(set) var armed = false
    /// MAV_LANDED_STATE as reported in EXTENDED_SYS_STATE.
    public private(set) var landedState: UInt8 = MAVLandedState.onGround
    public private(set) var commandLog: [SimCommandRecord] = []
    /// Status texts sent (refusals, failsafes), oldest first.
    public private(set) var statusLog: [String] = []
    public private(set) var setpointsReceived: UInt32 = 0
    /// Time the last SET_POSITION_TARGET_LOCAL_NED arrived.
    public private(set) var lastSetpointNs: UInt64? = nil
    /// Counters of the received byte stream.
    public var parserStats: MAVLinkParserStats { parser.stats }

    /// The mode as the companion would decode it.
    public var mode: AutopilotMode { flavor.mode(customMode: customMode) }

    /// HEARTBEAT.custom_mode for the current mode.
    public var customMode: UInt32 {
        switch flavor {
        case .ardupilot:
            switch simMode {
            case .initial: return ArduCopterModeNumber.stabilize
            case .guided, .takeoff: return ArduCopterModeNumber.guided
            case .hold: return ArduCopterModeNumber.loiter
            case .land: return ArduCopterModeNumber.land
            case .returnHome: return ArduCopterModeNumber.rtl
            }
        case .px4:
            switch simMode {
            case .initial, .hold:
                return PX4ModeNumber.customMode(main: PX4ModeNumber.mainAuto, sub: PX4ModeNumber.subAutoLoiter)
            case .guided: return PX4ModeNumber.customMode(main: PX4ModeNumber.mainOffboard, sub: 0)
            case .takeoff:
                return PX4ModeNumber.customMode(main: PX4ModeNumber.mainAuto, sub: PX4ModeNumber.subAutoTakeoff)
            case .land: return PX4ModeNumber.customMode(main: PX4ModeNumber.mainAuto, sub: PX4ModeNumber.subAutoLand)
            case .returnHome:
                return PX4ModeNumber.customMode(main: PX4ModeNumber.mainAuto, sub: PX4ModeNumber.subAutoRTL)
            }
        }
    }

    // MARK: Internal state

    private enum SimMode: Equatable {
        /// ArduCopter's boot mode (STABILIZE); PX4 boots in HOLD.
        case initial
        case guided
        case hold
        case land
        case returnHome
        /// PX4 AUTO.TAKEOFF (ArduPilot takes off inside GUIDED).
        case takeoff
    }

    private enum RTLPhase { case climb, travel, descend }

    private struct Stream {
        var messageId: UInt32
        var defaultPeriodNs: UInt64
        var periodNs: UInt64
        var nextNs: UInt64 = 0
    }

    private var simMode: SimMode
    /// Height above home of the take-off in progress (ArduPilot GUIDED take-off or PX4
    /// AUTO.TAKEOFF); nil when none.
    private var takeoffAltitudeM: Double? = nil
    /// What GUIDED/OFFBOARD is flying to (from the companion's setpoints).
    private var guidedTarget: Guidance? = nil
    private var guidedTargetNs: UInt64 = 0
    /// PX4 keeps the latest setpoint even outside OFFBOARD and uses it on entry.
    private var latestSetpoint: Guidance? = nil
    private var holdPoint = Vec3.zero
    private var rtlPhase = RTLPhase.climb
    private var rtlD = -30.0
    private var rtlStart = Vec3.zero
    private var landedSinceNs: UInt64? = nil
    private var flownSinceArming = false
    private var bootNs: UInt64? = nil

    private var parser = MAVLinkParser()
    private var sender: MAVLinkSender
    private var outbox: [MAVLinkMessage] = []
    private var streams: [Stream]

    public init(flavor: AutopilotFlavor, airframe: any SimulatedAirframe, systemId: UInt8 = 1, componentId: UInt8 = 1,
                homeLatDeg: Double, homeLonDeg: Double, homeAltM: Double) {
        self.flavor = flavor
        self.airframe = airframe
        self.systemId = systemId
        self.componentId = componentId
        self.homeLatDeg = homeLatDeg
        self.homeLonDeg = homeLonDeg
        self.homeAltM = homeAltM
        self.sender = MAVLinkSender(systemId: systemId, componentId: componentId)
        self.simMode = flavor == .px4 ? .hold : .initial
        self.streams = [
            Stream(messageId: MAVHeartbeat.id, defaultPeriodNs: 1_000_000_000, periodNs: 1_000_000_000),
            Stream(messageId: MAVLocalPositionNED.id, defaultPeriodNs: 40_000_000, periodNs: 40_000_000),
            Stream(messageId: MAVGlobalPositionInt.id, defaultPeriodNs: 40_000_000, periodNs: 40_000_000),
            Stream(messageId: MAVVFRHUD.id, defaultPeriodNs: 100_000_000, periodNs: 100_000_000),
            Stream(messageId: MAVExtendedSysState.id, defaultPeriodNs: 200_000_000, periodNs: 200_000_000),
            Stream(messageId: flavor == .px4 ? MAVWindCov.id : MAVWind.id, defaultPeriodNs: 200_000_000, periodNs: 200_000_000),
            // Off unless asked for with SET_MESSAGE_INTERVAL.
            Stream(messageId: MAVPositionTargetLocalNED.id, defaultPeriodNs: 0, periodNs: 0),
        ]
        airframe.armed = false
        airframe.guidance = .idle
    }

    // MARK: Input

    /// Takes bytes from the companion. Ignored while the link is down.
    public func receive(_ bytes: [UInt8], nowNs: UInt64) {
        if bootNs == nil { bootNs = nowNs }
        guard linkUp else { return }
        for packet in parser.parseAll(bytes) {
            switch packet.message {
            case .commandLong(let c):
                handleCommand(c, from: packet, nowNs: nowNs)
            case .setPositionTargetLocalNED(let s):
                handleSetpoint(s, nowNs: nowNs)
            default:
                break
            }
        }
        update(nowNs: nowNs)
    }

    private func addressedToMe(_ system: UInt8, _ component: UInt8) -> Bool {
        (system == systemId || system == 0) && (component == componentId || component == 0)
    }

    private func handleCommand(_ c: MAVCommandLong, from p: MAVLinkPacket, nowNs: UInt64) {
        guard addressedToMe(c.targetSystem, c.targetComponent) else { return }
        let result: UInt8
        switch c.command {
        case MAVCmd.componentArmDisarm:
            if c.param1 > 0.5 {
                result = arm(nowNs: nowNs)
            } else {
                result = disarm(force: c.param2 == MAVCmd.forceDisarmMagic, reason: "Disarmed by command")
            }
        case MAVCmd.doSetMode:
            result = setMode(c, nowNs: nowNs)
        case MAVCmd.navTakeoff:
            result = takeoff(c)
        case MAVCmd.navLand:
            enter(.land)
            result = MAVResult.accepted
        case MAVCmd.navReturnToLaunch:
            enter(.returnHome)
            result = MAVResult.accepted
        case MAVCmd.setMessageInterval:
            result = setMessageInterval(id: c.param1, intervalUs: c.param2)
        default:
            result = MAVResult.unsupported
        }
        commandLog.append(SimCommandRecord(timeNs: nowNs, command: c.command, result: result))
        outbox.append(.commandAck(MAVCommandAck(command: c.command, result: result, progress: 0, resultParam2: 0,
                                                targetSystem: p.systemId, targetComponent: p.componentId)))
    }

    /// The refusal result each firmware gives for a command it cannot carry out now.
    private var refused: UInt8 { flavor == .px4 ? MAVResult.temporarilyRejected : MAVResult.failed }

    private func say(_ text: String, severity: UInt8 = MAVSeverity.warning) {
        statusLog.append(text)
        outbox.append(.statusText(MAVStatusText(severity: severity, string: text)))
    }

    private func arm(nowNs: UInt64) -> UInt8 {
        if armed { return MAVResult.accepted }
        guard airframe.onGround else {
            say("Arm: not on the ground")
            return refused
        }
        guard simMode == .guided || simMode == .hold else {
            say("Arm: mode not armable")
            return refused
        }
        armed = true
        airframe.armed = true
        flownSinceArming = false
        landedSinceNs = nil
        holdPoint = airframe.positionNED
        say("Armed", severity: MAVSeverity.info)
        return MAVResult.accepted
    }

    private func disarm(force: Bool, reason: String) -> UInt8 {
        if !armed { return MAVResult.accepted }
        guard airframe.onGround || force else {
            say("Disarm: not landed")
            return refused
        }
        armed = false
        airframe.armed = false
        takeoffAltitudeM = nil
        guidedTarget = nil
        landedSinceNs = nil
        if simMode == .takeoff { simMode = .hold }
        say(reason, severity: MAVSeverity.info)
        return MAVResult.accepted
    }

    private func setMode(_ c: MAVCommandLong, nowNs: UInt64) -> UInt8 {
        guard let base = whole(c.param1, below: 256), UInt8(base) & MAVModeFlag.customModeEnabled != 0 else {
            return MAVResult.unsupported
        }
        let requested: AutopilotMode
        switch flavor {
        case .ardupilot:
            guard let number = whole(c.param2, below: 256) else { return MAVResult.failed }
            if number == ArduCopterModeNumber.stabilize {
                enter(.initial)
                return MAVResult.accepted
            }
            requested = flavor.mode(customMode: number)
        case .px4:
            guard let main = whole(c.param2, below: 256), let sub = whole(c.param3, below: 256) else {
                return MAVResult.unsupported
            }
            requested = flavor.mode(customMode: PX4ModeNumber.customMode(main: main, sub: sub))
        }
        switch requested {
        case .other:
            return flavor == .px4 ? MAVResult.unsupported : MAVResult.failed
        case .guided:
            if flavor == .px4 {
                guard let last = lastSetpointNs, nowNs &- last <= offboardLossNs else {
                    say("Offboard: no setpoints streaming")
                    return refused
                }
            }
            enter(.guided)
        case .hold: enter(.hold)
        case .land: enter(.land)
        case .returnHome: enter(.returnHome)
        }
        return MAVResult.accepted
    }

    private func takeoff(_ c: MAVCommandLong) -> UInt8 {
        guard armed else {
            say("Takeoff: not armed")
            return refused
        }
        switch flavor {
        case .ardupilot:
            // GUIDED only; param7 is the height above home.
            guard simMode == .guided else {
                say("Takeoff: not in GUIDED")
                return MAVResult.failed
            }
            if takeoffAltitudeM != nil { return MAVResult.accepted }   // a resend of the same take-off
            guard airframe.onGround, c.param7.isFinite, c.param7 > 0 else {
                say("Takeoff: already flying or bad altitude")
                return MAVResult.failed
            }
            takeoffAltitudeM = Double(c.param7)
            guidedTarget = nil
        case .px4:
            // param7 is the altitude above mean sea level; NaN means the default height.
            if simMode == .takeoff { return MAVResult.accepted }
            guard airframe.onGround else {
                say("Takeoff denied: already flying")
                return refused
            }
            let altitude = c.param7.isFinite ? Double(c.param7) - homeAltM : px4DefaultTakeoffAltitudeM
            guard altitude > 0 else { return refused }
            takeoffAltitudeM = altitude
            simMode = .takeoff
        }
        landedSinceNs = nil
        return MAVResult.accepted
    }

    /// A float parameter that carries a whole number in 0..<limit, else nil.
    private func whole(_ x: Float, below limit: UInt32) -> UInt32? {
        guard x.isFinite, x >= 0, x < Float(limit), x == x.rounded() else { return nil }
        return UInt32(x)
    }

    private func setMessageInterval(id: Float, intervalUs: Float) -> UInt8 {
        guard let messageId = whole(id, below: 1 << 24), intervalUs.isFinite,
              let i = streams.firstIndex(where: { $0.messageId == messageId }) else { return MAVResult.failed }
        if intervalUs < 0 {
            streams[i].periodNs = 0
        } else if intervalUs == 0 {
            streams[i].periodNs = streams[i].defaultPeriodNs
        } else {
            streams[i].periodNs = UInt64(min(intervalUs, 3.6e9)) * 1000   // at most an hour
        }
        streams[i].nextNs = 0
        return MAVResult.accepted
    }

    private func handleSetpoint(_ s: MAVSetPositionTargetLocalNED, nowNs: UInt64) {
        guard addressedToMe(s.targetSystem, s.targetComponent),
              s.target.coordinateFrame == MAVFrame.localNED else { return }
        let t = s.target
        let usePosition = MAVTypeMask.usesPosition(t.typeMask)
        let useVelocity = MAVTypeMask.usesVelocity(t.typeMask)
        let velocity = Vec3(Double(t.vx), Double(t.vy), Double(t.vz))
        let g: Guidance
        if usePosition {
            g = .position(Vec3(Double(t.x), Double(t.y), Double(t.z)), velocity: useVelocity ? velocity : .zero)
        } else if useVelocity {
            g = .velocity(velocity)
        } else {
            return
        }
        setpointsReceived &+= 1
        lastSetpointNs = nowNs
        latestSetpoint = g
        guard simMode == .guided else { return }
        switch flavor {
        case .ardupilot:
            // Landed (or disarmed) in GUIDED: targets are ignored until a take-off command.
            // During a take-off a new target takes over from it.
            guard armed, takeoffAltitudeM != nil || landedSinceNs == nil && !airframe.onGround else { return }
            takeoffAltitudeM = nil
            guidedTarget = g
            guidedTargetNs = nowNs
        case .px4:
            guidedTarget = g
            guidedTargetNs = nowNs
        }
    }

    private func enter(_ m: SimMode) {
        let p = airframe.positionNED
        switch m {
        case .guided:
            guidedTarget = flavor == .px4 ? latestSetpoint : nil
            holdPoint = p
        case .hold, .initial:
            holdPoint = p
        case .returnHome:
            rtlStart = p
            rtlD = min(p.d, -rtlAltitudeM)
            rtlPhase = airframe.onGround ? .descend : (p.d > rtlD + takeoffToleranceM ? .climb : .travel)
        case .land, .takeoff:
            break
        }
        if m != .guided && m != .takeoff { takeoffAltitudeM = nil }
        simMode = m
    }

    // MARK: The autopilot's own logic

    private func update(nowNs: UInt64) {
        let p = airframe.positionNED
        let onGround = airframe.onGround

        if armed && !onGround { flownSinceArming = true }

        // PX4 leaves OFFBOARD when the setpoint stream stops.
        if flavor == .px4 && simMode == .guided {
            if lastSetpointNs.map({ nowNs &- $0 > offboardLossNs }) ?? true {
                enter(.hold)
                say("Offboard lost: holding position")
            }
        }

        // ArduPilot stops when velocity targets stop coming.
        if flavor == .ardupilot && simMode == .guided, case .velocity = guidedTarget,
           nowNs &- guidedTargetNs > guidedVelocityTimeoutNs {
            guidedTarget = .position(p, velocity: .zero)
        }

        // Take-off complete.
        if let alt = takeoffAltitudeM, armed, -p.d >= alt - takeoffToleranceM {
            takeoffAltitudeM = nil
            switch flavor {
            case .ardupilot:
                guidedTarget = .position(Vec3(p.n, p.e, -alt), velocity: .zero)
            case .px4:
                enter(.hold)
                holdPoint = Vec3(p.n, p.e, -alt)
            }
        }

        // RTL phases.
        if simMode == .returnHome && armed {
            switch rtlPhase {
            case .climb:
                if p.d <= rtlD + takeoffToleranceM { rtlPhase = .travel }
            case .travel:
                if p.horizontalLength <= rtlArrivalRadiusM { rtlPhase = .descend }
            case .descend:
                break
            }
        }

        // Land detection and auto-disarm.
        let taking = takeoffAltitudeM != nil
        if armed && onGround && !taking && airframe.thrustFraction < landedThrustFraction {
            let since = landedSinceNs ?? nowNs
            landedSinceNs = since
            let landing = simMode == .land || (simMode == .returnHome && rtlPhase == .descend)
                || (flavor == .px4 && flownSinceArming)
            let delay = landing ? landDisarmDelayNs : groundDisarmDelayNs
            if nowNs &- since >= delay {
                _ = disarm(force: true, reason: landing ? "Landed: disarmed" : "Auto-disarmed on the ground")
            }
        } else {
            landedSinceNs = nil
        }

        let g = desiredGuidance()
        if airframe.guidance != g { airframe.guidance = g }
        if airframe.armed != armed { airframe.armed = armed }
        landedState = computeLandedState()
    }

    private func desiredGuidance() -> Guidance {
        guard armed else { return .idle }
        let airborne = !airframe.onGround
        let land = Guidance.land(rateMps: landRateMps)
        switch simMode {
        case .initial, .hold:
            return airborne ? .position(holdPoint, velocity: .zero) : .idle
        case .takeoff:
            if let alt = takeoffAltitudeM { return .takeoff(altitudeM: alt) }
            return .position(holdPoint, velocity: .zero)
        case .land:
            return land
        case .returnHome:
            switch rtlPhase {
            case .climb: return .position(Vec3(rtlStart.n, rtlStart.e, rtlD), velocity: .zero)
            case .travel: return .position(Vec3(0, 0, rtlD), velocity: .zero)
            case .descend: return land
            }
        case .guided:
            if let alt = takeoffAltitudeM { return .takeoff(altitudeM: alt) }
            if flavor == .ardupilot && landedSinceNs != nil { return .idle }
            if let t = guidedTarget { return t }
            return airborne ? .position(holdPoint, velocity: .zero) : .idle
        }
    }

    private func computeLandedState() -> UInt8 {
        let onGround = airframe.onGround
        guard armed else { return onGround ? MAVLandedState.onGround : MAVLandedState.inAir }
        if takeoffAltitudeM != nil { return MAVLandedState.takeoff }
        if onGround { return MAVLandedState.onGround }
        if simMode == .land || (simMode == .returnHome && rtlPhase == .descend) { return MAVLandedState.landing }
        return MAVLandedState.inAir
    }

    // MARK: Output

    /// Appends what the autopilot sends now: acknowledgements and status texts of what it
    /// received, then its telemetry streams (heartbeat 1 Hz, local and global position
    /// 25 Hz, VFR_HUD 10 Hz, EXTENDED_SYS_STATE 5 Hz). Runs the autopilot's own logic
    /// (failsafes, take-off and landing detection) even while the link is down.
    public func poll(nowNs: UInt64, into out: inout [UInt8]) {
        if bootNs == nil { bootNs = nowNs }
        update(nowNs: nowNs)
        if linkUp {
            for m in outbox { sender.append(m, to: &out) }
        }
        outbox.removeAll(keepingCapacity: true)
        for i in streams.indices where streams[i].periodNs > 0 && nowNs >= streams[i].nextNs {
            if linkUp { sender.append(message(streams[i].messageId, nowNs: nowNs), to: &out) }
            streams[i].nextNs &+= streams[i].periodNs
            if streams[i].nextNs <= nowNs { streams[i].nextNs = nowNs &+ streams[i].periodNs }
        }
    }

    private func bootMs(_ nowNs: UInt64) -> UInt32 {
        let boot = bootNs ?? nowNs
        return UInt32(truncatingIfNeeded: (nowNs >= boot ? nowNs - boot : 0) / 1_000_000)
    }

    private static let earthRadiusM = 6_378_137.0
    private var windEstimate = Vec3.zero

    private func message(_ id: UInt32, nowNs: UInt64) -> MAVLinkMessage {
        let p = airframe.positionNED
        let v = airframe.velocityNED
        let t = bootMs(nowNs)
        switch id {
        case MAVHeartbeat.id:
            var base = MAVModeFlag.customModeEnabled
            if armed { base |= MAVModeFlag.safetyArmed }
            return .heartbeat(MAVHeartbeat(customMode: customMode, type: MAVType.hexarotor,
                                           autopilot: flavor.autopilotType, baseMode: base,
                                           systemStatus: armed ? MAVState.active : MAVState.standby))
        case MAVLocalPositionNED.id:
            return .localPositionNED(MAVLocalPositionNED(timeBootMs: t, x: Float(p.n), y: Float(p.e), z: Float(p.d),
                                                         vx: Float(v.n), vy: Float(v.e), vz: Float(v.d)))
        case MAVGlobalPositionInt.id:
            // Flat earth around home: good to centimetres over the few kilometres of a delivery.
            let radians = Double.pi / 180
            let lat = homeLatDeg + p.n / SimAutopilot.earthRadiusM / radians
            let lon = homeLonDeg + p.e / (SimAutopilot.earthRadiusM * cos(homeLatDeg * radians)) / radians
            return .globalPositionInt(MAVGlobalPositionInt(
                timeBootMs: t, lat: Int32((lat * 1e7).rounded()), lon: Int32((lon * 1e7).rounded()),
                alt: Int32(((homeAltM - p.d) * 1000).rounded()), relativeAlt: Int32((-p.d * 1000).rounded()),
                vx: centimetres(v.n), vy: centimetres(v.e), vz: centimetres(v.d), hdg: UInt16.max))
        case MAVVFRHUD.id:
            let speed = Float(v.horizontalLength)
            let throttle = (min(max(airframe.thrustFraction, 0), 1) * 100).rounded()
            return .vfrHUD(MAVVFRHUD(airspeed: speed, groundspeed: speed, alt: Float(homeAltM - p.d),
                                     climb: Float(-v.d), heading: 0, throttle: UInt16(throttle)))
        case MAVExtendedSysState.id:
            return .extendedSysState(MAVExtendedSysState(vtolState: 0, landedState: landedState))
        case MAVWind.id, MAVWindCov.id:
            // The autopilot's estimator follows the true wind with a lag (5 s).
            let w = airframe.windNED
            windEstimate = windEstimate + (w - windEstimate) * (0.2 / 5.2)
            if id == MAVWindCov.id {
                return .windCov(MAVWindCov(timeUsec: UInt64(t) * 1000, windX: Float(windEstimate.n), windY: Float(windEstimate.e),
                                           windZ: 0, varHoriz: 0.25, varVert: 0.25, windAlt: Float(homeAltM - p.d)))
            }
            let speed = windEstimate.horizontalLength
            var from = atan2(-windEstimate.e, -windEstimate.n) * 180 / Double.pi
            if from < 0 { from += 360 }
            return .wind(MAVWind(direction: Float(from), speed: Float(speed), speedZ: 0))
        case MAVPositionTargetLocalNED.id:
            var target = MAVLocalTarget()
            target.timeBootMs = t
            target.coordinateFrame = MAVFrame.localNED
            switch airframe.guidance {
            case .position(let q, let fv):
                target.typeMask = MAVTypeMask.positionVelocity
                target.x = Float(q.n); target.y = Float(q.e); target.z = Float(q.d)
                target.vx = Float(fv.n); target.vy = Float(fv.e); target.vz = Float(fv.d)
            case .velocity(let fv):
                target.typeMask = MAVTypeMask.velocityOnly
                target.vx = Float(fv.n); target.vy = Float(fv.e); target.vz = Float(fv.d)
            case .takeoff(let alt):
                target.typeMask = MAVTypeMask.positionOnly
                target.x = Float(p.n); target.y = Float(p.e); target.z = Float(-alt)
            case .land(let rate):
                target.typeMask = MAVTypeMask.velocityOnly
                target.vz = Float(rate)
            case .idle:
                target.typeMask = MAVTypeMask.positionIgnore | MAVTypeMask.velocityIgnore
                    | MAVTypeMask.accelerationIgnore | MAVTypeMask.yawIgnore | MAVTypeMask.yawRateIgnore
            }
            return .positionTargetLocalNED(MAVPositionTargetLocalNED(target: target))
        default:
            return .unknown(id)
        }
    }

    private func centimetres(_ mps: Double) -> Int16 {
        Int16((min(max(mps * 100, -32767), 32767)).rounded())
    }
}
