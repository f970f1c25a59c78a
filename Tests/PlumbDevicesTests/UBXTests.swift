import Foundation
import Testing
@testable import PlumbDevices

/// Streams made by pyubx2 (Tests/ubx/make_stream.py), an implementation independent of
/// ours. `make deps` installs it.
struct PyUBXStream {
    let stream: [UInt8]
    let expected: [[String: Any]]
    let corrupted: Int

    static var root: String {
        var parts = #filePath.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        parts.removeLast(3)
        return parts.joined(separator: "/")
    }

    init(seed: Int, wild: Bool = false) throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ubx-\(getpid())-\(seed)-\(wild)").path
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", PyUBXStream.root + "/Tests/ubx/make_stream.py", dir, String(seed)] + (wild ? ["--wild"] : [])
        try p.run()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else {
            throw CocoaError(.fileReadUnknown, userInfo: [NSLocalizedDescriptionKey: "make_stream.py failed: is pyubx2 installed (make deps)?"])
        }
        stream = Array(try Data(contentsOf: URL(fileURLWithPath: dir + "/stream.bin")))
        let lines = try String(contentsOfFile: dir + "/expected.jsonl", encoding: .utf8).split(separator: "\n")
        expected = try lines.map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] ?? [:] }
        let counts = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/counts.json"))) as? [String: Int]
        corrupted = counts?["corrupted"] ?? -1
    }
}

func fields(_ p: NavPVT) -> [String: Double] {
    ["iTOW": Double(p.iTOWMs), "fixType": Double(p.fixTypeRaw), "carrSoln": Double(p.carrierSolution.rawValue),
     "numSV": Double(p.numSV), "lat": p.latitudeDeg, "lon": p.longitudeDeg, "heightM": p.heightM, "hMSLM": p.hMSLM,
     "hAccM": p.hAccM, "vAccM": p.vAccM, "velN": p.velNMps, "velE": p.velEMps, "velD": p.velDMps,
     "gSpeed": p.groundSpeedMps, "headMot": p.headingOfMotionDeg]
}

func matches(_ got: [String: Double], _ want: [String: Any]) -> Bool {
    for (k, v) in want {
        guard let w = (v as? NSNumber)?.doubleValue, let g = got[k] else { return false }
        if abs(g - w) > 1e-6 * max(1, abs(w)) { return false }
    }
    return true
}

/// Feeds `stream` in chunks of random sizes (1...max), as DDC reads would split it.
func decodeInChunks(_ stream: [UInt8], maxChunk: Int, seed: UInt64) -> (frames: [NavPVT], stats: UBXStreamStats) {
    var parser = UBXParser(capacity: 512)
    var out: [NavPVT] = []
    var rng = seed
    var i = 0
    while i < stream.count {
        rng = rng &* 6364136223846793005 &+ 1442695040888963407
        let n = min(stream.count - i, 1 + Int(rng >> 33) % maxChunk)
        for b in stream[i..<(i + n)] where parser.feed(b) {
            if parser.classID == 0x01, parser.messageID == 0x07, let p = parser.withPayload({ NavPVT.decode($0) }) {
                out.append(p)
            }
        }
        i += n
    }
    return (out, parser.stats)
}

@Suite struct UBXAgainstPyUBX2 {
    @Test(arguments: [1, 2, 3])
    func everyGoodFrameIsDecodedExactlyAndEveryCorruptOneCounted(seed: Int) throws {
        let s = try PyUBXStream(seed: seed)
        let (frames, stats) = decodeInChunks(s.stream, maxChunk: 37, seed: UInt64(seed))
        #expect(frames.count == s.expected.count)
        for (got, want) in zip(frames, s.expected) {
            #expect(matches(fields(got), want), "\(fields(got)) vs \(want)")
        }
        #expect(Int(stats.badChecksum) == s.corrupted)
        #expect(stats.nmeaSentences > 0)
        #expect(stats.bytesSkipped > 0)
    }

    @Test func wildNoiseNeverProducesAWrongFrame() throws {
        let s = try PyUBXStream(seed: 7, wild: true)
        let (frames, _) = decodeInChunks(s.stream, maxChunk: 64, seed: 7)
        // Noise may start a false frame that hides a good one; nothing wrong may come out.
        var next = 0
        for f in frames {
            let got = fields(f)
            while next < s.expected.count && !matches(got, s.expected[next]) { next += 1 }
            #expect(next < s.expected.count, "decoded a frame that was never sent: \(got)")
            next += 1
        }
        #expect(frames.count * 10 >= s.expected.count * 9, "recovered \(frames.count) of \(s.expected.count)")
    }

    @Test func plumbUbxDecodePrintsOneJSONObjectPerNavPVT() throws {
        let s = try PyUBXStream(seed: 11)
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("ubx-decode-\(getpid()).bin")
        try Data(s.stream).write(to: file)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: PyUBXStream.root + "/.build/debug/plumb")
        p.arguments = ["ubx", "decode", file.path]
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        #expect(p.terminationStatus == 0)
        let lines = String(decoding: o, as: UTF8.self).split(separator: "\n")
        #expect(lines.count == s.expected.count)
        for (line, want) in zip(lines, s.expected) {
            let obj = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] ?? [:]
            var got: [String: Double] = [:]
            for (k, v) in obj { got[k] = (v as? NSNumber)?.doubleValue }
            #expect(Set(got.keys) == Set(want.keys))
            #expect(matches(got, want))
        }
        #expect(e.contains("bad checksum \(s.corrupted)"))
    }
}

@Suite struct UBXFraming {
    @Test func builtFramesParseBack() {
        var out = [UInt8](repeating: 0, count: 16)
        let payload: [UInt8] = [1, 2, 3]
        let n = payload.withUnsafeBytes { p in out.withUnsafeMutableBytes { UBX.frame(classID: 0x06, messageID: 0x8A, payload: p, into: $0) } }
        #expect(n == 11)
        var parser = UBXParser(capacity: 16)
        var done = 0
        for b in out[0..<11] where parser.feed(b) { done += 1 }
        #expect(done == 1)
        #expect(parser.classID == 0x06 && parser.messageID == 0x8A && parser.payloadCount == 3)
        // The MON-VER poll as pyubx2 serialises it: b5 62 0a 04 00 00 0e 34.
        let poll = [UInt8]().withUnsafeBytes { p in out.withUnsafeMutableBytes { UBX.frame(classID: 0x0A, messageID: 0x04, payload: p, into: $0) } }
        #expect(poll == 8)
        #expect(Array(out[0..<8]) == [0xB5, 0x62, 0x0A, 0x04, 0x00, 0x00, 0x0E, 0x34])
    }

    @Test func oversizeLengthIsCountedAndSkipped() {
        var parser = UBXParser(capacity: 16)
        for b: UInt8 in [0xB5, 0x62, 0x01, 0x07, 0xFF, 0x7F] { _ = parser.feed(b) }
        #expect(parser.stats.oversize == 1)
    }

    @Test func generationFromMonVer() {
        func monver(_ ext: String) -> [UInt8] {
            var e = Array(ext.utf8)
            e += [UInt8](repeating: 0, count: 30 - e.count)
            return [UInt8](repeating: 0x20, count: 40) + e
        }
        #expect(monver("PROTVER=18.00").withUnsafeBytes { ReceiverGeneration.fromMonVer($0) } == .m8)
        #expect(monver("PROTVER=27.50").withUnsafeBytes { ReceiverGeneration.fromMonVer($0) } == .f9)
        #expect(monver("PROTVER=32.01").withUnsafeBytes { ReceiverGeneration.fromMonVer($0) } == .m9)
        #expect(monver("FWVER=SPG 3.01").withUnsafeBytes { ReceiverGeneration.fromMonVer($0) } == .unknown)
    }
}

@Suite struct BusBudgetDocs {
    @Test func docsPageIsTheCommandsOutput() throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: PyUBXStream.root + "/.build/debug/plumb")
        p.arguments = ["bus-budget", "--board", "sim", "--config", "Board/plumbd.toml"]
        p.currentDirectoryURL = URL(fileURLWithPath: PyUBXStream.root)
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        #expect(p.terminationStatus == 0)
        #expect(text.contains("| as5600 |"))
        let page = try String(contentsOfFile: PyUBXStream.root + "/docs/bus-budget.md", encoding: .utf8)
        #expect(page.contains(text), "docs/bus-budget.md is out of date: regenerate it with plumb bus-budget")
    }
}
