import Foundation
import PlumbCore
import PlumbFlight
import PlumbLink
import PlumbVehicle
import Testing

private let home = GeoPoint(latDeg: 43.8171, lonDeg: 125.3235, altM: 220)

private func e7(_ d: Double) -> Int32 { Int32((d * 1e7).rounded()) }

private func item(_ kind: MissionItem.Kind, _ p: GeoPoint, heightDm: Int16 = 0, dropDm: UInt16 = 0, parcel: UInt32 = 0) -> MissionItem {
    MissionItem(kind: kind, lat1e7: e7(p.latDeg), lon1e7: e7(p.lonDeg), heightDm: heightDm, dropDm: dropDm, parcelID: parcel)
}

@Suite struct DispatchMissionTests {
    let station = home.offset(by: NED(600, 200, 0))
    let pad = home.offset(by: NED(-300, 400, 0))

    @Test func itemsBecomeThePlanTheFlightFlies() throws {
        let d = DispatchMission(items: [
            item(.home, home, heightDm: 2200),
            item(.waypoint, home.offset(by: NED(100, 0, 0))),
            item(.station, station, heightDm: 120, dropDm: 90, parcel: 7),
            item(.pad, pad, heightDm: 15, parcel: 8),
        ])
        let plan = try #require(d.plan, "refused: \(d.problem)")
        #expect(plan.returnHome && !plan.homeAtStart)
        #expect(abs(plan.home.altM - 220) < 1e-9)
        #expect(plan.legs.map(\.kind) == [.waypoint, .drop, .land])
        let drop = plan.legs[1]
        #expect(abs(drop.dropAltitudeM - 12) < 1e-9)
        #expect(abs(drop.roofHeightM - 3) < 1e-9)   // hold 12 m, 9 m down to the roof
        #expect(drop.parcelID == 7)
        #expect(abs(drop.target.altM - 220) < 1e-9)  // the floor on home's ground
        #expect(home.ned(to: drop.target).horizontal - home.ned(to: station).horizontal < 0.02)
        #expect(abs(plan.legs[2].target.altM - 221.5) < 1e-9)
        #expect(plan.legs[2].parcelID == 8)
    }

    @Test func withoutAHomeItemHomeIsTheTakeOffPoint() throws {
        let plan = try #require(DispatchMission(items: [item(.station, station, heightDm: 120, dropDm: 90)]).plan)
        #expect(plan.homeAtStart && plan.returnHome)
        // Preflight takes home from the first fix; the targets are raised to home's ground.
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
        ap.landedState = 1
        let r1 = m.start(nowNs: 1_000_000_000)
        #expect(r1)
        for k in 0..<30 {
            let t = UInt64(1_000_000_000 + k * 10_000_000)
            s.nowNs = t
            ap.positionNs = t
            s.gnssNew = true
            s.gnss = GNSSFix(position: home, velocity: .zero, fixType: 3, carrierSolution: 2, hAccM: 0.01, vAccM: 0.02,
                             satellites: 20, validNs: t)
            _ = m.step(s, ap)
        }
        #expect(m.plan.home == home)
        #expect(!m.plan.homeAtStart)
        #expect(abs(m.plan.legs[0].target.altM - 220) < 1e-9)
        #expect(m.phase == .arming)
    }

    @Test func refusesMissionsItCannotFlyAsMeant() {
        let cases: [([MissionItem], String)] = [
            ([], "no pad"),
            ([item(.station, station, heightDm: 120, dropDm: 90), item(.home, home)], "first item"),
            ([item(.home, home), item(.origin, home), item(.pad, pad)], "second home"),
            ([item(.waypoint, station, heightDm: 300), item(.pad, pad)], "waypoint height"),
            ([item(.station, station, heightDm: 120, dropDm: 120)], "shorter drop"),
            ([item(.station, station, heightDm: 0, dropDm: 0)], "hold height"),
            ([item(.origin, home), item(.station, station, heightDm: 120, dropDm: 90)], "must end on a pad"),
        ]
        for (items, why) in cases {
            let d = DispatchMission(items: items)
            #expect(d.plan == nil, "accepted: \(why)")
            #expect(d.problem.contains(why), "\(d.problem) does not say \(why)")
        }
        let oneWay = DispatchMission(items: [item(.origin, home, heightDm: 2200), item(.pad, pad)])
        #expect(oneWay.plan?.returnHome == false)
    }
}

/// A perfect vehicle flying a mission to a station 500 m north: it is where it is told to be.
private struct Flight {
    var mission: Mission
    var s = SensorSnapshot()
    var ap = AutopilotView()
    var t: UInt64 = 1_000_000_000

    init(config: FlightConfig = FlightConfig()) {
        let station = home.offset(by: NED(500, 0, 0))
        mission = Mission(config: config, plan: MissionPlan(home: home, legs: [
            MissionLeg(kind: .drop, target: station, roofHeightM: 3, dropAltitudeM: 12)]))
        ap.connected = true
        ap.landedState = 1
        s.batteryOK = true
        s.batterySoCPct = 95
        s.batteryFullAh = 60
        s.batteryRemainingAh = 57
        s.batteryCurrentA = 60
        s.encoderOK = true
        s.tensionOK = true
        s.hookLatched = true
        s.drumHome = true
        s.tensionN = 49
    }

    /// `seconds` of 10 ms ticks; the autopilot arms and flies wherever it is told.
    mutating func run(seconds: Double, heartbeat: Bool = false) {
        for _ in 0..<Int(seconds * 100) {
            t += 10_000_000
            if heartbeat && t % 1_000_000_000 == 0 { mission.dispatchHeard(nowNs: t) }
            s.nowNs = t
            ap.positionNs = t
            s.gnssNew = (t / 10_000_000) % 10 == 0
            s.gnss = GNSSFix(position: home.offset(by: ap.position), velocity: .zero, fixType: 3, carrierSolution: 2,
                             hAccM: 0.014, vAccM: 0.02, satellites: 20, validNs: t)
            let o = mission.step(s, ap)
            if case .arm? = o.command { ap.armed = true; ap.guided = true }
            if case .mode? = o.command { ap.guided = true }
            if case .takeoff(let h)? = o.command { ap.position.d = -h }
            if let sp = o.setpoint {
                // At most 12 m/s horizontally and 3 m/s vertically.
                let d = sp - ap.position
                let h = d.horizontal
                let step = min(1, 0.12 / max(h, 1e-9))
                ap.position = NED(ap.position.n + d.n * step, ap.position.e + d.e * step,
                                  ap.position.d + max(-0.03, min(0.03, d.d)))
            }
            ap.landedState = ap.position.d < -0.5 ? 2 : 1
        }
    }
}

@Suite struct DispatchCommandTests {
    @Test func pauseHoldsAndResumeCarriesOn() {
        var f = Flight()
        let r2 = f.mission.pause()
        #expect(!r2, "nothing to pause before the flight")
        let r3 = f.mission.start(nowNs: f.t)
        #expect(r3)
        let r4 = f.mission.start(nowNs: f.t)
        #expect(!r4, "a second start")
        f.run(seconds: 30)
        #expect(f.mission.phase == .transit)
        let r5 = f.mission.pause()
        #expect(r5)
        #expect(f.mission.phase == .hold)
        let held = f.ap.position
        f.run(seconds: 10)
        #expect((f.ap.position - held).horizontal < 0.01)
        #expect(f.mission.phase == .hold)
        let r6 = f.mission.resume()
        #expect(r6)
        #expect(f.mission.phase == .transit)
        let r7 = f.mission.resume()
        #expect(!r7, "not paused any more")
        f.run(seconds: 10)
        #expect((f.ap.position - held).horizontal > 50)
    }

    @Test func dispatchSilenceAppliesThePolicy() {
        var c = FlightConfig()
        c.dispatchLostPolicy = "return"
        c.dispatchLostS = 20
        // Heard every second: nothing happens.
        var heard = Flight(config: c)
        heard.mission.dispatchWatched = true
        heard.mission.start(nowNs: heard.t)
        heard.run(seconds: 40, heartbeat: true)
        #expect(heard.mission.notDelivered == 0)
        var notes: [MissionNote] = []
        while let e = heard.mission.nextEvent() { notes.append(e.note) }
        #expect(!notes.contains(.dispatchLost))
        // Silent: after 20 s the delivery is given up and the drone turns home.
        var silent = Flight(config: c)
        silent.mission.dispatchWatched = true
        silent.mission.start(nowNs: silent.t)
        silent.run(seconds: 40)
        notes = []
        while let e = silent.mission.nextEvent() { notes.append(e.note) }
        #expect(notes.contains(.dispatchLost))
        #expect(silent.mission.notDelivered == 1)
        // Not watched (no dispatch link): the same silence means nothing.
        var unwatched = Flight(config: c)
        unwatched.mission.start(nowNs: unwatched.t)
        unwatched.run(seconds: 40)
        #expect(unwatched.mission.notDelivered == 0)
    }

    @Test func theDaemonsDecisionPerCommand() {
        var f = Flight()
        var empty = Mission(config: FlightConfig(), plan: MissionPlan(home: home, legs: []))
        let r8 = DispatchMission.execute(Command(commandID: 1, kind: .start), on: &empty, nowNs: 1).0
        #expect(r8 == .rejected)
        let r9 = DispatchMission.execute(Command(commandID: 2, kind: .landNow), on: &f.mission, nowNs: 1).0
        #expect(r9 == .rejected)
        let r10 = DispatchMission.execute(Command(commandID: 3, kind: .setParameter, parameterID: 4, value: 1), on: &f.mission, nowNs: 1).0
        #expect(r10 == .unsupported)
        let r11 = DispatchMission.execute(Command(commandID: 4, kind: .start), on: &f.mission, nowNs: f.t).0
        #expect(r11 == .accepted)
        f.run(seconds: 30)
        let r12 = DispatchMission.execute(Command(commandID: 5, kind: .returnHome), on: &f.mission, nowNs: f.t).0
        #expect(r12 == .accepted)
        #expect(f.mission.notDelivered == 1)
    }
}
