import Glibc
import LabKit
import Lessons
import Solution03

/// Lesson 03's realistic mistakes. Each forwards to the reference except for its one mistake.
public enum IntegerBytesMutants {
    public static var all: [Mutant<any IntegerBytesContract.Type>] {
        [
            Mutant(name: "host-byte-order", mistake: "the bytes are copied from the value's memory, so \"big\" comes out little-endian",
                        caughtBy: [1, 2, 4, 5, 6], implementation: HostByteOrder.self),
            Mutant(name: "no-sign-extension", mistake: "decode ignores the sign bit: signed bytes never give a negative value",
                        caughtBy: [2, 4, 5], implementation: NoSignExtension.self),
            Mutant(name: "unaligned-load", mistake: "load uses load(fromByteOffset:as: UInt16/32/64), which traps at an unaligned offset",
                        caughtBy: [5], as: .crashed, implementation: UnalignedLoad.self),
            Mutant(name: "no-overflow-check", mistake: "encode truncates instead of refusing values that do not fit (256 becomes 0)",
                        caughtBy: [3, 6], implementation: NoOverflowCheck.self),
            Mutant(name: "signed-range-off-by-one", mistake: "the signed range check lets 2^(8·length−1) through (128 in one signed byte)",
                        caughtBy: [3], implementation: SignedRangeOffByOne.self),
            Mutant(name: "no-bounds-check", mistake: "store copies through the raw pointer without checking the offset: it writes past the buffer",
                        caughtBy: [5], implementation: NoBoundsCheck.self),
            Mutant(name: "overflowing-bounds-test", mistake: "the bounds test is offset + length <= buffer.count, which overflows and traps for offset = Int.max - 4",
                        caughtBy: [5], implementation: OverflowingBoundsTest.self),
            Mutant(name: "read-outside-lock", mistake: "increment reads the counter before taking the lock and only stores under it (lost updates)",
                        caughtBy: [6], implementation: ReadOutsideLock.self),
            Mutant(name: "orders-swapped-in-encode", mistake: "encode writes \"big\" least significant byte first and \"little\" most significant first",
                        caughtBy: [1, 4], implementation: OrdersSwappedInEncode.self),
            Mutant(name: "negative-as-magnitude", mistake: "encode stores a negative value as its magnitude with the top bit set (sign and magnitude, not two's complement)",
                        caughtBy: [1, 4], implementation: NegativeAsMagnitude.self),
            Mutant(name: "length-nine-accepted", mistake: "encode checks length >= 1 but not length <= 8: nine bytes come back",
                        caughtBy: [1], implementation: LengthNineAccepted.self),
            Mutant(name: "sign-bit-of-last-byte", mistake: "decode takes the sign from the last byte whatever the order (right for little-endian only)",
                        caughtBy: [2, 4], implementation: SignBitOfLastByte.self),
            Mutant(name: "empty-decodes-to-zero", mistake: "decode checks bytes.count <= 8 only: no bytes decode to 0 instead of invalidLength",
                        caughtBy: [2], implementation: EmptyDecodesToZero.self),
            Mutant(name: "store-writes-then-checks", mistake: "store writes the truncated bytes first and calls encode (which throws .overflow) afterwards",
                        caughtBy: [3], implementation: StoreWritesThenChecks.self),
            Mutant(name: "unsigned-range-for-signed", mistake: "the range check always uses 0…2^(8n)−1, so a signed byte accepts 128…255 and refuses every negative value",
                        caughtBy: [1, 3], implementation: UnsignedRangeForSigned.self),
            Mutant(name: "increment-returns-old", mistake: "increment returns the value it read, not the new one",
                        caughtBy: [6], implementation: IncrementReturnsOld.self),
            Mutant(name: "increment-ignores-order", mistake: "increment always uses big-endian, like the article's counter",
                        caughtBy: [6], implementation: IncrementIgnoresOrder.self),
            Mutant(name: "no-lock", mistake: "increment never takes the lock",
                        caughtBy: [6], implementation: NoLock.self),
            Mutant(name: "increment-wraps-at-64-bits", mistake: "increment adds in UInt64 with &+: 2^64 − 1 wraps to 0 instead of .overflow",
                        caughtBy: [6], implementation: IncrementWrapsAt64Bits.self),
            Mutant(name: "unlock-skipped-on-overflow", mistake: "increment calls lock() and unlock() itself; at the maximum store throws .overflow and the unlock after it never runs",
                        caughtBy: [6], implementation: UnlockSkippedOnOverflow.self),
        ]
    }
}

/// Forwards every requirement to the reference; mutants override one.
public protocol ForwardsToIntegerBytes: IntegerBytesContract {}
extension ForwardsToIntegerBytes {
    public static func encode(_ value: Int128, length: Int, order: ByteOrder, signed: Bool) throws -> [UInt8] {
        try IntegerBytes.encode(value, length: length, order: order, signed: signed)
    }
    public static func decode(_ bytes: [UInt8], order: ByteOrder, signed: Bool) throws -> Int128 {
        try IntegerBytes.decode(bytes, order: order, signed: signed)
    }
    // store, load and increment are written out (not forwarded) so that they use the mutant's
    // own encode and decode.
    public static func store(_ value: Int128, into buffer: UnsafeMutableRawBufferPointer, at offset: Int,
                             length: Int, order: ByteOrder, signed: Bool) throws {
        guard (1...8).contains(length) else { throw IntegerBytesError.invalidLength(length) }
        guard offset >= 0, offset <= buffer.count - length else {
            throw IntegerBytesError.outOfBounds(offset: offset, length: length, count: buffer.count)
        }
        let bytes = try encode(value, length: length, order: order, signed: signed)
        for (i, byte) in bytes.enumerated() { buffer[offset + i] = byte }
    }
    public static func load(from buffer: UnsafeRawBufferPointer, at offset: Int, length: Int,
                            order: ByteOrder, signed: Bool) throws -> Int128 {
        guard (1...8).contains(length) else { throw IntegerBytesError.invalidLength(length) }
        guard offset >= 0, offset <= buffer.count - length else {
            throw IntegerBytesError.outOfBounds(offset: offset, length: length, count: buffer.count)
        }
        return try decode(Array(buffer[offset..<(offset + length)]), order: order, signed: signed)
    }
    public static func increment(counterIn buffer: UnsafeMutableRawBufferPointer, at offset: Int, length: Int,
                                 order: ByteOrder, lock: ProcessSharedMutex) throws -> Int128 {
        try lock.withLock {
            let value = try load(from: UnsafeRawBufferPointer(buffer), at: offset, length: length, order: order, signed: false)
            try store(value + 1, into: buffer, at: offset, length: length, order: order, signed: false)
            return value + 1
        }
    }
}

extension IntegerBytesMutants {
    enum HostByteOrder: ForwardsToIntegerBytes {
        static func encode(_ value: Int128, length: Int, order: ByteOrder, signed: Bool) throws -> [UInt8] {
            _ = try IntegerBytes.encode(value, length: length, order: order, signed: signed)   // the checks, kept
            let pattern = UInt64(truncatingIfNeeded: value)
            return withUnsafeBytes(of: pattern) { Array($0.prefix(length)) }            // mistake: the machine's order, always
        }
        static func decode(_ bytes: [UInt8], order: ByteOrder, signed: Bool) throws -> Int128 {
            try IntegerBytes.decode(bytes, order: .little, signed: signed)                // mistake: ignores `order`
        }
    }

    enum NoSignExtension: ForwardsToIntegerBytes {
        static func decode(_ bytes: [UInt8], order: ByteOrder, signed: Bool) throws -> Int128 {
            try IntegerBytes.decode(bytes, order: order, signed: false)                   // mistake: the top bit is just a bit
        }
    }

    enum UnalignedLoad: ForwardsToIntegerBytes {
        static func load(from buffer: UnsafeRawBufferPointer, at offset: Int, length: Int,
                         order: ByteOrder, signed: Bool) throws -> Int128 {
            guard (1...8).contains(length) else { throw IntegerBytesError.invalidLength(length) }
            guard offset >= 0, offset <= buffer.count - length else {
                throw IntegerBytesError.outOfBounds(offset: offset, length: length, count: buffer.count)
            }
            // mistake: load(fromByteOffset:as:) requires an aligned address
            let pattern: UInt64
            switch length {
            case 1: pattern = UInt64(buffer.load(fromByteOffset: offset, as: UInt8.self))
            case 2: pattern = UInt64(order == .big ? UInt16(bigEndian: buffer.load(fromByteOffset: offset, as: UInt16.self))
                                                   : UInt16(littleEndian: buffer.load(fromByteOffset: offset, as: UInt16.self)))
            case 4: pattern = UInt64(order == .big ? UInt32(bigEndian: buffer.load(fromByteOffset: offset, as: UInt32.self))
                                                   : UInt32(littleEndian: buffer.load(fromByteOffset: offset, as: UInt32.self)))
            case 8: pattern = order == .big ? UInt64(bigEndian: buffer.load(fromByteOffset: offset, as: UInt64.self))
                                            : UInt64(littleEndian: buffer.load(fromByteOffset: offset, as: UInt64.self))
            default:
                return try decode(Array(buffer[offset..<(offset + length)]), order: order, signed: signed)
            }
            let bits = 8 * length
            if signed && (pattern >> UInt64(bits - 1)) & 1 == 1 { return Int128(pattern) - (Int128(1) << bits) }
            return Int128(pattern)
        }
    }

    enum NoOverflowCheck: ForwardsToIntegerBytes {
        static func encode(_ value: Int128, length: Int, order: ByteOrder, signed: Bool) throws -> [UInt8] {
            guard (1...8).contains(length) else { throw IntegerBytesError.invalidLength(length) }
            let pattern = UInt64(truncatingIfNeeded: value)                               // mistake: no range check
            return (0..<length).map { i in
                UInt8(truncatingIfNeeded: pattern >> UInt64(8 * (order == .big ? length - 1 - i : i)))
            }
        }
    }

    enum SignedRangeOffByOne: ForwardsToIntegerBytes {
        static func encode(_ value: Int128, length: Int, order: ByteOrder, signed: Bool) throws -> [UInt8] {
            guard (1...8).contains(length) else { throw IntegerBytesError.invalidLength(length) }
            let bits = 8 * length
            let fits = signed ? value >= -(Int128(1) << (bits - 1)) && value <= (Int128(1) << (bits - 1))   // mistake: <= 2^(bits-1)
                              : value >= 0 && value < (Int128(1) << bits)
            guard fits else { throw IntegerBytesError.overflow(value: value, length: length, signed: signed) }
            let pattern = UInt64(truncatingIfNeeded: value)
            return (0..<length).map { i in
                UInt8(truncatingIfNeeded: pattern >> UInt64(8 * (order == .big ? length - 1 - i : i)))
            }
        }
    }

    enum NoBoundsCheck: ForwardsToIntegerBytes {
        static func store(_ value: Int128, into buffer: UnsafeMutableRawBufferPointer, at offset: Int,
                          length: Int, order: ByteOrder, signed: Bool) throws {
            let bytes = try encode(value, length: length, order: order, signed: signed)
            (buffer.baseAddress! + offset).copyMemory(from: bytes, byteCount: bytes.count)   // mistake: no bounds check
        }
    }

    enum OverflowingBoundsTest: ForwardsToIntegerBytes {
        static func store(_ value: Int128, into buffer: UnsafeMutableRawBufferPointer, at offset: Int,
                          length: Int, order: ByteOrder, signed: Bool) throws {
            guard (1...8).contains(length) else { throw IntegerBytesError.invalidLength(length) }
            guard offset >= 0, offset + length <= buffer.count else {                   // mistake: the sum overflows
                throw IntegerBytesError.outOfBounds(offset: offset, length: length, count: buffer.count)
            }
            let bytes = try encode(value, length: length, order: order, signed: signed)
            for (i, byte) in bytes.enumerated() { buffer[offset + i] = byte }
        }
        static func load(from buffer: UnsafeRawBufferPointer, at offset: Int, length: Int,
                         order: ByteOrder, signed: Bool) throws -> Int128 {
            guard (1...8).contains(length) else { throw IntegerBytesError.invalidLength(length) }
            guard offset >= 0, offset + length <= buffer.count else {                   // mistake: the sum overflows
                throw IntegerBytesError.outOfBounds(offset: offset, length: length, count: buffer.count)
            }
            return try decode(Array(buffer[offset..<(offset + length)]), order: order, signed: signed)
        }
    }

    enum ReadOutsideLock: ForwardsToIntegerBytes {
        static func increment(counterIn buffer: UnsafeMutableRawBufferPointer, at offset: Int, length: Int,
                              order: ByteOrder, lock: ProcessSharedMutex) throws -> Int128 {
            let value = try load(from: UnsafeRawBufferPointer(buffer), at: offset, length: length, order: order, signed: false)
            try lock.withLock {                                                          // mistake: the read was outside
                try store(value + 1, into: buffer, at: offset, length: length, order: order, signed: false)
            }
            return value + 1
        }
    }

    static func shifted(_ pattern: UInt64, length: Int, bigFirst: Bool) -> [UInt8] {
        (0..<length).map { i in UInt8(truncatingIfNeeded: pattern >> UInt64(8 * (bigFirst ? length - 1 - i : i))) }
    }

    enum OrdersSwappedInEncode: ForwardsToIntegerBytes {
        static func encode(_ value: Int128, length: Int, order: ByteOrder, signed: Bool) throws -> [UInt8] {
            _ = try IntegerBytes.encode(value, length: length, order: order, signed: signed)   // the checks, kept
            return shifted(UInt64(truncatingIfNeeded: value), length: length, bigFirst: order == .little)   // mistake: swapped
        }
    }

    enum NegativeAsMagnitude: ForwardsToIntegerBytes {
        static func encode(_ value: Int128, length: Int, order: ByteOrder, signed: Bool) throws -> [UInt8] {
            _ = try IntegerBytes.encode(value, length: length, order: order, signed: signed)
            guard value < 0 else { return shifted(UInt64(value), length: length, bigFirst: order == .big) }
            let magnitude = UInt64(-value) | (UInt64(1) << UInt64(8 * length - 1))           // mistake: sign and magnitude
            return shifted(magnitude, length: length, bigFirst: order == .big)
        }
    }

    enum LengthNineAccepted: ForwardsToIntegerBytes {
        static func encode(_ value: Int128, length: Int, order: ByteOrder, signed: Bool) throws -> [UInt8] {
            guard length >= 1 else { throw IntegerBytesError.invalidLength(length) }       // mistake: no upper bound
            let bits = 8 * length
            let fits = signed ? value >= -(Int128(1) << (bits - 1)) && value < (Int128(1) << (bits - 1))
                              : value >= 0 && value < (Int128(1) << bits)
            guard fits else { throw IntegerBytesError.overflow(value: value, length: length, signed: signed) }
            return shifted(UInt64(truncatingIfNeeded: value), length: length, bigFirst: order == .big)
        }
    }

    enum SignBitOfLastByte: ForwardsToIntegerBytes {
        static func decode(_ bytes: [UInt8], order: ByteOrder, signed: Bool) throws -> Int128 {
            let unsigned = try IntegerBytes.decode(bytes, order: order, signed: false)
            if signed, let last = bytes.last, last & 0x80 != 0 {                             // mistake: always the last byte
                return unsigned - (Int128(1) << (8 * bytes.count))
            }
            return unsigned
        }
    }

    enum EmptyDecodesToZero: ForwardsToIntegerBytes {
        static func decode(_ bytes: [UInt8], order: ByteOrder, signed: Bool) throws -> Int128 {
            if bytes.isEmpty { return 0 }                                                     // mistake: 0 bytes are not an error
            return try IntegerBytes.decode(bytes, order: order, signed: signed)
        }
    }

    enum StoreWritesThenChecks: ForwardsToIntegerBytes {
        static func store(_ value: Int128, into buffer: UnsafeMutableRawBufferPointer, at offset: Int,
                          length: Int, order: ByteOrder, signed: Bool) throws {
            guard (1...8).contains(length) else { throw IntegerBytesError.invalidLength(length) }
            guard offset >= 0, offset <= buffer.count - length else {
                throw IntegerBytesError.outOfBounds(offset: offset, length: length, count: buffer.count)
            }
            for (i, byte) in shifted(UInt64(truncatingIfNeeded: value), length: length, bigFirst: order == .big).enumerated() {
                buffer[offset + i] = byte                                                     // mistake: written before the check
            }
            _ = try encode(value, length: length, order: order, signed: signed)
        }
    }

    enum UnsignedRangeForSigned: ForwardsToIntegerBytes {
        static func encode(_ value: Int128, length: Int, order: ByteOrder, signed: Bool) throws -> [UInt8] {
            guard (1...8).contains(length) else { throw IntegerBytesError.invalidLength(length) }
            guard value >= 0 && value < (Int128(1) << (8 * length)) else {                   // mistake: signed ignored
                throw IntegerBytesError.overflow(value: value, length: length, signed: signed)
            }
            return shifted(UInt64(truncatingIfNeeded: value), length: length, bigFirst: order == .big)
        }
    }

    enum IncrementReturnsOld: ForwardsToIntegerBytes {
        static func increment(counterIn buffer: UnsafeMutableRawBufferPointer, at offset: Int, length: Int,
                              order: ByteOrder, lock: ProcessSharedMutex) throws -> Int128 {
            try lock.withLock {
                let value = try load(from: UnsafeRawBufferPointer(buffer), at: offset, length: length, order: order, signed: false)
                try store(value + 1, into: buffer, at: offset, length: length, order: order, signed: false)
                return value                                                                  // mistake: the old value
            }
        }
    }

    enum IncrementIgnoresOrder: ForwardsToIntegerBytes {
        static func increment(counterIn buffer: UnsafeMutableRawBufferPointer, at offset: Int, length: Int,
                              order: ByteOrder, lock: ProcessSharedMutex) throws -> Int128 {
            try lock.withLock {
                let value = try load(from: UnsafeRawBufferPointer(buffer), at: offset, length: length, order: .big, signed: false)
                try store(value + 1, into: buffer, at: offset, length: length, order: .big, signed: false)   // mistake: always .big
                return value + 1
            }
        }
    }

    enum NoLock: ForwardsToIntegerBytes {
        static func increment(counterIn buffer: UnsafeMutableRawBufferPointer, at offset: Int, length: Int,
                              order: ByteOrder, lock: ProcessSharedMutex) throws -> Int128 {
            let value = try load(from: UnsafeRawBufferPointer(buffer), at: offset, length: length, order: order, signed: false)
            try store(value + 1, into: buffer, at: offset, length: length, order: order, signed: false)   // mistake: no lock at all
            return value + 1
        }
    }

    enum IncrementWrapsAt64Bits: ForwardsToIntegerBytes {
        static func increment(counterIn buffer: UnsafeMutableRawBufferPointer, at offset: Int, length: Int,
                              order: ByteOrder, lock: ProcessSharedMutex) throws -> Int128 {
            try lock.withLock {
                let value = try load(from: UnsafeRawBufferPointer(buffer), at: offset, length: length, order: order, signed: false)
                let next = Int128(UInt64(value) &+ 1)                                        // mistake: wraps at 2^64
                try store(next, into: buffer, at: offset, length: length, order: order, signed: false)
                return next
            }
        }
    }
    enum UnlockSkippedOnOverflow: ForwardsToIntegerBytes {
        static func increment(counterIn buffer: UnsafeMutableRawBufferPointer, at offset: Int, length: Int,
                              order: ByteOrder, lock: ProcessSharedMutex) throws -> Int128 {
            _ = try lock.lock()
            let value = try load(from: UnsafeRawBufferPointer(buffer), at: offset, length: length, order: order, signed: false)
            try store(value + 1, into: buffer, at: offset, length: length, order: order, signed: false)   // throws at 255…
            lock.unlock()                                                                // mistake: …and this never runs
            return value + 1
        }
    }
}
