import Foundation
import PlumbCore
import Testing
@testable import PlumbHIL

// SIGHUP in flight, against the unchanged host plumbd in process mode: a change to a key
// that needs a restart is refused while the drone is armed and changes nothing; a change
// to a live key then applies at a tick boundary; the delivery goes on either way.

@Suite(.serialized) struct ReloadInFlight {
    @Test func armedRefusesARestartKeyAndAppliesALiveOne() throws {
        let preload = root + "/build/hil/plumbfake.so"
        let daemon = [root + "/.build/debug/plumbd", root + "/.build/release/plumbd"].first { FileManager.default.fileExists(atPath: $0) }
        try #require(FileManager.default.fileExists(atPath: preload), "make hil-preload first")
        let daemonPath = try #require(daemon, "build plumbd first")
        setenv("PLUMB_PRELOAD", preload, 1)
        setenv("PLUMB_DAEMON", daemonPath, 1)
        let drop = try scenario("nominal-drop")
        let work = NSTemporaryDirectory() + "plumb-hil-tests-\(getpid())-reload"
        let cwd = FileManager.default.currentDirectoryPath
        _ = FileManager.default.changeCurrentDirectoryPath(root)
        defer { _ = FileManager.default.changeCurrentDirectoryPath(cwd) }
        let r = try ProcessRun.run(drop, seed: 1, boardPath: root + "/Board/sim.toml", workDir: work, firmware: false,
                                   progress: nil, reloads: [
            // 40 s: in transit, armed. The loop rate needs a restart: refused whole.
            (40_000_000_000, { $0.replacingOccurrences(of: "rate_hz = 100", with: "rate_hz = 50") }),
            // 50 s: back to 100 Hz, and a live key: the failsafe's dispatch silence allowance.
            (50_000_000_000, { $0.replacingOccurrences(of: "rate_hz = 50", with: "rate_hz = 100")
                + "\n[failsafe]\ndispatch_lost_s = 90.0\n" }),
        ])
        let log = try String(contentsOfFile: work + "/plumbd.log", encoding: .utf8)
        let sighup = log.split(separator: "\n").filter { $0.contains("SIGHUP") }
        #expect(sighup.count == 2, "\(sighup)")
        #expect(sighup.first?.contains("refused while armed") == true, "\(sighup)")
        #expect(sighup.first?.contains("loop.rate_hz") == true, "\(sighup)")
        #expect(sighup.last?.contains("applied") == true && sighup.last?.contains("failsafe.dispatch_lost_s") == true, "\(sighup)")
        #expect(!log.contains("needs a restart: loop.rate_hz"), "the refused rate must not be pending")
        // The flight went on at 100 Hz and delivered.
        #expect(r.outcome == "delivered")
        #expect(r.judgement.passed)
    }
}
