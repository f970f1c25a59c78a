// Typed, range-checked reading of a parsed TOML document against a schema written in
// code. Every problem becomes a Diagnostic with the position of the offending key;
// reading goes on after an error so that one run reports every mistake in the file.
// Keys and tables that no schema asked for are reported as unknown: a misspelt key in
// a field crew's config must never be silently ignored.

public struct Diagnostic: Equatable {
    public var position: SourcePosition?
    public var message: String

    public init(_ position: SourcePosition?, _ message: String) {
        self.position = position
        self.message = message
    }

    /// `file:line:column: message`, or `file: message` for whole-file problems.
    public func formatted(file: String) -> String {
        guard let p = position else { return "\(file): \(message)" }
        return "\(file):\(p.line):\(p.column): \(message)"
    }
}

public struct ConfigReader {
    public let document: TOMLDocument
    public private(set) var diagnostics: [Diagnostic] = []
    private var usedKeys: Set<String> = []
    private var knownTables: Set<String> = []
    /// Each key read through its schema description, with the value it got (the file's
    /// or the default), in the order read: what a config reload compares.
    public private(set) var settings: [ConfigSetting] = []

    public init(_ document: TOMLDocument) { self.document = document }

    /// A reader over values that come from no file (a config assembled from settings,
    /// such as the running values merged with a reloaded file's). Diagnostics have no
    /// position.
    public init(settings: [ConfigSetting]) {
        var d = TOMLDocument()
        for s in settings { d.append(TOMLEntry(key: s.key.name, value: s.value, position: SourcePosition(line: 0, column: 0))) }
        document = d
    }

    /// Every key that was asked for, through a schema description or by name.
    public var keysAsked: Set<String> { usedKeys }

    public var hasErrors: Bool { !diagnostics.isEmpty }

    public mutating func error(_ key: String, _ message: String) {
        diagnostics.append(Diagnostic(document.entry(key)?.position ?? tablePosition(parentOf: key), message))
    }

    public mutating func error(table: String, _ message: String) {
        diagnostics.append(Diagnostic(tablePosition(table), message))
    }

    private func tablePosition(_ table: String) -> SourcePosition? {
        for t in document.tables where t.name == table { return t.position }
        return nil
    }

    private func tablePosition(parentOf key: String) -> SourcePosition? {
        guard let dot = key.lastIndex(of: ".") else { return nil }
        return tablePosition(String(key[key.startIndex..<dot]))
    }

    private mutating func markUsed(_ key: String) {
        usedKeys.insert(key)
        markTablesAbove(key)
    }

    private mutating func markTablesAbove(_ key: String) {
        var k = Substring(key)
        while let dot = k.lastIndex(of: ".") {
            k = k[k.startIndex..<dot]
            knownTables.insert(String(k))
        }
    }

    /// Marks a table as part of the schema even if it holds no keys.
    public mutating func acceptTable(_ table: String) {
        knownTables.insert(table)
        markTablesAbove(table)
    }

    private mutating func fetch(_ key: String, required: Bool) -> TOMLEntry? {
        markUsed(key)
        guard let e = document.entry(key) else {
            if required { error(key, "missing required key '\(key)'") }
            return nil
        }
        return e
    }

    private mutating func wrongType(_ e: TOMLEntry, expected: String) {
        diagnostics.append(Diagnostic(e.position, "'\(e.key)' must be \(expected), not \(e.value.typeName)"))
    }

    public mutating func integer(_ key: String, in range: ClosedRange<Int64>, default value: Int64? = nil,
                                 hex: Bool = false) -> Int64? {
        guard let e = fetch(key, required: value == nil) else { return value }
        guard case .integer(let v) = e.value else {
            wrongType(e, expected: "an integer")
            return value
        }
        guard range.contains(v) else {
            func show(_ x: Int64) -> String { hex && x >= 0 ? formatHex(x) : String(x) }
            diagnostics.append(Diagnostic(e.position, "'\(key)' = \(show(v)) is out of range \(show(range.lowerBound))...\(show(range.upperBound))"))
            return value
        }
        return v
    }

    public mutating func int(_ key: String, in range: ClosedRange<Int>, default value: Int? = nil) -> Int? {
        let r = Int64(range.lowerBound)...Int64(range.upperBound)
        guard let v = integer(key, in: r, default: value.map { Int64($0) }) else { return nil }
        return Int(v)
    }

    /// A float; an integer is accepted too (`rate = 2` means 2.0).
    public mutating func double(_ key: String, in range: ClosedRange<Double>, default value: Double? = nil,
                                decimals: Int = 3) -> Double? {
        guard let e = fetch(key, required: value == nil) else { return value }
        let v: Double
        switch e.value {
        case .float(let f): v = f
        case .integer(let i): v = Double(i)
        default:
            wrongType(e, expected: "a number")
            return value
        }
        guard v.isFinite, range.contains(v) else {
            diagnostics.append(Diagnostic(e.position,
                "'\(key)' = \(formatFixed(v, decimals: decimals)) is out of range \(formatFixed(range.lowerBound, decimals: decimals))...\(formatFixed(range.upperBound, decimals: decimals))"))
            return value
        }
        return v
    }

    public mutating func bool(_ key: String, default value: Bool? = nil) -> Bool? {
        guard let e = fetch(key, required: value == nil) else { return value }
        guard case .boolean(let v) = e.value else {
            wrongType(e, expected: "true or false")
            return value
        }
        return v
    }

    public mutating func string(_ key: String, default value: String? = nil, maxLength: Int = 256) -> String? {
        guard let e = fetch(key, required: value == nil) else { return value }
        guard case .string(let v) = e.value else {
            wrongType(e, expected: "a string")
            return value
        }
        guard v.utf8.count <= maxLength else {
            diagnostics.append(Diagnostic(e.position, "'\(key)' is longer than \(maxLength) bytes"))
            return value
        }
        return v
    }

    /// A string that must be one of `choices`.
    public mutating func choice(_ key: String, _ choices: [String], default value: String? = nil) -> String? {
        guard let v = string(key, default: value) else { return nil }
        if choices.contains(v) { return v }
        var list = ""
        for (i, c) in choices.enumerated() { list += (i == 0 ? "" : ", ") + c }
        error(key, "'\(key)' = \"\(v)\" is not one of: \(list)")
        return value
    }

    // MARK: reading a key from its schema description

    /// An integer key: the file's value, or the default (`default` overrides the
    /// description's for a default that follows other keys).
    public mutating func int(_ k: ConfigKey, default override: Int? = nil) -> Int {
        Int(integer(k, default: override.map { Int64($0) }))
    }

    public mutating func integer(_ k: ConfigKey, default override: Int64? = nil) -> Int64 {
        guard case .integer(let schemaDefault, let range, let choices) = k.kind else {
            return misread(k, as: "an integer", 0)
        }
        let d = override ?? schemaDefault
        var v = integer(k.name, in: choices.isEmpty ? range : Int64.min...Int64.max, default: d) ?? d
        if !choices.isEmpty && !choices.contains(v) {
            error(k.name, "'\(k.name)' = \(v) is not \(k.rangeText)")
            v = d
        }
        settings.append(ConfigSetting(key: k, value: .integer(v)))
        return v
    }

    public mutating func double(_ k: ConfigKey) -> Double {
        guard case .number(let d, let range, let decimals) = k.kind else { return misread(k, as: "a number", 0) }
        let v = double(k.name, in: range, default: d, decimals: decimals) ?? d
        settings.append(ConfigSetting(key: k, value: .float(v)))
        return v
    }

    public mutating func bool(_ k: ConfigKey) -> Bool {
        guard case .boolean(let d) = k.kind else { return misread(k, as: "a boolean", false) }
        let v = bool(k.name, default: d) ?? d
        settings.append(ConfigSetting(key: k, value: .boolean(v)))
        return v
    }

    public mutating func string(_ k: ConfigKey) -> String {
        guard case .string(let d, let maxLength, let choices) = k.kind else { return misread(k, as: "a string", "") }
        let v = choices.isEmpty ? string(k.name, default: d, maxLength: maxLength) ?? d
                                : choice(k.name, choices, default: d) ?? d
        settings.append(ConfigSetting(key: k, value: .string(v)))
        return v
    }

    /// A reader asked for a key as a type its description does not have: a mistake in
    /// the program, reported like a config error so that the tests catch it.
    private mutating func misread<T>(_ k: ConfigKey, as type: String, _ fallback: T) -> T {
        markUsed(k.name)
        diagnostics.append(Diagnostic(nil, "schema: '\(k.name)' is a \(k.typeName) key, read as \(type)"))
        return fallback
    }

    /// Marks a key as read by a caller that interprets it itself.
    public mutating func acceptKey(_ key: String) {
        markUsed(key)
    }

    /// Whether the document has this key (does not mark it as read).
    public mutating func has(_ key: String) -> Bool {
        document.entry(key) != nil
    }

    /// Reports every key and declared table that the schema did not read.
    public mutating func reportUnknown() {
        for t in document.tables where !knownTables.contains(t.name) && !hasUsedKey(under: t.name) {
            diagnostics.append(Diagnostic(t.position, "unknown table [\(t.name)]"))
        }
        for e in document.entries where !usedKeys.contains(e.key) {
            diagnostics.append(Diagnostic(e.position, "unknown key '\(e.key)'"))
        }
        diagnostics.sort { a, b in
            let pa = a.position ?? SourcePosition(line: 0, column: 0)
            let pb = b.position ?? SourcePosition(line: 0, column: 0)
            return pa.line != pb.line ? pa.line < pb.line : pa.column < pb.column
        }
    }

    private func hasUsedKey(under table: String) -> Bool {
        let head = table + "."
        for k in usedKeys where k.hasPrefix(head) { return true }
        return false
    }
}
