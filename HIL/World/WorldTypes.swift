// What the world reports (truth for the sensor models and for judging a scenario) and the
// events a scenario can schedule.

/// Something that happens to the world at a fixed simulation time.
public enum WorldEvent: Equatable, Sendable {
    /// A discrete gust (1 − cos profile) on top of the wind.
    case gust(atNs: UInt64, durationS: Double, peakMps: Double, fromDeg: Double)
    /// The receiver loses its fix for `durationS` (nil = for good).
    case gnssLoss(atNs: UInt64, durationS: Double?)
    /// The receiver's solution becomes `mode`; with a duration it returns to the mode it had
    /// before afterwards, without one it stays.
    case gnssMode(atNs: UInt64, mode: GNSSMode, durationS: Double?)
    /// The rope end (and a parcel on it) catches on something and is held where it is,
    /// until `durationS` has passed (nil = no time limit) or the rope has 0.5 m of slack
    /// (rope out exceeds the straight distance from the rope exit to the snag by 0.5 m).
    /// Reeling in against it raises the tension toward the winch's maximum line pull, where
    /// the motor stalls, and pulls the vehicle down as far as its thrust lets it. Ignored
    /// while the rope is in.
    case ropeSnag(atNs: UInt64, durationS: Double?)
    /// The hook jams (does not open) or frees up.
    case hookJam(atNs: UInt64, jammed: Bool)
    /// The mean wind changes.
    case windChange(atNs: UInt64, meanMps: Double, fromDeg: Double)

    public var atNs: UInt64 {
        switch self {
        case .gust(let t, _, _, _), .gnssLoss(let t, _), .gnssMode(let t, _, _), .ropeSnag(let t, _),
             .hookJam(let t, _), .windChange(let t, _, _):
            return t
        }
    }
}

/// One entry of the world's log.
public struct WorldEventRecord: Equatable, Sendable {
    public enum Kind: Equatable, Sendable {
        case touchdown, liftoff, crash, disarmedInFlight
        case parcelTouchdown, parcelLiftoff, parcelReleased, parcelDropped, parcelStowed, parcelPaidOut
        case ropeCut, ropeParted, snagStart, snagEnd, winchStall
        case hookJammed, hookFreed, hookOpenedJammed
        case gnssLoss, gnssRecovered, gnssMode
        case gust, windChange, batteryExhausted
    }

    public var timeNs: UInt64
    public var kind: Kind
    public var text: String

    public init(timeNs: UInt64, kind: Kind, text: String) {
        self.timeNs = timeNs
        self.kind = kind
        self.text = text
    }
}

/// Where and how the vehicle last reached the ground.
public struct VehicleTouchdown: Equatable, Sendable {
    public var positionNED: Vec3
    /// Vertical speed at contact (m/s, downward positive).
    public var verticalSpeedMps: Double
    public var horizontalSpeedMps: Double
    public var timeNs: UInt64
    /// The pad it landed on, if any.
    public var pad: String?
}

/// The battery pack.
public struct BatteryTruth: Equatable, Sendable {
    /// Terminal voltage (V).
    public var voltageV: Double
    /// Current (A), positive = discharge.
    public var currentA: Double
    /// Remaining charge as a fraction of the usable capacity at the pack's temperature.
    public var socFraction: Double
    public var remainingAh: Double
    /// Usable capacity at the pack's temperature (Ah).
    public var fullChargeAh: Double
    public var temperatureC: Double
    /// Mean cell voltage (V).
    public var cellVoltageV: Double
    /// Open-circuit voltage (V) and internal resistance (Ω) now.
    public var openCircuitV: Double
    public var resistanceOhm: Double
    /// Electrical power drawn (W) and energy delivered since start (Wh).
    public var powerW: Double
    public var energyDeliveredWh: Double
    /// Charge drawn since start (Ah).
    public var usedAh: Double
}

/// The winch, as its sensors would see it.
public struct WinchTruth: Equatable, Sendable {
    public var ropeOutM: Double
    /// Positive = paying out (m/s).
    public var ropeSpeedMps: Double
    /// Cumulative drum angle, increasing as rope pays out (rad).
    public var drumAngleRad: Double
    /// Force on the load cell: rope tension plus the hook's weight while it hangs (N).
    public var tensionN: Double
    /// Tension in the rope alone (N).
    public var ropeTensionN: Double
    /// The hook holds a parcel (the latch switch).
    public var hookLatched: Bool
    /// Rope fully in (the drum home switch).
    public var drumHome: Bool
    public var snagged: Bool
    public var brakeEngaged: Bool
    /// The motor is against its torque limit while commanded to reel in.
    public var stalled: Bool
    /// The rope has been cut or has parted.
    public var ropeGone: Bool
    public var hookJammed: Bool
    /// Where the hook is (the parcel's top when one hangs on it).
    public var hookPositionNED: Vec3
    /// When `hookLatched` and `drumHome` last changed (ns).
    public var hookLatchedChangedNs: UInt64
    public var drumHomeChangedNs: UInt64
}

/// The parcel.
public struct ParcelTruth: Equatable, Sendable {
    /// False when the world has no parcel at all.
    public var exists: Bool
    /// Centre of the parcel (m).
    public var positionNED: Vec3
    public var velocityNED: Vec3
    /// On the hook.
    public var attached: Bool
    /// On the hook, drawn up against the rope exit.
    public var stowed: Bool
    /// Resting on the ground, a roof, a pad or a station floor.
    public var onGround: Bool
    /// After its last touchdown: inside a station (through the opening) or not; nil before.
    public var inStation: Bool?
    /// The station it touched down at or on (nearest), if any.
    public var station: String?
    /// Horizontal distance of its centre from the nearest station's opening centre at the
    /// last touchdown (m); nil without stations or before touchdown.
    public var placementErrorM: Double?
    /// Vertical speed at the last touchdown (m/s) and its time.
    public var touchdownSpeedMps: Double?
    public var touchdownNs: UInt64?
    /// When the hook let it go (or the rope was cut or parted).
    public var releaseNs: UInt64?
    /// It was let go while hanging free (not resting on anything): a drop.
    public var releasedWhileHanging: Bool
    /// Height of its bottom above the surface beneath at a drop (m).
    public var dropHeightM: Double?
}

/// One output of the GNSS receiver.
public struct GNSSMeasurement: Equatable, Sendable {
    public var latDeg: Double
    public var lonDeg: Double
    /// Height above the ellipsoid (m).
    public var heightM: Double
    /// Height above mean sea level (m).
    public var heightMSLM: Double
    public var velN: Double
    public var velE: Double
    public var velD: Double
    /// 3 = 3D fix, 0 = no fix.
    public var fixType: UInt8
    /// 0 none, 1 RTK float, 2 RTK fixed.
    public var carrierSolution: UInt8
    public var hAccM: Double
    public var vAccM: Double
    /// Speed accuracy (m/s).
    public var sAccMps: Double
    public var numSV: Int
    /// The measured position in the local NED frame (m), as the latitude/longitude/height say.
    public var positionNED: Vec3
    /// When the position and velocity were true (ns).
    public var measurementTimeNs: UInt64
    /// When the receiver put the solution out (ns).
    public var outputTimeNs: UInt64
    /// The solution type; nil without a fix.
    public var mode: GNSSMode?

    public var hasFix: Bool { fixType >= 2 }
}
