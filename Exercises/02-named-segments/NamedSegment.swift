import Glibc
import Contracts

// Lesson 02 — named segments.
// Read the lesson: swift run lab show 2     Check your work: swift run lab check 2
//
// Replace each todo() with your code; add the stored properties and the initializer you need.
// Throw NamedSegmentError cases: .alreadyExists, .notFound, .invalidSize, .invalidName, and
// .systemError(call:errno:) for any other failed system call.

public final class NamedSegment: NamedSegmentContract {
    /// Creates a new segment of exactly `size` bytes (mode 0600) and maps it; `name == nil`
    /// means a generated one. shm_open(O_CREAT | O_EXCL | O_RDWR, 0o600), ftruncate, mmap.
    public static func create(name: String?, size: Int) throws -> NamedSegment {
        todo()
    }

    /// Attaches to an existing segment: shm_open(O_RDWR), fstat for the real size, mmap.
    /// `size` is ignored (like Python's): never ftruncate someone else's segment.
    public static func attach(name: String, size: Int) throws -> NamedSegment {
        todo()
    }

    /// A fresh random name, valid for shm_open (no "/" inside, at most 255 bytes).
    public static func generateName() -> String {
        todo()
    }

    /// The name without the leading "/".
    public var name: String {
        todo()
    }

    /// The size in bytes.
    public var size: Int {
        todo()
    }

    /// The mapped memory.
    public var bytes: UnsafeMutableRawBufferPointer {
        todo()
    }

    /// Unmaps (munmap); the segment stays for others. A second call does nothing.
    public func close() throws {
        todo()
    }

    /// Removes the name (shm_unlink); mappings stay valid until unmapped.
    public func unlink() throws {
        todo()
    }
}
