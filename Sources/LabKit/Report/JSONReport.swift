import Foundation

/// A part result as the lab's own machine-readable output (`lab check --json`).
public struct PartResultRecord: Codable, Sendable, Equatable {
    public let lesson: Int
    public let slug: String
    public let part: Int
    public let title: String
    public let graded: Bool
    public let implementation: String
    /// passed, failed, notStarted, crashed, deadlocked, timedOut, exitedEarly, skipped.
    public let outcome: String
    public let message: String
    /// For notStarted: the function still todo().
    public let function: String?
    public let output: String
    public let leftovers: [String]
    public let seconds: Double
    /// The longest stretch in which every process of the part slept using no CPU (what stall
    /// detection measures): how close a healthy part came to being called deadlocked.
    public let quietSeconds: Double?

    public init(_ result: PartResult) {
        lesson = result.lesson.number
        slug = result.lesson.slug
        part = result.part.number
        title = result.part.title
        graded = result.part.graded
        implementation = result.implementation.description
        outcome = result.outcome.kind.rawValue
        message = result.outcome.message
        if case .notStarted(let name, _) = result.outcome { function = name } else { function = nil }
        output = result.output
        leftovers = result.leftovers.map(\.description)
        seconds = result.seconds
        quietSeconds = (result.longestQuiet * 1000).rounded() / 1000
    }
}

/// The whole of `lab check --json`: one object with a list of results.
public struct CheckReportRecord: Codable, Sendable {
    public let results: [PartResultRecord]

    public init(results: [PartResultRecord]) { self.results = results }

    public func encoded() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let data = (try? encoder.encode(self)) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self)
    }
}
