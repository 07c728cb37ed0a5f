import Foundation

/// Every lesson, part and mutant, as JSON (`lab __catalog`): what the test suite iterates over,
/// so that a lesson added later is tested without touching the tests.
public struct CatalogRecord: Codable, Sendable {
    public struct Part: Codable, Sendable, Hashable {
        public let number: Int
        public let title: String
        public let graded: Bool
    }
    public struct Mutant: Codable, Sendable, Hashable {
        public let name: String
        public let mistake: String
        /// The parts that must catch it, each with the outcome the student should see.
        public let catches: [Catch]
        public var caughtBy: [Int] { catches.map(\.part) }
    }
    public typealias Catch = MutantInfo.Catch
    public typealias Clause = LabKit.Clause
    public struct Lesson: Codable, Sendable {
        public let number: Int
        public let slug: String
        public let title: String
        public let hidden: Bool
        public let parts: [Part]
        public let mutants: [Mutant]
        public let clauses: [Clause]
        /// Part numbers with a check for the exercise and for the solution.
        public let exerciseParts: [Int]
        public let solutionParts: [Int]

        /// The record of one lesson entry (a catalog entry has no mutants and no bound checks).
        public init(_ entry: LessonEntry) {
            number = entry.info.number
            slug = entry.info.slug
            title = entry.info.title
            hidden = entry.info.hidden
            parts = entry.parts.map { Part(number: $0.number, title: $0.title, graded: $0.graded) }
            mutants = entry.mutants.map { mutant in
                Mutant(name: mutant.name, mistake: mutant.mistake,
                       catches: mutant.catches)
            }
            clauses = entry.clauses
            exerciseParts = entry.checks(for: .exercise)?.parts.keys.sorted() ?? []
            solutionParts = entry.checks(for: .solution)?.parts.keys.sorted() ?? []
        }
    }
    public let lessons: [Lesson]

    public init(lessons: [Lesson]) { self.lessons = lessons }

    public init(lessons entries: [LessonEntry]) { lessons = entries.map(Lesson.init) }

    public func encoded() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: (try? encoder.encode(self)) ?? Data(), as: UTF8.self)
    }
}
