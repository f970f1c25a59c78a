import ArgumentParser
import PlumbCore
import PlumbDevices
import PlumbFlight
import PlumbHAL
import PlumbHIL
import PlumbLinux

/// `plumb bus-budget`: what each chip's poll costs on the bus and how the schedule keeps
/// every tick within budget. docs/bus-budget.md is this command's output.
struct BusBudget: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bus-budget",
        abstract: "Bus time per poll of each chip and the per-tick schedule, as Markdown.")

    @Option(help: "Board name or path.") var board = "sim"
    @Option(help: "Config file.") var config = "Board/plumbd.toml"
    @Option(help: "Ticks to simulate the schedule over.") var ticks = 1000

    func run() throws {
        let loaded = loadSchema(config) { PlumbConfig.read(&$0) }
        for e in loaded.errors { writeAll(fd: 2, e + "\n") }
        guard let cfg = loaded.value else { throw ExitCode(PlumbLinux.ExitCode.config.rawValue) }
        let (_, b) = try Board.load(board)
        print(busBudgetMarkdown(board: b, config: cfg, ticks: ticks))
    }
}

/// Worst-case bus time of one poll of `kind` on a bus at `clockHz`, from the driver itself.
func pollCostNs(_ kind: DeviceKind, clockHz: UInt32, config d: DeviceConfig) -> UInt64 {
    let bus = SimulatedI2CBus(clockHz: clockHz)
    switch kind {
    case .sbsBattery: return SmartBattery(bus: bus, wordsPerPoll: d.batteryWordsPerPoll).pollCostNs()
    case .ina226: return INA226(bus: bus, shuntOhm: d.shuntOhm, maxCurrentA: d.maxCurrentA, capacityAh: d.packCapacityAh).pollCostNs()
    case .ubloxDDC: return UbloxGNSS(bus: bus, maxBytesPerPoll: d.gnssMaxBytesPerPoll).pollCostNs()
    case .as5600: return AS5600(bus: bus, drumCircumferenceM: d.drumCircumferenceM, maxDrumSpeedRevPerS: d.maxDrumSpeedRevPerS).pollCostNs()
    case .nau7802: return NAU7802(bus: bus, countsPerNewton: d.tensionCountsPerNewton).pollCostNs()
    case .pca9685: return i2cTransferTimeNs(clockHz: clockHz, writeBytes: 5, readBytes: 0)  // one channel update
    }
}

func us(_ ns: UInt64) -> String { formatFixed(Double(ns) / 1000, decimals: 0) }

func busBudgetMarkdown(board: BoardDescription, config: PlumbConfig, ticks: Int) -> String {
    let rate = config.loop.rateHz
    let d = config.devices
    func period(_ k: DeviceKind) -> Int {
        pollPeriodTicks(k, rateHz: rate, gnssPeriodMs: d.gnssMeasurementPeriodMs, tensionSps: d.tensionSampleRateSps)
    }
    var out = "## One poll of each chip (worst case)\n\n"
    out += "Bytes on the wire count every address, register and data byte of the poll's transfers; "
    out += "time is 9 clocks a byte plus start and stop.\n\n"
    out += "| chip | what one poll reads | bytes | µs at 100 kHz | µs at 400 kHz | polled every |\n|---|---|---|---|---|---|\n"
    let what: [(DeviceKind, String)] = [
        (.sbsBattery, "\(d.batteryWordsPerPoll) SMBus words (voltage, current, one more in rotation)"),
        (.ina226, "BUS and CURRENT registers (2 × 2 bytes)"),
        (.ubloxDDC, "bytes waiting (2) + up to \(d.gnssMaxBytesPerPoll) stream bytes in 64-byte chunks"),
        (.as5600, "STATUS + RAW ANGLE (3 bytes, one transfer)"),
        (.nau7802, "PU_CTRL (1) + ADCO (3)"),
        (.pca9685, "one channel update (write only, on demand)"),
    ]
    for (kind, text) in what {
        let c100 = pollCostNs(kind, clockHz: 100_000, config: d)
        let c400 = pollCostNs(kind, clockHz: 400_000, config: d)
        let bytes = (c400 * 400_000 / 1_000_000_000 - 2) / 9
        let p = period(kind)
        let every = p == 0 ? "on demand" : "\(p) tick(s) (\(formatFixed(Double(rate) / Double(p), decimals: 1)) Hz)"
        out += "| \(kind.name) | \(text) | \(bytes) | \(us(c100)) | \(us(c400)) | \(every) |\n"
    }
    out += "\n## The schedule on board '\(board.name)' at \(rate) Hz\n\n"
    out += "Budget per bus and tick: \(config.loop.busBudgetUs) µs (`loop.bus_budget_us`) of a \(1_000_000 / rate) µs tick. "
    out += "Simulated over \(ticks) ticks with PollSchedule, the scheduler plumbd runs.\n\n"
    out += "| bus | clock | devices | worst tick (µs) | mean tick (µs) | polls deferred |\n|---|---|---|---|---|---|\n"
    for bus in board.buses {
        var s = PollSchedule(budgetNs: UInt64(config.loop.busBudgetUs) * 1000)
        var names: [String] = []
        for dev in board.devices where dev.bus == bus.name && period(dev.kind) > 0 {
            if s.add(periodTicks: UInt32(period(dev.kind)), costNs: pollCostNs(dev.kind, clockHz: bus.clockHz, config: d)) != nil {
                names.append(dev.role)
            } else {
                names.append(dev.role + " (does not fit!)")
            }
        }
        var worst: UInt64 = 0
        var total: UInt64 = 0
        for t in 0..<UInt64(ticks) {
            let c = s.cost(of: s.due(tick: t))
            worst = max(worst, c)
            total += c
        }
        var deferred: UInt32 = 0
        for e in s.entries { deferred += e.deferred }
        out += "| \(bus.name) | \(bus.clockHz / 1000) kHz | \(names.joined(separator: ", ")) | \(us(worst)) | \(us(total / UInt64(max(1, ticks)))) | \(deferred) |\n"
    }
    return out
}
