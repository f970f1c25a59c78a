import PlumbCore
import PlumbDevices
import PlumbFlight
import PlumbHAL

/// The drivers of one board, their poll schedules (one per bus, each tick within the
/// bus-time budget) and what changed in their health since the last tick. Generic over
/// the bus and the GPIO lines: the daemon runs it on Linux, the in-process HIL on models.
public struct DeviceRuntime<Bus: I2CBus, Input: GPIOInput, Output: GPIOOutput> {
    public enum Slot { case battery, batteryMonitor, powerMonitor, gnss, encoder, tension }

    public struct BusSchedule {
        public var bus: Bus
        var schedule: PollSchedule
        var slots: [Slot] = []
    }

    public var battery: SmartBattery<Bus>? = nil
    /// An INA226 in the battery role (a pack without a gauge).
    public var batteryMonitor: INA226<Bus>? = nil
    /// An INA226 in the power_monitor role (an extra rail).
    public var powerMonitor: INA226<Bus>? = nil
    public var gnss: UbloxGNSS<Bus>? = nil
    public var encoder: AS5600<Bus>? = nil
    public var tension: NAU7802<Bus>? = nil
    public var pwm: PCA9685<Bus>? = nil
    public var hook: SwitchInput<Input>? = nil
    public var drumHome: SwitchInput<Input>? = nil
    public var pps: Input? = nil
    public var time = GNSSTimeDiscipline()
    public var cutter: RopeCutter<Output>? = nil
    public var buses: [BusSchedule] = []
    /// Last reported health per slot, to log changes only.
    public var reported: [HealthState] = [HealthState](repeating: .stale, count: 6)

    /// Health changes since the caller last drained them (name, new state).
    public var healthChanges: [(name: String, state: HealthState)] = []
    /// What `build` decided, for the log (one line each).
    public var notes: [String] = []
    public var errors: [String] = []
    /// GNSS latency: a solution read now was true this long ago.
    public var gnssLatencyNs: UInt64 = 50_000_000
    /// SBS packs that scale current and capacity (high-current gauges report in 10 mA units).
    public var batteryScale: Double = 1

    public init() {}

    static func index(_ slot: Slot) -> Int {
        switch slot {
        case .battery: return 0
        case .batteryMonitor: return 1
        case .powerMonitor: return 2
        case .gnss: return 3
        case .encoder: return 4
        case .tension: return 5
        }
    }

    static func name(_ slot: Slot) -> String {
        switch slot {
        case .battery, .batteryMonitor: return "battery"
        case .powerMonitor: return "power_monitor"
        case .gnss: return "gnss"
        case .encoder: return "drum_encoder"
        case .tension: return "tension"
        }
    }

    /// Builds every driver the board has. Returns the runtime and the devices that
    /// could not be scheduled (a poll that can never fit the budget).
    public static func build(board: BoardDescription, buses: [Bus], config: PlumbConfig) -> DeviceRuntime {
        var rt = DeviceRuntime()
        rt.gnssLatencyNs = UInt64(config.devices.gnssLatencyMs) * 1_000_000
        rt.batteryScale = config.devices.batteryScale
        let d = config.devices
        let rate = config.loop.rateHz
        let budgetNs = UInt64(config.loop.busBudgetUs) * 1000
        for bus in buses {
            rt.buses.append(BusSchedule(bus: bus, schedule: PollSchedule(budgetNs: budgetNs)))
        }
        func period(_ kind: DeviceKind) -> Int {
            pollPeriodTicks(kind, rateHz: rate, gnssPeriodMs: d.gnssMeasurementPeriodMs, tensionSps: d.tensionSampleRateSps)
        }
        func schedule(_ slot: Slot, bus: String, periodTicks: Int, costNs: UInt64) {
            guard let i = board.buses.firstIndex(where: { $0.name == bus }) else { return }
            if rt.buses[i].schedule.add(periodTicks: UInt32(max(1, periodTicks)), costNs: costNs) != nil {
                rt.buses[i].slots.append(slot)
                rt.notes.append("\(name(slot)): polled every \(max(1, periodTicks)) tick(s), \(costNs / 1000) us of bus time")
            } else {
                rt.errors.append("\(name(slot)): one poll (\(costNs / 1000) us) does not fit the bus budget (\(budgetNs / 1000) us); not polled")
            }
        }
        for spec in board.devices {
            guard let i = board.buses.firstIndex(where: { $0.name == spec.bus }) else { continue }
            let bus = buses[i]
            switch spec.kind {
            case .sbsBattery:
                let b = SmartBattery(bus: bus, address: spec.address, wordsPerPoll: d.batteryWordsPerPoll)
                rt.battery = b
                schedule(.battery, bus: spec.bus, periodTicks: period(.sbsBattery), costNs: b.pollCostNs())
            case .ina226:
                let m = INA226(bus: bus, address: spec.address, shuntOhm: d.shuntOhm, maxCurrentA: d.maxCurrentA,
                               capacityAh: d.packCapacityAh)
                let slot: Slot = spec.role == "battery" ? .batteryMonitor : .powerMonitor
                if slot == .batteryMonitor { rt.batteryMonitor = m } else { rt.powerMonitor = m }
                schedule(slot, bus: spec.bus, periodTicks: period(.ina226), costNs: m.pollCostNs())
            case .ubloxDDC:
                let g = UbloxGNSS(bus: bus, address: spec.address, measurementPeriodMs: UInt16(d.gnssMeasurementPeriodMs),
                                  maxBytesPerPoll: d.gnssMaxBytesPerPoll)
                rt.gnss = g
                schedule(.gnss, bus: spec.bus, periodTicks: period(.ubloxDDC), costNs: g.pollCostNs())
            case .as5600:
                let e = AS5600(bus: bus, address: spec.address, drumCircumferenceM: d.drumCircumferenceM,
                               reversed: d.encoderReversed, maxDrumSpeedRevPerS: d.maxDrumSpeedRevPerS)
                rt.encoder = e
                schedule(.encoder, bus: spec.bus, periodTicks: period(.as5600), costNs: e.pollCostNs())
            case .nau7802:
                let sps = NAU7802<Bus>.SampleRate.from(sps: d.tensionSampleRateSps)
                let t = NAU7802(bus: bus, address: spec.address, rate: sps, countsPerNewton: d.tensionCountsPerNewton,
                                tareSamples: d.tensionTareSamples)
                rt.tension = t
                schedule(.tension, bus: spec.bus, periodTicks: period(.nau7802), costNs: t.pollCostNs())
            case .pca9685:
                var channels: [PCA9685<Bus>.Channel] = []
                for p in board.pwm where p.device == spec.role {
                    channels.append(PCA9685<Bus>.Channel(channel: p.channel, minPulseUs: p.minPulseUs,
                                                   maxPulseUs: p.maxPulseUs, safePulseUs: p.safePulseUs))
                }
                rt.pwm = PCA9685(bus: bus, address: spec.address, channels: channels)
            }
        }
        return rt
    }

    /// The GPIO lines by role: switches, the time pulse, the rope cutter's two lines.
    public mutating func attachLines(inputs: [Input], inputRoles: [String],
                              outputs: [Output], outputRoles: [String]) {
        for (i, role) in inputRoles.enumerated() {
            switch role {
            case "hook_latched": hook = SwitchInput(input: inputs[i])
            case "drum_home": drumHome = SwitchInput(input: inputs[i])
            case "gnss_pps": pps = inputs[i]
            default: break
            }
        }
        var arm: Output? = nil
        var fire: Output? = nil
        for (i, role) in outputRoles.enumerated() {
            if role == "cutter_arm" { arm = outputs[i] }
            if role == "cutter_fire" { fire = outputs[i] }
        }
        if let arm, let fire { cutter = RopeCutter(arm: arm, fire: fire) }
    }

    /// Runs the polls due in this tick on every bus; logs health changes.
    public mutating func tick(_ n: UInt64, nowNs: UInt64) {
        // GPIO first: no bus time. The drum-home switch re-zeroes the rope length.
        _ = hook?.poll(nowNs: nowNs)
        let homeChanged = drumHome?.poll(nowNs: nowNs) ?? false
        if homeChanged && drumHome?.stable == true { encoder?.rehome() }
        if let p = pps {
            for _ in 0..<4 {
                guard let edge = try? p.nextEdge() else { break }
                if edge.rising { time.pulse(atNs: edge.timestampNs) }
            }
        }
        cutter?.update(nowNs: nowNs)
        for b in 0..<buses.count {
            let due = buses[b].schedule.due(tick: n)
            if due == 0 { continue }
            for (i, slot) in buses[b].slots.enumerated() where due & (1 << UInt32(i)) != 0 {
                poll(slot, nowNs: nowNs)
                report(slot, nowNs: nowNs)
            }
        }
    }

    public mutating func poll(_ slot: Slot, nowNs: UInt64) {
        switch slot {
        case .battery: _ = battery?.poll(nowNs: nowNs)
        case .batteryMonitor: _ = batteryMonitor?.poll(nowNs: nowNs)
        case .powerMonitor: _ = powerMonitor?.poll(nowNs: nowNs)
        case .gnss:
            if gnss?.poll(nowNs: nowNs) == true, let g = gnss, let p = g.latest {
                time.navigation(p, readAtNs: g.latestNs)
            }
        case .encoder: _ = encoder?.poll(nowNs: nowNs)
        case .tension: _ = tension?.poll(nowNs: nowNs)
        }
    }

    public func state(_ slot: Slot, nowNs: UInt64) -> HealthState? {
        switch slot {
        case .battery: return battery?.health.state(at: nowNs)
        case .batteryMonitor: return batteryMonitor?.health.state(at: nowNs)
        case .powerMonitor: return powerMonitor?.health.state(at: nowNs)
        case .gnss: return gnss?.health.state(at: nowNs)
        case .encoder: return encoder?.health.state(at: nowNs)
        case .tension: return tension?.health.state(at: nowNs)
        }
    }

    mutating func report(_ slot: Slot, nowNs: UInt64) {
        guard let s = state(slot, nowNs: nowNs) else { return }
        let i = DeviceRuntime.index(slot)
        guard s != reported[i] else { return }
        reported[i] = s
        healthChanges.append((DeviceRuntime.name(slot), s))
    }

    /// The tick's sensor snapshot for the flight code.
    public func snapshot(nowNs: UInt64, into s: inout SensorSnapshot, lastGNSSNs: inout UInt64) {
        s.nowNs = nowNs
        if let b = battery {
            let ok = b.complete && b.health.state(at: nowNs) == .ok
            s.batteryOK = ok
            let r = b.reading
            s.batteryVoltageV = r.voltageV
            s.batteryCurrentA = -r.currentA * batteryScale
            s.batterySoCPct = Double(r.stateOfChargePct)
            s.batteryRemainingAh = r.remainingAh * batteryScale
            s.batteryFullAh = r.fullChargeAh * batteryScale
            s.batteryTemperatureC = r.temperatureC
        } else if let m = batteryMonitor, let r = m.reading {
            s.batteryOK = m.health.state(at: nowNs) == .ok
            s.batteryVoltageV = r.voltageV
            s.batteryCurrentA = -r.currentA
            s.batterySoCPct = r.stateOfChargePct
            s.batteryRemainingAh = max(0, m.capacityAh - r.consumedAh)
            s.batteryFullAh = m.capacityAh
        } else {
            s.batteryOK = false
        }
        if let g = gnss {
            s.gnssOK = g.health.state(at: nowNs) == .ok
            s.gnssNew = false
            if let p = g.latest, g.latestNs != lastGNSSNs {
                lastGNSSNs = g.latestNs
                s.gnssNew = true
                let valid = g.latestNs > gnssLatencyNs ? g.latestNs - gnssLatencyNs : 0
                s.gnss = GNSSFix(position: GeoPoint(latDeg: p.latitudeDeg, lonDeg: p.longitudeDeg, altM: p.heightM),
                                 velocity: NED(Double(p.velNMmps) * 1e-3, Double(p.velEMmps) * 1e-3, Double(p.velDMmps) * 1e-3),
                                 fixType: p.gnssFixOK ? p.fixTypeRaw : 0, carrierSolution: p.carrierSolution.rawValue,
                                 hAccM: p.hAccM, vAccM: Double(p.vAccMm) * 1e-3, satellites: Int(p.numSV), validNs: valid)
            }
        } else {
            s.gnssOK = false
        }
        if let e = encoder, let r = e.reading {
            // A length the driver is no longer sure of (counts lost in a read gap) is not used.
            s.encoderOK = e.health.state(at: nowNs) == .ok && r.lengthCertain
            s.ropeOutM = r.ropeOutM
            s.ropeSpeedMps = r.ropeSpeedMps
        } else {
            s.encoderOK = false
        }
        if let t = tension, let r = t.reading {
            s.tensionOK = t.health.state(at: nowNs) == .ok
            s.tensionN = r.tensionN
        } else {
            s.tensionOK = false
        }
        s.hookLatched = hook.flatMap { $0.health.state(at: nowNs) == .failed ? nil : $0.stable }
        s.drumHome = drumHome.flatMap { $0.health.state(at: nowNs) == .failed ? nil : $0.stable }
    }
}

extension NAU7802.SampleRate {
    public static func from(sps: Int) -> Self {
        switch sps {
        case 10: return .sps10
        case 20: return .sps20
        case 40: return .sps40
        case 320: return .sps320
        default: return .sps80
        }
    }
}
