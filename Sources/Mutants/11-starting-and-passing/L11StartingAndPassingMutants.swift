import Glibc
import LabKit
import Lessons
import Solution11

/// Lesson 11's realistic mistakes. Each forwards to the reference except for its one mistake.
public enum MemfdSegmentMutants {
    public static var all: [Mutant<any MemfdSegmentContract.Type>] {
        [
            // create
            Mutant(name: "no-ftruncate", mistake: "create never sizes the memfd: it stays 0 bytes (touching the mapping is SIGBUS, Python cannot map it)",
                   caughtBy: [1, 2, 3, 5], implementation: NoFtruncate.self),
            Mutant(name: "named-segment", mistake: "create uses shm_open with a name and unlinks it only in close: the name sits in /dev/shm, and a killed creator leaves it there",
                   caughtBy: [1, 3], implementation: NamedSegmentInstead.self),
            Mutant(name: "no-cloexec", mistake: "memfd_create without MFD_CLOEXEC: every program the process starts inherits the segment",
                   caughtBy: [1], implementation: NoCloexec.self),
            Mutant(name: "no-allow-sealing", mistake: "memfd_create without MFD_ALLOW_SEALING: the memfd is born with F_SEAL_SEAL and can never be sealed",
                   caughtBy: [1, 4], implementation: NoAllowSealing.self),
            Mutant(name: "no-size-check", mistake: "create passes any size on to the system calls: size 0 comes back as mmap's EINVAL, not .invalidSize",
                   caughtBy: [1], implementation: NoSizeCheck.self),
            Mutant(name: "close-keeps-descriptor", mistake: "close unmaps but never closes the descriptor: the memory lives as long as the process",
                   caughtBy: [1], implementation: CloseKeepsDescriptor.self),
            // send / receive / map
            Mutant(name: "number-as-bytes", mistake: "send writes the descriptor's number as four plain bytes and receive reads it back: a number that means nothing in another process",
                   caughtBy: [2, 3, 5], implementation: NumberAsBytes.self),
            Mutant(name: "map-private", mistake: "map(descriptor:writable:) maps with MAP_PRIVATE: the receiver writes to a private copy",
                   caughtBy: [2, 3, 5], implementation: MapPrivate.self),
            Mutant(name: "control-buffer-too-small", mistake: "receive gives recvmsg room for the int only, not CMSG_SPACE(sizeof(int)): MSG_CTRUNC, the kernel drops the descriptor",
                   caughtBy: [2, 5], implementation: ControlBufferTooSmall.self),
            Mutant(name: "received-not-cloexec", mistake: "receive calls recvmsg without MSG_CMSG_CLOEXEC: the received descriptor leaks into every program started later",
                   caughtBy: [2], implementation: ReceivedNotCloexec.self),
            Mutant(name: "receive-returns-minus-one", mistake: "receive returns the descriptor field as it is, -1, at end of file and for a message without a descriptor, instead of throwing",
                   caughtBy: [2], implementation: ReceiveReturnsMinusOne.self),
            Mutant(name: "data-byte-zero", mistake: "send's one data byte is 0 instead of the number of descriptors: Python's recv_handle refuses it",
                   caughtBy: [5], implementation: DataByteZero.self),
            // seals
            Mutant(name: "seal-keeps-writable-mapping", mistake: "sealReadOnly adds F_SEAL_WRITE while its own writable shared mapping still exists: EBUSY",
                   caughtBy: [4], implementation: SealKeepsWritableMapping.self),
            Mutant(name: "no-seal-seal", mistake: "sealReadOnly forgets F_SEAL_SEAL: the receiver can still add seals",
                   caughtBy: [4], implementation: NoSealSeal.self),
            Mutant(name: "no-seal-shrink", mistake: "sealReadOnly seals writes only: the receiver can shrink the file under everyone's mapping",
                   caughtBy: [4], implementation: NoSealShrink.self),
            Mutant(name: "map-always-writable", mistake: "map ignores writable: false and always asks for PROT_WRITE, which a sealed memfd refuses",
                   caughtBy: [4], implementation: MapAlwaysWritable.self),
            // reserve
            Mutant(name: "reserve-by-ftruncate", mistake: "reserve calls ftruncate, which sets the size and reserves no page",
                   caughtBy: [6], implementation: ReserveByFtruncate.self),
            Mutant(name: "fallocate-errno", mistake: "reserve treats posix_fallocate like a -1/errno call: its returned ENOSPC is never seen",
                   caughtBy: [6], implementation: FallocateErrno.self),
            Mutant(name: "enospc-as-system-error", mistake: "reserve reports ENOSPC as .systemError instead of .noSpace(requested:)",
                   caughtBy: [6], implementation: EnospcAsSystemError.self),
            // spawn
            Mutant(name: "log-in-child", mistake: "spawn forks and writes a log line in the child before execve: the log's lock was held by another thread at fork",
                   caughtBy: [8], as: .deadlocked, implementation: LogInChild.self),
            Mutant(name: "exit-after-failed-exec", mistake: "spawn forks and, when execve fails, ends the child with exit(127): the parent's exit handlers run in the child",
                   caughtBy: [8], implementation: ExitAfterFailedExec.self),
            Mutant(name: "child-returns-after-failed-exec", mistake: "spawn forks and, when execve fails, throws in the child: the child goes on running the parent's code",
                   caughtBy: [8], implementation: ChildReturnsAfterFailedExec.self),
        ]
    }
}

/// Forwards every requirement to the reference segment; mutants override one.
public protocol ForwardsToMemfdSegment: MemfdSegmentContract {
    var inner: MemfdSegment { get }
    init(_ inner: MemfdSegment)
}

extension ForwardsToMemfdSegment {
    public static func create(name: String, size: Int) throws -> Self { Self(try MemfdSegment.create(name: name, size: size)) }
    public static func map(descriptor: Int32, writable: Bool) throws -> Self { Self(try MemfdSegment.map(descriptor: descriptor, writable: writable)) }
    public var descriptor: Int32 { inner.descriptor }
    public var size: Int { inner.size }
    public var bytes: UnsafeMutableRawBufferPointer { inner.bytes }
    public func sealReadOnly() throws { try inner.sealReadOnly() }
    public func close() throws { try inner.close() }
    public static func send(descriptor: Int32, over socket: Int32) throws { try MemfdSegment.send(descriptor: descriptor, over: socket) }
    public static func receive(over socket: Int32) throws -> Int32 { try MemfdSegment.receive(over: socket) }
    public static func reserve(descriptor: Int32, bytes: Int) throws { try MemfdSegment.reserve(descriptor: descriptor, bytes: bytes) }
    public static func spawn(executable: String, arguments: [String]) throws -> pid_t { try MemfdSegment.spawn(executable: executable, arguments: arguments) }
}

extension MemfdSegmentMutants {
    /// The reference create with knobs.
    static func create(name: String, size: Int, flags: UInt32 = MFD_CLOEXEC | MFD_ALLOW_SEALING, truncate: Bool = true) throws -> MemfdSegment {
        guard size > 0 else { throw MemfdError.invalidSize(size) }
        let fd = memfd_create(name, flags)
        if fd == -1 { throw MemfdSegment.error("memfd_create") }
        if truncate && ftruncate(fd, off_t(size)) == -1 { Glibc.close(fd); throw MemfdSegment.error("ftruncate") }
        return MemfdSegment(descriptor: fd, bytes: try MemfdSegment.mapShared(fd, size: size, writable: true))
    }

    /// The reference map with knobs.
    static func map(descriptor: Int32, writable: Bool, flags: Int32 = MAP_SHARED) throws -> MemfdSegment {
        var info = stat()
        if fstat(descriptor, &info) == -1 { throw MemfdSegment.error("fstat") }
        let size = Int(info.st_size)
        guard size > 0 else { throw MemfdError.invalidSize(size) }
        guard let address = mmap(nil, size, writable ? PROT_READ | PROT_WRITE : PROT_READ, flags, descriptor, 0),
              address != MAP_FAILED else { throw MemfdSegment.error("mmap") }
        return MemfdSegment(descriptor: descriptor, bytes: UnsafeMutableRawBufferPointer(start: address, count: size))
    }

    /// The reference receive with knobs.
    static func receive(over socket: Int32, controlSpace: Int = SCMRights.space(descriptors: 1),
                        flags: Int32 = MSG_CMSG_CLOEXEC, throwing: Bool = true) throws -> Int32 {
        let received = SCMRights.receive(socket: socket, controlSpace: controlSpace, flags: flags)
        if received.count == -1 { throw MemfdSegment.error("recvmsg") }
        if !throwing { return received.descriptor }
        if received.count == 0 { throw MemfdError.endOfFile }
        if received.messageFlags & Int32(MSG_CTRUNC) != 0 || received.descriptor == -1 { throw MemfdError.noDescriptor }
        return received.descriptor
    }

    /// seals the reference way, with the seals given and optionally without remapping first.
    static func seal(_ segment: MemfdSegment, seals: Int32, remap: Bool = true) throws {
        if remap {
            try segment.sealReadOnly()       // (adds all four; used only with `seals` equal to them)
            return
        }
        if addSeals(segment.descriptor, seals) == -1 { throw MemfdSegment.error("fcntl(F_ADD_SEALS)") }
    }

    /// fork + execve, with the mistakes a hand-written launcher makes.
    enum ChildMistake { case logs, exits, returns }
    static func forkExec(_ executable: String, _ arguments: [String], mistake: ChildMistake) throws -> pid_t {
        var argv: [UnsafeMutablePointer<CChar>?] = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        fflush(nil)
        let pid = fork()
        if pid == -1 { throw MemfdSegment.error("fork") }
        if pid == 0 {
            if mistake == .logs { WorkerLog.write("spawn: starting \(executable)") }
            execv(argv[0]!, &argv)
            let code = errno
            switch mistake {
            case .exits: exit(127)
            case .returns: throw MemfdSegment.error("execve", code)
            case .logs: _exit(127)
            }
        }
        return pid
    }
}

public final class NoFtruncate: ForwardsToMemfdSegment {
    public let inner: MemfdSegment
    public init(_ inner: MemfdSegment) { self.inner = inner }
    public static func create(name: String, size: Int) throws -> NoFtruncate {
        NoFtruncate(try MemfdSegmentMutants.create(name: name, size: size, truncate: false))
    }
}

public final class NamedSegmentInstead: ForwardsToMemfdSegment {
    public let inner: MemfdSegment
    var path = ""
    public init(_ inner: MemfdSegment) { self.inner = inner }
    public static func create(name: String, size: Int) throws -> NamedSegmentInstead {
        guard size > 0 else { throw MemfdError.invalidSize(size) }
        let path = "/\(name)-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let fd = shm_open(path, O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0o600)
        if fd == -1 { throw MemfdSegment.error("shm_open") }
        if ftruncate(fd, off_t(size)) == -1 { Glibc.close(fd); shm_unlink(path); throw MemfdSegment.error("ftruncate") }
        let segment = NamedSegmentInstead(MemfdSegment(descriptor: fd, bytes: try MemfdSegment.mapShared(fd, size: size, writable: true)))
        segment.path = path
        return segment
    }
    public func close() throws {
        if !path.isEmpty { shm_unlink(path); path = "" }
        try inner.close()
    }
}

public final class NoCloexec: ForwardsToMemfdSegment {
    public let inner: MemfdSegment
    public init(_ inner: MemfdSegment) { self.inner = inner }
    public static func create(name: String, size: Int) throws -> NoCloexec {
        NoCloexec(try MemfdSegmentMutants.create(name: name, size: size, flags: MFD_ALLOW_SEALING))
    }
}

public final class NoAllowSealing: ForwardsToMemfdSegment {
    public let inner: MemfdSegment
    public init(_ inner: MemfdSegment) { self.inner = inner }
    public static func create(name: String, size: Int) throws -> NoAllowSealing {
        NoAllowSealing(try MemfdSegmentMutants.create(name: name, size: size, flags: MFD_CLOEXEC))
    }
}

public final class NoSizeCheck: ForwardsToMemfdSegment {
    public let inner: MemfdSegment
    public init(_ inner: MemfdSegment) { self.inner = inner }
    public static func create(name: String, size: Int) throws -> NoSizeCheck {
        let fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING)
        if fd == -1 { throw MemfdSegment.error("memfd_create") }
        if ftruncate(fd, off_t(size)) == -1 { Glibc.close(fd); throw MemfdSegment.error("ftruncate") }
        do {
            return NoSizeCheck(MemfdSegment(descriptor: fd, bytes: try MemfdSegment.mapShared(fd, size: size, writable: true)))
        } catch {
            Glibc.close(fd)
            throw error
        }
    }
}

public final class CloseKeepsDescriptor: ForwardsToMemfdSegment {
    public let inner: MemfdSegment
    var closed = false
    public init(_ inner: MemfdSegment) { self.inner = inner }
    public func close() throws {
        guard !closed else { return }
        closed = true
        if munmap(inner.bytes.baseAddress, inner.size) == -1 { throw MemfdSegment.error("munmap") }
    }
}

public final class NumberAsBytes: ForwardsToMemfdSegment {
    public let inner: MemfdSegment
    public init(_ inner: MemfdSegment) { self.inner = inner }
    public static func send(descriptor: Int32, over socket: Int32) throws {
        var number = descriptor
        if write(socket, &number, 4) != 4 { throw MemfdSegment.error("write") }
    }
    public static func receive(over socket: Int32) throws -> Int32 {
        var number: Int32 = -1
        let got = read(socket, &number, 4)
        if got == -1 { throw MemfdSegment.error("read") }
        if got == 0 { throw MemfdError.endOfFile }
        return number
    }
}

public final class MapPrivate: ForwardsToMemfdSegment {
    public let inner: MemfdSegment
    public init(_ inner: MemfdSegment) { self.inner = inner }
    public static func map(descriptor: Int32, writable: Bool) throws -> MapPrivate {
        MapPrivate(try MemfdSegmentMutants.map(descriptor: descriptor, writable: writable, flags: MAP_PRIVATE))
    }
}

public final class ControlBufferTooSmall: ForwardsToMemfdSegment {
    public let inner: MemfdSegment
    public init(_ inner: MemfdSegment) { self.inner = inner }
    public static func receive(over socket: Int32) throws -> Int32 {
        try MemfdSegmentMutants.receive(over: socket, controlSpace: MemoryLayout<Int32>.size)
    }
}

public final class ReceivedNotCloexec: ForwardsToMemfdSegment {
    public let inner: MemfdSegment
    public init(_ inner: MemfdSegment) { self.inner = inner }
    public static func receive(over socket: Int32) throws -> Int32 {
        try MemfdSegmentMutants.receive(over: socket, flags: 0)
    }
}

public final class ReceiveReturnsMinusOne: ForwardsToMemfdSegment {
    public let inner: MemfdSegment
    public init(_ inner: MemfdSegment) { self.inner = inner }
    public static func receive(over socket: Int32) throws -> Int32 {
        try MemfdSegmentMutants.receive(over: socket, throwing: false)
    }
}

public final class DataByteZero: ForwardsToMemfdSegment {
    public let inner: MemfdSegment
    public init(_ inner: MemfdSegment) { self.inner = inner }
    public static func send(descriptor: Int32, over socket: Int32) throws {
        if SCMRights.send(socket: socket, descriptor: descriptor, byte: 0) == -1 { throw MemfdSegment.error("sendmsg") }
    }
}

public final class SealKeepsWritableMapping: ForwardsToMemfdSegment {
    public let inner: MemfdSegment
    public init(_ inner: MemfdSegment) { self.inner = inner }
    public func sealReadOnly() throws {
        try MemfdSegmentMutants.seal(inner, seals: F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL, remap: false)
    }
}

/// Unmaps, seals with `seals` and maps read-only, like the reference but for the seals.
func remapAndSeal(_ segment: MemfdSegment, _ seals: Int32) throws -> UnsafeMutableRawBufferPointer {
    munmap(segment.bytes.baseAddress, segment.size)
    if addSeals(segment.descriptor, seals) == -1 { throw MemfdSegment.error("fcntl(F_ADD_SEALS)") }
    return try MemfdSegment.mapShared(segment.descriptor, size: segment.size, writable: false)
}

public final class NoSealSeal: ForwardsToMemfdSegment {
    public let inner: MemfdSegment
    var view: UnsafeMutableRawBufferPointer?
    public init(_ inner: MemfdSegment) { self.inner = inner }
    public var bytes: UnsafeMutableRawBufferPointer { view ?? inner.bytes }
    public func sealReadOnly() throws { view = try remapAndSeal(inner, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE) }
    public func close() throws {
        if let view { munmap(view.baseAddress, view.count); self.view = nil; Glibc.close(inner.descriptor) } else { try inner.close() }
    }
}

public final class NoSealShrink: ForwardsToMemfdSegment {
    public let inner: MemfdSegment
    var view: UnsafeMutableRawBufferPointer?
    public init(_ inner: MemfdSegment) { self.inner = inner }
    public var bytes: UnsafeMutableRawBufferPointer { view ?? inner.bytes }
    public func sealReadOnly() throws { view = try remapAndSeal(inner, F_SEAL_WRITE | F_SEAL_SEAL) }
    public func close() throws {
        if let view { munmap(view.baseAddress, view.count); self.view = nil; Glibc.close(inner.descriptor) } else { try inner.close() }
    }
}

public final class MapAlwaysWritable: ForwardsToMemfdSegment {
    public let inner: MemfdSegment
    public init(_ inner: MemfdSegment) { self.inner = inner }
    public static func map(descriptor: Int32, writable: Bool) throws -> MapAlwaysWritable {
        MapAlwaysWritable(try MemfdSegmentMutants.map(descriptor: descriptor, writable: true))
    }
}

public final class ReserveByFtruncate: ForwardsToMemfdSegment {
    public let inner: MemfdSegment
    public init(_ inner: MemfdSegment) { self.inner = inner }
    public static func reserve(descriptor: Int32, bytes: Int) throws {
        if ftruncate(descriptor, off_t(bytes)) == -1 {
            if errno == ENOSPC || errno == EFBIG { throw MemfdError.noSpace(requested: bytes) }
            throw MemfdSegment.error("ftruncate")
        }
    }
}

public final class FallocateErrno: ForwardsToMemfdSegment {
    public let inner: MemfdSegment
    public init(_ inner: MemfdSegment) { self.inner = inner }
    public static func reserve(descriptor: Int32, bytes: Int) throws {
        if posix_fallocate(descriptor, 0, off_t(bytes)) == -1 {
            if errno == ENOSPC { throw MemfdError.noSpace(requested: bytes) }
            throw MemfdSegment.error("posix_fallocate")
        }
    }
}

public final class EnospcAsSystemError: ForwardsToMemfdSegment {
    public let inner: MemfdSegment
    public init(_ inner: MemfdSegment) { self.inner = inner }
    public static func reserve(descriptor: Int32, bytes: Int) throws {
        let code = posix_fallocate(descriptor, 0, off_t(bytes))
        if code != 0 { throw MemfdSegment.error("posix_fallocate", code) }
    }
}

public final class LogInChild: ForwardsToMemfdSegment {
    public let inner: MemfdSegment
    public init(_ inner: MemfdSegment) { self.inner = inner }
    public static func spawn(executable: String, arguments: [String]) throws -> pid_t {
        try MemfdSegmentMutants.forkExec(executable, arguments, mistake: .logs)
    }
}

public final class ExitAfterFailedExec: ForwardsToMemfdSegment {
    public let inner: MemfdSegment
    public init(_ inner: MemfdSegment) { self.inner = inner }
    public static func spawn(executable: String, arguments: [String]) throws -> pid_t {
        try MemfdSegmentMutants.forkExec(executable, arguments, mistake: .exits)
    }
}

public final class ChildReturnsAfterFailedExec: ForwardsToMemfdSegment {
    public let inner: MemfdSegment
    public init(_ inner: MemfdSegment) { self.inner = inner }
    public static func spawn(executable: String, arguments: [String]) throws -> pid_t {
        try MemfdSegmentMutants.forkExec(executable, arguments, mistake: .returns)
    }
}
