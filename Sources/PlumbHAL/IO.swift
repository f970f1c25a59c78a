/// Errors of byte-stream and datagram endpoints (errno-carrying).
public enum IOError: Error, Equatable {
    case openFailed(what: String, errno: Int32)
    case readFailed(errno: Int32)
    case writeFailed(errno: Int32)
    /// A datagram larger than the receive buffer arrived; it was dropped.
    case truncated
    case closed
}

/// An IPv4 address and port. `host` is in host byte order (127.0.0.1 = 0x7F000001).
public struct NetAddress: Equatable, Hashable {
    public var host: UInt32
    public var port: UInt16
    public init(host: UInt32, port: UInt16) {
        self.host = host
        self.port = port
    }

    public static let loopback: UInt32 = 0x7F00_0001
    public static let any: UInt32 = 0

    /// Parses "a.b.c.d:port" (port required) or "a.b.c.d" with `defaultPort`.
    public static func parse(_ text: String, defaultPort: UInt16? = nil) -> NetAddress? {
        var octets: [UInt32] = []
        var current: UInt32 = 0
        var digits = 0
        var port: UInt32? = nil
        var inPort = false
        for b in text.utf8 {
            if b >= 0x30 && b <= 0x39 {
                current = current * 10 + UInt32(b - 0x30)
                digits += 1
                if digits > 5 || (!inPort && current > 255) || current > 65535 { return nil }
            } else if b == UInt8(ascii: ".") && !inPort {
                guard digits > 0, octets.count < 3 else { return nil }
                octets.append(current); current = 0; digits = 0
            } else if b == UInt8(ascii: ":") && !inPort {
                guard digits > 0, octets.count == 3 else { return nil }
                octets.append(current); current = 0; digits = 0
                inPort = true
            } else {
                return nil
            }
        }
        guard digits > 0 else { return nil }
        if inPort {
            port = current
        } else {
            guard octets.count == 3 else { return nil }
            octets.append(current)
        }
        guard octets.count == 4 else { return nil }
        guard let p = port ?? defaultPort.map({ UInt32($0) }) else { return nil }
        let host = octets[0] << 24 | octets[1] << 16 | octets[2] << 8 | octets[3]
        return NetAddress(host: host, port: UInt16(p))
    }

    public var description: String {
        "\(host >> 24).\((host >> 16) & 255).\((host >> 8) & 255).\(host & 255):\(port)"
    }
}

/// A UDP endpoint. Non-blocking: the event loop says when to receive.
public protocol DatagramEndpoint: AnyObject {
    func send(_ bytes: UnsafeRawBufferPointer, to: NetAddress) throws(IOError)
    /// One waiting datagram into `buffer`: its length and sender, or nil when none.
    func receive(into buffer: UnsafeMutableRawBufferPointer) throws(IOError) -> (count: Int, from: NetAddress)?
}

/// A serial port (raw, 8N1). Non-blocking.
public protocol SerialPort: AnyObject {
    /// Writes what the driver accepts now; returns the count written.
    func write(_ bytes: UnsafeRawBufferPointer) throws(IOError) -> Int
    /// Reads what is waiting (0 when nothing).
    func read(into buffer: UnsafeMutableRawBufferPointer) throws(IOError) -> Int
}
