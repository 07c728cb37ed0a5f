/// Lesson 03: what it is, its parts and their hints.
public enum Lesson03: LessonDeclaration {
    public static let info = LessonInfo(number: 3, slug: "bytes-and-integers",
                                        title: "Bytes to integers", defaultTimeout: 30)

    public static var parts: [Part<any IntegerBytesContract.Type>] { [
        Part(1, "encoding matches CPython's int.to_bytes on a table of vectors",
             check: { lab, _ in try encodingMatchesPython(lab) }, hints: [
            "Big-endian writes the most significant byte first: 0x1234 in 2 bytes is [0x12, 0x34]; little-endian is [0x34, 0x12]. Your machine's own order (little on x86-64 and arm64) does not matter: shift and mask, don't reinterpret memory.",
            "A negative value in two's complement is the same bit pattern as value + 2^(8·length): UInt64(truncatingIfNeeded: value) gives it, and its low `length` bytes are the answer.",
            "for i in 0..<length { let shift = 8 * (order == .big ? length - 1 - i : i); bytes[i] = UInt8(truncatingIfNeeded: pattern >> UInt64(shift)) } — after checking 1 ≤ length ≤ 8 (.invalidLength) and the range (part 3).",
        ]),
        Part(2, "decoding matches int.from_bytes, negative signed values included",
             check: { lab, _ in try decodingMatchesPython(lab) }, hints: [
            "Put the bytes back together into an unsigned pattern: for big-endian the first byte is the most significant.",
            "Signed and the top bit of the first (big) or last (little) byte set? The value is negative: pattern − 2^(8·length).",
            "let value = Int128(pattern); if signed && pattern >> (8 * length - 1) & 1 == 1 { return value - (Int128(1) << (8 * length)) }",
            "Check bytes.count first: 0 bytes or more than 8 is .invalidLength(bytes.count) (the part decodes [] and 9 bytes), before any shifting.",
        ]),
        Part(3, "overflow: values that do not fit are refused, like Python's OverflowError, nothing written",
             check: { lab, _ in try overflowIsRefused(lab) }, hints: [
            "Unsigned: 0 … 2^(8·length) − 1. Signed: −2^(8·length−1) … 2^(8·length−1) − 1. So one byte holds 0…255 unsigned and −128…127 signed.",
            "Check the range before anything else and throw .overflow(value:length:signed:); truncating silently turns 256 into 0.",
            "store must encode first (which throws) and copy only then: a failed store writes nothing.",
        ]),
        Part(4, "4,000 random round trips for every length, byte order and signedness",
             check: { lab, context in try randomRoundTrips(lab, context) }, hints: [
            "decode(encode(v)) must give v back for every v in range: a mistake in the sign or the order shows up here.",
            "Look at the extremes: the smallest signed value (0x80 00 … in big-endian) and the largest unsigned (all 0xFF).",
        ], timeout: 30),
        Part(5, "store/load at unaligned offsets (1, 3, 5, 7) of a shared block, seen by another process",
             check: { lab, _ in try unalignedStoreAndLoad(lab) }, hints: [
            "Swift's buffer.load(fromByteOffset:as: UInt64.self) requires an offset aligned for UInt64 and traps otherwise (\"load from misaligned raw pointer\"). Offsets in shared memory are whatever the layout says.",
            "Copy the bytes one by one (or use loadUnaligned(fromByteOffset:as:) / storeBytes(of:toByteOffset:as:), which accept any offset) and assemble them with shifts.",
            "Check the bounds first and throw .outOfBounds: writing past the end corrupts whatever lies there. Do not add offset and length: for offset = Int.max - 4 the sum overflows and traps (SIGILL). guard offset >= 0, length >= 0, offset <= buffer.count - length else { throw … } cannot overflow.",
        ]),
        Part(6, "the article's counter: 4 processes reach the exact total; one byte stops at 255",
             check: { lab, _ in try sharedCounter(lab) }, hints: [
            "Everything — load, add 1, store — must happen while holding the lock: try lock.withLock { … }. Reading before taking the lock loses updates.",
            "A one-byte counter holds 0…255: the article counts to 255 on purpose, and uses 8 bytes to count further. In Python one step more is refused (a memoryview raises ValueError, (256).to_bytes(1, \"big\") raises OverflowError); a counter that silently wraps would read 0 again. Throw .overflow.",
            "let value = try load(…); let next = value + 1; try store(next, …) — store throws .overflow at the maximum, and the counter keeps its value.",
            "The part also checks: increment returns the new value; it uses the length and order it is given (a 3-byte little-endian counter at an odd offset, its neighbours untouched); an 8-byte counter at 2^64 − 1 throws .overflow — compute value + 1 as Int128, not UInt64 (&+ wraps to 0, + traps); the lock is free again after a throw; and it reads the counter only once it holds the lock (the part holds it and watches).",
        ], ifTimedOut: "a process may be waiting for the lock forever: every path out of increment must unlock it (withLock does).", timeout: 30),
    ] }
}
