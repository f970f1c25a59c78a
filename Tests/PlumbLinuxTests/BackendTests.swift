import Testing
import CLinux
import PlumbCore
import PlumbHAL
@testable import PlumbLinux

@Suite struct MissingHardware {
    @Test func missingI2CBusIsATypedErrorWithAClearMessage() {
        do {
            _ = try LinuxI2CBus(path: "/dev/i2c-97", clockHz: 400_000)
            Issue.record("opened a bus that does not exist")
        } catch {
            #expect(error == .openFailed(path: "/dev/i2c-97", errno: ENOENT))
            let text = describe(error)
            #expect(text.contains("cannot open /dev/i2c-97"))
            #expect(text.contains("No such file or directory"))
            #expect(text.contains("i2c-dev"))
        }
    }

    @Test func missingGPIOChipIsATypedErrorWithAClearMessage() {
        do {
            _ = try LinuxGPIOChip(name: "gpiochip97")
            Issue.record("opened a chip that does not exist")
        } catch {
            guard case .chipNotFound(let chip, let e) = error else {
                Issue.record("wrong error \(error)")
                return
            }
            #expect(chip == "gpiochip97")
            #expect(e != 0)
            #expect(describe(error).contains("cannot open GPIO chip 'gpiochip97'"))
            #expect(describe(error).contains("gpiodetect"))
        }
    }

    @Test func missingSerialPortIsATypedError() {
        #expect(throws: IOError.openFailed(what: "/dev/ttyNOPE", errno: ENOENT)) {
            _ = try LinuxSerialPort(path: "/dev/ttyNOPE", baud: 115_200)
        }
    }

    @Test func unsupportedBaudIsRefused() {
        #expect(throws: IOError.openFailed(what: "/dev/null", errno: EINVAL)) {
            _ = try LinuxSerialPort(path: "/dev/null", baud: 12345)
        }
    }

    @Test func probeOfAnAbsentBoardReportsEveryRowAsError() throws {
        var r = ConfigReader(try TOMLDocument.parse("""
        [board]
        name = "absent"
        [i2c.main]
        device = "/dev/i2c-97"
        [devices.gnss]
        kind = "ublox-ddc"
        bus = "main"
        [gpio.brake]
        chip = "gpiochip97"
        line = 1
        safe_level = "active"
        """))
        let board = try #require(BoardDescription.read(&r))
        let rows = probeBoard(board)
        #expect(rows.count == 3)
        #expect(rows.allSatisfy { if case .error = $0.status { return true } else { return false } })
        #expect(!probeSucceeded(rows))
        let table = formatProbeTable(rows)
        #expect(table.contains("gnss"))
        #expect(table.contains("ublox-ddc at 0x42 on /dev/i2c-97"))
    }

    @Test func missingFileIsATypedError() {
        #expect(throws: FileError.openFailed(path: "/nonexistent/plumbd.toml", errno: ENOENT)) {
            _ = try readFile("/nonexistent/plumbd.toml")
        }
    }
}

@Suite(.serialized) struct TickerAndLoop {
    @Test func timerfdCountsMissedPeriods() throws {
        let ticker = try TimerfdTicker(periodNs: 1_000_000, budgetNs: 500_000)
        #expect(try ticker.waitTick() >= 1)
        _ = plumb_sleep_ns(20_000_000)  // a stalled loop: about 20 periods pass
        let expirations = try ticker.waitTick()
        #expect(expirations >= 10)
        #expect(ticker.accounting.ticks == 2)
        #expect(ticker.accounting.missedTicks >= 9)
        ticker.recordWork(ns: 900_000)
        #expect(ticker.accounting.budgetOverruns == 1)
    }

    @Test func sigtermPutsEveryOutputAtItsSafeLevel() throws {
        final class FakeOutput: GPIOOutput {
            let safeLevel: Bool
            private(set) var lastLevel: Bool?
            var writes = 0
            init(safe: Bool) { safeLevel = safe }
            func set(_ active: Bool) throws(GPIOError) { lastLevel = active; writes += 1 }
        }
        // In flight: the brake released, the LED on, the cutter armed.
        let brake = FakeOutput(safe: true), led = FakeOutput(safe: false), arm = FakeOutput(safe: false)
        try brake.set(false)
        try led.set(true)
        try arm.set(true)
        let signals = try SignalSource()
        let ticker = try TimerfdTicker(periodNs: 2_000_000, budgetNs: 1_000_000)
        var ticksSeen: UInt64 = 0
        let summary = runControlLoop(ticker: ticker, signals: signals, outputs: [brake, led, arm],
                                     maxTicks: 1000, log: Log(level: .error)) { n in
            ticksSeen = n + 1
            if n == 4 { _ = plumb_raise(plumb_sigterm()) }
        }
        #expect(summary.exit == .signal(.terminate))
        #expect(ticksSeen == 5)
        #expect(summary.unsafeOutputs == 0)
        #expect(brake.lastLevel == true)
        #expect(led.lastLevel == false)
        #expect(arm.lastLevel == false)
    }

    @Test func sighupReloadsBetweenTwoTicksAndTheLoopGoesOn() throws {
        final class Out: GPIOOutput {
            let safeLevel = false
            var lastLevel: Bool? = nil
            func set(_ active: Bool) throws(GPIOError) { lastLevel = active }
        }
        let signals = try SignalSource()
        let ticker = try TimerfdTicker(periodNs: 1_000_000, budgetNs: 1_000_000)
        var order: [String] = []
        let summary = runControlLoop(ticker: ticker, signals: signals, outputs: [Out()],
                                     maxTicks: 10, log: Log(level: .error), reload: { _ in order.append("reload") }) { n in
            order.append("tick \(n)")
            if n == 2 { _ = plumb_raise(plumb_sighup()) }
        }
        #expect(summary.exit == .tickLimit)
        #expect(summary.accounting.ticks == 10)
        // Once, after the tick in which it arrived and before the next one.
        #expect(order.filter { $0 == "reload" }.count == 1)
        #expect(order.firstIndex(of: "reload") == order.firstIndex(of: "tick 2").map { $0 + 1 })
    }

    @Test func aStopRequestWinsOverAReloadThatCameWithIt() throws {
        final class Out: GPIOOutput {
            let safeLevel = false
            var lastLevel: Bool? = nil
            func set(_ active: Bool) throws(GPIOError) { lastLevel = active }
        }
        let signals = try SignalSource()
        let ticker = try TimerfdTicker(periodNs: 1_000_000, budgetNs: 1_000_000)
        var reloads = 0
        let summary = runControlLoop(ticker: ticker, signals: signals, outputs: [Out()],
                                     maxTicks: 100, log: Log(level: .error), reload: { _ in reloads += 1 }) { n in
            if n == 2 {
                _ = plumb_raise(plumb_sighup())
                _ = plumb_raise(plumb_sigterm())
            }
        }
        #expect(summary.exit == .signal(.terminate))
        #expect(reloads == 0)
        #expect(summary.accounting.ticks == 3)
    }
}

@Suite struct Datagrams {
    @Test func udpRoundTripOnLoopback() throws {
        let a = try UDPSocket(bind: NetAddress(host: NetAddress.loopback, port: 0))
        let b = try UDPSocket(bind: NetAddress(host: NetAddress.loopback, port: 0))
        let to = NetAddress(host: NetAddress.loopback, port: b.localPort)
        let payload: [UInt8] = [1, 2, 3, 0, 255]
        try payload.withUnsafeBytes { try a.send($0, to: to) }
        let loop = EventLoop(capacity: 2)
        let token = try #require(loop.add(fd: b.fd))
        let ready = try loop.wait(timeoutNs: 1_000_000_000)
        #expect(ready & (1 << UInt64(token)) != 0)
        var buffer = [UInt8](repeating: 0, count: 64)
        let got = try buffer.withUnsafeMutableBytes { try b.receive(into: $0) }
        let r = try #require(got)
        #expect(Array(buffer[0..<r.count]) == payload)
        #expect(r.from == NetAddress(host: NetAddress.loopback, port: a.localPort))
        // Nothing else is waiting.
        #expect(try buffer.withUnsafeMutableBytes { try b.receive(into: $0) } == nil)
    }

    @Test func oversizedDatagramIsReportedNotTruncatedSilently() throws {
        let a = try UDPSocket(bind: NetAddress(host: NetAddress.loopback, port: 0))
        let b = try UDPSocket(bind: NetAddress(host: NetAddress.loopback, port: 0))
        let big = [UInt8](repeating: 7, count: 100)
        try big.withUnsafeBytes { try a.send($0, to: NetAddress(host: NetAddress.loopback, port: b.localPort)) }
        let loop = EventLoop(capacity: 1)
        _ = loop.add(fd: b.fd)
        _ = try loop.wait(timeoutNs: 1_000_000_000)
        var small = [UInt8](repeating: 0, count: 16)
        #expect(throws: IOError.truncated) { _ = try small.withUnsafeMutableBytes { try b.receive(into: $0) } }
    }

    @Test func eventLoopTimesOutWhenNothingIsReady() throws {
        let b = try UDPSocket(bind: NetAddress(host: NetAddress.loopback, port: 0))
        let loop = EventLoop(capacity: 1)
        _ = loop.add(fd: b.fd)
        #expect(try loop.wait(timeoutNs: 5_000_000) == 0)
    }
}

import PlumbLink

@Suite struct LinkJournalDurability {
    func path(_ name: String) -> String {
        let p = "/tmp/plumb-journal-\(name)-\(getpid())"
        unlink(p)
        return p
    }

    @Test func eventsCommandsAndEpochsSurviveAReopen() throws {
        let p = path("reopen")
        do {
            let j = try LinkJournal(path: p)
            #expect(try j.beginEpoch() == 1)
            let e1 = try j.record(timeMs: 10, kind: .deliveryConfirmed, a: 4711, b: 438_765_432, c: 1_253_245_678)
            let e2 = try j.record(timeMs: 20, kind: .stateChange, a: 0x0102)
            try j.executed(commandID: 9, result: .rejected, frameEpoch: 3, frameCounter: 17)
            try j.acknowledged(eventID: e1.eventID)
            #expect(j.pendingEvents == [e2])
        }
        let j = try LinkJournal(path: p)
        #expect(j.epoch == 1)
        #expect(try j.beginEpoch() == 2)
        #expect(j.pendingEvents.map { $0.eventID } == [2])
        #expect(j.pendingEvents.first?.a == 0x0102)
        #expect(j.executedCommands.map { $0.id } == [9])
        #expect(j.lastCommandFrame?.epoch == 3 && j.lastCommandFrame?.counter == 17)
        #expect(j.nextEventID == 3)
        unlink(p)
    }

    @Test func aTornTailIsCutAndADamagedMiddleIsSkipped() throws {
        let p = path("damage")
        do {
            let j = try LinkJournal(path: p)
            _ = try j.beginEpoch()
            _ = try j.record(timeMs: 1, kind: .fault, a: 1)
            _ = try j.beginEpoch()
            _ = try j.beginEpoch()
        }
        // Damage the event record (the second record) and append half a record.
        var bytes = Array(try readFile(p))
        bytes[3 + 4 + 4 + 5] ^= 0xFF
        bytes += [UInt8(ascii: "J"), 2, 21, 1, 2, 3]
        let fd = p.withCString { plumb_open_mode($0, O_WRONLY | O_TRUNC, 0o600) }
        _ = bytes.withUnsafeBytes { plumb_write(fd, $0.baseAddress, UInt($0.count)) }
        _ = plumb_close(fd)
        let j = try LinkJournal(path: p)
        #expect(j.epoch == 3)                 // the epochs after the damage are still there
        #expect(j.truncatedBytes == 6)
        #expect(j.skippedBytes > 0)
        #expect(j.pendingEvents.isEmpty)      // the damaged event is lost, and reported
        #expect(try j.beginEpoch() == 4)
        unlink(p)
    }

    @Test func aKeyFileOthersCanReadIsRefused() throws {
        let p = path("key")
        let fd = p.withCString { plumb_open_mode($0, O_WRONLY | O_CREAT | O_TRUNC, 0o644) }
        let key = [UInt8](repeating: 1, count: 32)
        _ = key.withUnsafeBytes { plumb_write(fd, $0.baseAddress, 32) }
        _ = plumb_close(fd)
        _ = p.withCString { chmod($0, 0o644) }
        #expect(throws: KeyFileError.tooOpen(path: p, mode: 0o100644)) { _ = try loadLinkKey(path: p, id: 1) }
        _ = p.withCString { chmod($0, 0o600) }
        #expect(try loadLinkKey(path: p, id: 1).bytes == key)
        unlink(p)
    }
}
