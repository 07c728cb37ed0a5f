import Foundation
import Glibc

/// What a part process says about itself: one JSON line written to the report descriptor.
public struct VerdictRecord: Codable, Sendable, Equatable {
    public enum Verdict: String, Codable, Sendable {
        case passed, failed, notStarted, skipped
    }
    /// The secret the runner handed to this part; a record without it is ignored.
    public var nonce: String = ""
    /// The process that wrote it; only the part's own process may report `passed`.
    public var pid: Int32 = 0
    public var verdict: Verdict
    public var message: String
    /// For `notStarted`: the function still `todo()` and where it is.
    public var function: String?
    public var location: String?
    /// In a part with a /dev/shm of its own: the names left there when it reported.
    public var leftInSharedMemory: [String]?

    public init(verdict: Verdict, message: String, function: String? = nil, location: String? = nil) {
        self.verdict = verdict
        self.message = message
        self.function = function
        self.location = location
    }
}

/// How a part process reports to the runner, and why student code cannot forge a pass.
///
/// The runner starts a part (or a measurement) with the report pipe's write end as descriptor 3
/// and a second pipe as descriptor 4 that holds the nonce and is then closed; `LAB_REPORT=1` says
/// so. Before any student code runs, `connect()` reads the nonce, closes descriptor 4, moves the
/// report pipe to a close-on-exec descriptor of its own and remembers which pipe it is. The nonce
/// is never in the environment or the arguments (`/proc/self/environ` shows nothing), a record is
/// written only while that descriptor still is the runner's pipe, and only this module can say
/// `passed` (`sendVerdict`, internal): the student's modules see `todo()` and `forkChild`, which
/// can only say "not started" or "failed".
public enum VerdictChannel {
    /// Where the runner puts the report pipe's write end in the process it starts.
    static let reportFD: Int32 = 3
    /// Where the runner puts the read end of the pipe that carries the nonce.
    static let nonceFD: Int32 = 4
    /// Set in the environment of a process started with the two pipes.
    static let marker = "LAB_REPORT"
    /// Exit status of a process that reached `todo()`.
    public static var notStartedExitCode: Int32 { PartReport.notStartedExitCode }

    /// The report pipe, once connected: owned for the rest of the process.
    nonisolated(unsafe) static var channel: ReportPipe?
    nonisolated(unsafe) static var nonce = ""

    /// Takes over the two descriptors the runner handed this process (see above). Does nothing in
    /// a process the runner did not start that way (a peer started by a part, the lab's tests).
    public static func connect() {
        guard getenv(marker) != nil else { return }
        unsetenv(marker)                        // the processes this one starts are not connected
        // The nonce pipe's read end is this process's from here: read, then closed.
        let nonceEnd = OwnedDescriptor(taking: nonceFD)
        var text: [UInt8] = []
        var byte: UInt8 = 0
        while text.count < 64, read(nonceEnd.rawValue, &byte, 1) == 1 { text.append(byte) }
        nonceEnd.close()
        var info = stat()
        guard !text.isEmpty, text.allSatisfy({ (48...57).contains($0) || (97...102).contains($0) }),
              fstat(reportFD, &info) == 0, (info.st_mode & S_IFMT) == S_IFIFO else { return }
        let moved = fcntl(reportFD, F_DUPFD_CLOEXEC, 100)
        guard moved >= 0 else { return }
        OwnedDescriptor(taking: reportFD).close()
        nonce = String(decoding: text, as: UTF8.self)
        channel = ReportPipe(OwnedDescriptor(taking: moved), device: UInt64(info.st_dev), inode: UInt64(info.st_ino))
        installReporting()
    }

    /// Lets the student's code (through `todo()` and `forkChild`, which cannot say "passed") report
    /// on this channel.
    static func installReporting() {
        PartReport.notStarted = { function, location in
            send(VerdictRecord(verdict: .notStarted, message: "\(function) is still todo()", function: function, location: location))
        }
        PartReport.failure = { message in send(VerdictRecord(verdict: .failed, message: message)) }
    }

    /// Writes a record that is not a pass (failed, not started, skipped); returns false when this
    /// process is not connected. A pass is the part host's word alone: `sendVerdict`.
    @discardableResult
    public static func send(_ record: VerdictRecord) -> Bool {
        guard record.verdict != .passed else { return false }
        return sendVerdict(record)
    }

    /// Writes one record (at most PIPE_BUF bytes, so writes from several processes never
    /// interleave), only while the descriptor still is the runner's pipe.
    static func sendVerdict(_ record: VerdictRecord) -> Bool {
        guard let channel else { return false }
        guard channel.isStillTheRunnersPipe else {
            Console.err("lab: the report descriptor was replaced: this part's verdict cannot be delivered\n")
            return false
        }
        var record = record
        record.nonce = nonce
        record.pid = getpid()
        if record.message.utf8.count > 3000 {
            record.message = String(record.message.utf8.prefix(3000)) ?? String(record.message.prefix(1000))
            record.message += "\n…(cut)"
        }
        guard var data = try? JSONEncoder().encode(record) else { return false }
        data.append(0x0A)
        return data.withUnsafeBytes { bytes in
            (try? channel.descriptor.borrowed.writeAll(bytes)) != nil
        }
    }

    /// The environment and descriptors the runner gives a process it starts: the report pipe's
    /// write end and the nonce pipe's read end, at their fixed numbers (the owners keep them).
    static func handOver(report: borrowing OwnedDescriptor, nonce: borrowing OwnedDescriptor)
        -> (environment: [String: String?], descriptors: [DescriptorHandOver]) {
        ([marker: "1"], [DescriptorHandOver(report, as: reportFD), DescriptorHandOver(nonce, as: nonceFD)])
    }

    /// A pipe that holds `nonce`: its read end, for the child (the write end is closed already).
    static func noncePipe(_ nonce: String) throws -> OwnedDescriptor {
        let pipe = try OwnedPipe()
        try pipe.write.writeAll(nonce)
        pipe.write.close()
        return pipe.read
    }

    /// The connected report pipe, lent to the engine's own fixtures that forge records; nil when
    /// this process is not connected.
    public static var reportForFixtures: BorrowedDescriptor? { channel?.descriptor.borrowed }

    /// Parses the report stream: one record a line; lines with another nonce or bad JSON are dropped.
    static func parse(_ bytes: [UInt8], nonce: String) -> [VerdictRecord] {
        let decoder = JSONDecoder()
        return bytes.split(separator: 0x0A).compactMap { line in
            guard let record = try? decoder.decode(VerdictRecord.self, from: Data(line)),
                  record.nonce == nonce else { return nil }
            return record
        }
    }
}

/// A part's report pipe once `VerdictChannel.connect()` took it over: the write end, owned for the
/// rest of the process (close-on-exec, at a number of its own), and which pipe it is, so that a
/// record is written only while the number still names the runner's pipe.
final class ReportPipe {
    let descriptor: OwnedDescriptor
    let device: UInt64
    let inode: UInt64

    init(_ descriptor: consuming OwnedDescriptor, device: UInt64, inode: UInt64) {
        self.descriptor = descriptor
        self.device = device
        self.inode = inode
    }

    /// False once the number names another file (student code `dup2`'d over it, or closed it).
    /// The corresponding C function is `fstat`.
    var isStillTheRunnersPipe: Bool {
        var info = stat()
        return fstat(descriptor.rawValue, &info) == 0 && UInt64(info.st_dev) == device && UInt64(info.st_ino) == inode
    }
}
