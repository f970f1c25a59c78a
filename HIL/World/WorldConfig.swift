// The world's parameters: plain values with defaults for the reference aircraft (an 18 kg
// multirotor carrying up to 30 kg on a winch, a 12S 30 Ah pack, an RTK receiver), so that
// a scenario overrides only what it is about.

import PlumbCore
import Foundation

/// Standard gravity (m/s²).
public let standardGravity = 9.80665

// MARK: Vehicle

/// The airframe as its autopilot flies it.
public struct VehicleParams: Equatable, Sendable {
    /// Mass without a parcel, winch and hook included (kg).
    public var emptyMassKg = 18.0
    /// Largest parcel the airframe is rated for (kg).
    public var maxPayloadKg = 30.0
    /// Thrust-to-weight ratio at maximum take-off mass.
    public var thrustToWeight = 2.0
    /// Horizontal speed limit of the position and velocity controllers (m/s).
    public var maxHorizontalSpeedMps = 12.0
    public var maxClimbMps = 3.0
    public var maxDescentMps = 2.0
    /// Acceleration the controller demands at most, horizontally and vertically (m/s²).
    public var maxAccelMps2 = 3.0
    /// Largest tilt (°): bounds the horizontal thrust, controller and wind compensation together.
    public var maxTiltDeg = 35.0
    /// Position loop: a position error e becomes a velocity demand e / τ near the target
    /// (farther out the demand grows as a square root so the vehicle stops without overshoot).
    public var positionTimeConstantS = 0.6
    /// Velocity loop: first-order tracking with this lag, within `maxAccelMps2`.
    public var velocityLagS = 0.3
    /// How fast the autopilot learns a steady disturbance (wind drag, a hanging load) and
    /// trims it out (the integrators of its velocity loops), s. A gust moves the vehicle
    /// for about this long.
    public var disturbanceRejectionS = 2.0
    /// Drag area Cd·A for horizontal and vertical relative air (m²).
    public var dragAreaHorizontalM2 = 0.6
    public var dragAreaVerticalM2 = 1.2
    /// Hover power model P = k · m^1.5: the mass and electrical power of one hover that fixes k.
    public var hoverReferenceMassKg = 23.0
    public var hoverReferencePowerW = 4_200.0
    /// Rotor power grows by this fraction at maximum horizontal airspeed (quadratically).
    public var forwardFlightPowerFactor = 0.25
    /// Climbing costs thrust × climb rate / this efficiency on top of hover power.
    public var climbEfficiency = 0.75
    /// Flight controller, companion computer, radios, lights (W).
    public var avionicsPowerW = 50.0
    /// Armed on the ground the motors spin at this fraction of the maximum thrust.
    public var idleThrustFraction = 0.05
    /// A ground contact faster than this (vertical, m/s) is a crash.
    public var crashSpeedMps = 3.0
    /// `.land` descends at its rate, and at `landFinalRateMps` at most below this height (m).
    public var landSlowdownHeightM = 2.0
    public var landFinalRateMps = 0.5
    /// The winch's rope exit above the landing-gear contact point (m). The vehicle's position
    /// is that contact point: 0 down on level ground.
    public var ropeExitHeightM = 0.6
    /// Where the vehicle starts. On or below the ground: landed and disarmed. Above it:
    /// airborne, armed and holding that position (for scenarios that start in flight).
    public var startNED = Vec3.zero

    public init() {}

    public var maxThrustN: Double { thrustToWeight * (emptyMassKg + maxPayloadKg) * standardGravity }
    /// k in P = k · m^1.5 (W / kg^1.5).
    public var hoverPowerCoefficient: Double {
        hoverReferencePowerW / (hoverReferenceMassKg * hoverReferenceMassKg.squareRoot())
    }
}

// MARK: Battery

/// A lithium pack whose capacity and sag depend on temperature.
public struct BatteryParams: Equatable, Sendable {
    public var cells = 12
    /// Nominal capacity at 25 °C (Ah).
    public var capacityAh = 30.0
    /// Pack internal resistance at 25 °C (Ω).
    public var internalResistanceOhm = 0.025
    /// Resistance at −20 °C relative to 25 °C (exponential in between and beyond).
    public var resistanceFactorAtMinus20C = 2.5
    /// Usable capacity at −20 °C as a fraction of nominal (linear from 1.0 at 25 °C).
    public var capacityFractionAtMinus20C = 0.65
    /// Open-circuit cell voltage at state of charge 0, 0.1, …, 1.0 (V), interpolated linearly.
    public var ocvCurveV: [Double] = [3.30, 3.55, 3.65, 3.71, 3.76, 3.80, 3.85, 3.91, 3.98, 4.07, 4.20]
    /// State of charge at start (fraction of the usable capacity).
    public var initialSoC = 1.0
    /// Ambient air temperature (°C); also sets the air density.
    public var temperatureC = 20.0
    /// Pack temperature at start (°C); nil = ambient. A pre-warmed winter pack sets it.
    public var initialPackTemperatureC: Double? = nil
    /// Heat capacity of the pack (J/K) and its heat loss to the air (W/K): I²R heating warms
    /// the pack slowly toward ambient + I²R / loss.
    public var heatCapacityJPerK = 8_000.0
    public var coolingWPerK = 25.0
    /// Spread of the cell voltages around the mean (± V, fixed per seed).
    public var cellImbalanceV = 0.008

    public init() {}

    /// Resistance at `celsius` (Ω).
    public func resistance(atC celsius: Double) -> Double {
        let t = min(max(celsius, -40), 45)
        let perKelvin = log(resistanceFactorAtMinus20C) / 45
        return internalResistanceOhm * exp(perKelvin * (25 - t))
    }

    /// Usable capacity at `celsius` as a fraction of nominal.
    public func capacityFraction(atC celsius: Double) -> Double {
        guard celsius < 25 else { return 1 }
        let f = 1 - (1 - capacityFractionAtMinus20C) * (25 - celsius) / 45
        return min(max(f, 0.3), 1)
    }

    /// Open-circuit voltage of one cell at state of charge `soc` (0…1).
    public func cellOCV(soc: Double) -> Double {
        let curve = ocvCurveV
        guard curve.count >= 2 else { return curve.first ?? 3.7 }
        let x = min(max(soc, 0), 1) * Double(curve.count - 1)
        let i = min(Int(x), curve.count - 2)
        let f = x - Double(i)
        return curve[i] + (curve[i + 1] - curve[i]) * f
    }
}

// MARK: Wind

/// A discrete gust: 1 − cos profile from 0 up to `peakMps` and back over `durationS`,
/// blowing from `fromDeg`, added to the mean wind.
public struct Gust: Equatable, Sendable {
    public var atS: Double
    public var durationS: Double
    public var peakMps: Double
    public var fromDeg: Double

    public init(atS: Double, durationS: Double, peakMps: Double, fromDeg: Double) {
        self.atS = atS
        self.durationS = durationS
        self.peakMps = peakMps
        self.fromDeg = fromDeg
    }
}

/// Mean wind, turbulence and gusts. Uniform in space (vehicle and parcel feel the same air).
public struct WindParams: Equatable, Sendable {
    /// Mean wind speed (m/s) and the direction it blows from (°, clockwise from north).
    public var meanMps = 0.0
    public var fromDeg = 0.0
    /// Random gusts reach up to this speed (m/s) on top of the mean; 0 = none.
    public var gustMps = 0.0
    /// Mean time between random gusts (s).
    public var gustMeanIntervalS = 30.0
    /// Turbulence: standard deviation per horizontal axis = intensity × mean speed; the
    /// vertical axis gets half. Each axis is a first-order Gauss–Markov process with
    /// correlation time length / mean speed (a Dryden-like low-altitude spectrum).
    public var turbulenceIntensity = 0.1
    public var turbulenceLengthM = 100.0
    public var verticalTurbulenceLengthM = 20.0
    /// Gusts at fixed times.
    public var gusts: [Gust] = []

    public init() {}
}

// MARK: GNSS

/// Solution type of the receiver.
public enum GNSSMode: Equatable, Sendable {
    case rtkFixed, rtkFloat, single
}

/// Error model of one solution type. The error per axis is a slowly wandering bias
/// (a first-order Gauss–Markov process) plus white noise.
public struct GNSSErrorParams: Equatable, Sendable {
    /// Total standard deviation per horizontal axis (north, east) and vertical (m).
    public var horizontalStdM: Double
    public var verticalStdM: Double
    /// Share of the variance in the slow bias (the rest is white noise per output).
    public var biasVarianceShare: Double
    /// Correlation time of the bias (s).
    public var biasTimeConstantS: Double
    /// Velocity noise per axis (m/s).
    public var velocityStdMps: Double
    /// Satellites used, around this number (±2, slowly).
    public var numSV: Int

    public init(horizontalStdM: Double, verticalStdM: Double, biasVarianceShare: Double = 0.8,
                biasTimeConstantS: Double, velocityStdMps: Double, numSV: Int) {
        self.horizontalStdM = horizontalStdM
        self.verticalStdM = verticalStdM
        self.biasVarianceShare = biasVarianceShare
        self.biasTimeConstantS = biasTimeConstantS
        self.velocityStdMps = velocityStdMps
        self.numSV = numSV
    }

    public static let rtkFixed = GNSSErrorParams(horizontalStdM: 0.015, verticalStdM: 0.025,
                                                 biasTimeConstantS: 20, velocityStdMps: 0.02, numSV: 26)
    public static let rtkFloat = GNSSErrorParams(horizontalStdM: 0.3, verticalStdM: 0.5,
                                                 biasTimeConstantS: 30, velocityStdMps: 0.05, numSV: 22)
    public static let single = GNSSErrorParams(horizontalStdM: 2.0, verticalStdM: 3.5,
                                               biasTimeConstantS: 60, velocityStdMps: 0.1, numSV: 14)
}

/// A receiver event at a fixed time.
public struct GNSSEvent: Equatable, Sendable {
    public enum Kind: Equatable, Sendable {
        /// No fix at all (jamming, an obstruction).
        case loss
        /// The solution falls back to `mode` (e.g. RTK corrections stop).
        case degradeTo(GNSSMode)
    }

    public var atS: Double
    /// How long it lasts (s); nil = for the rest of the run.
    public var durationS: Double?
    public var kind: Kind

    public init(atS: Double, durationS: Double? = nil, kind: Kind) {
        self.atS = atS
        self.durationS = durationS
        self.kind = kind
    }
}

/// The receiver.
public struct GNSSParams: Equatable, Sendable {
    public var mode = GNSSMode.rtkFixed
    public var rtkFixed = GNSSErrorParams.rtkFixed
    public var rtkFloat = GNSSErrorParams.rtkFloat
    public var single = GNSSErrorParams.single
    /// A solution is output `latencyMs` after the moment it describes.
    public var latencyMs = 50.0
    /// Navigation rate (solutions per second), on a fixed schedule from time 0.
    public var rateHz = 10.0
    public var events: [GNSSEvent] = []
    /// After a loss an RTK receiver needs this long to converge again (s): single for the
    /// first third, then float, then the mode it had. 0 = at once.
    public var rtkRecoveryS = 5.0
    /// UTC at simulation time 0 (Unix seconds, whole): 2025-01-15 18:00:00 UTC is 02:00 in
    /// Changchun. The GNSS time pulse and the solutions' time fields follow it.
    public var startUnixTimeS: Int64 = 1_736_964_000
    /// GPS − UTC (s).
    public var leapSeconds: Int64 = 18

    public init() {}

    public func errors(_ mode: GNSSMode) -> GNSSErrorParams {
        switch mode {
        case .rtkFixed: return rtkFixed
        case .rtkFloat: return rtkFloat
        case .single: return single
        }
    }
}

// MARK: Winch, rope, parcel

/// Drum, motor and brake.
public struct WinchParams: Equatable, Sendable {
    /// Rope paid out per drum turn (m); the daemon's config carries the same number.
    public var drumCircumferenceM = 0.30
    public var maxRopeM = 25.0
    /// Rope speed at full motor command (m/s); positive pays out.
    public var maxSpeedMps = 1.2
    /// Most line pull the motor can hold or reel in against (N). Above it the motor stalls
    /// and is back-driven: the drum slips out at (tension − max pull) / `slipDampingNsPerM`.
    public var maxLinePullN = 600.0
    public var slipDampingNsPerM = 2_000.0
    /// Rope acceleration limit (m/s²) and the motor's speed lag (s).
    public var accelLimitMps2 = 2.4
    public var motorTimeConstantS = 0.15
    /// Electrical power: line pull × reel-in speed / efficiency, plus this while turning (W).
    public var motorEfficiency = 0.6
    public var motorRunningPowerW = 10.0
    /// Mass of the hook at the rope end (kg), part of the vehicle's empty mass.
    public var hookMassKg = 0.3
    /// Below this much rope out a parcel on the hook sits stowed against the rope exit (m).
    public var stowedBelowM = 0.05

    public init() {}
}

/// The rope: elastic, pulls only.
public struct RopeParams: Equatable, Sendable {
    /// Axial stiffness EA (N): the spring rate of a rope of length L is EA / L.
    public var axialStiffnessN = 40_000.0
    /// Damping as a fraction of critical for the load on the rope.
    public var dampingRatio = 0.2
    /// The rope parts above this tension (N).
    public var breakingStrengthN = 2_500.0

    public init() {}
}

/// The parcel on the hook (a cube, a point mass for its motion).
public struct ParcelParams: Equatable, Sendable {
    /// False: the hook is empty at start.
    public var present = true
    public var massKg = 5.0
    /// Edge length (m). It hangs below the rope exit, so it must be smaller than
    /// `VehicleParams.ropeExitHeightM` to clear the ground when stowed.
    public var sizeM = 0.3
    public var dragCoefficient = 1.05

    public init() {}
}

// MARK: Site

/// A landing pad (the "H"). `d` is its surface (NED down, m; nil = ground level, 0).
public struct Pad: Equatable, Sendable {
    public var name: String
    public var n: Double
    public var e: Double
    public var d: Double?
    public var radiusM: Double

    public init(name: String, n: Double, e: Double, d: Double? = nil, radiusM: Double = 2.5) {
        self.name = name
        self.n = n
        self.e = e
        self.d = d
        self.radiusM = radiusM
    }
}

/// A receiving station: a round roof `roofHeightM` above the ground with an opening in its
/// centre; a parcel whose centre is within `openingRadiusM` of the centre when it reaches
/// the roof goes through, down to the station floor at ground level (the shaft's walls keep
/// it within the opening on the way; the wind does not reach inside). Elsewhere on the
/// roof it rests on the roof. The
/// station's outer walls are not modelled: something arriving from the side below roof
/// level ends up on the ground. The vehicle can land on the roof.
public struct Station: Equatable, Sendable {
    public var name: String
    public var n: Double
    public var e: Double
    public var roofHeightM: Double
    public var openingRadiusM: Double
    public var roofRadiusM: Double

    public init(name: String, n: Double, e: Double, roofHeightM: Double = 3, openingRadiusM: Double = 0.4,
                roofRadiusM: Double = 1.5) {
        self.name = name
        self.n = n
        self.e = e
        self.roofHeightM = roofHeightM
        self.openingRadiusM = openingRadiusM
        self.roofRadiusM = roofRadiusM
    }
}

/// Home (the NED origin, on the ground) and what stands around it. The ground is level at
/// d = 0 except on raised pads and station roofs.
public struct Site: Equatable, Sendable {
    /// Home's geodetic position; the altitude is used both as ellipsoid height and MSL.
    public var homeLatDeg = 43.8171
    public var homeLonDeg = 125.3235
    public var homeAltM = 220.0
    public var pads: [Pad] = [Pad(name: "home", n: 0, e: 0)]
    public var stations: [Station] = []

    public init() {}
}

// MARK: The whole world

public struct WorldConfig: Equatable, Sendable {
    public var vehicle = VehicleParams()
    public var battery = BatteryParams()
    public var wind = WindParams()
    public var gnss = GNSSParams()
    public var winch = WinchParams()
    public var rope = RopeParams()
    public var parcel = ParcelParams()
    public var site = Site()
    /// Integration step (ms); step boundaries are at whole multiples of it from time 0.
    public var stepMs = 1.0
    /// Every random process derives its own seed from this one.
    public var seed: UInt64 = 1
    /// Events to schedule at start (faults, gusts, GNSS changes), besides those in `wind` and `gnss`.
    public var events: [WorldEvent] = []

    public init() {}
}
