// The few libm functions the flight code needs, bound directly so that the same code
// builds for the host and in Embedded Swift (which has no Glibc overlay).

@_silgen_name("cos") func libm_cos(_ x: Double) -> Double
@_silgen_name("sin") func libm_sin(_ x: Double) -> Double
@_silgen_name("atan2") func libm_atan2(_ y: Double, _ x: Double) -> Double
@_silgen_name("exp") func libm_exp(_ x: Double) -> Double

public enum Math {
    public static let pi = 3.141_592_653_589_793
    @inline(__always) public static func cos(_ x: Double) -> Double { libm_cos(x) }
    @inline(__always) public static func sin(_ x: Double) -> Double { libm_sin(x) }
    @inline(__always) public static func atan2(_ y: Double, _ x: Double) -> Double { libm_atan2(y, x) }
    @inline(__always) public static func exp(_ x: Double) -> Double { libm_exp(x) }
    @inline(__always) public static func clamp(_ x: Double, _ lo: Double, _ hi: Double) -> Double {
        x < lo ? lo : (x > hi ? hi : x)
    }
    /// Seconds between two monotonic times (b after a), never negative.
    @inline(__always) public static func seconds(from a: UInt64, to b: UInt64) -> Double {
        b > a ? Double(b - a) * 1e-9 : 0
    }
}

/// A horizontal-plus-vertical vector in a local north-east-down frame (m or m/s).
public struct NED: Equatable, Sendable {
    public var n: Double
    public var e: Double
    public var d: Double

    public init(_ n: Double, _ e: Double, _ d: Double) {
        self.n = n
        self.e = e
        self.d = d
    }

    public static var zero: NED { NED(0, 0, 0) }
    public static func + (a: NED, b: NED) -> NED { NED(a.n + b.n, a.e + b.e, a.d + b.d) }
    public static func - (a: NED, b: NED) -> NED { NED(a.n - b.n, a.e - b.e, a.d - b.d) }
    public static func * (a: NED, k: Double) -> NED { NED(a.n * k, a.e * k, a.d * k) }
    public var horizontal: Double { (n * n + e * e).squareRoot() }
}

/// A WGS-84 position: degrees, metres above the ellipsoid.
public struct GeoPoint: Equatable, Sendable {
    public var latDeg: Double
    public var lonDeg: Double
    public var altM: Double

    public init(latDeg: Double, lonDeg: Double, altM: Double = 0) {
        self.latDeg = latDeg
        self.lonDeg = lonDeg
        self.altM = altM
    }

    /// The north-east-down offset of `other` from this point on the local tangent plane
    /// (WGS-84 radii of curvature at this latitude; below a millimetre of error over 5 km
    /// horizontally, ~2 m at 20 km, far below what the flight needs at those ranges).
    public func ned(to other: GeoPoint) -> NED {
        let a = 6_378_137.0, e2 = 6.694_379_990_14e-3
        let lat = latDeg * Math.pi / 180
        let s = Math.sin(lat)
        let w = (1 - e2 * s * s).squareRoot()
        let rN = a / w                       // prime vertical
        let rM = a * (1 - e2) / (w * w * w)  // meridian
        let dLat = (other.latDeg - latDeg) * Math.pi / 180
        let dLon = (other.lonDeg - lonDeg) * Math.pi / 180
        return NED(dLat * (rM + altM), dLon * (rN + altM) * Math.cos(lat), altM - other.altM)
    }

    /// The point at a north-east-down offset from this one (inverse of `ned(to:)`).
    public func offset(by v: NED) -> GeoPoint {
        let a = 6_378_137.0, e2 = 6.694_379_990_14e-3
        let lat = latDeg * Math.pi / 180
        let s = Math.sin(lat)
        let w = (1 - e2 * s * s).squareRoot()
        let rN = a / w
        let rM = a * (1 - e2) / (w * w * w)
        return GeoPoint(latDeg: latDeg + v.n / (rM + altM) * 180 / Math.pi,
                        lonDeg: lonDeg + v.e / ((rN + altM) * Math.cos(lat)) * 180 / Math.pi,
                        altM: altM - v.d)
    }
}
