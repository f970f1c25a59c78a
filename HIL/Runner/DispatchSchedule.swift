import PlumbLink

/// What the simulated dispatch server sends and when, decided the same way in every mode:
/// at each moment the daemon sleeps (the end of a tick), its heartbeat once a second and,
/// once the mission is stored, the start command at the scenario's `dispatch.start_s`,
/// then the scenario's own commands at their times.
/// Nothing is sent while the scenario's `dispatch_link` fault holds the link down. The
/// daemon acts on both at its next tick; the in-process mode does the same.
public struct DispatchSchedule {
    public static let heartbeatPeriodNs: UInt64 = 1_000_000_000
    public let startNs: UInt64
    /// Whether the start command is sent at all (missions from a file start themselves).
    public let sendsStart: Bool
    public private(set) var nextHeartbeatNs: UInt64 = 0
    public private(set) var startSent = false

    private var commands: [(atNs: UInt64, kind: CommandKind)]

    public init(startS: Double, sendsStart: Bool, commands: [(name: String, atS: Double, kind: CommandKind)] = []) {
        startNs = UInt64((startS * 1e9).rounded())
        self.sendsStart = sendsStart
        self.commands = commands.map { (UInt64(($0.atS * 1e9).rounded()), $0.kind) }
    }

    /// Scenario commands due at `nowNs` (each once; held back while the link is down).
    public mutating func commandsDue(nowNs: UInt64, linkUp: Bool) -> [CommandKind] {
        guard linkUp else { return [] }
        var out: [CommandKind] = []
        while let first = commands.first, first.atNs <= nowNs {
            out.append(first.kind)
            commands.removeFirst()
        }
        return out
    }

    /// At `nowNs`: whether the heartbeat and the start command go out now.
    public mutating func due(nowNs: UInt64, linkUp: Bool, missionStored: Bool) -> (heartbeat: Bool, start: Bool) {
        var heartbeat = false
        if nowNs >= nextHeartbeatNs {
            heartbeat = linkUp
            nextHeartbeatNs += DispatchSchedule.heartbeatPeriodNs
            if nextHeartbeatNs <= nowNs { nextHeartbeatNs = nowNs + DispatchSchedule.heartbeatPeriodNs }
        }
        var start = false
        if sendsStart && !startSent && linkUp && missionStored && nowNs >= startNs {
            startSent = true
            start = true
        }
        return (heartbeat, start)
    }
}
