import PlumbCore

/// The mission state machine: preflight, take-off, transit, precision landing or rope
/// drop at each leg, return, landing at home; with the failsafes as explicit policies.
/// Sans-I/O: `step` takes the tick's snapshot and the autopilot's view and returns what
/// to command. It allocates nothing per tick (events go to a fixed ring).
public struct Mission {
    /// How to fly. `retune` replaces it between two steps (a config reload).
    public private(set) var config: FlightConfig
    public private(set) var plan: MissionPlan
    public private(set) var phase: MissionPhase = .idle
    public private(set) var outcome: MissionOutcome = .none
    public private(set) var legIndex = 0
    public private(set) var frame: FrameEstimator
    public private(set) var rope = RopeEstimator()
    /// The camera's sightings of the target and the parcel (nothing without a camera).
    public private(set) var vision = VisionTracker()
    /// Deliveries made and not made (skipped, failed).
    public private(set) var delivered = 0
    public private(set) var notDelivered = 0
    public private(set) var phaseSinceNs: UInt64 = 0
    /// The last horizontal error to the current target (m), for telemetry and tests.
    public private(set) var targetErrorM: Double = 0
    /// Height above the current target's ground (m), from the estimate.
    public private(set) var heightAboveTargetM: Double = 0
    /// Hanging weight measured before lowering, N.
    public private(set) var parcelWeightN: Double = 0
    /// Projected charge on landing at home, %, from the energy model (−1 unknown).
    public private(set) var projectedLandingPct: Double = -1
    /// Battery reserve now in force, %.
    public private(set) var reservePct: Double = 20

    // Events since the caller last drained them.
    private var ring: [MissionEvent]
    private var ringHead = 0
    private var ringCount = 0
    public private(set) var droppedEvents = 0

    // Working state.
    private var nowNs: UInt64 = 0
    private var lastStepNs: UInt64 = 0
    private var lastCommandNs: UInt64 = 0
    private var timerNs: UInt64 = 0       // a phase's own stopwatch (0 = not running)
    private var timer2Ns: UInt64 = 0
    private var descentD: Double = 0
    private var retries = 0
    private var attempts = 0
    private var hoverThrottle: Double = 0.5
    private var currentA: Double = 0
    private var weighSum: Double = 0
    private var weighCount = 0
    private var released = false
    private var afterRetractReturn = false
    private var returning = false
    private var snagPayoutStartM: Double = 0
    private var apLostSinceNs: UInt64 = 0
    private var apWasLost = false
    private var phaseBeforeLoss: MissionPhase = .idle
    private var gnssLostSinceNs: UInt64 = 0
    private var batteryLostSinceNs: UInt64 = 0
    private var holdPoint = NED.zero
    private var holdValid = false
    private var wasRTK = true
    private var touchdownCount = 0
    private var takeoffGroundD: Double = 0
    private var earlyNs: UInt64 = 0
    private var releaseUnverified = false
    private var releasedAtL: Double = 0
    /// The phase a dispatch pause interrupted (resumed from its start).
    private var pausedFrom: MissionPhase? = nil
    private var startedNs: UInt64 = 0
    /// The parcel has passed the entry gate above the roof (this lowering).
    private var entryPassed = false
    /// Where the vehicle holds once the parcel is down (the last swing-control setpoint).
    private var dropHold: NED? = nil
    private var entryWaitNs: UInt64 = 0
    private var entryBackingUp = false
    private var entryRetries = 0
    /// Where the vehicle was during the drop: the reel-in holds there.
    private var retractHold: NED? = nil
    /// The vehicle's height (down) and the rope's length when the winch stopped on the
    /// parcel's touchdown: the rope is kept slack from there until the hook is open.
    private var slackFromD: Double? = nil
    private var slackFromL: Double = 0

    /// The daemon has a dispatch link: its silence is a failsafe (`failsafe.dispatch_lost`).
    public var dispatchWatched = false
    /// When dispatch was last heard (its heartbeat); 0 = not since the flight started.
    public private(set) var dispatchHeardNs: UInt64 = 0
    private var dispatchLostActed = false

    public init(config: FlightConfig, plan: MissionPlan, eventCapacity: Int = 64) {
        self.config = config
        self.plan = plan
        frame = FrameEstimator(reference: plan.home)
        ring = [MissionEvent](repeating: MissionEvent(timeNs: 0, phase: .idle, note: .none, leg: 0), count: max(8, eventCapacity))
    }

    /// A config reload: the tunable keys' new values, from the next step on. The flight
    /// goes on where it is; every bound, speed and policy is read afresh at each step.
    public mutating func retune(_ c: FlightConfig) {
        config = c
    }

    // MARK: events

    public mutating func nextEvent() -> MissionEvent? {
        guard ringCount > 0 else { return nil }
        let i = (ringHead + ring.count - ringCount) % ring.count
        ringCount -= 1
        return ring[i]
    }

    private mutating func emit(_ note: MissionNote, _ value: Double = 0) {
        if ringCount == ring.count { droppedEvents += 1; ringCount -= 1 }
        ring[ringHead] = MissionEvent(timeNs: nowNs, phase: phase, note: note, leg: legIndex, value: value)
        ringHead = (ringHead + 1) % ring.count
        ringCount += 1
    }

    private mutating func enter(_ p: MissionPhase, _ note: MissionNote = .none, _ value: Double = 0) {
        if p != .hold { pausedFrom = nil }
        phase = p
        phaseSinceNs = nowNs
        timerNs = 0
        timer2Ns = 0
        emit(note, value)
    }

    private func inPhaseS() -> Double { Math.seconds(from: phaseSinceNs, to: nowNs) }

    // MARK: commands from outside

    /// Starts the flight (dispatch's start command, or auto-start). False when a flight is
    /// already under way.
    @discardableResult
    public mutating func start(nowNs t: UInt64) -> Bool {
        guard phase == .idle else { return false }
        nowNs = t
        startedNs = t
        enter(.preflight, .started)
        return true
    }

    /// Dispatch: skip the current delivery (the rope is brought in first). False when there
    /// is no flight to change.
    @discardableResult
    public mutating func abortDelivery() -> Bool {
        guard phase != .idle && phase != .done && phase != .autopilotLost else { return false }
        emit(.abortRequested)
        if notFlying { abortOnGround(); return true }
        skipLeg()
        return true
    }

    /// Dispatch: return home now. False when there is no flight to change.
    @discardableResult
    public mutating func returnHome() -> Bool {
        guard phase != .idle && phase != .done && phase != .autopilotLost && phase != .landNow else { return false }
        emit(.returnRequested)
        if notFlying { abortOnGround(); return true }
        if phase == .hold { resumeFromPause() }
        goHome()
        return true
    }

    /// Dispatch: hold where it is. Only while flying with the rope in (transit, approach,
    /// landing alignment and descent); false otherwise, and nothing changes.
    @discardableResult
    public mutating func pause() -> Bool {
        let pausable: Bool
        switch phase {
        case .transit, .dropAlign, .align, .descend, .goAround: pausable = true
        default: pausable = false
        }
        guard pausable else { return false }
        let from: MissionPhase = phase == .descend || phase == .goAround ? .align : phase
        holdValid = false
        enter(.hold, .paused)
        pausedFrom = from
        return true
    }

    /// Dispatch: carry on after a pause, from the start of the interrupted phase.
    @discardableResult
    public mutating func resume() -> Bool {
        guard phase == .hold, pausedFrom != nil else { return false }
        resumeFromPause()
        return true
    }

    private mutating func resumeFromPause() {
        guard let from = pausedFrom else { return }
        pausedFrom = nil
        holdValid = false
        enter(from, .resumed)
    }

    /// The dispatch link is alive (its heartbeat arrived).
    public mutating func dispatchHeard(nowNs t: UInt64) {
        dispatchHeardNs = t
        if dispatchLostActed {
            dispatchLostActed = false
            nowNs = t
            emit(.dispatchBack)
        }
    }

    /// Phases on the ground (or landing) where a leg change or a return cannot be flown.
    private var notFlying: Bool {
        phase == .preflight || phase == .arming || phase == .touchdown || phase == .onPad
    }

    private mutating func abortOnGround() {
        guard phase == .preflight || phase == .arming else { return }   // on a pad: the flight goes on from there
        outcome = .aborted
        enter(.done, .abortRequested)
    }

    /// Dispatch: land where it is. False when not flying.
    @discardableResult
    public mutating func landNow() -> Bool {
        guard phase != .idle && phase != .done && phase != .autopilotLost && phase != .landNow else { return false }
        emit(.landRequested)
        pausedFrom = nil
        enter(.landNow)
        return true
    }

    /// The plan may be replaced only before the flight starts.
    public mutating func replacePlan(_ p: MissionPlan) -> Bool {
        guard phase == .idle || phase == .done else { return false }
        let watched = dispatchWatched
        self = Mission(config: config, plan: p, eventCapacity: ring.count)
        dispatchWatched = watched
        return true
    }

    // MARK: helpers

    private var leg: MissionLeg? { legIndex < plan.legs.count ? plan.legs[legIndex] : nil }

    /// The target of what is being flown now (home when returning).
    private var target: MissionLeg {
        if returning || legIndex >= plan.legs.count { return MissionLeg(kind: .land, target: plan.home) }
        return plan.legs[legIndex]
    }

    private func dropAltitude(_ l: MissionLeg) -> Double { l.dropAltitudeM > 0 ? l.dropAltitudeM : config.dropAltitudeM }

    private func clampCeiling(_ p: NED) -> NED {
        let homeD = frame.toLocal(plan.home).d
        var q = p
        let top = homeD - (config.ceilingM - 5)
        if q.d < top { q.d = top }
        return q
    }

    private mutating func command(_ c: FlightCommand, _ out: inout FlightOutputs, everyS: Double = 1.0) {
        if lastCommandNs == 0 || Math.seconds(from: lastCommandNs, to: nowNs) >= everyS {
            out.command = c
            lastCommandNs = nowNs
        }
    }

    private mutating func hold(_ ap: AutopilotView, _ out: inout FlightOutputs) {
        if !holdValid {
            holdPoint = ap.position
            holdValid = true
        }
        out.setpoint = holdPoint
    }

    private mutating func skipLeg() {
        guard phase != .idle && phase != .done && !notFlying else { return }
        // Already bringing the rope in from an abandoned leg: nothing more to skip.
        if phase == .retract || phase == .snagRecovery || phase == .cutRope { return }
        if returning { return }
        notDelivered += 1
        if rope.lengthM > 0.1 || phase == .lower || phase == .settle || phase == .release {
            afterRetractReturn = false
            released = false
            attempts = 0
            legIndex += 1
            enter(.retract)
            return
        }
        legIndex += 1
        nextLeg()
    }

    private mutating func goHome() {
        guard phase != .idle && phase != .done && phase != .landNow && !notFlying else { return }
        // Deliveries not yet made are not made (a parcel already released counts as made).
        let retracting = phase == .retract || phase == .snagRecovery || phase == .cutRope
        if !returning {
            let from = min(legIndex + (retracting && released ? 1 : 0), plan.legs.count)
            for l in plan.legs[from...] where l.kind != .waypoint { notDelivered += 1 }
        }
        legIndex = plan.legs.count
        returning = true
        if retracting {
            afterRetractReturn = true
            return
        }
        if rope.lengthM > 0.1 || phase == .lower || phase == .settle || phase == .release {
            afterRetractReturn = true
            released = false
            attempts = 0
            enter(.retract)
            return
        }
        enter(.transit, .leg)
    }

    private mutating func nextLeg() {
        holdValid = false
        retries = 0
        attempts = 0
        if legIndex < plan.legs.count {
            enter(.transit, .leg)
        } else if plan.returnHome && !returning {
            returning = true
            enter(.transit, .leg)
        } else {
            finish()
        }
    }

    private mutating func finish() {
        if returning || plan.returnHome {
            outcome = notDelivered == 0 ? .delivered : .returned
        } else {
            outcome = notDelivered == 0 ? (plan.legs.last?.kind == .land ? .landed : .delivered) : .aborted
        }
        enter(.done, .finished, Double(outcome.rawValue))
    }

    private func isCold(_ s: SensorSnapshot) -> Bool { s.batteryOK && s.batteryTemperatureC < config.coldBelowC }

    // MARK: the tick

    public mutating func step(_ s: SensorSnapshot, _ ap: AutopilotView) -> FlightOutputs {
        nowNs = s.nowNs
        let dt = lastStepNs == 0 ? 0.01 : Math.clamp(Math.seconds(from: lastStepNs, to: nowNs), 0.001, 0.5)
        lastStepNs = nowNs
        if plan.homeAtStart && phase == .preflight, s.gnssNew, let fix = s.gnss, fix.usable {
            // Home is the take-off point: the frame is measured from it from now on.
            plan.home = fix.position
            plan.homeAtStart = false
            // The targets' altitudes were given relative to home's ground.
            for j in plan.legs.indices { plan.legs[j].target.altM += fix.position.altM }
            frame = FrameEstimator(reference: fix.position, tuning: frame.tuning)
            emit(.homeSet)
        }
        if ap.positionNs != 0 { frame.local(ap.position, atNs: ap.positionNs) }
        if s.gnssNew, let fix = s.gnss { frame.gnss(fix) }
        rope.update(s)
        takeSightings(s)
        if s.batteryOK {
            let k = dt / (20 + dt)
            currentA = currentA == 0 ? s.batteryCurrentA : currentA + (s.batteryCurrentA - currentA) * k
            reservePct = isCold(s) ? config.reservePctCold : config.reservePct
        }

        var out = FlightOutputs()
        out.brake = true
        if phase == .idle || phase == .done { return out }

        // Autopilot link: everything waits (winch braked) until it is back.
        if phase != .preflight && phase != .autopilotLost {
            if !ap.connected {
                if apLostSinceNs == 0 {
                    apLostSinceNs = nowNs
                    emit(.autopilotLost)
                }
                if Math.seconds(from: apLostSinceNs, to: nowNs) > config.autopilotLostS {
                    outcome = .aborted
                    enter(.autopilotLost, .autopilotLost)
                }
                out.setpoint = holdValid ? holdPoint : ap.position
                return out
            } else if apLostSinceNs != 0 {
                apLostSinceNs = 0
                emit(.autopilotBack)
            }
        }
        if phase == .autopilotLost {
            if ap.connected && !ap.armed { enter(.done, .autopilotBack) }
            return out
        }

        let airborne = ap.armed && phase != .preflight && phase != .arming && phase != .onPad
        if airborne { failsafes(s, ap) }

        switch phase {
        case .idle, .done, .autopilotLost: break
        case .preflight: preflight(s, ap, &out)
        case .arming: arming(s, ap, &out)
        case .takeoff, .padTakeoff: takeoff(s, ap, &out)
        case .transit: transit(s, ap, &out)
        case .align, .descend, .goAround, .touchdown: landing(s, ap, dt, &out)
        case .onPad: onPad(s, ap, &out)
        case .dropAlign, .weigh, .lower, .settle, .release, .retract, .snagRecovery, .cutRope:
            drop(s, ap, dt, &out)
        case .hold:
            hold(ap, &out)
        case .landNow:
            command(.mode(.land), &out, everyS: 2)
            out.setpoint = nil
            if !ap.armed && Math.seconds(from: phaseSinceNs, to: nowNs) > 1 {
                outcome = .aborted
                enter(.done, .finished, Double(MissionOutcome.aborted.rawValue))
            }
        }
        if let sp = out.setpoint { out.setpoint = clampCeiling(sp) }
        return out
    }

    /// The camera's sightings of this tick, placed with the vehicle's position when each
    /// frame was taken.
    private mutating func takeSightings(_ s: SensorSnapshot) {
        vision.tuning.maxLatencyS = config.visionMaxLatencyS
        vision.tuning.holdS = config.visionHoldS
        vision.tuning.gateM = config.visionGateM
        let expected: NED? = frame.initialized && phase != .idle && phase != .done ? frame.toLocal(target.target) : nil
        if let t = s.vision.target {
            let lastSeen = vision.targetSeenNs
            if vision.take(t, frame: frame, expectedTarget: expected, nowNs: nowNs),
               lastSeen == 0 || Math.seconds(from: lastSeen, to: nowNs) > 5 {
                emit(.targetSeen, vision.correction.horizontal)
            }
        }
        if let p = s.vision.parcel {
            vision.take(p, frame: frame, expectedTarget: expected, hangM: parcelHang(rope.lengthM),
                        exposure: parcelExposure(rope.lengthM), nowNs: nowNs)
        }
    }

    // MARK: failsafes

    private mutating func failsafes(_ s: SensorSnapshot, _ ap: AutopilotView) {
        // Landing where it is, or touching down: nothing here can change that.
        if phase == .landNow || phase == .touchdown { return }
        // GNSS: transit carries on on the learned frame for a while; then home.
        if !frame.fresh(nowNs: nowNs) {
            if gnssLostSinceNs == 0 { gnssLostSinceNs = nowNs; emit(.gnssLost) }
            if phase == .transit && !returning && Math.seconds(from: gnssLostSinceNs, to: nowNs) > config.gnssLostReturnS {
                goHome()
            }
        } else if gnssLostSinceNs != 0 {
            gnssLostSinceNs = 0
            emit(.gnssBack)
        }
        // Dispatch: silent too long (measured from the flight's start at the earliest).
        if dispatchWatched && !dispatchLostActed {
            let since = max(dispatchHeardNs, startedNs)
            if Math.seconds(from: since, to: nowNs) > config.dispatchLostS {
                dispatchLostActed = true
                emit(.dispatchLost)
                if config.dispatchLostPolicy == "return" && !returning { goHome() }
            }
        }
        // Geofence.
        let homeLocal = frame.toLocal(plan.home)
        let fromHome = (ap.position - homeLocal).horizontal
        if frame.initialized && fromHome > config.geofenceRadiusM && !returning {
            emit(.geofence, fromHome)
            goHome()
            return
        }
        // Battery gauge: without it the energy checks below cannot run.
        if !s.batteryOK {
            if batteryLostSinceNs == 0 { batteryLostSinceNs = nowNs }
            if Math.seconds(from: batteryLostSinceNs, to: nowNs) > 3 && batteryLostSinceNs != 1 {
                batteryLostSinceNs = 1 // acted on once
                emit(.batteryLost)
                if config.batteryLostPolicy == "land" { enter(.landNow, .batteryLost) } else if !returning { goHome() }
            }
            return
        }
        if batteryLostSinceNs > 1 { batteryLostSinceNs = 0 }
        // Energy: what it takes to finish this leg and get home, and to get home now.
        guard frame.initialized, s.batteryFullAh > 0, currentA > 0 else { return }
        let speed = max(2, config.cruiseSpeedMps - config.windAllowanceMps)
        let alt = max(0, homeLocal.d - ap.position.d)
        let landS = alt / 1.0 + 60
        let homeAh = (fromHome / speed + landS) * currentA / 3600
        let homePct = (s.batteryRemainingAh - homeAh) / s.batteryFullAh * 100
        projectedLandingPct = homePct
        if homePct < reservePct - config.criticalMarginPct && phase != .landNow && phase != .touchdown {
            enter(.landNow, .batteryLand, homePct)
            return
        }
        guard !returning, let l = leg, l.kind != .waypoint else { return }
        let t = frame.toLocal(l.target)
        let toTarget = (ap.position - t).horizontal
        let targetHome = (t - homeLocal).horizontal
        let workS: Double = phase == .retract || phase == .snagRecovery || phase == .cutRope ? 30 : 120
        let legAh = ((toTarget + targetHome) / speed + workS + landS) * currentA / 3600
        let legPct = (s.batteryRemainingAh - legAh) / s.batteryFullAh * 100
        if legPct < reservePct && phase != .retract && phase != .snagRecovery && phase != .cutRope {
            emit(.batterySkip, legPct)
            goHome()
        }
    }

    // MARK: phases

    private mutating func preflight(_ s: SensorSnapshot, _ ap: AutopilotView, _ out: inout FlightOutputs) {
        // Wait up to 5 s for everything to report, then judge once.
        let needsRope = plan.legs.contains { $0.kind == .drop }
        let ready = ap.connected && s.batteryOK && frame.fresh(nowNs: nowNs) && (!needsRope || s.hookLatched == true)
        if inPhaseS() < 5 && !ready { return }
        var refusal: MissionNote = .none
        let cold = isCold(s)
        if plan.legs.isEmpty && !plan.returnHome { refusal = .preflightPlan }
        // A one-way flight must end on a pad, not in the air.
        else if !plan.returnHome && plan.legs.last?.kind != .land { refusal = .preflightPlan }
        else if !ap.connected { refusal = .preflightAutopilot }
        else if !s.batteryOK || s.batterySoCPct < (cold ? config.minTakeoffPctCold : config.minTakeoffPct) {
            refusal = .preflightBattery
        } else if let g = s.gnss, g.usable, frame.fresh(nowNs: nowNs), !config.landRequireRTK || g.rtkFixed {
            // fine
        } else { refusal = .preflightGNSS }
        if refusal == .none && needsRope && (!s.encoderOK || !s.tensionOK) { refusal = .preflightSensors }
        if refusal == .none && needsRope && s.hookLatched == false { refusal = .preflightHook }
        if refusal == .none {
            var prev = plan.home
            var distance = 0.0
            var work = 0.0
            for l in plan.legs {
                let fromHome = plan.home.ned(to: l.target).horizontal
                if fromHome > config.geofenceRadiusM { refusal = .preflightGeofence }
                if cold && fromHome > config.coldRadiusM && refusal == .none { refusal = .preflightColdRadius }
                distance += prev.ned(to: l.target).horizontal
                prev = l.target
                if l.kind == .drop {
                    work += 120
                    // The hold height must clear the roof; a roof lower than the touchdown
                    // window could not be told from the floor.
                    if dropAltitude(l) <= l.roofHeightM + 1 && refusal == .none { refusal = .preflightPlan }
                }
                if l.kind == .land { work += 120 + config.cruiseAltitudeM / 1.0 * 2 }
            }
            distance += prev.ned(to: plan.home).horizontal
            if refusal == .none && s.batteryFullAh > 0 {
                let current = config.cruiseCurrentA
                let speed = max(2, config.cruiseSpeedMps - config.windAllowanceMps)
                let seconds = distance / speed + work + config.cruiseAltitudeM * 2 + 60
                let need = seconds * current / 3600
                let pct = (s.batteryRemainingAh - need) / s.batteryFullAh * 100
                projectedLandingPct = pct
                if pct < (cold ? config.reservePctCold : config.reservePct) { refusal = .preflightEnergy }
            }
        }
        if refusal != .none {
            outcome = .aborted
            enter(.done, refusal)
            return
        }
        enter(.arming)
    }

    private mutating func arming(_ s: SensorSnapshot, _ ap: AutopilotView, _ out: inout FlightOutputs) {
        // Stream a hold setpoint so that an OFFBOARD switch is accepted.
        out.setpoint = ap.position
        if !ap.guided {
            command(.mode(.guided), &out)
        } else if !ap.armed {
            command(.arm, &out)
        } else {
            lastCommandNs = 0
            takeoffGroundD = ap.position.d
            enter(.takeoff)
        }
        if inPhaseS() > 20 {
            outcome = .aborted
            enter(.done, .commandRefused)
        }
    }

    private mutating func takeoff(_ s: SensorSnapshot, _ ap: AutopilotView, _ out: inout FlightOutputs) {
        let goalD = takeoffGroundD - config.cruiseAltitudeM
        if !holdValid { holdPoint = ap.position; holdValid = true }
        if config.autopilot == "ardupilot" {
            // ArduPilot climbs on its own take-off command; setpoints would override it.
            if ap.landedState == 1 || ap.landedState == 0 { command(.takeoff(altitudeM: config.cruiseAltitudeM), &out, everyS: 2) }
        } else {
            out.setpoint = NED(holdPoint.n, holdPoint.e, goalD)
        }
        if ap.position.d < goalD + 1.0 {
            holdValid = false
            enter(.transit, .leg)
        } else if inPhaseS() > 10 && ap.landedState == 1 && !ap.armed {
            outcome = .aborted
            enter(.done, .commandRefused)
        }
    }

    private mutating func transit(_ s: SensorSnapshot, _ ap: AutopilotView, _ out: inout FlightOutputs) {
        let l = target
        let homeD = frame.toLocal(plan.home).d
        let t = frame.toLocal(l.target)
        let cruiseD = min(homeD, t.d) - config.cruiseAltitudeM
        let dist = (ap.position - t).horizontal
        // Climb before going (the cruise altitude clears the trees).
        if ap.position.d > cruiseD + 3 && dist > 20 {
            out.setpoint = NED(ap.position.n, ap.position.e, cruiseD)
            if !holdValid { holdPoint = ap.position; holdValid = true }
            out.setpoint = NED(holdPoint.n, holdPoint.e, cruiseD)
            return
        }
        holdValid = false
        out.setpoint = NED(t.n, t.e, cruiseD)
        targetErrorM = dist
        if dist < config.arrivalRadiusM && ap.velocity.horizontal < 1.0 {
            switch l.kind {
            case .waypoint:
                legIndex += 1
                nextLeg()
            case .land:
                retries = 0
                enter(.align, .arrived, dist)
            case .drop:
                enter(.dropAlign, .arrived, dist)
            }
        }
    }

    // Precision landing: align, staged descent, go-around, touchdown, disarm.
    private mutating func landing(_ s: SensorSnapshot, _ ap: AutopilotView, _ dt: Double, _ out: inout FlightOutputs) {
        // The camera, while it sees the H, places the target relative to the vehicle: as
        // good as RTK, and independent of it.
        // Below the slow stage the H fills the frame and is soon too close to see: a
        // correction measured on the way down then stands until touchdown (GNSS's error
        // moves far more slowly than the last few metres take).
        let gnssTarget = frame.toLocal(target.target)
        let low = phase == .descend || phase == .touchdown
        let holdS = low && heightAboveTargetM < config.landSlowBelowM ? 30 : config.visionHoldS
        let seen = vision.targetActive(nowNs: nowNs, expected: gnssTarget, holdS: holdS)
        let t = vision.target(gnssTarget, nowNs: nowNs, holdS: holdS)
        let err = (ap.position - t).horizontal
        targetErrorM = err
        let h = t.d - ap.position.d
        heightAboveTargetM = h
        let fresh = frame.fresh(nowNs: nowNs) || seen
        let rtk = frame.lastQuality == 2 || seen
        let approachD = t.d - config.landApproachAltitudeM
        switch phase {
        case .align:
            out.setpoint = NED(t.n, t.e, approachD)
            if ap.throttle > 0 && abs(ap.velocity.d) < 0.3 { hoverThrottle += (ap.throttle - hoverThrottle) * min(1, dt / 2) }
            let settledHeight = abs(ap.position.d - approachD) < 0.7
            if fresh && err < config.landAlignErrorM && settledHeight && (rtk || !config.landRequireRTK) {
                if timerNs == 0 { timerNs = nowNs }
                if Math.seconds(from: timerNs, to: nowNs) >= config.landAlignHoldS {
                    descentD = ap.position.d
                    enter(.descend, .aligned, err)
                }
            } else {
                timerNs = 0
            }
            // Waiting for a fix too long: the retry policy decides.
            if !fresh || (config.landRequireRTK && !rtk) {
                if timer2Ns == 0 { timer2Ns = nowNs }
                if Math.seconds(from: timer2Ns, to: nowNs) > config.landFixWaitS * 3 { landingFailed(ap, &out) }
            } else { timer2Ns = 0 }
            if phase == .align && inPhaseS() > 90 { landingFailed(ap, &out) }
        case .descend:
            let speed: Double, bound: Double
            if h > config.landSlowBelowM { speed = config.landFastSpeedMps; bound = config.landFastErrorM }
            else if h > config.landFinalBelowM { speed = config.landSlowSpeedMps; bound = config.landSlowErrorM }
            else { speed = config.landFinalSpeedMps; bound = config.landFinalErrorM }
            let needRTK = config.landRequireRTK && h <= config.landSlowBelowM
            let fixOK = fresh && (!needRTK || rtk)
            if !fixOK && wasRTK && needRTK && fresh { emit(.rtkLost) }
            wasRTK = fixOK
            var vff = 0.0
            if fixOK && err <= bound {
                descentD = min(descentD + speed * dt, t.d + 0.6)
                vff = speed
                timerNs = 0
            } else {
                // Hold the height; too far off for too long, or no usable fix: go around.
                if timerNs == 0 { timerNs = nowNs }
                let waited = Math.seconds(from: timerNs, to: nowNs)
                if (fixOK && err > 2 * bound && waited > 1.0) || (fixOK && waited > 3) || (!fixOK && waited > config.landFixWaitS) {
                    retries += 1
                    enter(.goAround, .goAround, err)
                    out.setpoint = NED(t.n, t.e, approachD)
                    return
                }
                // Do not let the setpoint run away below the vehicle while holding.
                descentD = min(descentD, ap.position.d + 0.3)
            }
            out.setpoint = NED(t.n, t.e, descentD)
            out.setpointVelocity = NED(0, 0, vff)
            // Touchdown: low, not moving vertically, and the autopilot or the thrust agrees.
            let still = abs(ap.velocity.d) < 0.2
            let lowThrust = ap.throttle > 0 && ap.throttle < 0.6 * hoverThrottle
            if h < 0.35 && still && (ap.landedState == 1 || lowThrust) {
                if timer2Ns == 0 { timer2Ns = nowNs }
                if Math.seconds(from: timer2Ns, to: nowNs) >= 0.4 {
                    touchdownCount += 1
                    enter(.touchdown, .touchdownDetected, err)
                }
            } else if ap.landedState == 1 && h < 1.0 {
                if timer2Ns == 0 { timer2Ns = nowNs }
                if Math.seconds(from: timer2Ns, to: nowNs) >= 1.0 { enter(.touchdown, .touchdownDetected, err) }
            } else {
                timer2Ns = 0
            }
        case .goAround:
            out.setpoint = NED(t.n, t.e, approachD)
            if abs(ap.position.d - approachD) < 0.7 || inPhaseS() > 30 {
                if retries > config.landMaxRetries {
                    landingFailed(ap, &out)
                } else {
                    enter(.align)
                }
            }
        case .touchdown:
            out.setpoint = NED(t.n, t.e, t.d + 0.6)
            if ap.armed && inPhaseS() < 15 {
                command(.disarm, &out)
            } else {
                if ap.armed { emit(.commandRefused) }
                lastCommandNs = 0
                enter(.onPad, .disarmed, err)
            }
        default: break
        }
    }

    private mutating func landingFailed(_ ap: AutopilotView, _ out: inout FlightOutputs) {
        emit(.retriesExhausted)
        if returning || config.landRetryPolicy == "land_here" {
            enter(.landNow)
        } else if config.landRetryPolicy == "hover" {
            holdValid = false
            enter(.hold)
        } else {
            notDelivered += 1
            legIndex += 1
            holdValid = false
            goHome()
        }
    }

    /// On a pad: at home the flight ends; elsewhere the parcel is left and it takes off again.
    private mutating func onPad(_ s: SensorSnapshot, _ ap: AutopilotView, _ out: inout FlightOutputs) {
        if returning || legIndex >= plan.legs.count {
            finish()
            return
        }
        // Leave the parcel: open the hook for two seconds.
        if inPhaseS() < 2 {
            out.hookOpen = true
            return
        }
        if timer2Ns == 0 {
            timer2Ns = nowNs
            delivered += 1
            emit(.delivered)
        }
        if legIndex + 1 >= plan.legs.count && !plan.returnHome {
            legIndex += 1
            finish()
            return
        }
        // Take off again for the next leg (or home); an autopilot that will not arm ends it.
        if inPhaseS() > 40 {
            outcome = .aborted
            enter(.done, .commandRefused)
            return
        }
        out.setpoint = ap.position
        if !ap.guided {
            command(.mode(.guided), &out)
        } else if !ap.armed {
            command(.arm, &out)
        } else {
            lastCommandNs = 0
            holdValid = false
            legIndex += 1
            if legIndex >= plan.legs.count { returning = true }
            takeoffGroundD = ap.position.d
            enter(.padTakeoff)
        }
    }

    /// How far downwind the wind carries the parcel on `ropeM` of rope: drag over weight
    /// times the hanging length (the pendulum's steady angle). Zero without a wind estimate
    /// or before the parcel has been weighed.
    private func parcelDrift(_ ap: AutopilotView, ropeM: Double) -> NED {
        guard let w = ap.wind, parcelWeightN > 1 else { return .zero }
        let speed = w.horizontal
        guard speed.isFinite, speed > 0.2, speed < 60 else { return .zero }
        let drag = 0.5 * config.airDensityKgM3 * config.parcelDragAreaM2 * speed * speed
        let hang = max(0, ropeM + config.hookBelowSkidsM + config.parcelHeightM / 2)
        let offset = min(hang * drag / parcelWeightN, 3)
        return NED(w.n / speed * offset, w.e / speed * offset, 0)
    }

    /// From the parcel's touchdown until the hook is open: the rope must never lift the
    /// parcel again. Relieved of the parcel's weight the vehicle climbs for a second or so
    /// before its autopilot catches it; the winch pays out what it climbs (and 5 cm more),
    /// never reels in, and holds on the brake otherwise.
    private mutating func keepSlack(_ ap: AutopilotView, _ L: Double, _ out: inout FlightOutputs) {
        out.winch = 0
        out.brake = true
        let v = slackPayout(ap, L)
        guard v > 0 else { return }
        out.brake = false
        out.winch = Math.clamp(v / config.winchMaxSpeedMps, 0, 1)
    }

    /// The pay-out speed that keeps the rope slack (m/s, ≥ 0): what the vehicle climbs,
    /// fed forward, plus what is still owed to reach the length at touchdown + the climb
    /// + 5 cm.
    private func slackPayout(_ ap: AutopilotView, _ L: Double) -> Double {
        guard let d0 = slackFromD else { return 0 }
        let rise = Math.clamp(d0 - ap.position.d, 0, 1.5)
        let want = slackFromL + rise + 0.05
        let climb = max(0, -ap.velocity.d)
        guard want - L > 0.01 || climb > 0.05 else { return 0 }
        return Math.clamp(climb + 4 * (want - L), 0, config.winchMaxSpeedMps)
    }

    /// How far below the pivot the hanging parcel's centre is, with `ropeM` paid out.
    private func parcelHang(_ ropeM: Double) -> Double {
        max(1, ropeM + config.hookBelowSkidsM + config.parcelHeightM / 2)
    }

    /// How much of the hanging parcel is out in the wind, 0...1: all of it above a station's
    /// roof, none once the hook is a metre inside the station (its walls and roof shelter it).
    private func parcelExposure(_ ropeM: Double) -> Double {
        guard target.kind == .drop, target.roofHeightM > 0 else { return 1 }
        let insideM = ropeM - (dropAltitude(target) - config.hookBelowSkidsM - target.roofHeightM)
        return Math.clamp(1 - insideM, 0, 1)
    }

    // Rope drop: align at the drop height, weigh, lower, detect touchdown, release,
    // retract (with snag recovery), then the next leg.
    private mutating func drop(_ s: SensorSnapshot, _ ap: AutopilotView, _ dt: Double, _ out: inout FlightOutputs) {
        let l = target
        // The camera places the opening horizontally (its H is on the roof, not the floor).
        let floor = frame.toLocal(l.target)
        let seenAt = vision.target(floor, nowNs: nowNs)
        let ground = NED(seenAt.n, seenAt.e, floor.d)
        let L = rope.lengthM
        // Hold upwind of the opening by as much as the wind carries the hanging parcel; once
        // the parcel is down inside the station, out of the wind, stand over the opening.
        // (The offset fades out over the first metre inside: a step would start a swing.)
        let exposed = parcelExposure(L)
        let drift = parcelDrift(ap, ropeM: L) * exposed
        let t = NED(ground.n - drift.n, ground.e - drift.e, ground.d)
        let holdD = t.d - dropAltitude(l)
        let err = (ap.position - t).horizontal
        targetErrorM = err
        heightAboveTargetM = t.d - ap.position.d
        out.setpoint = NED(t.n, t.e, holdD)
        // With the camera seeing the hanging parcel, steer the parcel instead of the vehicle:
        // the vehicle is the pendulum's pivot. Holding the pivot at
        //   opening − (the parcel's mean offset) − k·(parcel error) − c·(parcel velocity)
        // puts the parcel's mean position over the opening (the mean offset is the steady
        // drift, measured rather than modelled) and damps its swing: the error obeys
        //   ë + (g/ℓ)·c·ė + (g/ℓ)·(1 + k)·e = disturbance,
        // so c = 2ζ·√(1 + k)·√(ℓ/g) gives the damping ratio ζ at any rope length ℓ. The
        // vehicle answers a setpoint in about a second, which is no faster than an 11 m
        // pendulum: k stays small (default 0) and the correction is bounded to 1 m, or the
        // loop would feed the swing instead of damping it.
        var parcelErr: Double? = nil
        var parcelSpeed = 0.0
        let hang = parcelHang(L)
        if config.swingControl, phase == .lower, L > 1.0,
           let now = vision.parcelNow(nowNs: nowNs, maxAgeS: 0.3, pivot: ap.position, hangM: hang, exposure: exposed) {
            let xp = now.position
            let e = NED(xp.n - ground.n, xp.e - ground.e, 0)
            let vp = now.velocity
            let drift = vision.parcelDriftRatio * (hang * exposed)
            let k = config.swingGain
            let c = 2 * config.swingDamping * (1 + k).squareRoot() * (hang / 9.80665).squareRoot()
            var dn = -k * e.n - c * vp.n
            var de = -k * e.e - c * vp.e
            let m = (dn * dn + de * de).squareRoot()
            if m > 1 { dn /= m; de /= m }
            let sp = NED(ground.n - drift.n + dn, ground.e - drift.e + de, holdD)
            out.setpoint = sp
            dropHold = sp
            parcelErr = e.horizontal
            parcelSpeed = vp.horizontal
            targetErrorM = e.horizontal
        } else if phase == .settle || phase == .release, let h = dropHold {
            // The parcel is down: the vehicle stays where it put it.
            out.setpoint = h
        }
        // Reeling in stays where the drop was, even when the leg is over (skipped, the hook
        // jammed, a return ordered): the vehicle never leaves with rope out.
        if phase == .retract || phase == .snagRecovery || phase == .cutRope {
            if let h = retractHold { out.setpoint = h }
        } else if let sp = out.setpoint {
            retractHold = sp
        }
        let W = parcelWeightN
        // Expected rope length at parcel touchdown on the station floor, and where the
        // slow zone starts (above the roof).
        let expectedL = dropAltitude(l) - config.hookBelowSkidsM - config.parcelHeightM
        let slowL = max(0, dropAltitude(l) - l.roofHeightM - config.hookBelowSkidsM - config.parcelHeightM - config.lowerSlowMarginM)
        let sensorsOK = s.encoderOK && s.tensionOK
        switch phase {
        case .dropAlign:
            out.brake = true
            dropHold = nil
            let settled = abs(ap.position.d - holdD) < 0.5
            if frame.fresh(nowNs: nowNs) && err < config.dropAlignErrorM && settled {
                if timerNs == 0 { timerNs = nowNs }
                if Math.seconds(from: timerNs, to: nowNs) >= 1.0 {
                    weighSum = 0
                    weighCount = 0
                    enter(.weigh, .aligned, err)
                }
            } else { timerNs = 0 }
            if inPhaseS() > 60 { emit(.alignTimeout, err); skipLeg() }
        case .weigh:
            out.brake = true
            if !sensorsOK { emit(s.tensionOK ? .encoderLost : .tensionLost); skipLeg(); return }
            if inPhaseS() > 0.3 {
                weighSum += rope.tensionN
                weighCount += 1
            }
            if inPhaseS() >= 0.8 {
                parcelWeightN = weighCount > 0 ? weighSum / Double(weighCount) : 0
                if parcelWeightN < 5 || s.hookLatched == false {
                    emit(.emptyHook, parcelWeightN)
                    skipLeg()
                    return
                }
                released = false
                entryPassed = false
                entryBackingUp = false
                entryRetries = 0
                entryWaitNs = 0
                dropHold = nil
                slackFromD = nil
                vision.resetParcel()
                enter(.lower, .weighed, parcelWeightN)
            }
        case .lower:
            if !sensorsOK {
                emit(s.tensionOK ? .encoderLost : .tensionLost)
                skipLeg()
                return
            }
            let final = config.lowerFinalSpeedMps
            var v = final
            if L < slowL {
                let room = slowL - L
                v = min(config.lowerSpeedMps, (final * final + 2 * config.lowerDecelMps2 * room).squareRoot())
            }
            // The entry gate, with the camera: the parcel waits just above the roof until it
            // hangs still over the opening (bounded; without sightings there is no gate).
            // A gust that carries it off during the last 0.2 m before the roof: raise it back
            // to the gate and wait again (at most 3 times; the wait's time limit still holds).
            let gateL = dropAltitude(l) - l.roofHeightM - config.hookBelowSkidsM - config.parcelHeightM - 0.2
            let roofL = gateL + 0.2
            if config.swingControl && entryPassed && !entryBackingUp && entryRetries < 3 && l.roofHeightM > 0
                && L < roofL, let pe = parcelErr, pe > 2 * config.entryErrorM {
                entryPassed = false
                entryBackingUp = true
                entryRetries += 1
                emit(.entryRetry, pe)
            }
            if entryBackingUp {
                if L > gateL - 0.1 { v = -config.lowerFinalSpeedMps } else { entryBackingUp = false }
            }
            var waiting = false
            if config.swingControl && !entryPassed && !entryBackingUp && l.roofHeightM > 0 && L >= gateL {
                if let pe = parcelErr {
                    if entryWaitNs == 0 { entryWaitNs = nowNs }
                    if pe <= config.entryErrorM && parcelSpeed < 0.25 {
                        entryPassed = true
                        emit(.overOpening, pe)
                    } else if Math.seconds(from: entryWaitNs, to: nowNs) >= config.entryWaitS {
                        entryPassed = true
                        emit(.entryTimeout, pe)
                    } else {
                        waiting = true
                    }
                } else {
                    entryPassed = true
                }
            }
            if waiting { v = 0 }
            out.brake = waiting
            out.winch = waiting ? 0 : Math.clamp((v + 0.5 * (v - rope.speedMps)) / config.winchMaxSpeedMps, -1, 1)
            // Below the roof's level only: a parcel sitting on the roof must never look down.
            let window = l.roofHeightM > 0 ? min(config.touchdownWindowM, 0.5 * l.roofHeightM) : config.touchdownWindowM
            let inWindow = L > expectedL - window
            if inWindow && rope.tensionN < config.touchdownTensionRatio * W {
                if timerNs == 0 {
                    timerNs = nowNs
                    slackFromD = ap.position.d
                    slackFromL = L
                }
                // Relieved of the parcel the vehicle starts to climb at once: keep the rope
                // slack while the touchdown is judged.
                let payout = slackPayout(ap, L) / config.winchMaxSpeedMps
                if payout > out.winch { out.winch = Math.clamp(payout, 0, 1) }
                if Math.seconds(from: timerNs, to: nowNs) >= config.touchdownHoldS {
                    enter(.settle)
                    keepSlack(ap, L, &out)
                }
            } else {
                timerNs = 0
                slackFromD = nil
            }
            // The rope not coming out (drum slipping, motor not answering), or far too long
            // in this phase: stop and bring the parcel back.
            if v > 0 && rope.speedMps < 0.05 { if timer2Ns == 0 { timer2Ns = nowNs } } else { timer2Ns = 0 }
            let stalled = v > 0 && rope.speedMps < 0.05 && timer2Ns != 0 && Math.seconds(from: timer2Ns, to: nowNs) > 3
            if L > expectedL + config.touchdownWindowM || stalled
                || inPhaseS() > expectedL / config.lowerFinalSpeedMps + 30 + config.entryWaitS {
                out.winch = 0
                out.brake = true
                emit(.noTouchdown, L)
                skipLeg()
                return
            }
            // The load gone slack before the window: the parcel sits on something above the
            // floor (the roof beside the opening). Never release there: bring it back.
            if !inWindow && L > 1.0 && rope.tensionN < config.touchdownTensionRatio * W {
                if earlyNs == 0 { earlyNs = nowNs }
                if Math.seconds(from: earlyNs, to: nowNs) >= config.touchdownHoldS {
                    out.winch = 0
                    out.brake = true
                    emit(.noTouchdown, L)
                    skipLeg()
                    return
                }
            } else {
                earlyNs = 0
            }
        case .settle:
            keepSlack(ap, L, &out)
            if rope.tensionN > 0.6 * W {
                emit(.falseTouchdown, rope.tensionN)
                enter(.lower)
                return
            }
            // The second witness: the rope's end has stopped going down. With the vehicle
            // still, that is the drum stopped; with the vehicle rising off its lost load,
            // the drum paying out just as fast.
            let hookSinkMps = ap.velocity.d + rope.speedMps
            if abs(hookSinkMps) < 0.1 && rope.tensionN < config.touchdownTensionRatio * W {
                if timerNs == 0 { timerNs = nowNs }
                if Math.seconds(from: timerNs, to: nowNs) >= config.touchdownConfirmS {
                    attempts = 0
                    enter(.release, .parcelDown, L)
                }
            } else { timerNs = 0 }
            if inPhaseS() > 5 {
                // A partial set-down that never settles: a little more rope, then judge again
                // (bounded: the lowering's own length and time limits end it).
                enter(.lower)
            }
        case .release:
            keepSlack(ap, L, &out)
            let t = inPhaseS()
            // Open; after the verify time check the switch and the tension; close and
            // open again on a failure.
            let cycle = config.releaseVerifyS + 0.5
            let inCycle = t - Double(attempts) * cycle
            out.hookOpen = inCycle < config.releaseVerifyS
            if inCycle >= config.releaseVerifyS * 0.5 && s.hookLatched != true && rope.tensionN < config.touchdownTensionRatio * W {
                // Without a hook switch the release is confirmed while reeling in (below).
                releaseUnverified = s.hookLatched == nil
                releasedAtL = L
                released = true
                delivered += 1
                emit(.released, Math.seconds(from: phaseSinceNs, to: nowNs))
                emit(.delivered)
                afterRetractReturn = false
                attempts = 0
                enter(.retract)
                out.hookOpen = true
                return
            }
            if inCycle >= cycle {
                attempts += 1
                if attempts >= config.releaseAttempts {
                    emit(.hookJam)
                    notDelivered += 1
                    released = false
                    attempts = 0
                    legIndex += 1
                    afterRetractReturn = false
                    enter(.retract)
                }
            }
        case .retract:
            out.brake = false
            out.hookOpen = released && inPhaseS() < 1.0
            let home = s.drumHome == true || (s.encoderOK && L < 0.03)
            if home {
                out.winch = 0
                out.brake = true
                emit(.retracted)
                attempts = 0
                if released { legIndex += 1 }
                released = false
                if afterRetractReturn { afterRetractReturn = false; enter(.transit, .leg) } else { nextLeg() }
                return
            }
            let v = min(config.retractSpeedMps, 0.15 + 0.8 * max(0, L))
            out.winch = Math.clamp(-(v + 0.5 * (v + rope.speedMps)) / config.winchMaxSpeedMps, -1, 1)
            // A release nobody saw (no hook switch): the load must stay light once reeling in.
            if released && releaseUnverified && L < releasedAtL - 0.3 && s.tensionOK
                && rope.tensionN > config.touchdownTensionRatio * parcelWeightN {
                releaseUnverified = false
                released = false
                delivered -= 1
                notDelivered += 1
                emit(.hookJam, rope.tensionN)
            } else if released && releaseUnverified && L < releasedAtL - 0.5 {
                releaseUnverified = false
            }
            if !s.encoderOK {
                // Without the encoder, reel in slowly until the home switch, for a bounded
                // time and never against a snag.
                out.winch = -0.25
                let limit = released ? config.snagTensionN : 2 * W + config.snagTensionN
                if inPhaseS() > 120 || (s.tensionOK && rope.tensionN > limit) || (s.drumHome == nil && inPhaseS() > 60) {
                    out.winch = 0
                    out.brake = true
                    enter(.hold, .encoderLost)
                }
                return
            }
            let limit = released ? config.snagTensionN : 2 * W + config.snagTensionN
            let stalled = rope.speedMps > -0.05 && L > 0.2
            if stalled { if timer2Ns == 0 { timer2Ns = nowNs } } else { timer2Ns = 0 }
            let stallLong = timer2Ns != 0 && Math.seconds(from: timer2Ns, to: nowNs) > config.snagStallS && inPhaseS() > config.snagStallS
            if (s.tensionOK && rope.tensionN > limit) || stallLong {
                attempts += 1
                emit(.snag, rope.tensionN)
                snagPayoutStartM = L
                out.winch = 0
                enter(.snagRecovery)
            }
        case .snagRecovery:
            // Pay out half a metre, wait, then try again; bounded.
            let paid = L - snagPayoutStartM
            if paid < 0.5 && inPhaseS() < 4 {
                out.brake = false
                out.winch = 0.3 / config.winchMaxSpeedMps
            } else {
                out.brake = true
                out.winch = 0
                if inPhaseS() > 5 {
                    if attempts > config.snagAttempts {
                        if released && config.snagCutRope {
                            enter(.cutRope)
                        } else {
                            holdValid = false
                            enter(.hold, .snag)
                        }
                    } else {
                        enter(.retract, .snagCleared)
                    }
                }
            }
        case .cutRope:
            out.brake = true
            out.cutRope = inPhaseS() < 2
            if inPhaseS() > 3 {
                emit(.ropeCut)
                if released { legIndex += 1 }
                released = false
                nextLeg()
            }
        default: break
        }
    }
}
