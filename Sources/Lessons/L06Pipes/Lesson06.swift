/// Lesson 06: what it is, its parts and their hints.
public enum Lesson06: LessonDeclaration {
    public static let info = LessonInfo(number: 6, slug: "pipes", title: "Pipes and framed messages", defaultTimeout: 10)

    static let neverSawEndOfFile = """
        The reader never saw end-of-file. The kernel reports end-of-file on a pipe only when every \
        copy of its write end is closed, in every process: after fork() the parent still holds the \
        write end unless it closes it, and then its own receive() waits for ever for bytes that only \
        it could write. Close the end each process does not use, right after fork (in startWriter). \
        The other cause: receive() treats read() returning 0 as "nothing yet" and calls read() again \
        for ever — 0 means end-of-file, throw PipeError.endOfFile.
        """

    public static var parts: [Part<any PipeConnectionContract.Type>] { [
        Part(1, "the post's example: 0…9 then \"END\" arrive in order through a simplex pipe",
             check: { lab, context in try tutorialExample(lab, context) }, hints: [
            "pipe(&fds) gives two descriptors: fds[0] is the read end, fds[1] the write end. A simplex pair is (Connection(descriptor: fds[0]), Connection(descriptor: fds[1])). Both ends must be close-on-exec: Descriptor.pipe() calls pipe2(fds, O_CLOEXEC) and returns (read, write).",
            "send writes a 4-byte big-endian length, then the bytes; receive reads 4 bytes, decodes the length, then reads exactly that many. In startWriter, fork: the child closes the reader, runs body(writer), closes the writer and _exits; the parent closes the writer and returns (reader, pid).",
            "let n = UInt32(message.count)\nlet header: [UInt8] = [UInt8(n >> 24), UInt8((n >> 16) & 0xff), UInt8((n >> 8) & 0xff), UInt8(n & 0xff)]\nand back: Int(Int32(bitPattern: UInt32(h[0]) << 24 | UInt32(h[1]) << 16 | UInt32(h[2]) << 8 | UInt32(h[3])))",
            "The part also looks at startWriter's child: it must have closed its read end before body runs (the part checks from inside body), and it exits with 1 when body throws, 0 otherwise (_exit, never a return). pipe(duplex: false) is (read end, write end) of one pipe, both close-on-exec.",
        ]),
        Part(2, "duplex request/response both ways",
             check: { lab, context in try duplexBothWays(lab, context) }, hints: [
            "A pipe carries bytes one way only: its read end cannot send. For a two-way pair use a socket pair.",
            "socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &fds): both descriptors read and write, what one end sends the other receives, and neither is inherited by a program exec'd later. Sockets are written with send(fd, buffer, count, Int32(MSG_NOSIGNAL)).",
            "After close(), set descriptor to -1 so that a second close does nothing and send/receive/poll throw PipeError.closed — a stale number may already belong to another file.",
        ]),
        Part(3, "a 4 MiB message through a pipe, with partial writes and EINTR",
             check: { lab, context in try bigMessageWithInterruptions(lab, context) }, hints: [
            "A pipe holds 64 KiB. write() of 4 MiB blocks until the reader makes room, and if a signal arrives meanwhile it returns early with the number of bytes it took: keep writing from there until every byte is out.",
            "read() returns whatever is there, often less than you asked for: loop until you have the 4 bytes of the length, then loop until you have the whole payload.",
            "A signal that arrives before any byte moved makes read() or write() fail with errno == EINTR: that is not an error, call it again. Only -1 with another errno is a failure (throw SystemError).",
        ], timeout: 30),
        Part(4, "end-of-file: receive throws endOfFile once the writing process is gone",
             check: { lab, context in try endOfFile(lab, context) }, hints: [
            "read() returns 0 at end-of-file. Between messages that is PipeError.endOfFile; never call read() again after a 0.",
            "End-of-file comes only when every write end of the pipe is closed — in every process. fork() copies the descriptors, so after the fork the parent holds a write end too.",
            "In startWriter, the parent calls writer.close() right after fork, before returning the reader; the child calls reader.close() before running body.",
        ], ifTimedOut: neverSawEndOfFile, timeout: 8),
        Part(5, "poll: false after its timeout on an idle connection, true once data arrives",
             check: { lab, context in try pollWaits(lab, context) }, hints: [
            "poll(&entry, 1, milliseconds) with entry = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0) waits until the descriptor is readable or the time runs out. Its timeout is in milliseconds, ours in seconds.",
            "At end-of-file a pipe reports POLLHUP, not POLLIN — receive would not block then either (it throws endOfFile), so count POLLIN | POLLHUP | POLLERR as ready. Ready means some bytes (or end-of-file), not a whole message: after half a message, receive() still blocks.",
            "Check the timeout first: negative or NaN → PipeError.invalidTimeout. Clamp large ones before converting to Int32 (Int32(1e12) traps), and retry on EINTR with the time that is left.",
            ".infinity means wait for ever: poll's -1. A finite timeout too large for Int32 milliseconds is clamped to Int32.max. poll consumes nothing: after it says true, receive() still gets the whole message.",
        ]),
        Part(6, "interop: Python's multiprocessing.connection reads what you send, and you read what it sends",
             check: { lab, context in try pythonInterop(lab, context) }, hints: [
            "Python frames with struct.pack(\"!i\", n): \"!\" means network byte order, big-endian; \"i\" a signed 32-bit integer.",
            "If Python reports \"bad message length\", it read your 4 bytes as a huge number: the most significant byte goes first.",
        ], timeout: 30),
        Part(7, "a peer that dies mid-message gives PipeError.truncated, not a hang or a crash",
             check: { lab, context in try peerDiesMidMessage(lab, context) }, hints: [
            "If read() returns 0 after part of a message arrived, the writer is gone for good: throw PipeError.truncated(expected:received:).",
            "Check the length before allocating: a negative one (or one over maximumMessageBytes) is PipeError.badLength — [UInt8](repeating: 0, count: -16) is a crash.",
            "Writing to a pipe or socket whose reader is gone raises SIGPIPE, which kills the process. Sockets: send(…, Int32(MSG_NOSIGNAL)). Pipes: signal(SIGPIPE, SIG_IGN) once. write() then fails with EPIPE: throw it.",
            "The counts are checked exactly: a writer gone after 10 of 1000 payload bytes is truncated(expected: 1000, received: 10); after 2 of the 4 length bytes, truncated(expected: 4, received: 2). And send refuses what no receiver would take: more than maximumMessageBytes → PipeError.messageTooLarge(n), before the prefix is written.",
        ], ifTimedOut: "receive() never returned after the writer died in the middle of a message: read() returning 0 means end-of-file — throw PipeError.truncated instead of reading again.",
                 timeout: 8),
    ] }
}
