import Foundation
import PlumbVehicle
import Testing

// The host plumbd's recorder on a board with no hardware (the control loop alone): it
// records every tick; when it cannot write (its directory cannot be made, or the disk is
// full) it says so once and the loop runs on to its end.

private let root: String = {
    var url = URL(fileURLWithPath: #filePath)
    for _ in 0..<3 { url.deleteLastPathComponent() }
    return url.path
}()

private let daemon = ProcessInfo.processInfo.environment["PLUMBD_BIN"] ?? root + "/.build/debug/plumbd"

private struct Run {
    var status: Int32
    var stderr: String
}

/// Runs plumbd through bash, so that a test can set limits first (`prelude`).
private func plumbd(config: String, ticks: Int, prelude: String = "") throws -> Run {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/bin/bash")
    p.arguments = ["-c", prelude + "exec \"$0\" \"$@\"", daemon, "--config", config,
                   "--board", root + "/Tests/fixtures/no-hardware.toml", "--ticks", String(ticks)]
    let err = Pipe()
    p.standardError = err
    p.standardOutput = FileHandle.nullDevice
    try p.run()
    let e = err.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return Run(status: p.terminationStatus, stderr: String(decoding: e, as: UTF8.self))
}

private func config(_ dir: String, _ recorder: String, rateHz: Int = 100) throws -> String {
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    let path = dir + "/plumbd.toml"
    try """
    [loop]
    rate_hz = \(rateHz)
    [realtime]
    sched_fifo = false
    lock_memory = false
    [autopilot]
    listen = "127.0.0.1:0"
    [recorder]
    \(recorder)

    """.write(toFile: path, atomically: true, encoding: .utf8)
    return path
}

private func lines(_ s: String, containing needle: String) -> [Substring] {
    s.split(separator: "\n").filter { $0.contains(needle) }
}

@Suite(.serialized) struct RecorderInTheDaemon {
    var available: Bool { FileManager.default.fileExists(atPath: daemon) }

    @Test func everyTickIsRecorded() throws {
        guard available else { return }   // `swift build` makes it
        let dir = scratchDir("daemon-ticks")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let r = try plumbd(config: try config(dir, "dir = \"\(dir)/log\"\nfile_max_kb = 64\nfiles = 3"), ticks: 250)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(lines(r.stderr, containing: "<4>").isEmpty, "\(r.stderr)")
        let files = try FileManager.default.contentsOfDirectory(atPath: dir + "/log")
        #expect(files == ["flight-00000001.plog"])
        let (h, records, scanner) = try decode(Array(try Data(contentsOf: URL(fileURLWithPath: dir + "/log/" + files[0]))))
        #expect(h.board == "no-hardware" && h.rateHz == 100 && h.software.hasPrefix("plumbd "))
        #expect(scanner.tornBytes == 0 && scanner.damagedBytes == 0)
        let ticks = records.filter { $0.type == .tick }
        #expect(ticks.count == 250)
        // Ticks a period apart, give or take the scheduler.
        let t = ticks.compactMap { $0.values["t"] }
        #expect((t.last ?? 0) - (t.first ?? 0) > 2.4 && (t.last ?? 0) - (t.first ?? 0) < 3.5)
        #expect(records.first?.type == .plan)
    }

    @Test func aDirectoryThatCannotBeMadeIsReportedOnceAndTheLoopRunsOn() throws {
        guard available else { return }
        let dir = scratchDir("daemon-nodir")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // 1000 ticks at 500 Hz: 2 s, so no retry (every 10 s) comes due.
        let r = try plumbd(config: try config(dir, "dir = \"\(dir)/missing/log\"", rateHz: 500), ticks: 1000)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("tick limit reached after 1000 ticks"))
        let warnings = lines(r.stderr, containing: "flight recorder:").filter { $0.hasPrefix("<4>") }
        #expect(warnings.count == 1, "\(r.stderr)")
        #expect(warnings.first?.contains("\(dir)/missing/log: cannot use the directory: No such file or directory") == true)
        #expect(warnings.first?.contains("flying on without it") == true)
    }

    @Test func aFullDiskIsReportedOnceAndTheLoopRunsOn() throws {
        guard available else { return }
        let dir = scratchDir("daemon-full")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // The file size limit stands in for a full disk: writes past 32 KB fail (EFBIG), as
        // they would with ENOSPC. SIGXFSZ is ignored, as the daemon would not get it then.
        let r = try plumbd(config: try config(dir, "dir = \"\(dir)/log\"\nfile_max_kb = 1024", rateHz: 500), ticks: 1500,
                           prelude: "ulimit -f 32; trap '' XFSZ; ")
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("tick limit reached after 1500 ticks"))
        let warnings = lines(r.stderr, containing: "flight recorder:").filter { $0.hasPrefix("<4>") }
        #expect(warnings.count == 1, "\(r.stderr)")
        #expect(warnings.first?.contains("write failed: File too large") == true, "\(warnings)")
        // What was written before reads back; the record cut by the limit is a torn tail.
        let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: dir + "/log/flight-00000001.plog")))
        #expect(bytes.count == 32 * 1024)
        let (_, records, scanner) = try decode(bytes)
        let ticks = records.filter { $0.type == .tick }.count
        #expect(ticks > 300 && ticks < 1500)
        #expect(scanner.damagedBytes == 0)
        #expect(scanner.tornBytes < FlightRecord.maxTickBatchBytes)
    }
}
