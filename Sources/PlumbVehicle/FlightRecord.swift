import PlumbCore
import PlumbFlight

// The flight recorder's file format (docs/flight-log.md), sans I/O: the encoder fills
// preallocated byte buffers, the decoder reads bytes someone else loaded.
//
// A file is a header, then records. The header names every record type and lists its
// fields (name, integer type, decimal scale, unit, and the names of bits and enum
// values), so a reader finds fields by name and reads files written by older or newer
// daemons alike. Every record is framed as
//
//     type (u8) | payload length (u8) | payload | CRC-32 of type, length and payload (u32 LE)
//
// so a torn tail (a write cut short by a crash or a power loss) and a damaged record in the
// middle are both detected; the reader skips to the next record that checks out.
// Numbers are little-endian integers, value = raw × 10^exp. The most negative value of a
// signed field and the largest of an unsigned one mean "unknown" (NaN); values beyond the
// range are clamped to the nearest one that is not the sentinel.

/// Record types. The raw values are ASCII letters so that a hex dump is legible.
public enum FlightRecordType: UInt8, Equatable, Sendable {
    /// One control tick: sensors, the autopilot's view, the mission, the outputs.
    case tick = 0x54       // T
    /// A new GNSS solution (at the receiver's rate), with the frame estimator's bias.
    case gnss = 0x47       // G
    /// A mission event (state change or note).
    case event = 0x45      // E
    /// A command sent to the autopilot.
    case command = 0x43    // C
    /// The mission plan's home; followed by one `leg` record per leg.
    case plan = 0x50       // P
    case leg = 0x4C        // L
    /// Records the recorder could not write (disk full, directory gone), once it can again.
    case lost = 0x44       // D
}

/// One field of a record as the header describes it.
public struct FlightRecordField: Sendable {
    public enum Kind: UInt8, Equatable, Sendable {
        case u8 = 1, i8 = 2, u16 = 3, i16 = 4, u32 = 5, i32 = 6
        /// Bit sets, their bits named in the header.
        case bits8 = 7, bits16 = 8, bits32 = 9
        /// An enumeration, its values named in the header (index = raw value).
        case enum8 = 10

        public var size: Int {
            switch self {
            case .u8, .i8, .bits8, .enum8: return 1
            case .u16, .i16, .bits16: return 2
            case .u32, .i32, .bits32: return 4
            }
        }

        public var signed: Bool { self == .i8 || self == .i16 || self == .i32 }
        public var isBits: Bool { self == .bits8 || self == .bits16 || self == .bits32 }
    }

    /// Where the names of bits or enum values come from.
    public enum Names: Sendable {
        case none
        case bits([StaticString])
        case phases, notes, outcomes, commands, modes, legKinds, landedStates
    }

    public let name: StaticString
    public let kind: Kind
    public let exp: Int8
    public let unit: StaticString
    public let names: Names

    init(_ name: StaticString, _ kind: Kind, _ exp: Int8 = 0, _ unit: StaticString = "", _ names: Names = .none) {
        self.name = name
        self.kind = kind
        self.exp = exp
        self.unit = unit
        self.names = names
    }
}

/// A record type's layout as this daemon writes it.
public struct FlightRecordLayout: Sendable {
    public let type: FlightRecordType
    public let name: StaticString
    public let fields: [FlightRecordField]

    public var payloadBytes: Int {
        var n = 0
        for f in fields { n += f.kind.size }
        return n
    }

    public var recordBytes: Int { payloadBytes + FlightRecord.framingBytes }
}

public enum FlightRecord {
    /// The first eight bytes of every file.
    public static let magic: StaticString = "PLUMBLOG"
    /// The framing and header layout. Fields may be added, removed or rescaled without a
    /// new version: the header describes them.
    public static let version: UInt16 = 1
    /// Type, length, CRC-32.
    public static let framingBytes = 6
    /// Legs recorded from one plan (mission files hold at most 64).
    public static let maxLegs = 64
    /// Largest header this encoder writes, bytes (it holds every field's and enum value's name).
    public static let headerCapacity = 8192

    /// Bits of the tick record's `flags`, bit 0 first.
    public static let tickFlags: [StaticString] = [
        "battery_ok", "gnss_ok", "gnss_new", "gnss_fix", "encoder_ok", "tension_ok",
        "hook_latched_known", "hook_latched", "drum_home_known", "drum_home",
        "ap_connected", "ap_armed", "ap_guided", "ap_landing", "ap_position", "ap_wind",
        "ap_command_pending", "ap_command_refused", "setpoint", "brake", "hook_open", "cut_rope",
        "estimate_fresh",
    ]

    public static let tick = FlightRecordLayout(type: .tick, name: "tick", fields: [
        .init("t", .u32, -6, "s"),
        .init("flags", .bits32, 0, "", .bits(tickFlags)),
        .init("battery_v", .u16, -2, "V"),
        .init("current_a", .i16, -1, "A"),
        .init("battery_pct", .u16, -2, "%"),
        .init("remaining_ah", .u16, -2, "Ah"),
        .init("battery_temp_c", .i8, 0, "C"),
        .init("rope_m", .i32, -3, "m"),
        .init("rope_speed_mps", .i16, -3, "m/s"),
        .init("tension_n", .i16, -1, "N"),
        .init("tension_filtered_n", .i16, -1, "N"),
        .init("ap_north", .i32, -3, "m"),
        .init("ap_east", .i32, -3, "m"),
        .init("ap_down", .i32, -3, "m"),
        .init("ap_vn", .i16, -2, "m/s"),
        .init("ap_ve", .i16, -2, "m/s"),
        .init("ap_vd", .i16, -2, "m/s"),
        .init("throttle_pct", .u8, 0, "%"),
        .init("landed_state", .enum8, 0, "", .landedStates),
        .init("wind_n", .i16, -2, "m/s"),
        .init("wind_e", .i16, -2, "m/s"),
        .init("phase", .enum8, 0, "", .phases),
        .init("leg", .u8),
        .init("target_error_m", .u32, -3, "m"),
        .init("height_above_target_m", .i16, -2, "m"),
        .init("sp_north", .i32, -3, "m"),
        .init("sp_east", .i32, -3, "m"),
        .init("sp_down", .i32, -3, "m"),
        .init("sp_vn", .i16, -2, "m/s"),
        .init("sp_ve", .i16, -2, "m/s"),
        .init("sp_vd", .i16, -2, "m/s"),
        .init("winch", .i16, -4),
    ])

    public static let gnss = FlightRecordLayout(type: .gnss, name: "gnss", fields: [
        .init("t", .u32, -6, "s"),
        .init("lat", .i32, -7, "deg"),
        .init("lon", .i32, -7, "deg"),
        .init("alt", .i32, -3, "m"),
        .init("vn", .i16, -2, "m/s"),
        .init("ve", .i16, -2, "m/s"),
        .init("vd", .i16, -2, "m/s"),
        .init("fix_type", .u8),
        .init("carrier", .u8),
        .init("h_acc", .u16, -3, "m"),
        .init("v_acc", .u16, -3, "m"),
        .init("satellites", .u8),
        .init("age", .u16, -3, "s"),
        .init("bias_n", .i32, -3, "m"),
        .init("bias_e", .i32, -3, "m"),
        .init("bias_d", .i32, -3, "m"),
    ])

    public static let event = FlightRecordLayout(type: .event, name: "event", fields: [
        .init("t", .u32, -6, "s"),
        .init("phase", .enum8, 0, "", .phases),
        .init("note", .enum8, 0, "", .notes),
        .init("leg", .u8),
        .init("outcome", .enum8, 0, "", .outcomes),
        .init("value", .i32, -3),
        .init("delivered", .u8),
        .init("not_delivered", .u8),
    ])

    public static let command = FlightRecordLayout(type: .command, name: "command", fields: [
        .init("t", .u32, -6, "s"),
        .init("command", .enum8, 0, "", .commands),
        .init("mode", .enum8, 0, "", .modes),
        .init("altitude_m", .i32, -3, "m"),
    ])

    public static let plan = FlightRecordLayout(type: .plan, name: "plan", fields: [
        .init("home_lat", .i32, -7, "deg"),
        .init("home_lon", .i32, -7, "deg"),
        .init("home_alt", .i32, -3, "m"),
        .init("return_home", .u8),
        .init("legs", .u8),
    ])

    public static let leg = FlightRecordLayout(type: .leg, name: "leg", fields: [
        .init("index", .u8),
        .init("kind", .enum8, 0, "", .legKinds),
        .init("lat", .i32, -7, "deg"),
        .init("lon", .i32, -7, "deg"),
        .init("alt", .i32, -3, "m"),
        .init("roof_height_m", .u16, -2, "m"),
        .init("drop_altitude_m", .u16, -2, "m"),
        .init("parcel", .u32),
    ])

    public static let lost = FlightRecordLayout(type: .lost, name: "lost", fields: [
        .init("t", .u32, -6, "s"),
        .init("duration_s", .u32, -3, "s"),
        .init("records", .u32),
    ])

    public static let layouts: [FlightRecordLayout] = [tick, gnss, event, command, plan, leg, lost]

    static let commandNames: [StaticString] = ["none", "arm", "disarm", "takeoff", "mode"]
    static let modeNames: [StaticString] = ["none", "guided", "land", "hold", "return_home"]
    static let legKindNames: [StaticString] = ["none", "waypoint", "land", "drop"]
    static let landedStateNames: [StaticString] = ["unknown", "on_ground", "in_air", "taking_off", "landing"]

    /// The most bytes one tick writes: its tick record, a GNSS record and a command record.
    public static var maxTickBatchBytes: Int { tick.recordBytes + gnss.recordBytes + command.recordBytes }

    /// Bytes of the plan records for a plan of `legs` legs.
    public static func planBytes(legs: Int) -> Int { plan.recordBytes + min(legs, maxLegs) * leg.recordBytes }
}

/// CRC-32 (IEEE, the same as PlumbCore's `CRC32`), a byte at a time from a table: a tick
/// record costs a few hundred instructions instead of a few thousand.
public struct FlightRecordCRC {
    private var table: [UInt32]

    public init() {
        var t = [UInt32](repeating: 0, count: 256)
        for i in 0..<256 {
            var c = UInt32(i)
            for _ in 0..<8 { c = (c & 1) != 0 ? (c >> 1) ^ 0xEDB8_8320 : c >> 1 }
            t[i] = c
        }
        table = t
    }

    /// CRC-32 of `bytes[from..<to]`.
    public func checksum(_ bytes: [UInt8], from: Int, to: Int) -> UInt32 {
        var c: UInt32 = 0xFFFF_FFFF
        var i = from
        while i < to {
            c = table[Int((c ^ UInt32(bytes[i])) & 0xFF)] ^ (c >> 8)
            i += 1
        }
        return c ^ 0xFFFF_FFFF
    }
}

// MARK: - Encoder

/// Encodes headers and records into buffers allocated once, at start-up: encoding a tick
/// allocates nothing.
public struct FlightRecordEncoder {
    /// The header of the current file (see `makeHeader`).
    public private(set) var header: [UInt8]
    /// Records encoded since the last `clear()`.
    public private(set) var bytes: [UInt8]
    /// Record times are microseconds after this (the current file's start), monotonic ns.
    public private(set) var baseNs: UInt64 = 0
    public let rateHz: Int
    public let software: String
    public let board: String
    private let crc = FlightRecordCRC()

    /// Room for the largest batch the recorder writes at once: a whole plan and a tick.
    public static var bufferCapacity: Int { FlightRecord.planBytes(legs: FlightRecord.maxLegs) + FlightRecord.maxTickBatchBytes + 256 }

    public init(rateHz: Int, software: String, board: String) {
        self.rateHz = rateHz
        self.software = software
        self.board = board
        header = []
        header.reserveCapacity(FlightRecord.headerCapacity)
        bytes = []
        bytes.reserveCapacity(FlightRecordEncoder.bufferCapacity)
    }

    public mutating func clear() { bytes.removeAll(keepingCapacity: true) }

    // MARK: header

    /// Writes the header of a new file into `header`; later records are timed from `baseNs`.
    /// `sequence` is the file's number, `session` the number of the first file this run
    /// wrote; `realtimeNs` is the wall-clock time at `baseNs` (0 when unknown).
    public mutating func makeHeader(sequence: UInt32, session: UInt32, baseNs: UInt64, realtimeNs: UInt64) {
        self.baseNs = baseNs
        header.removeAll(keepingCapacity: true)
        FlightRecord.magic.withUTF8Buffer { for b in $0 { header.append(b) } }
        Self.put16(&header, FlightRecord.version)
        Self.put16(&header, 0)                          // header length, patched below
        Self.put16(&header, UInt16(clamping: rateHz))
        Self.put16(&header, 0)                          // flags, none yet
        Self.put32(&header, sequence)
        Self.put32(&header, session)
        Self.put64(&header, baseNs)
        Self.put64(&header, realtimeNs)
        Self.putText(&header, software)
        Self.putText(&header, board)
        header.append(UInt8(FlightRecord.layouts.count))
        for layout in FlightRecord.layouts {
            header.append(layout.type.rawValue)
            header.append(UInt8(layout.payloadBytes))
            Self.putText(&header, layout.name)
            header.append(UInt8(layout.fields.count))
            for f in layout.fields {
                Self.putText(&header, f.name)
                header.append(f.kind.rawValue)
                header.append(UInt8(bitPattern: f.exp))
                Self.putText(&header, f.unit)
                Self.putNames(&header, f)
            }
        }
        let length = header.count + 4
        header[10] = UInt8(length & 0xFF)
        header[11] = UInt8((length >> 8) & 0xFF)
        Self.put32(&header, crc.checksum(header, from: 0, to: header.count))
    }

    private static func putNames(_ a: inout [UInt8], _ f: FlightRecordField) {
        switch f.names {
        case .none:
            if f.kind.isBits || f.kind == .enum8 { a.append(0) }
        case .bits(let names): putList(&a, names)
        case .commands: putList(&a, FlightRecord.commandNames)
        case .modes: putList(&a, FlightRecord.modeNames)
        case .legKinds: putList(&a, FlightRecord.legKindNames)
        case .landedStates: putList(&a, FlightRecord.landedStateNames)
        case .phases:
            var n = 0
            while MissionPhase(rawValue: UInt8(n)) != nil && n < 255 { n += 1 }
            a.append(UInt8(n))
            for i in 0..<n { if let p = MissionPhase(rawValue: UInt8(i)) { putText(&a, p.name) } }
        case .notes:
            var n = 0
            while MissionNote(rawValue: UInt8(n)) != nil && n < 255 { n += 1 }
            a.append(UInt8(n))
            for i in 0..<n { if let p = MissionNote(rawValue: UInt8(i)) { putText(&a, p.text) } }
        case .outcomes:
            var n = 0
            while MissionOutcome(rawValue: UInt8(n)) != nil && n < 255 { n += 1 }
            a.append(UInt8(n))
            for i in 0..<n { if let p = MissionOutcome(rawValue: UInt8(i)) { putText(&a, p.name) } }
        }
    }

    private static func putList(_ a: inout [UInt8], _ names: [StaticString]) {
        a.append(UInt8(min(names.count, 255)))
        for s in names.prefix(255) { putText(&a, s) }
    }

    private static func putText(_ a: inout [UInt8], _ s: StaticString) {
        s.withUTF8Buffer { buf in
            let n = min(buf.count, 255)
            a.append(UInt8(n))
            for i in 0..<n { a.append(buf[i]) }
        }
    }

    private static func putText(_ a: inout [UInt8], _ s: String) {
        var n = 0
        for _ in s.utf8 where n < 255 { n += 1 }
        a.append(UInt8(n))
        var i = 0
        for b in s.utf8 where i < n {
            a.append(b)
            i += 1
        }
    }

    // MARK: records

    /// A tick: what the flight code saw (`snapshot`, `autopilot`), what it made of it
    /// (`mission`) and what it asked for (`outputs`), at `nowNs`.
    public mutating func appendTick(nowNs: UInt64, snapshot s: SensorSnapshot, autopilot ap: AutopilotView,
                                    mission m: Mission, outputs o: FlightOutputs) {
        let at = begin(.tick)
        put32(micros(nowNs))
        var f: UInt32 = 0
        func bit(_ on: Bool, _ i: UInt32) { if on { f |= 1 << i } }
        bit(s.batteryOK, 0)
        bit(s.gnssOK, 1)
        bit(s.gnssNew, 2)
        bit(s.gnss != nil, 3)
        bit(s.encoderOK, 4)
        bit(s.tensionOK, 5)
        bit(s.hookLatched != nil, 6)
        bit(s.hookLatched == true, 7)
        bit(s.drumHome != nil, 8)
        bit(s.drumHome == true, 9)
        bit(ap.connected, 10)
        bit(ap.armed, 11)
        bit(ap.guided, 12)
        bit(ap.landing, 13)
        bit(ap.positionNs != 0, 14)
        bit(ap.wind != nil, 15)
        bit(ap.commandPending, 16)
        bit(ap.lastCommandAccepted == false, 17)
        bit(o.setpoint != nil, 18)
        bit(o.brake, 19)
        bit(o.hookOpen, 20)
        bit(o.cutRope, 21)
        bit(m.frame.fresh(nowNs: nowNs), 22)
        put32(f)
        putU16(s.batteryVoltageV, 100)
        putI16(s.batteryCurrentA, 10)
        putU16(s.batterySoCPct, 100)
        putU16(s.batteryRemainingAh, 100)
        putI8(s.batteryTemperatureC)
        putI32(s.ropeOutM, 1000)
        putI16(s.ropeSpeedMps, 1000)
        putI16(s.tensionN, 10)
        putI16(m.rope.tensionN, 10)
        putI32(ap.position.n, 1000)
        putI32(ap.position.e, 1000)
        putI32(ap.position.d, 1000)
        putI16(ap.velocity.n, 100)
        putI16(ap.velocity.e, 100)
        putI16(ap.velocity.d, 100)
        putU8(ap.throttle * 100)
        bytes.append(ap.landedState)
        putI16(ap.wind?.n ?? .nan, 100)
        putI16(ap.wind?.e ?? .nan, 100)
        bytes.append(m.phase.rawValue)
        putU8(Double(m.legIndex))
        putU32(m.targetErrorM, 1000)
        putI16(m.heightAboveTargetM, 100)
        putI32(o.setpoint?.n ?? .nan, 1000)
        putI32(o.setpoint?.e ?? .nan, 1000)
        putI32(o.setpoint?.d ?? .nan, 1000)
        putI16(o.setpointVelocity.n, 100)
        putI16(o.setpointVelocity.e, 100)
        putI16(o.setpointVelocity.d, 100)
        putI16(o.winch, 10000)
        end(at)
    }

    /// A new GNSS solution, with the frame estimator's bias after it (the autopilot's local
    /// position less the solution's offset from home).
    public mutating func appendGNSS(nowNs: UInt64, fix g: GNSSFix, bias: NED) {
        let at = begin(.gnss)
        put32(micros(nowNs))
        putI32(g.position.latDeg, 1e7)
        putI32(g.position.lonDeg, 1e7)
        putI32(g.position.altM, 1000)
        putI16(g.velocity.n, 100)
        putI16(g.velocity.e, 100)
        putI16(g.velocity.d, 100)
        bytes.append(g.fixType)
        bytes.append(g.carrierSolution)
        putU16(g.hAccM, 1000)
        putU16(g.vAccM, 1000)
        putU8(Double(g.satellites))
        putU16(nowNs >= g.validNs ? Double(nowNs - g.validNs) / 1e9 : 0, 1000)
        putI32(bias.n, 1000)
        putI32(bias.e, 1000)
        putI32(bias.d, 1000)
        end(at)
    }

    public mutating func appendEvent(_ e: MissionEvent, mission m: Mission) {
        let at = begin(.event)
        put32(micros(e.timeNs))
        bytes.append(e.phase.rawValue)
        bytes.append(e.note.rawValue)
        putU8(Double(e.leg))
        bytes.append(m.outcome.rawValue)
        putI32(e.value, 1000)
        putU8(Double(m.delivered))
        putU8(Double(m.notDelivered))
        end(at)
    }

    public mutating func appendCommand(nowNs: UInt64, _ c: FlightCommand) {
        let at = begin(.command)
        put32(micros(nowNs))
        var mode: UInt8 = 0
        var altitude = Double.nan
        switch c {
        case .arm: bytes.append(1)
        case .disarm: bytes.append(2)
        case .takeoff(let a):
            bytes.append(3)
            altitude = a
        case .mode(let m):
            bytes.append(4)
            switch m {
            case .guided: mode = 1
            case .land: mode = 2
            case .hold: mode = 3
            case .returnHome: mode = 4
            }
        }
        bytes.append(mode)
        putI32(altitude, 1000)
        end(at)
    }

    /// The plan: its home, then a record per leg (the first `FlightRecord.maxLegs`).
    public mutating func appendPlan(_ p: MissionPlan) {
        let at = begin(.plan)
        putI32(p.home.latDeg, 1e7)
        putI32(p.home.lonDeg, 1e7)
        putI32(p.home.altM, 1000)
        bytes.append(p.returnHome ? 1 : 0)
        putU8(Double(p.legs.count))
        end(at)
        var i = 0
        for leg in p.legs where i < FlightRecord.maxLegs {
            let l = begin(.leg)
            bytes.append(UInt8(i))
            bytes.append(leg.kind.rawValue)
            putI32(leg.target.latDeg, 1e7)
            putI32(leg.target.lonDeg, 1e7)
            putI32(leg.target.altM, 1000)
            putU16(leg.roofHeightM, 100)
            putU16(leg.dropAltitudeM, 100)
            put32(leg.parcelID)
            end(l)
            i += 1
        }
    }

    /// `records` were not written over the `durationNs` before `nowNs`.
    public mutating func appendLost(nowNs: UInt64, durationNs: UInt64, records: Int) {
        let at = begin(.lost)
        put32(micros(nowNs))
        putU32(Double(durationNs) / 1e9, 1000)
        put32(UInt32(clamping: records))
        end(at)
    }

    // MARK: framing and numbers

    private mutating func begin(_ t: FlightRecordType) -> Int {
        let at = bytes.count
        bytes.append(t.rawValue)
        bytes.append(0)
        return at
    }

    private mutating func end(_ at: Int) {
        bytes[at + 1] = UInt8(truncatingIfNeeded: bytes.count - at - 2)
        put32(crc.checksum(bytes, from: at, to: bytes.count))
    }

    private func micros(_ ns: UInt64) -> UInt32 {
        guard ns > baseNs else { return 0 }
        return UInt32(min((ns - baseNs) / 1000, UInt64(UInt32.max - 1)))
    }

    private mutating func put32(_ v: UInt32) { Self.put32(&bytes, v) }

    private static func put16(_ a: inout [UInt8], _ v: UInt16) {
        a.append(UInt8(v & 0xFF))
        a.append(UInt8(v >> 8))
    }

    private static func put32(_ a: inout [UInt8], _ v: UInt32) {
        a.append(UInt8(v & 0xFF))
        a.append(UInt8((v >> 8) & 0xFF))
        a.append(UInt8((v >> 16) & 0xFF))
        a.append(UInt8(v >> 24))
    }

    private static func put64(_ a: inout [UInt8], _ v: UInt64) {
        put32(&a, UInt32(v & 0xFFFF_FFFF))
        put32(&a, UInt32(v >> 32))
    }

    /// `x × scale`, rounded, in `lo...hi`; NaN becomes `nan`.
    private static func quantise(_ x: Double, _ scale: Double, _ lo: Double, _ hi: Double, nan: Int64) -> Int64 {
        let v = (x * scale).rounded()
        if v.isNaN { return nan }
        if v <= lo { return Int64(lo) }
        if v >= hi { return Int64(hi) }
        return Int64(v)
    }

    private mutating func putI32(_ x: Double, _ scale: Double) {
        let v = Self.quantise(x, scale, -2_147_483_647, 2_147_483_647, nan: -2_147_483_648)
        put32(UInt32(bitPattern: Int32(v)))
    }

    private mutating func putI16(_ x: Double, _ scale: Double) {
        let v = Self.quantise(x, scale, -32767, 32767, nan: -32768)
        Self.put16(&bytes, UInt16(bitPattern: Int16(v)))
    }

    private mutating func putI8(_ x: Double) {
        let v = Self.quantise(x, 1, -127, 127, nan: -128)
        bytes.append(UInt8(bitPattern: Int8(v)))
    }

    private mutating func putU32(_ x: Double, _ scale: Double) {
        put32(UInt32(Self.quantise(x, scale, 0, 4_294_967_294, nan: 4_294_967_295)))
    }

    private mutating func putU16(_ x: Double, _ scale: Double) {
        Self.put16(&bytes, UInt16(Self.quantise(x, scale, 0, 65534, nan: 65535)))
    }

    private mutating func putU8(_ x: Double) {
        bytes.append(UInt8(Self.quantise(x, 1, 0, 254, nan: 255)))
    }
}

// MARK: - Decoder

/// A field as a file's header describes it.
public struct FlightLogField: Equatable {
    public var name: String
    public var unit: String
    public var kind: FlightRecordField.Kind
    public var exp: Int8
    /// Offset in the payload, bytes.
    public var offset: Int
    /// Names of the bits (bit sets) or of the values (enums).
    public var names: [String]

    /// The integer as stored, sign-extended.
    public func raw(_ b: [UInt8], payloadAt p: Int) -> Int64 {
        let i = p + offset
        switch kind {
        case .u8, .bits8, .enum8: return Int64(b[i])
        case .i8: return Int64(Int8(bitPattern: b[i]))
        case .u16, .bits16: return Int64(UInt16(b[i]) | UInt16(b[i + 1]) << 8)
        case .i16: return Int64(Int16(bitPattern: UInt16(b[i]) | UInt16(b[i + 1]) << 8))
        case .u32, .bits32: return Int64(Self.u32(b, i))
        case .i32: return Int64(Int32(bitPattern: Self.u32(b, i)))
        }
    }

    static func u32(_ b: [UInt8], _ i: Int) -> UInt32 {
        UInt32(b[i]) | UInt32(b[i + 1]) << 8 | UInt32(b[i + 2]) << 16 | UInt32(b[i + 3]) << 24
    }

    /// The value in its unit: raw × 10^exp; NaN for the "unknown" sentinel.
    public func value(_ b: [UInt8], payloadAt p: Int) -> Double {
        let r = raw(b, payloadAt: p)
        switch kind {
        case .i8: if r == -128 { return .nan }
        case .i16: if r == -32768 { return .nan }
        case .i32: if r == -2_147_483_648 { return .nan }
        case .u8: if r == 255 { return .nan }
        case .u16: if r == 65535 { return .nan }
        case .u32: if r == 4_294_967_295 { return .nan }
        case .bits8, .bits16, .bits32, .enum8: return Double(r)
        }
        return Self.scaled(r, exp)
    }

    static func scaled(_ r: Int64, _ exp: Int8) -> Double {
        var v = Double(r)
        if exp < 0 {
            var d = 1.0
            for _ in 0..<Int(-exp) { d *= 10 }
            v /= d
        } else if exp > 0 {
            for _ in 0..<Int(exp) { v *= 10 }
        }
        return v
    }

    /// An enum's value name ("" when out of the list).
    public func name(of raw: Int64) -> String {
        raw >= 0 && raw < Int64(names.count) ? names[Int(raw)] : ""
    }
}

public struct FlightLogSchema: Equatable {
    public var type: UInt8
    public var name: String
    public var payloadBytes: Int
    public var fields: [FlightLogField]

    public func field(_ name: String) -> FlightLogField? {
        for f in fields where f.name == name { return f }
        return nil
    }
}

public enum FlightLogHeaderError: Error, Equatable {
    case tooShort
    case badMagic
    case unsupportedVersion(UInt16)
    case badChecksum
    case malformed
}

/// A file's header, read back.
public struct FlightLogHeader: Equatable {
    public var version: UInt16
    public var rateHz: Int
    public var sequence: UInt32
    public var session: UInt32
    public var baseNs: UInt64
    public var realtimeNs: UInt64
    public var software: String
    public var board: String
    public var schemas: [FlightLogSchema]
    /// Bytes, with its CRC: the first record starts here.
    public var length: Int

    public func schema(_ type: FlightRecordType) -> FlightLogSchema? { schema(raw: type.rawValue) }

    public func schema(raw type: UInt8) -> FlightLogSchema? {
        for s in schemas where s.type == type { return s }
        return nil
    }

    /// The absolute time (monotonic ns) of a record's `t` field.
    public func timeNs(micros: Int64) -> UInt64 { baseNs &+ UInt64(max(0, micros)) &* 1000 }

    public static func parse(_ b: [UInt8]) throws(FlightLogHeaderError) -> FlightLogHeader {
        guard b.count >= 44 else { throw .tooShort }
        var i = 0
        var magicOK = true
        FlightRecord.magic.withUTF8Buffer { m in
            for k in 0..<m.count where b[k] != m[k] { magicOK = false }
            i = m.count
        }
        guard magicOK else { throw .badMagic }
        func u16() -> UInt16 {
            defer { i += 2 }
            return UInt16(b[i]) | UInt16(b[i + 1]) << 8
        }
        let version = u16()
        guard version == 1 else { throw .unsupportedVersion(version) }
        let length = Int(u16())
        guard length >= 44 else { throw .malformed }
        guard length <= b.count else { throw .tooShort }
        let stored = FlightLogField.u32(b, length - 4)
        guard FlightRecordCRC().checksum(b, from: 0, to: length - 4) == stored else { throw .badChecksum }
        let end = length - 4
        let rate = Int(u16())
        _ = u16()
        var failed = false
        func need(_ n: Int) -> Bool {
            if i + n > end { failed = true }
            return !failed
        }
        func u8() -> UInt8 {
            guard need(1) else { return 0 }
            defer { i += 1 }
            return b[i]
        }
        func u32() -> UInt32 {
            guard need(4) else { return 0 }
            defer { i += 4 }
            return FlightLogField.u32(b, i)
        }
        func u64() -> UInt64 {
            let lo = UInt64(u32())
            return lo | UInt64(u32()) << 32
        }
        func text() -> String {
            let n = Int(u8())
            guard need(n) else { return "" }
            defer { i += n }
            return String(decoding: b[i..<(i + n)], as: UTF8.self)
        }
        let sequence = u32()
        let session = u32()
        let base = u64()
        let realtime = u64()
        let software = text()
        let board = text()
        var schemas: [FlightLogSchema] = []
        let count = Int(u8())
        for _ in 0..<count where !failed {
            let type = u8()
            let payload = Int(u8())
            let name = text()
            let fieldCount = Int(u8())
            var fields: [FlightLogField] = []
            var offset = 0
            for _ in 0..<fieldCount where !failed {
                let fname = text()
                guard let kind = FlightRecordField.Kind(rawValue: u8()) else { throw .malformed }
                let exp = Int8(bitPattern: u8())
                let unit = text()
                var names: [String] = []
                if kind.isBits || kind == .enum8 {
                    let n = Int(u8())
                    for _ in 0..<n where !failed { names.append(text()) }
                }
                fields.append(FlightLogField(name: fname, unit: unit, kind: kind, exp: exp, offset: offset, names: names))
                offset += kind.size
            }
            guard offset == payload else { throw .malformed }
            schemas.append(FlightLogSchema(type: type, name: name, payloadBytes: payload, fields: fields))
        }
        guard !failed, i == end else { throw .malformed }
        return FlightLogHeader(version: version, rateHz: rate, sequence: sequence, session: session, baseNs: base,
                               realtimeNs: realtime, software: software, board: board, schemas: schemas, length: length)
    }
}

/// Walks the records of one file after its header. A record counts only when its type is
/// in the header, its length is that type's, and its CRC matches; anything else is skipped a
/// byte at a time until the next record that checks out. Skipped bytes followed by a good
/// record are damage; those after the last good record are the torn tail, cut off.
public struct FlightLogScanner {
    public struct Record: Equatable {
        public var type: UInt8
        /// Index of the payload's first byte in the file's bytes.
        public var payloadAt: Int
        public var length: Int
    }

    public let bytes: [UInt8]
    public private(set) var position: Int
    /// Bytes skipped between good records, and in how many stretches.
    public private(set) var damagedBytes = 0
    public private(set) var damagedStretches = 0
    /// Bytes after the last good record (set when the scan reaches the end).
    public private(set) var tornBytes = 0
    /// The end of the last good record.
    public private(set) var goodEnd: Int
    private var lengths: [Int]
    private let crc = FlightRecordCRC()

    public init(bytes: [UInt8], header: FlightLogHeader) {
        self.bytes = bytes
        position = min(header.length, bytes.count)
        goodEnd = position
        lengths = [Int](repeating: -1, count: 256)
        for s in header.schemas { lengths[Int(s.type)] = s.payloadBytes }
    }

    public mutating func next() -> Record? {
        var skipFrom = -1
        while position + FlightRecord.framingBytes <= bytes.count {
            if let r = record(at: position) {
                if skipFrom >= 0 {
                    damagedBytes += position - skipFrom
                    damagedStretches += 1
                }
                position = r.payloadAt + r.length + 4
                goodEnd = position
                return r
            }
            if skipFrom < 0 { skipFrom = position }
            position += 1
        }
        position = bytes.count
        tornBytes = bytes.count - goodEnd
        return nil
    }

    private func record(at i: Int) -> Record? {
        let length = lengths[Int(bytes[i])]
        guard length >= 0, Int(bytes[i + 1]) == length else { return nil }
        let end = i + 2 + length + 4
        guard end <= bytes.count else { return nil }
        guard crc.checksum(bytes, from: i, to: end - 4) == FlightLogField.u32(bytes, end - 4) else { return nil }
        return Record(type: bytes[i], payloadAt: i + 2, length: length)
    }
}
