import CLinux
import PlumbCore
import PlumbLink

// What the dispatch link keeps on disk: its key (read-only, mode 0600 or stricter) and
// a journal of everything that must survive a crash or a power cut — the epoch of each
// start (so a nonce is never reused), every must-not-lose event until it is
// acknowledged, and the commands already executed (so a retry after a restart is not
// executed again).

public enum KeyFileError: Error, Equatable {
    case openFailed(path: String, errno: Int32)
    /// Group or others may read or write it.
    case tooOpen(path: String, mode: UInt32)
    case badContent(path: String)
}

public func describe(_ e: KeyFileError) -> String {
    switch e {
    case .openFailed(let p, let errno): return "link key \(p): cannot open: \(errnoMessage(errno))"
    case .tooOpen(let p, let mode):
        return "link key \(p) has mode \(String(mode & 0o777, radix: 8)): it must be 600 or stricter (chmod 600 \(p)); refusing to start"
    case .badContent(let p): return "link key \(p): expected 32 raw bytes or 64 hexadecimal characters"
    }
}

/// Reads a link key: 32 raw bytes, or 64 hex characters (a trailing newline allowed).
public func loadLinkKey(path: String, id: UInt8) throws(KeyFileError) -> LinkKey {
    let fd = path.withCString { plumb_open($0, O_RDONLY) }
    if fd < 0 { throw KeyFileError.openFailed(path: path, errno: -fd) }
    defer { _ = plumb_close(fd) }
    var mode: UInt32 = 0
    if plumb_fstat_mode(fd, &mode) < 0 { throw KeyFileError.openFailed(path: path, errno: plumb_errno()) }
    if mode & 0o077 != 0 { throw KeyFileError.tooOpen(path: path, mode: mode) }
    var buf = [UInt8](repeating: 0, count: 130)
    let n = buf.withUnsafeMutableBytes { plumb_read(fd, $0.baseAddress, 130) }
    guard n > 0 else { throw KeyFileError.badContent(path: path) }
    var bytes = Array(buf[0..<n])
    if bytes.count != 32 {
        while let last = bytes.last, last == 0x0A || last == 0x0D || last == 0x20 { bytes.removeLast() }
        guard bytes.count == 64 else { throw KeyFileError.badContent(path: path) }
        var key: [UInt8] = []
        var i = 0
        while i < 64 {
            guard let hi = hexDigitValue(bytes[i]), let lo = hexDigitValue(bytes[i + 1]) else { throw KeyFileError.badContent(path: path) }
            key.append(hi << 4 | lo)
            i += 2
        }
        bytes = key
    }
    guard let key = LinkKey(id: id, bytes: bytes) else { throw KeyFileError.badContent(path: path) }
    return key
}

public enum JournalError: Error, Equatable {
    case openFailed(path: String, errno: Int32)
    case writeFailed(path: String, errno: Int32)
    case full(path: String)
}

public func describe(_ e: JournalError) -> String {
    switch e {
    case .openFailed(let p, let errno): return "journal \(p): cannot open: \(errnoMessage(errno))"
    case .writeFailed(let p, let errno): return "journal \(p): write failed: \(errnoMessage(errno))"
    case .full(let p): return "journal \(p): more unacknowledged events than it may hold"
    }
}

/// The link journal: an append-only file of CRC-guarded records, each written and
/// fsync'd before the daemon acts on it (before an event is first sent, before a
/// command's result is acknowledged, before the first frame of an epoch). Records are
/// rare — state changes, deliveries, commands — so every one is synced; telemetry is
/// never journalled. A torn record at the end (power cut mid-write) is detected by its
/// CRC and cut off. The file is compacted when it grows past `compactBytes`.
///
/// Record: 'J', type, payload length (u8), payload, CRC-32 of type+length+payload (LE).
public final class LinkJournal {
    enum RecordType: UInt8 {
        case epoch = 1       // u32
        case event = 2       // LinkEvent fields (21 bytes)
        case eventAcked = 3  // u32 event id
        case command = 4     // u32 command id, u8 result, u32 epoch, u32 counter of its frame
    }

    public static let maxBytes = 1 << 20
    public static let compactBytes = 64 * 1024
    public static let maxPendingEvents = 1024

    public let path: String
    private var fd: Int32
    public private(set) var epoch: UInt32 = 0
    public private(set) var pendingEvents: [LinkEvent] = []
    public private(set) var executedCommands: [(id: UInt32, result: CommandResult)] = []
    /// Epoch and counter of the frame that carried the last executed command.
    public private(set) var lastCommandFrame: (epoch: UInt32, counter: UInt32)? = nil
    /// Damaged records skipped while replaying (a corrupt sector in the middle).
    public private(set) var skippedBytes = 0
    public private(set) var nextEventID: UInt32 = 1
    public private(set) var size = 0
    /// Bytes cut off the end at opening (a torn write).
    public private(set) var truncatedBytes = 0

    /// Opens (or creates) the journal and replays it.
    public init(path: String) throws(JournalError) {
        self.path = path
        let r = path.withCString { plumb_open_mode($0, O_RDWR | O_CREAT, 0o600) }
        if r < 0 { throw JournalError.openFailed(path: path, errno: -r) }
        fd = r
        try replay()
    }

    deinit { _ = plumb_close(fd) }

    private func readAll() -> [UInt8] {
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        // The file position is at the start right after open.
        while out.count < LinkJournal.maxBytes {
            let n = chunk.withUnsafeMutableBytes { plumb_read(fd, $0.baseAddress, 4096) }
            if n == -Int(EINTR) { continue }
            if n <= 0 { break }
            out.append(contentsOf: chunk[0..<n])
        }
        return out
    }

    private func replay() throws(JournalError) {
        let data = readAll()
        var i = 0
        var good = 0
        // A record that does not check out is skipped byte by byte until the next one
        // that does (CRC-32 makes a false match negligible): a damaged record in the
        // middle must not hide the epochs after it, or an epoch could be used twice.
        while i + 3 <= data.count {
            if let end = validRecord(data, at: i) {
                if let kind = RecordType(rawValue: data[i + 1]) {
                    apply(kind, Array(data[(i + 3)..<(end - 4)]))
                }
                if i > good { skippedBytes += i - good }
                i = end
                good = end
            } else {
                i += 1
            }
        }
        truncatedBytes = data.count - good
        if truncatedBytes > 0 {
            _ = plumb_ftruncate(fd, good)
        }
        size = good
        _ = plumb_lseek_end(fd)
    }

    /// The end of a well-formed record starting at `i`, or nil.
    private func validRecord(_ data: [UInt8], at i: Int) -> Int? {
        guard data[i] == UInt8(ascii: "J") else { return nil }
        let length = Int(data[i + 2])
        let end = i + 3 + length + 4
        guard end <= data.count else { return nil }
        var crc = CRC32()
        for b in data[(i + 1)..<(i + 3 + length)] { crc.update(b) }
        let stored = UInt32(data[end - 4]) | UInt32(data[end - 3]) << 8 | UInt32(data[end - 2]) << 16 | UInt32(data[end - 1]) << 24
        return stored == crc.value ? end : nil
    }

    private func apply(_ kind: RecordType, _ p: [UInt8]) {
        func u32(_ o: Int) -> UInt32 { UInt32(p[o]) | UInt32(p[o + 1]) << 8 | UInt32(p[o + 2]) << 16 | UInt32(p[o + 3]) << 24 }
        switch kind {
        case .epoch:
            if p.count == 4 { epoch = max(epoch, u32(0)) }
        case .event:
            guard p.count == 21, let k = EventKind(rawValue: p[8]) else { return }
            let e = LinkEvent(eventID: u32(0), timeMs: u32(4), kind: k, a: u32(9),
                              b: Int32(bitPattern: u32(13)), c: Int32(bitPattern: u32(17)))
            if !pendingEvents.contains(where: { $0.eventID == e.eventID }) && pendingEvents.count < LinkJournal.maxPendingEvents {
                pendingEvents.append(e)
            }
            nextEventID = max(nextEventID, e.eventID &+ 1)
        case .eventAcked:
            if p.count == 4 {
                let id = u32(0)
                pendingEvents.removeAll { $0.eventID == id }
            }
        case .command:
            guard p.count == 13, let result = CommandResult(rawValue: p[4]) else { return }
            executedCommands.append((u32(0), result))
            let frame = (epoch: u32(5), counter: u32(9))
            if let last = lastCommandFrame, last.epoch > frame.epoch || (last.epoch == frame.epoch && last.counter > frame.counter) {
            } else {
                lastCommandFrame = frame
            }
            if executedCommands.count > DroneLink.rememberedCommands { executedCommands.removeFirst() }
        }
    }

    private func append(_ kind: RecordType, _ payload: [UInt8]) throws(JournalError) {
        var record: [UInt8] = [UInt8(ascii: "J"), kind.rawValue, UInt8(payload.count)] + payload
        var crc = CRC32()
        for b in record[1...] { crc.update(b) }
        let c = crc.value
        record += [UInt8(c & 0xFF), UInt8((c >> 8) & 0xFF), UInt8((c >> 16) & 0xFF), UInt8(c >> 24)]
        let n = record.withUnsafeBytes { plumb_write(fd, $0.baseAddress, UInt($0.count)) }
        if n != record.count { throw JournalError.writeFailed(path: path, errno: n < 0 ? Int32(-n) : EIO) }
        let s = plumb_fsync(fd)
        if s < 0 { throw JournalError.writeFailed(path: path, errno: -s) }
        size += record.count
        apply(kind, payload)
    }

    private func le32(_ v: UInt32) -> [UInt8] {
        [UInt8(v & 0xFF), UInt8((v >> 8) & 0xFF), UInt8((v >> 16) & 0xFF), UInt8(v >> 24)]
    }

    /// Starts a new epoch: persisted before the caller sends any frame under it.
    public func beginEpoch() throws(JournalError) -> UInt32 {
        let next = epoch &+ 1
        try append(.epoch, le32(next))
        return next
    }

    /// Journals a must-not-lose event; returns it with its id.
    public func record(timeMs: UInt32, kind: EventKind, a: UInt32 = 0, b: Int32 = 0, c: Int32 = 0) throws(JournalError) -> LinkEvent {
        guard pendingEvents.count < LinkJournal.maxPendingEvents else { throw JournalError.full(path: path) }
        let e = LinkEvent(eventID: nextEventID, timeMs: timeMs, kind: kind, a: a, b: b, c: c)
        try append(.event, le32(e.eventID) + le32(e.timeMs) + [e.kind.rawValue] + le32(e.a)
                   + le32(UInt32(bitPattern: e.b)) + le32(UInt32(bitPattern: e.c)))
        try compactIfLarge()
        return e
    }

    public func acknowledged(eventID: UInt32) throws(JournalError) {
        guard pendingEvents.contains(where: { $0.eventID == eventID }) else { return }
        try append(.eventAcked, le32(eventID))
        try compactIfLarge()
    }

    /// A command's decision, with the epoch and counter of the frame that carried it.
    public func executed(commandID: UInt32, result: CommandResult, frameEpoch: UInt32, frameCounter: UInt32) throws(JournalError) {
        try append(.command, le32(commandID) + [result.rawValue] + le32(frameEpoch) + le32(frameCounter))
        try compactIfLarge()
    }

    /// Rewrites the journal with only what is still needed (epoch, pending events, the
    /// remembered commands): to a temporary file, fsync, rename, fsync the directory.
    private func compactIfLarge() throws(JournalError) {
        guard size > LinkJournal.compactBytes else { return }
        let tmp = path + ".tmp"
        let t = tmp.withCString { plumb_open_mode($0, O_RDWR | O_CREAT | O_TRUNC, 0o600) }
        if t < 0 { throw JournalError.openFailed(path: tmp, errno: -t) }
        let old = fd
        fd = t
        let keepEpoch = epoch
        let keepEvents = pendingEvents
        let keepCommands = executedCommands
        let keepFrame = lastCommandFrame ?? (0, 0)
        pendingEvents = []
        executedCommands = []
        size = 0
        do {
            try append(.epoch, le32(keepEpoch))
            for e in keepEvents {
                try append(.event, le32(e.eventID) + le32(e.timeMs) + [e.kind.rawValue] + le32(e.a)
                           + le32(UInt32(bitPattern: e.b)) + le32(UInt32(bitPattern: e.c)))
            }
            for c in keepCommands {
                try append(.command, le32(c.id) + [c.result.rawValue] + le32(keepFrame.epoch) + le32(keepFrame.counter))
            }
        } catch {
            _ = plumb_close(t)
            fd = old
            throw error
        }
        let r = tmp.withCString { from in path.withCString { plumb_rename(from, $0) } }
        if r < 0 {
            _ = plumb_close(t)
            fd = old
            throw JournalError.writeFailed(path: path, errno: -r)
        }
        _ = path.withCString { plumb_fsync_dir_of($0) }
        _ = plumb_close(old)
    }
}
