import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Testing
@testable import PlumbHIL

// The flight report: every file is written, the CSV reads back, each plot is well-formed
// XML with one path per series it should draw, index.html links everything, and the same
// input gives the same bytes.

@Suite struct FlightReport {
    static let allColumns = ["t", "north", "east", "down", "vdown", "est_north", "est_east", "est_down",
                             "rope_m", "tension_n", "battery_pct", "battery_v",
                             "parcel_north", "parcel_east", "parcel_down"]
    static let allUnits = ["s", "m", "m", "m", "m/s", "m", "m", "m", "m", "N", "%", "V", "m", "m", "m"]

    static let site = SiteMarks(pads: [("A", 0, 0)], stations: [("S1", 80, 60, 0.5)], home: (0, 0))

    /// A short delivery: climb, fly to S1, lower the parcel into it, fly back, land on A.
    /// `hz` sets how long the series is; the estimate is unknown for the first 2 s.
    static func flight(hz: Double = 50) -> TimeSeries {
        var series = TimeSeries(columns: allColumns, units: allUnits)
        let station = (n: 80.0, e: 60.0)
        var state = ""
        let count = Int(100 * hz)
        for i in 0...count {
            let t = Double(i) / hz
            let name: String
            var n = 0.0, e = 0.0, d = 0.0, rope = 0.0
            var parcel = (n: 0.0, e: 0.0, d: 0.3)
            switch t {
            case ..<10: name = "takeoff"; d = -t * 2
            case ..<30: name = "cruise"; let f = (t - 10) / 20; n = station.n * f; e = station.e * f; d = -20
            case ..<50: name = "lowering"; n = station.n; e = station.e; d = -20; rope = (t - 30)
            case ..<70: name = "cruise"; let f = (t - 50) / 20; n = station.n * (1 - f); e = station.e * (1 - f); d = -20
            case ..<80: name = "landing"; n = 0.04; e = -0.03; d = -20 + 2 * (t - 70)
            default: name = "landed"; n = 0.04; e = -0.03; d = 0
            }
            if t < 50 {
                parcel = (n + 0.01 * sin(t), e, d + 0.3 + rope)
            } else {
                parcel = (station.n + 0.02, station.e - 0.01, 0)
            }
            if name != state {
                series.states.append((t, name))
                state = name
            }
            let known = t >= 2
            series.append([t, n + 0.001 * sin(7 * t), e, d, t < 10 ? -2 : 0,
                           known ? n + 0.02 : .nan, known ? e - 0.01 : .nan, known ? d + 0.05 : .nan,
                           rope, rope > 0 ? 19.6 + sin(3 * t) : 0.2, 100 - t * 0.2, 16.8 - t * 0.01,
                           parcel.n, parcel.e, parcel.d])
        }
        return series
    }

    static let summary: [(key: String, value: String, passed: Bool?)] = [
        ("parcel in opening", "2.2 cm from centre", true),
        ("landing", "5.0 cm from pad A", true),
        ("peak tension", "20.6 N", false),
        ("seed", "7", nil),
    ]
    static let events: [(timeS: Double, text: String)] = [
        (30, "winch: lowering"), (50, "parcel released, \"on time\" <ok> & done"), (80, "disarmed"),
    ]

    static func scratch(_ name: String) -> String {
        let dir = FileManager.default.temporaryDirectory
            .appendingPathComponent("plumb-report-\(ProcessInfo.processInfo.processIdentifier)-\(name)").path
        try? FileManager.default.removeItem(atPath: dir)
        return dir
    }

    static func write(_ dir: String, _ series: TimeSeries, site: SiteMarks = site) throws -> [String] {
        try ReportWriter.write(to: dir, title: "Report test", series: series, site: site,
                               summaryLines: summary, events: events)
    }

    static let fileNames = ["timeseries.csv", "states.csv", "events.csv"] + ReportWriter.plotNames() + ["index.html"]

    // MARK: Files

    @Test func writesEveryFile() throws {
        let dir = Self.scratch("files")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let paths = try Self.write(dir, Self.flight())
        #expect(paths.map { URL(fileURLWithPath: $0).lastPathComponent } == Self.fileNames)
        for path in paths {
            #expect(FileManager.default.fileExists(atPath: path), "\(path)")
            let size = (try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
            #expect(size > 0, "\(path) is empty")
        }
        #expect(ReportWriter.plotNames() == ["track.svg", "track-zoom.svg", "altitude.svg", "rope.svg",
                                             "battery.svg", "states.svg"])
    }

    @Test func indexReferencesEveryPlotAndCSV() throws {
        let dir = Self.scratch("index")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        _ = try Self.write(dir, Self.flight())
        let html = try String(contentsOfFile: dir + "/index.html", encoding: .utf8)
        for plot in ReportWriter.plotNames() { #expect(html.contains("<img src=\"\(plot)\""), "\(plot)") }
        for csv in ["timeseries.csv", "states.csv", "events.csv"] { #expect(html.contains("href=\"\(csv)\""), "\(csv)") }
        #expect(html.contains("<tr class=\"pass\"><td>parcel in opening</td>"))
        #expect(html.contains("<tr class=\"fail\"><td>peak tension</td>"))
        #expect(html.contains("parcel released, &quot;on time&quot; &lt;ok&gt; &amp; done"))
        // Self-contained: nothing fetched from elsewhere.
        #expect(!html.contains("http://") && !html.contains("https://") && !html.contains("<script"))
    }

    @Test func sameInputGivesTheSameBytes() throws {
        let a = Self.scratch("same-a"), b = Self.scratch("same-b")
        defer {
            try? FileManager.default.removeItem(atPath: a)
            try? FileManager.default.removeItem(atPath: b)
        }
        _ = try Self.write(a, Self.flight())
        _ = try Self.write(b, Self.flight())
        for name in Self.fileNames {
            let x = try Data(contentsOf: URL(fileURLWithPath: a + "/" + name))
            let y = try Data(contentsOf: URL(fileURLWithPath: b + "/" + name))
            #expect(x == y, "\(name) differs")
        }
    }

    // MARK: CSV

    @Test func timeseriesRoundTripsThroughReadCSV() throws {
        let dir = Self.scratch("csv")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let series = Self.flight()
        _ = try Self.write(dir, series)
        let header = try String(contentsOfFile: dir + "/timeseries.csv", encoding: .utf8)
            .split(separator: "\n").first.map(String.init)
        #expect(header?.hasPrefix("t [s],north [m],east [m],down [m],vdown [m/s],") == true)

        let back = try ReportWriter.readCSV(path: dir + "/timeseries.csv")
        #expect(back.columns == series.columns)
        #expect(back.units == series.units)
        #expect(back.rows.count == series.rows.count)
        var worst = 0.0
        for (a, b) in zip(series.rows, back.rows) {
            #expect(a.count == b.count)
            for (x, y) in zip(a, b) {
                if x.isNaN {
                    #expect(y.isNaN)
                } else {
                    worst = max(worst, abs(x - y) / max(abs(x), 1e-30))
                }
            }
        }
        #expect(worst <= 1e-8, "9 significant digits")

        let states = try ReportWriter.readStates(path: dir + "/states.csv")
        #expect(states.map(\.name) == series.states.map(\.name))
        #expect(states.map(\.timeS) == series.states.map(\.timeS))
    }

    @Test func readCSVRejectsARowOfTheWrongWidth() throws {
        let dir = Self.scratch("bad-csv")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let path = dir + "/timeseries.csv"
        try Data("t [s],rope_m [m]\n0,1\n0.1\n".utf8).write(to: URL(fileURLWithPath: path))
        #expect(throws: ReportError.self) { try ReportWriter.readCSV(path: path) }
        try Data("t [s],rope_m [m]\n0,x\n".utf8).write(to: URL(fileURLWithPath: path))
        #expect(throws: ReportError.self) { try ReportWriter.readCSV(path: path) }
        try Data("t [s],\"rope, paid out [m]\"\r\n0,\r\n".utf8).write(to: URL(fileURLWithPath: path))
        let series = try ReportWriter.readCSV(path: path)
        #expect(series.columns == ["t", "rope, paid out"])
        #expect(series.units == ["s", "m"])
        #expect(series.rows.count == 1 && series.rows[0][0] == 0 && series.rows[0][1].isNaN)
    }

    // MARK: Plots

    /// What an SVG holds, read with an XML parser. On Linux the parser can return true for
    /// some malformed documents (an element left open) while setting `parserError`, so both
    /// are checked, and every element opened must be closed.
    final class SVGContents: NSObject, XMLParserDelegate {
        var root: String?
        var opened = 0
        var closed = 0
        /// (panel, series id) for each element with class="series"; panel "" outside panels.
        var series: [(panel: String, id: String)] = []
        var pathPoints: [String: Int] = [:]
        private var panels: [String?] = []

        func parser(_ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?,
                    qualifiedName qName: String?, attributes: [String: String] = [:]) {
            if root == nil { root = elementName }
            opened += 1
            panels.append(elementName == "g" ? attributes["data-panel"] : nil)
            if attributes["class"] == "series", let id = attributes["data-series"] {
                series.append((panels.compactMap { $0 }.last ?? "", id))
                let numbers = (attributes["d"] ?? "").split(whereSeparator: { " MLh".contains($0) }).count
                pathPoints[id] = max(pathPoints[id] ?? 0, numbers / 2)
            }
        }

        func parser(_ parser: XMLParser, didEndElement elementName: String, namespaceURI: String?,
                    qualifiedName qName: String?) {
            closed += 1
            if !panels.isEmpty { panels.removeLast() }
        }

        var wellFormed = false

        static func parse(_ data: Data) -> SVGContents {
            let contents = SVGContents()
            let parser = XMLParser(data: data)
            parser.delegate = contents
            let parsed = parser.parse()
            contents.wellFormed = parsed && parser.parserError == nil && contents.opened > 0
                && contents.opened == contents.closed && contents.root == "svg"
            return contents
        }

        static func read(_ path: String) throws -> SVGContents {
            let contents = parse(try Data(contentsOf: URL(fileURLWithPath: path)))
            #expect(contents.wellFormed, "\(path) is not a well-formed SVG document")
            return contents
        }
    }

    @Test func everyPlotIsWellFormedWithOnePathPerSeries() throws {
        let dir = Self.scratch("svg")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        _ = try Self.write(dir, Self.flight(hz: 200))
        let expected: [String: [String]] = [
            "track.svg": ["est_track", "track"],
            "track-zoom.svg": ["delivery/est_track", "delivery/parcel_track", "delivery/track",
                               "landing/est_track", "landing/track"],
            "altitude.svg": ["down", "est_down", "parcel_down", "vdown"],
            "rope.svg": ["rope_m", "tension_n"],
            "battery.svg": ["battery_pct", "battery_v"],
            "states.svg": ["state"],
        ]
        for plot in ReportWriter.plotNames() {
            let svg = try SVGContents.read(dir + "/" + plot)
            let found = svg.series.map { plot == "track-zoom.svg" ? "\($0.panel)/\($0.id)" : $0.id }.sorted()
            #expect(found == expected[plot], "\(plot)")
            // 20 000 rows each, thinned for drawing.
            for (id, points) in svg.pathPoints {
                #expect(points > 1 && points <= ReportWriter.maxPointsPerSeries + 10, "\(plot) \(id): \(points) points")
            }
            let text = try String(contentsOfFile: dir + "/" + plot, encoding: .utf8)
            #expect(text.contains("<title>") && text.contains("class=\"legend\"") && text.contains("<line"), "\(plot)")
        }
    }

    @Test func theWellFormednessCheckCatchesATruncatedPlot() throws {
        let dir = Self.scratch("truncated")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        _ = try Self.write(dir, Self.flight(hz: 5))
        let whole = try Data(contentsOf: URL(fileURLWithPath: dir + "/rope.svg"))
        #expect(SVGContents.parse(whole).wellFormed)
        #expect(!SVGContents.parse(whole.prefix(whole.count / 2)).wellFormed)
        #expect(!SVGContents.parse(whole.prefix(whole.count - 8)).wellFormed)
    }

    @Test func missingColumnsAreSkipped() throws {
        let dir = Self.scratch("missing")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var series = TimeSeries(columns: ["t", "rope_m"], units: ["s", "m"])
        for i in 0..<100 { series.append([Double(i) * 0.1, Double(i) * 0.05]) }
        let paths = try ReportWriter.write(to: dir, title: "Rope only", series: series, site: SiteMarks(),
                                           summaryLines: [], events: [])
        #expect(paths.count == Self.fileNames.count)
        for plot in ReportWriter.plotNames() {
            let svg = try SVGContents.read(dir + "/" + plot)
            #expect(svg.series.map(\.id) == (plot == "rope.svg" ? ["rope_m"] : []), "\(plot)")
        }
        let back = try ReportWriter.readCSV(path: dir + "/timeseries.csv")
        #expect(back.rows.count == 100)
        #expect(try ReportWriter.readStates(path: dir + "/states.csv").isEmpty)
    }

    @Test func anEmptySeriesStillMakesAReport() throws {
        let dir = Self.scratch("empty")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let series = TimeSeries(columns: ["t"], units: ["s"])
        _ = try ReportWriter.write(to: dir, title: "Nothing <yet>", series: series, site: SiteMarks(),
                                   summaryLines: [], events: [])
        for plot in ReportWriter.plotNames() { _ = try SVGContents.read(dir + "/" + plot) }
        #expect(try ReportWriter.readCSV(path: dir + "/timeseries.csv").rows.isEmpty)
    }

    @Test func extremeValuesStillMakeWellFormedPlots() throws {
        let dir = Self.scratch("extreme")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var series = TimeSeries(columns: Self.allColumns, units: Self.allUnits)
        let odd: [Double] = [.nan, .infinity, -.infinity, 1e300, -1e300, 0, -0.0, .leastNonzeroMagnitude]
        for i in 0..<200 {
            // Time goes back once and repeats, as a log spanning a clock reset might.
            let t = i < 100 ? Double(i) : Double(i - 150)
            series.append([t] + (1..<Self.allColumns.count).map { odd[($0 + i) % odd.count] })
        }
        series.states = [(.nan, "lost"), (3, "a"), (-20, "b"), (3, "a")]
        _ = try ReportWriter.write(to: dir, title: "Odd & <odd>", series: series, site: SiteMarks(
            pads: [("P", .nan, 1)], stations: [("S", 1, 1, .infinity)], home: (0, 0)),
            summaryLines: [("k\u{1}", "v", nil)], events: [(.nan, "\u{0}")])
        for plot in ReportWriter.plotNames() { _ = try SVGContents.read(dir + "/" + plot) }
        #expect(try ReportWriter.readCSV(path: dir + "/timeseries.csv").rows.count == 200)
    }

    // MARK: Pieces

    @Test func thinningKeepsTheSpikeAndTheBound() {
        let n = 100_000
        let t = (0..<n).map { Double($0) * 0.01 }
        var v = (0..<n).map { sin(Double($0) * 0.37) }
        v[54_321] = 25
        v[77_777] = -30
        v[1000] = .nan
        let runs = ReportWriter.Thin.minMax(x: t, y: v, xLo: 0, xHi: t.last!)
        let points = runs.flatMap { $0 }
        #expect(points.count <= ReportWriter.maxPointsPerSeries)
        #expect(runs.count == 2, "a gap splits the line")
        #expect(points.map(\.1).max() == 25)
        #expect(points.map(\.1).min() == -30)
        #expect(zip(points, points.dropFirst()).allSatisfy { $0.0 < $1.0 }, "time order kept")
    }

    @Test func numbersAreFormattedTheSameEverywhere() {
        #expect(ReportWriter.Format.csv(0.1) == "0.1")
        #expect(ReportWriter.Format.csv(123456789.123) == "123456789")
        #expect(ReportWriter.Format.csv(-1.5e-7) == "-1.5e-07")
        #expect(ReportWriter.Format.csv(.nan) == "")
        #expect(ReportWriter.Format.fixed(-0.04, 1) == "0.0")
        #expect(ReportWriter.Format.fixed(-2.25, 2) == "-2.25")
        #expect(ReportWriter.Format.fixed(1234.5, 0) == "1235")
        #expect(ReportWriter.Format.fixed(0.05, 3) == "0.050")
        let ticks = ReportWriter.Ticks.around(0, 287.3, count: 10, expand: false)
        #expect(ticks.step == 20)
        #expect(ticks.values.map(ticks.label) == stride(from: 0, through: 280, by: 20).map { "\($0)" })
        let small = ReportWriter.Ticks.around(-0.13, 0.31, count: 5, expand: true)
        #expect(small.values.map(small.label) == ["-0.2", "-0.1", "0.0", "0.1", "0.2", "0.3", "0.4"])
    }
}
