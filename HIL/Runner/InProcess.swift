import Foundation
import PlumbCore
import PlumbDevices
import PlumbFlight
import PlumbHAL
import PlumbLink
import PlumbVehicle

/// Reads a TOML file through a schema (host side); diagnostics as `file:line:column`.
public func readSchemaFile<T>(_ path: String, _ read: (inout ConfigReader) -> T?) throws -> T {
    let text = try String(contentsOfFile: path, encoding: .utf8)
    let doc: TOMLDocument
    do { doc = try TOMLDocument.parse(text) } catch { throw HILError.setup(error.formatted(file: path)) }
    var r = ConfigReader(doc)
    guard let v = read(&r) else {
        throw HILError.setup(r.diagnostics.map { $0.formatted(file: path) }.joined(separator: "\n"))
    }
    return v
}

/// The daemon's config for a scenario: the sim board, the scenario's mission file with
/// auto-start (when the mission does not come from dispatch), the scenario's autopilot
/// flavour and its overrides.
public func scenarioConfigText(_ s: Scenario, missionPath: String?, extra: String = "") -> String {
    var t = """
    board = "sim"
    [loop]
    rate_hz = 100
    [realtime]
    sched_fifo = false
    lock_memory = false
    [battery]
    sbs_scale = 10
    [autopilot]
    flavor = "\(s.autopilot)"
    [drop]
    hook_below_skids_m = -0.6
    parcel_height_m = 0.3

    """
    if let missionPath {
        let marker = (missionPath as NSString).deletingLastPathComponent + "/autostarted"
        try? FileManager.default.removeItem(atPath: marker)
        t += "[mission]\nfile = \"\(missionPath)\"\nautostart = true\nautostart_marker = \"\(marker)\"\n"
    }
    // Overrides: grouped by table so that the file stays valid TOML.
    var tables: [String: [(String, String)]] = [:]
    var order: [String] = []
    for (key, value) in s.configOverrides {
        let parts = key.split(separator: ".", maxSplits: 1).map(String.init)
        let table = parts.count == 2 ? parts[0] : ""
        let k = parts.count == 2 ? parts[1] : parts[0]
        if tables[table] == nil { order.append(table) }
        tables[table, default: []].append((k, value))
    }
    for table in order {
        // A table the base text already has is merged by editing its lines.
        for (k, v) in tables[table] ?? [] {
            if let range = t.range(of: "[\(table)]\n") {
                t.insert(contentsOf: "\(k) = \(v)\n", at: range.upperBound)
            } else {
                t += "[\(table)]\n\(k) = \(v)\n"
            }
        }
    }
    return t + extra
}

/// Runs a scenario with the drivers and the flight code linked in, in lockstep with the
/// models: the fastest mode, and the reference the other modes must match.
public struct InProcessRun {
    /// `observer` sees every tick's sensor snapshot (what the flight code saw) with the world.
    public static func run(_ scenario: Scenario, seed: UInt64, boardPath: String, workDir: String,
                           progress: ((String) -> Void)? = nil,
                           observer: ((SensorSnapshot, ScenarioSim) -> Void)? = nil) throws -> RunResult {
        let wallStart = Date()
        let sim = try ScenarioSim(scenario: scenario, seed: seed, lineLevels: .logical)
        let board = try readSchemaFile(boardPath) { BoardDescription.read(&$0) }
        let missionPath = workDir + "/mission.toml"
        try FileManager.default.createDirectory(atPath: workDir, withIntermediateDirectories: true)
        let fromFile = scenario.missionSource == "file"
        if fromFile { try scenario.missionFile().write(toFile: missionPath, atomically: true, encoding: .utf8) }
        let configText = scenarioConfigText(scenario, missionPath: fromFile ? missionPath : nil)
        try configText.write(toFile: workDir + "/plumbd.toml", atomically: true, encoding: .utf8)
        let doc = try TOMLDocument.parse(configText)
        var reader = ConfigReader(doc)
        guard let config = PlumbConfig.read(&reader) else {
            throw HILError.setup(reader.diagnostics.map { $0.formatted(file: "plumbd.toml") }.joined(separator: "\n"))
        }
        // The plan the daemon would fly: from the mission file, or from dispatch's items
        // through the daemon's own conversion.
        let plan: MissionPlan
        if fromFile {
            plan = try readSchemaFile(missionPath) { MissionPlan.read(&$0) }
        } else {
            let d = DispatchMission(items: scenario.missionItems())
            guard let p = d.plan else { throw HILError.scenario("the mission as dispatch would send it is refused: " + d.problem) }
            plan = p
        }

        // The board's buses and lines, on the models.
        var buses: [SimulatedI2CBus] = []
        for spec in board.buses {
            let bus = SimulatedI2CBus(clockHz: spec.clockHz)
            let number = UInt8(spec.device.split(separator: "-").last.flatMap { UInt8($0) } ?? 0)
            for m in sim.models(onBus: number) { bus.attach(m) }
            buses.append(bus)
        }
        var inputs: [SimulatedGPIOInput] = []
        var inputRoles: [String] = []
        var outputs: [SimulatedGPIOOutput] = []
        var outputRoles: [String] = []
        for spec in board.gpio {
            switch spec.direction {
            case .input:
                guard let line = sim.coupling.inputLine(offset: Int(spec.line)) else { continue }
                inputs.append(SimulatedGPIOInput(line))
                inputRoles.append(spec.role)
            case .output(let safe):
                guard let line = sim.coupling.outputLine(offset: Int(spec.line)) else { continue }
                let o = SimulatedGPIOOutput(line, safeLevel: safe)
                try? o.set(safe)
                outputs.append(o)
                outputRoles.append(spec.role)
            }
        }
        // Bring-up as the daemon does it: probe every device, then the PWM chip.
        for d in board.devices {
            guard let i = board.buses.firstIndex(where: { $0.name == d.bus }) else { continue }
            try? buses[i].probe(address: d.address)
        }
        var devices = DeviceRuntime<SimulatedI2CBus, SimulatedGPIOInput, SimulatedGPIOOutput>.build(board: board, buses: buses, config: config)
        devices.attachLines(inputs: inputs, inputRoles: inputRoles, outputs: outputs, outputRoles: outputRoles)
        if var pwm = devices.pwm {
            _ = pwm.initialize(nowNs: 0)
            devices.pwm = pwm
        }
        var vehicle = Vehicle(devices: devices, mission: Mission(config: config.flight, plan: plan), board: board,
                              outputs: outputs, outputRoles: outputRoles)
        // The daemon has a dispatch link in the other modes (the runner is its ground end).
        vehicle.mission.dispatchWatched = true
        var dispatch = DispatchSchedule(startS: scenario.dispatchStartS, sendsStart: !fromFile, commands: scenario.dispatchCommands)
        var bridge = AutopilotBridge(flavor: config.flight.autopilot, config: config.autopilot)
        var apBytes: [UInt8] = []
        apBytes.reserveCapacity(4096)
        var sightings: [VisionSighting] = []
        var datagram: [UInt8] = []
        sightings.reserveCapacity(8)
        var fcBytes: [UInt8] = []
        fcBytes.reserveCapacity(4096)
        let period = config.loop.periodNs
        let limitNs = UInt64(scenario.timeLimitS * 1e9)
        var n: UInt64 = 0
        var started = false
        var lastProgressS = -1.0
        while true {
            let t = (n + 1) * period
            // What dispatch sends at the end of the previous tick reaches this one.
            let fromDispatch = dispatch.due(nowNs: t - period, linkUp: sim.dispatchLinkUp, missionStored: true)
            let commands = dispatch.commandsDue(nowNs: t - period, linkUp: sim.dispatchLinkUp)
            sim.step(toNs: t)
            for b in buses { b.nowNs = t }
            for o in outputs { o.nowNs = t }
            apBytes.removeAll(keepingCapacity: true)
            sim.autopilotOutput(nowNs: t, into: &apBytes)
            if !apBytes.isEmpty { bridge.receive(apBytes, nowNs: t) }
            if !started && fromFile && config.mission.autostart {
                vehicle.mission.start(nowNs: t)
                started = true
            }
            if fromDispatch.heartbeat { vehicle.mission.dispatchHeard(nowNs: t) }
            if fromDispatch.start { vehicle.mission.start(nowNs: t) }
            for kind in commands {
                // The daemon's own decision (PlumbVehicle), as it makes it at its next tick.
                _ = DispatchMission.execute(Command(commandID: 0, kind: kind), on: &vehicle.mission, nowNs: t)
            }
            sightings.removeAll(keepingCapacity: true)
            sim.camera.arrived(nowNs: t, into: &sightings)
            for v in sightings {
                // Through the datagram, as the daemon gets it (its offsets are f32).
                datagram.removeAll(keepingCapacity: true)
                VisionDatagram.encode(v, sequence: 0, into: &datagram)
                if case .success(let d) = datagram.withUnsafeBytes({ VisionDatagram.decode($0) }) { vehicle.visionInbox.put(d) }
            }
            let out = vehicle.tick(n, nowNs: t, autopilot: bridge.view(nowNs: t))
            if out.hookOpen { sim.releaseCommandTimes.append(t) }
            observer?(vehicle.snapshot, sim)
            while let e = vehicle.mission.nextEvent() {
                sim.phase(e.phase.name, atNs: e.timeNs)
                if e.note != .none { sim.note("mission: " + e.note.text, atNs: e.timeNs) }
            }
            bridge.apply(out, nowNs: t)
            fcBytes.removeAll(keepingCapacity: true)
            bridge.poll(nowNs: t, into: &fcBytes)
            if !fcBytes.isEmpty { sim.autopilotInput(fcBytes, nowNs: t) }
            n += 1
            let s = Double(t) / 1e9
            if let progress, s - lastProgressS >= 30 {
                lastProgressS = s
                progress(String(format: "t=%5.0f s  %-14@ alt %5.1f m  rope %4.1f m  battery %3.0f %%",
                                s, vehicle.mission.phase.name, sim.world.heightAboveGroundM, sim.world.winch.ropeOutM,
                                sim.world.battery.socFraction * 100))
            }
            if vehicle.mission.phase == .done || vehicle.mission.phase == .autopilotLost || t >= limitNs { break }
        }
        // Let the world settle a moment after the end (a parcel still swinging, etc.).
        let endNs = n * period
        let outcome = vehicle.mission.phase == .done || vehicle.mission.phase == .autopilotLost
            ? vehicle.mission.outcome.name : "timeout"
        return RunResult(sim: sim, outcome: outcome, simSeconds: Double(endNs) / 1e9,
                         wallSeconds: Date().timeIntervalSince(wallStart), mode: "inprocess")
    }
}

/// The end of one run, in any mode.
public struct RunResult {
    public let sim: ScenarioSim
    public let outcome: String
    public let simSeconds: Double
    public let wallSeconds: Double
    public let mode: String
    /// Heap allocations of the daemon counted at simulation times (process modes only).
    public var allocationSamples: [(timeNs: UInt64, count: UInt64)] = []
    /// Peak resident set of the daemon's process, KB (process modes only).
    public var peakRSSKB: Int? = nil
    /// The daemon's telemetry as the simulated dispatch server received it (process modes),
    /// with the simulation time of arrival; and how many events it sent.
    public var telemetry: [(timeNs: UInt64, value: Telemetry)] = []
    public var linkEvents = 0
    /// Process modes: the daemon's flight recorder directory, and when (simulation time)
    /// the run killed the daemon, if it did.
    public var recorderDir: String? = nil
    public var killedAtNs: UInt64? = nil

    public init(sim: ScenarioSim, outcome: String, simSeconds: Double, wallSeconds: Double, mode: String) {
        self.sim = sim
        self.outcome = outcome
        self.simSeconds = simSeconds
        self.wallSeconds = wallSeconds
        self.mode = mode
    }

    public var judgement: (passed: Bool, bounds: [ScenarioSim.Bound]) { sim.judge(outcome: outcome, simSeconds: simSeconds) }

    /// The summary object (`--json`).
    public func summaryJSON() -> String {
        let j = judgement
        func num(_ v: Double?) -> String {
            guard let v, v.isFinite else { return "null" }
            return String(format: "%.4f", v)
        }
        var s = "{\"scenario\":\"\(sim.scenario.name)\",\"mode\":\"\(mode)\",\"seed\":\(sim.seed),"
        s += "\"outcome\":\"\(outcome)\",\"expected\":\"\(sim.scenario.expectOutcome)\",\"passed\":\(j.passed),"
        s += "\"bounds\":["
        s += j.bounds.map { "{\"name\":\"\($0.name)\",\"value\":\(num($0.value)),\"limit\":\(num($0.limit)),\"passed\":\($0.passed)}" }
            .joined(separator: ",")
        s += "],\"landingErrorM\":\(num(sim.landingErrorM)),\"parcelErrorM\":\(num(sim.parcelErrorM)),"
        s += "\"batteryAtLandingPct\":\(num(sim.batteryAtLandingPct)),\"maxTensionN\":\(num(sim.maxTensionN)),"
        s += "\"releaseDelayS\":\(num(sim.releaseDelayS)),"
        s += "\"parcelTouchdownSpeedMps\":\(num(sim.drops.map(\.touchdownSpeedMps).max())),"
        s += "\"simSeconds\":\(num(simSeconds)),\"wallSeconds\":\(num(wallSeconds))}"
        return s
    }

    /// Writes the report directory; returns the index.html path.
    public func writeReport(to dir: String) throws -> String {
        var series = sim.series
        series.states = sim.states
        let j = judgement
        var lines: [(key: String, value: String, passed: Bool?)] = [
            ("scenario", sim.scenario.name, nil), ("mode", mode, nil), ("seed", String(sim.seed), nil),
            ("outcome", "\(outcome) (expected \(sim.scenario.expectOutcome))", outcome == sim.scenario.expectOutcome),
            ("simulated time", String(format: "%.1f s", simSeconds), nil),
            ("wall time", String(format: "%.2f s (%.0f× real time)", wallSeconds, simSeconds / max(wallSeconds, 1e-9)), nil),
        ]
        for b in j.bounds {
            let v = b.value.map { $0.isFinite ? String(format: "%.3f", $0) : "missed" } ?? "n/a"
            lines.append((b.name, "\(v) (limit \(String(format: "%.3f", b.limit)))", b.passed))
        }
        _ = try ReportWriter.write(to: dir, title: "\(sim.scenario.name) (\(mode), seed \(sim.seed))", series: series,
                                   site: sim.siteMarks, summaryLines: lines, events: sim.notes)
        return dir + "/index.html"
    }
}
