import Foundation

/// What the student has done so far, kept in `.lab/progress.json` at the package root.
public struct Progress: Codable, Equatable, Sendable {
    public struct LessonProgress: Codable, Equatable, Sendable {
        /// Graded parts that passed in the latest check of each part.
        public var passedParts: [Int] = []
        /// Parts that were checked at least once.
        public var checkedParts: [Int] = []
        /// True when the latest build of the exercises failed.
        public var doesNotCompile: Bool = false
        public var lastChecked: Date?

        public init() {}
    }
    public var version = 1
    /// The lesson the student is on.
    public var currentLesson: Int = 1
    /// Lesson number (as text, for JSON) → progress.
    public var lessons: [String: LessonProgress] = [:]
    /// "lesson.part" → the last hint level shown (1-based).
    public var hintLevels: [String: Int] = [:]

    public init() {}

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
            entry.passedParts.sort()
            entry.checkedParts.sort()
            lessons["\(result.lesson.number)"] = entry
        }
    }
}

/// Reads and writes `.lab/progress.json`. A missing file is a fresh start; a corrupt one is
/// replaced, with a one-line warning, never a crash.
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

    /// The saved progress, or a fresh one. `warn` receives one line when the file was unusable.
    public func load(warn: (String) -> Void) -> Progress {
        guard let data = FileManager.default.contents(atPath: path) else { return Progress() }
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        if let progress = try? decoder.decode(Progress.self, from: data) { return progress }
        warn("warning: \(PackagePaths.relative(path)) was unreadable and has been started afresh")
        save(Progress())
        return Progress()
    }

    /// Writes atomically (temp file + rename); failures are ignored: progress is a convenience.
    public func save(_ progress: Progress) {
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.dateEncodingStrategy = .iso8601
        guard let data = try? encoder.encode(progress) else { return }
        try? data.write(to: URL(fileURLWithPath: path), options: .atomic)
    }
}
