import PlumbCore
import PlumbHAL

/// What `plumbd --probe` learns about a chip that acknowledged its address.
public struct ChipIdentity: Equatable {
    /// The chip answered the way the board file's kind says it should.
    public var matches: Bool
    /// One line for the probe table, e.g. "INA226 (TI, die 0x2260)".
    public var description: String
}

/// Reads each kind's identifying registers without changing the chip's state.
public func identifyChip<Bus: I2CBus>(_ kind: DeviceKind, bus: Bus, address: UInt8) throws(I2CError) -> ChipIdentity {
    switch kind {
    case .sbsBattery:
        let spec = try bus.smbusReadWord(address: address, command: SmartBatteryCommand.specificationInfo, pec: false)
        let version = (spec >> 4) & 0x0F
        let text: String
        switch version {
        case 1: text = "SBS 1.0"
        case 2: text = "SBS 1.1"
        case 3: text = "SBS 1.1 with PEC"
        default: text = "SBS version \(version)"
        }
        var scratch = [UInt8](repeating: 0, count: 34)
        var name = [UInt8](repeating: 0, count: 32)
        var count = 0
        var failure: I2CError? = nil
        scratch.withUnsafeMutableBytes { s in
            name.withUnsafeMutableBytes { n in
                do throws(I2CError) {
                    count = try bus.smbusReadBlock(address: address, command: 0x20, pec: version >= 3, scratch: s, into: n)
                } catch {
                    failure = error
                }
            }
        }
        var maker = ""
        if failure == nil {
            for b in name[0..<count] where b >= 0x20 && b < 0x7F { maker += String(decoding: [b], as: UTF8.self) }
        }
        return ChipIdentity(matches: version >= 1 && version <= 3, description: maker.isEmpty ? text : text + ", " + maker)
    case .ina226:
        let maker = try readBigEndian(bus, address, 0xFE)
        let die = try readBigEndian(bus, address, 0xFF)
        return ChipIdentity(matches: maker == 0x5449 && die & 0xFFF0 == 0x2260,
                            description: maker == 0x5449 ? "INA226 (TI, die \(formatHex(die, width: 4)))" : "manufacturer \(formatHex(maker, width: 4)): not an INA226")
    case .ubloxDDC:
        var b: (UInt8, UInt8) = (0, 0)
        try withUnsafeMutableBytes(of: &b) { (raw: UnsafeMutableRawBufferPointer) throws(I2CError) in
            try bus.readRegisters(address: address, 0xFD, into: raw)
        }
        let waiting = Int(b.0) << 8 | Int(b.1)
        return ChipIdentity(matches: true, description: "u-blox DDC, \(waiting == 0xFFFF ? 0 : waiting) bytes waiting")
    case .as5600:
        let status = try bus.readRegister(address: address, 0x0B)
        let magnet: String
        if status & 0x20 == 0 { magnet = "no magnet" }
        else if status & 0x10 != 0 { magnet = "magnet too weak" }
        else if status & 0x08 != 0 { magnet = "magnet too strong" }
        else { magnet = "magnet ok" }
        return ChipIdentity(matches: status & 0xC7 == 0, description: "AS5600, \(magnet)")
    case .nau7802:
        let rev = try bus.readRegister(address: address, 0x1F)
        return ChipIdentity(matches: rev & 0x0F == 0x0F, description: "NAU7802, revision \(formatHex(rev))")
    case .pca9685:
        let mode1 = try bus.readRegister(address: address, 0x00)
        let prescale = try bus.readRegister(address: address, 0xFE)
        let hz = 25_000_000 / (4096 * (Int(prescale) + 1))
        return ChipIdentity(matches: prescale >= 3, description: "PCA9685, \(mode1 & 0x10 != 0 ? "asleep" : "awake"), about \(hz) Hz")
    }
}

func readBigEndian<Bus: I2CBus>(_ bus: Bus, _ address: UInt8, _ reg: UInt8) throws(I2CError) -> UInt16 {
    var b: (UInt8, UInt8) = (0, 0)
    try withUnsafeMutableBytes(of: &b) { (raw: UnsafeMutableRawBufferPointer) throws(I2CError) in
        try bus.readRegisters(address: address, reg, into: raw)
    }
    return UInt16(b.0) << 8 | UInt16(b.1)
}
