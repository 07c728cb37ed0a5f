import Glibc
import Contracts

// Lesson 02 — reference solution: a named POSIX shared-memory segment, the way CPython's
// multiprocessing.shared_memory.SharedMemory does it on Linux.

public final class NamedSegment: NamedSegmentContract {
    public let name: String
    public let bytes: UnsafeMutableRawBufferPointer
    public var size: Int { bytes.count }
    private var isMapped = true

    /// Wraps a mapping made by `create` or `attach`. `name` is without the leading "/".
    public init(name: String, bytes: UnsafeMutableRawBufferPointer) {
        self.name = name
        self.bytes = bytes
    }

    public static func create(name: String?, size: Int) throws -> NamedSegment {
        guard size > 0 else { throw NamedSegmentError.invalidSize(size) }
        if let name {
            return try create(path: try path(for: name), size: size)
        }
        // Like Python: try fresh names until one is free. With 64 random bits a clash is
        // practically impossible, but another program may have picked any name at all.
        while true {
            do {
                return try create(path: try path(for: generateName()), size: size)
            } catch NamedSegmentError.alreadyExists {
                continue
            }
        }
    }

    /// shm_open(O_CREAT|O_EXCL) + ftruncate + mmap; on any failure after shm_open the new name is
    /// removed again, so a failed create leaves nothing behind.
    static func create(path: String, size: Int) throws -> NamedSegment {
        // O_EXCL: fail if the name exists, instead of silently opening (and truncating) someone
        // else's segment. Mode 0600: only this user may open it (Python uses 0600 too).
        let fd = shm_open(path, O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0o600)
        if fd == -1 { throw error(from: "shm_open", path: path) }
        defer { Glibc.close(fd) }          // the mapping keeps the memory; the descriptor is not needed after mmap
        do {
            // Only the creator sets the size: a new object is 0 bytes long, and touching a
            // mapping beyond the object's end is a SIGBUS.
            try retryOnInterrupt("ftruncate") { ftruncate(fd, off_t(size)) }
            let bytes = try map(fd, size: size)
            return NamedSegment(name: String(path.dropFirst()), bytes: bytes)
        } catch {
            shm_unlink(path)
            throw error
        }
    }

    public static func attach(name: String, size: Int) throws -> NamedSegment {
        let path = try path(for: name)
        let fd = shm_open(path, O_RDWR | O_CLOEXEC, 0)    // no O_CREAT: attach never creates
        if fd == -1 { throw error(from: "shm_open", path: path) }
        defer { Glibc.close(fd) }
        // `size` is only the caller's belief. The segment's real size is what fstat says, and an
        // attacher must never ftruncate: that would cut (or grow) someone else's data.
        var info = stat()
        try retryOnInterrupt("fstat") { fstat(fd, &info) }
        let bytes = try map(fd, size: Int(info.st_size))
        return NamedSegment(name: String(path.dropFirst()), bytes: bytes)
    }

    public static func generateName() -> String {
        // 64 bits from the kernel's random source (getrandom): different in every process and
        // every run. A generator seeded with a constant, or with the time, repeats across processes.
        var random = SystemRandomNumberGenerator()
        let hex = String(random.next(), radix: 16)
        return "shm_" + String(repeating: "0", count: 16 - hex.count) + hex
    }

    public func close() throws {
        guard isMapped else { return }
        isMapped = false
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        // Only unmap: the segment stays for everyone else until someone calls unlink.
        if munmap(base, bytes.count) == -1 { throw NamedSegment.error(from: "munmap", path: "/" + name) }
    }

    public func unlink() throws {
        // Only the name goes away. Memory lives on while any process still has it mapped.
        if shm_unlink("/" + name) == -1 { throw NamedSegment.error(from: "shm_unlink", path: "/" + name) }
    }

    // MARK: - helpers

    /// "/name" for shm_open, or `.invalidName`. One leading "/" is allowed and dropped.
    public static func path(for name: String) throws -> String {
        let bare = name.hasPrefix("/") ? String(name.dropFirst()) : name
        let valid = !bare.isEmpty && bare != "." && bare != ".."
            && !bare.contains("/") && !bare.utf8.contains(0)
            && bare.utf8.count <= 255                      // NAME_MAX: one file name in /dev/shm
        guard valid else { throw NamedSegmentError.invalidName(name) }
        return "/" + bare
    }

    /// mmap the whole object, shared, read-write. A size of 0 maps nothing (mmap refuses 0).
    static func map(_ fd: Int32, size: Int) throws -> UnsafeMutableRawBufferPointer {
        guard size > 0 else { return UnsafeMutableRawBufferPointer(start: nil, count: 0) }
        let address = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)
        guard let address, address != MAP_FAILED else { throw error(from: "mmap", path: "") }
        return UnsafeMutableRawBufferPointer(start: address, count: size)
    }

    /// Turns errno after a failed call into the matching error case.
    public static func error(from call: String, path: String, errno code: Int32 = errno) -> NamedSegmentError {
        let name = String(path.dropFirst())
        switch (call, code) {
        case ("shm_open", EEXIST): return .alreadyExists(name)
        case ("shm_open", ENOENT), ("shm_unlink", ENOENT): return .notFound(name)
        default: return .systemError(call: call, errno: code)
        }
    }

    /// Runs a call that returns -1 and sets errno, again while a signal interrupts it.
    static func retryOnInterrupt(_ call: String, _ body: () -> Int32) throws {
        while body() == -1 {
            if errno != EINTR { throw NamedSegmentError.systemError(call: call, errno: errno) }
        }
    }
}
