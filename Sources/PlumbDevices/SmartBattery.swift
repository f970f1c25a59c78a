import PlumbHAL

/// An SBS 1.1 smart battery (BQ40Z50 style) on SMBus, address 0x0B.
///
/// SMBus words cost about 0.5 ms each at 100 kHz, so one poll reads only
/// `wordsPerPoll` registers: voltage and current on every poll, the slower values in
/// rotation. PEC is used when SpecificationInfo says the pack supports it.
public struct SmartBattery<Bus: I2CBus> {
    public typealias Command = SmartBatteryCommand

    /// BatteryStatus alarm bits (SBS 1.1 §5.1.21).
    public typealias Alarm = SmartBatteryAlarm

    public enum Failure: Error, Equatable {
        case bus(I2CError)
    }

    public struct Reading: Equatable {
        public var voltageV: Double = 0
        /// A, negative = discharge.
        public var currentA: Double = 0
        public var averageCurrentA: Double = 0
        public var stateOfChargePct: Int = 0
        public var remainingAh: Double = 0
        public var fullChargeAh: Double = 0
        public var temperatureC: Double = 0
        public var batteryStatus: UInt16 = 0
        public var cycleCount: Int = 0
        public var cellCount: Int = 0
        /// Volts, first `cellCount` entries valid.
        public var cellVoltagesV: [Double] = [Double](repeating: 0, count: 12)
        /// Time of the last voltage/current read.
        public var timestampNs: UInt64 = 0
        /// Time the slow values were last all refreshed.
        public var sweepNs: UInt64 = 0

        public var alarms: UInt16 { batteryStatus & Alarm.mask }
    }

    public let bus: Bus
    public let address: UInt8
    public let wordsPerPoll: Int
    public private(set) var usesPEC = false
    public private(set) var identified = false
    public private(set) var health: DeviceHealth<Failure>
    public private(set) var reading = Reading()
    /// True once every value has been read at least once.
    public private(set) var complete = false

    private var rotation = 0
    private static var slowCommands: [UInt8] {
        [Command.relativeStateOfCharge, Command.temperature, Command.averageCurrent, Command.remainingCapacity,
         Command.fullChargeCapacity, Command.batteryStatus, Command.cycleCount]
    }
    private var slowList: [UInt8]

    public init(bus: Bus, address: UInt8 = 0x0B, wordsPerPoll: Int = 3, staleAfterNs: UInt64 = 1_000_000_000) {
        self.bus = bus
        self.address = address
        self.wordsPerPoll = max(3, wordsPerPoll)
        health = DeviceHealth(failureThreshold: 3, staleAfterNs: staleAfterNs)
        slowList = SmartBattery.slowCommands
    }

    public func pollCostNs() -> UInt64 {
        UInt64(wordsPerPoll) * i2cTransferTimeNs(clockHz: bus.clockHz, writeBytes: 1, readBytes: usesPEC ? 3 : 2)
    }

    private func word(_ command: UInt8) throws(I2CError) -> UInt16 {
        try bus.smbusReadWord(address: address, command: command, pec: usesPEC)
    }

    /// SpecificationInfo (PEC support) and the number of cells: cells are counted from
    /// CellVoltage1 until one reads 0 V.
    private mutating func identify() throws(I2CError) {
        // Whether to use PEC is itself read without knowing: a flipped bit here must not
        // switch PEC off for good. A pack that claims PEC must prove it with a valid PEC
        // on this very read; one that does not must say the same thing twice.
        var b: (UInt8, UInt8, UInt8) = (0, 0, 0)
        try withUnsafeMutableBytes(of: &b) { (raw: UnsafeMutableRawBufferPointer) throws(I2CError) in
            try bus.readRegisters(address: address, Command.specificationInfo, into: raw)
        }
        let spec = UInt16(b.0) | UInt16(b.1) << 8
        if (spec >> 4) & 0x0F >= 3 {
            var data: (UInt8, UInt8) = (b.0, b.1)
            let expected = withUnsafeBytes(of: &data) { smbusReadPEC(address: address, command: Command.specificationInfo, data: $0) }
            if expected != b.2 {
                throw I2CError.pecMismatch(address: address, expected: expected, received: b.2)
            }
            usesPEC = true
        } else {
            let again = try bus.smbusReadWord(address: address, command: Command.specificationInfo, pec: false)
            if again != spec { throw I2CError.inconsistent(address: address, register: Command.specificationInfo) }
            usesPEC = false
        }
        var cells = 0
        while cells < 12 {
            let mv = try word(Command.cellVoltage1 - UInt8(cells))
            if mv == 0 || mv == 0xFFFF { break }
            reading.cellVoltagesV[cells] = Double(mv) * 1e-3
            cells += 1
        }
        reading.cellCount = cells
        for c in 0..<cells { slowList.append(Command.cellVoltage1 - UInt8(c)) }
        identified = true
    }

    public mutating func poll(nowNs: UInt64) -> Bool {
        do {
            if !identified { try identify() }
            reading.voltageV = Double(try word(Command.voltage)) * 1e-3
            reading.currentA = Double(Int16(bitPattern: try word(Command.current))) * 1e-3
            reading.timestampNs = nowNs
            for _ in 0..<(wordsPerPoll - 2) {
                let command = slowList[rotation]
                let v = try word(command)
                store(command, v)
                rotation += 1
                if rotation == slowList.count {
                    rotation = 0
                    reading.sweepNs = nowNs
                    complete = true
                }
            }
            health.recordSuccess(at: nowNs)
            return true
        } catch {
            health.recordFailure(.bus(error))
            return false
        }
    }

    private mutating func store(_ command: UInt8, _ v: UInt16) {
        switch command {
        case Command.relativeStateOfCharge: reading.stateOfChargePct = Int(min(v, 100))
        case Command.temperature: reading.temperatureC = Double(v) * 0.1 - 273.15
        case Command.averageCurrent: reading.averageCurrentA = Double(Int16(bitPattern: v)) * 1e-3
        case Command.remainingCapacity: reading.remainingAh = Double(v) * 1e-3
        case Command.fullChargeCapacity: reading.fullChargeAh = Double(v) * 1e-3
        case Command.batteryStatus: reading.batteryStatus = v
        case Command.cycleCount: reading.cycleCount = Int(v)
        default:
            let cell = Int(Command.cellVoltage1 &- command)
            if cell >= 0 && cell < 12 { reading.cellVoltagesV[cell] = Double(v) * 1e-3 }
        }
    }
}

/// A power monitor for packs without a gauge: TI INA226 (registers big-endian).
/// State of charge is counted from the current, starting from a configured charge.
public struct INA226<Bus: I2CBus> {
    public typealias Register = INA226Register

    public enum Failure: Error, Equatable {
        case bus(I2CError)
        case wrongChip(manufacturer: UInt16)
        /// The calibration register does not hold what was written.
        case notConfigured
    }

    public struct Reading: Equatable {
        public var voltageV: Double
        /// A, negative = discharge (SBS convention).
        public var currentA: Double
        public var consumedAh: Double
        public var stateOfChargePct: Double
        public var timestampNs: UInt64
    }

    public let bus: Bus
    public let address: UInt8
    public let shuntOhm: Double
    public let currentLSBA: Double
    public let capacityAh: Double
    /// +1 when current into IN+ is discharge (the usual high-side wiring).
    public let dischargeSign: Double
    public private(set) var configured = false
    public private(set) var health: DeviceHealth<Failure>
    public private(set) var reading: Reading? = nil
    private var consumedAh: Double = 0
    private var initialSocPct: Double
    private let calibration: UInt16

    public init(bus: Bus, address: UInt8 = 0x45, shuntOhm: Double, maxCurrentA: Double, capacityAh: Double,
                initialStateOfChargePct: Double = 100, dischargeIntoINPlus: Bool = true) {
        self.bus = bus
        self.address = address
        self.shuntOhm = shuntOhm
        // current_LSB = max expected current / 2^15; CAL = 0.00512 / (current_LSB × R).
        currentLSBA = max(1e-6, maxCurrentA / 32768)
        let cal = 0.00512 / (currentLSBA * max(1e-6, shuntOhm))
        calibration = UInt16(max(1, min(32767, cal.rounded())))
        self.capacityAh = max(0.001, capacityAh)
        initialSocPct = initialStateOfChargePct
        dischargeSign = dischargeIntoINPlus ? -1 : 1
        health = DeviceHealth(failureThreshold: 3, staleAfterNs: 500_000_000)
    }

    public func pollCostNs() -> UInt64 { 2 * i2cTransferTimeNs(clockHz: bus.clockHz, writeBytes: 1, readBytes: 2) }

    private func readBE(_ reg: UInt8) throws(I2CError) -> UInt16 {
        var b: (UInt8, UInt8) = (0, 0)
        try withUnsafeMutableBytes(of: &b) { (raw: UnsafeMutableRawBufferPointer) throws(I2CError) in
            try bus.readRegisters(address: address, reg, into: raw)
        }
        return UInt16(b.0) << 8 | UInt16(b.1)
    }

    private func writeBE(_ reg: UInt8, _ v: UInt16) throws(I2CError) {
        var b: (UInt8, UInt8, UInt8) = (reg, UInt8(v >> 8), UInt8(v & 0xFF))
        try withUnsafeBytes(of: &b) { (raw: UnsafeRawBufferPointer) throws(I2CError) in
            try bus.write(address: address, raw)
        }
    }

    public mutating func poll(nowNs: UInt64) -> Bool {
        do {
            if !configured {
                let id = try readBE(Register.manufacturerID)
                guard id == 0x5449 else {
                    health.recordFailure(.wrongChip(manufacturer: id))
                    return false
                }
                // Averages 16, 1.1 ms bus and shunt conversions, continuous shunt and bus.
                try writeBE(Register.configuration, 0x4527)
                try writeBE(Register.calibration, calibration)
                guard try readBE(Register.calibration) == calibration else {
                    health.recordFailure(.notConfigured)
                    return false
                }
                configured = true
            }
            let volts = Double(try readBE(Register.busVoltage)) * 1.25e-3
            let amps = dischargeSign * Double(Int16(bitPattern: try readBE(Register.current))) * currentLSBA
            if let previous = reading, nowNs > previous.timestampNs {
                let hours = Double(nowNs - previous.timestampNs) * 1e-9 / 3600
                // Trapezoid over the interval; discharge (negative) adds to consumption.
                consumedAh -= (amps + previous.currentA) / 2 * hours
            }
            let soc = max(0, min(100, initialSocPct - consumedAh / capacityAh * 100))
            reading = Reading(voltageV: volts, currentA: amps, consumedAh: consumedAh, stateOfChargePct: soc,
                              timestampNs: nowNs)
            health.recordSuccess(at: nowNs)
            return true
        } catch {
            health.recordFailure(.bus(error))
            // A chip that lost power forgets its calibration: configure again.
            configured = false
            return false
        }
    }
}

public enum SmartBatteryCommand {
    public static let batteryMode: UInt8 = 0x03
    public static let temperature: UInt8 = 0x08        // 0.1 K
    public static let voltage: UInt8 = 0x09            // mV
    public static let current: UInt8 = 0x0A            // mA, signed, negative = discharge
    public static let averageCurrent: UInt8 = 0x0B     // mA, signed
    public static let relativeStateOfCharge: UInt8 = 0x0D  // %
    public static let remainingCapacity: UInt8 = 0x0F  // mAh
    public static let fullChargeCapacity: UInt8 = 0x10 // mAh
    public static let batteryStatus: UInt8 = 0x16
    public static let cycleCount: UInt8 = 0x17
    public static let specificationInfo: UInt8 = 0x1A
    public static let cellVoltage1: UInt8 = 0x3F       // CellVoltage2 at 0x3E, … down
}

public enum SmartBatteryAlarm {
    public static let overChargedAlarm: UInt16 = 0x8000
    public static let terminateChargeAlarm: UInt16 = 0x4000
    public static let overTemperatureAlarm: UInt16 = 0x1000
    public static let terminateDischargeAlarm: UInt16 = 0x0800
    public static let remainingCapacityAlarm: UInt16 = 0x0200
    public static let remainingTimeAlarm: UInt16 = 0x0100
    public static let mask: UInt16 = 0xDB00
}

public enum INA226Register {
    public static let configuration: UInt8 = 0x00
    public static let busVoltage: UInt8 = 0x02     // 1.25 mV/LSB
    public static let current: UInt8 = 0x04        // current_LSB
    public static let calibration: UInt8 = 0x05
    public static let manufacturerID: UInt8 = 0xFE // 0x5449 "TI"
}
