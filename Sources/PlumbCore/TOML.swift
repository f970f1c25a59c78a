// A parser for the subset of TOML 1.0 that Plumbline's board and config files use.
// It compiles in Embedded Swift (no Foundation, typed throws) and is documented in
// docs/config-format.md. Supported: tables `[a.b]`, bare/quoted/dotted keys, basic and
// literal strings, integers (decimal, 0x, 0o, 0b, underscores), floats (incl. inf/nan),
// booleans, arrays of scalars (may span lines), comments. Not supported, with a clear
// error: arrays of tables, inline tables, nested arrays, multi-line strings, dates.

/// A parsed value.
public enum TOMLValue: Equatable {
    case string(String)
    case integer(Int64)
    case float(Double)
    case boolean(Bool)
    case array([TOMLValue])

    /// The TOML name of the value's type, for error messages.
    public var typeName: String {
        switch self {
        case .string: return "string"
        case .integer: return "integer"
        case .float: return "float"
        case .boolean: return "boolean"
        case .array: return "array"
        }
    }
}

/// A 1-based line and column (columns count characters, not bytes).
public struct SourcePosition: Equatable, Sendable {
    public var line: Int
    public var column: Int
    public init(line: Int, column: Int) {
        self.line = line
        self.column = column
    }
}

/// One `key = value` of the document, with its full dotted key (table path included).
public struct TOMLEntry {
    public var key: String
    public var value: TOMLValue
    public var position: SourcePosition
}

/// A syntax error, located at the character where parsing stopped.
public struct TOMLError: Error, Equatable {
    public var position: SourcePosition
    public var message: String
    public init(_ position: SourcePosition, _ message: String) {
        self.position = position
        self.message = message
    }
    /// `file:line:column: message`, the form compilers use, so editors can jump to it.
    public func formatted(file: String) -> String {
        "\(file):\(position.line):\(position.column): \(message)"
    }
}

/// A parsed document: the entries in file order and the tables that were declared.
public struct TOMLDocument {
    /// Inputs larger than this are refused: a config is a few kilobytes.
    public static let maxBytes = 256 * 1024
    /// At most this many keys: bounds memory and the cost of lookups.
    public static let maxEntries = 4096
    /// At most this many elements in one array.
    public static let maxArrayElements = 1024

    public private(set) var entries: [TOMLEntry] = []
    /// Tables declared with a `[header]`, in file order, with the header's position.
    public private(set) var tables: [(name: String, position: SourcePosition)] = []
    private var index: [String: Int] = [:]

    public init() {}

    public static func parse(_ text: String) throws(TOMLError) -> TOMLDocument {
        var parser = TOMLParser(Array(text.utf8))
        return try parser.parseDocument()
    }

    public static func parse(bytes: [UInt8]) throws(TOMLError) -> TOMLDocument {
        var parser = TOMLParser(bytes)
        return try parser.parseDocument()
    }

    public func entry(_ key: String) -> TOMLEntry? {
        guard let i = index[key] else { return nil }
        return entries[i]
    }

    public subscript(key: String) -> TOMLValue? { entry(key)?.value }

    /// Names of the direct sub-tables of `prefix` (e.g. "gpio" → ["brake", "hook_latched"]),
    /// in the order they first appear.
    public func childTables(of prefix: String) -> [String] {
        var out: [String] = []
        let head = prefix + "."
        func consider(_ name: String) {
            guard name.hasPrefix(head) else { return }
            let rest = name.dropFirst(head.count)
            guard let dot = rest.firstIndex(of: ".") else {
                // `prefix.child` itself is a table only if declared as one; values are not.
                return
            }
            let child = String(rest[rest.startIndex..<dot])
            if !out.contains(child) { out.append(child) }
        }
        for t in tables {
            consider(t.name + ".")
        }
        for e in entries { consider(e.key) }
        return out
    }

    mutating func append(_ entry: TOMLEntry) {
        index[entry.key] = entries.count
        entries.append(entry)
    }

    mutating func declareTable(_ name: String, _ position: SourcePosition) {
        tables.append((name: name, position: position))
    }
}

struct TOMLParser {
    let bytes: [UInt8]
    var offset = 0
    var line = 1
    var column = 1
    var document = TOMLDocument()
    /// Full keys that hold values.
    var valueKeys: [String: SourcePosition] = [:]
    /// Tables declared by a header.
    var explicitTables: [String: SourcePosition] = [:]
    /// Tables that exist because a longer key or header passes through them.
    var implicitTables: Set<String> = []
    var currentTable: [String] = []

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    var position: SourcePosition { SourcePosition(line: line, column: column) }
    var atEnd: Bool { offset >= bytes.count }
    var peek: UInt8? { offset < bytes.count ? bytes[offset] : nil }

    func peek(at delta: Int) -> UInt8? {
        let i = offset + delta
        return i < bytes.count ? bytes[i] : nil
    }

    mutating func advance() {
        guard offset < bytes.count else { return }
        let b = bytes[offset]
        offset += 1
        if b == 0x0A {
            line += 1
            column = 1
        } else if b & 0xC0 != 0x80 {
            column += 1
        }
    }

    func fail(_ message: String) -> TOMLError { TOMLError(position, message) }

    mutating func parseDocument() throws(TOMLError) -> TOMLDocument {
        if bytes.count > TOMLDocument.maxBytes {
            throw TOMLError(SourcePosition(line: 1, column: 1),
                            "file is larger than \(TOMLDocument.maxBytes) bytes")
        }
        // A UTF-8 byte-order mark is tolerated, as editors on some systems write one.
        if bytes.count >= 3 && bytes[0] == 0xEF && bytes[1] == 0xBB && bytes[2] == 0xBF {
            offset = 3
        }
        while !atEnd {
            skipWhitespace()
            guard let b = peek else { break }
            switch b {
            case 0x0A, 0x0D:
                try parseNewline()
            case UInt8(ascii: "#"):
                try skipComment()
            case UInt8(ascii: "["):
                try parseTableHeader()
                try expectEndOfLine()
            default:
                try parseKeyValue()
                try expectEndOfLine()
            }
        }
        return document
    }

    mutating func skipWhitespace() {
        while let b = peek, b == 0x20 || b == 0x09 { advance() }
    }

    mutating func parseNewline() throws(TOMLError) {
        if peek == 0x0D {
            guard peek(at: 1) == 0x0A else { throw fail("carriage return without line feed") }
            advance()
        }
        advance()
    }

    mutating func skipComment() throws(TOMLError) {
        // At '#': runs to the end of the line. Control characters other than tab are
        // not allowed in comments.
        advance()
        while let b = peek, b != 0x0A {
            if b == 0x0D && peek(at: 1) == 0x0A { break }
            if (b < 0x20 && b != 0x09) || b == 0x7F {
                throw fail("control character in comment")
            }
            advance()
        }
    }

    /// After a header or a key/value pair: optional whitespace and comment, then newline or end.
    mutating func expectEndOfLine() throws(TOMLError) {
        skipWhitespace()
        guard let b = peek else { return }
        if b == UInt8(ascii: "#") { try skipComment() }
        guard let c = peek else { return }
        if c == 0x0A || c == 0x0D {
            try parseNewline()
            return
        }
        throw fail("expected the end of the line, found '\(describe(c))'")
    }

    func describe(_ b: UInt8) -> String {
        if b >= 0x20 && b < 0x7F { return String(decoding: [b], as: UTF8.self) }
        return formatHex(b)
    }

    static func isBareKeyByte(_ b: UInt8) -> Bool {
        (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || (b >= 0x30 && b <= 0x39)
            || b == UInt8(ascii: "_") || b == UInt8(ascii: "-")
    }

    mutating func parseKeyPart() throws(TOMLError) -> String {
        guard let b = peek else { throw fail("expected a key, found the end of the file") }
        if b == UInt8(ascii: "\"") { return try parseBasicString() }
        if b == UInt8(ascii: "'") { return try parseLiteralString() }
        guard TOMLParser.isBareKeyByte(b) else {
            throw fail("expected a key, found '\(describe(b))'")
        }
        let start = offset
        while let c = peek, TOMLParser.isBareKeyByte(c) { advance() }
        return String(decoding: bytes[start..<offset], as: UTF8.self)
    }

    mutating func parseDottedKey() throws(TOMLError) -> [String] {
        var parts: [String] = [try parseKeyPart()]
        while true {
            skipWhitespace()
            guard peek == UInt8(ascii: ".") else { return parts }
            advance()
            skipWhitespace()
            if parts.count >= 16 { throw fail("key has more than 16 parts") }
            parts.append(try parseKeyPart())
        }
    }

    static func join(_ parts: [String]) -> String {
        var out = ""
        for (i, p) in parts.enumerated() {
            if i > 0 { out += "." }
            out += p
        }
        return out
    }

    mutating func parseTableHeader() throws(TOMLError) {
        let start = position
        advance()  // '['
        if peek == UInt8(ascii: "[") {
            throw fail("arrays of tables ([[...]]) are not supported in this format")
        }
        skipWhitespace()
        let parts = try parseDottedKey()
        skipWhitespace()
        guard peek == UInt8(ascii: "]") else {
            if let b = peek { throw fail("expected ']' to close the table header, found '\(describe(b))'") }
            throw fail("expected ']' to close the table header")
        }
        advance()
        let name = TOMLParser.join(parts)
        if let first = valueKeys[name] {
            throw TOMLError(start, "'\(name)' is already a value (line \(first.line)), it cannot be a table")
        }
        if let first = explicitTables[name] {
            throw TOMLError(start, "table [\(name)] is defined twice (first at line \(first.line))")
        }
        try checkPrefixes(parts, at: start)
        explicitTables[name] = start
        document.declareTable(name, start)
        currentTable = parts
    }

    /// Every proper prefix of a new key becomes a table; none may already be a value.
    mutating func checkPrefixes(_ parts: [String], at where_: SourcePosition) throws(TOMLError) {
        var prefix = ""
        for i in 0..<(parts.count - 1) {
            prefix = i == 0 ? parts[0] : prefix + "." + parts[i]
            if let first = valueKeys[prefix] {
                throw TOMLError(where_, "'\(prefix)' is already a value (line \(first.line)), it cannot hold keys")
            }
            implicitTables.insert(prefix)
        }
    }

    mutating func parseKeyValue() throws(TOMLError) {
        let start = position
        let keyParts = try parseDottedKey()
        skipWhitespace()
        guard peek == UInt8(ascii: "=") else {
            if let b = peek, b != 0x0A, b != 0x0D {
                throw fail("expected '=' after the key, found '\(describe(b))'")
            }
            throw fail("expected '=' after the key")
        }
        advance()
        skipWhitespace()
        let full = currentTable + keyParts
        let name = TOMLParser.join(full)
        if let first = valueKeys[name] {
            throw TOMLError(start, "duplicate key '\(name)' (first defined at line \(first.line))")
        }
        if explicitTables[name] != nil || implicitTables.contains(name) {
            throw TOMLError(start, "'\(name)' is already a table, it cannot be a value")
        }
        try checkPrefixes(full, at: start)
        let value = try parseValue(allowArray: true)
        if document.entries.count >= TOMLDocument.maxEntries {
            throw TOMLError(start, "more than \(TOMLDocument.maxEntries) keys")
        }
        valueKeys[name] = start
        document.append(TOMLEntry(key: name, value: value, position: start))
    }

    mutating func parseValue(allowArray: Bool) throws(TOMLError) -> TOMLValue {
        guard let b = peek else { throw fail("expected a value, found the end of the file") }
        switch b {
        case UInt8(ascii: "\""):
            if peek(at: 1) == UInt8(ascii: "\"") && peek(at: 2) == UInt8(ascii: "\"") {
                throw fail("multi-line strings are not supported in this format")
            }
            return .string(try parseBasicString())
        case UInt8(ascii: "'"):
            if peek(at: 1) == UInt8(ascii: "'") && peek(at: 2) == UInt8(ascii: "'") {
                throw fail("multi-line strings are not supported in this format")
            }
            return .string(try parseLiteralString())
        case UInt8(ascii: "["):
            guard allowArray else { throw fail("nested arrays are not supported in this format") }
            return try parseArray()
        case UInt8(ascii: "{"):
            throw fail("inline tables are not supported in this format; use a [table]")
        case UInt8(ascii: "t"), UInt8(ascii: "f"):
            return try parseBoolean()
        case 0x0A, 0x0D:
            throw fail("expected a value after '='")
        default:
            return try parseNumber()
        }
    }

    mutating func parseBoolean() throws(TOMLError) -> TOMLValue {
        if matchWord("true") { return .boolean(true) }
        if matchWord("false") { return .boolean(false) }
        return try parseNumber()  // reports the bare word by name
    }

    /// Consumes `word` if it is next and not followed by a key character.
    mutating func matchWord(_ word: String) -> Bool {
        let w = Array(word.utf8)
        let n = w.count
        guard offset + n <= bytes.count else { return false }
        for i in 0..<n where bytes[offset + i] != w[i] { return false }
        if let after = peek(at: n), TOMLParser.isBareKeyByte(after) || after == UInt8(ascii: ".") {
            return false
        }
        for _ in 0..<n { advance() }
        return true
    }

    mutating func parseArray() throws(TOMLError) -> TOMLValue {
        let start = position
        advance()  // '['
        var items: [TOMLValue] = []
        while true {
            try skipArrayFiller()
            guard let b = peek else {
                throw TOMLError(start, "unterminated array (no closing ']')")
            }
            if b == UInt8(ascii: "]") {
                advance()
                return .array(items)
            }
            if items.count >= TOMLDocument.maxArrayElements {
                throw fail("array has more than \(TOMLDocument.maxArrayElements) elements")
            }
            items.append(try parseValue(allowArray: false))
            try skipArrayFiller()
            guard let c = peek else { throw TOMLError(start, "unterminated array (no closing ']')") }
            if c == UInt8(ascii: ",") {
                advance()
            } else if c != UInt8(ascii: "]") {
                throw fail("expected ',' or ']' in array, found '\(describe(c))'")
            }
        }
    }

    /// Whitespace, newlines and comments are allowed between array elements.
    mutating func skipArrayFiller() throws(TOMLError) {
        while let b = peek {
            if b == 0x20 || b == 0x09 {
                advance()
            } else if b == 0x0A || b == 0x0D {
                try parseNewline()
            } else if b == UInt8(ascii: "#") {
                try skipComment()
            } else {
                return
            }
        }
    }

    mutating func parseLiteralString() throws(TOMLError) -> String {
        let start = position
        advance()  // '
        let begin = offset
        while let b = peek {
            if b == UInt8(ascii: "'") {
                let s = try validUTF8(Array(bytes[begin..<offset]), at: start)
                advance()
                return s
            }
            if b == 0x0A || b == 0x0D { throw TOMLError(start, "unterminated string (end of line before the closing quote)") }
            if (b < 0x20 && b != 0x09) || b == 0x7F { throw fail("control character in string") }
            advance()
        }
        throw TOMLError(start, "unterminated string (end of file before the closing quote)")
    }

    mutating func parseBasicString() throws(TOMLError) -> String {
        let start = position
        advance()  // "
        var out: [UInt8] = []
        while let b = peek {
            switch b {
            case UInt8(ascii: "\""):
                advance()
                return try validUTF8(out, at: start)
            case UInt8(ascii: "\\"):
                let escapeAt = position
                advance()
                guard let e = peek else { break }
                advance()
                switch e {
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "f"): out.append(0x0C)
                case UInt8(ascii: "r"): out.append(0x0D)
                case UInt8(ascii: "\""): out.append(0x22)
                case UInt8(ascii: "\\"): out.append(0x5C)
                case UInt8(ascii: "u"): try appendUnicode(&out, digits: 4, at: escapeAt)
                case UInt8(ascii: "U"): try appendUnicode(&out, digits: 8, at: escapeAt)
                default:
                    throw TOMLError(escapeAt, "invalid escape '\\\(describe(e))' in string")
                }
            case 0x0A, 0x0D:
                throw TOMLError(start, "unterminated string (end of line before the closing quote)")
            default:
                if (b < 0x20 && b != 0x09) || b == 0x7F { throw fail("control character in string") }
                out.append(b)
                advance()
            }
        }
        throw TOMLError(start, "unterminated string (end of file before the closing quote)")
    }

    func validUTF8(_ raw: [UInt8], at start: SourcePosition) throws(TOMLError) -> String {
        // String(validating:) is not in every toolchain we target; decode and compare.
        let s = String(decoding: raw, as: UTF8.self)
        if Array(s.utf8) != raw { throw TOMLError(start, "string is not valid UTF-8") }
        return s
    }

    mutating func appendUnicode(_ out: inout [UInt8], digits: Int, at escapeAt: SourcePosition) throws(TOMLError) {
        var scalar: UInt32 = 0
        for _ in 0..<digits {
            guard let b = peek, let d = hexDigitValue(b) else {
                throw TOMLError(escapeAt, "\\\(digits == 4 ? "u" : "U") escape needs \(digits) hexadecimal digits")
            }
            scalar = scalar << 4 | UInt32(d)
            advance()
        }
        guard let u = Unicode.Scalar(scalar) else {
            throw TOMLError(escapeAt, "\\u escape is not a Unicode scalar value")
        }
        guard let encoded = UTF8.encode(u) else {
            throw TOMLError(escapeAt, "\\u escape is not a Unicode scalar value")
        }
        for unit in encoded { out.append(unit) }
    }


    // MARK: numbers

    mutating func parseNumber() throws(TOMLError) -> TOMLValue {
        let start = position
        // Take the whole token first, then decide what it is.
        let begin = offset
        while let b = peek {
            let isTokenByte = (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A)
                || b == UInt8(ascii: "_") || b == UInt8(ascii: "+") || b == UInt8(ascii: "-")
                || b == UInt8(ascii: ".") || b == UInt8(ascii: ":")
            guard isTokenByte else { break }
            advance()
        }
        let token = Array(bytes[begin..<offset])
        if token.isEmpty {
            if let b = peek { throw fail("expected a value, found '\(describe(b))'") }
            throw fail("expected a value")
        }
        if let v = TOMLParser.number(token) { return v }
        let startsWithDigit = token[0] >= 0x30 && token[0] <= 0x39
        if startsWithDigit && (token.contains(UInt8(ascii: ":")) || (token.count >= 5 && token[4] == UInt8(ascii: "-"))) {
            throw TOMLError(start, "dates and times are not supported in this format")
        }
        let text = String(decoding: token, as: UTF8.self)
        if let first = token.first, (first >= 0x41 && first <= 0x5A) || (first >= 0x61 && first <= 0x7A) {
            throw TOMLError(start, "invalid value '\(text)' (strings need quotes)")
        }
        throw TOMLError(start, "invalid number '\(text)'")
    }

    /// Parses an integer or float token, or returns nil when it is not a valid number
    /// (an integer outside the 64-bit range included).
    static func number(_ t: [UInt8]) -> TOMLValue? {
        guard !t.isEmpty else { return nil }
        var i = 0
        var negative = false
        if t[0] == UInt8(ascii: "+") || t[0] == UInt8(ascii: "-") {
            negative = t[0] == UInt8(ascii: "-")
            i = 1
        }
        let body = Array(t[i...])
        if body == Array("inf".utf8) { return .float(negative ? -Double.infinity : Double.infinity) }
        if body == Array("nan".utf8) { return .float(Double.nan) }
        guard let first = body.first else { return nil }
        // Prefixed integers: no sign allowed.
        if body.count > 2 && first == UInt8(ascii: "0") && i == 0 {
            let radix: UInt64
            switch body[1] {
            case UInt8(ascii: "x"): radix = 16
            case UInt8(ascii: "o"): radix = 8
            case UInt8(ascii: "b"): radix = 2
            default: radix = 0
            }
            if radix != 0 {
                guard let v = digits(Array(body[2...]), radix: radix), v <= UInt64(Int64.max) else { return nil }
                return .integer(Int64(v))
            }
        }
        let isFloat = body.contains(UInt8(ascii: ".")) || body.contains(UInt8(ascii: "e")) || body.contains(UInt8(ascii: "E"))
        if !isFloat {
            // No leading zeros in decimal integers.
            if body.count > 1 && first == UInt8(ascii: "0") { return nil }
            guard let v = digits(body, radix: 10) else { return nil }
            if negative {
                guard v <= UInt64(Int64.max) + 1 else { return nil }
                return .integer(v == UInt64(Int64.max) + 1 ? Int64.min : -Int64(v))
            }
            guard v <= UInt64(Int64.max) else { return nil }
            return .integer(Int64(v))
        }
        guard let d = decimalFloat(body) else { return nil }
        return .float(negative ? -d : d)
    }

    /// Digits with single underscores between them; nil on any other character or overflow.
    static func digits(_ t: [UInt8], radix: UInt64) -> UInt64? {
        guard !t.isEmpty, t.first != UInt8(ascii: "_"), t.last != UInt8(ascii: "_") else { return nil }
        var value: UInt64 = 0
        var previousUnderscore = false
        for b in t {
            if b == UInt8(ascii: "_") {
                if previousUnderscore { return nil }
                previousUnderscore = true
                continue
            }
            previousUnderscore = false
            guard let d = hexDigitValue(b), UInt64(d) < radix else { return nil }
            let (m, o1) = value.multipliedReportingOverflow(by: radix)
            let (s, o2) = m.addingReportingOverflow(UInt64(d))
            if o1 || o2 { return nil }
            value = s
        }
        return value
    }

    /// A TOML decimal float without sign: int part, optional fraction, optional exponent.
    static func decimalFloat(_ t: [UInt8]) -> Double? {
        var i = 0
        func run(_ t: [UInt8], _ i: inout Int) -> [UInt8]? {
            // A run of digits with single underscores between digits.
            var out: [UInt8] = []
            var previousUnderscore = true  // no leading underscore
            while i < t.count {
                let b = t[i]
                if b >= 0x30 && b <= 0x39 {
                    out.append(b - 0x30)
                    previousUnderscore = false
                } else if b == UInt8(ascii: "_") {
                    if previousUnderscore { return nil }
                    previousUnderscore = true
                } else {
                    break
                }
                i += 1
            }
            if previousUnderscore && !out.isEmpty { return nil }  // trailing underscore
            return out
        }
        guard let intPart = run(t, &i), !intPart.isEmpty else { return nil }
        if intPart.count > 1 && intPart[0] == 0 { return nil }
        var frac: [UInt8] = []
        if i < t.count && t[i] == UInt8(ascii: ".") {
            i += 1
            guard let f = run(t, &i), !f.isEmpty else { return nil }
            frac = f
        }
        var exponent = 0
        if i < t.count && (t[i] == UInt8(ascii: "e") || t[i] == UInt8(ascii: "E")) {
            i += 1
            var expNegative = false
            if i < t.count && (t[i] == UInt8(ascii: "+") || t[i] == UInt8(ascii: "-")) {
                expNegative = t[i] == UInt8(ascii: "-")
                i += 1
            }
            guard let e = run(t, &i), !e.isEmpty else { return nil }
            for d in e {
                exponent = exponent * 10 + Int(d)
                if exponent > 100_000 { exponent = 100_000 }
            }
            if expNegative { exponent = -exponent }
        }
        guard i == t.count else { return nil }
        // Significant digits into an integer mantissa (first 19 kept), scale by 10^exp.
        var mantissa: UInt64 = 0
        var kept = 0
        var dropped = 0
        var leading = true
        for d in intPart + frac {
            if leading && d == 0 { continue }
            leading = false
            if kept < 19 {
                mantissa = mantissa * 10 + UInt64(d)
                kept += 1
            } else {
                dropped += 1
            }
        }
        let scale = exponent - frac.count + dropped
        return scaleByPowerOfTen(Double(mantissa), scale)
    }

    static func scaleByPowerOfTen(_ m: Double, _ e: Int) -> Double {
        if m == 0 { return 0 }
        // Exact powers of ten up to 1e22 make the common case correctly rounded.
        let exact: [Double] = [1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
                               1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22]
        if e >= 0 && e <= 22 { return m * exact[e] }
        if e < 0 && e >= -22 { return m / exact[-e] }
        var value = m
        var k = e
        while k > 0 && value.isFinite { let step = min(k, 22); value *= exact[step]; k -= step }
        while k < 0 && value != 0 { let step = min(-k, 22); value /= exact[step]; k += step }
        return value
    }
}
