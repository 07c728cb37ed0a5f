import CShmLab
import Glibc

/// The C-shaped descriptor calls of the lessons: a descriptor is an `Int32`, as in C, because the
/// lessons teach the C calls and their contract types (lesson 06's `Connection`) own what they
/// open. The engine does not use these: it holds what it opens in an `OwnedDescriptor` and lends
/// it as a `BorrowedDescriptor`, which do the work behind these calls too.
public enum Descriptor {
    /// A pipe whose ends are close-on-exec; the caller owns both ends and closes them. The
    /// corresponding C function is `pipe2(…, O_CLOEXEC)`.
    public static func pipe() throws -> (read: Int32, write: Int32) {
        let pipe = try OwnedPipe()
        return (pipe.read.release(), pipe.write.release())
    }

    /// Writes every byte, looping over partial writes and EINTR. The corresponding C function is `write`.
    public static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) throws {
        try BorrowedDescriptor(ownedElsewhere: fd).writeAll(bytes)
    }

    /// Writes a whole string as UTF-8.
    public static func writeAll(_ fd: Int32, _ text: String) throws {
        try BorrowedDescriptor(ownedElsewhere: fd).writeAll(text)
    }

    /// Reads until end-of-file. The corresponding C function is `read`.
    public static func readAll(_ fd: Int32, limit: Int = 64 << 20) throws -> [UInt8] {
        try BorrowedDescriptor(ownedElsewhere: fd).readAll(limit: limit)
    }

    /// Closes a descriptor, never retrying. The corresponding C function is `close`.
    public static func close(_ fd: Int32) {
        if fd >= 0 { _ = Glibc.close(fd) }
    }
}

/// A descriptor this value does not own: lent by its owner for as long as the owner keeps it
/// open — an `OwnedDescriptor` (`borrowed`), a lesson's contract type that holds the student's
/// descriptor, or the process itself (the standard streams). It can be copied and closes nothing.
/// Code that reads, writes or polls a descriptor it does not own takes one of these, so that a
/// bare number never says who closes it.
public struct BorrowedDescriptor: Equatable, Sendable {
    /// The descriptor number, for the C call that uses it.
    public let rawValue: Int32

    /// A descriptor that an owner outside the lab's Swift values keeps open (a lesson's contract
    /// type, a number the runner handed over at spawn).
    public init(ownedElsewhere rawValue: Int32) {
        self.rawValue = rawValue
    }

    /// Standard input, output and error: the process's own, never closed by the lab.
    public static let standardInput = BorrowedDescriptor(ownedElsewhere: 0)
    public static let standardOutput = BorrowedDescriptor(ownedElsewhere: 1)
    public static let standardError = BorrowedDescriptor(ownedElsewhere: 2)

    /// Writes every byte, looping over partial writes and EINTR. The corresponding C function is `write`.
    public func writeAll(_ bytes: UnsafeRawBufferPointer) throws {
        var done = 0
        while done < bytes.count {
            let n = try valueOrErrno("write", object: "fd \(rawValue)") {
                Glibc.write(rawValue, bytes.baseAddress! + done, bytes.count - done)
            }
            done += n
        }
    }

    /// Writes a whole string as UTF-8.
    public func writeAll(_ text: String) throws {
        var text = text
        try text.withUTF8 { try writeAll(UnsafeRawBufferPointer($0)) }
    }

    /// Reads until end-of-file or `limit` bytes. The corresponding C function is `read`.
    public func readAll(limit: Int = 64 << 20) throws -> [UInt8] {
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while out.count < limit {
            let n = try valueOrErrno("read", object: "fd \(rawValue)") {
                chunk.withUnsafeMutableBytes { Glibc.read(rawValue, $0.baseAddress, min($0.count, limit - out.count)) }
            }
            if n == 0 { break }
            out.append(contentsOf: chunk[0..<n])
        }
        return out
    }

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

extension pollfd {
    /// An entry `poll` skips (descriptor -1): a place kept in a fixed array of entries for a
    /// descriptor that is not there (no pidfd, no keyboard, polling instead of inotify).
    public static var skipped: pollfd { pollfd(fd: -1, events: 0, revents: 0) }
}

/// A descriptor this value owns: closed exactly once, by `close()` or when the value ends.
/// Modelled on swift-system's `FileDescriptor`, with the ownership the compiler enforces: the
/// value cannot be copied, so no second owner can close it, and `close()` consumes it.
/// Code that only uses the descriptor (poll, read, fcntl) borrows it: `borrowed` for a function
/// that takes a `BorrowedDescriptor`, `rawValue` for one C call.
public struct OwnedDescriptor: ~Copyable {
    /// The descriptor number, lent for one call; never closed by the borrower.
    public let rawValue: Int32

    /// Takes ownership of `rawValue`, which nothing else may close from now on.
    public init(taking rawValue: Int32) {
        self.rawValue = rawValue
    }

    /// Opens `path`. The corresponding C function is `open` (`O_CLOEXEC` is always added).
    public static func open(_ path: String, _ flags: Int32, mode: mode_t = 0) throws -> OwnedDescriptor {
        OwnedDescriptor(taking: try valueOrErrno("open", object: path) { Glibc.open(path, flags | O_CLOEXEC, mode) })
    }

    /// Closes the descriptor, never retrying. The corresponding C function is `close`.
    public consuming func close() {
        _ = Glibc.close(rawValue)
        discard self
    }

    deinit { _ = Glibc.close(rawValue) }

    /// Gives the descriptor, open, to an owner outside the lab's Swift values and returns its
    /// number: what the C-shaped calls of the lessons (`Descriptor.pipe()`, lesson 11's segments) do at
    /// the end, once nothing can fail any more. From here the caller closes it.
    public consuming func release() -> Int32 {
        let number = rawValue
        discard self
        return number
    }

    /// The descriptor lent to code that does not own it, valid while this owner lives.
    public var borrowed: BorrowedDescriptor { BorrowedDescriptor(ownedElsewhere: rawValue) }

    public typealias ReadResult = BorrowedDescriptor.ReadResult

    /// See `BorrowedDescriptor.readAvailable(into:)`.
    public func readAvailable(into buffer: inout [UInt8]) -> ReadResult {
        borrowed.readAvailable(into: &buffer)
    }

    /// See `BorrowedDescriptor.writeAll(_:)`.
    public func writeAll(_ text: String) throws { try borrowed.writeAll(text) }

    /// See `BorrowedDescriptor.readAll(limit:)`.
    public func readAll(limit: Int = 64 << 20) throws -> [UInt8] { try borrowed.readAll(limit: limit) }

    /// See `BorrowedDescriptor.setNonBlocking()`.
    public func setNonBlocking() throws { try borrowed.setNonBlocking() }

    /// A `poll` entry that waits for this descriptor to be readable.
    public var readable: pollfd { borrowed.readable }
}

/// Both ends of a pipe, each owned; both close-on-exec. Frozen, so that its two ends can be
/// taken apart (one closed, the other kept) in other modules.
@frozen
public struct OwnedPipe: ~Copyable {
    public var read: OwnedDescriptor
    public var write: OwnedDescriptor

    /// A new pipe. The corresponding C function is `pipe2(…, O_CLOEXEC)`.
    public init() throws {
        var fds: [Int32] = [-1, -1]
        try valueOrErrno("pipe2") { shmlab_pipe_cloexec(&fds) }
        read = OwnedDescriptor(taking: fds[0])
        write = OwnedDescriptor(taking: fds[1])
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

/// The whole content of a (small) file, or its first `limit` bytes. The corresponding C
/// functions are `open` and `read`.
public func readFile(_ path: String, limit: Int = 64 << 20) throws -> [UInt8] {
    try OwnedDescriptor.open(path, O_RDONLY).readAll(limit: limit)
}

/// Unbuffered writes to the standard streams (stdio's `stdout`/`stderr` globals are not
/// concurrency-safe in Swift 6). The corresponding C function is `write`.
public enum Console {
    public static func out(_ text: String) { try? BorrowedDescriptor.standardOutput.writeAll(text) }
    public static func err(_ text: String) { try? BorrowedDescriptor.standardError.writeAll(text) }
}
