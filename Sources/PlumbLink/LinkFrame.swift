import CSodium

// The dispatch link's frame: a 12-byte header that is also the AEAD nonce, the
// ChaCha20-Poly1305 (IETF) ciphertext of one message, and the 16-byte tag. The header is
// authenticated as associated data. Layout and rules: docs/protocol.md.

public enum LinkDirection: UInt8, Equatable, Sendable {
    case toGround = 0
    case toDrone = 1
}

public struct LinkHeader: Equatable {
    public static let size = 12
    public static let version: UInt8 = 1

    public var direction: LinkDirection
    public var droneID: UInt16
    public var keyID: UInt8
    /// Incremented (and persisted) by the sender at every start: a nonce is never reused.
    public var epoch: UInt32
    /// Frames sent in this epoch before this one.
    public var counter: UInt32

    public init(direction: LinkDirection, droneID: UInt16, keyID: UInt8, epoch: UInt32, counter: UInt32) {
        self.direction = direction
        self.droneID = droneID
        self.keyID = keyID
        self.epoch = epoch
        self.counter = counter
    }

    public func write(into out: UnsafeMutableRawBufferPointer) {
        out[0] = LinkHeader.version << 4 | direction.rawValue
        out[1] = UInt8(droneID & 0xFF)
        out[2] = UInt8(droneID >> 8)
        out[3] = keyID
        for i in 0..<4 { out[4 + i] = UInt8((epoch >> (8 * UInt32(i))) & 0xFF) }
        for i in 0..<4 { out[8 + i] = UInt8((counter >> (8 * UInt32(i))) & 0xFF) }
    }

    /// Parses the header; the version byte is checked by the caller (to count downgrades).
    public static func parse(_ b: UnsafeRawBufferPointer) -> LinkHeader? {
        guard b.count >= size, let dir = LinkDirection(rawValue: b[0] & 0x0F) else { return nil }
        func u32(_ o: Int) -> UInt32 {
            UInt32(b[o]) | UInt32(b[o + 1]) << 8 | UInt32(b[o + 2]) << 16 | UInt32(b[o + 3]) << 24
        }
        return LinkHeader(direction: dir, droneID: UInt16(b[1]) | UInt16(b[2]) << 8, keyID: b[3],
                          epoch: u32(4), counter: u32(8))
    }
}

/// Why a frame was dropped. Every one is counted; none gets a reply.
public enum LinkError: Error, Equatable {
    case truncated
    /// A version other than ours: an old or downgraded sender.
    case badVersion(UInt8)
    case wrongDirection
    case wrongDrone(UInt16)
    case unknownKey(UInt8)
    case authenticationFailed
    case replayed
    case tooLarge
    case outputTooSmall
    /// The payload decrypted but is not a message we know.
    case badMessage
    /// The frame counter of this epoch is spent: a new epoch must be started.
    case epochExhausted
}

/// A 32-byte key and its id (rotation: the receiver keeps the previous key for a while).
public struct LinkKey: Equatable, Sendable {
    public static let size = 32
    public let id: UInt8
    public let bytes: [UInt8]

    public init?(id: UInt8, bytes: [UInt8]) {
        guard bytes.count == LinkKey.size else { return nil }
        self.id = id
        self.bytes = bytes
    }
}

public enum LinkCrypto {
    public static let tagSize = 16
    /// Header plus tag.
    public static let overhead = LinkHeader.size + tagSize
    /// The largest frame either side sends or accepts (fits one UDP datagram on any path).
    public static let maxFrame = 1200
    public static var maxPayload: Int { maxFrame - overhead }

    /// Must be called once before sealing or opening (libsodium's own initialisation).
    public static func initialize() -> Bool { sodium_init() >= 0 }

    /// Seals `plaintext` under `header` into `out`; returns the frame length.
    public static func seal(header: LinkHeader, plaintext: UnsafeRawBufferPointer, key: LinkKey,
                            into out: UnsafeMutableRawBufferPointer) throws(LinkError) -> Int {
        let total = overhead + plaintext.count
        guard plaintext.count <= maxPayload else { throw LinkError.tooLarge }
        guard out.count >= total, let base = out.baseAddress else { throw LinkError.outputTooSmall }
        header.write(into: out)
        let h = base.assumingMemoryBound(to: UInt8.self)
        let r = key.bytes.withUnsafeBufferPointer { k -> Int32 in
            guard let kp = k.baseAddress else { return -1 }
            return crypto_aead_chacha20poly1305_ietf_encrypt_detached(
                h + LinkHeader.size, h + LinkHeader.size + plaintext.count, nil,
                plaintext.baseAddress?.assumingMemoryBound(to: UInt8.self), UInt64(plaintext.count),
                h, UInt64(LinkHeader.size), nil, h, kp)
        }
        guard r == 0 else { throw LinkError.authenticationFailed }
        return total
    }

    /// Checks and decrypts `frame` (whose header the caller parsed and vetted) into
    /// `out`; returns the plaintext length. Nothing is written to `out` unless the tag
    /// is valid.
    public static func open(frame: UnsafeRawBufferPointer, key: LinkKey,
                            into out: UnsafeMutableRawBufferPointer) throws(LinkError) -> Int {
        guard frame.count >= overhead, let f = frame.baseAddress?.assumingMemoryBound(to: UInt8.self) else {
            throw LinkError.truncated
        }
        guard frame.count <= maxFrame else { throw LinkError.tooLarge }
        let n = frame.count - overhead
        guard out.count >= n else { throw LinkError.outputTooSmall }
        let r = key.bytes.withUnsafeBufferPointer { k -> Int32 in
            guard let kp = k.baseAddress else { return -1 }
            return crypto_aead_chacha20poly1305_ietf_decrypt_detached(
                out.baseAddress?.assumingMemoryBound(to: UInt8.self), nil,
                f + LinkHeader.size, UInt64(n), f + LinkHeader.size + n,
                f, UInt64(LinkHeader.size), f, kp)
        }
        guard r == 0 else { throw LinkError.authenticationFailed }
        return n
    }
}

/// The 64-frame sliding replay window of one sender (one direction). It tolerates
/// reordering within the window, refuses anything older or seen, and moves only when
/// `accept` is called — after the frame has authenticated.
public struct ReplayWindow: Equatable {
    public static let size: UInt32 = 64
    public private(set) var epoch: UInt32? = nil
    public private(set) var highest: UInt32 = 0
    /// Bit i set: counter `highest - i` was accepted.
    public private(set) var seen: UInt64 = 0

    public init() {}

    public func wouldAccept(epoch e: UInt32, counter c: UInt32) -> Bool {
        guard let current = epoch else { return true }
        if e < current { return false }
        if e > current { return true }
        if c > highest { return true }
        let age = highest - c
        if age >= ReplayWindow.size { return false }
        return seen & (1 << UInt64(age)) == 0
    }

    /// Starts the window at (epoch, counter) with that frame and the 63 before it seen.
    public mutating func restore(epoch e: UInt32, counter c: UInt32) {
        if let current = epoch, current > e || (current == e && highest >= c) { return }
        epoch = e
        highest = c
        seen = UInt64.max
    }

    public mutating func accept(epoch e: UInt32, counter c: UInt32) {
        guard wouldAccept(epoch: e, counter: c) else { return }
        if epoch == nil || e > (epoch ?? 0) {
            epoch = e
            highest = c
            seen = 1
            return
        }
        if c > highest {
            let shift = c - highest
            seen = shift >= 64 ? 1 : (seen << UInt64(shift)) | 1
            highest = c
        } else {
            seen |= 1 << UInt64(highest - c)
        }
    }
}
