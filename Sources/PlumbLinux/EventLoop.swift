import CLinux
import PlumbHAL

/// The daemon's only wait: one `ppoll` over a fixed set of descriptors (ticker, signals,
/// GPIO edge fds, sockets, serial ports). The capacity is fixed at creation; nothing is
/// allocated while running.
public final class EventLoop {
    public static let maxSources = 64
    private var fds: [pollfd]
    public private(set) var count = 0

    public init(capacity: Int = 16) {
        let n = max(1, min(capacity, EventLoop.maxSources))
        fds = [pollfd](repeating: pollfd(fd: -1, events: 0, revents: 0), count: n)
    }

    /// Adds a descriptor to watch for input; returns its token (index), or nil when full.
    public func add(fd: Int32) -> Int? {
        guard count < fds.count, fd >= 0 else { return nil }
        fds[count] = pollfd(fd: fd, events: plumb_pollin(), revents: 0)
        count += 1
        return count - 1
    }

    /// Waits up to `timeoutNs` (negative: forever). Returns a bit set of the tokens that
    /// are readable or in error; 0 on timeout or when a signal interrupted the wait.
    public func wait(timeoutNs: Int64) throws(IOError) -> UInt64 {
        let r = fds.withUnsafeMutableBufferPointer { plumb_ppoll($0.baseAddress, UInt32(count), timeoutNs) }
        if r == -EINTR { return 0 }
        if r < 0 { throw IOError.readFailed(errno: -r) }
        var ready: UInt64 = 0
        for i in 0..<count where fds[i].revents != 0 {
            ready |= 1 << UInt64(i)
        }
        return ready
    }
}

/// Termination and reload requests, delivered through a signalfd so they are handled
/// inside the loop at a tick boundary, never in a signal handler.
public enum SignalRequest: Equatable {
    case terminate   // SIGTERM
    case interrupt   // SIGINT
    case reload      // SIGHUP
}

public final class SignalSource {
    public let fd: Int32

    /// Blocks SIGTERM, SIGINT and SIGHUP for the calling thread (and threads it creates)
    /// and opens a signalfd for them.
    public init() throws(IOError) {
        let r = plumb_signalfd_standard()
        if r < 0 { throw IOError.openFailed(what: "signalfd", errno: -r) }
        fd = r
    }

    deinit { _ = plumb_close(fd) }

    /// The next pending request, or nil.
    public func next() throws(IOError) -> SignalRequest? {
        let s = plumb_signalfd_read(fd)
        if s < 0 { throw IOError.readFailed(errno: -s) }
        if s == plumb_sigterm() { return .terminate }
        if s == plumb_sigint() { return .interrupt }
        if s == plumb_sighup() { return .reload }
        return nil
    }
}
