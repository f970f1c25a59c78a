import ArgumentParser
import Foundation
import PlumbCore
import PlumbHIL

struct HIL: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hil",
        abstract: "Fly scenarios in the hardware-in-the-loop simulator.",
        subcommands: [Run.self, Suite.self, Sweep.self])

    enum Mode: String, ExpressibleByArgument, CaseIterable {
        case inprocess, process, firmware
    }

    static func loadScenario(_ path: String) throws -> Scenario {
        var file = path
        if !FileManager.default.fileExists(atPath: file) {
            for dir in ["HIL/scenarios/", ""] where FileManager.default.fileExists(atPath: dir + path + ".toml") {
                file = dir + path + ".toml"
            }
        }
        let text: String
        do { text = try String(contentsOfFile: file, encoding: .utf8) } catch {
            throw ValidationError("cannot read scenario '\(path)'")
        }
        let (s, errors) = Scenario.parse(text, file: file)
        guard var s else { throw ValidationError(errors.joined(separator: "\n")) }
        if s.name.isEmpty { s.name = ((file as NSString).lastPathComponent as NSString).deletingPathExtension }
        return s
    }

    static func fly(_ s: Scenario, mode: Mode, seed: UInt64, workDir: String, progress: ((String) -> Void)?) throws -> RunResult {
        switch mode {
        case .inprocess:
            return try InProcessRun.run(s, seed: seed, boardPath: "Board/sim.toml", workDir: workDir, progress: progress)
        case .process, .firmware:
            return try ProcessRun.run(s, seed: seed, boardPath: "Board/sim.toml", workDir: workDir,
                                      firmware: mode == .firmware, progress: progress)
        }
    }

    struct Run: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Fly one scenario and judge it.")

        @Argument(help: "A scenario file, or a name in HIL/scenarios.") var scenario: String
        @Option(help: "inprocess, process (the host plumbd over the faked /dev) or firmware (the aarch64 plumbd under qemu).")
        var mode: Mode = .inprocess
        @Option(help: "Seed of the world's randomness.") var seed: UInt64 = 1
        @Option(help: "Write the report (CSV, SVG plots, index.html) into this directory.") var report: String?
        @Flag(help: "Print one JSON summary object on stdout instead of the text summary.") var json = false

        func run() throws {
            let s = try HIL.loadScenario(scenario)
            let work = report ?? NSTemporaryDirectory() + "plumb-hil-\(getpid())"
            let result = try HIL.fly(s, mode: mode, seed: seed, workDir: work + "/work",
                                     progress: json ? nil : { print($0); fflush(nil) })
            if let report {
                let index = try result.writeReport(to: report)
                if !json { print("report: \(index)") }
            }
            if json {
                print(result.summaryJSON())
            } else {
                printSummary(result)
            }
            if !result.judgement.passed { throw ExitCode(1) }
        }
    }

    struct Suite: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Fly every scenario in a directory (in-process) and judge each.")
        @Option(help: "Directory of scenario files.") var dir = "HIL/scenarios"
        @Option(help: "Seed.") var seed: UInt64 = 1
        @Option(help: "inprocess, process or firmware.") var mode: Mode = .inprocess

        func run() throws {
            let files = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasSuffix(".toml") }.sorted()
            var failed = 0
            for f in files {
                let s = try HIL.loadScenario(dir + "/" + f)
                let r = try HIL.fly(s, mode: mode, seed: seed, workDir: NSTemporaryDirectory() + "plumb-suite-\(getpid())", progress: nil)
                let j = r.judgement
                if !j.passed { failed += 1 }
                let bad = j.bounds.filter { !$0.passed }.map { (s.knownGaps.contains($0.name) ? "GAP " : "") + $0.name + "=" + ($0.value.map { String(format: "%.3f", $0) } ?? "n/a") + " > " + String(format: "%.3f", $0.limit) }
                _ = j.bounds.filter { !$0.passed }.map { "\($0.name)=\($0.value.map { String(format: "%.3f", $0) } ?? "n/a") > \($0.limit)" }
                print(String(format: "%@ %-22@ %-10@ (expected %-9@) %7.1f s sim, %6.0f× %@", j.passed ? "PASS" : "FAIL",
                             s.name, r.outcome, s.expectOutcome, r.simSeconds, r.simSeconds / max(r.wallSeconds, 1e-9),
                             bad.joined(separator: ", ")))
                fflush(nil)
            }
            print("\(files.count - failed) of \(files.count) scenario(s) passed")
            if failed > 0 { throw ExitCode(1) }
        }
    }
}

extension HIL {
    struct Sweep: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Fly one scenario over many seeds (in-process) and print the distribution of its errors.")
        @Argument(help: "A scenario file, or a name in HIL/scenarios.") var scenario: String
        @Option(help: "Number of seeds (1...N).") var seeds: Int = 50
        @Option(help: "Fail unless the landing error's 95th percentile is at most this (m).") var landingP95: Double?
        @Option(help: "Fail if any landing error is above this (m).") var landingMax: Double?
        @Option(help: "Fail unless the parcel error's 95th percentile is at most this (m).") var parcelP95: Double?
        @Flag(help: "One JSON object on stdout.") var json = false

        func run() throws {
            let s = try HIL.loadScenario(scenario)
            var landing: [Double] = []
            var parcel: [Double] = []
            var failedRuns = 0
            var simS = 0.0, wallS = 0.0
            for seed in 1...max(1, seeds) {
                let r = try InProcessRun.run(s, seed: UInt64(seed), boardPath: "Board/sim.toml",
                                             workDir: NSTemporaryDirectory() + "plumb-sweep-\(getpid())")
                if !r.judgement.passed { failedRuns += 1 }
                landing += r.sim.landings.map(\.errorM)
                parcel += r.sim.drops.map { $0.inStation ? $0.placementErrorM : .infinity }
                simS += r.simSeconds
                wallS += r.wallSeconds
            }
            func pct(_ a: [Double], _ p: Double) -> Double? {
                guard !a.isEmpty else { return nil }
                let b = a.sorted()
                return b[min(b.count - 1, Int((p * Double(b.count - 1)).rounded(.up)))]
            }
            func f(_ v: Double?) -> String { v.map { $0.isFinite ? String(format: "%.4f", $0) : "null" } ?? "null" }
            var ok = failedRuns == 0
            if let lim = landingP95, !((pct(landing, 0.95) ?? .infinity) <= lim) { ok = false }
            if let lim = landingMax, !((landing.max() ?? .infinity) <= lim) { ok = false }
            if let lim = parcelP95, !((pct(parcel, 0.95) ?? .infinity) <= lim) { ok = false }
            if json {
                print("{\"scenario\":\"\(s.name)\",\"runs\":\(seeds),\"failedRuns\":\(failedRuns),\"landings\":\(landing.count),\"landingP50M\":\(f(pct(landing, 0.5))),\"landingP95M\":\(f(pct(landing, 0.95))),\"landingMaxM\":\(f(landing.max())),\"drops\":\(parcel.count),\"parcelP50M\":\(f(pct(parcel, 0.5))),\"parcelP95M\":\(f(pct(parcel, 0.95))),\"parcelMaxM\":\(f(parcel.max())),\"speedRatio\":\(f(simS / max(wallS, 1e-9))),\"passed\":\(ok)}")
            } else {
                print("\(s.name): \(seeds) seeds, \(failedRuns) run(s) failed their scenario")
                print("  landing error (m), \(landing.count) landings: p50 \(f(pct(landing, 0.5)))  p95 \(f(pct(landing, 0.95)))  max \(f(landing.max()))")
                if !parcel.isEmpty {
                    print("  parcel error (m), \(parcel.count) drops: p50 \(f(pct(parcel, 0.5)))  p95 \(f(pct(parcel, 0.95)))  max \(f(parcel.max()))")
                }
                print(String(format: "  %.0f s simulated in %.1f s (%.0f× real time)", simS, wallS, simS / max(wallS, 1e-9)))
            }
            if !ok { throw ExitCode(1) }
        }
    }
}

func printSummary(_ r: RunResult) {
    let j = r.judgement
    print("\(r.sim.scenario.name) [\(r.mode), seed \(r.sim.seed)]: \(r.outcome) (expected \(r.sim.scenario.expectOutcome)) — \(j.passed ? "PASSED" : "FAILED")")
    for b in j.bounds {
        let v = b.value.map { $0.isFinite ? String(format: "%.3f", $0) : "missed" } ?? "n/a"
        let gap = !b.passed && r.sim.scenario.knownGaps.contains(b.name)
        print("  \(b.passed ? "ok  " : (gap ? "GAP " : "FAIL")) \(b.name): \(v) (limit \(String(format: "%.3f", b.limit)))")
    }
    if !r.sim.scenario.knownGaps.isEmpty {
        print("  known gap: \(r.sim.scenario.knownGaps.joined(separator: ", ")) — \(r.sim.scenario.knownGapReason)")
    }
    print(String(format: "  %.1f s simulated in %.2f s (%.0f× real time)", r.simSeconds, r.wallSeconds, r.simSeconds / max(r.wallSeconds, 1e-9)))
}
