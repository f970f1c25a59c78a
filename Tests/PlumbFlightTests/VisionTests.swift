import Foundation
import PlumbCore
import PlumbFlight
import Testing

/// The camera's sightings placed in the local frame: latency compensation, the gate
/// against other objects, the hold time, the parcel's velocity and drift.
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

    @Test func parcelVelocityAndDriftFromSightings() {
        // The vehicle hovers at the origin; the parcel swings north-south around a steady
        // drift of 0.8 m east on 10 m of rope: n = 0.5·sin(ωt).
        let f = frame(speed: 0, untilNs: 40_000_000_000)
        var v = VisionTracker()
        let w = (9.80665 / 10.0).squareRoot()
        var t: UInt64 = 100_000_000
        var maxSpeedErr = 0.0
        while t <= 39_000_000_000 {
            let ts = Double(t) / 1e9
            let s = VisionSighting(kind: .parcel, offset: NED(0.5 * sin(w * ts), 0.8, 10), captureNs: t)
            let ok7 = v.take(s, frame: f, expectedTarget: nil, hangM: 10, nowNs: t + 80_000_000)
            #expect(ok7)
            if ts > 5 { maxSpeedErr = max(maxSpeedErr, abs(v.parcelVelocity.n - 0.5 * w * cos(w * ts))) }
            t += 50_000_000
        }
        // The velocity follows the swing (the filter lags it a little)...
        #expect(maxSpeedErr < 0.2)
        // ...and the drift is the mean offset per metre, the swing averaged out.
        #expect(abs(v.parcelDriftRatio.e - 0.08) < 0.005)
        #expect(abs(v.parcelDriftRatio.n) < 0.02)
        // Predicted to the present from its capture time; nothing when too old.
        #expect(v.parcelNow(nowNs: t + 100_000_000, maxAgeS: 0.3) != nil)
        #expect(v.parcelNow(nowNs: t + 2_000_000_000, maxAgeS: 0.3) == nil)
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
