import CLinux

/// Tells systemd how the daemon is doing (Type=notify): READY once outputs are safe and
/// the loop is about to run, WATCHDOG from the control loop itself (so a stuck loop gets
/// the daemon restarted), STOPPING on the way out. Without $NOTIFY_SOCKET it does nothing.
public struct ServiceNotifier {
    /// How often to pet the watchdog, in ticks (0: no watchdog requested).
    public private(set) var watchdogEveryTicks: UInt64 = 0

    public init(tickPeriodNs: UInt64) {
        let usec = plumb_sd_watchdog_usec()
        if usec > 0 && tickPeriodNs > 0 {
            // Twice per interval, as systemd advises.
            watchdogEveryTicks = max(1, usec * 1000 / 2 / tickPeriodNs)
        }
    }

    @discardableResult
    public func send(_ message: String) -> Bool {
        message.withCString { plumb_sd_notify($0) } == 0
    }

    public func ready(status: String) { send("READY=1\nSTATUS=" + status) }
    public func stopping(status: String) { send("STOPPING=1\nSTATUS=" + status) }

    public func tick(_ n: UInt64) {
        if watchdogEveryTicks > 0 && n % watchdogEveryTicks == 0 { send("WATCHDOG=1") }
    }
}
