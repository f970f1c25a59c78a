import PlumbCore
import PlumbHAL

// The config file says how to fly: the control loop, real-time behaviour, logging, the
// drivers' settings, the links, the mission source and the flight itself. Every key, with
// its default, range and documentation, is in `ConfigSchema` (ConfigSchema.swift);
// docs/config.md and Board/plumbd.toml are generated from it.

public struct LoopConfig: Equatable {
    /// Control loop rate, Hz.
    public var rateHz: Int = ConfigSchema.loopRateHz.intDefault
    /// Work budget of one tick in microseconds; a tick that takes longer is counted as
    /// an overrun. Must not exceed the period. Default: half the period (the schema's
    /// value is the one for the default rate).
    public var tickBudgetUs: Int = ConfigSchema.loopTickBudgetUs.intDefault
    /// I2C bus time that the drivers may schedule in one tick, in microseconds.
    public var busBudgetUs: Int = ConfigSchema.loopBusBudgetUs.intDefault

    public var periodNs: UInt64 { 1_000_000_000 / UInt64(rateHz) }
}

public struct RealtimeConfig: Equatable {
    /// Ask for SCHED_FIFO at `priority`; refused without CAP_SYS_NICE, which is logged.
    public var schedFifo: Bool = ConfigSchema.realtimeSchedFifo.boolDefault
    public var priority: Int = ConfigSchema.realtimePriority.intDefault
    /// mlockall so that no page fault stalls a tick.
    public var lockMemory: Bool = ConfigSchema.realtimeLockMemory.boolDefault
}

/// How the device drivers run (the wiring itself is in the board file).
public struct DeviceConfig: Equatable {
    /// GNSS navigation period asked of the receiver, ms.
    public var gnssMeasurementPeriodMs: Int = ConfigSchema.gnssMeasurementPeriodMs.intDefault
    /// Most stream bytes read from the receiver in one poll.
    public var gnssMaxBytesPerPoll: Int = ConfigSchema.gnssMaxBytesPerPoll.intDefault
    /// Drum circumference at the rope's working layer, m.
    public var drumCircumferenceM: Double = ConfigSchema.winchDrumCircumferenceM.numberDefault
    /// The fastest the drum can turn, rev/s: bounds the encoder's read interval.
    public var maxDrumSpeedRevPerS: Double = ConfigSchema.winchMaxDrumSpeedRevPerS.numberDefault
    /// True when the encoder angle decreases as rope pays out.
    public var encoderReversed: Bool = ConfigSchema.winchEncoderReversed.boolDefault
    /// Load-cell calibration: ADC counts per newton.
    public var tensionCountsPerNewton: Double = ConfigSchema.tensionCountsPerNewton.numberDefault
    /// Load-cell sample rate, samples/s (one of the NAU7802's rates).
    public var tensionSampleRateSps: Int = ConfigSchema.tensionSampleRateSps.intDefault
    /// Conversions averaged for the tare at start-up (hook empty).
    public var tensionTareSamples: Int = ConfigSchema.tensionTareSamples.intDefault
    /// SMBus words read from the smart battery per poll (voltage, current, rotation).
    public var batteryWordsPerPoll: Int = ConfigSchema.batteryWordsPerPoll.intDefault
    /// INA226 packs only: shunt resistance (ohm), full-scale current (A), capacity (Ah).
    public var shuntOhm: Double = ConfigSchema.batteryShuntOhm.numberDefault
    public var maxCurrentA: Double = ConfigSchema.batteryMaxCurrentA.numberDefault
    public var packCapacityAh: Double = ConfigSchema.batteryCapacityAh.numberDefault
    /// SBS packs only: the gauge's current and capacity unit in mA / mAh (high-current
    /// gauges scale both, e.g. 10 for a pack that reports in 10 mA units).
    public var batteryScale: Double = ConfigSchema.batterySbsScale.numberDefault
    /// Age of a GNSS solution when it is read (receiver latency), ms.
    public var gnssLatencyMs: Int = ConfigSchema.gnssLatencyMs.intDefault
}

/// The autopilot link (MAVLink 2 over UDP).
public struct AutopilotConfig: Equatable {
    /// Where the autopilot's MAVLink arrives (local address and port).
    public var listen: String = ConfigSchema.autopilotListen.stringDefault
    /// The autopilot's address; empty: answer whoever sent the last heartbeat.
    public var address: String = ConfigSchema.autopilotAddress.stringDefault
    public var systemID: Int = ConfigSchema.autopilotSystemID.intDefault
    public var componentID: Int = ConfigSchema.autopilotComponentID.intDefault
    public var targetSystem: Int = ConfigSchema.autopilotTargetSystem.intDefault
    public var targetComponent: Int = ConfigSchema.autopilotTargetComponent.intDefault
}

/// Where the flight comes from when no dispatch server sends one.
public struct MissionConfig: Equatable {
    /// A mission file (docs/mission-format.md); empty: wait for dispatch.
    public var file: String = ConfigSchema.missionFile.stringDefault
    /// Start as soon as the preflight checks pass (HIL and bench use; off in the field).
    public var autostart: Bool = ConfigSchema.missionAutostart.boolDefault
    /// Auto-start happens once per boot: this file (on tmpfs /run) says it has happened.
    public var autostartMarker: String = ConfigSchema.missionAutostartMarker.stringDefault
}

/// The dispatch link (docs/protocol.md).
public struct LinkConfig: Equatable {
    public var enabled: Bool = ConfigSchema.linkEnabled.boolDefault
    /// "udp", or "serial": COBS frames on the board's `[serial.radio]` port.
    public var transport: String = ConfigSchema.linkTransport.stringDefault
    public var droneID: Int = ConfigSchema.linkDroneID.intDefault
    public var keyFile: String = ConfigSchema.linkKeyFile.stringDefault
    public var keyID: Int = ConfigSchema.linkKeyID.intDefault
    /// During a key rotation: the key being replaced, still accepted on the way in.
    public var previousKeyFile: String = ConfigSchema.linkPreviousKeyFile.stringDefault
    public var previousKeyID: Int = ConfigSchema.linkPreviousKeyID.intDefault
    public var journalFile: String = ConfigSchema.linkJournalFile.stringDefault
    /// Local address and port to receive on.
    public var listen: String = ConfigSchema.linkListen.stringDefault
    /// The dispatch server; empty: answer whoever last sent an authentic frame.
    public var dispatch: String = ConfigSchema.linkDispatch.stringDefault
    public var telemetryHz: Double = ConfigSchema.linkTelemetryHz.numberDefault
}

public struct PlumbConfig: Equatable {
    /// Board name or path; the `--board` option overrides it.
    public var board: String? = nil
    public var loop = LoopConfig()
    public var realtime = RealtimeConfig()
    public var devices = DeviceConfig()
    public var link = LinkConfig()
    public var flight = FlightConfig()
    public var autopilot = AutopilotConfig()
    public var mission = MissionConfig()
    public var recorder = RecorderConfig()
    /// Where the camera process's sightings arrive (UDP); "" = no camera.
    public var visionListen: String = ConfigSchema.visionListen.stringDefault
    /// error, warning, notice, info or debug.
    public var logLevel: String = ConfigSchema.logLevel.stringDefault

    public init() {}

    /// Reads and validates a config document; nil (with diagnostics in `r`) on any error.
    /// Every key's default and range come from `ConfigSchema`; `r.settings` then holds
    /// each key's value as read.
    public static func read(_ r: inout ConfigReader) -> PlumbConfig? {
        typealias S = ConfigSchema
        var c = PlumbConfig()
        let board = r.string(S.board)
        c.board = board.isEmpty ? nil : board
        c.loop.rateHz = r.int(S.loopRateHz)
        let periodUs = 1_000_000 / c.loop.rateHz
        // These two defaults follow the rate (`derivedDefault` in the schema says how).
        c.loop.tickBudgetUs = r.int(S.loopTickBudgetUs, default: periodUs / 2)
        if c.loop.tickBudgetUs > periodUs {
            r.error(S.loopTickBudgetUs.name, "'loop.tick_budget_us' = \(c.loop.tickBudgetUs) is longer than the tick period (\(periodUs) us at \(c.loop.rateHz) Hz)")
        }
        c.loop.busBudgetUs = r.int(S.loopBusBudgetUs, default: min(4000, periodUs * 4 / 10))
        if c.loop.busBudgetUs > periodUs {
            r.error(S.loopBusBudgetUs.name, "'loop.bus_budget_us' = \(c.loop.busBudgetUs) is longer than the tick period (\(periodUs) us at \(c.loop.rateHz) Hz)")
        }
        c.realtime.schedFifo = r.bool(S.realtimeSchedFifo)
        c.realtime.priority = r.int(S.realtimePriority)
        c.realtime.lockMemory = r.bool(S.realtimeLockMemory)
        c.logLevel = r.string(S.logLevel)
        var d = DeviceConfig()
        d.gnssMeasurementPeriodMs = r.int(S.gnssMeasurementPeriodMs)
        d.gnssMaxBytesPerPoll = r.int(S.gnssMaxBytesPerPoll)
        d.gnssLatencyMs = r.int(S.gnssLatencyMs)
        d.drumCircumferenceM = r.double(S.winchDrumCircumferenceM)
        d.maxDrumSpeedRevPerS = r.double(S.winchMaxDrumSpeedRevPerS)
        d.encoderReversed = r.bool(S.winchEncoderReversed)
        d.tensionCountsPerNewton = r.double(S.tensionCountsPerNewton)
        d.tensionSampleRateSps = r.int(S.tensionSampleRateSps)
        d.tensionTareSamples = r.int(S.tensionTareSamples)
        d.batteryWordsPerPoll = r.int(S.batteryWordsPerPoll)
        d.batteryScale = r.double(S.batterySbsScale)
        d.shuntOhm = r.double(S.batteryShuntOhm)
        d.maxCurrentA = r.double(S.batteryMaxCurrentA)
        d.packCapacityAh = r.double(S.batteryCapacityAh)
        // Unwrapping the drum angle needs a read every half turn at full speed.
        let readIntervalS = 1.0 / Double(c.loop.rateHz)
        if d.maxDrumSpeedRevPerS * readIntervalS >= 0.5 {
            r.error(S.winchMaxDrumSpeedRevPerS.name, "'winch.max_drum_speed_rev_per_s' = \(formatFixed(d.maxDrumSpeedRevPerS, decimals: 1)): at \(c.loop.rateHz) Hz the drum would turn half a turn or more between encoder reads")
        }
        c.devices = d
        var l = LinkConfig()
        l.enabled = r.bool(S.linkEnabled)
        l.transport = r.string(S.linkTransport)
        l.droneID = r.int(S.linkDroneID)
        l.keyFile = r.string(S.linkKeyFile)
        l.keyID = r.int(S.linkKeyID)
        l.previousKeyFile = r.string(S.linkPreviousKeyFile)
        l.previousKeyID = r.int(S.linkPreviousKeyID)
        if !l.previousKeyFile.isEmpty && l.previousKeyID == l.keyID {
            r.error(S.linkPreviousKeyID.name, "'link.previous_key_id' must differ from 'link.key_id'")
        }
        l.journalFile = r.string(S.linkJournalFile)
        l.listen = r.string(S.linkListen)
        l.dispatch = r.string(S.linkDispatch)
        l.telemetryHz = r.double(S.linkTelemetryHz)
        if NetAddress.parse(l.listen) == nil {
            r.error(S.linkListen.name, "'link.listen' = \"\(l.listen)\" is not an IPv4 address with a port, e.g. \"0.0.0.0:14601\"")
        }
        if !l.dispatch.isEmpty && NetAddress.parse(l.dispatch) == nil {
            r.error(S.linkDispatch.name, "'link.dispatch' = \"\(l.dispatch)\" is not an IPv4 address with a port")
        }
        c.link = l
        var a = AutopilotConfig()
        a.listen = r.string(S.autopilotListen)
        a.address = r.string(S.autopilotAddress)
        a.systemID = r.int(S.autopilotSystemID)
        a.componentID = r.int(S.autopilotComponentID)
        a.targetSystem = r.int(S.autopilotTargetSystem)
        a.targetComponent = r.int(S.autopilotTargetComponent)
        if NetAddress.parse(a.listen) == nil {
            r.error(S.autopilotListen.name, "'autopilot.listen' = \"\(a.listen)\" is not an IPv4 address with a port, e.g. \"0.0.0.0:14540\"")
        }
        if !a.address.isEmpty && NetAddress.parse(a.address) == nil {
            r.error(S.autopilotAddress.name, "'autopilot.address' = \"\(a.address)\" is not an IPv4 address with a port")
        }
        c.autopilot = a
        c.visionListen = r.string(S.visionListen)
        if !c.visionListen.isEmpty && NetAddress.parse(c.visionListen) == nil {
            r.error(S.visionListen.name, "'vision.listen' = \"\(c.visionListen)\" is not an IPv4 address with a port, e.g. \"127.0.0.1:14600\"")
        }
        c.mission.file = r.string(S.missionFile)
        c.mission.autostart = r.bool(S.missionAutostart)
        c.mission.autostartMarker = r.string(S.missionAutostartMarker)
        c.flight = FlightConfig.read(&r)
        c.recorder = RecorderConfig.read(&r)
        r.reportUnknown()
        return r.hasErrors ? nil : c
    }
}
