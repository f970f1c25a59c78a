/// A monotonic clock in nanoseconds. Sans-I/O code never reads one: it is given `now`.
public protocol MonotonicClock {
    func nowNs() -> UInt64
}

public enum TickerError: Error, Equatable {
    case createFailed(errno: Int32)
    case waitFailed(errno: Int32)
}

/// A fixed-rate tick source.
public protocol Ticker: AnyObject {
    var periodNs: UInt64 { get }
    /// Blocks until the next tick; returns the number of periods that elapsed since the
    /// previous call (1 when on time, more when ticks were missed).
    func waitTick() throws(TickerError) -> UInt64
    var accounting: TickAccounting { get }
}

/// Counts ticks and overruns. Two kinds of overrun are kept apart:
/// - `missedTicks`: periods that passed without the loop running (the loop was late);
/// - `budgetOverruns`: ticks whose work took longer than the budget.
/// Nothing is hidden: both are reported in the daemon's log and its summary on exit.
public struct TickAccounting: Equatable {
    public private(set) var ticks: UInt64 = 0
    public private(set) var missedTicks: UInt64 = 0
    public private(set) var budgetOverruns: UInt64 = 0
    public private(set) var worstWorkNs: UInt64 = 0
    public let budgetNs: UInt64

    public init(budgetNs: UInt64) { self.budgetNs = budgetNs }

    /// Records a wake-up that reported `expirations` elapsed periods.
    public mutating func recordWake(expirations: UInt64) {
        guard expirations > 0 else { return }
        ticks &+= 1
        missedTicks &+= expirations - 1
    }

    /// Records how long one tick's work took.
    public mutating func recordWork(ns: UInt64) {
        if ns > worstWorkNs { worstWorkNs = ns }
        if ns > budgetNs { budgetOverruns &+= 1 }
    }

    /// Overruns of either kind.
    public var overruns: UInt64 { missedTicks &+ budgetOverruns }
}
