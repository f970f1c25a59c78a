import PlumbHAL

/// Winch motor (ESC pulse) and hook-release servo through a PCA9685 PWM controller.
///
/// Start-up: MODE1 with SLEEP and AI (PRESCALE is writable only while asleep), PRESCALE
/// for the servo frame rate, wake, then every channel at its safe pulse. Shutdown puts
/// every channel at its safe pulse again (an ESC that loses its pulses may do anything).
public struct PCA9685<Bus: I2CBus> {
    public typealias Register = PCA9685Register

    public typealias Mode1 = PCA9685Mode1

    public enum Failure: Error, Equatable {
        case bus(I2CError)
        /// A pulse width outside the channel's configured range was asked for (clamped).
        case pulseOutOfRange(channel: UInt8, us: UInt16)
        case unknownChannel(UInt8)
        /// PRESCALE reads back differently from what was written.
        case prescaleMismatch(wrote: UInt8, read: UInt8)
    }

    public struct Channel: Equatable {
        public var channel: UInt8
        public var minPulseUs: UInt16
        public var maxPulseUs: UInt16
        public var safePulseUs: UInt16

        public init(channel: UInt8, minPulseUs: UInt16, maxPulseUs: UInt16, safePulseUs: UInt16) {
            self.channel = channel
            self.minPulseUs = minPulseUs
            self.maxPulseUs = maxPulseUs
            self.safePulseUs = safePulseUs
        }
    }

    public let bus: Bus
    public let address: UInt8
    public let channels: [Channel]
    public let prescale: UInt8
    /// The frame rate the prescaler actually gives (Hz), used to convert pulse widths.
    public let frameHz: Double
    public private(set) var initialized = false
    public private(set) var health: DeviceHealth<Failure>
    /// The last pulse written per configured channel (µs), in `channels` order.
    public private(set) var pulsesUs: [UInt16]

    public static func prescale(forHz hz: Double, oscillatorHz: Double = 25_000_000) -> UInt8 {
        let p = (oscillatorHz / (4096 * hz)).rounded() - 1
        return UInt8(max(3, min(255, p)))
    }

    public init(bus: Bus, address: UInt8 = 0x40, channels: [Channel], frameHz: Double = 50) {
        self.bus = bus
        self.address = address
        self.channels = channels
        prescale = PCA9685.prescale(forHz: frameHz)
        self.frameHz = 25_000_000 / (4096 * (Double(prescale) + 1))
        pulsesUs = channels.map { $0.safePulseUs }
        health = DeviceHealth(failureThreshold: 3, staleAfterNs: UInt64.max / 2)
    }

    public mutating func initialize(nowNs: UInt64) -> Bool {
        do {
            try bus.writeRegister(address: address, Register.mode1, Mode1.sleep | Mode1.ai)
            try bus.writeRegister(address: address, Register.prescale, prescale)
            let readBack = try bus.readRegister(address: address, Register.prescale)
            guard readBack == prescale else {
                health.recordFailure(.prescaleMismatch(wrote: prescale, read: readBack))
                return false
            }
            try bus.writeRegister(address: address, Register.mode1, Mode1.ai)
            // The oscillator needs 500 µs after SLEEP clears before outputs are exact;
            // the first pulses are the safe ones, so a short first frame is harmless.
            initialized = true
            health.recordSuccess(at: nowNs)
            return applySafe(nowNs: nowNs)
        } catch {
            health.recordFailure(.bus(error))
            return false
        }
    }

    /// Sets a channel's pulse width (µs), clamped to its range (a clamp is reported).
    @discardableResult
    public mutating func setPulse(channel: UInt8, us: UInt16, nowNs: UInt64) -> Bool {
        guard let index = channels.firstIndex(where: { $0.channel == channel }) else {
            health.recordFailure(.unknownChannel(channel))
            return false
        }
        let c = channels[index]
        var width = us
        if us < c.minPulseUs || us > c.maxPulseUs {
            width = min(max(us, c.minPulseUs), c.maxPulseUs)
            health.recordFailure(.pulseOutOfRange(channel: channel, us: us))
        }
        let counts = UInt16(min(4095, (Double(width) * 1e-6 * frameHz * 4096).rounded()))
        var frame: (UInt8, UInt8, UInt8, UInt8, UInt8) =
            (Register.led0OnL + 4 * channel, 0, 0, UInt8(counts & 0xFF), UInt8(counts >> 8))
        do {
            try withUnsafeBytes(of: &frame) { (raw: UnsafeRawBufferPointer) throws(I2CError) in
                try bus.write(address: address, raw)
            }
        } catch {
            health.recordFailure(.bus(error))
            return false
        }
        pulsesUs[index] = width
        if width == us { health.recordSuccess(at: nowNs) }
        return true
    }

    /// Every channel to its safe pulse; true when all were written.
    @discardableResult
    public mutating func applySafe(nowNs: UInt64) -> Bool {
        var ok = true
        for c in channels where !setPulse(channel: c.channel, us: c.safePulseUs, nowNs: nowNs) { ok = false }
        return ok
    }
}

public enum PCA9685Register {
    public static let mode1: UInt8 = 0x00
    public static let mode2: UInt8 = 0x01
    public static let led0OnL: UInt8 = 0x06
    public static let prescale: UInt8 = 0xFE
}

public enum PCA9685Mode1 {
    public static let restart: UInt8 = 0x80
    public static let ai: UInt8 = 0x20
    public static let sleep: UInt8 = 0x10
}
