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
                        caughtBy: [3], implementation: SingleRead.self),
            Mutant(name: "little-endian-length", mistake: "the length prefix is written and read little-endian",
                        caughtBy: [6: .deadlocked, 7: .failed], implementation: LittleEndianLength.self),
            Mutant(name: "no-eof-handling", mistake: "receive loops when read() returns 0 instead of reporting end-of-file",
                        caughtBy: [4, 7], as: .timedOut, implementation: NoEndOfFileHandling.self),
            Mutant(name: "write-end-left-open", mistake: "startWriter's parent keeps its copy of the write end open",
                        caughtBy: [4], as: .deadlocked, implementation: WriteEndLeftOpen.self),
            Mutant(name: "swapped-pipe-ends", mistake: "pipe() ends returned as (write end, read end)",
                        caughtBy: [1, 4], implementation: SwappedPipeEnds.self),
            Mutant(name: "not-close-on-exec", mistake: "pipe(duplex:) uses pipe() and socketpair without SOCK_CLOEXEC: a program exec'd later inherits the ends",
                        caughtBy: [1, 2], implementation: NotCloseOnExec.self),
            Mutant(name: "duplex-over-pipe", mistake: "a duplex pair is made with pipe(), which is one-way",
                        caughtBy: [2], implementation: DuplexOverPipe.self),
            Mutant(name: "no-eintr-retry", mistake: "read() or write() failing with EINTR is thrown as an error",
                        caughtBy: [3], implementation: NoEINTRRetry.self),
            Mutant(name: "poll-seconds-as-milliseconds", mistake: "poll() is given the timeout in seconds as if it were milliseconds",
                        caughtBy: [5], implementation: PollSecondsAsMilliseconds.self),
            Mutant(name: "poll-ignores-hangup", mistake: "poll counts only POLLIN as ready, so end-of-file on a pipe reads as idle",
                        caughtBy: [5], implementation: PollIgnoresHangUp.self),
            Mutant(name: "sigpipe", mistake: "sockets are written with write() (no MSG_NOSIGNAL): a gone peer kills the sender",
                        caughtBy: [7], as: .crashed, implementation: SIGPIPEKills.self),
            Mutant(name: "no-length-check", mistake: "the length prefix is used without checking it (negative → crash)",
                        caughtBy: [7], as: .crashed, implementation: NoLengthCheck.self),
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
