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
