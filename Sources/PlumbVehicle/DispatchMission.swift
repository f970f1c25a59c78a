import PlumbCore
import PlumbFlight
import PlumbLink

/// A mission uploaded by dispatch (docs/protocol.md, "MissionItem") turned into the plan
/// the flight code flies. Checked whole: one bad item refuses the mission, with the reason.
///
/// - A `home` item: the flight returns and lands there after its last leg. An `origin`
///   item: the take-off pad of a one-way flight (no return; the last leg must be a pad).
///   Neither: home is the take-off point, taken from GNSS in preflight.
/// - Pads and stations stand on home's ground level plus, for pads, the item's height.
/// - Waypoints are flown at the cruise altitude; a waypoint with its own height is refused
///   (per-waypoint heights are not flown yet, and silently ignoring one would be unsafe).
public struct DispatchMission {
    public private(set) var plan: MissionPlan? = nil
    public private(set) var problem = ""

    public init(items: [MissionItem]) {
        var home: GeoPoint? = nil
        var returnHome = true
        var legs: [MissionLeg] = []
        for (i, item) in items.enumerated() {
            let at = GeoPoint(latDeg: Double(item.lat1e7) / 1e7, lonDeg: Double(item.lon1e7) / 1e7, altM: 0)
            guard abs(at.latDeg) <= 90, abs(at.lonDeg) <= 180 else { refuse(i, "position out of range"); return }
            switch item.kind {
            case .home, .origin:
                guard home == nil else { refuse(i, "a second home or origin"); return }
                guard i == 0 else { refuse(i, "home or origin must be the first item"); return }
                home = GeoPoint(latDeg: at.latDeg, lonDeg: at.lonDeg, altM: Double(item.heightDm) / 10)
                returnHome = item.kind == .home
            case .waypoint:
                guard item.heightDm == 0 else { refuse(i, "waypoint height \(item.heightDm) dm: only 0 (the cruise altitude) is flown"); return }
                legs.append(MissionLeg(kind: .waypoint, target: at))
            case .pad:
                legs.append(MissionLeg(kind: .land, target: at, parcelID: item.parcelID))
                legs[legs.count - 1].target.altM = Double(item.heightDm) / 10
            case .station:
                let hold = Double(item.heightDm) / 10
                let drop = Double(item.dropDm) / 10
                guard hold > 0, drop > 0, drop < hold else {
                    refuse(i, "station needs a hold height above its floor and a shorter drop to its roof"); return
                }
                legs.append(MissionLeg(kind: .drop, target: at, roofHeightM: hold - drop, dropAltitudeM: hold,
                                       parcelID: item.parcelID))
            }
        }
        guard !legs.isEmpty else { refuse(items.count, "no pad, station or waypoint"); return }
        if !returnHome && legs[legs.count - 1].kind != .land {
            refuse(items.count - 1, "a one-way flight (origin item) must end on a pad"); return
        }
        // Targets stand on home's ground (pads: plus their own height above it).
        let groundM = home?.altM ?? 0
        for j in legs.indices { legs[j].target.altM += groundM }
        var p = MissionPlan(home: home ?? GeoPoint(latDeg: 0, lonDeg: 0), legs: legs, returnHome: returnHome)
        p.homeAtStart = home == nil
        plan = p
    }

    /// Carries out one command from dispatch on the flight; the result for its ack and, when
    /// it is not accepted, why.
    public static func execute(_ c: Command, on flight: inout Mission, nowNs: UInt64) -> (CommandResult, String) {
        switch c.kind {
        case .start:
            if flight.plan.legs.isEmpty { return (.rejected, "no mission") }
            if !flight.start(nowNs: nowNs) { return (.rejected, "a flight is under way") }
        case .pause:
            if !flight.pause() { return (.rejected, "only in transit, approach or a landing descent") }
        case .resume:
            if !flight.resume() { return (.rejected, "not paused") }
        case .abortDelivery:
            if !flight.abortDelivery() { return (.rejected, "no flight") }
        case .returnHome:
            if !flight.returnHome() { return (.rejected, "no flight, or landing now") }
        case .landNow:
            if !flight.landNow() { return (.rejected, "not flying") }
        case .setParameter:
            return (.unsupported, "parameter \(c.parameterID): parameters are set in the config file")
        }
        return (.accepted, "")
    }

    private mutating func refuse(_ index: Int, _ why: String) {
        plan = nil
        problem = "item \(index + 1): " + why
    }
}
