import Foundation
import PlumbCore
import PlumbFlight

/// The downward camera and its detection process, as the daemon sees them: sightings of
/// the nearest landing target (a pad's H, or the H around a station's opening) and of the
/// hanging parcel, taken at a fixed rate, each with noise that grows with range, arriving
/// `latency` (plus jitter) after the frame was taken, stamped with the capture time.
/// Nothing is seen outside the field of view or beyond the detection range.
public struct CameraParams: Equatable, Sendable {
    /// Frames per second; 0 = no camera.
    public var rateHz = 0.0
    public var latencyMs = 80.0
    /// Extra random latency, 0...jitter, ms.
    public var jitterMs = 20.0
    /// Position noise per axis: this plus `noisePerM` × range (1 σ), m.
    public var noiseM = 0.01
    public var noisePerM = 0.003
    /// Full field of view, degrees.
    public var fovDeg = 90.0
    /// The H is detected up to this far away, m.
    public var targetRangeM = 40.0
    /// Probability that a frame yields no detection (rain, glare).
    public var missRate = 0.05

    public init() {}
    public var present: Bool { rateHz > 0 }
}

public final class SimCamera {
    public let params: CameraParams
    private var noise: GaussianSource
    private var rng: SeededRandom
    private var nextCaptureNs: UInt64
    /// Sightings taken and not yet delivered, in arrival order: (arrival, sighting).
    private var queue: [(UInt64, VisionSighting)] = []
    public private(set) var frames = 0
    public private(set) var delivered = 0

    init(_ params: CameraParams, seed: UInt64) {
        self.params = params
        noise = GaussianSource(seed: derivedSeed(seed, SeedTag.camera))
        rng = SeededRandom(seed: derivedSeed(seed, SeedTag.cameraMiss))
        nextCaptureNs = params.present ? UInt64(1e9 / params.rateHz) : .max
        queue.reserveCapacity(32)
    }

    /// Takes the frames due by `nowNs` from the world's truth.
    func capture(world: World, nowNs: UInt64) {
        guard params.present else { return }
        let period = UInt64(1e9 / params.rateHz)
        while nextCaptureNs <= nowNs {
            frames += 1
            let t = nextCaptureNs
            nextCaptureNs += period
            let arrival = t + UInt64((params.latencyMs + params.jitterMs * rng.unit()) * 1e6)
            let p = world.positionNED
            let halfFov = params.fovDeg * Double.pi / 360
            func visible(_ o: Vec3) -> Bool {
                let down = o.d - p.d
                guard down > 0.3 else { return false }
                return atan2(o.horizontalLength, down) <= halfFov
            }
            func sighting(_ kind: VisionSighting.Kind, _ o: Vec3) -> VisionSighting {
                let range = o.length
                let sigma = params.noiseM + params.noisePerM * range
                let off = NED(o.n + sigma * noise.next(), o.e + sigma * noise.next(), o.d + sigma * noise.next())
                return VisionSighting(kind: kind, offset: off, captureNs: t, quality: 90)
            }
            // The nearest target within range and view.
            if rng.unit() >= params.missRate, let target = nearestTarget(world: world, from: p) {
                let o = target - p
                if o.length <= params.targetRangeM && visible(o) { enqueue(arrival, sighting(.target, o)) }
            }
            let parcel = world.parcel
            if parcel.exists, parcel.attached, !parcel.stowed, rng.unit() >= params.missRate {
                let o = parcel.positionNED - p
                if visible(o) { enqueue(arrival, sighting(.parcel, o)) }
            }
        }
    }

    private func enqueue(_ arrival: UInt64, _ s: VisionSighting) {
        var i = queue.count
        while i > 0 && queue[i - 1].0 > arrival { i -= 1 }
        queue.insert((arrival, s), at: i)
    }

    private func nearestTarget(world: World, from p: Vec3) -> Vec3? {
        var best: Vec3? = nil
        var bestD = Double.infinity
        for pad in world.config.site.pads {
            let d = hypot(pad.n - p.n, pad.e - p.e)
            if d < bestD { bestD = d; best = Vec3(pad.n, pad.e, world.groundD(n: pad.n, e: pad.e)) }
        }
        for s in world.config.site.stations {
            let d = hypot(s.n - p.n, s.e - p.e)
            // The H is painted around the opening: its centre is the opening's centre, at roof level.
            if d < bestD { bestD = d; best = Vec3(s.n, s.e, world.groundD(n: s.n, e: s.e)) }
        }
        return best
    }

    /// The sightings that have arrived by `nowNs`, oldest first.
    public func arrived(nowNs: UInt64, into out: inout [VisionSighting]) {
        var k = 0
        while k < queue.count && queue[k].0 <= nowNs { out.append(queue[k].1); k += 1 }
        if k > 0 {
            queue.removeFirst(k)
            delivered += k
        }
    }
}
