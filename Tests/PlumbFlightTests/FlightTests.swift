import Foundation
import PlumbCore
import Testing
@testable import PlumbFlight

private let home = GeoPoint(latDeg: 43.8171, lonDeg: 125.3235, altM: 220)

@Suite struct GeodesyTests {
    @Test func offsetRoundTrips() {
        let p = home.offset(by: NED(1234.5, -678.9, -12))
        let back = home.ned(to: p)
        #expect(abs(back.n - 1234.5) < 1e-6)
        #expect(abs(back.e + 678.9) < 1e-6)
        #expect(abs(back.d + 12) < 1e-9)
    }
}

@Suite struct FrameEstimatorTests {
    /// The autopilot's frame is offset from the earth by a bias; GNSS arrives 50 ms late
    /// while the vehicle flies at 10 m/s. The latency-compensated estimate finds the
    /// bias to within centimetres; an uncompensated one would be off by ~0.5 m.
    @Test func findsTheBiasWithLatencyCompensation() {
        var f = FrameEstimator(reference: home)
        let bias = NED(3.0, -2.0, 0.5)
        let latency: UInt64 = 50_000_000
        for k in 0..<600 {
            let t = UInt64(k) * 10_000_000 + 1_000_000_000
            let truth = NED(10 * Double(k) * 0.01, 0, -30)
            f.local(truth + bias, atNs: t)
            if k % 10 == 0 && k > 10 {
                let valid = t - latency
                let truthThen = NED(10 * (Double(k) * 0.01 - 0.05), 0, -30)
                let fix = GNSSFix(position: home.offset(by: truthThen), velocity: NED(10, 0, 0), fixType: 3,
                                  carrierSolution: 2, hAccM: 0.014, vAccM: 0.02, satellites: 20, validNs: valid)
                f.gnss(fix)
            }
        }
        #expect((f.bias - bias).horizontal < 0.02)
        #expect(abs(f.bias.d - bias.d) < 0.02)
        #expect(f.fresh(nowNs: 6_900_000_000))
        #expect(!f.fresh(nowNs: 9_000_000_000))
    }

    @Test func aLoneOutlierBarelyMovesTheEstimate() {
        var f = FrameEstimator(reference: home)
        for k in 0..<100 {
            let t = UInt64(k) * 100_000_000 + 1_000_000_000
            f.local(NED(0, 0, -10), atNs: t)
            let off = k == 80 ? 20.0 : 0.0
            f.gnss(GNSSFix(position: home.offset(by: NED(off, 0, -10)), velocity: .zero, fixType: 3, carrierSolution: 2,
                           hAccM: 0.014, vAccM: 0.02, satellites: 20, validNs: t))
        }
        #expect(f.bias.horizontal < 0.05)
        #expect(f.rejected >= 1)
    }
}

/// A minimal stand-in for the vehicle and winch, enough to walk the rope-drop states.
private struct DropBench {
    var mission: Mission
    var s = SensorSnapshot()
    var ap = AutopilotView()
    var t: UInt64 = 1_000_000_000
    var ropeM = 0.0
    var releasedAt: UInt64? = nil
    var phases: [MissionPhase] = []
    /// The vehicle above its setpoint (m) and climbing (m/s): what losing the load does.
    var liftM = 0.0
    var climbMps = 0.0

    init(config base: FlightConfig = FlightConfig()) {
        var config = base
        config.autopilot = "px4"
        config.cruiseAltitudeM = 20
        let station = home.offset(by: NED(0, 0, 0))
        let plan = MissionPlan(home: home, legs: [MissionLeg(kind: .drop, target: station, roofHeightM: 3, dropAltitudeM: 12)],
                               returnHome: true)
        mission = Mission(config: config, plan: plan)
        ap.connected = true
        ap.armed = true
        ap.guided = true
        ap.landedState = 1
        ap.position = NED(0, 0, 0)
        s.batteryOK = true
        s.batterySoCPct = 90
        s.batteryRemainingAh = 27
        s.batteryFullAh = 30
        s.batteryCurrentA = 80
        s.encoderOK = true
        s.tensionOK = true
        s.hookLatched = true
        s.drumHome = true
    }

    /// One 10 ms tick; `tension` decides the load-cell reading from the rope length.
    mutating func tick(_ tension: (Double, UInt64) -> Double) -> FlightOutputs {
        t += 10_000_000
        s.nowNs = t
        ap.positionNs = t
        s.gnssNew = (t / 10_000_000) % 10 == 0
        s.gnss = GNSSFix(position: home.offset(by: ap.position), velocity: .zero, fixType: 3, carrierSolution: 2,
                         hAccM: 0.014, vAccM: 0.02, satellites: 20, validNs: t)
        s.ropeOutM = ropeM
        s.tensionN = tension(ropeM, t)
        s.drumHome = ropeM < 0.02
        let o = mission.step(s, ap)
        // A perfect vehicle: it is where it was told to be.
        if let sp = o.setpoint { ap.position = NED(sp.n, sp.e, sp.d - liftM) }
        ap.velocity = NED(0, 0, -climbMps)
        ap.landedState = ap.position.d < -0.5 ? 2 : 1
        if !o.brake { ropeM = max(0, ropeM + o.winch * 1.2 * 0.01) }
        s.ropeSpeedMps = o.brake ? 0 : o.winch * 1.2
        if o.hookOpen && releasedAt == nil { releasedAt = t }
        if phases.last != mission.phase { phases.append(mission.phase) }
        return o
    }
}

@Suite struct RopeDropTests {
    static let weight = 5 * 9.81

    @Test func releasesOnlyAfterTheParcelIsDown() {
        var b = DropBench()
        b.mission.start(nowNs: b.t)
        var floorAt = 0.0
        for _ in 0..<20_000 {
            _ = b.tick { rope, _ in
                // The parcel reaches the floor at 11.35 m of rope (12 m hold − 0.25 − 0.4).
                floorAt = 11.35
                return rope >= floorAt ? 2 : RopeDropTests.weight
            }
            if b.mission.phase == .done || b.mission.phase == .retract { break }
        }
        #expect(b.phases.contains(.lower))
        #expect(b.phases.contains(.release))
        #expect(b.releasedAt != nil)
        #expect(b.ropeM >= floorAt - 0.05)
    }

    @Test func swingAndPartialSetDownDoNotRelease() {
        var b = DropBench()
        b.mission.start(nowNs: b.t)
        var sawSettle = false
        for _ in 0..<6_000 {
            _ = b.tick { rope, t in
                // Deep swing near the bottom: tension dips to 30 % for 50 ms every 0.5 s,
                // then a partial set-down (half the weight carried by the roof's edge).
                if rope > 9.5 && rope < 10.5 {
                    return (t / 10_000_000) % 50 < 5 ? 0.3 * RopeDropTests.weight : 1.2 * RopeDropTests.weight
                }
                if rope >= 10.5 { return 0.5 * RopeDropTests.weight }
                return RopeDropTests.weight
            }
            if b.mission.phase == .settle { sawSettle = true }
        }
        #expect(b.releasedAt == nil, "a release before touchdown")
        _ = sawSettle
    }

    @Test func theRopeStaysSlackWhileTheVehicleClimbsOffItsLoad() {
        // Relieved of 5 kg the vehicle climbs: 3 m/s² up to 0.4 m/s, for a second.
        // A winch that simply stopped would lift the parcel off the floor again (and the
        // rope would bounce it); the rope must stay slack until the hook is open.
        var b = DropBench()
        b.mission.start(nowNs: b.t)
        var downAt: UInt64? = nil
        var lifted = 0
        for _ in 0..<20_000 {
            let hookReachesFloor = 11.35 + b.liftM
            if downAt == nil && b.ropeM >= hookReachesFloor { downAt = b.t }
            if let d = downAt {
                let s = Double(b.t - d) / 1e9
                let accelS = 0.4 / 3
                b.climbMps = s < accelS ? 3 * s : (s < 1 ? 0.4 : 0)
                b.liftM = s < accelS ? 1.5 * s * s : 1.5 * accelS * accelS + 0.4 * (min(s, 1) - accelS)
                if b.releasedAt == nil && b.ropeM < 11.35 + b.liftM { lifted += 1 }
            }
            let lift = b.liftM
            _ = b.tick { rope, _ in rope >= 11.35 + lift ? 2 : RopeDropTests.weight }
            if b.mission.phase == .retract { break }
        }
        #expect(downAt != nil)
        #expect(b.releasedAt != nil)
        #expect(lifted == 0, "the rope lifted the parcel for \(lifted) ticks before the release")
        #expect(b.liftM > 0.1)
        // Released while the vehicle was still climbing: the witness is the rope's end
        // standing still, not the drum.
        if let d = downAt, let r = b.releasedAt { #expect(Double(r - d) / 1e9 < 0.5) }
        #expect(b.phases.contains(.release))
        #expect(!b.phases.dropFirst(b.phases.firstIndex(of: .settle) ?? 0).contains(.lower))
    }

    @Test func noTouchdownWithinTheWindowBringsTheParcelBack() {
        var b = DropBench()
        b.mission.start(nowNs: b.t)
        for _ in 0..<8_000 {
            _ = b.tick { _, _ in RopeDropTests.weight }   // the floor never comes
            if b.mission.phase == .done || (b.mission.phase == .transit && b.phases.contains(.retract)) { break }
        }
        #expect(b.releasedAt == nil)
        #expect(b.phases.contains(.retract))
        #expect(b.mission.notDelivered == 1)
    }
}

/// Starts the mission and runs it for `ticks` ticks at home with an RTK-fixed solution and
/// the given readings (a drone on its pad, waiting for the preflight verdict).
private func onTheGround(_ m: inout Mission, _ readings: SensorSnapshot, _ view: AutopilotView, ticks: Int) {
    var s = readings
    var ap = view
    m.start(nowNs: 1_000_000_000)
    for k in 0..<ticks {
        let t = UInt64(1_000_000_000 + k * 10_000_000)
        s.nowNs = t
        ap.positionNs = t
        s.gnssNew = true
        s.gnss = GNSSFix(position: home, velocity: .zero, fixType: 3, carrierSolution: 2, hAccM: 0.01, vAccM: 0.02,
                         satellites: 20, validNs: t)
        _ = m.step(s, ap)
    }
}

@Suite struct PreflightTests {
    func run(_ config: FlightConfig, tempC: Double, targetKm: Double, soc: Double = 100, fullAh: Double = 60) -> Mission {
        let plan = MissionPlan(home: home, legs: [MissionLeg(kind: .land, target: home.offset(by: NED(targetKm * 1000, 0, 0)))])
        var m = Mission(config: config, plan: plan)
        var s = SensorSnapshot()
        s.batteryOK = true
        s.batterySoCPct = soc
        s.batteryFullAh = fullAh
        s.batteryRemainingAh = fullAh * soc / 100
        s.batteryTemperatureC = tempC
        var ap = AutopilotView()
        ap.connected = true
        ap.landedState = 1
        onTheGround(&m, s, ap, ticks: 50)
        return m
    }

    @Test func winterRadiusAndReserve() {
        let c = FlightConfig()
        let warm = run(c, tempC: 15, targetKm: 7)
        #expect(warm.phase == .arming)
        #expect(warm.reservePct == 20)
        let cold = run(c, tempC: -20, targetKm: 7)
        #expect(cold.phase == .done && cold.outcome == .aborted)
        // A −20 °C pack gives about two thirds of its capacity: 2 km out and back keeps
        // 40 % for the landing, 4.5 km (inside the winter radius) does not.
        let coldNear = run(c, tempC: -20, targetKm: 2, fullAh: 39)
        #expect(coldNear.phase == .arming)
        #expect(coldNear.reservePct == 40)
        let coldFar = run(c, tempC: -20, targetKm: 4.5, fullAh: 39)
        #expect(coldFar.outcome == .aborted)
        let coldNotFull = run(c, tempC: -20, targetKm: 2, soc: 85, fullAh: 39)
        #expect(coldNotFull.outcome == .aborted)
    }
}

@Suite struct MissionFileTests {
    @Test func readsLegsInOrderAndReportsErrorsWithPositions() throws {
        let text = """
        return_home = true
        [home]
        lat_deg = 43.8171
        lon_deg = 125.3235
        [legs.b]
        kind = "drop"
        lat_deg = 43.82
        lon_deg = 125.33
        roof_height_m = 3
        drop_altitude_m = 12
        [legs.a]
        kind = "land"
        lat_deg = 43.83
        lon_deg = 125.34
        """
        var r = ConfigReader(try TOMLDocument.parse(text))
        let plan = try #require(MissionPlan.read(&r))
        #expect(plan.legs.map(\.kind) == [.drop, .land])
        #expect(plan.legs[0].roofHeightM == 3)
        let bad = text.replacingOccurrences(of: "drop_altitude_m = 12", with: "drop_altitude_m = 3.5\nspeed = 4")
        var r2 = ConfigReader(try TOMLDocument.parse(bad))
        #expect(MissionPlan.read(&r2) == nil)
        let messages = r2.diagnostics.map { $0.formatted(file: "m.toml") }
        #expect(messages.contains { $0.hasPrefix("m.toml:10:") && $0.contains("drop_altitude_m") })
        #expect(messages.contains { $0.contains("speed") })
    }
}

@Suite struct PlanChecks {
    func preflight(_ plan: MissionPlan) -> Mission {
        var m = Mission(config: FlightConfig(), plan: plan)
        var s = SensorSnapshot()
        s.batteryOK = true
        s.batterySoCPct = 100
        s.batteryFullAh = 60
        s.batteryRemainingAh = 60
        s.encoderOK = true
        s.tensionOK = true
        s.hookLatched = true
        var ap = AutopilotView()
        ap.connected = true
        onTheGround(&m, s, ap, ticks: 20)
        return m
    }

    @Test func refusesPlansThatCannotBeFlownSafely() {
        let station = home.offset(by: NED(300, 0, 0))
        // A one-way flight that would end in the air.
        let oneWayDrop = preflight(MissionPlan(home: home, legs: [MissionLeg(kind: .drop, target: station, roofHeightM: 3)],
                                               returnHome: false))
        #expect(oneWayDrop.outcome == .aborted)
        // A hold height that does not clear the roof.
        let lowHold = preflight(MissionPlan(home: home, legs: [MissionLeg(kind: .drop, target: station, roofHeightM: 11.5)]))
        #expect(lowHold.outcome == .aborted)
        let fine = preflight(MissionPlan(home: home, legs: [MissionLeg(kind: .drop, target: station, roofHeightM: 3)]))
        #expect(fine.phase == .arming)
    }

    @Test func dispatchCannotSendAGroundedDroneOnItsWay() {
        let station = home.offset(by: NED(300, 0, 0))
        var m = Mission(config: FlightConfig(), plan: MissionPlan(home: home, legs: [MissionLeg(kind: .drop, target: station, roofHeightM: 3)]))
        m.start(nowNs: 1_000_000_000)
        m.returnHome()
        #expect(m.phase == .done && m.outcome == .aborted)
    }
}
