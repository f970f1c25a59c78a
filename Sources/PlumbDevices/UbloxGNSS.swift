import PlumbHAL

/// A u-blox M8/M9/F9 receiver on I2C (DDC, 0x42).
///
/// Each `poll` reads the bytes-waiting count (0xFD/0xFE) and then at most
/// `maxBytesPerPoll` bytes of the stream (0xFF) in chunks, and feeds them to the UBX
/// parser, so the bus time of one poll is bounded whatever the receiver has queued.
/// Set-up runs inside the same polls, never blocking: MON-VER tells the generation,
/// then output is configured (CFG-VALSET on M9/F9; CFG-PRT, CFG-MSG and CFG-RATE on
/// M8), each message retried until acknowledged, within bounds.
public struct UbloxGNSS<Bus: I2CBus> {
    public enum Phase: Equatable {
        case detecting, configuring, running
    }

    public typealias Register = UbloxGNSSRegister

    public let bus: Bus
    public let address: UInt8
    /// Navigation measurement period requested from the receiver (ms).
    public let measurementPeriodMs: UInt16
    public let maxBytesPerPoll: Int
    public let chunkSize: Int

    public private(set) var phase = Phase.detecting
    public private(set) var generation = ReceiverGeneration.unknown
    public private(set) var parser: UBXParser
    public private(set) var health: DeviceHealth<I2CError>
    /// The latest NAV-PVT and the monotonic time of the read that completed it.
    public private(set) var latest: NavPVT? = nil
    public private(set) var latestNs: UInt64 = 0
    /// Configuration messages acknowledged / refused (ACK-NAK) / given up on.
    public private(set) var configAcked = 0
    public private(set) var configRejected = 0
    public private(set) var configAbandoned = 0

    private var chunk: [UInt8]
    private var tx: [UInt8]
    private var step = 0
    private var attempts = 0
    private var sentAtNs: UInt64 = 0
    private var awaiting = false
    private var lastAck: (cls: UInt8, id: UInt8, ok: Bool)? = nil

    /// Retries of one set-up message before moving on.
    public static var maxAttempts: Int { 4 }
    /// How long to wait for an answer to a set-up message.
    public static var answerTimeoutNs: UInt64 { 500_000_000 }

    public init(bus: Bus, address: UInt8 = 0x42, measurementPeriodMs: UInt16 = 100,
                maxBytesPerPoll: Int = 256, chunkSize: Int = 64, staleAfterNs: UInt64 = 1_500_000_000) {
        self.bus = bus
        self.address = address
        self.measurementPeriodMs = max(25, measurementPeriodMs)
        self.maxBytesPerPoll = max(16, maxBytesPerPoll)
        self.chunkSize = max(8, min(chunkSize, 255))
        parser = UBXParser(capacity: 512)
        health = DeviceHealth(failureThreshold: 5, staleAfterNs: staleAfterNs)
        chunk = [UInt8](repeating: 0, count: self.chunkSize)
        tx = [UInt8](repeating: 0, count: 64)
    }

    /// Worst-case bus time of one poll at the bus clock.
    public func pollCostNs() -> UInt64 {
        let chunks = (maxBytesPerPoll + chunkSize - 1) / chunkSize
        return i2cTransferTimeNs(clockHz: bus.clockHz, writeBytes: 1, readBytes: 2)
            + UInt64(chunks) * i2cTransferTimeNs(clockHz: bus.clockHz, writeBytes: 1, readBytes: chunkSize)
            + i2cTransferTimeNs(clockHz: bus.clockHz, writeBytes: 0, readBytes: 0)
    }

    public func state(at nowNs: UInt64) -> HealthState { health.state(at: nowNs) }

    /// One bounded poll. Returns true when a new NAV-PVT was decoded.
    public mutating func poll(nowNs: UInt64) -> Bool {
        do {
            try advanceSetup(nowNs: nowNs)
            let fresh = try readStream(nowNs: nowNs)
            if fresh { health.recordSuccess(at: nowNs) } else { health.recordResponsive() }
            return fresh
        } catch {
            health.recordFailure(error)
            return false
        }
    }

    private mutating func readStream(nowNs: UInt64) throws(I2CError) -> Bool {
        var avail: (UInt8, UInt8) = (0, 0)
        try withUnsafeMutableBytes(of: &avail) { (raw: UnsafeMutableRawBufferPointer) throws(I2CError) in
            try bus.readRegisters(address: address, Register.bytesAvailableHigh, into: raw)
        }
        var waiting = Int(avail.0) << 8 | Int(avail.1)
        // 0xFFFF is what an idle bus reads as: treat it as nothing waiting.
        if waiting == 0xFFFF { waiting = 0 }
        var budget = min(waiting, maxBytesPerPoll)
        var fresh = false
        while budget > 0 {
            let n = min(budget, chunkSize)
            budget -= n
            try bus.readRegisters(address: address, Register.stream, into: &chunk, count: n)
            for i in 0..<n where parser.feed(chunk[i]) {
                if handleFrame(nowNs: nowNs) { fresh = true }
            }
        }
        return fresh
    }

    /// Acts on the frame the parser just completed; true for a new NAV-PVT.
    private mutating func handleFrame(nowNs: UInt64) -> Bool {
        let cls = parser.classID
        let id = parser.messageID
        if cls == UBX.Class.nav && id == UBX.ID.navPVT {
            guard let pvt = parser.withPayload({ NavPVT.decode($0) }) else { return false }
            latest = pvt
            latestNs = nowNs
            if phase != .running && generation != .unknown && step >= setupMessageCount { phase = .running }
            return true
        }
        if cls == UBX.Class.mon && id == UBX.ID.monVER && phase == .detecting {
            generation = parser.withPayload { ReceiverGeneration.fromMonVer($0) }
            if generation == .unknown { generation = .m8 }
            phase = .configuring
            awaiting = false
            attempts = 0
            step = 0
        }
        if cls == UBX.Class.ack && parser.payloadCount >= 2 {
            let acked = parser.withPayload { ($0[0], $0[1]) }
            lastAck = (acked.0, acked.1, id == UBX.ID.ackAck)
        }
        return false
    }

    private var setupMessageCount: Int { generation.usesValset ? 1 : 3 }

    private mutating func advanceSetup(nowNs: UInt64) throws(I2CError) {
        switch phase {
        case .running:
            return
        case .detecting:
            if awaiting && nowNs &- sentAtNs < Self.answerTimeoutNs { return }
            if attempts >= Self.maxAttempts {
                // No MON-VER answer: assume the older, more widely understood commands.
                generation = .m8
                phase = .configuring
                attempts = 0
                awaiting = false
                return
            }
            try send(cls: UBX.Class.mon, id: UBX.ID.monVER, payloadCount: 0)
            attempts += 1
            awaiting = true
            sentAtNs = nowNs
        case .configuring:
            if awaiting {
                let (cls, id) = setupMessageID(step)
                if let ack = lastAck, ack.cls == cls, ack.id == id {
                    if ack.ok { configAcked += 1 } else { configRejected += 1 }
                    lastAck = nil
                    nextStep()
                } else if nowNs &- sentAtNs >= Self.answerTimeoutNs {
                    awaiting = false
                    if attempts >= Self.maxAttempts {
                        configAbandoned += 1
                        nextStep()
                    }
                }
                if step >= setupMessageCount { phase = .running }
                if awaiting || phase == .running { return }
            }
            try sendSetupMessage(step)
            attempts += 1
            awaiting = true
            sentAtNs = nowNs
        }
    }

    private mutating func nextStep() {
        step += 1
        attempts = 0
        awaiting = false
    }

    private func setupMessageID(_ step: Int) -> (UInt8, UInt8) {
        if generation.usesValset { return (UBX.Class.cfg, UBX.ID.cfgVALSET) }
        switch step {
        case 0: return (UBX.Class.cfg, UBX.ID.cfgPRT)
        case 1: return (UBX.Class.cfg, UBX.ID.cfgMSG)
        default: return (UBX.Class.cfg, UBX.ID.cfgRATE)
        }
    }

    /// Builds the set-up message's payload at tx[6...] and sends the frame.
    private mutating func sendSetupMessage(_ step: Int) throws(I2CError) {
        let (cls, id) = setupMessageID(step)
        var p: [(UInt8)] = []
        if generation.usesValset {
            // CFG-VALSET, RAM layer: UBX only on I2C, NAV-PVT every epoch, measurement rate.
            p = [0x00, 0x01, 0x00, 0x00]
            appendKey(&p, 0x1072_0001, [1])                  // CFG-I2COUTPROT-UBX
            appendKey(&p, 0x1072_0002, [0])                  // CFG-I2COUTPROT-NMEA
            appendKey(&p, 0x2091_0006, [1])                  // CFG-MSGOUT-UBX_NAV_PVT_I2C
            appendKey(&p, 0x3021_0001, le16(measurementPeriodMs))  // CFG-RATE-MEAS (ms)
        } else {
            switch step {
            case 0:
                // CFG-PRT for port 0 (DDC): slave address in mode, UBX in and out only.
                p = [0x00, 0x00, 0x00, 0x00]
                p += le32(UInt32(address) << 1)
                p += [0, 0, 0, 0]
                p += le16(0x0001) + le16(0x0001) + le16(0) + le16(0)
            case 1:
                p = [UBX.Class.nav, UBX.ID.navPVT, 1]         // CFG-MSG: NAV-PVT every epoch
            default:
                p = le16(measurementPeriodMs) + le16(1) + le16(1)  // CFG-RATE: GPS time
            }
        }
        for (i, b) in p.enumerated() { tx[6 + i] = b }
        try send(cls: cls, id: id, payloadCount: p.count)
    }

    private func appendKey(_ p: inout [UInt8], _ key: UInt32, _ value: [UInt8]) {
        p += le32(key)
        p += value
    }

    private func le16(_ v: UInt16) -> [UInt8] { [UInt8(v & 0xFF), UInt8(v >> 8)] }
    private func le32(_ v: UInt32) -> [UInt8] {
        [UInt8(v & 0xFF), UInt8((v >> 8) & 0xFF), UInt8((v >> 16) & 0xFF), UInt8(v >> 24)]
    }

    /// Frames tx[6..<6+payloadCount] in place and writes it to the receiver.
    private mutating func send(cls: UInt8, id: UInt8, payloadCount: Int) throws(I2CError) {
        tx[0] = UBX.sync1
        tx[1] = UBX.sync2
        tx[2] = cls
        tx[3] = id
        tx[4] = UInt8(payloadCount & 0xFF)
        tx[5] = UInt8(payloadCount >> 8)
        let end = 6 + payloadCount
        let (a, b) = tx.withUnsafeBytes { UBX.checksum(UnsafeRawBufferPointer(rebasing: $0[2..<end])) }
        tx[end] = a
        tx[end + 1] = b
        try bus.write(address: address, tx, count: end + 2)
    }
}

/// Ties GNSS time to the monotonic clock with the receiver's time pulse: the PPS edge
/// (stamped by the kernel) marks the top of a GPS second, and the NAV-PVT that follows
/// says which second it was.
public struct GNSSTimeDiscipline: Equatable {
    public private(set) var lastPulseNs: UInt64? = nil
    /// GPS time of week (ms) minus monotonic time (ns → ms), once locked.
    public private(set) var offsetMs: Int64? = nil
    public private(set) var pulses: UInt32 = 0

    public init() {}

    public mutating func pulse(atNs: UInt64) {
        lastPulseNs = atNs
        pulses &+= 1
    }

    /// Call with each NAV-PVT and the monotonic time it was read. Locks when the solution
    /// is within the second after the last pulse and its time is valid.
    public mutating func navigation(_ pvt: NavPVT, readAtNs: UInt64) {
        guard let pulse = lastPulseNs, pvt.valid & 0x02 != 0, readAtNs >= pulse,
              readAtNs - pulse < 1_000_000_000 else { return }
        let secondMs = Int64(pvt.iTOWMs / 1000) * 1000
        offsetMs = secondMs - Int64(pulse / 1_000_000)
    }

    /// GPS time of week (ms) at a monotonic time, once locked.
    public func timeOfWeekMs(atNs: UInt64) -> Int64? {
        guard let offsetMs else { return nil }
        return Int64(atNs / 1_000_000) + offsetMs
    }
}

public enum UbloxGNSSRegister {
    public static let bytesAvailableHigh: UInt8 = 0xFD
    public static let stream: UInt8 = 0xFF
}
