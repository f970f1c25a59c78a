import ArgumentParser
import Foundation
import PlumbHIL
import PlumbLinux

/// `plumb log`: the flight recorder's files (docs/flight-log.md) read back.
struct LogCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "log",
        abstract: "Read the flight recorder's logs: summary, CSV export, plots.",
        subcommands: [Info.self, Export.self, Plot.self])

    static func load(_ path: String, session: UInt32?) throws -> FlightLog {
        do {
            return try FlightLog.load(path, session: session)
        } catch let e as FlightLogError {
            FileHandleOut.stderr(e.description)
            throw ExitCode(PlumbLinux.ExitCode.noInput.rawValue)
        }
    }

    struct Info: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Duration, ticks, rate, phases with their times, events, and any damage or torn tail.")
        @Argument(help: "A log file, or the recorder's directory (every session in it is summarised).") var path: String

        func run() throws {
            var isDir: ObjCBool = false
            if FileManager.default.fileExists(atPath: path, isDirectory: &isDir), isDir.boolValue {
                let sessions = try FlightLog.sessions(inDirectory: path)
                if sessions.isEmpty {
                    FileHandleOut.stderr("\(path): no flight log files (flight-*.plog)")
                    throw ExitCode(PlumbLinux.ExitCode.noInput.rawValue)
                }
                for (i, s) in sessions.enumerated() {
                    if i > 0 { print("") }
                    print(try FlightLog.load(files: s.files).info(), terminator: "")
                }
            } else {
                print(try LogCommand.load(path, session: nil).info(), terminator: "")
            }
        }
    }

    struct Export: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Every tick as CSV: time, each field (bits as 0/1 columns, enums by name), the GNSS solution of that tick.")
        @Argument(help: "A log file, or the recorder's directory (its last session).") var path: String
        @Option(help: "Write the CSV here (default: standard output).") var out: String?
        @Option(help: "Also write the mission events and autopilot commands as CSV here.") var events: String?
        @Option(help: "With a directory: the session to read (plumb log info lists them).") var session: UInt32?

        func run() throws {
            let log = try LogCommand.load(path, session: session)
            let csv = log.exportCSV()
            if let out {
                try csv.write(toFile: out, atomically: true, encoding: .utf8)
            } else {
                print(csv, terminator: "")
            }
            if let events { try log.eventsCSV().write(toFile: events, atomically: true, encoding: .utf8) }
        }
    }

    struct Plot: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "The HIL report's plots of a flight (track, altitude and vertical speed, rope, battery, mission states), its CSV and an index.html.")
        @Argument(help: "A log file, or the recorder's directory (its last session).") var path: String
        @Option(help: "Directory to write the report into.") var out = "flight-report"
        @Option(help: "With a directory: the session to read.") var session: UInt32?

        func run() throws {
            let log = try LogCommand.load(path, session: session)
            _ = try log.writeReport(to: out, title: log.title)
            print("report: \(out)/index.html")
        }
    }
}
