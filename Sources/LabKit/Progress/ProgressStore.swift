import Foundation
import Glibc

/// What the student has done so far, kept in `.lab/progress.json` at the package root.
///
/// Every field is optional on disk: a file written by an older lab, or cut short, still loads
/// with defaults for what is missing.
public struct Progress: Codable, Equatable, Sendable {
    public struct LessonProgress: Codable, Equatable, Sendable {
        /// Graded parts that passed in the latest check of each part.
        public var passedParts: [Int] = []
        /// Parts that were checked at least once.
        public var checkedParts: [Int] = []
        /// Part number (as text) → how its latest check ended.
        public var outcomes: [String: PartOutcome.Kind] = [:]
        /// True when the latest build of the exercises failed.
        public var doesNotCompile: Bool = false
        public var lastChecked: Date?

        public init() {}

        enum CodingKeys: String, CodingKey { case passedParts, checkedParts, outcomes, doesNotCompile, lastChecked }

        public init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            passedParts = try c.decodeIfPresent([Int].self, forKey: .passedParts) ?? []
            checkedParts = try c.decodeIfPresent([Int].self, forKey: .checkedParts) ?? []
            // Stored as the kinds' names; a name this lab does not know (a newer lab's) is dropped.
            let names = try c.decodeIfPresent([String: String].self, forKey: .outcomes) ?? [:]
            outcomes = names.compactMapValues(PartOutcome.Kind.init(rawValue:))
            doesNotCompile = try c.decodeIfPresent(Bool.self, forKey: .doesNotCompile) ?? false
            lastChecked = try? c.decodeIfPresent(Date.self, forKey: .lastChecked)
        }

        /// How a part's latest check ended, if it was checked.
        public func outcome(ofPart number: Int) -> PartOutcome.Kind? { outcomes["\(number)"] }
    }
    public var version = 1
    /// The lesson the student is on.
    public var currentLesson: Int = 1
    /// Lesson number (as text, for JSON) → progress.
    public var lessons: [String: LessonProgress] = [:]
    /// "lesson.part" → the last hint level shown (1-based).
    public var hintLevels: [String: Int] = [:]

    public init() {}

    enum CodingKeys: String, CodingKey { case version, currentLesson, lessons, hintLevels }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        version = try c.decodeIfPresent(Int.self, forKey: .version) ?? 1
        currentLesson = try c.decodeIfPresent(Int.self, forKey: .currentLesson) ?? 1
        lessons = try c.decodeIfPresent([String: LessonProgress].self, forKey: .lessons) ?? [:]
        hintLevels = try c.decodeIfPresent([String: Int].self, forKey: .hintLevels) ?? [:]
    }

    public func lesson(_ number: Int) -> LessonProgress { lessons["\(number)"] ?? LessonProgress() }

    /// Records the latest results of the student's own code.
    public mutating func record(_ results: [PartResult]) {
        for result in results where result.implementation == .exercise {
            var entry = lesson(result.lesson.number)
            entry.doesNotCompile = false
            entry.lastChecked = Date()
            if !entry.checkedParts.contains(result.part.number) { entry.checkedParts.append(result.part.number) }
            entry.passedParts.removeAll { $0 == result.part.number }
            if result.outcome.isPassed && result.part.graded { entry.passedParts.append(result.part.number) }
            entry.outcomes["\(result.part.number)"] = result.outcome.kind
            entry.passedParts.sort()
            entry.checkedParts.sort()
            lessons["\(result.lesson.number)"] = entry
        }
    }

    /// Marks lessons whose code does not compile (or clears the mark when `compiles`).
    public mutating func setDoesNotCompile(_ numbers: [Int], _ value: Bool = true) {
        for number in numbers {
            var entry = lesson(number)
            entry.doesNotCompile = value
            lessons["\(number)"] = entry
        }
    }

    /// Forgets what was checked for a lesson (after its exercise was reset to the stub).
    public mutating func forgetChecks(_ number: Int) {
        lessons["\(number)"] = nil
    }
}

/// How a lesson stands for the student.
public enum LessonStatus: String, Sendable, Equatable {
    case passed
    case inProgress
    case notStarted
    case doesNotCompile

    /// "passed", "in progress", "not started", "does not compile".
    public var label: String {
        switch self {
        case .passed: return "passed"
        case .inProgress: return "in progress"
        case .notStarted: return "not started"
        case .doesNotCompile: return "does not compile"
        }
    }

    /// The status of `lesson` according to `progress`, with the graded parts passed and in total.
    public static func of(_ lesson: LessonEntry, in progress: Progress) -> (status: LessonStatus, passed: Int, total: Int) {
        let entry = progress.lesson(lesson.info.number)
        let graded = lesson.parts.filter(\.graded).map(\.number)
        let passed = graded.filter { entry.passedParts.contains($0) }.count
        if entry.doesNotCompile { return (.doesNotCompile, passed, graded.count) }
        if passed == graded.count && !graded.isEmpty { return (.passed, passed, graded.count) }
        // Started: something passed, or some part got past todo() (failed, crashed…).
        let started = passed > 0 || entry.outcomes.values.contains { $0 != .notStarted && $0 != .skipped }
        return (started ? .inProgress : .notStarted, passed, graded.count)
    }
}

/// Reads and writes `.lab/progress.json`. A missing file is a fresh start; a corrupt or
/// unreadable one is replaced, with a one-line warning, never a crash.
public struct ProgressStore {
    public let directory: String
    public var path: String { directory + "/progress.json" }

    /// `$SHMLAB_PROGRESS_DIR` if set (the test suite keeps its runs out of the student's
    /// progress that way), else `.lab` in the package.
    public init(directory: String? = nil) {
        if let directory {
            self.directory = directory
        } else if let env = getenv("SHMLAB_PROGRESS_DIR"), env.pointee != 0 {
            self.directory = String(cString: env)
        } else {
            self.directory = PackagePaths.absolute(".lab")
        }
    }

    /// The saved progress, or a fresh one. `warn` receives one line when the file was unusable
    /// (not JSON, the wrong shape, a directory, unreadable); the file is then written afresh.
    public func load(warn: (String) -> Void) -> Progress {
        var info = stat()
        if lstat(directory, &info) == 0 && (info.st_mode & S_IFMT) != S_IFDIR {
            warn("warning: \(PackagePaths.relative(directory)) was not a folder and has been started afresh")
            save(Progress())
            return Progress()
        }
        guard lstat(path, &info) == 0 else { return Progress() }   // missing: a fresh start
        if (info.st_mode & S_IFMT) == S_IFREG, let data = try? readFile(path) {
            let decoder = JSONDecoder()
            decoder.dateDecodingStrategy = .iso8601
            if let progress = try? decoder.decode(Progress.self, from: Data(data)) { return progress }
        }
        warn("warning: \(PackagePaths.relative(path)) was unreadable and has been started afresh")
        removeTree(path)
        save(Progress())
        return Progress()
    }

    /// Loads, changes and saves in one step under an exclusive lock on `.lab/progress.lock`, so
    /// that two lab processes (a watch and a check in another terminal) never lose each other's
    /// progress. The corresponding C function is `flock`.
    @discardableResult
    public func update(warn: (String) -> Void, _ change: (inout Progress) -> Void) -> Progress {
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        // Without a lock file (an unwritable folder) it goes on unlocked.
        let lock = try? OwnedDescriptor.open(directory + "/progress.lock", O_RDWR | O_CREAT, mode: 0o644)
        switch lock {
        case .some(let held): while flock(held.rawValue, LOCK_EX) == -1 && errno == EINTR {}
        case .none: break
        }
        var progress = load(warn: warn)
        change(&progress)
        save(progress)
        if let held = lock { held.close() }     // unlocked only once the file is written
        return progress
    }

    /// Writes atomically (temp file + rename); failures are ignored: progress is a convenience.
    /// A `.lab` that exists but is not a directory is replaced by one.
    public func save(_ progress: Progress) {
        var info = stat()
        if lstat(directory, &info) == 0 && (info.st_mode & S_IFMT) != S_IFDIR {
            unlink(directory)
        }
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.dateEncodingStrategy = .iso8601
        guard let data = try? encoder.encode(progress) else { return }
        try? data.write(to: URL(fileURLWithPath: path), options: .atomic)
    }
}
