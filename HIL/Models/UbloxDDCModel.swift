/// u-blox M8 / M9 / F9 receiver on I2C (DDC) at 0x42.
///
/// Read side (receiver description, "DDC read access"): 0xFD/0xFE give the number of bytes
/// waiting (big-endian, latched at the start of each transaction), 0xFF is the output stream
/// (0xFF once it is empty). The address pointer starts at 0xFF, moves up after each byte read
/// and stays at 0xFF; a read without a pointer write ("current address" read) continues from
/// it. Registers 0x00…0xFC are reserved and read 0.
/// Write side: a write of exactly one byte sets the pointer; a write of two or more bytes is
/// message data for the receiver's input parser (no register byte), which syncs on 0xB5 0x62
/// and drops frames with a bad checksum.
///
/// Answers: MON-VER poll → MON-VER; CFG-VALSET / CFG-VALDEL → ACK-ACK on M9/F9, ACK-NAK on M8;
/// CFG-PRT, CFG-MSG, CFG-RATE, CFG-CFG, CFG-NAV5, CFG-GNSS → ACK-ACK (NAK if malformed) on all
/// generations; CFG-RST → nothing; CFG polls (empty payload) → nothing; other CFG → ACK-NAK.
/// Output is produced only by the world: it calls `enqueueNavPVT` at the navigation rate.
/// The output buffer is bounded: a frame that does not fit is dropped whole.
///
/// Faults honoured: `nack`, `stuckBus`, `stale` (enqueue calls ignored; replies still sent),
/// `badChecksum` (CK_A/CK_B of frames enqueued while set are wrong), `bitFlipProbability`;
/// `enqueueNoise` adds garbage to the stream.
public final class UbloxDDCModel: I2CDeviceModel {
    public enum Generation: Equatable, Sendable { case m8, m9, f9 }

    public enum Register: UInt8 {
        case bytesAvailableHigh = 0xFD, bytesAvailableLow = 0xFE, dataStream = 0xFF
    }

    /// A UBX message as received from the master.
    public struct Message: Equatable, Sendable {
        public var messageClass: UInt8
        public var id: UInt8
        public var payload: [UInt8]

        public init(messageClass: UInt8, id: UInt8, payload: [UInt8]) {
            self.messageClass = messageClass
            self.id = id
            self.payload = payload
        }
    }

    /// One key/value of a CFG-VALSET.
    public struct ConfigItem: Equatable, Sendable {
        public var key: UInt32
        public var value: UInt64

        public init(key: UInt32, value: UInt64) {
            self.key = key
            self.value = value
        }
    }

    /// UBX-NAV-PVT fields, in the units of the message.
    public struct NavPVT: Equatable, Sendable {
        public var iTOWMs: UInt32 = 0
        public var year: UInt16 = 2024
        public var month: UInt8 = 1, day: UInt8 = 1, hour: UInt8 = 0, min: UInt8 = 0, sec: UInt8 = 0
        /// validDate 0x01, validTime 0x02, fullyResolved 0x04, validMag 0x08.
        public var valid: UInt8 = 0x07
        public var tAccNs: UInt32 = 50
        public var nanoNs: Int32 = 0
        /// 0 no fix, 1 dead reckoning, 2 2D, 3 3D, 4 GNSS + DR, 5 time only.
        public var fixType: UInt8 = 3
        /// gnssFixOK bit 0, diffSoln bit 1, psmState bits 4:2, headVehValid bit 5, carrSoln 7:6.
        public var flags: UInt8 = 0x01
        /// confirmedAvai 0x20, confirmedDate 0x40, confirmedTime 0x80.
        public var flags2: UInt8 = 0xE0
        public var numSV: UInt8 = 12
        public var lonDegE7: Int32 = 0, latDegE7: Int32 = 0
        /// Height above the ellipsoid and above mean sea level (mm).
        public var heightMm: Int32 = 0, hMSLMm: Int32 = 0
        public var hAccMm: UInt32 = 1_500, vAccMm: UInt32 = 2_500
        public var velNMmps: Int32 = 0, velEMmps: Int32 = 0, velDMmps: Int32 = 0
        public var gSpeedMmps: Int32 = 0
        public var headMotDegE5: Int32 = 0
        public var sAccMmps: UInt32 = 300
        public var headAccDegE5: UInt32 = 1_000_000
        /// Position DOP × 100.
        public var pDOPx100: UInt16 = 150
        public var flags3: UInt16 = 0
        public var headVehDegE5: Int32 = 0
        public var magDecDegE2: Int16 = 0
        public var magAccDegE2: UInt16 = 0

        public init() {}

        public var gnssFixOK: Bool {
            get { flags & 0x01 != 0 }
            set { flags = newValue ? flags | 0x01 : flags & ~0x01 }
        }

        /// 0 none, 1 RTK float, 2 RTK fixed.
        public var carrSoln: UInt8 {
            get { flags >> 6 }
            set { precondition(newValue <= 2); flags = flags & 0x3F | newValue << 6 }
        }
    }

    public static let syncChar1: UInt8 = 0xB5, syncChar2: UInt8 = 0x62
    public static let inputCapacity = 2_048
    public static let messageLogCapacity = 256

    public let address: UInt8
    public let generation: Generation
    public var faults = ModelFaults()
    /// MON-VER contents; set from `generation`, may be changed.
    public var softwareVersion: String
    public var hardwareVersion: String
    public var versionExtensions: [String]
    /// How long after the master's message a reply enters the output stream (ns).
    public var replyDelayNs: UInt64 = 0
    /// Output buffer size (bytes).
    public let outputCapacity: Int
    public var bytesWaiting: Int { output.count }
    public private(set) var droppedOutputFrames = 0
    /// Input frames dropped for a bad checksum or an impossible length.
    public private(set) var rejectedInputFrames = 0
    /// Valid UBX messages the master wrote, oldest first (the oldest dropped past 256).
    public private(set) var receivedMessages: [Message] = []
    public var configurationMessages: [Message] { receivedMessages.filter { $0.messageClass == 0x06 } }
    /// Measurement period from the last CFG-RATE or CFG-VALSET CFG-RATE-MEAS (ms).
    public private(set) var measurementRateMs: UInt16 = 1_000
    public private(set) var pointer: UInt8 = 0xFF

    private var rng: SeededRandom
    private var noiseRng: SeededRandom
    private var output: ByteRing
    private var input: [UInt8] = []
    private var pendingReplies: [(dueNs: UInt64, frame: [UInt8])] = []

    public init(generation: Generation = .m9, address: UInt8 = 0x42, seed: UInt64 = 0,
                outputCapacity: Int = 4_096) {
        precondition(outputCapacity > 0)
        self.address = address
        self.generation = generation
        self.rng = SeededRandom(seed: seed)
        self.noiseRng = SeededRandom(seed: seed ^ 0x6E6F_6973_65)
        self.output = ByteRing(capacity: outputCapacity)
        self.outputCapacity = outputCapacity
        switch generation {
        case .m8:
            softwareVersion = "ROM CORE 3.01 (107888)"
            hardwareVersion = "00080000"
            versionExtensions = ["FWVER=SPG 3.01", "PROTVER=18.00", "GPS;GLO;GAL;BDS", "SBAS;IMES;QZSS"]
        case .m9:
            softwareVersion = "EXT CORE 4.04 (7f89f7)"
            hardwareVersion = "00190000"
            versionExtensions = ["ROM BASE 0x118B2060", "FWVER=SPG 4.04", "PROTVER=32.01",
                                 "MOD=NEO-M9N", "GPS;GLO;GAL;BDS", "SBAS;QZSS"]
        case .f9:
            softwareVersion = "EXT CORE 1.00 (f17067)"
            hardwareVersion = "00190000"
            versionExtensions = ["ROM BASE 0x118B2060", "FWVER=HPG 1.50", "PROTVER=27.50",
                                 "MOD=ZED-F9P", "GPS;GLO;GAL;BDS", "SBAS;QZSS"]
        }
    }

    // MARK: The world's side

    /// Queues a NAV-PVT frame. Returns false if ignored (stale) or dropped (buffer full).
    @discardableResult
    public func enqueueNavPVT(_ pvt: NavPVT) -> Bool {
        enqueueUBX(messageClass: 0x01, id: 0x07, payload: Self.navPVTPayload(pvt))
    }

    /// Queues any UBX frame. Returns false if ignored (stale) or dropped (buffer full).
    @discardableResult
    public func enqueueUBX(messageClass: UInt8, id: UInt8, payload: [UInt8]) -> Bool {
        guard !faults.stale else { return false }
        return emit(Self.frame(messageClass: messageClass, id: id, payload: payload))
    }

    /// Queues an NMEA sentence as given (see `nmeaSentence(body:)`).
    @discardableResult
    public func enqueueNMEA(_ sentence: String) -> Bool {
        guard !faults.stale else { return false }
        return push(Array(sentence.utf8))
    }

    /// Queues `count` random bytes (line noise, a half-written frame, a baud-rate mix-up).
    @discardableResult
    public func enqueueNoise(count: Int) -> Bool {
        precondition(count >= 0)
        var bytes: [UInt8] = []
        for _ in 0..<count { bytes.append(UInt8(truncatingIfNeeded: noiseRng.next())) }
        return push(bytes)
    }

    // MARK: The bus side

    public func transfer(write: [UInt8], readCount: Int, nowNs: UInt64) -> I2CModelResponse {
        applyCommonFaults(faults, rng: &rng) {
            releaseReplies(nowNs: nowNs)
            if write.count == 1 {
                pointer = write[0]
            } else if write.count >= 2 {
                receive(write, nowNs: nowNs)
            }
            let waiting = UInt16(clamping: output.count)
            var bytes: [UInt8] = []
            bytes.reserveCapacity(readCount)
            for _ in 0..<readCount {
                switch pointer {
                case Register.bytesAvailableHigh.rawValue: bytes.append(UInt8(waiting >> 8))
                case Register.bytesAvailableLow.rawValue: bytes.append(UInt8(waiting & 0xFF))
                case Register.dataStream.rawValue: bytes.append(output.pop() ?? 0xFF)
                default: bytes.append(0)
                }
                if pointer != Register.dataStream.rawValue { pointer += 1 }
            }
            return .ack(bytes)
        }
    }

    // MARK: Frames

    /// 8-bit Fletcher checksum over class, id, length and payload.
    public static func checksum<C: Collection>(_ body: C) -> (a: UInt8, b: UInt8) where C.Element == UInt8 {
        var a: UInt8 = 0, b: UInt8 = 0
        for byte in body { a &+= byte; b &+= a }
        return (a, b)
    }

    /// A complete UBX frame: sync chars, class, id, length (LE), payload, CK_A, CK_B.
    public static func frame(messageClass: UInt8, id: UInt8, payload: [UInt8]) -> [UInt8] {
        precondition(payload.count <= 0xFFFF)
        let body = [messageClass, id, UInt8(payload.count & 0xFF), UInt8(payload.count >> 8)] + payload
        let (a, b) = checksum(body)
        return [syncChar1, syncChar2] + body + [a, b]
    }

    /// The 92-byte NAV-PVT payload.
    public static func navPVTPayload(_ p: NavPVT) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(92)
        func le<T: FixedWidthInteger>(_ value: T) {
            for i in 0..<(T.bitWidth / 8) { out.append(UInt8(truncatingIfNeeded: value >> (8 * i))) }
        }
        le(p.iTOWMs); le(p.year); le(p.month); le(p.day); le(p.hour); le(p.min); le(p.sec)
        le(p.valid); le(p.tAccNs); le(p.nanoNs); le(p.fixType); le(p.flags); le(p.flags2)
        le(p.numSV); le(p.lonDegE7); le(p.latDegE7); le(p.heightMm); le(p.hMSLMm)
        le(p.hAccMm); le(p.vAccMm); le(p.velNMmps); le(p.velEMmps); le(p.velDMmps)
        le(p.gSpeedMmps); le(p.headMotDegE5); le(p.sAccMmps); le(p.headAccDegE5)
        le(p.pDOPx100); le(p.flags3); le(UInt32(0)); le(p.headVehDegE5); le(p.magDecDegE2)
        le(p.magAccDegE2)
        assert(out.count == 92)
        return out
    }

    /// "$" + body + "*" + checksum (XOR of the body, two hex digits) + CR LF.
    public static func nmeaSentence(body: String) -> String {
        let sum = body.utf8.reduce(UInt8(0), ^)
        let hex = Array("0123456789ABCDEF")
        return "$" + body + "*" + String(hex[Int(sum >> 4)]) + String(hex[Int(sum & 0xF)]) + "\r\n"
    }

    /// The key/value items of a CFG-VALSET payload, or nil if it is malformed.
    public static func configItems(inValset payload: [UInt8]) -> [ConfigItem]? {
        guard payload.count >= 4 else { return nil }
        var items: [ConfigItem] = []
        var i = 4
        while i < payload.count {
            guard i + 4 <= payload.count, items.count < 64 else { return nil }
            let key = (0..<4).reduce(UInt32(0)) { $0 | UInt32(payload[i + $1]) << (8 * UInt32($1)) }
            let size: Int
            switch key >> 28 & 0x7 {
            case 1, 2: size = 1
            case 3: size = 2
            case 4: size = 4
            case 5: size = 8
            default: return nil
            }
            guard i + 4 + size <= payload.count else { return nil }
            let value = (0..<size).reduce(UInt64(0)) { $0 | UInt64(payload[i + 4 + $1]) << (8 * UInt64($1)) }
            items.append(ConfigItem(key: key, value: value))
            i += 4 + size
        }
        return items
    }

    // MARK: Private

    private func emit(_ frame: [UInt8]) -> Bool {
        var frame = frame
        if faults.badChecksum { frame[frame.count - 2] ^= 0x5A; frame[frame.count - 1] ^= 0xA5 }
        return push(frame)
    }

    private func push(_ bytes: [UInt8]) -> Bool {
        guard outputCapacity - output.count >= bytes.count else {
            droppedOutputFrames += 1
            return false
        }
        output.push(bytes)
        return true
    }

    private func releaseReplies(nowNs: UInt64) {
        while let first = pendingReplies.first, first.dueNs <= nowNs {
            pendingReplies.removeFirst()
            _ = emit(first.frame)
        }
    }

    private func reply(_ frame: [UInt8], nowNs: UInt64) {
        pendingReplies.append((nowNs + replyDelayNs, frame))
        releaseReplies(nowNs: nowNs)
    }

    private func receive(_ bytes: [UInt8], nowNs: UInt64) {
        input += bytes
        while true {
            var start = 0
            while start + 1 < input.count, !(input[start] == Self.syncChar1 && input[start + 1] == Self.syncChar2) {
                start += 1
            }
            if start + 1 >= input.count {
                let keep = input.last == Self.syncChar1 ? 1 : 0
                input.removeFirst(input.count - keep)
                return
            }
            input.removeFirst(start)
            guard input.count >= 6 else { return }
            let length = Int(input[4]) | Int(input[5]) << 8
            guard length + 8 <= Self.inputCapacity else {
                rejectedInputFrames += 1
                input.removeFirst(2)
                continue
            }
            guard input.count >= length + 8 else { return }
            let (a, b) = Self.checksum(input[2..<(6 + length)])
            if a == input[6 + length], b == input[7 + length] {
                handle(Message(messageClass: input[2], id: input[3], payload: Array(input[6..<(6 + length)])),
                       nowNs: nowNs)
                input.removeFirst(length + 8)
            } else {
                rejectedInputFrames += 1
                input.removeFirst(2)
            }
        }
    }

    private func handle(_ message: Message, nowNs: UInt64) {
        if receivedMessages.count == Self.messageLogCapacity { receivedMessages.removeFirst() }
        receivedMessages.append(message)
        switch (message.messageClass, message.id) {
        case (0x0A, 0x04) where message.payload.isEmpty:
            reply(Self.frame(messageClass: 0x0A, id: 0x04, payload: monVerPayload()), nowNs: nowNs)
        case (0x06, let id):
            if let accepted = acceptConfiguration(id: id, payload: message.payload) {
                reply(Self.frame(messageClass: 0x05, id: accepted ? 0x01 : 0x00, payload: [0x06, id]),
                      nowNs: nowNs)
            }
        default:
            break
        }
    }

    /// true → ACK-ACK, false → ACK-NAK, nil → no answer.
    private func acceptConfiguration(id: UInt8, payload: [UInt8]) -> Bool? {
        switch id {
        case 0x8A, 0x8C:  // CFG-VALSET, CFG-VALDEL
            guard generation != .m8, let items = Self.configItems(inValset: payload) else { return false }
            if id == 0x8A, let rate = items.last(where: { $0.key == 0x3021_0001 }) {
                measurementRateMs = UInt16(truncatingIfNeeded: rate.value)
            }
            return true
        case 0x04:  // CFG-RST is not acknowledged
            return nil
        case _ where payload.isEmpty:  // a poll; answering polls is not modelled
            return nil
        case 0x01:  // CFG-MSG: 3 bytes (current port) or 8 (six ports)
            return payload.count == 3 || payload.count == 8
        case 0x08:  // CFG-RATE: measRate u16 ms, navRate, timeRef
            guard payload.count == 6 else { return false }
            measurementRateMs = UInt16(payload[0]) | UInt16(payload[1]) << 8
            return true
        case 0x00, 0x09, 0x24, 0x3E:  // CFG-PRT, CFG-CFG, CFG-NAV5, CFG-GNSS
            return true
        default:
            return false
        }
    }

    private func monVerPayload() -> [UInt8] {
        func field(_ text: String, _ size: Int) -> [UInt8] {
            let bytes = Array(text.utf8.prefix(size - 1))
            return bytes + [UInt8](repeating: 0, count: size - bytes.count)
        }
        return field(softwareVersion, 30) + field(hardwareVersion, 10)
            + versionExtensions.flatMap { field($0, 30) }
    }
}

/// A fixed-capacity FIFO of bytes.
private struct ByteRing {
    private var storage: [UInt8]
    private var head = 0
    private(set) var count = 0

    init(capacity: Int) { storage = [UInt8](repeating: 0, count: capacity) }

    mutating func push(_ bytes: [UInt8]) {
        precondition(count + bytes.count <= storage.count)
        for byte in bytes {
            storage[(head + count) % storage.count] = byte
            count += 1
        }
    }

    mutating func pop() -> UInt8? {
        guard count > 0 else { return nil }
        let byte = storage[head]
        head = (head + 1) % storage.count
        count -= 1
        return byte
    }
}
