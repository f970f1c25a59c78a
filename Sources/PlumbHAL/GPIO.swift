/// What can go wrong with a GPIO line.
public enum GPIOError: Error, Equatable {
    /// The chip could not be opened (errno), e.g. no such /dev/gpiochipN.
    case chipNotFound(chip: String, errno: Int32)
    /// The chip has no line with this offset.
    case lineNotFound(chip: String, line: UInt32)
    /// The line could not be requested (busy: another consumer holds it; errno).
    case requestFailed(chip: String, line: UInt32, errno: Int32)
    /// Reading or writing the line failed (errno).
    case ioFailed(line: UInt32, errno: Int32)
}

/// An edge seen on an input line, stamped by the kernel at the interrupt.
public struct GPIOEdge: Equatable {
    /// True for a rising edge of the *logical* level (active-low already applied).
    public var rising: Bool
    /// CLOCK_MONOTONIC time of the edge, in nanoseconds.
    public var timestampNs: UInt64

    public init(rising: Bool, timestampNs: UInt64) {
        self.rising = rising
        self.timestampNs = timestampNs
    }
}

/// An input line. `level` is logical: true = active (active-low already applied).
public protocol GPIOInput: AnyObject {
    func level() throws(GPIOError) -> Bool
    /// The next queued edge, or nil when none is waiting. Never blocks.
    func nextEdge() throws(GPIOError) -> GPIOEdge?
}

/// An output line that knows the level it must take when anything goes wrong: at
/// start-up, on shutdown, and when the daemon loses control (the brake engaged, the
/// rope cutter off).
public protocol GPIOOutput: AnyObject {
    /// The logical level that is safe for this line.
    var safeLevel: Bool { get }
    func set(_ active: Bool) throws(GPIOError)
    /// The last level written, if any.
    var lastLevel: Bool? { get }
}

extension GPIOOutput {
    public func setSafe() throws(GPIOError) { try set(safeLevel) }
}
