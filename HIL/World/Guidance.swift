import PlumbCore

// Shared between the world (what the vehicle does) and the simulated autopilot (what it
// was told to do): a small vector type and the guidance an autopilot gives its airframe.

/// A 3-vector in the local NED frame (north, east, down), metres or m/s: the flight code's
/// own `NED`, with the few operations the simulation adds.
public typealias Vec3 = NED

extension NED {
    public static func * (k: Double, a: NED) -> NED { a * k }
    public static func += (a: inout NED, b: NED) { a = a + b }
    public static func -= (a: inout NED, b: NED) { a = a - b }
    public var horizontalLength: Double { horizontal }
    public var length: Double { (n * n + e * e + d * d).squareRoot() }
}

/// What the autopilot is currently making the airframe do.
public enum Guidance: Equatable, Sendable {
    /// Disarmed or idle on the ground: no thrust beyond what holds it there.
    case idle
    /// Fly to and hold a position; `velocity` is a feed-forward (zero when none).
    case position(Vec3, velocity: Vec3)
    /// Track a velocity.
    case velocity(Vec3)
    /// Climb vertically to `altitudeM` above home, then hold there.
    case takeoff(altitudeM: Double)
    /// Descend vertically at `rateMps` until on the ground (the autopilot's own land mode).
    case land(rateMps: Double)
}
