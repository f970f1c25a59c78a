// The world's subsystems that do not touch each other: seeded noise, the wind, the battery
// pack and the GNSS receiver. The vehicle, the winch, the rope and the parcel are coupled
// and live in World.swift.

import PlumbCore
import Foundation

// MARK: Seeds and noise

/// A seed for one subsystem, derived from the world's seed and a fixed tag, so adding a
/// random process to one subsystem never changes the numbers another one draws.
func derivedSeed(_ seed: UInt64, _ tag: UInt64) -> UInt64 {
    var r = SeededRandom(seed: seed ^ (tag &* 0xD1B5_4A32_D192_ED03))
    _ = r.next()
    return r.next()
}

/// Fixed tags of the subsystems' seeds.
enum SeedTag {
    static let turbulence: UInt64 = 1
    static let gusts: UInt64 = 2
    static let gnssBias: UInt64 = 3
    static let gnssNoise: UInt64 = 4
    static let cells: UInt64 = 5
    static let gnssWander: UInt64 = 6
    static let battery: UInt64 = 10
    static let receiver: UInt64 = 11
    static let encoder: UInt64 = 12
    static let loadCell: UInt64 = 13
    static let pwm: UInt64 = 14
    static let camera: UInt64 = 15
    static let cameraMiss: UInt64 = 16
}

/// Standard normal numbers from a seeded generator (Box–Muller, both values used).
struct GaussianSource {
    private var rng: SeededRandom
    private var spare = 0.0
    private var hasSpare = false

    init(seed: UInt64) { rng = SeededRandom(seed: seed) }

    mutating func next() -> Double {
        if hasSpare {
            hasSpare = false
            return spare
        }
        let u1 = max(rng.unit(), 1e-300)
        let u2 = rng.unit()
        let r = (-2 * log(u1)).squareRoot()
        let angle = 2 * Double.pi * u2
        spare = r * sin(angle)
        hasSpare = true
        return r * cos(angle)
    }
}

/// Wind velocity (NED, m/s, the direction the air moves) for a speed blowing from `fromDeg`.
func windVector(speedMps: Double, fromDeg: Double) -> Vec3 {
    let a = fromDeg * Double.pi / 180
    return Vec3(-speedMps * cos(a), -speedMps * sin(a), 0)
}

// MARK: Wind

/// Mean wind + Gauss–Markov turbulence per axis + discrete gusts (scheduled and random).
struct WindSim {
    struct ActiveGust {
        var startNs: UInt64
        var durationNs: UInt64
        var peakMps: Double
        var fromDeg: Double
        var direction: Vec3
    }

    private let params: WindParams
    private(set) var meanMps: Double
    private(set) var fromDeg: Double
    private var mean: Vec3
    private var turbulence: GaussianSource
    private var gustRng: SeededRandom
    /// Unit-variance turbulence states.
    private var un = 0.0, ue = 0.0, ud = 0.0
    /// Per-step decay and drive of the horizontal and vertical processes.
    private var decayH = 0.0, driveH = 0.0, decayV = 0.0, driveV = 0.0
    private var sigmaH = 0.0, sigmaV = 0.0
    private var gusts: [ActiveGust] = []
    private var nextRandomGustNs: UInt64 = .max
    private let dtS: Double
    /// The wind now.
    private(set) var velocity = Vec3.zero

    init(_ params: WindParams, seed: UInt64, dtS: Double) {
        self.params = params
        self.dtS = dtS
        meanMps = params.meanMps
        fromDeg = params.fromDeg
        mean = windVector(speedMps: params.meanMps, fromDeg: params.fromDeg)
        turbulence = GaussianSource(seed: derivedSeed(seed, SeedTag.turbulence))
        gustRng = SeededRandom(seed: derivedSeed(seed, SeedTag.gusts))
        gusts.reserveCapacity(16)
        retune()
        // Start the turbulence in its stationary distribution.
        un = turbulence.next()
        ue = turbulence.next()
        ud = turbulence.next()
        if params.gustMps > 0 { nextRandomGustNs = drawGustInterval(after: 0) }
        velocity = mean + Vec3(sigmaH * un, sigmaH * ue, sigmaV * ud)
    }

    mutating func setMean(speedMps: Double, fromDeg: Double) {
        meanMps = speedMps
        self.fromDeg = fromDeg
        mean = windVector(speedMps: speedMps, fromDeg: fromDeg)
        retune()
    }

    mutating func addGust(atNs: UInt64, durationS: Double, peakMps: Double, fromDeg: Double) {
        guard durationS > 0 else { return }
        gusts.append(ActiveGust(startNs: atNs, durationNs: UInt64(durationS * 1e9), peakMps: peakMps,
                                fromDeg: fromDeg, direction: windVector(speedMps: 1, fromDeg: fromDeg)))
    }

    private mutating func retune() {
        let speed = max(meanMps, 1)
        sigmaH = params.turbulenceIntensity * meanMps
        sigmaV = sigmaH / 2
        let tauH = max(params.turbulenceLengthM / speed, 0.05)
        let tauV = max(params.verticalTurbulenceLengthM / speed, 0.05)
        decayH = exp(-dtS / tauH)
        driveH = (1 - decayH * decayH).squareRoot()
        decayV = exp(-dtS / tauV)
        driveV = (1 - decayV * decayV).squareRoot()
    }

    private mutating func drawGustInterval(after nowNs: UInt64) -> UInt64 {
        let u = max(gustRng.unit(), 1e-12)
        let seconds = -log(u) * max(params.gustMeanIntervalS, 1)
        return nowNs + UInt64(seconds * 1e9)
    }

    /// Advances the turbulence one step and returns the wind at `nowNs`.
    mutating func step(nowNs: UInt64) -> Vec3 {
        if sigmaH > 0 {
            un = decayH * un + driveH * turbulence.next()
            ue = decayH * ue + driveH * turbulence.next()
            ud = decayV * ud + driveV * turbulence.next()
        }
        if nowNs >= nextRandomGustNs {
            let peak = params.gustMps * (0.3 + 0.7 * gustRng.unit())
            let duration = 2 + 4 * gustRng.unit()
            let from = fromDeg + (gustRng.unit() - 0.5) * 60
            addGust(atNs: nowNs, durationS: duration, peakMps: peak, fromDeg: from)
            nextRandomGustNs = drawGustInterval(after: nowNs)
        }
        var w = mean + Vec3(sigmaH * un, sigmaH * ue, sigmaV * ud)
        var i = 0
        while i < gusts.count {
            let g = gusts[i]
            if nowNs >= g.startNs + g.durationNs {
                gusts.remove(at: i)
                continue
            }
            if nowNs >= g.startNs {
                let phase = Double(nowNs - g.startNs) / Double(g.durationNs)
                w += g.direction * (g.peakMps * 0.5 * (1 - cos(2 * Double.pi * phase)))
            }
            i += 1
        }
        velocity = w
        return w
    }
}

// MARK: Battery pack

/// Charge, voltage, sag and temperature of the pack.
struct PackSim {
    let params: BatteryParams
    private let resistancePerKelvin: Double
    private(set) var usedAh = 0.0
    private(set) var packC: Double
    private(set) var currentA = 0.0
    private(set) var voltageV: Double
    private(set) var openCircuitV: Double
    private(set) var resistanceOhm: Double
    private(set) var powerW = 0.0
    private(set) var energyWh = 0.0
    private(set) var brownout = false

    init(_ params: BatteryParams) {
        self.params = params
        resistancePerKelvin = log(params.resistanceFactorAtMinus20C) / 45
        packC = params.initialPackTemperatureC ?? params.temperatureC
        openCircuitV = 0
        voltageV = 0
        resistanceOhm = params.internalResistanceOhm
        refreshOpenCircuit()
        voltageV = openCircuitV
    }

    var fullChargeAh: Double { params.capacityAh * params.capacityFraction(atC: packC) }
    var remainingAh: Double { max(params.initialSoC * fullChargeAh - usedAh, 0) }
    var soc: Double {
        let full = fullChargeAh
        return full > 0 ? remainingAh / full : 0
    }

    private mutating func refreshOpenCircuit() {
        let t = min(max(packC, -40), 45)
        resistanceOhm = params.internalResistanceOhm * exp(resistancePerKelvin * (25 - t))
        openCircuitV = Double(params.cells) * params.cellOCV(soc: soc)
    }

    /// Draws `power` (W) for `dtS` with the air at `ambientC`.
    mutating func step(powerW power: Double, dtS: Double, ambientC: Double) {
        refreshOpenCircuit()
        let r = resistanceOhm
        let v0 = openCircuitV
        // Terminal voltage v0 − I·R must deliver P = I·(v0 − I·R).
        let discriminant = v0 * v0 - 4 * r * power
        if power <= 0 {
            currentA = 0
            brownout = false
        } else if discriminant >= 0 {
            currentA = (v0 - discriminant.squareRoot()) / (2 * r)
            brownout = false
        } else {
            currentA = v0 / (2 * r)  // the most power the pack can give
            brownout = true
        }
        voltageV = v0 - currentA * r
        powerW = voltageV * currentA
        usedAh += currentA * dtS / 3600
        energyWh += powerW * dtS / 3600
        let heatW = currentA * currentA * r - params.coolingWPerK * (packC - ambientC)
        packC += heatW * dtS / params.heatCapacityJPerK
    }
}

// MARK: GNSS receiver

/// The receiver: a ring of past truth, the solution type and its errors, fixed-rate output.
struct GNSSSim {
    struct Truth {
        var position: Vec3
        var velocity: Vec3
    }

    enum Transition { case none, lossEnded, overrideEnded }

    private let params: GNSSParams
    private let stepNs: UInt64
    let latencySteps: UInt64
    private var ring: [Truth]
    private(set) var baseMode: GNSSMode
    private var override: (mode: GNSSMode, untilNs: UInt64)?
    private(set) var lossUntilNs: UInt64?
    private var lossStartNs: UInt64 = 0
    private var recoveryStartNs: UInt64?
    private var bias: GaussianSource
    private var noise: GaussianSource
    private var biasN = 0.0, biasE = 0.0, biasD = 0.0
    private var wanderPhase: Double
    private var outputIndex: UInt64 = 0
    private(set) var nextOutputNs: UInt64
    private(set) var latest: GNSSMeasurement?
    private(set) var outputCount: UInt64 = 0
    private var lastFix: GNSSMeasurement?

    // Flat-earth conversion around home.
    private let lat0: Double, lon0: Double, alt0: Double
    private let metresPerDegLat: Double, metresPerDegLon: Double

    init(_ params: GNSSParams, site: Site, stepNs: UInt64, seed: UInt64) {
        self.params = params
        self.stepNs = stepNs
        latencySteps = UInt64((params.latencyMs * 1e6 / Double(stepNs)).rounded())
        ring = [Truth](repeating: Truth(position: .zero, velocity: .zero), count: Int(latencySteps) + 2)
        baseMode = params.mode
        bias = GaussianSource(seed: derivedSeed(seed, SeedTag.gnssBias))
        noise = GaussianSource(seed: derivedSeed(seed, SeedTag.gnssNoise))
        var wander = SeededRandom(seed: derivedSeed(seed, SeedTag.gnssWander))
        wanderPhase = wander.unit() * 2 * Double.pi
        biasN = bias.next()
        biasE = bias.next()
        biasD = bias.next()
        nextOutputNs = GNSSSim.outputTime(1, rateHz: params.rateHz)
        lat0 = site.homeLatDeg
        lon0 = site.homeLonDeg
        alt0 = site.homeAltM
        // WGS-84 radii of curvature at home.
        let a = 6_378_137.0, e2 = 6.694_379_990_14e-3
        let phi = site.homeLatDeg * Double.pi / 180
        let w = 1 - e2 * sin(phi) * sin(phi)
        let meridian = a * (1 - e2) / (w * w.squareRoot())
        let normal = a / w.squareRoot()
        metresPerDegLat = meridian * Double.pi / 180
        metresPerDegLon = normal * cos(phi) * Double.pi / 180
    }

    private static func outputTime(_ k: UInt64, rateHz: Double) -> UInt64 {
        UInt64((Double(k) * 1e9 / max(rateHz, 0.01)).rounded())
    }

    mutating func record(stepIndex: UInt64, position: Vec3, velocity: Vec3) {
        ring[Int(stepIndex % UInt64(ring.count))] = Truth(position: position, velocity: velocity)
    }

    // MARK: Modes and loss

    func inLoss(at t: UInt64) -> Bool {
        guard let until = lossUntilNs else { return false }
        return t >= lossStartNs && t < until
    }

    mutating func startLoss(at t: UInt64, durationS: Double?) {
        lossStartNs = t
        lossUntilNs = durationS.map { t + UInt64(max($0, 0) * 1e9) } ?? .max
        recoveryStartNs = nil
    }

    mutating func setMode(_ mode: GNSSMode, at t: UInt64, durationS: Double?) {
        if let d = durationS {
            override = (mode, t + UInt64(max(d, 0) * 1e9))
        } else {
            baseMode = mode
            override = nil
        }
    }

    /// Ends a loss or a temporary mode whose time is up.
    mutating func refresh(at t: UInt64) -> Transition {
        if let until = lossUntilNs, t >= until {
            lossUntilNs = nil
            recoveryStartNs = t
            return .lossEnded
        }
        if let o = override, t >= o.untilNs {
            override = nil
            return .overrideEnded
        }
        return .none
    }

    private static func rank(_ mode: GNSSMode) -> Int {
        switch mode {
        case .single: return 0
        case .rtkFloat: return 1
        case .rtkFixed: return 2
        }
    }

    /// The solution type at `t` (ignoring a loss).
    func mode(at t: UInt64) -> GNSSMode {
        let wanted = override?.mode ?? baseMode
        guard let start = recoveryStartNs, params.rtkRecoveryS > 0, wanted != .single else { return wanted }
        let elapsed = Double(t - min(start, t)) / 1e9
        guard elapsed < params.rtkRecoveryS else { return wanted }
        let recovering: GNSSMode = elapsed < params.rtkRecoveryS / 3 ? .single : .rtkFloat
        return Self.rank(recovering) < Self.rank(wanted) ? recovering : wanted
    }

    // MARK: Output

    /// Produces the output due at `t` (the world's step time, step `stepIndex`), if one is.
    mutating func produce(at t: UInt64, stepIndex: UInt64) -> Bool {
        guard t >= nextOutputNs else { return false }
        while nextOutputNs <= t {
            outputIndex += 1
            nextOutputNs = Self.outputTime(outputIndex + 1, rateHz: params.rateHz)
        }
        guard stepIndex >= latencySteps else { return false }
        let measuredStep = stepIndex - latencySteps
        let truth = ring[Int(measuredStep % UInt64(ring.count))]
        let measuredNs = measuredStep * stepNs
        let mode = self.mode(at: t)
        let e = params.errors(mode)
        let periodS = 1 / max(params.rateHz, 0.01)
        let a = exp(-periodS / max(e.biasTimeConstantS, 0.01))
        let drive = (1 - a * a).squareRoot()
        biasN = a * biasN + drive * bias.next()
        biasE = a * biasE + drive * bias.next()
        biasD = a * biasD + drive * bias.next()
        let share = min(max(e.biasVarianceShare, 0), 1)
        let hb = e.horizontalStdM * share.squareRoot(), hw = e.horizontalStdM * (1 - share).squareRoot()
        let vb = e.verticalStdM * share.squareRoot(), vw = e.verticalStdM * (1 - share).squareRoot()
        let err = Vec3(hb * biasN + hw * noise.next(), hb * biasE + hw * noise.next(),
                       vb * biasD + vw * noise.next())
        let velErr = Vec3(noise.next(), noise.next(), noise.next()) * e.velocityStdMps
        let seconds = Double(t) / 1e9
        let wander = 0.5 + 0.5 * sin(2 * Double.pi * seconds / 240 + wanderPhase)
        let svSwing = Int((2 * sin(2 * Double.pi * seconds / 300 + wanderPhase)).rounded())

        if inLoss(at: t) {
            var m = lastFix ?? geodetic(position: .zero, velocity: .zero)
            m.velN = 0
            m.velE = 0
            m.velD = 0
            m.fixType = 0
            m.carrierSolution = 0
            m.hAccM = 9_999
            m.vAccM = 9_999
            m.sAccMps = 20
            m.numSV = max(0, 2 + svSwing)
            m.measurementTimeNs = measuredNs
            m.outputTimeNs = t
            m.mode = nil
            latest = m
        } else {
            var m = geodetic(position: truth.position + err, velocity: truth.velocity + velErr)
            m.fixType = 3
            switch mode {
            case .rtkFixed: m.carrierSolution = 2
            case .rtkFloat: m.carrierSolution = 1
            case .single: m.carrierSolution = 0
            }
            let factor = 0.9 + 0.2 * wander
            m.hAccM = 2.squareRoot() * e.horizontalStdM * factor
            m.vAccM = e.verticalStdM * factor
            m.sAccMps = 2.squareRoot() * e.velocityStdMps * factor
            m.numSV = max(4, e.numSV + svSwing)
            m.measurementTimeNs = measuredNs
            m.outputTimeNs = t
            m.mode = mode
            latest = m
            lastFix = m
        }
        outputCount += 1
        return true
    }

    private func geodetic(position: Vec3, velocity: Vec3) -> GNSSMeasurement {
        GNSSMeasurement(latDeg: lat0 + position.n / metresPerDegLat,
                        lonDeg: lon0 + position.e / metresPerDegLon,
                        heightM: alt0 - position.d, heightMSLM: alt0 - position.d,
                        velN: velocity.n, velE: velocity.e, velD: velocity.d,
                        fixType: 3, carrierSolution: 0, hAccM: 0, vAccM: 0, sAccMps: 0, numSV: 0,
                        positionNED: position, measurementTimeNs: 0, outputTimeNs: 0, mode: nil)
    }
}
