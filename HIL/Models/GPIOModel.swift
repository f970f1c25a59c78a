// Simulated GPIO lines: what the world drives into the board (switches, the GNSS time pulse)
// and what the board drives out (brake, rope cutter, LED). Levels are physical: true = high.

/// A level change seen on an input line.
public struct GPIOEdgeEvent: Equatable, Sendable {
    public enum Edge: Equatable, Sendable { case rising, falling }
    public var edge: Edge
    /// Simulation time of the change (ns).
    public var timestampNs: UInt64

    public init(edge: Edge, timestampNs: UInt64) {
        self.edge = edge
        self.timestampNs = timestampNs
    }
}

/// Which level changes an input line reports.
public enum GPIOEdgeSelection: Equatable, Sendable {
    case none, rising, falling, both

    func reports(_ edge: GPIOEdgeEvent.Edge) -> Bool {
        switch self {
        case .none: return false
        case .rising: return edge == .rising
        case .falling: return edge == .falling
        case .both: return true
        }
    }
}

/// An input line: the world sets its level, the board reads the level and its edge events.
///
/// Events queue up to `eventCapacity` (16, like the kernel's per-line event FIFO of the GPIO
/// character device v1 ABI that libgpiod 1.6 uses); further events are dropped and counted.
public final class SimulatedInputLine {
    public let name: String
    public private(set) var level: Bool
    public var edgeSelection: GPIOEdgeSelection
    public let eventCapacity: Int
    /// Events lost because the queue was full.
    public private(set) var droppedEventCount = 0
    private var events: [GPIOEdgeEvent] = []

    public init(name: String = "", level: Bool = false, edges: GPIOEdgeSelection = .both,
                eventCapacity: Int = 16) {
        precondition(eventCapacity > 0)
        self.name = name
        self.level = level
        self.edgeSelection = edges
        self.eventCapacity = eventCapacity
        events.reserveCapacity(eventCapacity)
    }

    public var pendingEventCount: Int { events.count }

    /// Sets the level at `nowNs`; a change queues an edge event if `edgeSelection` reports it.
    public func setLevel(_ newLevel: Bool, at nowNs: UInt64) {
        guard newLevel != level else { return }
        level = newLevel
        let edge: GPIOEdgeEvent.Edge = newLevel ? .rising : .falling
        guard edgeSelection.reports(edge) else { return }
        if let last = events.last { precondition(nowNs >= last.timestampNs, "time runs forward") }
        guard events.count < eventCapacity else {
            droppedEventCount += 1
            return
        }
        events.append(GPIOEdgeEvent(edge: edge, timestampNs: nowNs))
    }

    /// A high pulse of `widthNs` starting at `startNs` (e.g. a GNSS time pulse).
    public func pulse(at startNs: UInt64, widthNs: UInt64) {
        setLevel(true, at: startNs)
        setLevel(false, at: startNs + widthNs)
    }

    /// The oldest pending event, removed from the queue.
    public func readEvent() -> GPIOEdgeEvent? {
        events.isEmpty ? nil : events.removeFirst()
    }

    /// Up to `max` pending events, oldest first, removed from the queue.
    public func readEvents(max: Int) -> [GPIOEdgeEvent] {
        let taken = Array(events.prefix(max))
        events.removeFirst(taken.count)
        return taken
    }
}

/// An output line: the board writes levels, the world reads the level and its history.
public final class SimulatedOutputLine {
    /// One level the board wrote, at simulation time `timeNs`.
    public struct Write: Equatable, Sendable {
        public var level: Bool
        public var timeNs: UInt64

        public init(level: Bool, timeNs: UInt64) {
            self.level = level
            self.timeNs = timeNs
        }
    }

    public let name: String
    public private(set) var level: Bool
    /// Every write, oldest first; past `historyCapacity` the oldest are dropped.
    public private(set) var writes: [Write] = []
    public let historyCapacity: Int
    public private(set) var droppedWriteCount = 0
    /// The level before the first recorded write.
    private var initialLevel: Bool

    public init(name: String = "", level: Bool = false, historyCapacity: Int = 4_096) {
        precondition(historyCapacity > 0)
        self.name = name
        self.level = level
        self.initialLevel = level
        self.historyCapacity = historyCapacity
    }

    /// Records a write of `newLevel` at `nowNs` (also when the level does not change).
    public func write(_ newLevel: Bool, at nowNs: UInt64) {
        if let last = writes.last { precondition(nowNs >= last.timeNs, "time runs forward") }
        if writes.count == historyCapacity {
            writes.removeFirst()
            droppedWriteCount += 1
        }
        writes.append(Write(level: newLevel, timeNs: nowNs))
        level = newLevel
    }

    /// The level the line had at `timeNs` according to the recorded writes; nil when that
    /// moment's write was dropped from the history.
    public func level(at timeNs: UInt64) -> Bool? {
        guard let first = writes.first else { return level }
        guard timeNs >= first.timeNs else { return droppedWriteCount == 0 ? initialLevel : nil }
        return writes.last(where: { $0.timeNs <= timeNs })?.level
    }

    public func clearHistory() {
        initialLevel = level
        writes.removeAll(keepingCapacity: true)
        droppedWriteCount = 0
    }
}
