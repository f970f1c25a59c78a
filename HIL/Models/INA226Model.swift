/// TI INA226 current/power monitor at 0x40…0x4F.
///
/// Registers are 16-bit, big-endian on the wire. A write `[pointer]` selects a register; a
/// write `[pointer, msb, lsb]` also stores it; a read returns the pointed register, MSB first
/// (the pointer does not auto-increment: a longer read repeats the register).
/// Conversions follow the CONFIGURATION register in simulation time: in a continuous mode a
/// new result is latched every (bus + shunt conversion time) × averages, in a triggered mode
/// once after the CONFIGURATION write, never in power-down. Each result sets CVRF; reading
/// MASK/ENABLE or writing CONFIGURATION clears it. CURRENT = SHUNT × CALIBRATION / 2048 and
/// POWER = |CURRENT| × BUS / 20000, computed with each result (0 until CALIBRATION is set).
///
/// Faults honoured: `nack`, `stuckBus`, `stale` (results stop changing), `bitFlipProbability`.
public final class INA226Model: I2CDeviceModel {
    public enum Register: UInt8 {
        case configuration = 0x00, shuntVoltage = 0x01, busVoltage = 0x02, power = 0x03
        case current = 0x04, calibration = 0x05, maskEnable = 0x06, alertLimit = 0x07
        case manufacturerID = 0xFE, dieID = 0xFF
    }

    public static let configurationReset: UInt16 = 0x4127
    public static let manufacturerID: UInt16 = 0x5449
    public static let dieID: UInt16 = 0x2260
    /// MASK/ENABLE flags: conversion ready, math overflow.
    public static let conversionReadyFlag: UInt16 = 0x0008
    public static let mathOverflowFlag: UInt16 = 0x0004
    /// Shunt voltage LSB (V) and bus voltage LSB (V).
    public static let shuntLsbV = 2.5e-6
    public static let busLsbV = 1.25e-3
    /// Conversion times (ns) for the VBUSCT / VSHCT codes 0…7.
    public static let conversionTimesNs: [UInt64] = [140_000, 204_000, 332_000, 588_000,
                                                      1_100_000, 2_116_000, 4_156_000, 8_244_000]
    /// Number of averages for the AVG codes 0…7.
    public static let averages: [UInt64] = [1, 4, 16, 64, 128, 256, 512, 1024]

    public let address: UInt8
    public var faults = ModelFaults()
    private var rng: SeededRandom

    /// Current through the shunt (A), positive from IN+ to IN−.
    public var currentA: Double = 0
    /// Shunt resistance (Ω).
    public var shuntOhms: Double = 0.0005
    /// Voltage at VBUS (V).
    public var busVoltageV: Double = 0

    /// Registers 0x00…0x07 as the master sees them.
    public private(set) var registers = [UInt16](repeating: 0, count: 8)
    public private(set) var pointer: UInt8 = 0
    private var nextResultNs: UInt64?
    private var resultPeriodNs: UInt64 = 0
    private var continuous = false

    public init(address: UInt8 = 0x40, seed: UInt64 = 0) {
        precondition((0x40...0x4F).contains(address), "INA226 addresses are 0x40…0x4F")
        self.address = address
        self.rng = SeededRandom(seed: seed)
        reset(nowNs: 0)
    }

    public subscript(register: Register) -> UInt16 { value(of: register.rawValue) }

    public func transfer(write: [UInt8], readCount: Int, nowNs: UInt64) -> I2CModelResponse {
        applyCommonFaults(faults, rng: &rng) {
            convert(until: nowNs)
            if let first = write.first {
                pointer = first
                if write.count >= 3 { store(UInt16(write[1]) << 8 | UInt16(write[2]), nowNs: nowNs) }
            }
            let word = value(of: pointer)
            var bytes: [UInt8] = []
            for i in 0..<readCount { bytes.append(i % 2 == 0 ? UInt8(word >> 8) : UInt8(word & 0xFF)) }
            if readCount > 0, pointer == Register.maskEnable.rawValue {
                registers[6] &= ~Self.conversionReadyFlag
            }
            return .ack(bytes)
        }
    }

    private func value(of register: UInt8) -> UInt16 {
        switch register {
        case 0x00...0x07: return registers[Int(register)]
        case Register.manufacturerID.rawValue: return Self.manufacturerID
        case Register.dieID.rawValue: return Self.dieID
        default: return 0
        }
    }

    private func store(_ value: UInt16, nowNs: UInt64) {
        switch Register(rawValue: pointer) {
        case .configuration?:
            if value & 0x8000 != 0 { return reset(nowNs: nowNs) }
            registers[0] = 0x4000 | (value & 0x0FFF)
            registers[6] &= ~Self.conversionReadyFlag
            schedule(nowNs: nowNs)
        case .calibration?: registers[5] = value & 0x7FFF
        case .maskEnable?: registers[6] = (registers[6] & 0x001C) | (value & 0xFC03)
        case .alertLimit?: registers[7] = value
        default: break
        }
    }

    private func reset(nowNs: UInt64) {
        registers = [UInt16](repeating: 0, count: 8)
        registers[0] = Self.configurationReset
        schedule(nowNs: nowNs)
    }

    private func schedule(nowNs: UInt64) {
        let config = registers[0]
        let mode = config & 0x7
        let bus = mode & 0x2 != 0 ? Self.conversionTimesNs[Int(config >> 6 & 0x7)] : 0
        let shunt = mode & 0x1 != 0 ? Self.conversionTimesNs[Int(config >> 3 & 0x7)] : 0
        resultPeriodNs = (bus + shunt) * Self.averages[Int(config >> 9 & 0x7)]
        continuous = mode & 0x4 != 0
        nextResultNs = resultPeriodNs == 0 ? nil : nowNs + resultPeriodNs
    }

    private func convert(until nowNs: UInt64) {
        guard let due = nextResultNs, nowNs >= due else { return }
        if continuous {
            nextResultNs = due + (nowNs - due) / resultPeriodNs * resultPeriodNs + resultPeriodNs
        } else {
            nextResultNs = nil
        }
        registers[6] |= Self.conversionReadyFlag
        guard !faults.stale else { return }
        let mode = registers[0] & 0x7
        if mode & 0x1 != 0 {
            let counts = (currentA * shuntOhms / Self.shuntLsbV).rounded()
            registers[1] = UInt16(bitPattern: Int16(max(min(counts, 32_767), -32_768)))
        }
        if mode & 0x2 != 0 {
            let counts = (busVoltageV / Self.busLsbV).rounded()
            registers[2] = UInt16(max(min(counts, 32_767), 0))
        }
        let current = Int(Int16(bitPattern: registers[1])) * Int(registers[5]) / 2048
        registers[4] = UInt16(bitPattern: Int16(clamping: current))
        let power = abs(Int(Int16(bitPattern: registers[4]))) * Int(registers[2]) / 20_000
        registers[3] = UInt16(clamping: power)
        if current != Int(Int16(clamping: current)) || power > 0xFFFF {
            registers[6] |= Self.mathOverflowFlag
        } else {
            registers[6] &= ~Self.mathOverflowFlag
        }
    }
}
