import CShmLab
import Glibc

/// The lab's own Unix-domain stream sockets by path: what checks use to reach a student's server
/// (or to stand in for one) without relying on the student's code. Each call returns an
/// `OwnedDescriptor`: the caller owns the new socket and closes it (or hands it to a
/// `FramedConnection`); a step that fails closes it already.
public enum UnixSocket {
    /// The longest path `sockaddr_un.sun_path` holds on Linux, without its terminating NUL.
    public static let maximumPathBytes = 107

    /// A new socket bound to `path` and listening. The path must not exist yet.
    /// The corresponding C functions are `socket(AF_UNIX, SOCK_STREAM|SOCK_CLOEXEC)`, `bind` and `listen`.
    public static func listen(at path: String, backlog: Int32 = 64) throws -> OwnedDescriptor {
        let fd = try stream(at: path, "bind") { bind($0.rawValue, $1, $2) }
        try valueOrErrno("listen", object: path) { Glibc.listen(fd.rawValue, backlog) }
        return fd
    }

    /// A new socket connected to the listener at `path`.
    /// The corresponding C functions are `socket(AF_UNIX, SOCK_STREAM|SOCK_CLOEXEC)` and `connect`.
    public static func connect(to path: String) throws -> OwnedDescriptor {
        try stream(at: path, "connect") { Glibc.connect($0.rawValue, $1, $2) }
    }

    /// A new stream socket given the address of `path` by `call` (`bind` or `connect`); closed
    /// again when any step fails.
    static func stream(at path: String, _ name: String,
                       _ call: (BorrowedDescriptor, UnsafePointer<sockaddr>, socklen_t) -> Int32) throws -> OwnedDescriptor {
        var address = try socketAddress(path)
        let fd = OwnedDescriptor(taking: try valueOrErrno("socket") {
            socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        })
        try withUnsafePointer(to: &address) { pointer in
            try pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { raw in
                _ = try valueOrErrno(name, object: path) { call(fd.borrowed, raw, socklen_t(MemoryLayout<sockaddr_un>.size)) }
            }
        }
        return fd
    }

    /// The next connection on a listening socket, close-on-exec. The corresponding C function is
    /// `accept4(fd, NULL, NULL, SOCK_CLOEXEC)`. The listener stays its owner's; the caller owns
    /// the connection.
    public static func accept(_ listener: BorrowedDescriptor) throws -> OwnedDescriptor {
        OwnedDescriptor(taking: try valueOrErrno("accept4", object: "fd \(listener.rawValue)") {
            shmlab_accept_cloexec(listener.rawValue)
        })
    }

    /// `sockaddr_un` for `path`; a path over 107 bytes is `ENAMETOOLONG`.
    static func socketAddress(_ path: String) throws -> sockaddr_un {
        let bytes = Array(path.utf8)
        guard bytes.count <= maximumPathBytes else { throw SystemError("bind", errno: ENAMETOOLONG, object: path) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (i, byte) in bytes.enumerated() { raw[i] = byte }
        }
        return address
    }
}

/// Who is at the other end of a connected Unix socket, as the kernel recorded it at `connect`.
public struct PeerCredentials: Equatable, Sendable, CustomStringConvertible {
    public let pid: pid_t
    /// The peer's effective uid when it connected.
    public let uid: uid_t
    public let gid: gid_t

    public init(pid: pid_t, uid: uid_t, gid: gid_t) {
        self.pid = pid
        self.uid = uid
        self.gid = gid
    }

    public var description: String { "pid \(pid), uid \(uid), gid \(gid)" }
}

/// The credentials of the process at the other end of a connected Unix socket. `struct ucred` is
/// hidden behind `_GNU_SOURCE`, so Swift cannot see it; this wraps it. The corresponding C call is
/// `getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &ucred, &length)`. Closes nothing.
public func peerCredentials(of socket: BorrowedDescriptor) throws -> PeerCredentials {
    var pid: pid_t = 0
    var uid: uid_t = 0
    var gid: gid_t = 0
    try valueOrErrno("getsockopt(SO_PEERCRED)", object: "fd \(socket.rawValue)") {
        shmlab_peer_credentials(socket.rawValue, &pid, &uid, &gid)
    }
    return PeerCredentials(pid: pid, uid: uid, gid: gid)
}

/// Sets the uid the kernel uses for file-system permission checks only, and returns the previous
/// one. A process that lowered its effective uid (`seteuid`) can keep root's file access this way
/// while everything else, including `SO_PEERCRED`, sees the new uid. The corresponding C function
/// is `setfsuid`.
@discardableResult
public func setFilesystemUser(_ uid: uid_t) -> uid_t {
    uid_t(bitPattern: shmlab_setfsuid(uid))
}
