import PlumbCore
import PlumbHAL

// The config file says how to fly: the control loop, real-time behaviour and logging
// now; gains, speeds, heights and reserves as the flight capabilities land. Every key
// is documented in docs/config.md; the shipped defaults are Board/plumbd.toml.

public struct LoopConfig: Equatable {
    /// Control loop rate, 10...1000 Hz (default 100).
    public var rateHz: Int = 100
    /// Work budget of one tick in microseconds; a tick that takes longer is counted as
    /// an overrun. Must not exceed the period. Default: half the period.
    public var tickBudgetUs: Int = 5000
    /// I2C bus time that the drivers may schedule in one tick, in microseconds.
    public var busBudgetUs: Int = 4000

    public var periodNs: UInt64 { 1_000_000_000 / UInt64(rateHz) }
}

public struct RealtimeConfig: Equatable {
    /// Ask for SCHED_FIFO at `priority` (1...99); refused without CAP_SYS_NICE, which is logged.
    public var schedFifo: Bool = true
    public var priority: Int = 50
    /// mlockall so that no page fault stalls a tick.
    public var lockMemory: Bool = true
}

/// How the device drivers run (the wiring itself is in the board file).
public struct DeviceConfig: Equatable {
    /// GNSS navigation period asked of the receiver, ms (25...1000; 100 = 10 Hz).
    public var gnssMeasurementPeriodMs: Int = 100
    /// Most stream bytes read from the receiver in one poll.
    public var gnssMaxBytesPerPoll: Int = 128
    /// Drum circumference at the rope's working layer, m.
    public var drumCircumferenceM: Double = 0.30
    /// The fastest the drum can turn, rev/s: bounds the encoder's read interval.
    public var maxDrumSpeedRevPerS: Double = 8
    /// True when the encoder angle decreases as rope pays out.
    public var encoderReversed: Bool = false
    /// Load-cell calibration: ADC counts per newton.
    public var tensionCountsPerNewton: Double = 1000
    /// Load-cell sample rate: 10, 20, 40, 80 or 320 samples/s.
    public var tensionSampleRateSps: Int = 80
    /// Conversions averaged for the tare at start-up (hook empty).
    public var tensionTareSamples: Int = 16
    /// SMBus words read from the smart battery per poll (voltage, current, rotation).
    public var batteryWordsPerPoll: Int = 3
    /// INA226 packs only: shunt resistance (ohm), full-scale current (A), capacity (Ah).
    public var shuntOhm: Double = 0.0005
    public var maxCurrentA: Double = 120
    public var packCapacityAh: Double = 22
    /// SBS packs only: the gauge's current and capacity unit in mA / mAh (high-current
    /// gauges scale both, e.g. 10 for a pack that reports in 10 mA units).
    public var batteryScale: Double = 1
    /// Age of a GNSS solution when it is read (receiver latency), ms.
    public var gnssLatencyMs: Int = 50
}

/// The autopilot link (MAVLink 2 over UDP).
public struct AutopilotConfig: Equatable {
    /// Where the autopilot's MAVLink arrives (local address and port).
    public var listen = "0.0.0.0:14540"
    /// The autopilot's address; empty: answer whoever sent the last heartbeat.
    public var address = "127.0.0.1:14580"
    public var systemID: Int = 1
    public var componentID: Int = 191
    public var targetSystem: Int = 1
    public var targetComponent: Int = 1
}

/// Where the flight comes from when no dispatch server sends one.
public struct MissionConfig: Equatable {
    /// A mission file (docs/mission-format.md); empty: wait for dispatch.
    public var file = ""
    /// Start as soon as the preflight checks pass (HIL and bench use; off in the field).
    public var autostart = false
}

/// The dispatch link (docs/protocol.md).
public struct LinkConfig: Equatable {
    public var enabled = false
    /// "udp", or "serial": COBS frames on the board's `[serial.radio]` port.
    public var transport = "udp"
    public var droneID: Int = 1
    public var keyFile = "/etc/plumbline/link.key"
    public var keyID: Int = 1
    /// During a key rotation: the key being replaced, still accepted on the way in.
    public var previousKeyFile = ""
    public var previousKeyID: Int = 0
    public var journalFile = "/var/lib/plumbline/link.journal"
    /// Local address and port to receive on.
    public var listen = "0.0.0.0:14601"
    /// The dispatch server; empty: answer whoever last sent an authentic frame.
    public var dispatch = ""
    public var telemetryHz: Double = 2
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
    /// error, warning, notice, info or debug.
    public var logLevel: String = "info"

    public init() {}

    /// Reads and validates a config document; nil (with diagnostics in `r`) on any error.
    public static func read(_ r: inout ConfigReader) -> PlumbConfig? {
        var c = PlumbConfig()
        c.board = r.string("board", default: "", maxLength: 256).flatMap { $0.isEmpty ? nil : $0 }
        c.loop.rateHz = r.int("loop.rate_hz", in: 10...1000, default: 100) ?? 100
        let periodUs = 1_000_000 / c.loop.rateHz
        c.loop.tickBudgetUs = r.int("loop.tick_budget_us", in: 50...100_000, default: periodUs / 2) ?? periodUs / 2
        if c.loop.tickBudgetUs > periodUs {
            r.error("loop.tick_budget_us", "'loop.tick_budget_us' = \(c.loop.tickBudgetUs) is longer than the tick period (\(periodUs) us at \(c.loop.rateHz) Hz)")
        }
        c.loop.busBudgetUs = r.int("loop.bus_budget_us", in: 100...100_000, default: min(4000, periodUs * 4 / 10)) ?? 4000
        if c.loop.busBudgetUs > periodUs {
            r.error("loop.bus_budget_us", "'loop.bus_budget_us' = \(c.loop.busBudgetUs) is longer than the tick period (\(periodUs) us at \(c.loop.rateHz) Hz)")
        }
        c.realtime.schedFifo = r.bool("realtime.sched_fifo", default: true) ?? true
        c.realtime.priority = r.int("realtime.priority", in: 1...99, default: 50) ?? 50
        c.realtime.lockMemory = r.bool("realtime.lock_memory", default: true) ?? true
        var d = DeviceConfig()
        d.gnssMeasurementPeriodMs = r.int("gnss.measurement_period_ms", in: 25...1000, default: 100) ?? 100
        d.gnssMaxBytesPerPoll = r.int("gnss.max_bytes_per_poll", in: 16...1024, default: 128) ?? 128
        d.drumCircumferenceM = r.double("winch.drum_circumference_m", in: 0.02...3, default: 0.30) ?? 0.30
        d.maxDrumSpeedRevPerS = r.double("winch.max_drum_speed_rev_per_s", in: 0.1...100, default: 8) ?? 8
        d.encoderReversed = r.bool("winch.encoder_reversed", default: false) ?? false
        d.tensionCountsPerNewton = r.double("tension.counts_per_newton", in: 0.001...1e7, default: 1000) ?? 1000
        d.tensionSampleRateSps = r.int("tension.sample_rate_sps", in: 10...320, default: 80) ?? 80
        if ![10, 20, 40, 80, 320].contains(d.tensionSampleRateSps) {
            r.error("tension.sample_rate_sps", "'tension.sample_rate_sps' = \(d.tensionSampleRateSps) is not one of 10, 20, 40, 80, 320")
        }
        d.tensionTareSamples = r.int("tension.tare_samples", in: 1...320, default: 16) ?? 16
        d.batteryWordsPerPoll = r.int("battery.words_per_poll", in: 3...12, default: 3) ?? 3
        d.shuntOhm = r.double("battery.shunt_ohm", in: 0.00001...1, default: 0.0005, decimals: 6) ?? 0.0005
        d.maxCurrentA = r.double("battery.max_current_a", in: 0.1...1000, default: 120) ?? 120
        d.packCapacityAh = r.double("battery.capacity_ah", in: 0.1...1000, default: 22) ?? 22
        d.batteryScale = r.double("battery.sbs_scale", in: 1...1000, default: 1) ?? 1
        d.gnssLatencyMs = r.int("gnss.latency_ms", in: 0...1000, default: 50) ?? 50
        // Unwrapping the drum angle needs a read every half turn at full speed.
        let readIntervalS = 1.0 / Double(c.loop.rateHz)
        if d.maxDrumSpeedRevPerS * readIntervalS >= 0.5 {
            r.error("winch.max_drum_speed_rev_per_s", "'winch.max_drum_speed_rev_per_s' = \(formatFixed(d.maxDrumSpeedRevPerS, decimals: 1)): at \(c.loop.rateHz) Hz the drum would turn half a turn or more between encoder reads")
        }
        c.devices = d
        var l = LinkConfig()
        l.enabled = r.bool("link.enabled", default: false) ?? false
        l.transport = r.choice("link.transport", ["udp", "serial"], default: "udp") ?? "udp"
        l.droneID = r.int("link.drone_id", in: 1...65535, default: 1) ?? 1
        l.keyFile = r.string("link.key_file", default: l.keyFile) ?? l.keyFile
        l.keyID = r.int("link.key_id", in: 0...255, default: 1) ?? 1
        l.previousKeyFile = r.string("link.previous_key_file", default: "") ?? ""
        l.previousKeyID = r.int("link.previous_key_id", in: 0...255, default: 0) ?? 0
        if !l.previousKeyFile.isEmpty && l.previousKeyID == l.keyID {
            r.error("link.previous_key_id", "'link.previous_key_id' must differ from 'link.key_id'")
        }
        l.journalFile = r.string("link.journal_file", default: l.journalFile) ?? l.journalFile
        l.listen = r.string("link.listen", default: l.listen, maxLength: 32) ?? l.listen
        l.dispatch = r.string("link.dispatch", default: "", maxLength: 32) ?? ""
        l.telemetryHz = r.double("link.telemetry_hz", in: 0.1...50, default: 2) ?? 2
        if NetAddress.parse(l.listen) == nil {
            r.error("link.listen", "'link.listen' = \"\(l.listen)\" is not an IPv4 address with a port, e.g. \"0.0.0.0:14601\"")
        }
        if !l.dispatch.isEmpty && NetAddress.parse(l.dispatch) == nil {
            r.error("link.dispatch", "'link.dispatch' = \"\(l.dispatch)\" is not an IPv4 address with a port")
        }
        c.link = l
        c.flight = FlightConfig.read(&r)
        var a = AutopilotConfig()
        a.listen = r.string("autopilot.listen", default: a.listen, maxLength: 32) ?? a.listen
        a.address = r.string("autopilot.address", default: a.address, maxLength: 32) ?? a.address
        a.systemID = r.int("autopilot.system_id", in: 1...255, default: a.systemID) ?? a.systemID
        a.componentID = r.int("autopilot.component_id", in: 1...255, default: a.componentID) ?? a.componentID
        a.targetSystem = r.int("autopilot.target_system", in: 1...255, default: a.targetSystem) ?? a.targetSystem
        a.targetComponent = r.int("autopilot.target_component", in: 0...255, default: a.targetComponent) ?? a.targetComponent
        if NetAddress.parse(a.listen) == nil {
            r.error("autopilot.listen", "'autopilot.listen' = \"\(a.listen)\" is not an IPv4 address with a port, e.g. \"0.0.0.0:14540\"")
        }
        if !a.address.isEmpty && NetAddress.parse(a.address) == nil {
            r.error("autopilot.address", "'autopilot.address' = \"\(a.address)\" is not an IPv4 address with a port")
        }
        c.autopilot = a
        c.mission.file = r.string("mission.file", default: "") ?? ""
        c.mission.autostart = r.bool("mission.autostart", default: false) ?? false
        c.logLevel = r.choice("log.level", ["error", "warning", "notice", "info", "debug"], default: "info") ?? "info"
        r.reportUnknown()
        return r.hasErrors ? nil : c
    }
}
