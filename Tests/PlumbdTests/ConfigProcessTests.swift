import Foundation
import Testing

/// The config schema seen from outside: the generated default file and reference, and a
/// running plumbd reloading its file on SIGHUP.
@Suite struct ConfigFiles {
    static var plumb: String {
        ProcessInfo.processInfo.environment["PLUMB_BIN"] ?? Plumbd.root + "/.build/debug/plumb"
    }

    func text(_ path: String) throws -> String {
        try String(contentsOfFile: Plumbd.root + "/" + path, encoding: .utf8)
    }

    /// Where two texts first differ, as a short note (the whole texts are long).
    func firstDifference(_ generated: String, _ committed: String) -> String {
        let g = generated.split(separator: "\n", omittingEmptySubsequences: false)
        let c = committed.split(separator: "\n", omittingEmptySubsequences: false)
        for i in 0..<max(g.count, c.count) {
            let a = i < g.count ? String(g[i]) : "(end)"
            let b = i < c.count ? String(c[i]) : "(end)"
            if a != b { return "line \(i + 1): generated '\(a)', committed '\(b)'" }
        }
        return "no difference"
    }

    @Test func theShippedConfigIsTheDefaultFileForTheRpi4() throws {
        let r = try Plumbd.run(["--print-default-config", "--board", "rpi4"])
        #expect(r.status == 0)
        let committed = try text("Board/plumbd.toml")
        let same = r.stdout == committed
        #expect(same, "Board/plumbd.toml is not the schema's default file (\(firstDifference(r.stdout, committed))): run `swift run plumbd --print-default-config --board rpi4 > Board/plumbd.toml`")
    }

    @Test func theDefaultFileChecksCleanOnEveryBoard() throws {
        let r = try Plumbd.run(["--print-default-config"])
        #expect(r.status == 0)
        #expect(r.stdout.contains("\nboard = \"\""))
        let path = try Plumbd.temp("default.toml", r.stdout)
        for b in ["rpi4", "sim"] {
            let c = try Plumbd.run(["--config", path, "--board", b, "--check-config"])
            #expect(c.status == 0, "\(b): \(c.stderr)")
        }
    }

    @Test func theConfigReferenceIsGeneratedFromTheSchema() throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: Self.plumb)
        p.arguments = ["config", "docs"]
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let o = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let e = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        #expect(p.terminationStatus == 0, "\(e)")
        let committed = try text("docs/config.md")
        let same = o == committed
        #expect(same, "docs/config.md is not what the schema gives (\(firstDifference(o, committed))): run `swift run plumb config docs > docs/config.md`")
        // Every key has its row.
        for line in o.split(separator: "\n") where line.hasPrefix("| `") {
            #expect(line.hasSuffix(" |"))
        }
    }

    /// Several mistakes in one config file: all of them in one run, each at its line and
    /// column, in file order, with the count.
    @Test func checkConfigReportsEveryErrorOfAFileAtOnce() throws {
        let config = try Plumbd.temp("many-errors.toml", """
        [loop]
        rate_hz = 2000
        [landing]
        final_speed_mps = "slow"
          retry_policy = "pray"
        [drop]
        release_attempts = 0
        [autopilot]
        listen = "14540"
        [failsafe]
        battery_lost = "panic"
        """)
        let r = try Plumbd.run(["--config", config, "--board", "sim", "--check-config"])
        #expect(r.status == 78)
        let errors = r.stderr.split(separator: "\n").map(String.init).filter { $0.hasPrefix("<3>") }
        #expect(errors == [
            "<3>\(config):2:1: 'loop.rate_hz' = 2000 is out of range 10...1000",
            "<3>\(config):4:1: 'landing.final_speed_mps' must be a number, not string",
            "<3>\(config):5:3: 'landing.retry_policy' = \"pray\" is not one of: hover, return, land_here",
            "<3>\(config):7:1: 'drop.release_attempts' = 0 is out of range 1...10",
            "<3>\(config):9:1: 'autopilot.listen' = \"14540\" is not an IPv4 address with a port, e.g. \"0.0.0.0:14540\"",
            "<3>\(config):11:1: 'failsafe.battery_lost' = \"panic\" is not one of: return, land",
            "<3>6 error(s) in the configuration",
        ], "\(r.stderr)")
    }
}

/// A running plumbd (no hardware: the loop alone) and its config file changed under it.
@Suite struct ConfigReloadProcess {
    let emptyBoard = "[board]\nname = \"bench\"\ndescription = \"no hardware: the loop alone\"\n"
    let quiet = "[realtime]\nsched_fifo = false\nlock_memory = false\n[autopilot]\nlisten = \"127.0.0.1:0\"\n[recorder]\nenabled = false\n"

    /// stderr of a running process, collected as it comes.
    final class LogTail: @unchecked Sendable {
        private let lock = NSLock()
        private var text = ""

        init(_ pipe: Pipe) {
            pipe.fileHandleForReading.readabilityHandler = { [weak self] h in
                let d = h.availableData
                if d.isEmpty { h.readabilityHandler = nil }   // the end of the stream
                guard let self, !d.isEmpty else { return }
                self.lock.lock()
                self.text += String(decoding: d, as: UTF8.self)
                self.lock.unlock()
            }
        }

        var all: String {
            lock.lock()
            defer { lock.unlock() }
            return text
        }

        /// Waits (up to 10 s) for a line holding `s`; true when it came.
        func wait(for s: String) -> Bool {
            let deadline = Date().addingTimeInterval(10)
            while Date() < deadline {
                if all.contains(s) { return true }
                Thread.sleep(forTimeInterval: 0.02)
            }
            return false
        }
    }

    @Test func sighupAppliesATunableChangeAndKeepsTheRunningConfigOnABadFile() throws {
        let board = try Plumbd.temp("reload-board.toml", emptyBoard)
        let config = try Plumbd.temp("reload.toml", quiet)
        func write(_ extra: String) throws {
            try (quiet + extra).write(toFile: config, atomically: true, encoding: .utf8)
        }
        let (p, _, err) = try Plumbd.start(["--config", config, "--board", board])
        let log = LogTail(err)
        defer { if p.isRunning { p.terminate() } }
        #expect(log.wait(for: "<6>control loop running"))
        func hup(expecting line: String) {
            kill(p.processIdentifier, SIGHUP)
            #expect(log.wait(for: line), "no '\(line)' in:\n\(log.all)")
        }

        // A tunable key: applied.
        try write("[landing]\nfinal_speed_mps = 0.25\n")
        hup(expecting: "<5>SIGHUP: \(config): applied landing.final_speed_mps 0.3 -> 0.25\n")
        // A file with errors: refused whole, every error on the one line.
        try write("[landing]\nfinal_speed_mps = 0.2\nslow_speed_mps = \"slow\"\n[loop]\nrate_hz = 5\n")
        hup(expecting: "<3>SIGHUP: \(config): 2 error(s), configuration unchanged: \(config):10:1: 'landing.slow_speed_mps' must be a number, not string; \(config):12:1: 'loop.rate_hz' = 5 is out of range 10...1000\n")
        // The good file again: what runs is still its values, not the bad file's.
        try write("[landing]\nfinal_speed_mps = 0.25\n")
        hup(expecting: "<5>SIGHUP: \(config): no change\n")
        // A key that needs a restart (not armed: nothing flies here).
        try write("[landing]\nfinal_speed_mps = 0.25\n[gnss]\nlatency_ms = 60\n")
        hup(expecting: "<5>SIGHUP: \(config): nothing applied; needs a restart: gnss.latency_ms 50 -> 60\n")
        // The log level applies at once: the stop below is a notice, no longer logged.
        try write("[landing]\nfinal_speed_mps = 0.25\n[log]\nlevel = \"warning\"\n")
        hup(expecting: "<5>SIGHUP: \(config): applied log.level \"info\" -> \"warning\"\n")
        // A restart key changed while the vehicle is armed is refused; the sans-I/O tests
        // cover that case (nothing can arm here).

        kill(p.processIdentifier, SIGTERM)
        p.waitUntilExit()
        #expect(p.terminationStatus == 0)
        let all = log.all
        #expect(!all.contains("SIGTERM: stopped after"), "\(all)")
        #expect(!all.contains("tick limit"))
    }
}
