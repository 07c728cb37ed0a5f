import Glibc
import Contracts

// Lesson 06 — pipes.
// Read the lesson: swift run lab show 6     Check your work: swift run lab check 6
//
// Replace each todo() with your code. Frame every message like Python's multiprocessing.connection:
// a 4-byte big-endian signed length, then the payload. Throw PipeError for the cases the lesson
// lists, and SystemError("write") (or the call that failed) when a system call fails.

public final class Connection: PipeConnectionContract {
    /// The descriptor, or -1 once closed.
    public private(set) var descriptor: Int32

    /// Takes ownership of a pipe end or a connected stream socket.
    public init(descriptor: Int32) {
        self.descriptor = descriptor
    }

    deinit { close() }

    /// Sends the 4-byte big-endian length, then the bytes. Loop over partial writes and EINTR;
    /// never die of SIGPIPE (send(…, MSG_NOSIGNAL) on sockets; ignore SIGPIPE for pipes).
    public func send(_ message: [UInt8]) throws {
        todo()
    }

    /// Reads the 4-byte length, then exactly that many bytes. read() returning 0 is end-of-file:
    /// PipeError.endOfFile between messages, PipeError.truncated in the middle of one.
    public func receive() throws -> [UInt8] {
        todo()
    }

    /// True when the descriptor becomes readable within `timeout` seconds (some bytes or end-of-file
    /// are waiting; half a message still blocks receive()), false when the time ran out. poll() takes
    /// milliseconds.
    public func poll(timeout: Double) throws -> Bool {
        todo()
    }

    /// Closes the descriptor once; a second close does nothing.
    public func close() {
        todo()
    }

    /// duplex: socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC); simplex: Descriptor.pipe() (pipe2 with
    /// O_CLOEXEC), returned as (read end, write end). Both ends must be close-on-exec.
    public static func pipe(duplex: Bool) throws -> (Connection, Connection) {
        todo()
    }

    /// Makes a simplex pipe and forks: the child runs body(writer) and _exits (0, or 1 if body
    /// threw); the parent gets (reader, child's pid). Each process closes the end it does not use.
    public static func startWriter(_ body: (Connection) throws -> Void) throws -> (reader: Connection, writer: pid_t) {
        todo()
    }
}
