import Foundation

/// `lab solution N`: the reference solution, once the lesson passes (or with --force).
enum SolutionCommand {
    static var command: LabCommand { LabCommand(CommandSpec(
        "solution", summary: "Show a lesson's reference solution (once your code passes).",
        arguments: "[\(BuiltinCommands.lessonArgument)]", maximumArguments: 1,
        options: [OptionSpec("force", help: "Show it even though the lesson does not pass yet.")],
        discussion: """
            The reference opens once every graded part of the lesson passes with your code
            (as your latest check recorded it). Compare it with yours: it is written to be read.
            Without a lesson, the current one.
            """)) { invocation, session in
        let progress = session.loadProgress()
        let lesson = try BuiltinCommands.currentOrNamed(invocation.arguments.first, session, progress)
        let n = lesson.info.number
        let (status, passed, total) = LessonStatus.of(lesson, in: progress)
        if status != .passed {
            let why = "lesson \(lesson.info.twoDigits) does not pass yet (\(status == .doesNotCompile ? "it does not compile" : "\(passed)/\(total) parts"))"
            guard invocation.has("force") else {
                session.err("Error: \(why); finish it first (stuck? 'swift run lab hint \(n)'), or look anyway with 'swift run lab solution \(n) --force'.")
                return ExitStatus.failure
            }
            session.err("warning: \(why); showing the reference anyway, as you asked.")
        }
        let folder = "Solutions/\(lesson.info.folder)"
        let names = LeftoverSweep.list(PackagePaths.absolute(folder)).filter { $0.hasSuffix(".swift") }.sorted()
        guard !names.isEmpty else { throw LabError("no reference solution found in \(folder)/") }
        var blocks: [String] = []
        for name in names {
            let path = "\(folder)/\(name)"
            guard let text = try? String(contentsOfFile: PackagePaths.absolute(path), encoding: .utf8) else {
                throw LabError("cannot read \(path)")
            }
            blocks.append(session.style.dim("── \(path) ──") + "\n" + text.trimmingTrailingNewlines())
        }
        session.out(blocks.joined(separator: "\n\n"))
        return ExitStatus.success
    }}
}
