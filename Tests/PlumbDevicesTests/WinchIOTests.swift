import Testing
import PlumbHAL
@testable import PlumbDevices

final class TestOutput: GPIOOutput {
    let safeLevel: Bool
    private(set) var lastLevel: Bool? = nil
    var failWrites = false
    var history: [Bool] = []
    init(safe: Bool) { safeLevel = safe }
    func set(_ active: Bool) throws(GPIOError) {
        if failWrites { throw GPIOError.ioFailed(line: 0, errno: 5) }
        lastLevel = active
        history.append(active)
    }
}

final class TestInput: GPIOInput {
    var levelNow = false
    var edges: [GPIOEdge] = []
    var fail = false
    func level() throws(GPIOError) -> Bool {
        if fail { throw GPIOError.ioFailed(line: 1, errno: 5) }
        return levelNow
    }
    func nextEdge() throws(GPIOError) -> GPIOEdge? {
        if fail { throw GPIOError.ioFailed(line: 1, errno: 5) }
        return edges.isEmpty ? nil : edges.removeFirst()
    }
}

let ms: UInt64 = 1_000_000

typealias CutterFailure = RopeCutter<TestOutput>.Failure

/// Expects `body` to fail with `expected` (typed throws, so no catch-all).
func expectFailure(_ expected: CutterFailure, sourceLocation: SourceLocation = #_sourceLocation,
                   _ body: () throws(CutterFailure) -> Void) {
    do {
        try body()
        Issue.record("no failure; expected \(expected)", sourceLocation: sourceLocation)
    } catch {
        #expect(error == expected, sourceLocation: sourceLocation)
    }
}

@Suite struct RopeCutterSafety {
    func cutter() -> (RopeCutter<TestOutput>, TestOutput, TestOutput) {
        let arm = TestOutput(safe: false), fire = TestOutput(safe: false)
        return (RopeCutter(arm: arm, fire: fire, armDelayNs: 200 * ms, armWindowNs: 5000 * ms,
                           pulseNs: 500 * ms, minIntervalNs: 10_000 * ms), arm, fire)
    }

    @Test func fireNeedsArmingFirst() {
        var (c, _, fire) = cutter()
        expectFailure(.notArmed) { () throws(CutterFailure) in try c.fireCutter(nowNs: 1000 * ms) }
        #expect(fire.lastLevel == nil)
    }

    @Test func armThenFireAfterTheDelayThenSafe() throws {
        var (c, arm, fire) = cutter()
        try c.armCutter(nowNs: 1000 * ms)
        #expect(arm.lastLevel == true)
        expectFailure(.armDelayNotElapsed) { () throws(CutterFailure) in try c.fireCutter(nowNs: 1100 * ms) }
        #expect(fire.lastLevel == nil)
        try c.fireCutter(nowNs: 1300 * ms)
        #expect(fire.lastLevel == true)
        c.update(nowNs: 1700 * ms)
        #expect(fire.lastLevel == true)        // the pulse is 500 ms
        c.update(nowNs: 1800 * ms)
        #expect(fire.lastLevel == false)
        #expect(arm.lastLevel == false)
        #expect(c.state == .safe)
        #expect(c.fires == 1)
    }

    @Test func armingExpiresAndFiresAreSpaced() throws {
        var (c, arm, _) = cutter()
        try c.armCutter(nowNs: 0)
        c.update(nowNs: 5001 * ms)
        #expect(c.state == .safe)
        #expect(arm.lastLevel == false)
        try c.armCutter(nowNs: 6000 * ms)
        try c.fireCutter(nowNs: 6300 * ms)
        c.update(nowNs: 7000 * ms)
        try c.armCutter(nowNs: 8000 * ms)
        expectFailure(.tooSoonAfterLastFire) { () throws(CutterFailure) in try c.fireCutter(nowNs: 8300 * ms) }
        // Ten seconds after the last fire, but the arming (8.0 s) has expired by then.
        expectFailure(.armWindowExpired) { () throws(CutterFailure) in try c.fireCutter(nowNs: 16_400 * ms) }
        try c.armCutter(nowNs: 16_500 * ms)
        try c.fireCutter(nowNs: 16_700 * ms)
        #expect(c.fires == 2)
    }

    @Test func aFailingFireLineLeavesEverythingSafe() throws {
        var (c, arm, fire) = cutter()
        try c.armCutter(nowNs: 0)
        fire.failWrites = true
        #expect(throws: RopeCutter<TestOutput>.Failure.line(.ioFailed(line: 0, errno: 5))) { try c.fireCutter(nowNs: 300 * ms) }
        #expect(arm.lastLevel == false)
        #expect(c.state == .safe)
    }
}

@Suite struct Switches {
    @Test func debouncedOnKernelTimestamps() {
        let input = TestInput()
        var sw = SwitchInput(input: input, debounceNs: 20 * ms)
        let first = sw.poll(nowNs: 0)                  // first poll reads the level
        #expect(first)
        #expect(sw.stable == false)
        // A bounce: on, off, on within 5 ms; settles on.
        input.edges = [GPIOEdge(rising: true, timestampNs: 100 * ms), GPIOEdge(rising: false, timestampNs: 102 * ms),
                       GPIOEdge(rising: true, timestampNs: 105 * ms)]
        let early = sw.poll(nowNs: 110 * ms)           // not yet held for 20 ms
        #expect(!early)
        #expect(sw.stable == false)
        let settled = sw.poll(nowNs: 126 * ms)
        #expect(settled)
        #expect(sw.stable == true)
        #expect(sw.stableSinceNs == 105 * ms)
    }

    @Test func lineErrorsReachHealthAndRecover() {
        let input = TestInput()
        var sw = SwitchInput(input: input)
        input.fail = true
        for t in 1...3 { _ = sw.poll(nowNs: UInt64(t) * ms) }
        #expect(sw.health.state(at: 3 * ms) == .failed)
        input.fail = false
        _ = sw.poll(nowNs: 4 * ms)
        #expect(sw.health.state(at: 4 * ms) == .ok)
    }
}

@Suite struct BusBudgetSchedule {
    @Test func everyTickStaysWithinBudgetAndEveryDeviceIsServed() {
        var s = PollSchedule(budgetNs: 4_000_000)
        let gnss = s.add(periodTicks: 5, costNs: 3_100_000)
        let enc = s.add(periodTicks: 1, costNs: 150_000)
        let cell = s.add(periodTicks: 1, costNs: 230_000)
        let bat = s.add(periodTicks: 10, costNs: 1_500_000)
        #expect(gnss != nil && enc != nil && cell != nil && bat != nil)
        var served = [Int](repeating: 0, count: 4)
        for tick in 0..<1000 as Range<UInt64> {
            let due = s.due(tick: tick)
            #expect(s.cost(of: due) <= 4_000_000)
            for i in 0..<4 where due & (1 << UInt32(i)) != 0 { served[i] += 1 }
        }
        #expect(served[0] >= 190)      // ~every 5 ticks, sometimes deferred
        #expect(served[1] >= 990)
        #expect(served[2] >= 990)
        #expect(served[3] >= 95)
    }

    @Test func aPollThatCanNeverFitIsRefused() {
        var s = PollSchedule(budgetNs: 1_000_000)
        #expect(s.add(periodTicks: 1, costNs: 2_000_000) == nil)
    }
}

@Suite struct TimePulse {
    @Test func ppsLocksGPSTimeToTheMonotonicClock() {
        var d = GNSSTimeDiscipline()
        var pvt = NavPVT(iTOWMs: 345_600_080, year: 2026, month: 11, day: 23, hour: 0, minute: 0, second: 0,
                         valid: 0x07, timeAccuracyNs: 20, nano: 0, fixTypeRaw: 3, flags: 1, numSV: 12,
                         lon1e7: 0, lat1e7: 0, heightMm: 0, hMSLMm: 0, hAccMm: 0, vAccMm: 0, velNMmps: 0,
                         velEMmps: 0, velDMmps: 0, gSpeedMmps: 0, headMot1e5: 0, sAccMmps: 0, pDOP100: 0)
        d.navigation(pvt, readAtNs: 5_080 * ms)
        #expect(d.timeOfWeekMs(atNs: 0) == nil)        // no pulse yet
        d.pulse(atNs: 5_000 * ms)                       // top of second 345600
        d.navigation(pvt, readAtNs: 5_080 * ms)
        #expect(d.timeOfWeekMs(atNs: 5_000 * ms) == 345_600_000)
        #expect(d.timeOfWeekMs(atNs: 5_250 * ms) == 345_600_250)
        pvt.valid = 0
        var e = GNSSTimeDiscipline()
        e.pulse(atNs: 0)
        e.navigation(pvt, readAtNs: 10 * ms)
        #expect(e.timeOfWeekMs(atNs: 0) == nil)        // time not valid: no lock
    }
}
