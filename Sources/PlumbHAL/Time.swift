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

/// How late each tick's wake-up was against the timer's schedule: a fixed histogram
/// (1 µs buckets up to 20 ms, then one overflow bucket), allocated once, nothing per tick.
public struct WakeLatency {
    public static var bucketNs: UInt64 { 1_000 }
    public static var buckets: Int { 20_000 }
    private var counts: [UInt32]
    public private(set) var samples: UInt64 = 0
    public private(set) var overflow: UInt64 = 0
    public private(set) var maxNs: UInt64 = 0

    public init() { counts = [UInt32](repeating: 0, count: WakeLatency.buckets) }

    /// `wakeNs` is when the tick started, `dueNs` when its period ended.
    public mutating func record(wakeNs: UInt64, dueNs: UInt64) {
        let late = wakeNs > dueNs ? wakeNs - dueNs : 0
        samples &+= 1
        if late > maxNs { maxNs = late }
        let i = late / WakeLatency.bucketNs
        if i < UInt64(counts.count) { counts[Int(i)] &+= 1 } else { overflow &+= 1 }
    }

    /// The latency below which `fraction` of the samples fall (bucket upper edge), ns.
    public func percentileNs(_ fraction: Double) -> UInt64 {
        guard samples > 0 else { return 0 }
        let want = UInt64((Double(samples) * fraction).rounded(.up))
        var seen: UInt64 = 0
        for i in 0..<counts.count {
            seen &+= UInt64(counts[i])
            if seen >= want { return UInt64(i + 1) * WakeLatency.bucketNs }
        }
        return maxNs
    }
}
