import Glibc
import Contracts

/// Lesson 11's reference: a segment with no name, handed over by descriptor.
public final class MemfdSegment: MemfdSegmentContract {
    public let descriptor: Int32
    public let size: Int
    public private(set) var bytes: UnsafeMutableRawBufferPointer
    private var isOpen = true

    public init(descriptor: Int32, bytes: UnsafeMutableRawBufferPointer) {
        self.descriptor = descriptor
        self.size = bytes.count
        self.bytes = bytes
    }

    /// The errno of the failed call, as the contract's error.
    public static func error(_ call: String, _ code: Int32 = errno) -> MemfdError {
        .systemError(call: call, errno: code)
    }

    /// mmap(nil, size, protection, MAP_SHARED, fd, 0), as a buffer or the error.
    public static func mapShared(_ fd: Int32, size: Int, writable: Bool) throws -> UnsafeMutableRawBufferPointer {
        let protection = writable ? PROT_READ | PROT_WRITE : PROT_READ
        guard let address = mmap(nil, size, protection, MAP_SHARED, fd, 0), address != MAP_FAILED else {
            throw error("mmap")
        }
        return UnsafeMutableRawBufferPointer(start: address, count: size)
    }

    public static func create(name: String, size: Int) throws -> MemfdSegment {
        guard size > 0 else { throw MemfdError.invalidSize(size) }
        // No name in any directory: nothing can be left behind in /dev/shm, whoever dies.
        let fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING)
        if fd == -1 { throw error("memfd_create") }
        // A new memfd is 0 bytes long, like a new shm_open object.
        if ftruncate(fd, off_t(size)) == -1 {
            let failure = error("ftruncate")
            Glibc.close(fd)
            throw failure
        }
        do {
            return MemfdSegment(descriptor: fd, bytes: try mapShared(fd, size: size, writable: true))
        } catch {
            Glibc.close(fd)
            throw error
        }
    }

    public static func map(descriptor: Int32, writable: Bool) throws -> MemfdSegment {
        var info = stat()
        if fstat(descriptor, &info) == -1 { throw error("fstat") }
        let size = Int(info.st_size)
        guard size > 0 else { throw MemfdError.invalidSize(size) }
        return MemfdSegment(descriptor: descriptor, bytes: try mapShared(descriptor, size: size, writable: writable))
    }

    public func sealReadOnly() throws {
        // F_SEAL_WRITE is refused (EBUSY) while a shared mapping of a descriptor opened for
        // writing exists — even a PROT_READ one (it could be mprotect-ed to writable). So: unmap,
        // seal, and map again read-only, which a write-sealed memfd allows.
        if munmap(bytes.baseAddress, size) == -1 { throw Self.error("munmap") }
        if addSeals(descriptor, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) == -1 {
            let failure = Self.error("fcntl(F_ADD_SEALS)")
            if let again = try? Self.mapShared(descriptor, size: size, writable: true) { bytes = again }
            throw failure
        }
        bytes = try Self.mapShared(descriptor, size: size, writable: false)
    }

    public func close() throws {
        guard isOpen else { return }
        isOpen = false
        let unmapped = munmap(bytes.baseAddress, size)
        let code = errno
        Glibc.close(descriptor)
        if unmapped == -1 { throw Self.error("munmap", code) }
    }

    public static func send(descriptor: Int32, over socket: Int32) throws {
        // The data byte is the number of descriptors: Python's recv_handle checks it, and a
        // stream socket carries no control message without at least one byte of data.
        if SCMRights.send(socket: socket, descriptor: descriptor, byte: 1) == -1 { throw error("sendmsg") }
    }

    public static func receive(over socket: Int32) throws -> Int32 {
        let received = SCMRights.receive(socket: socket, controlSpace: SCMRights.space(descriptors: 1),
                                         flags: MSG_CMSG_CLOEXEC)
        if received.count == -1 { throw error("recvmsg") }
        if received.count == 0 { throw MemfdError.endOfFile }
        if received.messageFlags & Int32(MSG_CTRUNC) != 0 || received.descriptor == -1 {
            if received.descriptor != -1 { Glibc.close(received.descriptor) }
            throw MemfdError.noDescriptor
        }
        return received.descriptor
    }

    public static func reserve(descriptor: Int32, bytes: Int) throws {
        // posix_fallocate returns the error number; it does not set errno.
        let code = posix_fallocate(descriptor, 0, off_t(bytes))
        if code == ENOSPC { throw MemfdError.noSpace(requested: bytes) }
        if code != 0 { throw error("posix_fallocate", code) }
    }

    public static func spawn(executable: String, arguments: [String]) throws -> pid_t {
        // posix_spawn: glibc's child (clone with CLONE_VM | CLONE_VFORK) runs only what is safe
        // there and execs; an exec that fails comes back as the returned error.
        var argv: [UnsafeMutablePointer<CChar>?] = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var pid: pid_t = 0
        let code = posix_spawn(&pid, executable, nil, nil, &argv, environ)
        if code != 0 { throw error("posix_spawn", code) }
        return pid
    }
}
