import Glibc

/// The lab's own message connection over a descriptor (a pipe end or a socket), with exactly the
/// framing of Python's `multiprocessing.connection`: a 4-byte big-endian signed length, then the
/// payload. Lessons after 06 get one of these so they do not depend on the student's lesson 06.
public final class FramedConnection {
    public enum Failure: Error, Equatable, CustomStringConvertible {
        /// The peer closed before a message started.
        case endOfFile
        /// The peer closed in the middle of a message.
        case truncated(expected: Int, got: Int)
        /// A length prefix that is negative or over `maximumMessage` (or the limit `receive(atMost:)` was given).
        case badLength(Int)

        public var description: String {
            switch self {
            case .endOfFile: return "end of file"
            case .truncated(let expected, let got): return "got end of file during message (\(got) of \(expected) bytes)"
            case .badLength(let n): return "bad message length \(n)"
            }
        }
    }

    /// The largest message accepted, in bytes.
    public static let maximumMessage = 64 << 20

    /// The descriptor this connection owns (-1 once closed or released).
    private var fd: Int32

    /// Takes ownership of `descriptor`: the connection closes it (`close()`, or when it ends)
    /// unless `release()` gives it back.
    public init(owning descriptor: consuming OwnedDescriptor) { self.fd = descriptor.release() }

    /// The descriptor lent for a call that does not close it (`poll`, `shutdown`,
    /// `peerCredentials(of:)`, bytes written by hand), valid while this connection owns it.
    public var borrowed: BorrowedDescriptor { BorrowedDescriptor(ownedElsewhere: fd) }

    /// False once `close()` or `release()` gave the descriptor up.
    public var isOpen: Bool { fd >= 0 }

    deinit {
        close()
        inboxStorage?.deallocate()
    }

    /// Sends one message: header and payload in one `send` (one `write` on a pipe) when the
    /// message is small, looping over partial writes and EINTR. Uses `send(…, MSG_NOSIGNAL)` on
    /// sockets (EPIPE instead of SIGPIPE) and `write` on pipes.
    public func send(_ payload: [UInt8]) throws {
        let n = UInt32(payload.count)
        let header: (UInt8, UInt8, UInt8, UInt8) = (UInt8(n >> 24), UInt8((n >> 16) & 0xff), UInt8((n >> 8) & 0xff), UInt8(n & 0xff))
        if payload.count <= Self.combineLimit {
            // Header and payload side by side in a scratch buffer on the stack: one system call.
            try withUnsafeTemporaryAllocation(byteCount: 4 + payload.count, alignment: 1) { frame in
                withUnsafeBytes(of: header) { frame.copyMemory(from: $0) }
                payload.withUnsafeBytes { UnsafeMutableRawBufferPointer(rebasing: frame[4...]).copyMemory(from: $0) }
                try writeAll(UnsafeRawBufferPointer(frame))
            }
        } else {
            try withUnsafeBytes(of: header) { try writeAll($0) }
            try payload.withUnsafeBytes { try writeAll($0) }
        }
    }

    /// Messages up to this size go out in one system call with their header.
    static let combineLimit = 16 * 1024

    func writeAll(_ raw: UnsafeRawBufferPointer) throws {
        var done = 0
        while done < raw.count {
            var written = isPipe ? -1 : Glibc.send(fd, raw.baseAddress! + done, raw.count - done, Int32(MSG_NOSIGNAL))
            if isPipe || (written == -1 && errno == ENOTSOCK) {
                isPipe = true
                written = Glibc.write(fd, raw.baseAddress! + done, raw.count - done)
            }
            if written == -1 {
                if errno == EINTR { continue }
                throw SystemError(isPipe ? "write" : "send", object: "fd \(fd)")
            }
            done += written
        }
    }

    /// Receives one message. Throws `Failure.endOfFile` when the peer closed between messages.
    /// One `read` takes whatever has arrived into an inbox, usually the header and the whole
    /// payload of a small message at once; large payloads are read straight into the result.
    public func receive() throws -> [UInt8] { try receive(atMost: Self.maximumMessage) }

    /// Receives one message of at most `limit` bytes: a length prefix over `limit` throws
    /// `Failure.badLength` as soon as the prefix arrives, before any of the message is read or
    /// waited for (what Python's `recv_bytes(maxlength)` does: "bad message length").
    public func receive(atMost limit: Int) throws -> [UInt8] {
        while buffered < 4 {
            if try fillInbox() == 0 {
                if buffered == 0 { throw Failure.endOfFile }
                throw Failure.truncated(expected: 4, got: buffered)
            }
        }
        let h = (inbox.baseAddress! + inboxStart).assumingMemoryBound(to: UInt8.self)
        let high: UInt32 = UInt32(h[0]) << 24 | UInt32(h[1]) << 16
        let low: UInt32 = UInt32(h[2]) << 8 | UInt32(h[3])
        let length = Int(Int32(bitPattern: high | low))
        guard length >= 0, length <= min(limit, Self.maximumMessage) else { throw Failure.badLength(length) }
        inboxStart += 4
        var received = 0
        let message = try [UInt8](unsafeUninitializedCapacity: length) { buffer, initialized in
            let fromInbox = min(length, buffered)
            if fromInbox > 0 {
                UnsafeMutableRawPointer(buffer.baseAddress!).copyMemory(from: inbox.baseAddress! + inboxStart, byteCount: fromInbox)
                inboxStart += fromInbox
            }
            received = fromInbox
            if fromInbox < length {
                received += try readFully(into: UnsafeMutableRawBufferPointer(rebasing: UnsafeMutableRawBufferPointer(buffer)[fromInbox...]))
            }
            initialized = received
        }
        if received < length { throw Failure.truncated(expected: length, got: received) }
        return message
    }

    /// True when a message (or end-of-file) can be read within `timeout` seconds. The
    /// corresponding C function is `poll`.
    public func poll(timeout: Double) -> Bool {
        if buffered > 0 { return true }
        var entry = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        return Glibc.poll(&entry, 1, Int32(timeout * 1000)) > 0
    }

    /// Bytes read but not yet handed out (allocated on the first receive).
    private var inboxStorage: UnsafeMutableRawBufferPointer?
    private var inboxStart = 0
    private var inboxEnd = 0
    private var buffered: Int { inboxEnd - inboxStart }
    /// Set once `send` on this descriptor failed with ENOTSOCK: from then on `write`.
    private var isPipe = false
    private static let inboxSize = 16 * 1024

    private var inbox: UnsafeMutableRawBufferPointer {
        if let inboxStorage { return inboxStorage }
        let made = UnsafeMutableRawBufferPointer.allocate(byteCount: Self.inboxSize, alignment: 8)
        inboxStorage = made
        return made
    }

    /// One `read` into the inbox (retrying EINTR); returns the count, 0 at end-of-file.
    private func fillInbox() throws -> Int {
        let inbox = self.inbox
        if inboxStart > 0 {                                        // keep the leftover at the front
            let left = buffered
            if left > 0 { memmove(inbox.baseAddress!, inbox.baseAddress! + inboxStart, left) }
            inboxStart = 0
            inboxEnd = left
        }
        while true {
            let n = Glibc.read(fd, inbox.baseAddress! + inboxEnd, inbox.count - inboxEnd)
            if n == -1 {
                if errno == EINTR { continue }
                throw SystemError("read", object: "fd \(fd)")
            }
            inboxEnd += n
            return n
        }
    }

    /// Reads until `buffer` is full or end-of-file; returns how many bytes arrived.
    private func readFully(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        var done = 0
        while done < buffer.count {
            let n = Glibc.read(fd, buffer.baseAddress! + done, buffer.count - done)
            if n == -1 {
                if errno == EINTR { continue }
                throw SystemError("read", object: "fd \(fd)")
            }
            if n == 0 { break }
            done += n
        }
        return done
    }

    /// Closes the descriptor once. The corresponding C function is `close`.
    public func close() {
        if fd >= 0 { Glibc.close(fd); fd = -1 }
    }

    /// Gives up ownership without closing: the caller owns the descriptor from here. Bytes
    /// already read ahead into the inbox stay here.
    public func release() -> OwnedDescriptor {
        let taken = fd
        fd = -1
        return OwnedDescriptor(taking: taken)
    }
}
