// libFuzzer target: COBS decoding of arbitrary frames, and encode/decode round trips.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCOBS(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let input = UnsafeRawBufferPointer(start: data, count: size)
    var out = [UInt8](repeating: 0, count: size + 1)
    _ = out.withUnsafeMutableBytes { try? COBS.decode(input, into: $0) }
    var enc = [UInt8](repeating: 0, count: COBS.maxEncodedCount(size))
    var dec = [UInt8](repeating: 0, count: size)
    enc.withUnsafeMutableBytes { e in
        guard let n = try? COBS.encode(input, into: e) else { fatalError("encode refused a sized buffer") }
        for i in 0..<n where e[i] == 0 { fatalError("zero byte in COBS output") }
        let m = dec.withUnsafeMutableBytes { try? COBS.decode(UnsafeRawBufferPointer(rebasing: e[0..<n]), into: $0) }
        guard m == size, dec.elementsEqual(input) else { fatalError("COBS round trip changed the data") }
    }
    return 0
}
