import CLinux

public enum FileError: Error, Equatable {
    case openFailed(path: String, errno: Int32)
    case readFailed(path: String, errno: Int32)
    case tooLarge(path: String, limit: Int)
}

/// Reads a whole file of at most `limit` bytes (config and board files are small; a
/// larger one is an error, not an unbounded allocation).
public func readFile(_ path: String, limit: Int = 256 * 1024) throws(FileError) -> [UInt8] {
    let fd = path.withCString { plumb_open($0, O_RDONLY) }
    if fd < 0 { throw FileError.openFailed(path: path, errno: -fd) }
    defer { _ = plumb_close(fd) }
    var out = [UInt8](repeating: 0, count: limit + 1)
    var total = 0
    while total <= limit {
        let n = out.withUnsafeMutableBytes { (raw: UnsafeMutableRawBufferPointer) -> Int in
            guard let base = raw.baseAddress else { return 0 }
            return plumb_read(fd, base + total, UInt(limit + 1 - total))
        }
        if n == -Int(EINTR) { continue }
        if n < 0 { throw FileError.readFailed(path: path, errno: Int32(-n)) }
        if n == 0 { break }
        total += n
    }
    if total > limit { throw FileError.tooLarge(path: path, limit: limit) }
    out.removeLast(out.count - total)
    return out
}

public func fileExists(_ path: String) -> Bool {
    var mode: UInt32 = 0
    return path.withCString { plumb_stat_mode($0, &mode) } == 0
}

public func describe(_ error: FileError) -> String {
    switch error {
    case .openFailed(let p, let e): return "\(p): cannot open: \(errnoMessage(e))"
    case .readFailed(let p, let e): return "\(p): cannot read: \(errnoMessage(e))"
    case .tooLarge(let p, let limit): return "\(p): larger than \(limit) bytes"
    }
}
