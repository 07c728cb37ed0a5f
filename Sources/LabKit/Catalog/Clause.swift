/// One promise a lesson makes — in its contract's doc comments or in its text — and how the lab
/// holds the student to it: the parts that check it and the mutants that prove those parts fail
/// when the promise is broken. A promise no check can observe says why instead.
///
/// A lesson keeps its clauses as data next to its parts (`LessonNNClauses.swift`); the test suite
/// fails when a clause names no part or no mutant, names a part the lesson lacks, or names a
/// mutant whose `caughtBy` does not include one of the clause's parts.
public struct Clause: Sendable, Hashable, Codable {
    /// What is promised, in one sentence: "encode refuses a value past the unsigned range".
    public let promise: String
    /// Where it is promised: a contract requirement ("encode(_:length:order:signed:)") or a
    /// place in the lesson text ("text: the article's counter").
    public let source: String
    /// The parts that check it; empty only for a promise the lab cannot check.
    public let parts: [Int]
    /// The mutants that break exactly this promise and must be caught by one of `parts`.
    public let mutants: [String]
    /// Why no part can check it (a too-weak memory ordering on x86, say); nil when checked.
    public let notCheckable: String?

    /// A promise checked by `parts` and proven by `mutants`.
    public init(_ promise: String, in source: String, parts: [Int], mutants: [String]) {
        self.promise = promise
        self.source = source
        self.parts = parts
        self.mutants = mutants
        self.notCheckable = nil
    }

    /// A promise the lab cannot check, and why.
    public init(_ promise: String, in source: String, notCheckable because: String) {
        self.promise = promise
        self.source = source
        self.parts = []
        self.mutants = []
        self.notCheckable = because
    }
}

/// A lesson as its files declare it: description, parts, peers and clause table, over the
/// contract its checks are handed. The runner's catalog (`catalogEntry`) and the lesson's part
/// host (`entry(exercise:solution:mutants:)`) are both made from these, so they cannot disagree.
public protocol LessonDeclaration {
    /// What a check is handed: `any IntegerBytesContract.Type`, or a tuple of contract types.
    associatedtype Contract
    static var info: LessonInfo { get }
    static var parts: [Part<Contract>] { get }
    /// Programs the checks start as unrelated processes; none by default.
    static var peers: [Peer<Contract>] { get }
    /// Every promise of the contract and the text → part → mutant; none by default.
    static var clauses: [Clause] { get }
}

extension LessonDeclaration {
    public static var peers: [Peer<Contract>] { [] }
    public static var clauses: [Clause] { [] }

    /// What the runner shows and runs: no implementation.
    public static var catalogEntry: LessonEntry {
        LessonEntry(info: info, parts: parts, peers: peers, clauses: clauses)
    }

    /// What the lesson's part host runs: the checks bound to the exercise, the solution and each mutant.
    public static func entry(exercise: Contract, solution: Contract, mutants: [Mutant<Contract>] = []) -> LessonEntry {
        LessonEntry(info: info, parts: parts, peers: peers, clauses: clauses,
                    exercise: exercise, solution: solution, mutants: mutants)
    }
}
