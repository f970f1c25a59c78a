import CLinux
import PlumbHAL

/// CLOCK_MONOTONIC.
public struct LinuxClock: MonotonicClock {
    public init() {}
    public func nowNs() -> UInt64 { plumb_monotonic_ns() }
}

/// A fixed-rate ticker on a timerfd. The kernel counts expirations, so a late loop
/// learns exactly how many periods it missed; they are counted, never hidden.
public final class TimerfdTicker: Ticker {
    public let periodNs: UInt64
    public let fd: Int32
    public private(set) var accounting: TickAccounting
    /// When the timer was armed (monotonic ns): period k ends at armedAtNs + k × periodNs.
    public let armedAtNs: UInt64

    public init(periodNs: UInt64, budgetNs: UInt64) throws(TickerError) {
        self.periodNs = periodNs
        accounting = TickAccounting(budgetNs: budgetNs)
        let r = plumb_timerfd_create()
        if r < 0 { throw TickerError.createFailed(errno: -r) }
        fd = r
        armedAtNs = LinuxClock().nowNs()
        let a = plumb_timerfd_arm(fd, periodNs, periodNs)
        if a < 0 {
            _ = plumb_close(fd)
            throw TickerError.createFailed(errno: -a)
        }
    }

    deinit { _ = plumb_close(fd) }

    /// Non-blocking: the periods elapsed since the last call (0 when the timer has not
    /// fired). Use after the event loop reports the fd readable.
    public func acknowledge() throws(TickerError) -> UInt64 {
        var count: UInt64 = 0
        let n = withUnsafeMutableBytes(of: &count) { plumb_read(fd, $0.baseAddress, 8) }
        if n == -Int(EAGAIN) { return 0 }
        if n < 0 { throw TickerError.waitFailed(errno: Int32(-n)) }
        accounting.recordWake(expirations: count)
        return count
    }

    public func waitTick() throws(TickerError) -> UInt64 {
        var attempts = 0
        while attempts < 1000 {
            attempts += 1
            var p = pollfd(fd: fd, events: plumb_pollin(), revents: 0)
            let r = plumb_ppoll(&p, 1, -1)
            if r < 0 && r != -EINTR { throw TickerError.waitFailed(errno: -r) }
            let n = try acknowledge()
            if n > 0 { return n }
        }
        throw TickerError.waitFailed(errno: EINTR)
    }

    public func recordWork(ns: UInt64) { accounting.recordWork(ns: ns) }
}

/// Best-effort real-time set-up. Each step that the system refuses is reported, and the
/// daemon runs on without it.
public struct RealtimeReport {
    public var fifoGranted: Bool
    public var fifoErrno: Int32
    public var memoryLocked: Bool
    public var lockErrno: Int32
}

public func applyRealtime(fifoPriority: Int32?, lockMemory: Bool) -> RealtimeReport {
    var report = RealtimeReport(fifoGranted: false, fifoErrno: 0, memoryLocked: false, lockErrno: 0)
    if let p = fifoPriority {
        let r = plumb_sched_fifo(p)
        report.fifoGranted = r == 0
        report.fifoErrno = r < 0 ? -r : 0
    }
    if lockMemory {
        let r = plumb_mlockall()
        report.memoryLocked = r == 0
        report.lockErrno = r < 0 ? -r : 0
    }
    return report
}
