import CShmLab
import Glibc

/// Thin helpers over descriptors used by the runner and by checks.
public enum Descriptor {
    /// A pipe whose ends are close-on-exec. The corresponding C function is `pipe2(…, O_CLOEXEC)`.
    public static func pipe() throws -> (read: Int32, write: Int32) {
        var fds: [Int32] = [-1, -1]
        try valueOrErrno("pipe2") { shmlab_pipe_cloexec(&fds) }
        return (fds[0], fds[1])
    }

    /// Writes every byte, looping over partial writes and EINTR. The corresponding C function is `write`.
    public static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) throws {
        var done = 0
        while done < bytes.count {
            let n = try valueOrErrno("write", object: "fd \(fd)") {
                Glibc.write(fd, bytes.baseAddress! + done, bytes.count - done)
            }
            done += n
        }
    }

    /// Writes a whole string as UTF-8.
    public static func writeAll(_ fd: Int32, _ text: String) throws {
        var text = text
        try text.withUTF8 { try writeAll(fd, UnsafeRawBufferPointer($0)) }
    }

    /// Reads until end-of-file. The corresponding C function is `read`.
    public static func readAll(_ fd: Int32, limit: Int = 64 << 20) throws -> [UInt8] {
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while out.count < limit {
            let n = try valueOrErrno("read", object: "fd \(fd)") {
                chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            }
            if n == 0 { break }
            out.append(contentsOf: chunk[0..<n])
        }
        return out
    }

    /// Closes a descriptor, never retrying. The corresponding C function is `close`.
    public static func close(_ fd: Int32) {
        if fd >= 0 { _ = Glibc.close(fd) }
    }
}

/// A descriptor this value owns: closed exactly once, by `close()` or when the value ends.
/// Modelled on swift-system's `FileDescriptor`, with the ownership the compiler enforces: the
/// value cannot be copied, so no second owner can close it, and `close()` consumes it.
/// Code that only uses the descriptor (poll, read, fcntl) borrows `rawValue` for the call.
public struct OwnedDescriptor: ~Copyable {
    /// The descriptor number, lent for one call; never closed by the borrower.
    public let rawValue: Int32

    /// Takes ownership of `rawValue`, which nothing else may close from now on.
    public init(taking rawValue: Int32) {
        self.rawValue = rawValue
    }

    /// Closes the descriptor, never retrying. The corresponding C function is `close`.
    public consuming func close() {
        _ = Glibc.close(rawValue)
        discard self
    }

    deinit { _ = Glibc.close(rawValue) }

    /// Reads what is there now, up to `buffer.count` bytes, without waiting (the descriptor is
    /// non-blocking). The corresponding C function is `read`.
    public func readAvailable(into buffer: inout [UInt8]) -> ReadResult {
        let n = buffer.withUnsafeMutableBytes { Glibc.read(rawValue, $0.baseAddress, $0.count) }
        if n > 0 { return .bytes(n) }
        if n == 0 { return .endOfFile }
        return errno == EINTR || errno == EAGAIN ? .nothingYet : .failed(errno)
    }

    /// What one `readAvailable` gave.
    public enum ReadResult: Equatable, Sendable {
        /// This many bytes, at the start of the buffer.
        case bytes(Int)
        /// Nothing to read now (EAGAIN, or a signal interrupted the call).
        case nothingYet
        /// Every writer closed its end.
        case endOfFile
        /// Another error (its errno).
        case failed(Int32)
    }

    /// Makes reads and writes return EAGAIN instead of waiting. The corresponding C function is
    /// `fcntl(fd, F_SETFL, flags | O_NONBLOCK)`.
    public func setNonBlocking() throws {
        _ = try valueOrErrno("fcntl(F_SETFL, O_NONBLOCK)", object: "fd \(rawValue)") { shmlab_set_nonblocking(rawValue) }
    }

    /// A `poll` entry that waits for this descriptor to be readable.
    public var readable: pollfd { pollfd(fd: rawValue, events: Int16(POLLIN), revents: 0) }
}

/// Both ends of a pipe, each owned; both close-on-exec. Frozen, so that its two ends can be
/// taken apart (one closed, the other kept) in other modules.
@frozen
public struct OwnedPipe: ~Copyable {
    public var read: OwnedDescriptor
    public var write: OwnedDescriptor

    /// A new pipe. The corresponding C function is `pipe2(…, O_CLOEXEC)`.
    public init() throws {
        let ends = try Descriptor.pipe()
        read = OwnedDescriptor(taking: ends.read)
        write = OwnedDescriptor(taking: ends.write)
    }
}

/// Monotonic time in seconds. The corresponding C function is `clock_gettime(CLOCK_MONOTONIC)`.
public func monotonicSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

/// CPU time (user + system) this process has used so far, in seconds. The corresponding C
/// function is `getrusage(RUSAGE_SELF)`; with `children: true`, `getrusage(RUSAGE_CHILDREN)`.
public func cpuSeconds(children: Bool = false) -> Double {
    var usage = rusage()
    getrusage(children ? RUSAGE_CHILDREN.rawValue : RUSAGE_SELF.rawValue, &usage)
    func seconds(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) / 1e6 }
    return seconds(usage.ru_utime) + seconds(usage.ru_stime)
}

/// The whole content of a (small) file. The corresponding C functions are `open` and `read`.
public func readFile(_ path: String) throws -> [UInt8] {
    let fd = OwnedDescriptor(taking: try valueOrErrno("open", object: path) { open(path, O_RDONLY | O_CLOEXEC) })
    return try Descriptor.readAll(fd.rawValue)
}

/// Unbuffered writes to the standard streams (stdio's `stdout`/`stderr` globals are not
/// concurrency-safe in Swift 6). The corresponding C function is `write`.
public enum Console {
    public static func out(_ text: String) { try? Descriptor.writeAll(1, text) }
    public static func err(_ text: String) { try? Descriptor.writeAll(2, text) }
}
