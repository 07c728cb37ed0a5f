import Glibc

/// What lesson 11's segment and its helpers throw.
public enum MemfdError: Error, Equatable, CustomStringConvertible {
    /// `create`: a size of 0 or less.
    case invalidSize(Int)
    /// `receive`: the other end closed the socket before a descriptor arrived (`recvmsg` returned 0).
    case endOfFile
    /// `receive`: a message arrived without a descriptor, or the control buffer was too small for
    /// it (`MSG_CTRUNC`: the kernel dropped the descriptor).
    case noDescriptor
    /// `reserve`: the file system cannot hold `requested` bytes (`posix_fallocate` returned ENOSPC).
    case noSpace(requested: Int)
    /// Any other failure of a system call: which call (`"memfd_create"`, `"ftruncate"`, `"fstat"`,
    /// `"mmap"`, `"munmap"`, `"fcntl(F_ADD_SEALS)"`, `"sendmsg"`, `"recvmsg"`, `"posix_fallocate"`,
    /// `"posix_spawn"`, `"fork"`, `"execve"`) and the errno it left (or returned).
    case systemError(call: String, errno: Int32)

    public var description: String {
        switch self {
        case .invalidSize(let size): return ".invalidSize(\(size))"
        case .endOfFile: return ".endOfFile"
        case .noDescriptor: return ".noDescriptor"
        case .noSpace(let requested): return ".noSpace(requested: \(requested))"
        case .systemError(let call, let code):
            return ".systemError(call: \"\(call)\", errno: \(code) \(errnoSymbol(code)))"
        }
    }
}

/// Lesson 11 — shared memory with no name, passed by descriptor, and the ways to start the
/// process that receives it. The student's `MemfdSegment` class implements it.
///
/// A segment owns one descriptor and one mapping of it: `close()` unmaps and closes both.
public protocol MemfdSegmentContract: AnyObject {
    /// A new segment of exactly `size` bytes with no name in any directory (nothing appears in
    /// /dev/shm), mapped read-write and shared. `name` is only a label (`/proc/PID/fd/N` shows
    /// `/memfd:NAME (deleted)`). The descriptor is close-on-exec and allows seals.
    /// Throws `.invalidSize` for `size <= 0` or `.systemError`; when it throws, nothing is left open.
    /// The corresponding C calls are `memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING)`,
    /// `ftruncate` and `mmap(…, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)`.
    static func create(name: String, size: Int) throws -> Self

    /// Maps a descriptor received from another process; the segment owns it from now on. The size
    /// comes from `fstat`. `writable == false` maps read-only (`PROT_READ`), what a sealed
    /// segment allows; `writable == true` on a segment sealed with `F_SEAL_WRITE` throws
    /// `.systemError(call: "mmap", errno: EPERM)` — and then the descriptor is still the caller's.
    /// The corresponding C calls are `fstat` and `mmap(…, MAP_SHARED, fd, 0)`.
    static func map(descriptor: Int32, writable: Bool) throws -> Self

    /// The descriptor (to send to another process). The segment owns it (`close()` closes it).
    var descriptor: Int32 { get }
    /// The size in bytes (what `fstat` reports).
    var size: Int { get }
    /// The mapped bytes; read-only after `sealReadOnly()` or `map(…, writable: false)`.
    var bytes: UnsafeMutableRawBufferPointer { get }

    /// Makes the segment read-only for everyone, for ever, before it is handed over: unmaps this
    /// process's mapping (`F_SEAL_WRITE` fails with EBUSY while any shared mapping of a descriptor
    /// opened for writing exists, even a `PROT_READ` one), adds the seals `F_SEAL_SHRINK |
    /// F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL`, then maps it again read-only (`bytes`).
    /// Afterwards nobody can change, resize or unseal it.
    /// The corresponding C calls are `munmap`, `fcntl(fd, F_ADD_SEALS, …)` and `mmap(PROT_READ)`.
    func sealReadOnly() throws

    /// Unmaps and closes the descriptor. The memory is freed when the last descriptor and mapping
    /// of it, in any process, are gone. A second call does nothing.
    /// The corresponding C functions are `munmap` and `close`.
    func close() throws

    /// Sends `descriptor` over a connected Unix stream socket: one data byte, 1 (the number of
    /// descriptors, which is what Python's `multiprocessing.reduction.recv_handle` checks), with
    /// the descriptor in an `SCM_RIGHTS` control message. The caller keeps its own descriptor.
    /// The corresponding C function is `sendmsg` (`SCMRights.send`).
    static func send(descriptor: Int32, over socket: Int32) throws

    /// Receives one descriptor sent that way (or by Python's `send_handle`): a new descriptor in
    /// this process, close-on-exec. Throws `.endOfFile` when the other end closed first and
    /// `.noDescriptor` when a message came without one (or it did not fit: `MSG_CTRUNC`).
    /// The caller owns the returned descriptor (`map(descriptor:writable:)` takes it over).
    /// The corresponding C function is `recvmsg(…, MSG_CMSG_CLOEXEC)` (`SCMRights.receive`).
    static func receive(over socket: Int32) throws -> Int32

    /// Makes the file system back `bytes` bytes of the file now, so that a shortage shows up as an
    /// error here instead of a SIGBUS at the first touch. Throws `.noSpace(requested: bytes)` when
    /// it cannot (ENOSPC), `.systemError(call: "posix_fallocate", …)` otherwise.
    /// The corresponding C function is `posix_fallocate(fd, 0, bytes)`, which returns its error.
    static func reserve(descriptor: Int32, bytes: Int) throws

    /// Starts `executable` with `arguments` (argv[0] is the executable) and returns its pid, safely
    /// even when other threads of this process hold locks: between fork and exec the child does
    /// only async-signal-safe work (no logging, no allocation, no Swift strings), and if the exec
    /// fails it ends with `_exit(127)` — never `exit`, never a return. Either throws
    /// `.systemError` when the program cannot be started, or returns a pid that exits 127.
    /// The corresponding C function is `posix_spawn` (or `fork` + `execve` + `_exit`).
    static func spawn(executable: String, arguments: [String]) throws -> pid_t
}
