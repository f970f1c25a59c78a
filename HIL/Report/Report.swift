// The report of one flight, simulated or read back from the flight recorder: the samples as
// CSV, a few SVG plots and an index.html that ties them together. What it writes depends
// only on its input, byte for byte, so the reports of two runs with the same seed compare
// equal with `cmp`, and a change in behaviour shows up as a diff.

import Foundation

// MARK: - What a report is made of

/// The samples of one flight, one row per tick.
///
/// Column 0 is time in seconds. The plots look for these columns and skip the ones that are
/// absent: `north`, `east`, `down` (m, local NED from home), `vdown` (m/s),
/// `est_north`, `est_east`, `est_down` (the estimator's position, m), `rope_m`,
/// `tension_n`, `battery_pct`, `battery_v`, `parcel_north`, `parcel_east`, `parcel_down`.
/// A value not known at a tick (no estimate yet, sensor unhealthy) is NaN.
public struct TimeSeries: Sendable {
    /// Column names; column 0 is time.
    public var columns: [String]
    /// One unit per column (`"s"`, `"m"`, `"N"`, ...; empty when none).
    public var units: [String]
    /// Each row holds one value per column.
    public var rows: [[Double]]
    /// Mission state changes: from `timeS` (s) on, the mission was in state `name`.
    public var states: [(timeS: Double, name: String)]
    /// Names the plots give a column's line (or, for `north` and `est_north`, a track) in
    /// place of their own: a flight log's `north` is the flight code's estimate, not the
    /// simulation's truth.
    public var displayNames: [String: String] = [:]

    public init(columns: [String], units: [String]) {
        precondition(!columns.isEmpty, "column 0 is time")
        precondition(columns.count == units.count, "one unit per column")
        self.columns = columns
        self.units = units
        self.rows = []
        self.states = []
    }

    /// Appends one tick; `row` holds one value per column, time first.
    public mutating func append(_ row: [Double]) {
        precondition(row.count == columns.count, "one value per column")
        rows.append(row)
    }

    /// The values of column `name`, one per row, or nil when there is no such column.
    public func column(_ name: String) -> [Double]? {
        guard let i = columns.firstIndex(of: name) else { return nil }
        return rows.map { i < $0.count ? $0[i] : .nan }
    }

    /// The unit of column `name`, or nil when there is no such column.
    public func unit(of name: String) -> String? {
        guard let i = columns.firstIndex(of: name), i < units.count else { return nil }
        return units[i]
    }
}

/// The places drawn on the track: take-off and landing pads, delivery stations (with the
/// opening the parcel must go through) and home. Coordinates in metres, local north/east
/// from home, the same frame as the series.
public struct SiteMarks: Sendable {
    public var pads: [(name: String, n: Double, e: Double)]
    public var stations: [(name: String, n: Double, e: Double, openingRadiusM: Double)]
    public var home: (n: Double, e: Double)

    public init(pads: [(name: String, n: Double, e: Double)] = [],
                stations: [(name: String, n: Double, e: Double, openingRadiusM: Double)] = [],
                home: (n: Double, e: Double) = (0, 0)) {
        self.pads = pads
        self.stations = stations
        self.home = home
    }
}

/// A report file that could not be read back.
public enum ReportError: Error, Equatable, CustomStringConvertible {
    /// `line` counts from 1 (the header).
    case malformedCSV(path: String, line: Int, reason: String)

    public var description: String {
        switch self {
        case let .malformedCSV(path, line, reason): return "\(path):\(line): \(reason)"
        }
    }
}

// MARK: - Writing and reading a report

public enum ReportWriter {
    /// Most points drawn for one series in one plot; longer series are thinned, keeping
    /// each stretch's lowest and highest value so that spikes survive.
    public static let maxPointsPerSeries = 2000
    /// Most events listed in index.html; events.csv always has them all.
    public static let maxEventsListed = 500

    static let plots: [(file: String, caption: String)] = [
        ("track.svg", "Top view: east to the right, north up, one scale on both axes."),
        ("track-zoom.svg", "±3 m around the delivery station and the landing pad: where the parcel and the vehicle touched down."),
        ("altitude.svg", "Altitude (−down) and vertical speed."),
        ("rope.svg", "Rope paid out and its tension."),
        ("battery.svg", "Battery state of charge and voltage."),
        ("states.svg", "Mission state over time."),
    ]

    /// The SVG files a report holds, in the order index.html shows them.
    public static func plotNames() -> [String] { plots.map(\.file) }

    /// Writes the report of one flight into `dir` (created if missing): timeseries.csv,
    /// states.csv, events.csv, the plots of `plotNames()` and index.html. Every plot is
    /// written even when its columns are missing (it then says so). Returns the paths
    /// written. `summaryLines` are shown as a table, coloured by `passed` (nil: no verdict);
    /// `events` times are in seconds, on the series' clock.
    public static func write(to dir: String, title: String, series: TimeSeries, site: SiteMarks,
                             summaryLines: [(key: String, value: String, passed: Bool?)],
                             events: [(timeS: Double, text: String)]) throws -> [String] {
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let clock = TimeAxis(series)
        let svgs = [
            TrackPlot.overview(title: title, series: series, site: site),
            TrackPlot.zoom(title: title, series: series, site: site),
            TimePlot.altitude(title: title, series: series, clock: clock),
            TimePlot.rope(title: title, series: series, clock: clock),
            TimePlot.battery(title: title, series: series, clock: clock),
            StatePlot.make(title: title, series: series, clock: clock),
        ]
        assert(svgs.count == plots.count)
        var files: [(name: String, text: String)] = [
            ("timeseries.csv", CSV.timeseries(series)),
            ("states.csv", CSV.states(series.states)),
            ("events.csv", CSV.events(events)),
        ]
        for (plot, svg) in zip(plots, svgs) { files.append((plot.file, svg)) }
        files.append(("index.html", HTML.index(title: title, series: series,
                                               summaryLines: summaryLines, events: events)))
        var paths: [String] = []
        let base = URL(fileURLWithPath: dir)
        for file in files {
            let url = base.appendingPathComponent(file.name)
            try Data(file.text.utf8).write(to: url, options: .atomic)
            paths.append(url.path)
        }
        return paths
    }

    /// Reads a timeseries.csv as `write` made it (header `name [unit]`, an empty field for
    /// NaN) back into a series, without states (see `readStates`).
    public static func readCSV(path: String) throws -> TimeSeries {
        let records = try CSV.records(path: path)
        guard let header = records.first, !(header.count == 1 && header[0].isEmpty) else {
            throw ReportError.malformedCSV(path: path, line: 1, reason: "no header")
        }
        let named = header.map(CSV.splitHeader)
        var series = TimeSeries(columns: named.map(\.name), units: named.map(\.unit))
        series.rows.reserveCapacity(records.count - 1)
        for (index, record) in records.enumerated().dropFirst() {
            guard record.count == header.count else {
                throw ReportError.malformedCSV(path: path, line: index + 1,
                    reason: "\(record.count) fields, the header has \(header.count)")
            }
            var row: [Double] = []
            row.reserveCapacity(record.count)
            for field in record {
                guard let value = CSV.number(field) else {
                    throw ReportError.malformedCSV(path: path, line: index + 1,
                                                   reason: "not a number: \(field)")
                }
                row.append(value)
            }
            series.rows.append(row)
        }
        return series
    }

    /// Reads a states.csv as `write` made it: one mission state change per line.
    public static func readStates(path: String) throws -> [(timeS: Double, name: String)] {
        let records = try CSV.records(path: path)
        var states: [(timeS: Double, name: String)] = []
        for (index, record) in records.enumerated().dropFirst() {
            guard record.count == 2, let t = CSV.number(record[0]), !t.isNaN else {
                throw ReportError.malformedCSV(path: path, line: index + 1,
                                               reason: "expected time,state")
            }
            states.append((t, record[1]))
        }
        return states
    }
}

// The pieces below are the writer's own, kept inside its namespace so that the module's
// other files keep short names such as Frame or Format for themselves.
extension ReportWriter {
    // MARK: - Text formats

    /// Number and text formatting that never depends on the locale.
    enum Format {
        /// Nine significant digits; empty for NaN.
        static func csv(_ x: Double) -> String {
            if x.isNaN { return "" }
            if x.isInfinite { return x < 0 ? "-inf" : "inf" }
            return String(format: "%.9g", x)
        }

        private static let powersOfTen: [Double] = [1, 10, 100, 1e3, 1e4, 1e5, 1e6]

        /// `x` with exactly `decimals` (0...6) digits after the point; no "-0".
        static func fixed(_ x: Double, _ decimals: Int) -> String {
            precondition((0...6).contains(decimals))
            guard x.isFinite else { return x.isNaN ? "nan" : (x < 0 ? "-inf" : "inf") }
            let scale = powersOfTen[decimals]
            let scaled = (x * scale).rounded()
            guard abs(scaled) < 1e15 else { return String(format: "%.\(decimals)f", x) }
            let units = Int64(scaled)
            let magnitude = units.magnitude
            let whole = magnitude / UInt64(scale)
            var text = units < 0 ? "-" : ""
            text += String(whole)
            if decimals > 0 {
                let fraction = String(magnitude % UInt64(scale))
                text += "." + String(repeating: "0", count: decimals - fraction.count) + fraction
            }
            return text
        }

        /// Like `fixed`, with a "+" in front of positive values.
        static func signed(_ x: Double, _ decimals: Int) -> String {
            let text = fixed(x, decimals)
            return text.hasPrefix("-") || text.allSatisfy({ $0 == "0" || $0 == "." }) ? text : "+" + text
        }

        /// Text safe inside XML and HTML elements and quoted attributes. Control characters,
        /// which XML does not allow, become spaces.
        static func xml(_ s: String) -> String {
            var out = ""
            out.reserveCapacity(s.utf8.count)
            for scalar in s.unicodeScalars {
                switch scalar {
                case "&": out += "&amp;"
                case "<": out += "&lt;"
                case ">": out += "&gt;"
                case "\"": out += "&quot;"
                case "'": out += "&#39;"
                case "\t", "\n", "\r": out.unicodeScalars.append(scalar)
                default:
                    if scalar.value < 0x20 || scalar.value == 0x7F || scalar.value == 0xFFFE || scalar.value == 0xFFFF {
                        out += " "
                    } else {
                        out.unicodeScalars.append(scalar)
                    }
                }
            }
            return out
        }

        /// `name [unit]`, or just `name` without a unit.
        static func labelled(_ name: String, _ unit: String) -> String {
            unit.isEmpty ? name : "\(name) [\(unit)]"
        }
    }

    enum CSV {
        static func timeseries(_ series: TimeSeries) -> String {
            var out = zip(series.columns, series.units)
                .map { field(Format.labelled($0, $1)) }
                .joined(separator: ",") + "\n"
            for row in series.rows {
                var first = true
                for i in series.columns.indices {
                    if !first { out += "," }
                    first = false
                    out += Format.csv(i < row.count ? row[i] : .nan)
                }
                out += "\n"
            }
            return out
        }

        static func states(_ states: [(timeS: Double, name: String)]) -> String {
            "t [s],state\n" + states.map { Format.csv($0.timeS) + "," + field($0.name) + "\n" }.joined()
        }

        static func events(_ events: [(timeS: Double, text: String)]) -> String {
            "t [s],event\n" + events.map { Format.csv($0.timeS) + "," + field($0.text) + "\n" }.joined()
        }

        /// A field quoted as RFC 4180 asks when it holds a comma, a quote or a line break.
        static func field(_ s: String) -> String {
            let special = s.unicodeScalars.contains { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }
            guard special else { return s }
            return "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\""
        }

        /// `name [unit]` split into its parts; a field without brackets is all name.
        static func splitHeader(_ field: String) -> (name: String, unit: String) {
            guard field.hasSuffix("]"), let open = field.range(of: " [", options: .backwards) else {
                return (field, "")
            }
            let unit = field[open.upperBound..<field.index(before: field.endIndex)]
            return (String(field[..<open.lowerBound]), String(unit))
        }

        /// A number field: empty or "nan" is NaN; nil when it is not a number.
        static func number(_ field: String) -> Double? {
            if field.isEmpty { return .nan }
            let trimmed = field.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty || trimmed.lowercased() == "nan" { return .nan }
            return Double(trimmed)
        }

        /// The records of a CSV file: fields split at commas and line ends (LF or CRLF), quoted
        /// fields may hold both. A final line end does not start another record.
        static func records(path: String) throws -> [[String]] {
            let bytes: [UInt8]
            do {
                bytes = Array(try Data(contentsOf: URL(fileURLWithPath: path)))
            } catch {
                throw ReportError.malformedCSV(path: path, line: 0, reason: "cannot read: \(error)")
            }
            let quote = UInt8(ascii: "\""), comma = UInt8(ascii: ","), lf = UInt8(ascii: "\n"), cr = UInt8(ascii: "\r")
            var records: [[String]] = []
            var record: [String] = []
            var fieldBytes: [UInt8] = []
            var quoted = false
            var i = 0
            func endField() {
                record.append(String(decoding: fieldBytes, as: UTF8.self))
                fieldBytes.removeAll(keepingCapacity: true)
            }
            while i < bytes.count {
                let b = bytes[i]
                if quoted {
                    if b == quote {
                        if i + 1 < bytes.count && bytes[i + 1] == quote {
                            fieldBytes.append(quote)
                            i += 1
                        } else {
                            quoted = false
                        }
                    } else {
                        fieldBytes.append(b)
                    }
                } else if b == quote && fieldBytes.isEmpty {
                    quoted = true
                } else if b == comma {
                    endField()
                } else if b == lf || b == cr {
                    if b == cr && i + 1 < bytes.count && bytes[i + 1] == lf { i += 1 }
                    endField()
                    records.append(record)
                    record.removeAll(keepingCapacity: true)
                } else {
                    fieldBytes.append(b)
                }
                i += 1
            }
            if quoted {
                throw ReportError.malformedCSV(path: path, line: records.count + 1, reason: "unterminated quote")
            }
            if !fieldBytes.isEmpty || !record.isEmpty {
                endField()
                records.append(record)
            }
            return records
        }
    }

    // MARK: - Axes and ticks

    /// An axis range with round-number ticks (1, 2 or 5 times a power of ten).
    struct Ticks {
        var lo: Double
        var hi: Double
        var step: Double
        var decimals: Int

        /// The round step nearest to `raw` (> 0) and the decimals its labels need.
        static func niceStep(_ raw: Double) -> (step: Double, decimals: Int) {
            let safe = raw.isFinite && raw > 0 ? raw : 1
            var exponent = floor(log10(safe))
            let norm = safe / pow(10, exponent)
            var mantissa: Double = norm < 1.5 ? 1 : norm < 3.5 ? 2 : norm < 7.5 ? 5 : 10
            if mantissa == 10 {
                mantissa = 1
                exponent += 1
            }
            exponent = min(max(exponent, -6), 15)
            return (mantissa * pow(10, exponent), max(0, Int(-exponent)))
        }

        /// Ticks about `count` intervals apart over [lo, hi]; with `expand`, the range grows to
        /// the ticks just outside it. A degenerate or non-finite range is widened first.
        static func around(_ lo: Double, _ hi: Double, count: Int, expand: Bool) -> Ticks {
            var lo = lo, hi = hi
            if !lo.isFinite || !hi.isFinite || lo > hi {
                lo = 0
                hi = 1
            }
            if hi - lo < 1e-9 * max(1, abs(lo)) {
                let pad = max(abs(lo) * 0.05, 0.5)
                lo -= pad
                hi += pad
            }
            let (step, decimals) = niceStep((hi - lo) / Double(max(count, 1)))
            if expand {
                lo = floor(lo / step) * step
                hi = ceil(hi / step) * step
            }
            return Ticks(lo: lo, hi: hi, step: step, decimals: decimals)
        }

        /// The tick values inside [lo, hi], at most 200.
        var values: [Double] {
            let first = ceil(lo / step - 1e-9)
            let last = floor(hi / step + 1e-9)
            guard first <= last, last - first < 200, abs(first) < 1e15, abs(last) < 1e15 else { return [] }
            return (Int(first)...Int(last)).map { Double($0) * step }
        }

        func label(_ value: Double) -> String { Format.fixed(value, decimals) }
    }

    /// A plot area in pixels (y grows downwards) and the data ranges it shows.
    struct Frame {
        var x0: Double
        var y0: Double
        var width: Double
        var height: Double
        var xLo: Double
        var xHi: Double
        var yLo: Double
        var yHi: Double

        func px(_ x: Double) -> Double { x0 + (x - xLo) / (xHi - xLo) * width }
        func py(_ y: Double) -> Double { y0 + height - (y - yLo) / (yHi - yLo) * height }
        var x1: Double { x0 + width }
        var y1: Double { y0 + height }
    }

    // MARK: - SVG

    enum Palette {
        static let truth = "#1c7ed6"
        static let estimate = "#e8590c"
        static let parcel = "#2f9e44"
        static let speed = "#7048e8"
        static let tension = "#c2255c"
        static let voltage = "#e8590c"
        static let pad = "#495057"
        static let station = "#1098ad"
        static let home = "#f08c00"
        static let grid = "#e9ecef"
        static let minorGrid = "#f3f5f7"
        static let axis = "#868e96"
        static let ink = "#212529"
        static let stateMark = "#adb5bd"
        static let bands = ["#a5d8ff", "#ffd8a8", "#b2f2bb", "#d0bfff", "#ffc9c9", "#99e9f2",
                            "#ffec99", "#fcc2d7", "#c0eb75", "#bac8ff"]
        static let estimateDash = "6 4"
    }

    /// What a legend entry shows next to its name.
    enum Swatch {
        case line(color: String, dash: String?)
        case pad
        case station
        case home
        case dot(color: String, filled: Bool)
        case stateChange
    }

    struct LegendItem {
        let name: String
        let swatch: Swatch
    }

    /// An SVG document built as text, element by element, in a fixed order.
    struct SVG {
        let width: Double
        let height: Double
        private var body = ""
        private var clips = 0

        static let fontSize = 12.0

        init(width: Double, height: Double, title: String) {
            self.width = width
            self.height = height
            body += "<title>\(Format.xml(title))</title>\n"
            body += "<rect width=\"100%\" height=\"100%\" fill=\"#ffffff\"/>\n"
            text(title, x: width / 2, y: 24, anchor: "middle", size: 15, weight: "bold")
        }

        /// A coordinate to 0.1 px, without a trailing ".0".
        static func n(_ x: Double) -> String {
            let text = Format.fixed(min(max(x, -1e6), 1e6), 1)
            return text.hasSuffix(".0") ? String(text.dropLast(2)) : text
        }

        mutating func raw(_ s: String) { body += s }

        mutating func line(_ x1: Double, _ y1: Double, _ x2: Double, _ y2: Double,
                           stroke: String, width: Double = 1, dash: String? = nil) {
            body += "<line x1=\"\(SVG.n(x1))\" y1=\"\(SVG.n(y1))\" x2=\"\(SVG.n(x2))\" y2=\"\(SVG.n(y2))\" stroke=\"\(stroke)\" stroke-width=\"\(SVG.n(width))\""
            if let dash { body += " stroke-dasharray=\"\(dash)\"" }
            body += "/>\n"
        }

        mutating func rect(_ x: Double, _ y: Double, _ w: Double, _ h: Double, fill: String,
                           stroke: String? = nil, attributes: String = "") {
            body += "<rect x=\"\(SVG.n(x))\" y=\"\(SVG.n(y))\" width=\"\(SVG.n(w))\" height=\"\(SVG.n(h))\" fill=\"\(fill)\""
            if let stroke { body += " stroke=\"\(stroke)\"" }
            body += attributes + "/>\n"
        }

        mutating func text(_ s: String, x: Double, y: Double, anchor: String = "start",
                           size: Double = SVG.fontSize, weight: String? = nil, fill: String = Palette.ink,
                           rotate: Bool = false) {
            body += "<text x=\"\(SVG.n(x))\" y=\"\(SVG.n(y))\""
            if rotate { body += " transform=\"rotate(-90 \(SVG.n(x)) \(SVG.n(y)))\"" }
            if anchor != "start" { body += " text-anchor=\"\(anchor)\"" }
            if size != SVG.fontSize { body += " font-size=\"\(SVG.n(size))\"" }
            if let weight { body += " font-weight=\"\(weight)\"" }
            if fill != Palette.ink { body += " fill=\"\(fill)\"" }
            body += ">\(Format.xml(s))</text>\n"
        }

        /// Declares a clip path around `frame` and returns its id.
        mutating func clip(_ frame: Frame) -> String {
            let id = "clip\(clips)"
            clips += 1
            body += "<clipPath id=\"\(id)\"><rect x=\"\(SVG.n(frame.x0))\" y=\"\(SVG.n(frame.y0))\" width=\"\(SVG.n(frame.width))\" height=\"\(SVG.n(frame.height))\"/></clipPath>\n"
            return id
        }

        /// One data series as one path (`class="series"`, `data-series` its id), in pixel
        /// coordinates, one sub-path per run of known values.
        mutating func series(_ id: String, runs: [[(Double, Double)]], color: String,
                             width: Double = 1.5, dash: String? = nil, clip: String) {
            var d = ""
            for run in runs where !run.isEmpty {
                d += "M\(SVG.n(run[0].0)) \(SVG.n(run[0].1))"
                if run.count == 1 { d += "h0" }
                for p in run.dropFirst() { d += " \(SVG.n(p.0)) \(SVG.n(p.1))" }
            }
            body += "<path class=\"series\" data-series=\"\(Format.xml(id))\" d=\"\(d)\" fill=\"none\" stroke=\"\(color)\" stroke-width=\"\(SVG.n(width))\" stroke-linejoin=\"round\" stroke-linecap=\"round\""
            if let dash { body += " stroke-dasharray=\"\(dash)\"" }
            body += " clip-path=\"url(#\(clip))\"/>\n"
        }

        /// A marked point (`class="mark"`, `data-mark` its id).
        mutating func dot(_ id: String, x: Double, y: Double, color: String, filled: Bool, radius: Double = 4) {
            body += "<circle class=\"mark\" data-mark=\"\(Format.xml(id))\" cx=\"\(SVG.n(x))\" cy=\"\(SVG.n(y))\" r=\"\(SVG.n(radius))\" fill=\"\(filled ? color : "#ffffff")\" fill-opacity=\"\(filled ? "0.9" : "0.6")\" stroke=\"\(color)\" stroke-width=\"1.5\"/>\n"
        }

        mutating func padMark(x: Double, y: Double, size: Double = 14) {
            rect(x - size / 2, y - size / 2, size, size, fill: "#ffffff", stroke: Palette.pad,
                 attributes: " stroke-width=\"1.5\"")
            text("H", x: x, y: y + size * 0.3, anchor: "middle", size: size * 0.75, weight: "bold", fill: Palette.pad)
        }

        mutating func homeMark(x: Double, y: Double, size: Double = 7) {
            body += "<path d=\"M\(SVG.n(x)) \(SVG.n(y - size)) L\(SVG.n(x + size)) \(SVG.n(y + size * 0.7)) L\(SVG.n(x - size)) \(SVG.n(y + size * 0.7))Z\" fill=\"\(Palette.home)\" stroke=\"#ffffff\" stroke-width=\"1\"/>\n"
        }

        mutating func cross(x: Double, y: Double, size: Double, color: String) {
            line(x - size, y, x + size, y, stroke: color)
            line(x, y - size, x, y + size, stroke: color)
        }

        // Legend entries sit in rows above a plot, left to right, wrapping at `width`.
        private static func layout(_ items: [LegendItem], width: Double) -> [(item: LegendItem, dx: Double, row: Int)] {
            var placed: [(LegendItem, Double, Int)] = []
            var dx = 0.0, row = 0
            for item in items {
                let w = 30 + Double(item.name.count) * fontSize * 0.6 + 16
                if dx > 0 && dx + w > width {
                    dx = 0
                    row += 1
                }
                placed.append((item, dx, row))
                dx += w
            }
            return placed
        }

        static let legendRowHeight = 18.0

        static func legendHeight(_ items: [LegendItem], width: Double) -> Double {
            guard let last = layout(items, width: width).last else { return legendRowHeight }
            return Double(last.row + 1) * legendRowHeight
        }

        /// Draws the legend with its first row's baseline at `y`.
        mutating func legend(_ items: [LegendItem], x: Double, y: Double, width: Double) {
            body += "<g class=\"legend\">\n"
            for (item, dx, row) in SVG.layout(items, width: width) {
                let sx = x + dx, sy = y + Double(row) * SVG.legendRowHeight - 4
                switch item.swatch {
                case let .line(color, dash):
                    line(sx, sy, sx + 24, sy, stroke: color, width: 2, dash: dash)
                case .pad:
                    padMark(x: sx + 12, y: sy, size: 12)
                case .station:
                    body += "<circle cx=\"\(SVG.n(sx + 12))\" cy=\"\(SVG.n(sy))\" r=\"6\" fill=\"\(Palette.station)\" fill-opacity=\"0.15\" stroke=\"\(Palette.station)\"/>\n"
                case .home:
                    homeMark(x: sx + 12, y: sy)
                case let .dot(color, filled):
                    body += "<circle cx=\"\(SVG.n(sx + 12))\" cy=\"\(SVG.n(sy))\" r=\"4\" fill=\"\(filled ? color : "#ffffff")\" stroke=\"\(color)\" stroke-width=\"1.5\"/>\n"
                case .stateChange:
                    line(sx + 12, sy - 7, sx + 12, sy + 7, stroke: Palette.stateMark, dash: "3 3")
                }
                text(item.name, x: sx + 30, y: sy + 4)
            }
            body += "</g>\n"
        }

        /// Gridlines and tick labels of `frame` for `xTicks` and `yTicks` (either may be nil),
        /// with x labels only when `xLabels`.
        mutating func grid(_ frame: Frame, xTicks: Ticks?, yTicks: Ticks?, xLabels: Bool,
                           minorX: Ticks? = nil, minorY: Ticks? = nil) {
            body += "<g class=\"grid\">\n"
            if let minorX {
                for v in minorX.values { line(frame.px(v), frame.y0, frame.px(v), frame.y1, stroke: Palette.minorGrid) }
            }
            if let minorY {
                for v in minorY.values { line(frame.x0, frame.py(v), frame.x1, frame.py(v), stroke: Palette.minorGrid) }
            }
            if let xTicks {
                for v in xTicks.values {
                    let x = frame.px(v)
                    line(x, frame.y0, x, frame.y1, stroke: Palette.grid)
                    line(x, frame.y1, x, frame.y1 + 4, stroke: Palette.axis)
                    if xLabels { text(xTicks.label(v), x: x, y: frame.y1 + 17, anchor: "middle") }
                }
            }
            if let yTicks {
                for v in yTicks.values {
                    let y = frame.py(v)
                    line(frame.x0, y, frame.x1, y, stroke: Palette.grid)
                    line(frame.x0 - 4, y, frame.x0, y, stroke: Palette.axis)
                    text(yTicks.label(v), x: frame.x0 - 7, y: y + 4, anchor: "end")
                }
            }
            body += "</g>\n"
        }

        mutating func border(_ frame: Frame) {
            rect(frame.x0, frame.y0, frame.width, frame.height, fill: "none", stroke: Palette.axis)
        }

        /// A frame with a message in it, for a plot whose data is missing.
        mutating func empty(_ frame: Frame, message: String) {
            border(frame)
            text(message, x: frame.x0 + frame.width / 2, y: frame.y0 + frame.height / 2,
                 anchor: "middle", fill: Palette.axis)
        }

        func finished() -> String {
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                + "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(SVG.n(width))\" height=\"\(SVG.n(height))\" viewBox=\"0 0 \(SVG.n(width)) \(SVG.n(height))\" font-family=\"sans-serif\" font-size=\"\(SVG.n(SVG.fontSize))\">\n"
                + body + "</svg>\n"
        }
    }

    // MARK: - Thinning long series

    enum Thin {
        /// Splits (x, y) into runs of finite points and, when there are more than
        /// `maxPoints`, keeps per slice of the x range only its lowest and highest point (in
        /// their order), so that the drawn envelope is the true one.
        static func minMax(x: [Double], y: [Double], xLo: Double, xHi: Double,
                           maxPoints: Int = ReportWriter.maxPointsPerSeries) -> [[(Double, Double)]] {
            let n = min(x.count, y.count)
            var finite = 0
            for i in 0..<n where x[i].isFinite && y[i].isFinite { finite += 1 }
            let buckets = max(maxPoints / 2, 1)
            let keepAll = finite <= maxPoints
            let span = xHi > xLo ? xHi - xLo : 1
            var runs: [[(Double, Double)]] = []
            var run: [(Double, Double)] = []
            var bucket = -1, lo = -1, hi = -1
            func flushBucket() {
                guard lo >= 0 else { return }
                let a = min(lo, hi), b = max(lo, hi)
                run.append((x[a], y[a]))
                if b != a { run.append((x[b], y[b])) }
                lo = -1
                hi = -1
                bucket = -1
            }
            func endRun() {
                flushBucket()
                if !run.isEmpty { runs.append(run) }
                run = []
            }
            for i in 0..<n {
                guard x[i].isFinite && y[i].isFinite else {
                    endRun()
                    continue
                }
                if keepAll {
                    run.append((x[i], y[i]))
                    continue
                }
                let f = (x[i] - xLo) / span * Double(buckets)
                let b = f.isNaN ? 0 : Int(min(max(f, 0), Double(buckets - 1)))
                if b != bucket {
                    flushBucket()
                    bucket = b
                    lo = i
                    hi = i
                } else {
                    if y[i] < y[lo] { lo = i }
                    if y[i] > y[hi] { hi = i }
                }
            }
            endRun()
            return cap(runs, maxPoints: maxPoints)
        }

        /// Thins pixel points (nil: a gap) to those at least `minStep` px from the last one
        /// kept; each run keeps its ends.
        static func pixels(_ points: [(Double, Double)?], minStep: Double = 0.7,
                           maxPoints: Int = ReportWriter.maxPointsPerSeries) -> [[(Double, Double)]] {
            var runs: [[(Double, Double)]] = []
            var run: [(Double, Double)] = []
            var pending: (Double, Double)? = nil
            func endRun() {
                if let p = pending { run.append(p) }
                pending = nil
                if !run.isEmpty { runs.append(run) }
                run = []
            }
            for point in points {
                guard let p = point else {
                    endRun()
                    continue
                }
                guard let last = run.last else {
                    run.append(p)
                    continue
                }
                let dx = p.0 - last.0, dy = p.1 - last.1
                if dx * dx + dy * dy >= minStep * minStep {
                    run.append(p)
                    pending = nil
                } else {
                    pending = p
                }
            }
            endRun()
            return cap(runs, maxPoints: maxPoints)
        }

        /// Keeps every k-th point (and each run's ends) so that at most about `maxPoints` remain.
        static func cap(_ runs: [[(Double, Double)]], maxPoints: Int) -> [[(Double, Double)]] {
            let total = runs.reduce(0) { $0 + $1.count }
            guard total > maxPoints else { return runs }
            let stride = (total + maxPoints - 1) / maxPoints
            return runs.map { run in
                var kept: [(Double, Double)] = []
                for (i, p) in run.enumerated() where i % stride == 0 || i == run.count - 1 { kept.append(p) }
                return kept
            }
        }
    }

    // MARK: - Plots against time

    /// The time axis every time plot shares, so that they line up in the report.
    struct TimeAxis {
        let t: [Double]
        let ticks: Ticks
        let states: [(timeS: Double, name: String)]
        let unit: String

        init(_ series: TimeSeries) {
            t = series.rows.map { $0.first ?? .nan }
            var lo = Double.infinity, hi = -Double.infinity
            for v in t where v.isFinite {
                lo = min(lo, v)
                hi = max(hi, v)
            }
            if lo > hi {
                for s in series.states where s.timeS.isFinite {
                    lo = min(lo, s.timeS)
                    hi = max(hi, s.timeS)
                }
            }
            // Not widened to round numbers: the plots end where the flight does.
            ticks = Ticks.around(lo, hi, count: 10, expand: false)
            states = series.states
            let u = series.units.first ?? "s"
            unit = u.isEmpty ? "s" : u
        }
    }

    struct TimeLine {
        let id: String
        let name: String
        let values: [Double]
        let color: String
        let dash: String?

        /// The line of column `column` (negated if asked), or nil when the column is absent or
        /// holds no known value.
        static func from(_ series: TimeSeries, _ column: String, name: String, negate: Bool = false,
                         color: String, dash: String? = nil) -> TimeLine? {
            guard var values = series.column(column), values.contains(where: { $0.isFinite }) else { return nil }
            if negate { values = values.map { -$0 } }
            return TimeLine(id: column, name: series.displayNames[column] ?? name, values: values, color: color, dash: dash)
        }
    }

    struct TimePanel {
        let yLabel: String
        let lines: [TimeLine]
    }

    enum TimePlot {
        static let width = 960.0
        static let left = 76.0
        static let right = 24.0
        static let panelHeight = 210.0

        static func unit(_ series: TimeSeries, _ column: String, _ fallback: String) -> String {
            if let u = series.unit(of: column), !u.isEmpty { return u }
            return fallback
        }

        static func altitude(title: String, series: TimeSeries, clock: TimeAxis) -> String {
            let u = unit(series, "down", "m")
            let vu = unit(series, "vdown", "m/s")
            return make(title: "\(title): altitude", missing: "down, est_down, parcel_down, vdown", clock: clock, panels: [
                TimePanel(yLabel: "altitude [\(u)]", lines: [
                    TimeLine.from(series, "down", name: "altitude", negate: true, color: Palette.truth),
                    TimeLine.from(series, "est_down", name: "estimated altitude", negate: true,
                                  color: Palette.estimate, dash: Palette.estimateDash),
                    TimeLine.from(series, "parcel_down", name: "parcel altitude", negate: true, color: Palette.parcel),
                ].compactMap { $0 }),
                TimePanel(yLabel: "vertical speed, up + [\(vu)]", lines: [
                    TimeLine.from(series, "vdown", name: "vertical speed (−vdown)", negate: true, color: Palette.speed),
                ].compactMap { $0 }),
            ])
        }

        static func rope(title: String, series: TimeSeries, clock: TimeAxis) -> String {
            make(title: "\(title): rope", missing: "rope_m, tension_n", clock: clock, panels: [
                TimePanel(yLabel: Format.labelled("rope length", unit(series, "rope_m", "m")), lines: [
                    TimeLine.from(series, "rope_m", name: "rope paid out", color: Palette.truth),
                ].compactMap { $0 }),
                TimePanel(yLabel: Format.labelled("tension", unit(series, "tension_n", "N")), lines: [
                    TimeLine.from(series, "tension_n", name: "rope tension", color: Palette.tension),
                ].compactMap { $0 }),
            ])
        }

        static func battery(title: String, series: TimeSeries, clock: TimeAxis) -> String {
            make(title: "\(title): battery", missing: "battery_pct, battery_v", clock: clock, panels: [
                TimePanel(yLabel: Format.labelled("state of charge", unit(series, "battery_pct", "%")), lines: [
                    TimeLine.from(series, "battery_pct", name: "state of charge", color: Palette.parcel),
                ].compactMap { $0 }),
                TimePanel(yLabel: Format.labelled("voltage", unit(series, "battery_v", "V")), lines: [
                    TimeLine.from(series, "battery_v", name: "voltage", color: Palette.voltage),
                ].compactMap { $0 }),
            ])
        }

        /// Panels stacked on one time axis; panels without lines are left out, and a plot with
        /// none says which columns it looked for.
        static func make(title: String, missing: String, clock: TimeAxis, panels allPanels: [TimePanel]) -> String {
            let panels = allPanels.filter { !$0.lines.isEmpty }
            let plotWidth = width - left - right
            let hasStates = !clock.states.isEmpty
            let legends: [[LegendItem]] = panels.map { panel in
                panel.lines.map { LegendItem(name: $0.name, swatch: .line(color: $0.color, dash: $0.dash)) }
                    + (hasStates ? [LegendItem(name: "state change", swatch: .stateChange)] : [])
            }
            var height = 40.0
            for legend in legends { height += SVG.legendHeight(legend, width: plotWidth) + 8 + panelHeight + 14 }
            if panels.isEmpty { height += 8 + panelHeight + 14 }
            height += 34
            var svg = SVG(width: width, height: height, title: title)

            var y = 40.0
            if panels.isEmpty {
                y += 8
                let frame = Frame(x0: left, y0: y, width: plotWidth, height: panelHeight,
                                  xLo: clock.ticks.lo, xHi: clock.ticks.hi, yLo: 0, yHi: 1)
                svg.empty(frame, message: "no data: none of the columns \(missing)")
                return svg.finished()
            }
            for (index, panel) in panels.enumerated() {
                let legendHeight = SVG.legendHeight(legends[index], width: plotWidth)
                svg.legend(legends[index], x: left, y: y + SVG.legendRowHeight - 2, width: plotWidth)
                y += legendHeight + 8
                var lo = Double.infinity, hi = -Double.infinity
                for line in panel.lines {
                    for v in line.values where v.isFinite {
                        lo = min(lo, v)
                        hi = max(hi, v)
                    }
                }
                let yTicks = Ticks.around(lo, hi, count: 5, expand: true)
                let frame = Frame(x0: left, y0: y, width: plotWidth, height: panelHeight,
                                  xLo: clock.ticks.lo, xHi: clock.ticks.hi, yLo: yTicks.lo, yHi: yTicks.hi)
                let last = index == panels.count - 1
                svg.raw("<g class=\"panel\" data-panel=\"\(index)\">\n")
                svg.grid(frame, xTicks: clock.ticks, yTicks: yTicks, xLabels: last)
                svg.text(panel.yLabel, x: 18, y: frame.y0 + frame.height / 2, anchor: "middle", rotate: true)
                let clip = svg.clip(frame)
                for state in clock.states.prefix(500) where state.timeS >= frame.xLo && state.timeS <= frame.xHi {
                    let x = frame.px(state.timeS)
                    svg.line(x, frame.y0, x, frame.y1, stroke: Palette.stateMark, dash: "3 3")
                }
                for line in panel.lines {
                    let runs = Thin.minMax(x: clock.t, y: line.values, xLo: frame.xLo, xHi: frame.xHi)
                        .map { run in run.map { (frame.px($0.0), frame.py($0.1)) } }
                    svg.series(line.id, runs: runs, color: line.color, dash: line.dash, clip: clip)
                }
                svg.border(frame)
                svg.raw("</g>\n")
                y += panelHeight + 14
                if last {
                    svg.text("time [\(clock.unit)]", x: frame.x0 + frame.width / 2, y: frame.y1 + 34, anchor: "middle")
                }
            }
            return svg.finished()
        }
    }

    // MARK: - Top view

    enum TrackPlot {
        struct Track {
            let id: String
            let name: String
            let north: [Double]
            let east: [Double]
            let color: String
            let dash: String?
        }

        static func tracks(_ series: TimeSeries, parcel: Bool) -> [Track] {
            var out: [Track] = []
            func add(_ n: String, _ e: String, _ id: String, _ name: String, _ color: String, _ dash: String?) {
                guard let north = series.column(n), let east = series.column(e),
                      zip(north, east).contains(where: { $0.isFinite && $1.isFinite }) else { return }
                out.append(Track(id: id, name: series.displayNames[n] ?? name, north: north, east: east, color: color, dash: dash))
            }
            add("north", "east", "track", "track (truth)", Palette.truth, nil)
            add("est_north", "est_east", "est_track", "estimated track", Palette.estimate, Palette.estimateDash)
            if parcel { add("parcel_north", "parcel_east", "parcel_track", "parcel", Palette.parcel, nil) }
            return out
        }

        /// Pads, stations (to scale) and home, with their names, through `map` (n, e → px).
        static func drawSite(_ svg: inout SVG, _ site: SiteMarks, scale: Double,
                             map: (Double, Double) -> (Double, Double)) {
            svg.raw("<g class=\"site\">\n")
            for s in site.stations {
                let (x, y) = map(s.n, s.e)
                let r = max(s.openingRadiusM * scale, 2)
                svg.raw("<circle class=\"station\" data-name=\"\(Format.xml(s.name))\" cx=\"\(SVG.n(x))\" cy=\"\(SVG.n(y))\" r=\"\(SVG.n(r))\" fill=\"\(Palette.station)\" fill-opacity=\"0.15\" stroke=\"\(Palette.station)\" stroke-width=\"1.5\"/>\n")
                svg.cross(x: x, y: y, size: 4, color: Palette.station)
                svg.text(s.name, x: x + r + 4, y: y - 4, fill: Palette.station)
            }
            for p in site.pads {
                let (x, y) = map(p.n, p.e)
                svg.padMark(x: x, y: y)
                svg.text(p.name, x: x + 11, y: y - 8, fill: Palette.pad)
            }
            let (hx, hy) = map(site.home.n, site.home.e)
            svg.homeMark(x: hx, y: hy)
            svg.text("home", x: hx + 9, y: hy + 14, fill: Palette.home)
            svg.raw("</g>\n")
        }

        static func siteLegend(_ site: SiteMarks) -> [LegendItem] {
            (site.pads.isEmpty ? [] : [LegendItem(name: "pad", swatch: .pad)])
                + (site.stations.isEmpty ? [] : [LegendItem(name: "station opening", swatch: .station)])
                + [LegendItem(name: "home", swatch: .home)]
        }

        static let width = 960.0
        static let left = 76.0
        static let right = 24.0

        /// The whole flight from above, north up, at one scale on both axes.
        static func overview(title: String, series: TimeSeries, site: SiteMarks) -> String {
            let tracks = tracks(series, parcel: false)
            var nLo = site.home.n, nHi = site.home.n, eLo = site.home.e, eHi = site.home.e
            func include(_ n: Double, _ e: Double, _ r: Double = 0) {
                guard n.isFinite && e.isFinite else { return }
                nLo = min(nLo, n - r)
                nHi = max(nHi, n + r)
                eLo = min(eLo, e - r)
                eHi = max(eHi, e + r)
            }
            for t in tracks { for (n, e) in zip(t.north, t.east) { include(n, e) } }
            for p in site.pads { include(p.n, p.e) }
            for s in site.stations { include(s.n, s.e, s.openingRadiusM.isFinite ? s.openingRadiusM : 0) }
            let margin = max(0.06 * max(nHi - nLo, eHi - eLo), 2)
            nLo -= margin; nHi += margin; eLo -= margin; eHi += margin

            let plotWidth = width - left - right
            let plotHeight = min(max(plotWidth * (nHi - nLo) / (eHi - eLo), 320), 760)
            let scale = min(plotWidth / (eHi - eLo), plotHeight / (nHi - nLo))
            let eMid = (eLo + eHi) / 2, nMid = (nLo + nHi) / 2
            let eHalf = plotWidth / scale / 2, nHalf = plotHeight / scale / 2

            let legend = tracks.map { LegendItem(name: $0.name, swatch: .line(color: $0.color, dash: $0.dash)) }
                + siteLegend(site)
            let legendHeight = SVG.legendHeight(legend, width: plotWidth)
            let top = 40 + legendHeight + 8
            let frame = Frame(x0: left, y0: top, width: plotWidth, height: plotHeight,
                              xLo: eMid - eHalf, xHi: eMid + eHalf, yLo: nMid - nHalf, yHi: nMid + nHalf)
            var svg = SVG(width: width, height: top + plotHeight + 44, title: "\(title): track")
            svg.legend(legend, x: left, y: 40 + SVG.legendRowHeight - 2, width: plotWidth)

            // One step on both axes, so that a grid square is a square.
            let (step, decimals) = Ticks.niceStep(2 * max(eHalf, nHalf) / 9)
            let xTicks = Ticks(lo: frame.xLo, hi: frame.xHi, step: step, decimals: decimals)
            let yTicks = Ticks(lo: frame.yLo, hi: frame.yHi, step: step, decimals: decimals)
            svg.grid(frame, xTicks: xTicks, yTicks: yTicks, xLabels: true)
            let nUnit = TimePlot.unit(series, "north", "m"), eUnit = TimePlot.unit(series, "east", "m")
            svg.text("east [\(eUnit)]", x: frame.x0 + frame.width / 2, y: frame.y1 + 34, anchor: "middle")
            svg.text("north [\(nUnit)]", x: 18, y: frame.y0 + frame.height / 2, anchor: "middle", rotate: true)

            let clip = svg.clip(frame)
            svg.raw("<g clip-path=\"url(#\(clip))\">\n")
            drawSite(&svg, site, scale: scale) { (frame.px($1), frame.py($0)) }
            svg.raw("</g>\n")
            for t in tracks.reversed() {
                let points: [(Double, Double)?] = zip(t.north, t.east).map { n, e in
                    n.isFinite && e.isFinite ? (frame.px(e), frame.py(n)) : nil
                }
                svg.series(t.id, runs: Thin.pixels(points), color: t.color, dash: t.dash, clip: clip)
            }
            if tracks.isEmpty {
                svg.text("no track: columns north, east absent", x: frame.x0 + frame.width / 2,
                         y: frame.y0 + 30, anchor: "middle", fill: Palette.axis)
            }
            svg.border(frame)
            return svg.finished()
        }

        /// Where a series comes to rest: the first index from which `down` stays within
        /// `tolerance` of its last known value, and whether it rested for at least `minRestS`.
        static func restIndex(down: [Double], t: [Double], tolerance: Double = 0.05,
                              minRestS: Double = 1) -> (index: Int, rested: Bool)? {
            guard let last = down.lastIndex(where: { $0.isFinite }) else { return nil }
            let final = down[last]
            var first = last
            var i = last
            while i > 0 {
                i -= 1
                guard down[i].isFinite else { continue }
                if abs(down[i] - final) > tolerance { break }
                first = i
            }
            let rested = t.indices.contains(first) && t.indices.contains(last) && t[last] - t[first] >= minRestS
            return (first, rested)
        }

        struct ZoomPanel {
            let id: String
            let heading: String
            let centre: (n: Double, e: Double)
            let tracks: [Track]
            let marks: [(id: String, name: String, n: Double, e: Double, color: String, filled: Bool)]
            let readouts: [String]
        }

        static func distance(_ a: (n: Double, e: Double), _ b: (n: Double, e: Double)) -> Double {
            ((a.n - b.n) * (a.n - b.n) + (a.e - b.e) * (a.e - b.e)).squareRoot()
        }

        /// A distance in cm below a metre, in m above.
        static func length(_ m: Double) -> String {
            abs(m) < 1 ? Format.fixed(m * 100, 1) + " cm" : Format.fixed(m, 2) + " m"
        }

        static func offsetText(_ p: (n: Double, e: Double), from c: (n: Double, e: Double)) -> String {
            let scale = max(abs(p.n - c.n), abs(p.e - c.e)) < 1 ? (100.0, "cm") : (1.0, "m")
            let dn = Format.signed((p.n - c.n) * scale.0, scale.0 == 100 ? 1 : 2)
            let de = Format.signed((p.e - c.e) * scale.0, scale.0 == 100 ? 1 : 2)
            return "\(length(distance(p, c))) (N \(dn), E \(de) \(scale.1))"
        }

        /// The panel centre: the target when the point came to rest within reach of it,
        /// otherwise the point itself (so that its surroundings are shown).
        static func centre(_ target: (n: Double, e: Double)?, _ rest: (n: Double, e: Double)) -> (n: Double, e: Double) {
            guard let target, distance(target, rest) <= 0.8 * zoomHalfM else { return rest }
            return target
        }

        static func zoomPanels(series: TimeSeries, site: SiteMarks) -> [ZoomPanel] {
            let t = series.rows.map { $0.first ?? .nan }
            var panels: [ZoomPanel] = []
            let all = tracks(series, parcel: true)

            // Delivery: where the parcel came to rest, against the nearest station's opening.
            if let pn = series.column("parcel_north"), let pe = series.column("parcel_east"),
               let pd = series.column("parcel_down"),
               let rest = restIndex(down: pd, t: t), pn[rest.index].isFinite, pe[rest.index].isFinite {
                let touch = (n: pn[rest.index], e: pe[rest.index])
                let station = site.stations.min { distance(($0.n, $0.e), touch) < distance(($1.n, $1.e), touch) }
                let target = station.map { (n: $0.n, e: $0.e) }
                let centre = centre(target, touch)
                let what = rest.rested ? "parcel touchdown" : "parcel final position"
                var readouts = ["\(what) at t = \(Format.fixed(t[rest.index], 2)) s"]
                var heading = "delivery: parcel at rest"
                if let station, let target {
                    heading = centre == target ? "delivery: station \(station.name)"
                        : "delivery: parcel at rest (\(length(distance(touch, target))) from station \(station.name))"
                    let d = distance(touch, target)
                    let inside = d <= station.openingRadiusM ? "inside" : "outside"
                    readouts.append("from the centre of \(station.name): " + offsetText(touch, from: target))
                    readouts.append("\(inside) the opening (radius \(length(station.openingRadiusM)))")
                }
                panels.append(ZoomPanel(
                    id: "delivery", heading: heading, centre: centre, tracks: all,
                    marks: [("parcel_touchdown", what, touch.n, touch.e, Palette.parcel, true)],
                    readouts: readouts))
            }

            // Landing: where the vehicle came to rest, against the nearest pad (or home).
            if let vn = series.column("north"), let ve = series.column("east"), let vd = series.column("down"),
               let rest = restIndex(down: vd, t: t), vn[rest.index].isFinite, ve[rest.index].isFinite {
                let touch = (n: vn[rest.index], e: ve[rest.index])
                var targets = site.pads.map { (name: "pad \($0.name)", n: $0.n, e: $0.e) }
                targets.append((name: "home", n: site.home.n, e: site.home.e))
                let target = targets.min { distance(($0.n, $0.e), touch) < distance(($1.n, $1.e), touch) }!
                let targetPoint = (n: target.n, e: target.e)
                let centre = centre(targetPoint, touch)
                let what = rest.rested ? "vehicle touchdown" : "vehicle final position"
                var marks: [(id: String, name: String, n: Double, e: Double, color: String, filled: Bool)] =
                    [("vehicle_touchdown", what, touch.n, touch.e, Palette.truth, true)]
                var readouts = ["\(what) at t = \(Format.fixed(t[rest.index], 2)) s",
                                "from \(target.name): " + offsetText(touch, from: targetPoint)]
                if let en = series.column("est_north"), let ee = series.column("est_east"),
                   en[rest.index].isFinite, ee[rest.index].isFinite {
                    let est = (n: en[rest.index], e: ee[rest.index])
                    // Named as the series names them (a flight log has no truth, only its track).
                    let estimate = series.displayNames["est_north"].map { "\($0) there" } ?? "estimate there"
                    let reference = series.displayNames["north"] == nil ? "the truth" : "the track"
                    marks.append(("estimate_touchdown", estimate, est.n, est.e, Palette.estimate, false))
                    readouts.append("\(estimate) off \(reference) by " + offsetText(est, from: touch))
                }
                let heading = centre == targetPoint ? "landing: \(target.name)"
                    : "landing: vehicle at rest (\(length(distance(touch, targetPoint))) from \(target.name))"
                panels.append(ZoomPanel(id: "landing", heading: heading, centre: centre,
                                        tracks: all.filter { $0.id != "parcel_track" }, marks: marks,
                                        readouts: readouts))
            }
            return panels
        }

        static let zoomHalfM = 3.0
        static let zoomSide = 420.0
        static let insetSide = 150.0

        /// A magnified box in a corner of a zoom panel, centred like it, a few centimetres per
        /// grid square: at ±3 m a centimetre is less than a pixel, here it is several. Sized to
        /// the largest offset of the panel's marks; left out when that is beyond 0.8 m (the
        /// panel shows it well enough). Placed in the corner crossed by the fewest drawn points.
        static func inset(_ svg: inout SVG, panel: ZoomPanel, in frame: Frame, site: SiteMarks,
                          avoiding drawn: [(Double, Double)]) {
            // A panel centred on the point itself (no target near it) has no offset to show.
            let filled = panel.marks.filter(\.filled)
            guard filled.contains(where: { $0.n != panel.centre.n || $0.e != panel.centre.e }) else { return }
            let offset = panel.marks.map { max(abs($0.n - panel.centre.n), abs($0.e - panel.centre.e)) }.max() ?? 0
            guard let half = [0.1, 0.2, 0.5, 1.0].first(where: { offset * 1.25 <= $0 }) else { return }
            let pad = 8.0, side = insetSide
            let corners = [(frame.x0 + pad, frame.y0 + pad), (frame.x1 - pad - side, frame.y0 + pad),
                           (frame.x0 + pad, frame.y1 - pad - side), (frame.x1 - pad - side, frame.y1 - pad - side)]
            let crowding = corners.map { corner in
                drawn.reduce(0) { count, p in
                    count + (p.0 >= corner.0 && p.0 <= corner.0 + side && p.1 >= corner.1 && p.1 <= corner.1 + side ? 1 : 0)
                }
            }
            let best = crowding.indices.min { crowding[$0] < crowding[$1] }!
            let box = Frame(x0: corners[best].0, y0: corners[best].1, width: side, height: side,
                            xLo: -half, xHi: half, yLo: -half, yHi: half)
            func map(_ n: Double, _ e: Double) -> (Double, Double) {
                (box.px(e - panel.centre.e), box.py(n - panel.centre.n))
            }
            let cm = Format.fixed(half * 100, 0), gridCm = Format.fixed(half * 50, 0)
            svg.raw("<g class=\"inset\">\n")
            svg.rect(box.x0, box.y0, box.width, box.height, fill: "#ffffff", stroke: Palette.ink)
            let grid = Ticks(lo: -half, hi: half, step: half / 2, decimals: 2)
            for v in grid.values {
                svg.line(box.px(v), box.y0, box.px(v), box.y1, stroke: Palette.grid)
                svg.line(box.x0, box.py(v), box.x1, box.py(v), stroke: Palette.grid)
            }
            let clip = svg.clip(box)
            svg.raw("<g clip-path=\"url(#\(clip))\">\n")
            for s in site.stations {
                let (x, y) = map(s.n, s.e)
                svg.raw("<circle cx=\"\(SVG.n(x))\" cy=\"\(SVG.n(y))\" r=\"\(SVG.n(s.openingRadiusM * side / (2 * half)))\" fill=\"\(Palette.station)\" fill-opacity=\"0.15\" stroke=\"\(Palette.station)\" stroke-width=\"1.5\"/>\n")
            }
            let (cx, cy) = map(panel.centre.n, panel.centre.e)
            svg.cross(x: cx, y: cy, size: 8, color: Palette.axis)
            for mark in panel.marks {
                let (x, y) = map(mark.n, mark.e)
                // The offset of where things came to rest; an estimate is a dot of its own.
                if mark.filled { svg.line(cx, cy, x, y, stroke: mark.color) }
                svg.dot(mark.id + "_inset", x: x, y: y, color: mark.color, filled: mark.filled, radius: 3.5)
            }
            svg.raw("</g>\n")
            svg.text("±\(cm) cm, grid \(gridCm) cm", x: box.x0 + 4, y: box.y0 + 13, size: 10, fill: Palette.pad)
            svg.raw("</g>\n")
        }

        /// ±3 m around the delivery station and the landing pad, offsets in metres from their
        /// centres, with where the parcel and the vehicle came to rest.
        static func zoom(title: String, series: TimeSeries, site: SiteMarks) -> String {
            let panels = zoomPanels(series: series, site: site)
            let cell = left + zoomSide + right
            let legends: [[LegendItem]] = panels.map { panel in
                panel.tracks.map { LegendItem(name: $0.name, swatch: .line(color: $0.color, dash: $0.dash)) }
                    + panel.marks.map { LegendItem(name: $0.name, swatch: .dot(color: $0.color, filled: $0.filled)) }
            }
            let legendHeight = legends.map { SVG.legendHeight($0, width: zoomSide) }.max() ?? SVG.legendRowHeight
            let readoutLines = Double(panels.map(\.readouts.count).max() ?? 0)
            let top = 40 + 20 + legendHeight + 8
            let width = max(cell * Double(max(panels.count, 1)), 520)
            let height = top + zoomSide + 44 + readoutLines * 16 + 8
            var svg = SVG(width: width, height: height, title: "\(title): touchdown, ±3 m")
            if panels.isEmpty {
                let frame = Frame(x0: left, y0: top, width: zoomSide, height: zoomSide, xLo: -zoomHalfM,
                                  xHi: zoomHalfM, yLo: -zoomHalfM, yHi: zoomHalfM)
                svg.empty(frame, message: "no touchdown: columns north, east, down absent")
                return svg.finished()
            }
            let major = Ticks(lo: -zoomHalfM, hi: zoomHalfM, step: 1, decimals: 0)
            let minor = Ticks(lo: -zoomHalfM, hi: zoomHalfM, step: 0.1, decimals: 1)
            for (index, panel) in panels.enumerated() {
                let x0 = Double(index) * cell + left
                let frame = Frame(x0: x0, y0: top, width: zoomSide, height: zoomSide,
                                  xLo: -zoomHalfM, xHi: zoomHalfM, yLo: -zoomHalfM, yHi: zoomHalfM)
                let scale = zoomSide / (2 * zoomHalfM)
                func map(_ n: Double, _ e: Double) -> (Double, Double) {
                    (frame.px(e - panel.centre.e), frame.py(n - panel.centre.n))
                }
                svg.raw("<g class=\"panel\" data-panel=\"\(panel.id)\">\n")
                svg.text(panel.heading, x: x0, y: 52, weight: "bold")
                svg.legend(legends[index], x: x0, y: 60 + SVG.legendRowHeight - 2, width: zoomSide)
                svg.grid(frame, xTicks: major, yTicks: major, xLabels: true, minorX: minor, minorY: minor)
                svg.text("east of centre [m]", x: frame.x0 + frame.width / 2, y: frame.y1 + 34, anchor: "middle")
                svg.text("north of centre [m]", x: x0 - left + 18, y: frame.y0 + frame.height / 2,
                         anchor: "middle", rotate: true)
                let clip = svg.clip(frame)
                svg.raw("<g clip-path=\"url(#\(clip))\">\n")
                drawSite(&svg, site, scale: scale, map: map)
                let (cx, cy) = map(panel.centre.n, panel.centre.e)
                svg.cross(x: cx, y: cy, size: 10, color: Palette.axis)
                svg.raw("</g>\n")
                // Only what passes near the window is drawn, so that thinning keeps its detail.
                let reach = zoomHalfM + 1
                var drawn: [(Double, Double)] = []
                for track in panel.tracks.reversed() {
                    let near = zip(track.north, track.east).map { n, e in
                        n.isFinite && e.isFinite && abs(n - panel.centre.n) <= reach && abs(e - panel.centre.e) <= reach
                    }
                    var points: [(Double, Double)?] = []
                    points.reserveCapacity(near.count)
                    for i in near.indices {
                        let keep = near[i] || (i > 0 && near[i - 1]) || (i + 1 < near.count && near[i + 1])
                        let n = track.north[i], e = track.east[i]
                        points.append(keep && n.isFinite && e.isFinite ? map(n, e) : nil)
                    }
                    let runs = Thin.pixels(points, minStep: 0.8)
                    for run in runs { drawn += run }
                    svg.series(track.id, runs: runs, color: track.color, width: 1.2, dash: track.dash, clip: clip)
                }
                for mark in panel.marks {
                    let (x, y) = map(mark.n, mark.e)
                    svg.dot(mark.id, x: min(max(x, frame.x0), frame.x1), y: min(max(y, frame.y0), frame.y1),
                            color: mark.color, filled: mark.filled)
                }
                inset(&svg, panel: panel, in: frame, site: site, avoiding: drawn)
                svg.border(frame)
                for (i, line) in panel.readouts.enumerated() {
                    svg.text(line, x: x0 - left + 12, y: frame.y1 + 56 + Double(i) * 16)
                }
                svg.raw("</g>\n")
            }
            return svg.finished()
        }
    }

    // MARK: - Mission states

    enum StatePlot {
        static let width = 960.0
        static let rowHeight = 22.0
        static let maxRows = 40
        static let maxChanges = 5000

        /// One row per state (in order of first entry), a band for each stretch in it, and a
        /// step line through the bands.
        static func make(title: String, series: TimeSeries, clock: TimeAxis) -> String {
            // Stable sort: changes at the same time keep their order.
            let changes = series.states.enumerated()
                .filter { $0.element.timeS.isFinite }
                .sorted { ($0.element.timeS, $0.offset) < ($1.element.timeS, $1.offset) }
                .prefix(maxChanges)
                .map(\.element)
            var names: [String] = []
            for c in changes where !names.contains(c.name) && names.count < maxRows { names.append(c.name) }
            let other = "(other states)"
            let rowNames = names + (changes.contains { !names.contains($0.name) } ? [other] : [])
            func row(_ name: String) -> Int { rowNames.firstIndex(of: name) ?? rowNames.count - 1 }

            let longest = rowNames.map(\.count).max() ?? 0
            let left = min(max(Double(longest) * SVG.fontSize * 0.6 + 20, 90), 260)
            let right = 24.0
            let plotWidth = width - left - right
            let legend = [LegendItem(name: "mission state", swatch: .line(color: Palette.ink, dash: nil))]
            let legendHeight = SVG.legendHeight(legend, width: plotWidth)
            let top = 40 + legendHeight + 8
            let plotHeight = rowHeight * Double(max(rowNames.count, 1))
            var svg = SVG(width: width, height: top + plotHeight + 44, title: "\(title): mission states")
            svg.legend(legend, x: left, y: 40 + SVG.legendRowHeight - 2, width: plotWidth)

            var ticks = clock.ticks
            if let first = changes.first?.timeS, let last = changes.last?.timeS,
               first < ticks.lo || last > ticks.hi {
                ticks = Ticks.around(min(first, ticks.lo), max(last, ticks.hi), count: 10, expand: false)
            }
            let frame = Frame(x0: left, y0: top, width: plotWidth, height: plotHeight,
                              xLo: ticks.lo, xHi: ticks.hi, yLo: 0, yHi: Double(max(rowNames.count, 1)))
            svg.grid(frame, xTicks: ticks, yTicks: nil, xLabels: true)
            svg.text("time [\(clock.unit)]", x: frame.x0 + frame.width / 2, y: frame.y1 + 34, anchor: "middle")
            if changes.isEmpty {
                svg.empty(frame, message: "no mission states recorded")
                return svg.finished()
            }
            func rowTop(_ r: Int) -> Double { frame.y0 + Double(r) * rowHeight }
            for (r, name) in rowNames.enumerated() {
                if r > 0 { svg.line(frame.x0, rowTop(r), frame.x1, rowTop(r), stroke: Palette.grid) }
                svg.text(name, x: frame.x0 - 8, y: rowTop(r) + rowHeight / 2 + 4, anchor: "end")
            }
            let clip = svg.clip(frame)
            // A state lasts until the next change, the last one until the end of the series.
            let end = max(clock.t.last(where: { $0.isFinite }) ?? changes.last!.timeS, changes.last!.timeS)
            var step: [(Double, Double)] = []
            svg.raw("<g clip-path=\"url(#\(clip))\">\n")
            for (i, change) in changes.enumerated() {
                let until = i + 1 < changes.count ? changes[i + 1].timeS : end
                let r = row(change.name)
                let x = frame.px(change.timeS), w = max(frame.px(until) - x, 1)
                svg.rect(x, rowTop(r) + 3, w, rowHeight - 6, fill: Palette.bands[r % Palette.bands.count],
                         attributes: " class=\"state-band\" data-state=\"\(Format.xml(change.name))\"")
                let y = rowTop(r) + rowHeight / 2
                step.append((x, y))
                step.append((frame.px(until), y))
            }
            svg.raw("</g>\n")
            svg.series("state", runs: Thin.cap([step], maxPoints: 2 * maxChanges), color: Palette.ink,
                       width: 1.2, clip: clip)
            svg.border(frame)
            return svg.finished()
        }
    }

    // MARK: - index.html

    enum HTML {
        static let style = """
            body { font-family: sans-serif; color: #212529; margin: 24px auto; max-width: 1100px; padding: 0 16px; }
            h1 { font-size: 1.5em; }
            table { border-collapse: collapse; margin: 8px 0 20px; }
            th, td { border: 1px solid #dee2e6; padding: 4px 10px; text-align: left; vertical-align: top; }
            th { background: #f1f3f5; }
            td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
            tr.pass td.verdict { background: #d3f9d8; color: #2b8a3e; font-weight: bold; }
            tr.fail td.verdict { background: #ffe3e3; color: #c92a2a; font-weight: bold; }
            p.verdict { display: inline-block; padding: 6px 12px; font-weight: bold; border-radius: 4px; }
            p.pass { background: #d3f9d8; color: #2b8a3e; }
            p.fail { background: #ffe3e3; color: #c92a2a; }
            p.none { background: #f1f3f5; }
            figure { margin: 0 0 28px; }
            figure img { max-width: 100%; height: auto; border: 1px solid #dee2e6; }
            figcaption { color: #495057; margin-top: 4px; }
            """

        static func index(title: String, series: TimeSeries,
                          summaryLines: [(key: String, value: String, passed: Bool?)],
                          events: [(timeS: Double, text: String)]) -> String {
            let x = Format.xml
            var h = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            h += "<title>\(x(title))</title>\n<style>\n\(style)\n</style>\n</head>\n<body>\n"
            h += "<h1>\(x(title))</h1>\n"

            let passed = summaryLines.filter { $0.passed == true }.count
            let failed = summaryLines.filter { $0.passed == false }.count
            if failed > 0 {
                h += "<p class=\"verdict fail\">FAIL: \(failed) of \(passed + failed) checks failed</p>\n"
            } else if passed > 0 {
                h += "<p class=\"verdict pass\">PASS: all \(passed) checks passed</p>\n"
            } else {
                h += "<p class=\"verdict none\">no checks</p>\n"
            }

            h += "<h2>Summary</h2>\n<table class=\"summary\">\n<tr><th>item</th><th>value</th><th>result</th></tr>\n"
            for line in summaryLines {
                let (cls, verdict) = line.passed.map { $0 ? ("pass", "pass") : ("fail", "FAIL") } ?? ("info", "")
                h += "<tr class=\"\(cls)\"><td>\(x(line.key))</td><td>\(x(line.value))</td><td class=\"verdict\">\(verdict)</td></tr>\n"
            }
            h += "</table>\n"

            h += "<h2>Events</h2>\n"
            if events.isEmpty {
                h += "<p>none</p>\n"
            } else {
                h += "<table class=\"events\">\n<tr><th>t [s]</th><th>event</th></tr>\n"
                for event in events.prefix(ReportWriter.maxEventsListed) {
                    h += "<tr><td class=\"num\">\(Format.fixed(event.timeS, 3))</td><td>\(x(event.text))</td></tr>\n"
                }
                h += "</table>\n"
                if events.count > ReportWriter.maxEventsListed {
                    h += "<p>\(events.count - ReportWriter.maxEventsListed) more in <a href=\"events.csv\">events.csv</a>.</p>\n"
                }
            }

            h += "<h2>Plots</h2>\n"
            for plot in ReportWriter.plots {
                let name = plot.file.replacingOccurrences(of: ".svg", with: "")
                h += "<figure id=\"\(name)\"><a href=\"\(plot.file)\"><img src=\"\(plot.file)\" alt=\"\(x(name))\"></a>"
                h += "<figcaption>\(x(plot.caption))</figcaption></figure>\n"
            }

            h += "<h2>Data</h2>\n<ul>\n"
            h += "<li><a href=\"timeseries.csv\">timeseries.csv</a>: \(series.rows.count) rows of \(series.columns.count) columns (\(x(series.columns.joined(separator: ", "))))</li>\n"
            h += "<li><a href=\"states.csv\">states.csv</a>: \(series.states.count) mission state changes</li>\n"
            h += "<li><a href=\"events.csv\">events.csv</a>: \(events.count) events</li>\n"
            h += "</ul>\n</body>\n</html>\n"
            return h
        }
    }
}
