/// Lesson 03's promises (contract doc comments and lesson text) → the parts that check them → the
/// mutants that prove those parts fail when the promise is broken.
extension Lesson03 {
    public static var clauses: [Clause] { [
        // encode(_:length:order:signed:)
        Clause("encode gives CPython's to_bytes bytes for every length 1…8, both orders, signed and unsigned (committed vectors)",
               in: "encode(_:length:order:signed:)", parts: [1], mutants: ["host-byte-order", "orders-swapped-in-encode"]),
        Clause("\"big\" puts the most significant byte first, \"little\" the least, whatever the machine's own order",
               in: "ByteOrder; text: byte order", parts: [1, 4], mutants: ["host-byte-order", "orders-swapped-in-encode"]),
        Clause("a negative value is stored in two's complement (value + 2^(8n)), not sign and magnitude",
               in: "encode(_:length:order:signed:); text: two's complement", parts: [1, 4], mutants: ["negative-as-magnitude"]),
        Clause("encode gives exactly `length` bytes; lengths outside 1…8 (0, 9, -1) throw .invalidLength(length)",
               in: "encode(_:length:order:signed:)", parts: [1], mutants: ["length-nine-accepted"]),
        Clause("encode of a random value of every length, order and signedness (seeded, small and large magnitudes) matches the shifts CPython computes",
               in: "encode(_:length:order:signed:)", parts: [4], mutants: ["orders-swapped-in-encode", "negative-as-magnitude", "host-byte-order"]),
        // decode(_:order:signed:)
        Clause("decode gives CPython's int.from_bytes for every vector, negative signed values included",
               in: "decode(_:order:signed:)", parts: [2], mutants: ["host-byte-order", "no-sign-extension"]),
        Clause("signed bytes whose most significant byte has its top bit set are negative; unsigned bytes never are",
               in: "decode(_:order:signed:); text: two's complement", parts: [2, 4], mutants: ["no-sign-extension", "sign-bit-of-last-byte"]),
        Clause("decode of 0 or 9 bytes throws .invalidLength(count)", in: "decode(_:order:signed:)", parts: [2], mutants: ["empty-decodes-to-zero"]),
        Clause("decode of random byte patterns (all ones, 0x80 0…, seeded) matches int.from_bytes",
               in: "decode(_:order:signed:)", parts: [4], mutants: ["sign-bit-of-last-byte", "no-sign-extension"]),
        Clause("decode(encode(v)) == v for 10,000 seeded values per length, order and signedness, the extremes included",
               in: "encode and decode", parts: [4], mutants: ["no-sign-extension"]),
        // Overflow
        Clause("values outside 0…2^(8n)−1 (unsigned) or −2^(8n−1)…2^(8n−1)−1 (signed) throw .overflow(value:length:signed:), like OverflowError",
               in: "IntegerBytesError.overflow; text: what fits", parts: [1, 3], mutants: ["no-overflow-check", "signed-range-off-by-one", "unsigned-range-for-signed"]),
        Clause("a refused store writes nothing", in: "store(_:into:at:length:order:signed:)", parts: [3], mutants: ["store-writes-then-checks"]),
        // store / load
        Clause("store and load work at any offset (1, 3, 5, 7, 0, the very end), aligned or not, without a trap",
               in: "store(_:into:at:length:order:signed:); load(from:at:length:order:signed:); text: unaligned offsets",
               parts: [5], mutants: ["unaligned-load"]),
        Clause("store writes exactly the encoded bytes at offset and nothing else; load reads them back",
               in: "store(_:into:at:length:order:signed:)", parts: [5], mutants: ["host-byte-order", "no-sign-extension"]),
        Clause("an offset outside the buffer (−1, −8, past the end) throws .outOfBounds(offset:length:count:) and writes nothing",
               in: "store(_:into:at:length:order:signed:); IntegerBytesError.outOfBounds", parts: [5], mutants: ["no-bounds-check"]),
        Clause("the bounds test does not overflow: offset = Int.max − 4 throws .outOfBounds instead of trapping",
               in: "text: checking the bounds without overflowing", parts: [5], mutants: ["overflowing-bounds-test"]),
        Clause("store and load with a length outside 1…8 throw .invalidLength", in: "store; load", parts: [5], mutants: ["no-bounds-check"]),
        Clause("another process loads the values stored at odd offsets of a shared block, and stores one back",
               in: "text: unaligned offsets", parts: [5], mutants: ["no-sign-extension"]),
        // increment
        Clause("4 processes × 5,000 increments of an 8-byte big-endian counter under the lab's lock end at exactly 20,000",
               in: "increment(counterIn:at:length:order:lock:); text: the article's counter", parts: [6], mutants: ["read-outside-lock", "no-lock"]),
        Clause("the whole read-modify-write is under the lock: a child that increments while another process holds the lock waits, then starts from what that process left",
               in: "increment(counterIn:at:length:order:lock:)", parts: [6], mutants: ["read-outside-lock", "no-lock"]),
        Clause("increment returns the new value", in: "increment(counterIn:at:length:order:lock:)", parts: [6], mutants: ["increment-returns-old"]),
        Clause("increment honours the length and the byte order (a 3-byte little-endian counter at an odd offset), touching nothing else",
               in: "increment(counterIn:at:length:order:lock:)", parts: [6], mutants: ["increment-ignores-order", "host-byte-order"]),
        Clause("a one-byte counter stops at 255: the 45 increments past it throw .overflow and the counter keeps 255",
               in: "increment(counterIn:at:length:order:lock:); text: the article's counter", parts: [6], mutants: ["no-overflow-check"]),
        Clause("an 8-byte counter at 2^64 − 1 throws .overflow and keeps its value, and the lock is free afterwards",
               in: "increment(counterIn:at:length:order:lock:)", parts: [6], mutants: ["increment-wraps-at-64-bits"]),
        Clause("with an optimised build a misaligned load is undefined behaviour rather than a trap",
               in: "text: unaligned offsets", notCheckable: "the lab builds in debug mode, where Swift checks alignment; undefined behaviour in a release build cannot be observed reliably"),
    ] }
}
