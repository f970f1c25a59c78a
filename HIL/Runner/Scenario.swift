import PlumbCore
import PlumbFlight
import PlumbLink

/// A scenario file (HIL/scenarios/*.toml, documented in HIL/README.md): the site, the
/// mission, the world, a fault timeline, and the expected outcome with its bounds.
public struct Scenario {
    public struct Place {
        public var name: String
        public var north: Double
        public var east: Double
        /// Stations: roof (opening) height and opening radius, m.
        public var roofHeightM: Double = 0
        public var openingRadiusM: Double = 0
    }

    public struct Leg {
        public var kind: MissionLeg.Kind
        public var at: String
        public var dropAltitudeM: Double
    }

    /// What triggers a fault: a simulation time, or something that happens in the world.
    public enum Trigger: Equatable {
        case time(Double)
        /// The vehicle's height above the ground falls to or below this (m), after take-off.
        case altitudeBelow(Double)
        /// The rope is paid out to at least this length (m).
        case ropeOut(Double)
        /// The parcel has left the hook.
        case parcelReleased
        /// The vehicle has been airborne.
        case airborne
    }

    public struct Fault {
        public var name: String
        public var trigger: Trigger
        public var afterS: Double
        public var kind: String
        public var durationS: Double?
        public var device: String
        public var fault: String
        public var peakMps: Double
        public var fromDeg: Double
        public var mode: String
    }

    public struct Bounds {
        public var landingErrorM: Double? = nil
        public var parcelErrorM: Double? = nil
        public var batteryAtLandingPctMin: Double? = nil
        public var maxTensionN: Double? = nil
        public var durationSMax: Double? = nil
        public var parcelTouchdownSpeedMps: Double? = nil
        public var releaseDelayS: Double? = nil
    }

    public var name = ""
    public var description = ""
    public var autopilot = "ardupilot"
    public var timeLimitS: Double = 1800
    public var home = GeoPoint(latDeg: 43.8171, lonDeg: 125.3235, altM: 220)
    public var pads: [Place] = []
    public var stations: [Place] = []
    public var returnHome = true
    public var legs: [Leg] = []
    public var faults: [Fault] = []
    public var expectOutcome = "delivered"
    public var bounds = Bounds()
    /// Bounds not met yet, by name, and why (`[expect] known_gaps`, `known_gap_reason`).
    public var knownGaps: [String] = []
    public var knownGapReason = ""
    /// World settings as read (section.key → number or text), applied by the world mapping.
    public var world: [(key: String, number: Double?, text: String?)] = []
    /// Config overrides for the daemon (`[config]` table: dotted key → TOML value text).
    public var configOverrides: [(key: String, value: String)] = []
    /// Where the daemon's flight comes from: "dispatch" (uploaded over the link, then a start
    /// command) or "file" (a mission file with auto-start). `[dispatch] mission`.
    public var missionSource = "dispatch"
    /// When dispatch sends its start command, s (`[dispatch] start_s`).
    public var dispatchStartS: Double = 2
    /// Commands dispatch sends during the flight (`[dispatch.commands.NAME]`), in time order.
    public var dispatchCommands: [(name: String, atS: Double, kind: CommandKind)] = []

    public init() {}

    public func place(_ name: String) -> Place? {
        if name == "home" { return Place(name: "home", north: 0, east: 0) }
        return pads.first { $0.name == name } ?? stations.first { $0.name == name }
    }

    public func worldNumber(_ key: String) -> Double? { world.first { $0.key == key }?.number }
    public func worldText(_ key: String) -> String? { world.first { $0.key == key }?.text }

    /// Parses a scenario; diagnostics as `file:line:column: message`.
    public static func parse(_ text: String, file: String) -> (Scenario?, [String]) {
        let doc: TOMLDocument
        do {
            doc = try TOMLDocument.parse(text)
        } catch {
            return (nil, [error.formatted(file: file)])
        }
        var r = ConfigReader(doc)
        var s = Scenario()
        s.name = r.string("scenario.name", default: "") ?? ""
        s.description = r.string("scenario.description", default: "", maxLength: 2000) ?? ""
        s.autopilot = r.choice("scenario.autopilot", ["ardupilot", "px4"], default: "ardupilot") ?? "ardupilot"
        s.timeLimitS = r.double("scenario.time_limit_s", in: 10...36_000, default: 1800) ?? 1800
        if let lat = r.double("site.lat_deg", in: -90...90, default: s.home.latDeg, decimals: 9),
           let lon = r.double("site.lon_deg", in: -180...180, default: s.home.lonDeg, decimals: 9) {
            s.home = GeoPoint(latDeg: lat, lonDeg: lon, altM: r.double("site.alt_m", in: -500...9000, default: s.home.altM) ?? 0)
        }
        for name in doc.childTables(of: "site.pads") {
            let k = "site.pads." + name
            r.acceptTable(k)
            s.pads.append(Place(name: name, north: r.double(k + ".north_m", in: -100_000...100_000) ?? 0,
                                east: r.double(k + ".east_m", in: -100_000...100_000) ?? 0))
        }
        for name in doc.childTables(of: "site.stations") {
            let k = "site.stations." + name
            r.acceptTable(k)
            s.stations.append(Place(name: name, north: r.double(k + ".north_m", in: -100_000...100_000) ?? 0,
                                    east: r.double(k + ".east_m", in: -100_000...100_000) ?? 0,
                                    roofHeightM: r.double(k + ".roof_height_m", in: 0...30, default: 3) ?? 3,
                                    openingRadiusM: r.double(k + ".opening_radius_m", in: 0.05...5, default: 0.4) ?? 0.4))
        }
        s.returnHome = r.bool("mission.return_home", default: true) ?? true
        for name in doc.childTables(of: "mission.legs") {
            let k = "mission.legs." + name
            r.acceptTable(k)
            let kind = r.choice(k + ".kind", ["land", "drop", "waypoint"]) ?? "land"
            let at = r.string(k + ".at") ?? ""
            if s.place(at) == nil { r.error(k + ".at", "'\(k).at' = \"\(at)\" is not a pad or station of [site]") }
            s.legs.append(Leg(kind: kind == "land" ? .land : (kind == "drop" ? .drop : .waypoint), at: at,
                              dropAltitudeM: r.double(k + ".drop_altitude_m", in: 0...100, default: 0) ?? 0))
        }
        // World: numbers and words, checked by the world mapping (unknown keys are errors there).
        for table in ["vehicle", "battery", "wind", "gnss", "winch", "parcel", "rope", "camera"] {
            let prefix = "world." + table + "."
            for e in doc.entries where e.key.hasPrefix(prefix) {
                switch e.value {
                case .integer(let i): s.world.append((e.key, Double(i), nil)); r.acceptKey(e.key)
                case .float(let f): s.world.append((e.key, f, nil)); r.acceptKey(e.key)
                case .string(let t): s.world.append((e.key, nil, t)); r.acceptKey(e.key)
                case .boolean(let b): s.world.append((e.key, b ? 1 : 0, nil)); r.acceptKey(e.key)
                default: r.error(e.key, "'\(e.key)' must be a number, a word or true/false")
                }
            }
            r.acceptTable("world." + table)
        }
        for e in doc.entries where e.key.hasPrefix("config.") {
            let key = String(e.key.dropFirst("config.".count))
            let v: String
            switch e.value {
            case .integer(let i): v = String(i)
            case .float(let f): v = formatFixed(f, decimals: 6)
            case .string(let t): v = "\"" + t + "\""
            case .boolean(let b): v = b ? "true" : "false"
            default:
                r.error(e.key, "'\(e.key)' must be a number, a string or true/false")
                continue
            }
            r.acceptKey(e.key)
            s.configOverrides.append((key, v))
        }
        for t in doc.tables where t.name.hasPrefix("config") { r.acceptTable(t.name) }
        let kinds = ["chip", "gnss_loss", "gnss_mode", "gust", "wind", "rope_snag", "hook_jam", "autopilot_link", "dispatch_link"]
        for name in doc.childTables(of: "faults") {
            let k = "faults." + name
            r.acceptTable(k)
            var trigger = Trigger.time(0)
            if r.has(k + ".at_s"), let at = r.double(k + ".at_s", in: 0...36_000) {
                trigger = .time(at)
            } else if r.has(k + ".when"), let w = r.string(k + ".when") {
                switch w {
                case "parcel_released": trigger = .parcelReleased
                case "airborne": trigger = .airborne
                case "altitude_below":
                    trigger = .altitudeBelow(r.double(k + ".value", in: 0...500) ?? 0)
                case "rope_out":
                    trigger = .ropeOut(r.double(k + ".value", in: 0...100) ?? 0)
                default:
                    r.error(k + ".when", "'\(k).when' = \"\(w)\": use at_s, or when = parcel_released | airborne | altitude_below | rope_out (with value)")
                }
            }
            let kind = r.choice(k + ".kind", kinds) ?? "chip"
            s.faults.append(Fault(
                name: name, trigger: trigger, afterS: r.double(k + ".after_s", in: 0...36_000, default: 0) ?? 0,
                kind: kind, durationS: r.has(k + ".duration_s") ? r.double(k + ".duration_s", in: 0...36_000) : nil,
                device: r.string(k + ".device", default: "") ?? "", fault: r.string(k + ".fault", default: "") ?? "",
                peakMps: r.double(k + ".peak_mps", in: 0...60, default: 0) ?? 0,
                fromDeg: r.double(k + ".from_deg", in: 0...360, default: 0) ?? 0,
                mode: r.string(k + ".mode", default: "") ?? ""))
        }
        s.missionSource = r.choice("dispatch.mission", ["dispatch", "file"], default: "dispatch") ?? "dispatch"
        s.dispatchStartS = r.double("dispatch.start_s", in: 0...600, default: 2) ?? 2
        for name in doc.childTables(of: "dispatch.commands") {
            let k = "dispatch.commands." + name
            r.acceptTable(k)
            let at = r.double(k + ".at_s", in: 0...36_000) ?? 0
            let word = r.choice(k + ".command", ["pause", "resume", "abort", "return", "land"]) ?? "pause"
            let kind: CommandKind = word == "pause" ? .pause : word == "resume" ? .resume : word == "abort" ? .abortDelivery
                : word == "return" ? .returnHome : .landNow
            s.dispatchCommands.append((name, at, kind))
        }
        s.dispatchCommands.sort { $0.atS < $1.atS }
        s.expectOutcome = r.choice("expect.outcome", ["delivered", "returned", "landed", "aborted"], default: "delivered") ?? "delivered"
        s.bounds.landingErrorM = r.has("expect.landing_error_m") ? r.double("expect.landing_error_m", in: 0...100) : nil
        s.bounds.parcelErrorM = r.has("expect.parcel_error_m") ? r.double("expect.parcel_error_m", in: 0...100) : nil
        s.bounds.batteryAtLandingPctMin = r.has("expect.battery_at_landing_pct_min") ? r.double("expect.battery_at_landing_pct_min", in: 0...100) : nil
        s.bounds.maxTensionN = r.has("expect.max_tension_n") ? r.double("expect.max_tension_n", in: 0...100_000) : nil
        s.bounds.durationSMax = r.has("expect.duration_s_max") ? r.double("expect.duration_s_max", in: 0...36_000) : nil
        s.bounds.parcelTouchdownSpeedMps = r.has("expect.parcel_touchdown_speed_mps") ? r.double("expect.parcel_touchdown_speed_mps", in: 0...100) : nil
        s.bounds.releaseDelayS = r.has("expect.release_delay_s") ? r.double("expect.release_delay_s", in: 0...100) : nil
        if r.has("expect.known_gaps"), case .array(let a)? = doc["expect.known_gaps"] {
            r.acceptKey("expect.known_gaps")
            for v in a { if case .string(let t) = v { s.knownGaps.append(t) } }
            s.knownGapReason = r.string("expect.known_gap_reason", default: "", maxLength: 2000) ?? ""
            if s.knownGapReason.isEmpty { r.error("expect.known_gaps", "'expect.known_gaps' needs 'expect.known_gap_reason'") }
        }
        r.reportUnknown()
        let errors = r.diagnostics.map { $0.formatted(file: file) }
        return (errors.isEmpty ? s : nil, errors)
    }

    /// The hold height of a drop leg: its own, else the config's `drop.altitude_m`.
    public func holdHeight(_ l: Leg) -> Double {
        if l.dropAltitudeM > 0 { return l.dropAltitudeM }
        if let v = configOverrides.first(where: { $0.key == "drop.altitude_m" }), let d = Double(v.value) { return d }
        return FlightConfig().dropAltitudeM
    }

    /// The mission as dispatch uploads it (docs/protocol.md, MissionItem): home (or the
    /// origin of a one-way flight) first, then the legs; parcel ids count the legs from 1.
    public func missionItems() -> [MissionItem] {
        func e7(_ d: Double) -> Int32 { Int32((d * 1e7).rounded()) }
        var items = [MissionItem(kind: returnHome ? .home : .origin, lat1e7: e7(home.latDeg), lon1e7: e7(home.lonDeg),
                                 heightDm: Int16((home.altM * 10).rounded()))]
        for (i, l) in legs.enumerated() {
            guard let p = place(l.at) else { continue }
            let g = home.offset(by: NED(p.north, p.east, 0))
            switch l.kind {
            case .waypoint:
                items.append(MissionItem(kind: .waypoint, lat1e7: e7(g.latDeg), lon1e7: e7(g.lonDeg), heightDm: 0))
            case .land:
                items.append(MissionItem(kind: .pad, lat1e7: e7(g.latDeg), lon1e7: e7(g.lonDeg), heightDm: 0,
                                         parcelID: UInt32(i + 1)))
            case .drop:
                let hold = holdHeight(l)
                items.append(MissionItem(kind: .station, lat1e7: e7(g.latDeg), lon1e7: e7(g.lonDeg),
                                         heightDm: Int16((hold * 10).rounded()),
                                         dropDm: UInt16(max(0, ((hold - p.roofHeightM) * 10).rounded())),
                                         parcelID: UInt32(i + 1)))
            }
        }
        return items
    }

    /// The mission file the daemon flies (the same plan in every mode).
    public func missionFile() -> String {
        var out = "# Generated from scenario '\(name)'.\n"
        out += "return_home = \(returnHome)\n\n[home]\n"
        out += "lat_deg = \(formatFixed(home.latDeg, decimals: 9))\nlon_deg = \(formatFixed(home.lonDeg, decimals: 9))\nalt_m = \(formatFixed(home.altM, decimals: 3))\n"
        for (i, l) in legs.enumerated() {
            guard let p = place(l.at) else { continue }
            let g = home.offset(by: NED(p.north, p.east, 0))
            let kind = l.kind == .land ? "land" : (l.kind == .drop ? "drop" : "waypoint")
            out += "\n[legs.l\(i + 1)_\(l.at)]\nkind = \"\(kind)\"\n"
            out += "lat_deg = \(formatFixed(g.latDeg, decimals: 9))\nlon_deg = \(formatFixed(g.lonDeg, decimals: 9))\nalt_m = \(formatFixed(g.altM, decimals: 3))\n"
            if l.kind == .drop {
                out += "roof_height_m = \(formatFixed(p.roofHeightM, decimals: 3))\n"
                if l.dropAltitudeM > 0 { out += "drop_altitude_m = \(formatFixed(l.dropAltitudeM, decimals: 3))\n" }
            }
        }
        return out
    }
}
