import Glibc
import Contracts

// Lesson 06 — reference solution.
//
// A pipe or a stream socket carries a stream of bytes with no message boundaries. Each message is
// therefore framed exactly like Python's multiprocessing.connection: a 4-byte big-endian signed
// length, then the payload. Everything else here is about making that reliable: write() and read()
// may transfer fewer bytes than asked (loop), a signal may interrupt them (EINTR: try again),
// read() returning 0 means end-of-file (stop, never loop), and writing to a pipe nobody reads must
// not kill the process with SIGPIPE.

public final class Connection: PipeConnectionContract {
    public private(set) var descriptor: Int32
    /// Sockets are written with send(MSG_NOSIGNAL); pipes have no such flag.
    private let isSocket: Bool

    /// Python sends header and payload in one write up to this size (fewer system calls, no Nagle
    /// delay on TCP); larger payloads go in two writes rather than being copied behind a header.
    private static let combineLimit = 16 * 1024

    public init(descriptor: Int32) {
        self.descriptor = descriptor
        var info = stat()
        isSocket = fstat(descriptor, &info) == 0 && (info.st_mode & S_IFMT) == S_IFSOCK
        if !isSocket { Connection.ignoreSIGPIPE() }
    }

    deinit {
        close()
        inbox.deallocate()
    }

    /// A write to a pipe whose readers are all gone raises SIGPIPE, which kills the process by
    /// default. Pipes have no MSG_NOSIGNAL, so the process ignores the signal (as Python does at
    /// start-up) and write() fails with EPIPE instead.
    private static let ignoringSIGPIPE: Void = { signal(SIGPIPE, SIG_IGN); return () }()
    private static func ignoreSIGPIPE() { _ = ignoringSIGPIPE }

    // MARK: - Sending

    public func send(_ message: [UInt8]) throws {
        guard descriptor >= 0 else { throw PipeError.closed }
        guard message.count <= maximumMessageBytes else { throw PipeError.messageTooLarge(message.count) }
        let n = UInt32(message.count)
        // A tuple, not an array: four bytes on the stack, no allocation per message.
        let header: (UInt8, UInt8, UInt8, UInt8) = (UInt8(n >> 24), UInt8((n >> 16) & 0xff), UInt8((n >> 8) & 0xff), UInt8(n & 0xff))
        if message.count <= Connection.combineLimit {
            // Header and payload side by side in a scratch buffer (on the stack when small).
            try withUnsafeTemporaryAllocation(byteCount: 4 + message.count, alignment: 1) { frame in
                withUnsafeBytes(of: header) { frame.copyMemory(from: $0) }
                message.withUnsafeBytes { UnsafeMutableRawBufferPointer(rebasing: frame[4...]).copyMemory(from: $0) }
                try writeAll(UnsafeRawBufferPointer(frame))
            }
        } else {
            try withUnsafeBytes(of: header) { try writeAll($0) }
            try message.withUnsafeBytes { try writeAll($0) }
        }
    }

    /// Writes every byte: write() may take only part of a large buffer (a pipe holds 64 KiB), and
    /// a signal arriving meanwhile makes it return early with what it took so far, or fail with
    /// EINTR when it took nothing.
    private func writeAll(_ raw: UnsafeRawBufferPointer) throws {
        var done = 0
        while done < raw.count {
            let n = isSocket
                ? Glibc.send(descriptor, raw.baseAddress! + done, raw.count - done, Int32(MSG_NOSIGNAL))
                : Glibc.write(descriptor, raw.baseAddress! + done, raw.count - done)
            if n == -1 {
                if errno == EINTR { continue }
                throw SystemError(isSocket ? "send" : "write", object: "fd \(descriptor)")
            }
            done += n
        }
    }

    // MARK: - Receiving

    public func receive() throws -> [UInt8] {
        guard descriptor >= 0 else { throw PipeError.closed }
        // The length: 4 bytes, from what is already buffered or from the descriptor.
        while buffered < 4 {
            let n = try fillInbox()
            if n == 0 {                                                 // end-of-file
                if buffered == 0 { throw PipeError.endOfFile }         // closed between messages
                throw PipeError.truncated(expected: 4, received: buffered)
            }
        }
        // Big-endian and *signed*, like struct.pack("!i", n): check before allocating anything.
        let length = bufferedLength
        guard length >= 0, length <= maximumMessageBytes else { throw PipeError.badLength(length) }
        inboxStart += 4
        // The payload: first what is already buffered, then the rest straight from the descriptor.
        var received = 0
        let message = try [UInt8](unsafeUninitializedCapacity: length) { buffer, initialized in
            let fromInbox = min(length, buffered)
            if fromInbox > 0 {
                UnsafeMutableRawPointer(buffer.baseAddress!).copyMemory(from: inbox.baseAddress! + inboxStart, byteCount: fromInbox)
                inboxStart += fromInbox
            }
            received = fromInbox
            if fromInbox < length {
                received += try readFully(UnsafeMutableRawBufferPointer(rebasing: UnsafeMutableRawBufferPointer(buffer)[fromInbox...]))
            }
            initialized = received
        }
        if received < length { throw PipeError.truncated(expected: length, received: received) }
        return message
    }

    /// Bytes read from the descriptor but not yet handed out: one read() takes whatever is there,
    /// often the next message (or several small ones) too.
    private let inbox = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 * 1024, alignment: 8)
    private var inboxStart = 0
    private var inboxEnd = 0
    private var buffered: Int { inboxEnd - inboxStart }

    /// True when the inbox holds a whole message (or a length receive() rejects at once).
    private var messageIsBuffered: Bool {
        guard buffered >= 4 else { return false }
        let length = bufferedLength
        return length < 0 || length > maximumMessageBytes || buffered - 4 >= length
    }

    /// The length prefix at the front of the inbox: big-endian and *signed*, like Python's
    /// struct.pack("!i", n).
    private var bufferedLength: Int {
        let h = inbox[inboxStart..<(inboxStart + 4)]          // a slice keeps the inbox's indices
        let n = UInt32(h[inboxStart]) << 24 | UInt32(h[inboxStart + 1]) << 16 | UInt32(h[inboxStart + 2]) << 8 | UInt32(h[inboxStart + 3])
        return Int(Int32(bitPattern: n))
    }

    /// One read() into the inbox (retrying EINTR); returns the count, 0 at end-of-file.
    private func fillInbox() throws -> Int {
        if inboxStart > 0 {                                         // keep the leftover at the front
            let left = buffered
            memmove(inbox.baseAddress!, inbox.baseAddress! + inboxStart, left)
            inboxStart = 0
            inboxEnd = left
        }
        while true {
            let n = Glibc.read(descriptor, inbox.baseAddress! + inboxEnd, inbox.count - inboxEnd)
            if n == -1 {
                if errno == EINTR { continue }
                throw SystemError("read", object: "fd \(descriptor)")
            }
            inboxEnd += n
            return n
        }
    }

    /// Reads until `buffer` is full or end-of-file; returns how many bytes arrived. read() returns
    /// what is there (up to the size asked), 0 at end-of-file — never retry after a 0 — and -1 with
    /// EINTR when a signal interrupted it before any byte arrived.
    private func readFully(_ buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        var done = 0
        while done < buffer.count {
            let n = Glibc.read(descriptor, buffer.baseAddress! + done, buffer.count - done)
            if n == -1 {
                if errno == EINTR { continue }
                throw SystemError("read", object: "fd \(descriptor)")
            }
            if n == 0 { break }                                         // end-of-file
            done += n
        }
        return done
    }

    // MARK: - Waiting and closing

    public func poll(timeout: Double) throws -> Bool {
        guard descriptor >= 0 else { throw PipeError.closed }
        guard timeout >= 0 else { throw PipeError.invalidTimeout(timeout) }   // also catches NaN
        if messageIsBuffered { return true }                        // receive() will not even read
        let deadline = monotonicSeconds() + timeout
        while true {
            let remaining = deadline - monotonicSeconds()
            // poll() takes milliseconds in an Int32: -1 waits for ever, larger waits are clamped.
            let millis: Int32 = timeout.isInfinite ? -1
                : Int32(min(max(remaining, 0) * 1000, Double(Int32.max)).rounded(.up))
            var entry = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
            let ready = Glibc.poll(&entry, 1, millis)
            if ready == -1 {
                if errno == EINTR { continue }                          // a signal: wait the rest
                throw SystemError("poll", object: "fd \(descriptor)")
            }
            // At end-of-file a pipe reports POLLHUP without POLLIN: receive() would not block
            // either (it throws endOfFile), so that counts as ready, as in Python. Ready means
            // some bytes, not a whole message: after half a message receive() still blocks.
            return ready > 0 && entry.revents & Int16(POLLIN | POLLHUP | POLLERR) != 0
        }
    }

    public func close() {
        if descriptor >= 0 {
            Glibc.close(descriptor)                                     // never retried
            descriptor = -1
        }
    }

    // MARK: - Making pairs

    public static func pipe(duplex: Bool) throws -> (Connection, Connection) {
        // Both close-on-exec: a program exec'd later must not inherit an end (an inherited write
        // end keeps the reader from ever seeing end-of-file). Python's ends are the same (PEP 446).
        if duplex {
            var fds: [Int32] = [-1, -1]
            try valueOrErrno("socketpair") {
                socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &fds)
            }
            return (Connection(descriptor: fds[0]), Connection(descriptor: fds[1]))
        }
        // pipe2(fds, O_CLOEXEC), which `import Glibc` does not show. The read end comes first,
        // the write end second — the same order as Python's.
        let (read, write) = try Descriptor.pipe()
        return (Connection(descriptor: read), Connection(descriptor: write))
    }

    public static func startWriter(_ body: (Connection) throws -> Void) throws -> (reader: Connection, writer: pid_t) {
        let (reader, writer) = try pipe(duplex: false)
        fflush(nil)
        let pid = fork()
        if pid == -1 { throw SystemError("fork") }
        if pid == 0 {
            // The child: it only writes. Closing its copy of the read end means a write fails with
            // EPIPE once the parent's reader is gone, instead of filling a pipe nobody will drain.
            reader.close()
            var code: Int32 = 0
            do { try body(writer) } catch { code = 1 }
            writer.close()
            fflush(nil)
            _exit(code)
        }
        // The parent: it only reads. Its copy of the write end must go, or the reader never sees
        // end-of-file: the kernel reports EOF only when *every* write end is closed, and this
        // process would hold one for as long as it waits.
        writer.close()
        return (reader, pid)
    }
}
