import Foundation
import Testing
@testable import PlumbLink

// MARK: - Helpers

func mavBytes(_ s: String) -> [UInt8] {
    var out: [UInt8] = []
    var i = s.startIndex
    while i < s.endIndex, let j = s.index(i, offsetBy: 2, limitedBy: s.endIndex) {
        out.append(UInt8(s[i..<j], radix: 16) ?? 0)
        i = j
    }
    return out
}

func mavHexString(_ b: [UInt8]) -> String {
    let digits = Array("0123456789abcdef")
    var s = ""
    for x in b {
        s.append(digits[Int(x >> 4)])
        s.append(digits[Int(x & 0xF)])
    }
    return s
}

func mavFrame(_ m: MAVLinkMessage, seq: UInt8 = 0, sys: UInt8 = 1, comp: UInt8 = 1) -> [UInt8] {
    var out: [UInt8] = []
    #expect(MAVLinkFrame.append(m, sequence: seq, systemId: sys, componentId: comp, to: &out))
    return out
}

/// Recomputes the checksum of a MAVLink 2 frame after a test edited its header or payload.
func mavRechecksum(_ frame: inout [UInt8], extra: UInt8) {
    let len = Int(frame[1])
    var crc = MAVLinkCRC()
    for i in 1..<(10 + len) { crc.update(frame[i]) }
    crc.update(extra)
    frame[10 + len] = UInt8(crc.value & 0xFF)
    frame[11 + len] = UInt8(crc.value >> 8)
}

func mavPackets(_ bytes: [UInt8]) -> ([MAVLinkPacket], MAVLinkParserStats) {
    var p = MAVLinkParser()
    let packets = p.parseAll(bytes)
    return (packets, p.stats)
}

/// The fixed messages of Tests/mavlink/vectors.py, with the same field values.
func mavVectorMessages() -> [(name: String, message: MAVLinkMessage)] {
    var sp = MAVLocalTarget()
    sp.timeBootMs = 123456
    sp.coordinateFrame = MAVFrame.localNED
    sp.typeMask = 2496
    sp.x = 10.5; sp.y = -20.25; sp.z = -30
    sp.vx = 1.5; sp.vy = -0.5; sp.vz = 0.25
    sp.yaw = 1.5
    var pt = MAVLocalTarget()
    pt.timeBootMs = 654321
    pt.coordinateFrame = MAVFrame.localNED
    pt.typeMask = 3576
    pt.x = -4.5; pt.y = 8.25; pt.z = -12
    var lt = MAVLandingTarget()
    lt.timeUsec = 1234567890123
    lt.targetNum = 1; lt.frame = 12
    lt.angleX = 0.125; lt.angleY = -0.25; lt.distance = 12.5
    lt.sizeX = 0.0625; lt.sizeY = 0.03125
    lt.x = 0.5; lt.y = -0.75; lt.z = 12
    lt.q = (1, 0, 0, 0)
    lt.type = 2; lt.positionValid = 1
    return [
        ("heartbeat", .heartbeat(MAVHeartbeat(customMode: 6 << 16, type: 13, autopilot: 12, baseMode: 157,
                                              systemStatus: 4, mavlinkVersion: 3))),
        ("command_long", .commandLong(MAVCommandLong(targetSystem: 1, targetComponent: 1, command: 400, confirmation: 2,
                                                     param1: 1, param2: 21196, param3: 0.5, param4: -1.25,
                                                     param5: 1000, param6: 3.75, param7: 42))),
        ("command_ack_short", .commandAck(MAVCommandAck(command: 176, result: 4))),
        ("command_ack_full", .commandAck(MAVCommandAck(command: 22, result: 5, progress: 50, resultParam2: -7,
                                                       targetSystem: 1, targetComponent: 191))),
        ("set_position_target_local_ned", .setPositionTargetLocalNED(
            MAVSetPositionTargetLocalNED(targetSystem: 1, targetComponent: 1, target: sp))),
        ("position_target_local_ned", .positionTargetLocalNED(MAVPositionTargetLocalNED(target: pt))),
        ("local_position_ned", .localPositionNED(MAVLocalPositionNED(timeBootMs: 987654, x: 1.25, y: -2.5, z: -3.75,
                                                                     vx: 0.5, vy: -0.125, vz: 0.0625))),
        ("global_position_int", .globalPositionInt(MAVGlobalPositionInt(
            timeBootMs: 55555, lat: 438765432, lon: 1253245678, alt: 215000, relativeAlt: 15000,
            vx: -150, vy: 230, vz: 45, hdg: 27015))),
        ("vfr_hud", .vfrHUD(MAVVFRHUD(airspeed: 12.5, groundspeed: 11.25, alt: 215.5, climb: -0.75,
                                      heading: 270, throttle: 63))),
        ("extended_sys_state", .extendedSysState(MAVExtendedSysState(vtolState: 0, landedState: 2))),
        ("extended_sys_state_zero", .extendedSysState(MAVExtendedSysState(vtolState: 0, landedState: 0))),
        ("landing_target", .landingTarget(lt)),
        ("wind", .wind(MAVWind(direction: 250.5, speed: 8.25, speedZ: -0.5))),
        ("wind_cov", .windCov(MAVWindCov(timeUsec: 123_456_789, windX: -3.5, windY: 2.25, windZ: 0.125, varHoriz: 0.25,
                                         varVert: 0.5, windAlt: 230, horizAccuracy: 0.375, vertAccuracy: 0.625))),
        ("statustext", .statusText(MAVStatusText(severity: 4, string: "PreArm: Throttle below failsafe"))),
    ]
}

/// A message's fields under pymavlink's names, numbers as Double.
func mavPyFields(_ m: MAVLinkMessage) -> [String: Any] {
    func d<T: BinaryInteger>(_ x: T) -> Double { Double(x) }
    func f(_ x: Float) -> Double { Double(x) }
    func target(_ t: MAVLocalTarget) -> [String: Any] {
        ["time_boot_ms": d(t.timeBootMs), "x": f(t.x), "y": f(t.y), "z": f(t.z), "vx": f(t.vx), "vy": f(t.vy),
         "vz": f(t.vz), "afx": f(t.afx), "afy": f(t.afy), "afz": f(t.afz), "yaw": f(t.yaw), "yaw_rate": f(t.yawRate),
         "type_mask": d(t.typeMask), "coordinate_frame": d(t.coordinateFrame)]
    }
    switch m {
    case .heartbeat(let h):
        return ["custom_mode": d(h.customMode), "type": d(h.type), "autopilot": d(h.autopilot),
                "base_mode": d(h.baseMode), "system_status": d(h.systemStatus), "mavlink_version": d(h.mavlinkVersion)]
    case .commandLong(let c):
        return ["target_system": d(c.targetSystem), "target_component": d(c.targetComponent), "command": d(c.command),
                "confirmation": d(c.confirmation), "param1": f(c.param1), "param2": f(c.param2), "param3": f(c.param3),
                "param4": f(c.param4), "param5": f(c.param5), "param6": f(c.param6), "param7": f(c.param7)]
    case .commandAck(let a):
        return ["command": d(a.command), "result": d(a.result), "progress": d(a.progress),
                "result_param2": d(a.resultParam2), "target_system": d(a.targetSystem),
                "target_component": d(a.targetComponent)]
    case .setPositionTargetLocalNED(let s):
        var t = target(s.target)
        t["target_system"] = d(s.targetSystem)
        t["target_component"] = d(s.targetComponent)
        return t
    case .positionTargetLocalNED(let p):
        return target(p.target)
    case .localPositionNED(let p):
        return ["time_boot_ms": d(p.timeBootMs), "x": f(p.x), "y": f(p.y), "z": f(p.z),
                "vx": f(p.vx), "vy": f(p.vy), "vz": f(p.vz)]
    case .globalPositionInt(let g):
        return ["time_boot_ms": d(g.timeBootMs), "lat": d(g.lat), "lon": d(g.lon), "alt": d(g.alt),
                "relative_alt": d(g.relativeAlt), "vx": d(g.vx), "vy": d(g.vy), "vz": d(g.vz), "hdg": d(g.hdg)]
    case .vfrHUD(let v):
        return ["airspeed": f(v.airspeed), "groundspeed": f(v.groundspeed), "alt": f(v.alt), "climb": f(v.climb),
                "heading": d(v.heading), "throttle": d(v.throttle)]
    case .extendedSysState(let e):
        return ["vtol_state": d(e.vtolState), "landed_state": d(e.landedState)]
    case .landingTarget(let l):
        return ["time_usec": d(l.timeUsec), "angle_x": f(l.angleX), "angle_y": f(l.angleY),
                "distance": f(l.distance), "size_x": f(l.sizeX), "size_y": f(l.sizeY),
                "target_num": d(l.targetNum), "frame": d(l.frame), "x": f(l.x), "y": f(l.y), "z": f(l.z),
                "q": [f(l.q.0), f(l.q.1), f(l.q.2), f(l.q.3)], "type": d(l.type),
                "position_valid": d(l.positionValid)]
    case .statusText(let s):
        return ["severity": d(s.severity), "text": s.string, "id": d(s.id), "chunk_seq": d(s.chunkSeq)]
    case .wind(let w):
        return ["direction": f(w.direction), "speed": f(w.speed), "speed_z": f(w.speedZ)]
    case .windCov(let w):
        return ["time_usec": d(w.timeUsec), "wind_x": f(w.windX), "wind_y": f(w.windY), "wind_z": f(w.windZ),
                "var_horiz": f(w.varHoriz), "var_vert": f(w.varVert), "wind_alt": f(w.windAlt),
                "horiz_accuracy": f(w.horizAccuracy), "vert_accuracy": f(w.vertAccuracy)]
    case .unknown:
        return [:]
    }
}

func mavSame(_ a: Any?, _ b: Any?) -> Bool {
    if let x = a as? String, let y = b as? String { return x == y }
    if let x = a as? [Any], let y = b as? [Any] {
        return x.count == y.count && zip(x, y).allSatisfy { mavSame($0, $1) }
    }
    if let x = (a as? NSNumber)?.doubleValue, let y = (b as? NSNumber)?.doubleValue { return x == y }
    return false
}

/// Cuts a run of unsigned MAVLink 2 frames apart.
func mavSplitFrames(_ bytes: [UInt8]) -> [[UInt8]] {
    var frames: [[UInt8]] = []
    var i = 0
    while i + 12 <= bytes.count {
        let n = 12 + Int(bytes[i + 1])
        frames.append(Array(bytes[i..<min(i + n, bytes.count)]))
        i += n
    }
    return frames
}

/// Feeds frames to the link as the autopilot (system 1, component 1) would send them.
func mavFeed(_ link: inout AutopilotLink, _ messages: [MAVLinkMessage], nowNs: UInt64,
             sys: UInt8 = 1, comp: UInt8 = 1) {
    var bytes: [UInt8] = []
    for (i, m) in messages.enumerated() {
        MAVLinkFrame.append(m, sequence: UInt8(i & 0xFF), systemId: sys, componentId: comp, to: &bytes)
    }
    link.receive(bytes, nowNs: nowNs)
}

func mavPoll(_ link: inout AutopilotLink, _ nowNs: UInt64) -> [MAVLinkMessage] {
    var out: [UInt8] = []
    link.poll(nowNs: nowNs, into: &out)
    return mavPackets(out).0.map(\.message)
}

let mavMs: UInt64 = 1_000_000
let mavSecond: UInt64 = 1_000_000_000

// MARK: - Framing

@Suite struct MAVLinkFraming {
    @Test func checksumMatchesTheStandardCheckValue() {
        // CRC-16/MCRF4XX of "123456789".
        #expect(MAVLinkCRC.checksum(Array("123456789".utf8)) == 0x6F91)
    }

    @Test func everyMessageRoundTrips() {
        for (name, m) in mavVectorMessages() {
            let frame = mavFrame(m, seq: 9, sys: 3, comp: 7)
            let (packets, stats) = mavPackets(frame)
            #expect(packets.count == 1, "\(name)")
            guard let p = packets.first else { continue }
            #expect(p.message == m, "\(name)")
            #expect(p.sequence == 9 && p.systemId == 3 && p.componentId == 7 && p.messageId == m.id, "\(name)")
            #expect(frame.count == 12 + Int(p.payloadLength), "\(name)")
            #expect(!p.signed)
            #expect(stats.frames == 1 && stats.crcErrors == 0)
        }
    }

    @Test func byteAtATimeGivesTheSameAsOneBuffer() {
        var stream: [UInt8] = []
        for (i, (_, m)) in mavVectorMessages().enumerated() {
            MAVLinkFrame.append(m, sequence: UInt8(i), systemId: 1, componentId: 1, to: &stream)
        }
        var parser = MAVLinkParser()
        var one: [MAVLinkPacket] = []
        for b in stream {
            if let p = parser.push(b) { one.append(p) }
            while let p = parser.next() { one.append(p) }
        }
        #expect(one == mavPackets(stream).0)
        #expect(one.count == mavVectorMessages().count)
    }

    @Test func trailingZerosAreTrimmedAndRestored() {
        // All-zero payload: only the first byte stays.
        let zero = MAVLinkMessage.extendedSysState(MAVExtendedSysState(vtolState: 0, landedState: 0))
        #expect(mavFrame(zero).count == 13)
        #expect(mavFrame(zero)[1] == 1)
        // COMMAND_ACK without its extension fields: command and result only.
        let ack = MAVLinkMessage.commandAck(MAVCommandAck(command: 400, result: 0))
        #expect(mavFrame(ack)[1] == 2)
        #expect(mavPackets(mavFrame(ack)).0.first?.message == ack)
        // A heartbeat whose last fields are zero.
        let hb = MAVLinkMessage.heartbeat(MAVHeartbeat(customMode: 4, type: 0, autopilot: 0, baseMode: 0,
                                                       systemStatus: 0, mavlinkVersion: 0))
        #expect(mavFrame(hb)[1] == 1)
        #expect(mavPackets(mavFrame(hb)).0.first?.message == hb)
        // Zeros inside the payload are kept.
        let lp = MAVLinkMessage.localPositionNED(MAVLocalPositionNED(timeBootMs: 0, x: 0, y: 0, z: 0, vx: 0, vy: 0, vz: 2))
        #expect(mavFrame(lp)[1] == 28)
    }

    @Test func aShortPayloadIsZeroExtended() {
        // LOCAL_POSITION_NED cut after time_boot_ms and x: the rest decodes as zero.
        var f: [UInt8] = [0xFD, 8, 0, 0, 0, 1, 1, 32, 0, 0, 0x10, 0x27, 0, 0, 0x00, 0x00, 0x80, 0x3F, 0, 0]
        mavRechecksum(&f, extra: MAVLocalPositionNED.crcExtra)
        let p = mavPackets(f).0
        #expect(p.first?.message == .localPositionNED(MAVLocalPositionNED(timeBootMs: 10000, x: 1)))
    }

    @Test func aBadChecksumIsRejectedAndCounted() {
        let good = mavFrame(.heartbeat(MAVHeartbeat(customMode: 4, type: 13, autopilot: 3, baseMode: 0x81, systemStatus: 4)))
        var bad = good
        bad[12] ^= 0x20
        let (packets, stats) = mavPackets(bad + good)
        #expect(packets.count == 1)
        #expect(stats.crcErrors == 1)
        #expect(packets.first?.message == mavPackets(good).0.first?.message)
    }

    @Test func itResynchronisesAfterGarbage() {
        let frames = mavVectorMessages().prefix(4).enumerated().map { mavFrame($0.element.message, seq: UInt8($0.offset)) }
        // Noise with start markers in it, then a frame cut short: its header promises more
        // bytes than arrive, so the genuine frames behind it are read as its payload at
        // first, fail the checksum, and must be found again.
        var stream: [UInt8] = [0x00, 0x55, 0xFD, 0xFE, 0x01, 0xFD, 0x02, 0x00, 0xFF, 0x13, 0x37]
        stream += Array(frames[1].prefix(14))
        for f in frames { stream += f }
        stream += [0xFD, 0x09]   // a dangling start at the end is held, not reported
        let (packets, stats) = mavPackets(stream)
        #expect(packets.map(\.sequence) == [0, 1, 2, 3])
        #expect(packets.map(\.message) == frames.map { mavPackets($0).0[0].message })
        #expect(stats.crcErrors >= 1)
        #expect(stats.discardedBytes > 0)
    }

    @Test func signedFramesAreAcceptedWithTheirSignatureSkipped() {
        var signed = mavFrame(.heartbeat(MAVHeartbeat(customMode: 9, type: 13, autopilot: 3, baseMode: 0x81, systemStatus: 4)))
        signed[2] = MAVLinkWire.incompatSigned
        mavRechecksum(&signed, extra: MAVHeartbeat.crcExtra)
        // Link id, 48-bit timestamp, 48-bit tag: start markers inside must not confuse the parser.
        signed += [7, 0xFD, 0xFE, 0xFD, 0x01, 0x02, 0x03, 0xFD, 0x09, 0x00, 0x00, 0xFE, 0xFD]
        let next = mavFrame(.extendedSysState(MAVExtendedSysState(landedState: 2)), seq: 1)
        let (packets, stats) = mavPackets(signed + next)
        #expect(packets.count == 2)
        #expect(packets.first?.signed == true)
        #expect(packets.first?.message == .heartbeat(MAVHeartbeat(customMode: 9, type: 13, autopilot: 3, baseMode: 0x81, systemStatus: 4)))
        #expect(packets.last?.message == .extendedSysState(MAVExtendedSysState(landedState: 2)))
        #expect(stats.signedFrames == 1)
    }

    @Test func mavlink1FramesAreSkippedAndCounted() {
        // HEARTBEAT in MAVLink 1: FE len seq sys comp id payload crc.
        var v1: [UInt8] = [0xFE, 9, 0, 1, 1, 0, 4, 0, 0, 0, 2, 3, 0x51, 3, 3]
        var crc = MAVLinkCRC()
        for b in v1[1...] { crc.update(b) }
        crc.update(MAVHeartbeat.crcExtra)
        v1 += [UInt8(crc.value & 0xFF), UInt8(crc.value >> 8)]
        let next = mavFrame(.extendedSysState(MAVExtendedSysState(landedState: 1)))
        let (packets, stats) = mavPackets(v1 + next + v1)
        #expect(packets.map(\.message) == [.extendedSysState(MAVExtendedSysState(landedState: 1))])
        #expect(stats.mavlink1Skipped == 2)
        #expect(stats.frames == 1)
    }

    @Test func unknownMessagesAreFramedButNotDecoded() {
        var f: [UInt8] = [0xFD, 3, 0, 0, 5, 1, 1, 0x39, 0x30, 0x00, 0xAA, 0xBB, 0xCC, 0x12, 0x34]  // id 12345
        let next = mavFrame(.extendedSysState(MAVExtendedSysState(landedState: 2)))
        var (packets, stats) = mavPackets(f + next)
        #expect(packets.map(\.message) == [.unknown(12345), .extendedSysState(MAVExtendedSysState(landedState: 2))])
        #expect(packets.first?.sequence == 5)
        #expect(stats.unknownMessages == 1)
        // An id no message set uses is taken for noise, not for a frame.
        f[9] = 0x12
        (packets, stats) = mavPackets(f + next)
        #expect(packets.map(\.message) == [.extendedSysState(MAVExtendedSysState(landedState: 2))])
        #expect(stats.implausibleIds == 1)
    }

    @Test func unsupportedIncompatibilityFlagsAreNotTakenAsFrames() {
        var f = mavFrame(.extendedSysState(MAVExtendedSysState(landedState: 2)))
        f[2] = 0x02
        mavRechecksum(&f, extra: MAVExtendedSysState.crcExtra)
        let (packets, stats) = mavPackets(f + mavFrame(.extendedSysState(MAVExtendedSysState(landedState: 3))))
        #expect(packets.map(\.message) == [.extendedSysState(MAVExtendedSysState(landedState: 3))])
        #expect(stats.unsupportedFlags == 1)
    }

    @Test func encodingIntoReservedCapacityDoesNotReallocate() {
        var out: [UInt8] = []
        out.reserveCapacity(4096)
        let base = out.withUnsafeBufferPointer { $0.baseAddress }
        for (_, m) in mavVectorMessages() {
            MAVLinkFrame.append(m, sequence: 0, systemId: 1, componentId: 1, to: &out)
        }
        #expect(out.withUnsafeBufferPointer { $0.baseAddress } == base)
        #expect(!MAVLinkFrame.append(.unknown(30), sequence: 0, systemId: 1, componentId: 1, to: &out))
    }

    @Test func statusTextIsLimitedTo50Bytes() {
        let long = MAVStatusText(severity: 6, string: String(repeating: "x", count: 80))
        #expect(long.text.count == 50)
        let p = mavPackets(mavFrame(.statusText(long))).0
        #expect(p.first?.message == .statusText(long))
    }
}

// MARK: - The companion's link

@Suite struct AutopilotLinkBehaviour {
    @Test func heartbeatsGoOutOnceASecond() {
        var link = AutopilotLink(flavor: .ardupilot)
        var times: [UInt64] = []
        var t: UInt64 = 0
        while t <= 3 * mavSecond {
            for m in mavPoll(&link, t) {
                if case .heartbeat(let h) = m {
                    times.append(t)
                    #expect(h.type == MAVType.onboardController)
                    #expect(h.autopilot == MAVAutopilot.invalid)
                    #expect(h.systemStatus == MAVState.active)
                }
            }
            t += 10 * mavMs
        }
        #expect(times == [0, mavSecond, 2 * mavSecond, 3 * mavSecond])
    }

    @Test func aCommandIsResentUntilAcknowledged() {
        var link = AutopilotLink(flavor: .ardupilot)
        link.command(.arm, nowNs: 0)
        #expect(link.commandStatus == .waiting(.arm))
        var sent: [MAVCommandLong] = []
        func collect(_ t: UInt64) {
            for m in mavPoll(&link, t) { if case .commandLong(let c) = m { sent.append(c) } }
        }
        collect(0)
        collect(200 * mavMs)
        collect(500 * mavMs)
        #expect(sent.map(\.confirmation) == [0, 1])
        #expect(sent.allSatisfy { $0.command == MAVCmd.componentArmDisarm && $0.param1 == 1 })
        #expect(sent.allSatisfy { $0.targetSystem == 1 && $0.targetComponent == 1 })
        // An acknowledgement of another command changes nothing.
        mavFeed(&link, [.commandAck(MAVCommandAck(command: MAVCmd.doSetMode, result: 0))], nowNs: 600 * mavMs)
        #expect(link.commandStatus == .waiting(.arm))
        mavFeed(&link, [.commandAck(MAVCommandAck(command: MAVCmd.componentArmDisarm, result: 0,
                                                  targetSystem: 1, targetComponent: 191))], nowNs: 700 * mavMs)
        #expect(link.commandStatus == .accepted(.arm))
        collect(1000 * mavMs)
        collect(2000 * mavMs)
        #expect(sent.count == 2)
    }

    @Test func aCommandTimesOutAfterTheLastAttempt() {
        var link = AutopilotLink(flavor: .px4)
        link.command(.setMode(.guided), nowNs: 0)
        var confirmations: [UInt8] = []
        var timedOutAt: UInt64? = nil
        var t: UInt64 = 0
        while t <= 4 * mavSecond {
            for m in mavPoll(&link, t) { if case .commandLong(let c) = m { confirmations.append(c.confirmation) } }
            if timedOutAt == nil, link.commandStatus == .timedOut(.setMode(.guided)) { timedOutAt = t }
            t += 100 * mavMs
        }
        #expect(confirmations == [0, 1, 2, 3, 4])
        #expect(timedOutAt == 2500 * mavMs)
    }

    @Test func refusalsAndProgressAreReported() {
        var link = AutopilotLink(flavor: .ardupilot)
        link.command(.takeoff(altitudeM: 12), nowNs: 0)
        _ = mavPoll(&link, 0)
        mavFeed(&link, [.commandAck(MAVCommandAck(command: MAVCmd.navTakeoff, result: MAVResult.inProgress, progress: 10))],
                nowNs: 100 * mavMs)
        #expect(link.commandStatus == .waiting(.takeoff(altitudeM: 12)))
        // In progress: no more resends.
        #expect(!mavPoll(&link, 600 * mavMs).contains { if case .commandLong = $0 { return true } else { return false } })
        mavFeed(&link, [.commandAck(MAVCommandAck(command: MAVCmd.navTakeoff, result: MAVResult.failed))], nowNs: 700 * mavMs)
        #expect(link.commandStatus == .rejected(.takeoff(altitudeM: 12), MAVResult.failed))
        // A new command replaces the old one.
        link.command(.land, nowNs: 800 * mavMs)
        #expect(link.commandStatus == .waiting(.land))
        link.command(.setMode(.other), nowNs: 900 * mavMs)
        #expect(link.commandStatus == .rejected(.setMode(.other), MAVResult.unsupported))
    }

    @Test func commandsAreEncodedPerFlavour() {
        let ap = AutopilotLink(flavor: .ardupilot)
        let px = AutopilotLink(flavor: .px4)
        func params(_ c: MAVCommandLong?) -> [Float] {
            guard let c else { return [] }
            return [Float(c.command), c.param1, c.param2, c.param3]
        }
        #expect(params(ap.commandLong(for: .setMode(.guided))) == [176, 1, 4, 0])
        #expect(params(ap.commandLong(for: .setMode(.land))) == [176, 1, 9, 0])
        #expect(params(ap.commandLong(for: .setMode(.hold))) == [176, 1, 5, 0])
        #expect(params(ap.commandLong(for: .setMode(.returnHome))) == [176, 1, 6, 0])
        #expect(params(px.commandLong(for: .setMode(.guided))) == [176, 1, 6, 0])
        #expect(params(px.commandLong(for: .setMode(.land))) == [176, 1, 4, 6])
        #expect(params(px.commandLong(for: .setMode(.hold))) == [176, 1, 4, 3])
        #expect(params(px.commandLong(for: .setMode(.returnHome))) == [176, 1, 4, 5])
        #expect(ap.commandLong(for: .setMode(.other)) == nil)
        #expect(params(ap.commandLong(for: .arm)) == [400, 1, 0, 0])
        #expect(params(ap.commandLong(for: .disarm)) == [400, 0, 0, 0])
        #expect(ap.commandLong(for: .land)?.command == MAVCmd.navLand)
        #expect(ap.commandLong(for: .returnHome)?.command == MAVCmd.navReturnToLaunch)
        #expect(ap.commandLong(for: .takeoff(altitudeM: 12))?.param7 == 12)
        // PX4 wants the take-off altitude above mean sea level; unknown home: NaN (its default).
        #expect(px.commandLong(for: .takeoff(altitudeM: 12))?.param7.isNaN == true)
        var px2 = AutopilotLink(flavor: .px4)
        mavFeed(&px2, [.globalPositionInt(MAVGlobalPositionInt(alt: 215_000, relativeAlt: 15_000))], nowNs: 1)
        let t = px2.commandLong(for: .takeoff(altitudeM: 12))
        #expect(t?.param7 == 212)
        #expect(t?.param5.isNaN == true && t?.param6.isNaN == true)
    }

    @Test func modesAreDecodedPerFlavour() {
        func decoded(_ flavor: AutopilotFlavor, _ custom: UInt32, base: UInt8 = 0x81) -> (AutopilotMode, Bool) {
            var link = AutopilotLink(flavor: flavor)
            mavFeed(&link, [.heartbeat(MAVHeartbeat(customMode: custom, type: 13, autopilot: flavor.autopilotType,
                                                    baseMode: base, systemStatus: 4))], nowNs: 1)
            return (link.state.mode, link.state.armed)
        }
        #expect(decoded(.ardupilot, 4) == (.guided, true))
        #expect(decoded(.ardupilot, 9) == (.land, true))
        #expect(decoded(.ardupilot, 5) == (.hold, true))
        #expect(decoded(.ardupilot, 6) == (.returnHome, true))
        #expect(decoded(.ardupilot, 0) == (.other, true))
        #expect(decoded(.ardupilot, 4, base: 0x01) == (.guided, false))
        #expect(decoded(.ardupilot, 4, base: 0x80) == (.other, true))   // custom mode not flagged
        #expect(decoded(.px4, 6 << 16) == (.guided, true))
        #expect(decoded(.px4, 4 << 16 | 6 << 24) == (.land, true))
        #expect(decoded(.px4, 4 << 16 | 3 << 24) == (.hold, true))
        #expect(decoded(.px4, 4 << 16 | 5 << 24) == (.returnHome, true))
        #expect(decoded(.px4, 4 << 16 | 2 << 24) == (.other, true))
        #expect(decoded(.px4, 3 << 16) == (.other, true))
        for flavor in [AutopilotFlavor.ardupilot, .px4] {
            for mode in [AutopilotMode.guided, .land, .hold, .returnHome] {
                #expect(flavor.customMode(for: mode).map { flavor.mode(customMode: $0) } == mode)
            }
        }
    }

    @Test func setpointsCarryTheRightTypeMask() {
        var link = AutopilotLink(flavor: .px4)
        func streamed(_ t: UInt64) -> MAVSetPositionTargetLocalNED? {
            for m in mavPoll(&link, t) { if case .setPositionTargetLocalNED(let s) = m { return s } }
            return nil
        }
        #expect(streamed(0) == nil)
        link.setpoint(position: (1, 2, -3), velocity: nil, yawRad: nil, nowNs: 10 * mavMs)
        var s = streamed(250 * mavMs)
        #expect(s?.target.typeMask == 0x0DF8)
        #expect(s?.target.x == 1 && s?.target.y == 2 && s?.target.z == -3)
        #expect(s?.target.coordinateFrame == MAVFrame.localNED)
        #expect(s?.target.timeBootMs == 250)   // the link's time starts at its first call (0)
        #expect(s?.targetSystem == 1 && s?.targetComponent == 1)
        // Latest wins; streamed on every poll.
        link.setpoint(position: (1, 2, -3), velocity: nil, yawRad: 0.5, nowNs: 260 * mavMs)
        s = streamed(270 * mavMs)
        #expect(s?.target.typeMask == 0x09F8 && s?.target.yaw == 0.5)
        #expect(streamed(280 * mavMs)?.target.timeBootMs == 280)
        link.setpoint(position: nil, velocity: (0.5, 0, 0.25), yawRad: nil, nowNs: 290 * mavMs)
        s = streamed(300 * mavMs)
        #expect(s?.target.typeMask == 0x0DC7 && s?.target.vx == 0.5 && s?.target.vz == 0.25)
        link.setpoint(position: (4, 5, -6), velocity: (1, 0, 0), yawRad: nil, nowNs: 310 * mavMs)
        #expect(streamed(320 * mavMs)?.target.typeMask == 0x0DC0)
        link.setpoint(position: (4, 5, -6), velocity: (1, 0, 0), yawRad: 1, nowNs: 330 * mavMs)
        #expect(streamed(340 * mavMs)?.target.typeMask == 0x09C0)
        link.setpoint(position: nil, velocity: nil, yawRad: nil, nowNs: 350 * mavMs)
        #expect(streamed(360 * mavMs) == nil)
        link.setpoint(position: (0, 0, -1), velocity: nil, yawRad: nil, nowNs: 370 * mavMs)
        link.clearSetpoint()
        #expect(streamed(380 * mavMs) == nil)
    }

    @Test func telemetryUpdatesTheStateFromTheAutopilotOnly() {
        var link = AutopilotLink(flavor: .ardupilot)
        #expect(!link.connected(nowNs: 0))
        mavFeed(&link, [
            .heartbeat(MAVHeartbeat(customMode: 4, type: 13, autopilot: 3, baseMode: 0x81, systemStatus: 4)),
            .localPositionNED(MAVLocalPositionNED(timeBootMs: 5, x: 1, y: 2, z: -3, vx: 0.5, vy: 0, vz: -0.25)),
            .globalPositionInt(MAVGlobalPositionInt(lat: 438_765_432, lon: 1_253_245_678, alt: 215_000, relativeAlt: 15_000)),
            .vfrHUD(MAVVFRHUD(throttle: 47)),
            .extendedSysState(MAVExtendedSysState(landedState: MAVLandedState.inAir)),
            .statusText(MAVStatusText(severity: MAVSeverity.warning, string: "Test")),
        ], nowNs: mavSecond)
        let s = link.state
        #expect(s.armed && s.mode == .guided && s.customMode == 4 && s.systemStatus == 4)
        #expect(s.position == LocalNED(1, 2, -3) && s.velocity == LocalNED(0.5, 0, -0.25))
        #expect(s.positionNs == mavSecond && s.positionTimeBootMs == 5)
        #expect(s.latE7 == 438_765_432 && s.lonE7 == 1_253_245_678 && s.altMm == 215_000 && s.relativeAltMm == 15_000)
        #expect(s.throttlePercent == 47)
        #expect(s.landedState == MAVLandedState.inAir)
        #expect(s.statusTexts == 1 && s.lastStatusSeverity == MAVSeverity.warning)
        #expect(s.framesReceived == 6)
        #expect(link.connected(nowNs: 2_400 * mavMs))
        #expect(!link.connected(nowNs: 2_600 * mavMs))

        // Another system, and another component of this one (a camera), are not the autopilot.
        mavFeed(&link, [.heartbeat(MAVHeartbeat(customMode: 9, type: 13, autopilot: 3, baseMode: 0x01, systemStatus: 3))],
                nowNs: 3 * mavSecond, sys: 2)
        mavFeed(&link, [.heartbeat(MAVHeartbeat(customMode: 9, type: 30, autopilot: 8, systemStatus: 4))],
                nowNs: 3 * mavSecond, comp: 100)
        #expect(link.state.mode == .guided && link.state.armed)
        #expect(link.state.framesIgnored == 2)
        #expect(!link.connected(nowNs: 3 * mavSecond))
    }

    @Test func garbledBytesAreCounted() {
        var link = AutopilotLink(flavor: .ardupilot)
        var f = mavFrame(.heartbeat(MAVHeartbeat(customMode: 4, type: 13, autopilot: 3, baseMode: 0x81, systemStatus: 4)))
        f[11] ^= 1
        link.receive(f, nowNs: 1)
        #expect(link.state.crcErrors == 1)
        #expect(!link.state.heartbeatSeen)
    }

    @Test func pollingInSteadyStateDoesNotReallocate() {
        var link = AutopilotLink(flavor: .px4)
        var out: [UInt8] = []
        out.reserveCapacity(AutopilotLink.maxPollBytes)
        let base = out.withUnsafeBufferPointer { $0.baseAddress }
        link.setpoint(position: (1, 2, -3), velocity: (0, 0, 0), yawRad: 1, nowNs: 0)
        link.command(.arm, nowNs: 0)
        var t: UInt64 = 0
        var total = 0
        while t < 3 * mavSecond {
            out.removeAll(keepingCapacity: true)
            link.poll(nowNs: t, into: &out)
            #expect(out.count <= AutopilotLink.maxPollBytes)
            total += out.count
            t += 10 * mavMs
        }
        #expect(out.withUnsafeBufferPointer { $0.baseAddress } == base)
        #expect(total > 0)
    }
}

// MARK: - Against pymavlink

func mavPymavlinkAvailable() -> Bool {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.arguments = ["python3", "-c", "import pymavlink"]
    p.standardOutput = FileHandle.nullDevice
    p.standardError = FileHandle.nullDevice
    do { try p.run() } catch { return false }
    p.waitUntilExit()
    return p.terminationStatus == 0
}

func mavRunVectors(_ args: [String]) throws -> (status: Int32, lines: [String]) {
    let root = #filePath.split(separator: "/", omittingEmptySubsequences: false).dropLast(3).joined(separator: "/")
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.arguments = ["python3", root + "/Tests/mavlink/vectors.py"] + args
    let out = Pipe()
    p.standardOutput = out
    try p.run()
    let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    p.waitUntilExit()
    return (p.terminationStatus, text.split(separator: "\n").map(String.init))
}

// pymavlink (installed by the CI's dependencies) is an independent implementation. Where it
// is missing these tests are skipped, and the skip says why.
@Suite(.enabled(if: mavPymavlinkAvailable(), "pymavlink is not installed (pip install pymavlink)"))
struct MAVLinkAgainstPymavlink {
    @Test func framesPymavlinkEncodesDecodeFieldByField() throws {
        let (status, lines) = try mavRunVectors([])
        #expect(status == 0)
        let expected = Dictionary(uniqueKeysWithValues: mavVectorMessages().map { ($0.name, $0.message) })
        var seen = Set<String>()
        var stream: [UInt8] = []
        for line in lines {
            let parts = line.split(separator: " ").map(String.init)
            guard parts.count == 3, let seq = UInt8(parts[1]) else {
                Issue.record("unexpected line: \(line)")
                continue
            }
            let (name, frame) = (parts[0], mavBytes(parts[2]))
            seen.insert(name)
            stream += frame
            let (packets, stats) = mavPackets(frame)
            switch name {
            case "unknown_attitude":
                #expect(packets.map(\.message) == [.unknown(30)])
            case "mavlink1_heartbeat":
                #expect(packets.isEmpty)
                #expect(stats.mavlink1Skipped == 1)
            case "signed_heartbeat":
                #expect(packets.count == 1)
                #expect(packets.first?.signed == true)
                #expect(packets.first?.message == .heartbeat(MAVHeartbeat(customMode: 9, type: 13, autopilot: 3,
                                                                          baseMode: 0x81, systemStatus: 4)))
            default:
                guard let m = expected[name] else {
                    Issue.record("no expected values for \(name)")
                    continue
                }
                #expect(packets.count == 1, "\(name)")
                guard let p = packets.first else { continue }
                #expect(p.sequence == seq && p.systemId == 1 && p.componentId == 1, "\(name)")
                let got = mavPyFields(p.message)
                let want = mavPyFields(m)
                #expect(Set(got.keys) == Set(want.keys), "\(name)")
                for (k, v) in want {
                    #expect(mavSame(got[k], v), "\(name).\(k): \(String(describing: got[k])) != \(v)")
                }
                #expect(p.message == m, "\(name)")
                // And our encoder writes the very same bytes.
                #expect(mavHexString(mavFrame(m, seq: seq)) == parts[2], "\(name)")
            }
        }
        #expect(seen.isSuperset(of: expected.keys))
        #expect(seen.isSuperset(of: ["unknown_attitude", "mavlink1_heartbeat", "signed_heartbeat"]))
        // All of it back to back in one stream.
        let (all, stats) = mavPackets(stream)
        #expect(all.count == expected.count + 2)
        #expect(stats.crcErrors == 0 && stats.mavlink1Skipped == 1 && stats.signedFrames == 1)
    }

    @Test func pymavlinkDecodesOurFrames() throws {
        var cases = mavVectorMessages().map { (name: $0.name, message: $0.message) }
        // What the link itself sends: heartbeat, a command and a setpoint.
        var link = AutopilotLink(flavor: .px4)
        link.command(.setMode(.land), nowNs: 0)
        link.setpoint(position: (1.5, -2.5, -10), velocity: (0.5, 0, 0), yawRad: 0.25, nowNs: 0)
        var out: [UInt8] = []
        link.poll(nowNs: 0, into: &out)
        var sp = MAVLocalTarget()
        sp.typeMask = 0x09C0
        sp.x = 1.5; sp.y = -2.5; sp.z = -10; sp.vx = 0.5; sp.yaw = 0.25
        let linkMessages: [MAVLinkMessage] = [
            .heartbeat(MAVHeartbeat(customMode: 0, type: 18, autopilot: 8, baseMode: 0, systemStatus: 4)),
            .commandLong(MAVCommandLong(targetSystem: 1, targetComponent: 1, command: 176,
                                        param1: 1, param2: 4, param3: 6)),
            .setPositionTargetLocalNED(MAVSetPositionTargetLocalNED(targetSystem: 1, targetComponent: 1, target: sp)),
        ]
        let linkPackets = mavPackets(out).0
        #expect(linkPackets.map(\.message) == linkMessages)
        cases += linkMessages.enumerated().map { (name: "link_\($0.offset)", message: $0.element) }

        var frames = cases.prefix(mavVectorMessages().count).enumerated().map {
            mavFrame($0.element.message, seq: UInt8($0.offset), sys: 1, comp: 191)
        }
        frames += mavSplitFrames(out)
        #expect(frames.count == cases.count)
        var text = ""
        var frameOf: [String: [UInt8]] = [:]
        for (c, f) in zip(cases, frames) {
            frameOf[c.name] = f
            text += "\(c.name) \(mavHexString(f))\n"
        }
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("mavlink-frames-\(getpid()).txt").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }

        let (status, lines) = try mavRunVectors([path])
        #expect(status == 0)
        #expect(lines.count == cases.count)
        for (line, c) in zip(lines, cases) {
            let json = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] ?? [:]
            #expect(json["name"] as? String == c.name)
            #expect(json["error"] == nil, "\(c.name): \(line)")
            let frame = frameOf[c.name] ?? []
            #expect((json["seq"] as? NSNumber)?.intValue == Int(frame.count > 4 ? frame[4] : 0), "\(c.name)")
            #expect((json["sys"] as? NSNumber)?.intValue == Int(frame.count > 5 ? frame[5] : 0), "\(c.name)")
            #expect((json["comp"] as? NSNumber)?.intValue == Int(frame.count > 6 ? frame[6] : 0), "\(c.name)")
            let fields = json["fields"] as? [String: Any] ?? [:]
            let want = mavPyFields(c.message)
            #expect(Set(fields.keys) == Set(want.keys), "\(c.name)")
            for (k, v) in want {
                #expect(mavSame(fields[k], v), "\(c.name).\(k): \(String(describing: fields[k])) != \(v)")
            }
        }
    }
}
