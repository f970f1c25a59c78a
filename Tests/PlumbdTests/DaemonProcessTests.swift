import Foundation
import Testing

/// Runs the host-built plumbd as a process: the same binary the HIL will run.
struct Plumbd {
    static var root: String {
        var parts = #filePath.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        parts.removeLast(3)
        return parts.joined(separator: "/")
    }

    static var binary: String {
        if let p = ProcessInfo.processInfo.environment["PLUMBD_BIN"] { return p }
        return root + "/.build/debug/plumbd"
    }

    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    static func start(_ args: [String]) throws -> (Process, Pipe, Pipe) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: binary)
        p.arguments = args
        p.currentDirectoryURL = URL(fileURLWithPath: root)
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        return (p, out, err)
    }

    static func run(_ args: [String]) throws -> Result {
        let (p, out, err) = try start(args)
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return Result(status: p.terminationStatus, stdout: String(decoding: o, as: UTF8.self),
                      stderr: String(decoding: e, as: UTF8.self))
    }

    static func temp(_ name: String, _ text: String) throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("plumbd-tests-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let url = dir.appendingPathComponent(name)
        try text.write(to: url, atomically: true, encoding: .utf8)
        return url.path
    }
}

@Suite struct DaemonCommandLine {
    @Test func version() throws {
        let r = try Plumbd.run(["--version"])
        #expect(r.status == 0)
        #expect(r.stdout.hasPrefix("plumbd "))
    }

    @Test func unknownOptionIsAUsageError() throws {
        let r = try Plumbd.run(["--fly-now"])
        #expect(r.status == 64)
        #expect(r.stderr.contains("<3>unknown option '--fly-now'"))
        #expect(r.stderr.contains("usage: plumbd"))
    }

    @Test func checkConfigAcceptsEveryShippedBoard() throws {
        for b in ["rpi4", "rpi5", "jetson-orin-nano", "sim"] {
            let r = try Plumbd.run(["--config", "Board/plumbd.toml", "--board", b, "--check-config"])
            #expect(r.status == 0, "\(b): \(r.stderr)")
            #expect(r.stdout.contains("board '\(b)'"))
        }
    }

    @Test func checkConfigPrintsEveryErrorAndExitsWithEXCONFIG() throws {
        let config = try Plumbd.temp("bad.toml", """
        [loop]
        rate_hz = 5
        tick_budget_us = "fast"
        [log]
        level = "loud"
        verbose = true
        """)
        let board = try Plumbd.temp("badboard.toml", """
        [board]
        name = "bad"
        [gpio.brake]
        chip = "gpiochip0"
        line = 2
        safe_level = "inactive"
        """)
        let r = try Plumbd.run(["--config", config, "--board", board, "--check-config"])
        #expect(r.status == 78)
        #expect(r.stderr.contains("<3>\(config):2:1: 'loop.rate_hz' = 5 is out of range 10...1000"))
        #expect(r.stderr.contains("<3>\(config):3:1: 'loop.tick_budget_us' must be an integer, not string"))
        #expect(r.stderr.contains("<3>\(config):5:1: 'log.level' = \"loud\" is not one of"))
        #expect(r.stderr.contains("<3>\(config):6:1: unknown key 'log.verbose'"))
        #expect(r.stderr.contains("<3>\(board):6:1: 'gpio.brake.safe_level' must be \"active\""))
        #expect(r.stderr.contains("5 error(s)"))
    }

    @Test func syntaxErrorIsReportedWithLineAndColumn() throws {
        let config = try Plumbd.temp("syntax.toml", "[loop]\nrate_hz = 1 00\n")
        let r = try Plumbd.run(["--config", config, "--board", "sim", "--check-config"])
        #expect(r.status == 78)
        #expect(r.stderr.contains("\(config):2:13: expected the end of the line"))
    }

    @Test func aBrokenConfigIsEXCONFIGEvenWhenItNamesTheBoard() throws {
        let config = try Plumbd.temp("named-board.toml", "board = \"sim\"\n[loop]\nrate_hz = 0\n")
        let r = try Plumbd.run(["--config", config, "--check-config"])
        #expect(r.status == 78)
        #expect(r.stderr.contains("'loop.rate_hz' = 0 is out of range"))
        #expect(!r.stderr.contains("no board given"))
    }

    @Test func missingFilesAreEXNOINPUT() throws {
        #expect(try Plumbd.run(["--config", "/nonexistent.toml", "--board", "sim", "--check-config"]).status == 66)
        let r = try Plumbd.run(["--board", "no-such-board", "--check-config"])
        #expect(r.status == 66)
        #expect(r.stderr.contains("board 'no-such-board' not found"))
    }

    @Test func probeWithoutTheHardwareExitsNonZeroWithATable() throws {
        let r = try Plumbd.run(["--config", "Board/plumbd.toml", "--board", "sim", "--probe"])
        #expect(r.status == 69)
        #expect(r.stdout.contains("WHAT"))
        #expect(r.stdout.contains("battery"))
        #expect(r.stdout.contains("error: cannot open /dev/i2c-2"))
        #expect(r.stdout.contains("gpio brake"))
    }

    @Test func runRefusesToStartWithoutRequiredHardware() throws {
        let r = try Plumbd.run(["--config", "Board/plumbd.toml", "--board", "sim", "--ticks", "5"])
        #expect(r.status == 69)
        #expect(r.stderr.contains("<3>gpio hook_latched: cannot open GPIO chip 'gpiochip0'")
                || r.stderr.contains("<3>i2c main: cannot open /dev/i2c-1"))
    }
}

@Suite struct DaemonLifecycle {
    let emptyBoard = "[board]\nname = \"bench\"\ndescription = \"no hardware: the loop alone\"\n"
    let quietConfig = "[realtime]\nsched_fifo = false\nlock_memory = false\n[autopilot]\nlisten = \"127.0.0.1:0\"\n"

    @Test func sigtermStopsTheLoopInOrder() throws {
        let board = try Plumbd.temp("empty-board.toml", emptyBoard)
        let config = try Plumbd.temp("quiet.toml", quietConfig)
        let (p, _, err) = try Plumbd.start(["--config", config, "--board", board])
        // Wait until the loop says it is running, then ask it to stop.
        var log = ""
        let deadline = Date().addingTimeInterval(10)
        while !log.contains("control loop running") && Date() < deadline {
            let chunk = err.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            log += String(decoding: chunk, as: UTF8.self)
        }
        #expect(log.contains("<6>control loop running"))
        kill(p.processIdentifier, SIGTERM)
        log += String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        #expect(p.terminationReason == .exit)
        #expect(p.terminationStatus == 0)
        #expect(log.contains("<5>SIGTERM: stopped after"))
        #expect(log.contains("at safe levels"))
    }

    @Test func tickLimitRunsExactlyThatManyTicks() throws {
        let board = try Plumbd.temp("empty-board2.toml", emptyBoard)
        let config = try Plumbd.temp("quiet2.toml", quietConfig)
        let r = try Plumbd.run(["--config", config, "--board", board, "--ticks", "20"])
        #expect(r.status == 0)
        #expect(r.stderr.contains("tick limit reached after 20 ticks"))
    }

    /// `mission.autostart` takes off once per boot: a daemon restarted after that (a crash,
    /// the watchdog) comes up idle and waits for dispatch's start; it never re-arms itself.
    @Test func autostartHappensOncePerBoot() throws {
        let board = try Plumbd.temp("empty-board3.toml", emptyBoard)
        let marker = try Plumbd.temp("autostarted", "")
        try FileManager.default.removeItem(atPath: marker)
        let mission = try Plumbd.temp("mission3.toml", """
            return_home = false
            [home]
            lat_deg = 43.8171
            lon_deg = 125.3235
            [legs.pad]
            kind = "land"
            lat_deg = 43.8180
            lon_deg = 125.3240
            """)
        let config = try Plumbd.temp("autostart.toml", quietConfig + """
            [recorder]
            enabled = false
            [mission]
            file = "\(mission)"
            autostart = true
            autostart_marker = "\(marker)"
            """)
        let first = try Plumbd.run(["--config", config, "--board", board, "--ticks", "5"])
        #expect(first.status == 0)
        #expect(first.stderr.contains("mission.autostart: starting"), "\(first.stderr)")
        #expect(first.stderr.contains("phase=preflight"))
        #expect(FileManager.default.fileExists(atPath: marker))
        // The restart: the marker is still there (on /run it lasts until reboot).
        let second = try Plumbd.run(["--config", config, "--board", board, "--ticks", "5"])
        #expect(second.status == 0)
        #expect(second.stderr.contains("not auto-starting again"), "\(second.stderr)")
        #expect(!second.stderr.contains("phase=preflight"))
    }
}
