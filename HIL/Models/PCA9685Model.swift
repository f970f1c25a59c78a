/// NXP PCA9685 16-channel 12-bit PWM controller at 0x40 (winch ESC and hook servo).
///
/// 8-bit registers behind a control register (pointer). With MODE1.AI set the pointer
/// increments after each byte, past LED15_OFF_H (0x45) back to MODE1 and from ALL_LED_ON_L
/// (0xFA) through PRE_SCALE (0xFE) back to MODE1; with AI clear it stays put. Reserved
/// addresses (0x46…0xF9) are not acknowledged. Power-on: MODE1 0x11 (asleep), every channel
/// full-off, PRE_SCALE 0x1E. PRE_SCALE writes are ignored unless SLEEP is set, and values
/// below 3 load 3. ALL_LED_* writes load every channel and read back 0. Going to sleep with a
/// channel active sets RESTART and halts the outputs; writing RESTART = 1 after clearing SLEEP,
/// or writing any PWM register, resumes them (MODE2.OCH = 0 behaviour).
///
/// Faults honoured: `nack`, `stuckBus`, `bitFlipProbability`.
public final class PCA9685Model: I2CDeviceModel {
    public enum Register: UInt8 {
        case mode1 = 0x00, mode2 = 0x01, subadr1 = 0x02, subadr2 = 0x03, subadr3 = 0x04
        case allcallAdr = 0x05
        /// LEDn_ON_L, LEDn_ON_H, LEDn_OFF_L, LEDn_OFF_H are at 0x06 + 4n … 0x09 + 4n.
        case led0OnL = 0x06, led0OnH = 0x07, led0OffL = 0x08, led0OffH = 0x09
        case led15OffH = 0x45
        case allLedOnL = 0xFA, allLedOnH = 0xFB, allLedOffL = 0xFC, allLedOffH = 0xFD
        case preScale = 0xFE, testMode = 0xFF
    }

    /// MODE1 bits.
    public static let restart: UInt8 = 0x80, extclk: UInt8 = 0x40, ai: UInt8 = 0x20, sleep: UInt8 = 0x10
    /// MODE2.INVRT: output logic inverted.
    public static let invrt: UInt8 = 0x10
    /// Bit 4 of LEDn_ON_H (full on) and LEDn_OFF_H (full off, which wins).
    public static let fullOnOff: UInt8 = 0x10
    public static let channelCount = 16
    /// SLEEP must be clear this long before RESTART is written (oscillator start-up).
    public static let oscillatorStartNs: UInt64 = 500_000

    public let address: UInt8
    public var faults = ModelFaults()
    private var rng: SeededRandom
    private let bank: RegisterBank8

    /// Internal oscillator frequency (Hz): nominally 25 MHz; set it to model a part's error.
    public var oscillatorHz: Double = 25_000_000
    /// Frequency at EXTCLK, used once MODE1.EXTCLK is set (Hz).
    public var externalClockHz: Double = 25_000_000
    /// RESTART writes that came less than 500 µs after SLEEP was cleared.
    public private(set) var earlyRestartCount = 0

    private var nowNs: UInt64 = 0
    private var awakeSinceNs: UInt64?
    private var halted = false

    public init(address: UInt8 = 0x40, seed: UInt64 = 0) {
        self.address = address
        self.rng = SeededRandom(seed: seed)
        var resetValues: [UInt8: UInt8] = [0x00: 0x11, 0x01: 0x04, 0x02: 0xE2, 0x03: 0xE4, 0x04: 0xE8,
                                           0x05: 0xE0, 0xFE: 0x1E]
        var readOnly: [UInt8: UInt8] = [0x01: 0xE0, 0xFB: 0xE0, 0xFD: 0xE0]
        for n in 0..<UInt8(Self.channelCount) {
            resetValues[0x09 + 4 * n] = Self.fullOnOff
            readOnly[0x07 + 4 * n] = 0xE0
            readOnly[0x09 + 4 * n] = 0xE0
        }
        bank = RegisterBank8(resetValues: resetValues, readOnly: readOnly, implemented: [0x00...0x45, 0xFA...0xFF])
        bank.nextPointer = { [unowned self] register, _ in
            guard self.bank[0x00] & Self.ai != 0 else { return register }
            return register == 0x45 || register >= 0xFE ? 0x00 : register + 1
        }
        bank.onWrite = { [unowned self] register, old, new in self.wrote(register, old: old, new: new) }
    }

    /// Register value as the master would read it.
    public subscript(register: UInt8) -> UInt8 { bank[register] }

    public var isAsleep: Bool { bank[0x00] & Self.sleep != 0 }

    /// PWM frequency (Hz) = clock / (4096 × (PRE_SCALE + 1)).
    public var pwmFrequencyHz: Double { clockHz / (4096 * (Double(bank[0xFE]) + 1)) }

    /// Width of the high part of channel `channel`'s output (µs), or nil while the output is
    /// low all the time (full-off, ON = OFF, asleep, halted). Full-on gives the whole period.
    public func pulseWidthUs(channel: Int) -> Double? {
        precondition((0..<Self.channelCount).contains(channel))
        guard !isAsleep, !halted else { return nil }
        let base = UInt8(0x06 + 4 * channel)
        let periodUs = 1e6 / pwmFrequencyHz
        var highUs: Double?
        if bank[base + 3] & Self.fullOnOff != 0 {
            highUs = nil
        } else if bank[base + 1] & Self.fullOnOff != 0 {
            highUs = periodUs
        } else {
            let on = Int(bank[base + 1] & 0x0F) << 8 | Int(bank[base])
            let off = Int(bank[base + 3] & 0x0F) << 8 | Int(bank[base + 2])
            highUs = on == off ? nil : Double((off - on) & 0xFFF) * periodUs / 4096
        }
        guard bank[0x01] & Self.invrt != 0 else { return highUs }
        guard let high = highUs else { return periodUs }
        return high >= periodUs ? nil : periodUs - high
    }

    public func transfer(write: [UInt8], readCount: Int, nowNs: UInt64) -> I2CModelResponse {
        applyCommonFaults(faults, rng: &rng) {
            self.nowNs = nowNs
            return bank.transfer(write: write, readCount: readCount)
        }
    }

    private var clockHz: Double { bank[0x00] & Self.extclk != 0 ? externalClockHz : oscillatorHz }

    private var anyChannelActive: Bool {
        (0..<UInt8(Self.channelCount)).contains { bank[0x09 + 4 * $0] & Self.fullOnOff == 0 }
    }

    private func wrote(_ register: UInt8, old: UInt8, new: UInt8) -> UInt8 {
        switch register {
        case 0x00:
            var value = (new & ~Self.restart) | (old & Self.extclk)  // EXTCLK is sticky
            let goingToSleep = new & Self.sleep != 0 && old & Self.sleep == 0
            let waking = new & Self.sleep == 0 && old & Self.sleep != 0
            if goingToSleep {
                awakeSinceNs = nil
                if anyChannelActive { halted = true }
            } else if waking {
                awakeSinceNs = nowNs
            }
            let restartPending = old & Self.restart != 0 || (goingToSleep && halted)
            if restartPending, new & Self.restart != 0, new & Self.sleep == 0 {
                if let since = awakeSinceNs, nowNs - since < Self.oscillatorStartNs { earlyRestartCount += 1 }
                halted = false
            } else if restartPending {
                value |= Self.restart
            }
            return value
        case 0xFE:
            return bank[0x00] & Self.sleep != 0 ? max(new, 3) : old
        case 0x06...0x45:
            resumeOutputs()
            return new
        case 0xFA...0xFD:
            for n in 0..<UInt8(Self.channelCount) { bank[register - 0xF4 + 4 * n] = new }
            resumeOutputs()
            return 0
        default:
            return new
        }
    }

    private func resumeOutputs() {
        halted = false
        bank[0x00] &= ~Self.restart
    }
}
