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
                   caughtBy: [1, 2, 3, 5], implementation: FaultyCreate<NoFtruncate>.self),
            Mutant(name: "named-segment", mistake: "create uses shm_open with a name and unlinks it only in close: the name sits in /dev/shm, and a killed creator leaves it there",
                   caughtBy: [1, 3], implementation: NamedSegmentInstead.self),
            Mutant(name: "no-cloexec", mistake: "memfd_create without MFD_CLOEXEC: every program the process starts inherits the segment",
                   caughtBy: [1], implementation: FaultyCreate<NoCloexec>.self),
            Mutant(name: "no-allow-sealing", mistake: "memfd_create without MFD_ALLOW_SEALING: the memfd is born with F_SEAL_SEAL and can never be sealed",
                   caughtBy: [1, 4], implementation: FaultyCreate<NoAllowSealing>.self),
            Mutant(name: "no-size-check", mistake: "create passes any size on to the system calls: size 0 comes back as mmap's EINVAL, not .invalidSize",
                   caughtBy: [1], implementation: FaultyCreate<NoSizeCheck>.self),
            Mutant(name: "close-keeps-descriptor", mistake: "close unmaps but never closes the descriptor: the memory lives as long as the process",
                   caughtBy: [1], implementation: CloseKeepsDescriptor.self),
            // send / receive / map
            Mutant(name: "number-as-bytes", mistake: "send writes the descriptor's number as four plain bytes and receive reads it back: a number that means nothing in another process",
                   caughtBy: [2, 3, 5], implementation: NumberAsBytes.self),
            Mutant(name: "map-private", mistake: "map(descriptor:writable:) maps with MAP_PRIVATE: the receiver writes to a private copy",
                   caughtBy: [2, 3, 5], implementation: FaultyMap<MapPrivate>.self),
            Mutant(name: "control-buffer-too-small", mistake: "receive gives recvmsg room for the int only, not CMSG_SPACE(sizeof(int)): MSG_CTRUNC, the kernel drops the descriptor",
                   caughtBy: [2, 5], implementation: FaultyReceive<ControlBufferTooSmall>.self),
            Mutant(name: "received-not-cloexec", mistake: "receive calls recvmsg without MSG_CMSG_CLOEXEC: the received descriptor leaks into every program started later",
                   caughtBy: [2], implementation: FaultyReceive<ReceivedNotCloexec>.self),
            Mutant(name: "receive-returns-minus-one", mistake: "receive returns the descriptor field as it is, -1, at end of file and for a message without a descriptor, instead of throwing",
                   caughtBy: [2], implementation: FaultyReceive<ReceiveReturnsMinusOne>.self),
            Mutant(name: "data-byte-zero", mistake: "send's one data byte is 0 instead of the number of descriptors: Python's recv_handle refuses it",
                   caughtBy: [5], implementation: DataByteZero.self),
            // seals
            Mutant(name: "seal-keeps-writable-mapping", mistake: "sealReadOnly adds F_SEAL_WRITE while its own writable shared mapping still exists: EBUSY",
                   caughtBy: [4], implementation: FaultySeal<SealKeepsWritableMapping>.self),
            Mutant(name: "no-seal-seal", mistake: "sealReadOnly forgets F_SEAL_SEAL: the receiver can still add seals",
                   caughtBy: [4], implementation: FaultySeal<NoSealSeal>.self),
            Mutant(name: "no-seal-shrink", mistake: "sealReadOnly seals writes only: the receiver can shrink the file under everyone's mapping",
                   caughtBy: [4], implementation: FaultySeal<NoSealShrink>.self),
            Mutant(name: "map-always-writable", mistake: "map ignores writable: false and always asks for PROT_WRITE, which a sealed memfd refuses",
                   caughtBy: [4], implementation: FaultyMap<MapAlwaysWritable>.self),
            // reserve
            Mutant(name: "reserve-by-ftruncate", mistake: "reserve calls ftruncate, which sets the size and reserves no page",
                   caughtBy: [6], implementation: FaultyReserve<ReserveByFtruncate>.self),
            Mutant(name: "fallocate-errno", mistake: "reserve treats posix_fallocate like a -1/errno call: its returned ENOSPC is never seen",
                   caughtBy: [6], implementation: FaultyReserve<FallocateErrno>.self),
            Mutant(name: "enospc-as-system-error", mistake: "reserve reports ENOSPC as .systemError instead of .noSpace(requested:)",
                   caughtBy: [6], implementation: FaultyReserve<EnospcAsSystemError>.self),
            // spawn
            Mutant(name: "log-in-child", mistake: "spawn forks and writes a log line in the child before execve: the log's lock was held by another thread at fork",
                   caughtBy: [8], as: .deadlocked, implementation: FaultySpawn<LogInChild>.self),
            Mutant(name: "exit-after-failed-exec", mistake: "spawn forks and, when execve fails, ends the child with exit(127): the parent's exit handlers run in the child",
                   caughtBy: [8], implementation: FaultySpawn<ExitAfterFailedExec>.self),
            Mutant(name: "child-returns-after-failed-exec", mistake: "spawn forks and, when execve fails, throws in the child: the child goes on running the parent's code",
                   caughtBy: [8], implementation: FaultySpawn<ChildReturnsAfterFailedExec>.self),
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


// MARK: - create

/// Which step of create a `FaultyCreate` gets wrong (each kind is one mutant).
public protocol CreateMistake {}
public enum NoFtruncate: CreateMistake {}
public enum NoCloexec: CreateMistake {}
public enum NoAllowSealing: CreateMistake {}
public enum NoSizeCheck: CreateMistake {}

/// The reference create (memfd_create, ftruncate, mmap) with the mistake M at its line; the rest forwards.
public final class FaultyCreate<M: CreateMistake>: ForwardsToMemfdSegment {
    public let inner: MemfdSegment
    public init(_ inner: MemfdSegment) { self.inner = inner }
    public static func create(name: String, size: Int) throws -> FaultyCreate {
        if M.self != NoSizeCheck.self { guard size > 0 else { throw MemfdError.invalidSize(size) } }   // mistake (NoSizeCheck): any size goes on
        let flags = M.self == NoCloexec.self ? MFD_ALLOW_SEALING                                    // mistake (NoCloexec): no MFD_CLOEXEC
            : M.self == NoAllowSealing.self ? MFD_CLOEXEC                                             // mistake (NoAllowSealing): never sealable
            : MFD_CLOEXEC | MFD_ALLOW_SEALING
        let fd = memfd_create(name, flags)
        if fd == -1 { throw MemfdSegment.error("memfd_create") }
        if M.self != NoFtruncate.self && ftruncate(fd, off_t(size)) == -1 {                         // mistake (NoFtruncate): never sized
            Glibc.close(fd)
            throw MemfdSegment.error("ftruncate")
        }
        do {
            return FaultyCreate(MemfdSegment(descriptor: fd, bytes: try MemfdSegment.mapShared(fd, size: size, writable: true)))
        } catch {
            if M.self == NoSizeCheck.self { Glibc.close(fd) }   // as before: only no-size-check closes the memfd when mmap fails
            throw error
        }
    }
}

public final class NamedSegmentInstead: ForwardsToMemfdSegment {
    public let inner: MemfdSegment
    var path = ""
    public init(_ inner: MemfdSegment) { self.inner = inner }
    public static func create(name: String, size: Int) throws -> NamedSegmentInstead {
        guard size > 0 else { throw MemfdError.invalidSize(size) }
        let path = "/\(name)-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let fd = shm_open(path, O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0o600)                      // mistake: a name in /dev/shm
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

public final class CloseKeepsDescriptor: ForwardsToMemfdSegment {
    public let inner: MemfdSegment
    var closed = false
    public init(_ inner: MemfdSegment) { self.inner = inner }
    public func close() throws {
        guard !closed else { return }
        closed = true
        if munmap(inner.bytes.baseAddress, inner.size) == -1 { throw MemfdSegment.error("munmap") }   // mistake: the descriptor stays open
    }
}

// MARK: - send / receive / map

public final class NumberAsBytes: ForwardsToMemfdSegment {
    public let inner: MemfdSegment
    public init(_ inner: MemfdSegment) { self.inner = inner }
    public static func send(descriptor: Int32, over socket: Int32) throws {
        var number = descriptor
        if write(socket, &number, 4) != 4 { throw MemfdSegment.error("write") }                  // mistake: a number, not a descriptor
    }
    public static func receive(over socket: Int32) throws -> Int32 {
        var number: Int32 = -1
        let got = read(socket, &number, 4)
        if got == -1 { throw MemfdSegment.error("read") }
        if got == 0 { throw MemfdError.endOfFile }
        return number
    }
}

public final class DataByteZero: ForwardsToMemfdSegment {
    public let inner: MemfdSegment
    public init(_ inner: MemfdSegment) { self.inner = inner }
    public static func send(descriptor: Int32, over socket: Int32) throws {
        if SCMRights.send(socket: socket, descriptor: descriptor, byte: 0) == -1 { throw MemfdSegment.error("sendmsg") }   // mistake: byte 0
    }
}

/// Which step of receive a `FaultyReceive` gets wrong.
public protocol ReceiveMistake {}
public enum ControlBufferTooSmall: ReceiveMistake {}
public enum ReceivedNotCloexec: ReceiveMistake {}
public enum ReceiveReturnsMinusOne: ReceiveMistake {}

/// The reference receive (recvmsg through `SCMRights.receive`) with the mistake M at its line; the rest forwards.
public final class FaultyReceive<M: ReceiveMistake>: ForwardsToMemfdSegment {
    public let inner: MemfdSegment
    public init(_ inner: MemfdSegment) { self.inner = inner }
    public static func receive(over socket: Int32) throws -> Int32 {
        let space = M.self == ControlBufferTooSmall.self ? MemoryLayout<Int32>.size                 // mistake (ControlBufferTooSmall): room for the int only
            : SCMRights.space(descriptors: 1)
        let flags: Int32 = M.self == ReceivedNotCloexec.self ? 0 : MSG_CMSG_CLOEXEC                 // mistake (ReceivedNotCloexec): no MSG_CMSG_CLOEXEC
        let received = SCMRights.receive(socket: socket, controlSpace: space, flags: flags)
        if received.count == -1 { throw MemfdSegment.error("recvmsg") }
        if M.self == ReceiveReturnsMinusOne.self { return received.descriptor }                    // mistake (ReceiveReturnsMinusOne): -1 is returned
        if received.count == 0 { throw MemfdError.endOfFile }
        if received.messageFlags & Int32(MSG_CTRUNC) != 0 || received.descriptor == -1 { throw MemfdError.noDescriptor }
        return received.descriptor
    }
}

/// Which step of map a `FaultyMap` gets wrong.
public protocol MapMistake {}
public enum MapPrivate: MapMistake {}
public enum MapAlwaysWritable: MapMistake {}

/// The reference map (fstat, mmap) with the mistake M at its line; the rest forwards.
public final class FaultyMap<M: MapMistake>: ForwardsToMemfdSegment {
    public let inner: MemfdSegment
    public init(_ inner: MemfdSegment) { self.inner = inner }
    public static func map(descriptor: Int32, writable: Bool) throws -> FaultyMap {
        var info = stat()
        if fstat(descriptor, &info) == -1 { throw MemfdSegment.error("fstat") }
        let size = Int(info.st_size)
        guard size > 0 else { throw MemfdError.invalidSize(size) }
        let protection = writable || M.self == MapAlwaysWritable.self ? PROT_READ | PROT_WRITE : PROT_READ   // mistake (MapAlwaysWritable)
        let flags = M.self == MapPrivate.self ? MAP_PRIVATE : MAP_SHARED                          // mistake (MapPrivate): a private copy
        guard let address = mmap(nil, size, protection, flags, descriptor, 0), address != MAP_FAILED else {
            throw MemfdSegment.error("mmap")
        }
        return FaultyMap(MemfdSegment(descriptor: descriptor, bytes: UnsafeMutableRawBufferPointer(start: address, count: size)))
    }
}

// MARK: - seals

/// Which step of sealReadOnly a `FaultySeal` gets wrong.
public protocol SealMistake {}
public enum SealKeepsWritableMapping: SealMistake {}
public enum NoSealSeal: SealMistake {}
public enum NoSealShrink: SealMistake {}

/// The reference sealReadOnly (munmap, F_ADD_SEALS, mmap read-only) with the mistake M at its line; the rest forwards.
public final class FaultySeal<M: SealMistake>: ForwardsToMemfdSegment {
    public let inner: MemfdSegment
    var view: UnsafeMutableRawBufferPointer?     // the read-only mapping made by sealReadOnly
    public init(_ inner: MemfdSegment) { self.inner = inner }
    public var bytes: UnsafeMutableRawBufferPointer { view ?? inner.bytes }
    public func sealReadOnly() throws {
        if M.self != SealKeepsWritableMapping.self { munmap(inner.bytes.baseAddress, inner.size) }   // mistake (SealKeepsWritableMapping): still mapped
        let seals = M.self == NoSealSeal.self ? F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE          // mistake (NoSealSeal): no F_SEAL_SEAL
            : M.self == NoSealShrink.self ? F_SEAL_WRITE | F_SEAL_SEAL                                // mistake (NoSealShrink): writes only
            : F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL
        if addSeals(inner.descriptor, seals) == -1 { throw MemfdSegment.error("fcntl(F_ADD_SEALS)") }
        if M.self != SealKeepsWritableMapping.self {
            view = try MemfdSegment.mapShared(inner.descriptor, size: inner.size, writable: false)
        }
    }
    public func close() throws {
        if let view { munmap(view.baseAddress, view.count); self.view = nil; Glibc.close(inner.descriptor) } else { try inner.close() }
    }
}

// MARK: - reserve

/// How a `FaultyReserve` gets reserve wrong.
public protocol ReserveMistake {}
public enum ReserveByFtruncate: ReserveMistake {}
public enum FallocateErrno: ReserveMistake {}
public enum EnospcAsSystemError: ReserveMistake {}

/// reserve done wrong the way M says; the rest forwards.
public final class FaultyReserve<M: ReserveMistake>: ForwardsToMemfdSegment {
    public let inner: MemfdSegment
    public init(_ inner: MemfdSegment) { self.inner = inner }
    public static func reserve(descriptor: Int32, bytes: Int) throws {
        switch M.self {
        case is ReserveByFtruncate.Type:
            if ftruncate(descriptor, off_t(bytes)) == -1 {                                          // mistake: sets the size, reserves no page
                if errno == ENOSPC || errno == EFBIG { throw MemfdError.noSpace(requested: bytes) }
                throw MemfdSegment.error("ftruncate")
            }
        case is FallocateErrno.Type:
            if posix_fallocate(descriptor, 0, off_t(bytes)) == -1 {                                // mistake: it returns the error, never -1
                if errno == ENOSPC { throw MemfdError.noSpace(requested: bytes) }
                throw MemfdSegment.error("posix_fallocate")
            }
        default:
            let code = posix_fallocate(descriptor, 0, off_t(bytes))
            if code != 0 { throw MemfdSegment.error("posix_fallocate", code) }                      // mistake (EnospcAsSystemError): ENOSPC too
        }
    }
}

// MARK: - spawn

/// What the child of a `FaultySpawn` does wrong.
public protocol SpawnMistake {}
public enum LogInChild: SpawnMistake {}
public enum ExitAfterFailedExec: SpawnMistake {}
public enum ChildReturnsAfterFailedExec: SpawnMistake {}

/// spawn as a hand-written fork + execv (not the reference's posix_spawn), with the mistake M in the child; the rest forwards.
public final class FaultySpawn<M: SpawnMistake>: ForwardsToMemfdSegment {
    public let inner: MemfdSegment
    public init(_ inner: MemfdSegment) { self.inner = inner }
    public static func spawn(executable: String, arguments: [String]) throws -> pid_t {
        var argv: [UnsafeMutablePointer<CChar>?] = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        fflush(nil)
        let pid = fork()
        if pid == -1 { throw MemfdSegment.error("fork") }
        if pid == 0 {
            if M.self == LogInChild.self { WorkerLog.write("spawn: starting \(executable)") }          // mistake (LogInChild): a lock held at fork
            execv(argv[0]!, &argv)
            let code = errno
            if M.self == ExitAfterFailedExec.self { exit(127) }                                       // mistake (ExitAfterFailedExec): exit handlers run
            if M.self == ChildReturnsAfterFailedExec.self { throw MemfdSegment.error("execve", code) }   // mistake (ChildReturnsAfterFailedExec)
            _exit(127)
        }
        return pid
    }
}
