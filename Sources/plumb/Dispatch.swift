import ArgumentParser
import Foundation
import PlumbCore
import PlumbHAL
import PlumbLink
import PlumbLinux

/// `plumb dispatch serve`: a minimal dispatch console, enough to fly without the
/// operator's own server. It shows telemetry, logs every event (and acknowledges it),
/// sends commands typed on stdin, and uploads a mission file.
struct Dispatch: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Dispatch console for the drone link.",
                                                    subcommands: [Serve.self])

    struct Serve: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Listen for a drone; show telemetry and events; send commands and missions.",
            discussion: """
            Commands on stdin, one per line: start, pause, resume, abort, return, land,
            set PARAM VALUE, mission FILE, stats, quit.
            """)

        @Option(help: "Address and port to listen on.") var listen = "0.0.0.0:14600"
        @Option(help: "The drone's key file (32 bytes or 64 hex characters, mode 600).") var key: String
        @Option(help: "Key id.") var keyId = 1
        @Option(help: "The drone's id.") var droneId = 1
        @Option(help: "File keeping this console's epoch (default: KEY.epoch).") var state: String?
        @Option(help: "Upload this mission file when the drone is first heard.") var mission: String?
        @Option(help: "Stop after this many seconds (0: run until quit).") var duration: Double = 0

        func run() throws {
            guard LinkCrypto.initialize() else { throw ValidationError("libsodium failed to initialise") }
            let linkKey: LinkKey
            do {
                linkKey = try loadLinkKey(path: key, id: UInt8(clamping: keyId))
            } catch {
                throw ValidationError(describe(error))
            }
            guard let address = NetAddress.parse(listen) else { throw ValidationError("--listen: expected a.b.c.d:port") }
            let epoch = try nextEpoch(state ?? key + ".epoch")
            // Command ids start from the epoch, so a restarted console never reuses one
            // that the drone still remembers as executed.
            var ground = GroundLink(droneID: UInt16(clamping: droneId), key: linkKey, epoch: epoch,
                                    firstCommandID: epoch &* 65_536 &+ 1)
            let socket: UDPSocket
            do { socket = try UDPSocket(bind: address) } catch { throw ValidationError(describe(error)) }
            var upload: MissionUpload? = nil
            var pendingMission = mission
            var drone: NetAddress? = nil
            let loop = EventLoop(capacity: 2)
            let socketToken = loop.add(fd: socket.fd) ?? -1
            let stdinToken = loop.add(fd: 0) ?? -1
            var buf = [UInt8](repeating: 0, count: LinkCrypto.maxFrame)
            var line: [UInt8] = []
            var lastTelemetry = Date.distantPast
            var nextHeartbeatNs: UInt64 = 0
            let start = Date()
            say("listening on \(address.description) for drone \(droneId), epoch \(epoch)")
            while duration <= 0 || Date().timeIntervalSince(start) < duration {
                let now = UInt64(Date().timeIntervalSince(start) * 1e9)
                let ready = (try? loop.wait(timeoutNs: 20_000_000)) ?? 0
                if socketToken >= 0 && ready & (1 << UInt64(socketToken)) != 0 {
                    for _ in 0..<64 {
                        guard let got = try? buf.withUnsafeMutableBytes({ try socket.receive(into: $0) }) else { break }
                        let rejected = ground.stats.rejected
                        let inbound = buf.withUnsafeBytes { ground.receive(UnsafeRawBufferPointer(rebasing: $0[0..<got.count]), nowNs: now) }
                        if ground.stats.rejected == rejected { drone = got.from }
                        switch inbound {
                        case .telemetry(let t):
                            if Date().timeIntervalSince(lastTelemetry) >= 1 {
                                lastTelemetry = Date()
                                say(describeTelemetry(t))
                            }
                        case .event(let e): say("event \(e.eventID): \(describeEvent(e))")
                        case .commandAcked(let a):
                            say("command \(a.commandID): \(a.result == .accepted ? "accepted" : a.result == .rejected ? "rejected" : "unsupported")\(a.duplicate ? " (repeated ack)" : "")")
                        case .missionAcked(let id, let index, let ok):
                            upload?.acknowledge(missionID: id, index: index, accepted: ok)
                            if !ok { say("mission \(id) chunk \(index): refused by the drone") }
                            if let u = upload, u.done { say("mission \(id): every chunk acknowledged"); upload = nil }
                        case .none: break
                        }
                    }
                }
                if stdinToken >= 0 && ready & (1 << UInt64(stdinToken)) != 0 {
                    var chunk = [UInt8](repeating: 0, count: 256)
                    let n = chunk.withUnsafeMutableBytes { read(0, $0.baseAddress, 256) }
                    if n <= 0 { if duration <= 0 { break } } else { line += chunk[0..<n] }
                    while let nl = line.firstIndex(of: 0x0A) {
                        let text = String(decoding: line[..<nl], as: UTF8.self).trimmingCharacters(in: .whitespaces)
                        line.removeSubrange(...nl)
                        if text == "quit" { return }
                        if text.hasPrefix("mission ") { pendingMission = String(text.dropFirst(8)); continue }
                        if text == "stats" { say(describeStats(ground.stats)); continue }
                        if let (kind, p, v) = parseCommand(text) {
                            if let id = ground.send(kind, parameterID: p, value: v, nowNs: now) { say("command \(id) queued: \(text)") }
                        } else if !text.isEmpty {
                            say("? commands: start pause resume abort return land | set PARAM VALUE | mission FILE | stats | quit")
                        }
                    }
                }
                if let file = pendingMission, drone != nil {
                    pendingMission = nil
                    do {
                        let items = try loadMission(file)
                        upload = MissionUpload(missionID: UInt32(Date().timeIntervalSince1970) & 0x7FFF_FFFF, items: items)
                        say("mission \(file): \(items.count) item(s), \(upload?.chunkCount ?? 0) chunk(s)")
                    } catch {
                        say("mission \(file): \(error)")
                    }
                }
                guard let to = drone else { continue }
                // Once a second: the drone's dispatch-lost failsafe counts these.
                if now >= nextHeartbeatNs {
                    ground.queue(.heartbeat(timeMs: UInt32(truncatingIfNeeded: now / 1_000_000)))
                    nextHeartbeatNs = now + 1_000_000_000
                }
                for _ in 0..<32 {
                    var n = buf.withUnsafeMutableBytes { ground.nextFrame(nowNs: now, into: $0) }
                    if n == nil, var u = upload {
                        n = buf.withUnsafeMutableBytes { u.nextFrame(&ground, nowNs: now, into: $0) }
                        upload = u
                    }
                    guard let len = n else { break }
                    try? buf.withUnsafeBytes { try socket.send(UnsafeRawBufferPointer(rebasing: $0[0..<len]), to: to) }
                }
            }
        }
    }
}

func say(_ s: String) {
    let stamp = ISO8601DateFormatter().string(from: Date())
    FileHandle.standardOutput.write(Data("\(stamp) \(s)\n".utf8))
}

/// The console's own epoch: read, incremented, written and synced before use.
func nextEpoch(_ path: String) throws -> UInt32 {
    let old = (try? String(contentsOfFile: path, encoding: .utf8)).flatMap { UInt32($0.trimmingCharacters(in: .whitespacesAndNewlines)) } ?? 0
    let next = old &+ 1
    // Written to a temporary file, synced, renamed: a crash leaves the old or the new
    // epoch, never an empty file that would restart the count (and reuse nonces).
    let tmp = path + ".tmp"
    let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    guard fd >= 0 else { throw ValidationError("cannot write the epoch file \(tmp)") }
    let text = Array("\(next)\n".utf8)
    let written = text.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    let synced = fsync(fd)
    close(fd)
    guard written == text.count, synced == 0, rename(tmp, path) == 0 else {
        throw ValidationError("cannot store the epoch in \(path)")
    }
    let dir = open((path as NSString).deletingLastPathComponent.isEmpty ? "." : (path as NSString).deletingLastPathComponent, O_RDONLY)
    if dir >= 0 { fsync(dir); close(dir) }
    return next
}

func parseCommand(_ text: String) -> (CommandKind, UInt16, Float)? {
    let words = text.split(separator: " ")
    guard let first = words.first else { return nil }
    switch first {
    case "start": return (.start, 0, 0)
    case "pause": return (.pause, 0, 0)
    case "resume": return (.resume, 0, 0)
    case "abort": return (.abortDelivery, 0, 0)
    case "return": return (.returnHome, 0, 0)
    case "land": return (.landNow, 0, 0)
    case "set":
        guard words.count == 3, let p = UInt16(words[1]), let v = Float(words[2]) else { return nil }
        return (.setParameter, p, v)
    default: return nil
    }
}

func describeTelemetry(_ t: Telemetry) -> String {
    let lat = Double(t.lat1e7) * 1e-7, lon = Double(t.lon1e7) * 1e-7
    return String(format: "telemetry t=%.1fs lat=%.7f lon=%.7f alt=%.1fm vD=%.2fm/s bat=%d%% %.2fV %dC state=%d rope=%.3fm tension=%.1fN health=0x%04x",
                  Double(t.timeMs) / 1000, lat, lon, Double(t.altitudeDm) / 10, Double(t.velDCmps) / 100,
                  Int(t.batteryPct), Double(t.voltage10mV) / 100, Int(t.temperatureC), Int(t.missionState),
                  Double(t.winchLengthMm) / 1000, Double(t.tensionDN) / 10, Int(t.healthBits))
}

func describeEvent(_ e: LinkEvent) -> String {
    switch e.kind {
    case .stateChange: return "state \(e.a >> 8 & 0xFF) -> \(e.a & 0xFF) at t=\(e.timeMs) ms"
    case .deliveryConfirmed:
        return String(format: "delivered parcel %u at %.7f, %.7f, t=%u ms", e.a, Double(e.b) * 1e-7, Double(e.c) * 1e-7, e.timeMs)
    case .fault: return "fault \(e.a) at t=\(e.timeMs) ms"
    }
}

func describeStats(_ s: LinkStats) -> String {
    "frames in \(s.framesIn) (accepted \(s.accepted), rejected \(s.rejected): auth \(s.authenticationFailed), replay \(s.replayed), version \(s.badVersion), drone \(s.wrongDrone), key \(s.unknownKey), short \(s.truncated)), out \(s.framesOut), retransmitted \(s.retransmissions), rtt \(s.rttUs / 1000) ms"
}

/// A mission file: `[item.N]` tables with kind ("waypoint", "pad", "station"), lat, lon
/// (degrees), height_m, and for stations drop_m and parcel.
func loadMission(_ path: String) throws -> [MissionItem] {
    let text = try String(contentsOfFile: path, encoding: .utf8)
    let doc: TOMLDocument
    do { doc = try TOMLDocument.parse(text) } catch { throw ValidationError(error.formatted(file: path)) }
    var r = ConfigReader(doc)
    var items: [MissionItem] = []
    let names = doc.childTables(of: "item").sorted { (Int($0) ?? 0) < (Int($1) ?? 0) }
    for n in names {
        let k = "item." + n
        let kind = r.choice(k + ".kind", ["waypoint", "pad", "station", "home", "origin"]) ?? "waypoint"
        let lat = r.double(k + ".lat", in: -90...90, decimals: 7) ?? 0
        let lon = r.double(k + ".lon", in: -180...180, decimals: 7) ?? 0
        let h = r.double(k + ".height_m", in: -100...3000) ?? 0
        let drop = r.double(k + ".drop_m", in: 0...6000, default: 0) ?? 0
        let parcel = r.integer(k + ".parcel", in: 0...Int64(UInt32.max), default: 0) ?? 0
        items.append(MissionItem(kind: kind == "pad" ? .pad : kind == "station" ? .station : kind == "home" ? .home : kind == "origin" ? .origin : .waypoint,
                                 lat1e7: Int32((lat * 1e7).rounded()), lon1e7: Int32((lon * 1e7).rounded()),
                                 heightDm: Int16((h * 10).rounded()), dropDm: UInt16((drop * 10).rounded()),
                                 parcelID: UInt32(parcel)))
    }
    r.reportUnknown()
    if r.hasErrors { throw ValidationError(r.diagnostics.map { $0.formatted(file: path) }.joined(separator: "\n")) }
    return items
}
