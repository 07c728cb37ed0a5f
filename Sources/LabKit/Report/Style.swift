import Glibc

/// Colours and symbols for a terminal; plain words when output is not a tty or NO_COLOR is set.
public struct Style: Sendable {
    public let fancy: Bool

    /// Fancy only when standard output is a terminal and NO_COLOR is unset (https://no-color.org).
    /// The corresponding C function is `isatty(1)`.
    public static func forStandardOutput() -> Style {
        let noColor = getenv("NO_COLOR").map { $0.pointee != 0 } ?? false
        return Style(fancy: isatty(1) == 1 && !noColor)
    }

    public init(fancy: Bool) { self.fancy = fancy }

    func paint(_ text: String, _ code: String) -> String { fancy ? "\u{1B}[\(code)m\(text)\u{1B}[0m" : text }
    public func bold(_ text: String) -> String { paint(text, "1") }
    public func dim(_ text: String) -> String { paint(text, "2") }
    public func green(_ text: String) -> String { paint(text, "32") }
    public func red(_ text: String) -> String { paint(text, "31") }
    public func yellow(_ text: String) -> String { paint(text, "33") }
    public func cyan(_ text: String) -> String { paint(text, "36") }

    /// The mark in front of a part: a symbol on a terminal, a fixed-width word elsewhere.
    public func mark(_ outcome: PartOutcome) -> String {
        switch outcome {
        case .passed: return fancy ? green("✓") : "[pass]"
        case .failed: return fancy ? red("✗") : "[FAIL]"
        case .notStarted: return fancy ? dim("·") : "[todo]"
        case .crashed: return fancy ? red("✗") : "[CRASH]"
        case .deadlocked: return fancy ? red("⏸") : "[LOCK]"
        case .timedOut: return fancy ? red("⏱") : "[TIME]"
        case .exitedEarly: return fancy ? red("✗") : "[EXIT]"
        case .skipped: return fancy ? yellow("~") : "[skip]"
        }
    }

    /// The outcome's label, coloured.
    public func label(_ outcome: PartOutcome) -> String {
        switch outcome {
        case .passed: return green(outcome.label)
        case .notStarted: return dim(outcome.label)
        case .skipped: return yellow(outcome.label)
        default: return red(outcome.label)
        }
    }
}
