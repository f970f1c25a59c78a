import PlumbVehicle
import PlumbCore
import PlumbDevices
import PlumbFlight
import PlumbHAL
import PlumbLink
import PlumbLinux

/// The dispatch link inside the daemon: the sans-I/O DroneLink, its journal and its
/// UDP socket. Commands are decided once and the decision journalled before it is
/// acknowledged; events are journalled before they are first sent.
struct LinkRuntime {
    var link: DroneLink
    let journal: LinkJournal
    /// UDP (the default), or a serial radio carrying COBS frames with 0x00 delimiters.
    enum Transport {
        case udp(UDPSocket)
        case serial(LinuxSerialPort)

        var fd: Int32 {
            switch self {
            case .udp(let s): return s.fd
            case .serial(let p): return p.fd
            }
        }
    }

    let transport: Transport
    var framer = COBSStreamDecoder(maxEncodedFrame: COBS.maxEncodedCount(LinkCrypto.maxFrame))
    var cobs = [UInt8](repeating: 0, count: COBS.maxEncodedCount(LinkCrypto.maxFrame) + 1)
    let dispatch: NetAddress?
    var lastSender: NetAddress? = nil
    /// The frame that carried the newest command (journalled with its decision).
    var lastCommandFrame: (epoch: UInt32, counter: UInt32) = (0, 0)
    let telemetryEveryTicks: UInt64
    var rx: [UInt8]
    var tx: [UInt8]
    var startNs: UInt64
    var mission = MissionAssembler()
    /// What arrived since the last tick, acted on at the tick boundary (so that the flight
    /// sees a command or a heartbeat at a tick, never in the middle of one).
    var pendingCommands: [Command] = []
    var heardHeartbeat = false
    var missionComplete = false
    /// A dispatch mission that arrived while a flight was under way: flown after it.
    var deferredPlan: MissionPlan? = nil
    static let maxPendingCommands = 8

    enum StartFailure { case config(String), unavailable(String) }

    static func start(config: LinkConfig, radio: SerialPortSpec?, rateHz: Int, nowNs: UInt64, log: Log) -> (LinkRuntime?, StartFailure?) {
        guard LinkCrypto.initialize() else { return (nil, .unavailable("libsodium failed to initialise")) }
        let key: LinkKey
        do {
            key = try loadLinkKey(path: config.keyFile, id: UInt8(config.keyID))
        } catch {
            return (nil, .config(describe(error)))
        }
        var previous: LinkKey? = nil
        if !config.previousKeyFile.isEmpty {
            do {
                previous = try loadLinkKey(path: config.previousKeyFile, id: UInt8(config.previousKeyID))
            } catch {
                return (nil, .config(describe(error)))
            }
        }
        let journal: LinkJournal
        do {
            journal = try LinkJournal(path: config.journalFile)
        } catch {
            return (nil, .unavailable(describe(error)))
        }
        if journal.truncatedBytes > 0 {
            log.warning("link journal: cut \(journal.truncatedBytes) byte(s) of a torn record at its end")
        }
        let epoch: UInt32
        do {
            epoch = try journal.beginEpoch()
        } catch {
            return (nil, .unavailable(describe(error)))
        }
        guard let listen = NetAddress.parse(config.listen) else { return (nil, .config("link.listen is invalid")) }
        let transport: Transport
        var where_ = listen.description
        if config.transport == "serial" {
            guard let radio else {
                return (nil, .config("link.transport = \"serial\" needs a [serial.radio] port in the board file"))
            }
            do {
                transport = .serial(try LinuxSerialPort(path: radio.device, baud: radio.baud))
            } catch {
                return (nil, .unavailable("link: " + describe(error)))
            }
            where_ = "\(radio.device) at \(radio.baud) baud"
        } else {
            do {
                transport = .udp(try UDPSocket(bind: listen))
            } catch {
                return (nil, .unavailable("link: " + describe(error)))
            }
        }
        var link = DroneLink(droneID: UInt16(config.droneID), key: key, previousKey: previous, epoch: epoch)
        for c in journal.executedCommands { link.restoreExecuted(c.id, result: c.result) }
        if let f = journal.lastCommandFrame { link.restoreInboundWindow(epoch: f.epoch, counter: f.counter) }
        if journal.skippedBytes > 0 {
            log.warning("link journal: skipped \(journal.skippedBytes) damaged byte(s) between records")
        }
        let every = UInt64(max(1, Int((Double(rateHz) / config.telemetryHz).rounded())))
        var rt = LinkRuntime(link: link, journal: journal, transport: transport,
                             dispatch: config.dispatch.isEmpty ? nil : NetAddress.parse(config.dispatch),
                             telemetryEveryTicks: every,
                             rx: [UInt8](repeating: 0, count: LinkCrypto.maxFrame),
                             tx: [UInt8](repeating: 0, count: LinkCrypto.maxFrame), startNs: nowNs)
        rt.pendingCommands.reserveCapacity(LinkRuntime.maxPendingCommands)
        log.notice("dispatch link: drone \(config.droneID), key \(config.keyID), epoch \(epoch), listening on \(where_), \(journal.pendingEvents.count) unacknowledged event(s) from before")
        // The start itself is a must-not-lose event (255 = off → 0 = idle).
        do {
            _ = try journal.record(timeMs: 0, kind: .stateChange, a: 0xFF00)
        } catch {
            log.error(describe(error))
        }
        rt.submitPending(nowNs: nowNs)
        return (rt, nil)
    }

    /// A mission event that dispatch must not miss (journalled, then sent until acknowledged):
    /// each change of phase (a = phase, b = leg, c = note) and each delivery (a = leg).
    mutating func missionEvent(_ e: MissionEvent, phaseChanged: Bool, previous: MissionPhase, plan: MissionPlan, nowNs: UInt64, log: Log) {
        let timeMs = UInt32(truncatingIfNeeded: (e.timeNs &- startNs) / 1_000_000)
        do {
            if phaseChanged {
                _ = try journal.record(timeMs: timeMs, kind: .stateChange, a: UInt32(previous.rawValue) << 8 | UInt32(e.phase.rawValue),
                                       b: Int32(truncatingIfNeeded: e.leg), c: Int32(e.note.rawValue))
            }
            if e.note == .delivered {
                // The parcel and where it was delivered (the leg's target).
                let leg = e.leg < plan.legs.count ? plan.legs[e.leg] : nil
                _ = try journal.record(timeMs: timeMs, kind: .deliveryConfirmed, a: leg?.parcelID ?? 0,
                                       b: Int32((leg?.target.latDeg ?? 0) * 1e7), c: Int32((leg?.target.lonDeg ?? 0) * 1e7))
            }
        } catch {
            log.error(describe(error) + "; mission event not journalled")
        }
        submitPending(nowNs: nowNs)
    }

    /// Hands the journal's unacknowledged events to the link, as many as it takes.
    mutating func submitPending(nowNs: UInt64) {
        for e in journal.pendingEvents where link.pendingEventCount < DroneLink.maxPendingEvents {
            if !link.submitEvent(e, nowNs: nowNs) { break }
        }
    }

    /// Drains the socket or the serial port (bounded) and acts on what authenticated.
    mutating func readable(nowNs: UInt64, log: Log) {
        if case .serial(let port) = transport {
            for _ in 0..<8 {
                var n = 0
                cobs.withUnsafeMutableBytes { b in
                    n = (try? port.read(into: UnsafeMutableRawBufferPointer(rebasing: b[0..<256]))) ?? 0
                }
                if n <= 0 { return }
                for i in 0..<n {
                    let byte = cobs[i]
                    guard let len = rx.withUnsafeMutableBytes({ framer.feed(byte, into: $0) }) else { continue }
                    let inbound = rx.withUnsafeBytes { link.receive(UnsafeRawBufferPointer(rebasing: $0[0..<len]), nowNs: nowNs) }
                    handle(inbound, nowNs: nowNs, log: log)
                }
            }
            return
        }
        guard case .udp(let socket) = transport else { return }
        for _ in 0..<32 {
            let r = socket.receive(into: &rx)
            guard case .datagram(let count, let from) = r else {
                if case .none = r { return }
                continue
            }
            let rejectedBefore = link.stats.rejected
            let inbound = rx.withUnsafeBytes { link.receive(UnsafeRawBufferPointer(rebasing: $0[0..<count]), nowNs: nowNs) }
            if link.stats.rejected == rejectedBefore { lastSender = from }
            handle(inbound, nowNs: nowNs, log: log)
        }
    }

    mutating func handle(_ inbound: DroneLink.Inbound, nowNs: UInt64, log: Log) {
        switch inbound {
        case .none:
            return
        case .command(let c):
            // Decided at the next tick; a retry that arrives before then is the same command.
            if pendingCommands.contains(where: { $0.commandID == c.commandID }) { return }
            if pendingCommands.count < LinkRuntime.maxPendingCommands {
                pendingCommands.append(c)
            }   // else: not acknowledged, so dispatch retries it
            lastCommandFrame = link.opener.lastAccepted ?? (0, 0)
        case .heartbeat:
            heardHeartbeat = true
        case .eventAcked(let id):
            do {
                try journal.acknowledged(eventID: id)
            } catch {
                log.error(describe(error))
            }
            submitPending(nowNs: nowNs)
        case .missionChunk(let id, let index, let count, let n):
            var items: [MissionItem] = []
            for i in 0..<n { if let item = link.chunkItem(i) { items.append(item) } }
            let wasComplete = mission.complete && mission.missionID == id
            let ok = items.count == n && mission.accept(missionID: id, index: index, count: count, items: items)
            link.acknowledgeMissionChunk(id, index: index, accepted: ok)
            if !ok {
                log.warning("mission \(id) chunk \(index) of \(count): refused (malformed or larger than the mission store)")
            } else if mission.complete && !wasComplete {
                log.notice("mission \(id) received: \(mission.items.count) item(s) in \(count) chunk(s)")
                missionComplete = true
            }
        }
    }

    /// At a tick boundary: what dispatch sent since the last tick reaches the flight. A
    /// command is decided by the flight's state, journalled, then acknowledged.
    mutating func applyInbound(to flight: inout Mission, nowNs: UInt64, log: Log) {
        if heardHeartbeat {
            heardHeartbeat = false
            flight.dispatchHeard(nowNs: nowNs)
        }
        if missionComplete {
            missionComplete = false
            let id = mission.missionID ?? 0
            let d = DispatchMission(items: mission.items)
            if let p = d.plan {
                if flight.replacePlan(p) {
                    deferredPlan = nil
                    log.notice("mission \(id): \(p.legs.count) leg(s)\(p.returnHome ? ", then home" : ", one way")\(p.homeAtStart ? " (home: the take-off point)" : ""); waiting for start")
                } else {
                    deferredPlan = p
                    log.warning("mission \(id) arrived during a flight: it is flown after this one ends")
                }
            } else {
                log.error("mission \(id) refused: \(d.problem)")
                journalFault(code: 1, b: Int32(truncatingIfNeeded: id), nowNs: nowNs, log: log)
            }
        }
        if let p = deferredPlan, flight.phase == .idle || flight.phase == .done, flight.replacePlan(p) {
            deferredPlan = nil
            log.notice("deferred mission: \(p.legs.count) leg(s); waiting for start")
        }
        for c in pendingCommands {
            let (result, why) = DispatchMission.execute(c, on: &flight, nowNs: nowNs)
            do {
                try journal.executed(commandID: c.commandID, result: result, frameEpoch: lastCommandFrame.epoch,
                                     frameCounter: lastCommandFrame.counter)
            } catch {
                log.error(describe(error) + "; command \(c.commandID) not acknowledged")
                continue
            }
            link.completeCommand(c.commandID, result: result)
            log.notice("command \(c.commandID) (\(name(c.kind))): " + (result == .accepted ? "accepted" : (result == .rejected ? "rejected: " : "unsupported: ") + why))
        }
        pendingCommands.removeAll(keepingCapacity: true)
    }

    /// A fault dispatch must see (code 1: a mission refused, b = its id).
    mutating func journalFault(code: UInt32, b: Int32, nowNs: UInt64, log: Log) {
        do {
            _ = try journal.record(timeMs: UInt32(truncatingIfNeeded: (nowNs &- startNs) / 1_000_000), kind: .fault, a: code, b: b)
        } catch {
            log.error(describe(error) + "; fault event not journalled")
        }
        submitPending(nowNs: nowNs)
    }

    /// Telemetry at its rate, then every frame that is due (bounded).
    mutating func tick(_ n: UInt64, nowNs: UInt64, devices: BoardDevices, missionPhase: UInt8 = 0, log: Log) {
        if link.sealer.exhausted {
            // 2^32 frames in one epoch: persist a new one before sealing anything more.
            do {
                link.startEpoch(try journal.beginEpoch())
            } catch {
                log.error(describe(error) + "; the link cannot send until a new epoch is stored")
                return
            }
        }
        if n > 0 && n % (telemetryEveryTicks * 120) == 0 {
            let st = link.stats
            // Built in place: this line comes every 12 s in steady flight and must not allocate.
            let loss = link.opener.lossEstimate * 100
            let pending = link.pendingEventCount
            log.line(.info) { l in
                l.text("link: in "); l.int(st.framesIn)
                l.text(" (rejected "); l.int(st.rejected)
                l.text(": auth "); l.int(st.authenticationFailed)
                l.text(", replay "); l.int(st.replayed)
                l.text(", version "); l.int(st.badVersion)
                l.text(", drone "); l.int(st.wrongDrone)
                l.text(", key "); l.int(st.unknownKey)
                l.text(", short "); l.int(st.truncated)
                l.text("), out "); l.int(st.framesOut)
                l.text(", retransmitted "); l.int(st.retransmissions)
                l.text(", rtt "); l.int(st.rttUs / 1000)
                l.text(" ms, inbound loss "); l.fixed(loss, decimals: 1)
                l.text(" %, "); l.int(pending)
                l.text(" event(s) unacknowledged")
            }
        }
        if n % telemetryEveryTicks == 0 {
            var t = telemetry(nowNs: nowNs, devices: devices)
            t.missionState = missionPhase
            link.setTelemetry(t)
        }
        if case .serial(let port) = transport {
            for _ in 0..<16 {
                guard let len = tx.withUnsafeMutableBytes({ link.nextFrame(nowNs: nowNs, into: $0) }) else { return }
                // COBS-encode and delimit; a frame the radio cannot take now is dropped
                // (commands and events are retransmitted, telemetry is replaced anyway).
                var encodedCount: Int? = nil
                tx.withUnsafeBytes { t in
                    cobs.withUnsafeMutableBytes { c in
                        encodedCount = try? COBS.encode(UnsafeRawBufferPointer(rebasing: t[0..<len]), into: c)
                    }
                }
                guard let e = encodedCount else { continue }
                cobs[e] = 0
                let written = cobs.withUnsafeBytes { (try? port.write(UnsafeRawBufferPointer(rebasing: $0[0..<(e + 1)]))) ?? 0 }
                if written < e + 1 { return }
            }
            return
        }
        guard case .udp(let socket) = transport, let to = dispatch ?? lastSender else { return }
        for _ in 0..<16 {
            guard let len = tx.withUnsafeMutableBytes({ link.nextFrame(nowNs: nowNs, into: $0) }) else { return }
            var sendFailed = false
            tx.withUnsafeBytes { b in
                do throws(IOError) {
                    try socket.send(UnsafeRawBufferPointer(rebasing: b[0..<len]), to: to)
                } catch {
                    sendFailed = true
                }
            }
            if sendFailed { return }
        }
    }

    func telemetry(nowNs: UInt64, devices: BoardDevices) -> Telemetry {
        var t = Telemetry()
        t.timeMs = UInt32(truncatingIfNeeded: (nowNs &- startNs) / 1_000_000)
        var health: UInt16 = 0
        if let b = devices.battery {
            t.batteryPct = UInt8(clamping: b.reading.stateOfChargePct)
            t.voltage10mV = UInt16(clamping: Int((b.reading.voltageV * 100).rounded()))
            t.temperatureC = Int8(clamping: Int(b.reading.temperatureC.rounded()))
            if b.health.state(at: nowNs) != .ok { health |= 1 << 0 }
        } else if let m = devices.batteryMonitor {
            if let r = m.reading {
                t.batteryPct = UInt8(clamping: Int(r.stateOfChargePct.rounded()))
                t.voltage10mV = UInt16(clamping: Int((r.voltageV * 100).rounded()))
            }
            if m.health.state(at: nowNs) != .ok { health |= 1 << 0 }
        } else {
            health |= 1 << 0   // no battery reading at all
        }
        if let g = devices.gnss {
            if let p = g.latest {
                t.lat1e7 = p.lat1e7
                t.lon1e7 = p.lon1e7
                t.velNCmps = Int16(clamping: Int(p.velNMmps / 10))
                t.velECmps = Int16(clamping: Int(p.velEMmps / 10))
                t.velDCmps = Int16(clamping: Int(p.velDMmps / 10))
                t.headingCdeg = UInt16(clamping: Int(p.headMot1e5 / 1000))
            }
            if g.health.state(at: nowNs) != .ok { health |= 1 << 1 }
        }
        if let e = devices.encoder {
            if let r = e.reading { t.winchLengthMm = UInt16(clamping: Int((r.ropeOutM * 1000).rounded())) }
            if e.health.state(at: nowNs) != .ok { health |= 1 << 2 }
        }
        if let c = devices.tension {
            if let r = c.reading { t.tensionDN = UInt16(clamping: Int((r.tensionN * 10).rounded())) }
            if c.health.state(at: nowNs) != .ok { health |= 1 << 3 }
        }
        t.healthBits = health
        return t
    }

    func name(_ k: CommandKind) -> String {
        switch k {
        case .start: return "start"
        case .pause: return "pause"
        case .resume: return "resume"
        case .abortDelivery: return "abort delivery"
        case .returnHome: return "return"
        case .landNow: return "land now"
        case .setParameter: return "set parameter"
        }
    }
}
