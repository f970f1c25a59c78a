import PlumbCore

/// One stop of a flight.
public struct MissionLeg: Equatable {
    public enum Kind: UInt8, Equatable {
        /// Fly over it on the way.
        case waypoint = 1
        /// Land vertically on the H-pad there (and leave the parcel).
        case land = 2
        /// Lower the parcel on the rope into the station's opening.
        case drop = 3
    }

    public var kind: Kind
    /// The ground at the target: the pad's centre or the station's floor under the opening.
    public var target: GeoPoint
    /// Drop legs: height of the station's roof (its opening) above the floor, m.
    public var roofHeightM: Double
    /// Drop legs: hold height above the floor; 0 = the config's `drop.altitude_m`.
    public var dropAltitudeM: Double
    public var parcelID: UInt32

    public init(kind: Kind, target: GeoPoint, roofHeightM: Double = 0, dropAltitudeM: Double = 0, parcelID: UInt32 = 0) {
        self.kind = kind
        self.target = target
        self.roofHeightM = roofHeightM
        self.dropAltitudeM = dropAltitudeM
        self.parcelID = parcelID
    }
}

/// A whole flight: legs in order, then (normally) home.
public struct MissionPlan: Equatable {
    public var home: GeoPoint
    public var legs: [MissionLeg]
    /// Fly back and land on the home pad after the last leg.
    public var returnHome: Bool
    /// Home is not known yet: it is the take-off point, taken from the first usable GNSS
    /// fix in preflight (a dispatch mission without a home item). Until then the legs'
    /// altitudes are relative to home's ground.
    public var homeAtStart = false

    public init(home: GeoPoint, legs: [MissionLeg], returnHome: Bool = true) {
        self.home = home
        self.legs = legs
        self.returnHome = returnHome
    }

    public var deliveries: Int {
        var n = 0
        for l in legs where l.kind != .waypoint { n += 1 }
        return n
    }
}

/// How a flight ended.
public enum MissionOutcome: UInt8, Equatable {
    case none = 0
    /// Every delivery made and landed at home (or at the last pad of a one-way flight).
    case delivered = 1
    /// Back home with at least one delivery not made.
    case returned = 2
    /// Landed on the target pad of a one-way flight.
    case landed = 3
    /// Refused to start, landed away from home, or left to the autopilot's failsafe.
    case aborted = 4

    public var name: String {
        switch self {
        case .none: return "none"
        case .delivered: return "delivered"
        case .returned: return "returned"
        case .landed: return "landed"
        case .aborted: return "aborted"
        }
    }
}

/// The mission's states. The raw value is what telemetry and the flight log carry.
public enum MissionPhase: UInt8, Equatable {
    case idle = 0, preflight, arming, takeoff, transit
    case align, descend, goAround, touchdown, onPad, padTakeoff
    case dropAlign, weigh, lower, settle, release, retract, snagRecovery, cutRope
    case hold, landNow, autopilotLost, done

    public var name: String {
        switch self {
        case .idle: return "idle"
        case .preflight: return "preflight"
        case .arming: return "arming"
        case .takeoff: return "takeoff"
        case .transit: return "transit"
        case .align: return "align"
        case .descend: return "descend"
        case .goAround: return "go_around"
        case .touchdown: return "touchdown"
        case .onPad: return "on_pad"
        case .padTakeoff: return "pad_takeoff"
        case .dropAlign: return "drop_align"
        case .weigh: return "weigh"
        case .lower: return "lower"
        case .settle: return "settle"
        case .release: return "release"
        case .retract: return "retract"
        case .snagRecovery: return "snag_recovery"
        case .cutRope: return "cut_rope"
        case .hold: return "hold"
        case .landNow: return "land_now"
        case .autopilotLost: return "autopilot_lost"
        case .done: return "done"
        }
    }

    public static var all: [MissionPhase] {
        [.idle, .preflight, .arming, .takeoff, .transit, .align, .descend, .goAround, .touchdown, .onPad,
         .padTakeoff, .dropAlign, .weigh, .lower, .settle, .release, .retract, .snagRecovery, .cutRope,
         .hold, .landNow, .autopilotLost, .done]
    }
}

/// Why something happened, for the log, telemetry and the dispatch server.
public enum MissionNote: UInt8, Equatable {
    case none = 0
    case preflightBattery, preflightGNSS, preflightSensors, preflightHook, preflightAutopilot
    case preflightEnergy, preflightGeofence, preflightColdRadius, preflightPlan
    case started, leg, arrived, aligned, touchdownDetected, disarmed, goAround, retriesExhausted
    case weighed, emptyHook, parcelDown, falseTouchdown, noTouchdown, released, hookJam, retracted
    case snag, snagCleared, ropeCut, batterySkip, batteryLand, batteryLost, gnssLost, gnssBack
    case rtkLost, autopilotLost, autopilotBack, tensionLost, encoderLost, geofence, dispatchLost
    case commandRefused, delivered, finished, abortRequested, returnRequested, landRequested
    // Appended: the raw values above are what the link and the flight log carry.
    case dispatchBack, paused, resumed, homeSet
    case overOpening, entryTimeout, targetSeen, entryRetry
    case alignTimeout

    public var text: String {
        switch self {
        case .none: return ""
        case .preflightBattery: return "preflight: battery below the take-off minimum or unhealthy"
        case .preflightGNSS: return "preflight: no GNSS fix of the required quality"
        case .preflightSensors: return "preflight: a winch sensor is unhealthy"
        case .preflightHook: return "preflight: the hook does not hold a parcel"
        case .preflightAutopilot: return "preflight: no autopilot"
        case .preflightEnergy: return "preflight: not enough energy for the plan and the reserve"
        case .preflightGeofence: return "preflight: a target is outside the geofence"
        case .preflightColdRadius: return "preflight: cold battery and a target beyond the winter radius"
        case .preflightPlan: return "preflight: the plan has no legs"
        case .started: return "mission started"
        case .leg: return "next leg"
        case .arrived: return "arrived over the target"
        case .aligned: return "aligned"
        case .touchdownDetected: return "touchdown detected"
        case .disarmed: return "disarmed"
        case .goAround: return "go-around"
        case .retriesExhausted: return "landing retries exhausted"
        case .weighed: return "parcel weighed"
        case .emptyHook: return "nothing on the hook"
        case .parcelDown: return "parcel touchdown"
        case .falseTouchdown: return "tension came back: not down yet"
        case .noTouchdown: return "no touchdown within the expected rope length"
        case .released: return "parcel released"
        case .hookJam: return "the hook did not release"
        case .retracted: return "rope retracted"
        case .snag: return "rope snagged"
        case .snagCleared: return "snag cleared"
        case .ropeCut: return "rope cut"
        case .batterySkip: return "battery: not enough for this delivery and the way home; returning"
        case .batteryLand: return "battery: below the critical reserve; landing now"
        case .batteryLost: return "battery gauge lost"
        case .gnssLost: return "GNSS lost"
        case .gnssBack: return "GNSS back"
        case .rtkLost: return "RTK fix lost"
        case .autopilotLost: return "autopilot link lost"
        case .autopilotBack: return "autopilot link back"
        case .tensionLost: return "load cell unhealthy"
        case .encoderLost: return "drum encoder unhealthy"
        case .geofence: return "outside the geofence: returning"
        case .dispatchLost: return "dispatch link lost"
        case .commandRefused: return "the autopilot refused a command"
        case .delivered: return "delivery confirmed"
        case .finished: return "mission finished"
        case .abortRequested: return "dispatch: abort the delivery"
        case .returnRequested: return "dispatch: return home"
        case .landRequested: return "dispatch: land now"
        case .dispatchBack: return "dispatch link back"
        case .paused: return "dispatch: paused, holding"
        case .resumed: return "dispatch: resumed"
        case .homeSet: return "home set at the take-off point"
        case .overOpening: return "parcel over the opening: lowering through"
        case .entryTimeout: return "parcel not steady over the opening in time: lowering anyway"
        case .targetSeen: return "camera sees the target"
        case .entryRetry: return "parcel carried off the opening above the roof: raised to try again"
        case .alignTimeout: return "could not hold over the station for 60 s: delivery skipped"
        }
    }
}

/// One thing the mission reports (state change or note), with its time.
public struct MissionEvent: Equatable {
    public var timeNs: UInt64
    public var phase: MissionPhase
    public var note: MissionNote
    public var leg: Int
    public var value: Double

    public init(timeNs: UInt64, phase: MissionPhase, note: MissionNote, leg: Int, value: Double = 0) {
        self.timeNs = timeNs
        self.phase = phase
        self.note = note
        self.leg = leg
        self.value = value
    }
}
