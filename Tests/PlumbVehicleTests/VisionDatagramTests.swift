import PlumbCore
import PlumbFlight
import PlumbVehicle
import Testing

/// The camera process's datagram: round trip, and every corruption refused.
@Suite struct VisionDatagramTests {
    let sample = VisionSighting(kind: .parcel, offset: NED(0.25, -1.5, 11.75), captureNs: 123_456_789_012, quality: 87)

    func decode(_ b: [UInt8]) -> Result<VisionSighting, VisionDatagram.Failure> {
        b.withUnsafeBytes { VisionDatagram.decode($0) }
    }

    @Test func roundTrip() throws {
        var b: [UInt8] = []
        VisionDatagram.encode(sample, sequence: 7, into: &b)
        #expect(b.count == VisionDatagram.size)
        #expect(Array(b[0..<4]) == [0x50, 0x4C, 0x56, 0x31])
        let s = try decode(b).get()
        #expect(s == sample)   // the offsets are exact in f32
    }

    @Test func everySingleBitFlipIsRefused() {
        var b: [UInt8] = []
        VisionDatagram.encode(sample, sequence: 7, into: &b)
        for i in 0..<b.count {
            for bit in 0..<8 {
                var c = b
                c[i] ^= UInt8(1 << bit)
                guard case .failure = decode(c) else {
                    Issue.record("byte \(i) bit \(bit) flipped was accepted")
                    return
                }
            }
        }
    }

    @Test func wrongLengthKindAndValuesAreRefused() {
        var b: [UInt8] = []
        VisionDatagram.encode(sample, sequence: 7, into: &b)
        #expect(decode(Array(b.dropLast())) == .failure(.length))
        #expect(decode(b + [0]) == .failure(.length))
        var bad = sample
        bad.offset = NED(.infinity, 0, 1)
        var c: [UInt8] = []
        VisionDatagram.encode(bad, sequence: 1, into: &c)
        #expect(decode(c) == .failure(.value))
        var q = sample
        q.quality = 200
        var d: [UInt8] = []
        VisionDatagram.encode(q, sequence: 1, into: &d)
        #expect(decode(d) == .failure(.value))
    }
}
