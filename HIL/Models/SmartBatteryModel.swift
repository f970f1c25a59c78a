/// An SBS 1.1 smart-battery gas gauge (TI BQ40Z50 style) at SMBus address 0x0B.
///
/// The world sets the pack's state below; every transaction first publishes that state to the
/// SBS commands (unless `faults.stale`, which freezes what the master sees), then answers it
/// through an `SMBusCommandBank`. PEC is appended when SpecificationInfo's version nibble
/// (bits 7:4) is 3, "1.1 with PEC" (0x0031); 0x0021 is 1.1 without PEC.
/// Commands not listed in `Register` are NACKed.
///
/// Faults honoured: `nack`, `stuckBus`, `stale`, `badChecksum` (PEC inverted),
/// `bitFlipProbability`.
public final class SmartBatteryModel: I2CDeviceModel {
    /// SBS command codes (the specification calls them commands).
    public enum Register: UInt8, CaseIterable {
        case manufacturerAccess = 0x00, remainingCapacityAlarm = 0x01, remainingTimeAlarm = 0x02
        case batteryMode = 0x03, atRate = 0x04, atRateTimeToFull = 0x05, atRateTimeToEmpty = 0x06
        case atRateOK = 0x07, temperature = 0x08, voltage = 0x09, current = 0x0A
        case averageCurrent = 0x0B, maxError = 0x0C, relativeStateOfCharge = 0x0D
        case absoluteStateOfCharge = 0x0E, remainingCapacity = 0x0F, fullChargeCapacity = 0x10
        case runTimeToEmpty = 0x11, averageTimeToEmpty = 0x12, averageTimeToFull = 0x13
        case chargingCurrent = 0x14, chargingVoltage = 0x15, batteryStatus = 0x16
        case cycleCount = 0x17, designCapacity = 0x18, designVoltage = 0x19
        case specificationInfo = 0x1A, manufactureDate = 0x1B, serialNumber = 0x1C
        case manufacturerName = 0x20, deviceName = 0x21, deviceChemistry = 0x22
        /// CellVoltage1; CellVoltage n is at 0x40 − n (BQ40Z50: 0x3F…0x3C for cells 1…4).
        case cellVoltage1 = 0x3F
    }

    /// BatteryStatus (0x16) bits.
    public struct BatteryStatus: OptionSet, Equatable, Sendable {
        public let rawValue: UInt16
        public init(rawValue: UInt16) { self.rawValue = rawValue }
        public static let overChargedAlarm = BatteryStatus(rawValue: 0x8000)
        public static let terminateChargeAlarm = BatteryStatus(rawValue: 0x4000)
        public static let overTemperatureAlarm = BatteryStatus(rawValue: 0x1000)
        public static let terminateDischargeAlarm = BatteryStatus(rawValue: 0x0800)
        public static let remainingCapacityAlarm = BatteryStatus(rawValue: 0x0200)
        public static let remainingTimeAlarm = BatteryStatus(rawValue: 0x0100)
        public static let initialized = BatteryStatus(rawValue: 0x0080)
        public static let discharging = BatteryStatus(rawValue: 0x0040)
        public static let fullyCharged = BatteryStatus(rawValue: 0x0020)
        public static let fullyDischarged = BatteryStatus(rawValue: 0x0010)
    }

    /// A word the master wrote.
    public struct WordWrite: Equatable, Sendable {
        public var command: UInt8
        public var value: UInt16

        public init(command: UInt8, value: UInt16) {
            self.command = command
            self.value = value
        }
    }

    public static let maxCells = 12
    /// BatteryMode bit 15: capacities in 10 mWh instead of mAh.
    public static let capacityModeBit: UInt16 = 0x8000

    public let address: UInt8
    public var faults = ModelFaults()
    private var rng: SeededRandom
    private let bank: SMBusCommandBank

    /// Pack voltage (mV).
    public var voltageMv: UInt16 = 16_800
    /// Current (mA), negative while discharging.
    public var currentMa: Int16 = 0
    /// One-minute rolling average current (mA), negative while discharging.
    public var averageCurrentMa: Int16 = 0
    /// State of charge relative to FullChargeCapacity (%, 0…100).
    public var relativeStateOfChargePct: UInt8 = 100
    /// State of charge relative to DesignCapacity (%, may exceed 100).
    public var absoluteStateOfChargePct: UInt8 = 100
    /// Remaining capacity (mAh).
    public var remainingCapacityMah: UInt16 = 5_000
    /// Capacity when fully charged (mAh).
    public var fullChargeCapacityMah: UInt16 = 5_000
    /// Design capacity (mAh).
    public var designCapacityMah: UInt16 = 5_000
    /// Design voltage (mV); also converts mAh to 10 mWh when the master selects CAPACITY_MODE.
    public var designVoltageMv: UInt16 = 14_800
    /// Temperature (0.1 K): 2981 is 25.0 °C.
    public var temperatureDeciK: UInt16 = 2_981
    /// Number of series cells (1…12); the cell voltage commands beyond it read 0.
    public var cellCount: Int {
        didSet { precondition((1...Self.maxCells).contains(cellCount), "cell count 1…12") }
    }
    /// Cell voltages (mV), index 0 = CellVoltage1; always `maxCells` entries.
    public var cellVoltagesMv = [UInt16](repeating: 4_200, count: SmartBatteryModel.maxCells)
    public var batteryStatus: BatteryStatus = [.initialized]
    public var cycleCount: UInt16 = 0
    /// MaxError (%).
    public var maxErrorPct: UInt8 = 1
    /// The charge current the gauge asks the charger for (mA).
    public var chargingCurrentMa: UInt16 = 0
    /// The charge voltage the gauge asks the charger for (mV).
    public var chargingVoltageMv: UInt16 = 0
    /// SpecificationInfo (0x1A): 0x0031 = SBS 1.1 with PEC, 0x0021 = 1.1 without.
    public var specificationInfo: UInt16 = 0x0031
    /// ManufactureDate: (year − 1980) × 512 + month × 32 + day.
    public var manufactureDate: UInt16 = (2024 - 1980) * 512 + 6 * 32 + 1
    public var serialNumber: UInt16 = 0x0001
    /// ASCII, at most 32 bytes (block read).
    public var manufacturerName = "Plumbline Sim"
    public var deviceName = "bq40z50"
    public var deviceChemistry = "LION"

    /// Words the master may write: ManufacturerAccess, RemainingCapacityAlarm,
    /// RemainingTimeAlarm, BatteryMode, AtRate. Their current values:
    public private(set) var manufacturerAccess: UInt16 = 0
    public private(set) var remainingCapacityAlarm: UInt16 = 500
    public private(set) var remainingTimeAlarmMin: UInt16 = 10
    public var batteryMode: UInt16 = 0x0000
    public private(set) var atRate: Int16 = 0
    /// Every word write the master made (oldest dropped past 64).
    public private(set) var wordWrites: [WordWrite] = []

    /// True when SpecificationInfo says the gauge sends PEC.
    public var sendsPEC: Bool { (specificationInfo >> 4) & 0xF >= 3 }

    public init(address: UInt8 = 0x0B, seed: UInt64 = 0, cellCount: Int = 4) {
        precondition((1...Self.maxCells).contains(cellCount), "cell count 1…12")
        self.address = address
        self.rng = SeededRandom(seed: seed)
        self.bank = SMBusCommandBank(address: address)
        self.cellCount = cellCount
        bank.onWriteWord = { [unowned self] command, value in self.hostWrote(command, value) }
        publish()
    }

    /// Sets `cellCount` cells to `cellMv` each and the pack voltage to their sum.
    public func setCells(count: Int, cellMv: UInt16) {
        cellCount = count
        for i in 0..<Self.maxCells { cellVoltagesMv[i] = i < count ? cellMv : 0 }
        voltageMv = UInt16(clamping: Int(cellMv) * count)
    }

    public func transfer(write: [UInt8], readCount: Int, nowNs: UInt64) -> I2CModelResponse {
        applyCommonFaults(faults, rng: &rng) {
            if !faults.stale { publish() }
            bank.pecEnabled = sendsPEC
            bank.corruptPEC = faults.badChecksum
            return bank.transfer(write: write, readCount: readCount)
        }
    }

    private func hostWrote(_ command: UInt8, _ value: UInt16) -> Bool {
        switch Register(rawValue: command) {
        case .manufacturerAccess?: manufacturerAccess = value
        case .remainingCapacityAlarm?: remainingCapacityAlarm = value
        case .remainingTimeAlarm?: remainingTimeAlarmMin = value
        case .batteryMode?: batteryMode = value
        case .atRate?: atRate = Int16(bitPattern: value)
        default: return false
        }
        if wordWrites.count == 64 { wordWrites.removeFirst() }
        wordWrites.append(WordWrite(command: command, value: value))
        if !faults.stale { publish() }
        return true
    }

    /// A capacity in the unit BatteryMode selects: mAh, or 10 mWh at the design voltage.
    private func capacity(_ mah: UInt16) -> UInt16 {
        guard batteryMode & Self.capacityModeBit != 0 else { return mah }
        return UInt16(clamping: Int(mah) * Int(designVoltageMv) / 10_000)
    }

    /// Minutes to move `mah` at `ma`; 65535 when not moving that way.
    private static func minutes(_ mah: Int, at ma: Int) -> UInt16 {
        ma > 0 ? UInt16(clamping: mah * 60 / ma) : 0xFFFF
    }

    private func publish() {
        let words: [(Register, UInt16)] = [
            (.manufacturerAccess, manufacturerAccess),
            (.remainingCapacityAlarm, remainingCapacityAlarm),
            (.remainingTimeAlarm, remainingTimeAlarmMin),
            (.batteryMode, batteryMode),
            (.atRate, UInt16(bitPattern: atRate)),
            (.atRateTimeToFull, Self.minutes(Int(fullChargeCapacityMah) - Int(remainingCapacityMah), at: Int(atRate))),
            (.atRateTimeToEmpty, Self.minutes(Int(remainingCapacityMah), at: -Int(atRate))),
            (.atRateOK, 1),
            (.temperature, temperatureDeciK),
            (.voltage, voltageMv),
            (.current, UInt16(bitPattern: currentMa)),
            (.averageCurrent, UInt16(bitPattern: averageCurrentMa)),
            (.maxError, UInt16(maxErrorPct)),
            (.relativeStateOfCharge, UInt16(relativeStateOfChargePct)),
            (.absoluteStateOfCharge, UInt16(absoluteStateOfChargePct)),
            (.remainingCapacity, capacity(remainingCapacityMah)),
            (.fullChargeCapacity, capacity(fullChargeCapacityMah)),
            (.runTimeToEmpty, Self.minutes(Int(remainingCapacityMah), at: -Int(currentMa))),
            (.averageTimeToEmpty, Self.minutes(Int(remainingCapacityMah), at: -Int(averageCurrentMa))),
            (.averageTimeToFull, Self.minutes(Int(fullChargeCapacityMah) - Int(remainingCapacityMah),
                                              at: Int(averageCurrentMa))),
            (.chargingCurrent, chargingCurrentMa),
            (.chargingVoltage, chargingVoltageMv),
            (.batteryStatus, batteryStatus.rawValue),
            (.cycleCount, cycleCount),
            (.designCapacity, capacity(designCapacityMah)),
            (.designVoltage, designVoltageMv),
            (.specificationInfo, specificationInfo),
            (.manufactureDate, manufactureDate),
            (.serialNumber, serialNumber),
        ]
        for (register, value) in words { bank.setWord(register.rawValue, value) }
        bank.setBlock(Register.manufacturerName.rawValue, Self.block(manufacturerName))
        bank.setBlock(Register.deviceName.rawValue, Self.block(deviceName))
        bank.setBlock(Register.deviceChemistry.rawValue, Self.block(deviceChemistry))
        // 16 words from 0x3F down to 0x30: cells 1…cellCount, then zeros.
        for n in 1...16 {
            let mv = n <= cellCount ? cellVoltagesMv[n - 1] : 0
            bank.setWord(Register.cellVoltage1.rawValue + 1 - UInt8(n), mv)
        }
    }

    private static func block(_ text: String) -> [UInt8] { Array(text.utf8.prefix(32)) }
}
