import Foundation

/// The commands every lab has: overview, list, show, check, hint; the instructor's grade; then
/// the student's loop (watch, reset, solution), each in its own file.
enum BuiltinCommands {
    static var all: [LabCommand] {
        [overview, list, show, check, hint, grade, bench, WatchCommand.command, ResetCommand.command, SolutionCommand.command]
    }

    static let lessonArgument = "<lesson>"

    static var overview: LabCommand { LabCommand(CommandSpec(
        "overview", summary: "Show the lessons, your progress and the next step (the default).",
        discussion: "Running 'lab' with no command shows this.")) { _, session in
        session.out(Overview.text(session, session.loadProgress()))
        return ExitStatus.success
    }}

    static var list: LabCommand { LabCommand(CommandSpec("list", summary: "List the lessons and their status.")) { _, session in
        session.out(Overview.lessonTable(session, session.loadProgress()))
        return ExitStatus.success
    }}

    static var show: LabCommand { LabCommand(CommandSpec(
        "show", summary: "Print a lesson's text.", arguments: "[\(lessonArgument)]", maximumArguments: 1,
        discussion: "The lesson is a number (1, 01) or a name (fork-and-mmap). Without one, the current lesson.")) { invocation, session in
        let lesson = try currentOrNamed(invocation.arguments.first, session, session.loadProgress())
        let path = "Exercises/\(lesson.info.folder)/README.md"
        guard let text = try? String(contentsOfFile: PackagePaths.absolute(path), encoding: .utf8) else {
            throw LabError("cannot read \(path)")
        }
        session.out(text.trimmingTrailingNewlines())
        session.out("")
        session.out(session.style.dim("Your file: \(session.exerciseFile(lesson.info))  ·  re-check on every save: swift run lab watch \(lesson.info.number)  ·  once: swift run lab check \(lesson.info.number)"))
        // Changed in one locked step: a watch or a check running meanwhile keeps what it saved.
        session.updateProgress { $0.currentLesson = lesson.info.number }
        return ExitStatus.success
    }}

    static var check: LabCommand { LabCommand(CommandSpec(
        "check", summary: "Run a lesson's parts against your code, each in its own process.",
        arguments: "[\(lessonArgument)|all]", maximumArguments: 1,
        options: [
            OptionSpec("solutions", help: "Check the reference solutions instead of your exercises."),
            OptionSpec("part", value: "K", help: "Run only part K."),
            OptionSpec("timeout", value: "S", help: "Stop each part after S seconds (default: the lesson's)."),
            OptionSpec("seed", value: "N", help: "Draw generated inputs from seed N (a failure names its seed) instead of a new one."),
            OptionSpec("verbose", short: "v", help: "Show every part's output, not only failing ones."),
            OptionSpec("json", help: "Print the results as JSON on standard output."),
            OptionSpec("mutant", value: "NAME", help: "Check a known-wrong implementation (the lab's own tests).", hidden: true),
        ],
        discussion: """
            Each part runs in a child process of the lab: a crash, a hang or a stray exit() in
            your code is reported for that part and never takes the lab down. Exit status: 0 when
            every graded part passed (or was skipped), 1 otherwise.
            """)) { invocation, session in
        try runCheck(invocation, session)
    }}

    static var hint: LabCommand { Hints.command }

    // MARK: - Shared pieces

    /// The named lesson, or the current one.
    static func currentOrNamed(_ text: String?, _ session: LabSession, _ progress: Progress) throws -> LessonEntry {
        if let text { return try session.lesson(named: text) }
        guard let lesson = Overview.currentLesson(session, progress) else { throw LabError("no lessons are registered") }
        return lesson
    }

    static func partNamed(_ text: String, in lesson: LessonEntry) throws -> PartInfo {
        guard let number = Int(text), let part = lesson.part(number) else {
            throw UsageError("lesson \(lesson.info.twoDigits) has no part '\(text)' (parts 1–\(lesson.parts.count))")
        }
        return part
    }

    static func runCheck(_ invocation: Invocation, _ session: LabSession) throws -> Int32 {
        let target = invocation.arguments.first
        let progress = session.loadProgress()
        let lessons: [LessonEntry] = target?.lowercased() == "all"
            ? session.visibleLessons : [try currentOrNamed(target, session, progress)]
        var implementation: Implementation = invocation.has("solutions") ? .solution : .exercise
        if let mutant = invocation.values["mutant"] {
            guard lessons.count == 1 else { throw UsageError("--mutant needs one lesson, not 'all'") }
            // The runner links no mutant: the lesson's host says which it has.
            let known = session.hosts.catalog(of: lessons[0])?.mutants.map(\.name) ?? []
            guard known.contains(mutant) else {
                throw UsageError("unknown mutant '\(mutant)' (\(known.isEmpty ? "lesson \(lessons[0].info.twoDigits) has none, or does not compile" : known.joined(separator: ", ")))")
            }
            implementation = .mutant(mutant)
        }
        var timeout: Double? = nil
        if let text = invocation.values["timeout"] {
            guard let seconds = Double(text), seconds > 0, seconds <= 3600 else {
                throw UsageError("--timeout takes a number of seconds between 0 and 3600, not '\(text)'")
            }
            timeout = seconds
        }
        var seed: UInt64? = nil
        if let text = invocation.values["seed"] {
            guard let number = UInt64(text) else {
                throw UsageError("--seed takes a whole number ≥ 0 (a failure message names it), not '\(text)'")
            }
            seed = number
        }
        var onlyPart: Int? = nil
        if let text = invocation.values["part"] {
            guard lessons.count == 1 else { throw UsageError("--part needs one lesson, not 'all'") }
            onlyPart = try partNamed(text, in: lessons[0]).number
        }
        let json = invocation.has("json")
        let report = TerminalReport(style: session.style, verbose: invocation.has("verbose"))
        var all: [PartResult] = []
        session.hosts.prepare(lessons.map(\.info))
        for lesson in lessons {
            if !json { session.out(report.header(lesson.info, implementation: implementation)) }
            let run = LessonRun.run(lesson, implementation: implementation, hosts: session.hosts, timeout: timeout,
                                    seed: seed ?? PartSeed.fresh(), onlyPart: onlyPart) { result in
                if !json { session.out(report.describe(result)) }
            }
            if let failure = run.doesNotCompile, !json {
                // Said once, as the compiler said it; every part then fails the same way.
                session.out(BuildOutput.shortened(failure.output).split(separator: "\n", omittingEmptySubsequences: false)
                    .map { "    " + $0 }.joined(separator: "\n"))
                session.out("  " + session.style.red("does not compile") + " — the parts run once it builds")
            } else if !json {
                session.out("  " + report.summary(run.results))
            }
            all += run.results
            if implementation == .exercise {
                // Saved lesson by lesson in one locked step: a watch running meanwhile keeps
                // what it saved.
                session.updateProgress { progress in
                    progress.record(run.results)
                    progress.setDoesNotCompile([lesson.info.number], run.doesNotCompile != nil)
                    if lessons.count == 1 { progress.currentLesson = lesson.info.number }
                }
            }
        }
        // A part asked for by number counts even when it is not graded: `lab check 10 --part 10`
        // on a ring still todo() is not started, not a lesson that passes.
        let counted = { (result: PartResult) in result.part.graded || onlyPart != nil }
        let ok = all.allSatisfy { !counted($0) || $0.outcome.isPassed || $0.outcome.kind == .skipped }
        if json {
            session.out(CheckReportRecord(results: all.map(PartResultRecord.init)).encoded())
        } else {
            session.out("")
            session.out(checkAdvice(all, lessons: lessons, implementation: implementation, session: session, ok: ok,
                                    onlyPart: onlyPart))
        }
        return ok ? ExitStatus.success : ExitStatus.failure
    }

    static func checkAdvice(_ results: [PartResult], lessons: [LessonEntry], implementation: Implementation,
                            session: LabSession, ok: Bool, onlyPart: Int? = nil) -> String {
        if implementation != .exercise {
            return ok ? "Every part passes on the \(implementation)." : "Some parts do not pass on the \(implementation)."
        }
        if ok, let part = onlyPart, lessons.count == 1 {
            let skipped = results.contains { $0.outcome.kind == .skipped }
            return session.style.green("Part \(part) of lesson \(lessons[0].info.twoDigits) \(skipped ? "was skipped" : "passes").")
                + " The whole lesson: swift run lab check \(lessons[0].info.number)"
        }
        if ok {
            if lessons.count == 1, let next = session.visibleLessons.first(where: { $0.info.number > lessons[0].info.number }) {
                return session.style.green("Lesson \(lessons[0].info.twoDigits) passes.") + " Next: swift run lab show \(next.info.number)"
            }
            return session.style.green("Every checked part passes.")
        }
        guard let first = results.first(where: { ($0.part.graded || onlyPart != nil) && !$0.outcome.isPassed && $0.outcome.kind != .skipped }) else {
            return ""
        }
        let n = first.lesson.number
        if case .failed(let message) = first.outcome, message.hasPrefix(LessonDoesNotCompile.prefix(first.lesson)) {
            return "Next: fix the compile error in \(session.exerciseFile(first.lesson)) (above), then run 'swift run lab check \(n)'."
        }
        if case .notStarted(let function, let location) = first.outcome {
            return "Next: write \(function) (\(location)), then run 'swift run lab check \(n)'. Need a nudge? 'swift run lab hint \(n) \(first.part.number)'."
        }
        return "Next: fix part \(first.part.number) of lesson \(first.lesson.twoDigits), then run 'swift run lab check \(n)'. Stuck? 'swift run lab hint \(n) \(first.part.number)'."
    }
}
