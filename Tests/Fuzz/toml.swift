// libFuzzer target: the TOML-subset parser and the config schema over arbitrary bytes.
// Any crash, hang or sanitizer report is a bug; errors are the expected outcome.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTOML(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    do {
        let doc = try TOMLDocument.parse(bytes: bytes)
        var reader = ConfigReader(doc)
        _ = reader.int("loop.rate_hz", in: 10...1000, default: 100)
        _ = reader.double("loop.gain", in: -1...1, default: 0)
        _ = reader.choice("log.level", ["error", "info"], default: "info")
        reader.reportUnknown()
        for d in reader.diagnostics { _ = d.formatted(file: "fuzz.toml") }
    } catch {
        _ = error.formatted(file: "fuzz.toml")
    }
    return 0
}
