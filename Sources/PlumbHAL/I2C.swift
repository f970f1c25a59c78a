import PlumbCore

/// What can go wrong on an I2C bus. Operating errors, never asserted: a driver turns
/// them into a health state and the mission decides what to do.
public enum I2CError: Error, Equatable {
    /// The bus device could not be opened (errno).
    case openFailed(path: String, errno: Int32)
    /// No device acknowledged its address (ENXIO/EREMOTEIO from the adapter).
    case nack(address: UInt8)
    /// The adapter timed out (clock stretching past its limit, or a stuck bus).
    case timeout(address: UInt8)
    /// Any other error from the adapter (errno).
    case busError(address: UInt8, errno: Int32)
    /// A transfer longer than the adapter or the protocol allows.
    case invalidLength(Int)
    /// An SMBus Packet Error Code did not match the data.
    case pecMismatch(address: UInt8, expected: UInt8, received: UInt8)
    /// An SMBus block read reported a byte count larger than the buffer or than 32.
    case badBlockCount(address: UInt8, count: Int)
    /// Two reads of a register that cannot change disagreed (noise on the bus).
    case inconsistent(address: UInt8, register: UInt8)
    /// The bus was closed.
    case closed
}

/// One I2C bus, shared by every driver on it (hence a class: one bus, many users).
///
/// The single primitive is a combined transfer: an optional write and an optional read
/// to one address, with a repeated start between them and a single STOP, which is what
/// register reads on every supported chip need. Everything else is built on it.
public protocol I2CBus: AnyObject {
    /// Writes `write` (may be empty) then reads `read.count` bytes (may be zero).
    func transfer(address: UInt8, write: UnsafeRawBufferPointer,
                  read: UnsafeMutableRawBufferPointer) throws(I2CError)

    /// Checks that something acknowledges `address`, without changing its state.
    func probe(address: UInt8) throws(I2CError)

    /// Bus clock in Hz, used to budget bus time per tick.
    var clockHz: UInt32 { get }
}

/// SMBus Packet Error Code over an SMBus read: address+W, command, address+R, data.
@inlinable
public func smbusReadPEC(address: UInt8, command: UInt8, data: UnsafeRawBufferPointer) -> UInt8 {
    var crc = CRC8SMBus()
    crc.update(address << 1)
    crc.update(command)
    crc.update(address << 1 | 1)
    crc.update(data)
    return crc.value
}

extension I2CBus {
    public func write(address: UInt8, _ bytes: UnsafeRawBufferPointer) throws(I2CError) {
        try transfer(address: address, write: bytes, read: UnsafeMutableRawBufferPointer(start: nil, count: 0))
    }

    public func read(address: UInt8, into buffer: UnsafeMutableRawBufferPointer) throws(I2CError) {
        try transfer(address: address, write: UnsafeRawBufferPointer(start: nil, count: 0), read: buffer)
    }

    /// Writes one byte to an 8-bit register.
    public func writeRegister(address: UInt8, _ register: UInt8, _ value: UInt8) throws(I2CError) {
        var pair: (UInt8, UInt8) = (register, value)
        try withUnsafeBytes(of: &pair) { (raw: UnsafeRawBufferPointer) throws(I2CError) in
            try write(address: address, raw)
        }
    }

    /// Reads `buffer.count` bytes starting at `register` (repeated start, auto-increment
    /// where the chip has it).
    public func readRegisters(address: UInt8, _ register: UInt8, into buffer: UnsafeMutableRawBufferPointer) throws(I2CError) {
        var reg = register
        try withUnsafeBytes(of: &reg) { (raw: UnsafeRawBufferPointer) throws(I2CError) in
            try transfer(address: address, write: raw, read: buffer)
        }
    }

    public func readRegister(address: UInt8, _ register: UInt8) throws(I2CError) -> UInt8 {
        var value: UInt8 = 0
        try withUnsafeMutableBytes(of: &value) { (raw: UnsafeMutableRawBufferPointer) throws(I2CError) in
            try readRegisters(address: address, register, into: raw)
        }
        return value
    }

    /// SMBus read-word: little-endian 16-bit value. With `pec`, a third byte is read and
    /// checked against the CRC-8 of the whole transaction.
    public func smbusReadWord(address: UInt8, command: UInt8, pec: Bool) throws(I2CError) -> UInt16 {
        var bytes: (UInt8, UInt8, UInt8) = (0, 0, 0)
        try withUnsafeMutableBytes(of: &bytes) { (raw: UnsafeMutableRawBufferPointer) throws(I2CError) in
            let n = pec ? 3 : 2
            try readRegisters(address: address, command, into: UnsafeMutableRawBufferPointer(rebasing: raw[0..<n]))
            if pec {
                let expected = smbusReadPEC(address: address, command: command,
                                            data: UnsafeRawBufferPointer(rebasing: raw[0..<2]))
                if expected != raw[2] {
                    throw I2CError.pecMismatch(address: address, expected: expected, received: raw[2])
                }
            }
        }
        return UInt16(bytes.0) | UInt16(bytes.1) << 8
    }

    /// SMBus block read into `buffer` (at most 32 bytes); returns the byte count.
    ///
    /// Read as one fixed-length transfer of count + 32 data bytes (+ PEC), because several
    /// common adapters (the Raspberry Pi's among them) cannot do variable-length reads.
    /// `scratch` must hold at least 34 bytes; callers own it so a poll allocates nothing.
    public func smbusReadBlock(address: UInt8, command: UInt8, pec: Bool,
                               scratch: UnsafeMutableRawBufferPointer,
                               into buffer: UnsafeMutableRawBufferPointer) throws(I2CError) -> Int {
        guard scratch.count >= 34 else { throw I2CError.invalidLength(scratch.count) }
        let total = 1 + 32 + (pec ? 1 : 0)
        try readRegisters(address: address, command, into: UnsafeMutableRawBufferPointer(rebasing: scratch[0..<total]))
        let count = Int(scratch[0])
        guard count <= 32, count <= buffer.count else {
            throw I2CError.badBlockCount(address: address, count: count)
        }
        if pec {
            let expected = smbusReadPEC(address: address, command: command,
                                        data: UnsafeRawBufferPointer(rebasing: scratch[0..<(1 + count)]))
            let received = scratch[1 + count]
            if expected != received {
                throw I2CError.pecMismatch(address: address, expected: expected, received: received)
            }
        }
        for i in 0..<count { buffer[i] = scratch[1 + i] }
        return count
    }
}

/// Bus time of one transfer, for budgeting: start, address byte, data bytes, a repeated
/// start and address when both halves are present, each byte 9 clocks.
public func i2cTransferTimeNs(clockHz: UInt32, writeBytes: Int, readBytes: Int) -> UInt64 {
    guard clockHz > 0 else { return 0 }
    var bytes = writeBytes + readBytes
    if writeBytes > 0 { bytes += 1 }
    if readBytes > 0 { bytes += 1 }
    let clocks = UInt64(bytes * 9 + 2)
    return clocks * 1_000_000_000 / UInt64(clockHz)
}

extension I2CBus {
    /// Reads `count` bytes from `register` into the front of `buffer` (which the caller
    /// owns and sized at start-up, so a poll allocates nothing).
    public func readRegisters(address: UInt8, _ register: UInt8, into buffer: inout [UInt8], count: Int) throws(I2CError) {
        guard count <= buffer.count else { throw I2CError.invalidLength(count) }
        var failure: I2CError? = nil
        buffer.withUnsafeMutableBytes { raw in
            do throws(I2CError) {
                try readRegisters(address: address, register, into: UnsafeMutableRawBufferPointer(rebasing: raw[0..<count]))
            } catch {
                failure = error
            }
        }
        if let failure { throw failure }
    }

    /// Writes the first `count` bytes of `buffer`.
    public func write(address: UInt8, _ buffer: [UInt8], count: Int) throws(I2CError) {
        guard count <= buffer.count else { throw I2CError.invalidLength(count) }
        var failure: I2CError? = nil
        buffer.withUnsafeBytes { raw in
            do throws(I2CError) {
                try write(address: address, UnsafeRawBufferPointer(rebasing: raw[0..<count]))
            } catch {
                failure = error
            }
        }
        if let failure { throw failure }
    }
}
