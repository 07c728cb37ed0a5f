/// Python's `byteorder`: `"big"` puts the most significant byte first, `"little"` the least.
public enum ByteOrder: String, Sendable, CustomStringConvertible {
    case big, little

    public var description: String { "." + rawValue }
}

/// What lesson 03's functions throw.
public enum IntegerBytesError: Error, Equatable, CustomStringConvertible {
    /// A length outside 1…8 bytes.
    case invalidLength(Int)
    /// The value does not fit `length` bytes with that signedness: Python's `OverflowError`.
    case overflow(value: Int128, length: Int, signed: Bool)
    /// The `length` bytes at `offset` are not inside the buffer (or the offset is negative).
    case outOfBounds(offset: Int, length: Int, count: Int)

    public var description: String {
        switch self {
        case .invalidLength(let length): return ".invalidLength(\(length))"
        case .overflow(let value, let length, let signed): return ".overflow(value: \(value), length: \(length), signed: \(signed))"
        case .outOfBounds(let offset, let length, let count): return ".outOfBounds(offset: \(offset), length: \(length), count: \(count))"
        }
    }
}

/// Lesson 03 — integers as bytes, the way Python's `int.to_bytes` and `int.from_bytes` do it.
/// The student's `IntegerBytes` implements it.
///
/// Values are `Int128` so that one type holds every integer of 1…8 bytes, signed
/// (−2⁶³…2⁶³−1) or not (0…2⁶⁴−1) — and the values that do not fit, to be refused.
public protocol IntegerBytesContract {
    /// `value.to_bytes(length, order, signed=signed)`: `length` bytes, two's complement when signed.
    /// Throws `.invalidLength` unless 1 ≤ length ≤ 8, `.overflow` when the value does not fit.
    static func encode(_ value: Int128, length: Int, order: ByteOrder, signed: Bool) throws -> [UInt8]

    /// `int.from_bytes(bytes, order, signed=signed)`. Throws `.invalidLength` unless 1…8 bytes.
    static func decode(_ bytes: [UInt8], order: ByteOrder, signed: Bool) throws -> Int128

    /// Writes `encode(value, …)` at `buffer[offset..<offset+length]`, at any offset, aligned or not.
    /// Throws `.invalidLength`, `.outOfBounds` or `.overflow` — and then writes nothing.
    static func store(_ value: Int128, into buffer: UnsafeMutableRawBufferPointer, at offset: Int,
                      length: Int, order: ByteOrder, signed: Bool) throws

    /// Reads the integer at `buffer[offset..<offset+length]`, at any offset, aligned or not.
    /// Throws `.invalidLength` or `.outOfBounds`.
    static func load(from buffer: UnsafeRawBufferPointer, at offset: Int, length: Int,
                     order: ByteOrder, signed: Bool) throws -> Int128

    /// The article's counter: adds 1 to the unsigned `length`-byte counter at `offset`, holding
    /// `lock` around the whole read-modify-write, and returns the new value. At the counter's
    /// maximum it throws `.overflow` and leaves the counter as it was.
    static func increment(counterIn buffer: UnsafeMutableRawBufferPointer, at offset: Int, length: Int,
                          order: ByteOrder, lock: ProcessSharedMutex) throws -> Int128
}
