import Foundation

/// Runs a scenario against the unchanged daemon over the faked /dev (filled in below).
public struct ProcessRun {
    public static func run(_ scenario: Scenario, seed: UInt64, boardPath: String, workDir: String, firmware: Bool,
                           progress: ((String) -> Void)?) throws -> RunResult {
        throw HILError.setup("process mode: not available yet")
    }
}
