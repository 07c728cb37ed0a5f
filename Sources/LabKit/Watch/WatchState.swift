/// The keys of watch mode.
public enum WatchKey: Character, CaseIterable, Sendable {
    case next = "n"
    case hint = "h"
    case text = "t"
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
        case .text: return "lesson text"
        case .list: return "list"
        case .checkAll: return "check all"
        case .rerun: return "re-run"
        case .quit: return "quit"
        }
    }

    /// The keys of what was typed, in order: bytes that are no key are skipped, and so is the
    /// rest of a read that holds an escape sequence (an arrow key…), which is not ours.
    public static func keys(in bytes: [UInt8]) -> [WatchKey] {
        var keys: [WatchKey] = []
        for byte in bytes {
            if byte == 0x1B { break }
            if let key = WatchKey(byte: byte) { keys.append(key) }
        }
        return keys
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

/// What happened, as watch mode's loop sees it.
public enum WatchEvent: Equatable, Sendable {
    /// A key was typed.
    case key(WatchKey)
    /// A Swift source under Exercises/ was saved, at this monotonic time.
    case saved(at: Double)
    /// Time passed (the loop woke up at this monotonic time).
    case tick(at: Double)
    /// Standard input ended: a terminal that went away, or a closed pipe.
    case inputEnded(terminal: Bool)
}

/// What watch mode does in answer to an event.
public enum WatchAction: Equatable, Sendable {
    /// Nothing.
    case ignore
    /// Say something and do nothing else.
    case explain(String)
    case switchTo(lesson: Int)
    /// The next hint for this part.
    case hint(part: Int)
    /// The lesson's text (paged on a terminal).
    case showText
    case list
    case checkAll
    /// Rebuild and run the lesson now (`r`).
    case rerun
    /// The code was saved and has been quiet since: rebuild and run if it really changed.
    case recheck
    case quit
    /// Stop the build or the part that runs now (cleaned up as after Ctrl-C); what comes next is
    /// `runEnded`'s answer.
    case stopRun
}

/// The state watch mode's events act on, and the rules for them: a pure value, so the rules are
/// tested without a terminal, a build or a part.
public struct WatchState: Equatable, Sendable {
    /// The visible lessons, in order.
    public let lessons: [Int]
    public var current: Int
    public var verdict: WatchVerdict?
    /// True while a build or a run is in progress.
    public private(set) var busy = false
    /// `--manual`: re-check only on `r`.
    public let manual: Bool
    /// Seconds of quiet after a save before the lesson is re-checked.
    public let debounce: Double
    /// When the latest save not yet acted on was seen.
    public private(set) var savedAt: Double?
    /// A key typed during a run, honoured when it ends.
    public private(set) var deferred: WatchKey?
    /// What follows a run a key stopped (`q`: quit, `r`: run again).
    public private(set) var afterStop: WatchAction?
    /// In manual mode, the student was told once that the code changed.
    private var toldManualChange = false

    public init(lessons: [Int], current: Int, verdict: WatchVerdict? = nil, manual: Bool = false, debounce: Double = 0.2) {
        self.lessons = lessons
        self.current = current
        self.verdict = verdict
        self.manual = manual
        self.debounce = debounce
    }

    public var nextLesson: Int? { lessons.first { $0 > current } }

    static func twoDigits(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }

    /// How long the loop may sleep before a `tick` is due (nil: until an event).
    public func secondsUntilDue(now: Double) -> Double? {
        guard let savedAt, !manual, !busy else { return nil }
        return max(0, savedAt + debounce - now)
    }

    /// The action for one event.
    public mutating func handle(_ event: WatchEvent) -> WatchAction {
        switch event {
        case .key(let key):
            guard busy else { return action(for: key) }
            switch key {
            case .quit: afterStop = .quit
            case .rerun: afterStop = .rerun
            default: deferred = key
            }
            return keyDuringRun(key)
        case .saved(let time):
            savedAt = time
            if manual && !toldManualChange {
                toldManualChange = true
                return .explain("Your code changed. Press r to re-check it.")
            }
            return .ignore
        case .tick(let now):
            guard let since = savedAt, !manual, !busy, now - since >= debounce else { return .ignore }
            savedAt = nil
            return .recheck
        case .inputEnded(let terminal):
            guard terminal else { return .ignore }       // a closed pipe: keep watching, Ctrl-C stops
            if busy { afterStop = .quit; return .stopRun }
            return .quit
        }
    }

    /// A build or a run begins (for a save, `r`, a switch or `c`): what was saved so far is in it.
    public mutating func runStarted() {
        busy = true
        savedAt = nil
        toldManualChange = false
    }

    /// The run ended with `verdict` (nil: a key stopped it, or it was not about the current
    /// lesson). Says whether the lesson passes now for the first time since it was last seen
    /// failing, and what to do next: what a stopping key asked for, else a key typed meanwhile.
    public mutating func runEnded(verdict newVerdict: WatchVerdict?) -> (passedNow: Bool, next: WatchAction) {
        busy = false
        let passedNow = newVerdict?.passes == true && verdict?.passes != true
        if let newVerdict { verdict = newVerdict }
        if let follow = afterStop {
            afterStop = nil
            deferred = nil
            return (passedNow, follow)
        }
        guard let key = deferred else { return (passedNow, .ignore) }
        deferred = nil
        return (passedNow, action(for: key))
    }

    /// Moves to lesson `number`; its verdict is not known yet.
    public mutating func switchTo(_ number: Int) {
        current = number
        verdict = nil
    }

    /// During a build or a run: `q` and `r` stop it; any other key is noted, said so, and
    /// honoured when the run ends.
    func keyDuringRun(_ key: WatchKey) -> WatchAction {
        switch key {
        case .quit, .rerun:
            return .stopRun
        default:
            return .explain("\(key.rawValue): noted — \(key.help) when this run ends (q stops it, r starts it again).")
        }
    }

    /// The rules for a key between runs.
    public func action(for key: WatchKey) -> WatchAction {
        let name = "lesson \(Self.twoDigits(current))"
        switch key {
        case .quit: return .quit
        case .list: return .list
        case .checkAll: return .checkAll
        case .rerun: return .rerun
        case .text: return .showText
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

/// The line that says how far the student is, on every watch screen.
public enum WatchProgress {
    /// "Progress: 2/9 lessons pass · 14/54 graded parts".
    public static func line(_ statuses: [(status: LessonStatus, passed: Int, total: Int)]) -> String {
        let lessonsDone = statuses.filter { $0.status == .passed }.count
        let partsDone = statuses.map(\.passed).reduce(0, +)
        let partsTotal = statuses.map(\.total).reduce(0, +)
        return "Progress: \(lessonsDone)/\(statuses.count) lessons pass · \(partsDone)/\(partsTotal) graded parts"
    }
}

extension String {
    var capitalizedFirst: String { prefix(1).uppercased() + dropFirst() }
}
