// Consistent Overhead Byte Stuffing: frames on the serial radio link are COBS-encoded and
// end with 0x00, so a receiver resynchronises at the next zero after any corruption.
// Overhead: one byte per 254 bytes of payload, plus one.

public enum COBSError: Error, Equatable {
    /// The output buffer is too small.
    case outputTooSmall
    /// A zero byte inside an encoded frame, or a code that runs past the end.
    case malformed
}

public enum COBS {
    /// The largest encoded size of `n` payload bytes (without the 0x00 delimiter).
    public static func maxEncodedCount(_ n: Int) -> Int { n + n / 254 + 1 }

    /// Encodes `input` into `output`; returns the encoded length (no delimiter added).
    public static func encode(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) throws(COBSError) -> Int {
        guard output.count >= maxEncodedCount(input.count) else { throw COBSError.outputTooSmall }
        var codeIndex = 0
        var out = 1
        var code: UInt8 = 1
        for b in input {
            if b == 0 {
                output[codeIndex] = code
                codeIndex = out
                out += 1
                code = 1
            } else {
                output[out] = b
                out += 1
                code += 1
                if code == 0xFF {
                    output[codeIndex] = code
                    codeIndex = out
                    out += 1
                    code = 1
                }
            }
        }
        output[codeIndex] = code
        return out
    }

    /// Decodes one frame (without its delimiter) into `output`; returns the decoded length.
    public static func decode(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) throws(COBSError) -> Int {
        var i = 0
        var out = 0
        while i < input.count {
            let code = Int(input[i])
            guard code != 0, i + code <= input.count else { throw COBSError.malformed }
            i += 1
            for _ in 1..<code {
                let b = input[i]
                guard b != 0 else { throw COBSError.malformed }
                guard out < output.count else { throw COBSError.outputTooSmall }
                output[out] = b
                out += 1
                i += 1
            }
            if code != 0xFF && i < input.count {
                guard out < output.count else { throw COBSError.outputTooSmall }
                output[out] = 0
                out += 1
            }
        }
        return out
    }
}

/// Splits a serial byte stream into COBS frames at each 0x00 and decodes them, with a
/// fixed buffer: a frame longer than the buffer is dropped (counted) and the framer
/// resynchronises at the next delimiter, as it does after any corruption.
public struct COBSStreamDecoder {
    public private(set) var oversize: UInt32 = 0
    public private(set) var malformed: UInt32 = 0
    private var encoded: [UInt8]
    private var count = 0
    private var discarding = false

    public init(maxEncodedFrame: Int) {
        encoded = [UInt8](repeating: 0, count: max(2, maxEncodedFrame))
    }

    /// Feeds one byte; when it ends a frame, decodes it into `out` and returns its length.
    public mutating func feed(_ b: UInt8, into out: UnsafeMutableRawBufferPointer) -> Int? {
        guard b == 0 else {
            if discarding { return nil }
            if count == encoded.count {
                discarding = true
                oversize &+= 1
                count = 0
                return nil
            }
            encoded[count] = b
            count += 1
            return nil
        }
        defer { count = 0; discarding = false }
        if discarding || count == 0 { return nil }
        let n = count
        var result: Int? = nil
        encoded.withUnsafeBytes { e in
            result = try? COBS.decode(UnsafeRawBufferPointer(rebasing: e[0..<n]), into: out)
        }
        if result == nil { malformed &+= 1 }
        return result
    }
}
