// The MAVLink 2 subset the companion computer speaks with its flight controller: the
// checksum, frame encoding, a streaming parser and the dozen messages the landing and
// delivery jobs need. Embedded-Swift clean: plain values, no allocation on the encode path
// when the output array has capacity, none on the parse path except for STATUSTEXT's text.
//
// Wire facts (field order, CRC_EXTRA bytes, enum values) follow the MAVLink "common"
// message set. Multi-byte fields are little-endian; in every message the fields are sent
// largest type first, then extension fields in declaration order.

// MARK: - Checksum

/// CRC-16/MCRF4XX (the "X.25" checksum of MAVLink): reflected polynomial 0x1021 (0x8408
/// reversed), initial value 0xFFFF, no final XOR. A frame's checksum covers the header after
/// the start marker and the payload, then the message's CRC_EXTRA byte.
public struct MAVLinkCRC: Equatable, Sendable {
    public private(set) var value: UInt16 = 0xFFFF

    public init() {}

    public mutating func update(_ byte: UInt8) {
        var c = value ^ UInt16(byte)
        for _ in 0..<8 {
            c = (c & 1) != 0 ? (c >> 1) ^ 0x8408 : c >> 1
        }
        value = c
    }

    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        for b in bytes { update(b) }
    }

    public static func checksum(_ bytes: [UInt8]) -> UInt16 {
        var c = MAVLinkCRC()
        for b in bytes { c.update(b) }
        return c.value
    }
}

// MARK: - Constants

/// MAVLink frame constants.
public enum MAVLinkWire {
    /// Start marker of a MAVLink 2 frame.
    public static let startV2: UInt8 = 0xFD
    /// Start marker of a MAVLink 1 frame (recognised only to skip it).
    public static let startV1: UInt8 = 0xFE
    /// Header bytes of a MAVLink 2 frame, start marker included.
    public static let headerSize = 10
    public static let checksumSize = 2
    public static let signatureSize = 13
    /// incompat_flags bit: the frame carries a 13-byte signature.
    public static let incompatSigned: UInt8 = 0x01
    /// Largest possible MAVLink 2 frame: header, 255 payload bytes, checksum, signature.
    public static let maxFrame = headerSize + 255 + checksumSize + signatureSize
    /// Header bytes of a MAVLink 1 frame, start marker included.
    public static let headerSizeV1 = 6
}

/// MAV_CMD values the companion sends or the simulated autopilot understands.
public enum MAVCmd {
    public static let navReturnToLaunch: UInt16 = 20
    public static let navLand: UInt16 = 21
    public static let navTakeoff: UInt16 = 22
    public static let doSetMode: UInt16 = 176
    public static let componentArmDisarm: UInt16 = 400
    public static let setMessageInterval: UInt16 = 511
    /// COMPONENT_ARM_DISARM param2 that forces a disarm in flight.
    public static let forceDisarmMagic: Float = 21196
}

/// MAV_RESULT: the outcome in a COMMAND_ACK.
public enum MAVResult {
    public static let accepted: UInt8 = 0
    public static let temporarilyRejected: UInt8 = 1
    public static let denied: UInt8 = 2
    public static let unsupported: UInt8 = 3
    public static let failed: UInt8 = 4
    public static let inProgress: UInt8 = 5
    public static let cancelled: UInt8 = 6
    public static let commandLongOnly: UInt8 = 7
    public static let commandIntOnly: UInt8 = 8
    public static let unsupportedFrame: UInt8 = 9
}

/// MAV_LANDED_STATE, from EXTENDED_SYS_STATE.
public enum MAVLandedState {
    public static let undefined: UInt8 = 0
    public static let onGround: UInt8 = 1
    public static let inAir: UInt8 = 2
    public static let takeoff: UInt8 = 3
    public static let landing: UInt8 = 4
}

/// MAV_STATE: HEARTBEAT.system_status.
public enum MAVState {
    public static let uninit: UInt8 = 0
    public static let boot: UInt8 = 1
    public static let calibrating: UInt8 = 2
    public static let standby: UInt8 = 3
    public static let active: UInt8 = 4
    public static let critical: UInt8 = 5
    public static let emergency: UInt8 = 6
    public static let poweroff: UInt8 = 7
    public static let flightTermination: UInt8 = 8
}

/// MAV_TYPE values used here.
public enum MAVType {
    public static let generic: UInt8 = 0
    public static let quadrotor: UInt8 = 2
    public static let gcs: UInt8 = 6
    public static let hexarotor: UInt8 = 13
    public static let octorotor: UInt8 = 14
    public static let onboardController: UInt8 = 18
}

/// MAV_AUTOPILOT values used here.
public enum MAVAutopilot {
    public static let generic: UInt8 = 0
    public static let ardupilotmega: UInt8 = 3
    public static let invalid: UInt8 = 8
    public static let px4: UInt8 = 12
}

/// MAV_MODE_FLAG bits of HEARTBEAT.base_mode.
public enum MAVModeFlag {
    public static let customModeEnabled: UInt8 = 0x01
    public static let testEnabled: UInt8 = 0x02
    public static let autoEnabled: UInt8 = 0x04
    public static let guidedEnabled: UInt8 = 0x08
    public static let stabilizeEnabled: UInt8 = 0x10
    public static let hilEnabled: UInt8 = 0x20
    public static let manualInputEnabled: UInt8 = 0x40
    public static let safetyArmed: UInt8 = 0x80
}

/// MAV_FRAME values used here.
public enum MAVFrame {
    public static let global: UInt8 = 0
    public static let localNED: UInt8 = 1
    public static let bodyFRD: UInt8 = 12
}

/// MAV_SEVERITY of STATUSTEXT.
public enum MAVSeverity {
    public static let emergency: UInt8 = 0
    public static let alert: UInt8 = 1
    public static let critical: UInt8 = 2
    public static let error: UInt8 = 3
    public static let warning: UInt8 = 4
    public static let notice: UInt8 = 5
    public static let info: UInt8 = 6
    public static let debug: UInt8 = 7
}

/// POSITION_TARGET_TYPEMASK: each set bit tells the autopilot to ignore that field.
public enum MAVTypeMask {
    public static let xIgnore: UInt16 = 0x0001
    public static let yIgnore: UInt16 = 0x0002
    public static let zIgnore: UInt16 = 0x0004
    public static let vxIgnore: UInt16 = 0x0008
    public static let vyIgnore: UInt16 = 0x0010
    public static let vzIgnore: UInt16 = 0x0020
    public static let axIgnore: UInt16 = 0x0040
    public static let ayIgnore: UInt16 = 0x0080
    public static let azIgnore: UInt16 = 0x0100
    public static let forceSet: UInt16 = 0x0200
    public static let yawIgnore: UInt16 = 0x0400
    public static let yawRateIgnore: UInt16 = 0x0800

    public static let positionIgnore: UInt16 = xIgnore | yIgnore | zIgnore
    public static let velocityIgnore: UInt16 = vxIgnore | vyIgnore | vzIgnore
    public static let accelerationIgnore: UInt16 = axIgnore | ayIgnore | azIgnore

    /// Position only, heading left alone (0x0DF8).
    public static let positionOnly: UInt16 = velocityIgnore | accelerationIgnore | yawIgnore | yawRateIgnore
    /// Velocity only, heading left alone (0x0DC7).
    public static let velocityOnly: UInt16 = positionIgnore | accelerationIgnore | yawIgnore | yawRateIgnore
    /// Position with a velocity feed-forward, heading left alone (0x0DC0).
    public static let positionVelocity: UInt16 = accelerationIgnore | yawIgnore | yawRateIgnore

    /// The same mask with the yaw field in use (the yaw rate stays ignored).
    public static func withYaw(_ mask: UInt16) -> UInt16 { mask & ~yawIgnore }

    public static func usesPosition(_ mask: UInt16) -> Bool { mask & positionIgnore == 0 }
    public static func usesVelocity(_ mask: UInt16) -> Bool { mask & velocityIgnore == 0 }
    public static func usesYaw(_ mask: UInt16) -> Bool { mask & yawIgnore == 0 }
}

// MARK: - Payload reading and writing

/// Reads little-endian fields from a payload. Reading past the end yields zeros: that is
/// how MAVLink 2 restores the trailing zero bytes a sender trimmed.
struct MAVPayloadReader {
    let data: UnsafeRawBufferPointer
    var offset = 0

    init(_ data: UnsafeRawBufferPointer) { self.data = data }

    mutating func u8() -> UInt8 {
        let v: UInt8 = offset < data.count ? data[offset] : 0
        offset += 1
        return v
    }
    mutating func u16() -> UInt16 { let lo = UInt16(u8()); return lo | UInt16(u8()) << 8 }
    mutating func u32() -> UInt32 { let lo = UInt32(u16()); return lo | UInt32(u16()) << 16 }
    mutating func u64() -> UInt64 { let lo = UInt64(u32()); return lo | UInt64(u32()) << 32 }
    mutating func i16() -> Int16 { Int16(bitPattern: u16()) }
    mutating func i32() -> Int32 { Int32(bitPattern: u32()) }
    mutating func f32() -> Float { Float(bitPattern: u32()) }
}

/// Appends little-endian fields to a frame under construction.
enum MAVPut {
    @inline(__always) static func u8(_ out: inout [UInt8], _ v: UInt8) { out.append(v) }
    static func u16(_ out: inout [UInt8], _ v: UInt16) {
        out.append(UInt8(truncatingIfNeeded: v))
        out.append(UInt8(truncatingIfNeeded: v >> 8))
    }
    static func u32(_ out: inout [UInt8], _ v: UInt32) {
        u16(&out, UInt16(truncatingIfNeeded: v))
        u16(&out, UInt16(truncatingIfNeeded: v >> 16))
    }
    static func u64(_ out: inout [UInt8], _ v: UInt64) {
        u32(&out, UInt32(truncatingIfNeeded: v))
        u32(&out, UInt32(truncatingIfNeeded: v >> 32))
    }
    static func i16(_ out: inout [UInt8], _ v: Int16) { u16(&out, UInt16(bitPattern: v)) }
    static func i32(_ out: inout [UInt8], _ v: Int32) { u32(&out, UInt32(bitPattern: v)) }
    static func f32(_ out: inout [UInt8], _ v: Float) { u32(&out, v.bitPattern) }
}

// MARK: - Messages

/// HEARTBEAT (0): who the sender is, whether it is armed, and its mode.
public struct MAVHeartbeat: Equatable, Sendable {
    public static let id: UInt32 = 0
    public static let crcExtra: UInt8 = 50

    /// Autopilot-specific mode (ArduPilot mode number, PX4 main/sub mode).
    public var customMode: UInt32
    /// MAV_TYPE.
    public var type: UInt8
    /// MAV_AUTOPILOT.
    public var autopilot: UInt8
    /// MAV_MODE_FLAG bits.
    public var baseMode: UInt8
    /// MAV_STATE.
    public var systemStatus: UInt8
    public var mavlinkVersion: UInt8

    public init(customMode: UInt32 = 0, type: UInt8 = 0, autopilot: UInt8 = 0, baseMode: UInt8 = 0,
                systemStatus: UInt8 = 0, mavlinkVersion: UInt8 = 3) {
        self.customMode = customMode
        self.type = type
        self.autopilot = autopilot
        self.baseMode = baseMode
        self.systemStatus = systemStatus
        self.mavlinkVersion = mavlinkVersion
    }

    func write(_ o: inout [UInt8]) {
        MAVPut.u32(&o, customMode)
        MAVPut.u8(&o, type); MAVPut.u8(&o, autopilot); MAVPut.u8(&o, baseMode)
        MAVPut.u8(&o, systemStatus); MAVPut.u8(&o, mavlinkVersion)
    }

    static func read(_ r: inout MAVPayloadReader) -> MAVHeartbeat {
        let cm = r.u32()
        return MAVHeartbeat(customMode: cm, type: r.u8(), autopilot: r.u8(), baseMode: r.u8(),
                            systemStatus: r.u8(), mavlinkVersion: r.u8())
    }
}

/// COMMAND_LONG (76): a command with seven float parameters.
public struct MAVCommandLong: Equatable, Sendable {
    public static let id: UInt32 = 76
    public static let crcExtra: UInt8 = 152

    public var targetSystem: UInt8
    public var targetComponent: UInt8
    /// MAV_CMD.
    public var command: UInt16
    /// 0 for the first transmission, incremented on every resend.
    public var confirmation: UInt8
    public var param1: Float
    public var param2: Float
    public var param3: Float
    public var param4: Float
    public var param5: Float
    public var param6: Float
    public var param7: Float

    public init(targetSystem: UInt8, targetComponent: UInt8, command: UInt16, confirmation: UInt8 = 0,
                param1: Float = 0, param2: Float = 0, param3: Float = 0, param4: Float = 0,
                param5: Float = 0, param6: Float = 0, param7: Float = 0) {
        self.targetSystem = targetSystem
        self.targetComponent = targetComponent
        self.command = command
        self.confirmation = confirmation
        self.param1 = param1
        self.param2 = param2
        self.param3 = param3
        self.param4 = param4
        self.param5 = param5
        self.param6 = param6
        self.param7 = param7
    }

    func write(_ o: inout [UInt8]) {
        MAVPut.f32(&o, param1); MAVPut.f32(&o, param2); MAVPut.f32(&o, param3); MAVPut.f32(&o, param4)
        MAVPut.f32(&o, param5); MAVPut.f32(&o, param6); MAVPut.f32(&o, param7)
        MAVPut.u16(&o, command)
        MAVPut.u8(&o, targetSystem); MAVPut.u8(&o, targetComponent); MAVPut.u8(&o, confirmation)
    }

    static func read(_ r: inout MAVPayloadReader) -> MAVCommandLong {
        let p1 = r.f32(), p2 = r.f32(), p3 = r.f32(), p4 = r.f32(), p5 = r.f32(), p6 = r.f32(), p7 = r.f32()
        let cmd = r.u16()
        let ts = r.u8(), tc = r.u8(), conf = r.u8()
        return MAVCommandLong(targetSystem: ts, targetComponent: tc, command: cmd, confirmation: conf,
                              param1: p1, param2: p2, param3: p3, param4: p4, param5: p5, param6: p6, param7: p7)
    }
}

/// COMMAND_ACK (77): the outcome of a command.
public struct MAVCommandAck: Equatable, Sendable {
    public static let id: UInt32 = 77
    public static let crcExtra: UInt8 = 143

    /// MAV_CMD being acknowledged.
    public var command: UInt16
    /// MAV_RESULT.
    public var result: UInt8
    /// Extension: percentage done while IN_PROGRESS (255 unknown).
    public var progress: UInt8
    /// Extension: command-specific detail of a refusal.
    public var resultParam2: Int32
    /// Extension: the system and component that sent the command.
    public var targetSystem: UInt8
    public var targetComponent: UInt8

    public init(command: UInt16, result: UInt8, progress: UInt8 = 0, resultParam2: Int32 = 0,
                targetSystem: UInt8 = 0, targetComponent: UInt8 = 0) {
        self.command = command
        self.result = result
        self.progress = progress
        self.resultParam2 = resultParam2
        self.targetSystem = targetSystem
        self.targetComponent = targetComponent
    }

    func write(_ o: inout [UInt8]) {
        MAVPut.u16(&o, command); MAVPut.u8(&o, result)
        MAVPut.u8(&o, progress); MAVPut.i32(&o, resultParam2)
        MAVPut.u8(&o, targetSystem); MAVPut.u8(&o, targetComponent)
    }

    static func read(_ r: inout MAVPayloadReader) -> MAVCommandAck {
        let cmd = r.u16(), res = r.u8(), prog = r.u8(), p2 = r.i32()
        return MAVCommandAck(command: cmd, result: res, progress: prog, resultParam2: p2,
                             targetSystem: r.u8(), targetComponent: r.u8())
    }
}

/// The fields SET_POSITION_TARGET_LOCAL_NED and POSITION_TARGET_LOCAL_NED share.
public struct MAVLocalTarget: Equatable, Sendable {
    public var timeBootMs: UInt32 = 0
    public var x: Float = 0
    public var y: Float = 0
    public var z: Float = 0
    public var vx: Float = 0
    public var vy: Float = 0
    public var vz: Float = 0
    public var afx: Float = 0
    public var afy: Float = 0
    public var afz: Float = 0
    public var yaw: Float = 0
    public var yawRate: Float = 0
    /// POSITION_TARGET_TYPEMASK bits (set = ignore).
    public var typeMask: UInt16 = 0
    /// MAV_FRAME.
    public var coordinateFrame: UInt8 = MAVFrame.localNED

    public init() {}

    func writeFloats(_ o: inout [UInt8]) {
        MAVPut.u32(&o, timeBootMs)
        MAVPut.f32(&o, x); MAVPut.f32(&o, y); MAVPut.f32(&o, z)
        MAVPut.f32(&o, vx); MAVPut.f32(&o, vy); MAVPut.f32(&o, vz)
        MAVPut.f32(&o, afx); MAVPut.f32(&o, afy); MAVPut.f32(&o, afz)
        MAVPut.f32(&o, yaw); MAVPut.f32(&o, yawRate)
        MAVPut.u16(&o, typeMask)
    }

    static func readFloats(_ r: inout MAVPayloadReader) -> MAVLocalTarget {
        var t = MAVLocalTarget()
        t.timeBootMs = r.u32()
        t.x = r.f32(); t.y = r.f32(); t.z = r.f32()
        t.vx = r.f32(); t.vy = r.f32(); t.vz = r.f32()
        t.afx = r.f32(); t.afy = r.f32(); t.afz = r.f32()
        t.yaw = r.f32(); t.yawRate = r.f32()
        t.typeMask = r.u16()
        return t
    }
}

/// SET_POSITION_TARGET_LOCAL_NED (84): a setpoint for the autopilot's guided/offboard mode.
public struct MAVSetPositionTargetLocalNED: Equatable, Sendable {
    public static let id: UInt32 = 84
    public static let crcExtra: UInt8 = 143

    public var targetSystem: UInt8
    public var targetComponent: UInt8
    public var target: MAVLocalTarget

    public init(targetSystem: UInt8, targetComponent: UInt8, target: MAVLocalTarget) {
        self.targetSystem = targetSystem
        self.targetComponent = targetComponent
        self.target = target
    }

    func write(_ o: inout [UInt8]) {
        target.writeFloats(&o)
        MAVPut.u8(&o, targetSystem); MAVPut.u8(&o, targetComponent); MAVPut.u8(&o, target.coordinateFrame)
    }

    static func read(_ r: inout MAVPayloadReader) -> MAVSetPositionTargetLocalNED {
        var t = MAVLocalTarget.readFloats(&r)
        let ts = r.u8(), tc = r.u8()
        t.coordinateFrame = r.u8()
        return MAVSetPositionTargetLocalNED(targetSystem: ts, targetComponent: tc, target: t)
    }
}

/// POSITION_TARGET_LOCAL_NED (85): the setpoint the autopilot is actually using.
public struct MAVPositionTargetLocalNED: Equatable, Sendable {
    public static let id: UInt32 = 85
    public static let crcExtra: UInt8 = 140

    public var target: MAVLocalTarget

    public init(target: MAVLocalTarget) { self.target = target }

    func write(_ o: inout [UInt8]) {
        target.writeFloats(&o)
        MAVPut.u8(&o, target.coordinateFrame)
    }

    static func read(_ r: inout MAVPayloadReader) -> MAVPositionTargetLocalNED {
        var t = MAVLocalTarget.readFloats(&r)
        t.coordinateFrame = r.u8()
        return MAVPositionTargetLocalNED(target: t)
    }
}

/// LOCAL_POSITION_NED (32): position and velocity in the autopilot's local NED frame.
public struct MAVLocalPositionNED: Equatable, Sendable {
    public static let id: UInt32 = 32
    public static let crcExtra: UInt8 = 185

    public var timeBootMs: UInt32
    public var x: Float
    public var y: Float
    public var z: Float
    public var vx: Float
    public var vy: Float
    public var vz: Float

    public init(timeBootMs: UInt32 = 0, x: Float = 0, y: Float = 0, z: Float = 0,
                vx: Float = 0, vy: Float = 0, vz: Float = 0) {
        self.timeBootMs = timeBootMs
        self.x = x; self.y = y; self.z = z
        self.vx = vx; self.vy = vy; self.vz = vz
    }

    func write(_ o: inout [UInt8]) {
        MAVPut.u32(&o, timeBootMs)
        MAVPut.f32(&o, x); MAVPut.f32(&o, y); MAVPut.f32(&o, z)
        MAVPut.f32(&o, vx); MAVPut.f32(&o, vy); MAVPut.f32(&o, vz)
    }

    static func read(_ r: inout MAVPayloadReader) -> MAVLocalPositionNED {
        let t = r.u32()
        let x = r.f32(), y = r.f32(), z = r.f32()
        return MAVLocalPositionNED(timeBootMs: t, x: x, y: y, z: z, vx: r.f32(), vy: r.f32(), vz: r.f32())
    }
}

/// GLOBAL_POSITION_INT (33): the fused global position.
public struct MAVGlobalPositionInt: Equatable, Sendable {
    public static let id: UInt32 = 33
    public static let crcExtra: UInt8 = 104

    public var timeBootMs: UInt32
    /// Latitude and longitude, degrees × 1e7.
    public var lat: Int32
    public var lon: Int32
    /// Altitude above mean sea level, mm.
    public var alt: Int32
    /// Altitude above home, mm.
    public var relativeAlt: Int32
    /// Ground speed north, east, down, cm/s.
    public var vx: Int16
    public var vy: Int16
    public var vz: Int16
    /// Heading, centidegrees; 65535 when unknown.
    public var hdg: UInt16

    public init(timeBootMs: UInt32 = 0, lat: Int32 = 0, lon: Int32 = 0, alt: Int32 = 0, relativeAlt: Int32 = 0,
                vx: Int16 = 0, vy: Int16 = 0, vz: Int16 = 0, hdg: UInt16 = UInt16.max) {
        self.timeBootMs = timeBootMs
        self.lat = lat; self.lon = lon; self.alt = alt; self.relativeAlt = relativeAlt
        self.vx = vx; self.vy = vy; self.vz = vz; self.hdg = hdg
    }

    func write(_ o: inout [UInt8]) {
        MAVPut.u32(&o, timeBootMs)
        MAVPut.i32(&o, lat); MAVPut.i32(&o, lon); MAVPut.i32(&o, alt); MAVPut.i32(&o, relativeAlt)
        MAVPut.i16(&o, vx); MAVPut.i16(&o, vy); MAVPut.i16(&o, vz)
        MAVPut.u16(&o, hdg)
    }

    static func read(_ r: inout MAVPayloadReader) -> MAVGlobalPositionInt {
        let t = r.u32()
        let lat = r.i32(), lon = r.i32(), alt = r.i32(), rel = r.i32()
        let vx = r.i16(), vy = r.i16(), vz = r.i16()
        return MAVGlobalPositionInt(timeBootMs: t, lat: lat, lon: lon, alt: alt, relativeAlt: rel,
                                    vx: vx, vy: vy, vz: vz, hdg: r.u16())
    }
}

/// VFR_HUD (74): the classic head-up display values; the throttle is what we use.
public struct MAVVFRHUD: Equatable, Sendable {
    public static let id: UInt32 = 74
    public static let crcExtra: UInt8 = 20

    public var airspeed: Float
    public var groundspeed: Float
    /// Altitude above mean sea level, m.
    public var alt: Float
    /// Climb rate, m/s (up positive).
    public var climb: Float
    /// Heading, degrees 0...360.
    public var heading: Int16
    /// Throttle, percent.
    public var throttle: UInt16

    public init(airspeed: Float = 0, groundspeed: Float = 0, alt: Float = 0, climb: Float = 0,
                heading: Int16 = 0, throttle: UInt16 = 0) {
        self.airspeed = airspeed
        self.groundspeed = groundspeed
        self.alt = alt
        self.climb = climb
        self.heading = heading
        self.throttle = throttle
    }

    func write(_ o: inout [UInt8]) {
        MAVPut.f32(&o, airspeed); MAVPut.f32(&o, groundspeed); MAVPut.f32(&o, alt); MAVPut.f32(&o, climb)
        MAVPut.i16(&o, heading); MAVPut.u16(&o, throttle)
    }

    static func read(_ r: inout MAVPayloadReader) -> MAVVFRHUD {
        let a = r.f32(), g = r.f32(), alt = r.f32(), c = r.f32()
        let h = r.i16()
        return MAVVFRHUD(airspeed: a, groundspeed: g, alt: alt, climb: c, heading: h, throttle: r.u16())
    }
}

/// EXTENDED_SYS_STATE (245): VTOL state and landed state.
public struct MAVExtendedSysState: Equatable, Sendable {
    public static let id: UInt32 = 245
    public static let crcExtra: UInt8 = 130

    /// MAV_VTOL_STATE (0 for a plain multicopter).
    public var vtolState: UInt8
    /// MAV_LANDED_STATE.
    public var landedState: UInt8

    public init(vtolState: UInt8 = 0, landedState: UInt8 = 0) {
        self.vtolState = vtolState
        self.landedState = landedState
    }

    func write(_ o: inout [UInt8]) {
        MAVPut.u8(&o, vtolState); MAVPut.u8(&o, landedState)
    }

    static func read(_ r: inout MAVPayloadReader) -> MAVExtendedSysState {
        let v = r.u8()
        return MAVExtendedSysState(vtolState: v, landedState: r.u8())
    }
}

/// LANDING_TARGET (149): where a landing target is, as seen by the companion's sensor.
public struct MAVLandingTarget: Equatable, Sendable {
    public static let id: UInt32 = 149
    public static let crcExtra: UInt8 = 200

    public var timeUsec: UInt64 = 0
    /// Angular offset of the target from the image centre, rad.
    public var angleX: Float = 0
    public var angleY: Float = 0
    /// Distance to the target, m.
    public var distance: Float = 0
    /// Angular size of the target, rad.
    public var sizeX: Float = 0
    public var sizeY: Float = 0
    public var targetNum: UInt8 = 0
    /// MAV_FRAME of x, y, z.
    public var frame: UInt8 = 0
    // Extension fields.
    public var x: Float = 0
    public var y: Float = 0
    public var z: Float = 0
    /// Target orientation quaternion (w, x, y, z).
    public var q: (Float, Float, Float, Float) = (0, 0, 0, 0)
    /// LANDING_TARGET_TYPE.
    public var type: UInt8 = 0
    /// Non-zero when x, y, z are valid (and the angles may be ignored).
    public var positionValid: UInt8 = 0

    public init() {}

    public static func == (a: MAVLandingTarget, b: MAVLandingTarget) -> Bool {
        a.timeUsec == b.timeUsec && a.angleX == b.angleX && a.angleY == b.angleY && a.distance == b.distance
            && a.sizeX == b.sizeX && a.sizeY == b.sizeY && a.targetNum == b.targetNum && a.frame == b.frame
            && a.x == b.x && a.y == b.y && a.z == b.z
            && a.q.0 == b.q.0 && a.q.1 == b.q.1 && a.q.2 == b.q.2 && a.q.3 == b.q.3
            && a.type == b.type && a.positionValid == b.positionValid
    }

    func write(_ o: inout [UInt8]) {
        MAVPut.u64(&o, timeUsec)
        MAVPut.f32(&o, angleX); MAVPut.f32(&o, angleY); MAVPut.f32(&o, distance)
        MAVPut.f32(&o, sizeX); MAVPut.f32(&o, sizeY)
        MAVPut.u8(&o, targetNum); MAVPut.u8(&o, frame)
        MAVPut.f32(&o, x); MAVPut.f32(&o, y); MAVPut.f32(&o, z)
        MAVPut.f32(&o, q.0); MAVPut.f32(&o, q.1); MAVPut.f32(&o, q.2); MAVPut.f32(&o, q.3)
        MAVPut.u8(&o, type); MAVPut.u8(&o, positionValid)
    }

    static func read(_ r: inout MAVPayloadReader) -> MAVLandingTarget {
        var t = MAVLandingTarget()
        t.timeUsec = r.u64()
        t.angleX = r.f32(); t.angleY = r.f32(); t.distance = r.f32()
        t.sizeX = r.f32(); t.sizeY = r.f32()
        t.targetNum = r.u8(); t.frame = r.u8()
        t.x = r.f32(); t.y = r.f32(); t.z = r.f32()
        let q0 = r.f32(), q1 = r.f32(), q2 = r.f32(), q3 = r.f32()
        t.q = (q0, q1, q2, q3)
        t.type = r.u8(); t.positionValid = r.u8()
        return t
    }
}

/// STATUSTEXT (253): a human-readable message from the autopilot.
public struct MAVStatusText: Equatable, Sendable {
    public static let id: UInt32 = 253
    public static let crcExtra: UInt8 = 83
    public static let textSize = 50

    /// MAV_SEVERITY.
    public var severity: UInt8
    /// The text bytes (UTF-8), at most 50, without the NUL padding.
    public var text: [UInt8]
    /// Extension: message id for a text split over several chunks (0: single chunk).
    public var id: UInt16
    /// Extension: chunk number of a split text.
    public var chunkSeq: UInt8

    public init(severity: UInt8, text: [UInt8], id: UInt16 = 0, chunkSeq: UInt8 = 0) {
        self.severity = severity
        self.text = text.count > MAVStatusText.textSize ? Array(text[0..<MAVStatusText.textSize]) : text
        self.id = id
        self.chunkSeq = chunkSeq
    }

    public init(severity: UInt8, string: String) {
        self.init(severity: severity, text: Array(string.utf8))
    }

    /// The text as a string (invalid UTF-8 repaired).
    public var string: String { String(decoding: text, as: UTF8.self) }

    func write(_ o: inout [UInt8]) {
        MAVPut.u8(&o, severity)
        for i in 0..<MAVStatusText.textSize { o.append(i < text.count ? text[i] : 0) }
        MAVPut.u16(&o, id); MAVPut.u8(&o, chunkSeq)
    }

    static func read(_ r: inout MAVPayloadReader) -> MAVStatusText {
        let sev = r.u8()
        var bytes: [UInt8] = []
        var ended = false
        for _ in 0..<MAVStatusText.textSize {
            let b = r.u8()
            if b == 0 { ended = true }
            if !ended { bytes.append(b) }
        }
        let id = r.u16()
        return MAVStatusText(severity: sev, text: bytes, id: id, chunkSeq: r.u8())
    }
}

/// WIND (168, ArduPilot): the autopilot's wind estimate. `direction` is where the wind
/// comes from, degrees; `speed` horizontal, `speedZ` vertical, m/s.
public struct MAVWind: Equatable, Sendable {
    public static let id: UInt32 = 168
    public static let crcExtra: UInt8 = 1

    public var direction: Float
    public var speed: Float
    public var speedZ: Float

    public init(direction: Float = 0, speed: Float = 0, speedZ: Float = 0) {
        self.direction = direction
        self.speed = speed
        self.speedZ = speedZ
    }

    func write(_ o: inout [UInt8]) {
        MAVPut.f32(&o, direction); MAVPut.f32(&o, speed); MAVPut.f32(&o, speedZ)
    }

    static func read(_ r: inout MAVPayloadReader) -> MAVWind {
        let d = r.f32(), s = r.f32()
        return MAVWind(direction: d, speed: s, speedZ: r.f32())
    }
}

/// WIND_COV (231, PX4): the wind estimate as a velocity (where the air moves to) in the
/// local NED frame, with its variances.
public struct MAVWindCov: Equatable, Sendable {
    public static let id: UInt32 = 231
    public static let crcExtra: UInt8 = 105

    public var timeUsec: UInt64
    public var windX: Float
    public var windY: Float
    public var windZ: Float
    public var varHoriz: Float
    public var varVert: Float
    public var windAlt: Float
    public var horizAccuracy: Float
    public var vertAccuracy: Float

    public init(timeUsec: UInt64 = 0, windX: Float = 0, windY: Float = 0, windZ: Float = 0, varHoriz: Float = 0,
                varVert: Float = 0, windAlt: Float = 0, horizAccuracy: Float = 0, vertAccuracy: Float = 0) {
        self.timeUsec = timeUsec
        self.windX = windX
        self.windY = windY
        self.windZ = windZ
        self.varHoriz = varHoriz
        self.varVert = varVert
        self.windAlt = windAlt
        self.horizAccuracy = horizAccuracy
        self.vertAccuracy = vertAccuracy
    }

    func write(_ o: inout [UInt8]) {
        MAVPut.u64(&o, timeUsec)
        MAVPut.f32(&o, windX); MAVPut.f32(&o, windY); MAVPut.f32(&o, windZ)
        MAVPut.f32(&o, varHoriz); MAVPut.f32(&o, varVert); MAVPut.f32(&o, windAlt)
        MAVPut.f32(&o, horizAccuracy); MAVPut.f32(&o, vertAccuracy)
    }

    static func read(_ r: inout MAVPayloadReader) -> MAVWindCov {
        let t = r.u64()
        let x = r.f32(), y = r.f32(), z = r.f32(), vh = r.f32(), vv = r.f32(), alt = r.f32(), ha = r.f32()
        return MAVWindCov(timeUsec: t, windX: x, windY: y, windZ: z, varHoriz: vh, varVert: vv, windAlt: alt,
                          horizAccuracy: ha, vertAccuracy: r.f32())
    }
}

/// One decoded MAVLink message of the subset; anything else is `.unknown(id)`.
public enum MAVLinkMessage: Equatable, Sendable {
    case heartbeat(MAVHeartbeat)
    case commandLong(MAVCommandLong)
    case commandAck(MAVCommandAck)
    case setPositionTargetLocalNED(MAVSetPositionTargetLocalNED)
    case positionTargetLocalNED(MAVPositionTargetLocalNED)
    case localPositionNED(MAVLocalPositionNED)
    case globalPositionInt(MAVGlobalPositionInt)
    case vfrHUD(MAVVFRHUD)
    case extendedSysState(MAVExtendedSysState)
    case landingTarget(MAVLandingTarget)
    case statusText(MAVStatusText)
    case wind(MAVWind)
    case windCov(MAVWindCov)
    case unknown(UInt32)

    public var id: UInt32 {
        switch self {
        case .heartbeat: return MAVHeartbeat.id
        case .commandLong: return MAVCommandLong.id
        case .commandAck: return MAVCommandAck.id
        case .setPositionTargetLocalNED: return MAVSetPositionTargetLocalNED.id
        case .positionTargetLocalNED: return MAVPositionTargetLocalNED.id
        case .localPositionNED: return MAVLocalPositionNED.id
        case .globalPositionInt: return MAVGlobalPositionInt.id
        case .vfrHUD: return MAVVFRHUD.id
        case .extendedSysState: return MAVExtendedSysState.id
        case .landingTarget: return MAVLandingTarget.id
        case .statusText: return MAVStatusText.id
        case .wind: return MAVWind.id
        case .windCov: return MAVWindCov.id
        case .unknown(let id): return id
        }
    }

    /// CRC_EXTRA of the messages this subset knows; nil for any other id.
    public static func crcExtra(for id: UInt32) -> UInt8? {
        switch id {
        case MAVHeartbeat.id: return MAVHeartbeat.crcExtra
        case MAVCommandLong.id: return MAVCommandLong.crcExtra
        case MAVCommandAck.id: return MAVCommandAck.crcExtra
        case MAVSetPositionTargetLocalNED.id: return MAVSetPositionTargetLocalNED.crcExtra
        case MAVPositionTargetLocalNED.id: return MAVPositionTargetLocalNED.crcExtra
        case MAVLocalPositionNED.id: return MAVLocalPositionNED.crcExtra
        case MAVGlobalPositionInt.id: return MAVGlobalPositionInt.crcExtra
        case MAVVFRHUD.id: return MAVVFRHUD.crcExtra
        case MAVExtendedSysState.id: return MAVExtendedSysState.crcExtra
        case MAVLandingTarget.id: return MAVLandingTarget.crcExtra
        case MAVStatusText.id: return MAVStatusText.crcExtra
        case MAVWind.id: return MAVWind.crcExtra
        case MAVWindCov.id: return MAVWindCov.crcExtra
        default: return nil
        }
    }

    /// Appends the full-length payload (untrimmed). Returns false for `.unknown`.
    func writePayload(_ o: inout [UInt8]) -> Bool {
        switch self {
        case .heartbeat(let m): m.write(&o)
        case .commandLong(let m): m.write(&o)
        case .commandAck(let m): m.write(&o)
        case .setPositionTargetLocalNED(let m): m.write(&o)
        case .positionTargetLocalNED(let m): m.write(&o)
        case .localPositionNED(let m): m.write(&o)
        case .globalPositionInt(let m): m.write(&o)
        case .vfrHUD(let m): m.write(&o)
        case .extendedSysState(let m): m.write(&o)
        case .landingTarget(let m): m.write(&o)
        case .statusText(let m): m.write(&o)
        case .wind(let m): m.write(&o)
        case .windCov(let m): m.write(&o)
        case .unknown: return false
        }
        return true
    }

    /// Decodes a payload (possibly trimmed; missing bytes read as zero).
    public static func decode(id: UInt32, payload: UnsafeRawBufferPointer) -> MAVLinkMessage {
        var r = MAVPayloadReader(payload)
        switch id {
        case MAVHeartbeat.id: return .heartbeat(MAVHeartbeat.read(&r))
        case MAVCommandLong.id: return .commandLong(MAVCommandLong.read(&r))
        case MAVCommandAck.id: return .commandAck(MAVCommandAck.read(&r))
        case MAVSetPositionTargetLocalNED.id: return .setPositionTargetLocalNED(MAVSetPositionTargetLocalNED.read(&r))
        case MAVPositionTargetLocalNED.id: return .positionTargetLocalNED(MAVPositionTargetLocalNED.read(&r))
        case MAVLocalPositionNED.id: return .localPositionNED(MAVLocalPositionNED.read(&r))
        case MAVGlobalPositionInt.id: return .globalPositionInt(MAVGlobalPositionInt.read(&r))
        case MAVVFRHUD.id: return .vfrHUD(MAVVFRHUD.read(&r))
        case MAVExtendedSysState.id: return .extendedSysState(MAVExtendedSysState.read(&r))
        case MAVLandingTarget.id: return .landingTarget(MAVLandingTarget.read(&r))
        case MAVStatusText.id: return .statusText(MAVStatusText.read(&r))
        case MAVWind.id: return .wind(MAVWind.read(&r))
        case MAVWindCov.id: return .windCov(MAVWindCov.read(&r))
        default: return .unknown(id)
        }
    }
}

// MARK: - Frame encoding

public enum MAVLinkFrame {
    /// Appends one unsigned MAVLink 2 frame carrying `message` to `out`, trimming the
    /// payload's trailing zero bytes (the first payload byte always stays). Does not
    /// allocate when `out` has capacity for the untrimmed frame (at most 12 + 60 bytes for
    /// this subset). Returns false, appending nothing, for `.unknown`.
    @discardableResult
    public static func append(_ message: MAVLinkMessage, sequence: UInt8, systemId: UInt8, componentId: UInt8,
                              to out: inout [UInt8]) -> Bool {
        guard let extra = MAVLinkMessage.crcExtra(for: message.id) else { return false }
        let start = out.count
        let id = message.id
        out.append(MAVLinkWire.startV2)
        out.append(0)                        // length, patched below
        out.append(0)                        // incompat flags
        out.append(0)                        // compat flags
        out.append(sequence)
        out.append(systemId)
        out.append(componentId)
        out.append(UInt8(truncatingIfNeeded: id))
        out.append(UInt8(truncatingIfNeeded: id >> 8))
        out.append(UInt8(truncatingIfNeeded: id >> 16))
        let payloadStart = out.count
        guard message.writePayload(&out) else {
            out.removeLast(out.count - start)
            return false
        }
        while out.count > payloadStart + 1 && out[out.count - 1] == 0 { out.removeLast() }
        out[start + 1] = UInt8(truncatingIfNeeded: out.count - payloadStart)
        var crc = MAVLinkCRC()
        for i in (start + 1)..<out.count { crc.update(out[i]) }
        crc.update(extra)
        out.append(UInt8(truncatingIfNeeded: crc.value))
        out.append(UInt8(truncatingIfNeeded: crc.value >> 8))
        return true
    }
}

/// Numbers frames from one system/component. Each appended frame takes the next sequence.
public struct MAVLinkSender {
    public var systemId: UInt8
    public var componentId: UInt8
    public private(set) var sequence: UInt8 = 0
    public private(set) var framesSent: UInt32 = 0

    public init(systemId: UInt8, componentId: UInt8) {
        self.systemId = systemId
        self.componentId = componentId
    }

    @discardableResult
    public mutating func append(_ message: MAVLinkMessage, to out: inout [UInt8]) -> Bool {
        guard MAVLinkFrame.append(message, sequence: sequence, systemId: systemId, componentId: componentId,
                                  to: &out) else { return false }
        sequence &+= 1
        framesSent &+= 1
        return true
    }
}

// MARK: - Parsing

/// One received MAVLink 2 frame, decoded.
public struct MAVLinkPacket: Equatable, Sendable {
    public var sequence: UInt8
    public var systemId: UInt8
    public var componentId: UInt8
    public var messageId: UInt32
    /// The frame carried a signature (skipped, not verified).
    public var signed: Bool
    /// Payload length on the wire (after trimming).
    public var payloadLength: UInt8
    public var message: MAVLinkMessage

    public init(sequence: UInt8, systemId: UInt8, componentId: UInt8, messageId: UInt32, signed: Bool,
                payloadLength: UInt8, message: MAVLinkMessage) {
        self.sequence = sequence
        self.systemId = systemId
        self.componentId = componentId
        self.messageId = messageId
        self.signed = signed
        self.payloadLength = payloadLength
        self.message = message
    }
}

/// What the parser saw. Nothing is dropped without being counted.
public struct MAVLinkParserStats: Equatable, Sendable {
    /// MAVLink 2 frames accepted (known and unknown message ids).
    public var frames: UInt32 = 0
    /// Frames whose checksum did not match (the parser resynchronised after each).
    public var crcErrors: UInt32 = 0
    /// Accepted frames with a message id outside this subset (checksum not verifiable).
    public var unknownMessages: UInt32 = 0
    /// Accepted frames that carried a signature.
    public var signedFrames: UInt32 = 0
    /// MAVLink 1 frames (of the messages this subset knows, checksum verified) skipped whole.
    public var mavlink1Skipped: UInt32 = 0
    /// Start markers followed by incompatibility flags this parser does not understand.
    public var unsupportedFlags: UInt32 = 0
    /// Headers naming a message id above `MAVLinkParser.largestPlausibleId` (not taken as frames).
    public var implausibleIds: UInt32 = 0
    /// Bytes discarded while looking for a start marker.
    public var discardedBytes: UInt32 = 0

    public init() {}
}

/// A streaming MAVLink 2 parser with a fixed buffer (one maximal frame). Push bytes as they
/// arrive; complete frames come out decoded. After garbage, a bad checksum or an
/// unsupported header it resynchronises on the next start marker inside the bytes it already
/// holds, so a false start marker never swallows a genuine frame behind it.
///
/// Use either `parse(_:offset:)` over a buffer, or `push(_:)` per byte followed by `next()`
/// until it returns nil (one byte can complete more than one frame after a resync).
public struct MAVLinkParser {
    /// Frames with an unknown id cannot have their checksum verified, so they are taken on
    /// the header's word. Ids above this (none is published; the 24-bit field leaves room)
    /// are treated as a false start marker rather than a frame.
    public static let largestPlausibleId: UInt32 = 0xFFFF

    public private(set) var stats = MAVLinkParserStats()
    private var buffer: [UInt8]
    private var count = 0

    public init() {
        buffer = [UInt8](repeating: 0, count: MAVLinkWire.maxFrame)
    }

    /// Bytes held waiting for the rest of a frame.
    public var buffered: Int { count }

    /// Forgets any partial frame.
    public mutating func reset() { count = 0 }

    /// Feeds bytes from `input[offset...]` until a frame completes; returns it with `offset`
    /// just past the bytes consumed. Returns nil once the input is used up. Call repeatedly.
    public mutating func parse(_ input: UnsafeRawBufferPointer, offset: inout Int) -> MAVLinkPacket? {
        if let p = next() { return p }
        while offset < input.count {
            if count >= buffer.count { shift(1) }   // cannot happen: next() keeps room
            buffer[count] = input[offset]
            count += 1
            offset += 1
            if let p = next() { return p }
        }
        return nil
    }

    /// Adds one byte; returns a frame if one completed. Then call `next()` until nil.
    public mutating func push(_ byte: UInt8) -> MAVLinkPacket? {
        if count >= buffer.count { shift(1) }
        buffer[count] = byte
        count += 1
        return next()
    }

    /// Parses every byte of `bytes` (host convenience; allocates the result array).
    public mutating func parseAll(_ bytes: [UInt8]) -> [MAVLinkPacket] {
        var packets: [MAVLinkPacket] = []
        bytes.withUnsafeBytes { raw in
            var i = 0
            while let p = parse(raw, offset: &i) { packets.append(p) }
        }
        return packets
    }

    /// Extracts the next complete frame from the bytes already held, if any.
    public mutating func next() -> MAVLinkPacket? {
        while count > 0 {
            let first = buffer[0]
            if first != MAVLinkWire.startV2 && first != MAVLinkWire.startV1 {
                discardToNextStart(from: 1)
                continue
            }
            if first == MAVLinkWire.startV1 {
                if count < MAVLinkWire.headerSizeV1 { return nil }
                let len = Int(buffer[1])
                let total = MAVLinkWire.headerSizeV1 + len + MAVLinkWire.checksumSize
                if count < total { return nil }
                // Only a MAVLink 1 frame whose checksum verifies is skipped whole; anything
                // else after 0xFE is scanned byte by byte like garbage.
                guard let extra = MAVLinkMessage.crcExtra(for: UInt32(buffer[5])),
                      checksumMatches(from: 1, to: MAVLinkWire.headerSizeV1 + len, extra: extra) else {
                    discardToNextStart(from: 1)
                    continue
                }
                stats.mavlink1Skipped &+= 1
                shift(total)
                continue
            }
            // MAVLink 2.
            if count < 3 { return nil }
            let incompat = buffer[2]
            if incompat & ~MAVLinkWire.incompatSigned != 0 {
                stats.unsupportedFlags &+= 1
                discardToNextStart(from: 1)
                continue
            }
            if count < MAVLinkWire.headerSize { return nil }
            let id = UInt32(buffer[7]) | UInt32(buffer[8]) << 8 | UInt32(buffer[9]) << 16
            let extra = MAVLinkMessage.crcExtra(for: id)
            if extra == nil && id > MAVLinkParser.largestPlausibleId {
                // Unverifiable and outside every published message set: most likely a
                // start marker inside garbage. Look for the next one instead of waiting
                // for the length this header claims.
                stats.implausibleIds &+= 1
                discardToNextStart(from: 1)
                continue
            }
            let len = Int(buffer[1])
            let signed = incompat & MAVLinkWire.incompatSigned != 0
            let body = MAVLinkWire.headerSize + len
            let total = body + MAVLinkWire.checksumSize + (signed ? MAVLinkWire.signatureSize : 0)
            if count < total { return nil }
            if let extra, !checksumMatches(from: 1, to: body, extra: extra) {
                stats.crcErrors &+= 1
                discardToNextStart(from: 1)
                continue
            }
            let message: MAVLinkMessage
            if extra == nil {
                message = .unknown(id)
                stats.unknownMessages &+= 1
            } else {
                message = buffer.withUnsafeBytes { raw in
                    MAVLinkMessage.decode(id: id, payload: UnsafeRawBufferPointer(
                        rebasing: raw[MAVLinkWire.headerSize..<body]))
                }
            }
            let packet = MAVLinkPacket(sequence: buffer[4], systemId: buffer[5], componentId: buffer[6],
                                       messageId: id, signed: signed, payloadLength: UInt8(len), message: message)
            stats.frames &+= 1
            if signed { stats.signedFrames &+= 1 }
            shift(total)
            return packet
        }
        return nil
    }

    private func checksumMatches(from: Int, to end: Int, extra: UInt8) -> Bool {
        var crc = MAVLinkCRC()
        for i in from..<end { crc.update(buffer[i]) }
        crc.update(extra)
        return buffer[end] == UInt8(truncatingIfNeeded: crc.value)
            && buffer[end + 1] == UInt8(truncatingIfNeeded: crc.value >> 8)
    }

    /// Drops bytes up to the next start marker at or after `from` (all of them if none).
    private mutating func discardToNextStart(from: Int) {
        var i = from
        while i < count && buffer[i] != MAVLinkWire.startV2 && buffer[i] != MAVLinkWire.startV1 { i += 1 }
        stats.discardedBytes &+= UInt32(truncatingIfNeeded: i)
        shift(i)
    }

    /// Removes the first `n` held bytes.
    private mutating func shift(_ n: Int) {
        if n >= count {
            count = 0
            return
        }
        var j = 0
        while j + n < count {
            buffer[j] = buffer[j + n]
            j += 1
        }
        count -= n
    }
}
