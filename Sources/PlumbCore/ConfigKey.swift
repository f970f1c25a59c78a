// One key of a config schema, described as data: its type, default, range or choices,
// unit, whether it may change in flight, and one line of documentation. A schema is a
// static table of these (PlumbFlight's `ConfigSchema`); `ConfigReader` reads a key from
// its description, so the default and the range exist in one place only, and the same
// table writes the default file and the reference documentation.

public struct ConfigKey: Sendable {
    /// The value's type with its default and its bounds.
    public enum Kind: Sendable {
        /// A whole number in `range`; when `choices` is not empty, one of them.
        case integer(Int64, range: ClosedRange<Int64>, choices: [Int64])
        /// A float (an integer is accepted too); `decimals` for the range in messages.
        case number(Double, range: ClosedRange<Double>, decimals: Int)
        case boolean(Bool)
        /// At most `maxLength` bytes; when `choices` is not empty, one of them.
        case string(String, maxLength: Int, choices: [String])
    }

    /// The full dotted name, `loop.rate_hz`.
    public let name: String
    public let kind: Kind
    /// The unit of the value (`Hz`, `m/s`, ...); empty for none.
    public let unit: String
    /// True when a new value may take effect while the daemon runs, in flight included
    /// (a config reload applies it at a tick boundary); false: it applies at start-up only.
    public let tunable: Bool
    /// One line: what the key does.
    public let doc: String
    /// When the default follows other keys, how (the default in `kind` is then the value
    /// for the other keys' defaults); empty otherwise.
    public let derivedDefault: String

    public init(_ name: String, _ kind: Kind, unit: String = "", tunable: Bool = false, doc: String,
                derivedDefault: String = "") {
        self.name = name
        self.kind = kind
        self.unit = unit
        self.tunable = tunable
        self.doc = doc
        self.derivedDefault = derivedDefault
    }

    public static func integer(_ name: String, _ value: Int64, _ range: ClosedRange<Int64>, choices: [Int64] = [],
                               unit: String = "", tunable: Bool = false, derivedDefault: String = "",
                               _ doc: String) -> ConfigKey {
        ConfigKey(name, .integer(value, range: range, choices: choices), unit: unit, tunable: tunable, doc: doc,
                  derivedDefault: derivedDefault)
    }

    public static func number(_ name: String, _ value: Double, _ range: ClosedRange<Double>, decimals: Int = 3,
                              unit: String = "", tunable: Bool = false, _ doc: String) -> ConfigKey {
        ConfigKey(name, .number(value, range: range, decimals: decimals), unit: unit, tunable: tunable, doc: doc)
    }

    public static func boolean(_ name: String, _ value: Bool, tunable: Bool = false, _ doc: String) -> ConfigKey {
        ConfigKey(name, .boolean(value), tunable: tunable, doc: doc)
    }

    public static func string(_ name: String, _ value: String, maxLength: Int = 256, choices: [String] = [],
                              tunable: Bool = false, _ doc: String) -> ConfigKey {
        ConfigKey(name, .string(value, maxLength: maxLength, choices: choices), tunable: tunable, doc: doc)
    }

    /// The default as a value.
    public var defaultValue: TOMLValue {
        switch kind {
        case .integer(let v, _, _): return .integer(v)
        case .number(let v, _, _): return .float(v)
        case .boolean(let v): return .boolean(v)
        case .string(let v, _, _): return .string(v)
        }
    }

    // The default as a Swift value, for the config structs' initial values (0, false or ""
    // for a key of another type: a mistake that the schema tests catch).
    public var intDefault: Int { if case .integer(let v, _, _) = kind { return Int(v) }; return 0 }
    public var numberDefault: Double { if case .number(let v, _, _) = kind { return v }; return 0 }
    public var boolDefault: Bool { if case .boolean(let v) = kind { return v }; return false }
    public var stringDefault: String { if case .string(let v, _, _) = kind { return v }; return "" }

    /// `integer`, `number`, `boolean` or `string`.
    public var typeName: String {
        switch kind {
        case .integer: return "integer"
        case .number: return "number"
        case .boolean: return "boolean"
        case .string: return "string"
        }
    }

    /// The allowed values in words: `10...1000`, `one of 10, 20, 40`, `at most 32 bytes`;
    /// empty for a boolean or a free string of the usual length.
    public var rangeText: String {
        switch kind {
        case .integer(_, let range, let choices):
            if !choices.isEmpty {
                var s = "one of "
                for (i, c) in choices.enumerated() { s += (i == 0 ? "" : ", ") + String(c) }
                return s
            }
            return "\(range.lowerBound)...\(range.upperBound)"
        case .number(_, let range, _):
            return formatConfigNumber(range.lowerBound, pointZero: false) + "..." + formatConfigNumber(range.upperBound, pointZero: false)
        case .boolean:
            return ""
        case .string(_, let maxLength, let choices):
            if !choices.isEmpty {
                var s = "one of "
                for (i, c) in choices.enumerated() { s += (i == 0 ? "" : ", ") + c }
                return s
            }
            return maxLength == 256 ? "" : "at most \(maxLength) bytes"
        }
    }

    /// The table the key belongs to (`loop` for `loop.rate_hz`), empty at the top level.
    public var table: String {
        guard let dot = name.lastIndex(of: ".") else { return "" }
        return String(name[name.startIndex..<dot])
    }

    /// The name within its table (`rate_hz` for `loop.rate_hz`).
    public var shortName: String {
        guard let dot = name.lastIndex(of: ".") else { return name }
        return String(name[name.index(after: dot)...])
    }
}

/// The value a key had after reading (the file's, or the default), in schema terms.
public struct ConfigSetting: Equatable {
    public var key: ConfigKey
    public var value: TOMLValue

    public init(key: ConfigKey, value: TOMLValue) {
        self.key = key
        self.value = value
    }

    public static func == (a: ConfigSetting, b: ConfigSetting) -> Bool {
        a.key.name == b.key.name && a.value == b.value
    }
}

/// A value as it is written in a config file: `100`, `0.25`, `true`, `"info"`.
public func formatConfigValue(_ v: TOMLValue) -> String {
    switch v {
    case .integer(let i): return String(i)
    case .float(let d): return formatConfigNumber(d, pointZero: true)
    case .boolean(let b): return b ? "true" : "false"
    case .string(let s): return quoteConfigString(s)
    case .array(let items):
        var s = "["
        for (i, e) in items.enumerated() { s += (i == 0 ? "" : ", ") + formatConfigValue(e) }
        return s + "]"
    }
}

/// The shortest decimal (at most 9 places) that reads back as exactly `v`; with
/// `pointZero`, a whole number keeps one decimal (`60.0`), as a TOML float.
public func formatConfigNumber(_ v: Double, pointZero: Bool) -> String {
    if !v.isFinite { return formatFixed(v, decimals: 0) }
    var scale: Double = 1
    for places in 0...9 {
        if (v * scale).rounded() / scale == v {
            return formatFixed(v, decimals: places == 0 && pointZero ? 1 : places)
        }
        scale *= 10
    }
    return formatFixed(v, decimals: 9)
}

/// A TOML basic string: quotes, backslashes and control characters escaped.
public func quoteConfigString(_ s: String) -> String {
    var out = "\""
    for u in s.unicodeScalars {
        switch u {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\t": out += "\\t"
        default:
            if u.value < 0x20 || u.value == 0x7F {
                var hex = String(u.value, radix: 16, uppercase: true)
                while hex.utf8.count < 4 { hex = "0" + hex }
                out += "\\u" + hex
            } else {
                out.unicodeScalars.append(u)
            }
        }
    }
    return out + "\""
}
