import Glibc
import Contracts

// Lesson 11 — starting processes and passing memory by descriptor.
// Read the lesson: swift run lab show 11     Check your work: swift run lab check 11
//
// Replace each todo() with your code; add the stored properties and the initializer you need.
// Throw MemfdError cases: .invalidSize, .endOfFile, .noDescriptor, .noSpace(requested:), and
// .systemError(call:errno:) for any other failed system call. The lab's support gives you what
// `import Glibc` hides: memfd_create, MFD_CLOEXEC, MFD_ALLOW_SEALING, addSeals/getSeals and the
// F_SEAL_* values, SCMRights.send/receive (sendmsg/recvmsg with SCM_RIGHTS), MSG_CMSG_CLOEXEC.

public final class MemfdSegment: MemfdSegmentContract {
    /// A new segment with no name: memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING),
    /// ftruncate(fd, size), mmap(PROT_READ | PROT_WRITE, MAP_SHARED).
    public static func create(name: String, size: Int) throws -> MemfdSegment {
        todo()
    }

    /// Maps a received descriptor: fstat for the size, mmap(MAP_SHARED), read-only unless `writable`.
    public static func map(descriptor: Int32, writable: Bool) throws -> MemfdSegment {
        todo()
    }

    /// The descriptor.
    public var descriptor: Int32 {
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

    /// Read-only for everyone: munmap, addSeals(fd, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE |
    /// F_SEAL_SEAL), then map again with PROT_READ only.
    public func sealReadOnly() throws {
        todo()
    }

    /// munmap and close the descriptor. A second call does nothing.
    public func close() throws {
        todo()
    }

    /// sendmsg: one data byte (1) and the descriptor in an SCM_RIGHTS message (SCMRights.send).
    public static func send(descriptor: Int32, over socket: Int32) throws {
        todo()
    }

    /// recvmsg with room for one descriptor and MSG_CMSG_CLOEXEC (SCMRights.receive);
    /// 0 bytes → .endOfFile, no descriptor or MSG_CTRUNC → .noDescriptor.
    public static func receive(over socket: Int32) throws -> Int32 {
        todo()
    }

    /// posix_fallocate(fd, 0, bytes) — it returns the error; ENOSPC → .noSpace(requested:).
    public static func reserve(descriptor: Int32, bytes: Int) throws {
        todo()
    }

    /// Starts a program safely from a threaded process: posix_spawn (or fork, then only
    /// async-signal-safe calls, execve, and _exit(127) if it fails).
    public static func spawn(executable: String, arguments: [String]) throws -> pid_t {
        todo()
    }
}
