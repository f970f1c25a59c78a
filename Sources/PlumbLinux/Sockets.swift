import CLinux
import PlumbHAL

/// A non-blocking IPv4 UDP socket.
public final class UDPSocket: DatagramEndpoint {
    public let fd: Int32

    public init(bind address: NetAddress) throws(IOError) {
        let r = plumb_udp_open(plumb_htonl(address.host), address.port)
        if r < 0 { throw IOError.openFailed(what: "udp \(address.description)", errno: -r) }
        fd = r
    }

    deinit { _ = plumb_close(fd) }

    /// The bound port (useful after binding port 0).
    public var localPort: UInt16 {
        let p = plumb_udp_local_port(fd)
        return p < 0 ? 0 : UInt16(p)
    }

    public func send(_ bytes: UnsafeRawBufferPointer, to: NetAddress) throws(IOError) {
        let n = plumb_udp_send(fd, bytes.baseAddress, UInt(bytes.count), plumb_htonl(to.host), to.port)
        if n < 0 { throw IOError.writeFailed(errno: Int32(-n)) }
    }

    public func receive(into buffer: UnsafeMutableRawBufferPointer) throws(IOError) -> (count: Int, from: NetAddress)? {
        var host: UInt32 = 0
        var port: UInt16 = 0
        let n = plumb_udp_recv(fd, buffer.baseAddress, UInt(buffer.count), &host, &port)
        if n == -Int(EMSGSIZE) { throw IOError.truncated }
        if n < 0 { throw IOError.readFailed(errno: Int32(-n)) }
        if n == 0 && port == 0 { return nil }
        return (Int(n), NetAddress(host: plumb_htonl(host), port: port))
    }

    /// One waiting datagram into `buffer`: its length and sender, `.skipped` for one that
    /// could not be read (too long, an error), or `.none` when nothing waits.
    public enum Received { case datagram(count: Int, from: NetAddress), skipped, none }

    public func receive(into buffer: inout [UInt8]) -> Received {
        var got: (count: Int, from: NetAddress)? = nil
        var failed = false
        buffer.withUnsafeMutableBytes { b in
            do throws(IOError) {
                got = try receive(into: b)
            } catch {
                failed = true
            }
        }
        if failed { return .skipped }
        guard let (count, from) = got else { return .none }
        return .datagram(count: count, from: from)
    }
}

/// Non-blocking write: the count written (0 when the driver takes nothing now).
func writeSome(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) throws(IOError) -> Int {
    let n = plumb_write(fd, bytes.baseAddress, UInt(bytes.count))
    if n == -Int(EAGAIN) { return 0 }
    if n < 0 { throw IOError.writeFailed(errno: Int32(-n)) }
    return Int(n)
}

/// Non-blocking read: the count read (0 when nothing is waiting, or `idleErrno`).
func readSome(_ fd: Int32, _ buffer: UnsafeMutableRawBufferPointer, idleErrno: Int32 = EAGAIN) throws(IOError) -> Int {
    let n = plumb_read(fd, buffer.baseAddress, UInt(buffer.count))
    if n == -Int(EAGAIN) || n == -Int(idleErrno) { return 0 }
    if n < 0 { throw IOError.readFailed(errno: Int32(-n)) }
    return Int(n)
}

/// A serial port through termios: raw, 8N1, non-blocking.
public final class LinuxSerialPort: SerialPort {
    public let fd: Int32
    public let path: String

    public init(path: String, baud: UInt32) throws(IOError) {
        self.path = path
        let r = path.withCString { plumb_serial_open($0, baud) }
        if r < 0 { throw IOError.openFailed(what: path, errno: -r) }
        fd = r
    }

    deinit { _ = plumb_close(fd) }

    public func write(_ bytes: UnsafeRawBufferPointer) throws(IOError) -> Int { try writeSome(fd, bytes) }

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws(IOError) -> Int { try readSome(fd, buffer) }
}

public func describe(_ error: IOError) -> String {
    switch error {
    case .openFailed(let what, let e): return "cannot open \(what): \(errnoMessage(e))"
    case .readFailed(let e): return "read failed: \(errnoMessage(e))"
    case .writeFailed(let e): return "write failed: \(errnoMessage(e))"
    case .truncated: return "datagram larger than the receive buffer (dropped)"
    case .closed: return "closed"
    }
}

/// The master side of a pseudo-terminal: the HIL (and tests) stand in for a serial radio
/// or an autopilot's UART with it; the daemon opens `slavePath` as its serial port.
public final class PseudoTerminal: SerialPort {
    public let fd: Int32
    public let slavePath: String

    public init() throws(IOError) {
        var name = [CChar](repeating: 0, count: 128)
        let r = name.withUnsafeMutableBufferPointer { plumb_open_pty($0.baseAddress, 128) }
        if r < 0 { throw IOError.openFailed(what: "pseudo-terminal", errno: -r) }
        fd = r
        slavePath = String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    deinit { _ = plumb_close(fd) }

    public func write(_ bytes: UnsafeRawBufferPointer) throws(IOError) -> Int { try writeSome(fd, bytes) }

    /// EIO means the slave side is not open (yet): nothing to read.
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws(IOError) -> Int {
        try readSome(fd, buffer, idleErrno: EIO)
    }
}
