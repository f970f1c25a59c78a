import CLinux

/// The C library's text for an errno value.
public func errnoMessage(_ code: Int32) -> String {
    guard let p = plumb_strerror(code) else { return "errno \(code)" }
    return String(cString: p)
}

