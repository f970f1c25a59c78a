import CLinux

/// Log lines on stderr, each prefixed with its syslog priority in the form journald
/// reads (`<3>` error … `<7>` debug), so `journalctl -p warning` filters them when the
/// daemon runs under systemd.
public struct Log {
    public enum Level: Int32, Comparable {
        case error = 3, warning = 4, notice = 5, info = 6, debug = 7

        public static func < (a: Level, b: Level) -> Bool { a.rawValue < b.rawValue }

        public init?(name: String) {
            switch name {
            case "error": self = .error
            case "warning": self = .warning
            case "notice": self = .notice
            case "info": self = .info
            case "debug": self = .debug
            default: return nil
            }
        }
    }

    public var level: Level
    /// Where lines go; 2 (stderr) except in tests.
    public var fd: Int32

    public init(level: Level = .info, fd: Int32 = 2) {
        self.level = level
        self.fd = fd
    }

    public func error(_ message: String) { emit(.error, message) }
    public func warning(_ message: String) { emit(.warning, message) }
    public func notice(_ message: String) { emit(.notice, message) }
    public func info(_ message: String) { emit(.info, message) }
    public func debug(_ message: String) { emit(.debug, message) }

    public func emit(_ priority: Level, _ message: String) {
        guard priority <= level else { return }
        writeAll(fd: fd, "<\(priority.rawValue)>" + message + "\n")
    }

    /// One line built in place from static text and numbers, without allocating: for lines
    /// the daemon writes in steady flight (string interpolation allocates). Lines longer
    /// than `LogLine.capacity` bytes are cut.
    public func line(_ priority: Level, _ build: (inout LogLine) -> Void) {
        guard priority <= level else { return }
        var l = LogLine(storage: LogLine.shared)
        l.byte(0x3C)
        l.int(priority.rawValue)
        l.byte(0x3E)
        build(&l)
        l.byte(0x0A, force: true)
        var done = 0
        var attempts = 0
        while done < l.count && attempts < 64 {
            attempts += 1
            let n = plumb_write(fd, l.storage + done, UInt(l.count - done))
            if n > 0 { done += Int(n) } else if n != -Int(EINTR) && n != -Int(EAGAIN) { return }
        }
    }
}

/// A log line under construction in a buffer allocated once (the daemon is single-threaded).
public struct LogLine {
    public static let capacity = 512
    nonisolated(unsafe) static let shared: UnsafeMutablePointer<UInt8> = {
        let p = UnsafeMutablePointer<UInt8>.allocate(capacity: LogLine.capacity)
        p.initialize(repeating: 0, count: LogLine.capacity)
        return p
    }()
    let storage: UnsafeMutablePointer<UInt8>
    public private(set) var count = 0

    init(storage: UnsafeMutablePointer<UInt8>) { self.storage = storage }

    mutating func byte(_ b: UInt8, force: Bool = false) {
        if count < LogLine.capacity - 1 || (force && count < LogLine.capacity) {
            storage[count] = b
            count += 1
        }
    }

    public mutating func text(_ s: StaticString) {
        let p = s.utf8Start
        for i in 0..<s.utf8CodeUnitCount { byte(p[i]) }
    }

    public mutating func int<T: BinaryInteger>(_ v: T) {
        // Sign-extended, then negated with wrap-around: the magnitude, even of the minimum.
        var digits: (UInt64, Bool) = v < 0 ? (0 &- UInt64(truncatingIfNeeded: v), true)
                                           : (UInt64(truncatingIfNeeded: v), false)
        if digits.1 { byte(0x2D) }
        var tmp: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                  UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var n = 0
        withUnsafeMutableBytes(of: &tmp) { t in
            repeat {
                t[n] = UInt8(48 + digits.0 % 10)
                digits.0 /= 10
                n += 1
            } while digits.0 > 0 && n < 20
            while n > 0 {
                n -= 1
                byte(t[n])
            }
        }
    }

    /// A number with `decimals` digits after the point (0…6), rounded.
    public mutating func fixed(_ v: Double, decimals: Int) {
        guard v.isFinite else { text("nan"); return }
        let d = max(0, min(6, decimals))
        var scale = 1.0
        for _ in 0..<d { scale *= 10 }
        let scaled = (abs(v) * scale).rounded()
        guard scaled < 9e18 else { text("big"); return }
        let whole = UInt64(scaled)
        let s = UInt64(scale)
        if v < 0 && whole > 0 { byte(0x2D) }
        int(whole / s)
        if d > 0 {
            byte(0x2E)
            var frac = whole % s
            var div = s / 10
            while div > 0 {
                byte(UInt8(48 + frac / div))
                frac %= div
                div /= 10
            }
        }
    }
}

/// Writes the whole string to `fd`, retrying short writes (bounded).
public func writeAll(fd: Int32, _ text: String) {
    var copy = text
    copy.withUTF8 { buf in
        guard let base = buf.baseAddress else { return }
        var done = 0
        var attempts = 0
        while done < buf.count && attempts < 64 {
            attempts += 1
            let n = plumb_write(fd, base + done, UInt(buf.count - done))
            if n > 0 { done += Int(n) } else if n != -Int(EINTR) && n != -Int(EAGAIN) { return }
        }
    }
}

/// Writes to stdout.
public func printOut(_ text: String) { writeAll(fd: 1, text + "\n") }
