import ArgumentParser
import Foundation
import PlumbLink

/// `plumb bench`: figures, never pass/fail. Each row: value, target, what it is compared
/// with. `make bench` runs it on a release build and adds the firmware's size.
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Measure and print the project's figures (make bench).")

    @Option(help: "Write the figures as JSON here too.") var json: String?
    @Option(help: "Stripped size of the aarch64 firmware in bytes (measured by make bench).") var firmwareBytes: Int?
    @Option(help: "Frames for the link throughput figure.") var frames = 200_000

    struct Figure: Encodable {
        var name: String
        var value: Double
        var unit: String
        var target: String
        var comparedWith: String
        var meetsTarget: Bool?
    }

    func run() throws {
        var figures: [Figure] = []
        let (frameBytes, perSecond) = linkFigures(frames: frames)
        figures.append(Figure(name: "link telemetry frame", value: Double(frameBytes), unit: "bytes", target: "<= 64",
                              comparedWith: "MAVLink 2 signed HEARTBEAT + GLOBAL_POSITION_INT + BATTERY_STATUS + WINCH_STATUS: 207 bytes (\(String(format: "%.1f", 207.0 / Double(frameBytes)))x larger)",
                              meetsTarget: frameBytes <= 64))
        figures.append(Figure(name: "link encode + seal + open + decode", value: perSecond, unit: "frames/s (one core, this machine)",
                              target: "-", comparedWith: "100 Hz telemetry needs 100 frames/s: \(String(format: "%.0f", perSecond / 100))x headroom",
                              meetsTarget: nil))
        if let fw = firmwareBytes {
            figures.append(Figure(name: "aarch64 firmware, stripped", value: Double(fw) / 1024, unit: "KB", target: "< 512",
                                  comparedWith: "Embedded Swift, -Osize, function sections + ICF", meetsTarget: fw < 512 * 1024))
        }
        print(String(repeating: "-", count: 110))
        for f in figures {
            let mark = f.meetsTarget == false ? "  MISSES TARGET" : ""
            let v = f.value >= 1000 ? String(format: "%.0f", f.value) : String(format: "%.1f", f.value)
            print("\(f.name.padding(toLength: 38, withPad: " ", startingAt: 0)) \(v.padding(toLength: 10, withPad: " ", startingAt: 0)) \(f.unit.padding(toLength: 34, withPad: " ", startingAt: 0)) target \(f.target)\(mark)")
            print("    vs \(f.comparedWith)")
        }
        print(String(repeating: "-", count: 110))
        if let json {
            let enc = JSONEncoder()
            enc.outputFormatting = [.prettyPrinted, .sortedKeys]
            try enc.encode(figures).write(to: URL(fileURLWithPath: json))
        }
    }
}

/// The telemetry frame's size, and full round trips (drone encode + seal, ground open +
/// decode) per second.
func linkFigures(frames: Int) -> (Int, Double) {
    _ = LinkCrypto.initialize()
    guard let key = LinkKey(id: 1, bytes: Array(0..<32)) else { return (0, 0) }
    var drone = DroneLink(droneID: 1, key: key, epoch: 1)
    var ground = GroundLink(droneID: 1, key: key, epoch: 1)
    var buf = [UInt8](repeating: 0, count: LinkCrypto.maxFrame)
    var t = Telemetry()
    t.lat1e7 = 438_765_432
    t.lon1e7 = 1_253_245_678
    var size = 0
    var decoded = 0
    let start = DispatchTime.now().uptimeNanoseconds
    for i in 0..<frames {
        t.timeMs = UInt32(i)
        drone.setTelemetry(t)
        guard let n = buf.withUnsafeMutableBytes({ drone.nextFrame(nowNs: UInt64(i), into: $0) }) else { break }
        size = n
        if case .telemetry = buf.withUnsafeBytes({ ground.receive(UnsafeRawBufferPointer(rebasing: $0[0..<n]), nowNs: UInt64(i)) }) {
            decoded += 1
        }
    }
    let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    return (size, decoded == frames ? Double(frames) / seconds : 0)
}
