import Testing
import PlumbHAL
import PlumbHIL
@testable import PlumbDevices

// Each driver runs against its chip's model (written from the datasheet, separately)
// on a simulated bus. For every fault the model can inject: the error is reported, the
// health state follows, and the driver recovers when the fault clears.

let tickNs: UInt64 = 10_000_000  // 100 Hz

/// Polls `poll` once per tick for `ticks` ticks, advancing the bus clock.
func run(_ bus: SimulatedI2CBus, ticks: Int, _ poll: (UInt64) -> Void) {
    for _ in 0..<ticks {
        bus.nowNs += tickNs
        poll(bus.nowNs)
    }
}

@Suite struct SmartBatteryAgainstModel {
    func setup() -> (SimulatedI2CBus, SmartBatteryModel, SmartBattery<SimulatedI2CBus>) {
        let bus = SimulatedI2CBus(clockHz: 100_000)
        let model = SmartBatteryModel(seed: 1, cellCount: 4)
        model.voltageMv = 15_200
        model.currentMa = -12_345
        model.averageCurrentMa = -11_000
        model.relativeStateOfChargePct = 63
        model.remainingCapacityMah = 13_860
        model.fullChargeCapacityMah = 22_000
        model.temperatureDeciK = 2531   // -20.05 °C
        model.cycleCount = 87
        model.setCells(count: 4, cellMv: 3800)
        bus.attach(model)
        return (bus, model, SmartBattery(bus: bus, wordsPerPoll: 3))
    }

    @Test func readsEveryValueWithPECAndCountsCells() {
        let (bus, model, battery) = setup()
        var b = battery
        #expect(model.sendsPEC)
        run(bus, ticks: 12) { _ = b.poll(nowNs: $0) }
        #expect(b.usesPEC)
        #expect(b.complete)
        let r = b.reading
        #expect(abs(r.voltageV - 15.2) < 1e-9)
        #expect(abs(r.currentA + 12.345) < 1e-9)
        #expect(abs(r.averageCurrentA + 11.0) < 1e-9)
        #expect(r.stateOfChargePct == 63)
        #expect(abs(r.remainingAh - 13.86) < 1e-9)
        #expect(abs(r.fullChargeAh - 22.0) < 1e-9)
        #expect(abs(r.temperatureC - (-20.05)) < 1e-9)
        #expect(r.cycleCount == 87)
        #expect(r.cellCount == 4)
        #expect(r.cellVoltagesV[0..<4].allSatisfy { abs($0 - 3.8) < 1e-9 })
        #expect(b.health.state(at: bus.nowNs) == .ok)
    }

    @Test func withoutPECWhenThePackDoesNotAdvertiseIt() {
        let (bus, model, battery) = setup()
        model.specificationInfo = 0x0021
        var b = battery
        run(bus, ticks: 3) { _ = b.poll(nowNs: $0) }
        #expect(!b.usesPEC)
        #expect(abs(b.reading.voltageV - 15.2) < 1e-9)
    }

    @Test(arguments: ["nack", "stuck", "badChecksum"])
    func busFaultsFailThenRecover(fault: String) {
        let (bus, model, battery) = setup()
        var b = battery
        run(bus, ticks: 3) { _ = b.poll(nowNs: $0) }
        switch fault {
        case "nack": model.faults.nack = true
        case "stuck": model.faults.stuckBus = true
        default: model.faults.badChecksum = true
        }
        run(bus, ticks: 3) { _ = b.poll(nowNs: $0) }
        #expect(b.health.state(at: bus.nowNs) == .failed)
        switch fault {
        case "nack": #expect(b.health.lastError == .bus(.nack(address: 0x0B)))
        case "stuck": #expect(b.health.lastError == .bus(.timeout(address: 0x0B)))
        default:
            guard case .bus(.pecMismatch(address: 0x0B, _, _)) = b.health.lastError else {
                Issue.record("expected a PEC mismatch, got \(String(describing: b.health.lastError))")
                return
            }
        }
        model.faults = ModelFaults()
        run(bus, ticks: 1) { _ = b.poll(nowNs: $0) }
        #expect(b.health.state(at: bus.nowNs) == .ok)
    }

    @Test func staleValuesAreNotMistakenForFreshOnes() {
        // A frozen gauge still answers: the driver cannot tell by itself, so the
        // reading keeps the old value and health stays ok; what it can see is that
        // the value no longer follows the model (checked by the mission's cross-checks).
        let (bus, model, battery) = setup()
        var b = battery
        run(bus, ticks: 2) { _ = b.poll(nowNs: $0) }
        model.faults.stale = true
        model.voltageMv = 14_000
        run(bus, ticks: 2) { _ = b.poll(nowNs: $0) }
        #expect(abs(b.reading.voltageV - 15.2) < 1e-9)
        model.faults.stale = false
        run(bus, ticks: 1) { _ = b.poll(nowNs: $0) }
        #expect(abs(b.reading.voltageV - 14.0) < 1e-9)
    }

    @Test func bitFlipsAreCaughtByPEC() {
        let (bus, model, battery) = setup()
        var b = battery
        model.faults.bitFlipProbability = 0.2
        var wrongVoltage = 0
        run(bus, ticks: 200) {
            if b.poll(nowNs: $0) && abs(b.reading.voltageV - 15.2) > 1e-9 { wrongVoltage += 1 }
        }
        #expect(b.health.totalErrors > 20)
        #expect(wrongVoltage == 0, "a flipped voltage passed the PEC check")
    }
}

@Suite struct INA226AgainstModel {
    @Test func configuresReadsAndCountsCharge() {
        let bus = SimulatedI2CBus(clockHz: 400_000)
        let model = INA226Model(address: 0x45, seed: 2)
        model.shuntOhms = 0.0005
        model.busVoltageV = 22.2
        model.currentA = 30
        bus.attach(model)
        var m = INA226(bus: bus, address: 0x45, shuntOhm: 0.0005, maxCurrentA: 120, capacityAh: 10)
        run(bus, ticks: 101) { _ = m.poll(nowNs: $0) }   // 1 s at 30 A
        let r = m.reading
        #expect(m.configured)
        #expect(abs((r?.voltageV ?? 0) - 22.2) < 0.01)
        #expect(abs((r?.currentA ?? 0) + 30) < 0.05)    // discharge is negative
        // 30 A for 1 s = 8.33 mAh of 10 Ah: 0.083 %.
        #expect(abs((r?.consumedAh ?? 0) - 30.0 / 3600) < 0.0005)
        #expect(abs((r?.stateOfChargePct ?? 0) - (100 - 30.0 / 3600 / 10 * 100)) < 0.01)
    }

    @Test(arguments: ["nack", "stuck"])
    func faultsFailThenRecoverWithAFreshConfiguration(fault: String) {
        let bus = SimulatedI2CBus(clockHz: 400_000)
        let model = INA226Model(address: 0x45, seed: 3)
        model.busVoltageV = 16
        bus.attach(model)
        var m = INA226(bus: bus, address: 0x45, shuntOhm: 0.0005, maxCurrentA: 120, capacityAh: 10)
        run(bus, ticks: 2) { _ = m.poll(nowNs: $0) }
        if fault == "nack" { model.faults.nack = true } else { model.faults.stuckBus = true }
        run(bus, ticks: 3) { _ = m.poll(nowNs: $0) }
        #expect(m.health.state(at: bus.nowNs) == .failed)
        #expect(!m.configured)
        model.faults = ModelFaults()
        run(bus, ticks: 2) { _ = m.poll(nowNs: $0) }
        #expect(m.configured)
        #expect(m.health.state(at: bus.nowNs) == .ok)
    }

    @Test func wrongChipIsNamed() {
        let bus = SimulatedI2CBus(clockHz: 400_000)
        bus.attach(PCA9685Model(address: 0x45, seed: 1))
        var m = INA226(bus: bus, address: 0x45, shuntOhm: 0.0005, maxCurrentA: 120, capacityAh: 10)
        run(bus, ticks: 1) { _ = m.poll(nowNs: $0) }
        guard case .wrongChip = m.health.lastError else {
            Issue.record("expected wrongChip, got \(String(describing: m.health.lastError))")
            return
        }
    }
}

@Suite struct AS5600AgainstModel {
    func setup() -> (SimulatedI2CBus, AS5600Model, AS5600<SimulatedI2CBus>) {
        let bus = SimulatedI2CBus(clockHz: 400_000)
        let model = AS5600Model(seed: 4)
        model.angleDeg = 10
        bus.attach(model)
        return (bus, model, AS5600(bus: bus, drumCircumferenceM: 0.3, maxDrumSpeedRevPerS: 8))
    }

    @Test func unwrapsTurnsIntoRopeLengthAndSpeed() {
        var (bus, model, enc) = setup()
        run(bus, ticks: 1) { _ = enc.poll(nowNs: $0) }
        // Pay out 5.5 turns at 2 rev/s (0.6 m/s of rope): 0.2 turn per tick, over 275 ms.
        for _ in 0..<28 {
            model.angleDeg += 360 * 2 * 0.01
            run(bus, ticks: 1) { _ = enc.poll(nowNs: $0) }
        }
        let r = enc.reading
        #expect(abs((r?.ropeOutM ?? 0) - 0.3 * 2 * 0.28) < 0.3 / 4096 * 3)
        #expect(abs((r?.ropeSpeedMps ?? 0) - 0.6) < 0.01)
        #expect(r?.lengthCertain == true)
        // And back in past zero.
        for _ in 0..<40 {
            model.angleDeg -= 360 * 2 * 0.01
            run(bus, ticks: 1) { _ = enc.poll(nowNs: $0) }
        }
        #expect(abs((enc.reading?.ropeOutM ?? 0) - 0.3 * 2 * (0.28 - 0.40)) < 0.001)
        #expect(enc.health.state(at: bus.nowNs) == .ok)
    }

    @Test func readGapLongerThanHalfATurnIsAnErrorAndLengthUncertainUntilRehomed() {
        var (bus, model, enc) = setup()
        run(bus, ticks: 1) { _ = enc.poll(nowNs: $0) }
        // 8 rev/s max: half a turn is 62.5 ms; skip 100 ms of reads.
        bus.nowNs += 100_000_000
        model.angleDeg += 90
        run(bus, ticks: 1) { _ = enc.poll(nowNs: $0) }
        guard case .readGapTooLong = enc.health.lastError else {
            Issue.record("expected readGapTooLong, got \(String(describing: enc.health.lastError))")
            return
        }
        #expect(enc.reading?.lengthCertain == false)
        run(bus, ticks: 1) { _ = enc.poll(nowNs: $0) }
        #expect(enc.health.state(at: bus.nowNs) == .ok)
        #expect(enc.reading?.lengthCertain == false)
        enc.rehome()
        run(bus, ticks: 1) { _ = enc.poll(nowNs: $0) }
        #expect(enc.reading?.lengthCertain == true)
        #expect(enc.reading?.ropeOutM == 0)
    }

    @Test func magnetLostIsReportedAndRecovered() {
        var (bus, model, enc) = setup()
        run(bus, ticks: 2) { _ = enc.poll(nowNs: $0) }
        model.faults.magnetLost = true
        run(bus, ticks: 3) { _ = enc.poll(nowNs: $0) }
        guard case .magnetNotDetected = enc.health.lastError else {
            Issue.record("expected magnetNotDetected, got \(String(describing: enc.health.lastError))")
            return
        }
        #expect(enc.health.state(at: bus.nowNs) == .failed)
        model.faults.magnetLost = false
        run(bus, ticks: 1) { _ = enc.poll(nowNs: $0) }
        #expect(enc.health.state(at: bus.nowNs) == .ok)
        #expect(enc.reading?.lengthCertain == false)   // turns during the loss are unknown
    }

    @Test(arguments: ["nack", "stuck", "stale"])
    func otherFaults(fault: String) {
        var (bus, model, enc) = setup()
        run(bus, ticks: 2) { _ = enc.poll(nowNs: $0) }
        switch fault {
        case "nack": model.faults.nack = true
        case "stuck": model.faults.stuckBus = true
        default: model.faults.stale = true
        }
        let before = enc.reading?.ropeOutM ?? 0
        model.angleDeg += 20
        run(bus, ticks: 3) { _ = enc.poll(nowNs: $0) }
        if fault == "stale" {
            // A frozen angle reads as a stopped drum: plausible on its own, caught only
            // by the cross-check with the motor command (flight logic).
            #expect(enc.reading?.ropeOutM == before)
        } else {
            #expect(enc.health.state(at: bus.nowNs) == .failed)
            #expect(enc.health.lastError == .bus(fault == "nack" ? .nack(address: 0x36) : .timeout(address: 0x36)))
        }
        model.faults = ModelFaults()
        run(bus, ticks: 1) { _ = enc.poll(nowNs: $0) }
        #expect(enc.health.state(at: bus.nowNs) == .ok)
        #expect(abs((enc.reading?.ropeOutM ?? 0) - (before + 0.3 * 20 / 360)) < 0.001)
    }
}

@Suite struct NAU7802AgainstModel {
    func setup() -> (SimulatedI2CBus, NAU7802Model, NAU7802<SimulatedI2CBus>) {
        let bus = SimulatedI2CBus(clockHz: 400_000)
        let model = NAU7802Model(seed: 5)
        model.countsPerNewton = 2000
        model.offsetCounts = 12_345   // an empty hook still reads something: tare removes it
        bus.attach(model)
        return (bus, model, NAU7802(bus: bus, rate: .sps80, gainCode: 7, countsPerNewton: 2000, tareSamples: 8))
    }

    @Test func startsTaresAndMeasures() {
        var (bus, model, cell) = setup()
        run(bus, ticks: 40) { _ = cell.poll(nowNs: $0) }
        #expect(cell.phase == .running)
        #expect(cell.revision & 0x0F == 0x0F)
        model.forceN = 250   // a 25 kg parcel
        run(bus, ticks: 10) { _ = cell.poll(nowNs: $0) }
        #expect(abs((cell.reading?.tensionN ?? 0) - 250) < 0.5)
        model.forceN = -3    // slack rope pushing up slightly: negative counts
        run(bus, ticks: 10) { _ = cell.poll(nowNs: $0) }
        #expect(abs((cell.reading?.tensionN ?? 0) + 3) < 0.5)
        #expect(cell.health.state(at: bus.nowNs) == .ok)
    }

    @Test func conversionNeverReadyGoesStaleThenFailedThenRecovers() {
        var (bus, model, cell) = setup()
        run(bus, ticks: 40) { _ = cell.poll(nowNs: $0) }
        model.faults.conversionNeverReady = true
        run(bus, ticks: 7) { _ = cell.poll(nowNs: $0) }
        #expect(cell.health.state(at: bus.nowNs) == .stale)
        run(bus, ticks: 20) { _ = cell.poll(nowNs: $0) }
        #expect(cell.health.lastError == .conversionTimeout)
        #expect(cell.health.state(at: bus.nowNs) == .failed)
        model.faults.conversionNeverReady = false
        run(bus, ticks: 3) { _ = cell.poll(nowNs: $0) }
        #expect(cell.health.state(at: bus.nowNs) == .ok)
    }

    @Test func calibrationErrorRestartsTheSequence() {
        var (bus, model, cell) = setup()
        model.calibrationFails = true
        run(bus, ticks: 10) { _ = cell.poll(nowNs: $0) }
        #expect(cell.health.lastError == .calibrationFailed)
        #expect(cell.phase != .running)
        model.calibrationFails = false
        run(bus, ticks: 40) { _ = cell.poll(nowNs: $0) }
        #expect(cell.phase == .running)
    }

    @Test(arguments: ["nack", "stuck", "stale"])
    func otherFaults(fault: String) {
        var (bus, model, cell) = setup()
        run(bus, ticks: 40) { _ = cell.poll(nowNs: $0) }
        switch fault {
        case "nack": model.faults.nack = true
        case "stuck": model.faults.stuckBus = true
        default: model.faults.stale = true
        }
        model.forceN = 100
        run(bus, ticks: 10) { _ = cell.poll(nowNs: $0) }
        if fault == "stale" {
            #expect(abs(cell.reading?.tensionN ?? 99) < 0.5)   // the frozen value, not 100 N
        } else {
            #expect(cell.health.state(at: bus.nowNs) == .failed)
        }
        model.faults = ModelFaults()
        run(bus, ticks: 5) { _ = cell.poll(nowNs: $0) }
        #expect(cell.health.state(at: bus.nowNs) == .ok)
        #expect(abs((cell.reading?.tensionN ?? 0) - 100) < 0.5)
    }
}

@Suite struct PCA9685AgainstModel {
    @Test func startsAtSafePulsesAndDrivesChannels() {
        let bus = SimulatedI2CBus(clockHz: 400_000)
        let model = PCA9685Model(seed: 6)
        bus.attach(model)
        var pwm = PCA9685(bus: bus, channels: [
            PCA9685<SimulatedI2CBus>.Channel(channel: 0, minPulseUs: 1000, maxPulseUs: 2000, safePulseUs: 1500),
            PCA9685<SimulatedI2CBus>.Channel(channel: 1, minPulseUs: 1000, maxPulseUs: 2000, safePulseUs: 1100),
        ])
        let started = pwm.initialize(nowNs: 0)
        #expect(started)
        #expect(abs(model.pwmFrequencyHz - 50) < 0.5)
        #expect(abs((model.pulseWidthUs(channel: 0) ?? 0) - 1500) < 6)
        #expect(abs((model.pulseWidthUs(channel: 1) ?? 0) - 1100) < 6)
        pwm.setPulse(channel: 0, us: 1800, nowNs: 1)
        #expect(abs((model.pulseWidthUs(channel: 0) ?? 0) - 1800) < 6)
        // Out of range: clamped, and reported.
        pwm.setPulse(channel: 0, us: 2600, nowNs: 2)
        #expect(abs((model.pulseWidthUs(channel: 0) ?? 0) - 2000) < 6)
        #expect(pwm.health.lastError == .pulseOutOfRange(channel: 0, us: 2600))
        let safe = pwm.applySafe(nowNs: 3)
        #expect(safe)
        #expect(abs((model.pulseWidthUs(channel: 0) ?? 0) - 1500) < 6)
    }

    @Test(arguments: ["nack", "stuck"])
    func faultsFailThenRecover(fault: String) {
        let bus = SimulatedI2CBus(clockHz: 400_000)
        let model = PCA9685Model(seed: 7)
        bus.attach(model)
        var pwm = PCA9685(bus: bus, channels: [PCA9685<SimulatedI2CBus>.Channel(channel: 0, minPulseUs: 1000, maxPulseUs: 2000, safePulseUs: 1500)])
        let started = pwm.initialize(nowNs: 0)
        #expect(started)
        if fault == "nack" { model.faults.nack = true } else { model.faults.stuckBus = true }
        for t in 1...3 { pwm.setPulse(channel: 0, us: 1600, nowNs: UInt64(t)) }
        #expect(pwm.health.state(at: 3) == .failed)
        model.faults = ModelFaults()
        let written = pwm.setPulse(channel: 0, us: 1600, nowNs: 4)
        #expect(written)
        #expect(pwm.health.state(at: 4) == .ok)
        #expect(abs((model.pulseWidthUs(channel: 0) ?? 0) - 1600) < 6)
    }
}

@Suite struct UbloxAgainstModel {
    func pvt(_ i: UInt32) -> UbloxDDCModel.NavPVT {
        var p = UbloxDDCModel.NavPVT()
        p.iTOWMs = 100_000 + i * 100
        p.latDegE7 = 438_765_432
        p.lonDegE7 = 1_253_245_678
        p.hMSLMm = 230_500
        p.fixType = 3
        p.carrSoln = 2
        p.velDMmps = 250
        return p
    }

    func setup(_ generation: UbloxDDCModel.Generation) -> (SimulatedI2CBus, UbloxDDCModel, UbloxGNSS<SimulatedI2CBus>) {
        let bus = SimulatedI2CBus(clockHz: 400_000)
        let model = UbloxDDCModel(generation: generation, seed: 8)
        bus.attach(model)
        return (bus, model, UbloxGNSS(bus: bus, measurementPeriodMs: 100, maxBytesPerPoll: 128))
    }

    /// 10 Hz navigation, polled every 5 ticks (20 Hz), as plumbd schedules it.
    func fly(_ bus: SimulatedI2CBus, _ model: UbloxDDCModel, _ g: inout UbloxGNSS<SimulatedI2CBus>, ticks: Int, start: Int = 0) {
        for t in start..<(start + ticks) {
            bus.nowNs += tickNs
            if t % 10 == 0 { model.enqueueNavPVT(pvt(UInt32(t / 10))) }
            if t % 5 == 0 { _ = g.poll(nowNs: bus.nowNs) }
        }
    }

    @Test(arguments: [UbloxDDCModel.Generation.m8, .m9, .f9])
    func detectsGenerationConfiguresAndDecodes(generation: UbloxDDCModel.Generation) {
        var (bus, model, g) = setup(generation)
        fly(bus, model, &g, ticks: 300)
        #expect(g.phase == .running)
        switch generation {
        case .m8: #expect(g.generation == .m8)
        case .m9: #expect(g.generation == .m9)
        case .f9: #expect(g.generation == .f9)
        }
        #expect(g.configAcked == (generation == .m8 ? 3 : 1))
        #expect(g.configRejected == 0)
        #expect(model.measurementRateMs == 100)
        let ids = model.configurationMessages.map { $0.id }
        #expect(ids.contains(generation == .m8 ? 0x08 : 0x8A))
        let p = g.latest
        #expect(p?.latitudeDeg == 43.8765432)
        #expect(p?.carrierSolution == .fixed)
        #expect(p?.velDMps == 0.25)
        #expect(g.health.state(at: bus.nowNs) == .ok)
    }

    @Test func pollsAreBoundedWhateverIsQueued() {
        var (bus, model, g) = setup(.m9)
        fly(bus, model, &g, ticks: 100)
        model.enqueueNoise(count: 2000)
        let before = bus.busTimeNs
        bus.nowNs += tickNs
        _ = g.poll(nowNs: bus.nowNs)
        #expect(bus.busTimeNs - before <= g.pollCostNs())
    }

    @Test func nmeaAndNoiseInTheStreamAreSkipped() {
        var (bus, model, g) = setup(.m9)
        fly(bus, model, &g, ticks: 100)
        let framesBefore = g.parser.stats.frames
        for t in 100..<300 {
            bus.nowNs += tickNs
            if t % 10 == 0 {
                model.enqueueNMEA("$GNGGA,023015.00,4352.59259,N,12519.47407,E,4,17,0.8,230.5,M,0.0,M,,*7C\r\n")
                model.enqueueNavPVT(pvt(UInt32(t / 10)))
                model.enqueueNoise(count: 7)
            }
            if t % 5 == 0 { _ = g.poll(nowNs: bus.nowNs) }
        }
        #expect(g.parser.stats.frames - framesBefore >= 19)
        #expect(g.parser.stats.nmeaSentences >= 19)
        #expect(g.latest.map { Int($0.iTOWMs) } == 102_900)
        #expect(g.health.state(at: bus.nowNs) == .ok)
    }

    @Test func badChecksumsAreCountedAndTheFixGoesStaleThenRecovers() {
        var (bus, model, g) = setup(.f9)
        fly(bus, model, &g, ticks: 100)
        model.faults.badChecksum = true
        fly(bus, model, &g, ticks: 200, start: 100)
        #expect(g.parser.stats.badChecksum >= 15)
        #expect(g.health.state(at: bus.nowNs) == .stale)   // no good fix for 2 s
        model.faults.badChecksum = false
        fly(bus, model, &g, ticks: 30, start: 300)
        #expect(g.health.state(at: bus.nowNs) == .ok)
    }

    @Test(arguments: ["nack", "stuck", "stale", "bitflips"])
    func otherFaults(fault: String) {
        var (bus, model, g) = setup(.m9)
        fly(bus, model, &g, ticks: 100)
        switch fault {
        case "nack": model.faults.nack = true
        case "stuck": model.faults.stuckBus = true
        case "stale": model.faults.stale = true
        default: model.faults.bitFlipProbability = 0.01
        }
        fly(bus, model, &g, ticks: 200, start: 100)
        switch fault {
        case "nack", "stuck":
            #expect(g.health.state(at: bus.nowNs) == .failed)
        case "stale":
            #expect(g.health.state(at: bus.nowNs) == .stale)
        default:
            // Flipped bits break checksums; what gets through is only ever a true frame.
            #expect(g.parser.stats.badChecksum > 0)
            #expect(g.latest?.latitudeDeg == 43.8765432)
        }
        model.faults = ModelFaults()
        fly(bus, model, &g, ticks: 40, start: 300)
        #expect(g.health.state(at: bus.nowNs) == .ok)
    }
}

@Suite struct ProbeIdentification {
    @Test func everyChipIsNamed() throws {
        let bus = SimulatedI2CBus(clockHz: 400_000)
        bus.attach(SmartBatteryModel(seed: 1))
        bus.attach(INA226Model(address: 0x45, seed: 1))
        bus.attach(UbloxDDCModel(seed: 1))
        bus.attach(AS5600Model(seed: 1))
        bus.attach(NAU7802Model(seed: 1))
        bus.attach(PCA9685Model(seed: 1))
        let cases: [(DeviceKind, UInt8, String)] = [
            (.sbsBattery, 0x0B, "SBS 1.1 with PEC"), (.ina226, 0x45, "INA226 (TI"), (.ubloxDDC, 0x42, "u-blox DDC"),
            (.as5600, 0x36, "AS5600"), (.nau7802, 0x2A, "NAU7802"), (.pca9685, 0x40, "PCA9685"),
        ]
        for (kind, address, name) in cases {
            let id = try identifyChip(kind, bus: bus, address: address)
            #expect(id.description.contains(name), "\(kind.name): \(id.description)")
            #expect(id.matches, "\(kind.name): \(id.description)")
        }
        // A PCA9685 where an INA226 should be is not taken for one.
        let wrong = try identifyChip(.ina226, bus: bus, address: 0x40)
        #expect(!wrong.matches)
    }
}

@Suite struct WinchIOAgainstLineModels {
    @Test func hookSwitchThroughTheLineModel() {
        let line = SimulatedInputLine(name: "hook_latched", level: true, edges: .both)
        let input = SimulatedGPIOInput(line)
        var hook = SwitchInput(input: input, debounceNs: 20_000_000)
        _ = hook.poll(nowNs: 0)
        #expect(hook.stable == true)
        line.setLevel(false, at: 1_000_000_000)          // the hook opens: parcel released
        line.pulse(at: 1_005_000_000, widthNs: 2_000_000) // a bounce
        var changedAt: UInt64? = nil
        var t: UInt64 = 1_000_000_000
        while t < 1_100_000_000 {
            t += tickNs
            if hook.poll(nowNs: t) { changedAt = t }
        }
        #expect(hook.stable == false)
        #expect(changedAt != nil)
        #expect(hook.stableSinceNs == 1_007_000_000)   // the last edge of the bounce
        input.failing = true
        for _ in 0..<3 { t += tickNs; _ = hook.poll(nowNs: t) }
        #expect(hook.health.state(at: t) == .failed)
        input.failing = false
        t += tickNs
        _ = hook.poll(nowNs: t)
        #expect(hook.health.state(at: t) == .ok)
    }

    @Test func cutterLinesRecordTheTwoStepSequence() throws {
        let armLine = SimulatedOutputLine(name: "cutter_arm"), fireLine = SimulatedOutputLine(name: "cutter_fire")
        let arm = SimulatedGPIOOutput(armLine, safeLevel: false), fire = SimulatedGPIOOutput(fireLine, safeLevel: false)
        var cutter = RopeCutter(arm: arm, fire: fire, armDelayNs: 200_000_000, armWindowNs: 5_000_000_000,
                                pulseNs: 500_000_000, minIntervalNs: 10_000_000_000)
        arm.nowNs = 1_000_000_000
        try cutter.armCutter(nowNs: arm.nowNs)
        fire.nowNs = 1_300_000_000
        try cutter.fireCutter(nowNs: fire.nowNs)
        arm.nowNs = 1_800_000_000
        fire.nowNs = 1_800_000_000
        cutter.update(nowNs: 1_800_000_000)
        #expect(armLine.writes.map { $0.level } == [true, false])
        #expect(fireLine.writes.map { $0.level } == [true, false])
        #expect(fireLine.writes[0].timeNs - armLine.writes[0].timeNs == 300_000_000)
        #expect(fireLine.writes[1].timeNs - fireLine.writes[0].timeNs == 500_000_000)
    }
}

/// Faults a driver cannot see by itself (no checksum on the chip): random bit flips and
/// frozen values. The driver must stay up and bounded, count what it can see (a STATUS
/// or CR bit that makes no sense), and read true values again once the fault clears.
@Suite struct UndetectableFaults {
    @Test func ina226BitFlipsAndStaleThenRecovery() {
        let bus = SimulatedI2CBus(clockHz: 400_000)
        let model = INA226Model(address: 0x45, seed: 21)
        model.busVoltageV = 22.2
        model.currentA = 10
        bus.attach(model)
        var m = INA226(bus: bus, address: 0x45, shuntOhm: 0.0005, maxCurrentA: 120, capacityAh: 10)
        run(bus, ticks: 5) { _ = m.poll(nowNs: $0) }
        model.faults.bitFlipProbability = 0.05
        run(bus, ticks: 200) { _ = m.poll(nowNs: $0) }
        model.faults = ModelFaults()
        model.faults.stale = true
        model.busVoltageV = 20.0
        run(bus, ticks: 5) { _ = m.poll(nowNs: $0) }
        model.faults = ModelFaults()
        run(bus, ticks: 5) { _ = m.poll(nowNs: $0) }
        #expect(m.configured)
        #expect(abs((m.reading?.voltageV ?? 0) - 20.0) < 0.01)
        #expect(abs((m.reading?.currentA ?? 0) + 10) < 0.05)
        #expect(m.health.state(at: bus.nowNs) == .ok)
    }

    @Test func as5600BitFlipsAreBoundedAndRecover() {
        let bus = SimulatedI2CBus(clockHz: 400_000)
        let model = AS5600Model(seed: 22)
        bus.attach(model)
        var enc = AS5600(bus: bus, drumCircumferenceM: 0.3, maxDrumSpeedRevPerS: 8)
        run(bus, ticks: 2) { _ = enc.poll(nowNs: $0) }
        model.faults.bitFlipProbability = 0.05
        run(bus, ticks: 200) { _ = enc.poll(nowNs: $0) }
        // A flipped MD bit reads as a lost magnet: seen and counted.
        #expect(enc.health.totalErrors > 0)
        model.faults = ModelFaults()
        run(bus, ticks: 2) { _ = enc.poll(nowNs: $0) }
        #expect(enc.health.state(at: bus.nowNs) == .ok)
        enc.rehome()
        model.angleDeg += 36
        run(bus, ticks: 1) { _ = enc.poll(nowNs: $0) }
        #expect(abs((enc.reading?.ropeOutM ?? 0) - 0.03) < 0.001)
        #expect(enc.reading?.lengthCertain == true)
    }

    @Test func nau7802BitFlipsAreBoundedAndRecover() {
        let bus = SimulatedI2CBus(clockHz: 400_000)
        let model = NAU7802Model(seed: 23)
        model.countsPerNewton = 2000
        bus.attach(model)
        var cell = NAU7802(bus: bus, rate: .sps80, gainCode: 7, countsPerNewton: 2000, tareSamples: 8)
        run(bus, ticks: 40) { _ = cell.poll(nowNs: $0) }
        model.forceN = 120
        model.faults.bitFlipProbability = 0.05
        run(bus, ticks: 200) { _ = cell.poll(nowNs: $0) }
        model.faults = ModelFaults()
        run(bus, ticks: 60) { _ = cell.poll(nowNs: $0) }
        #expect(cell.health.state(at: bus.nowNs) == .ok)
        // A flip during power-up or calibration may have restarted the sequence and
        // re-tared under load; re-tare with the hook empty, as the field procedure says.
        if cell.phase == .running && abs((cell.reading?.tensionN ?? 0) - 120) > 0.5 {
            model.forceN = 0
            cell.restart()
            run(bus, ticks: 40) { _ = cell.poll(nowNs: $0) }
            model.forceN = 120
            run(bus, ticks: 10) { _ = cell.poll(nowNs: $0) }
        }
        #expect(abs((cell.reading?.tensionN ?? 0) - 120) < 0.5)
    }
}
