import Glibc

/// Watches a running child: polls its output pipe, its report pipe (a part's), its pidfd, Ctrl-C
/// and, in watch mode, the keys, and collects what the pipes carry. It owns both pipes' read
/// ends: each is closed once its writers are gone (or, for the report, once it floods), and the
/// rest by `close()`.
struct PartWatch: ~Copyable {
    private var output: OwnedDescriptor?
    private var report: OwnedDescriptor?
    /// nil: keep the last `IsolatedRun.outputCap` bytes of output (a part's); a number: keep the
    /// first that many bytes (a build's, a helper's).
    private let outputLimit: Int?
    private var outputBytes: [UInt8] = []
    private var droppedBytes = 0
    /// What came on the report pipe.
    private(set) var reportBytes: [UInt8] = []
    /// Bytes read from both pipes so far: a part that prints or reports is progressing.
    private(set) var bytesRead = 0
    /// The part wrote more than `reportCap` bytes of report.
    private(set) var reportFlooded = false

    /// More report than any honest part writes (records are at most a few KiB each).
    static let reportCap = 1 << 20

    /// Takes both read ends; sets them non-blocking (`fcntl`).
    init(output: consuming OwnedDescriptor?, report: consuming OwnedDescriptor?, outputLimit: Int? = nil) {
        Self.setNonBlocking(output)
        Self.setNonBlocking(report)
        self.output = output
        self.report = report
        self.outputLimit = outputLimit
    }

    /// What ended a wait.
    enum Wake: Equatable {
        /// Something (or nothing, at the timeout) happened; the caller looks again.
        case waiting
        /// Ctrl-C or SIGTERM arrived.
        case interrupted
        /// A key asked to stop (watch mode's q or r).
        case stopped
    }

    /// True once every writer of the output pipe closed it.
    var outputEnded: Bool {
        switch output {
        case .some: return false
        case .none: return true
        }
    }

    /// Waits up to `timeout` seconds for output, a report, the child's end, Ctrl-C (unless
    /// `interruptible` is false) or a key, and reads what came.
    mutating func pollOnce(timeout: Double, child: ChildProcess, keys: StopKeys?, interruptible: Bool = true) -> Wake {
        var fds = [Self.entry(output), Self.entry(report), child.endedEntry,
                   interruptible ? Interruption.readableEntry : .skipped,
                   keys?.keyboard.readableEntry ?? .skipped]
        // Without a pidfd, wake up often enough to notice the exit.
        let waitMillis = child.hasPidfd ? Int32(min(max(timeout, 0), 5) * 1000) + 1 : 5
        guard poll(&fds, nfds_t(fds.count), waitMillis) > 0 else { return .waiting }
        if fds[3].revents != 0 { return .interrupted }
        if fds[4].revents != 0, let keys, keys.stops(keys.keyboard.read()) { return .stopped }
        if fds[0].revents != 0 { readOutput() }
        if fds[1].revents != 0 { readReport() }
        return .waiting
    }

    /// Reads whatever both pipes hold now.
    mutating func drainAvailable() {
        readOutput()
        readReport()
    }

    /// Closes what is still open.
    consuming func close() {
        if let fd = output.take() { fd.close() }
        if let fd = report.take() { fd.close() }
    }

    private mutating func readOutput() {
        let read: (bytes: [UInt8], ended: Bool)
        switch output {
        case .some(let fd): read = Self.readNow(fd, limit: 4 << 20)
        case .none: return
        }
        bytesRead += read.bytes.count
        if let limit = outputLimit {
            outputBytes.append(contentsOf: read.bytes.prefix(max(0, limit - outputBytes.count)))
        } else {
            outputBytes.append(contentsOf: read.bytes)
            if outputBytes.count > 2 * IsolatedRun.outputCap {
                let cut = outputBytes.count - IsolatedRun.outputCap
                droppedBytes += cut
                outputBytes.removeFirst(cut)
            }
        }
        if read.ended, let fd = output.take() { fd.close() }
    }

    private mutating func readReport() {
        let read: (bytes: [UInt8], ended: Bool)
        switch report {
        case .some(let fd): read = Self.readNow(fd, limit: Self.reportCap + 1)
        case .none: return
        }
        reportBytes.append(contentsOf: read.bytes)
        bytesRead += read.bytes.count
        if reportBytes.count > Self.reportCap {
            // Only the lab writes here, a few lines per part: a flood is the part's doing.
            // Stop listening (its next write fails) rather than spin on a pipe never drained.
            reportFlooded = true
            if let fd = report.take() { fd.close() }
        } else if read.ended, let fd = report.take() {
            fd.close()
        }
    }

    /// Everything `fd` holds now (up to `limit` bytes), and whether its writers are all gone.
    /// A hung-up pipe with no writer left reads end-of-file; an error ends it too (nothing more
    /// will come), so the loop never spins on it.
    private static func readNow(_ fd: borrowing OwnedDescriptor, limit: Int) -> (bytes: [UInt8], ended: Bool) {
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while bytes.count < limit {
            switch fd.readAvailable(into: &buffer) {
            case .bytes(let n): bytes.append(contentsOf: buffer[0..<n])
            case .nothingYet: return (bytes, false)
            case .endOfFile, .failed: return (bytes, true)
            }
        }
        return (bytes, false)
    }

    private static func setNonBlocking(_ fd: borrowing OwnedDescriptor?) {
        switch fd {
        case .some(let open): try? open.setNonBlocking()
        case .none: break
        }
    }

    private static func entry(_ fd: borrowing OwnedDescriptor?) -> pollfd {
        switch fd {
        case .some(let open): return open.readable
        case .none: return .skipped
        }
    }

    /// The output kept (a build's or a helper's: its first `outputLimit` bytes).
    var collected: [UInt8] { outputBytes }

    /// The last `outputCap` bytes, with a note of how much came before.
    var outputTail: String {
        var kept = outputBytes
        var dropped = droppedBytes
        if kept.count > IsolatedRun.outputCap {
            dropped += kept.count - IsolatedRun.outputCap
            kept.removeFirst(kept.count - IsolatedRun.outputCap)
        }
        let text = String(decoding: kept, as: UTF8.self)
        return dropped > 0 ? "…(\(dropped) earlier bytes not kept)\n" + text : text
    }
}

/// Standard input in watch mode: the keys the student types. It belongs to the process, so
/// nothing here closes it; at its end (a closed pipe, a terminal that went away) it is no longer
/// polled.
public final class Keyboard {
    /// True once standard input reached its end.
    public private(set) var ended = false

    public init() {}

    /// A `poll` entry for standard input (skipped once it ended).
    public var readableEntry: pollfd { ended ? .skipped : BorrowedDescriptor.standardInput.readable }

    /// What was typed (call it once poll says standard input is readable); nil at its end, []
    /// when nothing was there after all. The corresponding C function is `read(0, …)`.
    public func read() -> [UInt8]? {
        var buffer = [UInt8](repeating: 0, count: 64)
        switch BorrowedDescriptor.standardInput.readAvailable(into: &buffer) {
        case .bytes(let n): return Array(buffer[0..<n])
        case .nothingYet: return []
        case .endOfFile, .failed:
            ended = true
            return nil
        }
    }
}

/// Keys that may stop a build or a part while it runs (watch mode's q and r): the keyboard, and
/// the rule that says which of what was typed stops it (nil: standard input ended).
public struct StopKeys {
    public let keyboard: Keyboard
    public let stops: ([UInt8]?) -> Bool

    public init(keyboard: Keyboard, stops: @escaping ([UInt8]?) -> Bool) {
        self.keyboard = keyboard
        self.stops = stops
    }
}
