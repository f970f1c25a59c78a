// Couples the world to the chip and line models of the simulated board (Board/sim.toml):
// the world's truth goes into the models the daemon's drivers read, and what the daemon
// drives (PWM, brake, cutter) goes back into the world.
//
//   I2C bus "power" (/dev/i2c-2): SBS smart battery 0x0B
//   I2C bus "main"  (/dev/i2c-1): u-blox 0x42, AS5600 0x36, NAU7802 0x2A, PCA9685 0x40
//   gpiochip0: 0 hook_latched (in, active low), 1 drum_home (in, active low),
//              2 gnss_pps (in, rising), 3 brake (out, active low, safe = braked),
//              4 cutter_arm (out), 5 cutter_fire (out), 6 status_led (out)
//   PWM channel 0 winch_motor (1000…2000 µs, 1500 = stop), channel 1 hook_servo (1100 closed,
//   over 1500 open)
//
// A runner advances the world to a time, then calls `update(nowNs:)` with the same time.

import PlumbCore
import Foundation

public final class SensorCoupling {
    /// What the line models' levels mean. `.physical` (the default): the electrical level,
    /// as the GPIO line models describe and as the faked gpiochip serves it (the daemon's
    /// active-low flags invert it). `.logical`: already active = true, for an in-process
    /// runner that hands the lines straight to the HAL adapters.
    public enum LineLevels: Equatable, Sendable { case physical, logical }

    /// One chip and where the board file puts it.
    public struct I2CAttachment {
        /// Device name in the board file (battery, gnss, drum_encoder, tension, pwm).
        public let name: String
        /// Bus name in the board file and its device node.
        public let bus: String
        public let devicePath: String
        public let model: any I2CDeviceModel
    }

    public let world: World
    public let lineLevels: LineLevels
    /// High-current SBS gauges report current in units of `currentScale` mA and capacities in
    /// units of `currentScale` mAh, because a 12S pack at 90 A does not fit a signed 16-bit
    /// word of milliamps. The daemon's config carries the same factor.
    public let currentScale: Int

    public let battery: SmartBatteryModel
    public let gnss: UbloxDDCModel
    public let encoder: AS5600Model
    public let tension: NAU7802Model
    public let pwm: PCA9685Model

    public let hookLatchedLine: SimulatedInputLine
    public let drumHomeLine: SimulatedInputLine
    public let gnssPPSLine: SimulatedInputLine
    public let brakeLine: SimulatedOutputLine
    public let cutterArmLine: SimulatedOutputLine
    public let cutterFireLine: SimulatedOutputLine
    public let statusLEDLine: SimulatedOutputLine

    /// Every chip with its bus, as the board file wires them.
    public let i2cDevices: [I2CAttachment]
    /// Line names of gpiochip0 by offset.
    public static let lineNames = ["hook_latched", "drum_home", "gnss_pps", "brake", "cutter_arm",
                                   "cutter_fire", "status_led"]

    /// Width of the GNSS time pulse (ns).
    public var ppsWidthNs: UInt64 = 100_000_000
    /// Pulses within this distance of 1500 µs stop the winch motor (the ESC's dead band, µs).
    public var escDeadbandUs = 10.0
    public private(set) var lastUpdateNs: UInt64 = 0

    private let cellOffsetsV: [Double]
    private var averageCurrentA = 0.0
    private var lastGNSSOutput: UInt64 = 0
    private var nextPPSRiseNs: UInt64 = 1_000_000_000
    private var ppsFallNs: UInt64?
    private var hookStampNs: UInt64 = 0
    private var homeStampNs: UInt64 = 0
    private var started = false

    public init(world: World, lineLevels: LineLevels = .physical, currentScale: Int = 10) {
        precondition(currentScale >= 1)
        self.world = world
        self.lineLevels = lineLevels
        self.currentScale = currentScale
        let seed = world.config.seed
        let cells = min(max(world.config.battery.cells, 1), SmartBatteryModel.maxCells)
        battery = SmartBatteryModel(address: 0x0B, seed: derivedSeed(seed, SeedTag.battery), cellCount: cells)
        gnss = UbloxDDCModel(generation: .f9, address: 0x42, seed: derivedSeed(seed, SeedTag.receiver))
        encoder = AS5600Model(address: 0x36, seed: derivedSeed(seed, SeedTag.encoder))
        tension = NAU7802Model(address: 0x2A, seed: derivedSeed(seed, SeedTag.loadCell))
        pwm = PCA9685Model(address: 0x40, seed: derivedSeed(seed, SeedTag.pwm))
        i2cDevices = [
            I2CAttachment(name: "battery", bus: "power", devicePath: "/dev/i2c-2", model: battery),
            I2CAttachment(name: "gnss", bus: "main", devicePath: "/dev/i2c-1", model: gnss),
            I2CAttachment(name: "drum_encoder", bus: "main", devicePath: "/dev/i2c-1", model: encoder),
            I2CAttachment(name: "tension", bus: "main", devicePath: "/dev/i2c-1", model: tension),
            I2CAttachment(name: "pwm", bus: "main", devicePath: "/dev/i2c-1", model: pwm),
        ]

        // Fixed cell spread around the mean, summing to zero.
        var rng = SeededRandom(seed: derivedSeed(seed, SeedTag.cells))
        var offsets = (0..<cells).map { _ in (rng.unit() * 2 - 1) * world.config.battery.cellImbalanceV }
        let meanOffset = offsets.reduce(0, +) / Double(cells)
        offsets = offsets.map { $0 - meanOffset }
        cellOffsetsV = offsets

        let winch = world.winch
        let physical = lineLevels == .physical
        hookLatchedLine = SimulatedInputLine(name: Self.lineNames[0],
                                             level: physical ? !winch.hookLatched : winch.hookLatched, edges: .both)
        drumHomeLine = SimulatedInputLine(name: Self.lineNames[1],
                                          level: physical ? !winch.drumHome : winch.drumHome, edges: .both)
        gnssPPSLine = SimulatedInputLine(name: Self.lineNames[2], level: false, edges: .rising)
        // Undriven outputs read low: braked (active low), cutter safe, LED off.
        brakeLine = SimulatedOutputLine(name: Self.lineNames[3], level: physical ? false : true)
        cutterArmLine = SimulatedOutputLine(name: Self.lineNames[4])
        cutterFireLine = SimulatedOutputLine(name: Self.lineNames[5])
        statusLEDLine = SimulatedOutputLine(name: Self.lineNames[6])

        battery.designCapacityMah = UInt16(clamping: Int((world.config.battery.capacityAh * 1000
                                                          / Double(currentScale)).rounded()))
        battery.designVoltageMv = UInt16(clamping: Int((Double(cells) * 3.7 * 1000).rounded()))
        battery.chargingVoltageMv = UInt16(clamping: Int((Double(cells) * 4.2 * 1000).rounded()))
        battery.chargingCurrentMa = 0
        battery.serialNumber = UInt16(truncatingIfNeeded: seed)
        hookStampNs = world.timeNs
        homeStampNs = world.timeNs
        writeBattery(dtS: 0)
        writeWinchSensors()
    }

    // MARK: Lines by offset

    public func inputLine(offset: Int) -> SimulatedInputLine? {
        switch offset {
        case 0: return hookLatchedLine
        case 1: return drumHomeLine
        case 2: return gnssPPSLine
        default: return nil
        }
    }

    public func outputLine(offset: Int) -> SimulatedOutputLine? {
        switch offset {
        case 3: return brakeLine
        case 4: return cutterArmLine
        case 5: return cutterFireLine
        case 6: return statusLEDLine
        default: return nil
        }
    }

    /// Whether the line at `offset` is active low on this board.
    public static func isActiveLow(offset: Int) -> Bool { offset == 0 || offset == 1 || offset == 3 }

    // MARK: Update

    /// Publishes the world's truth at `nowNs` to the models and reads the actuators back.
    /// Call it at least at the GNSS rate (every output in between but the last is skipped).
    public func update(nowNs: UInt64) {
        let dtS = started && nowNs > lastUpdateNs ? Double(nowNs - lastUpdateNs) / 1e9 : 0
        started = true
        lastUpdateNs = max(lastUpdateNs, nowNs)
        writeBattery(dtS: dtS)
        writeGNSS()
        writeWinchSensors()
        writeLines(nowNs: nowNs)
        readActuators()
    }

    private func writeBattery(dtS: Double) {
        let b = world.battery
        let scale = Double(currentScale)
        if dtS > 0 {
            averageCurrentA += (b.currentA - averageCurrentA) * (1 - exp(-dtS / 60))
        } else if !started {
            averageCurrentA = b.currentA
        }
        battery.voltageMv = UInt16(clamping: Int((b.voltageV * 1000).rounded()))
        battery.currentMa = Int16(clamping: Int((-b.currentA * 1000 / scale).rounded()))
        battery.averageCurrentMa = Int16(clamping: Int((-averageCurrentA * 1000 / scale).rounded()))
        battery.relativeStateOfChargePct = UInt8(clamping: Int((b.socFraction * 100).rounded()))
        let design = world.config.battery.capacityAh
        battery.absoluteStateOfChargePct = UInt8(clamping: Int((b.remainingAh / max(design, 1e-9) * 100).rounded()))
        battery.remainingCapacityMah = UInt16(clamping: Int((b.remainingAh * 1000 / scale).rounded()))
        battery.fullChargeCapacityMah = UInt16(clamping: Int((b.fullChargeAh * 1000 / scale).rounded()))
        battery.temperatureDeciK = UInt16(clamping: Int(((b.temperatureC + 273.15) * 10).rounded()))
        var lowest = Double.infinity
        for i in 0..<SmartBatteryModel.maxCells {
            if i < cellOffsetsV.count {
                let cell = b.cellVoltageV + cellOffsetsV[i]
                lowest = min(lowest, cell)
                battery.cellVoltagesMv[i] = UInt16(clamping: Int((cell * 1000).rounded()))
            } else {
                battery.cellVoltagesMv[i] = 0
            }
        }
        var status: SmartBatteryModel.BatteryStatus = [.initialized]
        if b.currentA >= 0 { status.insert(.discharging) }
        if b.socFraction >= 0.995, b.currentA <= 0.05 { status.insert(.fullyCharged) }
        if b.remainingAh <= 0 { status.formUnion([.fullyDischarged, .terminateDischargeAlarm]) }
        if lowest < 3.0 { status.insert(.terminateDischargeAlarm) }
        if battery.remainingCapacityMah < battery.remainingCapacityAlarm { status.insert(.remainingCapacityAlarm) }
        if b.temperatureC > 60 { status.insert(.overTemperatureAlarm) }
        battery.batteryStatus = status
    }

    private func writeGNSS() {
        let count = world.gnssOutputCount
        guard count != lastGNSSOutput, let m = world.gnssOutput else { return }
        lastGNSSOutput = count
        gnss.enqueueNavPVT(navPVT(m))
    }

    /// NAV-PVT for one output, its time fields from the moment the position describes.
    public func navPVT(_ m: GNSSMeasurement) -> UbloxDDCModel.NavPVT {
        let g = world.config.gnss
        let unixSeconds = g.startUnixTimeS + Int64(m.measurementTimeNs / 1_000_000_000)
        let nanos = Int64(m.measurementTimeNs % 1_000_000_000)
        let gpsSeconds = unixSeconds - 315_964_800 + g.leapSeconds
        let week: Int64 = 604_800
        let towMs = ((gpsSeconds % week + week) % week) * 1000 + nanos / 1_000_000
        let utc = Self.utcFields(unixSeconds: unixSeconds)

        var p = UbloxDDCModel.NavPVT()
        p.iTOWMs = UInt32(truncatingIfNeeded: towMs)
        p.year = UInt16(clamping: utc.year)
        p.month = UInt8(clamping: utc.month)
        p.day = UInt8(clamping: utc.day)
        p.hour = UInt8(clamping: utc.hour)
        p.min = UInt8(clamping: utc.minute)
        p.sec = UInt8(clamping: utc.second)
        p.nanoNs = Int32(nanos)
        p.valid = 0x07
        let fix = m.hasFix
        p.tAccNs = fix ? 20 : 1_000
        p.fixType = m.fixType
        var flags: UInt8 = fix ? 0x01 : 0
        if fix, m.carrierSolution > 0 { flags |= 0x02 }
        p.flags = flags
        p.carrSoln = fix ? min(m.carrierSolution, 2) : 0
        p.flags2 = 0xE0
        p.numSV = UInt8(clamping: m.numSV)
        p.lonDegE7 = Int32(clamping: Int64((m.lonDeg * 1e7).rounded()))
        p.latDegE7 = Int32(clamping: Int64((m.latDeg * 1e7).rounded()))
        p.heightMm = Int32(clamping: Int64((m.heightM * 1000).rounded()))
        p.hMSLMm = Int32(clamping: Int64((m.heightMSLM * 1000).rounded()))
        p.hAccMm = UInt32(clamping: Int64((m.hAccM * 1000).rounded()))
        p.vAccMm = UInt32(clamping: Int64((m.vAccM * 1000).rounded()))
        p.velNMmps = Int32(clamping: Int64((m.velN * 1000).rounded()))
        p.velEMmps = Int32(clamping: Int64((m.velE * 1000).rounded()))
        p.velDMmps = Int32(clamping: Int64((m.velD * 1000).rounded()))
        let groundSpeed = hypot(m.velN, m.velE)
        p.gSpeedMmps = Int32(clamping: Int64((groundSpeed * 1000).rounded()))
        var heading = atan2(m.velE, m.velN) * 180 / Double.pi
        if heading < 0 { heading += 360 }
        p.headMotDegE5 = Int32(clamping: Int64((heading * 1e5).rounded()))
        p.sAccMmps = UInt32(clamping: Int64((m.sAccMps * 1000).rounded()))
        let headingAccuracy = groundSpeed > 0 ? min(atan2(m.sAccMps, groundSpeed) * 180 / Double.pi, 180) : 180
        p.headAccDegE5 = UInt32(clamping: Int64((headingAccuracy * 1e5).rounded()))
        p.pDOPx100 = UInt16(clamping: Int((max(0.8, 5.5 / Double(max(m.numSV, 1)).squareRoot()) * 100).rounded()))
        return p
    }

    /// Calendar fields (UTC) of a Unix time at or after 1970.
    static func utcFields(unixSeconds: Int64) -> (year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int) {
        let seconds = max(unixSeconds, 0)
        var days = Int(seconds / 86_400)
        let ofDay = Int(seconds % 86_400)
        func leap(_ y: Int) -> Bool { (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 }
        var year = 1970
        while true {
            let length = leap(year) ? 366 : 365
            if days < length { break }
            days -= length
            year += 1
        }
        let monthLengths = [31, leap(year) ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
        var month = 1
        for length in monthLengths {
            if days < length { break }
            days -= length
            month += 1
        }
        return (year, month, days + 1, ofDay / 3600, ofDay % 3600 / 60, ofDay % 60)
    }

    private func writeWinchSensors() {
        let w = world.winch
        let degrees = (w.drumAngleRad * 180 / Double.pi).truncatingRemainder(dividingBy: 360)
        encoder.angleDeg = degrees < 0 ? degrees + 360 : degrees
        tension.forceN = w.tensionN
    }

    private func physical(_ active: Bool, activeLow: Bool) -> Bool {
        lineLevels == .physical && activeLow ? !active : active
    }

    private func writeLines(nowNs: UInt64) {
        let w = world.winch
        hookStampNs = min(max(hookStampNs, w.hookLatchedChangedNs), max(nowNs, hookStampNs))
        hookLatchedLine.setLevel(physical(w.hookLatched, activeLow: true), at: hookStampNs)
        homeStampNs = min(max(homeStampNs, w.drumHomeChangedNs), max(nowNs, homeStampNs))
        drumHomeLine.setLevel(physical(w.drumHome, activeLow: true), at: homeStampNs)

        // Time pulse: a rising edge at each whole second of GNSS time while the receiver has time.
        let pulsing = world.gnssOutputCount > 0 && world.gnssMode != nil
        while true {
            let fall = ppsFallNs ?? .max
            let next = min(fall, nextPPSRiseNs)
            guard next <= nowNs else { break }
            if fall <= nextPPSRiseNs {
                gnssPPSLine.setLevel(false, at: fall)
                ppsFallNs = nil
            } else {
                if pulsing {
                    gnssPPSLine.setLevel(true, at: nextPPSRiseNs)
                    ppsFallNs = nextPPSRiseNs + min(ppsWidthNs, 900_000_000)
                }
                nextPPSRiseNs += 1_000_000_000
            }
        }
    }

    private func isActive(_ line: SimulatedOutputLine, activeLow: Bool) -> Bool {
        physical(line.level, activeLow: activeLow)
    }

    private func readActuators() {
        // Winch ESC: 1000…2000 µs, 1500 stop; no pulse (asleep, off) or a nonsense pulse: stop.
        var command = 0.0
        if let width = pwm.pulseWidthUs(channel: 0), (800...2200).contains(width),
           abs(width - 1500) > escDeadbandUs {
            command = min(max((width - 1500) / 500, -1), 1)
        }
        world.winchMotorCommand = command
        // Hook servo: over 1500 µs open; without a pulse the servo stays where it is.
        if let width = pwm.pulseWidthUs(channel: 1), (800...2200).contains(width) {
            world.hookOpen = width > 1500
        }
        // Brake: active = braked; a line never driven is braked too.
        world.brakeEngaged = brakeLine.writes.isEmpty ? true : isActive(brakeLine, activeLow: true)
        // Cutter: fire while armed.
        if isActive(cutterArmLine, activeLow: false), isActive(cutterFireLine, activeLow: false) {
            world.ropeCut = true
        }
    }

    /// The status LED as the daemon drives it.
    public var statusLEDOn: Bool { isActive(statusLEDLine, activeLow: false) }

    // MARK: Faults

    /// Turns fault `fault` on or off in the model of board device `device`. Devices: battery,
    /// gnss, drum_encoder, tension, pwm. Faults: nack, stuck_bus, stale, bad_checksum,
    /// magnet_lost, conversion_never_ready, bit_flips (probability 0.01). Returns false for an
    /// unknown device or fault, and for a fault that device's model does not honour.
    @discardableResult
    public func inject(device: String, fault: String, on: Bool) -> Bool {
        let common: Set<String> = ["nack", "stuck_bus", "bit_flips"]
        let honoured: Set<String>
        switch device {
        case "battery", "gnss": honoured = common.union(["stale", "bad_checksum"])
        case "drum_encoder": honoured = common.union(["stale", "magnet_lost"])
        case "tension": honoured = common.union(["stale", "conversion_never_ready"])
        case "pwm": honoured = common
        default: return false
        }
        guard honoured.contains(fault) else { return false }
        var faults = self.faults(device)
        switch fault {
        case "nack": faults.nack = on
        case "stuck_bus": faults.stuckBus = on
        case "stale": faults.stale = on
        case "bad_checksum": faults.badChecksum = on
        case "magnet_lost": faults.magnetLost = on
        case "conversion_never_ready": faults.conversionNeverReady = on
        case "bit_flips": faults.bitFlipProbability = on ? 0.01 : 0
        default: return false
        }
        switch device {
        case "battery": battery.faults = faults
        case "gnss": gnss.faults = faults
        case "drum_encoder": encoder.faults = faults
        case "tension": tension.faults = faults
        default: pwm.faults = faults
        }
        return true
    }

    private func faults(_ device: String) -> ModelFaults {
        switch device {
        case "battery": return battery.faults
        case "gnss": return gnss.faults
        case "drum_encoder": return encoder.faults
        case "tension": return tension.faults
        default: return pwm.faults
        }
    }
}
