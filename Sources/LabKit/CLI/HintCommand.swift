/// Staged hints: each request shows the next level for a part, and `.lab/` remembers how far
/// the student got.
enum Hints {
    static var command: LabCommand { LabCommand(CommandSpec(
        "hint", summary: "Show the next hint for the first part that does not pass (or part K).",
        arguments: "[\(BuiltinCommands.lessonArgument)] [<part>]", minimumArguments: 0, maximumArguments: 2,
        discussion: """
            Hints are staged, gentle first: each call shows the next one for that part, and the lab
            remembers how far you got. Without a part, the hint is for the first graded part that
            did not pass in your latest check. Without a lesson, the current one.
            """)) { invocation, session in
        let progress = session.loadProgress()
        let lesson = try BuiltinCommands.currentOrNamed(invocation.arguments.first, session, progress)
        let part: PartInfo
        if invocation.arguments.count == 2 {
            part = try BuiltinCommands.partNamed(invocation.arguments[1], in: lesson)
        } else if let first = firstNotPassing(lesson, progress) {
            part = first
        } else {
            session.out("Every part of lesson \(lesson.info.twoDigits) passes. A hint for part K anyway: swift run lab hint \(lesson.info.number) K")
            return ExitStatus.success
        }
        session.out(show(lesson, part, session: session, more: "swift run lab hint \(lesson.info.number) \(part.number)"))
        return ExitStatus.success
    }}

    /// The first graded part that did not pass in the latest check (parts never checked count
    /// as not passing; skipped ones do not need a hint); nil when every graded part passes.
    static func firstNotPassing(_ lesson: LessonEntry, _ progress: Progress) -> PartInfo? {
        let entry = progress.lesson(lesson.info.number)
        return lesson.parts.first { part in
            part.graded && !entry.passedParts.contains(part.number) && entry.outcome(ofPart: part.number) != .skipped
        }
    }

    /// The level to show after `shown` levels were shown already: one more, up to the last.
    static func level(after shown: Int?, count: Int) -> Int {
        min(max(shown ?? 0, 0) + 1, count)
    }

    /// Shows the next hint level of `part`, remembers it, and says how to get the next one
    /// (`more`: the command or key).
    static func show(_ lesson: LessonEntry, _ part: PartInfo, session: LabSession, more: String) -> String {
        let s = session.style
        guard !part.hints.isEmpty else { return "Part \(part.number) of lesson \(lesson.info.twoDigits) has no hints." }
        let key = "\(lesson.info.number).\(part.number)"
        var level = 1
        session.updateProgress { progress in
            level = Self.level(after: progress.hintLevels[key], count: part.hints.count)
            progress.hintLevels[key] = level
        }
        var lines = [s.bold("Lesson \(lesson.info.twoDigits), part \(part.number): \(part.title)")
                     + s.dim("  (hint \(level) of \(part.hints.count))"), "", part.hints[level - 1], ""]
        if level < part.hints.count {
            lines.append(s.dim("Next hint: \(more)"))
        } else {
            lines.append(s.dim("That was the last hint for part \(part.number). The reference solution opens once the lesson passes: swift run lab solution \(lesson.info.number)"))
        }
        return lines.joined(separator: "\n")
    }
}
