import PlumbCore

/// One sighting from the downward camera's process: where an object was, relative to the
/// camera, at the moment the frame was taken. The camera process rotates its measurement
/// into the autopilot's local north-east-down axes with the attitude of that moment, and
/// stamps it with the capture time on this computer's monotonic clock, so that the
/// latency between the frame and its arrival here (50–200 ms is usual) is known exactly.
public struct VisionSighting: Equatable {
    public enum Kind: UInt8, Equatable {
        /// The landing target: the H of a pad, or the H around a station's opening (its centre).
        case target = 1
        /// The parcel hanging on the rope.
        case parcel = 2
    }

    public var kind: Kind
    /// Object relative to the camera, in the local frame's axes, m.
    public var offset: NED
    /// When the frame was taken (our monotonic clock).
    public var captureNs: UInt64
    /// The camera process's confidence, 0...100.
    public var quality: UInt8

    public init(kind: Kind, offset: NED, captureNs: UInt64, quality: UInt8 = 100) {
        self.kind = kind
        self.offset = offset
        self.captureNs = captureNs
        self.quality = quality
    }
}

/// What the camera told us, turned into positions in the autopilot's local frame.
///
/// - The target: each sighting, placed with the vehicle's position *at capture time* (from
///   the frame estimator's history), says where the target really is; its difference from
///   where GNSS puts it is a correction, low-pass filtered and applied to that target while
///   sightings keep coming. A sighting too far from where GNSS puts the target is another
///   object (or a false detection) and is refused.
/// - The parcel: its position and velocity on the ground's axes, and its mean offset from
///   the vehicle (the steady drift in the wind), for the drop's swing control.
public struct VisionTracker: Equatable {
    public struct Tuning: Equatable {
        /// Sightings older than this on arrival are dropped (the history cannot place them), s.
        public var maxLatencyS: Double = 0.3
        /// The target correction is used this long after the last sighting, s.
        public var holdS: Double = 1.0
        /// A target sighting further than this from where GNSS puts it is refused, m.
        public var gateM: Double = 5.0
        /// Sightings below this quality are ignored.
        public var minQuality: UInt8 = 50
        public init() {}
    }

    public var tuning = Tuning()

    // Target: where the camera puts it in the local frame (filtered), and how far that is
    // from where GNSS put it when last seen.
    public private(set) var targetLocal = NED.zero
    public private(set) var correction = NED.zero
    public private(set) var targetSeenNs: UInt64 = 0
    /// Which target the correction belongs to (its position from GNSS when first seen).
    private var correctionFor = NED.zero
    public private(set) var targetUsed = 0
    public private(set) var refused = 0

    // Parcel: a pendulum observer on its sightings.
    public private(set) var parcel = ParcelObserver()
    /// When the last parcel sighting arrived (not when it was taken).
    public private(set) var parcelSeenNs: UInt64 = 0
    public private(set) var parcelUsed = 0
    /// The parcel's position and velocity at its last sighting (local frame).
    public var parcelPosition: NED { parcel.position }
    public var parcelVelocity: NED { parcel.velocity }
    /// The parcel's steady offset from the vehicle per metre of hanging length in the open
    /// air: the tangent of its mean angle, i.e. its drift in the wind. Kept per metre so
    /// that it holds while the rope lengthens.
    public var parcelDriftRatio: NED { parcel.driftRatio }

    public init() {}

    /// True while a target correction for `expected` (the target as GNSS places it) is in
    /// force: within `holdS` (default `tuning.holdS`) of the last sighting.
    public func targetActive(nowNs: UInt64, expected: NED, holdS: Double? = nil) -> Bool {
        targetSeenNs != 0 && nowNs >= targetSeenNs && Math.seconds(from: targetSeenNs, to: nowNs) <= (holdS ?? tuning.holdS)
            && (correctionFor - expected).horizontal < tuning.gateM
    }

    /// Where the target is, corrected by the camera while it sees it (all three axes: the
    /// camera also measures the height above the H).
    public func target(_ expected: NED, nowNs: UInt64, holdS: Double? = nil) -> NED {
        guard targetActive(nowNs: nowNs, expected: expected, holdS: holdS) else { return expected }
        return targetLocal
    }

    /// The parcel's position and velocity now (the observer brought forward from its last
    /// sighting with the pivot at `pivot`), if seen within `maxAgeS`.
    public func parcelNow(nowNs: UInt64, maxAgeS: Double, pivot: NED, hangM: Double,
                          exposure: Double) -> (position: NED, velocity: NED)? {
        guard parcelSeenNs != 0, parcel.started, nowNs >= parcel.timeNs,
              Math.seconds(from: parcel.timeNs, to: nowNs) <= maxAgeS else { return nil }
        return parcel.predict(toNs: nowNs, pivot: pivot, hangM: hangM, exposure: exposure)
    }

    /// Forgets the parcel (a new lowering starts from a fresh estimate).
    public mutating func resetParcel() {
        parcel.reset()
        parcelSeenNs = 0
    }

    /// Takes one sighting. `expectedTarget`: where GNSS puts the current target (nil: no
    /// target now); `hangM`: how far below the vehicle the parcel's centre hangs now;
    /// `exposure`: how much of the parcel is out in the wind (0 inside a station's shaft).
    /// Returns false when the sighting is refused.
    @discardableResult
    public mutating func take(_ s: VisionSighting, frame: FrameEstimator, expectedTarget: NED?, hangM: Double = 1,
                              exposure: Double = 1, nowNs: UInt64) -> Bool {
        guard s.quality >= tuning.minQuality, s.captureNs <= nowNs,
              Math.seconds(from: s.captureNs, to: nowNs) <= tuning.maxLatencyS,
              s.offset.n.isFinite, s.offset.e.isFinite, s.offset.d.isFinite,
              abs(s.offset.n) < 100, abs(s.offset.e) < 100, abs(s.offset.d) < 200,
              let vehicle = frame.localAt(s.captureNs) else {
            refused += 1
            return false
        }
        let seen = vehicle + s.offset
        switch s.kind {
        case .target:
            guard let expected = expectedTarget else { refused += 1; return false }
            guard (seen - expected).horizontal <= tuning.gateM else { refused += 1; return false }
            let fresh = targetActive(nowNs: nowNs, expected: expected)
            if !fresh {
                targetLocal = seen
                correctionFor = expected
            } else {
                // Each sighting is a few centimetres of noise: a short filter (about 0.2 s
                // at 20 sightings a second). Kept in the local frame, which is continuous:
                // GNSS's own wander does not move a target the camera has placed.
                let dt = Math.clamp(Math.seconds(from: targetSeenNs, to: nowNs), 0.005, 1)
                let k = dt / (0.2 + dt)
                targetLocal = targetLocal + (seen - targetLocal) * k
            }
            correction = targetLocal - expected
            targetSeenNs = nowNs
            targetUsed += 1
        case .parcel:
            let before = parcel.sightings
            parcel.take(seen: seen, pivot: vehicle, hangM: hangM, exposure: exposure, captureNs: s.captureNs)
            guard parcel.sightings > before else { refused += 1; return false }
            parcelSeenNs = nowNs
            parcelUsed += 1
        }
        return true
    }
}

/// The newest sighting of each kind since the last tick: what the daemon's socket (or the
/// HIL's camera) hands the flight code, at most one of each per tick.
public struct VisionInbox: Equatable {
    public var target: VisionSighting? = nil
    public var parcel: VisionSighting? = nil
    public init() {}

    public mutating func put(_ s: VisionSighting) {
        switch s.kind {
        case .target: if (target?.captureNs ?? 0) <= s.captureNs { target = s }
        case .parcel: if (parcel?.captureNs ?? 0) <= s.captureNs { parcel = s }
        }
    }
}
