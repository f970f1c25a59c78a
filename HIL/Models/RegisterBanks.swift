// Register-level building blocks shared by the chip models: an 8-bit register file behind a
// register pointer, and an SMBus command bank of little-endian words and blocks.

/// SMBus packet error code: CRC-8, polynomial x⁸ + x² + x + 1 (0x07), initial value 0, no
/// reflection, no final XOR.
public func smbusPEC<S: Sequence>(_ bytes: S, initial: UInt8 = 0) -> UInt8 where S.Element == UInt8 {
    var crc = initial
    for byte in bytes {
        crc ^= byte
        for _ in 0..<8 { crc = crc & 0x80 != 0 ? (crc << 1) ^ 0x07 : crc << 1 }
    }
    return crc
}

/// 256 8-bit registers behind a register pointer, the layout of most I2C sensors.
///
/// A write `[reg, d0, d1, …]` loads the pointer with `reg`, stores `d0` at `reg`, `d1` at the
/// register after it, and so on; a read returns bytes from the pointer onward. After every byte
/// the pointer moves by `nextPointer` and it keeps its value between transactions, so a read
/// without a pointer write continues where the last access stopped.
///
/// Hooks are called synchronously from `transfer`; a model that installs one captures itself
/// `unowned` (the model owns the bank).
public final class RegisterBank8 {
    public private(set) var registers: [UInt8]
    public let resetValues: [UInt8]
    public var pointer: UInt8 = 0
    /// Per register, the bits a bus write cannot change (1 = read-only).
    public var readOnlyMask: [UInt8]
    /// Registers that exist. A register byte naming any other is not acknowledged (the whole
    /// transaction answers `.nack`, bytes before it already stored); reading one gives 0.
    public var implemented: [Bool]
    /// Where the pointer goes after a byte at `register` in a burst that began at `start`.
    public var nextPointer: (_ register: UInt8, _ start: UInt8) -> UInt8 = { register, _ in register &+ 1 }
    /// Called for every byte the master writes, after the read-only mask is applied; returns the
    /// value to store (`new` to accept it as is).
    public var onWrite: ((_ register: UInt8, _ old: UInt8, _ new: UInt8) -> UInt8)?
    /// Called after every byte the master reads.
    public var onRead: ((_ register: UInt8) -> Void)?

    /// - Parameters:
    ///   - resetValues: power-on values of the registers that are not 0.
    ///   - readOnly: per register, the bits writes cannot change.
    ///   - implemented: the registers that exist; `nil` for all 256.
    public init(resetValues: [UInt8: UInt8] = [:], readOnly: [UInt8: UInt8] = [:],
                implemented: [ClosedRange<UInt8>]? = nil) {
        var values = [UInt8](repeating: 0, count: 256)
        for (register, value) in resetValues { values[Int(register)] = value }
        var mask = [UInt8](repeating: 0, count: 256)
        for (register, bits) in readOnly { mask[Int(register)] = bits }
        var exists = [Bool](repeating: implemented == nil, count: 256)
        for range in implemented ?? [] { for register in range { exists[Int(register)] = true } }
        self.registers = values
        self.resetValues = values
        self.readOnlyMask = mask
        self.implemented = exists
    }

    /// Direct access for the model itself: no mask, no hooks, pointer untouched.
    public subscript(register: UInt8) -> UInt8 {
        get { registers[Int(register)] }
        set { registers[Int(register)] = newValue }
    }

    /// Big-endian value of `count` consecutive registers from `register` (model side).
    public func bigEndian(_ register: UInt8, count: Int) -> UInt32 {
        precondition((1...4).contains(count))
        var value: UInt32 = 0
        for i in 0..<count { value = value << 8 | UInt32(registers[(Int(register) + i) & 0xFF]) }
        return value
    }

    /// Stores `value` big-endian in `count` consecutive registers from `register` (model side).
    public func setBigEndian(_ register: UInt8, count: Int, _ value: UInt32) {
        precondition((1...4).contains(count))
        for i in 0..<count {
            registers[(Int(register) + i) & 0xFF] = UInt8(truncatingIfNeeded: value >> (8 * UInt32(count - 1 - i)))
        }
    }

    /// Every register back to its power-on value; the pointer is kept.
    public func reset() { registers = resetValues }

    /// One combined transaction: the write phase (pointer then data), then `readCount` bytes.
    public func transfer(write: [UInt8], readCount: Int) -> I2CModelResponse {
        precondition(readCount >= 0)
        if let start = write.first {
            guard implemented[Int(start)] else { return .nack }
            var register = start
            for value in write.dropFirst() {
                guard implemented[Int(register)] else {
                    pointer = register
                    return .nack
                }
                let index = Int(register)
                let old = registers[index]
                let masked = (old & readOnlyMask[index]) | (value & ~readOnlyMask[index])
                let stored = onWrite?(register, old, masked) ?? masked
                registers[index] = stored
                register = nextPointer(register, start)
            }
            pointer = register
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(readCount)
        let start = pointer
        for _ in 0..<readCount {
            let register = pointer
            bytes.append(implemented[Int(register)] ? registers[Int(register)] : 0)
            onRead?(register)
            pointer = nextPointer(register, start)
        }
        return .ack(bytes)
    }
}

/// The commands of an SMBus device answering read-word and block-read (the Smart Battery
/// layout). Words are little-endian. With `pecEnabled` the device appends the PEC, CRC-8 over
/// `address<<1`, the command, `address<<1 | 1` and the data bytes (the block count included).
/// A master that reads past the end gets 0xFF: the device releases SDA and the pull-up wins.
public final class SMBusCommandBank {
    public enum Value: Equatable, Sendable {
        case word(UInt16)
        /// At most 32 bytes; the count byte is added on the wire.
        case block([UInt8])
    }

    /// 7-bit address, used in the PEC.
    public let address: UInt8
    public var pecEnabled = false
    /// The PEC sent is wrong (inverted).
    public var corruptPEC = false
    /// Decides a write-word from the master: return `false` to NACK it (not writable).
    public var onWriteWord: ((_ command: UInt8, _ value: UInt16) -> Bool)?
    /// The command of the last write (the one a read without a command byte would answer).
    public private(set) var command: UInt8?
    private var values = [Value?](repeating: nil, count: 256)

    public init(address: UInt8) { self.address = address }

    /// Model side: the value a command answers; `nil` for an unsupported command (NACKed).
    public subscript(command: UInt8) -> Value? {
        get { values[Int(command)] }
        set {
            if case .block(let bytes)? = newValue { precondition(bytes.count <= 32, "SMBus block max 32") }
            values[Int(command)] = newValue
        }
    }

    public func setWord(_ command: UInt8, _ value: UInt16) { self[command] = .word(value) }
    public func setBlock(_ command: UInt8, _ bytes: [UInt8]) { self[command] = .block(bytes) }

    /// One combined transaction. Supported: quick probe (nothing written or read), command
    /// byte then read (read-word / block-read), write-word with optional PEC.
    public func transfer(write: [UInt8], readCount: Int) -> I2CModelResponse {
        precondition(readCount >= 0)
        switch write.count {
        case 0:
            return .ack([UInt8](repeating: 0xFF, count: readCount))
        case 1:
            guard let value = values[Int(write[0])] else { return .nack }
            command = write[0]
            return .ack(readBytes(command: write[0], value: value, count: readCount))
        case 3, 4:
            let word = UInt16(write[1]) | UInt16(write[2]) << 8
            if write.count == 4, pecEnabled, smbusPEC([address << 1] + write[0...2]) != write[3] {
                return .nack
            }
            guard onWriteWord?(write[0], word) ?? false else { return .nack }
            command = write[0]
            return .ack([UInt8](repeating: 0xFF, count: readCount))
        default:
            return .nack
        }
    }

    private func readBytes(command: UInt8, value: Value, count: Int) -> [UInt8] {
        var data: [UInt8]
        switch value {
        case .word(let word): data = [UInt8(word & 0xFF), UInt8(word >> 8)]
        case .block(let bytes): data = [UInt8(bytes.count)] + bytes
        }
        if pecEnabled {
            let pec = smbusPEC([address << 1, command, address << 1 | 1] + data)
            data.append(corruptPEC ? ~pec : pec)
        }
        if data.count >= count { return Array(data.prefix(count)) }
        return data + [UInt8](repeating: 0xFF, count: count - data.count)
    }
}
