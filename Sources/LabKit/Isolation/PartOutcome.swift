/// How one part ended, as the runner classifies it.
public enum PartOutcome: Equatable, Sendable {
    case passed
    /// A check did not hold; the message says expected, seen and the likely cause.
    case failed(String)
    /// The part reached a function that is still `todo()`.
    case notStarted(function: String, location: String)
    /// The part process died of a signal.
    case crashed(signal: Int32, meaning: String)
    /// Every process of the part slept, using no CPU, for `quietSeconds` with no verdict: it was
    /// stopped then. `waits` says what each process was waiting in (and the likely cause).
    case deadlocked(quietSeconds: Double, waits: String)
    /// The part ran past its timeout and was killed (a busy loop, or a wait that still used CPU).
    case timedOut(seconds: Double, likelyCause: String)
    /// The part process ended without reporting a verdict.
    case exitedEarly(ProcessEnd)
    /// The part could not run here; the reason says why.
    case skipped(String)

    /// Which of the outcomes this is, without its details: what reports count, progress stores
    /// and JSON says (`rawValue`).
    public enum Kind: String, Codable, CaseIterable, Sendable {
        case passed, failed, notStarted, crashed, deadlocked, timedOut, exitedEarly, skipped

        /// "passed", "failed", "not started", … as shown in reports.
        public var label: String {
            switch self {
            case .passed: return "passed"
            case .failed: return "failed"
            case .notStarted: return "not started"
            case .crashed: return "crashed"
            case .deadlocked: return "deadlocked"
            case .timedOut: return "timed out"
            case .exitedEarly: return "exited early"
            case .skipped: return "skipped"
            }
        }
    }

    public var kind: Kind {
        switch self {
        case .passed: return .passed
        case .failed: return .failed
        case .notStarted: return .notStarted
        case .crashed: return .crashed
        case .deadlocked: return .deadlocked
        case .timedOut: return .timedOut
        case .exitedEarly: return .exitedEarly
        case .skipped: return .skipped
        }
    }

    /// "passed", "failed", "not started", … as shown in reports.
    public var label: String { kind.label }

    /// The explanation shown under the part's line.
    public var message: String {
        switch self {
        case .passed: return ""
        case .failed(let message): return message
        case .notStarted(let function, let location): return "\(function) at \(location) is still todo()"
        case .crashed(let signal, let meaning):
            return "crashed with \(signalName(signal)) (\(signalDescription(signal))): \(meaning)"
        case .deadlocked(let seconds, let waits):
            return "every process of the part slept for \(formatSeconds(seconds)) without using CPU, and no verdict came: "
                + "a deadlock (a lock never unlocked, two processes waiting for each other, a wait nobody ends). "
                + "Each was waiting in:\n" + waits
        case .timedOut(let seconds, let cause):
            return "timed out after \(formatSeconds(seconds)): \(cause)"
        case .exitedEarly(let end):
            return "the part's process \(end) before reporting a verdict. Did the code call exit(), "
                + "or return from a forked child instead of calling _exit()?"
        case .skipped(let reason): return reason
        }
    }

    public var isPassed: Bool { self == .passed }

    /// What a crash signal usually means in this lab.
    public static func meaning(ofSignal sig: Int32) -> String {
        switch sig {
        case SIGSEGV, SIGBUS: return "touched memory outside the mapping? (an unmapped address, past the end of a segment, or a segment of size 0)"
        case SIGILL, SIGTRAP: return "Swift runtime trap: index out of range, force-unwrap of nil, integer overflow, a failed precondition or fatalError()"
        case SIGABRT: return "abort() was called (an assertion in C code or a double free?)"
        case SIGPIPE: return "wrote to a pipe or socket whose reader is gone (send with MSG_NOSIGNAL, or ignore SIGPIPE)"
        case SIGFPE: return "arithmetic error such as division by zero"
        case SIGKILL: return "killed from outside: out of memory, or another process sent SIGKILL"
        case SIGTERM: return "terminated from outside"
        default: return "the process received a signal it does not handle"
        }
    }
}

/// A time something took: "340 ms" under a second, "2.4 s" from there.
func formatDuration(_ seconds: Double) -> String {
    let ms = Int((seconds * 1000).rounded())
    return ms >= 1000 ? "\((Double(ms) / 100).rounded() / 10) s" : "\(ms) ms"
}

/// A length of time given in seconds (a timeout, a quiet window): "3 s", "1.5 s".
func formatSeconds(_ seconds: Double) -> String {
    if seconds == seconds.rounded() { return "\(Int(seconds)) s" }
    return "\((seconds * 10).rounded() / 10) s"
}

import Glibc
