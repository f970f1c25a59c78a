// Both ends of the dispatch link, sans-I/O: they take frames and `now`, and hand back
// frames to send and messages to act on. They never read a clock or a socket.

/// Counters of everything the link saw and did. Nothing is dropped silently.
public struct LinkStats: Equatable {
    public var framesIn: UInt32 = 0
    public var accepted: UInt32 = 0
    public var truncated: UInt32 = 0
    public var badVersion: UInt32 = 0
    public var wrongDirection: UInt32 = 0
    public var wrongDrone: UInt32 = 0
    public var unknownKey: UInt32 = 0
    public var authenticationFailed: UInt32 = 0
    public var replayed: UInt32 = 0
    public var badMessage: UInt32 = 0
    public var framesOut: UInt32 = 0
    public var retransmissions: UInt32 = 0
    public var duplicatesIgnored: UInt32 = 0
    /// Last measured round trip (command → ack, event → ack, time sync), µs.
    public var rttUs: UInt64 = 0

    public init() {}

    public var rejected: UInt32 {
        truncated + badVersion + wrongDirection + wrongDrone + unknownKey + authenticationFailed + replayed + badMessage
    }

    mutating func count(_ e: LinkError) {
        switch e {
        case .truncated, .tooLarge, .outputTooSmall: truncated &+= 1
        case .badVersion: badVersion &+= 1
        case .wrongDirection: wrongDirection &+= 1
        case .wrongDrone: wrongDrone &+= 1
        case .unknownKey: unknownKey &+= 1
        case .authenticationFailed: authenticationFailed &+= 1
        case .replayed: replayed &+= 1
        case .badMessage: badMessage &+= 1
        case .epochExhausted: break
        }
    }
}

/// Sealing side of one direction: the keys, the epoch and the frame counter.
public struct LinkSealer {
    public let direction: LinkDirection
    public let droneID: UInt16
    public private(set) var key: LinkKey
    public private(set) var epoch: UInt32
    public private(set) var counter: UInt32 = 0

    public init(direction: LinkDirection, droneID: UInt16, key: LinkKey, epoch: UInt32) {
        self.direction = direction
        self.droneID = droneID
        self.key = key
        self.epoch = epoch
    }

    /// True when the counter is spent: the owner must persist a new epoch and call `startEpoch`.
    public var exhausted: Bool { counter == UInt32.max }

    public mutating func startEpoch(_ e: UInt32) {
        epoch = e
        counter = 0
    }

    public mutating func rotate(to newKey: LinkKey) { key = newKey }

    /// Seals one message into `out`; returns the frame length.
    public mutating func seal(_ message: LinkMessage, scratch: UnsafeMutableRawBufferPointer,
                              into out: UnsafeMutableRawBufferPointer) throws(LinkError) -> Int {
        var w = ByteWriter(scratch)
        message.encode(&w)
        guard !w.overflow else { throw LinkError.outputTooSmall }
        return try sealEncoded(count: w.count, scratch: scratch, into: out)
    }

    /// Seals one message for a session: the frame length, or nil (nothing sent, counted
    /// as nothing). `framesOut` counts what was sealed.
    public mutating func sealCounted(_ message: LinkMessage, scratch: inout [UInt8],
                                     into out: UnsafeMutableRawBufferPointer, stats: inout LinkStats) -> Int? {
        var sealed: Int? = nil
        scratch.withUnsafeMutableBytes { s in
            sealed = try? seal(message, scratch: s, into: out)
        }
        if sealed != nil { stats.framesOut &+= 1 }
        return sealed
    }

    /// Seals the first `count` bytes of `scratch` (an already encoded message).
    public mutating func sealEncoded(count: Int, scratch: UnsafeMutableRawBufferPointer,
                                     into out: UnsafeMutableRawBufferPointer) throws(LinkError) -> Int {
        guard !exhausted else { throw LinkError.epochExhausted }
        let header = LinkHeader(direction: direction, droneID: droneID, keyID: key.id, epoch: epoch, counter: counter)
        let n = try LinkCrypto.seal(header: header, plaintext: UnsafeRawBufferPointer(rebasing: scratch[0..<count]),
                                    key: key, into: out)
        counter += 1
        return n
    }
}

/// Opening side of one direction: which keys are accepted (current and, during a
/// rotation, the previous one) and the replay window.
public struct LinkOpener {
    public let direction: LinkDirection
    public let droneID: UInt16
    public private(set) var keys: [LinkKey]
    public private(set) var window = ReplayWindow()
    /// Frames accepted in the sender's current epoch: with the window's highest counter
    /// this gives the loss on the way in.
    public private(set) var acceptedInEpoch: UInt32 = 0
    /// Epoch and counter of the last frame that authenticated.
    public private(set) var lastAccepted: (epoch: UInt32, counter: UInt32)? = nil

    /// After a restart: frames up to and including (epoch, counter) count as seen.
    public mutating func restoreWindow(epoch: UInt32, counter: UInt32) {
        window.restore(epoch: epoch, counter: counter)
    }

    /// Share of the sender's frames (this epoch) that never arrived, 0...1.
    public var lossEstimate: Double {
        guard window.epoch != nil else { return 0 }
        let sent = Double(window.highest) + 1
        return max(0, 1 - Double(acceptedInEpoch) / sent)
    }

    public init(direction: LinkDirection, droneID: UInt16, keys: [LinkKey]) {
        self.direction = direction
        self.droneID = droneID
        self.keys = Array(keys.prefix(2))
    }

    public mutating func setKeys(_ k: [LinkKey]) { keys = Array(k.prefix(2)) }

    /// One received frame for a session: opened into `plaintext` and decoded. Every
    /// rejection is counted in `stats` and gives nil (and no reply).
    public mutating func openMessage(_ frame: UnsafeRawBufferPointer, plaintext: inout [UInt8],
                                     stats: inout LinkStats) -> LinkMessage? {
        stats.framesIn &+= 1
        var opened: Result<Int, LinkError> = .failure(.truncated)
        plaintext.withUnsafeMutableBytes { p in
            do throws(LinkError) {
                opened = .success(try open(frame, into: p))
            } catch {
                opened = .failure(error)
            }
        }
        guard case .success(let n) = opened else {
            if case .failure(let e) = opened { stats.count(e) }
            return nil
        }
        guard let message = plaintext.withUnsafeBytes({ LinkMessage.decode(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }) else {
            stats.count(.badMessage)
            return nil
        }
        stats.accepted &+= 1
        return message
    }

    /// Vets, authenticates and decrypts one frame into `plaintext`; the replay window
    /// moves only after the tag checked out. Returns the plaintext length.
    public mutating func open(_ frame: UnsafeRawBufferPointer, into plaintext: UnsafeMutableRawBufferPointer) throws(LinkError) -> Int {
        guard frame.count >= LinkCrypto.overhead else { throw LinkError.truncated }
        guard frame.count <= LinkCrypto.maxFrame else { throw LinkError.tooLarge }
        let version = frame[0] >> 4
        guard version == LinkHeader.version else { throw LinkError.badVersion(version) }
        guard let h = LinkHeader.parse(frame) else { throw LinkError.wrongDirection }
        guard h.direction == direction else { throw LinkError.wrongDirection }
        guard h.droneID == droneID else { throw LinkError.wrongDrone(h.droneID) }
        guard let key = keys.first(where: { $0.id == h.keyID }) else { throw LinkError.unknownKey(h.keyID) }
        guard window.wouldAccept(epoch: h.epoch, counter: h.counter) else { throw LinkError.replayed }
        let n = try LinkCrypto.open(frame: frame, key: key, into: plaintext)
        if h.epoch != window.epoch { acceptedInEpoch = 0 }
        window.accept(epoch: h.epoch, counter: h.counter)
        acceptedInEpoch &+= 1
        lastAccepted = (h.epoch, h.counter)
        return n
    }
}

/// Retransmission timing: starts at `initialNs`, doubles to `maxNs`.
public struct Backoff: Equatable {
    public var initialNs: UInt64 = 300_000_000
    public var maxNs: UInt64 = 8_000_000_000
    public init() {}
    public func delay(attempt: Int) -> UInt64 {
        var d = initialNs
        var i = 0
        while i < attempt && d < maxNs { d *= 2; i += 1 }
        return min(d, maxNs)
    }
}

/// Messages that must get through: each is sent at once, then again with the backoff
/// until its acknowledgement removes it. Fixed capacity.
public struct RetryQueue<Item> {
    struct Entry {
        var item: Item
        var nextSendNs: UInt64
        var attempts: Int
        var firstSentNs: UInt64
    }

    public let capacity: Int
    private var entries: [Entry] = []

    public init(capacity: Int) {
        self.capacity = capacity
        entries.reserveCapacity(capacity)
    }

    public var count: Int { entries.count }
    public var items: [Item] { entries.map { $0.item } }

    public func contains(where match: (Item) -> Bool) -> Bool { entries.contains { match($0.item) } }

    /// False when full.
    public mutating func add(_ item: Item, nowNs: UInt64) -> Bool {
        guard entries.count < capacity else { return false }
        entries.append(Entry(item: item, nextSendNs: nowNs, attempts: 0, firstSentNs: nowNs))
        return true
    }

    /// Removes the first matching item; returns when it was first sent (for the RTT).
    public mutating func remove(where match: (Item) -> Bool) -> UInt64? {
        guard let i = entries.firstIndex(where: { match($0.item) }) else { return nil }
        return entries.remove(at: i).firstSentNs
    }

    /// The first item due now, rescheduled by the backoff; counts retransmissions.
    public mutating func takeDue(nowNs: UInt64, backoff: Backoff, retransmissions: inout UInt32) -> Item? {
        guard let i = entries.firstIndex(where: { $0.nextSendNs <= nowNs }) else { return nil }
        if entries[i].attempts > 0 { retransmissions &+= 1 }
        entries[i].attempts += 1
        entries[i].nextSendNs = nowNs + backoff.delay(attempt: entries[i].attempts - 1)
        return entries[i].item
    }
}

/// The drone's end of the link.
///
/// A new command comes out of `receive` once: the application executes it and reports
/// the result with `completeCommand`; a retry of a command already executed is answered
/// with the stored result and never comes out again. Events submitted with `submitEvent`
/// (after the journal has them) are sent and resent with backoff until acknowledged.
public struct DroneLink {
    public static let rememberedCommands = 64
    public static let maxPendingEvents = 64
    public static let outboxCapacity = 32

    public enum Inbound: Equatable {
        /// Nothing for the application (handled inside the link, or dropped and counted).
        case none
        case command(Command)
        /// A mission chunk; its items are in `chunkItem(_:)`.
        case missionChunk(missionID: UInt32, index: UInt16, count: UInt16, items: Int)
        /// Dispatch acknowledged this event: the journal may forget it.
        case eventAcked(UInt32)
        /// Dispatch's heartbeat: the link is alive (the dispatch-lost failsafe counts these).
        case heartbeat
    }

    public private(set) var sealer: LinkSealer
    public private(set) var opener: LinkOpener
    public private(set) var stats = LinkStats()
    public var backoff = Backoff()
    private var executed: [(id: UInt32, result: CommandResult)] = []
    private var executedNext = 0
    private var pending = RetryQueue<LinkEvent>(capacity: DroneLink.maxPendingEvents)
    private var outbox: [LinkMessage] = []
    private var telemetry: Telemetry? = nil
    private var plain: [UInt8]
    private var scratch: [UInt8]

    /// `key` seals; frames under `key` or `previousKey` (during a rotation) are accepted.
    public init(droneID: UInt16, key: LinkKey, previousKey: LinkKey? = nil, epoch: UInt32) {
        sealer = LinkSealer(direction: .toGround, droneID: droneID, key: key, epoch: epoch)
        opener = LinkOpener(direction: .toDrone, droneID: droneID, keys: previousKey.map { [key, $0] } ?? [key])
        plain = [UInt8](repeating: 0, count: LinkCrypto.maxPayload)
        scratch = [UInt8](repeating: 0, count: LinkCrypto.maxPayload)
        executed.reserveCapacity(DroneLink.rememberedCommands)
        outbox.reserveCapacity(DroneLink.outboxCapacity)
    }

    public var pendingEventCount: Int { pending.count }
    public var pendingEventIDs: [UInt32] { pending.items.map { $0.eventID } }

    private mutating func queue(_ m: LinkMessage) {
        if outbox.count < DroneLink.outboxCapacity { outbox.append(m) }
    }

    /// One received frame. Rejected frames are counted and produce nothing, not even a reply.
    public mutating func receive(_ frame: UnsafeRawBufferPointer, nowNs: UInt64) -> Inbound {
        guard let message = opener.openMessage(frame, plaintext: &plain, stats: &stats) else { return .none }
        switch message {
        case .unsupportedCommand(let id):
            if executed.contains(where: { $0.id == id }) {
                stats.duplicatesIgnored &+= 1
            } else {
                remember(id, .unsupported)
            }
            queue(.commandAck(CommandAck(commandID: id, result: .unsupported, duplicate: false)))
            return .none
        case .command(let c):
            if let done = executed.first(where: { $0.id == c.commandID }) {
                stats.duplicatesIgnored &+= 1
                queue(.commandAck(CommandAck(commandID: c.commandID, result: done.result, duplicate: true)))
                return .none
            }
            return .command(c)
        case .eventAck(let id):
            if let first = pending.remove(where: { $0.eventID == id }) {
                stats.rttUs = (nowNs &- first) / 1000
                return .eventAcked(id)
            }
            return .none
        case .timeSyncRequest(let g):
            let us = nowNs / 1000
            queue(.timeSyncReply(groundUs: g, droneRxUs: us, droneTxUs: us))
            return .none
        case .missionChunk(let id, let index, let count, let items):
            return .missionChunk(missionID: id, index: index, count: count, items: items)
        case .heartbeat:
            return .heartbeat
        case .telemetry, .timeSyncReply, .commandAck, .missionAck, .event:
            return .none
        }
    }

    /// Mission items of the chunk `receive` just returned.
    public func chunkItem(_ i: Int) -> MissionItem? {
        let start = MissionItem.chunkHeaderSize + i * MissionItem.encodedSize
        guard start + MissionItem.encodedSize <= plain.count else { return nil }
        return plain.withUnsafeBytes { raw -> MissionItem? in
            var r = ByteReader(UnsafeRawBufferPointer(rebasing: raw[start..<(start + MissionItem.encodedSize)]))
            return MissionItem.decode(&r)
        }
    }

    /// A command executed before a restart (from the journal): remembered, not acked.
    public mutating func restoreExecuted(_ id: UInt32, result: CommandResult) {
        remember(id, result)
    }

    private mutating func remember(_ id: UInt32, _ result: CommandResult) {
        if executed.count < DroneLink.rememberedCommands {
            executed.append((id, result))
        } else {
            executed[executedNext] = (id, result)
            executedNext = (executedNext + 1) % DroneLink.rememberedCommands
        }
    }

    /// Records a command's outcome (executed once) and queues its ack.
    public mutating func completeCommand(_ id: UInt32, result: CommandResult) {
        remember(id, result)
        queue(.commandAck(CommandAck(commandID: id, result: result, duplicate: false)))
    }

    public mutating func acknowledgeMissionChunk(_ id: UInt32, index: UInt16, accepted: Bool) {
        queue(.missionAck(missionID: id, index: index, accepted: accepted))
    }

    /// Hands over a must-not-lose event (already in the journal). False when the
    /// pending set is full: the journal keeps it and it is submitted again later.
    public mutating func submitEvent(_ e: LinkEvent, nowNs: UInt64) -> Bool {
        if pending.contains(where: { $0.eventID == e.eventID }) { return true }
        return pending.add(e, nowNs: nowNs)
    }

    /// The latest telemetry replaces any not yet sent.
    public mutating func setTelemetry(_ t: Telemetry) { telemetry = t }

    public mutating func queueHeartbeat(timeMs: UInt32) { queue(.heartbeat(timeMs: timeMs)) }

    /// The next frame to send now, sealed into `out` (its length), or nil when nothing
    /// is due. Call until nil (bounded by the outbox and pending sizes).
    public mutating func nextFrame(nowNs: UInt64, into out: UnsafeMutableRawBufferPointer) -> Int? {
        var message: LinkMessage? = nil
        if !outbox.isEmpty {
            message = outbox.removeFirst()
        } else if let e = pending.takeDue(nowNs: nowNs, backoff: backoff, retransmissions: &stats.retransmissions) {
            message = .event(e)
        } else if let t = telemetry {
            telemetry = nil
            message = .telemetry(t)
        }
        guard let message else { return nil }
        return sealer.sealCounted(message, scratch: &scratch, into: out, stats: &stats)
    }

    /// After a restart: the new epoch (persisted by the caller before any frame is sent).
    public mutating func startEpoch(_ e: UInt32) { sealer.startEpoch(e) }

    /// After a restart: the inbound frame that carried the last executed command and
    /// everything before it count as seen, so a replay never runs a command again.
    public mutating func restoreInboundWindow(epoch: UInt32, counter: UInt32) {
        opener.restoreWindow(epoch: epoch, counter: counter)
    }

    /// Key rotation: seal with `current`, accept `current` and `previous`.
    public mutating func rotate(current: LinkKey, previous: LinkKey?) {
        sealer.rotate(to: current)
        opener.setKeys(previous.map { [current, $0] } ?? [current])
    }
}

/// The ground's end: commands retried with backoff until acked, events acked every
/// time they arrive (a lost ack is simply answered again) and delivered to the console
/// once each.
public struct GroundLink {
    public static let maxPendingCommands = 32
    public static let rememberedEvents = 256

    public enum Inbound: Equatable {
        case none
        case telemetry(Telemetry)
        /// A new event (each event id comes out once).
        case event(LinkEvent)
        case commandAcked(CommandAck)
        case missionAcked(missionID: UInt32, index: UInt16, accepted: Bool)
    }

    public private(set) var sealer: LinkSealer
    public private(set) var opener: LinkOpener
    public private(set) var stats = LinkStats()
    public var backoff = Backoff()
    private var pendingCommands = RetryQueue<Command>(capacity: GroundLink.maxPendingCommands)
    private var seenEvents: [UInt32] = []
    private var seenNext = 0
    private var outbox: [LinkMessage] = []
    private var plain: [UInt8]
    private var scratch: [UInt8]
    public private(set) var nextCommandID: UInt32

    public init(droneID: UInt16, key: LinkKey, previousKey: LinkKey? = nil, epoch: UInt32, firstCommandID: UInt32 = 1) {
        sealer = LinkSealer(direction: .toDrone, droneID: droneID, key: key, epoch: epoch)
        opener = LinkOpener(direction: .toGround, droneID: droneID, keys: previousKey.map { [key, $0] } ?? [key])
        plain = [UInt8](repeating: 0, count: LinkCrypto.maxPayload)
        scratch = [UInt8](repeating: 0, count: LinkCrypto.maxPayload)
        nextCommandID = firstCommandID
    }

    public var pendingCommandCount: Int { pendingCommands.count }

    /// Queues a command (retried until acked); returns its id, or nil when too many are pending.
    public mutating func send(_ kind: CommandKind, parameterID: UInt16 = 0, value: Float = 0, nowNs: UInt64) -> UInt32? {
        let id = nextCommandID
        guard pendingCommands.add(Command(commandID: id, kind: kind, parameterID: parameterID, value: value), nowNs: nowNs) else {
            return nil
        }
        nextCommandID &+= 1
        return id
    }

    public mutating func queue(_ m: LinkMessage) {
        if outbox.count < 64 { outbox.append(m) }
    }

    public mutating func receive(_ frame: UnsafeRawBufferPointer, nowNs: UInt64) -> Inbound {
        guard let message = opener.openMessage(frame, plaintext: &plain, stats: &stats) else { return .none }
        switch message {
        case .telemetry(let t):
            return .telemetry(t)
        case .event(let e):
            queue(.eventAck(eventID: e.eventID))
            if seenEvents.contains(e.eventID) {
                stats.duplicatesIgnored &+= 1
                return .none
            }
            if seenEvents.count < GroundLink.rememberedEvents {
                seenEvents.append(e.eventID)
            } else {
                seenEvents[seenNext] = e.eventID
                seenNext = (seenNext + 1) % GroundLink.rememberedEvents
            }
            return .event(e)
        case .commandAck(let a):
            guard let first = pendingCommands.remove(where: { $0.commandID == a.commandID }) else { return .none }
            stats.rttUs = (nowNs &- first) / 1000
            return .commandAcked(a)
        case .missionAck(let id, let index, let ok):
            return .missionAcked(missionID: id, index: index, accepted: ok)
        case .timeSyncReply(let g, _, _):
            stats.rttUs = nowNs / 1000 &- g
            return .none
        case .heartbeat, .timeSyncRequest, .command, .unsupportedCommand, .missionChunk, .eventAck:
            return .none
        }
    }

    public mutating func nextFrame(nowNs: UInt64, into out: UnsafeMutableRawBufferPointer) -> Int? {
        var message: LinkMessage? = nil
        if !outbox.isEmpty {
            message = outbox.removeFirst()
        } else if let c = pendingCommands.takeDue(nowNs: nowNs, backoff: backoff, retransmissions: &stats.retransmissions) {
            message = .command(c)
        }
        guard let message else { return nil }
        return sealer.sealCounted(message, scratch: &scratch, into: out, stats: &stats)
    }

    /// Seals a mission chunk (items encoded after the chunk header); returns the frame length.
    public mutating func sealMissionChunk(missionID: UInt32, index: UInt16, count: UInt16, items: [MissionItem],
                                          into out: UnsafeMutableRawBufferPointer) -> Int? {
        guard !items.isEmpty, items.count <= MissionItem.maxPerChunk else { return nil }
        var sealed: Int? = nil
        scratch.withUnsafeMutableBytes { s in
            var w = ByteWriter(s)
            LinkMessage.missionChunk(missionID: missionID, index: index, count: count, items: items.count).encode(&w)
            for item in items { item.encode(&w) }
            guard !w.overflow else { return }
            sealed = try? sealer.sealEncoded(count: w.count, scratch: s, into: out)
        }
        if sealed != nil { stats.framesOut &+= 1 }
        return sealed
    }
}
