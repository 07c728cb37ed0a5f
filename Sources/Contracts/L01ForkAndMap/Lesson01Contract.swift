import Glibc

/// How a child process ended, decoded from the status `waitpid` fills in.
public enum ChildStatus: Equatable, CustomStringConvertible {
    /// It called `exit`/`_exit` (or returned from main) with this code, 0…255.
    case exited(Int32)
    /// A signal ended it (SIGKILL is 9).
    case signaled(Int32)

    public var description: String {
        switch self {
        case .exited(let code): return ".exited(\(code))"
        case .signaled(let sig): return ".signaled(\(signalName(sig)))"
        }
    }
}

/// What lesson 01 functions throw for bad input (a system call's failure is a `SystemError`).
public enum ForkAndMapError: Error, Equatable {
    /// A block of 0 or fewer bytes was asked for.
    case invalidSize(Int)
}

/// Lesson 01 — fork and an anonymous shared block. The student's `ForkAndMap` implements it.
public protocol ForkAndMapContract {
    /// Maps `bytes` bytes of zero-filled memory that stays shared with every child forked
    /// afterwards. Throws `ForkAndMapError.invalidSize` for `bytes <= 0` and a `SystemError`
    /// naming `mmap` when the call fails.
    /// The corresponding C call is `mmap(nil, bytes, PROT_READ|PROT_WRITE, MAP_SHARED|MAP_ANONYMOUS, -1, 0)`.
    static func mapSharedBlock(bytes: Int) throws -> UnsafeMutableRawBufferPointer

    /// Removes the mapping; the block must not be touched afterwards.
    /// The corresponding C function is `munmap`.
    static func unmap(_ block: UnsafeMutableRawBufferPointer) throws

    /// Forks. The child runs `body` and ends with `_exit(body())`, never returning; the parent
    /// gets the child's pid. The corresponding C function is `fork`.
    static func runInChild(_ body: () -> Int32) throws -> pid_t

    /// Waits for the child and decodes how it ended. The corresponding C function is `waitpid`.
    static func waitForChild(_ pid: pid_t) throws -> ChildStatus
}
