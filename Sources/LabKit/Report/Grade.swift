/// The grade of one run of `lab grade`: every part's result, and the rules that turn them into a
/// score. The terminal table, results.json and the JUnit file all read the same `Grade`, so they
/// never disagree.
///
/// Scoring: one point per graded part that passed. Demonstrations (`graded: false`) run and
/// appear in the table, but earn nothing and are left out of the score and the files. A part that
/// was *skipped* (it could not run here, e.g. python3 is not on PATH) earns no point and still
/// counts in the total: a grade certifies only what ran, so a full score needs a machine that can
/// run every part.
public struct Grade: Sendable {
    /// One lesson's results, in part order (demonstrations included).
    public struct Lesson: Sendable {
        public let info: LessonInfo
        public let results: [PartResult]

        public init(info: LessonInfo, results: [PartResult]) {
            self.info = info
            self.results = results
        }

        /// The parts that count, in part order.
        public var graded: [PartResult] { results.filter { $0.part.graded } }
        public var earned: Int { graded.filter { $0.outcome.isPassed }.count }
        public var possible: Int { graded.count }
    }

    /// How one graded part stands, as results.json and JUnit name it.
    public enum Status: String, Sendable {
        /// Passed: one point.
        case pass
        /// Ran, and the check did not hold; or not started yet.
        case fail
        /// Did not run to a verdict: crashed, deadlocked, timed out, exited early, or could not run here.
        case error

        public init(_ outcome: PartOutcome) {
            switch outcome {
            case .passed: self = .pass
            case .failed(let message) where message.hasPrefix(IsolatedRun.couldNotStart): self = .error
            case .failed, .notStarted: self = .fail
            case .crashed, .deadlocked, .timedOut, .exitedEarly, .skipped: self = .error
            }
        }
    }

    /// Whose code was graded.
    public let implementation: Implementation
    /// In lesson order.
    public let lessons: [Lesson]

    public init(implementation: Implementation, lessons: [Lesson]) {
        self.implementation = implementation
        self.lessons = lessons
    }

    /// Every graded part, in lesson and part order.
    public var graded: [PartResult] { lessons.flatMap(\.graded) }
    public var earned: Int { lessons.reduce(0) { $0 + $1.earned } }
    public var possible: Int { lessons.reduce(0) { $0 + $1.possible } }
    /// True only when every graded part passed (and there was at least one).
    public var isFull: Bool { possible > 0 && earned == possible }

    /// Why nothing could be graded, when nothing ran to a verdict of its own (no graded parts,
    /// or every one was skipped or could not be started); nil when something ran.
    public var nothingRan: String? {
        let parts = graded
        if parts.isEmpty { return "there is no graded part to run" }
        let ran = parts.filter { result in
            if case .skipped = result.outcome { return false }
            if case .failed(let message) = result.outcome, message.hasPrefix(IsolatedRun.couldNotStart) { return false }
            return true
        }
        guard ran.isEmpty else { return nil }
        let reasons = Set(parts.map(\.outcome.message)).sorted()
        return "no part could run here: " + reasons.joined(separator: "; ")
    }

    /// The name a part has everywhere (swift test, results.json, JUnit): "Lesson 02 › 3. attach reports the real size".
    public static func testName(_ result: PartResult) -> String {
        "Lesson \(result.lesson.twoDigits) › \(result.part.number). \(result.part.title)"
    }

    /// The command that runs a part again, with its full report.
    public static func command(_ result: PartResult) -> String {
        var words = "swift run lab check \(result.lesson.number) --part \(result.part.number)"
        if result.implementation == .solution { words += " --solutions" }
        return words
    }
}
