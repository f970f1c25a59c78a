import PlumbCore

/// Where the autopilot's local frame is on the earth, learned from GNSS.
///
/// The autopilot flies setpoints in its own local NED frame, whose relation to the earth
/// drifts with its own (non-RTK) position estimate. Each GNSS solution, compared with the
/// autopilot's local position *at the time the solution was true* (latency compensated
/// from a short history), measures `bias = local − ned(reference → gnss)`. The bias moves
/// slowly, so it is low-pass filtered with a time constant that depends on the fix
/// quality: a target on the earth is then `ned(reference → target) + bias` in the
/// autopilot's frame, and the vehicle's error is `local − that`.
public struct FrameEstimator: Equatable {
    public struct Tuning: Equatable {
        /// Filter time constants per fix quality, s.
        public var tauFixedS: Double = 0.4
        public var tauFloatS: Double = 3
        public var tauSingleS: Double = 12
        /// A solution older than this is not fresh.
        public var staleAfterS: Double = 0.5
        public init() {}
    }

    public let reference: GeoPoint
    public var tuning: Tuning
    public private(set) var bias = NED.zero
    public private(set) var initialized = false
    /// Time of the last solution used; 0 = none.
    public private(set) var lastFixNs: UInt64 = 0
    public private(set) var lastQuality: UInt8 = 0
    public private(set) var lastHAccM: Double = 99
    /// GNSS solutions used and refused (no local position at that time, outliers).
    public private(set) var used = 0
    public private(set) var rejected = 0

    // Local position history (fixed capacity): time and position.
    private var histT: [UInt64]
    private var histP: [NED]
    private var histHead = 0
    private var histCount = 0

    public init(reference: GeoPoint, tuning: Tuning = Tuning(), historyCapacity: Int = 64) {
        self.reference = reference
        self.tuning = tuning
        histT = [UInt64](repeating: 0, count: max(4, historyCapacity))
        histP = [NED](repeating: .zero, count: max(4, historyCapacity))
    }

    /// Records the autopilot's local position (call when a new one arrives).
    public mutating func local(_ p: NED, atNs: UInt64) {
        if histCount > 0 {
            let last = (histHead + histT.count - 1) % histT.count
            if histT[last] == atNs { histP[last] = p; return }
            if histT[last] > atNs { return }
        }
        histT[histHead] = atNs
        histP[histHead] = p
        histHead = (histHead + 1) % histT.count
        histCount = min(histCount + 1, histT.count)
    }

    /// The local position at `t`, interpolated; nil if the history does not cover it.
    public func localAt(_ t: UInt64) -> NED? {
        guard histCount > 0 else { return nil }
        let cap = histT.count
        var newer: Int? = nil
        for k in 0..<histCount {
            let i = (histHead + cap - 1 - k) % cap
            if histT[i] <= t {
                guard let j = newer else {
                    // Newer than the newest sample: accept up to 100 ms of extrapolation-free hold.
                    return t - histT[i] <= 100_000_000 ? histP[i] : nil
                }
                let span = Double(histT[j] - histT[i])
                let f = span > 0 ? Double(t - histT[i]) / span : 0
                return histP[i] + (histP[j] - histP[i]) * f
            }
            newer = i
        }
        return nil
    }

    /// Takes one GNSS solution.
    public mutating func gnss(_ fix: GNSSFix) {
        guard fix.usable, let local = localAt(fix.validNs) else {
            rejected += 1
            return
        }
        let measured = local - reference.ned(to: fix.position)
        let tau: Double
        switch fix.carrierSolution {
        case 2: tau = tuning.tauFixedS
        case 1: tau = tuning.tauFloatS
        default: tau = tuning.tauSingleS
        }
        let dt = lastFixNs == 0 ? 0.1 : Math.clamp(Math.seconds(from: lastFixNs, to: fix.validNs), 0.01, 1)
        if !initialized {
            bias = measured
            initialized = true
        } else {
            // Outlier gate: a jump far beyond the solution's own accuracy is not believed
            // unless it persists (the filter still moves a little toward it).
            let jump = (measured - bias).horizontal
            let gate = 5 * max(fix.hAccM, 0.05) + 0.5
            let k = dt / (tau + dt) * (jump > gate ? 0.05 : 1)
            bias = bias + (measured - bias) * k
            if jump > gate { rejected += 1 }
        }
        lastFixNs = fix.validNs
        lastQuality = fix.carrierSolution
        lastHAccM = fix.hAccM
        used += 1
    }

    public func fresh(nowNs: UInt64) -> Bool {
        lastFixNs != 0 && Math.seconds(from: lastFixNs, to: nowNs) < tuning.staleAfterS + 0.2
    }

    /// A point on the earth in the autopilot's local frame.
    public func toLocal(_ p: GeoPoint) -> NED { reference.ned(to: p) + bias }
}

/// The rope and what hangs on it, from the encoder, the load cell and the hook switch,
/// with cross-checks between them.
public struct RopeEstimator: Equatable {
    public private(set) var lengthM: Double = 0
    public private(set) var speedMps: Double = 0
    /// Load-cell tension, low-pass filtered (about 60 ms).
    public private(set) var tensionN: Double = 0
    public private(set) var rawTensionN: Double = 0
    public private(set) var hookLatched: Bool? = nil
    /// Counts of cross-check disagreements, for the log.
    public private(set) var homeDisagreements = 0
    public private(set) var lastNs: UInt64 = 0

    public init() {}

    public mutating func update(_ s: SensorSnapshot) {
        let dt = lastNs == 0 ? 0.01 : Math.clamp(Math.seconds(from: lastNs, to: s.nowNs), 0.001, 0.2)
        lastNs = s.nowNs
        if s.encoderOK {
            lengthM = s.ropeOutM
            speedMps = s.ropeSpeedMps
        }
        if s.tensionOK {
            rawTensionN = s.tensionN
            let k = dt / (0.06 + dt)
            tensionN += (s.tensionN - tensionN) * k
        }
        hookLatched = s.hookLatched
        // The home switch and the encoder must agree near the top.
        if let home = s.drumHome, home, s.encoderOK, s.ropeOutM > 0.3 { homeDisagreements += 1 }
    }
}
