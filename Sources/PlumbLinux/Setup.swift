import CLinux
import PlumbCore
import PlumbHAL

/// sysexits(3) codes, so supervisors and scripts can tell failures apart.
public enum ExitCode: Int32 {
    case ok = 0
    case usage = 64        // EX_USAGE: bad command line
    case dataError = 65    // EX_DATAERR
    case noInput = 66      // EX_NOINPUT: a file given does not exist
    case unavailable = 69  // EX_UNAVAILABLE: a required device or line is missing
    case software = 70     // EX_SOFTWARE
    case noPermission = 77 // EX_NOPERM: e.g. a key file others may read
    case osError = 71      // EX_OSERR: the system refused (timerfd, signalfd, ...)
    case ioError = 74      // EX_IOERR
    case config = 78       // EX_CONFIG: the config or board file is invalid
}

/// Where `--board NAME` is looked for, in order. A value with a '/' or ending in
/// ".toml" is a path and used as it is.
public func boardSearchPath() -> [String] {
    var dirs: [String] = []
    if let env = getenv("PLUMB_BOARD_DIR") { dirs.append(String(cString: env)) }
    dirs += ["/etc/plumbline/boards", "/usr/share/plumbline/boards", "Board"]
    return dirs
}

public func resolveBoard(_ nameOrPath: String) -> String? {
    if nameOrPath.contains("/") || nameOrPath.hasSuffix(".toml") { return nameOrPath }
    for dir in boardSearchPath() {
        let candidate = dir + "/" + nameOrPath + ".toml"
        if fileExists(candidate) { return candidate }
    }
    return nil
}

/// The result of reading one file against its schema: the value, or every diagnostic.
public struct Loaded<Value> {
    public var value: Value?
    /// Formatted `file:line:column: message` lines.
    public var errors: [String]
    public var missingFile: Bool

    public init(value: Value?, errors: [String], missingFile: Bool) {
        self.value = value
        self.errors = errors
        self.missingFile = missingFile
    }
}

public func loadTOML(_ path: String) -> (document: TOMLDocument?, errors: [String], missing: Bool) {
    let bytes: [UInt8]
    do {
        bytes = try readFile(path)
    } catch {
        // A file that cannot be opened (absent, or not readable) is missing input.
        if case .openFailed = error { return (nil, [describe(error)], true) }
        return (nil, [describe(error)], false)
    }
    do {
        return (try TOMLDocument.parse(bytes: bytes), [], false)
    } catch {
        return (nil, [error.formatted(file: path)], false)
    }
}

/// Reads a TOML file and applies a schema to it (`BoardDescription.read`,
/// `PlumbConfig.read`, ...): the value, or every diagnostic as `file:line:column: message`.
public func loadSchema<Value>(_ path: String, _ read: (inout ConfigReader) -> Value?) -> Loaded<Value> {
    let (doc, errors, missing) = loadTOML(path)
    guard let doc else { return Loaded(value: nil, errors: errors, missingFile: missing) }
    var reader = ConfigReader(doc)
    let value = read(&reader)
    return Loaded(value: value, errors: reader.diagnostics.map { $0.formatted(file: path) }, missingFile: false)
}

public func loadBoard(_ path: String) -> Loaded<BoardDescription> {
    loadSchema(path) { BoardDescription.read(&$0) }
}

// MARK: probing

public enum ProbeStatus: Equatable {
    case found
    case missing
    case error(String)

    public var label: String {
        switch self {
        case .found: return "found"
        case .missing: return "missing"
        case .error: return "error"
        }
    }
}

public struct ProbeRow {
    public var what: String
    public var detail: String
    public var required: Bool
    public var status: ProbeStatus
    /// What the chip said it is, when it was identified.
    public var chip: String = ""
}

/// Opens every configured bus and line and probes every device address. Nothing is
/// written to any device (SMBus quick write or receive byte only); output lines are
/// requested at their safe level and released.
///
/// `identify` names the chip behind an acknowledged address (nil: nothing to add);
/// its second value is false when the chip is not the kind the board file says.
public func probeBoard(_ board: BoardDescription,
                       identify: (DeviceSpec, LinuxI2CBus) -> (String, Bool)? = { _, _ in nil }) -> [ProbeRow] {
    var rows: [ProbeRow] = []
    for bus in board.buses {
        var opened: LinuxI2CBus? = nil
        var openError: String? = nil
        do {
            opened = try LinuxI2CBus(path: bus.device, clockHz: bus.clockHz)
        } catch {
            openError = describe(error)
        }
        rows.append(ProbeRow(what: "i2c \(bus.name)", detail: bus.device, required: true,
                             status: openError.map { .error($0) } ?? .found))
        for d in board.devices where d.bus == bus.name {
            let detail = "\(d.kind.name) at \(formatHex(d.address)) on \(bus.device)"
            guard let b = opened else {
                rows.append(ProbeRow(what: d.role, detail: detail, required: d.required, status: .error("bus not open")))
                continue
            }
            var status = ProbeStatus.found
            do {
                try b.probe(address: d.address)
                if let (name, matches) = identify(d, b) {
                    if matches { status = .found } else { status = .error("answers, but: " + name) }
                    rows.append(ProbeRow(what: d.role, detail: detail, required: d.required, status: status, chip: matches ? name : ""))
                    continue
                }
            } catch {
                if case .nack = error { status = .missing } else { status = .error(describe(error)) }
            }
            rows.append(ProbeRow(what: d.role, detail: detail, required: d.required, status: status))
        }
    }
    var chips: [LinuxGPIOChip] = []
    for line in board.gpio {
        let detail = "\(line.chip) line \(line.line)"
        var chip: LinuxGPIOChip? = nil
        for c in chips where c.name == line.chip { chip = c }
        if chip == nil {
            do {
                let c = try LinuxGPIOChip(name: line.chip)
                chips.append(c)
                chip = c
            } catch {
                rows.append(ProbeRow(what: "gpio " + line.role, detail: detail, required: true, status: .error(describe(error))))
                continue
            }
        }
        guard let chip else { continue }
        var status = ProbeStatus.found
        do {
            switch line.direction {
            case .input(let edges):
                _ = try LinuxGPIOInput(chip: chip, line: line.line, activeLow: line.activeLow, edges: edges, consumer: line.consumer)
            case .output(let safe):
                _ = try LinuxGPIOOutput(chip: chip, line: line.line, activeLow: line.activeLow, safeLevel: safe, consumer: line.consumer)
            }
        } catch {
            status = .error(describe(error))
        }
        rows.append(ProbeRow(what: "gpio " + line.role, detail: detail, required: true, status: status))
    }
    return rows
}

public func formatProbeTable(_ rows: [ProbeRow]) -> String {
    var out = padRight("WHAT", 20) + padRight("WHERE", 40) + padRight("NEED", 10) + "STATUS\n"
    for r in rows {
        var line = padRight(r.what, 20) + padRight(r.detail, 40) + padRight(r.required ? "required" : "optional", 10) + r.status.label
        if case .error(let why) = r.status { line += ": " + why }
        if !r.chip.isEmpty { line += ": " + r.chip }
        out += line + "\n"
    }
    return out
}

/// True when every required row was found.
public func probeSucceeded(_ rows: [ProbeRow]) -> Bool {
    for r in rows where r.required && r.status != .found { return false }
    return true
}
