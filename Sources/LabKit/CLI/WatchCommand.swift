import Glibc

/// `lab watch [N]`: the save-to-verdict loop.
enum WatchCommand {
    static var command: LabCommand { LabCommand(CommandSpec(
        "watch", summary: "Re-check a lesson every time you save (rebuilds, then runs its parts).",
        arguments: "[\(BuiltinCommands.lessonArgument)]", maximumArguments: 1,
        options: [
            OptionSpec("poll", help: "Scan for changes every 0.25 s instead of using inotify."),
            OptionSpec("manual", help: "Re-check only when you press r, not on every save."),
        ],
        discussion: """
            Watches Exercises/ (inotify, or scanning with --poll; the screen says which), waits
            for 0.2 s of quiet after a save, rebuilds the lesson's part host ('swift build --product
            lab-lesson-NN': your file of that lesson, with its checks) and runs the lesson's parts
            with it. A compile error is shown as the compiler printed it and the lesson shows "does
            not compile"; another lesson's file is not built until you watch that lesson.

            Keys: n next lesson (once this one passes) · h next hint for the first failing part ·
            t the lesson's text (through $PAGER or less) · l list · c check every lesson ·
            r re-run · q quit. During a build or a run, q and r stop it (the part is stopped and
            cleaned up) and other keys are noted and honoured when it ends. Without a lesson,
            the current one.
            """)) { invocation, session in
        let progress = session.loadProgress()
        let lesson = try BuiltinCommands.currentOrNamed(invocation.arguments.first, session, progress)
        guard !lesson.info.hidden else { throw UsageError("lesson \(lesson.info.twoDigits) cannot be watched") }
        let exercises = PackagePaths.absolute("Exercises")
        var info = stat()
        guard stat(exercises, &info) == 0 else { throw LabError("cannot find \(exercises)") }
        guard session.hosts.builder != nil else {
            throw LabError("watch rebuilds your code on every save, but this lab does not build: start it as `swift run lab watch` (from the package, without SHMLAB_NO_BUILD)")
        }
        let watcher = SourceWatcher(folder: exercises, poll: invocation.has("poll"))
        let loop = WatchLoop(session: session, lesson: lesson.info.number, hosts: session.hosts, watcher: watcher,
                             manual: invocation.has("manual"), exercises: exercises)
        return loop.run()
    }}
}
