import Foundation
import PlumbCore
import PlumbFlight
import PlumbLinux
import PlumbVehicle
import Testing

// The flight recorder's format: what is written reads back, field by field, through the
// file's own header; a torn tail is cut and a flipped bit loses only its record; the
// rotating files keep their bounds; a storage failure is reported once and the flight's
// records resume in a new file with the count of those lost.

/// A decoded record: its type and each field by name.
struct Decoded {
    var type: FlightRecordType?
    var values: [String: Double]
    var raw: [String: Int64]
}

func decode(_ bytes: [UInt8]) throws -> (header: FlightLogHeader, records: [Decoded], scanner: FlightLogScanner) {
    let header = try FlightLogHeader.parse(bytes)
    var scanner = FlightLogScanner(bytes: bytes, header: header)
    var out: [Decoded] = []
    while let r = scanner.next() {
        guard let schema = header.schema(raw: r.type) else { continue }
        var d = Decoded(type: FlightRecordType(rawValue: r.type), values: [:], raw: [:])
        for f in schema.fields {
            d.values[f.name] = f.value(bytes, payloadAt: r.payloadAt)
            d.raw[f.name] = f.raw(bytes, payloadAt: r.payloadAt)
        }
        out.append(d)
    }
    return (header, out, scanner)
}

func samplePlan() -> MissionPlan {
    MissionPlan(home: GeoPoint(latDeg: 43.8170123, lonDeg: 125.3235456, altM: 221.5), legs: [
        MissionLeg(kind: .drop, target: GeoPoint(latDeg: 43.8250001, lonDeg: 125.3301234, altM: 219.25),
                   roofHeightM: 3.2, dropAltitudeM: 12, parcelID: 4711),
        MissionLeg(kind: .land, target: GeoPoint(latDeg: 43.8190002, lonDeg: 125.3190003, altM: 223)),
    ], returnHome: true)
}

func sampleSnapshot(nowNs: UInt64) -> SensorSnapshot {
    var s = SensorSnapshot()
    s.nowNs = nowNs
    s.batteryOK = true
    s.batteryVoltageV = 47.86
    s.batteryCurrentA = -12.3
    s.batterySoCPct = 81.25
    s.batteryRemainingAh = 17.89
    s.batteryTemperatureC = -17.4
    s.gnssOK = true
    s.gnssNew = true
    s.gnss = GNSSFix(position: GeoPoint(latDeg: 43.8211111, lonDeg: 125.3266666, altM: 281.234),
                     velocity: NED(3.21, -1.05, 0.42), fixType: 3, carrierSolution: 2, hAccM: 0.014, vAccM: 0.021,
                     satellites: 23, validNs: nowNs - 50_000_000)
    s.encoderOK = true
    s.ropeOutM = 11.432
    s.ropeSpeedMps = -0.987
    s.tensionOK = true
    s.tensionN = 196.3
    s.hookLatched = true
    s.drumHome = nil
    return s
}

func sampleView() -> AutopilotView {
    var v = AutopilotView()
    v.connected = true
    v.armed = true
    v.guided = true
    v.landedState = 2
    v.position = NED(412.345, -98.765, -60.12)
    v.velocity = NED(11.98, -0.33, 0.05)
    v.positionNs = 1
    v.throttle = 0.47
    v.wind = NED(-2.5, 4.75, 0)
    v.commandPending = true
    return v
}

func sampleOutputs() -> FlightOutputs {
    var o = FlightOutputs()
    o.command = .takeoff(altitudeM: 60)
    o.setpoint = NED(1012.5, -250.25, -60)
    o.setpointVelocity = NED(10, -2.5, 0)
    o.winch = -0.6543
    o.brake = false
    o.hookOpen = true
    return o
}

/// Storage in memory, failing on request: the recorder's seam in tests.
final class MemoryFiles {
    var files: [[UInt8]] = []
    var failAppends = false
    var failStarts = false
    var maxBytes = 1 << 20
    var next: UInt32 = 1
    var finished = 0
    var writebacks = 0
}

struct MemoryStorage: FlightLogStorage {
    let m: MemoryFiles
    var isOpen: Bool { !m.files.isEmpty }
    var fileBytes: Int { m.files.last?.count ?? 0 }
    var fileMaxBytes: Int { m.maxBytes }
    var nextSequence: UInt32 { m.next }

    func startFile(header: [UInt8]) throws(FlightLogIOError) {
        if m.failStarts { throw FlightLogIOError("cannot start a file") }
        m.files.append(header)
        m.next += 1
    }

    func append(_ bytes: [UInt8]) throws(FlightLogIOError) {
        if m.failAppends { throw FlightLogIOError("disk full") }
        m.files[m.files.count - 1] += bytes
    }

    func writeback() { m.writebacks += 1 }
    func finish() { m.finished += 1 }
}


func scratchDir(_ name: String) -> String {
    let dir = NSTemporaryDirectory() + "plumb-recorder-\(getpid())-\(name)"
    try? FileManager.default.removeItem(atPath: dir)
    return dir
}

@Suite struct FlightRecordFormat {
    let base: UInt64 = 1_234_000_000_000

    func mission() -> Mission {
        var m = Mission(config: FlightConfig(), plan: samplePlan())
        m.start(nowNs: base)
        return m
    }

    @Test func everyFieldReadsBackThroughTheHeader() throws {
        var e = FlightRecordEncoder(rateHz: 100, software: "plumbd 9.9.9", board: "sim")
        e.makeHeader(sequence: 42, session: 40, baseNs: base, realtimeNs: 1_763_856_000_123_000_000)
        let now = base + 12_345_678_000
        let m = mission()
        let s = sampleSnapshot(nowNs: now)
        e.appendTick(nowNs: now, snapshot: s, autopilot: sampleView(), mission: m, outputs: sampleOutputs())
        #expect(e.bytes.count == FlightRecord.tick.recordBytes)
        e.appendGNSS(nowNs: now, fix: s.gnss!, bias: NED(0.123, -0.456, 1.5))
        e.appendEvent(MissionEvent(timeNs: now, phase: .lower, note: .weighed, leg: 1, value: 196.25), mission: m)
        e.appendCommand(nowNs: now, .takeoff(altitudeM: 60))
        e.appendCommand(nowNs: now, .mode(.returnHome))
        e.appendPlan(samplePlan())
        e.appendLost(nowNs: now, durationNs: 10_500_000_000, records: 1050)
        let (h, records, scanner) = try decode(e.header + e.bytes)

        #expect(h.version == 1 && h.rateHz == 100 && h.sequence == 42 && h.session == 40)
        #expect(h.baseNs == base && h.realtimeNs == 1_763_856_000_123_000_000)
        #expect(h.software == "plumbd 9.9.9" && h.board == "sim")
        #expect(h.length == e.header.count)
        #expect(scanner.tornBytes == 0 && scanner.damagedBytes == 0)
        #expect(records.map(\.type) == [.tick, .gnss, .event, .command, .command, .plan, .leg, .leg, .lost])

        func near(_ r: Decoded, _ name: String, _ want: Double, _ lsb: Double, sourceLocation: SourceLocation = #_sourceLocation) {
            let got = r.values[name] ?? .nan
            #expect(abs(got - want) <= lsb / 2 + 1e-12, "\(name): \(got) vs \(want)", sourceLocation: sourceLocation)
        }
        let t = records[0]
        near(t, "t", 12.345678, 1e-6)
        near(t, "battery_v", 47.86, 0.01)
        near(t, "current_a", -12.3, 0.1)
        near(t, "battery_pct", 81.25, 0.01)
        near(t, "remaining_ah", 17.89, 0.01)
        near(t, "battery_temp_c", -17.4, 1)
        near(t, "rope_m", 11.432, 0.001)
        near(t, "rope_speed_mps", -0.987, 0.001)
        near(t, "tension_n", 196.3, 0.1)
        near(t, "ap_north", 412.345, 0.001)
        near(t, "ap_east", -98.765, 0.001)
        near(t, "ap_down", -60.12, 0.001)
        near(t, "ap_vn", 11.98, 0.01)
        near(t, "ap_ve", -0.33, 0.01)
        near(t, "ap_vd", 0.05, 0.01)
        near(t, "throttle_pct", 47, 1)
        near(t, "wind_n", -2.5, 0.01)
        near(t, "wind_e", 4.75, 0.01)
        near(t, "sp_north", 1012.5, 0.001)
        near(t, "sp_east", -250.25, 0.001)
        near(t, "sp_down", -60, 0.001)
        near(t, "sp_vn", 10, 0.01)
        near(t, "sp_ve", -2.5, 0.01)
        near(t, "winch", -0.6543, 0.0001)
        near(t, "leg", 0, 0)
        let tick = try #require(h.schema(.tick))
        #expect(tick.field("phase")?.name(of: t.raw["phase"] ?? -1) == "preflight")
        #expect(tick.field("landed_state")?.name(of: t.raw["landed_state"] ?? -1) == "in_air")
        // The flags, by their names in the header.
        let flags = try #require(tick.field("flags"))
        func bit(_ name: String) -> Bool {
            guard let i = flags.names.firstIndex(of: name) else { Issue.record("no bit \(name)"); return false }
            return (t.raw["flags"]! >> Int64(i)) & 1 == 1
        }
        for on in ["battery_ok", "gnss_ok", "gnss_new", "gnss_fix", "encoder_ok", "tension_ok", "hook_latched_known",
                   "hook_latched", "ap_connected", "ap_armed", "ap_guided", "ap_position", "ap_wind",
                   "ap_command_pending", "setpoint", "hook_open"] {
            #expect(bit(on), "\(on) should be set")
        }
        for off in ["drum_home_known", "drum_home", "ap_landing", "ap_command_refused", "brake", "cut_rope"] {
            #expect(!bit(off), "\(off) should be clear")
        }

        let g = records[1]
        near(g, "lat", 43.8211111, 1e-7)
        near(g, "lon", 125.3266666, 1e-7)
        near(g, "alt", 281.234, 0.001)
        near(g, "vn", 3.21, 0.01)
        near(g, "vd", 0.42, 0.01)
        near(g, "fix_type", 3, 0)
        near(g, "carrier", 2, 0)
        near(g, "h_acc", 0.014, 0.001)
        near(g, "satellites", 23, 0)
        near(g, "age", 0.05, 0.001)
        near(g, "bias_n", 0.123, 0.001)
        near(g, "bias_d", 1.5, 0.001)

        let ev = records[2]
        let evSchema = try #require(h.schema(.event))
        #expect(evSchema.field("phase")?.name(of: ev.raw["phase"]!) == "lower")
        #expect(evSchema.field("note")?.name(of: ev.raw["note"]!) == MissionNote.weighed.text)
        #expect(evSchema.field("outcome")?.name(of: ev.raw["outcome"]!) == "none")
        near(ev, "leg", 1, 0)
        near(ev, "value", 196.25, 0.001)

        let cmd = try #require(h.schema(.command))
        #expect(cmd.field("command")?.name(of: records[3].raw["command"]!) == "takeoff")
        near(records[3], "altitude_m", 60, 0.001)
        #expect(cmd.field("mode")?.name(of: records[4].raw["mode"]!) == "return_home")
        #expect(records[4].values["altitude_m"]!.isNaN)

        near(records[5], "home_lat", 43.8170123, 1e-7)
        near(records[5], "home_lon", 125.3235456, 1e-7)
        near(records[5], "home_alt", 221.5, 0.001)
        near(records[5], "legs", 2, 0)
        #expect(h.schema(.leg)?.field("kind")?.name(of: records[6].raw["kind"]!) == "drop")
        near(records[6], "lat", 43.8250001, 1e-7)
        near(records[6], "roof_height_m", 3.2, 0.01)
        near(records[6], "parcel", 4711, 0)
        #expect(h.schema(.leg)?.field("kind")?.name(of: records[7].raw["kind"]!) == "land")
        near(records[8], "records", 1050, 0)
        near(records[8], "duration_s", 10.5, 0.001)
    }

    @Test func unknownValuesAreNaNAndOutOfRangeValuesClamp() throws {
        var e = FlightRecordEncoder(rateHz: 100, software: "t", board: "b")
        e.makeHeader(sequence: 1, session: 1, baseNs: base, realtimeNs: 0)
        var s = SensorSnapshot()
        s.batteryVoltageV = .nan
        s.tensionN = 1e9          // beyond an i16 of 0.1 N
        s.ropeOutM = -1e12        // beyond an i32 of mm
        var v = AutopilotView()
        v.wind = nil
        var o = FlightOutputs()
        o.setpoint = nil
        e.appendTick(nowNs: base - 5, snapshot: s, autopilot: v, mission: mission(), outputs: o)
        let r = try decode(e.header + e.bytes).records[0]
        #expect(r.values["t"] == 0, "a time before the file's start is clamped to it")
        #expect(r.values["battery_v"]!.isNaN)
        #expect(r.values["wind_n"]!.isNaN && r.values["wind_e"]!.isNaN)
        #expect(r.values["sp_north"]!.isNaN && r.values["sp_east"]!.isNaN && r.values["sp_down"]!.isNaN)
        #expect(r.values["tension_n"] == 3276.7)
        #expect(r.values["rope_m"] == -2_147_483.647)
    }

    /// A log of `n` ticks a period apart; returns the bytes and where each record starts.
    func log(ticks n: Int) -> (bytes: [UInt8], starts: [Int]) {
        var e = FlightRecordEncoder(rateHz: 100, software: "t", board: "b")
        e.makeHeader(sequence: 1, session: 1, baseNs: base, realtimeNs: 0)
        var bytes = e.header
        var starts: [Int] = []
        let m = mission()
        for i in 0..<n {
            e.clear()
            var s = sampleSnapshot(nowNs: base + UInt64(i) * 10_000_000)
            s.ropeOutM = Double(i) / 1000
            s.gnssNew = false
            e.appendTick(nowNs: s.nowNs, snapshot: s, autopilot: sampleView(), mission: m, outputs: FlightOutputs())
            starts.append(bytes.count)
            bytes += e.bytes
        }
        return (bytes, starts)
    }

    @Test func aTornTailIsCutAtEveryLength() throws {
        let (bytes, starts) = log(ticks: 20)
        let last = starts[19]
        // Cut anywhere inside the last record (a write that did not finish): 19 ticks read.
        for cut in last..<bytes.count {
            let (_, records, scanner) = try decode(Array(bytes[0..<cut]))
            #expect(records.count == 19, "cut at \(cut)")
            #expect(scanner.tornBytes == cut - last, "cut at \(cut)")
            #expect(scanner.goodEnd == last)
            #expect(scanner.damagedBytes == 0)
            #expect(records.last?.values["rope_m"] == 0.018)
        }
        // A tail of zeros (blocks the file system allocated but never got data for).
        let (_, zeros, s2) = try decode(bytes + [UInt8](repeating: 0, count: 4096))
        #expect(zeros.count == 20 && s2.tornBytes == 4096)
        // The header alone.
        let (_, none, s3) = try decode(Array(bytes[0..<starts[0]]))
        #expect(none.isEmpty && s3.tornBytes == 0)
    }

    @Test func everyBitFlipInARecordLosesThatRecordOnly() throws {
        let (bytes, starts) = log(ticks: 10)
        let victim = 4
        let from = starts[victim], to = starts[victim + 1]
        for i in from..<to {
            for b in 0..<8 {
                var damaged = bytes
                damaged[i] ^= 1 << UInt8(b)
                let (_, records, scanner) = try decode(damaged)
                let ropes = records.compactMap { $0.values["rope_m"] }
                #expect(ropes == [0, 0.001, 0.002, 0.003, 0.005, 0.006, 0.007, 0.008, 0.009],
                        "flip of bit \(b) at byte \(i - from) of the record")
                #expect(scanner.damagedBytes == to - from && scanner.damagedStretches == 1 && scanner.tornBytes == 0)
            }
        }
    }

    @Test func aDamagedHeaderIsRefused() throws {
        let (bytes, _) = log(ticks: 2)
        var flipped = bytes
        flipped[30] ^= 0x10
        #expect(throws: FlightLogHeaderError.badChecksum) { _ = try FlightLogHeader.parse(flipped) }
        var magic = bytes
        magic[0] = UInt8(ascii: "X")
        #expect(throws: FlightLogHeaderError.badMagic) { _ = try FlightLogHeader.parse(magic) }
        #expect(throws: FlightLogHeaderError.tooShort) { _ = try FlightLogHeader.parse(Array(bytes[0..<100])) }
    }

    @Test func aReaderFindsFieldsByNameWhateverTheirOrder() throws {
        // A header as a later writer might make it: the fields of the tick record moved
        // about. The reader uses the header's offsets, so the same names read the same.
        var e = FlightRecordEncoder(rateHz: 50, software: "t", board: "b")
        e.makeHeader(sequence: 1, session: 1, baseNs: base, realtimeNs: 0)
        let h = try FlightLogHeader.parse(e.header)
        let tick = try #require(h.schema(.tick))
        #expect(tick.payloadBytes == FlightRecord.tick.payloadBytes)
        var offset = 0
        for (i, f) in tick.fields.enumerated() {
            #expect(f.offset == offset, "\(f.name)")
            #expect(f.name == String(describing: FlightRecord.tick.fields[i].name))
            offset += f.kind.size
        }
        #expect(h.rateHz == 50)
    }
}

@Suite struct FlightRecorderPolicy {
    let base: UInt64 = 5_000_000_000

    func tick(_ r: inout FlightRecorder<MemoryStorage>, _ i: Int, mission: Mission) -> FlightRecorder<MemoryStorage>.Notice {
        var s = sampleSnapshot(nowNs: base + UInt64(i) * 10_000_000)
        s.gnssNew = i % 10 == 0
        return r.tick(nowNs: s.nowNs, snapshot: s, autopilot: sampleView(), mission: mission, outputs: FlightOutputs())
    }

    @Test func aStorageFailureIsReportedOnceAndTheLostRecordsAreCounted() throws {
        let m = MemoryFiles()
        var r = FlightRecorder(storage: MemoryStorage(m: m), rateHz: 100, software: "t", board: "b")
        let mission = Mission(config: FlightConfig(), plan: samplePlan())
        var notices: [FlightRecorder<MemoryStorage>.Notice] = []
        for i in 0..<100 { notices.append(tick(&r, i, mission: mission)) }
        m.failAppends = true
        for i in 100..<700 { notices.append(tick(&r, i, mission: mission)) }
        m.failAppends = false
        for i in 700..<1200 { notices.append(tick(&r, i, mission: mission)) }
        r.stop()

        let failures = notices.enumerated().filter { if case .failed = $0.element { return true } else { return false } }
        #expect(failures.count == 1 && failures.first?.offset == 100)
        #expect(failures.first?.element == .failed("disk full"))
        // Retried 10 s after the failure (tick 1100): the ticks in between are lost.
        let resumed = notices.enumerated().filter { if case .resumed = $0.element { return true } else { return false } }
        #expect(resumed.count == 1 && resumed.first?.offset == 1100)
        // Ticks 100...1099 lost, with their GNSS solutions (every tenth tick).
        #expect(resumed.first?.element == .resumed(lostRecords: 1000 + 100))
        #expect(m.files.count == 2)
        let second = try decode(m.files[1]).records
        #expect(second.map(\.type).prefix(5) == [.plan, .leg, .leg, .lost, .tick])
        #expect(second[3].values["records"] == 1100)
        #expect(second[3].values["duration_s"] == 10)
        #expect(second.filter { $0.type == .tick }.count == 100)
        #expect(m.finished == 1)
        #expect(r.recordsWritten == 100 + 10 + 100 + 10)
    }

    @Test func aStorageThatNeverOpensIsReportedOnceAndTheFlightGoesOn() throws {
        let m = MemoryFiles()
        m.failStarts = true
        var r = FlightRecorder(storage: MemoryStorage(m: m), rateHz: 100, software: "t", board: "b")
        let mission = Mission(config: FlightConfig(), plan: samplePlan())
        var failed = 0
        for i in 0..<3000 {
            if case .failed = tick(&r, i, mission: mission) { failed += 1 }
        }
        #expect(failed == 1)
        #expect(r.failing && r.lostRecords == 3000 + 300)
    }

    @Test func aFileIsStartedBeforeOneWouldGrowBeyondItsBound() throws {
        let m = MemoryFiles()
        m.maxBytes = 16 * 1024
        var r = FlightRecorder(storage: MemoryStorage(m: m), rateHz: 100, software: "t", board: "b")
        var mission = Mission(config: FlightConfig(), plan: samplePlan())
        mission.start(nowNs: base)
        for i in 0..<2000 {
            _ = tick(&r, i, mission: mission)
            // Events too, on some ticks.
            if i % 97 == 0 { _ = r.event(MissionEvent(timeNs: base + UInt64(i) * 10_000_000, phase: .transit, note: .leg, leg: 0),
                                         mission: mission, nowNs: base + UInt64(i) * 10_000_000) }
        }
        #expect(m.files.count > 10)
        var ticks = 0
        var lastT: UInt64 = 0
        for f in m.files {
            #expect(f.count <= m.maxBytes)
            let (h, records, scanner) = try decode(f)
            #expect(scanner.tornBytes == 0 && scanner.damagedBytes == 0)
            #expect(h.session == 1)
            // Each file stands alone: the plan first.
            #expect(records.first?.type == .plan)
            for rec in records where rec.type == .tick {
                let t = h.timeNs(micros: rec.raw["t"]!)
                #expect(ticks == 0 || t == lastT + 10_000_000, "ticks continue across files")
                lastT = t
                ticks += 1
            }
        }
        #expect(ticks == 2000)
        // Each file here spans about 1.4 s: its write-out is started once, a second in.
        #expect(m.writebacks >= m.files.count - 1)
    }
}

@Suite struct RotatingFileBounds {
    @Test func filesNeverExceedTheBoundAndTheOldestGo() throws {
        let dir = scratchDir("rotate")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let maxBytes = 8 * 1024
        let files = RotatingFiles(dir: dir, fileMaxBytes: maxBytes, filesKept: 4)
        var r = FlightRecorder(storage: RotatingFileLog(files: files), rateHz: 100, software: "t", board: "b")
        let mission = Mission(config: FlightConfig(), plan: samplePlan())
        let base: UInt64 = 1_000_000_000
        for i in 0..<3000 {
            var s = sampleSnapshot(nowNs: base + UInt64(i) * 10_000_000)
            s.gnssNew = i % 10 == 0
            s.ropeOutM = Double(i) / 1000
            let n = r.tick(nowNs: s.nowNs, snapshot: s, autopilot: sampleView(), mission: mission, outputs: FlightOutputs())
            #expect(n == .none)
            let names = try FileManager.default.contentsOfDirectory(atPath: dir)
            #expect(names.count <= 4)
        }
        r.stop()
        let names = try FileManager.default.contentsOfDirectory(atPath: dir).sorted()
        #expect(names.count == 4)
        let numbers = names.compactMap { UInt32($0.dropFirst("flight-".count).prefix(8)) }
        #expect(numbers == Array(numbers[0]...numbers[0] + 3), "consecutive numbers: \(names)")
        #expect(numbers[0] > 1, "the oldest were removed")
        var last = -1.0
        for name in names {
            let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: dir + "/" + name)))
            #expect(bytes.count <= maxBytes)
            #expect(bytes.count > maxBytes - FlightRecord.maxTickBatchBytes - FlightRecord.event.recordBytes || name == names.last)
            let (h, records, scanner) = try decode(bytes)
            #expect(scanner.tornBytes == 0 && scanner.damagedBytes == 0)
            #expect(h.sequence == UInt32(name.dropFirst("flight-".count).prefix(8)))
            for rec in records where rec.type == .tick {
                let rope = rec.values["rope_m"]!
                #expect(last < 0 || abs(rope - last - 0.001) < 1e-9)
                last = rope
            }
        }
        #expect(last == 2.999, "the newest tick is in the newest file")

        // A restart carries on the numbering and keeps the bound.
        let again = RotatingFiles(dir: dir, fileMaxBytes: maxBytes, filesKept: 4)
        try again.prepare()
        #expect(again.nextSequence == numbers[3] + 1)
        try again.startFile(header: [1, 2, 3])
        let after = try FileManager.default.contentsOfDirectory(atPath: dir).sorted()
        #expect(after.count == 4 && after.last == (again.path(of: numbers[3] + 1) as NSString).lastPathComponent)
        #expect(!after.contains(names[0]))
        again.finish()
    }

    @Test func aMissingParentIsAnErrorNotACrash() throws {
        let files = RotatingFiles(dir: "/nonexistent-\(getpid())/log", fileMaxBytes: 65536, filesKept: 2)
        #expect(throws: RotatingFilesError.directory(path: "/nonexistent-\(getpid())/log", errno: ENOENT)) {
            try files.startFile(header: [0])
        }
        #expect(!files.isOpen)
    }

    @Test func otherFilesInTheDirectoryAreLeftAlone() throws {
        let dir = scratchDir("others")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        for name in ["notes.txt", "flight-1234.plog", "flight-0000000x.plog"] {
            FileManager.default.createFile(atPath: dir + "/" + name, contents: Data([1]))
        }
        let files = RotatingFiles(dir: dir, fileMaxBytes: 1024, filesKept: 2)
        for _ in 0..<5 { try files.startFile(header: [0]) }
        files.finish()
        let names = try FileManager.default.contentsOfDirectory(atPath: dir).sorted()
        #expect(names == ["flight-00000004.plog", "flight-00000005.plog", "flight-0000000x.plog", "flight-1234.plog", "notes.txt"])
    }
}

@Suite struct RecorderConfigKeys {
    func read(_ text: String) throws -> (PlumbConfig?, [String]) {
        var r = ConfigReader(try TOMLDocument.parse(text))
        let c = PlumbConfig.read(&r)
        return (c, r.diagnostics.map(\.message))
    }

    @Test func defaultsAndValues() throws {
        let (d, _) = try read("")
        #expect(d?.recorder == RecorderConfig())
        #expect(d?.recorder.enabled == true && d?.recorder.dir == "/var/lib/plumbline/log")
        #expect(d?.recorder.fileMaxKB == 4096 && d?.recorder.files == 64)
        let (c, errors) = try read("[recorder]\nenabled = false\ndir = \"/tmp/x\"\nfile_max_kb = 256\nfiles = 3\n")
        #expect(errors.isEmpty, "\(errors)")
        #expect(c?.recorder.enabled == false && c?.recorder.dir == "/tmp/x")
        #expect(c?.recorder.fileMaxBytes == 256 * 1024 && c?.recorder.files == 3)
    }

    @Test func outOfRangeIsAnError() throws {
        let (c, errors) = try read("[recorder]\nfile_max_kb = 8\nfiles = 1\ndir = \"\"\nspeed = 2\n")
        #expect(c == nil)
        #expect(errors.contains { $0.contains("'recorder.file_max_kb' = 8 is out of range 64...1048576") })
        #expect(errors.contains { $0.contains("'recorder.files' = 1 is out of range") })
        #expect(errors.contains { $0.contains("'recorder.dir' must not be empty") })
        #expect(errors.contains { $0.contains("unknown key 'recorder.speed'") })
    }
}
