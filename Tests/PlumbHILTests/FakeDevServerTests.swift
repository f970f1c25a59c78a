import Foundation
import Testing
@testable import PlumbHIL

// The simulator's side of the faked /dev, three ways: raw protocol frames (always), the real
// i2c-tools and libgpiod programs under plumbfake.so, and the daemon's own clock paths
// (hil_probe) in lockstep. The last two need the preload library and the probe built into
// build/hil (or PLUMB_HIL_BUILD_DIR), e.g. with
//   BUILD_DIR=build/hil bash HIL/preload/test.sh
// and return early without them.

// MARK: - Raw protocol

@Suite struct FakeDevServerProtocol {
    @Test func helloAndTheSpecExampleAreByteExact() throws {
        let world = try FakeDevWorld(virtualClock: false)
        defer { world.server.close() }
        let client = try FakeDevRawClient(path: world.path)

        // Anything before HELLO is EPROTO.
        client.send(type: 0x0002, seq: 1, [])
        var reply = try #require(world.exchange(client))
        #expect(reply.header == [12, 0, 0, 0, 0x02, 0x80, 1, 0])
        #expect(reply.status == 71)

        client.send(type: 0x0001, seq: 2, FakeDevRawClient.hello(magic: 0x1234_5678))
        reply = try #require(world.exchange(client))
        #expect(reply.status == 71)
        client.send(type: 0x0001, seq: 3, FakeDevRawClient.hello(version: 2))
        reply = try #require(world.exchange(client))
        #expect(reply.status == 93)

        client.send(type: 0x0001, seq: 4, FakeDevRawClient.hello())
        reply = try #require(world.exchange(client))
        #expect(reply.status == 0)
        var expected: [UInt8] = [1, 0, 0, 0]                    // version 1, no VCLOCK
        expected += FakeDevRawClient.le(world.server.realtimeBaseNs, 8)
        expected += [1, 1] + FakeDevRawClient.le(UInt64(FakeDevServer.raspberryPiI2CFuncs), 4)
        expected += [1, 0, 10] + Array("plumb-test".utf8) + [3]
        for name in ["drum_home", "brake", "gnss_pps"] { expected += [UInt8(name.utf8.count)] + Array(name.utf8) }
        #expect(reply.body == expected)

        // PROTOCOL.md §4.3, byte for byte.
        client.sendRaw([0x11, 0x00, 0x00, 0x00, 0x10, 0x00, 0x07, 0x00,
                        0x01, 0x02, 0x00, 0x00,
                        0x36, 0x00, 0x00, 0x00, 0x01, 0x00,
                        0x36, 0x00, 0x01, 0x00, 0x02, 0x00,
                        0x0C])
        reply = try #require(world.exchange(client))
        #expect(reply.header == [0x0E, 0x00, 0x00, 0x00, 0x10, 0x80, 0x07, 0x00])
        #expect(reply.status == 0)
        #expect(reply.time == world.server.nowNs)
        #expect(reply.body == [0x0A, 0xBC])
        var stats = I2CBusStats()
        stats.transfers = 1
        stats.transactions = 1
        stats.bytesWritten = 1
        stats.bytesRead = 2
        #expect(world.server.i2cStats(bus: 1) == stats)
    }

    @Test func badRequestsGetTheirErrnoAndTheServerCarriesOn() throws {
        let world = try FakeDevWorld(virtualClock: false)
        defer { world.server.close() }
        let client = try FakeDevRawClient(path: world.path)
        client.send(type: 0x0001, seq: 1, FakeDevRawClient.hello())
        #expect(try #require(world.exchange(client)).status == 0)

        func i2c(bus: UInt8, _ msgs: [(UInt16, UInt16, UInt16)], _ data: [UInt8]) -> [UInt8] {
            var p: [UInt8] = [bus, UInt8(msgs.count), 0, 0]
            for (addr, flags, len) in msgs {
                p += FakeDevRawClient.le(UInt64(addr), 2) + FakeDevRawClient.le(UInt64(flags), 2) + FakeDevRawClient.le(UInt64(len), 2)
            }
            return p + data
        }
        let cases: [(String, UInt16, [UInt8], UInt32)] = [
            ("unknown type", 0x0077, [], 95),
            ("unknown bus", 0x0010, i2c(bus: 9, [(0x36, 1, 1)], []), 19),
            ("nobody at 0x37", 0x0010, i2c(bus: 1, [(0x37, 0, 1)], [0]), 6),
            ("descriptor missing", 0x0010, [1, 2, 0, 0, 0x36, 0, 0, 0, 1, 0], 71),
            ("write data short", 0x0010, i2c(bus: 1, [(0x36, 0, 3)], [1]), 71),
            ("43 messages", 0x0010, [1, 43, 0, 0], 22),
            ("message over 8192 bytes", 0x0010, i2c(bus: 1, [(0x36, 1, 8193)], []), 22),
            ("block read on a Raspberry Pi adapter", 0x0010, i2c(bus: 1, [(0x36, 0, 1), (0x36, 0x0401, 33)], [0x0C]), 95),
            ("SLEEP_UNTIL without VCLOCK", 0x0030, FakeDevRawClient.le(5, 8), 95),
            ("line info of a line the chip lacks", 0x0020, [0, 3], 22),
            ("line info of a chip that does not exist", 0x0020, [4, 0], 22),
            ("values of an unknown handle", 0x0023, FakeDevRawClient.le(77, 4), 9),
            ("short handle", 0x0023, [1, 2], 71),
            ("driving a line the world drives", 0x0021, [0, 1, 0, 0, 2, 0, 0, 0, 0, 1, 0], 22),
            ("input and output at once", 0x0021, [0, 1, 0, 0, 3, 0, 0, 0, 1, 0, 0], 22),
            ("the same line twice", 0x0021, [0, 2, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0], 16),
        ]
        var seq: UInt16 = 10
        for (what, type, payload, status) in cases {
            seq += 1
            client.send(type: type, seq: seq, payload)
            let reply = try #require(world.exchange(client), "\(what)")
            #expect(Array(reply.header[4...7]) == [UInt8(type & 0xFF), UInt8(type >> 8) | 0x80, UInt8(seq & 0xFF), UInt8(seq >> 8)], "\(what)")
            #expect(reply.status == status, "\(what)")
            #expect(reply.body.isEmpty, "\(what)")
        }

        // A value handle on the output line, driven high at once and read back; EBUSY twice.
        client.send(type: 0x0021, seq: 40, [0, 1, 0, 0, 2, 0, 0, 0, 1, 1, 4] + Array("test".utf8))
        let handle = try #require(world.exchange(client))
        #expect(handle.status == 0 && handle.body.count == 4)
        #expect(world.brake.level == true && world.brake.writes.count == 1)
        client.send(type: 0x0021, seq: 41, [0, 1, 0, 0, 1, 0, 0, 0, 1, 0, 0])
        #expect(try #require(world.exchange(client)).status == 16)
        client.send(type: 0x0023, seq: 42, handle.body)
        #expect(try #require(world.exchange(client)).body == [1, 1])
        client.send(type: 0x0020, seq: 43, [0, 1])
        #expect(try #require(world.exchange(client)).body == [0x03, 0, 0, 0, 4] + Array("test".utf8))
        #expect(world.server.lineConsumer(chip: 0, offset: 1) == "test")

        // A frame longer than the protocol allows: the server hangs up, and keeps serving others.
        client.sendRaw([0xFF, 0xFF, 0xFF, 0x7F, 0x02, 0x00, 0x01, 0x00])
        #expect(world.server.serveUntilAllSleep(timeoutMs: 200) == .clientDisconnected(remaining: 0))
        #expect(client.receive() == nil)
        #expect(world.server.isLineRequested(chip: 0, offset: 1) == false)
        let second = try FakeDevRawClient(path: world.path)
        second.send(type: 0x0001, seq: 1, FakeDevRawClient.hello())
        #expect(try #require(world.exchange(second)).status == 0)
    }

    @Test func sleepsAreAnsweredOnlyByTheRunner() throws {
        let world = try FakeDevWorld(virtualClock: true)
        defer { world.server.close() }
        let client = try FakeDevRawClient(path: world.path)
        client.send(type: 0x0001, seq: 1, FakeDevRawClient.hello())
        let hello = try #require(world.exchange(client))
        #expect(hello.body[2] == 1)             // VCLOCK
        #expect(hello.time == 1_000_000_000)

        client.send(type: 0x0030, seq: 2, FakeDevRawClient.le(1_500_000_000, 8))
        #expect(world.server.serveUntilAllSleep(timeoutMs: 1_000) == .allSleeping(earliestDeadlineNs: 1_500_000_000))
        #expect(world.server.serveUntilAllSleep(timeoutMs: 50) == .allSleeping(earliestDeadlineNs: 1_500_000_000))
        #expect(world.server.nowNs == 1_000_000_000)
        #expect(client.receive(timeoutMs: 50) == nil)
        #expect(world.server.advance(toNs: 1_400_000_000) == 0)
        #expect(client.receive(timeoutMs: 50) == nil)
        #expect(world.server.advance(toNs: 1_500_000_000) == 1)
        let woke = try #require(client.receive())
        #expect(woke.header == [12, 0, 0, 0, 0x30, 0x80, 2, 0] && woke.status == 0 && woke.time == 1_500_000_000)
        world.server.advance(toNs: 1_000)       // never backwards
        #expect(world.server.nowNs == 1_500_000_000)

        // An edge on the event line wakes its owner at once, with the doorbell rung first.
        client.send(type: 0x0022, seq: 3, [0, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 0])
        let event = try #require(world.exchange(client))
        #expect(event.status == 0 && event.fds.count == 1)
        let bell = try #require(event.fds.first)
        defer { close(bell) }
        client.send(type: 0x0030, seq: 4, FakeDevRawClient.le(UInt64.max, 8))
        #expect(world.server.serveUntilAllSleep(timeoutMs: 1_000) == .allSleeping(earliestDeadlineNs: nil))
        world.drumHome.setLevel(false, at: 1_600_000_000)
        world.drumHome.setLevel(true, at: 1_700_000_000)
        #expect(world.server.advance(toNs: 1_700_000_000) == 1)
        #expect(try #require(client.receive()).time == 1_700_000_000)
        var bytes = [UInt8](repeating: 0, count: 4)
        #expect(recv(bell, &bytes, 4, Int32(MSG_DONTWAIT)) == 2)
        client.send(type: 0x0026, seq: 5, event.body + [16])
        let events = try #require(world.exchange(client))
        #expect(events.body == [2] + FakeDevRawClient.le(1_600_000_000, 8) + [2, 0, 0, 0]
                             + FakeDevRawClient.le(1_700_000_000, 8) + [1, 0, 0, 0])

        // CANCEL_SLEEP answers the sleep it names, at the current time; a stale one is ignored.
        client.send(type: 0x0030, seq: 6, FakeDevRawClient.le(9_000_000_000, 8))
        #expect(world.server.serveUntilAllSleep(timeoutMs: 1_000) == .allSleeping(earliestDeadlineNs: 9_000_000_000))
        client.send(type: 0x0031, seq: 7, FakeDevRawClient.le(5, 2))
        #expect(world.server.serveUntilAllSleep(timeoutMs: 50) == .allSleeping(earliestDeadlineNs: 9_000_000_000))
        client.send(type: 0x0031, seq: 8, FakeDevRawClient.le(6, 2))
        let cancelled = try #require(world.exchange(client))
        #expect(Array(cancelled.header[4...7]) == [0x30, 0x80, 6, 0] && cancelled.time == 1_700_000_000)

        // Releasing the handle closes the simulator's end of the doorbell.
        client.send(type: 0x0027, seq: 9, event.body)
        #expect(try #require(world.exchange(client)).status == 0)
        #expect(recv(bell, &bytes, 4, Int32(MSG_DONTWAIT)) == 0)
    }
}

// MARK: - Real programs under plumbfake.so

@Suite struct FakeDevServerUnderPreload {
    @Test func i2cToolsAndLibgpiodSeeTheSimulatedDevices() throws {
        guard let build = FakeDevBuild.find(), FakeDevBuild.tool("gpiodetect") != nil,
              FakeDevBuild.tool("i2cget") != nil else {
            return      // needs build/hil/plumbfake.so and i2c-tools + gpiod installed
        }
        let world = try FakeDevWorld(virtualClock: false)
        let runner = FakeDevRunner(world: world)
        runner.start { world, _, armed in
            // gpiomon: once its event line is requested, the world makes a falling then a rising edge.
            if armed, world.server.isLineRequested(chip: 0, offset: 0), world.drumHome.level {
                world.drumHome.setLevel(false, at: world.server.nowNs)
                world.drumHome.setLevel(true, at: world.server.nowNs)
                return false
            }
            return armed
        }

        let word = try runner.run(build, "i2cget", "-y", "1", "0x36", "0x0c", "w")
        let detect = try runner.run(build, "gpiodetect")
        let info = try runner.run(build, "gpioinfo", "gpiochip0")
        let get = try runner.run(build, "gpioget", "gpiochip0", "0")
        let set = try runner.run(build, "gpioset", "gpiochip0", "1=1")
        let infoAfter = try runner.run(build, "gpioinfo", "gpiochip0")
        runner.arm()
        let mon = try runner.run(build, "gpiomon", "-n", "2", "-F", "%e %o", "gpiochip0", "0")
        runner.stop()
        defer { world.server.close() }

        #expect(word.status == 0 && word.out == "0xbc0a\n", "\(word)")
        #expect(detect.out == "gpiochip0 [plumb-test] (3 lines)\n", "\(detect)")
        #expect(info.out.hasPrefix("gpiochip0 - 3 lines:"), "\(info)")
        #expect(info.out.fakeDevMatches(#"line +0: +"drum_home" +unused +input +active-high"#), "\(info)")
        #expect(info.out.fakeDevMatches(#"line +1: +"brake" +unused +input +active-high"#), "\(info)")
        #expect(get.status == 0 && get.out == "1\n", "\(get)")
        #expect(set.status == 0, "\(set)")
        #expect(world.brake.level == true && world.brake.writes.map(\.level) == [true])
        #expect(infoAfter.out.fakeDevMatches(#"line +1: +"brake" +unused +output +active-high"#), "\(infoAfter)")
        #expect(mon.status == 0 && mon.out == "0 0\n1 0\n", "\(mon)")
        let stats = try #require(world.server.i2cStats(bus: 1))
        #expect(stats.transfers == 1 && stats.bytesWritten == 1 && stats.bytesRead == 2)
        #expect(world.server.clientCount == 0 && world.server.disconnectCount == 7)
        #expect(!world.server.isLineRequested(chip: 0, offset: 0) && !world.server.isLineRequested(chip: 0, offset: 1))
    }

    @Test func theDaemonsClockRunsInLockstep() throws {
        guard let build = FakeDevBuild.find(), FileManager.default.isExecutableFile(atPath: build + "/hil_probe") else {
            return      // needs build/hil/plumbfake.so and build/hil/hil_probe
        }
        let world = try FakeDevWorld(virtualClock: true)
        let control = try FakeDevTimeControl(path: world.path + ".ctl")
        let runner = FakeDevRunner(world: world)
        let log = FakeDevLockstepLog()
        var nextPulseNs: UInt64 = 2_000_000_000       // gnss_pps: 100 ms high at every whole second
        runner.start { world, result, armed in
            control.answer(nowNs: world.server.nowNs)
            guard case .allSleeping(let deadline) = result else { return armed }
            if log.firstDeadlineNs == nil {
                log.firstDeadlineNs = deadline
                log.nowAtFirstSleepNs = world.server.nowNs
                // Nothing moves without the runner, however long it waits.
                log.secondLook = world.server.serveUntilAllSleep(timeoutMs: 100)
                log.nowAfterSecondLookNs = world.server.nowNs
            }
            let target = min(deadline ?? .max, nextPulseNs)
            if target == nextPulseNs {
                let rising = !world.gnssPPS.level
                world.gnssPPS.setLevel(rising, at: target)
                nextPulseNs += rising ? 100_000_000 : 900_000_000
            }
            world.server.advance(toNs: target)
            log.advances += 1
            return armed
        }
        let started = Date()
        let probe = try runner.run(build, build + "/hil_probe", "clock")
        let wall = Date().timeIntervalSince(started)
        runner.stop()
        defer { world.server.close() }

        #expect(probe.status == 0, "\(probe)")
        let lines = probe.out.split(separator: "\n")
        #expect(lines.filter { $0.hasPrefix("ok") }.count == 10, "\(probe)")
        #expect(!probe.out.contains("FAIL"), "\(probe)")
        #expect(log.firstDeadlineNs == 3_500_000_000)       // 1 s start + the 2.5 s nanosleep
        #expect(log.nowAtFirstSleepNs == 1_000_000_000)
        #expect(log.secondLook == .allSleeping(earliestDeadlineNs: 3_500_000_000))
        #expect(log.nowAfterSecondLookNs == 1_000_000_000)
        #expect(log.advances > 100)
        #expect(world.server.sleepCount >= 100)
        // 2.5 s sleep, 1 s of 10 ms ticks, a 35 ms poll, three PPS edges: several simulated
        // seconds, in far less wall time.
        #expect(world.server.nowNs >= 6_000_000_000)
        #expect(wall < 20)
    }
}

// MARK: - Helpers

/// The test world: an AS5600 on bus 1 and a chip with an input, an output and a second input.
private final class FakeDevWorld: @unchecked Sendable {
    let path: String
    let server: FakeDevServer
    let encoder = AS5600Model()
    let drumHome = SimulatedInputLine(name: "drum_home", level: true)
    let brake = SimulatedOutputLine(name: "brake")
    let gnssPPS = SimulatedInputLine(name: "gnss_pps")

    init(virtualClock: Bool) throws {
        path = "/tmp/plumb-fds-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).sock"
        encoder.angleCounts = 0x0ABC + 0.5
        let chip = FakeChip(number: 0, label: "plumb-test",
                            lines: [.input(drumHome), .output(brake), .input(gnssPPS)])
        server = try FakeDevServer(socketPath: path, buses: [1: [encoder]], chips: [chip],
                                   virtualClock: virtualClock, realtimeBaseNs: 1_750_000_000_000_000_000,
                                   startNs: virtualClock ? 1_000_000_000 : 0)
        server.log = { _ in }
    }

    /// Serves on the calling thread until the client's reply has been sent, then reads it.
    func exchange(_ client: FakeDevRawClient) -> FakeDevRawClient.Reply? {
        _ = server.serveUntilAllSleep(timeoutMs: 100)
        return client.receive()
    }
}

/// Drives the single-threaded server from one background thread; the test thread only starts
/// programs and waits for them. `step` runs on the serving thread after every serve call and
/// returns the new "armed" flag (a test-defined trigger the test thread can set).
private final class FakeDevRunner: @unchecked Sendable {
    let world: FakeDevWorld
    private let lock = NSLock()
    private var stopping = false
    private var armed = false
    private let done = DispatchSemaphore(value: 0)
    private var step: ((FakeDevWorld, FakeDevServer.ServeResult, Bool) -> Bool)?

    init(world: FakeDevWorld) { self.world = world }

    func start(step: @escaping (FakeDevWorld, FakeDevServer.ServeResult, Bool) -> Bool) {
        self.step = step
        let thread = Thread { [self] in
            while true {
                lock.lock()
                let stop = stopping, wasArmed = armed
                lock.unlock()
                if stop { break }
                let result = world.server.serveUntilAllSleep(timeoutMs: 20)
                let nowArmed = self.step?(world, result, wasArmed) ?? wasArmed
                if nowArmed != wasArmed {
                    lock.lock()
                    armed = nowArmed
                    lock.unlock()
                }
            }
            done.signal()
        }
        thread.start()
    }

    func arm() {
        lock.lock()
        armed = true
        lock.unlock()
    }

    /// Stops the serving thread and waits for it; the server is the test thread's again.
    func stop() {
        lock.lock()
        stopping = true
        lock.unlock()
        done.wait()
    }

    struct Output: CustomStringConvertible {
        var status: Int32
        var out: String
        var err: String
        var description: String { "exit \(status), stdout: \(out.debugDescription), stderr: \(err.debugDescription)" }
    }

    /// Runs a program (a name looked up in the usual directories, or a path) under the preload
    /// library against this world's socket; killed after 30 s.
    func run(_ build: String, _ program: String, _ arguments: String...) throws -> Output {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: program.hasPrefix("/") ? program : (FakeDevBuild.tool(program) ?? program))
        process.arguments = arguments
        var environment = ProcessInfo.processInfo.environment
        environment["LD_PRELOAD"] = build + "/plumbfake.so"
        environment["PLUMB_HIL_SOCKET"] = world.path
        process.environment = environment
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        let exited = DispatchSemaphore(value: 0)
        process.terminationHandler = { _ in exited.signal() }
        try process.run()
        let pid = process.processIdentifier
        DispatchQueue.global().asyncAfter(deadline: .now() + 30) {
            if exited.wait(timeout: .now()) == .timedOut { kill(pid, SIGKILL) } else { exited.signal() }
        }
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Output(status: process.terminationStatus, out: String(decoding: stdout, as: UTF8.self),
                      err: String(decoding: stderr, as: UTF8.self))
    }
}

/// What the lockstep runner saw (written on the serving thread, read after it stopped).
private final class FakeDevLockstepLog: @unchecked Sendable {
    var firstDeadlineNs: UInt64??
    var nowAtFirstSleepNs: UInt64?
    var secondLook: FakeDevServer.ServeResult?
    var nowAfterSecondLookNs: UInt64?
    var advances = 0
}

private enum FakeDevBuild {
    /// The directory holding plumbfake.so, or nil when it has not been built.
    static func find() -> String? {
        // This file is <root>/Tests/PlumbHILTests/FakeDevServerTests.swift.
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().path
        let dir = ProcessInfo.processInfo.environment["PLUMB_HIL_BUILD_DIR"] ?? root + "/build/hil"
        return FileManager.default.fileExists(atPath: dir + "/plumbfake.so") ? dir : nil
    }

    static func tool(_ name: String) -> String? {
        for dir in ["/usr/bin", "/usr/sbin", "/bin", "/sbin", "/usr/local/bin"] {
            let path = dir + "/" + name
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        return nil
    }
}

/// The control socket hil_probe asks for the simulation time ("time" → "ok NS"), served
/// without blocking from the runner's thread.
private final class FakeDevTimeControl: @unchecked Sendable {
    private let fd: Int32
    private let path: String

    init(path: String) throws {
        self.path = path
        fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue | SOCK_NONBLOCK.rawValue | SOCK_CLOEXEC.rawValue), 0)
        var addr = FakeDevRawClient.address(path)
        let ok = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard fd >= 0, ok == 0, listen(fd, 4) == 0 else { throw POSIXError(.EADDRINUSE) }
    }

    deinit {
        close(fd)
        unlink(path)
    }

    func answer(nowNs: UInt64) {
        let conn = accept(fd, nil, nil)
        guard conn >= 0 else { return }
        defer { close(conn) }
        var timeout = timeval(tv_sec: 2, tv_usec: 0)
        setsockopt(conn, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var line = [UInt8](repeating: 0, count: 256)
        let n = recv(conn, &line, line.count, 0)
        let command = n > 0 ? String(decoding: line[0..<n], as: UTF8.self) : ""
        let reply = Array((command.hasPrefix("time") ? "ok \(nowNs)\n" : "err unknown command\n").utf8)
        _ = send(conn, reply, reply.count, Int32(MSG_NOSIGNAL))
    }
}

/// A client that speaks the wire protocol directly.
private final class FakeDevRawClient {
    struct Reply: Equatable {
        var header: [UInt8]
        var status: UInt32
        var time: UInt64
        var body: [UInt8]
        var fds: [Int32]
    }

    let fd: Int32

    init(path: String) throws {
        fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue | SOCK_CLOEXEC.rawValue), 0)
        var addr = Self.address(path)
        let ok = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard fd >= 0, ok == 0 else { throw POSIXError(.ECONNREFUSED) }
    }

    deinit { close(fd) }

    static func address(_ path: String) -> sockaddr_un {
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in
            for (i, byte) in path.utf8.prefix(raw.count - 1).enumerated() { raw[i] = byte }
        }
        return addr
    }

    static func le(_ value: UInt64, _ size: Int) -> [UInt8] {
        (0..<size).map { UInt8(truncatingIfNeeded: value >> (8 * UInt64($0))) }
    }

    static func hello(magic: UInt32 = 0x4C48_4C50, version: UInt16 = 1) -> [UInt8] {
        le(UInt64(magic), 4) + le(UInt64(version), 2) + [0, 0] + le(4242, 4) + [4] + Array("test".utf8)
    }

    func send(type: UInt16, seq: UInt16, _ payload: [UInt8]) {
        sendRaw(Self.le(UInt64(payload.count), 4) + Self.le(UInt64(type), 2) + Self.le(UInt64(seq), 2) + payload)
    }

    func sendRaw(_ bytes: [UInt8]) {
        _ = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }

    /// The next response, or nil on EOF, error or nothing within the timeout.
    func receive(timeoutMs: Int = 2_000) -> Reply? {
        var fds: [Int32] = []
        guard let header = read(8, timeoutMs: timeoutMs, fds: &fds) else { return nil }
        let length = Int(header[0]) | Int(header[1]) << 8 | Int(header[2]) << 16 | Int(header[3]) << 24
        guard length >= 12, let payload = read(length, timeoutMs: timeoutMs, fds: &fds) else { return nil }
        let status = payload[0..<4].reversed().reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
        let time = payload[4..<12].reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        return Reply(header: header, status: status, time: time, body: Array(payload[12...]), fds: fds)
    }

    private func read(_ count: Int, timeoutMs: Int, fds: inout [Int32]) -> [UInt8]? {
        var data = [UInt8](repeating: 0, count: count)
        var got = 0
        while got < count {
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&p, 1, Int32(timeoutMs)) == 1 else { return nil }
            var control = [UInt8](repeating: 0, count: 64)
            let n: Int = data.withUnsafeMutableBytes { buffer in
                control.withUnsafeMutableBytes { controlBuffer in
                    var iov = iovec(iov_base: buffer.baseAddress! + got, iov_len: count - got)
                    return withUnsafeMutablePointer(to: &iov) { iovPointer in
                        var message = msghdr()
                        message.msg_iov = iovPointer
                        message.msg_iovlen = 1
                        message.msg_control = controlBuffer.baseAddress
                        message.msg_controllen = controlBuffer.count
                        let n = recvmsg(fd, &message, Int32(MSG_CMSG_CLOEXEC))
                        // One SCM_RIGHTS message with one descriptor is all the server sends.
                        if n > 0, message.msg_controllen >= MemoryLayout<cmsghdr>.size + 4 {
                            let header = controlBuffer.load(as: cmsghdr.self)
                            if header.cmsg_level == SOL_SOCKET, header.cmsg_type == Int32(SCM_RIGHTS) {
                                fds.append(controlBuffer.load(fromByteOffset: MemoryLayout<cmsghdr>.size, as: Int32.self))
                            }
                        }
                        return n
                    }
                }
            }
            if n <= 0 { return nil }
            got += n
        }
        return data
    }
}

private extension String {
    func fakeDevMatches(_ regex: String) -> Bool { range(of: regex, options: .regularExpression) != nil }
}
