import PlumbCore

/// The hanging parcel as a pendulum under the vehicle, estimated from the camera's
/// sightings: where the parcel is, how fast it swings, and the wind's steady push on it.
///
/// Each sighting is a few centimetres of noise (more on a long rope), and differencing
/// sightings 50 ms apart turns that into a velocity noise of a metre per second, which a
/// swing damper would feed straight back into the swing. This observer instead follows the
/// pendulum's physics, per horizontal axis,
///
///     p̈ = (g/ℓ)·(x − p) + g·ρ·w
///
/// with `p` the parcel, `x` the pivot (the vehicle, known from the autopilot), `ℓ` the
/// hanging length, `ρ` the wind's push per unit of weight (the tangent of the steady rope
/// angle: the parcel's mean drift per metre of rope) and `w` how much of the parcel is in
/// the wind (0 inside a station's shaft). It is a Kalman filter on (p, ṗ, ρ): noise on the
/// acceleration stands for turbulence and what the model leaves out; ρ wanders slowly with
/// the gusts. Both axes share one covariance (same model, same measurement), so a sighting
/// costs a few dozen multiplications and nothing is allocated.
///
/// Times are capture times: the filter runs in the past, at the moment of each frame, and
/// `predict(toNs:)` brings it forward to now with the same model.
public struct ParcelObserver: Equatable {
    public struct Tuning: Equatable {
        /// Sighting noise (1 σ per axis): this plus `noisePerM` × the hanging length, m.
        public var noiseM = 0.03
        public var noisePerM = 0.005
        /// Unmodelled acceleration (turbulence, rope stretch, the vehicle's tilt), spectral
        /// density, m/s² per √Hz.
        public var accelNoise = 0.4
        /// How fast the wind's push may wander (gusts), per √s.
        public var driftNoise = 0.03
        public init() {}
    }

    public var tuning = Tuning()
    /// Estimated at `timeNs`: position (the height is the last sighting's), velocity (n, e)
    /// and the drift ratio (n, e).
    public private(set) var position = NED.zero
    public private(set) var velocity = NED.zero
    public private(set) var driftRatio = NED.zero
    public private(set) var timeNs: UInt64 = 0
    public private(set) var sightings = 0
    /// Covariance of (p, ṗ, ρ), the same for both axes.
    private var P = Sym3()

    public init() {}

    public var started: Bool { sightings > 0 }

    public mutating func reset() {
        let t = tuning
        self = ParcelObserver()
        tuning = t
    }

    /// Takes one sighting: the parcel seen at `seen` (local frame) in the frame taken at
    /// `captureNs`, with the pivot at `pivot` and `hangM` of rope and parcel below it;
    /// `exposure` 0...1 is how much of the parcel is out in the wind. A sighting older than
    /// the last one is ignored; a gap over a second starts the estimate afresh.
    public mutating func take(seen: NED, pivot: NED, hangM: Double, exposure: Double, captureNs: UInt64) {
        guard seen.n.isFinite, seen.e.isFinite, seen.d.isFinite, pivot.n.isFinite, pivot.e.isFinite else { return }
        let ell = max(hangM, 0.5)
        let sigma = tuning.noiseM + tuning.noisePerM * ell
        let r = sigma * sigma
        if sightings == 0 || captureNs <= timeNs || Math.seconds(from: timeNs, to: captureNs) > 1 {
            if sightings > 0 && captureNs <= timeNs { return }
            position = seen
            velocity = .zero
            driftRatio = NED((seen.n - pivot.n) / ell * Math.clamp(exposure, 0, 1), (seen.e - pivot.e) / ell * Math.clamp(exposure, 0, 1), 0)
            P = Sym3(a: r, b: 0.3 * 0.3, c: 0.05 * 0.05)
            timeNs = captureNs
            sightings += 1
            return
        }
        advance(toNs: captureNs, pivot: pivot, hangM: ell, exposure: exposure)
        // Measurement of p: H = [1 0 0].
        let s = P.a + r
        let k0 = P.a / s, k1 = P.ab / s, k2 = P.ac / s
        let yn = seen.n - position.n, ye = seen.e - position.e
        position = NED(position.n + k0 * yn, position.e + k0 * ye, seen.d)
        velocity = NED(velocity.n + k1 * yn, velocity.e + k1 * ye, 0)
        driftRatio = NED(Math.clamp(driftRatio.n + k2 * yn, -1, 1), Math.clamp(driftRatio.e + k2 * ye, -1, 1), 0)
        // P ← (I − K·H)·P, kept symmetric.
        let a = P.a, ab = P.ab, ac = P.ac
        P.a -= k0 * a
        P.ab -= k0 * ab
        P.ac -= k0 * ac
        P.b -= k1 * ab
        P.bc -= k1 * ac
        P.c -= k2 * ac
        sightings += 1
    }

    /// The estimate brought forward to `nowNs` (position and velocity), the pivot held at
    /// `pivot` meanwhile. Does not change the filter.
    public func predict(toNs nowNs: UInt64, pivot: NED, hangM: Double, exposure: Double) -> (position: NED, velocity: NED) {
        var copy = self
        copy.advance(toNs: nowNs, pivot: pivot, hangM: max(hangM, 0.5), exposure: exposure)
        return (copy.position, copy.velocity)
    }

    /// The model from `timeNs` to `toNs` in steps of at most 50 ms (at most 40 steps: two
    /// seconds, beyond which nobody asks).
    private mutating func advance(toNs: UInt64, pivot: NED, hangM ell: Double, exposure: Double) {
        guard toNs > timeNs else { return }
        let g = 9.80665
        let w2 = g / ell
        let gw = g * Math.clamp(exposure, 0, 1)
        var remaining = Math.seconds(from: timeNs, to: toNs)
        var steps = 0
        while remaining > 1e-6 && steps < 40 {
            let dt = min(remaining, 0.05)
            remaining -= dt
            steps += 1
            let an = w2 * (pivot.n - position.n) + gw * driftRatio.n
            let ae = w2 * (pivot.e - position.e) + gw * driftRatio.e
            position.n += velocity.n * dt + 0.5 * an * dt * dt
            position.e += velocity.e * dt + 0.5 * ae * dt * dt
            velocity.n += an * dt
            velocity.e += ae * dt
            // F = [[1 − ½ω²dt², dt, ½g·w·dt²], [−ω²dt, 1, g·w·dt], [0, 0, 1]]
            let f00 = 1 - 0.5 * w2 * dt * dt, f01 = dt, f02 = 0.5 * gw * dt * dt
            let f10 = -w2 * dt, f11 = 1.0, f12 = gw * dt
            P = P.transformed(f00, f01, f02, f10, f11, f12)
            let qa = tuning.accelNoise * tuning.accelNoise
            P.a += qa * dt * dt * dt / 3
            P.ab += qa * dt * dt / 2
            P.b += qa * dt
            P.c += tuning.driftNoise * tuning.driftNoise * dt
        }
        timeNs = toNs
    }
}

/// A symmetric 3×3 matrix [[a, ab, ac], [ab, b, bc], [ac, bc, c]].
struct Sym3: Equatable {
    var a = 0.0, ab = 0.0, ac = 0.0, b = 0.0, bc = 0.0, c = 0.0

    init() {}
    init(a: Double, b: Double, c: Double) {
        self.a = a
        self.b = b
        self.c = c
    }

    /// F·M·Fᵀ for F = [[f00, f01, f02], [f10, f11, f12], [0, 0, 1]].
    func transformed(_ f00: Double, _ f01: Double, _ f02: Double,
                     _ f10: Double, _ f11: Double, _ f12: Double) -> Sym3 {
        // Rows of F·M.
        let m00 = f00 * a + f01 * ab + f02 * ac
        let m01 = f00 * ab + f01 * b + f02 * bc
        let m02 = f00 * ac + f01 * bc + f02 * c
        let m10 = f10 * a + f11 * ab + f12 * ac
        let m11 = f10 * ab + f11 * b + f12 * bc
        let m12 = f10 * ac + f11 * bc + f12 * c
        var r = Sym3()
        r.a = m00 * f00 + m01 * f01 + m02 * f02
        r.ab = m00 * f10 + m01 * f11 + m02 * f12
        r.ac = m02
        r.b = m10 * f10 + m11 * f11 + m12 * f12
        r.bc = m12
        r.c = c
        return r
    }
}
