/// Nuvoton NAU7802 24-bit bridge ADC at 0x2A (rope tension load cell).
///
/// 8-bit registers behind an auto-incrementing pointer. Power-up as the datasheet describes:
/// RR = 1 resets every register but RR (cleared by writing RR = 0); PUD = 1 starts the digital
/// supply and PUR reads 1 `powerUpDelayNs` later (about 200 µs); with PUA and CS also set,
/// conversions complete every 1/rate s (CRS: 10, 20, 40, 80, 320 samples/s; the reserved codes
/// run at 10). Each completed conversion updates ADCO_B2…B0 and sets CR; reading any ADCO byte
/// clears CR. CALS starts the calibration CALMOD selects and self-clears after
/// `calibrationPeriods` conversion periods: internal offset (0) and system offset (2) load
/// OCAL, system gain (3) loads GCAL so the present input reads full scale; CAL_ERR reports a
/// gain over 256, a non-positive input, the reserved mode 1, or `calibrationFails`.
/// Output = GCAL × (measurement − OCAL) / 2²³ with GCAL 0x00800000 (1.0) after reset.
///
/// Faults honoured: `nack`, `stuckBus`, `stale` (ADCO frozen, CR still set),
/// `conversionNeverReady` (CR stays 0, ADCO frozen), `bitFlipProbability`.
public final class NAU7802Model: I2CDeviceModel {
    public enum Register: UInt8 {
        case puCtrl = 0x00, ctrl1 = 0x01, ctrl2 = 0x02
        case ocal1B2 = 0x03, ocal1B1 = 0x04, ocal1B0 = 0x05
        case gcal1B3 = 0x06, gcal1B2 = 0x07, gcal1B1 = 0x08, gcal1B0 = 0x09
        case ocal2B2 = 0x0A, ocal2B1 = 0x0B, ocal2B0 = 0x0C
        case gcal2B3 = 0x0D, gcal2B2 = 0x0E, gcal2B1 = 0x0F, gcal2B0 = 0x10
        case i2cControl = 0x11, adcoB2 = 0x12, adcoB1 = 0x13, adcoB0 = 0x14
        case adc = 0x15, otpB0 = 0x16, pga = 0x1B, pgaPwr = 0x1C, deviceRev = 0x1F
    }

    /// PU_CTRL bits.
    public static let rr: UInt8 = 0x01, pud: UInt8 = 0x02, pua: UInt8 = 0x04, pur: UInt8 = 0x08
    public static let cs: UInt8 = 0x10, cr: UInt8 = 0x20
    /// CTRL2 bits and fields.
    public static let calmodMask: UInt8 = 0x03, cals: UInt8 = 0x04, calErr: UInt8 = 0x08
    public static let crsMask: UInt8 = 0x70, chs: UInt8 = 0x80
    /// DEVICE_REV value.
    public static let revisionID: UInt8 = 0x0F
    /// Conversion rates (samples/s) for the CRS codes 0…7.
    public static let ratesSps: [UInt64] = [10, 20, 40, 80, 10, 10, 10, 320]

    public let address: UInt8
    public var faults = ModelFaults()
    private var rng: SeededRandom
    private var noiseRng: SeededRandom
    private let bank: RegisterBank8

    /// Force on the load cell (N).
    public var forceN: Double = 0
    /// Counts per newton at gain 128 (the counts scale with the CTRL1 gain).
    public var countsPerNewton: Double = 1_000
    /// Bridge offset at zero force, counts at gain 128 (scales with the gain).
    public var offsetCounts: Double = 0
    /// The converter's own offset (counts), removed by an internal offset calibration.
    public var internalOffsetCounts: Double = 0
    /// Uniform noise amplitude added to each conversion (± counts); 0 for none.
    public var noiseCounts: Double = 0
    /// Time from PUD = 1 to PUR = 1 (ns).
    public var powerUpDelayNs: UInt64 = 200_000
    /// Duration of a calibration, in conversion periods at the selected rate.
    public var calibrationPeriods: UInt64 = 2
    /// The next calibrations end with CAL_ERR = 1 and the calibration registers unchanged.
    public var calibrationFails = false

    private var nowNs: UInt64 = 0
    private var powerUpReadyAtNs: UInt64?
    private var conversionStartNs: UInt64?
    private var completedConversions: UInt64 = 0
    private var calibrationDoneAtNs: UInt64?

    public init(address: UInt8 = 0x2A, seed: UInt64 = 0) {
        self.address = address
        self.rng = SeededRandom(seed: seed)
        self.noiseRng = SeededRandom(seed: seed ^ 0x7802)
        bank = RegisterBank8(resetValues: [0x07: 0x80, 0x0E: 0x80, 0x1F: Self.revisionID],
                             readOnly: [0x00: Self.pur | Self.cr, 0x02: Self.calErr,
                                        0x12: 0xFF, 0x13: 0xFF, 0x14: 0xFF, 0x16: 0xFF, 0x1F: 0xFF])
        bank.onWrite = { [unowned self] register, old, new in self.wrote(register, old: old, new: new) }
        bank.onRead = { [unowned self] register in
            if (0x12...0x14).contains(register) { self.bank[0x00] &= ~Self.cr }
        }
    }

    /// Register value as of the last transaction.
    public subscript(register: Register) -> UInt8 { bank[register.rawValue] }

    /// Selected conversion rate (samples/s).
    public var rateSps: UInt64 { Self.ratesSps[Int(bank[0x02] & Self.crsMask) >> 4] }
    /// PGA gain from CTRL1 (1…128).
    public var gain: Int { 1 << Int(bank[0x01] & 0x07) }

    public func transfer(write: [UInt8], readCount: Int, nowNs: UInt64) -> I2CModelResponse {
        applyCommonFaults(faults, rng: &rng) {
            advance(to: nowNs)
            return bank.transfer(write: write, readCount: readCount)
        }
    }

    private var periodNs: UInt64 { 1_000_000_000 / rateSps }

    private func wrote(_ register: UInt8, old: UInt8, new: UInt8) -> UInt8 {
        switch register {
        case 0x00:
            if new & Self.rr != 0 {
                bank.reset()
                powerUpReadyAtNs = nil
                conversionStartNs = nil
                calibrationDoneAtNs = nil
                return Self.rr
            }
            var value = new
            if new & Self.pud == 0 {
                powerUpReadyAtNs = nil
                value &= ~Self.pur
            } else if old & Self.pud == 0 {
                powerUpReadyAtNs = nowNs + powerUpDelayNs
            }
            if new & Self.cs == 0 {
                conversionStartNs = nil
            } else if (new & ~old) & (Self.cs | Self.pud | Self.pua) != 0 {
                restartConversions()
            }
            return value
        case 0x02:
            // A calibration under way keeps CALS set until it ends.
            let value = calibrationDoneAtNs == nil ? new : new | Self.cals
            bank[0x02] = value  // the rate below is the one just written
            if value & Self.cals != 0, calibrationDoneAtNs == nil {
                calibrationDoneAtNs = nowNs + calibrationPeriods * periodNs
            }
            if (new ^ old) & Self.crsMask != 0, conversionStartNs != nil { restartConversions() }
            return value
        default:
            return new
        }
    }

    private func restartConversions() {
        conversionStartNs = max(nowNs, powerUpReadyAtNs ?? nowNs)
        completedConversions = 0
    }

    private func advance(to time: UInt64) {
        nowNs = time
        if let ready = powerUpReadyAtNs, time >= ready { bank[0x00] |= Self.pur }
        if let done = calibrationDoneAtNs, time >= done {
            calibrationDoneAtNs = nil
            finishCalibration()
        }
        let running = Self.pur | Self.pua | Self.cs
        guard let start = conversionStartNs, bank[0x00] & running == running, time >= start else { return }
        let completed = (time - start) / periodNs
        guard completed > completedConversions else { return }
        completedConversions = completed
        guard !faults.conversionNeverReady else { return }
        if !faults.stale { bank.setBigEndian(0x12, count: 3, UInt32(bitPattern: output()) & 0xFF_FFFF) }
        bank[0x00] |= Self.cr
    }

    /// Offset and gain registers of the channel CHS selects.
    private var calibrationRegisters: (ocal: UInt8, gcal: UInt8) {
        bank[0x02] & Self.chs == 0 ? (0x03, 0x06) : (0x0A, 0x0D)
    }

    /// The converter input before calibration (counts).
    private func measurement() -> Double {
        let noise = noiseCounts == 0 ? 0 : (noiseRng.unit() * 2 - 1) * noiseCounts
        let bridge = bank[0x02] & Self.chs == 0 ? (forceN * countsPerNewton + offsetCounts) * Double(gain) / 128 : 0
        return bridge + internalOffsetCounts + noise
    }

    private func output() -> Int32 {
        let (ocalRegister, gcalRegister) = calibrationRegisters
        let ocal = Double(Int32(bitPattern: bank.bigEndian(ocalRegister, count: 3) << 8) >> 8)
        let gcal = Double(bank.bigEndian(gcalRegister, count: 4)) / Double(1 << 23)
        let value = (gcal * (measurement() - ocal)).rounded()
        return Int32(max(min(value, Double(0x7F_FFFF)), -Double(0x80_0000)))
    }

    private func finishCalibration() {
        let (ocalRegister, gcalRegister) = calibrationRegisters
        var failed = calibrationFails
        if !failed {
            switch bank[0x02] & Self.calmodMask {
            case 0: setOffset(internalOffsetCounts, ocalRegister)
            case 2: setOffset(measurement(), ocalRegister)
            case 3:
                let ocal = Double(Int32(bitPattern: bank.bigEndian(ocalRegister, count: 3) << 8) >> 8)
                let input = measurement() - ocal
                let gain = input > 0 ? Double(0x7F_FFFF) / input : .infinity
                if gain < 256 {
                    bank.setBigEndian(gcalRegister, count: 4, UInt32(gain * Double(1 << 23)))
                } else {
                    failed = true
                }
            default: failed = true
            }
        }
        bank[0x02] = (bank[0x02] & ~(Self.cals | Self.calErr)) | (failed ? Self.calErr : 0)
    }

    private func setOffset(_ counts: Double, _ register: UInt8) {
        let value = Int32(max(min(counts.rounded(), Double(0x7F_FFFF)), -Double(0x80_0000)))
        bank.setBigEndian(register, count: 3, UInt32(bitPattern: value) & 0xFF_FFFF)
    }
}
