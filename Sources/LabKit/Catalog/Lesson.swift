/// What the lab knows about a lesson, independent of who implements it.
public struct LessonInfo: Sendable, Equatable {
    /// 1 for lesson 01.
    public let number: Int
    /// "fork-and-mmap"; with the number it names the folder `Exercises/01-fork-and-mmap`.
    public let slug: String
    /// "Fork and an anonymous shared block".
    public let title: String
    /// Seconds a part may run before it is stopped, unless the part or `--timeout` says otherwise.
    public let defaultTimeout: Double
    /// Hidden lessons (the engine's own fixtures) are left out of lists, overviews and grades.
    public let hidden: Bool

    public init(number: Int, slug: String, title: String, defaultTimeout: Double = 10, hidden: Bool = false) {
        self.number = number
        self.slug = slug
        self.title = title
        self.defaultTimeout = defaultTimeout
        self.hidden = hidden
    }

    /// "01-fork-and-mmap": the folder under `Exercises/` and `Solutions/`.
    public var folder: String { "\(twoDigits)-\(slug)" }
    /// "01".
    public var twoDigits: String { number < 10 ? "0\(number)" : "\(number)" }
}

/// One part of a lesson: what it checks, whether it counts, and the hints that lead to it.
public struct PartInfo: Sendable, Equatable {
    public let number: Int
    /// "a child's writes are seen by the parent".
    public let title: String
    /// Demonstrations run and report but do not count towards a score.
    public let graded: Bool
    /// Staged hints: the first is gentle, the last all but gives it away.
    public let hints: [String]
    /// What a timeout or a deadlock most likely means for this part; shown after the generic explanation.
    public let ifTimedOut: String?
    /// A timeout of its own, in seconds, instead of the lesson's default.
    public let timeout: Double?
    /// Seconds every process of the part may sleep without using CPU before the part is called
    /// deadlocked, for a part that waits on purpose that long (a timed sleep, a get that waits
    /// for its timeout while the check waits for it); nil: `StallWatch.defaultWindow`.
    public let quietWindow: Double?

    public init(_ number: Int, _ title: String, graded: Bool = true, hints: [String],
                ifTimedOut: String? = nil, timeout: Double? = nil, quietWindow: Double? = nil) {
        self.number = number
        self.title = title
        self.graded = graded
        self.hints = hints
        self.ifTimedOut = ifTimedOut
        self.timeout = timeout
        self.quietWindow = quietWindow
    }
}

/// The checks of a lesson bound to one implementation (the student's, the reference, a mutant).
public struct ImplementationChecks {
    /// Part number → the check. A missing number means the part does not apply.
    public let parts: [Int: (PartContext) throws -> Void]
    /// Programs a check can start as unrelated processes (`lab __peer …`): name → body(arguments) → exit code.
    public let peers: [String: ([String]) throws -> Int32]

    public init(parts: [Int: (PartContext) throws -> Void], peers: [String: ([String]) throws -> Int32] = [:]) {
        self.parts = parts
        self.peers = peers
    }
}

/// A realistic mistake, implemented, and the parts that must catch it.
public struct MutantEntry {
    /// Short kebab-case name used on the command line: `lab check 1 --mutant map-private`.
    public let name: String
    /// What the student got wrong, in one sentence.
    public let mistake: String
    /// The parts that must fail (or time out, or crash) on this mutant.
    public let caughtBy: [Int]
    public let checks: ImplementationChecks

    public init(name: String, mistake: String, caughtBy: [Int], checks: ImplementationChecks) {
        self.name = name
        self.mistake = mistake
        self.caughtBy = caughtBy
        self.checks = checks
    }
}

/// Everything the runner needs about a lesson: its description and its checks per implementation.
public struct LessonEntry {
    public let info: LessonInfo
    public let parts: [PartInfo]
    public let exercise: ImplementationChecks
    public let solution: ImplementationChecks
    public let mutants: [MutantEntry]

    public init(info: LessonInfo, parts: [PartInfo], exercise: ImplementationChecks,
                solution: ImplementationChecks, mutants: [MutantEntry] = []) {
        self.info = info
        self.parts = parts
        self.exercise = exercise
        self.solution = solution
        self.mutants = mutants
    }

    /// The checks for one implementation, or nil for an unknown mutant name.
    public func checks(for implementation: Implementation) -> ImplementationChecks? {
        switch implementation {
        case .exercise: return exercise
        case .solution: return solution
        case .mutant(let name): return mutants.first { $0.name == name }?.checks
        }
    }

    public func part(_ number: Int) -> PartInfo? { parts.first { $0.number == number } }
}

/// Whose code a check runs.
public enum Implementation: Equatable, Sendable, CustomStringConvertible {
    /// The student's `Exercises` module.
    case exercise
    /// The reference `Solutions` module.
    case solution
    /// A known-wrong implementation from the `Mutants` module.
    case mutant(String)

    /// "exercise", "solution" or "mutant:NAME", as passed to the hidden sub-commands.
    public var description: String {
        switch self {
        case .exercise: return "exercise"
        case .solution: return "solution"
        case .mutant(let name): return "mutant:\(name)"
        }
    }

    public init?(_ text: String) {
        switch text {
        case "exercise": self = .exercise
        case "solution": self = .solution
        default:
            guard text.hasPrefix("mutant:") else { return nil }
            self = .mutant(String(text.dropFirst("mutant:".count)))
        }
    }
}
