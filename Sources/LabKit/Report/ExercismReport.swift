import Foundation

/// A grade as an Exercism test-runner results file, version 3 (`lab grade --json FILE`):
/// https://exercism.org/docs/building/tooling/test-runners/interface
///
/// One test per graded part, in lesson and part order; `task_id` is the lesson number, so a
/// platform that groups tests by task shows one task per lesson. `status` is pass, fail or error
/// (see `Grade.Status`); `output` is the tail of what the part printed, at most 500 characters as
/// the format requires; the top-level `message` says why, when nothing could run.
public struct ExercismResults: Codable, Sendable, Equatable {
    public struct Test: Codable, Sendable, Equatable {
        /// "Lesson 02 › 3. attach reports the real size".
        public let name: String
        public let status: String
        /// Why it did not pass; null when it passed.
        public let message: String?
        /// The tail of the part's output; null when it printed nothing.
        public let output: String?
        /// What runs this test: the lab command that shows the full report.
        public let testCode: String
        /// The lesson number.
        public let taskID: Int

        enum CodingKeys: String, CodingKey {
            case name, status, message, output
            case testCode = "test_code"
            case taskID = "task_id"
        }

        /// Writes absent values as null (the format allows null or absent; null keeps every test's shape alike).
        public func encode(to encoder: Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(name, forKey: .name)
            try container.encode(status, forKey: .status)
            try container.encode(message, forKey: .message)
            try container.encode(output, forKey: .output)
            try container.encode(testCode, forKey: .testCode)
            try container.encode(taskID, forKey: .taskID)
        }
    }

    public let version: Int
    public let status: String
    public let message: String?
    public let tests: [Test]

    /// The most characters `output` may hold.
    public static let outputLimit = 500

    public init(_ grade: Grade) {
        version = 3
        tests = grade.graded.map { result in
            let status = Grade.Status(result.outcome)
            return Test(name: Grade.testName(result), status: status.rawValue,
                        message: status == .pass ? nil : Self.message(result),
                        output: Self.capped(result.output),
                        testCode: Grade.command(result), taskID: result.lesson.number)
        }
        if let why = grade.nothingRan {
            status = "error"
            message = why
        } else {
            status = tests.allSatisfy { $0.status == "pass" } ? "pass" : "fail"
            message = nil
        }
    }

    /// "not started: …", "crashed with SIGSEGV …": the outcome's label and the lab's own message.
    static func message(_ result: PartResult) -> String {
        var text = "\(result.outcome.label): \(result.outcome.message)"
        if !result.leftovers.isEmpty, !result.outcome.message.contains("left things behind") {
            text += "\nleft behind (removed by the lab): " + result.leftovers.map(\.description).joined(separator: ", ")
        }
        return text
    }

    /// The last characters of `output`, at most `outputLimit` in all (counted in Unicode scalars,
    /// as Python's `len` counts) with the note that says it was cut.
    static func capped(_ output: String) -> String? {
        var text = output
        while text.hasSuffix("\n") { text.removeLast() }
        if text.isEmpty { return nil }
        let scalars = text.unicodeScalars
        if scalars.count <= outputLimit { return text }
        let probe = "…(output cut to its last 000 characters)\n"
        let kept = outputLimit - probe.unicodeScalars.count
        var tail = String.UnicodeScalarView()
        tail.append(contentsOf: scalars.suffix(kept))
        return "…(output cut to its last \(kept) characters)\n" + String(tail)
    }

    /// Pretty-printed JSON with sorted keys, so that the same grade always gives the same file.
    public func encoded() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let data = (try? encoder.encode(self)) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self) + "\n"
    }

    enum CodingKeys: String, CodingKey { case version, status, message, tests }

    /// Writes `message` as null when there is none.
    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(version, forKey: .version)
        try container.encode(status, forKey: .status)
        try container.encode(message, forKey: .message)
        try container.encode(tests, forKey: .tests)
    }
}
