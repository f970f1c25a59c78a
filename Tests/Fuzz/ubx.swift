// libFuzzer target: the UBX stream parser, NAV-PVT decoding and MON-VER parsing over
// arbitrary receiver bytes. A parser copied at the midpoint must go on exactly like
// the original (the parser is a plain value: no hidden state).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzUBX(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    var parser = UBXParser(capacity: 256)
    var copy: UBXParser? = nil
    var framesAfterMid = 0
    var copyFrames = 0
    for i in 0..<size {
        if i == size / 2 { copy = parser }
        if parser.feed(data[i]) {
            if i >= size / 2 { framesAfterMid += 1 }
            _ = parser.withPayload { NavPVT.decode($0) }
            _ = parser.withPayload { ReceiverGeneration.fromMonVer($0) }
        }
        if copy != nil, copy!.feed(data[i]) { copyFrames += 1 }
    }
    if copy != nil && (copyFrames != framesAfterMid || copy!.stats != parser.stats) {
        fatalError("a copied parser diverged from the original")
    }
    return 0
}
