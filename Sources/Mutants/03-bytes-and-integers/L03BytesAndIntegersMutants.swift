import Glibc
import LabKit
import Lessons
import Solution03

/// Lesson 03's realistic mistakes. Each forwards to the reference except for its one mistake.
public enum IntegerBytesMutants {
    public static var all: [Mutant<any IntegerBytesContract.Type>] {
        [
            Mutant(name: "host-byte-order", mistake: "the bytes are copied from the value's memory, so \"big\" comes out little-endian",
                        caughtBy: [1, 2, 5, 6], implementation: HostByteOrder.self),
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
