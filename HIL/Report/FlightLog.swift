// Flight logs read back on the host (`plumb log info|export|plot`, and the tests): the
// daemon's recorder files (docs/flight-log.md) decoded through their own headers, then
// printed, exported as CSV, or drawn with the same report writer as the HIL.

import Foundation
import PlumbCore
import PlumbFlight
import PlumbVehicle

public enum FlightLogError: Error, CustomStringConvertible {
    case unreadable(String)
    case noFiles(String)

    public var description: String {
        switch self {
        case .unreadable(let s): return s
        case .noFiles(let s): return s
        }
    }
}

/// The records of one session of the recorder (one daemon run), from one file or from all
/// of the session's files in a directory, in order.
public struct FlightLog {
    /// One file as read.
    public struct FileSummary {
        public var path: String
        public var bytes: Int
        public var header: FlightLogHeader
        /// Good records by type.
        public var records: [UInt8: Int]
        public var damagedBytes: Int
        public var damagedStretches: Int
        /// Bytes after the last good record, left out.
        public var tornBytes: Int
    }

    /// The records of one type: the absolute time of each (monotonic ns; records without a
    /// `t` field get their file's start) and one column of values per field.
    public struct Table {
        public var schema: FlightLogSchema
        public var timesNs: [UInt64] = []
        public var columns: [[Double]]

        init(schema: FlightLogSchema) {
            self.schema = schema
            columns = Array(repeating: [], count: schema.fields.count)
        }

        public var count: Int { timesNs.count }

        public func column(_ name: String) -> [Double]? {
            guard let i = schema.fields.firstIndex(where: { $0.name == name }) else { return nil }
            return columns[i]
        }

        public func field(_ name: String) -> FlightLogField? { schema.field(name) }

        /// Bit `name` of the bit-set fields, 0 or 1 per record.
        public func bit(_ name: String) -> [Double]? {
            for (i, f) in schema.fields.enumerated() where f.kind.isBits {
                if let b = f.names.firstIndex(of: name) {
                    return columns[i].map { Double((Int64($0) >> Int64(b)) & 1) }
                }
            }
            return nil
        }
    }

    public struct Event {
        public var timeNs: UInt64
        public var phase: String
        public var note: String
        public var leg: Int
        public var outcome: String
        public var value: Double
    }

    public var files: [FileSummary]
    /// The first file's header: the session's software, board, rate and start.
    public var header: FlightLogHeader
    public var tables: [UInt8: Table]

    public func table(_ type: FlightRecordType) -> Table? { tables[type.rawValue] }

    // MARK: reading

    /// The files of the recorder in `dir`, sorted by number.
    public static func files(inDirectory dir: String) throws -> [String] {
        let names: [String]
        do { names = try FileManager.default.contentsOfDirectory(atPath: dir) } catch {
            throw FlightLogError.unreadable("\(dir): cannot list: \(error.localizedDescription)")
        }
        return names.filter { $0.hasPrefix("flight-") && $0.hasSuffix(".plog") }.sorted().map { dir + "/" + $0 }
    }

    /// Sessions in `dir`: each session's number and its files, oldest session first.
    public static func sessions(inDirectory dir: String) throws -> [(session: UInt32, files: [String])] {
        var out: [(session: UInt32, files: [String])] = []
        for path in try files(inDirectory: dir) {
            guard let h = try? FlightLogHeader.parse(Array(readPrefix(path, bytes: 64 * 1024))) else { continue }
            if let i = out.firstIndex(where: { $0.session == h.session }) {
                out[i].files.append(path)
            } else {
                out.append((h.session, [path]))
            }
        }
        return out
    }

    private static func readPrefix(_ path: String, bytes: Int) -> Data {
        guard let h = FileHandle(forReadingAtPath: path) else { return Data() }
        defer { try? h.close() }
        return (try? h.read(upToCount: bytes)) ?? Data()
    }

    /// A file, or a directory's session `session` (its last one by default).
    public static func load(_ path: String, session: UInt32? = nil) throws -> FlightLog {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
            throw FlightLogError.unreadable("\(path): no such file or directory")
        }
        if !isDir.boolValue { return try load(files: [path]) }
        let sessions = try sessions(inDirectory: path)
        guard !sessions.isEmpty else { throw FlightLogError.noFiles("\(path): no flight log files (flight-*.plog)") }
        if let session {
            guard let s = sessions.first(where: { $0.session == session }) else {
                throw FlightLogError.noFiles("\(path): no session \(session) (sessions: \(sessions.map { String($0.session) }.joined(separator: ", ")))")
            }
            return try load(files: s.files)
        }
        return try load(files: sessions[sessions.count - 1].files)
    }

    /// These files, in this order, as one log.
    public static func load(files paths: [String]) throws -> FlightLog {
        var files: [FileSummary] = []
        // Tables by record type, appended to in place (a copy out of a dictionary would copy
        // every column at each record).
        var list: [Table] = []
        var index = [Int](repeating: -1, count: 256)
        var first: FlightLogHeader? = nil
        for path in paths {
            let bytes: [UInt8]
            do { bytes = Array(try Data(contentsOf: URL(fileURLWithPath: path))) } catch {
                throw FlightLogError.unreadable("\(path): cannot read: \(error.localizedDescription)")
            }
            let header: FlightLogHeader
            do { header = try FlightLogHeader.parse(bytes) } catch {
                throw FlightLogError.unreadable("\(path): not a readable flight log: \(describe(error))")
            }
            if first == nil { first = header }
            var counts: [UInt8: Int] = [:]
            var scanner = FlightLogScanner(bytes: bytes, header: header)
            while let r = scanner.next() {
                guard let schema = header.schema(raw: r.type) else { continue }
                counts[r.type, default: 0] += 1
                var k = index[Int(r.type)]
                if k < 0 {
                    k = list.count
                    index[Int(r.type)] = k
                    list.append(Table(schema: schema))
                }
                // A later file of the session with another layout (it cannot happen within one
                // run) would not line up: its records of that type are left out.
                guard list[k].schema == schema else { continue }
                var timeNs = header.baseNs
                for (i, f) in schema.fields.enumerated() {
                    if f.name == "t" { timeNs = header.timeNs(micros: f.raw(bytes, payloadAt: r.payloadAt)) }
                    list[k].columns[i].append(f.value(bytes, payloadAt: r.payloadAt))
                }
                list[k].timesNs.append(timeNs)
            }
            files.append(FileSummary(path: path, bytes: bytes.count, header: header, records: counts,
                                     damagedBytes: scanner.damagedBytes, damagedStretches: scanner.damagedStretches,
                                     tornBytes: scanner.tornBytes))
        }
        guard let first else { throw FlightLogError.noFiles("no files") }
        var tables: [UInt8: Table] = [:]
        for t in list { tables[t.schema.type] = t }
        return FlightLog(files: files, header: first, tables: tables)
    }

    static func describe(_ e: FlightLogHeaderError) -> String {
        switch e {
        case .tooShort: return "shorter than a header"
        case .badMagic: return "does not start with PLUMBLOG"
        case .unsupportedVersion(let v): return "format version \(v), this reader knows 1"
        case .badChecksum: return "the header's checksum does not match"
        case .malformed: return "the header is malformed"
        }
    }

    // MARK: what the log says

    public var tickCount: Int { table(.tick)?.count ?? 0 }
    public var startNs: UInt64? { table(.tick)?.timesNs.first }
    public var endNs: UInt64? { table(.tick)?.timesNs.last }
    public var durationS: Double {
        guard let a = startNs, let b = endNs, b >= a else { return 0 }
        return Double(b - a) / 1e9
    }

    /// Every change of the mission's phase, with its time, the first tick's phase first.
    /// The mission's events give each change (a phase may last less than a tick, such as a
    /// preflight that passes at once); the ticks' phases fill in where events were lost.
    public var phaseChanges: [(timeNs: UInt64, phase: String)] {
        var changes: [(timeNs: UInt64, phase: String, fromTick: Bool)] = []
        if let t = table(.tick), let f = t.field("phase"), let c = t.column("phase") {
            var last = -1.0
            for i in 0..<t.count where c[i] != last {
                last = c[i]
                changes.append((t.timesNs[i], f.name(of: Int64(c[i])), true))
            }
        }
        for e in events { changes.append((e.timeNs, e.phase, false)) }
        // In time order; at the same time, the events (raised within the tick) first.
        changes = changes.enumerated().sorted {
            ($0.element.timeNs, $0.element.fromTick ? 1 : 0, $0.offset) < ($1.element.timeNs, $1.element.fromTick ? 1 : 0, $1.offset)
        }.map(\.element)
        var out: [(timeNs: UInt64, phase: String)] = []
        for c in changes where out.last?.phase != c.phase { out.append((c.timeNs, c.phase)) }
        return out
    }

    public var events: [Event] {
        guard let t = table(.event), let phase = t.field("phase"), let note = t.field("note"),
              let outcome = t.field("outcome") else { return [] }
        let p = t.column("phase") ?? [], n = t.column("note") ?? [], l = t.column("leg") ?? []
        let o = t.column("outcome") ?? [], v = t.column("value") ?? []
        return (0..<t.count).map { i in
            Event(timeNs: t.timesNs[i], phase: phase.name(of: Int64(p[i])), note: note.name(of: Int64(n[i])),
                  leg: l[i].isFinite ? Int(l[i]) : -1, outcome: outcome.name(of: Int64(o[i])), value: v[i])
        }
    }

    public var commands: [(timeNs: UInt64, text: String)] {
        guard let t = table(.command), let cf = t.field("command"), let mf = t.field("mode") else { return [] }
        let c = t.column("command") ?? [], m = t.column("mode") ?? [], a = t.column("altitude_m") ?? []
        return (0..<t.count).map { i in
            let name = cf.name(of: Int64(c[i]))
            switch name {
            case "mode": return (t.timesNs[i], "mode " + mf.name(of: Int64(m[i])))
            case "takeoff": return (t.timesNs[i], "takeoff to " + ReportWriter.Format.fixed(a[i], 1) + " m")
            default: return (t.timesNs[i], name)
            }
        }
    }

    /// The plan in force: the last one recorded that has legs (or the last one). Its home is
    /// the frame's reference, which moves with it (a plan from dispatch, or home set at
    /// the take-off point), so the last is the one the flight was measured from.
    public var plan: (home: GeoPoint, legs: [(kind: String, target: GeoPoint)])? {
        guard let p = table(.plan), p.count > 0, let lat = p.column("home_lat"), let lon = p.column("home_lon"),
              let alt = p.column("home_alt"), let count = p.column("legs") else { return nil }
        func legs(_ k: Int) -> Int { count[k].isFinite ? min(Int(count[k]), FlightRecord.maxLegs) : 0 }
        let chosen = (0..<p.count).last { legs($0) > 0 } ?? p.count - 1
        let home = GeoPoint(latDeg: lat[chosen], lonDeg: lon[chosen], altM: alt[chosen].isFinite ? alt[chosen] : 0)
        var out: [(kind: String, target: GeoPoint)] = []
        // Its legs: the last whole run of leg records numbered 0 ..< n (later plans have none).
        let n = legs(chosen)
        if n > 0, let l = table(.leg), let kf = l.field("kind"), let k = l.column("kind"), let index = l.column("index"),
           let la = l.column("lat"), let lo = l.column("lon"), let al = l.column("alt"),
           let first = (0...max(0, l.count - n)).last(where: { i in
               i + n <= l.count && (0..<n).allSatisfy { index[i + $0] == Double($0) }
           }) {
            for i in first..<(first + n) {
                out.append((kf.name(of: Int64(k[i])), GeoPoint(latDeg: la[i], lonDeg: lo[i], altM: al[i])))
            }
        }
        return (home, out)
    }

    public var lostRecords: Int {
        Int((table(.lost)?.column("records") ?? []).reduce(0) { $0 + ($1.isFinite ? $1 : 0) })
    }

    public var tornBytes: Int { files.reduce(0) { $0 + $1.tornBytes } }
    public var damagedBytes: Int { files.reduce(0) { $0 + $1.damagedBytes } }

    static func seconds(_ ns: UInt64) -> String { ReportWriter.Format.fixed(Double(ns) / 1e9, 3) }
}

// MARK: - plumb log info

extension FlightLog {
    /// What `plumb log info` prints.
    public func info() -> String {
        let h = header
        var s = ""
        let names = files.map { ($0.path as NSString).lastPathComponent }
        s += "flight log: \(files.count == 1 ? files[0].path : "\(files.count) files, \(names.first ?? "") … \(names.last ?? "")") (session \(h.session))\n"
        s += "  written by \(h.software) on board '\(h.board)', format \(h.version), \(h.rateHz) Hz\n"
        if h.realtimeNs != 0 {
            let start = Date(timeIntervalSince1970: Double(h.realtimeNs) / 1e9)
            let f = ISO8601DateFormatter()
            f.formatOptions = [.withInternetDateTime]
            s += "  first file started \(f.string(from: start)) (the drone's clock)\n"
        }
        if let a = startNs, let b = endNs {
            s += "  ticks: \(tickCount), t = \(Self.seconds(a)) … \(Self.seconds(b)) s, \(ReportWriter.Format.fixed(durationS, 2)) s"
            let expected = Int((durationS * Double(h.rateHz)).rounded()) + 1
            let gaps = tickGaps()
            s += " (\(expected) expected at \(h.rateHz) Hz"
            s += gaps.count == 0 ? "; no gaps)\n" : "; \(gaps.count) gap(s), longest \(ReportWriter.Format.fixed(gaps.map(\.lengthS).max() ?? 0, 3)) s at t = \(ReportWriter.Format.fixed(gaps.max { $0.lengthS < $1.lengthS }?.atS ?? 0, 3)) s)\n"
        } else {
            s += "  ticks: none\n"
        }
        let bytes = files.reduce(0) { $0 + $1.bytes }
        s += "  size: \(bytes) bytes"
        if tickCount > 0 {
            s += ", \(bytes / tickCount) bytes per tick, \(ReportWriter.Format.fixed(Double(bytes) / max(durationS, 1e-9) * 3600 / 1e6, 1)) MB per hour"
        }
        s += "\n"
        s += "  records: \(tickCount) ticks, \(table(.gnss)?.count ?? 0) GNSS solutions, \(table(.event)?.count ?? 0) events, \(table(.command)?.count ?? 0) autopilot commands\n"
        if let p = plan {
            s += "  plan: home \(String(format: "%.7f, %.7f", p.home.latDeg, p.home.lonDeg)); \(p.legs.count) leg(s)"
            for (i, l) in p.legs.enumerated() {
                let d = p.home.ned(to: l.target)
                s += (i == 0 ? ": " : ", ") + "\(l.kind) \(ReportWriter.Format.fixed(d.horizontal, 0)) m away"
            }
            s += "\n"
        }
        let phases = phaseChanges
        if !phases.isEmpty {
            s += "  phases:\n"
            for (i, p) in phases.enumerated() {
                let until = i + 1 < phases.count ? phases[i + 1].timeNs : (endNs ?? p.timeNs)
                s += "    t = \(Self.seconds(p.timeNs).leftPad(10)) s  \(p.phase.padding(toLength: 15, withPad: " ", startingAt: 0)) \(ReportWriter.Format.fixed(Double(until &- p.timeNs) / 1e9, 2).leftPad(9)) s\n"
            }
        }
        let ev = events
        if !ev.isEmpty {
            s += "  events:\n"
            for e in ev {
                var line = "    t = \(Self.seconds(e.timeNs).leftPad(10)) s  \(e.phase.padding(toLength: 15, withPad: " ", startingAt: 0)) leg \(e.leg)"
                if !e.note.isEmpty { line += ": " + e.note }
                if e.value.isFinite && e.value != 0 { line += " (\(ReportWriter.Format.fixed(e.value, 3)))" }
                s += line + "\n"
            }
            if let last = ev.last, last.outcome != "none" {
                s += "  outcome: \(last.outcome)\n"
            }
        }
        if lostRecords > 0 { s += "  records lost while the recorder could not write: \(lostRecords)\n" }
        s += "  files:\n"
        for f in files {
            var line = "    \((f.path as NSString).lastPathComponent)  \(f.bytes) bytes, \(f.records.values.reduce(0, +)) records"
            if f.damagedBytes > 0 { line += "; DAMAGED: \(f.damagedBytes) bytes in \(f.damagedStretches) stretch(es) skipped" }
            if f.tornBytes > 0 { line += "; torn tail: \(f.tornBytes) bytes cut" }
            s += line + "\n"
        }
        return s
    }

    /// Stretches between ticks longer than 1.5 periods.
    public func tickGaps() -> [(atS: Double, lengthS: Double)] {
        guard let t = table(.tick), t.count > 1, header.rateHz > 0 else { return [] }
        let period = 1e9 / Double(header.rateHz)
        var out: [(atS: Double, lengthS: Double)] = []
        for i in 1..<t.count {
            let d = Double(t.timesNs[i] &- t.timesNs[i - 1])
            if d > 1.5 * period { out.append((Double(t.timesNs[i - 1]) / 1e9, d / 1e9)) }
        }
        return out
    }
}

extension String {
    fileprivate func leftPad(_ n: Int) -> String { count >= n ? self : String(repeating: " ", count: n - count) + self }
}

// MARK: - plumb log export

extension FlightLog {
    /// Every tick as a CSV row: time, then each field of the tick record (bit sets as one
    /// 0/1 column per bit, enums by name), then the GNSS solution that arrived in that tick
    /// (empty in the others).
    public func exportCSV() -> String {
        guard let t = table(.tick) else { return "t [s]\n" }
        var header = ["t [s]"]
        var cells: [(Int) -> String] = []
        for (i, f) in t.schema.fields.enumerated() where f.name != "t" {
            let col = t.columns[i]
            if f.kind.isBits {
                for (b, name) in f.names.enumerated() {
                    header.append(name)
                    cells.append { r in String((Int64(col[r]) >> Int64(b)) & 1) }
                }
            } else if f.kind == .enum8 {
                header.append(f.name)
                cells.append { r in ReportWriter.CSV.field(f.name(of: Int64(col[r]))) }
            } else {
                header.append(ReportWriter.Format.labelled(f.name, f.unit))
                let decimals = min(max(Int(-f.exp), 0), 6)
                cells.append { r in col[r].isFinite ? ReportWriter.Format.fixed(col[r], decimals) : "" }
            }
        }
        // GNSS solutions by the tick they arrived in (same time stamp).
        var gnssRow: [Int: Int] = [:]
        var gnssFields: [(FlightLogField, [Double])] = []
        if let g = table(.gnss) {
            var j = 0
            for r in 0..<t.count {
                while j < g.count && g.timesNs[j] < t.timesNs[r] { j += 1 }
                if j < g.count && g.timesNs[j] == t.timesNs[r] { gnssRow[r] = j }
            }
            for (i, f) in g.schema.fields.enumerated() where f.name != "t" {
                gnssFields.append((f, g.columns[i]))
                header.append(ReportWriter.Format.labelled("gnss_" + f.name, f.unit))
            }
        }
        var out = header.map { ReportWriter.CSV.field($0) }.joined(separator: ",") + "\n"
        out.reserveCapacity(t.count * 200)
        for r in 0..<t.count {
            out += Self.seconds(t.timesNs[r])
            for c in cells { out += "," + c(r) }
            if let j = gnssRow[r] {
                for (f, col) in gnssFields {
                    let decimals = min(max(Int(-f.exp), 0), 7)
                    out += "," + (col[j].isFinite ? ReportWriter.Format.fixed(col[j], min(decimals, 6)) : "")
                }
            } else {
                out += String(repeating: ",", count: gnssFields.count)
            }
            out += "\n"
        }
        return out
    }

    /// Mission events and autopilot commands, one per line.
    public func eventsCSV() -> String {
        var rows: [(UInt64, String)] = []
        for e in events {
            var text = "phase=\(e.phase) leg=\(e.leg)"
            if !e.note.isEmpty { text += ": " + e.note }
            rows.append((e.timeNs, text))
        }
        for c in commands { rows.append((c.timeNs, "command: " + c.text)) }
        rows.sort { $0.0 < $1.0 }
        return "t [s],event\n" + rows.map { Self.seconds($0.0) + "," + ReportWriter.CSV.field($0.1) + "\n" }.joined()
    }
}

// MARK: - plumb log plot

extension FlightLog {
    /// The columns the report's plots draw (see `TimeSeries`), one row per tick:
    /// `north`, `east`, `down` are the vehicle's position from home as the flight code has
    /// it (the autopilot's local position less the GNSS frame bias of the last solution),
    /// `est_north`, `est_east` the last GNSS solution's offset from home (for 0.5 s).
    public func reportSeries() -> TimeSeries {
        let columns: [(String, String)] = [
            ("t", "s"), ("north", "m"), ("east", "m"), ("down", "m"), ("vdown", "m/s"), ("speed", "m/s"),
            ("rope_m", "m"), ("tension_n", "N"), ("battery_pct", "%"), ("battery_v", "V"), ("current_a", "A"),
            ("battery_temp_c", "C"), ("est_north", "m"), ("est_east", "m"), ("wind_n", "m/s"), ("wind_e", "m/s"),
            ("gnss_quality", ""), ("target_error_m", "m"), ("height_above_target_m", "m"),
        ]
        var series = TimeSeries(columns: columns.map(\.0), units: columns.map(\.1))
        series.displayNames = ["north": "track (flight code's estimate)", "down": "altitude (flight code's estimate)",
                               "est_north": "GNSS solutions", "rope_m": "rope paid out (encoder)",
                               "tension_n": "rope tension (load cell)"]
        guard let t = table(.tick) else { return series }
        let home = plan?.home
        func col(_ name: String) -> [Double] { t.column(name) ?? Array(repeating: .nan, count: t.count) }
        let apN = col("ap_north"), apE = col("ap_east"), apD = col("ap_down")
        let vn = col("ap_vn"), ve = col("ap_ve"), vd = col("ap_vd")
        let rope = col("rope_m"), tension = col("tension_n"), pct = col("battery_pct"), volts = col("battery_v")
        let amps = col("current_a"), temp = col("battery_temp_c"), wn = col("wind_n"), we = col("wind_e")
        let err = col("target_error_m"), hat = col("height_above_target_m")
        let g = table(.gnss)
        let gLat = g?.column("lat") ?? [], gLon = g?.column("lon") ?? [], gAlt = g?.column("alt") ?? []
        let gCarrier = g?.column("carrier") ?? []
        let bn = g?.column("bias_n") ?? [], be = g?.column("bias_e") ?? [], bd = g?.column("bias_d") ?? []
        var j = -1
        var bias = (n: 0.0, e: 0.0, d: 0.0)
        series.rows.reserveCapacity(t.count)
        for r in 0..<t.count {
            let now = t.timesNs[r]
            while let g, j + 1 < g.count, g.timesNs[j + 1] <= now {
                j += 1
                if bn[j].isFinite && be[j].isFinite && bd[j].isFinite { bias = (bn[j], be[j], bd[j]) }
            }
            var gn = Double.nan, ge = Double.nan, quality = Double.nan
            if let g, let home, j >= 0, now &- g.timesNs[j] <= 500_000_000, gLat[j].isFinite, gLon[j].isFinite {
                let d = home.ned(to: GeoPoint(latDeg: gLat[j], lonDeg: gLon[j], altM: gAlt[j].isFinite ? gAlt[j] : home.altM))
                gn = d.n
                ge = d.e
                quality = gCarrier[j]
            }
            series.rows.append([
                Double(now) / 1e9, apN[r] - bias.n, apE[r] - bias.e, apD[r] - bias.d, vd[r],
                (vn[r] * vn[r] + ve[r] * ve[r]).squareRoot(), rope[r], tension[r], pct[r], volts[r], amps[r], temp[r],
                gn, ge, wn[r], we[r], quality, err[r], hat[r],
            ])
        }
        series.states = phaseChanges.map { (Double($0.timeNs) / 1e9, $0.phase) }
        return series
    }

    /// The plan's places in the series' frame (from home): land legs as pads, drop legs as
    /// stations (their opening's size is not in the plan: drawn as a point).
    public func siteMarks() -> SiteMarks {
        guard let p = plan else { return SiteMarks() }
        var pads: [(name: String, n: Double, e: Double)] = []
        var stations: [(name: String, n: Double, e: Double, openingRadiusM: Double)] = []
        for (i, l) in p.legs.enumerated() {
            let d = p.home.ned(to: l.target)
            switch l.kind {
            case "land": pads.append(("leg \(i)", d.n, d.e))
            case "drop": stations.append(("leg \(i)", d.n, d.e, 0))
            default: break
            }
        }
        return SiteMarks(pads: pads, stations: stations, home: (0, 0))
    }

    /// The report's title: the board and the session.
    public var title: String { "flight log: board \(header.board), session \(header.session)" }

    /// Writes the report (the HIL's plots, CSV and index.html) of this log into `dir`.
    public func writeReport(to dir: String, title: String) throws -> [String] {
        var lines: [(key: String, value: String, passed: Bool?)] = [
            ("files", files.count == 1 ? files[0].path : "\(files.count) files from \(files[0].path)", nil),
            ("written by", "\(header.software), board '\(header.board)', \(header.rateHz) Hz", nil),
            ("ticks", "\(tickCount) over \(ReportWriter.Format.fixed(durationS, 2)) s", nil),
            ("final phase", phaseChanges.last?.phase ?? "-", nil),
        ]
        if let o = events.last?.outcome, o != "none" { lines.append(("outcome", o, nil)) }
        if lostRecords > 0 { lines.append(("records lost (recorder could not write)", String(lostRecords), nil)) }
        if tornBytes > 0 { lines.append(("torn tail cut", "\(tornBytes) bytes", nil)) }
        if damagedBytes > 0 { lines.append(("damaged bytes skipped", String(damagedBytes), false)) }
        var notes: [(timeS: Double, text: String)] = []
        for e in events {
            var text = "phase=\(e.phase) leg=\(e.leg)"
            if !e.note.isEmpty { text += ": " + e.note }
            notes.append((Double(e.timeNs) / 1e9, text))
        }
        for c in commands { notes.append((Double(c.timeNs) / 1e9, "command: " + c.text)) }
        notes.sort { $0.timeS < $1.timeS }
        return try ReportWriter.write(to: dir, title: title, series: reportSeries(), site: siteMarks(),
                                      summaryLines: lines, events: notes)
    }
}
