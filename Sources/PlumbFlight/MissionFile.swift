import PlumbCore

extension MissionPlan {
    /// Reads a mission file: `[home]` (lat_deg, lon_deg, alt_m), `return_home`, and one
    /// `[legs.NAME]` table per stop, in file order (kind = "land" | "drop" | "waypoint",
    /// lat_deg, lon_deg, alt_m of the ground there; drop legs: roof_height_m,
    /// drop_altitude_m; parcel_id). nil with diagnostics in `r` on any error.
    public static func read(_ r: inout ConfigReader) -> MissionPlan? {
        func point(_ prefix: String) -> GeoPoint? {
            guard let lat = r.double(prefix + ".lat_deg", in: -90...90, decimals: 9),
                  let lon = r.double(prefix + ".lon_deg", in: -180...180, decimals: 9) else { return nil }
            let alt = r.double(prefix + ".alt_m", in: -500...9000, default: 0, decimals: 3) ?? 0
            return GeoPoint(latDeg: lat, lonDeg: lon, altM: alt)
        }
        let home = point("home")
        let back = r.bool("return_home", default: true) ?? true
        var legs: [MissionLeg] = []
        let names = r.document.childTables(of: "legs")
        if names.count > 64 { r.error(table: "legs", "more than 64 legs") }
        for name in names.prefix(64) {
            let key = "legs." + name
            r.acceptTable(key)
            guard let kindName = r.choice(key + ".kind", ["land", "drop", "waypoint"]), let p = point(key) else { continue }
            let kind: MissionLeg.Kind = kindName == "land" ? .land : (kindName == "drop" ? .drop : .waypoint)
            let roof = r.double(key + ".roof_height_m", in: 0...50, default: 0) ?? 0
            let drop = r.double(key + ".drop_altitude_m", in: 0...100, default: 0) ?? 0
            if kind == .drop && drop > 0 && drop <= roof + 1 {
                r.error(key + ".drop_altitude_m", "'\(key).drop_altitude_m' must be more than a metre above the roof")
            }
            let id = r.int(key + ".parcel_id", in: 0...Int(Int32.max), default: 0) ?? 0
            legs.append(MissionLeg(kind: kind, target: p, roofHeightM: roof, dropAltitudeM: drop, parcelID: UInt32(id)))
        }
        r.reportUnknown()
        guard let home, !r.hasErrors else { return nil }
        return MissionPlan(home: home, legs: legs, returnHome: back)
    }
}
