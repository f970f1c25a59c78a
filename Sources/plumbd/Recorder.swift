import CLinux
import PlumbFlight
import PlumbHAL
import PlumbLinux
import PlumbVehicle

// The flight recorder's wiring: the recorder (PlumbVehicle) over rotating files in the
// configured directory (PlumbLinux). A recorder that cannot write logs once and the flight
// goes on; it tries a new file every 10 s and says when it records again.

typealias DaemonRecorder = FlightRecorder<RotatingFileLog>

/// The recorder for `config`, or nil when it is switched off. Nothing is opened yet: the
/// first tick creates the directory (if its parent exists) and the first file.
func makeRecorder(_ config: RecorderConfig, board: String, rateHz: Int, log: Log) -> DaemonRecorder? {
    guard config.enabled else {
        log.info("flight recorder: off")
        return nil
    }
    let files = RotatingFiles(dir: config.dir, fileMaxBytes: config.fileMaxBytes, filesKept: config.files)
    var r = FlightRecorder(storage: RotatingFileLog(files: files), rateHz: rateHz, software: "plumbd \(version)", board: board)
    r.realtimeOffsetNs = Int64(bitPattern: plumb_realtime_ns() &- plumb_monotonic_ns())
    log.info("flight recorder: \(config.dir), at most \(config.files) files of \(config.fileMaxKB) KB")
    return r
}

// The notice is taken first and reported after: `report(tick(…))` would copy the recorder
// for the call before the tick mutates it, and the copy would make the tick reallocate
// its buffer (an allocation every tick).
extension FlightRecorder where Storage == RotatingFileLog {
    mutating func record<Bus: I2CBus, Input: GPIOInput, Output: GPIOOutput>(
        _ vehicle: Vehicle<Bus, Input, Output>, autopilot: AutopilotView, nowNs: UInt64, log: Log) {
        let n = tick(vehicle, autopilot: autopilot, nowNs: nowNs)
        if n != .none { report(n, log: log) }
    }

    mutating func record(_ e: MissionEvent, mission: Mission, nowNs: UInt64, log: Log) {
        let n = event(e, mission: mission, nowNs: nowNs)
        if n != .none { report(n, log: log) }
    }

    /// At a clean stop: the last file written through to the disk.
    mutating func close(log: Log) {
        stop()
        if recordsWritten > 0 { log.info("flight recorder: \(recordsWritten) records in \(filesStarted) file(s)") }
    }

    private func report(_ n: Notice, log: Log) {
        switch n {
        case .none: break
        case .failed(let why):
            log.warning("flight recorder: \(why); flying on without it (a new file is tried every 10 s)")
        case .resumed(let lost):
            log.notice("flight recorder: recording again in \(storage.files.path(of: storage.files.nextSequence &- 1)) (\(lost) records lost)")
        }
    }
}
