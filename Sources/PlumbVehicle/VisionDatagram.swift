import PlumbCore
import PlumbFlight
import PlumbLink

/// The camera process's datagram: one sighting, 32 bytes, little-endian (docs/vision.md).
///
///     0  4  magic "PLV1"
///     4  1  kind: 1 target (the H), 2 parcel
///     5  1  quality 0...100
///     6  2  sequence (wraps; informative)
///     8  8  capture time, ns, CLOCK_MONOTONIC of this computer
///    16  4  north, m (f32), object relative to the camera, local NED axes
///    20  4  east, m (f32)
///    24  4  down, m (f32)
///    28  4  CRC-32 (IEEE) of bytes 0..<28
public enum VisionDatagram {
    public static let size = 32
    public static let magic: (UInt8, UInt8, UInt8, UInt8) = (0x50, 0x4C, 0x56, 0x31)

    public enum Failure: Error, Equatable {
        case length, magic, checksum, kind, value
    }

    public static func encode(_ s: VisionSighting, sequence: UInt16, into out: inout [UInt8]) {
        let start = out.count
        out.append(contentsOf: [magic.0, magic.1, magic.2, magic.3])
        out.append(s.kind.rawValue)
        out.append(s.quality)
        func le(_ v: UInt64, _ n: Int) { for i in 0..<n { out.append(UInt8(truncatingIfNeeded: v >> (8 * UInt64(i)))) } }
        le(UInt64(sequence), 2)
        le(s.captureNs, 8)
        le(UInt64(Float(s.offset.n).bitPattern), 4)
        le(UInt64(Float(s.offset.e).bitPattern), 4)
        le(UInt64(Float(s.offset.d).bitPattern), 4)
        var crc = CRC32()
        for i in start..<(start + 28) { crc.update(out[i]) }
        le(UInt64(crc.value), 4)
    }

    public static func decode(_ bytes: UnsafeRawBufferPointer) -> Result<VisionSighting, Failure> {
        guard bytes.count == size else { return .failure(.length) }
        guard bytes[0] == magic.0, bytes[1] == magic.1, bytes[2] == magic.2, bytes[3] == magic.3 else { return .failure(.magic) }
        var crc = CRC32()
        for i in 0..<28 { crc.update(bytes[i]) }
        var r = ByteReader(UnsafeRawBufferPointer(rebasing: bytes[28..<32]))
        guard r.u32() == crc.value else { return .failure(.checksum) }
        var m = ByteReader(UnsafeRawBufferPointer(rebasing: bytes[4..<28]))
        guard let kind = VisionSighting.Kind(rawValue: m.u8()) else { return .failure(.kind) }
        let quality = m.u8()
        _ = m.u16()
        let t = m.u64()
        let n = Double(m.f32()), e = Double(m.f32()), d = Double(m.f32())
        guard quality <= 100, n.isFinite, e.isFinite, d.isFinite, !m.failed else { return .failure(.value) }
        return .success(VisionSighting(kind: kind, offset: NED(n, e, d), captureNs: t, quality: quality))
    }
}
