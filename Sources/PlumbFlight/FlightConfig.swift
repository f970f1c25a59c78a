import PlumbCore

/// How to fly: heights, speeds, bounds, and every failsafe policy. Defaults, ranges and
/// documentation are in `ConfigSchema`. Every field but `autopilot` is tunable: the
/// mission reads them on every step, so a reload may change them in flight.
public struct FlightConfig: Equatable {
    /// "ardupilot" (GUIDED) or "px4" (OFFBOARD).
    public var autopilot: String = ConfigSchema.autopilotFlavor.stringDefault
    public var cruiseAltitudeM: Double = ConfigSchema.flightCruiseAltitudeM.numberDefault
    public var cruiseSpeedMps: Double = ConfigSchema.flightCruiseSpeedMps.numberDefault
    /// Horizontal distance to a target at which transit ends, m.
    public var arrivalRadiusM: Double = ConfigSchema.flightArrivalRadiusM.numberDefault

    // Precision landing on an H-pad.
    public var landApproachAltitudeM: Double = ConfigSchema.landingApproachAltitudeM.numberDefault
    public var landAlignErrorM: Double = ConfigSchema.landingAlignErrorM.numberDefault
    public var landAlignHoldS: Double = ConfigSchema.landingAlignHoldS.numberDefault
    public var landFastSpeedMps: Double = ConfigSchema.landingFastSpeedMps.numberDefault
    public var landSlowSpeedMps: Double = ConfigSchema.landingSlowSpeedMps.numberDefault
    public var landFinalSpeedMps: Double = ConfigSchema.landingFinalSpeedMps.numberDefault
    public var landSlowBelowM: Double = ConfigSchema.landingSlowBelowM.numberDefault
    public var landFinalBelowM: Double = ConfigSchema.landingFinalBelowM.numberDefault
    /// Horizontal error allowed while descending, per stage, m.
    public var landFastErrorM: Double = ConfigSchema.landingFastErrorM.numberDefault
    public var landSlowErrorM: Double = ConfigSchema.landingSlowErrorM.numberDefault
    public var landFinalErrorM: Double = ConfigSchema.landingFinalErrorM.numberDefault
    public var landMaxRetries: Int = ConfigSchema.landingMaxRetries.intDefault
    /// After the retries: "hover", "return" or "land_here".
    public var landRetryPolicy: String = ConfigSchema.landingRetryPolicy.stringDefault
    /// RTK fixed needed to descend below the slow stage.
    public var landRequireRTK: Bool = ConfigSchema.landingRequireRTK.boolDefault
    /// How long a descent waits for RTK (or any fresh fix) before going around, s.
    public var landFixWaitS: Double = ConfigSchema.landingFixWaitS.numberDefault

    // Rope drop.
    public var dropAltitudeM: Double = ConfigSchema.dropAltitudeM.numberDefault
    public var dropAlignErrorM: Double = ConfigSchema.dropAlignErrorM.numberDefault
    public var winchMaxSpeedMps: Double = ConfigSchema.dropWinchMaxSpeedMps.numberDefault
    public var lowerSpeedMps: Double = ConfigSchema.dropLowerSpeedMps.numberDefault
    public var lowerFinalSpeedMps: Double = ConfigSchema.dropLowerFinalSpeedMps.numberDefault
    public var lowerDecelMps2: Double = ConfigSchema.dropLowerDecelMps2.numberDefault
    /// The slow zone begins this far above the station's roof, m.
    public var lowerSlowMarginM: Double = ConfigSchema.dropSlowMarginM.numberDefault
    /// Distance from the drum (rope length 0) to the ground below the vehicle's
    /// skids, m: the hook hangs this far below the vehicle's lowest point.
    public var hookBelowSkidsM: Double = ConfigSchema.dropHookBelowSkidsM.numberDefault
    /// Height of a parcel box (the rope is longer than the drop by this less), m.
    public var parcelHeightM: Double = ConfigSchema.dropParcelHeightM.numberDefault
    /// Drag area (drag coefficient × frontal area) of a parcel box, m²: with the
    /// autopilot's wind estimate it gives how far downwind the parcel hangs.
    public var parcelDragAreaM2: Double = ConfigSchema.dropParcelDragAreaM2.numberDefault
    public var airDensityKgM3: Double = ConfigSchema.dropAirDensityKgM3.numberDefault
    /// Touchdown: filtered tension below this share of the hanging weight...
    public var touchdownTensionRatio: Double = ConfigSchema.dropTouchdownTensionRatio.numberDefault
    /// ...held this long, then confirmed with the drum stopped for this long, s.
    public var touchdownHoldS: Double = ConfigSchema.dropTouchdownHoldS.numberDefault
    public var touchdownConfirmS: Double = ConfigSchema.dropTouchdownConfirmS.numberDefault
    /// Touchdown is only believed within this rope length of the expected one, m.
    public var touchdownWindowM: Double = ConfigSchema.dropTouchdownWindowM.numberDefault
    public var releaseVerifyS: Double = ConfigSchema.dropReleaseVerifyS.numberDefault
    public var releaseAttempts: Int = ConfigSchema.dropReleaseAttempts.intDefault
    public var retractSpeedMps: Double = ConfigSchema.dropRetractSpeedMps.numberDefault
    /// Snag: tension above this (N) while reeling in an empty hook...
    public var snagTensionN: Double = ConfigSchema.dropSnagTensionN.numberDefault
    /// ...or the drum not turning this long while commanded, s.
    public var snagStallS: Double = ConfigSchema.dropSnagStallS.numberDefault
    public var snagAttempts: Int = ConfigSchema.dropSnagAttempts.intDefault
    /// After the attempts, cut the rope (only when the parcel is already released).
    public var snagCutRope: Bool = ConfigSchema.dropSnagCutRope.boolDefault
    /// Swing control from the camera's parcel sightings.
    public var swingControl: Bool = ConfigSchema.dropSwingControl.boolDefault
    public var swingGain: Double = ConfigSchema.dropSwingGain.numberDefault
    public var swingDamping: Double = ConfigSchema.dropSwingDamping.numberDefault
    public var entryErrorM: Double = ConfigSchema.dropEntryErrorM.numberDefault
    public var entryWaitS: Double = ConfigSchema.dropEntryWaitS.numberDefault

    // The camera's sightings.
    public var visionMaxLatencyS: Double = ConfigSchema.visionMaxLatencyS.numberDefault
    public var visionHoldS: Double = ConfigSchema.visionHoldS.numberDefault
    public var visionGateM: Double = ConfigSchema.visionGateM.numberDefault

    // Failsafes.
    public var reservePct: Double = ConfigSchema.failsafeReservePct.numberDefault
    public var reservePctCold: Double = ConfigSchema.failsafeReservePctCold.numberDefault
    public var coldBelowC: Double = ConfigSchema.failsafeColdBelowC.numberDefault
    /// Take-off needs this charge; in the cold, `minTakeoffPctCold`.
    public var minTakeoffPct: Double = ConfigSchema.failsafeMinTakeoffPct.numberDefault
    public var minTakeoffPctCold: Double = ConfigSchema.failsafeMinTakeoffPctCold.numberDefault
    /// Winter rule: targets no further than this from home when cold, m.
    public var coldRadiusM: Double = ConfigSchema.failsafeColdRadiusM.numberDefault
    /// Head-wind allowance in the energy-to-home estimate, m/s.
    public var windAllowanceMps: Double = ConfigSchema.failsafeWindAllowanceMps.numberDefault
    /// Pack current in cruise, A: the energy check before take-off (in flight the
    /// measured current is used).
    public var cruiseCurrentA: Double = ConfigSchema.failsafeCruiseCurrentA.numberDefault
    /// Below the reserve by this much more: land where it is.
    public var criticalMarginPct: Double = ConfigSchema.failsafeCriticalMarginPct.numberDefault
    public var geofenceRadiusM: Double = ConfigSchema.failsafeGeofenceRadiusM.numberDefault
    public var ceilingM: Double = ConfigSchema.failsafeCeilingM.numberDefault
    /// No GNSS for this long in transit: return on the autopilot's own navigation, s.
    public var gnssLostReturnS: Double = ConfigSchema.failsafeGnssLostReturnS.numberDefault
    /// The autopilot silent this long: the mission is abandoned to its own failsafe, s.
    public var autopilotLostS: Double = ConfigSchema.failsafeAutopilotLostS.numberDefault
    /// "continue" or "return" when the dispatch link is lost.
    public var dispatchLostPolicy: String = ConfigSchema.failsafeDispatchLost.stringDefault
    public var dispatchLostS: Double = ConfigSchema.failsafeDispatchLostS.numberDefault
    /// "return" or "land" when the battery gauge is lost.
    public var batteryLostPolicy: String = ConfigSchema.failsafeBatteryLost.stringDefault

    public init() {}

    /// Reads the flight keys (`[flight]`, `[landing]`, `[drop]`, `[failsafe]`,
    /// `autopilot.flavor`); defaults and ranges from `ConfigSchema`.
    public static func read(_ r: inout ConfigReader) -> FlightConfig {
        typealias S = ConfigSchema
        var f = FlightConfig()
        f.autopilot = r.string(S.autopilotFlavor)
        f.cruiseAltitudeM = r.double(S.flightCruiseAltitudeM)
        f.cruiseSpeedMps = r.double(S.flightCruiseSpeedMps)
        f.arrivalRadiusM = r.double(S.flightArrivalRadiusM)
        f.landApproachAltitudeM = r.double(S.landingApproachAltitudeM)
        f.landAlignErrorM = r.double(S.landingAlignErrorM)
        f.landAlignHoldS = r.double(S.landingAlignHoldS)
        f.landFastSpeedMps = r.double(S.landingFastSpeedMps)
        f.landSlowSpeedMps = r.double(S.landingSlowSpeedMps)
        f.landFinalSpeedMps = r.double(S.landingFinalSpeedMps)
        f.landSlowBelowM = r.double(S.landingSlowBelowM)
        f.landFinalBelowM = r.double(S.landingFinalBelowM)
        f.landFastErrorM = r.double(S.landingFastErrorM)
        f.landSlowErrorM = r.double(S.landingSlowErrorM)
        f.landFinalErrorM = r.double(S.landingFinalErrorM)
        f.landMaxRetries = r.int(S.landingMaxRetries)
        f.landRetryPolicy = r.string(S.landingRetryPolicy)
        f.landRequireRTK = r.bool(S.landingRequireRTK)
        f.landFixWaitS = r.double(S.landingFixWaitS)
        f.dropAltitudeM = r.double(S.dropAltitudeM)
        f.dropAlignErrorM = r.double(S.dropAlignErrorM)
        f.winchMaxSpeedMps = r.double(S.dropWinchMaxSpeedMps)
        f.lowerSpeedMps = r.double(S.dropLowerSpeedMps)
        f.lowerFinalSpeedMps = r.double(S.dropLowerFinalSpeedMps)
        f.lowerDecelMps2 = r.double(S.dropLowerDecelMps2)
        f.lowerSlowMarginM = r.double(S.dropSlowMarginM)
        f.hookBelowSkidsM = r.double(S.dropHookBelowSkidsM)
        f.parcelHeightM = r.double(S.dropParcelHeightM)
        f.parcelDragAreaM2 = r.double(S.dropParcelDragAreaM2)
        f.airDensityKgM3 = r.double(S.dropAirDensityKgM3)
        f.touchdownTensionRatio = r.double(S.dropTouchdownTensionRatio)
        f.touchdownHoldS = r.double(S.dropTouchdownHoldS)
        f.touchdownConfirmS = r.double(S.dropTouchdownConfirmS)
        f.touchdownWindowM = r.double(S.dropTouchdownWindowM)
        f.releaseVerifyS = r.double(S.dropReleaseVerifyS)
        f.releaseAttempts = r.int(S.dropReleaseAttempts)
        f.retractSpeedMps = r.double(S.dropRetractSpeedMps)
        f.snagTensionN = r.double(S.dropSnagTensionN)
        f.snagStallS = r.double(S.dropSnagStallS)
        f.snagAttempts = r.int(S.dropSnagAttempts)
        f.snagCutRope = r.bool(S.dropSnagCutRope)
        f.swingControl = r.bool(S.dropSwingControl)
        f.swingGain = r.double(S.dropSwingGain)
        f.swingDamping = r.double(S.dropSwingDamping)
        f.entryErrorM = r.double(S.dropEntryErrorM)
        f.entryWaitS = r.double(S.dropEntryWaitS)
        f.visionMaxLatencyS = r.double(S.visionMaxLatencyS)
        f.visionHoldS = r.double(S.visionHoldS)
        f.visionGateM = r.double(S.visionGateM)
        f.reservePct = r.double(S.failsafeReservePct)
        f.reservePctCold = r.double(S.failsafeReservePctCold)
        f.coldBelowC = r.double(S.failsafeColdBelowC)
        f.minTakeoffPct = r.double(S.failsafeMinTakeoffPct)
        f.minTakeoffPctCold = r.double(S.failsafeMinTakeoffPctCold)
        f.coldRadiusM = r.double(S.failsafeColdRadiusM)
        f.windAllowanceMps = r.double(S.failsafeWindAllowanceMps)
        f.cruiseCurrentA = r.double(S.failsafeCruiseCurrentA)
        f.criticalMarginPct = r.double(S.failsafeCriticalMarginPct)
        f.geofenceRadiusM = r.double(S.failsafeGeofenceRadiusM)
        f.ceilingM = r.double(S.failsafeCeilingM)
        f.gnssLostReturnS = r.double(S.failsafeGnssLostReturnS)
        f.autopilotLostS = r.double(S.failsafeAutopilotLostS)
        f.dispatchLostPolicy = r.string(S.failsafeDispatchLost)
        f.dispatchLostS = r.double(S.failsafeDispatchLostS)
        f.batteryLostPolicy = r.string(S.failsafeBatteryLost)
        if f.reservePctCold < f.reservePct {
            r.error("failsafe.reserve_pct_cold", "'failsafe.reserve_pct_cold' (\(formatFixed(f.reservePctCold, decimals: 0))) is below 'failsafe.reserve_pct' (\(formatFixed(f.reservePct, decimals: 0))): the cold reserve must be the larger")
        }
        if f.cruiseAltitudeM > f.ceilingM {
            r.error("flight.cruise_altitude_m", "'flight.cruise_altitude_m' is above 'failsafe.ceiling_m'")
        }
        if f.landFinalBelowM >= f.landSlowBelowM {
            r.error("landing.final_below_m", "'landing.final_below_m' must be below 'landing.slow_below_m'")
        }
        return f
    }
}
