import PlumbCore
import Foundation
import Testing
@testable import PlumbHIL

// The world simulation: lockstep determinism, the vehicle, the battery, the GNSS errors,
// the winch with its rope and parcel, and the coupling to the board's chip models.

private let second: UInt64 = 1_000_000_000
private let millisecond: UInt64 = 1_000_000

/// A world whose vehicle starts in the air, holding `height` m above home.
private func airborne(height: Double, configure: (inout WorldConfig) -> Void = { _ in }) -> World {
    var config = WorldConfig()
    config.vehicle.startNED = Vec3(0, 0, -height)
    configure(&config)
    return World(config)
}

/// Advances in `stepMs` chunks until `done` or `limitS` more seconds have passed.
private func run(_ world: World, forS limitS: Double, everyMs: UInt64 = 10,
                 until done: (World) -> Bool = { _ in false }) {
    let end = world.timeNs + UInt64(limitS * 1e9)
    while world.timeNs < end, !done(world) {
        world.advance(toNs: min(world.timeNs + everyMs * millisecond, end))
    }
}

/// Pays out (or reels in) to `lengthM` with a proportional command, then brakes.
private func winch(_ world: World, to lengthM: Double, limitS: Double = 60) {
    world.brakeEngaged = false
    run(world, forS: limitS) { w in
        let error = lengthM - w.winch.ropeOutM
        w.winchMotorCommand = min(max(error * 3, -1), 1)
        return abs(error) < 0.005 && abs(w.winch.ropeSpeedMps) < 0.01
    }
    world.winchMotorCommand = 0
    world.brakeEngaged = true
}

@Suite struct Determinism {
    func config(seed: UInt64) -> WorldConfig {
        var c = WorldConfig()
        c.seed = seed
        c.wind.meanMps = 7
        c.wind.fromDeg = 300
        c.wind.gustMps = 5
        c.wind.gustMeanIntervalS = 5
        c.wind.turbulenceIntensity = 0.2
        c.gnss.mode = .rtkFloat
        c.site.stations = [Station(name: "S1", n: 30, e: 10)]
        return c
    }

    /// Same inputs at the same times; `chunkNs` sets how `advance` is called.
    func fly(_ world: World, chunkNs: UInt64) {
        func go(to t: UInt64) {
            while world.timeNs < t { world.advance(toNs: min(world.timeNs + chunkNs, t)) }
        }
        world.armed = true
        world.guidance = .takeoff(altitudeM: 15)
        go(to: 8 * second)
        world.guidance = .position(Vec3(30, 10, -15), velocity: .zero)
        go(to: 20 * second)
        world.brakeEngaged = false
        world.winchMotorCommand = 0.7
        go(to: 27 * second)
        world.winchMotorCommand = 0
        world.brakeEngaged = true
        go(to: 30 * second)
    }

    @Test func sameSeedSameWorldHoweverAdvanced() {
        let a = World(config(seed: 42)), b = World(config(seed: 42))
        fly(a, chunkNs: 30 * second)
        fly(b, chunkNs: 7_300_001)  // not a whole number of steps
        #expect(a.timeNs == 30 * second)
        #expect(b.timeNs == a.timeNs)
        #expect(a.positionNED == b.positionNED)
        #expect(a.velocityNED == b.velocityNED)
        #expect(a.thrustFraction == b.thrustFraction)
        #expect(a.battery == b.battery)
        #expect(a.winch == b.winch)
        #expect(a.parcel == b.parcel)
        #expect(a.gnssMeasurement() == b.gnssMeasurement())
        #expect(a.events == b.events)
        #expect(a.gnssOutputCount == b.gnssOutputCount)
        // It flew where it was told, and a different seed gives different air.
        #expect((a.positionNED - Vec3(30, 10, -15)).length < 2)
        let c = World(config(seed: 43))
        fly(c, chunkNs: 30 * second)
        #expect(c.positionNED != a.positionNED)
    }

    @Test func partialStepsDoNotAdvance() {
        let w = World(WorldConfig())
        w.advance(toNs: 400_000)
        #expect(w.timeNs == 0)
        w.advance(toNs: 2_500_000)
        #expect(w.timeNs == 2_000_000)
        w.advance(toNs: 2_999_999)
        #expect(w.timeNs == 2_000_000)
    }
}

@Suite struct Vehicle {
    @Test func hoverPowerFollowsTheModel() {
        // 18 kg airframe + 5 kg parcel on the hook = 23 kg: about 4.2 kW plus avionics.
        let w = airborne(height: 20)
        run(w, forS: 10)
        let expected = 4_200.0 + 50
        #expect(abs(w.electricalPowerW - expected) / expected < 0.03, "\(w.electricalPowerW) W")
        let hoverFraction = 23 * standardGravity / w.config.vehicle.maxThrustN
        #expect(abs(w.thrustFraction - hoverFraction) < 0.01)
        #expect(abs(w.positionNED.d + 20) < 0.05)
        // The pack delivers it: P = V·I.
        #expect(abs(w.battery.voltageV * w.battery.currentA - w.electricalPowerW) < 1)
        #expect(w.battery.currentA > 80 && w.battery.currentA < 110)
    }

    @Test func takeoffFlyAndLand() {
        let w = World(WorldConfig())
        #expect(w.onGround)
        w.armed = true
        w.guidance = .takeoff(altitudeM: 10)
        run(w, forS: 15)
        #expect(!w.onGround)
        #expect(abs(w.positionNED.d + 10) < 0.1)
        #expect(w.positionNED.horizontalLength < 0.05)
        w.guidance = .position(Vec3(40, -20, -10), velocity: .zero)
        run(w, forS: 20)
        #expect((w.positionNED - Vec3(40, -20, -10)).length < 0.2)
        w.guidance = .land(rateMps: 1.5)
        run(w, forS: 30) { $0.onGround }
        let td = w.touchdown
        #expect(td != nil)
        #expect(!w.crashed)
        #expect(abs((td?.verticalSpeedMps ?? 0) - 0.5) < 0.1)
        #expect(hypot((td?.positionNED.n ?? 0) - 40, (td?.positionNED.e ?? 0) + 20) < 0.1)
        run(w, forS: 2)
        #expect(w.thrustFraction < 0.06)
    }

    @Test func windPushesAndTheAutopilotTrimsItOut() {
        let w = airborne(height: 20) { c in
            c.wind.meanMps = 0
            c.wind.turbulenceIntensity = 0
        }
        run(w, forS: 5)
        w.schedule(.windChange(atNs: w.timeNs, meanMps: 10, fromDeg: 270))  // from the west
        var largest = 0.0
        run(w, forS: 4) { w in
            largest = max(largest, w.positionNED.e)
            return false
        }
        #expect(largest > 0.1, "\(largest)")  // blown east
        run(w, forS: 20)
        #expect(abs(w.positionNED.e) < 0.02)  // and brought back
    }

    @Test func disarmedInTheAirFalls() {
        let w = airborne(height: 10)
        run(w, forS: 1)
        w.armed = false
        run(w, forS: 5) { $0.onGround }
        #expect(w.crashed)
        #expect(w.events.contains { $0.kind == .disarmedInFlight })
        #expect(w.events.contains { $0.kind == .crash })
    }
}

@Suite struct Battery {
    func energyWh(ambientC: Double) -> Double {
        var params = BatteryParams()
        params.temperatureC = ambientC
        var pack = PackSim(params)
        var seconds = 0
        while pack.remainingAh > 0, seconds < 10_000 {
            pack.step(powerW: 3_000, dtS: 1, ambientC: ambientC)
            seconds += 1
        }
        return pack.energyWh
    }

    @Test func coldPackDeliversMarkedlyLess() {
        let warm = energyWh(ambientC: 20), cold = energyWh(ambientC: -20)
        #expect(warm > 1_100 && warm < 1_400, "\(warm) Wh")
        #expect(cold < 0.85 * warm, "cold \(cold) Wh, warm \(warm) Wh")
    }

    @Test func coldPackSagsMoreAndWarmsUp() {
        var cold = BatteryParams(), warm = BatteryParams()
        cold.temperatureC = -20
        warm.temperatureC = 20
        var a = PackSim(cold), b = PackSim(warm)
        a.step(powerW: 4_000, dtS: 0.001, ambientC: -20)
        b.step(powerW: 4_000, dtS: 0.001, ambientC: 20)
        #expect(a.voltageV < b.voltageV - 2)
        #expect(abs(a.fullChargeAh - 0.65 * 30) < 0.1)
        for _ in 0..<600 { a.step(powerW: 4_000, dtS: 1, ambientC: -20) }
        #expect(a.packC > -15)
        #expect(abs(BatteryParams().cellOCV(soc: 1) - 4.2) < 1e-9)
        #expect(abs(BatteryParams().cellOCV(soc: 0) - 3.3) < 1e-9)
    }
}

@Suite struct GNSS {
    /// Errors of every solution over `seconds` with the vehicle standing at home.
    func errors(_ mode: GNSSMode, seconds: Double = 300) -> (n: Double, e: Double, d: Double, hAcc: Double,
                                                             samples: [GNSSMeasurement]) {
        var c = WorldConfig()
        c.stepMs = 10
        c.gnss.mode = mode
        c.seed = 5
        let w = World(c)
        var samples: [GNSSMeasurement] = []
        var seen: UInt64 = 0
        run(w, forS: seconds, everyMs: 100) { w in
            if w.gnssOutputCount != seen, let m = w.gnssMeasurement() {
                seen = w.gnssOutputCount
                samples.append(m)
            }
            return false
        }
        func rms(_ f: (GNSSMeasurement) -> Double) -> Double {
            (samples.map { f($0) * f($0) }.reduce(0, +) / Double(max(samples.count, 1))).squareRoot()
        }
        let hAcc = samples.map(\.hAccM).reduce(0, +) / Double(max(samples.count, 1))
        return (rms { $0.positionNED.n }, rms { $0.positionNED.e }, rms { $0.positionNED.d }, hAcc, samples)
    }

    @Test func errorsMatchTheSolutionType() {
        let fixed = errors(.rtkFixed), float = errors(.rtkFloat), single = errors(.single)
        for axis in [fixed.n, fixed.e] { #expect(axis > 0.004 && axis < 0.04, "fixed \(axis)") }
        for axis in [float.n, float.e] { #expect(axis > 0.08 && axis < 0.8, "float \(axis)") }
        for axis in [single.n, single.e] { #expect(axis > 0.5 && axis < 5, "single \(axis)") }
        #expect(fixed.d < 0.08 && float.d < 1.5 && single.d > 0.8)
        #expect(fixed.hAcc < 0.05 && float.hAcc > 0.2 && float.hAcc < 1 && single.hAcc > 1.5)
        #expect(fixed.samples.allSatisfy { $0.carrierSolution == 2 && $0.fixType == 3 })
        #expect(float.samples.allSatisfy { $0.carrierSolution == 1 })
        #expect(single.samples.allSatisfy { $0.carrierSolution == 0 })
        // 10 Hz, 50 ms latency, on a fixed schedule.
        #expect(fixed.samples.count >= 2_990)
        for m in fixed.samples.prefix(50) {
            #expect(m.outputTimeNs % (100 * millisecond) == 0)
            #expect(m.outputTimeNs - m.measurementTimeNs == 50 * millisecond)
        }
        // Latitude and longitude agree with the NED position.
        let m = single.samples[100]
        #expect(abs((m.latDeg - 43.8171) * 111_000 - m.positionNED.n) < 2)
        #expect(abs(m.heightM - (220 - m.positionNED.d)) < 1e-6)
    }

    @Test func positionIsTheOneLatencyEarlier() {
        let w = airborne(height: 20) { $0.gnss.mode = .rtkFixed }
        w.guidance = .velocity(Vec3(5, 0, 0))
        run(w, forS: 10)
        var truthAt: [UInt64: Double] = [:]
        var measured: [GNSSMeasurement] = []
        run(w, forS: 2, everyMs: 10) { w in
            truthAt[w.timeNs] = w.positionNED.n
            if let m = w.gnssMeasurement(), m.outputTimeNs == w.timeNs { measured.append(m) }
            return false
        }
        #expect(measured.count >= 15)
        for m in measured {
            guard let truth = truthAt[m.measurementTimeNs] else { continue }
            #expect(abs(m.positionNED.n - truth) < 0.1)
            #expect(abs(m.velN - 5) < 0.1)
        }
    }

    @Test func lossAndDegradation() {
        var c = WorldConfig()
        c.stepMs = 10
        c.gnss.rtkRecoveryS = 6
        c.gnss.events = [GNSSEvent(atS: 5, durationS: 2, kind: .loss),
                         GNSSEvent(atS: 20, durationS: 3, kind: .degradeTo(.single))]
        let w = World(c)
        w.advance(toNs: 4 * second)
        #expect(w.gnssMeasurement()?.carrierSolution == 2)
        w.advance(toNs: 6 * second)
        #expect(w.gnssMeasurement() == nil)
        #expect(w.gnssOutput?.fixType == 0)
        w.advance(toNs: 7_500 * millisecond)
        #expect(w.gnssMeasurement()?.carrierSolution == 0)  // converging again: single first
        w.advance(toNs: 10 * second)
        #expect(w.gnssMeasurement()?.carrierSolution == 1)  // then float
        w.advance(toNs: 15 * second)
        #expect(w.gnssMeasurement()?.carrierSolution == 2)
        w.advance(toNs: 21 * second)
        #expect(w.gnssMode == .single)
        w.advance(toNs: 24 * second)
        #expect(w.gnssMode == .rtkFixed)
        #expect(w.events.contains { $0.kind == .gnssLoss })
        #expect(w.events.contains { $0.kind == .gnssRecovered })
    }
}

@Suite struct WinchRopeParcel {
    @Test func payoutOfTenMetresHangsTheParcelAtRest() {
        let w = airborne(height: 25)
        run(w, forS: 2)
        winch(w, to: 10)
        run(w, forS: 15)
        let truth = w.winch
        #expect(abs(truth.ropeOutM - 10) < 0.01)
        #expect(abs(truth.drumAngleRad - 10 / 0.30 * 2 * Double.pi) < 0.3)
        let weight = (5 + 0.3) * standardGravity
        #expect(abs(truth.tensionN - weight) / weight < 0.03, "\(truth.tensionN) N")
        #expect(!truth.drumHome && truth.hookLatched)
        let p = w.parcel
        #expect(p.attached && !p.stowed && !p.onGround)
        // Straight below the rope exit, 10 m of rope plus a little stretch, plus half the box.
        let below = p.positionNED.d - (w.positionNED.d - 0.6)
        #expect(abs(below - (10 + 0.15)) < 0.05)
        #expect(hypot(p.positionNED.n - w.positionNED.n, p.positionNED.e - w.positionNED.e) < 0.02)
        // The airframe carries it: the hover power is still that of 23 kg.
        #expect(abs(w.electricalPowerW - 4_250) / 4_250 < 0.03)
        // Reeling in again stows it.
        winch(w, to: 0)
        run(w, forS: 3)
        #expect(w.winch.drumHome && w.parcel.stowed)
    }

    func station(offsetN: Double = 0, windMps: Double = 3) -> World {
        airborne(height: 13) { c in
            c.site.stations = [Station(name: "S1", n: offsetN, e: 0, roofHeightM: 3, openingRadiusM: 0.4)]
            c.wind.meanMps = windMps
            c.wind.fromDeg = 270
            c.wind.turbulenceIntensity = 0
        }
    }

    /// Lowers until the parcel rests, then pays out a little slack, as a winch controller
    /// that waits for the tension to drop would.
    func lowerUntilDown(_ w: World) {
        w.brakeEngaged = false
        w.winchMotorCommand = 0.6
        run(w, forS: 60, everyMs: 5) { $0.parcel.onGround }
        run(w, forS: 0.5)
        w.winchMotorCommand = 0
        w.brakeEngaged = true
    }

    @Test func parcelLoweredIntoTheOpeningLandsInside() {
        let w = station()
        run(w, forS: 10)
        lowerUntilDown(w)
        let p = w.parcel
        #expect(p.onGround)
        #expect(p.inStation == true)
        #expect(p.station == "S1")
        #expect((p.placementErrorM ?? 1) < 0.4)
        #expect(abs(p.positionNED.d + 0.15) < 0.01)  // on the station floor
        #expect((p.touchdownSpeedMps ?? 9) < 1)
        // The rope goes slack; the hook lets go of a parcel that rests: a good release.
        run(w, forS: 2)
        #expect(w.winch.tensionN < 1)
        w.hookOpen = true
        run(w, forS: 1)
        #expect(!w.parcel.attached && !w.winch.hookLatched)
        #expect(w.parcel.releasedWhileHanging == false)
        #expect(w.events.contains { $0.kind == .parcelReleased })
    }

    @Test func parcelBesideTheOpeningStaysOnTheRoof() {
        let w = station(offsetN: 1.0, windMps: 0)
        run(w, forS: 5)
        lowerUntilDown(w)
        #expect(w.parcel.inStation == false)
        #expect(abs(w.parcel.positionNED.d + 3.15) < 0.01)
        #expect(abs((w.parcel.placementErrorM ?? 0) - 1) < 0.05)
    }

    @Test func releaseWhileHangingIsADrop() {
        let w = airborne(height: 20)
        run(w, forS: 2)
        winch(w, to: 5)
        w.hookOpen = true
        run(w, forS: 0.1)
        let p = w.parcel
        #expect(!p.attached && p.releasedWhileHanging)
        #expect(abs((p.dropHeightM ?? 0) - (20 + 0.6 - 5 - 0.3)) < 0.2)
        #expect(w.events.contains { $0.kind == .parcelDropped })
        run(w, forS: 5) { $0.parcel.onGround }
        #expect((w.parcel.touchdownSpeedMps ?? 0) > 10)
    }

    @Test func jammedHookDoesNotRelease() {
        let w = station(windMps: 0)
        run(w, forS: 5)
        lowerUntilDown(w)
        w.schedule(.hookJam(atNs: w.timeNs, jammed: true))
        run(w, forS: 0.1)
        w.hookOpen = true
        run(w, forS: 2)
        #expect(w.parcel.attached)
        #expect(w.winch.hookLatched && w.winch.hookJammed)
        #expect(w.parcel.releaseNs == nil)
        #expect(w.events.contains { $0.kind == .hookOpenedJammed })
        w.schedule(.hookJam(atNs: w.timeNs, jammed: false))
        run(w, forS: 0.1)
        #expect(!w.parcel.attached)
    }

    @Test func snagRaisesTensionWhenReelingIn() {
        let w = airborne(height: 25)
        run(w, forS: 2)
        winch(w, to: 5)
        run(w, forS: 5)
        let hanging = w.winch.tensionN
        let anchor = w.winch.hookPositionNED
        w.schedule(.ropeSnag(atNs: w.timeNs, durationS: nil))
        w.brakeEngaged = false
        w.winchMotorCommand = -1
        var peak = 0.0
        run(w, forS: 5) { w in
            peak = max(peak, w.winch.tensionN)
            return false
        }
        #expect(w.winch.snagged)
        #expect(peak > 5 * hanging, "peak \(peak) N, hanging \(hanging) N")
        #expect(peak < w.config.winch.maxLinePullN * 1.3)
        #expect(w.winch.tensionN > 0.8 * w.config.winch.maxLinePullN)
        #expect(w.winch.stalled)
        #expect(w.events.filter { $0.kind == .winchStall }.count == 1)
        // The rope end stays where it caught; the winch pulls the vehicle down toward it.
        #expect((w.winch.hookPositionNED - anchor).length < 1e-3)
        #expect(w.positionNED.d > -24.5)
        #expect(w.parcel.attached && abs(w.parcel.positionNED.d - (anchor.d + 0.15)) < 1e-3)
        // Paying out until there is half a metre of slack frees it (the vehicle climbs back
        // to its hold height meanwhile).
        w.winchMotorCommand = 1
        run(w, forS: 15) { !$0.winch.snagged }
        #expect(!w.winch.snagged)
        #expect(w.events.contains { $0.kind == .snagEnd })
    }

    @Test func cutRopeDropsTheLoad() {
        let w = airborne(height: 20)
        run(w, forS: 2)
        winch(w, to: 3)
        w.ropeCut = true
        run(w, forS: 0.05)
        #expect(w.winch.ropeGone && !w.parcel.attached && w.winch.tensionN == 0)
        #expect(w.parcel.releasedWhileHanging)
        #expect(w.events.contains { $0.kind == .ropeCut })
    }
}

@Suite struct Coupling {
    /// Writes PCA9685 registers the way a driver would: sleep, 50 Hz, wake, restart.
    func setPulse(_ pwm: PCA9685Model, channel: Int, us: Double, nowNs: UInt64) {
        _ = pwm.transfer(write: [0x00, 0x31], readCount: 0, nowNs: nowNs)     // AI + SLEEP
        _ = pwm.transfer(write: [0xFE, 121], readCount: 0, nowNs: nowNs)      // ≈ 50 Hz
        _ = pwm.transfer(write: [0x00, 0x21], readCount: 0, nowNs: nowNs)     // wake
        let counts = Int((us / 20_000 * 4096).rounded())
        let base = UInt8(0x06 + 4 * channel)
        _ = pwm.transfer(write: [base, 0, 0, UInt8(counts & 0xFF), UInt8(counts >> 8)], readCount: 0,
                         nowNs: nowNs + 1_000_000)
    }

    @Test func truthReachesTheModelsAndActuatorsReachTheWorld() {
        let w = airborne(height: 20)
        let coupling = SensorCoupling(world: w)
        run(w, forS: 1.05)
        coupling.update(nowNs: w.timeNs)
        // Battery: current in 10 mA units (a 12S pack at ~90 A), negative while discharging.
        let amps = w.battery.currentA
        #expect(Int(coupling.battery.currentMa) == -Int((amps * 100).rounded()))
        #expect(coupling.battery.cellCount == 12)
        #expect(coupling.battery.fullChargeCapacityMah > 2_800 && coupling.battery.fullChargeCapacityMah < 3_000)
        // GNSS output queued as NAV-PVT; a PPS edge at 1 s.
        #expect(coupling.gnss.bytesWaiting >= 100)
        #expect(coupling.gnssPPSLine.readEvent() == GPIOEdgeEvent(edge: .rising, timestampNs: second))
        // Hook latched (active low: the line is pulled low), drum home likewise.
        #expect(coupling.hookLatchedLine.level == false)
        #expect(coupling.drumHomeLine.level == false)
        // Undriven brake line: braked. The daemon releases it (active low: high = released).
        #expect(w.brakeEngaged)
        coupling.brakeLine.write(true, at: w.timeNs)
        setPulse(coupling.pwm, channel: 0, us: 1_750, nowNs: w.timeNs)
        coupling.update(nowNs: w.timeNs)
        #expect(!w.brakeEngaged)
        #expect(abs(w.winchMotorCommand - 0.5) < 0.02)
        run(w, forS: 2)
        coupling.update(nowNs: w.timeNs)
        #expect(w.winch.ropeOutM > 0.5)
        #expect(coupling.drumHomeLine.level == true)
        #expect(abs(coupling.encoder.angleDeg - (w.winch.drumAngleRad * 180 / Double.pi)
                        .truncatingRemainder(dividingBy: 360)) < 1e-6)
        #expect(abs(coupling.tension.forceN - w.winch.tensionN) < 1e-9)
        // Faults by name.
        #expect(coupling.inject(device: "drum_encoder", fault: "magnet_lost", on: true))
        #expect(coupling.encoder.faults.magnetLost)
        #expect(coupling.inject(device: "tension", fault: "bit_flips", on: true))
        #expect(coupling.tension.faults.bitFlipProbability == 0.01)
        #expect(!coupling.inject(device: "battery", fault: "magnet_lost", on: true))
        #expect(!coupling.inject(device: "radar", fault: "nack", on: true))
        #expect(!coupling.inject(device: "gnss", fault: "melted", on: true))
    }

    @Test func navPVTTimeFields() {
        let w = World(WorldConfig())
        let coupling = SensorCoupling(world: w)
        let fields = SensorCoupling.utcFields(unixSeconds: 1_736_964_000)
        #expect(fields.year == 2025 && fields.month == 1 && fields.day == 15 && fields.hour == 18)
        w.advance(toNs: 1 * second)
        guard let m = w.gnssMeasurement() else {
            Issue.record("no GNSS output")
            return
        }
        let pvt = coupling.navPVT(m)
        // 2025-01-15 is a Wednesday: 3 days + 18 h + 18 leap seconds into the GPS week.
        let weekSeconds: UInt32 = 3 * 86_400 + 18 * 3_600 + 18
        let expectedMs = weekSeconds * 1000 + UInt32(m.measurementTimeNs / 1_000_000)
        #expect(pvt.iTOWMs == expectedMs)
        #expect(pvt.fixType == 3 && pvt.carrSoln == 2 && pvt.gnssFixOK)
        #expect(abs(Double(pvt.latDegE7) / 1e7 - 43.8171) < 1e-5)
    }
}
