import Foundation
import PlumbCore
import PlumbFlight
import PlumbHIL
import PlumbLinux
import PlumbVehicle

/// The flight recorder's figures: its size per tick and per hour at 100 Hz, the cost of
/// encoding and of writing a tick, and what making a second of it durable would cost
/// (fdatasync) against starting its write-out (sync_file_range), on this machine's disk.
func recorderFigures() -> [Bench.Figure] {
    let dir = NSTemporaryDirectory() + "plumb-bench-recorder-\(getpid())"
    try? FileManager.default.removeItem(atPath: dir)
    // The recorder makes its own directory, not the parents.
    try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    var out: [Bench.Figure] = []
    let plan = MissionPlan(home: GeoPoint(latDeg: 43.8171, lonDeg: 125.3235, altM: 220), legs: [
        MissionLeg(kind: .drop, target: GeoPoint(latDeg: 43.8243, lonDeg: 125.3309, altM: 220), roofHeightM: 3),
    ])
    var mission = Mission(config: FlightConfig(), plan: plan)
    mission.start(nowNs: 1_000_000_000)
    var view = AutopilotView()
    view.connected = true
    view.armed = true
    view.position = NED(412.3, -98.7, -60.1)
    view.velocity = NED(11.9, -0.3, 0.05)
    view.wind = NED(-2.5, 4.7, 0)
    var outputs = FlightOutputs()
    outputs.setpoint = NED(1012.5, -250.2, -60)
    func snapshot(_ i: Int) -> SensorSnapshot {
        var s = SensorSnapshot()
        s.nowNs = 1_000_000_000 + UInt64(i) * 10_000_000
        s.batteryOK = true
        s.batteryVoltageV = 48.1 - Double(i) * 1e-5
        s.batteryCurrentA = 62.5
        s.batterySoCPct = 90
        s.encoderOK = true
        s.ropeOutM = Double(i % 1000) / 100
        s.tensionOK = true
        s.tensionN = 49
        // A solution every tenth tick (10 Hz), as the receiver is set up.
        s.gnssNew = i % 10 == 0
        s.gnss = GNSSFix(position: GeoPoint(latDeg: 43.82, lonDeg: 125.33, altM: 280), velocity: NED(11.9, -0.3, 0),
                         fixType: 3, carrierSolution: 2, hAccM: 0.014, vAccM: 0.02, satellites: 22, validNs: s.nowNs - 50_000_000)
        return s
    }

    // Size: an hour's worth of ticks through the recorder into 4 MB files (the defaults).
    let files = RotatingFiles(dir: dir + "/size", fileMaxBytes: 4096 * 1024, filesKept: 64)
    var recorder = FlightRecorder(storage: RotatingFileLog(files: files), rateHz: 100, software: "bench", board: "bench")
    let ticks = 100 * 3600
    let t0 = DispatchTime.now().uptimeNanoseconds
    for i in 0..<ticks {
        let s = snapshot(i)
        _ = recorder.tick(nowNs: s.nowNs, snapshot: s, autopilot: view, mission: mission, outputs: outputs)
    }
    let writeNs = Double(DispatchTime.now().uptimeNanoseconds - t0) / Double(ticks)
    recorder.stop()
    let names = (try? FileManager.default.contentsOfDirectory(atPath: dir + "/size")) ?? []
    let bytes = names.reduce(0) { $0 + ((try? FileManager.default.attributesOfItem(atPath: dir + "/size/" + $1)[.size] as? Int) ?? 0) }
    let perTick = Double(bytes) / Double(ticks)
    // The same ticks as `plumb log export` writes them: the text the binary format saves.
    var csvPerTick = Double.nan
    if let first = names.sorted().first, let log = try? FlightLog.load(files: [dir + "/size/" + first]), log.tickCount > 0 {
        csvPerTick = Double(log.exportCSV().utf8.count) / Double(log.tickCount)
    }
    out.append(Bench.Figure(name: "flight recorder, bytes per tick", value: perTick, unit: "bytes (tick record \(FlightRecord.tick.recordBytes), GNSS at 10 Hz, headers)",
                            target: "-", comparedWith: String(format: "the same ticks as CSV (plumb log export): %.0f bytes", csvPerTick),
                            meetsTarget: nil))
    out.append(Bench.Figure(name: "flight recorder, MB per hour at 100 Hz", value: perTick * 100 * 3600 / 1e6, unit: "MB/hour",
                            target: "-", comparedWith: "the defaults keep 64 files of 4 MB: \(String(format: "%.1f", 64 * 4096 * 1024 / (perTick * 100 * 3600))) hours",
                            meetsTarget: nil))

    // Encoding alone, and encoding with the write(2) of each tick.
    var encoder = FlightRecordEncoder(rateHz: 100, software: "bench", board: "bench")
    encoder.makeHeader(sequence: 1, session: 1, baseNs: 1_000_000_000, realtimeNs: 0)
    let snaps = (0..<100).map(snapshot)
    let rounds = 1_000_000
    let e0 = DispatchTime.now().uptimeNanoseconds
    var sink = 0
    for i in 0..<rounds {
        let s = snaps[i % 100]
        encoder.clear()
        encoder.appendTick(nowNs: s.nowNs, snapshot: s, autopilot: view, mission: mission, outputs: outputs)
        if s.gnssNew, let g = s.gnss { encoder.appendGNSS(nowNs: s.nowNs, fix: g, bias: mission.frame.bias) }
        sink &+= encoder.bytes.count
    }
    let encodeNs = Double(DispatchTime.now().uptimeNanoseconds - e0) / Double(rounds)
    out.append(Bench.Figure(name: "flight recorder, encode per tick", value: encodeNs, unit: "ns (tick record + GNSS every tenth; host, this machine)",
                            target: "-", comparedWith: "\(sink / rounds) bytes a tick on average; CRC-32 from a table; a tick's budget at 100 Hz is 5 ms",
                            meetsTarget: nil))
    out.append(Bench.Figure(name: "flight recorder, encode + write per tick", value: writeNs / 1000, unit: "us (one write(2) a tick; host, this machine)",
                            target: "-", comparedWith: "an hour of ticks through the recorder into rotating 4 MB files",
                            meetsTarget: nil))

    // Durability: fdatasync of a second of ticks, against starting its write-out.
    let d = RotatingFiles(dir: dir + "/sync", fileMaxBytes: 64 << 20, filesKept: 2)
    var syncs: [Double] = [], kicks: [Double] = []
    encoder.clear()
    for i in 0..<100 {
        let s = snaps[i]
        encoder.appendTick(nowNs: s.nowNs, snapshot: s, autopilot: view, mission: mission, outputs: outputs)
    }
    do {
        try d.startFile(header: encoder.header)
        for round in 0..<40 {
            try d.append(encoder.bytes)
            if round % 2 == 0 {
                let ns = d.sync()
                if ns >= 0 { syncs.append(Double(ns) / 1e6) }
            } else {
                let k0 = DispatchTime.now().uptimeNanoseconds
                d.writeback()
                kicks.append(Double(DispatchTime.now().uptimeNanoseconds - k0) / 1e6)
            }
        }
        d.finish()
    } catch {
        out.append(Bench.Figure(name: "flight recorder, fdatasync of one second", value: .nan, unit: "not measured: \(describe(error))",
                                target: "-", comparedWith: "-", meetsTarget: nil))
        return out
    }
    func median(_ a: [Double]) -> Double { a.isEmpty ? .nan : a.sorted()[a.count / 2] }
    out.append(Bench.Figure(name: "flight recorder, fdatasync of one second", value: median(syncs), unit: "ms median, max \(String(format: "%.2f", syncs.max() ?? .nan)) (\(NSTemporaryDirectory()) on this machine)",
                            target: "-", comparedWith: "not done in flight (the tick would wait as long as the disk takes, not measured here on the drone's storage); done when the daemon stops",
                            meetsTarget: nil))
    out.append(Bench.Figure(name: "flight recorder, write-out started each second", value: median(kicks), unit: "ms median, max \(String(format: "%.3f", kicks.max() ?? .nan)) (sync_file_range, no wait)",
                            target: "-", comparedWith: "what the daemon does once a second", meetsTarget: nil))
    return out
}

