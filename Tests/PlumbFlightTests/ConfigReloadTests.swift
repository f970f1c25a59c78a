import PlumbCore
import PlumbFlight
import Testing

/// The reload decision (SIGHUP), without a daemon: running config, file, armed → outcome.
@Suite struct ConfigReloadTests {
    func file(_ text: String) -> ReloadedFile {
        let doc: TOMLDocument
        do {
            doc = try TOMLDocument.parse(text)
        } catch {
            return .errors([error.formatted(file: "f.toml")])
        }
        var r = ConfigReader(doc)
        if let c = ReadConfig.read(&r) { return .config(c) }
        return .errors(r.diagnostics.map { $0.formatted(file: "f.toml") })
    }

    func running(_ text: String) throws -> ReadConfig {
        guard case .config(let c) = file(text) else { throw Failure.invalid }
        return c
    }

    enum Failure: Error { case invalid }

    let base = "[landing]\nfinal_speed_mps = 0.3\n"

    @Test func theSameValuesChangeNothing() throws {
        let r = try running(base)
        // Left out or written at the same value: the same config.
        #expect(ConfigReload.decide(running: r, file: file(""), armed: true) == .unchanged)
        #expect(ConfigReload.decide(running: r, file: file("loop.rate_hz = 100\n"), armed: false) == .unchanged)
        #expect(ConfigReload.unchanged.summary == "no change")
    }

    @Test func aFileWithErrorsIsRefusedWhole() throws {
        let r = try running(base)
        // A good tunable change next to an error: nothing of it applies.
        let outcome = ConfigReload.decide(running: r, file: file("[landing]\nfinal_speed_mps = 0.25\nslow_speed_mps = \"x\"\n"), armed: false)
        #expect(outcome == .invalid(["f.toml:3:1: 'landing.slow_speed_mps' must be a number, not string"]))
        #expect(outcome.summary == "1 error(s), configuration unchanged: f.toml:3:1: 'landing.slow_speed_mps' must be a number, not string")
        // A syntax error, and a check that spans two tunable keys.
        if case .invalid(let e) = ConfigReload.decide(running: r, file: file("[landing\nfinal_speed_mps = 0.25\n"), armed: true) {
            #expect(e.count == 1 && e[0].hasPrefix("f.toml:1:"), "\(e)")
        } else {
            Issue.record("a file with a syntax error was used")
        }
        guard case .invalid(let e) = ConfigReload.decide(running: r, file: file("failsafe.reserve_pct = 50\n"), armed: false) else {
            Issue.record("a cold reserve below the reserve was accepted")
            return
        }
        #expect(e.count == 1 && e[0].contains("the cold reserve must be the larger"))
    }

    @Test func aTunableChangeAppliesArmedOrNot() throws {
        let r = try running(base)
        for armed in [false, true] {
            let outcome = ConfigReload.decide(running: r, file: file("[landing]\nfinal_speed_mps = 0.25\n[log]\nlevel = \"debug\"\n"), armed: armed)
            guard case .applied(let c, let applied, let restart) = outcome else {
                Issue.record("armed \(armed): \(outcome)")
                continue
            }
            #expect(c.config.flight.landFinalSpeedMps == 0.25)
            #expect(c.config.logLevel == "debug")
            var rest = c.config
            rest.flight.landFinalSpeedMps = 0.3
            rest.logLevel = "info"
            #expect(rest == r.config, "nothing else changed")
            #expect(applied.map(\.key) == ["log.level", "landing.final_speed_mps"])
            #expect(restart.isEmpty)
            #expect(outcome.summary == "applied log.level \"info\" -> \"debug\", landing.final_speed_mps 0.3 -> 0.25")
        }
    }

    @Test func aChangeThatNeedsARestartIsRefusedWhileArmed() throws {
        let r = try running(base)
        let text = "loop.rate_hz = 200\n[landing]\nfinal_speed_mps = 0.25\n"
        let outcome = ConfigReload.decide(running: r, file: file(text), armed: true)
        guard case .refused(let restart, let tunable) = outcome else {
            Issue.record("\(outcome)")
            return
        }
        // The loop budgets follow the rate: they would change at a restart too.
        #expect(restart == [ConfigChange(key: "loop.rate_hz", old: .integer(100), new: .integer(200), tunable: false),
                            ConfigChange(key: "loop.tick_budget_us", old: .integer(5000), new: .integer(2500), tunable: false),
                            ConfigChange(key: "loop.bus_budget_us", old: .integer(4000), new: .integer(2000), tunable: false)])
        #expect(tunable.map(\.key) == ["landing.final_speed_mps"])
        #expect(outcome.summary == "refused while armed: loop.rate_hz 100 -> 200, loop.tick_budget_us 5000 -> 2500, loop.bus_budget_us 4000 -> 2000 cannot change in flight; nothing applied (also held back: landing.final_speed_mps 0.3 -> 0.25)")
        // Alone, the same.
        #expect(ConfigReload.decide(running: r, file: file("link.telemetry_hz = 5\n"), armed: true).summary
                == "refused while armed: link.telemetry_hz 2.0 -> 5.0 cannot change in flight; nothing applied")
    }

    @Test func onTheGroundTheTunableKeysApplyAndTheOthersNeedARestart() throws {
        let r = try running(base)
        let outcome = ConfigReload.decide(running: r, file: file("link.telemetry_hz = 5\n[landing]\nfinal_speed_mps = 0.25\n"), armed: false)
        guard case .applied(let c, let applied, let restart) = outcome else {
            Issue.record("\(outcome)")
            return
        }
        #expect(c.config.flight.landFinalSpeedMps == 0.25)
        #expect(c.config.link == r.config.link, "the link is not changed live")
        #expect(c.value("link.telemetry_hz") == .float(2))
        #expect(applied.map(\.key) == ["landing.final_speed_mps"])
        #expect(restart.map(\.key) == ["link.telemetry_hz"])
        #expect(outcome.summary == "applied landing.final_speed_mps 0.3 -> 0.25; not applied, needs a restart: link.telemetry_hz 2.0 -> 5.0")
        // Only keys that need a restart: nothing applies.
        let only = ConfigReload.decide(running: r, file: file("[mission]\nfile = \"m.toml\"\n"), armed: false)
        #expect(only == .needsRestart([ConfigChange(key: "mission.file", old: .string(""), new: .string("m.toml"), tunable: false)]))
        #expect(only.summary == "nothing applied; needs a restart: mission.file \"\" -> \"m.toml\"")
        // Reloaded again, the running config (with the applied change) still differs from
        // the file only by what needs a restart.
        #expect(ConfigReload.decide(running: c, file: file("link.telemetry_hz = 5\n[landing]\nfinal_speed_mps = 0.25\n"), armed: false)
                == .needsRestart([ConfigChange(key: "link.telemetry_hz", old: .float(2), new: .float(5), tunable: false)]))
    }

    /// For every key of the schema, a change to it alone: a tunable key applies, and
    /// changes only what the daemon applies at a tick boundary (the mission's flight
    /// config and the log level); any other key needs a restart, and is refused armed.
    @Test func everyKeyAppliesLiveExactlyWhenTheSchemaSaysSo() throws {
        let defaults = ReadConfig.defaults
        for k in ConfigSchema.keys {
            guard let (value, text) = anotherValidValue(k) else {
                Issue.record("\(k.name): no other valid value found")
                continue
            }
            let change = ConfigChange(key: k.name, old: k.defaultValue, new: value, tunable: k.tunable)
            let disarmed = ConfigReload.decide(running: defaults, file: file(fileText(k, text)), armed: false)
            let armed = ConfigReload.decide(running: defaults, file: file(fileText(k, text)), armed: true)
            if k.tunable {
                #expect(armed == disarmed, "\(k.name)")
                guard case .applied(let c, let applied, let restart) = disarmed else {
                    Issue.record("\(k.name): \(disarmed)")
                    continue
                }
                #expect(applied == [change] && restart.isEmpty, "\(k.name)")
                #expect(c.value(k.name) == value, "\(k.name)")
                #expect(c.config != defaults.config, "\(k.name): the change reached no field")
                var rest = c.config
                rest.flight = defaults.config.flight
                rest.logLevel = defaults.config.logLevel
                #expect(rest == defaults.config, "\(k.name) changes a field that is not applied live")
            } else {
                #expect(disarmed == .needsRestart([change]), "\(k.name): \(disarmed)")
                #expect(armed == .refused(nonTunable: [change], tunable: []), "\(k.name): \(armed)")
            }
        }
    }

    /// A file that changes `k` alone. The loop budgets are written at their values, so
    /// that a change of the rate does not move their defaults along with it.
    func fileText(_ k: ConfigKey, _ value: String) -> String {
        var text = "\(k.name) = \(value)\n"
        for b in [ConfigSchema.loopTickBudgetUs, ConfigSchema.loopBusBudgetUs] where b.name != k.name {
            text += "\(b.name) = \(formatConfigValue(b.defaultValue))\n"
        }
        return text
    }

    /// A value for `k` other than its default that a file may hold on its own.
    func anotherValidValue(_ k: ConfigKey) -> (TOMLValue, String)? {
        var candidates: [TOMLValue] = []
        switch k.kind {
        case .integer(let d, let range, let choices):
            candidates = (choices.isEmpty ? [range.upperBound, range.lowerBound, d + 1, d - 1] : choices).map { .integer($0) }
        case .number(let d, let range, _):
            candidates = [range.upperBound, range.lowerBound, (d + range.lowerBound) / 2].map { .float($0) }
        case .boolean(let d):
            candidates = [.boolean(!d)]
        case .string(_, _, let choices):
            candidates = (choices.isEmpty ? ["127.0.0.1:9"] : choices).map { .string($0) }
        }
        for v in candidates where v != k.defaultValue {
            let text = formatConfigValue(v)
            if case .config(let c) = file(fileText(k, text)), c.value(k.name) == v { return (v, text) }
        }
        return nil
    }

    @Test func armedMeansTheAutopilotSaysSoOrAMissionIsUnderWay() {
        #expect(ConfigReload.armed(autopilotArmed: true, phase: .idle))
        #expect(!ConfigReload.armed(autopilotArmed: false, phase: .idle))
        #expect(!ConfigReload.armed(autopilotArmed: false, phase: .done))
        for p in MissionPhase.all where p != .idle && p != .done {
            #expect(ConfigReload.armed(autopilotArmed: false, phase: p), "\(p.name)")
        }
    }

    /// The mission takes the new values from its next step; the flight goes on.
    @Test func aMissionRetunedKeepsItsStateAndUsesTheNewValues() {
        let plan = MissionPlan(home: GeoPoint(latDeg: 47, lonDeg: 8), legs: [], returnHome: false)
        var m = Mission(config: FlightConfig(), plan: plan)
        m.start(nowNs: 1)
        let phase = m.phase
        var f = FlightConfig()
        f.landFinalSpeedMps = 0.25
        m.retune(f)
        #expect(m.config.landFinalSpeedMps == 0.25)
        #expect(m.phase == phase)
    }
}
