import Foundation
import PlumbCore
import PlumbFlight
import Testing

/// The camera's sightings placed in the local frame: latency compensation, the gate
/// against other objects, the hold time, the parcel observer (swing and drift).
@Suite struct VisionTests {
    /// A vehicle flying north at `speed` m/s from the origin, its local position recorded
    /// every 100 ms up to `untilNs`.
    func frame(speed: Double, untilNs: UInt64) -> FrameEstimator {
        var f = FrameEstimator(reference: GeoPoint(latDeg: 43.8, lonDeg: 125.3, altM: 200), historyCapacity: 512)
        var t: UInt64 = 0
        while t <= untilNs {
            f.local(NED(speed * Double(t) / 1e9, 0, -10), atNs: t)
            t += 100_000_000
        }
        return f
    }

    @Test func targetPlacedWithThePositionAtCaptureTime() {
        // The vehicle moves north at 5 m/s; the H is really at north 2.0 (GNSS says 2.5). A
        // frame taken at 0.40 s (vehicle at 2.0 m) sees it straight below; it arrives at 0.55 s,
        // when the vehicle is at 2.75 m.
        let f = frame(speed: 5, untilNs: 550_000_000)
        var v = VisionTracker()
        let s = VisionSighting(kind: .target, offset: NED(0, 0, 10), captureNs: 400_000_000)
        let gnssTarget = NED(2.5, 0, 0)
        let ok1 = v.take(s, frame: f, expectedTarget: gnssTarget, nowNs: 550_000_000)
        #expect(ok1)
        let t = v.target(gnssTarget, nowNs: 550_000_000)
        #expect(abs(t.n - 2.0) < 1e-6)
        // Placed with the position on arrival instead, it would be off by the 0.75 m flown
        // in the latency: the compensation is what makes the difference.
        #expect(abs((2.75 + s.offset.n) - 2.0) > 0.7)
    }

    @Test func sightingsTooOldOrTooFarAreRefused() {
        let f = frame(speed: 0, untilNs: 2_000_000_000)
        var v = VisionTracker()
        let expected = NED(0, 0, 0)
        // Older than max_latency_s on arrival.
        let old = VisionSighting(kind: .target, offset: NED(0.2, 0, 10), captureNs: 1_000_000_000)
        let ok2 = v.take(old, frame: f, expectedTarget: expected, nowNs: 1_500_000_000)
        #expect(!ok2)
        // Another H 6 m away: beyond the 5 m gate.
        let other = VisionSighting(kind: .target, offset: NED(6, 0, 10), captureNs: 1_900_000_000)
        let ok3 = v.take(other, frame: f, expectedTarget: expected, nowNs: 1_950_000_000)
        #expect(!ok3)
        // Low quality.
        let weak = VisionSighting(kind: .target, offset: NED(0.2, 0, 10), captureNs: 1_900_000_000, quality: 20)
        let ok4 = v.take(weak, frame: f, expectedTarget: expected, nowNs: 1_950_000_000)
        #expect(!ok4)
        // A non-finite offset.
        let nan = VisionSighting(kind: .target, offset: NED(.nan, 0, 10), captureNs: 1_900_000_000)
        let ok5 = v.take(nan, frame: f, expectedTarget: expected, nowNs: 1_950_000_000)
        #expect(!ok5)
        #expect(v.refused == 4)
        #expect(!v.targetActive(nowNs: 1_950_000_000, expected: expected))
        #expect(v.target(expected, nowNs: 1_950_000_000) == expected)
    }

    @Test func correctionHoldsThenLapses() {
        let f = frame(speed: 0, untilNs: 3_000_000_000)
        var v = VisionTracker()
        let expected = NED(10, 10, 0)
        // GNSS is 0.8 m off to the east: the camera sees the H at east 9.2.
        var t: UInt64 = 1_000_000_000
        while t <= 1_500_000_000 {
            let ok6 = v.take(VisionSighting(kind: .target, offset: NED(10, 9.2, 10), captureNs: t - 80_000_000),
                           frame: f, expectedTarget: expected, nowNs: t)
            #expect(ok6)
            t += 50_000_000
        }
        #expect(abs(v.target(expected, nowNs: 1_500_000_000).e - 9.2) < 1e-3)
        // Within hold_s of the last sighting it is still applied; after it, GNSS again.
        #expect(v.targetActive(nowNs: 2_400_000_000, expected: expected))
        #expect(!v.targetActive(nowNs: 2_600_000_000, expected: expected))
        #expect(v.target(expected, nowNs: 2_600_000_000) == expected)
        // A correction belongs to its target: the next leg's target does not inherit it.
        #expect(!v.targetActive(nowNs: 1_600_000_000, expected: NED(50, 10, 0)))
    }

    /// A parcel swinging north-south (amplitude 0.5 m) on 10 m under a vehicle hovering at
    /// the origin, drifted 0.8 m east by the wind, seen 20 times a second with `sigma` of
    /// noise per axis. Returns the tracker and the RMS velocity error (north) after 10 s,
    /// of the observer and of the plain alternative: differencing consecutive sightings,
    /// low-passed over 0.3 s.
    func swing(sigma: Double) -> (VisionTracker, observerRMS: Double, differencedRMS: Double, end: UInt64) {
        let f = frame(speed: 0, untilNs: 40_000_000_000)
        var v = VisionTracker()
        let w = (9.80665 / 10.0).squareRoot()
        var seed: UInt64 = 0x9E37_79B9_7F4A_7C15
        func gauss() -> Double {
            func unit() -> Double {
                seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                return (Double(seed >> 11) + 0.5) / 9_007_199_254_740_992.0
            }
            return (-2 * log(unit())).squareRoot() * cos(2 * Double.pi * unit())
        }
        var t: UInt64 = 100_000_000
        var sumObs = 0.0, sumDiff = 0.0, count = 0.0
        var lastSeen: Double? = nil
        var diffV = 0.0
        while t <= 39_000_000_000 {
            let ts = Double(t) / 1e9
            let n = 0.5 * sin(w * ts) + sigma * gauss()
            let s = VisionSighting(kind: .parcel, offset: NED(n, 0.8 + sigma * gauss(), 10), captureNs: t)
            let ok = v.take(s, frame: f, expectedTarget: nil, hangM: 10, nowNs: t + 80_000_000)
            #expect(ok)
            if let l = lastSeen { diffV += ((n - l) / 0.05 - diffV) * (0.05 / 0.35) }
            lastSeen = n
            if ts > 10 {
                let truth = 0.5 * w * cos(w * ts)
                sumObs += (v.parcelVelocity.n - truth) * (v.parcelVelocity.n - truth)
                sumDiff += (diffV - truth) * (diffV - truth)
                count += 1
            }
            t += 50_000_000
        }
        return (v, (sumObs / count).squareRoot(), (sumDiff / count).squareRoot(), t)
    }

    @Test func parcelSwingAndDriftFromCleanSightings() {
        let (v, rms, _, t) = swing(sigma: 0)
        // The observer follows the swing...
        #expect(rms < 0.03)
        // ...and the drift is the mean offset per metre, the swing not mistaken for it.
        #expect(abs(v.parcelDriftRatio.e - 0.08) < 0.005)
        #expect(abs(v.parcelDriftRatio.n) < 0.01)
        // Brought forward to the present from the last frame along the swing; nothing when too old.
        let w = (9.80665 / 10.0).squareRoot()
        let last = Double(t - 50_000_000) / 1e9
        let now = v.parcelNow(nowNs: t + 200_000_000, maxAgeS: 0.3, pivot: NED(0, 0, -10), hangM: 10, exposure: 1)
        let truth = 0.5 * sin(w * (last + 0.25))
        #expect(now != nil)
        #expect(abs((now?.position.n ?? 99) - truth) < 0.01)
        #expect(abs((now?.position.e ?? 99) - 0.8) < 0.01)
        #expect(v.parcelNow(nowNs: t + 2_000_000_000, maxAgeS: 0.3, pivot: .zero, hangM: 10, exposure: 1) == nil)
    }

    @Test func parcelVelocityFromNoisySightings() {
        // 5 cm of noise per sighting, as a camera gives at 10 m: differencing frames 50 ms
        // apart makes 1.4 m/s of noise, still a fifth of a metre per second after a 0.3 s
        // low-pass (which also lags the swing): a swing damper would feed that back into
        // the swing. The pendulum observer does better than twice as well.
        let (v, rms, differenced, _) = swing(sigma: 0.05)
        #expect(differenced > 0.15)
        #expect(rms < 0.1)
        #expect(rms < differenced / 2)
        #expect(abs(v.parcelDriftRatio.e - 0.08) < 0.01)
    }

    @Test func parcelInsideTheShaftIsNotPushed() {
        // Out of the wind (exposure 0), the model pulls the parcel straight under the pivot,
        // whatever drift it learnt outside: held 1 m west of the pivot for 3 s with a drift
        // ratio of 0.1 east, it swings back towards the pivot, not 1 m east of it.
        var o = ParcelObserver()
        o.take(seen: NED(0, 1.0, 0), pivot: NED(0, 0, -10), hangM: 10, exposure: 1, captureNs: 1_000_000_000)
        let outside = o.predict(toNs: 1_500_000_000, pivot: NED(0, 0, -10), hangM: 10, exposure: 1)
        let inside = o.predict(toNs: 1_500_000_000, pivot: NED(0, 0, -10), hangM: 10, exposure: 0)
        // Started at its drift (ratio 0.1 → equilibrium 1 m east): outside it stays.
        #expect(abs(outside.position.e - 1.0) < 0.01)
        // Inside it falls back toward the pivot: ½·(g/ℓ)·1 m·t² ≈ 0.12 m in 0.5 s.
        #expect(abs(inside.position.e - (1.0 - 0.5 * 0.980665 * 0.25)) < 0.01)
        #expect(inside.velocity.e < -0.4)
    }

    @Test func inboxKeepsTheNewestOfEachKind() {
        var box = VisionInbox()
        box.put(VisionSighting(kind: .parcel, offset: NED(1, 0, 5), captureNs: 200))
        box.put(VisionSighting(kind: .parcel, offset: NED(2, 0, 5), captureNs: 100))
        box.put(VisionSighting(kind: .target, offset: NED(3, 0, 5), captureNs: 50))
        #expect(box.parcel?.offset.n == 1)
        #expect(box.target?.offset.n == 3)
    }
}
