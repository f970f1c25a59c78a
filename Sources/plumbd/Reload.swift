import PlumbCore
import PlumbFlight
import PlumbLinux

/// SIGHUP: the config file read again, and the decision (`ConfigReload.decide`) logged
/// as one line. The loop calls it between two ticks, so what applies takes effect at a
/// tick boundary, all of it at once.
struct ConfigReloader {
    /// The file a reload reads: `--config`, or the default path (which may have been
    /// absent at start-up; then the running config is the built-in defaults).
    let path: String
    /// What runs: the config read at start-up with the tunable changes applied since.
    private(set) var running: ReadConfig

    init(path: String, running: ReadConfig) {
        self.path = path
        self.running = running
    }

    /// Reads the file and decides. `armed`: the autopilot reports armed, or a mission is
    /// under way. Returns the config to run from the next tick when tunable keys changed.
    mutating func reload(armed: Bool, log: Log) -> PlumbConfig? {
        let loaded = loadSchema(path) { ReadConfig.read(&$0) }
        let file: ReloadedFile
        if let c = loaded.value { file = .config(c) } else { file = .errors(loaded.errors) }
        let outcome = ConfigReload.decide(running: running, file: file, armed: armed)
        let line = "SIGHUP: \(path): " + outcome.summary
        switch outcome {
        case .unchanged, .needsRestart:
            log.notice(line)
            return nil
        case .applied(let c, _, _):
            log.notice(line)
            running = c
            return c.config
        case .refused:
            log.warning(line)
            return nil
        case .invalid:
            log.error(line)
            return nil
        }
    }
}
