import Glibc
import LabSupport

/// A connected pair of `AF_UNIX` stream sockets, both close-on-exec, each end owned: what
/// lesson 06's bench, lesson 07's bench and lesson 11's checks talk over. Its ends can be taken
/// apart (one handed to a `FramedConnection`, one closed, the other kept). The corresponding C
/// function is `socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds)`.
struct SocketPair: ~Copyable {
    var first: OwnedDescriptor
    var second: OwnedDescriptor

    init() throws {
        var fds: [Int32] = [-1, -1]
        try valueOrErrno("socketpair") { socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &fds) }
        first = OwnedDescriptor(taking: fds[0])
        second = OwnedDescriptor(taking: fds[1])
    }
}

extension SocketPair {
    /// Forks a child that talks over `second` (it closes its copy of `first` before `body`), and
    /// closes `second` here: this process keeps `first`, the child `second`. The corresponding C
    /// calls are `fork` (through `forkChild`) and `close`.
    consuming func forkChild(talkingOver body: (borrowing OwnedDescriptor) throws -> Int32) throws -> ForkedPeer {
        let mine = first, theirs = second
        let child = try LabSupport.forkChild {
            _ = Glibc.close(mine.rawValue)                      // the child's copy
            return try body(theirs)
        }
        theirs.close()
        return ForkedPeer(end: mine, child: child)
    }
}

/// A child forked by `SocketPair.forkChild(talkingOver:)` and this process's end of the pair.
struct ForkedPeer: ~Copyable {
    var end: OwnedDescriptor
    let child: pid_t
}
