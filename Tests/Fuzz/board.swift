// libFuzzer target: board-file validation (parser + schema + cross-checks).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzBoard(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    guard let doc = try? TOMLDocument.parse(bytes: bytes) else { return 0 }
    var reader = ConfigReader(doc)
    _ = BoardDescription.read(&reader)
    return 0
}
