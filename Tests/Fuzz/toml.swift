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
        // Keys read from their schema descriptions, and their values written back.
        _ = reader.int(ConfigKey.integer("tension.sample_rate_sps", 80, 10...320, choices: [10, 20, 40, 80, 320], "rate"))
        _ = reader.double(ConfigKey.number("winch.drum_circumference_m", 0.3, 0.02...3, "drum"))
        _ = reader.bool(ConfigKey.boolean("link.enabled", false, "link"))
        _ = reader.string(ConfigKey.string("link.listen", "0.0.0.0:1", maxLength: 32, "listen"))
        for s in reader.settings { _ = formatConfigValue(s.value) }
        reader.reportUnknown()
        for d in reader.diagnostics { _ = d.formatted(file: "fuzz.toml") }
    } catch {
        _ = error.formatted(file: "fuzz.toml")
    }
    return 0
}
