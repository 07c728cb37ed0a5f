import Glibc

/// `lab grade`: the instructor's view. Runs every part of every lesson (each in its own process,
/// exactly as `lab check` does), prints a table per lesson and `Score: N/M`, and writes results
/// for CI. The exit status is 0 only on a full score, which is what GitHub Classroom reads.
extension BuiltinCommands {
    static var grade: LabCommand { LabCommand(CommandSpec(
        "grade", summary: "Grade every lesson: a table, Score: N/M, and results files for CI.",
        options: [
            OptionSpec("solutions", help: "Grade the reference solutions instead (the lab checking itself: a full score)."),
            OptionSpec("json", value: "FILE", help: "Also write an Exercism results file (version 3, one task_id per lesson)."),
            OptionSpec("junit", value: "FILE", help: "Also write JUnit XML, one testcase per part."),
            OptionSpec("lesson", value: "N", help: "Grade only lesson N."),
            OptionSpec("exercises", value: "DIR",
                       help: "Grade a submission's Exercises folder with this lab's own checks (in a scratch copy)."),
        ],
        discussion: """
            One point per graded part that passes; demonstrations are shown but not scored. A part
            that is not started, fails, crashes, deadlocks or times out earns nothing; so does a part that
            could not run on this machine (skipped, e.g. python3 is not on PATH): grade where
            every part can run. Exit status: 0 only on a full score, 1 otherwise (and when a
            results file cannot be written: the table and score are printed first).

            With --exercises DIR, the submission's lesson folders are built with this lab's
            Package.swift, checks and references in a scratch copy (its other files are never
            used), graded there, and every submission file that names the lab's internals is
            listed after the score.
            """)) { invocation, session in
        if let submission = invocation.values["exercises"] { return try SubmissionGrade.run(submission, invocation, session) }
        return try runGrade(invocation, session)
    }}

    static func runGrade(_ invocation: Invocation, _ session: LabSession) throws -> Int32 {
        let implementation: Implementation = invocation.has("solutions") ? .solution : .exercise
        let lessons = try invocation.values["lesson"].map { [try session.lesson(named: $0)] } ?? session.visibleLessons
        let s = session.style
        let report = TerminalReport(style: s, verbose: false)
        let partCount = lessons.reduce(0) { $0 + $1.parts.filter(\.graded).count }
        let whose = implementation == .solution ? "the reference solutions (Solutions/)" : "your exercises (Exercises/)"
        session.out(s.bold("ShmLab grade") + " · \(whose) · \(plural(lessons.count, "lesson")), "
                    + "\(plural(partCount, "graded part")), each part in its own process")
        session.out("")
        let width = max(lessons.map { $0.info.title.count }.max() ?? 0, "lesson".count)
        session.out(s.dim("  #   " + "lesson".padded(to: width) + "  score  parts"))

        var graded: [Grade.Lesson] = []
        let started = monotonicSeconds()
        session.hosts.prepare(lessons.map(\.info))
        for lesson in lessons {
            let results = LessonRun.run(lesson, implementation: implementation, hosts: session.hosts).results
            let entry = Grade.Lesson(info: lesson.info, results: results)
            graded.append(entry)
            let score = "\(entry.earned)/\(entry.possible)".padded(to: 5, left: true)
            let colouredScore = entry.possible > 0 && entry.earned == entry.possible ? s.green(score) : s.bold(score)
            session.out("  \(lesson.info.twoDigits)  \(lesson.info.title.padded(to: width))  \(colouredScore)  \(breakdown(entry, style: s))")
            if implementation == .exercise { session.updateProgress { $0.record(results) } }
        }
        let grade = Grade(implementation: implementation, lessons: graded)

        // What needs attention, in the lab's own words: everything that ran and did not pass.
        let attention = graded.filter { lesson in lesson.results.contains(where: needsAttention) }
        for lesson in attention {
            session.out("")
            session.out(report.header(lesson.info, implementation: implementation))
            for result in lesson.results where needsAttention(result) { session.out(report.describe(result)) }
        }

        session.out("")
        let seconds = monotonicSeconds() - started
        let skipped = grade.graded.filter { $0.outcome.kind == .skipped }
        if !skipped.isEmpty {
            let reasons = Set(skipped.map(\.outcome.message)).sorted().joined(separator: "; ")
            session.out(s.yellow("\(plural(skipped.count, "part")) could not run here and earn no point (\(reasons)). "
                                 + "Grade on a machine where every part can run."))
        }
        let notStarted = grade.graded.filter { $0.outcome.kind == .notStarted }.count
        var line = "\(plural(grade.graded.count, "graded part")) in \(formatSeconds(seconds))"
        if notStarted > 0 { line += " · \(notStarted) not started" }
        session.out(s.dim(line))
        let scoreLine = "Score: \(grade.earned)/\(grade.possible)"
        session.out(grade.isFull ? s.green(s.bold(scoreLine)) : s.bold(scoreLine))

        // The files come last: a path that cannot be written never costs the printed result.
        var failures: [String] = []
        if let path = invocation.values["json"] {
            if let problem = writeResults(ExercismResults(grade).encoded(), to: path) {
                failures.append("cannot write the --json file: \(problem)")
            }
        }
        if let path = invocation.values["junit"] {
            if let problem = writeResults(JUnitReport.make(grade), to: path) {
                failures.append("cannot write the --junit file: \(problem)")
            }
        }
        for failure in failures { session.err("Error: \(failure)") }
        if !failures.isEmpty {
            session.err("The grade above is complete; fix the path and grade again to get the file.")
            return ExitStatus.failure
        }
        return grade.isFull ? ExitStatus.success : ExitStatus.failure
    }

    /// Parts shown in full under the table: they ran (or could not) and did not pass. Not-started
    /// parts are counted in the table only.
    static func needsAttention(_ result: PartResult) -> Bool {
        !result.outcome.isPassed && result.outcome.kind != .notStarted
    }

    /// "2 passed · 1 failed · 3 not started", plus demonstrations.
    static func breakdown(_ lesson: Grade.Lesson, style s: Style) -> String {
        var words: [String] = []
        for kind in PartOutcome.Kind.allCases {
            let matching = lesson.graded.filter { $0.outcome.kind == kind }
            if let first = matching.first {
                let text = "\(matching.count) \(first.outcome.label)"
                words.append(kind == .passed ? s.green(text) : kind == .notStarted ? s.dim(text) : kind == .skipped ? s.yellow(text) : s.red(text))
            }
        }
        let demonstrations = lesson.results.count - lesson.graded.count
        if demonstrations > 0 { words.append(s.dim("+ \(plural(demonstrations, "demonstration")) (not graded)")) }
        return words.isEmpty ? s.dim("no graded parts") : words.joined(separator: " · ")
    }

    /// Why `path` could not be written, found before any work is done: the file is opened for
    /// appending (created when missing, and then removed again), so nothing in it changes. nil
    /// when it can be written. The corresponding C functions are `open` and `unlink`.
    static func cannotWrite(_ path: String) -> String? {
        let existed = access(path, F_OK) == 0
        do {
            try OwnedDescriptor.open(path, O_WRONLY | O_CREAT | O_APPEND, mode: 0o644).close()
            if !existed { unlink(path) }
            return nil
        } catch {
            return "\(error)"
        }
    }

    /// Writes `text` to `path` (created or truncated); the problem, if it could not.
    /// The corresponding C functions are `open`, `write` and `close`.
    static func writeResults(_ text: String, to path: String) -> String? {
        do {
            try OwnedDescriptor.open(path, O_WRONLY | O_CREAT | O_TRUNC, mode: 0o644).writeAll(text)
            return nil
        } catch {
            return "\(error)"
        }
    }

    static func plural(_ count: Int, _ word: String) -> String {
        "\(count) \(word)\(count == 1 ? "" : "s")"
    }
}

extension String {
    /// Padded with spaces to `width` characters (on the left when `left`), never cut.
    func padded(to width: Int, left: Bool = false) -> String {
        let pad = String(repeating: " ", count: max(0, width - count))
        return left ? pad + self : self + pad
    }
}
