import Glibc
import LabKit
import Lessons
import Solution06

/// Lesson 06's realistic mistakes. Each wraps the reference `Connection` except for its one mistake;
/// the reference steps around a mistake (framing, read and write loops, poll, the forked writer) are
/// the helpers below the `ForwardsToConnection` declaration.
public enum PipesMutants {
    public static var all: [Mutant<any PipeConnectionContract.Type>] {
        [
            Mutant(name: "single-write", mistake: "send calls write() once and ignores a partial write",
                        caughtBy: [3], implementation: SingleWrite.self),
            Mutant(name: "single-read", mistake: "receive calls read() once for the payload and returns what it got",
                        caughtBy: [3, 6], implementation: SingleRead.self),
            Mutant(name: "little-endian-length", mistake: "the length prefix is written and read little-endian",
                        caughtBy: [1, 6, 7], implementation: LittleEndianLength.self),
            Mutant(name: "length-includes-header", mistake: "the length prefix counts its own 4 bytes (send writes 4 + n, receive subtracts 4)",
                        caughtBy: [1, 6], implementation: LengthIncludesHeader.self),
            Mutant(name: "no-eof-handling", mistake: "receive loops when read() returns 0 instead of reporting end-of-file",
                        caughtBy: [4, 7], implementation: NoEndOfFileHandling.self),
            Mutant(name: "eof-as-empty-message", mistake: "receive returns an empty message at end-of-file instead of throwing endOfFile",
                        caughtBy: [4], implementation: EndOfFileAsEmptyMessage.self),
            Mutant(name: "write-end-left-open", mistake: "startWriter's parent keeps its copy of the write end open",
                        caughtBy: [4], implementation: WriteEndLeftOpen.self),
            Mutant(name: "child-keeps-reader", mistake: "startWriter's child never closes its copy of the read end",
                        caughtBy: [1], implementation: ChildKeepsReader.self),
            Mutant(name: "writer-exit-code-zero", mistake: "startWriter's child exits 0 even when body threw",
                        caughtBy: [1], implementation: WriterExitCodeZero.self),
            Mutant(name: "read-ahead-discards-rest", mistake: "receive reads up to 64 KiB at once and throws away what follows the message",
                        caughtBy: [1], implementation: ReadAheadDiscardsRest.self),
            Mutant(name: "swapped-pipe-ends", mistake: "pipe() ends returned as (write end, read end)",
                        caughtBy: [1, 4], implementation: SwappedPipeEnds.self),
            Mutant(name: "not-close-on-exec", mistake: "pipe(duplex:) uses pipe() and socketpair without SOCK_CLOEXEC: a program exec'd later inherits the ends",
                        caughtBy: [1, 2], implementation: NotCloseOnExec.self),
            Mutant(name: "duplex-over-pipe", mistake: "a duplex pair is made with pipe(), which is one-way",
                        caughtBy: [2], implementation: DuplexOverPipe.self),
            Mutant(name: "duplex-datagram", mistake: "a duplex pair is made with socketpair(AF_UNIX, SOCK_DGRAM): packets, not a byte stream",
                        caughtBy: [2], implementation: DuplexDatagram.self),
            Mutant(name: "no-eintr-retry", mistake: "read() or write() failing with EINTR is thrown as an error",
                        caughtBy: [3], implementation: NoEINTRRetry.self),
            Mutant(name: "header-single-read", mistake: "receive reads the 4-byte length with one read() and calls a short read truncated",
                        caughtBy: [3], implementation: HeaderSingleRead.self),
            Mutant(name: "poll-seconds-as-milliseconds", mistake: "poll() is given the timeout in seconds as if it were milliseconds",
                        caughtBy: [5], implementation: PollSecondsAsMilliseconds.self),
            Mutant(name: "poll-ignores-hangup", mistake: "poll counts only POLLIN as ready, so end-of-file on a pipe reads as idle",
                        caughtBy: [5], implementation: PollIgnoresHangUp.self),
            Mutant(name: "poll-whole-message-only", mistake: "poll says ready only once a whole length prefix has arrived",
                        caughtBy: [5], implementation: PollWholeMessageOnly.self),
            Mutant(name: "poll-no-eintr-retry", mistake: "poll() failing with EINTR is thrown as an error",
                        caughtBy: [5], implementation: PollNoEINTRRetry.self),
            Mutant(name: "poll-huge-timeout-traps", mistake: "poll converts timeout * 1000 to Int32 without clamping (.infinity and 1e12 trap)",
                        caughtBy: [5], implementation: PollHugeTimeoutTraps.self),
            Mutant(name: "poll-nan-accepted", mistake: "poll rejects timeout < 0 only, so NaN goes on to poll() (and traps converting it)",
                        caughtBy: [5], implementation: PollNaNAccepted.self),
            Mutant(name: "close-keeps-descriptor", mistake: "close() closes the descriptor but keeps its number: send, receive and poll then use a stale (or reused) descriptor",
                        caughtBy: [2], implementation: CloseKeepsDescriptor.self),
            Mutant(name: "sigpipe", mistake: "sockets are written with write() (no MSG_NOSIGNAL): a gone peer kills the sender",
                        caughtBy: [7], as: .crashed, implementation: SIGPIPEKills.self),
            Mutant(name: "pipe-sigpipe-not-ignored", mistake: "SIGPIPE is never ignored: a write to a pipe whose reader is gone kills the sender",
                        caughtBy: [7], as: .crashed, implementation: PipeSIGPIPENotIgnored.self),
            Mutant(name: "no-length-check", mistake: "the length prefix is used without checking it (negative → crash)",
                        caughtBy: [7], implementation: NoLengthCheck.self),
            Mutant(name: "unsigned-length", mistake: "the length prefix is read as unsigned: 0xFFFFFFF0 is 4294967280, not -16",
                        caughtBy: [7], implementation: UnsignedLength.self),
            Mutant(name: "no-send-size-check", mistake: "send writes a message over maximumMessageBytes instead of throwing messageTooLarge",
                        caughtBy: [7], implementation: NoSendSizeCheck.self),
        ]
    }
}

/// Wraps the reference; a mutant replaces one requirement.
public protocol ForwardsToConnection: PipeConnectionContract {
    var inner: Connection { get }
    init(inner: Connection)
}

extension ForwardsToConnection {
    public init(descriptor: Int32) { self.init(inner: Connection(descriptor: descriptor)) }
    public var descriptor: Int32 { inner.descriptor }
    public func send(_ message: [UInt8]) throws { try inner.send(message) }
    public func receive() throws -> [UInt8] { try inner.receive() }
    public func poll(timeout: Double) throws -> Bool { try inner.poll(timeout: timeout) }
    public func close() { inner.close() }
    public static func pipe(duplex: Bool) throws -> (Self, Self) {
        let (a, b) = try Connection.pipe(duplex: duplex)
        return (Self(inner: a), Self(inner: b))
    }
    public static func startWriter(_ body: (Self) throws -> Void) throws -> (reader: Self, writer: pid_t) {
        try startWriterUsing(Self.self, body)
    }
}

/// The reference's startWriter, but with `C.pipe`, so that a mutant's own pipe() is used: the child
/// closes its read end, runs `body`, closes its write end and exits 0 (1 if `body` threw).
public func startWriterUsing<C: PipeConnectionContract>(_ type: C.Type, _ body: (C) throws -> Void) throws -> (reader: C, writer: pid_t) {
    try startWriterUsing(type) { reader, writer in
        reader.close()
        let code = exitCode(running: body, on: writer)
        writer.close()
        exitFlushed(code)
    }
}

/// startWriter with the child's part replaced: `C.pipe(duplex: false)`, fork (`forkWriter`), then in
/// the child `child(reader, writer)`, which ends the process; the parent closes its write end.
func startWriterUsing<C: PipeConnectionContract>(_: C.Type, child: (_ reader: C, _ writer: C) -> Never) throws -> (reader: C, writer: pid_t) {
    let (reader, writer) = try C.pipe(duplex: false)
    let pid = try forkWriter { child(reader, writer) }
    writer.close()
    return (reader, pid)
}

/// fflush(nil), then fork(): the child runs `child` (which ends with `exitFlushed`); the parent gets
/// the child's pid.
func forkWriter(_ child: () -> Never) throws -> pid_t {
    fflush(nil)
    let pid = fork()
    if pid == -1 { throw SystemError("fork") }
    if pid == 0 { child() }
    return pid
}

/// How the writer's body ends as an exit code: 0, or 1 if it threw.
func exitCode<C>(running body: (C) throws -> Void, on writer: C) -> Int32 {
    do { try body(writer) } catch { return 1 }
    return 0
}

/// Ends a forked writer: fflush(nil), then _exit(code).
func exitFlushed(_ code: Int32) -> Never {
    fflush(nil)
    _exit(code)
}

/// Big-endian 4-byte length.
public func lengthPrefix(_ count: Int) -> [UInt8] {
    let n = UInt32(count)
    return [UInt8(n >> 24), UInt8((n >> 16) & 0xff), UInt8((n >> 8) & 0xff), UInt8(n & 0xff)]
}

/// The first 4 bytes of a length prefix as one big-endian number.
func bigEndianBits<Bytes: Collection>(_ header: Bytes) -> UInt32 where Bytes.Element == UInt8 {
    header.prefix(4).reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
}

/// The length a prefix says, as the reference reads it: big-endian and signed (Python's "!i").
public func bigEndianLength<Bytes: Collection>(_ header: Bytes) -> Int where Bytes.Element == UInt8 {
    Int(Int32(bitPattern: bigEndianBits(header)))
}

/// The reference's check of a received length: 0 through maximumMessageBytes, else badLength.
public func checkedLength(_ length: Int) throws -> Int {
    guard length >= 0, length <= maximumMessageBytes else { throw PipeError.badLength(length) }
    return length
}

/// Reads into `buffer` until full or end-of-file, retrying EINTR (the reference's loop).
func readLoop(_ fd: Int32, _ buffer: UnsafeMutableRawBufferPointer) throws -> Int {
    var done = 0
    while done < buffer.count {
        let n = read(fd, buffer.baseAddress! + done, buffer.count - done)
        if n == -1 { if errno == EINTR { continue }; throw SystemError("read") }
        if n == 0 { break }
        done += n
    }
    return done
}

/// The length prefix read with `readLoop`, and how many of its 4 bytes came before end-of-file:
/// endOfFile when none did.
func readHeaderBytes(_ fd: Int32) throws -> (header: [UInt8], got: Int) {
    var header: [UInt8] = [0, 0, 0, 0]
    let got = try header.withUnsafeMutableBytes { try readLoop(fd, $0) }
    if got == 0 { throw PipeError.endOfFile }
    return (header, got)
}

/// The reference's reading of the length prefix: endOfFile when nothing came, truncated when 1 to
/// 3 bytes did.
func readHeader(_ fd: Int32) throws -> [UInt8] {
    let (header, got) = try readHeaderBytes(fd)
    if got < 4 { throw PipeError.truncated(expected: 4, received: got) }
    return header
}

/// The reference's reading of a `length`-byte payload with `readLoop`: truncated when it ends early.
func readPayload(_ fd: Int32, _ length: Int) throws -> [UInt8] {
    var message = [UInt8](repeating: 0, count: length)
    let received = try message.withUnsafeMutableBytes { try readLoop(fd, $0) }
    if received < length { throw PipeError.truncated(expected: length, received: received) }
    return message
}

/// The reference's receive with a pluggable header decoding.
func receiveFrame(_ fd: Int32, decode: ([UInt8]) -> Int) throws -> [UInt8] {
    guard fd >= 0 else { throw PipeError.closed }
    let header = try readHeader(fd)
    return try readPayload(fd, checkedLength(decode(header)))
}

/// Reads exactly `count` bytes with read(), `step` judging each result: it returns whether to count
/// the `n` bytes (false: call read() again) or throws. For mutants whose mistake is in that step.
func readExactly(_ fd: Int32, _ count: Int, _ step: (_ n: Int, _ done: Int) throws -> Bool) throws -> [UInt8] {
    var buffer = [UInt8](repeating: 0, count: count)
    var done = 0
    while done < count {
        let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress! + done, count - done) }
        if try step(n, done) { done += n }
    }
    return buffer
}

/// A receive over `readExactly` with a mutant's `step` (`count` is what that read wants): 4 bytes of
/// length, checked, then the payload (no read for a length of 0).
func receiveFrame(_ fd: Int32, step: (_ n: Int, _ done: Int, _ count: Int) throws -> Bool) throws -> [UInt8] {
    guard fd >= 0 else { throw PipeError.closed }
    func exactly(_ count: Int) throws -> [UInt8] { try readExactly(fd, count) { try step($0, $1, count) } }
    let length = try checkedLength(bigEndianLength(exactly(4)))
    return length == 0 ? [] : try exactly(length)
}

/// One attempt at writing as the reference does: send(MSG_NOSIGNAL), or write() where `fd` is no
/// socket (ENOTSOCK).
func sendOrWrite(_ fd: Int32, _ bytes: UnsafeRawPointer, _ count: Int) -> Int {
    let n = send(fd, bytes, count, Int32(MSG_NOSIGNAL))
    return n == -1 && errno == ENOTSOCK ? write(fd, bytes, count) : n
}

/// Writes all of `bytes`, one `attempt` (write() or send()) at the rest at a time, retrying EINTR.
/// An `attempt` may throw for a mistake of its own.
func writeAll(_ bytes: [UInt8], _ attempt: (UnsafeRawPointer, Int) throws -> Int) throws {
    try bytes.withUnsafeBytes { raw in
        var done = 0
        while done < raw.count {
            let n = try attempt(raw.baseAddress! + done, raw.count - done)
            if n == -1 { if errno == EINTR { continue }; throw SystemError("write") }
            done += n
        }
    }
}

/// The reference's write loop: send(MSG_NOSIGNAL) on sockets, write() on pipes, EINTR retried.
func sendLoop(_ fd: Int32, _ bytes: [UInt8]) throws {
    try writeAll(bytes) { sendOrWrite(fd, $0, $1) }
}

/// A write loop with write() only (EINTR retried), whatever `fd` is.
public func writeLoop(_ fd: Int32, _ bytes: [UInt8]) throws {
    try writeAll(bytes) { write(fd, $0, $1) }
}

/// The contract's poll arguments: closed when `fd` is -1, invalidTimeout when `timeout` is negative or NaN.
func checkPollArguments(_ fd: Int32, _ timeout: Double) throws {
    guard fd >= 0 else { throw PipeError.closed }
    guard timeout >= 0 else { throw PipeError.invalidTimeout(timeout) }
}

/// poll()'s milliseconds for `timeout` seconds: -1 (for ever) for infinity, else clamped to
/// Int32.max and rounded `rounding` (the reference rounds up).
func pollMilliseconds(_ timeout: Double, rounding: FloatingPointRoundingRule = .up) -> Int32 {
    timeout.isInfinite ? -1 : Int32(min(timeout * 1000, Double(Int32.max)).rounded(rounding))
}

/// One poll() on `fd` for POLLIN for `millis`, not retried: what poll() returned (-1 with errno
/// set) and the revents.
func pollOnce(_ fd: Int32, _ millis: Int32) -> (ready: Int32, events: Int16) {
    var entry = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
    let ready = Glibc.poll(&entry, 1, millis)
    return (ready, entry.revents)
}

/// poll() on `fd` for POLLIN for `millis`, EINTR retried with the same `millis`; the revents.
func pollEvents(_ fd: Int32, _ millis: Int32) throws -> Int16 {
    while true {
        let (ready, events) = pollOnce(fd, millis)
        if ready != -1 { return events }
        if errno != EINTR { throw SystemError("poll") }
    }
}

/// What the reference counts as ready: input, hang-up (end-of-file) or an error.
let readyEvents = Int16(POLLIN | POLLHUP | POLLERR)

final class SingleWrite: ForwardsToConnection {
    let inner: Connection
    init(inner: Connection) { self.inner = inner }
    func send(_ message: [UInt8]) throws {
        guard descriptor >= 0 else { throw PipeError.closed }
        let frame = lengthPrefix(message.count) + message
        let n = frame.withUnsafeBytes { sendOrWrite(descriptor, $0.baseAddress!, $0.count) }   // mistake: once
        if n == -1 { throw SystemError("write") }
    }
}

final class SingleRead: ForwardsToConnection {
    let inner: Connection
    init(inner: Connection) { self.inner = inner }
    func receive() throws -> [UInt8] {
        guard descriptor >= 0 else { throw PipeError.closed }
        let (header, _) = try readHeaderBytes(descriptor)      // 1 to 3 bytes before end-of-file are not reported either
        var message = [UInt8](repeating: 0, count: try checkedLength(bigEndianLength(header)))
        let n = message.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }   // mistake: once
        if n == -1 { throw SystemError("read") }
        return Array(message[0..<n])
    }
}

final class LittleEndianLength: ForwardsToConnection {
    let inner: Connection
    init(inner: Connection) { self.inner = inner }
    func send(_ message: [UInt8]) throws {
        guard descriptor >= 0 else { throw PipeError.closed }
        var n = UInt32(message.count)                          // mistake: host order (little-endian)
        let header = withUnsafeBytes(of: &n) { Array($0) }
        try sendLoop(descriptor, header + message)
    }
    func receive() throws -> [UInt8] {
        try receiveFrame(descriptor) { h in
            Int(Int32(bitPattern: UInt32(h[3]) << 24 | UInt32(h[2]) << 16 | UInt32(h[1]) << 8 | UInt32(h[0])))
        }
    }
}

final class NoEndOfFileHandling: ForwardsToConnection {
    let inner: Connection
    init(inner: Connection) { self.inner = inner }
    func receive() throws -> [UInt8] {
        try receiveFrame(descriptor) { n, _, _ in
            if n == -1 { if errno == EINTR { return false }; throw SystemError("read") }
            return true                                         // mistake: 0 (end-of-file) counts, so it loops for ever
        }
    }
}

final class WriteEndLeftOpen: ForwardsToConnection {
    let inner: Connection
    init(inner: Connection) { self.inner = inner }
    static func startWriter(_ body: (WriteEndLeftOpen) throws -> Void) throws -> (reader: WriteEndLeftOpen, writer: pid_t) {
        var fds: [Int32] = [-1, -1]
        try valueOrErrno("pipe") { Glibc.pipe(&fds) }
        let pid = try forkWriter {
            Glibc.close(fds[0])
            let writer = WriteEndLeftOpen(descriptor: fds[1])
            exitFlushed(exitCode(running: body, on: writer))
        }
        return (WriteEndLeftOpen(descriptor: fds[0]), pid)   // mistake: fds[1] stays open in the parent
    }
}

final class SwappedPipeEnds: ForwardsToConnection {
    let inner: Connection
    init(inner: Connection) { self.inner = inner }
    static func pipe(duplex: Bool) throws -> (SwappedPipeEnds, SwappedPipeEnds) {
        if duplex {
            let (a, b) = try Connection.pipe(duplex: true)
            return (SwappedPipeEnds(inner: a), SwappedPipeEnds(inner: b))
        }
        let (read, write) = try Descriptor.pipe()
        return (SwappedPipeEnds(descriptor: write), SwappedPipeEnds(descriptor: read))   // mistake: the write end first
    }
}

final class NotCloseOnExec: ForwardsToConnection {
    let inner: Connection
    init(inner: Connection) { self.inner = inner }
    static func pipe(duplex: Bool) throws -> (NotCloseOnExec, NotCloseOnExec) {
        var fds: [Int32] = [-1, -1]
        if duplex {
            try valueOrErrno("socketpair") { socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &fds) }   // mistake: no SOCK_CLOEXEC
        } else {
            try valueOrErrno("pipe") { Glibc.pipe(&fds) }                                                 // mistake: pipe, not pipe2
        }
        return (NotCloseOnExec(descriptor: fds[0]), NotCloseOnExec(descriptor: fds[1]))
    }
}

final class DuplexOverPipe: ForwardsToConnection {
    let inner: Connection
    init(inner: Connection) { self.inner = inner }
    static func pipe(duplex: Bool) throws -> (DuplexOverPipe, DuplexOverPipe) {
        let (a, b) = try Connection.pipe(duplex: false)        // mistake: a pipe is one-way whatever duplex says
        return (DuplexOverPipe(inner: a), DuplexOverPipe(inner: b))
    }
}

final class NoEINTRRetry: ForwardsToConnection {
    let inner: Connection
    init(inner: Connection) { self.inner = inner }
    func receive() throws -> [UInt8] {
        try receiveFrame(descriptor) { n, done, count in
            if n == -1 { throw SystemError("read", object: "fd \(descriptor)") }   // mistake: EINTR too
            if n == 0 { if done == 0 && count == 4 { throw PipeError.endOfFile }; throw PipeError.truncated(expected: count, received: done) }
            return true
        }
    }
    func send(_ message: [UInt8]) throws {
        guard descriptor >= 0 else { throw PipeError.closed }
        try writeAll(lengthPrefix(message.count) + message) { bytes, count in
            let n = sendOrWrite(descriptor, bytes, count)
            if n == -1 { throw SystemError("write", object: "fd \(descriptor)") }   // mistake: EINTR too
            return n
        }
    }
}

final class PollSecondsAsMilliseconds: ForwardsToConnection {
    let inner: Connection
    init(inner: Connection) { self.inner = inner }
    func poll(timeout: Double) throws -> Bool {
        try checkPollArguments(descriptor, timeout)
        let (ready, _) = pollOnce(descriptor, Int32(min(timeout, 1e6)))   // mistake: seconds passed as milliseconds
        if ready == -1 { throw SystemError("poll") }
        return ready > 0
    }
}

final class PollIgnoresHangUp: ForwardsToConnection {
    let inner: Connection
    init(inner: Connection) { self.inner = inner }
    func poll(timeout: Double) throws -> Bool {
        try checkPollArguments(descriptor, timeout)
        let events = try pollEvents(descriptor, pollMilliseconds(timeout, rounding: .towardZero))   // truncated, not rounded up
        return events & Int16(POLLIN) != 0                      // mistake: POLLHUP alone is end-of-file
    }
}

final class SIGPIPEKills: ForwardsToConnection {
    let inner: Connection
    init(inner: Connection) { self.inner = inner }
    func send(_ message: [UInt8]) throws {
        guard descriptor >= 0 else { throw PipeError.closed }
        try writeLoop(descriptor, lengthPrefix(message.count) + message)   // mistake: write() on a socket, no MSG_NOSIGNAL
    }
}

final class NoLengthCheck: ForwardsToConnection {
    let inner: Connection
    init(inner: Connection) { self.inner = inner }
    func receive() throws -> [UInt8] {
        guard descriptor >= 0 else { throw PipeError.closed }
        let length = bigEndianLength(try readHeader(descriptor))   // mistake: not checked (a negative length traps)
        return try readPayload(descriptor, length)
    }
}

// MARK: - Mistakes written from the clause table

final class LengthIncludesHeader: ForwardsToConnection {
    let inner: Connection
    init(inner: Connection) { self.inner = inner }
    func send(_ message: [UInt8]) throws {
        guard descriptor >= 0 else { throw PipeError.closed }
        guard message.count <= maximumMessageBytes else { throw PipeError.messageTooLarge(message.count) }
        try sendLoop(descriptor, lengthPrefix(4 + message.count) + message)   // mistake: the prefix counts itself
    }
    func receive() throws -> [UInt8] {
        try receiveFrame(descriptor) { h in
            bigEndianLength(h) - 4
        }
    }
}

final class EndOfFileAsEmptyMessage: ForwardsToConnection {
    let inner: Connection
    init(inner: Connection) { self.inner = inner }
    func receive() throws -> [UInt8] {
        do { return try inner.receive() } catch PipeError.endOfFile { return [] }   // mistake: end-of-file is a message
    }
}

final class ChildKeepsReader: ForwardsToConnection {
    let inner: Connection
    init(inner: Connection) { self.inner = inner }
    static func startWriter(_ body: (ChildKeepsReader) throws -> Void) throws -> (reader: ChildKeepsReader, writer: pid_t) {
        try startWriterUsing(ChildKeepsReader.self) { _, writer in
            let code = exitCode(running: body, on: writer)      // mistake: reader.close() forgotten here
            writer.close()
            exitFlushed(code)
        }
    }
}

final class WriterExitCodeZero: ForwardsToConnection {
    let inner: Connection
    init(inner: Connection) { self.inner = inner }
    static func startWriter(_ body: (WriterExitCodeZero) throws -> Void) throws -> (reader: WriterExitCodeZero, writer: pid_t) {
        try startWriterUsing(WriterExitCodeZero.self) { reader, writer in
            reader.close()
            try? body(writer)                                   // mistake: the error is dropped, the exit code is 0
            writer.close()
            exitFlushed(0)
        }
    }
}

final class ReadAheadDiscardsRest: ForwardsToConnection {
    let inner: Connection
    init(inner: Connection) { self.inner = inner }
    func receive() throws -> [UInt8] {
        guard descriptor >= 0 else { throw PipeError.closed }
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        var have = 0
        func more() throws -> Int {
            if have == chunk.count { chunk += [UInt8](repeating: 0, count: chunk.count) }
            while true {
                let n = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress! + have, $0.count - have) }
                if n == -1 { if errno == EINTR { continue }; throw SystemError("read") }
                have += n
                return n
            }
        }
        while have < 4 {
            if try more() == 0 {
                if have == 0 { throw PipeError.endOfFile }
                throw PipeError.truncated(expected: 4, received: have)
            }
        }
        let length = try checkedLength(bigEndianLength(chunk))
        while have < 4 + length {
            if try more() == 0 { throw PipeError.truncated(expected: length, received: have - 4) }
        }
        return Array(chunk[4..<(4 + length)])                   // mistake: bytes past this message are dropped
    }
}

final class DuplexDatagram: ForwardsToConnection {
    let inner: Connection
    init(inner: Connection) { self.inner = inner }
    static func pipe(duplex: Bool) throws -> (DuplexDatagram, DuplexDatagram) {
        guard duplex else {
            let (a, b) = try Connection.pipe(duplex: false)
            return (DuplexDatagram(inner: a), DuplexDatagram(inner: b))
        }
        var fds: [Int32] = [-1, -1]
        try valueOrErrno("socketpair") {                      // mistake: SOCK_DGRAM, not SOCK_STREAM
            socketpair(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &fds)
        }
        return (DuplexDatagram(descriptor: fds[0]), DuplexDatagram(descriptor: fds[1]))
    }
}

final class HeaderSingleRead: ForwardsToConnection {
    let inner: Connection
    init(inner: Connection) { self.inner = inner }
    func receive() throws -> [UInt8] {
        guard descriptor >= 0 else { throw PipeError.closed }
        var header: [UInt8] = [0, 0, 0, 0]
        var got: Int
        repeat { got = header.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, 4) } } while got == -1 && errno == EINTR
        if got == -1 { throw SystemError("read") }
        if got == 0 { throw PipeError.endOfFile }
        if got < 4 { throw PipeError.truncated(expected: 4, received: got) }   // mistake: a short read is not the end
        return try readPayload(descriptor, checkedLength(bigEndianLength(header)))
    }
}

final class PollWholeMessageOnly: ForwardsToConnection {
    let inner: Connection
    init(inner: Connection) { self.inner = inner }
    func poll(timeout: Double) throws -> Bool {
        try checkPollArguments(descriptor, timeout)
        let deadline = monotonicSeconds() + min(timeout, 1e9)
        while true {
            guard try inner.poll(timeout: max(0, deadline - monotonicSeconds())) else { return false }
            var waiting: Int32 = 0
            _ = ioctl(descriptor, UInt(FIONREAD), &waiting)
            let hungUp = pollOnce(descriptor, 0).events & Int16(POLLHUP) != 0
            if waiting >= 4 || hungUp { return true }   // mistake: wants a whole length
            if monotonicSeconds() >= deadline { return false }
            usleep(1000)
        }
    }
}

final class PollNoEINTRRetry: ForwardsToConnection {
    let inner: Connection
    init(inner: Connection) { self.inner = inner }
    func poll(timeout: Double) throws -> Bool {
        try checkPollArguments(descriptor, timeout)
        let millis = pollMilliseconds(timeout)
        let (ready, events) = pollOnce(descriptor, millis)
        if ready == -1 { throw SystemError("poll", object: "fd \(descriptor)") }   // mistake: EINTR too
        return ready > 0 && events & readyEvents != 0
    }
}

final class PollHugeTimeoutTraps: ForwardsToConnection {
    let inner: Connection
    init(inner: Connection) { self.inner = inner }
    func poll(timeout: Double) throws -> Bool {
        try checkPollArguments(descriptor, timeout)
        let millis = Int32(timeout * 1000)                     // mistake: traps for .infinity and 1e12
        return try pollEvents(descriptor, millis) & readyEvents != 0
    }
}

final class PipeSIGPIPENotIgnored: ForwardsToConnection {
    let inner: Connection
    init(inner: Connection) {
        self.inner = inner
        signal(SIGPIPE, SIG_DFL)                               // mistake: a student who never ignores SIGPIPE
    }
}

final class UnsignedLength: ForwardsToConnection {
    let inner: Connection
    init(inner: Connection) { self.inner = inner }
    func receive() throws -> [UInt8] {
        try receiveFrame(descriptor) { h in
            Int(bigEndianBits(h))                               // mistake: unsigned
        }
    }
}

final class NoSendSizeCheck: ForwardsToConnection {
    let inner: Connection
    init(inner: Connection) { self.inner = inner }
    func send(_ message: [UInt8]) throws {
        guard descriptor >= 0 else { throw PipeError.closed }
        try sendLoop(descriptor, lengthPrefix(message.count))   // mistake: no comparison with maximumMessageBytes
        try sendLoop(descriptor, message)
    }
}

final class PollNaNAccepted: ForwardsToConnection {
    let inner: Connection
    init(inner: Connection) { self.inner = inner }
    func poll(timeout: Double) throws -> Bool {
        guard descriptor >= 0 else { throw PipeError.closed }
        if timeout < 0 { throw PipeError.invalidTimeout(timeout) }   // mistake: NaN < 0 is false
        return try pollEvents(descriptor, pollMilliseconds(timeout)) & readyEvents != 0
    }
}

final class CloseKeepsDescriptor: PipeConnectionContract {
    private(set) var descriptor: Int32
    let inner: Connection
    init(descriptor: Int32) {
        self.descriptor = descriptor
        inner = Connection(descriptor: dup(descriptor))
        Glibc.close(descriptor)
        self.descriptor = inner.descriptor
    }
    init(inner: Connection) { self.inner = inner; descriptor = inner.descriptor }
    func send(_ message: [UInt8]) throws { try inner.send(message) }
    func receive() throws -> [UInt8] { try inner.receive() }
    func poll(timeout: Double) throws -> Bool { try inner.poll(timeout: timeout) }
    func close() { inner.close() }                              // mistake: descriptor keeps the old number
    static func pipe(duplex: Bool) throws -> (CloseKeepsDescriptor, CloseKeepsDescriptor) {
        let (a, b) = try Connection.pipe(duplex: duplex)
        return (CloseKeepsDescriptor(inner: a), CloseKeepsDescriptor(inner: b))
    }
    static func startWriter(_ body: (CloseKeepsDescriptor) throws -> Void) throws -> (reader: CloseKeepsDescriptor, writer: pid_t) {
        try startWriterUsing(CloseKeepsDescriptor.self, body)
    }
}
