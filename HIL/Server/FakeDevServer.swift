// The simulator's end of the faked `/dev` (HIL/preload/PROTOCOL.md, version 1): the I2C buses,
// GPIO chips and clock that `plumbfake.so` forwards from the unchanged daemon (and from
// libgpiod's and i2c-tools' programs) over a Unix stream socket.
//
// Lockstep contract. The runner owns the loop; the server never moves time by itself:
// 1. `serveUntilAllSleep(timeoutMs:)` accepts connections and answers requests until every
//    connected client is blocked in `SLEEP_UNTIL`, and returns the earliest deadline.
// 2. The runner steps the world up to a time of its choosing (at most that deadline), changing
//    models and input lines as it goes, then calls `advance(toNs:)`: time moves, doorbells ring
//    for new edge events (waking the sleep of the line's owner) and every sleep whose deadline
//    has come is answered.
// 3. When the runner has given a client other input (a UDP datagram, serial bytes), it calls
//    `wakeAll()`: the library looks at the program's fds only between sleeps.
// A client woken 1000 times in a row without time moving or one of its fds becoming ready
// ends its wait with EINTR (the library's stall guard): wake only to deliver something.
// The server is single-threaded: call it from one thread only.

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

// MARK: - Configuration

/// One line of a simulated GPIO chip: the world drives an input, the board drives an output.
/// The line's name (shown by `gpioinfo`, looked up by libgpiod) is the model line's `name`.
///
/// Lines start as inputs, as after a reset. The board may read an output line (it reads back
/// the level it drives) but not drive an input line (`EINVAL`: the world drives it), nor ask
/// for edge events on an output line. While the board holds an event request on an input
/// line, the server sets the line's `edgeSelection` to the edges asked for (restored on
/// release) and takes the line's queued events at every delivery; the events of a line with no
/// event request are discarded.
public enum FakeLine {
    case input(SimulatedInputLine)
    case output(SimulatedOutputLine)

    public var name: String {
        switch self {
        case .input(let line): return line.name
        case .output(let line): return line.name
        }
    }
}

/// A simulated `/dev/gpiochipN`.
public struct FakeChip {
    /// N in `/dev/gpiochipN`.
    public var number: UInt8
    /// The chip's label (`gpiodetect` shows it; at most 31 bytes are sent).
    public var label: String
    /// 1...64 lines, by offset.
    public var lines: [FakeLine]

    public init(number: UInt8, label: String, lines: [FakeLine]) {
        self.number = number
        self.label = label
        self.lines = lines
    }
}

/// Counters of one simulated I2C bus.
public struct I2CBusStats: Equatable, Sendable {
    /// `I2C_TRANSFER` requests addressed to this bus (combined transactions).
    public var transfers = 0
    /// Model transactions they were split into (write, then a read after a repeated start).
    public var transactions = 0
    public var bytesWritten = 0
    public var bytesRead = 0
    /// Transactions not acknowledged (no device at the address, or the model NACKed).
    public var nacks = 0
    /// Transactions that found the bus stuck.
    public var timeouts = 0

    public init() {}
}

/// A process connected to the server.
public struct FakeDevClient: Equatable, Sendable {
    public var pid: Int32
    /// The program's short name as sent in `HELLO` (empty before `HELLO`).
    public var program: String
    /// Deadline (simulation ns) of its outstanding `SLEEP_UNTIL`; `UInt64.max` = none given;
    /// nil when it is not sleeping.
    public var sleepDeadlineNs: UInt64?
}

public enum FakeDevServerError: Error, Equatable {
    case badConfiguration(String)
    /// A socket call failed while setting up the listening socket.
    case socket(call: String, errno: Int32)
}

// MARK: - Server

/// The simulator's side of the plumbfake protocol, driven in lockstep by a runner (see the
/// contract at the top of this file).
public final class FakeDevServer {
    /// What a Raspberry Pi's `i2c-bcm2835` adapter reports: `I2C_FUNC_I2C | I2C_FUNC_SMBUS_EMUL`
    /// (no SMBus block read or block process call: it cannot do `I2C_M_RECV_LEN`; no
    /// 10-bit addresses, no protocol mangling).
    public static let raspberryPiI2CFuncs: UInt32 = 0x0EFF_0009

    /// How `serveUntilAllSleep` ended.
    public enum ServeResult: Equatable, Sendable {
        /// Every connected client is blocked in `SLEEP_UNTIL`; the earliest deadline, nil when
        /// none of them gave one (they wait for input only).
        case allSleeping(earliestDeadlineNs: UInt64?)
        /// Nobody connected before the timeout.
        case noClients
        /// Clients are connected but not all of them were asleep when the timeout passed.
        case timeout
        /// A client went away (its GPIO lines are free again); `remaining` are still connected.
        case clientDisconnected(remaining: Int)
    }

    public let socketPath: String
    public let virtualClock: Bool
    public let realtimeBaseNs: UInt64
    public let i2cFuncs: UInt32
    /// Simulation time (ns). Moves only through `advance(toNs:)`, never backwards.
    public private(set) var nowNs: UInt64
    /// Requests answered or deferred, all connections together (`CANCEL_SLEEP` not counted).
    public private(set) var requestCount = 0
    /// `SLEEP_UNTIL` requests received.
    public private(set) var sleepCount = 0
    /// Clients that have gone away since the server started.
    public private(set) var disconnectCount = 0
    /// Protocol problems and socket failures are reported here (default: standard error).
    public var log: (String) -> Void = { message in
        let line = Array("FakeDevServer: \(message)\n".utf8)
        _ = line.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
    }

    private var listenFD: Int32 = -1
    private var socketIdentity: (dev: UInt64, ino: UInt64)?
    private var connections: [Connection] = []
    private let buses: [BusState]
    private let chips: [ChipState]
    private let helloBody: [UInt8]
    private var nextHandleID: UInt32 = 1
    private var unreportedDisconnects = 0
    private var pollSet: [pollfd] = []
    /// Response under construction: header, status and time, then the body.
    private let tx: UnsafeMutableRawBufferPointer
    private var txLen = 0
    /// Control-message space for passing one descriptor.
    private let control: UnsafeMutableRawBufferPointer
    private var writeScratch: [UInt8] = []
    // The messages of the I2C_TRANSFER being served.
    private var msgAddr = [UInt16](repeating: 0, count: Wire.maxI2CMessages)
    private var msgFlags = [UInt16](repeating: 0, count: Wire.maxI2CMessages)
    private var msgLen = [Int](repeating: 0, count: Wire.maxI2CMessages)

    /// Creates the listening socket at `socketPath` (an old socket there is replaced).
    /// - Parameters:
    ///   - buses: bus number N (`/dev/i2c-N`) → the models on it (at most 16 buses).
    ///   - i2cFuncs: the `I2C_FUNCS` bits every bus reports; messages with flags they do not
    ///     cover (10-bit, RECV_LEN, NOSTART, protocol mangling) fail with EOPNOTSUPP.
    ///   - chips: at most 16 chips of 1...64 lines.
    ///   - virtualClock: the `VCLOCK` flag: the program's clock and sleeps follow `nowNs`.
    ///   - realtimeBaseNs: ns since the Unix epoch at simulation time 0 (`CLOCK_REALTIME`).
    ///   - startNs: the initial simulation time.
    public init(socketPath: String, buses: [UInt8: [any I2CDeviceModel]],
                i2cFuncs: UInt32 = FakeDevServer.raspberryPiI2CFuncs, chips: [FakeChip],
                virtualClock: Bool, realtimeBaseNs: UInt64, startNs: UInt64 = 0) throws {
        let pathBytes = Array(socketPath.utf8)
        guard !pathBytes.isEmpty, pathBytes.count <= Wire.maxSocketPath, !pathBytes.contains(0) else {
            throw FakeDevServerError.badConfiguration("socket path must be 1...\(Wire.maxSocketPath) bytes: \(socketPath)")
        }
        guard buses.count <= Wire.maxBuses else {
            throw FakeDevServerError.badConfiguration("\(buses.count) buses, at most \(Wire.maxBuses)")
        }
        guard chips.count <= Wire.maxChips else {
            throw FakeDevServerError.badConfiguration("\(chips.count) chips, at most \(Wire.maxChips)")
        }
        var seenChips = Set<UInt8>()
        for chip in chips {
            guard (1...Wire.maxLines).contains(chip.lines.count) else {
                throw FakeDevServerError.badConfiguration("gpiochip\(chip.number) has \(chip.lines.count) lines, must be 1...\(Wire.maxLines)")
            }
            guard seenChips.insert(chip.number).inserted else {
                throw FakeDevServerError.badConfiguration("gpiochip\(chip.number) given twice")
            }
        }
        self.socketPath = socketPath
        self.virtualClock = virtualClock
        self.realtimeBaseNs = realtimeBaseNs
        self.i2cFuncs = i2cFuncs
        self.nowNs = startNs
        self.buses = buses.keys.sorted().map { BusState(number: $0, models: buses[$0] ?? []) }
        self.chips = chips.map(ChipState.init)

        var hello: [UInt8] = []
        Wire.append16(&hello, Wire.version)
        Wire.append16(&hello, virtualClock ? Wire.flagVClock : 0)
        Wire.append64(&hello, realtimeBaseNs)
        hello.append(UInt8(self.buses.count))
        for bus in self.buses {
            hello.append(bus.number)
            Wire.append32(&hello, i2cFuncs)
        }
        hello.append(UInt8(self.chips.count))
        for chip in self.chips {
            hello.append(chip.number)
            Wire.appendString(&hello, chip.label)
            hello.append(UInt8(chip.lines.count))
            for line in chip.lines { Wire.appendString(&hello, line.kind.name) }
        }
        helloBody = hello

        tx = .allocate(byteCount: Wire.header + Wire.maxPayload, alignment: 8)
        control = .allocate(byteCount: Wire.controlSpace, alignment: MemoryLayout<Int>.alignment)
        writeScratch.reserveCapacity(Wire.maxI2CData)
        pollSet.reserveCapacity(Wire.maxConnections + 1)
        // Every property is set: if this throws, deinit runs and frees the buffers.
        try listen(on: pathBytes)
    }

    deinit {
        close()
        tx.deallocate()
        control.deallocate()
    }

    /// Closes every connection (their GPIO handles are released), stops listening and removes
    /// the socket file. Safe to call more than once.
    public func close() {
        for conn in connections { drop(conn, reason: nil) }
        sweep()
        unreportedDisconnects = 0
        guard listenFD >= 0 else { return }
        _ = Glibc.close(listenFD)
        listenFD = -1
        // Remove the socket file only if it is still the one this server bound.
        var st = stat()
        if let id = socketIdentity, lstat(socketPath, &st) == 0,
           UInt64(st.st_dev) == id.dev, UInt64(st.st_ino) == id.ino {
            unlink(socketPath)
        }
        socketIdentity = nil
    }

    // MARK: Runner API

    /// Accepts connections and answers requests until every connected client has a
    /// `SLEEP_UNTIL` outstanding, a client disconnects, or `timeoutMs` of real time pass
    /// (negative: no limit; 0: only what is already waiting). Never moves simulation time.
    public func serveUntilAllSleep(timeoutMs: Int) -> ServeResult {
        guard listenFD >= 0 else { return .noClients }
        deliverEdges()
        let startNs = Self.realMonotonicNs()
        var polled = false
        while true {
            sweep()
            if unreportedDisconnects > 0 {
                unreportedDisconnects = 0
                return .clientDisconnected(remaining: connections.count)
            }
            let allAsleep = !connections.isEmpty && connections.allSatisfy { $0.sleepSeq != nil }
            let elapsedMs = Int((Self.realMonotonicNs() - startNs) / 1_000_000)
            if !allAsleep && polled && timeoutMs >= 0 && elapsedMs >= timeoutMs {
                return connections.isEmpty ? .noClients : .timeout
            }
            let waitMs: Int32
            if allAsleep {
                waitMs = 0          // only take what is already waiting (a CANCEL_SLEEP, a connection)
            } else if timeoutMs < 0 {
                waitMs = -1
            } else {
                waitMs = Int32(clamping: max(0, timeoutMs - elapsedMs))
            }
            pollSet.removeAll(keepingCapacity: true)
            pollSet.append(pollfd(fd: listenFD, events: Int16(POLLIN), revents: 0))
            for conn in connections { pollSet.append(pollfd(fd: conn.fd, events: Int16(POLLIN), revents: 0)) }
            let ready = poll(&pollSet, nfds_t(pollSet.count), waitMs)
            polled = true
            if ready < 0 {
                if errno == EINTR { continue }
                log("poll: \(Self.describe(errno))")
                return connections.isEmpty ? .noClients : .timeout
            }
            if ready == 0 {
                if allAsleep { return .allSleeping(earliestDeadlineNs: earliestDeadline()) }
                continue
            }
            // The poll set follows `connections` by index; nothing is removed before `sweep`.
            var progress = false
            let count = connections.count
            for index in 0..<count where pollSet[index + 1].revents != 0 {
                let conn = connections[index]
                if !conn.dead && service(conn) { progress = true }
            }
            if pollSet[0].revents != 0 && acceptPending() { progress = true }
            // A listener that stays readable while accept fails (no fds left) must not spin.
            if allAsleep && !progress && unreportedDisconnects == 0 {
                return .allSleeping(earliestDeadlineNs: earliestDeadline())
            }
        }
    }

    /// Sets simulation time to `toNs` (never backwards), rings the doorbells of input lines
    /// with new edge events (waking their owners) and answers every `SLEEP_UNTIL` whose
    /// deadline has been reached. Returns the number of sleeps answered.
    @discardableResult
    public func advance(toNs: UInt64) -> Int {
        if toNs > nowNs { nowNs = toNs }
        var answered = deliverEdges()
        for conn in connections where !conn.dead {
            if let seq = conn.sleepSeq, conn.sleepDeadline <= nowNs {
                answerSleep(conn, seq: seq)
                answered += 1
            }
        }
        sweep()
        return answered
    }

    /// Answers every outstanding `SLEEP_UNTIL` at the current time (after ringing doorbells
    /// for new edge events). Returns the number of sleeps answered.
    @discardableResult
    public func wakeAll() -> Int {
        var answered = deliverEdges()
        for conn in connections where !conn.dead {
            if let seq = conn.sleepSeq {
                answerSleep(conn, seq: seq)
                answered += 1
            }
        }
        sweep()
        return answered
    }

    /// Moves new edge events of the input lines to the event handles that asked for them,
    /// one doorbell byte per event (at most 16 queued per handle, like the kernel), and wakes
    /// the sleeping owners. `advance`, `wakeAll` and every `serveUntilAllSleep` call do this
    /// first. Events carry their simulation time under `VCLOCK`, otherwise the real
    /// `CLOCK_MONOTONIC` of their delivery (the program's clock). Returns the sleeps answered.
    @discardableResult
    public func deliverEdges() -> Int {
        var rang = false
        for chip in chips {
            for line in chip.lines {
                guard case .input(let input) = line.kind, input.pendingEventCount > 0 else { continue }
                let events = input.readEvents(max: input.pendingEventCount)
                guard let handle = line.owner, handle.eventFlags != 0, !line.isOut, handle.bell >= 0 else { continue }
                for event in events {
                    let logicalRising = (event.edge == .rising) != handle.activeLow
                    let id: UInt32 = logicalRising ? Wire.eventRising : Wire.eventFalling
                    guard handle.eventFlags & id != 0 else { continue }
                    let stamp = virtualClock ? event.timestampNs : Self.realMonotonicNs()
                    guard handle.queue.push(timestampNs: stamp, id: id) else { continue }
                    var byte: UInt8 = 1
                    _ = send(handle.bell, &byte, 1, Int32(MSG_DONTWAIT | MSG_NOSIGNAL))
                    handle.conn.rung = true
                    rang = true
                }
            }
        }
        guard rang else { return 0 }
        var answered = 0
        for conn in connections where conn.rung {
            conn.rung = false
            if !conn.dead, let seq = conn.sleepSeq {
                answerSleep(conn, seq: seq)
                answered += 1
            }
        }
        return answered
    }

    // MARK: Inspection

    public var clientCount: Int { connections.count }

    public var clients: [FakeDevClient] {
        connections.map { FakeDevClient(pid: $0.pid, program: $0.program,
                                        sleepDeadlineNs: $0.sleepSeq == nil ? nil : $0.sleepDeadline) }
    }

    /// Counters of bus N, nil when the server has no such bus.
    public func i2cStats(bus: UInt8) -> I2CBusStats? {
        buses.first { $0.number == bus }?.stats
    }

    /// Whether a client holds the line (as a value or event handle).
    public func isLineRequested(chip: UInt8, offset: Int) -> Bool {
        guard let c = chips.first(where: { $0.number == chip }), c.lines.indices.contains(offset) else { return false }
        return c.lines[offset].owner != nil
    }

    /// The consumer label of a requested line; nil when it is free.
    public func lineConsumer(chip: UInt8, offset: Int) -> String? {
        guard let c = chips.first(where: { $0.number == chip }), c.lines.indices.contains(offset),
              let owner = c.lines[offset].owner else { return nil }
        return String(decoding: owner.consumer, as: UTF8.self)
    }

    // MARK: - Sockets

    private func listen(on path: [UInt8]) throws {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue | SOCK_CLOEXEC.rawValue | SOCK_NONBLOCK.rawValue), 0)
        guard fd >= 0 else { throw FakeDevServerError.socket(call: "socket", errno: errno) }
        var st = stat()
        if lstat(socketPath, &st) == 0, st.st_mode & S_IFMT == S_IFSOCK { unlink(socketPath) }
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in
            for (i, byte) in path.enumerated() { raw[i] = byte }
        }
        let bound = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard bound == 0 else {
            let e = errno
            _ = Glibc.close(fd)
            throw FakeDevServerError.socket(call: "bind \(socketPath)", errno: e)
        }
        guard Glibc.listen(fd, 16) == 0 else {
            let e = errno
            _ = Glibc.close(fd)
            unlink(socketPath)
            throw FakeDevServerError.socket(call: "listen", errno: e)
        }
        if lstat(socketPath, &st) == 0 { socketIdentity = (UInt64(st.st_dev), UInt64(st.st_ino)) }
        listenFD = fd
    }

    /// Accepts the connections waiting; true when any was taken (or refused).
    private func acceptPending() -> Bool {
        var took = false
        for _ in 0..<Wire.maxConnections {
            let fd = accept(listenFD, nil, nil)
            if fd < 0 {
                if errno == EINTR { continue }
                return took     // EAGAIN: nothing more waiting
            }
            took = true
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)     // programs the runner starts must not inherit it
            guard connections.count < Wire.maxConnections else {
                log("more than \(Wire.maxConnections) connections, refusing one")
                _ = Glibc.close(fd)
                continue
            }
            // A client that stops reading must not stall the simulation forever.
            var timeout = timeval(tv_sec: 5, tv_usec: 0)
            _ = setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            connections.append(Connection(fd: fd))
        }
        return took
    }

    /// Reads what a client sent and answers every complete request in it. True when bytes
    /// came in or the connection ended.
    private func service(_ conn: Connection) -> Bool {
        var progress = false
        for _ in 0..<8 {
            if conn.rxEnd == Connection.rxCapacity {
                guard conn.compact() else {
                    drop(conn, reason: "receive buffer full")
                    return true
                }
            }
            let space = Connection.rxCapacity - conn.rxEnd
            let n = recv(conn.fd, conn.rx.baseAddress! + conn.rxEnd, space, Int32(MSG_DONTWAIT))
            if n == 0 {
                drop(conn, reason: nil)
                return true
            }
            if n < 0 {
                let e = errno
                if e == EINTR { continue }
                if e == EAGAIN || e == EWOULDBLOCK { return progress }
                drop(conn, reason: "receive: \(Self.describe(e))")
                return true
            }
            progress = true
            conn.rxEnd += n
            parseFrames(conn)
            if conn.dead || n < space { return true }
        }
        return progress
    }

    private func parseFrames(_ conn: Connection) {
        while !conn.dead {
            let available = conn.rxEnd - conn.rxStart
            guard available >= Wire.header else { break }
            let frame = UnsafeRawBufferPointer(rebasing: conn.rx[conn.rxStart..<conn.rxEnd])
            let length = Int(Wire.load32(frame, 0))
            let type = Wire.load16(frame, 4)
            let seq = Wire.load16(frame, 6)
            guard length <= Wire.maxPayload else {
                drop(conn, reason: "\(conn.label): frame of \(length) bytes, closing")
                return
            }
            guard available >= Wire.header + length else {
                // Make room for the rest of this frame at the end of the buffer.
                if Connection.rxCapacity - conn.rxStart < Wire.header + length { _ = conn.compact() }
                break
            }
            let payload = UnsafeRawBufferPointer(rebasing: frame[Wire.header..<(Wire.header + length)])
            conn.rxStart += Wire.header + length
            handle(conn, type: type, seq: seq, payload: payload)
        }
        if conn.rxStart == conn.rxEnd {
            conn.rxStart = 0
            conn.rxEnd = 0
        }
    }

    /// Closes a connection and releases everything it held. The connection is removed from
    /// the list at the next `sweep`.
    private func drop(_ conn: Connection, reason: String?) {
        guard !conn.dead else { return }
        if let reason { log(reason) }
        for handle in conn.handles.values { release(handle) }
        conn.handles.removeAll()
        conn.sleepSeq = nil
        conn.dead = true
        _ = Glibc.close(conn.fd)
        disconnectCount += 1
        unreportedDisconnects += 1
    }

    private func sweep() {
        if connections.contains(where: { $0.dead }) { connections.removeAll { $0.dead } }
    }

    private func earliestDeadline() -> UInt64? {
        var earliest: UInt64? = nil
        for conn in connections where conn.sleepSeq != nil && conn.sleepDeadline != Wire.timeNone {
            earliest = min(earliest ?? .max, conn.sleepDeadline)
        }
        return earliest
    }

    // MARK: - Responses

    private func beginBody() { txLen = Wire.header + Wire.responsePrefix }

    private func put8(_ v: UInt8) {
        guard txLen < tx.count else { return }
        tx[txLen] = v
        txLen += 1
    }

    private func put16(_ v: UInt16) { put8(UInt8(truncatingIfNeeded: v)); put8(UInt8(truncatingIfNeeded: v >> 8)) }
    private func put32(_ v: UInt32) { put16(UInt16(truncatingIfNeeded: v)); put16(UInt16(truncatingIfNeeded: v >> 16)) }
    private func put64(_ v: UInt64) { put32(UInt32(truncatingIfNeeded: v)); put32(UInt32(truncatingIfNeeded: v >> 32)) }

    private func putString(_ bytes: [UInt8]) {
        let n = min(bytes.count, Wire.maxString)
        put8(UInt8(n))
        for i in 0..<n { put8(bytes[i]) }
    }

    /// Sends the response in `tx` (body from `beginBody` on when `status` is 0), passing
    /// `passFD` along with its first byte when it is not -1.
    private func respond(_ conn: Connection, type: UInt16, seq: UInt16, status: Int32, passFD: Int32 = -1) {
        if status != 0 { txLen = Wire.header + Wire.responsePrefix }
        let payloadLength = txLen - Wire.header
        Wire.store32(tx, 0, UInt32(payloadLength))
        Wire.store16(tx, 4, type | Wire.responseBit)
        Wire.store16(tx, 6, seq)
        Wire.store32(tx, 8, UInt32(bitPattern: status))
        Wire.store64(tx, 12, nowNs)
        guard !conn.dead else { return }
        let ok = passFD >= 0 ? sendPassingFD(conn.fd, passFD) : sendAll(conn.fd, 0)
        if !ok { drop(conn, reason: "\(conn.label): send failed (\(Self.describe(errno))), closing") }
    }

    private func sendAll(_ fd: Int32, _ from: Int) -> Bool {
        var done = from
        var interrupted = 0
        while done < txLen {
            let n = send(fd, tx.baseAddress! + done, txLen - done, Int32(MSG_NOSIGNAL))
            if n > 0 {
                done += n
                continue
            }
            if n < 0 && errno == EINTR && interrupted < 1_000 {
                interrupted += 1
                continue
            }
            return false
        }
        return true
    }

    private func sendPassingFD(_ fd: Int32, _ passFD: Int32) -> Bool {
        let headerSpace = Wire.cmsgAlign(MemoryLayout<cmsghdr>.size)
        for i in 0..<control.count { control[i] = 0 }
        let cmsg = control.baseAddress!.bindMemory(to: cmsghdr.self, capacity: 1)
        cmsg.pointee.cmsg_len = headerSpace + MemoryLayout<Int32>.size
        cmsg.pointee.cmsg_level = SOL_SOCKET
        cmsg.pointee.cmsg_type = Int32(SCM_RIGHTS)
        control.storeBytes(of: passFD, toByteOffset: headerSpace, as: Int32.self)
        var iov = iovec(iov_base: tx.baseAddress!, iov_len: txLen)
        var interrupted = 0
        while true {
            let n: Int = withUnsafeMutablePointer(to: &iov) { iovPointer in
                var message = msghdr()
                message.msg_iov = iovPointer
                message.msg_iovlen = 1
                message.msg_control = control.baseAddress!
                message.msg_controllen = control.count
                return sendmsg(fd, &message, Int32(MSG_NOSIGNAL))
            }
            if n > 0 { return n >= txLen || sendAll(fd, n) }
            if n < 0 && errno == EINTR && interrupted < 1_000 {
                interrupted += 1
                continue
            }
            return false
        }
    }

    private func answerSleep(_ conn: Connection, seq: UInt16) {
        conn.sleepSeq = nil
        beginBody()
        respond(conn, type: Wire.tSleepUntil, seq: seq, status: 0)
    }

    // MARK: - Requests

    private func handle(_ conn: Connection, type: UInt16, seq: UInt16, payload: UnsafeRawBufferPointer) {
        if type == Wire.tCancelSleep {
            // Never answered itself; answers the sleep it names if that is still pending.
            if payload.count >= 2, let pending = conn.sleepSeq, pending == Wire.load16(payload, 0) {
                answerSleep(conn, seq: pending)
            }
            return
        }
        requestCount += 1
        // The library has one request outstanding: anything else while it sleeps means the
        // sleep is over for it. Answer it first so that replies stay in order.
        if let pending = conn.sleepSeq { answerSleep(conn, seq: pending) }
        if conn.dead { return }
        beginBody()
        var r = WireReader(payload)
        var passFD: Int32 = -1
        let status: Int32
        if !conn.helloDone && type != Wire.tHello {
            status = EPROTO
        } else {
            switch type {
            case Wire.tHello: status = hello(conn, &r)
            case Wire.tGetTime: status = 0
            case Wire.tI2CTransfer: status = i2cTransfer(&r)
            case Wire.tLineInfo: status = lineInfo(&r)
            case Wire.tRequestHandle: status = requestHandle(conn, &r)
            case Wire.tRequestEvent: status = requestEvent(conn, &r, passFD: &passFD)
            case Wire.tGetValues: status = getValues(conn, &r)
            case Wire.tSetValues: status = setValues(conn, &r)
            case Wire.tSetConfig: status = setConfig(conn, &r)
            case Wire.tReadEvents: status = readEvents(conn, &r)
            case Wire.tRelease: status = releaseRequest(conn, &r)
            case Wire.tSleepUntil:
                status = sleepUntil(conn, &r, seq: seq)
                if status == Wire.deferred { return }
            default: status = EOPNOTSUPP
            }
        }
        respond(conn, type: type, seq: seq, status: status, passFD: status == 0 ? passFD : -1)
        if passFD >= 0 { _ = Glibc.close(passFD) }
    }

    private func hello(_ conn: Connection, _ r: inout WireReader) -> Int32 {
        let magic = r.u32()
        if r.failed || magic != Wire.magic { return EPROTO }
        let version = r.u16()
        if r.failed { return EPROTO }
        if version != Wire.version { return EPROTONOSUPPORT }
        _ = r.u16()
        let pid = r.u32()
        let name = r.string()
        guard !r.failed, let name else { return EPROTO }
        conn.pid = Int32(bitPattern: pid)
        conn.program = String(decoding: name, as: UTF8.self)
        conn.helloDone = true
        for byte in helloBody { put8(byte) }
        return 0
    }

    private func sleepUntil(_ conn: Connection, _ r: inout WireReader, seq: UInt16) -> Int32 {
        let deadline = r.u64()
        if r.failed { return EPROTO }
        guard virtualClock else { return EOPNOTSUPP }
        sleepCount += 1
        if deadline <= nowNs { return 0 }
        conn.sleepSeq = seq
        conn.sleepDeadline = deadline
        return Wire.deferred
    }

    // MARK: I2C

    private func i2cTransfer(_ r: inout WireReader) -> Int32 {
        let busNumber = r.u8()
        let count = Int(r.u8())
        _ = r.u16()
        if r.failed { return EPROTO }
        guard let bus = buses.first(where: { $0.number == busNumber }) else { return ENODEV }
        bus.stats.transfers += 1
        guard (1...Wire.maxI2CMessages).contains(count) else { return EINVAL }
        var total = 0, writeTotal = 0
        for i in 0..<count {
            msgAddr[i] = r.u16()
            msgFlags[i] = r.u16()
            msgLen[i] = Int(r.u16())
        }
        if r.failed { return EPROTO }
        for i in 0..<count {
            let flags = msgFlags[i], length = msgLen[i]
            guard length <= Wire.maxI2CMessage else { return EINVAL }
            total += length
            if flags & Wire.i2cRead == 0 {
                writeTotal += length
                if flags & Wire.i2cRecvLen != 0 { return EINVAL }
            }
            if let status = unsupported(flags) { return status }
        }
        guard total <= Wire.maxI2CData else { return EINVAL }
        guard r.remaining == writeTotal else { return EPROTO }
        let data = r.rest

        var dataPos = 0
        var i = 0
        while i < count {
            let addr = msgAddr[i], flags = msgFlags[i]
            if flags & Wire.i2cRead != 0 {
                let status = transaction(bus, addr: addr, flags: flags, write: UnsafeRawBufferPointer(rebasing: data[dataPos..<dataPos]),
                                         readLength: msgLen[i], recvLen: flags & Wire.i2cRecvLen != 0)
                if status != 0 { return status }
                i += 1
                continue
            }
            // A write, with any NOSTART continuations of it, and the read that follows it
            // after a repeated start to the same address: one model transaction.
            var writeEnd = dataPos + msgLen[i]
            var j = i + 1
            while j < count, msgFlags[j] & Wire.i2cRead == 0, msgFlags[j] & Wire.i2cNoStart != 0, msgAddr[j] == addr {
                writeEnd += msgLen[j]
                j += 1
            }
            let write = UnsafeRawBufferPointer(rebasing: data[dataPos..<writeEnd])
            dataPos = writeEnd
            var readLength = 0, recvLen = false
            if j < count, msgFlags[j] & Wire.i2cRead != 0, msgAddr[j] == addr,
               msgFlags[j] & Wire.i2cTen == flags & Wire.i2cTen {
                readLength = msgLen[j]
                recvLen = msgFlags[j] & Wire.i2cRecvLen != 0
                j += 1
            }
            let status = transaction(bus, addr: addr, flags: flags, write: write, readLength: readLength, recvLen: recvLen)
            if status != 0 { return status }
            i = j
        }
        return 0
    }

    /// The status for message flags the adapter does not support, nil when all are covered.
    private func unsupported(_ flags: UInt16) -> Int32? {
        if flags & Wire.i2cTen != 0 && i2cFuncs & Wire.funcTenBit == 0 { return EOPNOTSUPP }
        if flags & Wire.i2cRecvLen != 0 && i2cFuncs & Wire.funcReadBlockData == 0 { return EOPNOTSUPP }
        if flags & Wire.i2cNoStart != 0 && i2cFuncs & Wire.funcNoStart == 0 { return EOPNOTSUPP }
        if flags & Wire.i2cMangling != 0 && i2cFuncs & Wire.funcProtocolMangling == 0 { return EOPNOTSUPP }
        return nil
    }

    /// One model transaction; its read bytes go to the response body.
    private func transaction(_ bus: BusState, addr: UInt16, flags: UInt16, write: UnsafeRawBufferPointer,
                             readLength: Int, recvLen: Bool) -> Int32 {
        bus.stats.transactions += 1
        bus.stats.bytesWritten += write.count
        // 10-bit addresses: no model has one.
        guard flags & Wire.i2cTen == 0, addr <= 0x7F,
              let model = bus.models.first(where: { $0.address == UInt8(addr) }) else {
            bus.stats.nacks += 1
            return ENXIO
        }
        writeScratch.removeAll(keepingCapacity: true)
        writeScratch.append(contentsOf: write)
        switch model.transfer(write: writeScratch, readCount: readLength, nowNs: nowNs) {
        case .nack:
            bus.stats.nacks += 1
            return ENXIO
        case .stuck:
            bus.stats.timeouts += 1
            return ETIMEDOUT
        case .ack(let bytes):
            guard txLen + readLength <= tx.count else { return EIO }
            var keep = readLength
            if recvLen {
                // The device sends the count N first, then N bytes (and the PEC byte when the
                // message has room for it); the master stops there.
                let pec = readLength > Wire.blockMax + 1 ? 1 : 0
                let n = Int(bytes.first ?? 0xFF)
                guard readLength >= 1, (1...Wire.blockMax).contains(n), 1 + n + pec <= readLength else { return EPROTO }
                keep = 1 + n + pec
            }
            for k in 0..<readLength {
                tx[txLen + k] = k < keep ? (k < bytes.count ? bytes[k] : 0xFF) : 0
            }
            txLen += readLength
            bus.stats.bytesRead += readLength
            return 0
        }
    }

    // MARK: GPIO

    private func chip(_ number: UInt8) -> ChipState? { chips.first { $0.number == number } }

    /// Kernel rules for `GPIOHANDLE_REQUEST_*` combinations.
    private static func validHandleFlags(_ flags: UInt32) -> Bool {
        if flags & ~Wire.reqValid != 0 { return false }
        let input = flags & Wire.reqInput != 0, output = flags & Wire.reqOutput != 0
        if input && output { return false }
        if flags & Wire.reqOpenDrain != 0 && flags & Wire.reqOpenSource != 0 { return false }
        if flags & (Wire.reqOpenDrain | Wire.reqOpenSource) != 0 && !output { return false }
        let bias = flags & Wire.reqBias
        if bias != 0 && !input && !output { return false }
        if bias.nonzeroBitCount > 1 { return false }
        return true
    }

    private func lineInfo(_ r: inout WireReader) -> Int32 {
        let chipNumber = r.u8(), offset = Int(r.u8())
        if r.failed { return EPROTO }
        guard let chip = chip(chipNumber), offset < chip.lines.count else { return EINVAL }
        let line = chip.lines[offset]
        var flags: UInt32 = line.isOut ? Wire.lineIsOut : 0
        if let owner = line.owner {
            // ACTIVE_LOW, OPEN_DRAIN, OPEN_SOURCE and the bias bits share their values.
            flags |= Wire.lineKernel | (owner.flags & Wire.lineSharedBits)
            put32(flags)
            putString(owner.consumer)
        } else {
            put32(flags)
            put8(0)
        }
        return 0
    }

    private func requestHandle(_ conn: Connection, _ r: inout WireReader) -> Int32 {
        let chipNumber = r.u8()
        let n = Int(r.u8())
        _ = r.u16()
        let flags = r.u32()
        let offsets = r.bytes(n)
        let defaults = r.bytes(n)
        let consumer = r.string()
        guard !r.failed, let offsets, let defaults, let consumer else { return EPROTO }
        guard let chip = chip(chipNumber), (1...Wire.maxLines).contains(n) else { return EINVAL }
        for offset in offsets where Int(offset) >= chip.lines.count { return EINVAL }
        guard Self.validHandleFlags(flags) else { return EINVAL }
        let output = flags & Wire.reqOutput != 0
        for k in 0..<n {
            let line = chip.lines[Int(offsets[k])]
            if line.owner != nil { return EBUSY }
            for m in 0..<k where offsets[m] == offsets[k] { return EBUSY }
            if output, case .input = line.kind { return EINVAL }      // the world drives it
        }
        let handle = GPIOHandle(id: newHandleID(), conn: conn, chip: chip, offsets: offsets.map { Int($0) },
                                flags: flags, consumer: Array(consumer.prefix(Wire.maxString)), eventFlags: 0)
        for offset in handle.offsets { chip.lines[offset].owner = handle }
        applyDirection(handle, flags: flags, defaults: defaults)
        conn.handles[handle.id] = handle
        put32(handle.id)
        return 0
    }

    private func requestEvent(_ conn: Connection, _ r: inout WireReader, passFD: inout Int32) -> Int32 {
        let chipNumber = r.u8()
        let offset = Int(r.u8())
        _ = r.u16()
        let handleFlags = r.u32()
        var eventFlags = r.u32()
        let consumer = r.string()
        guard !r.failed, let consumer else { return EPROTO }
        guard let chip = chip(chipNumber), offset < chip.lines.count else { return EINVAL }
        if handleFlags & (Wire.reqOutput | Wire.reqOpenDrain | Wire.reqOpenSource) != 0 { return EINVAL }
        guard Self.validHandleFlags(handleFlags | Wire.reqInput) else { return EINVAL }
        if eventFlags & ~Wire.eventBoth != 0 { return EINVAL }
        if eventFlags == 0 { eventFlags = Wire.eventBoth }
        let line = chip.lines[offset]
        guard case .input(let input) = line.kind else { return EINVAL }    // the board drives it
        if line.owner != nil { return EBUSY }

        var pair: [Int32] = [-1, -1]
        guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue | SOCK_CLOEXEC.rawValue), 0, &pair) == 0 else {
            let e = errno
            log("socketpair: \(Self.describe(e))")
            return e > 0 && e < 4096 ? e : EIO
        }
        let handle = GPIOHandle(id: newHandleID(), conn: conn, chip: chip, offsets: [offset],
                                flags: handleFlags | Wire.reqInput, consumer: Array(consumer.prefix(Wire.maxString)),
                                eventFlags: eventFlags)
        handle.bell = pair[0]
        line.owner = handle
        line.isOut = false
        // Only edges after the request count; the line reports exactly what was asked for.
        line.savedSelection = input.edgeSelection
        let rising = eventFlags & Wire.eventRising != 0, falling = eventFlags & Wire.eventFalling != 0
        let physicalRising = handle.activeLow ? falling : rising
        let physicalFalling = handle.activeLow ? rising : falling
        input.edgeSelection = physicalRising ? (physicalFalling ? .both : .rising) : (physicalFalling ? .falling : .none)
        _ = input.readEvents(max: input.pendingEventCount)
        conn.handles[handle.id] = handle
        put32(handle.id)
        passFD = pair[1]
        return 0
    }

    private func ownHandle(_ conn: Connection, _ r: inout WireReader) -> GPIOHandle? {
        let id = r.u32()
        return r.failed ? nil : conn.handles[id]
    }

    private func getValues(_ conn: Connection, _ r: inout WireReader) -> Int32 {
        let id = r.u32()
        if r.failed { return EPROTO }
        guard let handle = conn.handles[id] else { return EBADF }
        put8(UInt8(handle.offsets.count))
        for offset in handle.offsets {
            let physical = handle.chip.lines[offset].physicalLevel
            put8(physical != handle.activeLow ? 1 : 0)
        }
        return 0
    }

    private func setValues(_ conn: Connection, _ r: inout WireReader) -> Int32 {
        let id = r.u32()
        let n = Int(r.u8())
        let values = r.bytes(n)
        guard !r.failed, let values else { return EPROTO }
        guard let handle = conn.handles[id] else { return EBADF }
        // As the kernel does: the lines must be outputs now, whatever the request said.
        if handle.eventFlags != 0 || !handle.offsets.allSatisfy({ handle.chip.lines[$0].isOut }) { return EPERM }
        guard n == handle.offsets.count else { return EINVAL }
        for k in 0..<n { drive(handle.chip.lines[handle.offsets[k]], logical: values[k] != 0, activeLow: handle.activeLow) }
        return 0
    }

    private func setConfig(_ conn: Connection, _ r: inout WireReader) -> Int32 {
        let id = r.u32()
        let flags = r.u32()
        let n = Int(r.u8())
        let defaults = r.bytes(n)
        guard !r.failed, let defaults else { return EPROTO }
        guard let handle = conn.handles[id] else { return EBADF }
        if handle.eventFlags != 0 { return EINVAL }
        guard Self.validHandleFlags(flags) else { return EINVAL }
        if flags & Wire.reqOutput != 0 {
            for offset in handle.offsets {
                if case .input = handle.chip.lines[offset].kind { return EINVAL }
            }
        }
        handle.flags = flags
        applyDirection(handle, flags: flags, defaults: defaults)
        return 0
    }

    private func readEvents(_ conn: Connection, _ r: inout WireReader) -> Int32 {
        let id = r.u32()
        let max = Int(r.u8())
        if r.failed { return EPROTO }
        guard let handle = conn.handles[id] else { return EBADF }
        if handle.eventFlags == 0 { return EINVAL }
        let n = min(max, Wire.maxEvents, handle.queue.count)
        put8(UInt8(n))
        for _ in 0..<n {
            let event = handle.queue.pop()
            put64(event.timestampNs)
            put32(event.id)
        }
        return 0
    }

    private func releaseRequest(_ conn: Connection, _ r: inout WireReader) -> Int32 {
        let id = r.u32()
        if r.failed { return EPROTO }
        guard let handle = conn.handles.removeValue(forKey: id) else { return EBADF }
        release(handle)
        return 0
    }

    private func release(_ handle: GPIOHandle) {
        for offset in handle.offsets {
            let line = handle.chip.lines[offset]
            guard line.owner === handle else { continue }
            line.owner = nil
            if case .input(let input) = line.kind, let saved = line.savedSelection {
                input.edgeSelection = saved
                line.savedSelection = nil
            }
        }
        if handle.bell >= 0 {
            _ = Glibc.close(handle.bell)    // the program's read now sees EOF (EIO)
            handle.bell = -1
        }
    }

    private func applyDirection(_ handle: GPIOHandle, flags: UInt32, defaults: UnsafeRawBufferPointer) {
        for (k, offset) in handle.offsets.enumerated() {
            let line = handle.chip.lines[offset]
            if flags & Wire.reqOutput != 0 {
                line.isOut = true
                drive(line, logical: k < defaults.count && defaults[k] != 0, activeLow: flags & Wire.reqActiveLow != 0)
            } else if flags & Wire.reqInput != 0 {
                line.isOut = false
            }
        }
    }

    private func drive(_ line: LineState, logical: Bool, activeLow: Bool) {
        guard case .output(let output) = line.kind else { return }
        // Writes are recorded in time order even if the runner wrote the line itself later.
        let at = Swift.max(nowNs, output.writes.last?.timeNs ?? 0)
        output.write(logical != activeLow, at: at)
    }

    private func newHandleID() -> UInt32 {
        let id = nextHandleID
        nextHandleID = nextHandleID == .max ? 1 : nextHandleID + 1
        return id
    }

    // MARK: - Helpers

    private static func realMonotonicNs() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }

    private static func describe(_ e: Int32) -> String {
        guard let text = strerror(e) else { return "errno \(e)" }
        return String(cString: text)
    }
}

// MARK: - State

private final class Connection {
    static let rxCapacity = Wire.header + Wire.maxPayload + 4_096

    let fd: Int32
    let rx: UnsafeMutableRawBufferPointer
    var rxStart = 0
    var rxEnd = 0
    var helloDone = false
    var pid: Int32 = 0
    var program = ""
    /// Seq of the outstanding SLEEP_UNTIL.
    var sleepSeq: UInt16?
    var sleepDeadline: UInt64 = 0
    var handles: [UInt32: GPIOHandle] = [:]
    var dead = false
    /// A doorbell of this connection rang in the current delivery.
    var rung = false

    init(fd: Int32) {
        self.fd = fd
        rx = .allocate(byteCount: Self.rxCapacity, alignment: 8)
    }

    deinit { rx.deallocate() }

    var label: String { helloDone ? "\(program)[\(pid)]" : "connection \(fd)" }

    /// Moves unread bytes to the front. False when there is nothing to gain.
    func compact() -> Bool {
        guard rxStart > 0 else { return false }
        let pending = rxEnd - rxStart
        if pending > 0 { memmove(rx.baseAddress!, rx.baseAddress! + rxStart, pending) }
        rxStart = 0
        rxEnd = pending
        return true
    }
}

private final class BusState {
    let number: UInt8
    let models: [any I2CDeviceModel]
    var stats = I2CBusStats()

    init(number: UInt8, models: [any I2CDeviceModel]) {
        self.number = number
        self.models = models
    }
}

private final class ChipState {
    let number: UInt8
    let label: String
    let lines: [LineState]

    init(_ chip: FakeChip) {
        number = chip.number
        label = chip.label
        lines = chip.lines.map(LineState.init)
    }
}

private final class LineState {
    let kind: FakeLine
    /// Direction as the board last configured it (lines start as inputs, like after reset).
    var isOut = false
    var owner: GPIOHandle?
    /// The input line's edge selection before an event handle changed it.
    var savedSelection: GPIOEdgeSelection?

    init(_ kind: FakeLine) { self.kind = kind }

    var physicalLevel: Bool {
        switch kind {
        case .input(let line): return line.level
        case .output(let line): return line.level
        }
    }
}

private final class GPIOHandle {
    let id: UInt32
    let conn: Connection
    let chip: ChipState
    let offsets: [Int]
    var flags: UInt32
    let consumer: [UInt8]
    /// GPIOEVENT_REQUEST_* bits; 0 for a value handle.
    let eventFlags: UInt32
    /// The simulator's end of the doorbell (event handles).
    var bell: Int32 = -1
    var queue = EventQueue()

    init(id: UInt32, conn: Connection, chip: ChipState, offsets: [Int], flags: UInt32, consumer: [UInt8],
         eventFlags: UInt32) {
        self.id = id
        self.conn = conn
        self.chip = chip
        self.offsets = offsets
        self.flags = flags
        self.consumer = consumer
        self.eventFlags = eventFlags
    }

    var activeLow: Bool { flags & Wire.reqActiveLow != 0 }
}

/// The kernel's per-handle event FIFO: 16 events, later ones dropped.
private struct EventQueue {
    private var stamps = [UInt64](repeating: 0, count: Wire.maxEvents)
    private var ids = [UInt32](repeating: 0, count: Wire.maxEvents)
    private var head = 0
    private(set) var count = 0
    private(set) var dropped = 0

    mutating func push(timestampNs: UInt64, id: UInt32) -> Bool {
        guard count < Wire.maxEvents else {
            dropped += 1
            return false
        }
        let slot = (head + count) % Wire.maxEvents
        stamps[slot] = timestampNs
        ids[slot] = id
        count += 1
        return true
    }

    /// The oldest event; only called when `count` > 0.
    mutating func pop() -> (timestampNs: UInt64, id: UInt32) {
        let event = (stamps[head], ids[head])
        head = (head + 1) % Wire.maxEvents
        count -= 1
        return event
    }
}

// MARK: - Wire format

/// Bounds-checked little-endian reading of a request payload; a short read sets `failed`
/// and yields zeros.
private struct WireReader {
    let data: UnsafeRawBufferPointer
    private(set) var pos = 0
    private(set) var failed = false

    init(_ data: UnsafeRawBufferPointer) { self.data = data }

    var remaining: Int { data.count - pos }
    var rest: UnsafeRawBufferPointer { UnsafeRawBufferPointer(rebasing: data[pos...]) }

    mutating func bytes(_ n: Int) -> UnsafeRawBufferPointer? {
        guard !failed, n >= 0, n <= remaining else {
            failed = true
            return nil
        }
        defer { pos += n }
        return UnsafeRawBufferPointer(rebasing: data[pos..<(pos + n)])
    }

    mutating func u8() -> UInt8 { bytes(1)?[0] ?? 0 }
    mutating func u16() -> UInt16 { bytes(2).map { Wire.load16($0, 0) } ?? 0 }
    mutating func u32() -> UInt32 { bytes(4).map { Wire.load32($0, 0) } ?? 0 }
    mutating func u64() -> UInt64 { bytes(8).map { Wire.load64($0, 0) } ?? 0 }

    /// A length byte and that many bytes.
    mutating func string() -> UnsafeRawBufferPointer? {
        let n = Int(u8())
        return failed ? nil : bytes(n)
    }
}

private enum Wire {
    static let magic: UInt32 = 0x4C48_4C50      // "PLHL"
    static let version: UInt16 = 1
    static let flagVClock: UInt16 = 0x0001
    static let timeNone = UInt64.max
    static let header = 8
    static let responsePrefix = 12
    static let responseBit: UInt16 = 0x8000
    static let maxPayload = 65_536 + 1_024
    static let maxString = 31
    static let maxSocketPath = 107
    static let maxBuses = 16
    static let maxChips = 16
    static let maxLines = 64
    static let maxEvents = 16
    static let maxConnections = 64
    static let maxI2CMessages = 42
    static let maxI2CMessage = 8_192
    static let maxI2CData = 65_536
    static let blockMax = 32
    /// `status` value meaning "answered later" (SLEEP_UNTIL); never sent.
    static let deferred: Int32 = -1

    static let tHello: UInt16 = 0x0001
    static let tGetTime: UInt16 = 0x0002
    static let tI2CTransfer: UInt16 = 0x0010
    static let tLineInfo: UInt16 = 0x0020
    static let tRequestHandle: UInt16 = 0x0021
    static let tRequestEvent: UInt16 = 0x0022
    static let tGetValues: UInt16 = 0x0023
    static let tSetValues: UInt16 = 0x0024
    static let tSetConfig: UInt16 = 0x0025
    static let tReadEvents: UInt16 = 0x0026
    static let tRelease: UInt16 = 0x0027
    static let tSleepUntil: UInt16 = 0x0030
    static let tCancelSleep: UInt16 = 0x0031

    // i2c_msg flags
    static let i2cRead: UInt16 = 0x0001
    static let i2cTen: UInt16 = 0x0010
    static let i2cRecvLen: UInt16 = 0x0400
    static let i2cNoStart: UInt16 = 0x4000
    /// IGNORE_NAK, NO_RD_ACK, REV_DIR_ADDR, STOP: need I2C_FUNC_PROTOCOL_MANGLING.
    static let i2cMangling: UInt16 = 0x1000 | 0x0800 | 0x2000 | 0x8000
    // I2C_FUNC_*
    static let funcTenBit: UInt32 = 0x0000_0002
    static let funcProtocolMangling: UInt32 = 0x0000_0004
    static let funcNoStart: UInt32 = 0x0000_0010
    static let funcReadBlockData: UInt32 = 0x0100_0000

    // GPIOHANDLE_REQUEST_*
    static let reqInput: UInt32 = 0x01
    static let reqOutput: UInt32 = 0x02
    static let reqActiveLow: UInt32 = 0x04
    static let reqOpenDrain: UInt32 = 0x08
    static let reqOpenSource: UInt32 = 0x10
    static let reqBias: UInt32 = 0x20 | 0x40 | 0x80
    static let reqValid: UInt32 = 0xFF
    // GPIOLINE_FLAG_*
    static let lineKernel: UInt32 = 0x01
    static let lineIsOut: UInt32 = 0x02
    static let lineSharedBits: UInt32 = 0x04 | 0x08 | 0x10 | 0x20 | 0x40 | 0x80
    // GPIOEVENT_REQUEST_* and event ids
    static let eventRising: UInt32 = 1
    static let eventFalling: UInt32 = 2
    static let eventBoth: UInt32 = 3

    static func cmsgAlign(_ n: Int) -> Int {
        let a = MemoryLayout<Int>.size
        return (n + a - 1) & ~(a - 1)
    }

    /// CMSG_SPACE(sizeof(int)).
    static var controlSpace: Int { cmsgAlign(MemoryLayout<cmsghdr>.size) + cmsgAlign(MemoryLayout<Int32>.size) }

    static func load16(_ p: UnsafeRawBufferPointer, _ at: Int) -> UInt16 {
        UInt16(p[at]) | UInt16(p[at + 1]) << 8
    }

    static func load32(_ p: UnsafeRawBufferPointer, _ at: Int) -> UInt32 {
        UInt32(load16(p, at)) | UInt32(load16(p, at + 2)) << 16
    }

    static func load64(_ p: UnsafeRawBufferPointer, _ at: Int) -> UInt64 {
        UInt64(load32(p, at)) | UInt64(load32(p, at + 4)) << 32
    }

    static func store16(_ p: UnsafeMutableRawBufferPointer, _ at: Int, _ v: UInt16) {
        p[at] = UInt8(truncatingIfNeeded: v)
        p[at + 1] = UInt8(truncatingIfNeeded: v >> 8)
    }

    static func store32(_ p: UnsafeMutableRawBufferPointer, _ at: Int, _ v: UInt32) {
        store16(p, at, UInt16(truncatingIfNeeded: v))
        store16(p, at + 2, UInt16(truncatingIfNeeded: v >> 16))
    }

    static func store64(_ p: UnsafeMutableRawBufferPointer, _ at: Int, _ v: UInt64) {
        store32(p, at, UInt32(truncatingIfNeeded: v))
        store32(p, at + 4, UInt32(truncatingIfNeeded: v >> 32))
    }

    static func append16(_ a: inout [UInt8], _ v: UInt16) {
        a.append(UInt8(truncatingIfNeeded: v))
        a.append(UInt8(truncatingIfNeeded: v >> 8))
    }

    static func append32(_ a: inout [UInt8], _ v: UInt32) {
        append16(&a, UInt16(truncatingIfNeeded: v))
        append16(&a, UInt16(truncatingIfNeeded: v >> 16))
    }

    static func append64(_ a: inout [UInt8], _ v: UInt64) {
        append32(&a, UInt32(truncatingIfNeeded: v))
        append32(&a, UInt32(truncatingIfNeeded: v >> 32))
    }

    /// A protocol string: at most 31 bytes, cut between characters.
    static func appendString(_ a: inout [UInt8], _ s: String) {
        var bytes: [UInt8] = []
        for scalar in s.unicodeScalars {
            let encoded = Array(String(scalar).utf8)
            if bytes.count + encoded.count > maxString { break }
            bytes += encoded
        }
        a.append(UInt8(bytes.count))
        a.append(contentsOf: bytes)
    }
}
