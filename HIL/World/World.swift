// The world the drone flies in: the vehicle as its autopilot flies it, the wind, the
// battery, the GNSS receiver, the winch with its elastic rope and the parcel, the ground,
// the pads and the stations. Lockstep and seeded: the same configuration, the same inputs
// at the same times and the same seed give the same world, bit for bit.
//
// Integration is semi-implicit Euler at a fixed step; step boundaries are whole multiples
// of the step from time 0, so how `advance` is called (one long call or many short ones)
// never changes the result.

import PlumbCore
import Foundation

public final class World {
    public let config: WorldConfig
    /// Simulation time (ns): always a whole number of steps.
    public private(set) var timeNs: UInt64 = 0
    /// What has happened, oldest first.
    public private(set) var events: [WorldEventRecord] = []

    // MARK: Inputs

    /// Whether the motors may run. Disarming in the air drops the vehicle.
    public var armed: Bool {
        didSet {
            if oldValue, !armed, !onGround, !crashed {
                log(.disarmedInFlight, "disarmed in flight at \(format(-p.d)) m")
            }
        }
    }

    /// What the autopilot makes the airframe do.
    public var guidance: Guidance {
        didSet { if !Self.sameKind(oldValue, guidance) { captureHold() } }
    }

    /// Winch motor command, −1…1 (positive pays out). Ignored while the brake is engaged.
    public var winchMotorCommand = 0.0
    /// The drum brake (holds the drum; the motor command is ignored).
    public var brakeEngaged = true
    /// The hook servo's position: open lets the parcel go (unless the hook is jammed).
    public var hookOpen = false
    /// Set to cut the rope (one-way: clearing it afterwards changes nothing).
    public var ropeCut = false

    // MARK: Vehicle state

    private var p: Vec3
    private var v: Vec3
    private var acceleration = Vec3.zero
    /// The autopilot's estimate of steady external acceleration (drag, load), trimmed out.
    private var disturbance = Vec3.zero
    private var lastControlAccel = Vec3.zero
    /// The velocity demand after the autopilot's acceleration limit (its trajectory shaping).
    private var shapedVelocity = Vec3.zero
    private var holdPosition = Vec3.zero
    public private(set) var onGround: Bool
    public private(set) var crashed = false
    public private(set) var thrustFraction = 0.0
    /// Thrust (N) and electrical power (W) now.
    public private(set) var thrustN = 0.0
    public private(set) var electricalPowerW = 0.0
    /// The last time the vehicle reached the ground.
    public private(set) var touchdown: VehicleTouchdown?
    /// The wind now (NED, m/s, where the air goes).
    public var windNED: Vec3 { wind.velocity }

    public var positionNED: Vec3 { p }
    public var velocityNED: Vec3 { v }
    public var accelerationNED: Vec3 { acceleration }
    /// Height of the vehicle above the surface below it (m).
    public var heightAboveGroundM: Double { groundD(n: p.n, e: p.e) - p.d }

    // MARK: Winch, rope, parcel state

    private var ropeOut = 0.0
    private var ropeSpeed = 0.0
    private var ropeTension = 0.0
    private var loadCellN = 0.0
    private var ropeForceOnVehicle = Vec3.zero
    private var ropeGone = false
    private var stalled = false
    private var lastStallNs: UInt64?
    private var hookJammed = false
    private var hookOpenSeen = false
    private var snagged = false
    private var snagAnchor = Vec3.zero
    private var snagUntilNs: UInt64 = .max
    private var hookPosition = Vec3.zero
    private var hookLatchedChangedNs: UInt64 = 0
    private var drumHomeChangedNs: UInt64 = 0
    private var lastHookLatched: Bool
    private var lastDrumHome = true

    private var parcelExists: Bool
    private var parcelParams: ParcelParams
    private var parcelAttached: Bool
    private var parcelStowed: Bool
    private var q = Vec3.zero
    private var qv = Vec3.zero
    private var parcelOnGround = false
    private var shaftStation = -1
    private var parcelRecord = ParcelRecord()

    private struct ParcelRecord {
        var inStation: Bool?
        var station: String?
        var placementErrorM: Double?
        var touchdownSpeedMps: Double?
        var touchdownNs: UInt64?
        var releaseNs: UInt64?
        var releasedWhileHanging = false
        var dropHeightM: Double?
    }

    // MARK: Subsystems and constants

    private var wind: WindSim
    private var pack: PackSim
    private var gnss: GNSSSim
    private var batteryExhaustedLogged = false
    private var pending: [WorldEvent] = []
    private var nextPending = 0
    private var stepIndex: UInt64 = 0
    private let stepNs: UInt64
    private let dt: Double
    private let gravity = Vec3(0, 0, standardGravity)
    private let airDensity: Double
    private let hoverK: Double
    private let maxThrust: Double
    private let tiltTan: Double
    private let pads: [(n: Double, e: Double, d: Double, r: Double)]
    /// Station geometry for the hot paths (names stay in the config).
    private let stations: [(n: Double, e: Double, roofD: Double, opening: Double, roof: Double)]

    // MARK: Init

    public init(_ config: WorldConfig) {
        self.config = config
        let stepNs = max(UInt64((config.stepMs * 1e6).rounded()), 1_000)
        self.stepNs = stepNs
        dt = Double(stepNs) / 1e9
        let kelvin = config.battery.temperatureC + 273.15
        airDensity = 101_325 * exp(-config.site.homeAltM / 8_434) / (287.05 * kelvin)
        hoverK = config.vehicle.hoverPowerCoefficient
        maxThrust = config.vehicle.maxThrustN
        tiltTan = tan(min(max(config.vehicle.maxTiltDeg, 5), 70) * Double.pi / 180)
        pads = config.site.pads.compactMap { pad in pad.d.map { (pad.n, pad.e, $0, pad.radiusM) } }
        stations = config.site.stations.map { ($0.n, $0.e, -$0.roofHeightM, $0.openingRadiusM, $0.roofRadiusM) }
        wind = WindSim(config.wind, seed: config.seed, dtS: dt)
        pack = PackSim(config.battery)
        gnss = GNSSSim(config.gnss, site: config.site, stepNs: stepNs, seed: config.seed)

        parcelParams = config.parcel
        parcelExists = config.parcel.present && config.parcel.massKg > 0
        parcelAttached = parcelExists
        parcelStowed = parcelExists
        lastHookLatched = parcelExists

        // Where the vehicle starts: landed, or in the air holding there.
        var start = config.vehicle.startNED
        p = start
        v = .zero
        onGround = true
        armed = false
        guidance = .idle
        let ground = groundD(n: start.n, e: start.e)
        if start.d >= ground - 0.05 {
            start.d = ground
            p = start
        } else {
            onGround = false
            armed = true
            guidance = .position(start, velocity: .zero)
        }
        holdPosition = p
        if parcelExists {
            q = ropeExit + Vec3(0, 0, parcelParams.sizeM / 2)
            qv = v
        }
        hookPosition = ropeExit
        for g in config.wind.gusts {
            schedule(.gust(atNs: Self.ns(g.atS), durationS: g.durationS, peakMps: g.peakMps, fromDeg: g.fromDeg))
        }
        for e in config.gnss.events {
            switch e.kind {
            case .loss: schedule(.gnssLoss(atNs: Self.ns(e.atS), durationS: e.durationS))
            case .degradeTo(let mode): schedule(.gnssMode(atNs: Self.ns(e.atS), mode: mode, durationS: e.durationS))
            }
        }
        for e in config.events { schedule(e) }
        events.reserveCapacity(256)
        gnss.record(stepIndex: 0, position: p, velocity: v)
        refreshHoverThrust()
    }

    private static func ns(_ seconds: Double) -> UInt64 { UInt64(max(seconds, 0) * 1e9) }

    // MARK: Public API

    /// Schedules an event; one in the past takes effect at the next step. Events at the same
    /// time take effect in the order they were scheduled.
    public func schedule(_ event: WorldEvent) {
        var i = pending.count
        while i > nextPending, pending[i - 1].atNs > event.atNs { i -= 1 }
        pending.insert(event, at: i)
    }

    /// Integrates whole steps up to `toNs` (the last step ends at or before it).
    public func advance(toNs target: UInt64) {
        while target >= timeNs && target - timeNs >= stepNs { step() }
    }

    /// The receiver's latest solution with a fix; nil before the first and during a loss.
    public func gnssMeasurement() -> GNSSMeasurement? {
        guard let m = gnss.latest, m.hasFix else { return nil }
        return m
    }

    /// The receiver's latest output, with or without a fix (fixType 0 during a loss).
    public var gnssOutput: GNSSMeasurement? { gnss.latest }
    /// Number of outputs so far: a new output increments it.
    public var gnssOutputCount: UInt64 { gnss.outputCount }
    /// The solution type now; nil during a loss.
    public var gnssMode: GNSSMode? { gnss.inLoss(at: timeNs) ? nil : gnss.mode(at: timeNs) }

    public var battery: BatteryTruth {
        BatteryTruth(voltageV: pack.voltageV, currentA: pack.currentA, socFraction: pack.soc,
                     remainingAh: pack.remainingAh, fullChargeAh: pack.fullChargeAh,
                     temperatureC: pack.packC, cellVoltageV: pack.voltageV / Double(max(config.battery.cells, 1)),
                     openCircuitV: pack.openCircuitV, resistanceOhm: pack.resistanceOhm,
                     powerW: pack.powerW, energyDeliveredWh: pack.energyWh, usedAh: pack.usedAh)
    }

    public var winch: WinchTruth {
        WinchTruth(ropeOutM: ropeOut, ropeSpeedMps: ropeSpeed,
                   drumAngleRad: ropeOut / config.winch.drumCircumferenceM * 2 * Double.pi,
                   tensionN: loadCellN, ropeTensionN: ropeTension, hookLatched: hookLatched,
                   drumHome: drumHome, snagged: snagged, brakeEngaged: brakeEngaged, stalled: stalled,
                   ropeGone: ropeGone, hookJammed: hookJammed, hookPositionNED: hookPosition,
                   hookLatchedChangedNs: hookLatchedChangedNs, drumHomeChangedNs: drumHomeChangedNs)
    }

    public var parcel: ParcelTruth {
        ParcelTruth(exists: parcelExists, positionNED: q, velocityNED: qv, attached: parcelAttached,
                    stowed: parcelAttached && parcelStowed, onGround: parcelOnGround,
                    inStation: parcelRecord.inStation, station: parcelRecord.station,
                    placementErrorM: parcelRecord.placementErrorM,
                    touchdownSpeedMps: parcelRecord.touchdownSpeedMps, touchdownNs: parcelRecord.touchdownNs,
                    releaseNs: parcelRecord.releaseNs, releasedWhileHanging: parcelRecord.releasedWhileHanging,
                    dropHeightM: parcelRecord.dropHeightM)
    }

    /// Hangs a new parcel on the hook (a ground crew loading the drone): only with the rope
    /// in and intact and the hook empty and closed. Returns whether it was loaded.
    @discardableResult
    public func loadParcel(_ parcel: ParcelParams) -> Bool {
        guard !ropeGone, !parcelAttached, !hookOpen, ropeOut <= config.winch.stowedBelowM, parcel.massKg > 0 else {
            return false
        }
        parcelParams = parcel
        parcelExists = true
        parcelAttached = true
        parcelStowed = true
        parcelOnGround = false
        shaftStation = -1
        parcelRecord = ParcelRecord()
        q = ropeExit + Vec3(0, 0, parcel.sizeM / 2)
        qv = v
        changeVehicleMass(from: config.vehicle.emptyMassKg, to: vehicleMass)
        return true
    }

    /// The surface under (n, e) for the vehicle: the ground, a raised pad or a station roof (NED d).
    public func groundD(n: Double, e: Double) -> Double {
        var g = 0.0
        for pad in pads where hypot(n - pad.n, e - pad.e) <= pad.r { g = min(g, pad.d) }
        for s in stations where hypot(n - s.n, e - s.e) <= s.roof { g = min(g, s.roofD) }
        return g
    }

    // MARK: Derived state

    private var hookLatched: Bool { parcelAttached && !ropeGone }
    private var drumHome: Bool { ropeOut < 0.02 }
    private var ropeExit: Vec3 { p + Vec3(0, 0, -config.vehicle.ropeExitHeightM) }
    private var vehicleMass: Double {
        config.vehicle.emptyMassKg + (parcelAttached && parcelStowed && !ropeGone ? parcelParams.massKg : 0)
    }

    private func log(_ kind: WorldEventRecord.Kind, _ text: String) {
        events.append(WorldEventRecord(timeNs: timeNs, kind: kind, text: text))
    }

    private func format(_ x: Double) -> String { String(format: "%.2f", x) }

    private static func sameKind(_ a: Guidance, _ b: Guidance) -> Bool {
        switch (a, b) {
        case (.idle, .idle), (.position, .position), (.velocity, .velocity), (.takeoff, .takeoff), (.land, .land):
            return true
        default:
            return false
        }
    }

    private func captureHold() { holdPosition = p }

    private func refreshHoverThrust() {
        guard armed, !crashed else { return }
        let weight = vehicleMass * standardGravity
        thrustN = onGround ? config.vehicle.idleThrustFraction * maxThrust : weight
        thrustFraction = min(thrustN / maxThrust, 1)
    }

    // MARK: One step

    private func step() {
        let now = timeNs
        applyDueEvents(now: now)
        let w = wind.step(nowNs: now)

        updateHookAndRope(now: now)
        computeRopeForces()
        stepVehicle(wind: w)
        stepParcel(wind: w)
        stepWinch()

        let rotorPower = rotorPowerW(wind: w)
        electricalPowerW = rotorPower + config.vehicle.avionicsPowerW + winchPowerW()
        pack.step(powerW: electricalPowerW, dtS: dt, ambientC: config.battery.temperatureC)
        if !batteryExhaustedLogged, pack.remainingAh <= 0 {
            batteryExhaustedLogged = true
            log(.batteryExhausted, "battery exhausted")
        }

        stepIndex += 1
        timeNs = stepIndex * stepNs
        gnss.record(stepIndex: stepIndex, position: p, velocity: v)
        if timeNs >= gnss.nextOutputNs {
            switch gnss.refresh(at: timeNs) {
            case .lossEnded: log(.gnssRecovered, "GNSS fix regained")
            case .overrideEnded: log(.gnssMode, "GNSS solution back to \(gnss.mode(at: timeNs))")
            case .none: break
            }
            _ = gnss.produce(at: timeNs, stepIndex: stepIndex)
        }
        let latched = hookLatched
        if latched != lastHookLatched {
            lastHookLatched = latched
            hookLatchedChangedNs = timeNs
        }
        let home = drumHome
        if home != lastDrumHome {
            lastDrumHome = home
            drumHomeChangedNs = timeNs
        }
    }

    private func applyDueEvents(now: UInt64) {
        while nextPending < pending.count, pending[nextPending].atNs <= now {
            let event = pending[nextPending]
            nextPending += 1
            apply(event, now: now)
        }
        if nextPending > 64, nextPending == pending.count {
            pending.removeAll(keepingCapacity: true)
            nextPending = 0
        }
    }

    private func apply(_ event: WorldEvent, now: UInt64) {
        switch event {
        case let .gust(at, duration, peak, from):
            wind.addGust(atNs: max(at, now), durationS: duration, peakMps: peak, fromDeg: from)
            log(.gust, "gust \(format(peak)) m/s from \(format(from))° for \(format(duration)) s")
        case let .gnssLoss(_, duration):
            gnss.startLoss(at: now, durationS: duration)
            log(.gnssLoss, duration.map { "GNSS fix lost for \(format($0)) s" } ?? "GNSS fix lost")
        case let .gnssMode(_, mode, duration):
            gnss.setMode(mode, at: now, durationS: duration)
            log(.gnssMode, "GNSS solution \(mode)" + (duration.map { " for \(format($0)) s" } ?? ""))
        case let .ropeSnag(_, duration):
            startSnag(now: now, durationS: duration)
        case let .hookJam(_, jammed):
            hookJammed = jammed
            log(jammed ? .hookJammed : .hookFreed, jammed ? "hook jammed" : "hook free")
        case let .windChange(_, mean, from):
            wind.setMean(speedMps: mean, fromDeg: from)
            log(.windChange, "wind \(format(mean)) m/s from \(format(from))°")
        }
    }

    // MARK: Hook, snag, rope

    private func startSnag(now: UInt64, durationS: Double?) {
        guard !ropeGone, ropeOut > config.winch.stowedBelowM, !snagged else {
            log(.snagStart, "rope snag ignored (rope in, gone or already snagged)")
            return
        }
        snagged = true
        snagAnchor = parcelAttached ? q + Vec3(0, 0, -parcelParams.sizeM / 2) : hookPosition
        snagUntilNs = durationS.map { now + UInt64(max($0, 0) * 1e9) } ?? .max
        if parcelAttached { qv = .zero }
        log(.snagStart, "rope snagged at \(format(ropeOut)) m out")
    }

    private func endSnag(_ why: String) {
        snagged = false
        log(.snagEnd, "rope snag ended: \(why)")
    }

    /// Lets the parcel go (hook, cut or parted rope); records whether it was resting.
    private func detachParcel(_ kind: WorldEventRecord.Kind, _ how: String) {
        guard parcelAttached else { return }
        let massBefore = vehicleMass
        let wasStowed = parcelStowed
        parcelAttached = false
        parcelStowed = false
        parcelRecord.releaseNs = timeNs
        if wasStowed {
            q = ropeExit + Vec3(0, 0, parcelParams.sizeM / 2)
            qv = v
            changeVehicleMass(from: massBefore, to: vehicleMass)
        }
        if wasStowed, onGround {
            // Landed with the parcel stowed: it sits between the legs and is set down.
            let half = parcelParams.sizeM / 2
            q.d = parcelSurfaceBelow(n: q.n, e: q.e, bottom: q.d + half) - half
            qv = .zero
            parcelOnGround = true
        }
        if parcelOnGround {
            parcelRecord.releasedWhileHanging = false
            parcelRecord.dropHeightM = nil
            log(kind, "parcel \(how) on the ground")
        } else {
            let bottom = q.d + parcelParams.sizeM / 2
            let height = parcelSurfaceBelow(n: q.n, e: q.e, bottom: bottom) - bottom
            parcelRecord.releasedWhileHanging = true
            parcelRecord.dropHeightM = height
            log(kind == .parcelReleased ? .parcelDropped : kind,
                "parcel \(how) while hanging \(format(height)) m above the surface")
        }
    }

    private func updateHookAndRope(now: UInt64) {
        if ropeCut, !ropeGone {
            ropeGone = true
            if snagged { endSnag("rope cut") }
            log(.ropeCut, "rope cut at \(format(ropeOut)) m out")
            detachParcel(.ropeCut, "fell with the cut rope")
        }
        if hookOpen, !hookOpenSeen, hookJammed, parcelAttached {
            log(.hookOpenedJammed, "hook commanded open but jammed")
        }
        hookOpenSeen = hookOpen
        if hookOpen, !hookJammed, parcelAttached, !ropeGone {
            detachParcel(.parcelReleased, "released")
        }
        if snagged {
            if now >= snagUntilNs {
                endSnag("time")
            } else if ropeOut >= (snagAnchor - ropeExit).length + 0.5 {
                endSnag("0.5 m of slack")
            }
        }
        // Stowed parcel leaves the exit as rope pays out; a hanging one is drawn up to it.
        let stowLimit = config.winch.stowedBelowM
        if parcelAttached, !ropeGone {
            if parcelStowed, ropeOut > stowLimit {
                let massBefore = vehicleMass
                parcelStowed = false
                let k = ropeStiffness(length: ropeOut, mass: min(parcelParams.massKg, config.vehicle.emptyMassKg))
                q = ropeExit + Vec3(0, 0, ropeOut + parcelParams.sizeM / 2 + parcelParams.massKg * standardGravity / k)
                qv = v + Vec3(0, 0, ropeSpeed)
                changeVehicleMass(from: massBefore, to: vehicleMass)
                log(.parcelPaidOut, "parcel leaves the rope exit")
            } else if !parcelStowed, !snagged, !parcelOnGround, ropeOut <= stowLimit {
                let massBefore = vehicleMass
                parcelStowed = true
                changeVehicleMass(from: massBefore, to: vehicleMass)
                log(.parcelStowed, "parcel drawn up to the rope exit")
            }
        }
        if parcelAttached, parcelStowed {
            q = ropeExit + Vec3(0, 0, parcelParams.sizeM / 2)
            qv = v
        }
    }

    /// Spring rate of `length` of rope (N/m), bounded so the step stays stable for `mass`.
    private func ropeStiffness(length: Double, mass: Double) -> Double {
        let k = config.rope.axialStiffnessN / max(length, 0.05)
        let bound = mass * (0.5 / dt) * (0.5 / dt)
        return min(k, bound)
    }

    private func computeRopeForces() {
        ropeForceOnVehicle = .zero
        ropeTension = 0
        let hookWeight = config.winch.hookMassKg * standardGravity
        let exit = ropeExit
        if ropeGone {
            loadCellN = 0
            hookPosition = exit
            return
        }
        if parcelAttached, parcelStowed {
            hookPosition = exit
            loadCellN = (parcelParams.massKg + config.winch.hookMassKg) * standardGravity
            return
        }
        let end: Vec3
        let endVelocity: Vec3
        let loadMass: Double
        if snagged {
            end = snagAnchor
            endVelocity = .zero
            loadMass = vehicleMass
        } else if parcelAttached {
            end = q + Vec3(0, 0, -parcelParams.sizeM / 2)
            endVelocity = qv
            loadMass = min(parcelParams.massKg, vehicleMass)
        } else {
            // Empty hook: hangs straight below the exit, or lies on the surface.
            let below = groundD(n: exit.n, e: exit.e) - exit.d
            let hanging = ropeOut < below
            hookPosition = exit + Vec3(0, 0, min(ropeOut, max(below, 0)))
            loadCellN = hanging ? hookWeight : 0
            return
        }
        hookPosition = end
        let delta = end - exit
        let distance = delta.length
        let stretch = distance - ropeOut
        if stretch > 0, distance > 1e-9 {
            let u = delta * (1 / distance)
            let k = ropeStiffness(length: ropeOut, mass: loadMass)
            let c = 2 * config.rope.dampingRatio * (k * loadMass).squareRoot()
            let rel = endVelocity - v
            let stretchRate = u.n * rel.n + u.e * rel.e + u.d * rel.d - ropeSpeed
            ropeTension = max(k * stretch + c * stretchRate, 0)
            ropeForceOnVehicle = u * ropeTension
        }
        if snagged {
            loadCellN = ropeTension
        } else {
            loadCellN = ropeTension + (ropeTension > 0 || !parcelOnGround ? hookWeight : 0)
        }
        if ropeTension > config.rope.breakingStrengthN {
            ropeGone = true
            ropeTension = 0
            loadCellN = 0
            ropeForceOnVehicle = .zero
            log(.ropeParted, "rope parted")
            if snagged { endSnag("rope parted") }
            detachParcel(.ropeParted, "fell with the parted rope")
        }
    }

    /// Keeps the thrust continuous when the mass the airframe carries changes (a parcel
    /// stowed, paid out or dropped): the autopilot's trim carries over, and the rope force
    /// or the lighter airframe then shows up as the disturbance it trims out.
    private func changeVehicleMass(from before: Double, to after: Double) {
        guard before != after, after > 0 else { return }
        let demand = lastControlAccel - gravity
        let specific = (lastControlAccel - disturbance - gravity) * (before / after)
        disturbance = demand - specific
    }

    // MARK: Vehicle

    private func stepVehicle(wind w: Vec3) {
        let vp = config.vehicle
        let m = vehicleMass
        if crashed {
            v = .zero
            acceleration = .zero
            thrustN = 0
            thrustFraction = 0
            return
        }
        let relative = v - w
        let dynamic = 0.5 * airDensity * relative.length
        let drag = Vec3(-dynamic * vp.dragAreaHorizontalM2 * relative.n, -dynamic * vp.dragAreaHorizontalM2 * relative.e,
                        -dynamic * vp.dragAreaVerticalM2 * relative.d)
        let external = drag + ropeForceOnVehicle

        // On the ground and asked to climb, the motors spool up; the vehicle leaves the ground
        // once the thrust lifts it.
        var spoolingUp = false
        if onGround {
            let demand = armed ? velocityDemand() : .zero
            if armed, demand.d < -0.1 {
                spoolingUp = true
            } else {
                v = .zero
                acceleration = .zero
                disturbance = .zero
                lastControlAccel = .zero
                shapedVelocity = .zero
                let idle = armed ? vp.idleThrustFraction * maxThrust : 0
                thrustN += (idle - thrustN) * min(dt / 0.3, 1)
                thrustFraction = min(thrustN / maxThrust, 1)
                return
            }
        }

        var thrust = Vec3.zero
        if armed {
            // The demand moves at most at the acceleration limit; the vehicle tracks it with a
            // first-order lag, and that feedback answers disturbances with whatever thrust and
            // tilt allow.
            let maxChange = vp.maxAccelMps2 * dt
            var change = velocityDemand() - shapedVelocity
            let ch = change.horizontalLength
            if ch > maxChange {
                change.n *= maxChange / ch
                change.e *= maxChange / ch
            }
            change.d = min(max(change.d, -maxChange), maxChange)
            shapedVelocity += change
            let a = (shapedVelocity - v) * (1 / max(vp.velocityLagS, 0.01))
            lastControlAccel = a
            var specific = a - disturbance - gravity
            specific.d = min(specific.d, 0)
            let horizontal = specific.horizontalLength
            let horizontalLimit = -specific.d * tiltTan
            if horizontal > horizontalLimit {
                let s = horizontal > 0 ? horizontalLimit / horizontal : 0
                specific.n *= s
                specific.e *= s
            }
            thrust = specific * m
            let magnitude = thrust.length
            if magnitude > maxThrust { thrust = thrust * (maxThrust / magnitude) }
            disturbance += (external * (1 / m) - disturbance) * min(dt / max(vp.disturbanceRejectionS, 0.05), 1)
        } else {
            lastControlAccel = .zero
            shapedVelocity = v
        }
        thrustN = thrust.length
        thrustFraction = min(thrustN / maxThrust, 1)

        acceleration = (thrust + external) * (1 / m) + gravity
        if spoolingUp {
            guard acceleration.d < 0 else {
                v = .zero
                acceleration = .zero
                return
            }
            onGround = false
            log(.liftoff, "liftoff")
        }
        v += acceleration * dt
        p += v * dt

        let ground = groundD(n: p.n, e: p.e)
        if p.d >= ground, v.d <= 0 {
            p.d = ground  // pressed down while climbing away: not a touchdown
        } else if p.d >= ground {
            let vertical = v.d
            let horizontalSpeed = v.horizontalLength
            p.d = ground
            touchdown = VehicleTouchdown(positionNED: p, verticalSpeedMps: vertical,
                                         horizontalSpeedMps: horizontalSpeed, timeNs: timeNs + stepNs,
                                         pad: padName(n: p.n, e: p.e))
            if !armed || vertical > vp.crashSpeedMps {
                crashed = true
                thrustN = 0
                thrustFraction = 0
                log(.crash, "crash at \(format(vertical)) m/s" + (armed ? "" : " (disarmed)"))
            } else {
                log(.touchdown, "touchdown at \(format(vertical)) m/s, (\(format(p.n)), \(format(p.e)))"
                        + (touchdown?.pad.map { " on \($0)" } ?? ""))
            }
            v = .zero
            acceleration = .zero
            disturbance = .zero
            onGround = true
        }
    }

    private func padName(n: Double, e: Double) -> String? {
        for pad in config.site.pads where hypot(n - pad.n, e - pad.e) <= pad.radiusM { return pad.name }
        return nil
    }

    /// The velocity the autopilot's position controller asks for, within its limits.
    private func velocityDemand() -> Vec3 {
        let vp = config.vehicle
        var demand: Vec3
        switch guidance {
        case .idle:
            demand = positionDemand(to: holdPosition)
        case let .position(target, feedForward):
            demand = positionDemand(to: target) + feedForward
        case let .velocity(velocity):
            demand = velocity
        case let .takeoff(altitude):
            let ground = groundD(n: holdPosition.n, e: holdPosition.e)
            demand = positionDemand(to: Vec3(holdPosition.n, holdPosition.e, ground - altitude))
        case let .land(rate):
            demand = positionDemand(to: Vec3(holdPosition.n, holdPosition.e, p.d))
            let height = groundD(n: p.n, e: p.e) - p.d
            let r = min(max(rate, 0), vp.maxDescentMps)
            demand.d = height > vp.landSlowdownHeightM ? r : min(r, vp.landFinalRateMps)
        }
        let h = demand.horizontalLength
        if h > vp.maxHorizontalSpeedMps {
            let s = vp.maxHorizontalSpeedMps / h
            demand.n *= s
            demand.e *= s
        }
        demand.d = min(max(demand.d, -vp.maxClimbMps), vp.maxDescentMps)
        return demand
    }

    /// Square-root controller: linear near the target, and far out the speed from which the
    /// vehicle can still stop at half its acceleration limit.
    private func positionDemand(to target: Vec3) -> Vec3 {
        let vp = config.vehicle
        let k = 1 / max(vp.positionTimeConstantS, 0.05)
        let a = max(vp.maxAccelMps2 * 0.5, 0.1)
        func speed(_ distance: Double) -> Double {
            let linear = a / (k * k)
            return distance <= linear ? k * distance : (2 * a * (distance - linear / 2)).squareRoot()
        }
        let error = target - p
        let h = error.horizontalLength
        let hs = h > 1e-9 ? speed(h) / h : 0
        let vd = error.d >= 0 ? speed(error.d) : -speed(-error.d)
        return Vec3(error.n * hs, error.e * hs, vd)
    }

    private func rotorPowerW(wind w: Vec3) -> Double {
        guard armed, !crashed, thrustN > 0 else { return 0 }
        let vp = config.vehicle
        let kg = thrustN / standardGravity
        let airspeed = (v - w).horizontalLength / max(vp.maxHorizontalSpeedMps, 1)
        var power = hoverK * kg * kg.squareRoot() * (1 + vp.forwardFlightPowerFactor * airspeed * airspeed)
        if v.d < 0 { power += thrustN * -v.d / max(vp.climbEfficiency, 0.1) }
        return power
    }

    // MARK: Parcel

    private func stepParcel(wind w: Vec3) {
        guard parcelExists, !(parcelAttached && parcelStowed && !ropeGone) else { return }
        let mass = parcelParams.massKg
        let half = parcelParams.sizeM / 2
        if parcelAttached, snagged {
            q = snagAnchor + Vec3(0, 0, half)
            qv = .zero
            return
        }
        let ropeOnParcel = parcelAttached && !ropeGone ? ropeForceOnVehicle * -1 : .zero
        if parcelOnGround {
            if -ropeOnParcel.d > mass * standardGravity {
                parcelOnGround = false
                log(.parcelLiftoff, "parcel lifted off")
            } else {
                qv = .zero
                return
            }
        }
        // Inside a station's shaft the air is still: the roof and walls shelter it.
        let relative = shaftStation >= 0 ? qv : qv - w
        let area = parcelParams.dragCoefficient * parcelParams.sizeM * parcelParams.sizeM
        let drag = relative * (-0.5 * airDensity * area * relative.length)
        let a = (ropeOnParcel + drag) * (1 / mass) + gravity
        let previousBottom = q.d + half
        qv += a * dt
        q += qv * dt
        let bottom = q.d + half
        let surface = parcelSurface(previousBottom: previousBottom, bottom: bottom)
        if shaftStation >= 0 {
            // In the station's shaft: its walls keep the centre within the opening.
            let s = stations[shaftStation]
            let dn = q.n - s.n, de = q.e - s.e
            let r = hypot(dn, de)
            if r > s.opening {
                let f = s.opening / r
                q.n = s.n + dn * f
                q.e = s.e + de * f
                let outward = (qv.n * dn + qv.e * de) / r
                if outward > 0 {
                    qv.n -= outward * dn / r
                    qv.e -= outward * de / r
                }
            }
        }
        if bottom >= surface.d {
            q.d = surface.d - half
            let speed = qv.d
            qv = .zero
            parcelOnGround = true
            parcelRecord.touchdownNs = timeNs + stepNs
            parcelRecord.touchdownSpeedMps = speed
            parcelRecord.inStation = surface.inStation
            let nearest = nearestStation(n: q.n, e: q.e)
            parcelRecord.station = nearest.map { config.site.stations[$0.index].name }
            parcelRecord.placementErrorM = nearest?.distance
            let place = surface.inStation ? "inside station \(parcelRecord.station ?? "")"
                : (surface.onRoof ? "on the roof of \(parcelRecord.station ?? "")" : "on the ground")
            log(.parcelTouchdown, "parcel touchdown \(place) at \(format(speed)) m/s"
                    + (nearest.map { ", \(format($0.distance)) m from the opening centre" } ?? ""))
        }
    }

    private func nearestStation(n: Double, e: Double) -> (index: Int, distance: Double)? {
        var best: (index: Int, distance: Double)?
        for (i, s) in stations.enumerated() {
            let r = hypot(n - s.n, e - s.e)
            if r < best?.distance ?? .infinity { best = (i, r) }
        }
        return best
    }

    /// The surface the parcel's bottom would rest on, entering a station's shaft when it
    /// passes the roof plane within the opening.
    private func parcelSurface(previousBottom: Double, bottom: Double) -> (d: Double, inStation: Bool, onRoof: Bool) {
        if shaftStation >= 0 {
            let s = stations[shaftStation]
            if bottom < s.roofD - parcelParams.sizeM {
                shaftStation = -1  // lifted back out through the opening
            } else {
                return (0, true, false)
            }
        }
        for (i, s) in stations.enumerated() {
            let r = hypot(q.n - s.n, q.e - s.e)
            guard r <= s.roof else { continue }
            let roof = s.roofD
            if previousBottom < roof {
                if r <= s.opening {
                    if bottom >= roof { shaftStation = i }
                    return (0, true, false)
                }
                return (roof, false, true)
            }
            return (0, false, false)
        }
        for pad in pads where hypot(q.n - pad.n, q.e - pad.e) <= pad.r { return (pad.d, false, false) }
        return (0, false, false)
    }

    /// The surface straight below a point (for drop heights), without entering anything.
    private func parcelSurfaceBelow(n: Double, e: Double, bottom: Double) -> Double {
        if shaftStation >= 0 { return 0 }
        for s in stations where hypot(n - s.n, e - s.e) <= s.roof {
            if hypot(n - s.n, e - s.e) <= s.opening || bottom >= s.roofD { return 0 }
            return s.roofD
        }
        for pad in pads where hypot(n - pad.n, e - pad.e) <= pad.r { return pad.d }
        return 0
    }

    // MARK: Winch

    private func stepWinch() {
        let wp = config.winch
        var s = ropeSpeed
        var stalledNow = false
        if brakeEngaged {
            s = 0
        } else {
            let command = min(max(winchMotorCommand.isFinite ? winchMotorCommand : 0, -1), 1)
            let target = command * wp.maxSpeedMps
            let maxChange = wp.accelLimitMps2 * dt
            let change = (target - s) * min(dt / max(wp.motorTimeConstantS, dt), 1)
            s += min(max(change, -maxChange), maxChange)
            let line = loadCellN
            if s < 0, line >= wp.maxLinePullN {
                s = 0
                stalledNow = true
            } else if stalled, command < 0, line >= 0.9 * wp.maxLinePullN {
                stalledNow = true  // still against the limit (hysteresis)
            }
            if line > wp.maxLinePullN {
                s = max(s, (line - wp.maxLinePullN) / max(wp.slipDampingNsPerM, 1))
            }
        }
        ropeOut += s * dt
        if ropeOut <= 0 {
            ropeOut = 0
            if s < 0 { s = 0 }
        } else if ropeOut >= wp.maxRopeM {
            ropeOut = wp.maxRopeM
            if s > 0 { s = 0 }
        }
        ropeSpeed = s
        if stalledNow {
            // One log entry per stall episode, however the tension rings around the limit.
            if !stalled, lastStallNs.map({ timeNs - $0 > 2_000_000_000 }) ?? true {
                log(.winchStall, "winch stalled at \(format(loadCellN)) N")
            }
            lastStallNs = timeNs
        }
        stalled = stalledNow
    }

    private func winchPowerW() -> Double {
        let wp = config.winch
        guard abs(ropeSpeed) > 0.001 else { return 0 }
        let lifting = ropeSpeed < 0 ? -ropeSpeed * loadCellN / max(wp.motorEfficiency, 0.1) : 0
        return wp.motorRunningPowerW + lifting
    }
}
