import Glibc

/// The lab's own named POSIX shared-memory segment (what CPython's `SharedMemory` does on Linux):
/// `shm_open` + `ftruncate` by the creator + `fstat` + `mmap`. Checks use it to create segments
/// for a student's code, or to look at a student's segment from outside.
public final class SharedSegment {
    /// The name with its leading slash, e.g. `/shmlab_1a2b3c4d`.
    public let name: String
    public let bytes: UnsafeMutableRawBufferPointer
    public private(set) var isMapped = true

    init(name: String, bytes: UnsafeMutableRawBufferPointer) {
        self.name = name
        self.bytes = bytes
    }

    deinit { close() }

    /// Creates a new segment of `size` bytes, mode 0600. The corresponding C functions are
    /// `shm_open(name, O_CREAT|O_EXCL|O_RDWR, 0600)`, `ftruncate` and `mmap`.
    public static func create(name: String = SharedSegment.uniqueName(), size: Int) throws -> SharedSegment {
        let fd = OwnedDescriptor(taking: try valueOrErrno("shm_open", object: name) {
            shm_open(name, O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0o600)
        })
        do {
            try valueOrErrno("ftruncate", object: name) { ftruncate(fd.rawValue, off_t(size)) }
            return SharedSegment(name: name, bytes: try map(fd, size: size, name: name))
        } catch {
            shm_unlink(name)
            throw error
        }
    }

    /// Attaches to an existing segment; its size comes from `fstat`. The corresponding C functions
    /// are `shm_open(name, O_RDWR)`, `fstat` and `mmap`.
    public static func attach(name: String) throws -> SharedSegment {
        let fd = OwnedDescriptor(taking: try valueOrErrno("shm_open", object: name) { shm_open(name, O_RDWR | O_CLOEXEC, 0) })
        var info = stat()
        try valueOrErrno("fstat", object: name) { fstat(fd.rawValue, &info) }
        return SharedSegment(name: name, bytes: try map(fd, size: Int(info.st_size), name: name))
    }

    /// Maps `size` bytes of the segment `fd` opens, shared. The corresponding C function is `mmap`.
    static func map(_ fd: borrowing OwnedDescriptor, size: Int, name: String) throws -> UnsafeMutableRawBufferPointer {
        guard size > 0 else { return UnsafeMutableRawBufferPointer(start: nil, count: 0) }
        let address = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd.rawValue, 0)
        guard let address, address != MAP_FAILED else { throw SystemError("mmap", object: name) }
        return UnsafeMutableRawBufferPointer(start: address, count: size)
    }

    /// Unmaps; the segment stays for others. The corresponding C function is `munmap`.
    public func close() {
        if isMapped, let base = bytes.baseAddress { munmap(base, bytes.count) }
        isMapped = false
    }

    /// Removes the name; mappings stay valid. The corresponding C function is `shm_unlink`.
    public func unlink() throws {
        try valueOrErrno("shm_unlink", object: name) { shm_unlink(name) }
    }

    /// Removes a name, ignoring a missing one. The corresponding C function is `shm_unlink`.
    public static func unlinkIfPresent(_ name: String) {
        shm_unlink(name.hasPrefix("/") ? name : "/" + name)
    }

    /// `/shmlab_` and 16 random hex digits.
    public static func uniqueName(prefix: String = "/shmlab_") -> String {
        var generator = SystemRandomNumberGenerator()
        return prefix + String(generator.next(), radix: 16).leftPadded(to: 16)
    }
}

extension String {
    public func leftPadded(to width: Int, with pad: Character = "0") -> String {
        count >= width ? self : String(repeating: pad, count: width - count) + self
    }
}
