/// The keys of watch mode.
public enum WatchKey: Character, CaseIterable, Sendable {
    case next = "n"
    case hint = "h"
    case list = "l"
    case checkAll = "c"
    case rerun = "r"
    case quit = "q"

    /// The key for a byte read from the terminal (upper case works too), or nil.
    public init?(byte: UInt8) {
        guard byte < 128 else { return nil }
        self.init(rawValue: Character(Unicode.Scalar(byte)).lowercased().first!)
    }

    /// What the key line says about it.
    public var help: String {
        switch self {
        case .next: return "next lesson"
        case .hint: return "hint"
        case .list: return "list"
        case .checkAll: return "check all"
        case .rerun: return "re-run"
        case .quit: return "quit"
        }
    }
}

/// What the latest run of the current lesson said.
public enum WatchVerdict: Equatable, Sendable {
    /// The exercises did not compile.
    case doesNotCompile
    /// The parts ran: graded parts passed, in total, and the first graded part that did not pass.
    case ran(passed: Int, total: Int, firstFailing: Int?)

    public var passes: Bool {
        if case .ran(let passed, let total, _) = self { return passed == total && total > 0 }
        return false
    }

    /// The verdict of a lesson's part results: skipped parts neither pass nor fail it.
    public static func of(_ results: [PartResult]) -> WatchVerdict {
        let graded = results.filter(\.part.graded)
        let counted = graded.filter { $0.outcome.kind != .skipped }
        let passed = counted.filter(\.outcome.isPassed).count
        let failing = counted.first { !$0.outcome.isPassed }?.part.number
        return .ran(passed: passed, total: counted.count, firstFailing: failing)
    }
}

/// What watch mode does in answer to a key.
public enum WatchAction: Equatable, Sendable {
    /// Nothing (a run is in progress, or the key means nothing).
    case ignore
    /// Say something and do nothing else.
    case explain(String)
    case switchTo(lesson: Int)
    /// The next hint for this part.
    case hint(part: Int)
    case list
    case checkAll
    case rerun
    case quit
}

/// The state watch mode's keys depend on, and the rules for them: a pure value, so the rules
/// are tested without a terminal.
public struct WatchState: Equatable, Sendable {
    /// The visible lessons, in order.
    public let lessons: [Int]
    public var current: Int
    public var verdict: WatchVerdict?
    /// True while a build or a run is in progress: keys are ignored then.
    public var busy = false

    public init(lessons: [Int], current: Int, verdict: WatchVerdict? = nil) {
        self.lessons = lessons
        self.current = current
        self.verdict = verdict
    }

    public var nextLesson: Int? { lessons.first { $0 > current } }

    static func twoDigits(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }

    public func action(for key: WatchKey) -> WatchAction {
        if busy { return .ignore }
        let name = "lesson \(Self.twoDigits(current))"
        switch key {
        case .quit: return .quit
        case .list: return .list
        case .checkAll: return .checkAll
        case .rerun: return .rerun
        case .next:
            guard let verdict, verdict.passes else {
                if case .ran(let passed, let total, _)? = verdict {
                    return .explain("n moves on once \(name) passes (\(passed)/\(total) parts so far).")
                }
                return .explain("n moves on once \(name) compiles and passes.")
            }
            guard let next = nextLesson else { return .explain("\(name.capitalizedFirst) is the last lesson.") }
            return .switchTo(lesson: next)
        case .hint:
            switch verdict {
            case .doesNotCompile?:
                return .explain("Fix the compile error first: the compiler's message above names the file and line.")
            case .ran(_, _, let failing?)?:
                return .hint(part: failing)
            case .ran?:
                return .explain("Every part of \(name) passes: no hint needed.")
            case nil:
                return .explain("No result yet.")
            }
        }
    }
}

extension String {
    var capitalizedFirst: String { prefix(1).uppercased() + dropFirst() }
}
