import Foundation
@testable import PlumbHIL

/// The package root (tests run from it under `swift test`; found from this file otherwise).
let root: String = {
    var url = URL(fileURLWithPath: #filePath)
    for _ in 0..<3 { url.deleteLastPathComponent() }
    return url.path
}()

/// A shipped scenario, HIL/scenarios/NAME.toml.
func scenario(_ name: String) throws -> Scenario {
    let path = root + "/HIL/scenarios/\(name).toml"
    let (s, errors) = Scenario.parse(try String(contentsOfFile: path, encoding: .utf8), file: path)
    guard let s else { throw HILError.scenario(errors.joined(separator: "\n")) }
    return s
}
