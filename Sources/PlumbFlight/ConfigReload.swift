import PlumbCore

/// A config as read: the typed values, and every key's value in schema terms (what a
/// reload compares).
public struct ReadConfig: Equatable {
    public var config: PlumbConfig
    public var settings: [ConfigSetting]

    public init(config: PlumbConfig, settings: [ConfigSetting]) {
        self.config = config
        self.settings = settings
    }

    /// Reads a document; nil (with the diagnostics in `r`) on any error.
    public static func read(_ r: inout ConfigReader) -> ReadConfig? {
        guard let c = PlumbConfig.read(&r) else { return nil }
        return ReadConfig(config: c, settings: r.settings)
    }

    /// The built-in defaults: what a daemon without a config file runs.
    public static var defaults: ReadConfig {
        var r = ConfigReader(TOMLDocument())
        return read(&r) ?? ReadConfig(config: PlumbConfig(), settings: r.settings)
    }

    public func value(_ name: String) -> TOMLValue? {
        for s in settings where s.key.name == name { return s.value }
        return nil
    }
}

/// One key whose value differs between the running config and a reloaded file.
public struct ConfigChange: Equatable {
    public var key: String
    public var old: TOMLValue
    public var new: TOMLValue
    public var tunable: Bool

    public init(key: String, old: TOMLValue, new: TOMLValue, tunable: Bool) {
        self.key = key
        self.old = old
        self.new = new
        self.tunable = tunable
    }

    /// `landing.final_speed_mps 0.3 -> 0.25`
    public var text: String { key + " " + formatConfigValue(old) + " -> " + formatConfigValue(new) }
}

/// The config file as a reload found it.
public enum ReloadedFile {
    case config(ReadConfig)
    /// It could not be read, or has errors (`file:line:column: message` each).
    case errors([String])
}

/// What a reload does. Sans-I/O: `decide` compares the running config with the file.
public enum ConfigReload: Equatable {
    /// The file holds the running values.
    case unchanged
    /// Run `ReadConfig` from the next tick: the tunable keys in `applied` take their new
    /// values; the keys in `needsRestart` keep their running values (they apply only at
    /// start-up).
    case applied(ReadConfig, applied: [ConfigChange], needsRestart: [ConfigChange])
    /// Only keys that apply at start-up changed: nothing applied.
    case needsRestart([ConfigChange])
    /// Armed, and keys that cannot change in flight changed: nothing applied, the tunable
    /// changes in the same file included.
    case refused(nonTunable: [ConfigChange], tunable: [ConfigChange])
    /// The file cannot be used: nothing applied.
    case invalid([String])

    /// Decides a reload. `armed`: the vehicle is armed or a mission is under way. A file
    /// with errors is refused whole. While armed, a change to any key that is not tunable
    /// refuses the whole file. Otherwise the tunable changes apply together, and the
    /// others are reported as needing a restart.
    public static func decide(running: ReadConfig, file: ReloadedFile, armed: Bool) -> ConfigReload {
        let new: ReadConfig
        switch file {
        case .errors(let e): return .invalid(e)
        case .config(let c): new = c
        }
        var tunable: [ConfigChange] = []
        var restart: [ConfigChange] = []
        for k in ConfigSchema.keys {
            let old = running.value(k.name) ?? k.defaultValue
            let now = new.value(k.name) ?? k.defaultValue
            guard old != now else { continue }
            let c = ConfigChange(key: k.name, old: old, new: now, tunable: k.tunable)
            if k.tunable { tunable.append(c) } else { restart.append(c) }
        }
        if tunable.isEmpty && restart.isEmpty { return .unchanged }
        if armed && !restart.isEmpty { return .refused(nonTunable: restart, tunable: tunable) }
        if tunable.isEmpty { return .needsRestart(restart) }
        // The running values with the tunable keys' new ones, read and checked again as
        // one config, so that the checks that span keys hold for what will run.
        var merged: [ConfigSetting] = []
        for k in ConfigSchema.keys {
            let v = k.tunable ? (new.value(k.name) ?? k.defaultValue) : (running.value(k.name) ?? k.defaultValue)
            merged.append(ConfigSetting(key: k, value: v))
        }
        var r = ConfigReader(settings: merged)
        guard let c = ReadConfig.read(&r) else {
            var errors: [String] = []
            for d in r.diagnostics { errors.append("with the running values of the keys that need a restart: " + d.message) }
            return .invalid(errors)
        }
        return .applied(c, applied: tunable, needsRestart: restart)
    }

    /// Whether a reload counts as armed: the autopilot reports armed, or a mission has
    /// started and not finished (a vehicle on a pad between two legs, or out of touch with
    /// its autopilot, is still flying a mission).
    public static func armed(autopilotArmed: Bool, phase: MissionPhase) -> Bool {
        autopilotArmed || !(phase == .idle || phase == .done)
    }

    /// One line for the log (after `SIGHUP: FILE: `).
    public var summary: String {
        func list(_ changes: [ConfigChange]) -> String {
            var s = ""
            for (i, c) in changes.enumerated() { s += (i == 0 ? "" : ", ") + c.text }
            return s
        }
        switch self {
        case .unchanged:
            return "no change"
        case .applied(_, let applied, let restart):
            return "applied " + list(applied) + (restart.isEmpty ? "" : "; not applied, needs a restart: " + list(restart))
        case .needsRestart(let restart):
            return "nothing applied; needs a restart: " + list(restart)
        case .refused(let restart, let tunable):
            let held = tunable.isEmpty ? "" : " (also held back: " + list(tunable) + ")"
            return "refused while armed: " + list(restart) + " cannot change in flight; nothing applied" + held
        case .invalid(let errors):
            var s = "\(errors.count) error(s), configuration unchanged"
            for (i, e) in errors.enumerated() { s += (i == 0 ? ": " : "; ") + e }
            return s
        }
    }
}
