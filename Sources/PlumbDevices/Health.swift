// Every driver reports how its device is doing in the same shape, so the mission can
// apply one degradation policy to all of them.

public enum HealthState: Equatable {
    /// Readings are fresh.
    case ok
    /// The last reading is older than the device's staleness limit.
    case stale
    /// `failureThreshold` consecutive errors: the device is treated as absent.
    case failed
}

/// Health bookkeeping for one device: consecutive errors, last error, freshness.
public struct DeviceHealth<Failure: Equatable>: Equatable {
    public private(set) var consecutiveErrors: UInt32 = 0
    public private(set) var totalErrors: UInt32 = 0
    public private(set) var lastError: Failure? = nil
    public private(set) var lastGoodNs: UInt64? = nil
    /// Consecutive errors that mark the device failed.
    public let failureThreshold: UInt32
    /// A reading older than this is stale.
    public let staleAfterNs: UInt64

    public init(failureThreshold: UInt32, staleAfterNs: UInt64) {
        self.failureThreshold = max(1, failureThreshold)
        self.staleAfterNs = staleAfterNs
    }

    public mutating func recordSuccess(at nowNs: UInt64) {
        consecutiveErrors = 0
        lastGoodNs = nowNs
    }

    /// The device answered but had nothing new: errors clear, freshness does not change.
    public mutating func recordResponsive() {
        consecutiveErrors = 0
    }

    public mutating func recordFailure(_ error: Failure) {
        consecutiveErrors &+= 1
        totalErrors &+= 1
        lastError = error
    }

    public func state(at nowNs: UInt64) -> HealthState {
        if consecutiveErrors >= failureThreshold { return .failed }
        guard let good = lastGoodNs else { return .stale }  // never read yet
        return nowNs &- good > staleAfterNs ? .stale : .ok
    }
}
