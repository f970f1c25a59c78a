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
