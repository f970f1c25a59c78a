import PlumbHAL

/// Adapts a simulated input line to the HAL, so the shipped switch drivers read it.
/// Levels are logical (active = true): the line models the signal after active-low.
public final class SimulatedGPIOInput: GPIOInput {
    public let line: SimulatedInputLine
    /// Fails every call while set (a line the kernel can no longer read).
    public var failing = false

    public init(_ line: SimulatedInputLine) { self.line = line }

    public func level() throws(GPIOError) -> Bool {
        if failing { throw GPIOError.ioFailed(line: 0, errno: 5) }
        return line.level
    }

    public func nextEdge() throws(GPIOError) -> GPIOEdge? {
        if failing { throw GPIOError.ioFailed(line: 0, errno: 5) }
        guard let e = line.readEvent() else { return nil }
        return GPIOEdge(rising: e.edge == .rising, timestampNs: e.timestampNs)
    }
}

/// Adapts a simulated output line to the HAL; every write is recorded with its time.
public final class SimulatedGPIOOutput: GPIOOutput {
    public let line: SimulatedOutputLine
    public let safeLevel: Bool
    public private(set) var lastLevel: Bool? = nil
    /// Simulation time stamped on writes.
    public var nowNs: UInt64 = 0

    public init(_ line: SimulatedOutputLine, safeLevel: Bool) {
        self.line = line
        self.safeLevel = safeLevel
    }

    public func set(_ active: Bool) throws(GPIOError) {
        line.write(active, at: nowNs)
        lastLevel = active
    }
}
