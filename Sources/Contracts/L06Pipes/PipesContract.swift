import Glibc

/// What lesson 06 connections throw (a failed system call is a `SystemError` naming it, e.g.
/// `'write' failed: (32) EPIPE` when the other end is gone).
public enum PipeError: Error, Equatable, CustomStringConvertible {
    /// The other end closed between two messages: there will be no more (Python's `EOFError`).
    case endOfFile
    /// The other end closed in the middle of a message: `received` of the `expected` bytes of the
    /// length prefix (expected 4) or of the payload arrived (Python: "got end of file during message").
    case truncated(expected: Int, received: Int)
    /// A length prefix that is negative or larger than `maximumMessageBytes` (Python: "bad message
    /// length"). -1 is how Python announces its 8-byte form for messages over 2 GiB, unsupported here.
    case badLength(Int)
    /// `send` was given more than `maximumMessageBytes`.
    case messageTooLarge(Int)
    /// The connection was used after `close()`.
    case closed
    /// `poll` was given a negative or NaN timeout.
    case invalidTimeout(Double)

    public var description: String {
        switch self {
        case .endOfFile: return "PipeError.endOfFile"
        case .truncated(let expected, let received): return "PipeError.truncated(expected: \(expected), received: \(received))"
        case .badLength(let n): return "PipeError.badLength(\(n))"
        case .messageTooLarge(let n): return "PipeError.messageTooLarge(\(n))"
        case .closed: return "PipeError.closed"
        case .invalidTimeout(let t): return "PipeError.invalidTimeout(\(t))"
        }
    }
}

/// The largest message a connection sends or accepts: 1 GiB, well inside the 4-byte signed
/// length prefix (Python switches to an 8-byte length only above 2 GiB − 1).
public let maximumMessageBytes = 1 << 30

/// Lesson 06 — a connection carrying whole messages over a pipe end or a stream socket, framed
/// exactly like Python's `multiprocessing.connection`: a 4-byte big-endian signed length, then the
/// payload. The student's `Connection` implements it.
public protocol PipeConnectionContract: AnyObject {
    /// Takes ownership of an open descriptor: a pipe end or a connected `AF_UNIX` stream socket.
    init(descriptor: Int32)

    /// The descriptor, or -1 once closed. The connection owns it: the caller closes nothing.
    var descriptor: Int32 { get }

    /// Sends one message: the 4-byte big-endian length, then the bytes. Loops over partial writes
    /// and EINTR; never dies of SIGPIPE (a gone reader is a thrown EPIPE `SystemError`).
    /// The corresponding C functions are `write` (pipes) and `send(…, MSG_NOSIGNAL)` (sockets).
    func send(_ message: [UInt8]) throws

    /// Receives one whole message. Throws `PipeError.endOfFile` when the other end closed between
    /// messages and `PipeError.truncated` when it closed in the middle of one.
    /// The corresponding C function is `read`.
    func receive() throws -> [UInt8]

    /// True when the descriptor becomes readable within `timeout` seconds: some bytes, or
    /// end-of-file, are waiting — not necessarily a whole message (after half a message,
    /// `receive` still blocks). False when the time ran out. Does not consume anything.
    /// The corresponding C function is `poll`.
    func poll(timeout: Double) throws -> Bool

    /// Closes the descriptor; closing twice does nothing. The corresponding C function is `close`.
    func close()

    /// A connected pair, both ends close-on-exec (required: parts 1 and 2 check `FD_CLOEXEC`). Simplex (`duplex: false`): `pipe2(…, O_CLOEXEC)`, the
    /// first can only receive and the second only send (Python's `Pipe(duplex=False)` returns the
    /// same order). Duplex: `socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC)`, both send and receive.
    static func pipe(duplex: Bool) throws -> (Self, Self)

    /// Python's `Process(target=writer, args=(child_conn,))` with a simplex pipe: makes the pipe,
    /// forks, runs `body` with the write end in the child (which then `_exit`s: 0, or 1 if `body`
    /// threw), and returns the read end and the child's pid to the parent. Each process closes the
    /// end it does not use.
    static func startWriter(_ body: (Self) throws -> Void) throws -> (reader: Self, writer: pid_t)
}
