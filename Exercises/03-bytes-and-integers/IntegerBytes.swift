import Contracts

// Lesson 03 — bytes to integers.
// Read the lesson: swift run lab show 3     Check your work: swift run lab check 3
//
// Replace each todo() with your code. Throw IntegerBytesError cases: .invalidLength for a
// length outside 1…8, .overflow for a value that does not fit, .outOfBounds for an offset
// outside the buffer.

public enum IntegerBytes: IntegerBytesContract {
    /// Python's value.to_bytes(length, order, signed=signed).
    public static func encode(_ value: Int128, length: Int, order: ByteOrder, signed: Bool) throws -> [UInt8] {
        todo()
    }

    /// Python's int.from_bytes(bytes, order, signed=signed).
    public static func decode(_ bytes: [UInt8], order: ByteOrder, signed: Bool) throws -> Int128 {
        todo()
    }

    /// Writes the encoded value into the `length` bytes at `offset` (any offset); nothing on error.
    public static func store(_ value: Int128, into buffer: UnsafeMutableRawBufferPointer, at offset: Int,
                             length: Int, order: ByteOrder, signed: Bool) throws {
        todo()
    }

    /// Reads the integer in the `length` bytes at `offset` (any offset).
    public static func load(from buffer: UnsafeRawBufferPointer, at offset: Int, length: Int,
                            order: ByteOrder, signed: Bool) throws -> Int128 {
        todo()
    }

    /// Adds 1 to the unsigned counter at `offset`, holding `lock` for the whole read-modify-write.
    public static func increment(counterIn buffer: UnsafeMutableRawBufferPointer, at offset: Int, length: Int,
                                 order: ByteOrder, lock: ProcessSharedMutex) throws -> Int128 {
        todo()
    }
}
