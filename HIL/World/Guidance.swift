// Shared between the world (what the vehicle does) and the simulated autopilot (what it
// was told to do): a small vector type and the guidance an autopilot gives its airframe.

/// A 3-vector in the local NED frame (north, east, down), metres or m/s.
public struct Vec3: Equatable, Sendable {
    public var n: Double
    public var e: Double
    public var d: Double

    public init(_ n: Double, _ e: Double, _ d: Double) {
        self.n = n
        self.e = e
        self.d = d
    }

    public static let zero = Vec3(0, 0, 0)

    public static func + (a: Vec3, b: Vec3) -> Vec3 { Vec3(a.n + b.n, a.e + b.e, a.d + b.d) }
    public static func - (a: Vec3, b: Vec3) -> Vec3 { Vec3(a.n - b.n, a.e - b.e, a.d - b.d) }
    public static func * (a: Vec3, k: Double) -> Vec3 { Vec3(a.n * k, a.e * k, a.d * k) }
    public static func * (k: Double, a: Vec3) -> Vec3 { Vec3(a.n * k, a.e * k, a.d * k) }
    public static func += (a: inout Vec3, b: Vec3) { a = a + b }
    public static func -= (a: inout Vec3, b: Vec3) { a = a - b }

    public var horizontalLength: Double { (n * n + e * e).squareRoot() }
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
