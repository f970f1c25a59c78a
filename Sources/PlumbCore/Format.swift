// Number formatting that works in Embedded Swift, where Float and Double have no
// `description`. Used for log lines, tables and error messages.

/// Fixed-point rendering of `value` with `decimals` digits after the point (0...9).
/// NaN and infinities render as "nan", "inf", "-inf".
public func formatFixed(_ value: Double, decimals: Int) -> String {
    if value.isNaN { return "nan" }
    if value.isInfinite { return value < 0 ? "-inf" : "inf" }
    let places = max(0, min(9, decimals))
    var scale: Double = 1
    for _ in 0..<places { scale *= 10 }
    let negative = value < 0
    let magnitude = negative ? -value : value
    // Beyond 2^63 / scale the integer path would overflow: fall back to scientific-free
    // coarse output, which no caller in this project needs in practice.
    if magnitude * scale >= 9.0e18 { return negative ? "-huge" : "huge" }
    let scaled = UInt64((magnitude * scale).rounded())
    let unit = UInt64(scale)
    let whole = scaled / unit
    var out = negative && scaled != 0 ? "-" : ""
    out += String(whole)
    if places > 0 {
        var frac = String(scaled % unit)
        while frac.utf8.count < places { frac = "0" + frac }
        out += "." + frac
    }
    return out
}

/// Hexadecimal with a `0x` prefix and at least `width` digits.
public func formatHex<T: BinaryInteger>(_ value: T, width: Int = 2) -> String {
    var digits = String(value, radix: 16, uppercase: true)
    while digits.utf8.count < width { digits = "0" + digits }
    return "0x" + digits
}

/// Pads `text` with spaces on the right to `width` characters (ASCII columns).
public func padRight(_ text: String, _ width: Int) -> String {
    var s = text
    var n = s.utf8.count
    while n < width { s += " "; n += 1 }
    return s
}

/// The value of one ASCII hexadecimal digit, or nil.
public func hexDigitValue(_ b: UInt8) -> UInt8? {
    switch b {
    case 0x30...0x39: return b - 0x30
    case 0x41...0x46: return b - 0x41 + 10
    case 0x61...0x66: return b - 0x61 + 10
    default: return nil
    }
}
