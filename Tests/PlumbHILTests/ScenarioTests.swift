import Foundation
import PlumbCore
import PlumbFlight
import Testing
@testable import PlumbHIL

private func fly(_ name: String, seed: UInt64 = 1,
                 observer: ((SensorSnapshot, ScenarioSim) -> Void)? = nil) throws -> RunResult {
    try InProcessRun.run(try scenario(name), seed: seed, boardPath: root + "/Board/sim.toml",
                         workDir: NSTemporaryDirectory() + "plumb-hil-tests-\(getpid())-\(name)-\(seed)", observer: observer)
}

private func csv(_ r: RunResult) -> [String] {
    r.sim.series.rows.map { row in row.map { String(format: "%.9g", $0) }.joined(separator: ",") }
}

@Suite(.serialized) struct ScenarioDeterminism {
    @Test func sameSeedSameFlightOtherSeedOtherFlight() throws {
        let a = try fly("nominal-drop", seed: 7)
        let b = try fly("nominal-drop", seed: 7)
        let c = try fly("nominal-drop", seed: 8)
        #expect(a.summaryJSON().replacingOccurrences(of: #""wallSeconds":[0-9.]+"#, with: "", options: .regularExpression)
                == b.summaryJSON().replacingOccurrences(of: #""wallSeconds":[0-9.]+"#, with: "", options: .regularExpression))
        #expect(csv(a) == csv(b))
        #expect(a.sim.states.map(\.name) == b.sim.states.map(\.name))
        #expect(csv(a) != csv(c), "a different seed must give a different world")
    }
}

@Suite(.serialized) struct SensorsAgainstTruth {
    /// What the flight code read through the drivers, tick by tick, against the world's
    /// ground truth, within each sensor's modelled error.
    @Test func readingsMatchTheWorld() throws {
        var battery: [Double] = [], rope: [Double] = [], tension: [Double] = [], gnss: [Double] = [], home: Int = 0
        var ticks = 0
        var recent: [Double] = []
        var outputs: [(count: UInt64, lat: Double, lon: Double)] = []
        _ = try fly("nominal-drop") { s, sim in
            ticks += 1
            let w = sim.world
            if s.batteryOK { battery.append(abs(s.batteryVoltageV - w.battery.voltageV)) }
            if s.encoderOK { rope.append(abs(s.ropeOutM - w.winch.ropeOutM)) }
            // The load cell converts at 80 SPS and is read a poll later: compare with the
            // truth of the last three ticks.
            // Tared at power-up with the empty hook on: it reads the load beyond the hook.
            recent.append(w.winch.tensionN - w.config.winch.hookMassKg * 9.80665)
            if recent.count > 3 { recent.removeFirst() }
            if s.tensionOK && w.parcel.attached { tension.append(recent.map { abs(s.tensionN - $0) }.min() ?? .infinity) }
            if let m = w.gnssOutput, outputs.last?.count != w.gnssOutputCount {
                outputs.append((w.gnssOutputCount, m.latDeg, m.lonDeg))
            }
            if s.gnssNew, let fix = s.gnss {
                // The solution the driver decoded is one the receiver model put out lately.
                let d = outputs.suffix(4).map { max(abs(fix.position.latDeg - $0.lat), abs(fix.position.lonDeg - $0.lon)) }
                gnss.append(d.min() ?? .infinity)
            }
            if s.drumHome == true && w.winch.ropeOutM < 0.05 { home += 1 }
        }
        #expect(ticks > 10_000)
        // SBS voltage is reported in mV and read a poll behind: within 0.3 V under load changes.
        #expect(!battery.isEmpty && battery.sorted()[battery.count * 99 / 100] < 0.3)
        // AS5600: 12 bits per 0.30 m turn is 0.07 mm; one poll behind at up to 1.2 m/s is 12 mm.
        #expect(!rope.isEmpty && rope.max()! < 0.02)
        // NAU7802: within 1 N (2 % of the load) at p95 of a truth at most two ticks old.
        #expect(!tension.isEmpty && tension.sorted()[tension.count * 95 / 100] < 1.0, "tension p95 \(tension.sorted()[tension.count * 95 / 100]) max \(tension.max()!) n \(tension.count)")
        // The driver's NAV-PVT matches what the receiver model put out, to NAV-PVT's
        // resolution (1e-7 degree, 1.1 cm); the model's error against the truth is the
        // world's own GNSS test.
        #expect(!gnss.isEmpty && gnss.max()! < 1.5e-7, "gnss p50 \(gnss.sorted()[gnss.count / 2]) max \(gnss.max()!) n \(gnss.count)")
        #expect(home > 0)
    }

    /// A fault on the timeline happens on the bus: the load cell's model NACKs, and the
    /// driver above it (unchanged) reports the load cell unhealthy; the flight gives up the
    /// delivery and brings the parcel home.
    @Test func aChipFaultIsMetByTheDriver() throws {
        var healthyBefore = false
        var failedAfter = false
        var faultNs: UInt64? = nil
        let r = try fly("loadcell-fail") { s, sim in
            if faultNs == nil, sim.notes.contains(where: { $0.text.hasPrefix("fault 'loadcell'") }) { faultNs = s.nowNs }
            if faultNs == nil && s.tensionOK { healthyBefore = true }
            if let f = faultNs, s.nowNs > f + 1_000_000_000, !s.tensionOK { failedAfter = true }
        }
        #expect(healthyBefore)
        #expect(faultNs != nil)
        #expect(failedAfter)
        #expect(r.outcome == "returned")
        #expect(r.sim.coupling.tension.faults.nack)
    }
}

@Suite(.serialized) struct ScenarioSuite {
    /// Every scenario in HIL/scenarios ends in its documented outcome within its bounds.
    @Test(arguments: try! FileManager.default.contentsOfDirectory(atPath: root + "/HIL/scenarios")
            .filter { $0.hasSuffix(".toml") }.sorted().map { String($0.dropLast(5)) })
    func scenarioMeetsItsExpectation(_ name: String) throws {
        let r = try fly(name)
        let j = r.judgement
        #expect(r.outcome == r.sim.scenario.expectOutcome, "\(name): \(r.outcome)")
        for b in j.bounds where !b.passed {
            #expect(r.sim.scenario.knownGaps.contains(b.name), "\(name): \(b.name) = \(b.value ?? .nan) beyond \(b.limit)")
        }
        #expect(r.sim.releasesWhileHanging == 0)
        #expect(!r.sim.world.crashed)
    }
}

@Suite(.serialized) struct DaemonReadingsAgainstTruth {
    /// The unchanged daemon, host or aarch64 firmware, reports its own sensor readings to the
    /// simulated dispatch server (telemetry at 10 Hz); they match the world's truth at that
    /// moment within each sensor's modelled error, and its state changes arrive as events.
    @Test(arguments: [false, true])
    func daemonTelemetryMatchesTheWorld(firmware: Bool) throws {
        let preload = root + (firmware ? "/build/hil/plumbfake-aarch64.so" : "/build/hil/plumbfake.so")
        let daemons = (firmware ? [root + "/build/aarch64/plumbd"] : [root + "/.build/debug/plumbd", root + "/.build/release/plumbd"])
            .filter { FileManager.default.fileExists(atPath: $0) }
        guard FileManager.default.fileExists(atPath: preload), let daemon = daemons.first else {
            // Built by `make hil-preload`, `make firmware` and `swift build`; `make test` builds them first.
            return
        }
        setenv(firmware ? "PLUMB_PRELOAD_AARCH64" : "PLUMB_PRELOAD", preload, 1)
        setenv(firmware ? "PLUMB_FIRMWARE" : "PLUMB_DAEMON", daemon, 1)
        let cwd = FileManager.default.currentDirectoryPath
        FileManager.default.changeCurrentDirectoryPath(root)
        defer { FileManager.default.changeCurrentDirectoryPath(cwd) }
        let r = try ProcessRun.run(try scenario("nominal-drop"), seed: 1, boardPath: root + "/Board/sim.toml",
                                   workDir: NSTemporaryDirectory() + "plumb-hil-tests-\(getpid())-telemetry-\(firmware)", firmware: firmware,
                                   progress: nil)
        #expect(r.outcome == "delivered")
        #expect(r.telemetry.count > 2000, "telemetry frames: \(r.telemetry.count)")
        #expect(r.linkEvents >= 10, "events: \(r.linkEvents)")
        let series = r.sim.series
        guard let t = series.column("t"), let v = series.column("battery_v"), let pct = series.column("battery_pct"),
              let rope = series.column("rope_m"), let tension = series.column("tension_n"),
              let north = series.column("north"), let east = series.column("east"), let speed = series.column("speed") else {
            Issue.record("series columns missing")
            return
        }
        let hook = r.sim.world.config.winch.hookMassKg * 9.80665
        let home = r.sim.scenario.home
        var dv: [Double] = [], dpct: [Double] = [], drope: [Double] = [], dten: [Double] = [], dpos: [Double] = []
        for (timeNs, tel) in r.telemetry {
            let ts = Double(timeNs) / 1e9
            // The row recorded at the same step (rows every 0.1 s; telemetry every tenth tick).
            guard let i = t.indices.min(by: { abs(t[$0] - ts) < abs(t[$1] - ts) }), abs(t[i] - ts) < 0.06 else { continue }
            dv.append(abs(Double(tel.voltage10mV) / 100 - v[i]))
            dpct.append(abs(Double(tel.batteryPct) - pct[i]))
            drope.append(abs(Double(tel.winchLengthMm) / 1000 - rope[i]))
            if rope[i] > 0.5 { dten.append(abs(Double(tel.tensionDN) / 10 - (tension[i] - hook))) }
            if speed[i] < 0.3 && tel.lat1e7 != 0 {
                let p = home.ned(to: GeoPoint(latDeg: Double(tel.lat1e7) * 1e-7, lonDeg: Double(tel.lon1e7) * 1e-7, altM: home.altM))
                dpos.append(((p.n - north[i]) * (p.n - north[i]) + (p.e - east[i]) * (p.e - east[i])).squareRoot())
            }
        }
        func p95(_ a: [Double]) -> Double { a.isEmpty ? .infinity : a.sorted()[a.count * 95 / 100] }
        #expect(dv.count > 1000)
        // Voltage: mV words, a poll behind, telemetry in 10 mV.
        #expect(p95(dv) < 0.3, "voltage p95 \(p95(dv))")
        // Charge: whole percent from the gauge.
        #expect(p95(dpct) < 1.5, "charge p95 \(p95(dpct))")
        // Rope: encoder at 0.07 mm, telemetry in mm, a tick or two behind at up to 1.2 m/s.
        #expect(p95(drope) < 0.05, "rope p95 \(p95(drope))")
        // Tension: 80 SPS, in 0.1 N, tared with the empty hook; swings move it between samples.
        #expect(!dten.isEmpty && p95(dten) < 3, "tension p95 \(p95(dten)) of \(dten.count)")
        // Position while slow: RTK fixed (1.5 cm) plus the 1e-7 degree resolution and the latency.
        #expect(!dpos.isEmpty && p95(dpos) < 0.1, "position p95 \(p95(dpos)) of \(dpos.count)")
    }
}
