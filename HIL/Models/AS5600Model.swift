/// ams AS5600 12-bit magnetic angle sensor at 0x36.
///
/// 8-bit registers behind an auto-incrementing address pointer. RAW ANGLE, ANGLE and
/// MAGNITUDE suppress the increment when a read starts at their high byte: the pointer
/// alternates high, low, high… so they can be re-read without a pointer write. Reserved
/// addresses read 0; a write naming one is not acknowledged.
/// ANGLE is RAW ANGLE less ZPOS, held at the range end when MANG (or MPOS − ZPOS) narrows the
/// range; its resolution stays 4096 per turn (register description: "0° to 180° → 2048dec").
/// AGC, MAGNITUDE and STATUS follow `magnetFieldMt`: MD when the field is at least
/// `detectFieldMt`, ML when it is under `weakFieldMt` (AGC at its maximum), MH over
/// `strongFieldMt` (AGC at 0). Without a magnet the angle is noise.
/// A BURN command (0xFF) is recorded in `burnCommands` and not carried out beyond ZMCO.
///
/// Faults honoured: `nack`, `stuckBus`, `stale` (every output register frozen), `magnetLost`
/// (MD clear, ML set, AGC at maximum, angle noise), `bitFlipProbability`.
public final class AS5600Model: I2CDeviceModel {
    public enum Register: UInt8 {
        case zmco = 0x00, zposHigh = 0x01, zposLow = 0x02, mposHigh = 0x03, mposLow = 0x04
        case mangHigh = 0x05, mangLow = 0x06, confHigh = 0x07, confLow = 0x08
        case status = 0x0B, rawAngleHigh = 0x0C, rawAngleLow = 0x0D, angleHigh = 0x0E, angleLow = 0x0F
        case agc = 0x1A, magnitudeHigh = 0x1B, magnitudeLow = 0x1C, burn = 0xFF
    }

    /// STATUS bits.
    public static let statusMH: UInt8 = 0x08, statusML: UInt8 = 0x10, statusMD: UInt8 = 0x20
    public static let countsPerTurn = 4_096

    public let address: UInt8
    public var faults = ModelFaults()
    private var rng: SeededRandom
    private var noiseRng: SeededRandom
    private let bank: RegisterBank8

    /// Mechanical angle of the magnet (°), continuous: any value, the chip wraps it to a turn.
    public var angleDeg: Double = 0
    /// The same angle in counts (4096 per turn), continuous.
    public var angleCounts: Double {
        get { angleDeg * Double(Self.countsPerTurn) / 360 }
        set { angleDeg = newValue * 360 / Double(Self.countsPerTurn) }
    }
    /// Axial field at the sensor (mT).
    public var magnetFieldMt: Double = 60
    /// Model thresholds (mT): below `detectFieldMt` no magnet is seen; between it and
    /// `weakFieldMt` the AGC saturates high (ML); above `strongFieldMt` it saturates low (MH).
    public var detectFieldMt: Double = 5, weakFieldMt: Double = 30, strongFieldMt: Double = 90
    /// Top of the AGC range: 255 with a 5 V supply, 128 in 3.3 V mode.
    public var agcMax: UInt8 = 255
    /// MAGNITUDE while the AGC is in range (arbitrary scale; the datasheet gives none).
    public var nominalMagnitude: Double = 2_000
    /// Values written to BURN (0xFF), oldest first.
    public private(set) var burnCommands: [UInt8] = []

    public init(address: UInt8 = 0x36, seed: UInt64 = 0) {
        self.address = address
        self.rng = SeededRandom(seed: seed)
        self.noiseRng = SeededRandom(seed: seed ^ 0xA5_5600)
        let readOnly: [UInt8: UInt8] = [0x00: 0xFF, 0x01: 0xF0, 0x03: 0xF0, 0x05: 0xF0, 0x07: 0xC0,
                                        0x0B: 0xFF, 0x0C: 0xFF, 0x0D: 0xFF, 0x0E: 0xFF, 0x0F: 0xFF,
                                        0x1A: 0xFF, 0x1B: 0xFF, 0x1C: 0xFF]
        bank = RegisterBank8(readOnly: readOnly, implemented: [0x00...0x08, 0x0B...0x0F, 0x1A...0x1C, 0xFF...0xFF])
        bank.nextPointer = { register, start in
            let special: Set<UInt8> = [0x0C, 0x0E, 0x1B]
            if special.contains(start), register == start + 1 { return start }
            return register &+ 1
        }
        bank.onWrite = { [unowned self] register, old, new in
            guard register == Register.burn.rawValue else { return new }
            self.burnCommands.append(new)
            if new == 0x80, self.bank[0x0B] & Self.statusMD != 0, self.bank[0x00] < 3 { self.bank[0x00] += 1 }
            return 0
        }
        refresh()
    }

    /// Register value as of the last transaction.
    public subscript(register: Register) -> UInt8 { bank[register.rawValue] }

    public func transfer(write: [UInt8], readCount: Int, nowNs: UInt64) -> I2CModelResponse {
        applyCommonFaults(faults, rng: &rng) {
            if !faults.stale { refresh() }
            return bank.transfer(write: write, readCount: readCount)
        }
    }

    /// Recomputes STATUS, AGC, MAGNITUDE, RAW ANGLE and ANGLE from the physical state.
    private func refresh() {
        let field = faults.magnetLost ? 0 : magnetFieldMt
        let detected = field >= detectFieldMt
        var status: UInt8 = detected ? Self.statusMD : 0
        let agc: UInt8
        let magnitude: Double
        if field < weakFieldMt {
            status |= Self.statusML
            agc = agcMax
            magnitude = nominalMagnitude * field / weakFieldMt
        } else if field > strongFieldMt {
            status |= Self.statusMH
            agc = 0
            magnitude = nominalMagnitude * field / strongFieldMt
        } else {
            agc = UInt8(Double(agcMax) * (strongFieldMt - field) / (strongFieldMt - weakFieldMt))
            magnitude = nominalMagnitude
        }
        bank[0x0B] = status
        bank[0x1A] = agc
        bank.setBigEndian(0x1B, count: 2, UInt32(min(max(magnitude, 0), 4_095)))

        let raw: Int
        if detected {
            let turn = Double(Self.countsPerTurn)
            let wrapped = angleCounts.truncatingRemainder(dividingBy: turn)
            raw = Int((wrapped < 0 ? wrapped + turn : wrapped).rounded(.down)) & 0xFFF
        } else {
            raw = Int(noiseRng.next() & 0xFFF)
        }
        bank.setBigEndian(0x0C, count: 2, UInt32(raw))
        bank.setBigEndian(0x0E, count: 2, UInt32(scaledAngle(raw: raw)))
    }

    private func scaledAngle(raw: Int) -> Int {
        let zpos = Int(bank.bigEndian(0x01, count: 2)) & 0xFFF
        let mpos = Int(bank.bigEndian(0x03, count: 2)) & 0xFFF
        let mang = Int(bank.bigEndian(0x05, count: 2)) & 0xFFF
        let relative = (raw - zpos) & 0xFFF
        let range = mang != 0 ? mang : (mpos != 0 ? (mpos - zpos) & 0xFFF : 0)
        guard range != 0 else { return relative }
        return min(relative, range)
    }
}
