/// CRC-8 with polynomial 0x07, initial value 0: the SMBus Packet Error Code.
public struct CRC8SMBus {
    public private(set) var value: UInt8 = 0
    public init() {}

    public mutating func update(_ byte: UInt8) {
        var crc = value ^ byte
        for _ in 0..<8 {
            crc = (crc & 0x80) != 0 ? (crc << 1) ^ 0x07 : crc << 1
        }
        value = crc
    }

    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        for b in bytes { update(b) }
    }

    public static func checksum(_ bytes: [UInt8]) -> UInt8 {
        var crc = CRC8SMBus()
        for b in bytes { crc.update(b) }
        return crc.value
    }
}

/// CRC-32 (IEEE 802.3, reflected, polynomial 0xEDB88320): guards journal records.
public struct CRC32 {
    public private(set) var state: UInt32 = 0xFFFF_FFFF
    public init() {}

    public mutating func update(_ byte: UInt8) {
        var c = state ^ UInt32(byte)
        for _ in 0..<8 { c = (c & 1) != 0 ? (c >> 1) ^ 0xEDB8_8320 : c >> 1 }
        state = c
    }

    public var value: UInt32 { state ^ 0xFFFF_FFFF }

    public static func checksum(_ bytes: [UInt8]) -> UInt32 {
        var c = CRC32()
        for b in bytes { c.update(b) }
        return c.value
    }
}
