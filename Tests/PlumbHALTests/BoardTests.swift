import Foundation
import Testing
import PlumbCore
@testable import PlumbHAL

func readBoard(_ text: String) throws -> (BoardDescription?, [String]) {
    var r = ConfigReader(try TOMLDocument.parse(text))
    let b = BoardDescription.read(&r)
    return (b, r.diagnostics.map { $0.formatted(file: "b.toml") })
}

/// The repository's Board/ directory, found from this file's path.
func boardDirectory() -> String {
    var parts = #filePath.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
    parts.removeLast(3)  // Tests/PlumbHALTests/BoardTests.swift
    return parts.joined(separator: "/") + "/Board"
}

@Suite struct BoardValidation {
    let minimal = """
    [board]
    name = "t"
    [i2c.main]
    device = "/dev/i2c-1"
    [devices.gnss]
    kind = "ublox-ddc"
    bus = "main"
    [gpio.brake]
    chip = "gpiochip0"
    line = 3
    safe_level = "active"
    """

    @Test func minimalBoardReads() throws {
        let (b, errors) = try readBoard(minimal)
        #expect(errors == [])
        let board = try #require(b)
        #expect(board.buses == [I2CBusSpec(name: "main", device: "/dev/i2c-1", clockHz: 100_000)])
        #expect(board.device(role: "gnss")?.address == 0x42)
        #expect(board.line(role: "brake")?.direction == .output(safeLevel: true))
        #expect(board.line(role: "brake")?.consumer == "plumbd-brake")
    }

    @Test func everyShippedBoardIsValid() throws {
        for name in ["rpi4", "rpi5", "jetson-orin-nano", "sim"] {
            let path = boardDirectory() + "/" + name + ".toml"
            let text = try String(contentsOfFile: path, encoding: .utf8)
            let (b, errors) = try readBoard(text)
            #expect(errors == [], "\(name)")
            let board = try #require(b, "\(name)")
            #expect(board.name == name)
            #expect(board.device(role: "gnss") != nil)
            #expect(board.line(role: "brake")?.direction == .output(safeLevel: true))
            for role in ["cutter_arm", "cutter_fire"] {
                #expect(board.line(role: role)?.direction == .output(safeLevel: false), "\(name) \(role)")
            }
        }
    }

    @Test func unknownKeysWrongTypesAndRangesAreErrors() throws {
        let (b, errors) = try readBoard("""
        [board]
        name = "t"
        [i2c.main]
        device = "/dev/i2c-1"
        speed_hz = "fast"
        [devices.gnss]
        kind = "ublox-ddc"
        bus = "main"
        address = 0x80
        colour = "red"
        [devices.radar]
        kind = "x"
        [gpio.brake]
        chip = "gpiochip0"
        line = 3
        safe_level = "inactive"
        [gpio.hook_latched]
        chip = "gpiochip0"
        line = 3
        safe_level = "active"
        """)
        #expect(b == nil)
        #expect(errors.contains("b.toml:5:1: 'i2c.main.speed_hz' must be an integer, not string"))
        #expect(errors.contains("b.toml:9:1: 'devices.gnss.address' = 0x80 is out of range 0x03...0x77"))
        #expect(errors.contains("b.toml:10:1: unknown key 'devices.gnss.colour'"))
        #expect(errors.contains { $0.hasPrefix("b.toml:11:1: unknown device role 'radar'") })
        #expect(errors.contains { $0.hasPrefix("b.toml:16:1: 'gpio.brake.safe_level' must be \"active\"") })
        #expect(errors.contains { $0.hasPrefix("b.toml:20:1: 'gpio.hook_latched.safe_level': 'hook_latched' is an input") })
        #expect(errors.contains("b.toml:19:1: 'hook_latched' and 'brake' both use line 3 of gpiochip0"))
    }

    @Test func crossReferencesAreChecked() throws {
        let (b, errors) = try readBoard("""
        [board]
        name = "t"
        [i2c.main]
        device = "i2c-1"
        [devices.pwm]
        kind = "pca9685"
        bus = "main"
        [devices.power_monitor]
        kind = "ina226"
        bus = "main"
        address = 0x40
        [devices.gnss]
        kind = "ublox-ddc"
        bus = "other"
        [pwm.winch_motor]
        device = "gnss"
        channel = 16
        [pwm.hook_servo]
        device = "pwm"
        channel = 1
        min_pulse_us = 2000
        max_pulse_us = 1000
        [serial.autopilot]
        device = "/dev/ttyAMA0"
        baud = 100000
        [gpio.cutter_fire]
        chip = "gpiochip0"
        line = 5
        safe_level = "active"
        """)
        #expect(b == nil)
        #expect(errors.contains { $0.hasPrefix("b.toml:4:1: 'i2c.main.device' must be a path under /dev") })
        #expect(errors.contains("b.toml:11:1: 'power_monitor' and 'pwm' both use address 0x40 on bus 'main'"))
        #expect(errors.contains("b.toml:14:1: 'devices.gnss.bus' = \"other\" names no [i2c.other] table"))
        #expect(errors.contains("b.toml:16:1: 'pwm.winch_motor.device' = \"gnss\" is a ublox-ddc, not a pca9685"))
        #expect(errors.contains("b.toml:17:1: 'pwm.winch_motor.channel' = 16 is out of range 0...15"))
        #expect(errors.contains("b.toml:22:1: 'pwm.hook_servo.max_pulse_us' must be greater than min_pulse_us"))
        #expect(errors.contains { $0.hasPrefix("b.toml:25:1: 'serial.autopilot.baud' = 100000 is not a standard rate") })
        #expect(errors.contains { $0.hasPrefix("b.toml:29:1: 'gpio.cutter_fire.safe_level' must be \"inactive\"") })
    }

    @Test func missingRequiredKeysPointAtTheirTable() throws {
        let (_, errors) = try readBoard("[board]\nname = \"t\"\n[gpio.drum_home]\nchip = \"gpiochip0\"\n")
        #expect(errors == ["b.toml:3:1: missing required key 'gpio.drum_home.line'"])
    }
}
