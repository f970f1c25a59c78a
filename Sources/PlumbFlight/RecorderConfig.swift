import PlumbCore

/// The flight recorder (`[recorder]`, docs/flight-log.md): a binary log of every tick and
/// every mission event, in rotating files of bounded size.
public struct RecorderConfig: Equatable {
    public var enabled: Bool = ConfigSchema.recorderEnabled.boolDefault
    /// Directory of the log files. It is created if missing; its parent must exist
    /// (systemd's StateDirectory makes /var/lib/plumbline).
    public var dir: String = ConfigSchema.recorderDir.stringDefault
    /// Largest size of one file, KB (1024 bytes).
    public var fileMaxKB: Int = ConfigSchema.recorderFileMaxKB.intDefault
    /// Files kept; the oldest is removed when a new one starts.
    public var files: Int = ConfigSchema.recorderFiles.intDefault

    public init() {}

    public var fileMaxBytes: Int { fileMaxKB * 1024 }

    public static func read(_ r: inout ConfigReader) -> RecorderConfig {
        var c = RecorderConfig()
        // Defaults and ranges: ConfigSchema.
        c.enabled = r.bool(ConfigSchema.recorderEnabled)
        c.dir = r.string(ConfigSchema.recorderDir)
        c.fileMaxKB = r.int(ConfigSchema.recorderFileMaxKB)
        c.files = r.int(ConfigSchema.recorderFiles)
        if c.dir.isEmpty { r.error("recorder.dir", "'recorder.dir' must not be empty") }
        return c
    }
}
