import ArgumentParser
import PlumbCore
import PlumbHAL
import PlumbLinux

// The host tool: not shipped on the drone. It grows a subcommand per capability
// (hil, dispatch, log, ubx ...); the Foundation gives it config and board checks.

@main
struct Plumb: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plumb",
        abstract: "Plumbline host tool: board and config files (simulation, dispatch and logs as they land).",
        version: "0.1.0",
        subcommands: [Board.self, ConfigCommand.self, Ubx.self, BusBudget.self, Dispatch.self, Bench.self, HIL.self, LogCommand.self]
    )
}

struct Board: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Board files: validate them and show their wiring.",
        subcommands: [Check.self, Show.self]
    )

    static func load(_ nameOrPath: String) throws -> (String, BoardDescription) {
        guard let path = resolveBoard(nameOrPath) else {
            FileHandleOut.stderr("board '\(nameOrPath)' not found in: \(boardSearchPath().joined(separator: " "))")
            throw ExitCode(PlumbLinux.ExitCode.noInput.rawValue)
        }
        let loaded = loadBoard(path)
        for e in loaded.errors { FileHandleOut.stderr(e) }
        guard let board = loaded.value else { throw ExitCode(PlumbLinux.ExitCode.config.rawValue) }
        return (path, board)
    }

    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Validate board files; print every error.")
        @Argument(help: "Board names (looked up as plumbd does) or paths.") var boards: [String]

        func run() throws {
            var failed = 0
            for b in boards {
                do {
                    let (path, board) = try Board.load(b)
                    print("\(path): ok (\(board.name))")
                } catch {
                    failed += 1
                }
            }
            if failed > 0 { throw ExitCode(PlumbLinux.ExitCode.config.rawValue) }
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print a board's wiring as Markdown tables.")
        @Argument(help: "Board name or path.") var board: String

        func run() throws {
            let (_, b) = try Board.load(board)
            print(wiringMarkdown(b))
        }
    }
}

enum FileHandleOut {
    static func stderr(_ line: String) { writeAll(fd: 2, line + "\n") }
}

/// The wiring tables that the operator guide shows for each board.
func wiringMarkdown(_ b: BoardDescription) -> String {
    var out = "### \(b.name): \(b.summary)\n\n"
    out += "| I2C bus | device | clock |\n|---|---|---|\n"
    for bus in b.buses { out += "| \(bus.name) | `\(bus.device)` | \(bus.clockHz / 1000) kHz |\n" }
    out += "\n| device | chip | bus | address | required |\n|---|---|---|---|---|\n"
    for d in b.devices {
        out += "| \(d.role) | \(d.kind.name) | \(d.bus) | \(formatHex(d.address)) | \(d.required ? "yes" : "no") |\n"
    }
    out += "\n| GPIO | chip | line | active low | direction |\n|---|---|---|---|---|\n"
    for l in b.gpio {
        let dir: String
        switch l.direction {
        case .input(let e): dir = "input, edges: \(e.name)"
        case .output(let safe): dir = "output, safe: \(safe ? "active" : "inactive")"
        }
        out += "| \(l.role) | \(l.chip) | \(l.line) | \(l.activeLow ? "yes" : "no") | \(dir) |\n"
    }
    if !b.pwm.isEmpty {
        out += "\n| PWM | device | channel | pulse (us) | safe (us) |\n|---|---|---|---|---|\n"
        for p in b.pwm {
            out += "| \(p.role) | \(p.device) | \(p.channel) | \(p.minPulseUs)–\(p.maxPulseUs) | \(p.safePulseUs) |\n"
        }
    }
    if !b.serial.isEmpty {
        out += "\n| serial | device | baud |\n|---|---|---|\n"
        for s in b.serial { out += "| \(s.role) | `\(s.device)` | \(s.baud) |\n" }
    }
    return out
}
