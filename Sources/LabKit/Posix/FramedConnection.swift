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
        /// A length prefix that is negative or over `maximumMessage`.
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

    public private(set) var fd: Int32

    /// Takes ownership of `fd`.
    public init(fd: Int32) { self.fd = fd }

    deinit { close() }

    /// Sends one message: header and payload, looping over partial writes and EINTR. Uses
    /// `send(…, MSG_NOSIGNAL)` on sockets (EPIPE instead of SIGPIPE) and `write` on pipes.
    public func send(_ payload: [UInt8]) throws {
        // One buffer, one allocation: the header, then the payload.
        var message = [UInt8]()
        message.reserveCapacity(4 + payload.count)
        let n = UInt32(payload.count)
        message.append(UInt8(n >> 24)); message.append(UInt8((n >> 16) & 0xff))
        message.append(UInt8((n >> 8) & 0xff)); message.append(UInt8(n & 0xff))
        message.append(contentsOf: payload)
        try message.withUnsafeBytes { raw in
            var done = 0
            while done < raw.count {
                var written = Glibc.send(fd, raw.baseAddress! + done, raw.count - done, Int32(MSG_NOSIGNAL))
                if written == -1 && errno == ENOTSOCK {
                    written = Glibc.write(fd, raw.baseAddress! + done, raw.count - done)
                }
                if written == -1 {
                    if errno == EINTR { continue }
                    throw SystemError("send", object: "fd \(fd)")
                }
                done += written
            }
        }
    }

    /// Receives one message. Throws `Failure.endOfFile` when the peer closed between messages.
    public func receive() throws -> [UInt8] {
        var header: (UInt8, UInt8, UInt8, UInt8) = (0, 0, 0, 0)      // on the stack: no allocation
        try withUnsafeMutableBytes(of: &header) { try readExactly(into: $0, atStart: true) }
        let length = Int(Int32(bitPattern: UInt32(header.0) << 24 | UInt32(header.1) << 16 | UInt32(header.2) << 8 | UInt32(header.3)))
        guard length >= 0, length <= Self.maximumMessage else { throw Failure.badLength(length) }
        return try readExactly(length, atStart: false)
    }

    /// True when a message (or end-of-file) can be read within `timeout` seconds. The
    /// corresponding C function is `poll`.
    public func poll(timeout: Double) -> Bool {
        var entry = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        return Glibc.poll(&entry, 1, Int32(timeout * 1000)) > 0
    }

    func readExactly(_ count: Int, atStart: Bool) throws -> [UInt8] {
        try [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            try readExactly(into: UnsafeMutableRawBufferPointer(buffer), atStart: atStart)
            initialized = count
        }
    }

    func readExactly(into buffer: UnsafeMutableRawBufferPointer, atStart: Bool) throws {
        let count = buffer.count
        var done = 0
        while done < count {
            let n = Glibc.read(fd, buffer.baseAddress! + done, count - done)
            if n == -1 {
                if errno == EINTR { continue }
                throw SystemError("read", object: "fd \(fd)")
            }
            if n == 0 {
                if atStart && done == 0 { throw Failure.endOfFile }
                throw Failure.truncated(expected: count, got: done)
            }
            done += n
        }
    }

    /// Closes the descriptor once. The corresponding C function is `close`.
    public func close() {
        if fd >= 0 { Glibc.close(fd); fd = -1 }
    }

    /// Gives up ownership without closing.
    public func release() -> Int32 {
        let taken = fd
        fd = -1
        return taken
    }
}
