/// Prints part results for a person reading a terminal.
public struct TerminalReport {
    public let style: Style
    /// Print the output tail of every part, not only the failing ones.
    public let verbose: Bool
    /// Lines of output shown under a part that did not pass (all of it with `verbose`).
    public static let tailLines = 12

    public init(style: Style, verbose: Bool) {
        self.style = style
        self.verbose = verbose
    }

    /// "Lesson 01 · Fork and an anonymous shared block".
    public func header(_ lesson: LessonInfo, implementation: Implementation) -> String {
        var line = style.bold("Lesson \(lesson.twoDigits) · \(lesson.title)")
        switch implementation {
        case .exercise: break
        case .solution: line += style.dim("  (reference solution)")
        case .mutant(let name): line += style.dim("  (mutant: \(name))")
        }
        return line
    }

    /// One part's block: the mark, number and title, then the explanation and output tail.
    public func describe(_ result: PartResult) -> String {
        let part = result.part
        var title = "\(part.number). \(part.title)"
        if !part.graded { title += style.dim(" (demonstration, not graded)") }
        var lines = ["  \(style.mark(result.outcome)) \(title)  \(style.dim(timing(result)))"]
        let message = result.outcome.message
        if !message.isEmpty && result.outcome != .passed {
            let label = style.label(result.outcome)
            let body = message.split(separator: "\n", omittingEmptySubsequences: false)
            lines.append("      \(label): \(body.first ?? "")")
            lines += body.dropFirst().map { "      " + $0 }
        }
        if !result.leftovers.isEmpty, result.outcome.isPassed == false, !(message.contains("left things behind")) {
            lines.append("      " + style.yellow("left behind (removed by the lab):"))
            lines += result.leftovers.map { "        - \($0)" }
        }
        let output = result.output.trimmingTrailingNewlines()
        // A demonstration's output is its point: show it whatever the outcome.
        let showOutput = verbose || !part.graded || !(result.outcome.isPassed || result.outcome.kind == .notStarted || result.outcome.kind == .skipped)
        if showOutput && !output.isEmpty {
            var outputLines = output.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            var header = "output:"
            if !verbose && outputLines.count > Self.tailLines {
                header = "output (last \(Self.tailLines) of \(outputLines.count) lines; --verbose shows more):"
                outputLines = Array(outputLines.suffix(Self.tailLines))
            }
            lines.append("      " + style.dim(header))
            lines += outputLines.map { "      " + style.dim("│ ") + $0 }
        }
        return lines.joined(separator: "\n")
    }

    func timing(_ result: PartResult) -> String { formatDuration(result.seconds) }

    /// "4/6 passed · 1 failed · 1 not started".
    public func summary(_ results: [PartResult]) -> String {
        let graded = results.filter { $0.part.graded }
        if graded.isEmpty, results.count == 1, let only = results.first {
            // One demonstration asked for by number (`--part`): its own outcome, not "0/0 passed".
            let text = "demonstration, not graded: \(only.outcome.kind.label)"
            return only.outcome.isPassed ? style.green(text) : style.bold(text)
        }
        let passed = graded.filter { $0.outcome.isPassed }.count
        var counts: [(String, Int)] = []
        for kind in PartOutcome.Kind.allCases where kind != .passed {
            let n = graded.filter { $0.outcome.kind == kind }.count
            if n > 0 {
                let word = kind.label
                counts.append((word, n))
            }
        }
        let head = "\(passed)/\(graded.count) passed"
        let text = ([passed == graded.count ? style.green(head) : style.bold(head)]
                    + counts.map { "\($0.1) \($0.0)" }).joined(separator: " · ")
        return text
    }
}

extension String {
    func trimmingTrailingNewlines() -> String {
        var text = self
        while text.hasSuffix("\n") { text.removeLast() }
        return text
    }
}
