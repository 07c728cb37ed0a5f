import Glibc
import LabKit
import Lessons
import Solution06

/// Lesson 06's realistic mistakes. Each wraps the reference `Connection` except for its one mistake.
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

/// The reference's startWriter, but with `C.pipe` — so that a mutant's own pipe() is used.
func startWriterUsing<C: PipeConnectionContract>(_: C.Type, _ body: (C) throws -> Void) throws -> (reader: C, writer: pid_t) {
    let (reader, writer) = try C.pipe(duplex: false)
    fflush(nil)
    let pid = fork()
    if pid == -1 { throw SystemError("fork") }
    if pid == 0 {
        reader.close()
        var code: Int32 = 0
        do { try body(writer) } catch { code = 1 }
        writer.close()
        fflush(nil)
        _exit(code)
    }
    writer.close()
    return (reader, pid)
}

/// Big-endian 4-byte length.
public func lengthPrefix(_ count: Int) -> [UInt8] {
    let n = UInt32(count)
    return [UInt8(n >> 24), UInt8((n >> 16) & 0xff), UInt8((n >> 8) & 0xff), UInt8(n & 0xff)]
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

/// The reference's receive with a pluggable header decoding.
func receiveFrame(_ fd: Int32, decode: ([UInt8]) -> Int) throws -> [UInt8] {
    guard fd >= 0 else { throw PipeError.closed }
    var header: [UInt8] = [0, 0, 0, 0]
    let got = try header.withUnsafeMutableBytes { try readLoop(fd, $0) }
    if got == 0 { throw PipeError.endOfFile }
    if got < 4 { throw PipeError.truncated(expected: 4, received: got) }
    let length = decode(header)
    guard length >= 0, length <= maximumMessageBytes else { throw PipeError.badLength(length) }
    var message = [UInt8](repeating: 0, count: length)
    let received = try message.withUnsafeMutableBytes { try readLoop(fd, $0) }
    if received < length { throw PipeError.truncated(expected: length, received: received) }
    return message
}

/// The reference's write loop: send(MSG_NOSIGNAL) on sockets, write() on pipes, EINTR retried.
func sendLoop(_ fd: Int32, _ bytes: [UInt8]) throws {
    try bytes.withUnsafeBytes { raw in
        var done = 0
        while done < raw.count {
            var n = send(fd, raw.baseAddress! + done, raw.count - done, Int32(MSG_NOSIGNAL))
            if n == -1 && errno == ENOTSOCK { n = write(fd, raw.baseAddress! + done, raw.count - done) }
            if n == -1 { if errno == EINTR { continue }; throw SystemError("write") }
            done += n
        }
    }
}

public func writeLoop(_ fd: Int32, _ bytes: [UInt8]) throws {
    try bytes.withUnsafeBytes { raw in
        var done = 0
        while done < raw.count {
            let n = write(fd, raw.baseAddress! + done, raw.count - done)
            if n == -1 { if errno == EINTR { continue }; throw SystemError("write") }
            done += n
        }
    }
}

final class SingleWrite: ForwardsToConnection {
    let inner: Connection
    init(inner: Connection) { self.inner = inner }
    func send(_ message: [UInt8]) throws {
        guard descriptor >= 0 else { throw PipeError.closed }
        let frame = lengthPrefix(message.count) + message
        var n = frame.withUnsafeBytes { Glibc.send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        if n == -1 && errno == ENOTSOCK { n = frame.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) } }   // mistake: once
        if n == -1 { throw SystemError("write") }
    }
}

final class SingleRead: ForwardsToConnection {
    let inner: Connection
    init(inner: Connection) { self.inner = inner }
    func receive() throws -> [UInt8] {
        guard descriptor >= 0 else { throw PipeError.closed }
        var header: [UInt8] = [0, 0, 0, 0]
        let got = try header.withUnsafeMutableBytes { try readLoop(descriptor, $0) }
        if got == 0 { throw PipeError.endOfFile }
        let length = Int(Int32(bitPattern: UInt32(header[0]) << 24 | UInt32(header[1]) << 16 | UInt32(header[2]) << 8 | UInt32(header[3])))
        guard length >= 0, length <= maximumMessageBytes else { throw PipeError.badLength(length) }
        var message = [UInt8](repeating: 0, count: length)
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
        guard descriptor >= 0 else { throw PipeError.closed }
        func readExactly(_ count: Int) throws -> [UInt8] {
            var buffer = [UInt8](repeating: 0, count: count)
            var done = 0
            while done < count {                               // mistake: 0 (end-of-file) loops for ever
                let n = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress! + done, count - done) }
                if n == -1 { if errno == EINTR { continue }; throw SystemError("read") }
                done += n
            }
            return buffer
        }
        let h = try readExactly(4)
        let length = Int(Int32(bitPattern: UInt32(h[0]) << 24 | UInt32(h[1]) << 16 | UInt32(h[2]) << 8 | UInt32(h[3])))
        guard length >= 0, length <= maximumMessageBytes else { throw PipeError.badLength(length) }
        return length == 0 ? [] : try readExactly(length)
    }
}

final class WriteEndLeftOpen: ForwardsToConnection {
    let inner: Connection
    init(inner: Connection) { self.inner = inner }
    static func startWriter(_ body: (WriteEndLeftOpen) throws -> Void) throws -> (reader: WriteEndLeftOpen, writer: pid_t) {
        var fds: [Int32] = [-1, -1]
        try valueOrErrno("pipe") { Glibc.pipe(&fds) }
        fflush(nil)
        let pid = fork()
        if pid == -1 { throw SystemError("fork") }
        if pid == 0 {
            Glibc.close(fds[0])
            let writer = WriteEndLeftOpen(descriptor: fds[1])
            var code: Int32 = 0
            do { try body(writer) } catch { code = 1 }
            fflush(nil)
            _exit(code)
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
        guard descriptor >= 0 else { throw PipeError.closed }
        func readAll(_ count: Int) throws -> [UInt8] {
            var buffer = [UInt8](repeating: 0, count: count)
            var done = 0
            while done < count {
                let n = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress! + done, count - done) }
                if n == -1 { throw SystemError("read", object: "fd \(descriptor)") }   // mistake: EINTR too
                if n == 0 { if done == 0 && count == 4 { throw PipeError.endOfFile }; throw PipeError.truncated(expected: count, received: done) }
                done += n
            }
            return buffer
        }
        let h = try readAll(4)
        let length = Int(Int32(bitPattern: UInt32(h[0]) << 24 | UInt32(h[1]) << 16 | UInt32(h[2]) << 8 | UInt32(h[3])))
        guard length >= 0, length <= maximumMessageBytes else { throw PipeError.badLength(length) }
        return length == 0 ? [] : try readAll(length)
    }
    func send(_ message: [UInt8]) throws {
        guard descriptor >= 0 else { throw PipeError.closed }
        let frame = lengthPrefix(message.count) + message
        try frame.withUnsafeBytes { raw in
            var done = 0
            while done < raw.count {
                let n = Glibc.send(descriptor, raw.baseAddress! + done, raw.count - done, Int32(MSG_NOSIGNAL))
                let m = n == -1 && errno == ENOTSOCK ? write(descriptor, raw.baseAddress! + done, raw.count - done) : n
                if m == -1 { throw SystemError("write", object: "fd \(descriptor)") }   // mistake: EINTR too
                done += m
            }
        }
    }
}

final class PollSecondsAsMilliseconds: ForwardsToConnection {
    let inner: Connection
    init(inner: Connection) { self.inner = inner }
    func poll(timeout: Double) throws -> Bool {
        guard descriptor >= 0 else { throw PipeError.closed }
        guard timeout >= 0 else { throw PipeError.invalidTimeout(timeout) }
        var entry = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
        let ready = Glibc.poll(&entry, 1, Int32(min(timeout, 1e6)))   // mistake: seconds passed as milliseconds
        if ready == -1 { throw SystemError("poll") }
        return ready > 0
    }
}

final class PollIgnoresHangUp: ForwardsToConnection {
    let inner: Connection
    init(inner: Connection) { self.inner = inner }
    func poll(timeout: Double) throws -> Bool {
        guard descriptor >= 0 else { throw PipeError.closed }
        guard timeout >= 0 else { throw PipeError.invalidTimeout(timeout) }
        var entry = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
        let millis = timeout.isInfinite ? -1 : Int32(min(timeout * 1000, Double(Int32.max)))
        while Glibc.poll(&entry, 1, millis) == -1 {
            if errno != EINTR { throw SystemError("poll") }
        }
        return entry.revents & Int16(POLLIN) != 0               // mistake: POLLHUP alone is end-of-file
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
        var header: [UInt8] = [0, 0, 0, 0]
        let got = try header.withUnsafeMutableBytes { try readLoop(descriptor, $0) }
        if got == 0 { throw PipeError.endOfFile }
        if got < 4 { throw PipeError.truncated(expected: 4, received: got) }
        let length = Int(Int32(bitPattern: UInt32(header[0]) << 24 | UInt32(header[1]) << 16 | UInt32(header[2]) << 8 | UInt32(header[3])))
        var message = [UInt8](repeating: 0, count: length)       // mistake: a negative length traps
        let received = try message.withUnsafeMutableBytes { try readLoop(descriptor, $0) }
        if received < length { throw PipeError.truncated(expected: length, received: received) }
        return message
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
            Int(Int32(bitPattern: UInt32(h[0]) << 24 | UInt32(h[1]) << 16 | UInt32(h[2]) << 8 | UInt32(h[3]))) - 4
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
        let (reader, writer) = try pipe(duplex: false)
        fflush(nil)
        let pid = fork()
        if pid == -1 { throw SystemError("fork") }
        if pid == 0 {
            var code: Int32 = 0                                 // mistake: reader.close() forgotten here
            do { try body(writer) } catch { code = 1 }
            writer.close()
            fflush(nil)
            _exit(code)
        }
        writer.close()
        return (reader, pid)
    }
}

final class WriterExitCodeZero: ForwardsToConnection {
    let inner: Connection
    init(inner: Connection) { self.inner = inner }
    static func startWriter(_ body: (WriterExitCodeZero) throws -> Void) throws -> (reader: WriterExitCodeZero, writer: pid_t) {
        let (reader, writer) = try pipe(duplex: false)
        fflush(nil)
        let pid = fork()
        if pid == -1 { throw SystemError("fork") }
        if pid == 0 {
            reader.close()
            try? body(writer)                                   // mistake: the error is dropped, the exit code is 0
            writer.close()
            fflush(nil)
            _exit(0)
        }
        writer.close()
        return (reader, pid)
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
        let length = Int(Int32(bitPattern: UInt32(chunk[0]) << 24 | UInt32(chunk[1]) << 16 | UInt32(chunk[2]) << 8 | UInt32(chunk[3])))
        guard length >= 0, length <= maximumMessageBytes else { throw PipeError.badLength(length) }
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
        let length = Int(Int32(bitPattern: UInt32(header[0]) << 24 | UInt32(header[1]) << 16 | UInt32(header[2]) << 8 | UInt32(header[3])))
        guard length >= 0, length <= maximumMessageBytes else { throw PipeError.badLength(length) }
        var message = [UInt8](repeating: 0, count: length)
        let received = try message.withUnsafeMutableBytes { try readLoop(descriptor, $0) }
        if received < length { throw PipeError.truncated(expected: length, received: received) }
        return message
    }
}

final class PollWholeMessageOnly: ForwardsToConnection {
    let inner: Connection
    init(inner: Connection) { self.inner = inner }
    func poll(timeout: Double) throws -> Bool {
        guard descriptor >= 0 else { throw PipeError.closed }
        guard timeout >= 0 else { throw PipeError.invalidTimeout(timeout) }
        let deadline = monotonicSeconds() + min(timeout, 1e9)
        while true {
            guard try inner.poll(timeout: max(0, deadline - monotonicSeconds())) else { return false }
            var waiting: Int32 = 0
            _ = ioctl(descriptor, UInt(FIONREAD), &waiting)
            var status = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
            _ = Glibc.poll(&status, 1, 0)
            if waiting >= 4 || status.revents & Int16(POLLHUP) != 0 { return true }   // mistake: wants a whole length
            if monotonicSeconds() >= deadline { return false }
            usleep(1000)
        }
    }
}

final class PollNoEINTRRetry: ForwardsToConnection {
    let inner: Connection
    init(inner: Connection) { self.inner = inner }
    func poll(timeout: Double) throws -> Bool {
        guard descriptor >= 0 else { throw PipeError.closed }
        guard timeout >= 0 else { throw PipeError.invalidTimeout(timeout) }
        var entry = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
        let millis = timeout.isInfinite ? -1 : Int32(min(timeout * 1000, Double(Int32.max)).rounded(.up))
        let ready = Glibc.poll(&entry, 1, millis)
        if ready == -1 { throw SystemError("poll", object: "fd \(descriptor)") }   // mistake: EINTR too
        return ready > 0 && entry.revents & Int16(POLLIN | POLLHUP | POLLERR) != 0
    }
}

final class PollHugeTimeoutTraps: ForwardsToConnection {
    let inner: Connection
    init(inner: Connection) { self.inner = inner }
    func poll(timeout: Double) throws -> Bool {
        guard descriptor >= 0 else { throw PipeError.closed }
        guard timeout >= 0 else { throw PipeError.invalidTimeout(timeout) }
        var entry = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
        let millis = Int32(timeout * 1000)                     // mistake: traps for .infinity and 1e12
        while Glibc.poll(&entry, 1, millis) == -1 {
            if errno != EINTR { throw SystemError("poll") }
        }
        return entry.revents & Int16(POLLIN | POLLHUP | POLLERR) != 0
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
            Int(UInt32(h[0]) << 24 | UInt32(h[1]) << 16 | UInt32(h[2]) << 8 | UInt32(h[3]))   // mistake: unsigned
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
        var entry = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
        let millis = timeout.isInfinite ? -1 : Int32(min(timeout * 1000, Double(Int32.max)).rounded(.up))
        while Glibc.poll(&entry, 1, millis) == -1 {
            if errno != EINTR { throw SystemError("poll") }
        }
        return entry.revents & Int16(POLLIN | POLLHUP | POLLERR) != 0
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
