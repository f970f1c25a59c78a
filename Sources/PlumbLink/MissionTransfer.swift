// Mission upload in acknowledged chunks: the ground splits a mission into chunks of at
// most MissionItem.maxPerChunk items and resends each until the drone acknowledges it;
// the drone assembles them into a fixed-capacity store and accepts the mission once
// every chunk has arrived. A chunk of another mission id starts over.

/// The drone's side: assembles one mission (capacity fixed at start-up).
public struct MissionAssembler {
    public static let maxChunks = 32
    public let capacity: Int
    public private(set) var missionID: UInt32? = nil
    public private(set) var chunkCount: Int = 0
    public private(set) var items: [MissionItem] = []
    private var received: UInt32 = 0
    private var slots: [MissionItem?]

    public init(capacity: Int = MissionAssembler.maxChunks * MissionItem.maxPerChunk) {
        self.capacity = min(capacity, MissionAssembler.maxChunks * MissionItem.maxPerChunk)
        slots = [MissionItem?](repeating: nil, count: self.capacity)
    }

    /// True once every chunk of the current mission has arrived.
    public var complete: Bool { missionID != nil && chunkCount > 0 && received == (chunkCount == 32 ? UInt32.max : (UInt32(1) << UInt32(chunkCount)) - 1) }

    /// Takes one chunk; false when it cannot belong to a mission this store can hold.
    public mutating func accept(missionID id: UInt32, index: UInt16, count: UInt16, items chunk: [MissionItem]) -> Bool {
        guard count > 0, Int(count) <= MissionAssembler.maxChunks, index < count,
              !chunk.isEmpty, chunk.count <= MissionItem.maxPerChunk else { return false }
        // A late copy of an older mission's chunk must not wipe a newer mission.
        if let current = missionID, id < current { return false }
        if missionID != id || chunkCount != Int(count) {
            missionID = id
            chunkCount = Int(count)
            received = 0
            for i in slots.indices { slots[i] = nil }
        }
        let base = Int(index) * MissionItem.maxPerChunk
        guard base + chunk.count <= capacity else { return false }
        for (i, item) in chunk.enumerated() { slots[base + i] = item }
        received |= 1 << UInt32(index)
        if complete {
            items = []
            for s in slots { if let s { items.append(s) } }
        }
        return true
    }
}

/// The ground's side: the chunks of one mission, each resent until acknowledged.
public struct MissionUpload {
    public let missionID: UInt32
    public let items: [MissionItem]
    public var chunkCount: Int { (items.count + MissionItem.maxPerChunk - 1) / MissionItem.maxPerChunk }
    public private(set) var acked: [Bool]
    public private(set) var refused = false
    private var nextSendNs: [UInt64]
    private var attempts: [Int]
    public var backoff = Backoff()

    public init?(missionID: UInt32, items: [MissionItem]) {
        guard !items.isEmpty, items.count <= MissionAssembler.maxChunks * MissionItem.maxPerChunk else { return nil }
        self.missionID = missionID
        self.items = items
        let n = (items.count + MissionItem.maxPerChunk - 1) / MissionItem.maxPerChunk
        acked = [Bool](repeating: false, count: n)
        nextSendNs = [UInt64](repeating: 0, count: n)
        attempts = [Int](repeating: 0, count: n)
    }

    public var done: Bool { !acked.contains(false) }

    public mutating func acknowledge(missionID id: UInt32, index: UInt16, accepted: Bool) {
        guard id == missionID, Int(index) < acked.count else { return }
        if accepted { acked[Int(index)] = true } else { refused = true }
    }

    /// Seals the next chunk that is due through `link`; returns the frame length.
    public mutating func nextFrame(_ link: inout GroundLink, nowNs: UInt64, into out: UnsafeMutableRawBufferPointer) -> Int? {
        guard !refused else { return nil }
        for i in 0..<acked.count where !acked[i] && nextSendNs[i] <= nowNs {
            let lo = i * MissionItem.maxPerChunk
            let chunk = Array(items[lo..<min(items.count, lo + MissionItem.maxPerChunk)])
            attempts[i] += 1
            nextSendNs[i] = nowNs + backoff.delay(attempt: attempts[i] - 1)
            return link.sealMissionChunk(missionID: missionID, index: UInt16(i), count: UInt16(acked.count),
                                         items: chunk, into: out)
        }
        return nil
    }
}
