import CLinux
import PlumbHAL

/// Why the control loop stopped.
public enum LoopExit: Equatable {
    case signal(SignalRequest)
    case tickLimit
    case failure(String)
}

public struct LoopSummary {
    public var exit: LoopExit
    public var accounting: TickAccounting
    /// Outputs that could not be put at their safe level on the way out.
    public var unsafeOutputs: Int
}

/// Puts every output at its safe level; returns how many refused (each is logged).
public func applySafeOutputs<Output: GPIOOutput>(_ outputs: [Output], log: Log) -> Int {
    var failures = 0
    for (i, o) in outputs.enumerated() {
        do {
            try o.setSafe()
        } catch {
            failures += 1
            log.error("output \(i): cannot set its safe level: \(describe(error))")
        }
    }
    return failures
}

/// The daemon's single-threaded loop: one `ppoll` over the ticker, the signalfd and the
/// `inputs`. Each tick runs `tick(n)` once, timed against the budget; SIGTERM/SIGINT put
/// every output at its safe level and return. SIGHUP calls `reload` once (however many
/// arrived together, and not at all when a stop request came with them), between two
/// ticks: what it changes takes effect at a tick boundary. It may change the loop's own
/// log level. `maxTicks` (0 = unbounded) exists for tests and benchmarks.
///
/// `inputs` are further descriptors (sockets, serial ports, GPIO edge fds); when one is
/// readable, `readable(i)` is called with its index, before the tick.
public func runControlLoop<Output: GPIOOutput>(
    ticker: TimerfdTicker, signals: SignalSource, outputs: [Output], maxTicks: UInt64,
    log: Log, inputs: [Int32] = [], readable: (Int) -> Void = { _ in },
    reload: (inout Log) -> Void = { _ in }, tick: (UInt64) -> Void
) -> LoopSummary {
    var log = log
    let loop = EventLoop(capacity: 2 + inputs.count)
    let clock = LinuxClock()
    guard let tickerToken = loop.add(fd: ticker.fd), let signalToken = loop.add(fd: signals.fd) else {
        let failed = applySafeOutputs(outputs, log: log)
        return LoopSummary(exit: .failure("event loop is full"), accounting: ticker.accounting, unsafeOutputs: failed)
    }
    var inputTokens: [Int] = []
    for fd in inputs {
        if let t = loop.add(fd: fd) { inputTokens.append(t) } else { inputTokens.append(-1) }
    }
    var exit: LoopExit? = nil
    var ticks: UInt64 = 0
    while exit == nil {
        let ready: UInt64
        do {
            ready = try loop.wait(timeoutNs: Int64(ticker.periodNs) * 4)
        } catch {
            exit = .failure("poll: " + describe(error))
            break
        }
        if ready & (1 << UInt64(signalToken)) != 0 {
            // Drain every pending signal; a terminate wins over a reload.
            var drained = 0
            var reloadRequested = false
            while drained < 8 {
                drained += 1
                let request: SignalRequest?
                do { request = try signals.next() } catch { break }
                guard let request else { break }
                switch request {
                case .terminate, .interrupt:
                    exit = .signal(request)
                case .reload:
                    reloadRequested = true
                }
            }
            if exit != nil { break }
            if reloadRequested { reload(&log) }
        }
        for (i, token) in inputTokens.enumerated() where token >= 0 && ready & (1 << UInt64(token)) != 0 {
            readable(i)
        }
        if ready & (1 << UInt64(tickerToken)) != 0 {
            let expirations: UInt64
            do {
                expirations = try ticker.acknowledge()
            } catch {
                exit = .failure("ticker: timerfd read failed")
                break
            }
            if expirations == 0 { continue }
            if expirations > 1 {
                log.debug("tick \(ticks): \(expirations - 1) period(s) missed")
            }
            let start = clock.nowNs()
            tick(ticks)
            ticker.recordWork(ns: clock.nowNs() &- start)
            ticks += 1
            if maxTicks > 0 && ticks >= maxTicks { exit = .tickLimit }
        }
    }
    let failed = applySafeOutputs(outputs, log: log)
    return LoopSummary(exit: exit ?? .failure("unknown"), accounting: ticker.accounting, unsafeOutputs: failed)
}
