import PlumbHAL

/// Rope tension from a load cell through a NAU7802 24-bit ADC.
///
/// Start-up (inside `poll`, never blocking): reset, power up, wait for PUR, gain and LDO,
/// sample rate, internal offset calibration (CALS, checked with CAL_ERR), start
/// conversions; then tare: the mean of the first `tareSamples` conversions with the hook
/// empty is zero newtons. Each poll reads PU_CTRL and, when CR says a conversion is
/// ready, ADCO (3 bytes, auto-increment).
public struct NAU7802<Bus: I2CBus> {
    public typealias Register = NAU7802Register

    public typealias PUCtrl = NAU7802PUCtrl

    public enum SampleRate: UInt8 {
        case sps10 = 0, sps20 = 1, sps40 = 2, sps80 = 3, sps320 = 7

        public var hz: Double {
            switch self {
            case .sps10: return 10
            case .sps20: return 20
            case .sps40: return 40
            case .sps80: return 80
            case .sps320: return 320
            }
        }
    }

    public enum Failure: Error, Equatable {
        case bus(I2CError)
        /// PUR did not come up after power-up.
        case powerUpTimeout
        /// Internal calibration reported CAL_ERR or did not finish.
        case calibrationFailed
        /// No conversion completed for longer than a few sample periods.
        case conversionTimeout
    }

    public enum Phase: Equatable { case resetting, poweringUp, calibrating, taring, running }

    public struct Reading: Equatable {
        public var tensionN: Double
        public var counts: Int32
        public var timestampNs: UInt64
    }

    public let bus: Bus
    public let address: UInt8
    public let rate: SampleRate
    /// Gain code 0...7 (×1 … ×128).
    public let gainCode: UInt8
    /// Counts per newton of the load cell and amplifier (calibrated with a known mass).
    public let countsPerNewton: Double
    public let tareSamples: Int

    public private(set) var phase = Phase.resetting
    public private(set) var health: DeviceHealth<Failure>
    public private(set) var reading: Reading? = nil
    public private(set) var tareCounts: Double = 0
    public private(set) var revision: UInt8 = 0

    private var phaseStartNs: UInt64 = 0
    private var lastConversionNs: UInt64 = 0
    private var tareSum: Int64 = 0
    private var tareCount = 0
    private var started = false

    public init(bus: Bus, address: UInt8 = 0x2A, rate: SampleRate = .sps80, gainCode: UInt8 = 7,
                countsPerNewton: Double, tareSamples: Int = 16) {
        self.bus = bus
        self.address = address
        self.rate = rate
        self.gainCode = min(gainCode, 7)
        self.countsPerNewton = countsPerNewton == 0 ? 1 : countsPerNewton
        self.tareSamples = max(1, tareSamples)
        let periodNs = UInt64(1e9 / rate.hz)
        health = DeviceHealth(failureThreshold: 3, staleAfterNs: periodNs * 4)
    }

    var samplePeriodNs: UInt64 { UInt64(1e9 / rate.hz) }

    public func pollCostNs() -> UInt64 {
        i2cTransferTimeNs(clockHz: bus.clockHz, writeBytes: 1, readBytes: 1)
            + i2cTransferTimeNs(clockHz: bus.clockHz, writeBytes: 1, readBytes: 3)
    }

    /// Starts again from reset (after a failure, or to re-tare with the hook empty).
    public mutating func restart() {
        phase = .resetting
        started = false
        tareSum = 0
        tareCount = 0
    }

    public mutating func poll(nowNs: UInt64) -> Bool {
        do {
            return try step(nowNs: nowNs)
        } catch {
            health.recordFailure(.bus(error))
            return false
        }
    }

    private mutating func enter(_ p: Phase, _ nowNs: UInt64) {
        phase = p
        phaseStartNs = nowNs
    }

    private mutating func step(nowNs: UInt64) throws(I2CError) -> Bool {
        switch phase {
        case .resetting:
            try bus.writeRegister(address: address, Register.puCtrl, PUCtrl.rr)
            try bus.writeRegister(address: address, Register.puCtrl, PUCtrl.pud)
            enter(.poweringUp, nowNs)
            return false
        case .poweringUp:
            let pu = try bus.readRegister(address: address, Register.puCtrl)
            guard pu & PUCtrl.pur != 0 else {
                if nowNs &- phaseStartNs > 50_000_000 {
                    health.recordFailure(.powerUpTimeout)
                    enter(.resetting, nowNs)
                }
                return false
            }
            revision = try bus.readRegister(address: address, Register.revision)
            // LDO 3.3 V (CTRL1 bits 5:3 = 0b100) and the gain; analog on; sample rate;
            // then internal offset calibration (CALMOD 0, CALS).
            try bus.writeRegister(address: address, Register.ctrl1, 0x20 | gainCode)
            try bus.writeRegister(address: address, Register.puCtrl, PUCtrl.pud | PUCtrl.pua)
            try bus.writeRegister(address: address, Register.ctrl2, rate.rawValue << 4)
            try bus.writeRegister(address: address, Register.ctrl2, rate.rawValue << 4 | 0x04)
            enter(.calibrating, nowNs)
            return false
        case .calibrating:
            let c2 = try bus.readRegister(address: address, Register.ctrl2)
            if c2 & 0x04 != 0 {
                if nowNs &- phaseStartNs > 1_000_000_000 {
                    health.recordFailure(.calibrationFailed)
                    enter(.resetting, nowNs)
                }
                return false
            }
            if c2 & 0x08 != 0 {
                health.recordFailure(.calibrationFailed)
                enter(.resetting, nowNs)
                return false
            }
            try bus.writeRegister(address: address, Register.puCtrl, PUCtrl.pud | PUCtrl.pua | PUCtrl.cs)
            tareSum = 0
            tareCount = 0
            lastConversionNs = nowNs
            enter(.taring, nowNs)
            return false
        case .taring, .running:
            let pu = try bus.readRegister(address: address, Register.puCtrl)
            guard pu & PUCtrl.cr != 0 else {
                if nowNs &- lastConversionNs > samplePeriodNs * 8 {
                    health.recordFailure(.conversionTimeout)
                } else {
                    health.recordResponsive()
                }
                return false
            }
            var b: (UInt8, UInt8, UInt8) = (0, 0, 0)
            try withUnsafeMutableBytes(of: &b) { (raw: UnsafeMutableRawBufferPointer) throws(I2CError) in
                try bus.readRegisters(address: address, Register.adcoB2, into: raw)
            }
            // 24-bit two's complement, MSB first: sign-extend through the top byte.
            let counts = Int32(bitPattern: UInt32(b.0) << 24 | UInt32(b.1) << 16 | UInt32(b.2) << 8) >> 8
            lastConversionNs = nowNs
            if phase == .taring {
                tareSum += Int64(counts)
                tareCount += 1
                health.recordResponsive()
                if tareCount >= tareSamples {
                    tareCounts = Double(tareSum) / Double(tareCount)
                    enter(.running, nowNs)
                }
                return false
            }
            reading = Reading(tensionN: (Double(counts) - tareCounts) / countsPerNewton, counts: counts, timestampNs: nowNs)
            health.recordSuccess(at: nowNs)
            return true
        }
    }
}

public enum NAU7802Register {
    public static let puCtrl: UInt8 = 0x00
    public static let ctrl1: UInt8 = 0x01
    public static let ctrl2: UInt8 = 0x02
    public static let adcoB2: UInt8 = 0x12
    public static let revision: UInt8 = 0x1F
}

public enum NAU7802PUCtrl {
    public static let rr: UInt8 = 0x01    // register reset
    public static let pud: UInt8 = 0x02   // power up digital
    public static let pua: UInt8 = 0x04   // power up analog
    public static let pur: UInt8 = 0x08   // power up ready (read only)
    public static let cs: UInt8 = 0x10    // cycle start
    public static let cr: UInt8 = 0x20    // cycle ready (read only)
}
