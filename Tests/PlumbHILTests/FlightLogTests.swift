import Foundation
import PlumbCore
import PlumbFlight
import Testing
@testable import PlumbHIL

// The daemon's flight recorder, as the unchanged host plumbd writes it in process mode: the
// log of a whole delivery reads back and plots the flight the simulator flew; a daemon
// killed with SIGKILL leaves a readable log that ends within a second of its last tick.

/// The host plumbd and the preload library, as `make test` builds them; nil when missing.
private func processMode() -> Bool {
    let preload = root + "/build/hil/plumbfake.so"
    let daemons = [root + "/.build/debug/plumbd", root + "/.build/release/plumbd"].filter { FileManager.default.fileExists(atPath: $0) }
    guard FileManager.default.fileExists(atPath: preload), let daemon = daemons.first else { return false }
    setenv("PLUMB_PRELOAD", preload, 1)
    setenv("PLUMB_DAEMON", daemon, 1)
    return true
}

private func fly(_ name: String, work: String, fileMaxKB: Int = 4096, killAtNs: UInt64? = nil) throws -> RunResult {
    let cwd = FileManager.default.currentDirectoryPath
    _ = FileManager.default.changeCurrentDirectoryPath(root)
    defer { _ = FileManager.default.changeCurrentDirectoryPath(cwd) }
    return try ProcessRun.run(try scenario(name), seed: 1, boardPath: root + "/Board/sim.toml", workDir: work,
                              firmware: false, progress: nil, recorderFileMaxKB: fileMaxKB, killAtNs: killAtNs)
}

/// The ids of the drawn series (`class="series"`) in an SVG, with their point counts.
private func seriesIn(_ svg: String) -> [String: Int] {
    var out: [String: Int] = [:]
    let pattern = try! NSRegularExpression(pattern: #"<path class="series" data-series="([^"]+)" d="([^"]*)""#)
    for m in pattern.matches(in: svg, range: NSRange(svg.startIndex..., in: svg)) {
        guard let id = Range(m.range(at: 1), in: svg), let d = Range(m.range(at: 2), in: svg) else { continue }
        let points = svg[d].split(whereSeparator: { " MLh".contains($0) }).count / 2
        out[String(svg[id]), default: 0] += points
    }
    return out
}

@Suite(.serialized) struct DaemonFlightLog {
    @Test func theDaemonsLogPlotsTheFlightItFlew() throws {
        guard processMode() else { return }   // built by `make hil-preload` and `swift build`
        let work = NSTemporaryDirectory() + "plumb-hil-tests-\(getpid())-flightlog"
        // Small files, so that the flight spans several and the reader joins them.
        let r = try fly("nominal-drop", work: work, fileMaxKB: 256)
        #expect(r.outcome == "delivered")
        let dir = try #require(r.recorderDir)
        let files = try FlightLog.files(inDirectory: dir)
        #expect(files.count >= 3, "\(files.count) file(s)")
        for f in files {
            let size = try FileManager.default.attributesOfItem(atPath: f)[.size] as? Int ?? 0
            #expect(size <= 256 * 1024, "\(f): \(size) bytes")
        }
        let log = try FlightLog.load(dir)
        #expect(log.files.count == files.count, "one session")
        #expect(log.header.board == "sim" && log.header.rateHz == 100 && log.header.software.hasPrefix("plumbd "))
        #expect(log.tornBytes == 0 && log.damagedBytes == 0 && log.lostRecords == 0)
        // Every tick of the flight, none missing: the log ends where the daemon stopped.
        #expect(log.tickGaps().isEmpty, "gaps: \(log.tickGaps().prefix(5))")
        let end = try #require(log.endNs)
        #expect(abs(Double(end) / 1e9 - r.simSeconds) < 0.05, "log ends at \(Double(end) / 1e9) s, the run at \(r.simSeconds) s")
        #expect(abs(Double(log.tickCount) - log.durationS * 100 - 1) < 1.5)
        // The mission as the daemon flew it: the states the runner saw in its log, in order.
        let phases = log.phaseChanges.map(\.phase)
        #expect(phases.last == "done")
        let logged = r.sim.states.map(\.name)
        #expect(Array(phases.drop { $0 == "idle" }) == logged, "\(phases) vs \(logged)")
        #expect(log.events.last?.outcome == "delivered")
        #expect(log.events.contains { $0.note == MissionNote.released.text })
        #expect((log.table(.gnss)?.count ?? 0) > 1000)
        #expect(log.commands.contains { $0.text.hasPrefix("takeoff") } || log.commands.contains { $0.text == "arm" })

        // plumb log plot: the report's files, each plot with its series drawn.
        let out = work + "/plot"
        try? FileManager.default.removeItem(atPath: out)
        let paths = try log.writeReport(to: out, title: log.title)
        let names = paths.map { ($0 as NSString).lastPathComponent }
        #expect(names == ["timeseries.csv", "states.csv", "events.csv"] + ReportWriter.plotNames() + ["index.html"])
        let expected: [String: [String]] = [
            "track.svg": ["track", "est_track"],
            "altitude.svg": ["down", "vdown"],
            "rope.svg": ["rope_m", "tension_n"],
            "battery.svg": ["battery_pct", "battery_v"],
            "states.svg": ["state"],
        ]
        for (plot, ids) in expected {
            let svg = try String(contentsOfFile: out + "/" + plot, encoding: .utf8)
            let drawn = seriesIn(svg)
            for id in ids { #expect((drawn[id] ?? 0) > 10, "\(plot): series \(id) drawn with \(drawn[id] ?? 0) points") }
        }
        let track = try String(contentsOfFile: out + "/track.svg", encoding: .utf8)
        #expect(track.contains("flight code&#39;s estimate") && !track.contains("truth"))

        // The CSV against the run: the same flight, as the sensors and the estimate saw it.
        let csv = try ReportWriter.readCSV(path: out + "/timeseries.csv")
        #expect(csv.rows.count == log.tickCount)
        func col(_ name: String) throws -> [Double] {
            let c = try #require(csv.column(name), "column \(name)")
            #expect(c.contains { $0.isFinite }, "column \(name) is empty")
            return c.filter { $0.isFinite }
        }
        let truth = r.sim.series
        let ropeMax = try col("rope_m").max() ?? 0
        let truthRopeMax = truth.column("rope_m")?.max() ?? 0
        #expect(ropeMax > 5 && abs(ropeMax - truthRopeMax) < 0.05, "rope: log \(ropeMax) m, world \(truthRopeMax) m")
        #expect((try col("tension_n").max() ?? 0) > 50)
        let pct = try col("battery_pct")
        let truthPct = (truth.column("battery_pct") ?? []).filter { $0.isFinite }
        #expect(abs((pct.last ?? 0) - (truthPct.last ?? -99)) < 1.5, "battery at the end: log \(pct.last ?? .nan), world \(truthPct.last ?? .nan)")
        #expect((pct.first ?? 0) > (pct.last ?? 0))
        let volts = try col("battery_v")
        #expect(volts.allSatisfy { $0 > 30 && $0 < 60 })
        // Where it came to rest: home, as in the world (within the estimate's error).
        let north = try col("north"), east = try col("east"), down = try col("down")
        let tn = (truth.column("north") ?? []).last ?? .nan, te = (truth.column("east") ?? []).last ?? .nan
        #expect(abs((north.last ?? .nan) - tn) < 0.3 && abs((east.last ?? .nan) - te) < 0.3,
                "rest: log (\(north.last ?? .nan), \(east.last ?? .nan)), world (\(tn), \(te))")
        #expect((down.min() ?? 0) < -40, "cruise height reached")
        #expect((try col("est_north")).count > 1000)
        let states = try ReportWriter.readStates(path: out + "/states.csv")
        #expect(states.last?.name == "done")
        let html = try String(contentsOfFile: out + "/index.html", encoding: .utf8)
        #expect(html.contains("delivered") && html.contains("final phase"))

        // The command line, where it is built: `plumb log info` and `plumb log plot` on the directory.
        let plumb = [root + "/.build/debug/plumb", root + "/.build/release/plumb"].first { FileManager.default.fileExists(atPath: $0) }
        if let plumb {
            let info = try run(plumb, ["log", "info", dir])
            #expect(info.status == 0)
            #expect(info.out.contains("ticks: \(log.tickCount)") && info.out.contains("outcome: delivered"), "\(info.out)")
            #expect(info.out.contains("no gaps"))
            let cli = work + "/plot-cli"
            let plot = try run(plumb, ["log", "plot", dir, "--out", cli])
            #expect(plot.status == 0 && plot.out.contains("report: \(cli)/index.html"))
            for name in names {
                #expect(try Data(contentsOf: URL(fileURLWithPath: cli + "/" + name)) == Data(contentsOf: URL(fileURLWithPath: out + "/" + name)),
                        "\(name) differs between the command and the library")
            }
            let export = try run(plumb, ["log", "export", files[0]])
            #expect(export.status == 0)
            let lines = export.out.split(separator: "\n")
            #expect(lines.first?.hasPrefix("t [s],battery_ok,") == true)
            #expect(lines.count > 1000)
        }
    }

    @Test func aKilledDaemonLosesAtMostTheLastSecond() throws {
        guard processMode() else { return }
        let work = NSTemporaryDirectory() + "plumb-hil-tests-\(getpid())-flightlog-kill"
        // In transit, far from any state change.
        let r = try fly("nominal-drop", work: work, killAtNs: 95_000_000_000)
        #expect(r.outcome == "killed")
        let killed = try #require(r.killedAtNs)
        let log = try FlightLog.load(try #require(r.recorderDir))
        let last = try #require(log.endNs)
        // The daemon ran its ticks up to `killed` (it was asleep, waiting for the next).
        #expect(last <= killed)
        #expect(killed - last <= 1_000_000_000, "last tick in the log at \(Double(last) / 1e9) s, killed at \(Double(killed) / 1e9) s")
        #expect(log.damagedBytes == 0)
        #expect(log.tickGaps().isEmpty)
        #expect(Double(log.tickCount) >= 90 * 100)
        #expect(log.phaseChanges.last?.phase != "done")
    }
}

private func run(_ exe: String, _ args: [String]) throws -> (status: Int32, out: String) {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: exe)
    p.arguments = args
    p.currentDirectoryURL = URL(fileURLWithPath: root)
    let pipe = Pipe()
    p.standardOutput = pipe
    p.standardError = FileHandle.nullDevice
    try p.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return (p.terminationStatus, String(decoding: data, as: UTF8.self))
}
