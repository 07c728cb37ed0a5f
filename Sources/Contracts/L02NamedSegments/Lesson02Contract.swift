import Glibc

/// What lesson 02's segment throws. Every bad input and every failed system call is one case.
public enum NamedSegmentError: Error, Equatable, CustomStringConvertible {
    /// `create`: a segment with this name exists already (`shm_open` failed with `EEXIST`).
    /// Carries the name as `name` reports it, without the leading "/".
    case alreadyExists(String)
    /// `attach` or `unlink`: no segment has this name (`ENOENT`). Carries the name without "/".
    case notFound(String)
    /// `create`: a size of 0 or less.
    case invalidSize(Int)
    /// A name that is empty, ".", "..", has a "/" after an optional leading one, holds a NUL
    /// byte, or is longer than 255 bytes (not counting a leading "/"). Carries the name as given.
    case invalidName(String)
    /// Any other failure of a system call: which call (`"shm_open"`, `"ftruncate"`, `"fstat"`,
    /// `"mmap"`, `"munmap"`, `"shm_unlink"`) and the errno it left.
    case systemError(call: String, errno: Int32)

    public var description: String {
        switch self {
        case .alreadyExists(let name): return ".alreadyExists(\"\(name)\")"
        case .notFound(let name): return ".notFound(\"\(name)\")"
        case .invalidSize(let size): return ".invalidSize(\(size))"
        case .invalidName(let name):
            return name.utf8.count > 60 ? ".invalidName(<\(name.utf8.count) bytes>)" : ".invalidName(\"\(name)\")"
        case .systemError(let call, let code):
            return ".systemError(call: \"\(call)\", errno: \(code) \(errnoSymbol(code)))"
        }
    }
}

/// Lesson 02 — a named POSIX shared-memory segment, what Python's
/// `multiprocessing.shared_memory.SharedMemory` is on Linux. The student's `NamedSegment` class
/// implements it.
///
/// Names are given without the leading "/" (like Python's `SharedMemory(name=…)`); one leading
/// "/" is accepted and dropped, so `"x"` and `"/x"` name the same segment `/dev/shm/x`.
public protocol NamedSegmentContract: AnyObject {
    /// Creates a new segment of exactly `size` bytes, mode 0600, and maps it. With `name == nil`
    /// a fresh name comes from `generateName()` (trying again while it is taken).
    /// Throws `.invalidSize` for `size <= 0`, `.invalidName`, `.alreadyExists`, or `.systemError`;
    /// when it throws, no segment is left behind.
    /// The corresponding C calls are `shm_open(name, O_CREAT|O_EXCL|O_RDWR, 0600)`, `ftruncate`,
    /// `fstat` and `mmap(…, MAP_SHARED, fd, 0)`.
    static func create(name: String?, size: Int) throws -> Self

    /// Attaches to an existing segment and maps all of it. `size` is what the caller believes the
    /// size is; like Python, it is ignored: the real size comes from `fstat`, and an attacher
    /// never resizes a segment. Throws `.invalidName`, `.notFound` or `.systemError`.
    /// The corresponding C calls are `shm_open(name, O_RDWR, 0)`, `fstat` and `mmap`.
    static func attach(name: String, size: Int) throws -> Self

    /// A fresh, valid, unpredictable name, different in every call and in every process.
    static func generateName() -> String

    /// The segment's name, without the leading "/": `/dev/shm/<name>`.
    var name: String { get }
    /// The segment's size in bytes (what `fstat` reports).
    var size: Int { get }
    /// The mapped bytes. Not to be touched after `close()`.
    var bytes: UnsafeMutableRawBufferPointer { get }

    /// Unmaps the segment in this process; the segment itself stays for everyone else. A second
    /// call does nothing. The corresponding C function is `munmap`.
    func close() throws

    /// Removes the name: nobody can attach any more, but every existing mapping stays valid until
    /// it is unmapped. Throws `.notFound` if the name is already gone.
    /// The corresponding C function is `shm_unlink`.
    func unlink() throws
}

extension NamedSegmentContract {
    /// Attaches without guessing a size.
    public static func attach(name: String) throws -> Self { try attach(name: name, size: 0) }
}
