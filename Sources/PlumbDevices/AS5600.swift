import PlumbHAL

/// The winch drum encoder: an AS5600 magnetic angle sensor (12 bits per turn) on the
/// drum axle. The driver unwraps the angle into turns, so rope paid out = turns × drum
/// circumference, and reports rope speed.
///
/// Unwrapping is only sound if the drum turns less than half a turn between two reads;
/// a read gap longer than that at the drum's maximum speed is an error, and the length
/// is then marked uncertain until the drum-home switch re-zeroes it.
public struct AS5600<Bus: I2CBus> {
    public typealias Register = AS5600Register

    public typealias Status = AS5600Status

    public enum Failure: Error, Equatable {
        case bus(I2CError)
        /// STATUS.MD is clear: no magnet, the angle means nothing.
        case magnetNotDetected(status: UInt8)
        /// The drum may have turned more than half a turn since the last read.
        case readGapTooLong(ns: UInt64)
        /// The angle moved further than the drum can turn in the time since the last
        /// read: a corrupted read (the sample is dropped, the count kept).
        case implausibleJump(counts: Int64)
    }

    public struct Reading: Equatable {
        /// Rope paid out since home, metres (positive = lowered).
        public var ropeOutM: Double
        /// Rope speed, m/s (positive = paying out), smoothed.
        public var ropeSpeedMps: Double
        public var rawAngle: UInt16
        /// Magnet too weak or too strong (readings still used, but worth a look).
        public var magnetMarginal: Bool
        /// False after a read gap or magnet loss, until `rehome`.
        public var lengthCertain: Bool
        public var timestampNs: UInt64
    }

    public let bus: Bus
    public let address: UInt8
    public let drumCircumferenceM: Double
    /// +1 when the raw angle increases as rope pays out, -1 otherwise.
    public let direction: Double
    /// The longest read gap for which unwrapping is sound.
    public let maxReadGapNs: UInt64
    /// Counts per nanosecond at the drum's maximum speed.
    let maxCountsPerNs: Double
    public private(set) var health: DeviceHealth<Failure>
    public private(set) var reading: Reading? = nil

    private var turnsCounts: Int64 = 0
    private var lastRaw: UInt16? = nil
    private var lastReadNs: UInt64 = 0
    private var certain = true

    /// `maxDrumSpeedRevPerS`: the fastest the drum can turn (motor limit or free fall).
    public init(bus: Bus, address: UInt8 = 0x36, drumCircumferenceM: Double, reversed: Bool = false,
                maxDrumSpeedRevPerS: Double, staleAfterNs: UInt64 = 100_000_000) {
        self.bus = bus
        self.address = address
        self.drumCircumferenceM = drumCircumferenceM
        direction = reversed ? -1 : 1
        let halfTurnS = 0.5 / max(0.1, maxDrumSpeedRevPerS)
        maxReadGapNs = UInt64(halfTurnS * 1e9)
        maxCountsPerNs = max(0.1, maxDrumSpeedRevPerS) * 4096 / 1e9
        health = DeviceHealth(failureThreshold: 3, staleAfterNs: staleAfterNs)
    }

    public func pollCostNs() -> UInt64 { i2cTransferTimeNs(clockHz: bus.clockHz, writeBytes: 1, readBytes: 3) }

    /// Zeroes the length (drum at its home switch) and makes it certain again.
    public mutating func rehome() {
        turnsCounts = 0
        certain = true
        if var r = reading {
            r.ropeOutM = 0
            r.lengthCertain = true
            reading = r
        }
    }

    /// STATUS and RAW ANGLE in one 3-byte read (auto-increment from 0x0B).
    public mutating func poll(nowNs: UInt64) -> Bool {
        var bytes: (UInt8, UInt8, UInt8) = (0, 0, 0)
        do {
            try withUnsafeMutableBytes(of: &bytes) { (raw: UnsafeMutableRawBufferPointer) throws(I2CError) in
                try bus.readRegisters(address: address, Register.status, into: raw)
            }
        } catch {
            health.recordFailure(.bus(error))
            return false
        }
        let status = bytes.0
        guard status & Status.magnetDetected != 0 else {
            certain = false
            lastRaw = nil
            health.recordFailure(.magnetNotDetected(status: status))
            return false
        }
        let raw = UInt16(bytes.1 & 0x0F) << 8 | UInt16(bytes.2)
        var speed = reading?.ropeSpeedMps ?? 0
        var gapTooLong = false
        // Without a previous angle (first read, or after the magnet was lost) this read
        // becomes the reference and nothing is added to the count.
        if let previous = lastRaw {
            let gap = nowNs &- lastReadNs
            var delta = Int64(raw) - Int64(previous)
            if delta > 2048 { delta -= 4096 }
            if delta < -2048 { delta += 4096 }
            // Half again the fastest possible motion, plus a little noise: anything more
            // is a corrupted read, not the drum (unless the gap was too long to tell).
            let allowed = Int64(maxCountsPerNs * Double(gap) * 1.5) + 16
            if gap <= maxReadGapNs && (delta > allowed || delta < -allowed) {
                health.recordFailure(.implausibleJump(counts: delta))
                return false
            }
            turnsCounts += delta
            if gap > maxReadGapNs {
                certain = false
                gapTooLong = true
                health.recordFailure(.readGapTooLong(ns: gap))
            }
            if gap > 0 {
                let instant = direction * Double(delta) / 4096 * drumCircumferenceM / (Double(gap) * 1e-9)
                speed += (instant - speed) * 0.5
            }
        }
        let ropeOut = direction * Double(turnsCounts) / 4096 * drumCircumferenceM
        reading = Reading(ropeOutM: ropeOut, ropeSpeedMps: speed, rawAngle: raw,
                          magnetMarginal: status & (Status.magnetTooWeak | Status.magnetTooStrong) != 0,
                          lengthCertain: certain, timestampNs: nowNs)
        lastRaw = raw
        lastReadNs = nowNs
        // After a read gap the reading stands, flagged uncertain, and the error counts.
        if !gapTooLong { health.recordSuccess(at: nowNs) }
        return true
    }
}

public enum AS5600Register {
    public static let status: UInt8 = 0x0B     // then RAW ANGLE 0x0C (11:8), 0x0D (7:0)
    public static let agc: UInt8 = 0x1A
    public static let magnitudeHigh: UInt8 = 0x1B
}

public enum AS5600Status {
    public static let magnetTooStrong: UInt8 = 0x08   // MH
    public static let magnetTooWeak: UInt8 = 0x10     // ML
    public static let magnetDetected: UInt8 = 0x20    // MD
}
