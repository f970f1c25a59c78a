import Foundation
import Testing
@testable import PlumbLink

func hex(_ s: String) -> [UInt8] {
    var out: [UInt8] = []
    var i = s.startIndex
    while i < s.endIndex {
        let j = s.index(i, offsetBy: 2)
        out.append(UInt8(s[i..<j], radix: 16) ?? 0)
        i = j
    }
    return out
}

let testKey = LinkKey(id: 1, bytes: Array(0..<32))!

/// The vectors of docs/protocol.md §Test vectors.
let specVectors: [(name: String, frame: String, plaintext: String)] = [
    ("telemetry",
     "10341201070000002a0000001f493385be8adc3722a52843672847bd7eff3c222475efa63339162f323b7eb5235eb2646352fcf2120da0dbdfd9c3804aca",
     "0140e201007807271aee02b34ab5046affe6002d00876940b708ee05d43095090100"),
    ("command", "1134120103000000000000000269fce161be28af6bb7885742becf5a732d8798277943f989a88d80",
     "104d000000070c0000002040"),
    ("event_ack", "113412010300000001000000522e771cfcf6b7ee076f54d6761e378ff9844d369c", "3109000000"),
]

func seal(_ header: LinkHeader, _ plaintext: [UInt8], key: LinkKey = testKey) throws -> [UInt8] {
    var out = [UInt8](repeating: 0, count: LinkCrypto.maxFrame)
    let n = try plaintext.withUnsafeBytes { p in
        try out.withUnsafeMutableBytes { o in try LinkCrypto.seal(header: header, plaintext: p, key: key, into: o) }
    }
    return Array(out[0..<n])
}

func encode(_ m: LinkMessage) -> [UInt8] {
    var buf = [UInt8](repeating: 0, count: 256)
    let n = buf.withUnsafeMutableBytes { b -> Int in
        var w = ByteWriter(b)
        m.encode(&w)
        return w.count
    }
    return Array(buf[0..<n])
}

@Suite struct SpecVectors {
    init() { _ = LinkCrypto.initialize() }

    @Test func messagesEncodeToTheSpecPlaintexts() {
        var t = Telemetry()
        t.timeMs = 123456; t.lat1e7 = 438765432; t.lon1e7 = 1253245678; t.altitudeDm = 1205
        t.velNCmps = -150; t.velECmps = 230; t.velDCmps = 45; t.headingCdeg = 27015; t.batteryPct = 64
        t.voltage10mV = 2231; t.temperatureC = -18; t.missionState = 5; t.winchLengthMm = 12500
        t.tensionDN = 2453; t.healthBits = 1
        #expect(encode(.telemetry(t)) == hex(specVectors[0].plaintext))
        #expect(encode(.command(Command(commandID: 77, kind: .setParameter, parameterID: 12, value: 2.5))) == hex(specVectors[1].plaintext))
        #expect(encode(.eventAck(eventID: 9)) == hex(specVectors[2].plaintext))
        #expect(encode(.telemetry(t)).count == Telemetry.encodedSize)
    }

    @Test func framesMatchTheSpecVectors() throws {
        let headers = [
            LinkHeader(direction: .toGround, droneID: 0x1234, keyID: 1, epoch: 7, counter: 42),
            LinkHeader(direction: .toDrone, droneID: 0x1234, keyID: 1, epoch: 3, counter: 0),
            LinkHeader(direction: .toDrone, droneID: 0x1234, keyID: 1, epoch: 3, counter: 1),
        ]
        for (h, v) in zip(headers, specVectors) {
            #expect(try seal(h, hex(v.plaintext)) == hex(v.frame), "\(v.name)")
        }
    }

    @Test func anIndependentImplementationAgrees() throws {
        // Python's `cryptography` package (installed by make deps) computes the vectors again.
        let root = #filePath.split(separator: "/", omittingEmptySubsequences: false).dropLast(3).joined(separator: "/")
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", root + "/Tests/link/vectors.py"]
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        #expect(p.terminationStatus == 0)
        let lines = text.split(separator: "\n").map { $0.split(separator: " ").map(String.init) }
        #expect(lines.count == specVectors.count)
        for (line, v) in zip(lines, specVectors) {
            #expect(line == [v.name, v.frame, v.plaintext])
        }
    }

    @Test func telemetryFrameFitsIn64Bytes() throws {
        let frame = try seal(LinkHeader(direction: .toGround, droneID: 1, keyID: 1, epoch: 1, counter: 1),
                             encode(.telemetry(Telemetry())))
        #expect(frame.count == 62)
        #expect(frame.count <= 64)
    }
}

/// A drone and a ground end with the same key.
func pair(droneID: UInt16 = 0x1234) -> (DroneLink, GroundLink) {
    _ = LinkCrypto.initialize()
    return (DroneLink(droneID: droneID, key: testKey, epoch: 5), GroundLink(droneID: droneID, key: testKey, epoch: 9))
}

func frames(_ ground: inout GroundLink, now: UInt64) -> [[UInt8]] {
    var out: [[UInt8]] = []
    var buf = [UInt8](repeating: 0, count: LinkCrypto.maxFrame)
    for _ in 0..<100 {
        guard let n = buf.withUnsafeMutableBytes({ ground.nextFrame(nowNs: now, into: $0) }) else { break }
        out.append(Array(buf[0..<n]))
    }
    return out
}

func frames(_ drone: inout DroneLink, now: UInt64) -> [[UInt8]] {
    var out: [[UInt8]] = []
    var buf = [UInt8](repeating: 0, count: LinkCrypto.maxFrame)
    for _ in 0..<100 {
        guard let n = buf.withUnsafeMutableBytes({ drone.nextFrame(nowNs: now, into: $0) }) else { break }
        out.append(Array(buf[0..<n]))
    }
    return out
}

@Suite struct Rejections {
    /// A command frame from ground to drone, and a fresh drone to receive it.
    func setup() -> (DroneLink, [UInt8]) {
        var (drone, ground) = pair()
        _ = ground.send(.returnHome, nowNs: 0)
        let f = frames(&ground, now: 0)
        return (drone, f[0])
    }

    func deliver(_ drone: inout DroneLink, _ frame: [UInt8]) -> DroneLink.Inbound {
        frame.withUnsafeBytes { drone.receive($0, nowNs: 1) }
    }

    @Test func theGenuineFrameIsAccepted() {
        var (drone, frame) = setup()
        guard case .command(let c) = deliver(&drone, frame) else {
            Issue.record("not accepted")
            return
        }
        #expect(c.kind == .returnHome)
    }

    @Test func tamperedFramesAreRejected() {
        for position in [0 + 4, 12, 20, 39] {   // header (epoch), ciphertext, tag
            var (drone, frame) = setup()
            frame[min(position, frame.count - 1)] ^= 0x01
            #expect(deliver(&drone, frame) == .none)
            #expect(drone.stats.authenticationFailed == 1, "byte \(position)")
            #expect(frames(&drone, now: 2).isEmpty, "no reply to a rejected frame")
        }
    }

    @Test func replayedFrameIsRejected() {
        var (drone, frame) = setup()
        _ = deliver(&drone, frame)
        drone.completeCommand(1, result: .accepted)
        _ = frames(&drone, now: 2)
        #expect(deliver(&drone, frame) == .none)
        #expect(drone.stats.replayed == 1)
        #expect(frames(&drone, now: 3).isEmpty)
    }

    @Test func wrongKeyIsRejected() {
        let (_, frame) = setup()
        var other = DroneLink(droneID: 0x1234, key: LinkKey(id: 1, bytes: [UInt8](repeating: 7, count: 32))!, epoch: 1)
        #expect(frame.withUnsafeBytes { other.receive($0, nowNs: 1) } == .none)
        #expect(other.stats.authenticationFailed == 1)
        var unknownID = DroneLink(droneID: 0x1234, key: LinkKey(id: 2, bytes: Array(0..<32))!, epoch: 1)
        #expect(frame.withUnsafeBytes { unknownID.receive($0, nowNs: 1) } == .none)
        #expect(unknownID.stats.unknownKey == 1)
    }

    @Test func wrongDroneIsRejected() {
        let (_, frame) = setup()
        var other = DroneLink(droneID: 0x9999, key: testKey, epoch: 1)
        #expect(frame.withUnsafeBytes { other.receive($0, nowNs: 1) } == .none)
        #expect(other.stats.wrongDrone == 1)
    }

    @Test func truncatedFramesAreRejected() {
        for length in [0, 1, 11, 12, 27] {
            var (drone, frame) = setup()
            frame = Array(frame.prefix(length))
            #expect(deliver(&drone, frame) == .none)
            #expect(drone.stats.truncated == 1, "length \(length)")
        }
        var (drone, frame) = setup()
        frame.removeLast()   // long enough, but the tag is cut
        #expect(deliver(&drone, frame) == .none)
        #expect(drone.stats.authenticationFailed == 1)
    }

    @Test func downgradedAndReflectedFramesAreRejected() {
        var (drone, frame) = setup()
        frame[0] = 0x01            // version 0
        #expect(deliver(&drone, frame) == .none)
        #expect(drone.stats.badVersion == 1)
        // A drone's own frame sent back to it (reflection) has the wrong direction.
        var (d2, _) = pair()
        d2.setTelemetry(Telemetry())
        let own = frames(&d2, now: 0)[0]
        #expect(own.withUnsafeBytes { d2.receive($0, nowNs: 1) } == .none)
        #expect(d2.stats.wrongDirection == 1)
    }
}

@Suite struct ReplayWindowBehaviour {
    @Test func toleratesReorderingWithinTheWindow() {
        var w = ReplayWindow()
        for c: UInt32 in [10, 12, 11, 9, 40, 13] {
            #expect(w.wouldAccept(epoch: 1, counter: c), "\(c)")
            w.accept(epoch: 1, counter: c)
        }
        #expect(!w.wouldAccept(epoch: 1, counter: 12))       // seen
        #expect(w.wouldAccept(epoch: 1, counter: 14))        // not seen, within 64
        w.accept(epoch: 1, counter: 200)
        #expect(!w.wouldAccept(epoch: 1, counter: 136))      // older than the window
        #expect(w.wouldAccept(epoch: 1, counter: 137))
        #expect(!w.wouldAccept(epoch: 0, counter: 500))      // an older epoch
        #expect(w.wouldAccept(epoch: 2, counter: 0))         // a restart of the sender
    }

    @Test func movesOnlyAfterAuthentication() {
        var (drone, ground) = pair()
        _ = ground.send(.pause, nowNs: 0)
        var f = frames(&ground, now: 0)[0]
        let good = f
        f[f.count - 1] ^= 0xFF                               // forged tag, same counter
        _ = f.withUnsafeBytes { drone.receive($0, nowNs: 1) }
        #expect(drone.opener.window.epoch == nil)            // the forgery did not move it
        guard case .command = good.withUnsafeBytes({ drone.receive($0, nowNs: 2) }) else {
            Issue.record("the genuine frame was refused after a forgery")
            return
        }
    }
}

/// A lossy, reordering, duplicating channel (seeded).
struct LossyChannel {
    var rng: UInt64
    var inFlight: [(due: UInt64, frame: [UInt8])] = []
    var lossRate = 0.3
    var duplicateRate = 0.1

    mutating func random() -> Double {
        rng = rng &* 6364136223846793005 &+ 1442695040888963407
        return Double(rng >> 11) / Double(1 << 53)
    }

    mutating func send(_ frame: [UInt8], now: UInt64) {
        if random() < lossRate { return }
        let copies = random() < duplicateRate ? 2 : 1
        for _ in 0..<copies {
            // 20–220 ms of latency: frames overtake each other.
            inFlight.append((now + 20_000_000 + UInt64(random() * 200_000_000), frame))
        }
    }

    mutating func arrived(now: UInt64) -> [[UInt8]] {
        var out: [[UInt8]] = []
        inFlight.removeAll { item in
            if item.due <= now { out.append(item.frame); return true }
            return false
        }
        return out
    }
}

@Suite struct OverALossyLink {
    @Test(arguments: [UInt64(1), 2, 3])
    func everyCommandRunsOnceAndEveryEventArrivesOnce(seed: UInt64) {
        var (drone, ground) = pair()
        var up = LossyChannel(rng: seed), down = LossyChannel(rng: seed &* 31 &+ 7)
        var executed: [UInt32: Int] = [:]
        var received: [UInt32: Int] = [:]
        var acked: Set<UInt32> = []
        let step: UInt64 = 10_000_000
        var now: UInt64 = 0
        for tick in 0..<6000 {   // 60 s
            now += step
            if tick % 10 == 0 && tick < 500 {
                let id = ground.send(.setParameter, parameterID: UInt16(tick), value: Float(tick), nowNs: now)
                #expect(id != nil)
            }
            if tick % 20 == 0 && tick < 1000 {
                _ = drone.submitEvent(LinkEvent(eventID: UInt32(tick / 20 + 1), timeMs: UInt32(tick * 10),
                                                kind: .deliveryConfirmed, a: UInt32(tick)), nowNs: now)
            }
            for f in frames(&ground, now: now) { down.send(f, now: now) }
            for f in down.arrived(now: now) {
                if case .command(let c) = f.withUnsafeBytes({ drone.receive($0, nowNs: now) }) {
                    executed[c.commandID, default: 0] += 1
                    drone.completeCommand(c.commandID, result: .accepted)
                }
            }
            for f in frames(&drone, now: now) { up.send(f, now: now) }
            for f in up.arrived(now: now) {
                switch f.withUnsafeBytes({ ground.receive($0, nowNs: now) }) {
                case .event(let e): received[e.eventID, default: 0] += 1
                case .commandAcked(let a): acked.insert(a.commandID)
                default: break
                }
            }
        }
        #expect(executed.count == 50)
        #expect(executed.values.allSatisfy { $0 == 1 }, "a command ran twice")
        #expect(acked.count == 50)
        #expect(ground.pendingCommandCount == 0)
        #expect(received.count == 50)
        #expect(received.values.allSatisfy { $0 == 1 }, "an event was delivered twice")
        #expect(drone.pendingEventCount == 0)
        #expect(drone.stats.replayed > 0 || ground.stats.replayed > 0)   // duplicates were caught
        #expect(drone.stats.duplicatesIgnored + ground.stats.duplicatesIgnored > 0)
    }
}

@Suite struct MissionUploadOverALossyLink {
    @Test func everyChunkArrivesAndTheMissionAssemblesExactly() throws {
        var (drone, ground) = pair()
        var items: [MissionItem] = []
        for i in 0..<45 {
            items.append(MissionItem(kind: i % 3 == 0 ? .station : .waypoint, lat1e7: 438_000_000 + Int32(i) * 1000,
                                     lon1e7: 1_253_000_000 - Int32(i) * 700, heightDm: Int16(600 + i),
                                     dropDm: UInt16(i * 2), parcelID: UInt32(9000 + i)))
        }
        var upload = try #require(MissionUpload(missionID: 7, items: items))
        #expect(upload.chunkCount == 6)
        var assembler = MissionAssembler()
        var up = LossyChannel(rng: 11), down = LossyChannel(rng: 12)
        var now: UInt64 = 0
        var buf = [UInt8](repeating: 0, count: LinkCrypto.maxFrame)
        for _ in 0..<3000 where !upload.done {
            now += 10_000_000
            while let n = buf.withUnsafeMutableBytes({ upload.nextFrame(&ground, nowNs: now, into: $0) }) {
                down.send(Array(buf[0..<n]), now: now)
            }
            for f in down.arrived(now: now) {
                if case .missionChunk(let id, let index, let count, let n) = f.withUnsafeBytes({ drone.receive($0, nowNs: now) }) {
                    let chunk = (0..<n).compactMap { drone.chunkItem($0) }
                    drone.acknowledgeMissionChunk(id, index: index, accepted: assembler.accept(missionID: id, index: index, count: count, items: chunk))
                }
            }
            for f in frames(&drone, now: now) { up.send(f, now: now) }
            for f in up.arrived(now: now) {
                if case .missionAcked(let id, let index, let ok) = f.withUnsafeBytes({ ground.receive($0, nowNs: now) }) {
                    upload.acknowledge(missionID: id, index: index, accepted: ok)
                }
            }
        }
        #expect(upload.done)
        #expect(assembler.complete)
        #expect(assembler.items == items)
    }

    @Test func malformedChunksAreRefused() {
        var a = MissionAssembler(capacity: 16)
        let item = MissionItem(kind: .pad, lat1e7: 1, lon1e7: 2, heightDm: 3)
        let pastCount = a.accept(missionID: 1, index: 2, count: 2, items: [item])
        let empty = a.accept(missionID: 1, index: 0, count: 1, items: [])
        let beyondStore = a.accept(missionID: 1, index: 5, count: 6, items: [item])
        let good = a.accept(missionID: 1, index: 0, count: 1, items: [item])
        #expect(!pastCount && !empty && !beyondStore)
        #expect(good)
        #expect(a.complete && a.items == [item])
    }
}

@Suite struct KeyRotationAndStatistics {
    @Test func theNewKeySealsAndBothAreAcceptedDuringTheChange() throws {
        _ = LinkCrypto.initialize()
        let old = testKey
        let new = try #require(LinkKey(id: 2, bytes: (0..<32).map { UInt8(255 - $0) }))
        var drone = DroneLink(droneID: 0x1234, key: new, previousKey: old, epoch: 1)
        var groundOld = GroundLink(droneID: 0x1234, key: old, epoch: 1)
        var groundNew = GroundLink(droneID: 0x1234, key: new, epoch: 2)
        _ = groundOld.send(.pause, nowNs: 0)
        _ = groundNew.send(.resume, nowNs: 0)
        let a = frames(&groundOld, now: 0)[0], b = frames(&groundNew, now: 0)[0]
        guard case .command(let c1) = a.withUnsafeBytes({ drone.receive($0, nowNs: 1) }),
              case .command(let c2) = b.withUnsafeBytes({ drone.receive($0, nowNs: 2) }) else {
            Issue.record("a key of the rotation was refused")
            return
        }
        #expect(c1.kind == .pause && c2.kind == .resume)
        // The drone seals with the new key (id 2): only the new ground can read it.
        drone.setTelemetry(Telemetry())
        let t = frames(&drone, now: 3)
        #expect(t[0][3] == 2)
        #expect(t[0].withUnsafeBytes { groundOld.receive($0, nowNs: 4) } == .none)
        #expect(groundOld.stats.unknownKey == 1)
        if case .telemetry = t[0].withUnsafeBytes({ groundNew.receive($0, nowNs: 4) }) {} else {
            Issue.record("the new key's telemetry was refused")
        }
        // Once the rotation is over, the old key is refused.
        drone.rotate(current: new, previous: nil)
        _ = groundOld.send(.landNow, nowNs: 5)
        let late = frames(&groundOld, now: 5).last ?? []
        #expect(late.withUnsafeBytes { drone.receive($0, nowNs: 6) } == .none)
        #expect(drone.stats.unknownKey == 1)
    }

    @Test func lossIsEstimatedFromTheCounters() {
        var (drone, ground) = pair()
        drone.setTelemetry(Telemetry())
        var sent = 0
        for i in 0..<100 {
            drone.setTelemetry(Telemetry())
            let f = frames(&drone, now: UInt64(i))
            sent += f.count
            if i % 4 != 0 { for x in f { _ = x.withUnsafeBytes { ground.receive($0, nowNs: UInt64(i)) } } }
        }
        #expect(abs(ground.opener.lossEstimate - 0.25) < 0.02)
    }
}

@Suite struct AcrossRestartsAndVersions {
    @Test func aReplayedCommandIsRefusedAfterARestart() {
        var (drone, ground) = pair()
        _ = ground.send(.landNow, nowNs: 0)
        let frame = frames(&ground, now: 0)[0]
        guard case .command(let c) = frame.withUnsafeBytes({ drone.receive($0, nowNs: 1) }) else {
            Issue.record("not accepted")
            return
        }
        drone.completeCommand(c.commandID, result: .accepted)
        let carried = drone.opener.lastAccepted
        // The daemon restarts: its window comes back from the journal, its memory of
        // command ids does not reach this far back (a fresh DroneLink).
        var restarted = DroneLink(droneID: 0x1234, key: testKey, epoch: 6)
        if let f = carried { restarted.restoreInboundWindow(epoch: f.epoch, counter: f.counter) }
        #expect(frame.withUnsafeBytes { restarted.receive($0, nowNs: 2) } == .none)
        #expect(restarted.stats.replayed == 1)
        // The ground's next command still gets through.
        _ = ground.send(.pause, nowNs: 3)
        let next = frames(&ground, now: 3)[0]
        if case .command = next.withUnsafeBytes({ restarted.receive($0, nowNs: 4) }) {} else {
            Issue.record("a new command was refused after the restore")
        }
    }

    @Test func anUnknownCommandKindIsAnsweredUnsupported() throws {
        var (drone, _) = pair()
        var sealer = LinkSealer(direction: .toDrone, droneID: 0x1234, key: testKey, epoch: 1)
        var plain: [UInt8] = [0x10, 0x2A, 0, 0, 0, 0x63, 0, 0, 0, 0, 0, 0]  // command 42, kind 0x63
        var out = [UInt8](repeating: 0, count: 128)
        let n = try plain.withUnsafeMutableBytes { p in try out.withUnsafeMutableBytes { try sealer.sealEncoded(count: 12, scratch: p, into: $0) } }
        #expect(Array(out[0..<n]).withUnsafeBytes { drone.receive($0, nowNs: 1) } == .none)
        let reply = frames(&drone, now: 2)
        #expect(reply.count == 1)
        var opener = LinkOpener(direction: .toGround, droneID: 0x1234, keys: [testKey])
        var plainOut = [UInt8](repeating: 0, count: 128)
        let m = try reply[0].withUnsafeBytes { f in try plainOut.withUnsafeMutableBytes { try opener.open(f, into: $0) } }
        let ack = plainOut.withUnsafeBytes { LinkMessage.decode(UnsafeRawBufferPointer(rebasing: $0[0..<m])) }
        #expect(ack == .commandAck(CommandAck(commandID: 42, result: .unsupported, duplicate: false)))
    }

    @Test func aLateChunkOfAnOlderMissionDoesNotWipeANewerOne() {
        var a = MissionAssembler(capacity: 32)
        let item = MissionItem(kind: .station, lat1e7: 1, lon1e7: 2, heightDm: 3, dropDm: 4, parcelID: 5)
        let first = a.accept(missionID: 20, index: 0, count: 1, items: [item])
        #expect(first)
        let late = a.accept(missionID: 19, index: 0, count: 2, items: [item])
        #expect(!late)
        #expect(a.complete && a.missionID == 20)
    }
}
