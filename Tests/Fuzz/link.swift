// libFuzzer target: the dispatch link's frame decoder on the drone side — header checks,
// replay window, AEAD open, message decoding — over arbitrary datagrams. The input is
// also tried as a frame sealed with the right key, so the message decoder behind a valid
// tag sees arbitrary plaintexts too.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzLink(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    _ = LinkCrypto.initialize()
    guard let key = LinkKey(id: 1, bytes: Array(0..<32)) else { return 0 }
    var drone = DroneLink(droneID: 0x1234, key: key, epoch: 1)
    let input = UnsafeRawBufferPointer(start: data, count: size)
    _ = drone.receive(input, nowNs: 1)
    var ground = LinkSealer(direction: .toDrone, droneID: 0x1234, key: key, epoch: 1)
    var frame = [UInt8](repeating: 0, count: LinkCrypto.maxFrame)
    var scratch = [UInt8](repeating: 0, count: LinkCrypto.maxPayload)
    let n = min(size, LinkCrypto.maxPayload)
    for i in 0..<n { scratch[i] = data[i] }
    let sealed = scratch.withUnsafeMutableBytes { s in
        frame.withUnsafeMutableBytes { f in try? ground.sealEncoded(count: n, scratch: s, into: f) }
    }
    if let sealed {
        let failedBefore = drone.stats.authenticationFailed
        _ = frame.withUnsafeBytes { drone.receive(UnsafeRawBufferPointer(rebasing: $0[0..<sealed]), nowNs: 2) }
        if drone.stats.authenticationFailed != failedBefore { fatalError("a correctly sealed frame failed authentication") }
    }
    var out = [UInt8](repeating: 0, count: LinkCrypto.maxFrame)
    for _ in 0..<8 { if out.withUnsafeMutableBytes({ drone.nextFrame(nowNs: 3, into: $0) }) == nil { break } }
    return 0
}
