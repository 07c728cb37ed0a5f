import CShmLab
import Glibc

// Lesson 11's system calls that `import Glibc` does not show: memfd_create and the seal
// constants are GNU-only, and an SCM_RIGHTS control message is built with the CMSG_* macros.
// Each is as thin as the C call: -1 and errno on failure, nothing hidden.

/// `MFD_CLOEXEC`: the memfd's descriptor is closed on exec.
public let MFD_CLOEXEC: UInt32 = UInt32(SHMLAB_MFD_CLOEXEC)
/// `MFD_ALLOW_SEALING`: seals may be added later (without it, `F_ADD_SEALS` fails with EPERM).
public let MFD_ALLOW_SEALING: UInt32 = UInt32(SHMLAB_MFD_ALLOW_SEALING)
/// `F_SEAL_SEAL`: no more seals may be added.
public let F_SEAL_SEAL: Int32 = Int32(SHMLAB_F_SEAL_SEAL)
/// `F_SEAL_SHRINK`: the file cannot get smaller (so nobody's mapping can SIGBUS).
public let F_SEAL_SHRINK: Int32 = Int32(SHMLAB_F_SEAL_SHRINK)
/// `F_SEAL_GROW`: the file cannot get bigger.
public let F_SEAL_GROW: Int32 = Int32(SHMLAB_F_SEAL_GROW)
/// `F_SEAL_WRITE`: nobody can change the contents any more (`write`, a writable `mmap`).
public let F_SEAL_WRITE: Int32 = Int32(SHMLAB_F_SEAL_WRITE)
/// `MSG_CMSG_CLOEXEC`: descriptors received by `recvmsg` are close-on-exec.
public let MSG_CMSG_CLOEXEC: Int32 = Int32(SHMLAB_MSG_CMSG_CLOEXEC)

/// A file that lives in RAM and has no name in any directory; returns its descriptor, or -1 with
/// errno set. The caller owns the returned descriptor and closes it. The corresponding C
/// function is `memfd_create`.
public func memfd_create(_ name: String, _ flags: UInt32) -> Int32 {
    shmlab_memfd_create(name, flags)
}

/// Adds seals to a memfd made with `MFD_ALLOW_SEALING`; 0, or -1 with errno (EPERM: sealing not
/// allowed or `F_SEAL_SEAL` already set; EBUSY: `F_SEAL_WRITE` while a shared mapping of a writable descriptor
/// exists). The corresponding C call is `fcntl(fd, F_ADD_SEALS, seals)`.
public func addSeals(_ fd: Int32, _ seals: Int32) -> Int32 {
    shmlab_add_seals(fd, seals)
}

/// The seals of a memfd, or -1 with errno. The corresponding C call is `fcntl(fd, F_GET_SEALS)`.
public func getSeals(_ fd: Int32) -> Int32 {
    shmlab_get_seals(fd)
}

/// Sending and receiving one descriptor over a connected Unix socket (`SCM_RIGHTS`).
public enum SCMRights {
    /// The control buffer that holds `count` descriptors. The corresponding C macro is
    /// `CMSG_SPACE(count * sizeof(int))`.
    public static func space(descriptors count: Int) -> Int {
        Int(shmlab_cmsg_space_fds(Int32(count)))
    }

    /// Sends one data byte, `byte`, with `descriptor` in an `SCM_RIGHTS` control message; the
    /// receiver gets its own descriptor for the same open file. Returns 1, or -1 with errno (EPIPE
    /// when the other end is gone: `MSG_NOSIGNAL`, no SIGPIPE). Retries EINTR. Both descriptors
    /// stay the caller's. The corresponding C function is `sendmsg`.
    public static func send(socket: Int32, descriptor: Int32, byte: UInt8) -> Int {
        shmlab_send_fd(socket, descriptor, byte)
    }

    /// What one `recvmsg` gave: the bytes received (0: end of file, -1: error, errno set), the
    /// data byte, the first descriptor of an `SCM_RIGHTS` message (-1 if none arrived), and
    /// `msg_flags` (`MSG_CTRUNC` set: the control buffer was too small and descriptors were lost).
    /// A received `descriptor` (≥ 0) is new in this process: the caller owns it and closes it.
    public struct Received {
        public let count: Int
        public let byte: UInt8
        public let descriptor: Int32
        public let messageFlags: Int32
    }

    /// Receives one data byte and any descriptor sent with it, into a control buffer of
    /// `controlSpace` bytes (at most 256; `space(descriptors: 1)` holds one descriptor). `flags`
    /// are `recvmsg`'s (`MSG_CMSG_CLOEXEC`). Retries EINTR. The corresponding C function is `recvmsg`.
    public static func receive(socket: Int32, controlSpace: Int, flags: Int32) -> Received {
        var byte: UInt8 = 0
        var descriptor: Int32 = -1
        var messageFlags: Int32 = 0
        let count = shmlab_recv_fd(socket, UInt(max(0, controlSpace)), flags, &byte, &descriptor, &messageFlags)
        return Received(count: count, byte: byte, descriptor: descriptor, messageFlags: messageFlags)
    }
}
