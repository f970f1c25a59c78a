import PlumbCore

// A board file says what is wired where: I2C buses, the devices on them, GPIO lines,
// PWM channels and serial ports. It is data, not code, so an integrator describes a new
// companion computer without touching a driver. Format: docs/board-files.md.

public enum DeviceKind: Equatable, Sendable {
    case sbsBattery, ina226, ubloxDDC, as5600, nau7802, pca9685

    public static let all: [DeviceKind] = [.sbsBattery, .ina226, .ubloxDDC, .as5600, .nau7802, .pca9685]

    public var name: String {
        switch self {
        case .sbsBattery: return "sbs-battery"
        case .ina226: return "ina226"
        case .ubloxDDC: return "ublox-ddc"
        case .as5600: return "as5600"
        case .nau7802: return "nau7802"
        case .pca9685: return "pca9685"
        }
    }

    public init?(name: String) {
        for k in DeviceKind.all where k.name == name {
            self = k
            return
        }
        return nil
    }

    /// The chip's usual address, used when the board file gives none.
    public var defaultAddress: UInt8 {
        switch self {
        case .sbsBattery: return 0x0B
        case .ina226: return 0x45
        case .ubloxDDC: return 0x42
        case .as5600: return 0x36
        case .nau7802: return 0x2A
        case .pca9685: return 0x40
        }
    }
}

public struct I2CBusSpec: Equatable {
    public var name: String
    /// e.g. "/dev/i2c-1".
    public var device: String
    public var clockHz: UInt32
}

public struct DeviceSpec: Equatable {
    /// What the device is for: "battery", "gnss", "drum_encoder", "tension", "pwm", ...
    public var role: String
    public var kind: DeviceKind
    public var bus: String
    public var address: UInt8
    /// A required device missing at start-up stops the daemon (`--probe` exits non-zero).
    public var required: Bool
}

public enum EdgeSelection: Equatable, Sendable {
    case none, rising, falling, both

    public var name: String {
        switch self {
        case .none: return "none"
        case .rising: return "rising"
        case .falling: return "falling"
        case .both: return "both"
        }
    }
}

public enum LineDirection: Equatable {
    case input(edges: EdgeSelection)
    /// `safeLevel` is logical (true = active).
    case output(safeLevel: Bool)
}

public struct GPIOLineSpec: Equatable {
    public var role: String
    /// A chip name ("gpiochip0"), path ("/dev/gpiochip0"), label ("pinctrl-bcm2711") or
    /// number, as libgpiod's chip lookup accepts.
    public var chip: String
    public var line: UInt32
    public var activeLow: Bool
    public var direction: LineDirection
    /// Shown by `gpioinfo` as the line's user; at most 31 bytes.
    public var consumer: String
}

public struct PWMChannelSpec: Equatable {
    public var role: String
    /// Role of the PCA9685 device that drives it.
    public var device: String
    public var channel: UInt8
    public var minPulseUs: UInt16
    public var maxPulseUs: UInt16
    /// Pulse width at start, on shutdown and when control is lost (ESC: stop; servo: hold).
    public var safePulseUs: UInt16
}

public struct SerialPortSpec: Equatable {
    public var role: String
    public var device: String
    public var baud: UInt32
}

public struct BoardDescription: Equatable {
    public var name: String
    public var summary: String
    public var buses: [I2CBusSpec] = []
    public var devices: [DeviceSpec] = []
    public var gpio: [GPIOLineSpec] = []
    public var pwm: [PWMChannelSpec] = []
    public var serial: [SerialPortSpec] = []

    public static let deviceRoles: [(role: String, kinds: [DeviceKind])] = [
        ("battery", [.sbsBattery, .ina226]),
        ("power_monitor", [.ina226]),
        ("gnss", [.ubloxDDC]),
        ("drum_encoder", [.as5600]),
        ("tension", [.nau7802]),
        ("pwm", [.pca9685]),
    ]
    public static let inputRoles = ["hook_latched", "drum_home", "gnss_pps"]
    public static let outputRoles = ["brake", "cutter_arm", "cutter_fire", "status_led"]
    public static let pwmRoles = ["winch_motor", "hook_servo"]
    public static let serialRoles = ["autopilot", "radio"]
    public static let baudRates: [Int64] = [9600, 19200, 38400, 57600, 115200, 230400, 460800, 921600]

    public func bus(named name: String) -> I2CBusSpec? {
        for b in buses where b.name == name { return b }
        return nil
    }

    public func device(role: String) -> DeviceSpec? {
        for d in devices where d.role == role { return d }
        return nil
    }

    public func line(role: String) -> GPIOLineSpec? {
        for l in gpio where l.role == role { return l }
        return nil
    }

    /// Reads and validates a board file. Every problem is added to `reader.diagnostics`;
    /// the result is nil when there was any.
    public static func read(_ r: inout ConfigReader) -> BoardDescription? {
        let name = r.string("board.name", maxLength: 64) ?? ""
        let summary = r.string("board.description", default: "", maxLength: 200) ?? ""
        var board = BoardDescription(name: name, summary: summary)

        for busName in r.document.childTables(of: "i2c") {
            let k = "i2c." + busName
            let device = r.string(k + ".device", maxLength: 64) ?? ""
            if !device.isEmpty && !device.hasPrefix("/dev/") {
                r.error(k + ".device", "'\(k).device' must be a path under /dev, e.g. \"/dev/i2c-1\"")
            }
            let hz = r.integer(k + ".speed_hz", in: 10_000...1_000_000, default: 100_000) ?? 100_000
            board.buses.append(I2CBusSpec(name: busName, device: device, clockHz: UInt32(hz)))
        }

        for role in r.document.childTables(of: "devices") {
            let k = "devices." + role
            var allowed: [DeviceKind]? = nil
            for entry in deviceRoles where entry.role == role { allowed = entry.kinds }
            guard let kinds = allowed else {
                var list = ""
                for (i, e) in deviceRoles.enumerated() { list += (i == 0 ? "" : ", ") + e.role }
                r.error(table: k, "unknown device role '\(role)' (known: \(list))")
                r.acceptTable(k)
                continue
            }
            let kindName = r.choice(k + ".kind", kinds.map { $0.name }) ?? ""
            let kind = DeviceKind(name: kindName) ?? kinds[0]
            let bus = r.string(k + ".bus", maxLength: 64) ?? ""
            if !bus.isEmpty && board.bus(named: bus) == nil {
                r.error(k + ".bus", "'\(k).bus' = \"\(bus)\" names no [i2c.\(bus)] table")
            }
            let address = r.integer(k + ".address", in: 0x03...0x77, default: Int64(kind.defaultAddress), hex: true) ?? 0
            let required = r.bool(k + ".required", default: true) ?? true
            let spec = DeviceSpec(role: role, kind: kind, bus: bus, address: UInt8(address), required: required)
            for other in board.devices where other.bus == spec.bus && other.address == spec.address {
                r.error(k + ".address", "'\(role)' and '\(other.role)' both use address \(formatHex(spec.address)) on bus '\(bus)'")
            }
            board.devices.append(spec)
        }

        for role in r.document.childTables(of: "gpio") {
            let k = "gpio." + role
            let isInput = inputRoles.contains(role)
            let isOutput = outputRoles.contains(role)
            if !isInput && !isOutput {
                r.error(table: k, "unknown GPIO role '\(role)' (inputs: \(joined(inputRoles)); outputs: \(joined(outputRoles)))")
                r.acceptTable(k)
                continue
            }
            let chip = r.string(k + ".chip", maxLength: 64) ?? ""
            let line = r.integer(k + ".line", in: 0...1023) ?? 0
            let activeLow = r.bool(k + ".active_low", default: false) ?? false
            let consumer = r.string(k + ".consumer", default: "plumbd-" + role, maxLength: 31) ?? ""
            let direction: LineDirection
            if isInput {
                let edges = r.choice(k + ".edges", ["none", "rising", "falling", "both"], default: "both") ?? "both"
                if r.has(k + ".safe_level") {
                    _ = r.string(k + ".safe_level")
                    r.error(k + ".safe_level", "'\(k).safe_level': '\(role)' is an input, it has no safe level")
                }
                switch edges {
                case "none": direction = .input(edges: .none)
                case "rising": direction = .input(edges: .rising)
                case "falling": direction = .input(edges: .falling)
                default: direction = .input(edges: .both)
                }
            } else {
                let safe = r.choice(k + ".safe_level", ["active", "inactive"]) ?? "inactive"
                let safeActive = safe == "active"
                if role == "brake" && !safeActive {
                    r.error(k + ".safe_level", "'gpio.brake.safe_level' must be \"active\": the brake is engaged when anything goes wrong")
                }
                if (role == "cutter_arm" || role == "cutter_fire") && safeActive {
                    r.error(k + ".safe_level", "'\(k).safe_level' must be \"inactive\": the rope cutter never fires by default")
                }
                if r.has(k + ".edges") {
                    _ = r.string(k + ".edges")
                    r.error(k + ".edges", "'\(k).edges': '\(role)' is an output, it has no edges")
                }
                direction = .output(safeLevel: safeActive)
            }
            let spec = GPIOLineSpec(role: role, chip: chip, line: UInt32(line), activeLow: activeLow,
                                    direction: direction, consumer: consumer)
            for other in board.gpio where other.chip == spec.chip && other.line == spec.line {
                r.error(k + ".line", "'\(role)' and '\(other.role)' both use line \(line) of \(chip)")
            }
            board.gpio.append(spec)
        }

        for role in r.document.childTables(of: "pwm") {
            let k = "pwm." + role
            guard pwmRoles.contains(role) else {
                r.error(table: k, "unknown PWM role '\(role)' (known: \(joined(pwmRoles)))")
                r.acceptTable(k)
                continue
            }
            let device = r.string(k + ".device", default: "pwm", maxLength: 64) ?? ""
            if let d = board.device(role: device) {
                if d.kind != .pca9685 {
                    r.error(k + ".device", "'\(k).device' = \"\(device)\" is a \(d.kind.name), not a pca9685")
                }
            } else {
                r.error(k + ".device", "'\(k).device' = \"\(device)\" names no [devices.\(device)] table")
            }
            let channel = r.integer(k + ".channel", in: 0...15) ?? 0
            let minUs = r.integer(k + ".min_pulse_us", in: 500...2500, default: 1000) ?? 1000
            let maxUs = r.integer(k + ".max_pulse_us", in: 500...2500, default: 2000) ?? 2000
            let safeUs = r.integer(k + ".safe_pulse_us", in: 500...2500) ?? minUs
            if minUs >= maxUs {
                r.error(k + ".max_pulse_us", "'\(k).max_pulse_us' must be greater than min_pulse_us")
            } else if safeUs < minUs || safeUs > maxUs {
                r.error(k + ".safe_pulse_us", "'\(k).safe_pulse_us' = \(safeUs) is outside \(minUs)...\(maxUs)")
            }
            let spec = PWMChannelSpec(role: role, device: device, channel: UInt8(channel),
                                      minPulseUs: UInt16(minUs), maxPulseUs: UInt16(maxUs), safePulseUs: UInt16(safeUs))
            for other in board.pwm where other.device == spec.device && other.channel == spec.channel {
                r.error(k + ".channel", "'\(role)' and '\(other.role)' both use channel \(channel) of '\(device)'")
            }
            board.pwm.append(spec)
        }

        for role in r.document.childTables(of: "serial") {
            let k = "serial." + role
            guard serialRoles.contains(role) else {
                r.error(table: k, "unknown serial role '\(role)' (known: \(joined(serialRoles)))")
                r.acceptTable(k)
                continue
            }
            let device = r.string(k + ".device", maxLength: 64) ?? ""
            if !device.isEmpty && !device.hasPrefix("/dev/") {
                r.error(k + ".device", "'\(k).device' must be a path under /dev")
            }
            let baud = r.integer(k + ".baud", in: 9600...921_600, default: 115_200) ?? 115_200
            if !baudRates.contains(baud) {
                r.error(k + ".baud", "'\(k).baud' = \(baud) is not a standard rate (\(joinedInts(baudRates)))")
            }
            board.serial.append(SerialPortSpec(role: role, device: device, baud: UInt32(baud)))
        }

        r.reportUnknown()
        return r.hasErrors ? nil : board
    }
}

func joined(_ items: [String]) -> String {
    var out = ""
    for (i, s) in items.enumerated() { out += (i == 0 ? "" : ", ") + s }
    return out
}

func joinedInts(_ items: [Int64]) -> String {
    var out = ""
    for (i, v) in items.enumerated() { out += (i == 0 ? "" : ", ") + String(v) }
    return out
}
