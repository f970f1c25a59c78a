import ArgumentParser
import Foundation
import PlumbDevices

struct Ubx: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "u-blox receiver streams.",
        subcommands: [Decode.self]
    )

    struct Decode: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Decode a raw receiver stream: one JSON object per NAV-PVT on stdout, counts on stderr.")

        @Argument(help: "A file holding the raw stream, or - for stdin.") var file: String

        func run() throws {
            let handle: FileHandle
            if file == "-" {
                handle = FileHandle.standardInput
            } else {
                guard let h = FileHandle(forReadingAtPath: file) else {
                    throw ValidationError("cannot open \(file)")
                }
                handle = h
            }
            var parser = UBXParser(capacity: 1024)
            var out = ""
            while true {
                let data = handle.readData(ofLength: 64 * 1024)
                if data.isEmpty { break }
                for byte in data where parser.feed(byte) {
                    guard parser.classID == UBX.Class.nav, parser.messageID == UBX.ID.navPVT,
                          let pvt = parser.withPayload({ NavPVT.decode($0) }) else { continue }
                    out += navPVTJSON(pvt) + "\n"
                    if out.utf8.count > 64 * 1024 {
                        FileHandle.standardOutput.write(Data(out.utf8))
                        out = ""
                    }
                }
            }
            FileHandle.standardOutput.write(Data(out.utf8))
            let s = parser.stats
            FileHandle.standardError.write(Data(
                "frames \(s.frames), bad checksum \(s.badChecksum), oversize \(s.oversize), bytes outside frames \(s.bytesSkipped), NMEA sentences \(s.nmeaSentences)\n".utf8))
        }
    }
}

func navPVTJSON(_ p: NavPVT) -> String {
    func n(_ v: Double) -> String { v.isFinite ? "\(v)" : "null" }
    return "{\"iTOW\":\(p.iTOWMs),\"fixType\":\(p.fixTypeRaw),\"carrSoln\":\(p.carrierSolution.rawValue),"
        + "\"numSV\":\(p.numSV),\"lat\":\(n(p.latitudeDeg)),\"lon\":\(n(p.longitudeDeg)),"
        + "\"heightM\":\(n(p.heightM)),\"hMSLM\":\(n(p.hMSLM)),\"hAccM\":\(n(p.hAccM)),\"vAccM\":\(n(p.vAccM)),"
        + "\"velN\":\(n(p.velNMps)),\"velE\":\(n(p.velEMps)),\"velD\":\(n(p.velDMps)),"
        + "\"gSpeed\":\(n(p.groundSpeedMps)),\"headMot\":\(n(p.headingOfMotionDeg))}"
}
