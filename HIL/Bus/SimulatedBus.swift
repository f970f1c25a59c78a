import PlumbHAL

/// An I2C bus whose devices are models: the shipped drivers run on it unchanged.
/// It keeps the simulation time and counts bus time the way a real adapter spends it.
public final class SimulatedI2CBus: I2CBus {
    public let clockHz: UInt32
    public private(set) var devices: [any I2CDeviceModel] = []
    /// Simulation time handed to the models.
    public var nowNs: UInt64 = 0
    /// Bus time used by all transfers so far (ns).
    public private(set) var busTimeNs: UInt64 = 0
    public private(set) var transferCount = 0

    public init(clockHz: UInt32 = 400_000) { self.clockHz = clockHz }

    public func attach(_ model: any I2CDeviceModel) { devices.append(model) }

    public func transfer(address: UInt8, write: UnsafeRawBufferPointer,
                         read: UnsafeMutableRawBufferPointer) throws(I2CError) {
        transferCount += 1
        busTimeNs += i2cTransferTimeNs(clockHz: clockHz, writeBytes: write.count, readBytes: read.count)
        guard let device = devices.first(where: { $0.address == address }) else {
            throw I2CError.nack(address: address)
        }
        switch device.transfer(write: Array(write), readCount: read.count, nowNs: nowNs) {
        case .nack:
            throw I2CError.nack(address: address)
        case .stuck:
            throw I2CError.timeout(address: address)
        case .ack(let bytes):
            for i in 0..<read.count { read[i] = i < bytes.count ? bytes[i] : 0xFF }
        }
    }

    public func probe(address: UInt8) throws(I2CError) {
        try transfer(address: address, write: UnsafeRawBufferPointer(start: nil, count: 0),
                     read: UnsafeMutableRawBufferPointer(start: nil, count: 0))
    }
}
