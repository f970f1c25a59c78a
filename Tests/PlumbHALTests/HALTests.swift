import Testing
import PlumbCore
import PlumbDevices
import PlumbLink
@testable import PlumbHAL

/// A bus that answers from a register map and records what it was asked. Deliberately
/// minimal: the HIL's device models are the full fakes.
final class RegisterBus: I2CBus {
    var registers: [UInt8: [UInt8]] = [:]
    var nackAddresses: Set<UInt8> = []
    var transfers: [(address: UInt8, write: [UInt8], readCount: Int)] = []
    let clockHz: UInt32 = 100_000

    func transfer(address: UInt8, write: UnsafeRawBufferPointer, read: UnsafeMutableRawBufferPointer) throws(I2CError) {
        transfers.append((address, Array(write), read.count))
        if nackAddresses.contains(address) { throw I2CError.nack(address: address) }
        guard let reg = write.first, read.count > 0 else { return }
        let data = registers[reg] ?? []
        for i in 0..<read.count { read[i] = i < data.count ? data[i] : 0xFF }
    }

    func probe(address: UInt8) throws(I2CError) {
        if nackAddresses.contains(address) { throw I2CError.nack(address: address) }
    }
}

func pec(_ address: UInt8, _ command: UInt8, _ data: [UInt8]) -> UInt8 {
    CRC8SMBus.checksum([address << 1, command, address << 1 | 1] + data)
}

@Suite struct SMBusOverI2C {
    @Test func readWordIsLittleEndianWithOneRepeatedStartTransfer() throws {
        let bus = RegisterBus()
        bus.registers[0x09] = [0x34, 0x12]
        #expect(try bus.smbusReadWord(address: 0x0B, command: 0x09, pec: false) == 0x1234)
        #expect(bus.transfers.count == 1)
        #expect(bus.transfers[0].write == [0x09])
        #expect(bus.transfers[0].readCount == 2)
    }

    @Test func readWordChecksPEC() throws {
        let bus = RegisterBus()
        bus.registers[0x09] = [0x10, 0x3A, pec(0x0B, 0x09, [0x10, 0x3A])]
        #expect(try bus.smbusReadWord(address: 0x0B, command: 0x09, pec: true) == 0x3A10)
        bus.registers[0x09] = [0x10, 0x3A, 0x00]
        #expect(throws: I2CError.pecMismatch(address: 0x0B, expected: pec(0x0B, 0x09, [0x10, 0x3A]), received: 0)) {
            try bus.smbusReadWord(address: 0x0B, command: 0x09, pec: true)
        }
    }

    @Test func blockReadUsesTheCountByteAndPEC() throws {
        let bus = RegisterBus()
        let name = Array("PLUMB".utf8)
        bus.registers[0x20] = [UInt8(name.count)] + name + [pec(0x0B, 0x20, [UInt8(name.count)] + name)]
        var scratch = [UInt8](repeating: 0, count: 34)
        var out = [UInt8](repeating: 0, count: 32)
        let n = try scratch.withUnsafeMutableBytes { s in
            try out.withUnsafeMutableBytes { o in
                try bus.smbusReadBlock(address: 0x0B, command: 0x20, pec: true, scratch: s, into: o)
            }
        }
        #expect(n == 5)
        #expect(Array(out[0..<n]) == name)

        bus.registers[0x20] = [40] + [UInt8](repeating: 0x41, count: 33)
        #expect(throws: I2CError.badBlockCount(address: 0x0B, count: 40)) {
            try scratch.withUnsafeMutableBytes { s in
                try out.withUnsafeMutableBytes { o in
                    _ = try bus.smbusReadBlock(address: 0x0B, command: 0x20, pec: false, scratch: s, into: o)
                }
            }
        }
    }

    @Test func nackIsATypedError() {
        let bus = RegisterBus()
        bus.nackAddresses = [0x36]
        #expect(throws: I2CError.nack(address: 0x36)) { _ = try bus.readRegister(address: 0x36, 0x0C) }
    }

    @Test func busTimeBudget() {
        // SMBus read-word at 100 kHz: address, command, address, two data bytes ≈ 0.47 ms.
        let ns = i2cTransferTimeNs(clockHz: 100_000, writeBytes: 1, readBytes: 2)
        #expect(ns > 400_000 && ns < 600_000)
    }
}

@Suite struct TickOverruns {
    @Test func missedPeriodsAndBudgetOverrunsAreCountedApart() {
        var a = TickAccounting(budgetNs: 2_000_000)
        a.recordWake(expirations: 1)
        a.recordWork(ns: 500_000)
        a.recordWake(expirations: 4)      // three periods passed without a tick
        a.recordWork(ns: 3_000_000)       // and this tick ran over budget
        a.recordWake(expirations: 0)      // a spurious wake is not a tick
        #expect(a.ticks == 2)
        #expect(a.missedTicks == 3)
        #expect(a.budgetOverruns == 1)
        #expect(a.overruns == 4)
        #expect(a.worstWorkNs == 3_000_000)
    }
}

@Suite struct Addresses {
    @Test func parsesIPv4WithPort() {
        #expect(NetAddress.parse("127.0.0.1:14550") == NetAddress(host: 0x7F00_0001, port: 14550))
        #expect(NetAddress.parse("10.0.0.2", defaultPort: 5000) == NetAddress(host: 0x0A00_0002, port: 5000))
        #expect(NetAddress.parse("10.0.0.2") == nil)
        #expect(NetAddress.parse("256.0.0.1:1") == nil)
        #expect(NetAddress.parse("1.2.3:4") == nil)
        #expect(NetAddress.parse("1.2.3.4:70000") == nil)
        #expect(NetAddress(host: 0xC0A8_0101, port: 80).description == "192.168.1.1:80")
    }
}

@Suite struct HealthBookkeeping {
    @Test func staleThenFailedThenRecovered() {
        var h = DeviceHealth<I2CError>(failureThreshold: 3, staleAfterNs: 100)
        #expect(h.state(at: 0) == .stale)            // never read
        h.recordSuccess(at: 1000)
        #expect(h.state(at: 1050) == .ok)
        #expect(h.state(at: 1200) == .stale)
        h.recordFailure(.nack(address: 0x36))
        h.recordFailure(.nack(address: 0x36))
        #expect(h.state(at: 1010) == .ok)             // two errors: still within threshold
        h.recordFailure(.timeout(address: 0x36))
        #expect(h.state(at: 1010) == .failed)
        #expect(h.lastError == .timeout(address: 0x36))
        h.recordSuccess(at: 2000)
        #expect(h.state(at: 2000) == .ok)
        #expect(h.totalErrors == 3)
    }
}

@Suite struct COBSFraming {
    func roundTrip(_ input: [UInt8]) throws -> [UInt8] {
        var enc = [UInt8](repeating: 0, count: COBS.maxEncodedCount(input.count))
        let n = try input.withUnsafeBytes { i in try enc.withUnsafeMutableBytes { try COBS.encode(i, into: $0) } }
        #expect(!enc[0..<n].contains(0))
        var dec = [UInt8](repeating: 0, count: input.count + 1)
        let m = try enc.withUnsafeBytes { e in
            try dec.withUnsafeMutableBytes { try COBS.decode(UnsafeRawBufferPointer(rebasing: e[0..<n]), into: $0) }
        }
        return Array(dec[0..<m])
    }

    @Test func knownEncodings() throws {
        var out = [UInt8](repeating: 0, count: 8)
        let n = try [UInt8]([0x11, 0x00, 0x22]).withUnsafeBytes { i in try out.withUnsafeMutableBytes { try COBS.encode(i, into: $0) } }
        #expect(Array(out[0..<n]) == [0x02, 0x11, 0x02, 0x22])
    }

    @Test func roundTrips() throws {
        for input in [[], [0], [0, 0], [1, 2, 3], [UInt8](repeating: 7, count: 254),
                      [UInt8](repeating: 7, count: 255), (0..<600).map { UInt8($0 % 256) }] {
            #expect(try roundTrip(input) == input)
        }
    }

    @Test func malformedFramesAreRejected() {
        var out = [UInt8](repeating: 0, count: 16)
        #expect(throws: COBSError.malformed) {
            try [UInt8]([0x05, 0x01]).withUnsafeBytes { i in try out.withUnsafeMutableBytes { _ = try COBS.decode(i, into: $0) } }
        }
        #expect(throws: COBSError.malformed) {
            try [UInt8]([0x03, 0x00, 0x01]).withUnsafeBytes { i in try out.withUnsafeMutableBytes { _ = try COBS.decode(i, into: $0) } }
        }
    }
}

@Suite struct COBSSerialStream {
    @Test func framesSplitAcrossReadsWithNoiseAndAnOversizeFrame() throws {
        func encoded(_ payload: [UInt8]) throws -> [UInt8] {
            var enc = [UInt8](repeating: 0, count: COBS.maxEncodedCount(payload.count))
            let n = try payload.withUnsafeBytes { p in try enc.withUnsafeMutableBytes { try COBS.encode(p, into: $0) } }
            return Array(enc[0..<n]) + [0]
        }
        let a: [UInt8] = [0x10, 0, 1, 2, 0, 0]
        let b: [UInt8] = Array(repeating: 0x55, count: 300)
        let c: [UInt8] = [7]
        var stream = [UInt8]([0x33, 0x44, 0x00])          // noise, then a delimiter
        stream += try encoded(a) + (try encoded(Array(repeating: 1, count: 600))) + encoded(b) + encoded(c)
        var decoder = COBSStreamDecoder(maxEncodedFrame: 400)
        var out = [UInt8](repeating: 0, count: 512)
        var frames: [[UInt8]] = []
        for byte in stream {
            if let n = out.withUnsafeMutableBytes({ decoder.feed(byte, into: $0) }) { frames.append(Array(out[0..<n])) }
        }
        // The noise is not valid COBS (its code runs past the delimiter) and the 600-byte
        // frame is too long for the buffer: both dropped and counted, the rest intact.
        #expect(frames == [a, b, c])
        #expect(decoder.malformed == 1)
        #expect(decoder.oversize == 1)
    }
}
