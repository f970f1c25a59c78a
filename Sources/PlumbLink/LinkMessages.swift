// The dispatch link's messages: the plaintext inside a frame is one message, a type
// byte then its fields, little-endian, fixed layouts (docs/protocol.md has the tables).

/// Little-endian writing into a caller's buffer, bounds-checked.
public struct ByteWriter {
    let out: UnsafeMutableRawBufferPointer
    public private(set) var count = 0
    public private(set) var overflow = false

    public init(_ out: UnsafeMutableRawBufferPointer) { self.out = out }

    public mutating func u8(_ v: UInt8) {
        guard count < out.count else { overflow = true; return }
        out[count] = v
        count += 1
    }
    public mutating func u16(_ v: UInt16) { u8(UInt8(v & 0xFF)); u8(UInt8(v >> 8)) }
    public mutating func u32(_ v: UInt32) { u16(UInt16(v & 0xFFFF)); u16(UInt16(v >> 16)) }
    public mutating func u64(_ v: UInt64) { u32(UInt32(v & 0xFFFF_FFFF)); u32(UInt32(v >> 32)) }
    public mutating func i8(_ v: Int8) { u8(UInt8(bitPattern: v)) }
    public mutating func i16(_ v: Int16) { u16(UInt16(bitPattern: v)) }
    public mutating func i32(_ v: Int32) { u32(UInt32(bitPattern: v)) }
    public mutating func f32(_ v: Float) { u32(v.bitPattern) }
}

/// Little-endian reading; any read past the end marks the reader failed.
public struct ByteReader {
    let data: UnsafeRawBufferPointer
    public private(set) var offset = 0
    public private(set) var failed = false

    public init(_ data: UnsafeRawBufferPointer) { self.data = data }

    public var remaining: Int { data.count - offset }

    public mutating func u8() -> UInt8 {
        guard offset < data.count else { failed = true; return 0 }
        offset += 1
        return data[offset - 1]
    }
    public mutating func u16() -> UInt16 { UInt16(u8()) | UInt16(u8()) << 8 }
    public mutating func u32() -> UInt32 { UInt32(u16()) | UInt32(u16()) << 16 }
    public mutating func u64() -> UInt64 { UInt64(u32()) | UInt64(u32()) << 32 }
    public mutating func i8() -> Int8 { Int8(bitPattern: u8()) }
    public mutating func i16() -> Int16 { Int16(bitPattern: u16()) }
    public mutating func i32() -> Int32 { Int32(bitPattern: u32()) }
    public mutating func f32() -> Float { Float(bitPattern: u32()) }
}

public enum MessageType: UInt8, Equatable, Sendable {
    case telemetry = 0x01
    case heartbeat = 0x02
    case timeSyncRequest = 0x03
    case timeSyncReply = 0x04
    case command = 0x10
    case commandAck = 0x11
    case missionChunk = 0x20
    case missionAck = 0x21
    case event = 0x30
    case eventAck = 0x31
}

/// Drone → ground, at the telemetry rate. 34 bytes: a frame of 62 bytes.
public struct Telemetry: Equatable {
    public static let encodedSize = 34
    /// Drone time since start, ms.
    public var timeMs: UInt32 = 0
    /// Degrees × 1e7.
    public var lat1e7: Int32 = 0
    public var lon1e7: Int32 = 0
    /// Height above home, decimetres (±3276 m).
    public var altitudeDm: Int16 = 0
    /// cm/s, NED.
    public var velNCmps: Int16 = 0
    public var velECmps: Int16 = 0
    public var velDCmps: Int16 = 0
    /// Degrees × 100, 0...35999.
    public var headingCdeg: UInt16 = 0
    public var batteryPct: UInt8 = 0
    /// 10 mV units (0...655 V).
    public var voltage10mV: UInt16 = 0
    public var temperatureC: Int8 = 0
    public var missionState: UInt8 = 0
    /// Rope paid out, mm.
    public var winchLengthMm: UInt16 = 0
    /// Rope tension, 0.1 N.
    public var tensionDN: UInt16 = 0
    /// One bit per subsystem: set = unhealthy (docs/protocol.md).
    public var healthBits: UInt16 = 0

    public init() {}

    public func encode(_ w: inout ByteWriter) {
        w.u8(MessageType.telemetry.rawValue)
        w.u32(timeMs); w.i32(lat1e7); w.i32(lon1e7); w.i16(altitudeDm)
        w.i16(velNCmps); w.i16(velECmps); w.i16(velDCmps); w.u16(headingCdeg)
        w.u8(batteryPct); w.u16(voltage10mV); w.i8(temperatureC); w.u8(missionState)
        w.u16(winchLengthMm); w.u16(tensionDN); w.u16(healthBits)
    }

    public static func decode(_ r: inout ByteReader) -> Telemetry {
        var t = Telemetry()
        t.timeMs = r.u32(); t.lat1e7 = r.i32(); t.lon1e7 = r.i32(); t.altitudeDm = r.i16()
        t.velNCmps = r.i16(); t.velECmps = r.i16(); t.velDCmps = r.i16(); t.headingCdeg = r.u16()
        t.batteryPct = r.u8(); t.voltage10mV = r.u16(); t.temperatureC = r.i8(); t.missionState = r.u8()
        t.winchLengthMm = r.u16(); t.tensionDN = r.u16(); t.healthBits = r.u16()
        return t
    }
}

public enum CommandKind: UInt8, Equatable, Sendable {
    case start = 1, pause = 2, resume = 3, abortDelivery = 4, returnHome = 5, landNow = 6, setParameter = 7
}

public enum CommandResult: UInt8, Equatable, Sendable {
    case accepted = 0, rejected = 1, unsupported = 2
}

/// Ground → drone. `commandID` is chosen by the ground, unique per command; a retry
/// reuses it, and the drone executes each id once.
public struct Command: Equatable {
    public var commandID: UInt32
    public var kind: CommandKind
    /// For setParameter: which tunable, and its value.
    public var parameterID: UInt16 = 0
    public var value: Float = 0

    public init(commandID: UInt32, kind: CommandKind, parameterID: UInt16 = 0, value: Float = 0) {
        self.commandID = commandID
        self.kind = kind
        self.parameterID = parameterID
        self.value = value
    }
}

/// Drone → ground: the outcome of a command; `duplicate` when it was a retry of one
/// already executed (the stored result is repeated, nothing is executed again).
public struct CommandAck: Equatable {
    public var commandID: UInt32
    public var result: CommandResult
    public var duplicate: Bool
}

public enum EventKind: UInt8, Equatable, Sendable {
    case stateChange = 1, deliveryConfirmed = 2, fault = 3
}

/// Drone → ground, must not be lost: journalled before it is sent, resent until acked.
public struct LinkEvent: Equatable {
    public static let encodedSize = 1 + 4 + 4 + 1 + 12
    /// Increasing over the drone's life (the journal's sequence number).
    public var eventID: UInt32
    public var timeMs: UInt32
    public var kind: EventKind
    /// stateChange: a = from << 8 | to. deliveryConfirmed: a = parcel id, b = lat, c = lon
    /// (degrees × 1e7). fault: a = code.
    public var a: UInt32 = 0
    public var b: Int32 = 0
    public var c: Int32 = 0

    public init(eventID: UInt32, timeMs: UInt32, kind: EventKind, a: UInt32 = 0, b: Int32 = 0, c: Int32 = 0) {
        self.eventID = eventID
        self.timeMs = timeMs
        self.kind = kind
        self.a = a
        self.b = b
        self.c = c
    }

    public func encode(_ w: inout ByteWriter) {
        w.u8(MessageType.event.rawValue)
        w.u32(eventID); w.u32(timeMs); w.u8(kind.rawValue); w.u32(a); w.i32(b); w.i32(c)
    }
}

/// A decoded message.
public enum LinkMessage: Equatable {
    case telemetry(Telemetry)
    case heartbeat(timeMs: UInt32)
    case timeSyncRequest(groundUs: UInt64)
    case timeSyncReply(groundUs: UInt64, droneRxUs: UInt64, droneTxUs: UInt64)
    case command(Command)
    /// A command of a kind this version does not know: answered `unsupported`.
    case unsupportedCommand(commandID: UInt32)
    case commandAck(CommandAck)
    case missionChunk(missionID: UInt32, index: UInt16, count: UInt16, items: Int)
    case missionAck(missionID: UInt32, index: UInt16, accepted: Bool)
    case event(LinkEvent)
    case eventAck(eventID: UInt32)

    public func encode(_ w: inout ByteWriter) {
        switch self {
        case .telemetry(let t): t.encode(&w)
        case .heartbeat(let t):
            w.u8(MessageType.heartbeat.rawValue); w.u32(t)
        case .timeSyncRequest(let g):
            w.u8(MessageType.timeSyncRequest.rawValue); w.u64(g)
        case .timeSyncReply(let g, let rx, let tx):
            w.u8(MessageType.timeSyncReply.rawValue); w.u64(g); w.u64(rx); w.u64(tx)
        case .command(let c):
            w.u8(MessageType.command.rawValue); w.u32(c.commandID); w.u8(c.kind.rawValue)
            w.u16(c.parameterID); w.f32(c.value)
        case .unsupportedCommand(let id):
            w.u8(MessageType.command.rawValue); w.u32(id); w.u8(0xFF); w.u16(0); w.f32(0)
        case .commandAck(let a):
            w.u8(MessageType.commandAck.rawValue); w.u32(a.commandID); w.u8(a.result.rawValue)
            w.u8(a.duplicate ? 1 : 0)
        case .missionChunk(let id, let index, let count, _):
            // The chunk's items follow; the session writes them (see MissionChunk).
            w.u8(MessageType.missionChunk.rawValue); w.u32(id); w.u16(index); w.u16(count)
        case .missionAck(let id, let index, let ok):
            w.u8(MessageType.missionAck.rawValue); w.u32(id); w.u16(index); w.u8(ok ? 1 : 0)
        case .event(let e): e.encode(&w)
        case .eventAck(let id):
            w.u8(MessageType.eventAck.rawValue); w.u32(id)
        }
    }

    /// Decodes one message; nil when the type is unknown or the length is wrong.
    public static func decode(_ data: UnsafeRawBufferPointer) -> LinkMessage? {
        var r = ByteReader(data)
        guard let type = MessageType(rawValue: r.u8()) else { return nil }
        let m: LinkMessage
        switch type {
        case .telemetry: m = .telemetry(Telemetry.decode(&r))
        case .heartbeat: m = .heartbeat(timeMs: r.u32())
        case .timeSyncRequest: m = .timeSyncRequest(groundUs: r.u64())
        case .timeSyncReply: m = .timeSyncReply(groundUs: r.u64(), droneRxUs: r.u64(), droneTxUs: r.u64())
        case .command:
            let id = r.u32()
            let raw = r.u8()
            let p = r.u16(), v = r.f32()
            if let kind = CommandKind(rawValue: raw) {
                m = .command(Command(commandID: id, kind: kind, parameterID: p, value: v))
            } else {
                m = .unsupportedCommand(commandID: id)
            }
        case .commandAck:
            let id = r.u32()
            guard let result = CommandResult(rawValue: r.u8()) else { return nil }
            m = .commandAck(CommandAck(commandID: id, result: result, duplicate: r.u8() != 0))
        case .missionChunk:
            let id = r.u32(), index = r.u16(), count = r.u16()
            guard r.remaining % MissionItem.encodedSize == 0, index < count else { return nil }
            // The items stay in the plaintext; the receiver decodes them with MissionItem.
            let items = r.remaining / MissionItem.encodedSize
            guard items > 0, items <= MissionItem.maxPerChunk, !r.failed else { return nil }
            return .missionChunk(missionID: id, index: index, count: count, items: items)
        case .missionAck:
            m = .missionAck(missionID: r.u32(), index: r.u16(), accepted: r.u8() != 0)
        case .event:
            let id = r.u32(), time = r.u32()
            guard let kind = EventKind(rawValue: r.u8()) else { return nil }
            m = .event(LinkEvent(eventID: id, timeMs: time, kind: kind, a: r.u32(), b: r.i32(), c: r.i32()))
        case .eventAck: m = .eventAck(eventID: r.u32())
        }
        guard !r.failed, r.remaining == 0 else { return nil }
        return m
    }
}

/// One mission item in a chunk: 17 bytes.
public struct MissionItem: Equatable {
    public static let encodedSize = 17
    /// Items in one chunk: keeps a chunk frame under 200 bytes.
    public static let maxPerChunk = 8
    /// Where the first item starts in a chunk's plaintext.
    public static let chunkHeaderSize = 9
    /// `home`: where the flight returns and lands after its last leg. `origin`: the
    /// take-off pad of a one-way flight (for the geofence; no return).
    public enum Kind: UInt8, Equatable, Sendable { case waypoint = 1, pad = 2, station = 3, home = 4, origin = 5 }
    public var kind: Kind
    public var lat1e7: Int32
    public var lon1e7: Int32
    /// Waypoints: height above home (0 = the cruise altitude). Stations: the hold height
    /// above the station's floor. Pads: the pad's height above home's ground. Home and
    /// origin: the ground's altitude above mean sea level (dm).
    public var heightDm: Int16
    /// Rope drop distance to the station's roof (dm), stations only.
    public var dropDm: UInt16
    /// Parcel to deliver at this station (0: none).
    public var parcelID: UInt32

    public init(kind: Kind, lat1e7: Int32, lon1e7: Int32, heightDm: Int16, dropDm: UInt16 = 0, parcelID: UInt32 = 0) {
        self.kind = kind
        self.lat1e7 = lat1e7
        self.lon1e7 = lon1e7
        self.heightDm = heightDm
        self.dropDm = dropDm
        self.parcelID = parcelID
    }

    public func encode(_ w: inout ByteWriter) {
        w.u8(kind.rawValue); w.i32(lat1e7); w.i32(lon1e7); w.i16(heightDm); w.u16(dropDm); w.u32(parcelID)
    }

    public static func decode(_ r: inout ByteReader) -> MissionItem? {
        guard let kind = Kind(rawValue: r.u8()) else { return nil }
        let item = MissionItem(kind: kind, lat1e7: r.i32(), lon1e7: r.i32(), heightDm: r.i16(), dropDm: r.u16(), parcelID: r.u32())
        return r.failed ? nil : item
    }
}
