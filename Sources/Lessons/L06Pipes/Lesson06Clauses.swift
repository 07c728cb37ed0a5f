/// Lesson 06's promises — the contract's doc comments (Sources/Contracts/L06Pipes) and the lesson
/// text (Exercises/06-pipes/README.md) — each with the parts that check it and the mutants that
/// prove those parts fail when it is broken.
extension Lesson06 {
    public static var clauses: [Clause] { [
        // The wire format.
        Clause("send writes a 4-byte big-endian signed length, then exactly the payload (Python's struct \"!i\")",
               in: "send(_:); text: A stream has no messages", parts: [1, 6], mutants: ["little-endian-length", "length-includes-header"]),
        Clause("receive decodes a frame the lab (or Python) wrote: big-endian signed length, then that many bytes",
               in: "receive(); text: A stream has no messages", parts: [1, 6, 7], mutants: ["little-endian-length", "length-includes-header"]),
        Clause("message sizes 0 … 1 MiB, across Python's 16 KiB write split, each way; sizes drawn from the run's seed on the wire",
               in: "text: part 6; send(_:)", parts: [1, 2, 6], mutants: ["little-endian-length", "single-read"]),
        Clause("several messages already in the stream come out one per receive: bytes read ahead belong to the next message",
               in: "receive(); text: A stream has no messages", parts: [1], mutants: ["read-ahead-discards-rest"]),
        Clause("Python's multiprocessing.connection reads what send wrote (first, before anything else touches it) and receive reads what Python's send_bytes wrote",
               in: "text: part 6, In Python", parts: [6], mutants: ["little-endian-length", "length-includes-header", "single-read"]),

        // Pairs.
        Clause("pipe(duplex: false) is (read end, write end) of one pipe, Python's order",
               in: "pipe(duplex:)", parts: [1, 4], mutants: ["swapped-pipe-ends"]),
        Clause("pipe(duplex: true) is a connected AF_UNIX SOCK_STREAM pair: both ends send and receive",
               in: "pipe(duplex:)", parts: [2], mutants: ["duplex-over-pipe", "duplex-datagram"]),
        Clause("both ends of both kinds of pair are close-on-exec (FD_CLOEXEC)",
               in: "pipe(duplex:); text: close-on-exec", parts: [1, 2], mutants: ["not-close-on-exec"]),

        // startWriter: the process arrangement.
        Clause("startWriter: the child runs body with the write end, having closed its copy of the read end",
               in: "startWriter(_:); text: Close the ends you do not use", parts: [1], mutants: ["child-keeps-reader"]),
        Clause("startWriter: the child exits 0 when body returned and 1 when body threw; only the parent returns",
               in: "startWriter(_:)", parts: [1], mutants: ["writer-exit-code-zero"]),
        Clause("startWriter: the parent closes its copy of the write end before returning the reader",
               in: "startWriter(_:); text: Close the ends you do not use", parts: [4], mutants: ["write-end-left-open"]),

        // Reliability.
        Clause("send loops over partial writes: a write() interrupted after it took part of the message continues from there",
               in: "send(_:); text: Partial writes and reads", parts: [3], mutants: ["single-write"]),
        Clause("receive loops until the whole payload has arrived (a 4 MiB message through a 64 KiB pipe)",
               in: "receive(); text: Partial writes and reads", parts: [3, 6], mutants: ["single-read"]),
        Clause("receive loops until all 4 bytes of the length have arrived, however the kernel splits them",
               in: "receive(); text: Partial writes and reads", parts: [3], mutants: ["header-single-read"]),
        Clause("read() and write() failing with EINTR are retried, never thrown",
               in: "send(_:), receive(); text: EINTR", parts: [3], mutants: ["no-eintr-retry"]),

        // End-of-file and truncation.
        Clause("receive throws PipeError.endOfFile when the other end closed between messages — at once, and again on every later call (pipe and socket)",
               in: "receive(); PipeError.endOfFile", parts: [4], mutants: ["no-eof-handling", "eof-as-empty-message", "write-end-left-open"]),
        Clause("receive throws PipeError.truncated(expected: n, received: k) when the writer died k bytes into an n-byte payload",
               in: "receive(); PipeError.truncated", parts: [7], mutants: ["no-eof-handling", "little-endian-length"]),
        Clause("receive throws PipeError.truncated(expected: 4, received: k) when the writer died k bytes into the length prefix",
               in: "receive(); PipeError.truncated", parts: [7], mutants: ["no-eof-handling"]),

        // Limits.
        Clause("a length prefix that is negative (−16, Python's −1 marker) is PipeError.badLength with the signed value, before anything is allocated",
               in: "receive(); PipeError.badLength", parts: [7], mutants: ["no-length-check", "unsigned-length"]),
        Clause("a length prefix over maximumMessageBytes (1 GiB + 1, Int32.max) is PipeError.badLength",
               in: "receive(); PipeError.badLength; maximumMessageBytes", parts: [7], mutants: ["no-length-check"]),
        Clause("send of more than maximumMessageBytes throws PipeError.messageTooLarge(n) before writing anything",
               in: "send(_:); PipeError.messageTooLarge", parts: [7], mutants: ["no-send-size-check"]),
        Clause("a message of exactly maximumMessageBytes (1 GiB) is accepted by send and receive",
               in: "maximumMessageBytes", notCheckable: "it needs 1 GiB in the sender and 1 GiB in the receiver, written and read through a pipe: seconds and gigabytes per run for one boundary; the limit's other side (1 GiB + 1) is checked"),

        // SIGPIPE.
        Clause("send to a socket whose other end is closed throws a SystemError with EPIPE; the process is not killed by SIGPIPE",
               in: "send(_:); text: SIGPIPE", parts: [7], mutants: ["sigpipe"]),
        Clause("send to a pipe whose read end is closed throws a SystemError with EPIPE (SIGPIPE ignored)",
               in: "send(_:); text: SIGPIPE", parts: [7], mutants: ["pipe-sigpipe-not-ignored"]),

        // poll.
        Clause("poll returns false after about its timeout (seconds, not milliseconds) on an idle connection; 0 does not wait",
               in: "poll(timeout:)", parts: [5], mutants: ["poll-seconds-as-milliseconds"]),
        Clause("poll returns true as soon as data arrives, and consumes nothing",
               in: "poll(timeout:)", parts: [5], mutants: ["poll-seconds-as-milliseconds"]),
        Clause("poll is true at end-of-file, also of a pipe (POLLHUP without POLLIN)",
               in: "poll(timeout:); text: Readable is not a whole message", parts: [5], mutants: ["poll-ignores-hangup"]),
        Clause("poll is true when some bytes are waiting, not necessarily a whole message (2 bytes of a length)",
               in: "poll(timeout:); text: Readable is not a whole message", parts: [5], mutants: ["poll-whole-message-only"]),
        Clause("poll retries EINTR with the time that is left",
               in: "poll(timeout:); text: EINTR", parts: [5], mutants: ["poll-no-eintr-retry"]),
        Clause("poll(timeout: .infinity) and huge finite timeouts never trap",
               in: "poll(timeout:); text: Your task", parts: [5], mutants: ["poll-huge-timeout-traps"]),
        Clause("poll with a negative or NaN timeout throws PipeError.invalidTimeout",
               in: "poll(timeout:); PipeError.invalidTimeout", parts: [5], mutants: ["poll-nan-accepted"]),

        // close.
        Clause("close sets descriptor to -1; a second close does nothing; send, receive and poll then throw PipeError.closed",
               in: "close(), descriptor; PipeError.closed", parts: [2], mutants: ["close-keeps-descriptor"]),
    ] }
}
