import CLinux
import PlumbCore
import PlumbHAL

/// An I2C bus through Linux i2c-dev: transfers with I2C_RDWR (repeated start, one STOP),
/// probes with libi2c's SMBus helpers.
public final class LinuxI2CBus: I2CBus {
    public let path: String
    public let clockHz: UInt32
    private var fd: Int32

    /// Opens `path` (e.g. /dev/i2c-1). A missing device is a typed error with the errno,
    /// never a crash.
    public init(path: String, clockHz: UInt32) throws(I2CError) {
        self.path = path
        self.clockHz = clockHz
        let r = path.withCString { plumb_open($0, O_RDWR) }
        if r < 0 { throw I2CError.openFailed(path: path, errno: -r) }
        fd = r
    }

    deinit { if fd >= 0 { _ = plumb_close(fd) } }

    public func close() {
        if fd >= 0 { _ = plumb_close(fd) }
        fd = -1
    }

    static func classify(_ errno: Int32, address: UInt8) -> I2CError {
        switch errno {
        case ENXIO, EREMOTEIO: return .nack(address: address)
        case ETIMEDOUT, EAGAIN: return .timeout(address: address)
        default: return .busError(address: address, errno: errno)
        }
    }

    public func transfer(address: UInt8, write: UnsafeRawBufferPointer,
                         read: UnsafeMutableRawBufferPointer) throws(I2CError) {
        guard fd >= 0 else { throw I2CError.closed }
        // The i2c_msg length field is 16 bits; adapters limit far below that anyway.
        guard write.count <= 4096, read.count <= 4096 else {
            throw I2CError.invalidLength(max(write.count, read.count))
        }
        let r = plumb_i2c_rdwr(fd, UInt32(address),
                               write.baseAddress?.assumingMemoryBound(to: UInt8.self), UInt32(write.count),
                               read.baseAddress?.assumingMemoryBound(to: UInt8.self), UInt32(read.count))
        if r < 0 { throw LinuxI2CBus.classify(-r, address: address) }
    }

    public func probe(address: UInt8) throws(I2CError) {
        guard fd >= 0 else { throw I2CError.closed }
        let r = plumb_i2c_probe(fd, UInt32(address))
        if r < 0 { throw LinuxI2CBus.classify(-r, address: address) }
    }
}

/// A message for an I2C error that a field crew can act on.
public func describe(_ error: I2CError) -> String {
    switch error {
    case .openFailed(let path, let e):
        var hint = ""
        if e == ENOENT { hint = " (is the bus enabled, e.g. dtparam=i2c_arm=on, and the i2c-dev module loaded?)" }
        if e == EACCES { hint = " (is the user in the i2c group?)" }
        return "cannot open \(path): \(errnoMessage(e))\(hint)"
    case .nack(let a): return "no acknowledge from \(formatHex(a))"
    case .timeout(let a): return "bus timeout talking to \(formatHex(a)) (stuck bus?)"
    case .busError(let a, let e): return "bus error talking to \(formatHex(a)): \(errnoMessage(e))"
    case .invalidLength(let n): return "transfer length \(n) not supported"
    case .pecMismatch(let a, let x, let g):
        return "packet error code mismatch from \(formatHex(a)) (expected \(formatHex(x)), got \(formatHex(g)))"
    case .badBlockCount(let a, let n): return "block read from \(formatHex(a)) reported \(n) bytes"
    case .inconsistent(let a, let r): return "two reads of register \(formatHex(r)) of \(formatHex(a)) disagreed (noise on the bus?)"
    case .closed: return "bus is closed"
    }
}
