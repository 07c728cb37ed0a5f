import Contracts

// Lesson 03 — reference solution: integers to bytes and back, like Python's int.to_bytes and
// int.from_bytes, and the tutorial's counter in shared memory.

public enum IntegerBytes: IntegerBytesContract {
    public static func encode(_ value: Int128, length: Int, order: ByteOrder, signed: Bool) throws -> [UInt8] {
        try checkLength(length)
        // Refuse what does not fit, as Python raises OverflowError: truncating would turn
        // 256 into 0 in one byte, and -1 into 255 when unsigned.
        guard range(length: length, signed: signed).contains(value) else {
            throw IntegerBytesError.overflow(value: value, length: length, signed: signed)
        }
        // Two's complement: a negative value has the bit pattern of value + 2^64, and its low
        // `length` bytes are exactly value + 2^(8·length). Shifts work on values, not on
        // memory, so the machine's own byte order never enters.
        let pattern = UInt64(truncatingIfNeeded: value)
        return (0..<length).map { i in
            let shift = 8 * (order == .big ? length - 1 - i : i)   // big: most significant first
            return UInt8(truncatingIfNeeded: pattern >> UInt64(shift))
        }
    }

    public static func decode(_ bytes: [UInt8], order: ByteOrder, signed: Bool) throws -> Int128 {
        try checkLength(bytes.count)
        var pattern: UInt64 = 0
        for (i, byte) in bytes.enumerated() {
            let shift = 8 * (order == .big ? bytes.count - 1 - i : i)
            pattern |= UInt64(byte) << UInt64(shift)
        }
        let bits = 8 * bytes.count
        let value = Int128(pattern)
        // Signed and the top bit set: the bytes stand for a negative number.
        if signed && (pattern >> UInt64(bits - 1)) & 1 == 1 {
            return value - (Int128(1) << bits)
        }
        return value
    }

    public static func store(_ value: Int128, into buffer: UnsafeMutableRawBufferPointer, at offset: Int,
                             length: Int, order: ByteOrder, signed: Bool) throws {
        try checkLength(length)
        try checkBounds(offset: offset, length: length, count: buffer.count)
        let bytes = try encode(value, length: length, order: order, signed: signed)   // throws before any write
        // Byte by byte: any offset works. (buffer.storeBytes(of:toByteOffset:as:) would too.)
        for (i, byte) in bytes.enumerated() { buffer[offset + i] = byte }
    }

    public static func load(from buffer: UnsafeRawBufferPointer, at offset: Int, length: Int,
                            order: ByteOrder, signed: Bool) throws -> Int128 {
        try checkLength(length)
        try checkBounds(offset: offset, length: length, count: buffer.count)
        // Not buffer.load(fromByteOffset: offset, as: UInt64.self): it requires an 8-aligned
        // address and traps at offset 1, 3, 5, 7. Copying the bytes works at any offset.
        return try decode(Array(buffer[offset..<(offset + length)]), order: order, signed: signed)
    }

    public static func increment(counterIn buffer: UnsafeMutableRawBufferPointer, at offset: Int, length: Int,
                                 order: ByteOrder, lock: ProcessSharedMutex) throws -> Int128 {
        // The whole read-modify-write under the lock. Reading first and locking only for the
        // store would let two processes read the same value and both write value + 1.
        try lock.withLock {
            let value = try load(from: UnsafeRawBufferPointer(buffer), at: offset, length: length,
                                 order: order, signed: false)
            try store(value + 1, into: buffer, at: offset, length: length, order: order, signed: false)
            return value + 1
        }
    }

    // MARK: - helpers

    /// The values `length` bytes can hold: 0…2^(8·length)−1 unsigned, −2^(8·length−1)…2^(8·length−1)−1 signed.
    static func range(length: Int, signed: Bool) -> ClosedRange<Int128> {
        let bits = 8 * length
        if signed { return -(Int128(1) << (bits - 1)) ... (Int128(1) << (bits - 1)) - 1 }
        return 0 ... (Int128(1) << bits) - 1
    }

    static func checkLength(_ length: Int) throws {
        guard (1...8).contains(length) else { throw IntegerBytesError.invalidLength(length) }
    }

    static func checkBounds(offset: Int, length: Int, count: Int) throws {
        guard offset >= 0, offset <= count - length else {
            throw IntegerBytesError.outOfBounds(offset: offset, length: length, count: count)
        }
    }
}
