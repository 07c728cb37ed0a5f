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

    public init(verdict: Verdict, message: String, function: String? = nil, location: String? = nil) {
        self.verdict = verdict
        self.message = message
        self.function = function
        self.location = location
    }
}

/// The descriptor a part reports on, as set up by the runner (`LAB_REPORT_FD`, `LAB_NONCE`).
public enum VerdictChannel {
    /// The descriptor number the runner maps the report pipe to in a part process.
    public static let reportFD: Int32 = 3
    /// Exit status of a process that reached `todo()`.
    public static let notStartedExitCode: Int32 = 3
    static let fdVariable = "LAB_REPORT_FD"
    static let nonceVariable = "LAB_NONCE"

    /// True inside a part process started by the runner (or a descendant of one).
    public static var isConnected: Bool { getenv(fdVariable) != nil && getenv(nonceVariable) != nil }

    /// Writes one record (at most PIPE_BUF bytes, so writes from several processes never interleave).
    /// Returns false when this process is not a part process.
    @discardableResult
    public static func send(_ record: VerdictRecord) -> Bool {
        guard let fdText = getenv(fdVariable), let nonce = getenv(nonceVariable),
              let fd = Int32(String(cString: fdText)) else { return false }
        var record = record
        record.nonce = String(cString: nonce)
        record.pid = getpid()
        if record.message.utf8.count > 3000 {
            record.message = String(record.message.utf8.prefix(3000)) ?? String(record.message.prefix(1000))
            record.message += "\n…(cut)"
        }
        guard var data = try? JSONEncoder().encode(record) else { return false }
        data.append(0x0A)
        return data.withUnsafeBytes { bytes in
            (try? Descriptor.writeAll(fd, bytes)) != nil
        }
    }

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
