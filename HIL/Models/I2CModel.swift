// Device models answer I2C transactions at register level, the way each chip's
// datasheet says, so that the shipped drivers can be run against them. Models are
// host-only Swift (Foundation allowed) and know nothing of the drivers.

/// What a model does with one combined transaction.
public enum I2CModelResponse: Equatable {
    /// The address (and every written byte) was acknowledged; `bytes` are what the
    /// master clocks in during the read phase (exactly `readCount` of them).
    case ack([UInt8])
    /// The address was not acknowledged.
    case nack
    /// The device holds SDA or SCL low: the adapter times out.
    case stuck
}

/// A simulated chip on a simulated I2C bus.
public protocol I2CDeviceModel: AnyObject {
    /// 7-bit address.
    var address: UInt8 { get }
    /// One transaction: `write` (may be empty) then, after a repeated start, a read of
    /// `readCount` bytes (may be zero). `nowNs` is the simulation time.
    func transfer(write: [UInt8], readCount: Int, nowNs: UInt64) -> I2CModelResponse
}

/// Faults any model can be told to inject. Models honour the ones that make sense for
/// their chip and document which.
public struct ModelFaults: Equatable {
    /// Every transaction is NACKed (device unplugged, wrong address, brown-out).
    public var nack = false
    /// Every transaction ends with the bus stuck (adapter timeout).
    public var stuckBus = false
    /// Measurements freeze at their current values (a hung chip that still answers).
    public var stale = false
    /// Checksums sent by the chip are wrong (SMBus PEC, UBX checksum).
    public var badChecksum = false
    /// AS5600 only: the magnet is gone (status MD clear, ML set; angle meaningless).
    public var magnetLost = false
    /// NAU7802 only: conversions never complete (CR stays 0).
    public var conversionNeverReady = false
    /// Probability (0...1) that each byte read by the master has one random bit flipped.
    public var bitFlipProbability: Double = 0

    public init() {}
}

/// A small seeded generator (SplitMix64): the same seed gives the same faults.
public struct SeededRandom {
    public private(set) var state: UInt64
    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    public mutating func unit() -> Double { Double(next() >> 11) / Double(1 << 53) }
}

/// Applies the faults common to every model around a model's own answer.
public func applyCommonFaults(_ faults: ModelFaults, rng: inout SeededRandom,
                              _ answer: () -> I2CModelResponse) -> I2CModelResponse {
    if faults.nack { return .nack }
    if faults.stuckBus { return .stuck }
    let response = answer()
    guard faults.bitFlipProbability > 0, case .ack(var bytes) = response else { return response }
    for i in bytes.indices where rng.unit() < faults.bitFlipProbability {
        bytes[i] ^= UInt8(1) << UInt8(rng.next() % 8)
    }
    return .ack(bytes)
}
