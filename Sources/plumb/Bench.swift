import ArgumentParser
import Foundation
import PlumbHIL
import PlumbLink

/// `plumb bench`: figures, never pass/fail. Each row: value, target, what it is compared
/// with. `make bench` runs it on a release build and adds the firmware's size.
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Measure and print the project's figures (make bench).")

    @Option(help: "Write the figures as JSON here too.") var json: String?
    @Option(help: "Stripped size of the aarch64 firmware in bytes (measured by make bench).") var firmwareBytes: Int?
    @Option(help: "Frames for the link throughput figure.") var frames = 200_000
    @Option(help: "Seeds for the HIL accuracy figures (0: skip the HIL figures).") var seeds = 50
    @Flag(inversion: .prefixedNo, help: "Measure the tick cost with valgrind's callgrind.") var callgrind = true
    @Option(help: "Seconds per loop-timing run (8 runs: 100 and 400 Hz, idle and loaded, with and without SCHED_FIFO; 0: skip).")
    var jitterSeconds = 60

    struct Figure: Encodable {
        var name: String
        var value: Double
        var unit: String
        var target: String
        var comparedWith: String
        var meetsTarget: Bool?

        enum CodingKeys: String, CodingKey { case name, value, unit, target, comparedWith, meetsTarget }

        /// A value that is not a number (not measured, or infinite: a parcel that missed)
        /// is written as null, with the reason in `unit`.
        func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(name, forKey: .name)
            if value.isFinite { try c.encode(value, forKey: .value) } else { try c.encodeNil(forKey: .value) }
            try c.encode(unit, forKey: .unit)
            try c.encode(target, forKey: .target)
            try c.encode(comparedWith, forKey: .comparedWith)
            try c.encode(meetsTarget, forKey: .meetsTarget)
        }
    }

    func run() throws {
        var figures: [Figure] = []
        let (frameBytes, perSecond) = linkFigures(frames: frames)
        figures.append(Figure(name: "link telemetry frame", value: Double(frameBytes), unit: "bytes", target: "<= 64",
                              comparedWith: "MAVLink 2 signed HEARTBEAT + GLOBAL_POSITION_INT + BATTERY_STATUS + WINCH_STATUS: 207 bytes (\(String(format: "%.1f", 207.0 / Double(frameBytes)))x larger)",
                              meetsTarget: frameBytes <= 64))
        figures.append(Figure(name: "link encode + seal + open + decode", value: perSecond, unit: "frames/s (one core, this machine)",
                              target: "-", comparedWith: "100 Hz telemetry needs 100 frames/s: \(String(format: "%.0f", perSecond / 100))x headroom",
                              meetsTarget: nil))
        if let fw = firmwareBytes {
            figures.append(Figure(name: "aarch64 firmware, stripped", value: Double(fw) / 1024, unit: "KB", target: "< 512",
                                  comparedWith: "Embedded Swift, -Osize, function sections + ICF, packed relative relocations", meetsTarget: fw < 512 * 1024))
        }
        if seeds > 0 { figures += try hilFigures(seeds: seeds) }
        if callgrind { figures += tickCostFigures() }
        figures += startupFigures()
        figures += recorderFigures()
        if jitterSeconds > 0 { figures += jitterFigures(seconds: jitterSeconds) }
        print(String(repeating: "-", count: 138))
        for f in figures {
            let mark = f.meetsTarget == false ? "  MISSES TARGET" : ""
            let v = f.value >= 1000 ? String(format: "%.0f", f.value)
                : (f.value > 0 && f.value < 0.1 ? String(format: "%.4f", f.value) : String(format: "%.1f", f.value))
            print("\(f.name.padding(toLength: 66, withPad: " ", startingAt: 0)) \(v.padding(toLength: 9, withPad: " ", startingAt: 0)) \(f.unit.padding(toLength: 44, withPad: " ", startingAt: 0)) target \(f.target)\(mark)")
            print("    vs \(f.comparedWith)")
        }
        print(String(repeating: "-", count: 138))
        if let json {
            let enc = JSONEncoder()
            enc.outputFormatting = [.prettyPrinted, .sortedKeys]
            try enc.encode(figures).write(to: URL(fileURLWithPath: json))
        }
    }
}

/// The telemetry frame's size, and full round trips (drone encode + seal, ground open +
/// decode) per second.
func linkFigures(frames: Int) -> (Int, Double) {
    _ = LinkCrypto.initialize()
    guard let key = LinkKey(id: 1, bytes: Array(0..<32)) else { return (0, 0) }
    var drone = DroneLink(droneID: 1, key: key, epoch: 1)
    var ground = GroundLink(droneID: 1, key: key, epoch: 1)
    var buf = [UInt8](repeating: 0, count: LinkCrypto.maxFrame)
    var t = Telemetry()
    t.lat1e7 = 438_765_432
    t.lon1e7 = 1_253_245_678
    var size = 0
    var decoded = 0
    let start = DispatchTime.now().uptimeNanoseconds
    for i in 0..<frames {
        t.timeMs = UInt32(i)
        drone.setTelemetry(t)
        guard let n = buf.withUnsafeMutableBytes({ drone.nextFrame(nowNs: UInt64(i), into: $0) }) else { break }
        size = n
        if case .telemetry = buf.withUnsafeBytes({ ground.receive(UnsafeRawBufferPointer(rebasing: $0[0..<n]), nowNs: UInt64(i)) }) {
            decoded += 1
        }
    }
    let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    return (size, decoded == frames ? Double(frames) / seconds : 0)
}

/// The HIL's figures: speed in each mode on the nominal mission, landing and drop accuracy
/// over seeded runs in wind, and the daemon's heap allocations per tick.
func hilFigures(seeds: Int) throws -> [Bench.Figure] {
    var out: [Bench.Figure] = []
    let work = NSTemporaryDirectory() + "plumb-bench-\(getpid())"
    let nominal = try HIL.loadScenario("nominal-drop")
    let r = try InProcessRun.run(nominal, seed: 1, boardPath: "Board/sim.toml", workDir: work + "/inprocess")
    let ratio = r.simSeconds / max(r.wallSeconds, 1e-9)
    out.append(Bench.Figure(name: "HIL speed, in-process", value: ratio, unit: "x real time (nominal drop)", target: ">= 1000",
                            comparedWith: "ArduPilot SITL's copter suite runs at about 100x", meetsTarget: ratio >= 1000))
    for (mode, firmware, target) in [("process", false, 50.0), ("firmware", true, 10.0)] {
        do {
            // Allocations: the count at 40 s and 100 s of the nominal drop (steady transit,
            // no mission events in between), and over the whole flight after 10 s.
            setenv("PLUMB_DAEMON_EXTRA_ARGS", "--timing", 1)
            defer { unsetenv("PLUMB_DAEMON_EXTRA_ARGS") }
            let p = try ProcessRun.run(nominal, seed: 1, boardPath: "Board/sim.toml", workDir: work + "/" + mode,
                                       firmware: firmware, progress: nil,
                                       countAllocationsAt: [10_000_000_000, 40_000_000_000, 100_000_000_000, 300_000_000_000])
            unsetenv("PLUMB_DAEMON_EXTRA_ARGS")
            // The daemon's own count of user-space instructions per tick (perf counter), host only.
            if !firmware, let log = try? String(contentsOfFile: work + "/" + mode + "/plumbd.log", encoding: .utf8) {
                func after(_ key: String) -> Double? {
                    guard let r = log.range(of: key) else { return nil }
                    return Double(log[r.upperBound...].prefix { $0.isNumber })
                }
                if let mean = after("instructions per tick (user space) mean "), let worst = after("worst ") {
                    out.append(Bench.Figure(name: "instructions per tick, whole loop (perf counter)", value: mean, unit: "user-space instructions",
                                            target: "-", comparedWith: "the host plumbd over the nominal drop", meetsTarget: nil))
                    out.append(Bench.Figure(name: "worst tick", value: worst, unit: "user-space instructions in one tick",
                                            target: "-", comparedWith: "the same flight; the mean is \(Int(mean))", meetsTarget: nil))
                } else if let r = log.range(of: "ns, worst "), let mean = after(") mean ") {
                    let worst = Double(log[r.upperBound...].prefix { $0.isNumber }) ?? .nan
                    out.append(Bench.Figure(name: "worst tick (thread CPU time)", value: worst / 1000, unit: "us of CPU in one tick",
                                            target: "-", comparedWith: "mean \(Int(mean / 1000)) us; this machine has no instruction counter, so CPU time (including the preload library's socket round trips)",
                                            meetsTarget: nil))
                }
            }
            let pr = p.simSeconds / max(p.wallSeconds, 1e-9)
            out.append(Bench.Figure(name: "HIL speed, \(mode) mode", value: pr, unit: "x real time (nominal drop)",
                                    target: ">= \(Int(target))",
                                    comparedWith: firmware ? "the aarch64 plumbd under qemu-aarch64, lockstep over the faked /dev"
                                        : "the host plumbd, lockstep over the faked /dev",
                                    meetsTarget: pr >= target))
            if let kb = p.peakRSSKB {
                out.append(Bench.Figure(name: "peak RSS, \(mode) mode", value: Double(kb) / 1024, unit: "MB over the nominal drop",
                                        target: firmware ? "-" : "< 8",
                                        comparedWith: firmware ? "qemu-aarch64 and the firmware together (not the firmware alone)"
                                            : "the host plumbd (VmHWM), with the preload library",
                                        meetsTarget: firmware ? nil : Double(kb) / 1024 < 8))
            }
            let s = p.allocationSamples
            if s.count >= 3 {
                let steady = Double(s[2].count - s[1].count) / Double((s[2].timeNs - s[1].timeNs) / 10_000_000)
                let count = s[2].count - s[1].count
                out.append(Bench.Figure(name: "allocations per tick, \(mode)", value: steady, unit: "malloc calls/tick, steady transit",
                                        target: "0", comparedWith: "\(count) allocation(s) in ticks 40-100 s of the nominal drop at 100 Hz (malloccount.so; the periodic link-statistics line is built without allocating; the mission's log lines at phase changes do allocate, see the flight figure)",
                                        meetsTarget: steady == 0))
                if let last = s.last, last.timeNs > s[0].timeNs {
                    let all = Double(last.count - s[0].count) / Double((last.timeNs - s[0].timeNs) / 10_000_000)
                    out.append(Bench.Figure(name: "allocations per tick, \(mode), flight", value: all, unit: "malloc calls/tick, 10-300 s",
                                            target: "-", comparedWith: "includes the mission's log lines at its state changes",
                                            meetsTarget: nil))
                }
            }
        } catch {
            out.append(Bench.Figure(name: "HIL speed, \(mode) mode", value: .nan, unit: "not measured: \(error)",
                                    target: ">= \(Int(target))", comparedWith: "-", meetsTarget: false))
        }
    }
    struct Sweep {
        var landing: [Double] = [], parcel: [Double] = []
        /// Per drop: the parcel's vertical speed at its touchdown, and the time from that
        /// touchdown to the hook opening (released drops only).
        var touchdownSpeed: [Double] = [], releaseDelay: [Double] = []
        /// Releases with the parcel still hanging, over all runs.
        var releasesHanging = 0
        var failed = 0
    }
    func sweep(_ name: String, withoutCamera: Bool = false) throws -> Sweep {
        var s = try HIL.loadScenario(name)
        if withoutCamera { s.world.removeAll { $0.key.hasPrefix("world.camera.") } }
        var w = Sweep()
        for seed in 1...seeds {
            let r = try InProcessRun.run(s, seed: UInt64(seed), boardPath: "Board/sim.toml", workDir: work + "/sweep")
            w.landing += r.sim.landings.map(\.errorM)
            w.parcel += r.sim.drops.map { $0.inStation ? $0.placementErrorM : .infinity }
            w.touchdownSpeed += r.sim.drops.map(\.touchdownSpeedMps)
            w.releaseDelay += r.sim.drops.compactMap { d in d.releaseNs.map { Double($0 &- d.touchdownNs) / 1e9 } }
            w.releasesHanging += r.sim.releasesWhileHanging
            if !r.judgement.passed { w.failed += 1 }
        }
        return w
    }
    func pct(_ a: [Double], _ p: Double) -> Double {
        guard !a.isEmpty else { return .nan }
        let b = a.sorted()
        return b[min(b.count - 1, Int((p * Double(b.count - 1)).rounded(.up)))]
    }
    let land = try sweep("landing-wind")
    out.append(Bench.Figure(name: "landing error p95, 8 m/s gusting 12", value: pct(land.landing, 0.95) * 100, unit: "cm, \(land.landing.count) landings, RTK fixed",
                            target: "<= 10 (none > 30)", comparedWith: "max \(String(format: "%.1f", (land.landing.max() ?? .nan) * 100)) cm; ArduPilot claims 30 cm with an IR beacon, PX4 about 10 cm",
                            meetsTarget: pct(land.landing, 0.95) <= 0.10 && (land.landing.max() ?? 1) <= 0.30))
    let drop = try sweep("wind-gusts")
    let delivered = drop.parcel.filter { $0.isFinite }.count
    out.append(Bench.Figure(name: "parcel error p95, 8 m/s gusting 12", value: pct(drop.parcel, 0.95) * 100, unit: "cm, \(drop.parcel.count) drops (inf: missed the opening)",
                            target: "<= 25", comparedWith: "p50 \(String(format: "%.1f", pct(drop.parcel, 0.5) * 100)) cm; \(delivered) of \(drop.parcel.count) through the opening, the rest brought back",
                            meetsTarget: pct(drop.parcel, 0.95) <= 0.25))
    let fastest = drop.touchdownSpeed.max() ?? .nan
    out.append(Bench.Figure(name: "parcel touchdown speed, 8 m/s gusting 12", value: fastest, unit: "m/s, fastest of \(drop.touchdownSpeed.count)",
                            target: "<= 0.5", comparedWith: "p50 \(String(format: "%.2f", pct(drop.touchdownSpeed, 0.5))) m/s",
                            meetsTarget: fastest <= 0.5))
    let slowest = drop.releaseDelay.max() ?? .nan
    out.append(Bench.Figure(name: "release after parcel touchdown, 8 m/s gusting 12", value: slowest, unit: "s, slowest of \(drop.releaseDelay.count)",
                            target: "<= 0.3", comparedWith: "p50 \(String(format: "%.2f", pct(drop.releaseDelay, 0.5))) s",
                            meetsTarget: slowest <= 0.3))
    // The same flights without the camera: the drift from the autopilot's wind estimate only.
    let blind = try sweep("wind-gusts", withoutCamera: true)
    let blindIn = blind.parcel.filter { $0.isFinite }.count
    out.append(Bench.Figure(name: "parcel error p95, 8 m/s gusting 12, no camera", value: pct(blind.parcel, 0.95) * 100,
                            unit: "cm, \(blind.parcel.count) drops (inf: missed the opening)",
                            target: "-", comparedWith: "p50 \(String(format: "%.1f", pct(blind.parcel, 0.5) * 100)) cm; \(blindIn) of \(blind.parcel.count) through the opening",
                            meetsTarget: nil))
    let calm = try sweep("nominal-drop")
    let early = drop.releasesHanging + blind.releasesHanging + calm.releasesHanging
    out.append(Bench.Figure(name: "releases before the parcel was down", value: Double(early),
                            unit: "over \(drop.releaseDelay.count + blind.releaseDelay.count + calm.releaseDelay.count) releases (wind with and without camera, nominal)",
                            target: "0", comparedWith: "every scenario in the suite also checks it", meetsTarget: early == 0))
    out.append(Bench.Figure(name: "parcel error p95, 3 m/s gusting to 8, no camera", value: pct(calm.parcel, 0.95) * 100, unit: "cm, \(calm.parcel.count) drops",
                            target: "<= 25", comparedWith: "p50 \(String(format: "%.1f", pct(calm.parcel, 0.5) * 100)) cm; \(calm.failed) run(s) of \(seeds) off their scenario",
                            meetsTarget: pct(calm.parcel, 0.95) <= 0.25))
    return out
}

/// Instructions per control tick of the host daemon over the nominal landing, by stage,
/// counted by valgrind's callgrind (repeatable, unlike time).
func tickCostFigures() -> [Bench.Figure] {
    let work = NSTemporaryDirectory() + "plumb-callgrind-\(getpid())"
    let outFile = work + "/callgrind.out"
    let missing = Bench.Figure(name: "tick cost", value: .nan, unit: "not measured (valgrind or the HIL missing)", target: "-",
                               comparedWith: "-", meetsTarget: nil)
    guard FileManager.default.isExecutableFile(atPath: "/usr/bin/valgrind"),
          let s = try? HIL.loadScenario("nominal-landing") else { return [missing] }
    setenv("PLUMB_DAEMON_WRAPPER", "valgrind --tool=callgrind --callgrind-out-file=\(outFile)", 1)
    defer { unsetenv("PLUMB_DAEMON_WRAPPER") }
    guard let r = try? ProcessRun.run(s, seed: 1, boardPath: "Board/sim.toml", workDir: work, firmware: false, progress: nil) else {
        return [missing]
    }
    unsetenv("PLUMB_DAEMON_WRAPPER")
    let ticks = r.simSeconds * 100
    // Inclusive instruction counts per function, demangled.
    let annotate = Process()
    annotate.executableURL = URL(fileURLWithPath: "/bin/sh")
    annotate.arguments = ["-c", "callgrind_annotate --inclusive=yes --threshold=100 '\(outFile)' | swift demangle --simplified"]
    let pipe = Pipe()
    annotate.standardOutput = pipe
    annotate.standardError = FileHandle.nullDevice
    guard (try? annotate.run()) != nil else { return [missing] }
    let text = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    annotate.waitUntilExit()
    func inclusive(_ needle: String) -> Double? {
        var best: Double? = nil
        for line in text.split(separator: "\n") where line.contains(needle) {
            let first = line.split(separator: " ", omittingEmptySubsequences: true).first ?? ""
            if let v = Double(first.filter { $0.isNumber }) { best = max(best ?? 0, v) }
        }
        return best
    }
    var out: [Bench.Figure] = []
    let stages: [(String, String, String)] = [
        ("tick, whole (drivers to outputs)", "Vehicle.tick(", "DeviceRuntime.tick + snapshot + Mission.step + actuate"),
        ("tick stage: drivers", "DeviceRuntime.tick(", "I2C polls on the faked /dev (syscalls into the preload library counted)"),
        ("tick stage: snapshot", "DeviceRuntime.snapshot(", "one immutable snapshot"),
        ("tick stage: estimator + mission + controllers", "Mission.step(", "frame and rope estimators, state machine, failsafes"),
        ("tick stage: winch, hook, cutter outputs", "Vehicle.actuate(", "PCA9685 writes only on change"),
        ("tick stage: MAVLink out", "AutopilotRuntime.send(", "setpoint streaming, heartbeat, commands"),
        ("tick stage: MAVLink in", "AutopilotRuntime.readable(", "parsing the autopilot's telemetry"),
    ]
    for (name, needle, what) in stages {
        if let v = inclusive(needle) {
            out.append(Bench.Figure(name: name, value: v / ticks, unit: "instructions/tick (callgrind, host x86-64)",
                                    target: "-", comparedWith: what, meetsTarget: nil))
        } else {
            out.append(Bench.Figure(name: name, value: .nan, unit: "not separable (inlined by the optimiser)",
                                    target: "-", comparedWith: what, meetsTarget: nil))
        }
    }
    // The whole tick: Vehicle.tick when the optimiser kept it, else the sum of its stages.
    let parts = ["DeviceRuntime.tick(", "DeviceRuntime.snapshot(", "Mission.step(", "Vehicle.actuate("].compactMap { inclusive($0) }
    let wholeTick = inclusive("Vehicle.tick(") ?? (parts.isEmpty ? nil : parts.reduce(0, +))
    if let whole = wholeTick {
        let perSecond = (whole + (inclusive("AutopilotRuntime.send(") ?? 0) + (inclusive("AutopilotRuntime.readable(") ?? 0)) / ticks * 100
        out.append(Bench.Figure(name: "CPU on the drone (estimate)", value: perSecond / 1.5e9 * 100,
                                unit: "% of one 1.5 GHz Cortex-A72 at 1 instr/cycle", target: "-",
                                comparedWith: "an estimate: \(String(format: "%.2f", perSecond / 1e6)) M instructions per second of flight at 100 Hz (drivers, flight, outputs, MAVLink), counted on x86-64",
                                meetsTarget: nil))
    }
    return out
}

/// Wall time from exec to the end of the first control tick of the host daemon on a board
/// without hardware (no device power-up waits), median of 20 starts.
func startupFigures() -> [Bench.Figure] {
    let daemon = FileManager.default.fileExists(atPath: ".build/release/plumbd") ? ".build/release/plumbd" : ".build/debug/plumbd"
    let config = NSTemporaryDirectory() + "plumb-bench-startup.toml"
    try? "[realtime]\nsched_fifo = false\nlock_memory = false\n[autopilot]\nlisten = \"127.0.0.1:0\"\n"
        .write(toFile: config, atomically: true, encoding: .utf8)
    var times: [Double] = []
    for _ in 0..<20 {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: daemon)
        p.arguments = ["--config", config, "--board", "Tests/fixtures/no-hardware.toml", "--ticks", "1"]
        p.standardError = FileHandle.nullDevice
        p.standardOutput = FileHandle.nullDevice
        let t0 = DispatchTime.now().uptimeNanoseconds
        guard (try? p.run()) != nil else { break }
        p.waitUntilExit()
        times.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6 - 10)   // less the one 10 ms period waited
    }
    guard !times.isEmpty else { return [] }
    let median = times.sorted()[times.count / 2]
    return [Bench.Figure(name: "start-up to first tick", value: median, unit: "ms (median of 20, host plumbd, exec to exit)",
                         target: "< 100", comparedWith: "includes process start, dynamic linking and the shutdown after the tick",
                         meetsTarget: median < 100)]
}

/// Loop timing on the Linux backend: the host plumbd on a board without hardware, how late
/// each tick woke against the timer's schedule, at 100 and 400 Hz, idle and under
/// `stress-ng --cpu 2`, asking for SCHED_FIFO or not (the daemon says whether it was granted).
func jitterFigures(seconds: Int) -> [Bench.Figure] {
    let daemon = FileManager.default.fileExists(atPath: ".build/release/plumbd") ? ".build/release/plumbd" : ".build/debug/plumbd"
    var out: [Bench.Figure] = []
    let stress = ["/usr/bin/stress-ng", "/usr/local/bin/stress-ng"].first { FileManager.default.isExecutableFile(atPath: $0) }
    for load in [false, true] {
        var stressor: Process? = nil
        if load {
            guard let stress else {
                out.append(Bench.Figure(name: "loop timing under load", value: .nan, unit: "not measured: stress-ng not installed",
                                        target: "-", comparedWith: "-", meetsTarget: nil))
                continue
            }
            let p = Process()
            p.executableURL = URL(fileURLWithPath: stress)
            p.arguments = ["--cpu", "2", "--timeout", "\(seconds * 4 + 30)s", "--quiet"]
            p.standardOutput = FileHandle.nullDevice
            p.standardError = FileHandle.nullDevice
            if (try? p.run()) != nil { stressor = p }
            Thread.sleep(forTimeInterval: 1)
        }
        for rate in [100, 400] {
            for fifo in [false, true] {
                let config = NSTemporaryDirectory() + "plumb-bench-jitter-\(rate)-\(fifo).toml"
                try? "[loop]\nrate_hz = \(rate)\n[realtime]\nsched_fifo = \(fifo)\npriority = 80\nlock_memory = \(fifo)\n[autopilot]\nlisten = \"127.0.0.1:0\"\n"
                    .write(toFile: config, atomically: true, encoding: .utf8)
                let p = Process()
                p.executableURL = URL(fileURLWithPath: daemon)
                p.arguments = ["--config", config, "--board", "Tests/fixtures/no-hardware.toml", "--ticks", "\(rate * seconds)", "--timing"]
                let pipe = Pipe()
                p.standardOutput = pipe
                p.standardError = FileHandle.nullDevice
                guard (try? p.run()) != nil else { continue }
                let text = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
                p.waitUntilExit()
                // "timing: N ticks at R Hz, wake latency p50 A us, p99 B us, max C us; missed M, over budget O; SCHED_FIFO S"
                func number(after key: String) -> Double? {
                    guard let r = text.range(of: key) else { return nil }
                    return Double(text[r.upperBound...].prefix { $0.isNumber })
                }
                let granted = text.contains("SCHED_FIFO granted") ? "granted" : (fifo ? "refused" : "not asked")
                let label = "\(rate) Hz, \(load ? "stress-ng --cpu 2" : "idle"), SCHED_FIFO \(granted)"
                guard let p99 = number(after: "p99 "), let p50 = number(after: "p50 "), let mx = number(after: "max "),
                      let missed = number(after: "missed ") else {
                    out.append(Bench.Figure(name: "wake latency p99, " + label, value: .nan, unit: "not measured", target: "< 200 us",
                                            comparedWith: "-", meetsTarget: false))
                    continue
                }
                out.append(Bench.Figure(name: "wake latency p99, " + label, value: p99, unit: "us over \(seconds) s",
                                        target: "< 200", comparedWith: "p50 \(Int(p50)) us, max \(Int(mx)) us, \(Int(missed)) tick(s) missed",
                                        meetsTarget: p99 < 200))
                if rate == 100 && load && granted == "granted" {
                    out.append(Bench.Figure(name: "missed ticks, 100 Hz under load, SCHED_FIFO", value: missed, unit: "ticks over \(seconds) s",
                                            target: "0", comparedWith: label, meetsTarget: missed == 0))
                }
            }
        }
        stressor?.terminate()
        stressor?.waitUntilExit()
    }
    return out
}
