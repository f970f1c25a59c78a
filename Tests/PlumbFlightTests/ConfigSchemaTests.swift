import PlumbCore
import PlumbFlight
import Testing

/// The schema is the one description of the config file: these check that the readers
/// ask for exactly its keys, take its defaults and its ranges, and that the default file
/// written from it reads back as the defaults.
@Suite struct ConfigSchemaTests {
    func read(_ text: String) throws -> (ReadConfig?, ConfigReader) {
        var r = ConfigReader(try TOMLDocument.parse(text))
        let c = ReadConfig.read(&r)
        return (c, r)
    }

    @Test func everyKeyReadIsInTheSchemaAndEveryKeyOfTheSchemaIsRead() throws {
        let (c, r) = try read("")
        #expect(c != nil)
        #expect(r.diagnostics.isEmpty, "\(r.diagnostics)")
        let schema = ConfigSchema.keys.map(\.name)
        #expect(Set(schema).count == schema.count, "a key is in the schema twice")
        // Through its description, each key exactly once...
        let read = r.settings.map(\.key.name)
        #expect(read.count == Set(read).count, "a key is read twice")
        #expect(Set(read) == Set(schema))
        // ...and no key asked for by name past the schema.
        #expect(r.keysAsked == Set(schema))
    }

    @Test func eachKeyIsDescribedOnceAndConsistently() {
        for k in ConfigSchema.keys {
            #expect(!k.doc.isEmpty && !k.doc.contains("\n"), "\(k.name): one line of doc")
            #expect(k.doc.utf8.count <= 110, "\(k.name): doc line too long for the default file")
            #expect(ConfigSchema.key(named: k.name)?.doc == k.doc)
            switch k.kind {
            case .integer(let d, let range, let choices):
                #expect(range.contains(d), "\(k.name)")
                if !choices.isEmpty { #expect(choices.contains(d), "\(k.name)") }
                for c in choices { #expect(range.contains(c), "\(k.name)") }
            case .number(let d, let range, _):
                #expect(range.contains(d), "\(k.name)")
            case .string(let d, let maxLength, let choices):
                #expect(d.utf8.count <= maxLength, "\(k.name)")
                if !choices.isEmpty { #expect(choices.contains(d), "\(k.name)") }
            case .boolean:
                break
            }
        }
        // Only the flight's own keys, the camera's numbers and the log level are tunable
        // (what the daemon can apply at a tick boundary); the rest sizes or opens something
        // at start-up (the camera's socket among them).
        let tunableTables: Set<String> = ["flight", "landing", "drop", "failsafe", "vision"]
        for k in ConfigSchema.keys {
            let live = (tunableTables.contains(k.table) && k.name != "vision.listen") || k.name == "log.level"
            #expect(k.tunable == live, "\(k.name)")
        }
    }

    @Test func theConfigStructsStartAtTheSchemasDefaults() {
        let d = ReadConfig.defaults
        #expect(d.config == PlumbConfig())
        #expect(d.config.flight == FlightConfig())
        #expect(d.settings.count == ConfigSchema.keys.count)
        for s in d.settings { #expect(s.value == s.key.defaultValue, "\(s.key.name)") }
    }

    /// Every range and every list of choices in the messages is the schema's: one value
    /// beyond each bound of each key, and a value not among its choices.
    @Test func theReadersTakeTheirRangesFromTheSchema() throws {
        for k in ConfigSchema.keys {
            var bad: [(String, String)] = []
            switch k.kind {
            case .integer(_, let range, let choices):
                if choices.isEmpty {
                    bad.append(("\(range.upperBound + 1)", "'\(k.name)' = \(range.upperBound + 1) is out of range \(range.lowerBound)...\(range.upperBound)"))
                    bad.append(("\(range.lowerBound - 1)", "'\(k.name)' = \(range.lowerBound - 1) is out of range \(range.lowerBound)...\(range.upperBound)"))
                } else {
                    bad.append(("\(choices[0] + 1)", "'\(k.name)' = \(choices[0] + 1) is not one of \(choices.map(String.init).joined(separator: ", "))"))
                }
                bad.append(("1.5", "'\(k.name)' must be an integer, not float"))
            case .number(_, let range, let decimals):
                func f(_ v: Double) -> String { formatFixed(v, decimals: decimals) }
                let inRange = "is out of range \(f(range.lowerBound))...\(f(range.upperBound))"
                let above = range.upperBound + max(1, abs(range.upperBound))
                bad.append((formatConfigNumber(above, pointZero: true), "'\(k.name)' = \(f(above)) " + inRange))
                let below = range.lowerBound - max(1, abs(range.lowerBound))
                bad.append((formatConfigNumber(below, pointZero: true), "'\(k.name)' = \(f(below)) " + inRange))
                bad.append(("\"x\"", "'\(k.name)' must be a number, not string"))
            case .boolean:
                bad.append(("1", "'\(k.name)' must be true or false, not integer"))
            case .string(_, let maxLength, let choices):
                if !choices.isEmpty {
                    bad.append(("\"nope\"", "'\(k.name)' = \"nope\" is not one of: \(choices.joined(separator: ", "))"))
                }
                bad.append(("\"" + String(repeating: "a", count: maxLength + 1) + "\"", "'\(k.name)' is longer than \(maxLength) bytes"))
                bad.append(("3", "'\(k.name)' must be a string, not integer"))
            }
            for (value, message) in bad {
                let (c, r) = try read("\(k.name) = \(value)\n")
                #expect(c == nil, "\(k.name) = \(value) was accepted")
                #expect(r.diagnostics.contains { $0.message.hasPrefix(message) },
                        "\(k.name) = \(value): \(r.diagnostics.map(\.message))")
                #expect(r.diagnostics.allSatisfy { $0.position == SourcePosition(line: 1, column: 1) }, "\(k.name)")
            }
        }
    }

    @Test func theDefaultFileReadsBackAsTheDefaultsWithEveryKeyOnItsOwnLine() throws {
        let text = ConfigSchema.defaultFile(board: "rpi4")
        let (c, r) = try read(text)
        #expect(r.diagnostics.isEmpty, "\(r.diagnostics.map(\.message))")
        var expected = ReadConfig.defaults.config
        expected.board = "rpi4"
        #expect(c?.config == expected)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        var table = ""
        var seen: [String] = []
        for (i, line) in lines.enumerated() {
            if line.hasPrefix("[") { table = String(line.dropFirst().dropLast()); continue }
            let active = !line.hasPrefix("#")
            let body = active ? line : String(line.dropFirst(2))
            guard let eq = body.range(of: " = ") else { continue }
            let short = String(body[..<eq.lowerBound])
            guard let k = ConfigSchema.key(named: table.isEmpty ? short : table + "." + short) else { continue }
            seen.append(k.name)
            // Written out unless its default follows other keys; its doc line above it;
            // its reload class at the end of the line.
            #expect(active == k.derivedDefault.isEmpty, "\(k.name)")
            #expect(lines[i - 1] == "# " + k.doc, "\(k.name)")
            #expect(line.hasSuffix(k.tunable ? " live" : " restart"), "\(k.name): \(line)")
            if !k.unit.isEmpty { #expect(line.contains("# " + k.unit), "\(k.name): \(line)") }
            if !k.rangeText.isEmpty { #expect(line.contains(k.rangeText), "\(k.name): \(line)") }
        }
        #expect(seen == ConfigSchema.keys.map(\.name))
        #expect(text.contains("\nboard = \"rpi4\""))
        #expect(ConfigSchema.defaultFile().contains("\nboard = \"\""))
    }

    @Test func unknownKeysAndTablesAreStillReported() throws {
        let (c, r) = try read("[landing]\nfinal_speed = 0.3\n[landings]\nx = 1\n")
        #expect(c == nil)
        let m = r.diagnostics.map(\.message)
        #expect(m.contains("unknown key 'landing.final_speed'"))
        #expect(m.contains("unknown table [landings]"))
        #expect(m.contains("unknown key 'landings.x'"))
    }

    /// One read reports every schema error of a file, each at its key, in file order.
    @Test func everyErrorOfAFileAtOnceWithItsPosition() throws {
        let text = """
        [loop]
        rate_hz = 5
        [landing]
        final_speed_mps = "slow"
        retry_policy = "pray"
        slow_below_m = 2
          final_below_m = 3
        [failsafe]
        reserve_pct = 50
        [tension]
        sample_rate_sps = 30
        colour = 1
        """
        let (c, r) = try read(text)
        #expect(c == nil)
        let got = r.diagnostics.map { $0.formatted(file: "f.toml") }
        #expect(got == [
            "f.toml:2:1: 'loop.rate_hz' = 5 is out of range 10...1000",
            "f.toml:4:1: 'landing.final_speed_mps' must be a number, not string",
            "f.toml:5:1: 'landing.retry_policy' = \"pray\" is not one of: hover, return, land_here",
            "f.toml:7:3: 'landing.final_below_m' must be below 'landing.slow_below_m'",
            // A check on a key the file leaves out points at its table's header.
            "f.toml:8:1: 'failsafe.reserve_pct_cold' (40) is below 'failsafe.reserve_pct' (50): the cold reserve must be the larger",
            "f.toml:11:1: 'tension.sample_rate_sps' = 30 is not one of 10, 20, 40, 80, 320",
            "f.toml:12:1: unknown key 'tension.colour'",
        ], "\(got)")
    }
}
