import Testing
@testable import PlumbCore

@Suite struct TOMLValidInput {
    @Test func scalarsTablesAndDottedKeys() throws {
        let doc = try TOMLDocument.parse("""
        # leading comment
        title = "plumb"   # trailing comment
        count = 1_000
        hex = 0x0B
        oct = 0o17
        bin = 0b101
        neg = -42
        ratio = 0.25
        big = 6.02e23
        small = -1.5E-3
        on = true
        off = false
        'literal key' = 'C:\\path'
        "quoted.key" = "tab\\tnewline\\nquote\\" unicode\\u00e9"

        [loop]
        rate_hz = 100
        a.b.c = 3

        [devices.battery]
        address = 0x0B
        """)
        #expect(doc["title"] == .string("plumb"))
        #expect(doc["count"] == .integer(1000))
        #expect(doc["hex"] == .integer(11))
        #expect(doc["oct"] == .integer(15))
        #expect(doc["bin"] == .integer(5))
        #expect(doc["neg"] == .integer(-42))
        #expect(doc["ratio"] == .float(0.25))
        #expect(doc["big"] == .float(6.02e23))
        #expect(doc["small"] == .float(-1.5e-3))
        #expect(doc["on"] == .boolean(true))
        #expect(doc["off"] == .boolean(false))
        #expect(doc["literal key"] == .string("C:\\path"))
        #expect(doc["quoted.key"] == .string("tab\tnewline\nquote\" unicode\u{e9}"))
        #expect(doc["loop.rate_hz"] == .integer(100))
        #expect(doc["loop.a.b.c"] == .integer(3))
        #expect(doc["devices.battery.address"] == .integer(11))
        #expect(doc.entry("loop.rate_hz")?.position == SourcePosition(line: 17, column: 1))
        #expect(doc.tables.map { $0.name } == ["loop", "devices.battery"])
        #expect(doc.childTables(of: "devices") == ["battery"])
    }

    @Test func arraysSpanLinesWithComments() throws {
        let doc = try TOMLDocument.parse("""
        speeds = [
          0.5,   # slow
          1.0,
          2,     # integer next to floats
        ]
        names = ["a", 'b']
        empty = []
        """)
        #expect(doc["speeds"] == .array([.float(0.5), .float(1.0), .integer(2)]))
        #expect(doc["names"] == .array([.string("a"), .string("b")]))
        #expect(doc["empty"] == .array([]))
    }

    @Test func specialFloatsAndLimits() throws {
        let doc = try TOMLDocument.parse("a = inf\nb = -inf\nc = nan\nd = 9223372036854775807\ne = -9223372036854775808\n")
        #expect(doc["a"] == .float(.infinity))
        #expect(doc["b"] == .float(-.infinity))
        if case .float(let c) = doc["c"] { #expect(c.isNaN) } else { Issue.record("nan not parsed") }
        #expect(doc["d"] == .integer(Int64.max))
        #expect(doc["e"] == .integer(Int64.min))
    }

    @Test func crlfAndByteOrderMark() throws {
        let bytes: [UInt8] = [0xEF, 0xBB, 0xBF] + Array("a = 1\r\nb = 2\r\n".utf8)
        let doc = try TOMLDocument.parse(bytes: bytes)
        #expect(doc["a"] == .integer(1))
        #expect(doc.entry("b")?.position == SourcePosition(line: 2, column: 1))
    }

    @Test func floatsRoundTripCommonValues() throws {
        for (text, value) in [("0.1", 0.1), ("3.14159", 3.14159), ("1e-7", 1e-7), ("123456.789", 123456.789),
                              ("2.5e-10", 2.5e-10), ("0.0", 0.0), ("1_000.5", 1000.5)] {
            let doc = try TOMLDocument.parse("v = \(text)")
            #expect(doc["v"] == .float(value), "\(text)")
        }
    }
}

@Suite struct TOMLErrors {
    /// Parses `text`, expecting an error at `line`:`column` whose message contains `fragment`.
    func expectError(_ text: String, line: Int, column: Int, _ fragment: String,
                     sourceLocation: SourceLocation = #_sourceLocation) {
        do {
            _ = try TOMLDocument.parse(text)
            Issue.record("no error for: \(text)", sourceLocation: sourceLocation)
        } catch {
            #expect(error.position == SourcePosition(line: line, column: column),
                    "\(error.message)", sourceLocation: sourceLocation)
            #expect(error.message.contains(fragment), "\(error.message)", sourceLocation: sourceLocation)
        }
    }

    @Test func everyErrorKindHasItsPosition() {
        expectError("a = 1\nb = \"open\n", line: 2, column: 5, "unterminated string")
        expectError("a = 'open", line: 1, column: 5, "unterminated string")
        expectError("a = \"bad \\q\"", line: 1, column: 10, "invalid escape")
        expectError("a = \"\\u12\"", line: 1, column: 6, "hexadecimal digits")
        expectError("a = 1\na = 2", line: 2, column: 1, "duplicate key 'a' (first defined at line 1)")
        expectError("[t]\n[t]", line: 2, column: 1, "defined twice")
        expectError("a = 1\n[a]", line: 2, column: 1, "already a value")
        expectError("a.b = 1\na = 2", line: 2, column: 1, "already a table")
        expectError("a = 1\na.b = 2", line: 2, column: 1, "already a value")
        expectError("a 1", line: 1, column: 3, "expected '='")
        expectError("a =\n", line: 1, column: 4, "expected a value")
        expectError("a = 1 2", line: 1, column: 7, "expected the end of the line")
        expectError("a = 01", line: 1, column: 5, "invalid number")
        expectError("a = 1__0", line: 1, column: 5, "invalid number")
        expectError("a = 99999999999999999999", line: 1, column: 5, "invalid number")
        expectError("a = 1.", line: 1, column: 5, "invalid number")
        expectError("a = yes", line: 1, column: 5, "strings need quotes")
        expectError("a = fast", line: 1, column: 5, "invalid value 'fast' (strings need quotes)")
        expectError("a = slow-down", line: 1, column: 5, "invalid value 'slow-down'")
        expectError("a = \"\\U0001F6\"", line: 1, column: 6, "\\U escape needs 8")
        expectError("a = 2024-01-01", line: 1, column: 5, "dates and times")
        expectError("[[pads]]", line: 1, column: 2, "arrays of tables")
        expectError("a = { b = 1 }", line: 1, column: 5, "inline tables")
        expectError("a = [[1]]", line: 1, column: 6, "nested arrays")
        expectError("a = \"\"\"x\"\"\"", line: 1, column: 5, "multi-line strings")
        expectError("a = [1, 2", line: 1, column: 5, "unterminated array")
        expectError("a = [1 2]", line: 1, column: 8, "expected ',' or ']'")
        expectError("[table", line: 1, column: 7, "expected ']'")
        expectError("= 1", line: 1, column: 1, "expected a key")
        expectError("a = 1\r", line: 1, column: 6, "carriage return")
        expectError("# bell \u{07}\n", line: 1, column: 8, "control character in comment")
        expectError("a = \"x\u{01}\"", line: 1, column: 7, "control character in string")
    }

    @Test func invalidUTF8IsRefusedInBothStringKinds() {
        for quote in [UInt8(ascii: "'"), UInt8(ascii: "\"")] {
            let bytes: [UInt8] = Array("a = ".utf8) + [quote, 0x62, 0xFF, quote]
            #expect(throws: TOMLError(SourcePosition(line: 1, column: 5), "string is not valid UTF-8")) {
                try TOMLDocument.parse(bytes: bytes)
            }
        }
    }

    @Test func columnsCountCharactersNotBytes() {
        expectError("name = \"é\" x", line: 1, column: 12, "expected the end of the line")
    }

    @Test func formattedLikeACompiler() {
        let e = TOMLError(SourcePosition(line: 3, column: 7), "invalid number '01'")
        #expect(e.formatted(file: "plumbd.toml") == "plumbd.toml:3:7: invalid number '01'")
    }

    @Test func oversizedInputIsRefused() {
        let big = String(repeating: "# padding\n", count: TOMLDocument.maxBytes / 10 + 1)
        #expect(throws: TOMLError.self) { try TOMLDocument.parse(big) }
    }
}

@Suite struct ConfigReaderRules {
    func reader(_ text: String) throws -> ConfigReader {
        ConfigReader(try TOMLDocument.parse(text))
    }

    @Test func readsTypedValuesAndDefaults() throws {
        var r = try reader("[loop]\nrate_hz = 200\ngain = 2\n")
        #expect(r.int("loop.rate_hz", in: 10...1000) == 200)
        #expect(r.double("loop.gain", in: 0...10) == 2.0)
        #expect(r.bool("loop.enabled", default: true) == true)
        r.reportUnknown()
        #expect(r.diagnostics.isEmpty)
    }

    @Test func reportsEveryProblemWithItsPosition() throws {
        var r = try reader("""
        [loop]
        rate_hz = 5000
        gain = "high"
        mode = "fast"
        typo_key = 1

        [unknown_table]
        x = 1
        """)
        _ = r.int("loop.rate_hz", in: 10...1000)
        _ = r.double("loop.gain", in: 0...10, default: 1)
        _ = r.choice("loop.mode", ["slow", "normal"], default: "normal")
        _ = r.int("loop.required_key", in: 0...1)
        r.reportUnknown()
        let messages = r.diagnostics.map { $0.formatted(file: "c.toml") }
        #expect(messages.contains("c.toml:2:1: 'loop.rate_hz' = 5000 is out of range 10...1000"))
        #expect(messages.contains("c.toml:3:1: 'loop.gain' must be a number, not string"))
        #expect(messages.contains("c.toml:4:1: 'loop.mode' = \"fast\" is not one of: slow, normal"))
        #expect(messages.contains("c.toml:1:1: missing required key 'loop.required_key'"))
        #expect(messages.contains("c.toml:5:1: unknown key 'loop.typo_key'"))
        #expect(messages.contains("c.toml:7:1: unknown table [unknown_table]"))
        #expect(messages.contains("c.toml:8:1: unknown key 'unknown_table.x'"))
        #expect(messages.count == 7)
    }
}

@Suite struct FormattingAndCRC {
    @Test func fixedPoint() {
        #expect(formatFixed(3.14159, decimals: 2) == "3.14")
        #expect(formatFixed(-0.5, decimals: 1) == "-0.5")
        #expect(formatFixed(2, decimals: 0) == "2")
        #expect(formatFixed(0.05, decimals: 3) == "0.050")
        #expect(formatFixed(-0.0001, decimals: 2) == "0.00")
        #expect(formatFixed(.nan, decimals: 2) == "nan")
        #expect(formatHex(UInt8(0x0B)) == "0x0B")
    }

    @Test func smbusPECMatchesKnownVector() {
        // CRC-8/SMBUS check value over "123456789" is 0xF4.
        #expect(CRC8SMBus.checksum(Array("123456789".utf8)) == 0xF4)
    }
}
