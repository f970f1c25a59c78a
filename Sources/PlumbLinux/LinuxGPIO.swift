import CLinux
import PlumbHAL

/// A GPIO chip opened through libgpiod 1.6. Lines requested from it keep it open.
public final class LinuxGPIOChip {
    public let name: String
    let chip: OpaquePointer

    /// `name` may be "gpiochip0", "/dev/gpiochip0", a label such as "pinctrl-bcm2711",
    /// or a number (libgpiod's lookup tries each).
    public init(name: String) throws(GPIOError) {
        self.name = name
        let c = name.withCString { gpiod_chip_open_lookup($0) }
        guard let c else {
            var e = plumb_errno()
            if e == 0 { e = ENOENT }
            throw GPIOError.chipNotFound(chip: name, errno: e)
        }
        chip = c
    }

    deinit { gpiod_chip_close(chip) }

    public var lineCount: UInt32 { UInt32(gpiod_chip_num_lines(chip)) }

    func line(_ offset: UInt32) throws(GPIOError) -> OpaquePointer {
        guard offset < lineCount, let l = gpiod_chip_get_line(chip, offset) else {
            throw GPIOError.lineNotFound(chip: name, line: offset)
        }
        return l
    }
}

public final class LinuxGPIOInput: GPIOInput {
    let chip: LinuxGPIOChip
    let handle: OpaquePointer
    public let offset: UInt32
    public let edges: EdgeSelection

    public init(chip: LinuxGPIOChip, line offset: UInt32, activeLow: Bool, edges: EdgeSelection,
                consumer: String) throws(GPIOError) {
        self.chip = chip
        self.offset = offset
        self.edges = edges
        handle = try chip.line(offset)
        let flags = activeLow ? plumb_gpiod_flag_active_low() : 0
        let r = consumer.withCString { (c: UnsafePointer<CChar>) -> Int32 in
            switch edges {
            case .none: return gpiod_line_request_input_flags(handle, c, flags)
            case .rising: return gpiod_line_request_rising_edge_events_flags(handle, c, flags)
            case .falling: return gpiod_line_request_falling_edge_events_flags(handle, c, flags)
            case .both: return gpiod_line_request_both_edges_events_flags(handle, c, flags)
            }
        }
        if r < 0 { throw GPIOError.requestFailed(chip: chip.name, line: offset, errno: plumb_errno()) }
    }

    deinit { gpiod_line_release(handle) }

    /// The fd to poll for edges (-1 when edges are not requested).
    public var eventFD: Int32 { edges == .none ? -1 : gpiod_line_event_get_fd(handle) }

    public func level() throws(GPIOError) -> Bool {
        let v = gpiod_line_get_value(handle)
        if v < 0 { throw GPIOError.ioFailed(line: offset, errno: plumb_errno()) }
        return v == 1
    }

    public func nextEdge() throws(GPIOError) -> GPIOEdge? {
        guard edges != .none else { return nil }
        var zero = timespec(tv_sec: 0, tv_nsec: 0)
        let ready = gpiod_line_event_wait(handle, &zero)
        if ready < 0 { throw GPIOError.ioFailed(line: offset, errno: plumb_errno()) }
        if ready == 0 { return nil }
        var event = gpiod_line_event()
        if gpiod_line_event_read(handle, &event) < 0 {
            throw GPIOError.ioFailed(line: offset, errno: plumb_errno())
        }
        return GPIOEdge(rising: event.event_type == plumb_gpiod_event_rising(),
                        timestampNs: plumb_gpiod_event_ns(&event))
    }
}

public final class LinuxGPIOOutput: GPIOOutput {
    let chip: LinuxGPIOChip
    let handle: OpaquePointer
    public let offset: UInt32
    public let safeLevel: Bool
    public private(set) var lastLevel: Bool?

    /// Requests the line as an output already at its safe level: there is no moment
    /// between request and first write when it could be anything else.
    public init(chip: LinuxGPIOChip, line offset: UInt32, activeLow: Bool, safeLevel: Bool,
                consumer: String) throws(GPIOError) {
        self.chip = chip
        self.offset = offset
        self.safeLevel = safeLevel
        handle = try chip.line(offset)
        let flags = activeLow ? plumb_gpiod_flag_active_low() : 0
        let r = consumer.withCString { gpiod_line_request_output_flags(handle, $0, flags, safeLevel ? 1 : 0) }
        if r < 0 { throw GPIOError.requestFailed(chip: chip.name, line: offset, errno: plumb_errno()) }
        lastLevel = safeLevel
    }

    deinit { gpiod_line_release(handle) }

    public func set(_ active: Bool) throws(GPIOError) {
        if gpiod_line_set_value(handle, active ? 1 : 0) < 0 {
            throw GPIOError.ioFailed(line: offset, errno: plumb_errno())
        }
        lastLevel = active
    }
}

public func describe(_ error: GPIOError) -> String {
    switch error {
    case .chipNotFound(let chip, let e):
        return "cannot open GPIO chip '\(chip)': \(errnoMessage(e)) (see `gpiodetect` for the chips this system has)"
    case .lineNotFound(let chip, let line):
        return "GPIO chip '\(chip)' has no line \(line) (see `gpioinfo \(chip)`)"
    case .requestFailed(let chip, let line, let e):
        return "cannot request line \(line) of '\(chip)': \(errnoMessage(e))\(e == EBUSY ? " (another program holds it)" : "")"
    case .ioFailed(let line, let e):
        return "I/O error on GPIO line \(line): \(errnoMessage(e))"
    }
}
