import PlumbHAL

/// A switch input (hook latched, drum home) with debouncing on the kernel's edge
/// timestamps: a level counts once it has held for `debounceNs`.
public struct SwitchInput<Input: GPIOInput> {
    public let input: Input
    public let debounceNs: UInt64
    public private(set) var stable: Bool? = nil
    public private(set) var stableSinceNs: UInt64 = 0
    public private(set) var health: DeviceHealth<GPIOError>
    private var pending: Bool? = nil
    private var pendingSinceNs: UInt64 = 0

    public init(input: Input, debounceNs: UInt64 = 20_000_000) {
        self.input = input
        self.debounceNs = debounceNs
        health = DeviceHealth(failureThreshold: 3, staleAfterNs: UInt64.max / 2)
    }

    /// Drains queued edges (at most 32 per poll) and settles the level. Returns true
    /// when the stable level changed.
    public mutating func poll(nowNs: UInt64) -> Bool {
        do {
            if stable == nil {
                let level = try input.level()
                stable = level
                stableSinceNs = nowNs
                health.recordSuccess(at: nowNs)
                return true
            }
            var drained = 0
            while drained < 32, let edge = try input.nextEdge() {
                drained += 1
                pending = edge.rising
                pendingSinceNs = edge.timestampNs
            }
            health.recordSuccess(at: nowNs)
        } catch {
            health.recordFailure(error)
            return false
        }
        if let p = pending, nowNs &- pendingSinceNs >= debounceNs {
            pending = nil
            if p != stable {
                stable = p
                stableSinceNs = pendingSinceNs
                return true
            }
        }
        return false
    }
}

/// The rope cutter: a pyrotechnic or hot-wire cutter that must never fire by accident.
/// Two lines, two steps: `arm`, then `fire` no sooner than `armDelayNs` and no later
/// than `armWindowNs` after arming; a fire pulse of `pulseNs`; at least `minIntervalNs`
/// between two fires. `update` ends the pulse and disarms; both lines rest inactive.
public struct RopeCutter<Output: GPIOOutput> {
    public enum Failure: Error, Equatable {
        case notArmed
        case armDelayNotElapsed
        case armWindowExpired
        case tooSoonAfterLastFire
        case line(GPIOError)
    }

    public enum State: Equatable { case safe, armed(atNs: UInt64), firing(untilNs: UInt64) }

    public let arm: Output
    public let fire: Output
    public let armDelayNs: UInt64
    public let armWindowNs: UInt64
    public let pulseNs: UInt64
    public let minIntervalNs: UInt64
    public private(set) var state = State.safe
    public private(set) var lastFireNs: UInt64? = nil
    public private(set) var fires: UInt32 = 0

    public init(arm: Output, fire: Output, armDelayNs: UInt64 = 200_000_000, armWindowNs: UInt64 = 5_000_000_000,
                pulseNs: UInt64 = 500_000_000, minIntervalNs: UInt64 = 10_000_000_000) {
        self.arm = arm
        self.fire = fire
        self.armDelayNs = armDelayNs
        self.armWindowNs = armWindowNs
        self.pulseNs = pulseNs
        self.minIntervalNs = minIntervalNs
    }

    public mutating func armCutter(nowNs: UInt64) throws(Failure) {
        do { try arm.set(true) } catch { throw .line(error) }
        state = .armed(atNs: nowNs)
    }

    public mutating func fireCutter(nowNs: UInt64) throws(Failure) {
        guard case .armed(let at) = state else { throw .notArmed }
        if nowNs &- at < armDelayNs { throw .armDelayNotElapsed }
        if nowNs &- at > armWindowNs {
            safe()
            throw .armWindowExpired
        }
        if let last = lastFireNs, nowNs &- last < minIntervalNs { throw .tooSoonAfterLastFire }
        do { try fire.set(true) } catch {
            safe()
            throw .line(error)
        }
        lastFireNs = nowNs
        fires &+= 1
        state = .firing(untilNs: nowNs + pulseNs)
    }

    /// Ends a finished pulse and an expired arming.
    public mutating func update(nowNs: UInt64) {
        switch state {
        case .firing(let until) where nowNs >= until: safe()
        case .armed(let at) where nowNs &- at > armWindowNs: safe()
        default: break
        }
    }

    /// Both lines inactive (best effort: each line is tried even if the other fails).
    public mutating func safe() {
        try? fire.setSafe()
        try? arm.setSafe()
        state = .safe
    }
}

/// Picks which devices to poll in each tick so that the bus time of a tick stays within
/// its budget. Each device has a period (in ticks) and a cost (ns); the most overdue
/// devices go first; a device that does not fit waits for the next tick. Fixed capacity.
public struct PollSchedule {
    public static let capacity = 16

    public struct Entry: Equatable {
        public var periodTicks: UInt32
        public var costNs: UInt64
        public var lastTick: UInt64?
        /// Times the device was due but did not fit.
        public var deferred: UInt32 = 0
    }

    public private(set) var entries: [Entry] = []
    public let budgetNs: UInt64

    public init(budgetNs: UInt64) {
        self.budgetNs = budgetNs
        entries.reserveCapacity(PollSchedule.capacity)
    }

    /// Adds a device; returns its index, or nil when full or when it can never fit.
    public mutating func add(periodTicks: UInt32, costNs: UInt64) -> Int? {
        guard entries.count < PollSchedule.capacity, costNs <= budgetNs else { return nil }
        entries.append(Entry(periodTicks: max(1, periodTicks), costNs: costNs, lastTick: nil))
        return entries.count - 1
    }

    /// The devices to poll in `tick`, as a bit set of indices, within the budget.
    public mutating func due(tick: UInt64) -> UInt32 {
        var chosen: UInt32 = 0
        var spent: UInt64 = 0
        // Most overdue first: repeated selection over a fixed, small set (no sorting buffer).
        var considered: UInt32 = 0
        for _ in 0..<entries.count {
            var best = -1
            var bestLateness: Int64 = -1
            for (i, e) in entries.enumerated() where considered & (1 << UInt32(i)) == 0 {
                let lateness: Int64
                if let last = e.lastTick {
                    lateness = Int64(tick) - Int64(last) - Int64(e.periodTicks)
                } else {
                    lateness = Int64.max / 2
                }
                if lateness >= 0 && lateness > bestLateness {
                    best = i
                    bestLateness = lateness
                }
            }
            guard best >= 0 else { break }
            considered |= 1 << UInt32(best)
            if spent + entries[best].costNs <= budgetNs {
                spent += entries[best].costNs
                chosen |= 1 << UInt32(best)
                entries[best].lastTick = tick
            } else {
                entries[best].deferred &+= 1
            }
        }
        return chosen
    }

    /// Bus time of the devices in `set`.
    public func cost(of set: UInt32) -> UInt64 {
        var total: UInt64 = 0
        for (i, e) in entries.enumerated() where set & (1 << UInt32(i)) != 0 { total += e.costNs }
        return total
    }
}

/// How often each kind of device is polled, in ticks of the control loop.
public func pollPeriodTicks(_ kind: DeviceKind, rateHz: Int, gnssPeriodMs: Int, tensionSps: Int) -> Int {
    switch kind {
    case .sbsBattery: return max(1, rateHz / 10)                 // 10 Hz
    case .ina226: return max(1, rateHz / 20)                     // 20 Hz
    case .ubloxDDC: return max(1, rateHz * gnssPeriodMs / 2000)  // twice per navigation epoch
    case .as5600: return 1                                       // every tick: unwrapping needs it
    case .nau7802: return max(1, rateHz / max(1, tensionSps))    // at the conversion rate
    case .pca9685: return 0                                      // written on demand, never polled
    }
}
