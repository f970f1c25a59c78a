import PlumbCore

/// Every key of the plumbd config file, in one table: type, default, range or choices,
/// unit, whether it may change in flight, and one line of documentation. The readers
/// (`PlumbConfig.read`, `FlightConfig.read`) take each key's default and range from
/// here; `plumbd --print-default-config` writes the default file (Board/plumbd.toml)
/// from it, and `plumb config docs` the reference (docs/config.md).
///
/// Tunable keys are the ones the running daemon can take on at a tick boundary when the
/// file is reloaded (SIGHUP): the flight's own numbers and policies, read by the mission
/// on every tick, and the log level. Everything that sizes or opens something at
/// start-up (the loop, the drivers, the sockets, the mission file) applies at start-up only.
public enum ConfigSchema {
    public static let board = ConfigKey.string("board", "",
        "The board file: a name looked up in the board directories, or a path; \"\": none. --board overrides it.")

    public static let loopRateHz = ConfigKey.integer("loop.rate_hz", 100, 10...1000, unit: "Hz",
        "Control loop rate.")
    public static let loopTickBudgetUs = ConfigKey.integer("loop.tick_budget_us", 5000, 50...100_000, unit: "µs",
        derivedDefault: "half the period",
        "Work allowed in one tick; a tick that takes longer is counted as over budget.")
    public static let loopBusBudgetUs = ConfigKey.integer("loop.bus_budget_us", 4000, 100...100_000, unit: "µs",
        derivedDefault: "40 % of the period, at most 4000",
        "I2C bus time the device polls may use in one tick, on each bus.")

    public static let realtimeSchedFifo = ConfigKey.boolean("realtime.sched_fifo", true,
        "Ask for SCHED_FIFO at realtime.priority (needs CAP_SYS_NICE; a refusal is logged).")
    public static let realtimePriority = ConfigKey.integer("realtime.priority", 50, 1...99,
        "The SCHED_FIFO priority.")
    public static let realtimeLockMemory = ConfigKey.boolean("realtime.lock_memory", true,
        "mlockall, so that no page fault stalls a tick (a refusal is logged).")

    public static let logLevel = ConfigKey.string("log.level", "info",
        choices: ["error", "warning", "notice", "info", "debug"], tunable: true,
        "The lowest priority that is logged.")

    public static let gnssMeasurementPeriodMs = ConfigKey.integer("gnss.measurement_period_ms", 100, 25...1000, unit: "ms",
        "Navigation period asked of the u-blox receiver (100 ms = 10 Hz).")
    public static let gnssMaxBytesPerPoll = ConfigKey.integer("gnss.max_bytes_per_poll", 128, 16...1024, unit: "bytes",
        "Most bytes of the receiver's stream read in one poll: bounds a poll's bus time.")
    public static let gnssLatencyMs = ConfigKey.integer("gnss.latency_ms", 50, 0...1000, unit: "ms",
        "Age of a solution when the driver reads it; keep it well below 700 (stale).")

    public static let winchDrumCircumferenceM = ConfigKey.number("winch.drum_circumference_m", 0.30, 0.02...3, unit: "m",
        "Drum circumference at the rope's working layer: rope out = drum turns × this.")
    public static let winchMaxDrumSpeedRevPerS = ConfigKey.number("winch.max_drum_speed_rev_per_s", 8, 0.1...100, unit: "rev/s",
        "The fastest the drum turns; under half a turn per tick (the encoder is read every tick).")
    public static let winchEncoderReversed = ConfigKey.boolean("winch.encoder_reversed", false,
        "True when the encoder angle decreases as rope pays out.")

    public static let tensionCountsPerNewton = ConfigKey.number("tension.counts_per_newton", 1000, 0.001...10_000_000, unit: "counts/N",
        "Load-cell calibration: ADC counts per newton of rope tension.")
    public static let tensionSampleRateSps = ConfigKey.integer("tension.sample_rate_sps", 80, 10...320,
        choices: [10, 20, 40, 80, 320], unit: "samples/s",
        "NAU7802 conversion rate.")
    public static let tensionTareSamples = ConfigKey.integer("tension.tare_samples", 16, 1...320,
        "Conversions averaged at start-up to find zero tension (the hook must be empty).")

    public static let batteryWordsPerPoll = ConfigKey.integer("battery.words_per_poll", 3, 3...12,
        "Smart battery: SMBus words per poll (voltage, current, then the others in rotation).")
    public static let batterySbsScale = ConfigKey.number("battery.sbs_scale", 1, 1...1000, unit: "mA, mAh",
        "Smart battery: the gauge's unit of current and capacity (10: it reports in 10 mA, 10 mAh).")
    public static let batteryShuntOhm = ConfigKey.number("battery.shunt_ohm", 0.0005, 0.00001...1, decimals: 6, unit: "Ω",
        "INA226: shunt resistance.")
    public static let batteryMaxCurrentA = ConfigKey.number("battery.max_current_a", 120, 0.1...1000, unit: "A",
        "INA226: the largest current to measure (resolution: this / 32768 per count).")
    public static let batteryCapacityAh = ConfigKey.number("battery.capacity_ah", 22, 0.1...1000, unit: "Ah",
        "INA226: pack capacity; the charge is counted down from 100 % at start-up.")

    public static let linkEnabled = ConfigKey.boolean("link.enabled", false,
        "Run the dispatch link (docs/protocol.md).")
    public static let linkTransport = ConfigKey.string("link.transport", "udp", choices: ["udp", "serial"],
        "udp: datagrams on listen and dispatch; serial: COBS frames on the board's [serial.radio].")
    public static let linkDroneID = ConfigKey.integer("link.drone_id", 1, 1...65535,
        "This drone's id in every frame; frames for another id are dropped.")
    public static let linkKeyFile = ConfigKey.string("link.key_file", "/etc/plumbline/link.key",
        "The drone's 32-byte key (raw, or 64 hexadecimal characters); mode 600 or stricter.")
    public static let linkKeyID = ConfigKey.integer("link.key_id", 1, 0...255,
        "The key's id, sent in every frame; raise it at each key rotation.")
    public static let linkPreviousKeyFile = ConfigKey.string("link.previous_key_file", "",
        "During a key rotation: the key being replaced, still accepted inbound; \"\": none.")
    public static let linkPreviousKeyID = ConfigKey.integer("link.previous_key_id", 0, 0...255,
        "The previous key's id; not key_id.")
    public static let linkJournalFile = ConfigKey.string("link.journal_file", "/var/lib/plumbline/link.journal",
        "Journal of epochs, unacknowledged events and executed commands (fsync'd).")
    public static let linkListen = ConfigKey.string("link.listen", "0.0.0.0:14601", maxLength: 32,
        "Where frames from dispatch arrive (UDP), a.b.c.d:port.")
    public static let linkDispatch = ConfigKey.string("link.dispatch", "", maxLength: 32,
        "The dispatch server, a.b.c.d:port; \"\": whoever last sent an authentic frame.")
    public static let linkTelemetryHz = ConfigKey.number("link.telemetry_hz", 2, 0.1...50, unit: "Hz",
        "Telemetry frames per second (62 bytes each).")

    public static let autopilotFlavor = ConfigKey.string("autopilot.flavor", "ardupilot", choices: ["ardupilot", "px4"],
        "The autopilot's firmware: ardupilot (GUIDED mode) or px4 (OFFBOARD mode).")
    public static let autopilotListen = ConfigKey.string("autopilot.listen", "0.0.0.0:14540", maxLength: 32,
        "Where the autopilot's MAVLink 2 arrives (UDP), a.b.c.d:port.")
    public static let autopilotAddress = ConfigKey.string("autopilot.address", "127.0.0.1:14580", maxLength: 32,
        "Where MAVLink is sent, a.b.c.d:port; \"\": the sender of the first datagram.")
    public static let autopilotSystemID = ConfigKey.integer("autopilot.system_id", 1, 1...255,
        "plumbd's own MAVLink system id.")
    public static let autopilotComponentID = ConfigKey.integer("autopilot.component_id", 191, 1...255,
        "plumbd's own MAVLink component id (191: onboard computer).")
    public static let autopilotTargetSystem = ConfigKey.integer("autopilot.target_system", 1, 1...255,
        "The autopilot's system id; frames from other systems are ignored.")
    public static let autopilotTargetComponent = ConfigKey.integer("autopilot.target_component", 1, 0...255,
        "The autopilot's component id; 0: any component of target_system.")

    public static let visionListen = ConfigKey.string("vision.listen", "",
        "Where the camera process's sightings arrive (UDP, e.g. 127.0.0.1:14600; docs/vision.md); \"\": no camera.")
    public static let visionMaxLatencyS = ConfigKey.number("vision.max_latency_s", 0.3, 0.02...1, unit: "s", tunable: true,
        "A sighting taken longer ago than this when it arrives is dropped.")
    public static let visionHoldS = ConfigKey.number("vision.hold_s", 1.0, 0.1...5, unit: "s", tunable: true,
        "The camera's correction of the target's position is used this long after its last sighting.")
    public static let visionGateM = ConfigKey.number("vision.gate_m", 5.0, 0.2...20, unit: "m", tunable: true,
        "A target seen further than this from where GNSS puts it is not the target: refused.")

    public static let missionFile = ConfigKey.string("mission.file", "",
        "A mission file (docs/mission-format.md) read at start-up; \"\": none.")
    public static let missionAutostart = ConfigKey.boolean("mission.autostart", false,
        "Fly the file's mission from the first tick (HIL and bench runs; off on a drone).")
    public static let missionAutostartMarker = ConfigKey.string("mission.autostart_marker", "/run/plumbline/autostarted",
        "Made when a flight auto-starts; while it exists (until reboot) a restarted daemon does not auto-start again.")

    public static let recorderEnabled = ConfigKey.boolean("recorder.enabled", true,
        "Record every tick and every mission event in rotating files (docs/flight-log.md).")
    public static let recorderDir = ConfigKey.string("recorder.dir", "/var/lib/plumbline/log",
        "Directory of the log files; created if missing (its parent must exist).")
    public static let recorderFileMaxKB = ConfigKey.integer("recorder.file_max_kb", 4096, 64...1_048_576, unit: "KB",
        "Largest size of one log file (1 KB = 1024 bytes).")
    public static let recorderFiles = ConfigKey.integer("recorder.files", 64, 2...100_000,
        "Files kept; the oldest is removed when a new one starts.")

    public static let flightCruiseAltitudeM = ConfigKey.number("flight.cruise_altitude_m", 60, 5...120, unit: "m", tunable: true,
        "Transit height above the higher ground of home and the target; take-off climbs to it.")
    public static let flightCruiseSpeedMps = ConfigKey.number("flight.cruise_speed_mps", 12, 1...25, unit: "m/s", tunable: true,
        "Speed assumed by the energy estimates (not sent to the autopilot).")
    public static let flightArrivalRadiusM = ConfigKey.number("flight.arrival_radius_m", 1.5, 0.3...20, unit: "m", tunable: true,
        "Transit ends this close to the target (and slower than 1 m/s).")

    public static let landingApproachAltitudeM = ConfigKey.number("landing.approach_altitude_m", 10, 3...50, unit: "m", tunable: true,
        "Height above the pad where the vehicle aligns; a go-around climbs back to it.")
    public static let landingAlignErrorM = ConfigKey.number("landing.align_error_m", 0.25, 0.05...3, unit: "m", tunable: true,
        "Horizontal error to the pad centre that counts as aligned.")
    public static let landingAlignHoldS = ConfigKey.number("landing.align_hold_s", 1, 0...10, unit: "s", tunable: true,
        "How long alignment must hold before the descent starts.")
    public static let landingFastSpeedMps = ConfigKey.number("landing.fast_speed_mps", 1.2, 0.2...3, unit: "m/s", tunable: true,
        "Descent speed above slow_below_m.")
    public static let landingSlowSpeedMps = ConfigKey.number("landing.slow_speed_mps", 0.5, 0.1...2, unit: "m/s", tunable: true,
        "Descent speed from slow_below_m down to final_below_m.")
    public static let landingFinalSpeedMps = ConfigKey.number("landing.final_speed_mps", 0.3, 0.1...1, unit: "m/s", tunable: true,
        "Descent speed below final_below_m.")
    public static let landingSlowBelowM = ConfigKey.number("landing.slow_below_m", 4, 1...20, unit: "m", tunable: true,
        "Height above the pad where the slow stage starts.")
    public static let landingFinalBelowM = ConfigKey.number("landing.final_below_m", 1.2, 0.3...5, unit: "m", tunable: true,
        "Height above the pad where the final stage starts; below slow_below_m.")
    public static let landingFastErrorM = ConfigKey.number("landing.fast_error_m", 0.5, 0.05...5, unit: "m", tunable: true,
        "The largest horizontal error at which the fast stage keeps descending.")
    public static let landingSlowErrorM = ConfigKey.number("landing.slow_error_m", 0.2, 0.03...3, unit: "m", tunable: true,
        "The same for the slow stage.")
    public static let landingFinalErrorM = ConfigKey.number("landing.final_error_m", 0.08, 0.02...1, unit: "m", tunable: true,
        "The same for the final stage.")
    public static let landingMaxRetries = ConfigKey.integer("landing.max_retries", 3, 0...10, tunable: true,
        "Go-arounds that are followed by another attempt; after them, retry_policy.")
    public static let landingRetryPolicy = ConfigKey.string("landing.retry_policy", "return",
        choices: ["hover", "return", "land_here"], tunable: true,
        "After the last attempt: hover, return (the delivery is not made) or land_here.")
    public static let landingRequireRTK = ConfigKey.boolean("landing.require_rtk", true, tunable: true,
        "RTK fixed needed to take off, to count as aligned, and to descend below slow_below_m.")
    public static let landingFixWaitS = ConfigKey.number("landing.fix_wait_s", 10, 0...120, unit: "s", tunable: true,
        "A descent without a usable fix for this long goes around.")

    public static let dropAltitudeM = ConfigKey.number("drop.altitude_m", 12, 3...60, unit: "m", tunable: true,
        "Hold height above the station floor during a drop (a leg may set its own).")
    public static let dropAlignErrorM = ConfigKey.number("drop.align_error_m", 0.2, 0.05...3, unit: "m", tunable: true,
        "Horizontal error to the hold point that counts as aligned.")
    public static let dropWinchMaxSpeedMps = ConfigKey.number("drop.winch_max_speed_mps", 1.2, 0.1...5, unit: "m/s", tunable: true,
        "Rope speed at full winch command; must match the winch.")
    public static let dropLowerSpeedMps = ConfigKey.number("drop.lower_speed_mps", 1.0, 0.1...5, unit: "m/s", tunable: true,
        "The fastest lowering speed, above the slow zone.")
    public static let dropLowerFinalSpeedMps = ConfigKey.number("drop.lower_final_speed_mps", 0.35, 0.05...1, unit: "m/s", tunable: true,
        "Lowering speed in the slow zone, through the opening and down to touchdown.")
    public static let dropLowerDecelMps2 = ConfigKey.number("drop.lower_decel_mps2", 0.4, 0.05...5, unit: "m/s²", tunable: true,
        "Slowing from lower_speed_mps to lower_final_speed_mps, planned to end where the slow zone begins.")
    public static let dropSlowMarginM = ConfigKey.number("drop.slow_margin_m", 1.0, 0...10, unit: "m", tunable: true,
        "The slow zone begins when the parcel's bottom is this far above the roof.")
    public static let dropHookBelowSkidsM = ConfigKey.number("drop.hook_below_skids_m", 0.25, -2...2, unit: "m", tunable: true,
        "How far the hook hangs below the skids at rope length 0 (negative: above).")
    public static let dropParcelHeightM = ConfigKey.number("drop.parcel_height_m", 0.4, 0...3, unit: "m", tunable: true,
        "Height of a parcel box.")
    public static let dropParcelDragAreaM2 = ConfigKey.number("drop.parcel_drag_area_m2", 0.1, 0...2, unit: "m²", tunable: true,
        "Drag coefficient × frontal area of a parcel: its drift in wind; 0: no offset.")
    public static let dropAirDensityKgM3 = ConfigKey.number("drop.air_density_kg_m3", 1.25, 0.5...1.6, unit: "kg/m³", tunable: true,
        "Air density for that drift.")
    public static let dropTouchdownTensionRatio = ConfigKey.number("drop.touchdown_tension_ratio", 0.35, 0.05...0.9, tunable: true,
        "Touchdown: tension below this share of the parcel's weight (the same confirms the release).")
    public static let dropTouchdownHoldS = ConfigKey.number("drop.touchdown_hold_s", 0.08, 0...2, unit: "s", tunable: true,
        "How long the tension must stay low, within the touchdown window, before the touchdown is judged.")
    public static let dropTouchdownConfirmS = ConfigKey.number("drop.touchdown_confirm_s", 0.08, 0...2, unit: "s", tunable: true,
        "Then how long the rope's end must stay still, the tension still low, before the release.")
    public static let dropTouchdownWindowM = ConfigKey.number("drop.touchdown_window_m", 2.0, 0.2...20, unit: "m", tunable: true,
        "Touchdown is believed only within this rope length of the expected one.")
    public static let dropReleaseVerifyS = ConfigKey.number("drop.release_verify_s", 1.0, 0.1...10, unit: "s", tunable: true,
        "Each release attempt opens the hook for this long.")
    public static let dropReleaseAttempts = ConfigKey.integer("drop.release_attempts", 3, 1...10, tunable: true,
        "Release attempts before giving up; the parcel is then reeled in.")
    public static let dropRetractSpeedMps = ConfigKey.number("drop.retract_speed_mps", 1.0, 0.1...5, unit: "m/s", tunable: true,
        "Reeling-in speed (lower near the drum).")
    public static let dropSnagTensionN = ConfigKey.number("drop.snag_tension_n", 150, 10...5000, unit: "N", tunable: true,
        "A snag: tension above this while reeling in an empty hook.")
    public static let dropSnagStallS = ConfigKey.number("drop.snag_stall_s", 1.0, 0.2...10, unit: "s", tunable: true,
        "Also a snag: the drum not reeling in for this long with rope out.")
    public static let dropSnagAttempts = ConfigKey.integer("drop.snag_attempts", 3, 0...10, tunable: true,
        "Snag recoveries (pay out 0.5 m, reel in again) before giving up.")
    public static let dropSnagCutRope = ConfigKey.boolean("drop.snag_cut_rope", true, tunable: true,
        "On giving up with the parcel released: cut the rope and fly on (otherwise hold).")
    public static let dropSwingControl = ConfigKey.boolean("drop.swing_control", true, tunable: true,
        "With the camera seeing the parcel: steer the vehicle to put the parcel over the opening and damp its swing.")
    public static let dropSwingGain = ConfigKey.number("drop.swing_gain", 0, 0...3, tunable: true,
        "Vehicle offset per metre of the parcel's error (stiffness of the swing control).")
    public static let dropSwingDamping = ConfigKey.number("drop.swing_damping", 0.5, 0...2, tunable: true,
        "Damping ratio the swing control aims for; above about 0.8 it feeds the swing instead.")
    public static let dropEntryErrorM = ConfigKey.number("drop.entry_error_m", 0.15, 0.02...1, unit: "m", tunable: true,
        "With the camera: the parcel waits above the roof until it is this close to the opening's centre.")
    public static let dropEntryWaitS = ConfigKey.number("drop.entry_wait_s", 20, 0...120, unit: "s", tunable: true,
        "Longest wait above the roof; then it goes on (a parcel set on the roof is brought back).")

    public static let failsafeReservePct = ConfigKey.number("failsafe.reserve_pct", 20, 0...90, unit: "%", tunable: true,
        "Charge the energy estimate must leave on landing at home.")
    public static let failsafeReservePctCold = ConfigKey.number("failsafe.reserve_pct_cold", 40, 0...90, unit: "%", tunable: true,
        "The reserve with a cold pack; not below reserve_pct.")
    public static let failsafeColdBelowC = ConfigKey.number("failsafe.cold_below_c", 0, -40...30, unit: "°C", tunable: true,
        "Pack temperature below which the pack is cold.")
    public static let failsafeMinTakeoffPct = ConfigKey.number("failsafe.min_takeoff_pct", 80, 0...100, unit: "%", tunable: true,
        "State of charge needed to take off.")
    public static let failsafeMinTakeoffPctCold = ConfigKey.number("failsafe.min_takeoff_pct_cold", 95, 0...100, unit: "%", tunable: true,
        "The same with a cold pack.")
    public static let failsafeColdRadiusM = ConfigKey.number("failsafe.cold_radius_m", 5000, 100...100_000, unit: "m", tunable: true,
        "With a cold pack, take-off is refused for a target further than this from home.")
    public static let failsafeWindAllowanceMps = ConfigKey.number("failsafe.wind_allowance_mps", 4, 0...20, unit: "m/s", tunable: true,
        "Head wind taken off flight.cruise_speed_mps in the energy estimates.")
    public static let failsafeCruiseCurrentA = ConfigKey.number("failsafe.cruise_current_a", 70, 1...1000, unit: "A", tunable: true,
        "Pack current assumed before take-off (in flight the measured current is used).")
    public static let failsafeCriticalMarginPct = ConfigKey.number("failsafe.critical_margin_pct", 8, 0...50, unit: "%", tunable: true,
        "Projected below the reserve by this much more: land where it is.")
    public static let failsafeGeofenceRadiusM = ConfigKey.number("failsafe.geofence_radius_m", 20000, 50...200_000, unit: "m", tunable: true,
        "Targets further than this from home are refused; beyond it in flight: return home.")
    public static let failsafeCeilingM = ConfigKey.number("failsafe.ceiling_m", 120, 10...500, unit: "m", tunable: true,
        "Setpoints stay at least 5 m below this height above home.")
    public static let failsafeGnssLostReturnS = ConfigKey.number("failsafe.gnss_lost_return_s", 30, 1...600, unit: "s", tunable: true,
        "No usable GNSS for this long in transit on the way out: return home.")
    public static let failsafeAutopilotLostS = ConfigKey.number("failsafe.autopilot_lost_s", 15, 1...600, unit: "s", tunable: true,
        "The autopilot's heartbeat lost this long: the mission ends, left to the autopilot's failsafe.")
    public static let failsafeDispatchLost = ConfigKey.string("failsafe.dispatch_lost", "continue",
        choices: ["continue", "return"], tunable: true,
        "What to do when the dispatch link is lost: continue, or return home.")
    public static let failsafeDispatchLostS = ConfigKey.number("failsafe.dispatch_lost_s", 60, 1...3600, unit: "s", tunable: true,
        "How long the dispatch link must be silent to count as lost.")
    public static let failsafeBatteryLost = ConfigKey.string("failsafe.battery_lost", "return",
        choices: ["return", "land"], tunable: true,
        "The battery gauge unhealthy for over 3 s in flight: return home, or land where it is.")

    /// Every key, in the order of the default file and the documentation.
    public static let keys: [ConfigKey] = [
        board,
        loopRateHz, loopTickBudgetUs, loopBusBudgetUs,
        realtimeSchedFifo, realtimePriority, realtimeLockMemory,
        logLevel,
        gnssMeasurementPeriodMs, gnssMaxBytesPerPoll, gnssLatencyMs,
        winchDrumCircumferenceM, winchMaxDrumSpeedRevPerS, winchEncoderReversed,
        tensionCountsPerNewton, tensionSampleRateSps, tensionTareSamples,
        batteryWordsPerPoll, batterySbsScale, batteryShuntOhm, batteryMaxCurrentA, batteryCapacityAh,
        linkEnabled, linkTransport, linkDroneID, linkKeyFile, linkKeyID, linkPreviousKeyFile, linkPreviousKeyID,
        linkJournalFile, linkListen, linkDispatch, linkTelemetryHz,
        autopilotFlavor, autopilotListen, autopilotAddress, autopilotSystemID, autopilotComponentID,
        autopilotTargetSystem, autopilotTargetComponent,
        visionListen, visionMaxLatencyS, visionHoldS, visionGateM,
        missionFile, missionAutostart, missionAutostartMarker,
        recorderEnabled, recorderDir, recorderFileMaxKB, recorderFiles,
        flightCruiseAltitudeM, flightCruiseSpeedMps, flightArrivalRadiusM,
        landingApproachAltitudeM, landingAlignErrorM, landingAlignHoldS, landingFastSpeedMps, landingSlowSpeedMps,
        landingFinalSpeedMps, landingSlowBelowM, landingFinalBelowM, landingFastErrorM, landingSlowErrorM,
        landingFinalErrorM, landingMaxRetries, landingRetryPolicy, landingRequireRTK, landingFixWaitS,
        dropAltitudeM, dropAlignErrorM, dropWinchMaxSpeedMps, dropLowerSpeedMps, dropLowerFinalSpeedMps,
        dropLowerDecelMps2, dropSlowMarginM, dropHookBelowSkidsM, dropParcelHeightM, dropParcelDragAreaM2,
        dropAirDensityKgM3, dropTouchdownTensionRatio, dropTouchdownHoldS, dropTouchdownConfirmS, dropTouchdownWindowM,
        dropReleaseVerifyS, dropReleaseAttempts, dropRetractSpeedMps, dropSnagTensionN, dropSnagStallS,
        dropSnagAttempts, dropSnagCutRope, dropSwingControl, dropSwingGain, dropSwingDamping,
        dropEntryErrorM, dropEntryWaitS,
        failsafeReservePct, failsafeReservePctCold, failsafeColdBelowC, failsafeMinTakeoffPct, failsafeMinTakeoffPctCold,
        failsafeColdRadiusM, failsafeWindAllowanceMps, failsafeCruiseCurrentA, failsafeCriticalMarginPct,
        failsafeGeofenceRadiusM, failsafeCeilingM, failsafeGnssLostReturnS, failsafeAutopilotLostS,
        failsafeDispatchLost, failsafeDispatchLostS, failsafeBatteryLost,
    ]

    public static func key(named name: String) -> ConfigKey? {
        for k in keys where k.name == name { return k }
        return nil
    }

    /// The default config file: every key at its default with its doc line, unit, range
    /// and whether a reload applies it in flight. Keys whose default follows other keys
    /// are written commented out, so that they keep following. `board` is set when given.
    public static func defaultFile(board: String? = nil) -> String {
        var out = """
        # plumbd configuration: how to fly. Installed as /etc/plumbline/plumbd.toml.
        # Written by `plumbd --print-default-config` from the schema in the code: every key at
        # its default, with what it does, its unit and range, and when a change applies:
        # "live": a reload (SIGHUP) applies it at a tick boundary, in flight too;
        # "restart": only at start-up. docs/config.md explains each key.
        # Keys left out take their defaults. A key written commented out has a default that
        # follows other keys (noted on its line).

        """ + "\n"
        var table = ""
        for k in keys {
            if k.table != table {
                table = k.table
                out += "\n[\(table)]\n"
            }
            out += "# " + k.doc + "\n"
            var value = formatConfigValue(k.defaultValue)
            if k.name == "board", let b = board { value = quoteConfigString(b) }
            var line = (k.derivedDefault.isEmpty ? "" : "# ") + k.shortName + " = " + value
            var notes = ""
            func note(_ s: String) {
                guard !s.isEmpty else { return }
                notes += (notes.isEmpty ? "" : "; ") + s
            }
            note(k.unit)
            note(k.rangeText)
            if !k.derivedDefault.isEmpty { note("default: " + k.derivedDefault) }
            note(k.tunable ? "live" : "restart")
            line = padRight(line, 32) + " # " + notes
            out += line + "\n"
        }
        return out
    }
}
