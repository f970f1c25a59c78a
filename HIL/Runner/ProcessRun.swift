import Foundation
import PlumbCore
import PlumbFlight
import PlumbHAL
import PlumbLink
import PlumbVehicle

/// Runs a scenario against the unchanged daemon: the host `plumbd` (process mode) or the
/// aarch64 `plumbd` under qemu-aarch64 (firmware mode), each with the LD_PRELOAD library
/// of HIL/preload, which puts /dev/i2c-N, /dev/gpiochip0 and the clock on this simulator.
/// Lockstep: the world moves only while the daemon sleeps, to the time it sleeps until.
public struct ProcessRun {
    public struct Paths {
        public var daemon: String
        public var preload: String
        public var qemu: String?
        public static func resolve(firmware: Bool) throws -> Paths {
            let fm = FileManager.default
            let env = ProcessInfo.processInfo.environment
            if firmware {
                let d = env["PLUMB_FIRMWARE"] ?? "build/aarch64/plumbd"
                let p = env["PLUMB_PRELOAD_AARCH64"] ?? "build/hil/plumbfake-aarch64.so"
                guard fm.fileExists(atPath: d) else { throw HILError.setup("firmware mode needs \(d) (make firmware)") }
                guard fm.fileExists(atPath: p) else { throw HILError.setup("firmware mode needs \(p) (make hil-preload)") }
                return Paths(daemon: d, preload: p, qemu: env["PLUMB_QEMU"] ?? "qemu-aarch64")
            }
            var d = env["PLUMB_DAEMON"] ?? ""
            if d.isEmpty {
                for c in [".build/release/plumbd", ".build/debug/plumbd"] where fm.fileExists(atPath: c) { d = c; break }
            }
            let p = env["PLUMB_PRELOAD"] ?? "build/hil/plumbfake.so"
            guard fm.fileExists(atPath: d) else { throw HILError.setup("process mode needs a host plumbd (swift build --product plumbd)") }
            guard fm.fileExists(atPath: p) else { throw HILError.setup("process mode needs \(p) (make hil-preload)") }
            return Paths(daemon: d, preload: p, qemu: nil)
        }
    }

    /// `countAllocationsAt`: simulation times at which to read the daemon's heap-allocation
    /// count (HIL/preload/malloccount.c); the samples come back in the result.
    /// The daemon's flight recorder writes into `workDir`/log, in files of at most
    /// `recorderFileMaxKB`. `killAtNs`: at this simulation time the daemon is sent SIGKILL
    /// (no chance to close anything) and the run ends with the outcome "killed".
    public static func run(_ scenario: Scenario, seed: UInt64, boardPath: String, workDir: String, firmware: Bool,
                           progress: ((String) -> Void)?, countAllocationsAt: [UInt64] = [],
                           recorderFileMaxKB: Int = 4096, killAtNs: UInt64? = nil,
                           reloads: [(atNs: UInt64, edit: (String) -> String)] = []) throws -> RunResult {
        let wallStart = Date()
        let paths = try Paths.resolve(firmware: firmware)
        let sim = try ScenarioSim(scenario: scenario, seed: seed, lineLevels: .physical)
        try FileManager.default.createDirectory(atPath: workDir, withIntermediateDirectories: true)
        let missionPath = workDir + "/mission.toml"
        let fromFile = scenario.missionSource == "file"
        if fromFile { try scenario.missionFile().write(toFile: missionPath, atomically: true, encoding: .utf8) }

        // The autopilot's UDP socket (ours) and the daemon's port.
        let ap = try LoopbackUDP()
        let daemonPort = try LoopbackUDP.freePort()
        let configText = scenarioConfigText(scenario, missionPath: fromFile ? missionPath : nil).replacingOccurrences(
            of: "[autopilot]\n", with: "[autopilot]\nlisten = \"127.0.0.1:\(daemonPort)\"\naddress = \"127.0.0.1:\(ap.port)\"\n")
        // The dispatch side: the daemon's link on loopback, this runner as the ground end,
        // collecting its telemetry (the daemon's own sensor readings) and its events.
        let dispatch = try LoopbackUDP()
        let linkPort = try LoopbackUDP.freePort()
        let keyBytes = (0..<32).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }
        let keyPath = workDir + "/link.key"
        try? FileManager.default.removeItem(atPath: keyPath)
        try? FileManager.default.removeItem(atPath: workDir + "/link.journal")
        FileManager.default.createFile(atPath: keyPath, contents: Data(keyBytes), attributes: [.posixPermissions: 0o600])
        _ = LinkCrypto.initialize()
        guard let linkKey = LinkKey(id: 1, bytes: keyBytes) else { throw HILError.setup("link key") }
        var ground = GroundLink(droneID: 1, key: linkKey, epoch: 1)
        // Dispatch sends the mission, its heartbeat and the start command.
        var upload = fromFile ? nil : MissionUpload(missionID: 1, items: scenario.missionItems())
        var schedule = DispatchSchedule(startS: scenario.dispatchStartS, sendsStart: !fromFile, commands: scenario.dispatchCommands)
        let linkText = """
        [link]
        enabled = true
        transport = "udp"
        drone_id = 1
        key_file = "\(keyPath)"
        key_id = 1
        journal_file = "\(workDir)/link.journal"
        listen = "127.0.0.1:\(linkPort)"
        dispatch = "127.0.0.1:\(dispatch.port)"
        telemetry_hz = 10

        """
        let configPath = workDir + "/plumbd.toml"
        // The flight recorder: a fresh directory each run.
        let recorderDir = workDir + "/log"
        try? FileManager.default.removeItem(atPath: recorderDir)
        let recorderText = "[recorder]\ndir = \"\(recorderDir)\"\nfile_max_kb = \(recorderFileMaxKB)\n"
        // The camera process's end: its sightings to the daemon's vision port.
        let camera = try LoopbackUDP()
        let visionPort = try LoopbackUDP.freePort()
        let visionText = sim.camera.params.present ? "[vision]\nlisten = \"127.0.0.1:\(visionPort)\"\n" : ""
        var sightings: [VisionSighting] = []
        var visionBytes: [UInt8] = []
        var visionSequence: UInt16 = 0
        try (configText + linkText + recorderText + visionText).write(toFile: configPath, atomically: true, encoding: .utf8)
        var killedAtNs: UInt64? = nil
        var telemetry: [(timeNs: UInt64, value: Telemetry)] = []
        var linkEvents = 0
        var frame = [UInt8](repeating: 0, count: LinkCrypto.maxFrame)

        let socketPath = workDir + "/hil.sock"
        try? FileManager.default.removeItem(atPath: socketPath)
        let c = sim.coupling
        let chip = FakeChip(number: 0, label: "pinctrl-sim", lines: [
            .input(c.hookLatchedLine), .input(c.drumHomeLine), .input(c.gnssPPSLine), .output(c.brakeLine),
            .output(c.cutterArmLine), .output(c.cutterFireLine), .output(c.statusLEDLine),
        ])
        let server = try FakeDevServer(socketPath: socketPath, buses: [1: sim.models(onBus: 1), 2: sim.models(onBus: 2)],
                                       chips: [chip], virtualClock: true, realtimeBaseNs: 1_763_856_000_000_000_000)
        server.log = { _ in }
        defer { server.close() }

        let p = Process()
        var args = ["--config", configPath, "--board", boardPath]
        // Extra daemon options for measurements (e.g. --timing).
        if let extra = ProcessInfo.processInfo.environment["PLUMB_DAEMON_EXTRA_ARGS"], !extra.isEmpty {
            args += extra.split(separator: " ").map(String.init)
        }
        var env = ProcessInfo.processInfo.environment
        env["PLUMB_HIL_SOCKET"] = socketPath
        var preload = paths.preload
        var counter: AllocationCounter? = nil
        if !countAllocationsAt.isEmpty {
            let lib = firmware ? "build/hil/malloccount-aarch64.so" : "build/hil/malloccount.so"
            guard FileManager.default.fileExists(atPath: lib) else { throw HILError.setup("counting allocations needs \(lib) (make hil-preload)") }
            counter = try AllocationCounter(path: workDir + "/malloc.count")
            preload += ":" + lib
            env["PLUMB_MALLOC_COUNT_FILE"] = workDir + "/malloc.count"
        }
        if let wrapper = ProcessInfo.processInfo.environment["PLUMB_DAEMON_WRAPPER"], !wrapper.isEmpty, paths.qemu == nil {
            // e.g. "valgrind --tool=callgrind --callgrind-out-file=F": the daemon under a tool.
            let words = wrapper.split(separator: " ").map(String.init)
            p.executableURL = URL(fileURLWithPath: try which(words[0]))
            args = Array(words.dropFirst()) + [paths.daemon] + args
            env["LD_PRELOAD"] = preload
        } else if let qemu = paths.qemu {
            p.executableURL = URL(fileURLWithPath: try which(qemu))
            args = ["-L", "/usr/aarch64-linux-gnu", "-E", "PLUMB_HIL_SOCKET=\(socketPath)", "-E", "LD_PRELOAD=\(preload)"]
                + (counter != nil ? ["-E", "PLUMB_MALLOC_COUNT_FILE=\(workDir)/malloc.count"] : []) + [paths.daemon] + args
        } else {
            p.executableURL = URL(fileURLWithPath: paths.daemon)
            env["LD_PRELOAD"] = preload
        }
        var samples: [(timeNs: UInt64, count: UInt64)] = []
        var pendingSamples = countAllocationsAt.sorted()
        p.arguments = args
        p.environment = env
        let errPipe = Pipe()
        p.standardError = errPipe
        p.standardOutput = FileHandle.nullDevice
        let log = DaemonLog()
        // Read synchronously (non-blocking) whenever the daemon sleeps: what it wrote in a
        // tick is then in the pipe, so every mission line is seen at the same step.
        let errFD = errPipe.fileHandleForReading.fileDescriptor
        _ = fcntl(errFD, F_SETFL, fcntl(errFD, F_GETFL) | O_NONBLOCK)
        var chunk = [UInt8](repeating: 0, count: 65536)
        func drainLog() {
            while true {
                let n = chunk.withUnsafeMutableBytes { read(errFD, $0.baseAddress, $0.count) }
                if n <= 0 { return }
                log.append(Data(chunk[0..<n]))
            }
        }
        // Lockstep is a ping-pong between this thread and the daemon: on one CPU each hand-over
        // is a plain context switch, across two it is a cross-CPU wake-up (measured: about
        // 3.5x faster pinned). Pin this thread (the daemon inherits it) and restore it after.
        var saved = [UInt8](repeating: 0, count: 128)
        let haveSaved = saved.withUnsafeMutableBytes { c_sched_getaffinity(0, 128, $0.baseAddress!) } == 0
        var one = [UInt8](repeating: 0, count: 128)
        let cpu = min(1023, max(0, Int(c_sched_getcpu())))
        one[cpu / 8] |= UInt8(1 << (cpu % 8))
        let pinned = haveSaved && one.withUnsafeBytes { c_sched_setaffinity(0, 128, $0.baseAddress!) } == 0
        defer { if pinned { _ = saved.withUnsafeBytes { c_sched_setaffinity(0, 128, $0.baseAddress!) } } }
        try p.run()
        defer { if p.isRunning { p.terminate() } }

        let limitNs = UInt64(scenario.timeLimitS * 1e9)
        // A daemon under valgrind takes its time; otherwise 30 s without a sleep is a hang.
        let sleepTimeoutMs = ProcessInfo.processInfo.environment["PLUMB_DAEMON_WRAPPER"].map { $0.isEmpty ? 30_000 : 600_000 } ?? 30_000
        var apBytes: [UInt8] = []
        var outcome: String? = nil
        var lastProgressS = -30.0
        var exited = false
        var pendingReloads = reloads.sorted { $0.atNs < $1.atNs }
        loop: while true {
            switch server.serveUntilAllSleep(timeoutMs: sleepTimeoutMs) {
            case .allSleeping(let deadline):
                let now = server.nowNs
                // What the daemon sent in its last tick reaches the autopilot now.
                while let d = ap.receive() { sim.autopilotInput(d, nowNs: now) }
                let linkUp = sim.dispatchLinkUp
                while let d = dispatch.receive() {
                    guard linkUp else { continue }   // lost on the way
                    switch d.withUnsafeBytes({ ground.receive($0, nowNs: now) }) {
                    case .telemetry(let t): telemetry.append((now, t))
                    case .event: linkEvents += 1
                    case .missionAcked(let id, let index, let ok): upload?.acknowledge(missionID: id, index: index, accepted: ok)
                    default: break
                    }
                }
                let due = schedule.due(nowNs: now, linkUp: linkUp, missionStored: upload?.done ?? true)
                if due.heartbeat { ground.queue(.heartbeat(timeMs: UInt32(truncatingIfNeeded: now / 1_000_000))) }
                if due.start { _ = ground.send(.start, nowNs: now) }
                for kind in schedule.commandsDue(nowNs: now, linkUp: linkUp) { _ = ground.send(kind, nowNs: now) }
                for _ in 0..<16 where linkUp {
                    var n = frame.withUnsafeMutableBytes({ ground.nextFrame(nowNs: now, into: $0) })
                    if n == nil, var u = upload {
                        n = frame.withUnsafeMutableBytes { u.nextFrame(&ground, nowNs: now, into: $0) }
                        upload = u
                    }
                    guard let n else { break }
                    dispatch.send(Array(frame[0..<n]), toPort: linkPort)
                }
                drainLog()
                for line in log.take() {
                    if let o = handle(line, sim: sim) { outcome = o }
                }
                while let first = pendingSamples.first, now >= first, let c = counter {
                    samples.append((now, c.read()))
                    pendingSamples.removeFirst()
                }
                // Config reloads: the file rewritten, then SIGHUP, as an operator would.
                while let r = pendingReloads.first, now >= r.atNs {
                    pendingReloads.removeFirst()
                    let text = (try? String(contentsOfFile: configPath, encoding: .utf8)) ?? ""
                    try r.edit(text).write(toFile: configPath, atomically: true, encoding: .utf8)
                    kill(p.processIdentifier, SIGHUP)
                }
                if let k = killAtNs, now >= k {
                    // The daemon has finished its ticks up to `now` and sleeps: kill it there.
                    kill(p.processIdentifier, SIGKILL)
                    p.waitUntilExit()
                    killedAtNs = now
                    outcome = "killed"
                    break loop
                }
                if outcome != nil || now >= limitNs { break loop }
                let next = deadline ?? (now + 10_000_000)
                sim.step(toNs: next)
                apBytes.removeAll(keepingCapacity: true)
                sim.autopilotOutput(nowNs: next, into: &apBytes)
                if !apBytes.isEmpty { ap.send(apBytes, toPort: daemonPort) }
                sightings.removeAll(keepingCapacity: true)
                sim.camera.arrived(nowNs: next, into: &sightings)
                for v in sightings {
                    visionBytes.removeAll(keepingCapacity: true)
                    VisionDatagram.encode(v, sequence: visionSequence, into: &visionBytes)
                    visionSequence &+= 1
                    camera.send(visionBytes, toPort: visionPort)
                }
                server.advance(toNs: next)
                let s = Double(next) / 1e9
                if let progress, s - lastProgressS >= 30 {
                    lastProgressS = s
                    progress(String(format: "t=%5.0f s  %-14@ alt %5.1f m  rope %4.1f m  battery %3.0f %%", s,
                                    sim.states.last?.name ?? "-", sim.world.heightAboveGroundM, sim.world.winch.ropeOutM,
                                    sim.world.battery.socFraction * 100))
                }
            case .timeout:
                throw HILError.setup("the daemon stopped answering (no sleep within \(sleepTimeoutMs / 1000) s of wall time); log:\n" + log.tail())
            case .noClients, .clientDisconnected:
                drainLog()
                if !p.isRunning { exited = true; break loop }
                if server.clientCount == 0 && Date().timeIntervalSince(wallStart) > 30 {
                    throw HILError.setup("the daemon never connected to the simulator; log:\n" + log.tail())
                }
            }
        }
        let endNs = server.nowNs
        // Peak resident memory of the daemon over the flight (of qemu with it, in firmware mode).
        var peakRSSKB: Int? = nil
        if let status = try? String(contentsOfFile: "/proc/\(p.processIdentifier)/status", encoding: .utf8),
           let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }) {
            peakRSSKB = Int(line.filter { $0.isNumber })
        }
        if p.isRunning {
            p.terminate()
            // Let it put the outputs safe; time must move for its sleeps.
            for _ in 0..<200 where p.isRunning {
                drainLog()
                if case .allSleeping(let d) = server.serveUntilAllSleep(timeoutMs: 50) { server.advance(toNs: d ?? server.nowNs + 10_000_000) }
            }
        }
        drainLog()
        p.waitUntilExit()
        drainLog()
        for line in log.take() { if let o = handle(line, sim: sim) { outcome = o } }
        try log.all().write(toFile: workDir + "/plumbd.log", atomically: true, encoding: .utf8)
        if exited && outcome == nil {
            throw HILError.setup("the daemon exited (status \(p.terminationStatus)) before the mission ended; log:\n" + log.tail())
        }
        var result = RunResult(sim: sim, outcome: outcome ?? "timeout", simSeconds: Double(endNs) / 1e9,
                               wallSeconds: Date().timeIntervalSince(wallStart), mode: firmware ? "firmware" : "process")
        result.allocationSamples = samples
        result.peakRSSKB = peakRSSKB
        result.telemetry = telemetry
        result.linkEvents = linkEvents
        result.recorderDir = recorderDir
        result.killedAtNs = killedAtNs
        return result
    }

    /// Mission lines of the daemon's log: state changes (with the daemon's own time) and the outcome.
    static func handle(_ line: String, sim: ScenarioSim) -> String? {
        guard let r = line.range(of: "mission ") else { return nil }
        let rest = line[r.upperBound...]
        if rest.hasPrefix("outcome=") {
            return String(rest.dropFirst("outcome=".count).prefix { $0 != " " })
        }
        guard rest.hasPrefix("t="), let sp = rest.firstIndex(of: " "), let t = Double(rest[rest.index(rest.startIndex, offsetBy: 2)..<sp]),
              let ph = rest.range(of: "phase=") else { return nil }
        let name = rest[ph.upperBound...].prefix { $0 != " " }
        let ns = UInt64((t * 1e9).rounded())
        sim.phase(String(name), atNs: ns)
        if let colon = rest.range(of: ": ") { sim.note("mission: " + rest[colon.upperBound...], atNs: ns) }
        return nil
    }

    static func which(_ name: String) throws -> String {
        if name.contains("/") { return name }
        for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin").split(separator: ":") {
            let p = String(dir) + "/" + name
            if FileManager.default.isExecutableFile(atPath: p) { return p }
        }
        throw HILError.setup("\(name) not found on PATH")
    }
}

/// The daemon's standard error, collected from another thread.
final class DaemonLog: @unchecked Sendable {
    private let lock = NSLock()
    private var pending = Data()
    private var lines: [String] = []
    private var everything = ""

    func append(_ d: Data) {
        lock.lock()
        defer { lock.unlock() }
        pending.append(d)
        while let nl = pending.firstIndex(of: 0x0A) {
            let line = String(decoding: pending[pending.startIndex..<nl], as: UTF8.self)
            pending.removeSubrange(pending.startIndex...nl)
            lines.append(line)
            everything += line + "\n"
        }
    }

    func take() -> [String] {
        lock.lock()
        defer { lock.unlock() }
        let l = lines
        lines.removeAll()
        return l
    }

    func all() -> String {
        lock.lock()
        defer { lock.unlock() }
        return everything
    }

    func tail() -> String { all().split(separator: "\n").suffix(20).joined(separator: "\n") }
}

/// A non-blocking UDP socket on 127.0.0.1 (the simulated autopilot's end).
final class LoopbackUDP {
    let fd: Int32
    let port: UInt16

    init() throws {
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        guard fd >= 0 else { throw HILError.setup("socket: errno \(errno)") }
        self.fd = fd
        var a = sockaddr_in()
        a.sin_family = sa_family_t(AF_INET)
        a.sin_addr.s_addr = inet_addr("127.0.0.1")
        a.sin_port = 0
        let ok = withUnsafePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard ok == 0 else { throw HILError.setup("bind: errno \(errno)") }
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        port = UInt16(bigEndian: a.sin_port)
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
    }

    deinit { close(fd) }

    static func freePort() throws -> UInt16 {
        let s = try LoopbackUDP()
        return s.port
    }

    func receive() -> [UInt8]? {
        var buf = [UInt8](repeating: 0, count: 4096)
        let n = buf.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        guard n > 0 else { return nil }
        return Array(buf[0..<n])
    }

    func send(_ bytes: [UInt8], toPort p: UInt16) {
        var a = sockaddr_in()
        a.sin_family = sa_family_t(AF_INET)
        a.sin_addr.s_addr = inet_addr("127.0.0.1")
        a.sin_port = p.bigEndian
        _ = bytes.withUnsafeBytes { b in
            withUnsafePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                sendto(fd, b.baseAddress, b.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            } }
        }
    }
}

/// The shared counter file malloccount.so increments.
final class AllocationCounter {
    let path: String
    init(path: String) throws {
        self.path = path
        try Data(count: 8).write(to: URL(fileURLWithPath: path))
    }
    func read() -> UInt64 {
        guard let d = FileManager.default.contents(atPath: path), d.count >= 8 else { return 0 }
        return d.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }
    }
}

// glibc's affinity calls (declared with _GNU_SOURCE only, so bound by name here).
@_silgen_name("sched_setaffinity") private func c_sched_setaffinity(_ pid: Int32, _ size: Int, _ mask: UnsafeRawPointer) -> Int32
@_silgen_name("sched_getaffinity") private func c_sched_getaffinity(_ pid: Int32, _ size: Int, _ mask: UnsafeMutableRawPointer) -> Int32
@_silgen_name("sched_getcpu") private func c_sched_getcpu() -> Int32
