import PlumbCore
import PlumbFlight
import PlumbHAL

/// A storage failure, described by the storage for the log.
public struct FlightLogIOError: Error, Equatable {
    public var message: String
    public init(_ message: String) { self.message = message }
}

/// Where the recorder's bytes go: a sequence of files of bounded size (PlumbLinux's
/// `RotatingFiles` on the drone, memory in tests).
public protocol FlightLogStorage {
    var isOpen: Bool { get }
    /// Bytes in the open file, header included.
    var fileBytes: Int { get }
    /// No file grows beyond this.
    var fileMaxBytes: Int { get }
    /// The number the next file will get.
    var nextSequence: UInt32 { get }
    /// Ends the open file (if any), makes room by removing the oldest, starts the next
    /// one with `header`.
    mutating func startFile(header: [UInt8]) throws(FlightLogIOError)
    mutating func append(_ bytes: [UInt8]) throws(FlightLogIOError)
    /// Starts moving what was written towards the disk, without waiting (once a second).
    mutating func writeback()
    /// Makes everything durable and closes the file (at a clean stop).
    mutating func finish()
}

/// The flight recorder: every tick and every mission event, encoded and written to the
/// storage, which it rotates so that no file exceeds its bound. Storage failures never
/// stop the flight: the first one is reported (`Notice.failed`), the records are counted
/// as lost, a new file is tried every `retryIntervalNs`, and once one works the count of
/// lost records is written to it (`Notice.resumed`). Allocates nothing per tick.
public struct FlightRecorder<Storage: FlightLogStorage> {
    /// What the caller should log: nothing, the start of a failure, or the end of one.
    public enum Notice: Equatable {
        case none
        case failed(String)
        case resumed(lostRecords: Int)
    }

    public private(set) var storage: Storage
    public private(set) var encoder: FlightRecordEncoder
    /// Wall-clock minus monotonic time, ns, to date each file (0: unknown).
    public var realtimeOffsetNs: Int64 = 0
    public private(set) var failing = false
    /// Records not written since the recorder last could write.
    public private(set) var lostRecords = 0
    public private(set) var recordsWritten = 0
    public private(set) var filesStarted = 0
    private var session: UInt32 = 0
    private var fileStartNs: UInt64 = 0
    private var failedSinceNs: UInt64 = 0
    private var retryAtNs: UInt64 = 0
    private var lastWritebackNs: UInt64 = 0
    private var recordedPlan: MissionPlan? = nil
    private var notice = Notice.none

    /// After a failure, a new file is tried this often.
    public static var retryIntervalNs: UInt64 { 10_000_000_000 }
    /// Writeback of what was written is started this often.
    public static var writebackIntervalNs: UInt64 { 1_000_000_000 }
    /// A file spans at most this long (record times are 32-bit microseconds).
    public static var maxFileSpanNs: UInt64 { 3_600_000_000_000 }

    public init(storage: Storage, rateHz: Int, software: String, board: String) {
        self.storage = storage
        encoder = FlightRecordEncoder(rateHz: rateHz, software: software, board: board)
    }

    /// Records one tick of `vehicle`, which the autopilot's `autopilot` view fed.
    public mutating func tick<Bus: I2CBus, Input: GPIOInput, Output: GPIOOutput>(
        _ vehicle: Vehicle<Bus, Input, Output>, autopilot: AutopilotView, nowNs: UInt64) -> Notice {
        tick(nowNs: nowNs, snapshot: vehicle.snapshot, autopilot: autopilot, mission: vehicle.mission,
             outputs: vehicle.outputs)
    }

    public mutating func tick(nowNs: UInt64, snapshot: SensorSnapshot, autopilot: AutopilotView, mission: Mission,
                              outputs: FlightOutputs) -> Notice {
        let fix = snapshot.gnssNew ? snapshot.gnss : nil
        let records = 1 + (fix != nil ? 1 : 0) + (outputs.command != nil ? 1 : 0)
        let planChanged = recordedPlan != mission.plan
        let need = FlightRecord.maxTickBatchBytes + (planChanged ? FlightRecord.planBytes(legs: mission.plan.legs.count) : 0)
        guard ready(nowNs: nowNs, plan: mission.plan, need: need) else {
            lostRecords += records
            return takeNotice()
        }
        encoder.clear()
        if recordedPlan != mission.plan {
            encoder.appendPlan(mission.plan)
            recordedPlan = mission.plan
        }
        encoder.appendTick(nowNs: nowNs, snapshot: snapshot, autopilot: autopilot, mission: mission, outputs: outputs)
        if let fix { encoder.appendGNSS(nowNs: nowNs, fix: fix, bias: mission.frame.bias) }
        if let c = outputs.command { encoder.appendCommand(nowNs: nowNs, c) }
        write(records: records, nowNs: nowNs)
        return takeNotice()
    }

    /// Records a mission event (drained after the tick that raised it).
    public mutating func event(_ e: MissionEvent, mission: Mission, nowNs: UInt64) -> Notice {
        guard ready(nowNs: nowNs, plan: mission.plan, need: FlightRecord.event.recordBytes) else {
            lostRecords += 1
            return takeNotice()
        }
        encoder.clear()
        encoder.appendEvent(e, mission: mission)
        write(records: 1, nowNs: nowNs)
        return takeNotice()
    }

    /// At a clean stop: makes the file durable and closes it.
    public mutating func stop() {
        if storage.isOpen { storage.finish() }
    }

    // MARK: internals

    private mutating func takeNotice() -> Notice {
        let n = notice
        notice = .none
        return n
    }

    /// True when a file is open with room for `need` more bytes, starting one if needed.
    private mutating func ready(nowNs: UInt64, plan: MissionPlan, need: Int) -> Bool {
        if failing && nowNs < retryAtNs { return false }
        if failing || !storage.isOpen || nowNs &- fileStartNs >= Self.maxFileSpanNs
            || storage.fileBytes + need > storage.fileMaxBytes {
            return startFile(nowNs: nowNs, plan: plan)
        }
        return true
    }

    private mutating func startFile(nowNs: UInt64, plan: MissionPlan) -> Bool {
        let sequence = storage.nextSequence
        if session == 0 { session = sequence }
        let realtime = realtimeOffsetNs == 0 ? 0 : UInt64(bitPattern: Int64(bitPattern: nowNs) &+ realtimeOffsetNs)
        encoder.makeHeader(sequence: sequence, session: session, baseNs: nowNs, realtimeNs: realtime)
        do throws(FlightLogIOError) {
            try storage.startFile(header: encoder.header)
            filesStarted += 1
            fileStartNs = nowNs
            lastWritebackNs = nowNs
            // Every file stands alone: the plan it was flown under comes first.
            encoder.clear()
            encoder.appendPlan(plan)
            recordedPlan = plan
            if failing { encoder.appendLost(nowNs: nowNs, durationNs: nowNs &- failedSinceNs, records: lostRecords) }
            try storage.append(encoder.bytes)
        } catch {
            fail(error, nowNs: nowNs)
            return false
        }
        if failing {
            failing = false
            notice = .resumed(lostRecords: lostRecords)
            lostRecords = 0
        }
        return true
    }

    private mutating func write(records: Int, nowNs: UInt64) {
        do throws(FlightLogIOError) {
            try storage.append(encoder.bytes)
            recordsWritten += records
        } catch {
            lostRecords += records
            fail(error, nowNs: nowNs)
            return
        }
        if nowNs &- lastWritebackNs >= Self.writebackIntervalNs {
            storage.writeback()
            lastWritebackNs = nowNs
        }
    }

    private mutating func fail(_ error: FlightLogIOError, nowNs: UInt64) {
        if !failing {
            failing = true
            failedSinceNs = nowNs
            notice = .failed(error.message)
        }
        retryAtNs = nowNs &+ Self.retryIntervalNs
    }
}
