import PlumbCore

/// How to fly: heights, speeds, bounds, and every failsafe policy. Defaults are the
/// shipped values (docs/config.md).
public struct FlightConfig: Equatable {
    /// "ardupilot" (GUIDED) or "px4" (OFFBOARD).
    public var autopilot = "ardupilot"
    public var cruiseAltitudeM: Double = 60
    public var cruiseSpeedMps: Double = 12
    /// Horizontal distance to a target at which transit ends, m.
    public var arrivalRadiusM: Double = 1.5

    // Precision landing on an H-pad.
    public var landApproachAltitudeM: Double = 10
    public var landAlignErrorM: Double = 0.25
    public var landAlignHoldS: Double = 1.0
    public var landFastSpeedMps: Double = 1.2
    public var landSlowSpeedMps: Double = 0.5
    public var landFinalSpeedMps: Double = 0.3
    public var landSlowBelowM: Double = 4
    public var landFinalBelowM: Double = 1.2
    /// Horizontal error allowed while descending, per stage, m.
    public var landFastErrorM: Double = 0.5
    public var landSlowErrorM: Double = 0.2
    public var landFinalErrorM: Double = 0.08
    public var landMaxRetries: Int = 3
    /// After the retries: "hover", "return" or "land_here".
    public var landRetryPolicy = "return"
    /// RTK fixed needed to descend below the slow stage.
    public var landRequireRTK = true
    /// How long a descent waits for RTK (or any fresh fix) before going around, s.
    public var landFixWaitS: Double = 10

    // Rope drop.
    public var dropAltitudeM: Double = 12
    public var dropAlignErrorM: Double = 0.2
    public var winchMaxSpeedMps: Double = 1.2
    public var lowerSpeedMps: Double = 1.0
    public var lowerFinalSpeedMps: Double = 0.35
    public var lowerDecelMps2: Double = 0.4
    /// The slow zone begins this far above the station's roof, m.
    public var lowerSlowMarginM: Double = 1.0
    /// Distance from the drum (rope length 0) to the ground below the vehicle's
    /// skids, m: the hook hangs this far below the vehicle's lowest point.
    public var hookBelowSkidsM: Double = 0.25
    /// Height of a parcel box (the rope is longer than the drop by this less), m.
    public var parcelHeightM: Double = 0.4
    /// Drag area (drag coefficient × frontal area) of a parcel box, m²: with the
    /// autopilot's wind estimate it gives how far downwind the parcel hangs.
    public var parcelDragAreaM2: Double = 0.1
    public var airDensityKgM3: Double = 1.25
    /// Touchdown: filtered tension below this share of the hanging weight...
    public var touchdownTensionRatio: Double = 0.35
    /// ...held this long, then confirmed with the drum stopped for this long, s.
    public var touchdownHoldS: Double = 0.08
    public var touchdownConfirmS: Double = 0.08
    /// Touchdown is only believed within this rope length of the expected one, m.
    public var touchdownWindowM: Double = 2.0
    public var releaseVerifyS: Double = 1.0
    public var releaseAttempts: Int = 3
    public var retractSpeedMps: Double = 1.0
    /// Snag: tension above this (N) while reeling in an empty hook...
    public var snagTensionN: Double = 150
    /// ...or the drum not turning this long while commanded, s.
    public var snagStallS: Double = 1.0
    public var snagAttempts: Int = 3
    /// After the attempts, cut the rope (only when the parcel is already released).
    public var snagCutRope = true

    // Failsafes.
    public var reservePct: Double = 20
    public var reservePctCold: Double = 40
    public var coldBelowC: Double = 0
    /// Take-off needs this charge; in the cold, `minTakeoffPctCold`.
    public var minTakeoffPct: Double = 80
    public var minTakeoffPctCold: Double = 95
    /// Winter rule: targets no further than this from home when cold, m.
    public var coldRadiusM: Double = 5000
    /// Head-wind allowance in the energy-to-home estimate, m/s.
    public var windAllowanceMps: Double = 4
    /// Pack current in cruise, A: the energy check before take-off (in flight the
    /// measured current is used).
    public var cruiseCurrentA: Double = 70
    /// Below the reserve by this much more: land where it is.
    public var criticalMarginPct: Double = 8
    public var geofenceRadiusM: Double = 20000
    public var ceilingM: Double = 120
    /// No GNSS for this long in transit: return on the autopilot's own navigation, s.
    public var gnssLostReturnS: Double = 30
    /// The autopilot silent this long: the mission is abandoned to its own failsafe, s.
    public var autopilotLostS: Double = 15
    /// "continue" or "return" when the dispatch link is lost.
    public var dispatchLostPolicy = "continue"
    public var dispatchLostS: Double = 60
    /// "return" or "land" when the battery gauge is lost.
    public var batteryLostPolicy = "return"

    public init() {}

    public static func read(_ r: inout ConfigReader) -> FlightConfig {
        var f = FlightConfig()
        func d(_ key: String, _ v: inout Double, _ range: ClosedRange<Double>) {
            v = r.double(key, in: range, default: v) ?? v
        }
        f.autopilot = r.choice("autopilot.flavor", ["ardupilot", "px4"], default: f.autopilot) ?? f.autopilot
        d("flight.cruise_altitude_m", &f.cruiseAltitudeM, 5...120)
        d("flight.cruise_speed_mps", &f.cruiseSpeedMps, 1...25)
        d("flight.arrival_radius_m", &f.arrivalRadiusM, 0.3...20)
        d("landing.approach_altitude_m", &f.landApproachAltitudeM, 3...50)
        d("landing.align_error_m", &f.landAlignErrorM, 0.05...3)
        d("landing.align_hold_s", &f.landAlignHoldS, 0...10)
        d("landing.fast_speed_mps", &f.landFastSpeedMps, 0.2...3)
        d("landing.slow_speed_mps", &f.landSlowSpeedMps, 0.1...2)
        d("landing.final_speed_mps", &f.landFinalSpeedMps, 0.1...1)
        d("landing.slow_below_m", &f.landSlowBelowM, 1...20)
        d("landing.final_below_m", &f.landFinalBelowM, 0.3...5)
        d("landing.fast_error_m", &f.landFastErrorM, 0.05...5)
        d("landing.slow_error_m", &f.landSlowErrorM, 0.03...3)
        d("landing.final_error_m", &f.landFinalErrorM, 0.02...1)
        f.landMaxRetries = r.int("landing.max_retries", in: 0...10, default: f.landMaxRetries) ?? f.landMaxRetries
        f.landRetryPolicy = r.choice("landing.retry_policy", ["hover", "return", "land_here"], default: f.landRetryPolicy) ?? f.landRetryPolicy
        f.landRequireRTK = r.bool("landing.require_rtk", default: f.landRequireRTK) ?? f.landRequireRTK
        d("landing.fix_wait_s", &f.landFixWaitS, 0...120)
        d("drop.altitude_m", &f.dropAltitudeM, 3...60)
        d("drop.align_error_m", &f.dropAlignErrorM, 0.05...3)
        d("drop.winch_max_speed_mps", &f.winchMaxSpeedMps, 0.1...5)
        d("drop.lower_speed_mps", &f.lowerSpeedMps, 0.1...5)
        d("drop.lower_final_speed_mps", &f.lowerFinalSpeedMps, 0.05...1)
        d("drop.lower_decel_mps2", &f.lowerDecelMps2, 0.05...5)
        d("drop.slow_margin_m", &f.lowerSlowMarginM, 0...10)
        d("drop.hook_below_skids_m", &f.hookBelowSkidsM, -2...2)
        d("drop.parcel_height_m", &f.parcelHeightM, 0...3)
        d("drop.parcel_drag_area_m2", &f.parcelDragAreaM2, 0...2)
        d("drop.air_density_kg_m3", &f.airDensityKgM3, 0.5...1.6)
        d("drop.touchdown_tension_ratio", &f.touchdownTensionRatio, 0.05...0.9)
        d("drop.touchdown_hold_s", &f.touchdownHoldS, 0...2)
        d("drop.touchdown_confirm_s", &f.touchdownConfirmS, 0...2)
        d("drop.touchdown_window_m", &f.touchdownWindowM, 0.2...20)
        d("drop.release_verify_s", &f.releaseVerifyS, 0.1...10)
        f.releaseAttempts = r.int("drop.release_attempts", in: 1...10, default: f.releaseAttempts) ?? f.releaseAttempts
        d("drop.retract_speed_mps", &f.retractSpeedMps, 0.1...5)
        d("drop.snag_tension_n", &f.snagTensionN, 10...5000)
        d("drop.snag_stall_s", &f.snagStallS, 0.2...10)
        f.snagAttempts = r.int("drop.snag_attempts", in: 0...10, default: f.snagAttempts) ?? f.snagAttempts
        f.snagCutRope = r.bool("drop.snag_cut_rope", default: f.snagCutRope) ?? f.snagCutRope
        d("failsafe.reserve_pct", &f.reservePct, 0...90)
        d("failsafe.reserve_pct_cold", &f.reservePctCold, 0...90)
        d("failsafe.cold_below_c", &f.coldBelowC, -40...30)
        d("failsafe.min_takeoff_pct", &f.minTakeoffPct, 0...100)
        d("failsafe.min_takeoff_pct_cold", &f.minTakeoffPctCold, 0...100)
        d("failsafe.cold_radius_m", &f.coldRadiusM, 100...100_000)
        d("failsafe.wind_allowance_mps", &f.windAllowanceMps, 0...20)
        d("failsafe.cruise_current_a", &f.cruiseCurrentA, 1...1000)
        d("failsafe.critical_margin_pct", &f.criticalMarginPct, 0...50)
        d("failsafe.geofence_radius_m", &f.geofenceRadiusM, 50...200_000)
        d("failsafe.ceiling_m", &f.ceilingM, 10...500)
        d("failsafe.gnss_lost_return_s", &f.gnssLostReturnS, 1...600)
        d("failsafe.autopilot_lost_s", &f.autopilotLostS, 1...600)
        f.dispatchLostPolicy = r.choice("failsafe.dispatch_lost", ["continue", "return"], default: f.dispatchLostPolicy) ?? f.dispatchLostPolicy
        d("failsafe.dispatch_lost_s", &f.dispatchLostS, 1...3600)
        f.batteryLostPolicy = r.choice("failsafe.battery_lost", ["return", "land"], default: f.batteryLostPolicy) ?? f.batteryLostPolicy
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
