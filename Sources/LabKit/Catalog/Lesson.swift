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
    /// Earlier lessons whose exercise this lesson's host is built with (lesson 09 measures 05,
    /// 06 and 08); Package.swift lists the same.
    public let uses: [Int]

    public init(number: Int, slug: String, title: String, defaultTimeout: Double = 10, hidden: Bool = false,
                uses: [Int] = []) {
        self.uses = uses
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

/// One part of a lesson, declared once: its number, title, hints, timeout and the check itself.
///
/// `Contract` is what the check is handed: the implementation's type as the lesson's contract
/// (`any ForkAndMapContract.Type`), or a tuple of them for a lesson that measures several. A
/// check is a named function of the lesson, generic over the implementation; the closure here
/// only opens the existential: `check: { lab, context in try blockIsZeroed(lab, context) }`.
public struct Part<Contract> {
    /// What the catalog, the hints, the reports and the generated tests read.
    public let info: PartInfo
    /// Runs inside the part's own process; throws `CheckFailure` or `SkipPart`, returns on a pass.
    public let check: (Contract, PartContext) throws -> Void

    public init(_ number: Int, _ title: String, check: @escaping (Contract, PartContext) throws -> Void,
                graded: Bool = true, hints: [String],
                ifTimedOut: String? = nil, timeout: Double? = nil, quietWindow: Double? = nil) {
        info = PartInfo(number, title, graded: graded, hints: hints, ifTimedOut: ifTimedOut, timeout: timeout,
                        quietWindow: quietWindow)
        self.check = check
    }

    public var number: Int { info.number }
}

/// A program a check starts as an unrelated process (`lab __peer LESSON NAME …`): it shares
/// nothing with the part but its arguments. Returns the process's exit code.
public struct Peer<Contract> {
    public let name: String
    public let run: (Contract, [String]) throws -> Int32

    public init(_ name: String, run: @escaping (Contract, [String]) throws -> Int32) {
        self.name = name
        self.run = run
    }
}

/// A realistic mistake, implemented, and the parts that must catch it with the outcome a
/// student with this mistake should see.
public struct Mutant<Contract> {
    public let info: MutantInfo
    /// The wrong implementation (it forwards to the reference except for its one mistake).
    public let implementation: Contract

    /// Caught by each of `caughtBy` as `outcome` (a wrong result is `.failed`, a lock never
    /// released `.deadlocked`, a trap `.crashed`).
    public init(name: String, mistake: String, caughtBy: [Int], as outcome: PartOutcome.Kind = .failed,
                implementation: Contract) {
        info = MutantInfo(name: name, mistake: mistake, caughtBy: caughtBy.map { .init(part: $0, outcome: outcome) })
        self.implementation = implementation
    }

    /// Caught by several parts with different outcomes: `caughtBy: [5: .crashed, 6: .failed]`.
    public init(name: String, mistake: String, caughtBy: KeyValuePairs<Int, PartOutcome.Kind>,
                implementation: Contract) {
        info = MutantInfo(name: name, mistake: mistake, caughtBy: caughtBy.map { .init(part: $0.key, outcome: $0.value) })
        self.implementation = implementation
    }
}

/// What the catalog knows of a mutant, independent of its code.
public struct MutantInfo: Sendable, Equatable {
    /// Short kebab-case name used on the command line: `lab check 1 --mutant map-private`.
    public let name: String
    /// What the student got wrong, in one sentence.
    public let mistake: String
    /// The parts that must catch it, each with the outcome the student should see.
    public let catches: [Catch]

    public struct Catch: Sendable, Hashable, Codable {
        public let part: Int
        public let outcome: PartOutcome.Kind
    }

    public init(name: String, mistake: String, caughtBy: [Catch]) {
        self.name = name
        self.mistake = mistake
        self.catches = caughtBy
    }

    /// The part numbers that must catch it.
    public var caughtBy: [Int] { catches.map(\.part) }
}

/// A lesson's checks bound to one implementation: what a part process and a peer process run.
public struct ImplementationChecks {
    /// Part number → the check, bound to the implementation.
    public let parts: [Int: (PartContext) throws -> Void]
    /// Peer name → its body, bound to the implementation.
    public let peers: [String: ([String]) throws -> Int32]
}

/// Everything the lab knows about a lesson: its description, and — in the lesson's part host —
/// its checks bound to each implementation. Built from the lesson's one list of `Part`s, so the
/// catalog and the checks cannot disagree.
///
/// The runner (`lab`) holds catalog entries: parts, hints and peer names, no implementation (it
/// links no student code). A part host (`lab-lesson-NN`) holds the bound entry of its lesson.
public struct LessonEntry {
    public let info: LessonInfo
    public let parts: [PartInfo]
    /// The names of the programs the checks start as unrelated processes ("bench", …).
    public let peerNames: [String]
    /// The lesson's mutants; empty in a catalog entry (the part host knows them).
    public let mutants: [MutantInfo]
    /// The lesson's clause table: every promise → the parts that check it → the mutants that prove them.
    public let clauses: [Clause]
    private let bind: ((Implementation) -> ImplementationChecks?)?

    /// The catalog entry: what the runner shows and runs, without any implementation.
    public init<Contract>(info: LessonInfo, parts: [Part<Contract>], peers: [Peer<Contract>] = [],
                          clauses: [Clause] = []) {
        self.info = info
        self.clauses = clauses
        self.parts = parts.map(\.info)
        self.peerNames = peers.map(\.name)
        self.mutants = []
        self.bind = nil
    }

    /// The entry a part host runs: the checks bound to the exercise, the solution and each mutant.
    public init<Contract>(info: LessonInfo, parts: [Part<Contract>], peers: [Peer<Contract>] = [],
                          clauses: [Clause] = [],
                          exercise: Contract, solution: Contract, mutants: [Mutant<Contract>] = []) {
        self.info = info
        self.clauses = clauses
        self.parts = parts.map(\.info)
        self.peerNames = peers.map(\.name)
        self.mutants = mutants.map(\.info)
        func bound(_ implementation: Contract) -> ImplementationChecks {
            ImplementationChecks(
                parts: Dictionary(uniqueKeysWithValues: parts.map { part in
                    (part.number, { context in try part.check(implementation, context) })
                }),
                peers: Dictionary(uniqueKeysWithValues: peers.map { peer in
                    (peer.name, { arguments in try peer.run(implementation, arguments) })
                }))
        }
        bind = { which in
            switch which {
            case .exercise: return bound(exercise)
            case .solution: return bound(solution)
            case .mutant(let name): return mutants.first { $0.info.name == name }.map { bound($0.implementation) }
            }
        }
    }

    /// The checks for one implementation; nil for an unknown mutant name, and in a catalog entry.
    public func checks(for implementation: Implementation) -> ImplementationChecks? { bind?(implementation) }

    public func part(_ number: Int) -> PartInfo? { parts.first { $0.number == number } }

    /// The executable that runs this lesson's parts: `lab-lesson-01`.
    public var hostName: String { PartHosts.name(of: info) }
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
