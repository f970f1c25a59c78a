import CLinux
import PlumbVehicle

// Append-only files in one directory, numbered `PREFIX00000001SUFFIX`, `…02…`: the flight
// recorder's storage. No file grows beyond `fileMaxBytes` (the caller checks `fits` and
// starts a new file first); at most `filesKept` files are kept, the oldest removed when a
// new one starts. Nothing is allocated after `prepare` (the paths are written into a
// buffer made once), so a rotation in flight costs a close, an unlink and an open.
//
// Durability: each `append` is a write(2), so a killed process loses nothing it appended
// (the kernel's page cache outlives it). `writeback` starts the write-out of what was
// appended since the last call without waiting for it (sync_file_range); `finish`
// fdatasyncs. A file's size and the directory entries reach the disk with the file
// system's own journal commit (ext4: every 5 s by default).

public enum RotatingFilesError: Error, Equatable {
    case directory(path: String, errno: Int32)
    case create(path: String, errno: Int32)
    case write(path: String, errno: Int32)
}

public func describe(_ e: RotatingFilesError) -> String {
    switch e {
    case .directory(let p, let errno): return "\(p): cannot use the directory: \(errnoMessage(errno))"
    case .create(let p, let errno): return "\(p): cannot create: \(errnoMessage(errno))"
    case .write(let p, let errno): return "\(p): write failed: \(errnoMessage(errno))"
    }
}

public final class RotatingFiles {
    /// Digits of the sequence number in a file name.
    public static let digits = 8

    public let dir: String
    public let prefix: String
    public let suffix: String
    public let fileMaxBytes: Int
    public let filesKept: Int
    /// Sequence numbers of the files on disk, oldest first (the open one last).
    public private(set) var sequences: [UInt32] = []
    public private(set) var nextSequence: UInt32 = 1
    public private(set) var fileBytes = 0
    public private(set) var prepared = false
    private var fd: Int32 = -1
    private var writebackFrom = 0
    private var pathBuffer: [CChar] = []
    private var digitsAt = 0

    public init(dir: String, prefix: String = "flight-", suffix: String = ".plog", fileMaxBytes: Int, filesKept: Int) {
        self.dir = dir
        self.prefix = prefix
        self.suffix = suffix
        self.fileMaxBytes = fileMaxBytes
        self.filesKept = max(1, filesKept)
    }

    deinit { if fd >= 0 { _ = plumb_close(fd) } }

    public var isOpen: Bool { fd >= 0 }

    /// Whether `n` more bytes fit in the open file.
    public func fits(_ n: Int) -> Bool { fd >= 0 && fileBytes + n <= fileMaxBytes }

    /// The path of file number `sequence`.
    public func path(of sequence: UInt32) -> String {
        var digits = [UInt8](repeating: 48, count: Self.digits)
        var v = sequence
        var i = Self.digits - 1
        while i >= 0 {
            digits[i] = UInt8(48 + v % 10)
            v /= 10
            i -= 1
        }
        return dir + "/" + prefix + String(decoding: digits, as: UTF8.self) + suffix
    }

    /// Creates the directory if it is missing (its parent must exist) and finds the files
    /// already there. `startFile` does this itself the first time.
    public func prepare() throws(RotatingFilesError) {
        let m = dir.withCString { plumb_mkdir($0, 0o750) }
        if m < 0 && m != -EEXIST { throw .directory(path: dir, errno: -m) }
        var err: Int32 = 0
        guard let d = dir.withCString({ plumb_dir_open($0, &err) }) else { throw .directory(path: dir, errno: err) }
        var found: [UInt32] = []
        var name = [CChar](repeating: 0, count: 256)
        while true {
            let n = name.withUnsafeMutableBufferPointer { plumb_dir_next(d, $0.baseAddress, 256) }
            if n <= 0 { break }
            if let s = sequence(inName: name, length: Int(n)) { found.append(s) }
        }
        plumb_dir_close(d)
        found.sort()
        sequences = found
        sequences.reserveCapacity(max(found.count, filesKept) + 1)
        nextSequence = (found.last ?? 0) &+ 1
        if nextSequence == 0 { nextSequence = 1 }
        // The path buffer: DIR/PREFIX########SUFFIX and a NUL.
        pathBuffer = []
        for b in dir.utf8 { pathBuffer.append(CChar(bitPattern: b)) }
        pathBuffer.append(CChar(bitPattern: UInt8(ascii: "/")))
        for b in prefix.utf8 { pathBuffer.append(CChar(bitPattern: b)) }
        digitsAt = pathBuffer.count
        for _ in 0..<Self.digits { pathBuffer.append(CChar(bitPattern: UInt8(ascii: "0"))) }
        for b in suffix.utf8 { pathBuffer.append(CChar(bitPattern: b)) }
        pathBuffer.append(0)
        prepared = true
    }

    private func sequence(inName name: [CChar], length: Int) -> UInt32? {
        let p = Array(prefix.utf8), s = Array(suffix.utf8)
        guard length == p.count + Self.digits + s.count else { return nil }
        for i in 0..<p.count where UInt8(bitPattern: name[i]) != p[i] { return nil }
        for i in 0..<s.count where UInt8(bitPattern: name[p.count + Self.digits + i]) != s[i] { return nil }
        var v: UInt32 = 0
        for i in 0..<Self.digits {
            let c = UInt8(bitPattern: name[p.count + i])
            guard c >= 48 && c <= 57 else { return nil }
            v = v &* 10 &+ UInt32(c - 48)
        }
        return v
    }

    private func setPath(_ sequence: UInt32) {
        var v = sequence
        var i = Self.digits - 1
        while i >= 0 {
            pathBuffer[digitsAt + i] = CChar(bitPattern: UInt8(48 + v % 10))
            v /= 10
            i -= 1
        }
    }

    /// Closes the open file (starting its write-out), removes the oldest files so that
    /// with the new one at most `filesKept` remain, and starts the next file with `header`.
    public func startFile(header: [UInt8]) throws(RotatingFilesError) {
        if !prepared { try prepare() }
        if fd >= 0 {
            writeback()
            _ = plumb_close(fd)
            fd = -1
        }
        while sequences.count >= filesKept {
            setPath(sequences[0])
            // Already gone (removed by hand) is as good as removed.
            _ = pathBuffer.withUnsafeBufferPointer { plumb_unlink($0.baseAddress) }
            sequences.removeFirst()
        }
        var attempts = 0
        while true {
            setPath(nextSequence)
            let r = pathBuffer.withUnsafeBufferPointer { plumb_open_mode($0.baseAddress, O_WRONLY | O_CREAT | O_EXCL | O_APPEND, 0o640) }
            if r >= 0 {
                fd = r
                break
            }
            attempts += 1
            // A file of that number appeared since `prepare` (another writer, or the
            // numbers wrapped round): take the next number.
            if r == -EEXIST && attempts < 16 {
                nextSequence &+= 1
                continue
            }
            throw .create(path: path(of: nextSequence), errno: -r)
        }
        sequences.append(nextSequence)
        nextSequence &+= 1
        if nextSequence == 0 { nextSequence = 1 }
        fileBytes = 0
        writebackFrom = 0
        try append(header)
    }

    /// Appends `bytes` to the open file. The caller keeps within `fileMaxBytes` (see `fits`).
    public func append(_ bytes: [UInt8]) throws(RotatingFilesError) {
        guard fd >= 0 else { throw .write(path: dir, errno: EBADF) }
        var done = 0
        var attempts = 0
        while done < bytes.count {
            let n = bytes.withUnsafeBytes { raw -> Int in
                guard let base = raw.baseAddress else { return 0 }
                return plumb_write(fd, base + done, UInt(raw.count - done))
            }
            if n > 0 {
                done += n
                fileBytes += n
                continue
            }
            attempts += 1
            if (n == -Int(EINTR) || n == -Int(EAGAIN)) && attempts < 8 { continue }
            let code = n < 0 ? Int32(-n) : ENOSPC
            throw .write(path: path(of: sequences.last ?? 0), errno: code)
        }
    }

    /// Starts the write-out of what was appended since the last call; does not wait.
    public func writeback() {
        guard fd >= 0, fileBytes > writebackFrom else { return }
        _ = plumb_writeback_start(fd, Int64(writebackFrom), Int64(fileBytes - writebackFrom))
        writebackFrom = fileBytes
    }

    /// Writes the open file through to the disk (fdatasync): returns how long it took, ns,
    /// or a negative errno.
    @discardableResult
    public func sync() -> Int64 {
        guard fd >= 0 else { return 0 }
        let t0 = plumb_monotonic_ns()
        let r = plumb_fdatasync(fd)
        writebackFrom = fileBytes
        return r < 0 ? Int64(r) : Int64(plumb_monotonic_ns() - t0)
    }

    /// fdatasync and close.
    public func finish() {
        guard fd >= 0 else { return }
        sync()
        _ = plumb_close(fd)
        fd = -1
    }
}

/// Rotating files behind the flight recorder's storage seam (`FlightLogStorage`): what
/// plumbd records into, and what the bench and the tests measure.
public struct RotatingFileLog: FlightLogStorage {
    public let files: RotatingFiles

    public init(files: RotatingFiles) { self.files = files }

    public var isOpen: Bool { files.isOpen }
    public var fileBytes: Int { files.fileBytes }
    public var fileMaxBytes: Int { files.fileMaxBytes }
    public var nextSequence: UInt32 { files.nextSequence }

    public func startFile(header: [UInt8]) throws(FlightLogIOError) {
        do throws(RotatingFilesError) { try files.startFile(header: header) } catch { throw FlightLogIOError(describe(error)) }
    }

    public func append(_ bytes: [UInt8]) throws(FlightLogIOError) {
        do throws(RotatingFilesError) { try files.append(bytes) } catch { throw FlightLogIOError(describe(error)) }
    }

    public func writeback() { files.writeback() }
    public func finish() { files.finish() }
}
