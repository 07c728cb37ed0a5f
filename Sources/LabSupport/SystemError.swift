import Glibc

/// A failed system call: which call, its errno (number and name) and the object it was about.
///
/// Its description reads like swift-nio's: `'shm_open' failed on '/psm_1234': (17) EEXIST File exists`.
public struct SystemError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The C function that failed, e.g. `shm_open`.
    public let call: String
    /// The errno value it left (or returned, for pthread and posix_spawn calls).
    public let errno: Int32
    /// The path, name or descriptor the call was about; empty when there is none.
    public let object: String

    public init(_ call: String, errno: Int32 = Glibc.errno, object: String = "") {
        self.call = call
        self.errno = errno
        self.object = object
    }

    /// The symbolic name of the errno value, e.g. `ENOENT`.
    public var errnoName: String { errnoSymbol(errno) }

    public var description: String {
        let on = object.isEmpty ? "" : " on '\(object)'"
        return "'\(call)' failed\(on): (\(errno)) \(errnoName) \(String(cString: strerror(errno)))"
    }
}

/// Runs a call that returns -1 and sets errno on failure, retrying on EINTR.
/// The close-like calls must not use it (a retried `close` may close someone else's descriptor).
@discardableResult
public func valueOrErrno<T: BinaryInteger>(_ call: String, object: String = "", retryOnInterrupt: Bool = true,
                                           _ body: () -> T) throws -> T {
    while true {
        let value = body()
        if value != -1 { return value }
        let code = Glibc.errno
        if code == EINTR && retryOnInterrupt { continue }
        throw SystemError(call, errno: code, object: object)
    }
}

/// Symbolic names of the errno values a lab meets; the number for any other.
public func errnoSymbol(_ code: Int32) -> String {
    switch code {
    case EPERM: return "EPERM"
    case ENOENT: return "ENOENT"
    case ESRCH: return "ESRCH"
    case EINTR: return "EINTR"
    case EIO: return "EIO"
    case EBADF: return "EBADF"
    case ECHILD: return "ECHILD"
    case EAGAIN: return "EAGAIN"
    case ENOMEM: return "ENOMEM"
    case EACCES: return "EACCES"
    case EFAULT: return "EFAULT"
    case EBUSY: return "EBUSY"
    case EEXIST: return "EEXIST"
    case ENOTDIR: return "ENOTDIR"
    case EISDIR: return "EISDIR"
    case EINVAL: return "EINVAL"
    case ENFILE: return "ENFILE"
    case EMFILE: return "EMFILE"
    case ENOSPC: return "ENOSPC"
    case EPIPE: return "EPIPE"
    case ERANGE: return "ERANGE"
    case EDEADLK: return "EDEADLK"
    case ENAMETOOLONG: return "ENAMETOOLONG"
    case ENOSYS: return "ENOSYS"
    case ENOTEMPTY: return "ENOTEMPTY"
    case ETIMEDOUT: return "ETIMEDOUT"
    case ECONNREFUSED: return "ECONNREFUSED"
    case ECONNRESET: return "ECONNRESET"
    case EADDRINUSE: return "EADDRINUSE"
    case ENOTCONN: return "ENOTCONN"
    case EOVERFLOW: return "EOVERFLOW"
    case EOWNERDEAD: return "EOWNERDEAD"
    case ENOTRECOVERABLE: return "ENOTRECOVERABLE"
    default: return "errno \(code)"
    }
}
