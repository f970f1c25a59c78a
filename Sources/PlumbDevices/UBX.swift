// The u-blox UBX protocol: a streaming frame parser that survives everything a receiver
// stream can hold (NMEA sentences in between, garbage, frames split across reads, bad
// checksums), the NAV-PVT decoder, and the frame builder for configuration messages.
//
// Frame: 0xB5 0x62, class, id, length (u16 LE), payload, CK_A, CK_B — an 8-bit
// Fletcher checksum over class … payload.

public enum UBX {
    public static let sync1: UInt8 = 0xB5
    public static let sync2: UInt8 = 0x62

    public enum Class {
        public static let nav: UInt8 = 0x01
        public static let ack: UInt8 = 0x05
        public static let cfg: UInt8 = 0x06
        public static let mon: UInt8 = 0x0A
    }

    public enum ID {
        public static let navPVT: UInt8 = 0x07
        public static let ackNak: UInt8 = 0x00
        public static let ackAck: UInt8 = 0x01
        public static let cfgPRT: UInt8 = 0x00
        public static let cfgMSG: UInt8 = 0x01
        public static let cfgRATE: UInt8 = 0x08
        public static let cfgVALSET: UInt8 = 0x8A
        public static let monVER: UInt8 = 0x04
    }

    /// Fletcher-8 over `bytes`, as (CK_A, CK_B).
    public static func checksum(_ bytes: UnsafeRawBufferPointer) -> (UInt8, UInt8) {
        var a: UInt8 = 0
        var b: UInt8 = 0
        for x in bytes {
            a &+= x
            b &+= a
        }
        return (a, b)
    }

    /// Writes a complete frame into `out`; returns its length (payload + 8).
    public static func frame(classID: UInt8, messageID: UInt8, payload: UnsafeRawBufferPointer,
                             into out: UnsafeMutableRawBufferPointer) -> Int? {
        let total = payload.count + 8
        guard out.count >= total, payload.count <= 0xFFFF else { return nil }
        out[0] = sync1
        out[1] = sync2
        out[2] = classID
        out[3] = messageID
        out[4] = UInt8(payload.count & 0xFF)
        out[5] = UInt8(payload.count >> 8)
        for i in 0..<payload.count { out[6 + i] = payload[i] }
        let (a, b) = checksum(UnsafeRawBufferPointer(rebasing: out[2..<(6 + payload.count)]))
        out[6 + payload.count] = a
        out[7 + payload.count] = b
        return total
    }
}

/// Counters of what the parser saw; nothing is dropped silently.
public struct UBXStreamStats: Equatable {
    public var frames: UInt32 = 0
    public var badChecksum: UInt32 = 0
    /// Frames whose length exceeded the parser's capacity (skipped).
    public var oversize: UInt32 = 0
    /// Bytes outside UBX frames (NMEA included).
    public var bytesSkipped: UInt32 = 0
    /// Complete NMEA sentences seen between frames ('$' … '\n').
    public var nmeaSentences: UInt32 = 0

    public init() {}
}

/// A streaming UBX parser with a fixed payload capacity (allocated once).
public struct UBXParser {
    enum State { case sync1, sync2, classID, messageID, length1, length2, payload, checksumA, checksumB }

    public private(set) var stats = UBXStreamStats()
    private var state = State.sync1
    private var payload: [UInt8]
    private var count = 0
    private var expected = 0
    private var ckA: UInt8 = 0
    private var ckB: UInt8 = 0
    private var receivedA: UInt8 = 0
    private var inNMEA = false
    public private(set) var classID: UInt8 = 0
    public private(set) var messageID: UInt8 = 0

    /// `capacity`: the largest payload accepted (NAV-PVT is 92 bytes, MON-VER a few hundred).
    public init(capacity: Int = 512) {
        payload = [UInt8](repeating: 0, count: max(8, capacity))
    }

    /// The payload of the frame that `feed` just completed.
    public var payloadCount: Int { expected }

    public func withPayload<R>(_ body: (UnsafeRawBufferPointer) -> R) -> R {
        payload.withUnsafeBytes { body(UnsafeRawBufferPointer(rebasing: $0[0..<expected])) }
    }

    private mutating func add(_ b: UInt8) {
        ckA &+= b
        ckB &+= ckA
    }

    /// Feeds one byte; returns true when it completed a valid frame.
    public mutating func feed(_ b: UInt8) -> Bool {
        switch state {
        case .sync1:
            if b == UBX.sync1 {
                state = .sync2
                inNMEA = false
            } else {
                stats.bytesSkipped &+= 1
                if b == UInt8(ascii: "$") {
                    inNMEA = true
                } else if b == 0x0A && inNMEA {
                    stats.nmeaSentences &+= 1
                    inNMEA = false
                }
            }
        case .sync2:
            if b == UBX.sync2 {
                state = .classID
                ckA = 0
                ckB = 0
            } else {
                stats.bytesSkipped &+= 1  // the 0xB5 before it
                state = .sync1
                return feed(b)
            }
        case .classID:
            classID = b
            add(b)
            state = .messageID
        case .messageID:
            messageID = b
            add(b)
            state = .length1
        case .length1:
            expected = Int(b)
            add(b)
            state = .length2
        case .length2:
            expected |= Int(b) << 8
            add(b)
            count = 0
            if expected > payload.count {
                stats.oversize &+= 1
                state = .sync1
            } else {
                state = expected == 0 ? .checksumA : .payload
            }
        case .payload:
            payload[count] = b
            count += 1
            add(b)
            if count == expected { state = .checksumA }
        case .checksumA:
            receivedA = b
            state = .checksumB
        case .checksumB:
            state = .sync1
            if receivedA == ckA && b == ckB {
                stats.frames &+= 1
                return true
            }
            stats.badChecksum &+= 1
        }
        return false
    }
}

/// GNSS fix types of NAV-PVT.
public enum FixType: UInt8, Equatable {
    case none = 0, deadReckoning = 1, fix2D = 2, fix3D = 3, gnssDeadReckoning = 4, timeOnly = 5
}

/// RTK carrier-phase solution (NAV-PVT flags bits 7:6).
public enum CarrierSolution: UInt8, Equatable {
    case none = 0, float = 1, fixed = 2
}

/// UBX-NAV-PVT, decoded. Units are SI except where the name says otherwise.
public struct NavPVT: Equatable {
    public static let payloadLength = 92

    public var iTOWMs: UInt32
    public var year: UInt16, month: UInt8, day: UInt8, hour: UInt8, minute: UInt8, second: UInt8
    /// `valid` bits: 0 validDate, 1 validTime, 2 fullyResolved.
    public var valid: UInt8
    public var timeAccuracyNs: UInt32
    public var nano: Int32
    public var fixTypeRaw: UInt8
    public var flags: UInt8
    public var numSV: UInt8
    /// Degrees ×1e7, as sent.
    public var lon1e7: Int32, lat1e7: Int32
    public var heightMm: Int32, hMSLMm: Int32
    public var hAccMm: UInt32, vAccMm: UInt32
    public var velNMmps: Int32, velEMmps: Int32, velDMmps: Int32
    public var gSpeedMmps: Int32
    /// Degrees ×1e5.
    public var headMot1e5: Int32
    public var sAccMmps: UInt32
    public var pDOP100: UInt16

    public var fixType: FixType { FixType(rawValue: fixTypeRaw) ?? .none }
    public var gnssFixOK: Bool { flags & 0x01 != 0 }
    public var carrierSolution: CarrierSolution { CarrierSolution(rawValue: flags >> 6) ?? .none }
    public var latitudeDeg: Double { Double(lat1e7) * 1e-7 }
    public var longitudeDeg: Double { Double(lon1e7) * 1e-7 }
    public var heightM: Double { Double(heightMm) * 1e-3 }
    public var hMSLM: Double { Double(hMSLMm) * 1e-3 }
    public var hAccM: Double { Double(hAccMm) * 1e-3 }
    public var vAccM: Double { Double(vAccMm) * 1e-3 }
    public var velNMps: Double { Double(velNMmps) * 1e-3 }
    public var velEMps: Double { Double(velEMmps) * 1e-3 }
    public var velDMps: Double { Double(velDMmps) * 1e-3 }
    public var groundSpeedMps: Double { Double(gSpeedMmps) * 1e-3 }
    public var headingOfMotionDeg: Double { Double(headMot1e5) * 1e-5 }

    /// Decodes a NAV-PVT payload; nil when it is not exactly 92 bytes.
    public static func decode(_ p: UnsafeRawBufferPointer) -> NavPVT? {
        guard p.count == payloadLength else { return nil }
        func u8(_ o: Int) -> UInt8 { p[o] }
        func u16(_ o: Int) -> UInt16 { UInt16(p[o]) | UInt16(p[o + 1]) << 8 }
        func u32(_ o: Int) -> UInt32 {
            UInt32(p[o]) | UInt32(p[o + 1]) << 8 | UInt32(p[o + 2]) << 16 | UInt32(p[o + 3]) << 24
        }
        func i32(_ o: Int) -> Int32 { Int32(bitPattern: u32(o)) }
        return NavPVT(
            iTOWMs: u32(0), year: u16(4), month: u8(6), day: u8(7), hour: u8(8), minute: u8(9), second: u8(10),
            valid: u8(11), timeAccuracyNs: u32(12), nano: i32(16), fixTypeRaw: u8(20), flags: u8(21),
            numSV: u8(23), lon1e7: i32(24), lat1e7: i32(28), heightMm: i32(32), hMSLMm: i32(36),
            hAccMm: u32(40), vAccMm: u32(44), velNMmps: i32(48), velEMmps: i32(52), velDMmps: i32(56),
            gSpeedMmps: i32(60), headMot1e5: i32(64), sAccMmps: u32(68), pDOP100: u16(76))
    }
}

/// Receiver generations, told apart by UBX-MON-VER's protocol version.
public enum ReceiverGeneration: Equatable {
    case m8      // protocol 15–23: CFG-MSG / CFG-RATE
    case f9      // protocol 27.x: CFG-VALSET
    case m9      // protocol 32+: CFG-VALSET
    case unknown

    /// CFG-VALSET is understood from protocol version 23.01 (F9 and M9 and later).
    public var usesValset: Bool { self == .f9 || self == .m9 }

    /// From a MON-VER payload: swVersion[30], hwVersion[10], then 30-byte extensions,
    /// one of which reads "PROTVER=xx.yy" (or "PROTVER xx.yy" on older firmware).
    public static func fromMonVer(_ p: UnsafeRawBufferPointer) -> ReceiverGeneration {
        guard p.count >= 40 else { return .unknown }
        var offset = 40
        while offset + 30 <= p.count {
            if let major = protocolMajor(UnsafeRawBufferPointer(rebasing: p[offset..<(offset + 30)])) {
                if major >= 32 { return .m9 }
                if major >= 27 { return .f9 }
                return .m8
            }
            offset += 30
        }
        return .unknown
    }

    static func protocolMajor(_ ext: UnsafeRawBufferPointer) -> Int? {
        let key: [UInt8] = Array("PROTVER".utf8)
        guard ext.count > key.count + 1 else { return nil }
        for i in 0..<key.count where ext[i] != key[i] { return nil }
        var i = key.count
        while i < ext.count && (ext[i] == UInt8(ascii: "=") || ext[i] == UInt8(ascii: " ")) { i += 1 }
        var major = 0
        var digits = 0
        while i < ext.count, ext[i] >= 0x30, ext[i] <= 0x39, digits < 3 {
            major = major * 10 + Int(ext[i] - 0x30)
            digits += 1
            i += 1
        }
        return digits > 0 ? major : nil
    }
}
