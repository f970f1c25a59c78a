import PlumbCore

// The config file says how to fly: the control loop, real-time behaviour and logging
// now; gains, speeds, heights and reserves as the flight capabilities land. Every key
// is documented in docs/config.md; the shipped defaults are Board/plumbd.toml.

public struct LoopConfig: Equatable {
    /// Control loop rate, 10...1000 Hz (default 100).
    public var rateHz: Int = 100
    /// Work budget of one tick in microseconds; a tick that takes longer is counted as
    /// an overrun. Must not exceed the period. Default: half the period.
    public var tickBudgetUs: Int = 5000
    /// I2C bus time that the drivers may schedule in one tick, in microseconds.
    public var busBudgetUs: Int = 4000

    public var periodNs: UInt64 { 1_000_000_000 / UInt64(rateHz) }
}

public struct RealtimeConfig: Equatable {
    /// Ask for SCHED_FIFO at `priority` (1...99); refused without CAP_SYS_NICE, which is logged.
    public var schedFifo: Bool = true
    public var priority: Int = 50
    /// mlockall so that no page fault stalls a tick.
    public var lockMemory: Bool = true
}

public struct PlumbConfig: Equatable {
    /// Board name or path; the `--board` option overrides it.
    public var board: String? = nil
    public var loop = LoopConfig()
    public var realtime = RealtimeConfig()
    /// error, warning, notice, info or debug.
    public var logLevel: String = "info"

    public init() {}

    /// Reads and validates a config document; nil (with diagnostics in `r`) on any error.
    public static func read(_ r: inout ConfigReader) -> PlumbConfig? {
        var c = PlumbConfig()
        c.board = r.string("board", default: "", maxLength: 256).flatMap { $0.isEmpty ? nil : $0 }
        c.loop.rateHz = r.int("loop.rate_hz", in: 10...1000, default: 100) ?? 100
        let periodUs = 1_000_000 / c.loop.rateHz
        c.loop.tickBudgetUs = r.int("loop.tick_budget_us", in: 50...100_000, default: periodUs / 2) ?? periodUs / 2
        if c.loop.tickBudgetUs > periodUs {
            r.error("loop.tick_budget_us", "'loop.tick_budget_us' = \(c.loop.tickBudgetUs) is longer than the tick period (\(periodUs) us at \(c.loop.rateHz) Hz)")
        }
        c.loop.busBudgetUs = r.int("loop.bus_budget_us", in: 100...100_000, default: min(4000, periodUs * 4 / 10)) ?? 4000
        if c.loop.busBudgetUs > periodUs {
            r.error("loop.bus_budget_us", "'loop.bus_budget_us' = \(c.loop.busBudgetUs) is longer than the tick period (\(periodUs) us at \(c.loop.rateHz) Hz)")
        }
        c.realtime.schedFifo = r.bool("realtime.sched_fifo", default: true) ?? true
        c.realtime.priority = r.int("realtime.priority", in: 1...99, default: 50) ?? 50
        c.realtime.lockMemory = r.bool("realtime.lock_memory", default: true) ?? true
        c.logLevel = r.choice("log.level", ["error", "warning", "notice", "info", "debug"], default: "info") ?? "info"
        r.reportUnknown()
        return r.hasErrors ? nil : c
    }
}
