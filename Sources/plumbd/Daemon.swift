import CLinux
import PlumbCore
import PlumbDevices
import PlumbHAL
import PlumbFlight
import PlumbLinux
import PlumbVehicle

typealias BoardDevices = DeviceRuntime<LinuxI2CBus, LinuxGPIOInput, LinuxGPIOOutput>

func loadConfig(_ path: String) -> Loaded<ReadConfig> {
    loadSchema(path) { ReadConfig.read(&$0) }
}

let version = "0.1.0"
let defaultConfigPath = "/etc/plumbline/plumbd.toml"

let usage = """
usage: plumbd [--config FILE] [--board NAME|FILE] [--check-config | --probe] [--ticks N]
       plumbd --print-default-config [--board NAME] | --version | --help

  --config FILE    how to fly (default \(defaultConfigPath); built-in defaults if absent)
  --board NAME     what is wired where: a name looked up in $PLUMB_BOARD_DIR,
                   /etc/plumbline/boards, /usr/share/plumbline/boards, ./Board; or a path
  --check-config   validate the config and board files, print every error, exit
  --probe          open every bus and line, probe every device, print a table, exit
  --ticks N        stop after N control ticks (testing and benchmarks)
  --print-default-config
                   print the default config file, every key commented (with --board:
                   its board line set), and exit
  --timing         on exit, print how late the ticks woke (p50, p99, max) and the misses
  --version        print the version and exit
"""

struct Options {
    var configPath: String? = nil
    var board: String? = nil
    var checkConfig = false
    var printDefaultConfig = false
    var probe = false
    var version = false
    var help = false
    var maxTicks: UInt64 = 0
    var timing = false
}

func parseOptions(_ args: [String], log: Log) -> Options? {
    var o = Options()
    var i = 1
    func value(_ flag: String) -> String? {
        guard i + 1 < args.count else {
            log.error("\(flag) needs a value")
            return nil
        }
        i += 1
        return args[i]
    }
    while i < args.count {
        let a = args[i]
        switch a {
        case "--version", "-V": o.version = true
        case "--help", "-h": o.help = true
        case "--check-config": o.checkConfig = true
        case "--print-default-config": o.printDefaultConfig = true
        case "--probe": o.probe = true
        case "--timing": o.timing = true
        case "--config", "-c":
            guard let v = value(a) else { return nil }
            o.configPath = v
        case "--board", "-b":
            guard let v = value(a) else { return nil }
            o.board = v
        case "--ticks":
            guard let v = value(a), let n = UInt64(v) else {
                log.error("--ticks needs a whole number")
                return nil
            }
            o.maxTicks = n
        default:
            log.error("unknown option '\(a)'")
            return nil
        }
        i += 1
    }
    return o
}

func daemonMain(_ args: [String]) -> Int32 {
    var log = Log(level: .info)
    guard let options = parseOptions(args, log: log) else {
        writeAll(fd: 2, usage + "\n")
        return ExitCode.usage.rawValue
    }
    if options.help {
        printOut(usage)
        return ExitCode.ok.rawValue
    }
    if options.version {
        printOut("plumbd \(version)")
        return ExitCode.ok.rawValue
    }
    if options.printDefaultConfig {
        writeAll(fd: 1, ConfigSchema.defaultFile(board: options.board))
        return ExitCode.ok.rawValue
    }

    // Config: the named file must exist; the default one may be absent.
    var running = ReadConfig.defaults
    var config = running.config
    var configErrors: [String] = []
    let configPath = options.configPath ?? defaultConfigPath
    var configSource = configPath
    if options.configPath != nil || fileExists(configPath) {
        let loaded = loadConfig(configPath)
        if loaded.missingFile {
            log.error(loaded.errors.first ?? configPath)
            return ExitCode.noInput.rawValue
        }
        configErrors = loaded.errors
        if let c = loaded.value {
            running = c
            config = c.config
        }
    } else {
        configSource = "built-in defaults (no \(defaultConfigPath))"
        log.notice("no config file at \(defaultConfigPath); using built-in defaults")
    }
    if let level = Log.Level(name: config.logLevel) { log.level = level }

    guard let boardName = options.board ?? config.board else {
        for e in configErrors { log.error(e) }
        if !configErrors.isEmpty {
            log.error("\(configErrors.count) error(s) in the configuration (its 'board' is not used until they are fixed)")
            return ExitCode.config.rawValue
        }
        log.error("no board given: use --board NAME or set 'board' in the config file")
        return ExitCode.usage.rawValue
    }
    guard let boardPath = resolveBoard(boardName) else {
        for e in configErrors { log.error(e) }
        var dirs = ""
        for d in boardSearchPath() { dirs += " " + d }
        log.error("board '\(boardName)' not found in:\(dirs)")
        return ExitCode.noInput.rawValue
    }
    let loadedBoard = loadBoard(boardPath)
    if loadedBoard.missingFile {
        log.error(loadedBoard.errors.first ?? boardPath)
        return ExitCode.noInput.rawValue
    }
    let allErrors = configErrors + loadedBoard.errors
    for e in allErrors { log.error(e) }
    guard allErrors.isEmpty, let board = loadedBoard.value else {
        log.error("\(allErrors.count) error(s) in the configuration")
        return ExitCode.config.rawValue
    }

    if options.checkConfig {
        printOut("\(configSource): ok\n\(boardPath): ok (board '\(board.name)': \(board.buses.count) I2C bus(es), \(board.devices.count) device(s), \(board.gpio.count) GPIO line(s), \(board.pwm.count) PWM channel(s), \(board.serial.count) serial port(s))")
        return ExitCode.ok.rawValue
    }
    if options.probe {
        let rows = probeBoard(board) { spec, bus in
            do throws(I2CError) {
                let id = try identifyChip(spec.kind, bus: bus, address: spec.address)
                return (id.description, id.matches)
            } catch {
                return ("identification failed: " + describe(error), false)
            }
        }
        writeAll(fd: 1, formatProbeTable(rows))
        return probeSucceeded(rows) ? ExitCode.ok.rawValue : ExitCode.unavailable.rawValue
    }
    return run(config: config, reloader: ConfigReloader(path: configPath, running: running), board: board,
               maxTicks: options.maxTicks, timing: options.timing, log: log)
}

/// Bring-up and the control loop. Signals are blocked first so that a SIGTERM during
/// bring-up is handled by the loop (outputs safe), not by the default action.
func run(config: PlumbConfig, reloader: ConfigReloader, board: BoardDescription, maxTicks: UInt64, timing: Bool = false,
         log: Log) -> Int32 {
    var log = log             // a reload may change its level
    var reloader = reloader
    let signals: SignalSource
    do {
        signals = try SignalSource()
    } catch {
        log.error(describe(error))
        return ExitCode.osError.rawValue
    }
    log.notice("plumbd \(version) starting on board '\(board.name)' at \(config.loop.rateHz) Hz")

    // Outputs first, each requested already at its safe level.
    var chips: [LinuxGPIOChip] = []
    var outputs: [LinuxGPIOOutput] = []
    var inputs: [LinuxGPIOInput] = []
    var outputRoles: [String] = []
    var inputRoles: [String] = []
    for spec in board.gpio {
        var chip: LinuxGPIOChip? = nil
        for c in chips where c.name == spec.chip { chip = c }
        do {
            if chip == nil {
                let c = try LinuxGPIOChip(name: spec.chip)
                chips.append(c)
                chip = c
            }
            guard let chip else { continue }
            switch spec.direction {
            case .output(let safe):
                outputs.append(try LinuxGPIOOutput(chip: chip, line: spec.line, activeLow: spec.activeLow,
                                                   safeLevel: safe, consumer: spec.consumer))
                outputRoles.append(spec.role)
            case .input(let edges):
                inputs.append(try LinuxGPIOInput(chip: chip, line: spec.line, activeLow: spec.activeLow,
                                                 edges: edges, consumer: spec.consumer))
                inputRoles.append(spec.role)
            }
        } catch {
            log.error("gpio \(spec.role): \(describe(error))")
            _ = applySafeOutputs(outputs, log: log)
            return ExitCode.unavailable.rawValue
        }
    }
    var buses: [LinuxI2CBus] = []
    for spec in board.buses {
        do {
            buses.append(try LinuxI2CBus(path: spec.device, clockHz: spec.clockHz))
        } catch {
            log.error("i2c \(spec.name): \(describe(error))")
            _ = applySafeOutputs(outputs, log: log)
            return ExitCode.unavailable.rawValue
        }
    }
    var missingRequired = 0
    for d in board.devices {
        guard let busIndex = board.buses.firstIndex(where: { $0.name == d.bus }) else { continue }
        do {
            try buses[busIndex].probe(address: d.address)
        } catch {
            if d.required {
                missingRequired += 1
                log.error("\(d.role) (\(d.kind.name) at \(formatHex(d.address))): \(describe(error))")
            } else {
                log.warning("optional \(d.role) (\(d.kind.name) at \(formatHex(d.address))): \(describe(error))")
            }
        }
    }
    if missingRequired > 0 {
        _ = applySafeOutputs(outputs, log: log)
        log.error("\(missingRequired) required device(s) missing; not starting")
        return ExitCode.unavailable.rawValue
    }

    var devices = BoardDevices.build(board: board, buses: buses, config: config)
    for note in devices.notes { log.info(note) }
    for e in devices.errors { log.error(e) }
    devices.attachLines(inputs: inputs, inputRoles: inputRoles, outputs: outputs, outputRoles: outputRoles)
    if var pwm = devices.pwm {
        if !pwm.initialize(nowNs: LinuxClock().nowNs()) {
            _ = applySafeOutputs(outputs, log: log)
            log.error("PWM controller could not be initialised; not starting")
            return ExitCode.unavailable.rawValue
        }
        devices.pwm = pwm
    }

    // The flight: a mission file (or, without one, an empty plan that waits for dispatch).
    var plan = MissionPlan(home: GeoPoint(latDeg: 0, lonDeg: 0), legs: [], returnHome: false)
    var haveMission = false
    if !config.mission.file.isEmpty {
        let loaded = loadSchema(config.mission.file) { MissionPlan.read(&$0) }
        for e in loaded.errors { log.error(e) }
        guard let p = loaded.value else {
            _ = applySafeOutputs(outputs, log: log)
            log.error("mission file \(config.mission.file) not usable; not starting")
            return ExitCode.config.rawValue
        }
        plan = p
        haveMission = true
        log.notice("mission: \(p.legs.count) leg(s) from \(config.mission.file)\(p.returnHome ? ", then home" : "")")
    }
    var vehicle = Vehicle(devices: devices, mission: Mission(config: config.flight, plan: plan), board: board,
                          outputs: outputs, outputRoles: outputRoles)
    guard var autopilot = AutopilotRuntime.start(config: config, log: log) else {
        _ = applySafeOutputs(outputs, log: log)
        return ExitCode.unavailable.rawValue
    }
    var events = MissionEventLog()
    var recorder = makeRecorder(config.recorder, board: board.name, rateHz: config.loop.rateHz, log: log)

    let rt = applyRealtime(fifoPriority: config.realtime.schedFifo ? Int32(config.realtime.priority) : nil,
                           lockMemory: config.realtime.lockMemory)
    if config.realtime.schedFifo {
        if rt.fifoGranted {
            log.info("SCHED_FIFO priority \(config.realtime.priority) granted")
        } else {
            log.warning("SCHED_FIFO refused (\(errnoMessage(rt.fifoErrno))); running with normal scheduling")
        }
    }
    if config.realtime.lockMemory && !rt.memoryLocked {
        log.warning("mlockall refused (\(errnoMessage(rt.lockErrno))); memory may page")
    }

    let ticker: TimerfdTicker
    do {
        ticker = try TimerfdTicker(periodNs: config.loop.periodNs, budgetNs: UInt64(config.loop.tickBudgetUs) * 1000)
    } catch {
        _ = applySafeOutputs(outputs, log: log)
        log.error("cannot create the tick timer")
        return ExitCode.osError.rawValue
    }
    log.info("control loop running: \(outputs.count) output(s) at safe levels, \(inputs.count) input(s), \(buses.count) bus(es)")
    let clock = LinuxClock()
    var link: LinkRuntime? = nil
    if config.link.enabled {
        var radio: SerialPortSpec? = nil
        for s in board.serial where s.role == "radio" { radio = s }
        let (rt, failure) = LinkRuntime.start(config: config.link, radio: radio, rateHz: config.loop.rateHz, nowNs: clock.nowNs(), log: log)
        switch failure {
        case .config(let why)?:
            _ = applySafeOutputs(outputs, log: log)
            log.error(why)
            return ExitCode.noPermission.rawValue
        case .unavailable(let why)?:
            _ = applySafeOutputs(outputs, log: log)
            log.error(why)
            return ExitCode.unavailable.rawValue
        case nil:
            link = rt
            // Dispatch's silence is a failsafe (failsafe.dispatch_lost) from now on.
            vehicle.mission.dispatchWatched = true
        }
    }
    let notifier = ServiceNotifier(tickPeriodNs: config.loop.periodNs)
    notifier.ready(status: "control loop at \(config.loop.rateHz) Hz on board \(board.name)")
    var latency: WakeLatency? = timing ? WakeLatency() : nil
    // Instructions per tick (user space), where the kernel offers the counter.
    let counterFD: Int32 = timing ? plumb_instructions_open() : -1
    var instrTotal: Int64 = 0, instrWorst: Int64 = 0, instrWorstTick: UInt64 = 0, instrTicks: Int64 = 0
    var vision = VisionRuntime.start(config: config, log: log)
    var fds: [Int32] = [autopilot.socket.fd]
    var linkIndex = -1, visionIndex = -1
    if let l = link { linkIndex = fds.count; fds.append(l.transport.fd) }
    if let v = vision { visionIndex = fds.count; fds.append(v.socket.fd) }
    let summary = runControlLoop(ticker: ticker, signals: signals, outputs: outputs, maxTicks: maxTicks, log: log,
                                 inputs: fds, readable: { i in
        if i == 0 {
            autopilot.readable(nowNs: clock.nowNs())
        } else if i == linkIndex {
            link?.readable(nowNs: clock.nowNs(), log: log)
        } else if i == visionIndex {
            vision?.readable(into: &vehicle.visionInbox, nowNs: clock.nowNs(), log: log)
        }
    }, reload: { loopLog in
        // SIGHUP, between two ticks: the tunable keys apply from the next tick on.
        let armed = ConfigReload.armed(autopilotArmed: autopilot.bridge.view(nowNs: clock.nowNs()).armed,
                                       phase: vehicle.mission.phase)
        guard let c = reloader.reload(armed: armed, log: log) else { return }
        vehicle.mission.retune(c.flight)
        if let level = Log.Level(name: c.logLevel) {
            log.level = level
            loopLog.level = level
        }
    }) { n in
        // Drivers, one snapshot, the mission and its outputs; the autopilot and the link last.
        let now = clock.nowNs()
        // A tick's cost: instructions where the CPU counts them, else the thread's CPU time.
        let instrStart = counterFD >= 0 ? plumb_instructions_read(counterFD) : (timing ? plumb_thread_cpu_ns() : -1)
        defer {
            if instrStart >= 0 {
                let used = (counterFD >= 0 ? plumb_instructions_read(counterFD) : plumb_thread_cpu_ns()) - instrStart
                if used >= 0 {
                    instrTotal &+= used
                    instrTicks += 1
                    if used > instrWorst { instrWorst = used; instrWorstTick = n }
                }
            }
        }
        if latency != nil {
            let a = ticker.accounting
            latency?.record(wakeNs: now, dueNs: ticker.armedAtNs &+ (a.ticks &+ a.missedTicks) &* ticker.periodNs)
        }
        notifier.tick(n)
        if haveMission && config.mission.autostart && vehicle.mission.phase == .idle {
            haveMission = false   // once: a later dispatch mission waits for its start command
            // Once per boot: after a restart (a crash, the watchdog) the daemon never takes
            // off by itself; dispatch's start command still can.
            if autostartAllowed(marker: config.mission.autostartMarker, log: log) {
                vehicle.mission.start(nowNs: now)
            }
        }
        // Dispatch's commands, heartbeat and mission reach the flight at the tick boundary.
        link?.applyInbound(to: &vehicle.mission, nowNs: now, log: log)
        let view = autopilot.bridge.view(nowNs: now)
        let out = vehicle.tick(n, nowNs: now, autopilot: view)
        autopilot.send(out, nowNs: now)
        recorder?.record(vehicle, autopilot: view, nowNs: now, log: log)
        logHealthChanges(&vehicle.devices, log: log)
        while let e = vehicle.mission.nextEvent() {
            recorder?.record(e, mission: vehicle.mission, nowNs: now, log: log)
            let previous = events.lastPhase
            let changed = events.log(e, mission: vehicle.mission, log: log)
            link?.missionEvent(e, phaseChanged: changed, previous: previous, plan: vehicle.mission.plan, nowNs: now, log: log)
        }
        link?.tick(n, nowNs: now, devices: vehicle.devices, missionPhase: vehicle.mission.phase.rawValue, log: log)
    }
    devices = vehicle.devices
    recorder?.close(log: log)
    notifier.stopping(status: "stopping: outputs at safe levels")
    if let l = latency {
        let a = summary.accounting
        let instr = instrTicks == 0 ? "no tick cost measured"
            : counterFD >= 0
            ? "instructions per tick (user space) mean \(instrTotal / instrTicks), worst \(instrWorst) at tick \(instrWorstTick)"
            : "CPU time per tick (no instruction counter: \(errnoMessage(-counterFD))) mean \(instrTotal / instrTicks) ns, worst \(instrWorst) ns at tick \(instrWorstTick)"
        log.notice("timing: " + instr)
        printOut("timing: " + instr)
        printOut("timing: \(l.samples) ticks at \(config.loop.rateHz) Hz, wake latency p50 \(l.percentileNs(0.5) / 1000) us, p99 \(l.percentileNs(0.99) / 1000) us, max \(l.maxNs / 1000) us; missed \(a.missedTicks), over budget \(a.budgetOverruns); SCHED_FIFO \(config.realtime.schedFifo ? (rt.fifoGranted ? "granted" : "refused") : "not asked")")
    }
    var pwmUnsafe = false
    if var pwm = devices.pwm, !pwm.applySafe(nowNs: clock.nowNs()) {
        pwmUnsafe = true
        log.error("PWM: could not put every channel at its safe pulse")
    }
    let a = summary.accounting
    let outputsNote = summary.unsafeOutputs == 0
        ? "all \(outputs.count) output(s) at safe levels"
        : "\(summary.unsafeOutputs) output(s) could not be made safe"
    switch summary.exit {
    case .signal(let s):
        log.notice("\(s == .terminate ? "SIGTERM" : "SIGINT"): stopped after \(a.ticks) ticks (\(a.missedTicks) missed, \(a.budgetOverruns) over budget); \(outputsNote)")
    case .tickLimit:
        log.notice("tick limit reached after \(a.ticks) ticks (\(a.missedTicks) missed, \(a.budgetOverruns) over budget); \(outputsNote)")
    case .failure(let why):
        log.error("control loop failed: \(why); \(outputsNote)")
        return ExitCode.software.rawValue
    }
    return summary.unsafeOutputs == 0 && !pwmUnsafe ? ExitCode.ok.rawValue : ExitCode.ioError.rawValue
}

/// Auto-start is allowed when no earlier flight auto-started since boot; the marker is
/// made before the flight starts. No marker path, or one that cannot be made: no auto-start.
func autostartAllowed(marker: String, log: Log) -> Bool {
    if marker.isEmpty {
        log.warning("mission.autostart: no mission.autostart_marker; not auto-starting (send start from dispatch)")
        return false
    }
    if fileExists(marker) {
        log.warning("mission.autostart: \(marker) exists (a flight already auto-started since boot); not auto-starting again; send start from dispatch, or delete the file")
        return false
    }
    let fd = marker.withCString { plumb_open_mode($0, O_WRONLY | O_CREAT | O_EXCL, 0o644) }
    if fd < 0 {
        log.error("mission.autostart: cannot make \(marker) (\(errnoMessage(-fd))); not auto-starting")
        return false
    }
    _ = plumb_close(fd)
    log.notice("mission.autostart: starting the mission file's flight (marker \(marker))")
    return true
}

func logHealthChanges(_ devices: inout BoardDevices, log: Log) {
    guard !devices.healthChanges.isEmpty else { return }
    for c in devices.healthChanges {
        switch c.state {
        case .ok: log.notice("\(c.name): ok")
        case .stale: log.warning("\(c.name): stale")
        case .failed: log.error("\(c.name): failed")
        }
    }
    devices.healthChanges.removeAll(keepingCapacity: true)
}

/// Logs the mission's state changes and notes, one line each, with their time.
struct MissionEventLog {
    var lastPhase: MissionPhase = .idle

    /// Logs one event; true when it is a change of phase.
    mutating func log(_ e: MissionEvent, mission m: Mission, log: Log) -> Bool {
        let t = formatFixed(Double(e.timeNs) / 1e9, decimals: 3)
        let changed = e.phase != lastPhase
        if changed {
            lastPhase = e.phase
            log.notice("mission t=\(t) phase=\(e.phase.name) leg=\(e.leg)" + (e.note == .none ? "" : ": " + e.note.text))
        } else if e.note != .none {
            log.info("mission t=\(t) phase=\(e.phase.name) leg=\(e.leg): " + e.note.text)
        }
        if changed && (e.phase == .done || e.phase == .autopilotLost) {
            log.notice("mission outcome=\(m.outcome.name) delivered=\(m.delivered) not_delivered=\(m.notDelivered)")
        }
        return changed
    }
}
