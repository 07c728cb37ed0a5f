import Glibc

/// Watch mode's event loop: waits for a saved Swift source, a key or Ctrl-C; after a quiet
/// `debounce`, rebuilds the lab with the student's code and runs the current lesson's parts
/// with the freshly built binary (this process's own image is stale once the build replaced it).
///
/// Everything happens on one thread, one thing at a time: the build has ended and been reaped
/// before a part starts, so the runner's sweep of re-parented processes only ever meets the
/// part's. Keys typed during a build or a run are thrown away.
final class WatchLoop {
    let session: LabSession
    let builder: LabBuilder
    let watcher: SourceWatcher
    let manual: Bool
    let exercises: String
    let debounce: Double
    var state: WatchState
    let report: TerminalReport
    let screenIsTerminal: Bool
    var keysOpen = true
    var keysFromTerminal = false

    /// Content hashes of the sources behind the verdict on screen.
    var verified: [String: UInt64]?
    /// When the latest unhandled change was seen (monotonic seconds).
    var pendingChangeAt: Double?
    var toldManualChange = false
    var celebrated = false

    enum Trigger: Equatable { case start, change, rerun, switched }

    init(session: LabSession, lesson: Int, builder: LabBuilder, watcher: SourceWatcher, manual: Bool,
         exercises: String, debounce: Double = 0.2) {
        self.session = session
        self.builder = builder
        self.watcher = watcher
        self.manual = manual
        self.exercises = exercises
        self.debounce = debounce
        state = WatchState(lessons: session.visibleLessons.map(\.info.number), current: lesson)
        report = TerminalReport(style: session.style, verbose: false)
        screenIsTerminal = isatty(1) == 1
    }

    var lesson: LessonEntry { session.visibleLessons.first { $0.info.number == state.current }! }
    /// The exercise folders the current lesson's host is built from (lesson 09: 05, 06, 08 too).
    var lessonFolders: [String] {
        let numbers = [state.current] + lesson.info.uses
        return session.lessons.filter { numbers.contains($0.info.number) }.map(\.info.folder)
    }
    var s: Style { session.style }

    /// Runs until `q` (0) or Ctrl-C/SIGTERM (130). The terminal is restored on every way out.
    func run() -> Int32 {
        Interruption.install()
        // A parent (a test runner's thread) may have started us with these blocked.
        var handled = sigset_t()
        sigemptyset(&handled)
        for sig in [SIGINT, SIGTERM, SIGHUP] { sigaddset(&handled, sig) }
        sigprocmask(SIG_UNBLOCK, &handled, nil)
        // A closed terminal or pipe must end the loop through a failed write, not kill it
        // before the terminal is restored. (Parts get the default back: posix_spawn SETSIGDEF.)
        signal(SIGPIPE, SIG_IGN)
        keysFromTerminal = RawTerminal.enter()
        defer { RawTerminal.restore() }
        session.updateProgress { $0.currentLesson = state.current }
        cycle(.start)
        var buffer = [UInt8](repeating: 0, count: 64)
        while true {
            let now = monotonicSeconds()
            var timeout: Double? = nil
            if let since = pendingChangeAt, !manual { timeout = max(0, since + debounce - now) }
            if let scan = watcher.secondsUntilScan(now: now) { timeout = min(timeout ?? scan, scan) }
            var fds = [pollfd(fd: Interruption.readFD, events: Int16(POLLIN), revents: 0),
                       pollfd(fd: keysOpen ? 0 : -1, events: Int16(POLLIN), revents: 0),
                       pollfd(fd: watcher.fd, events: Int16(POLLIN), revents: 0)]
            let ready = poll(&fds, nfds_t(fds.count), timeout.map { Int32($0 * 1000) + 1 } ?? -1)
            if ready < 0 && errno != EINTR { usleep(10_000) }
            if fds[0].revents != 0 { stopInterrupted() }
            if watcher.changed(now: monotonicSeconds()) { noteChange() }
            if fds[1].revents != 0 {
                let n = buffer.withUnsafeMutableBytes { read(0, $0.baseAddress, $0.count) }
                if n <= 0 && !(n < 0 && errno == EINTR) {
                    keysOpen = false                      // end of input: keep watching, Ctrl-C stops
                    if keysFromTerminal { return quit() } // the terminal went away
                } else if n > 0, let code = handleKeys(Array(buffer[0..<n])) {
                    return code
                }
            }
            if let since = pendingChangeAt, !manual, monotonicSeconds() - since >= debounce {
                pendingChangeAt = nil
                cycle(.change)
            }
        }
    }

    func noteChange() {
        pendingChangeAt = monotonicSeconds()
        if manual && !toldManualChange {
            toldManualChange = true
            session.out(s.yellow("Your code changed.") + " Press r to re-check it.")
        }
    }

    /// Acts on the keys of one read; returns an exit status when the loop should end.
    func handleKeys(_ bytes: [UInt8]) -> Int32? {
        for byte in bytes {
            if byte == 0x1B { return nil }   // an escape sequence (arrow keys…): not ours
            guard let key = WatchKey(byte: byte) else { continue }
            switch state.action(for: key) {
            case .ignore: continue
            case .quit: return quit()
            case .explain(let text): session.out(text); footer()
            case .list:
                session.out("")
                session.out(Overview.lessonTable(session, session.loadProgress()))
                footer()
            case .hint(let number):
                session.out("")
                session.out(Hints.show(lesson, lesson.part(number)!, session: session, more: "press h again"))
                footer()
            case .switchTo(let number):
                state.current = number
                state.verdict = nil
                celebrated = false
                session.updateProgress { $0.currentLesson = number }
                cycle(.switched)
                return nil
            case .rerun:
                cycle(.rerun)
                return nil
            case .checkAll:
                checkEverything()
                return nil
            }
        }
        return nil
    }

    func quit() -> Int32 {
        RawTerminal.restore()
        session.out("")
        session.out("Stopped watching. Your progress is saved; 'swift run lab' shows where you are.")
        return ExitStatus.success
    }

    func stopInterrupted() -> Never {
        RawTerminal.restore()
        Interruption.finish(message: "interrupted: stopped watching (nothing of the lab is left running)")
    }

    // MARK: - Build and run

    /// Rebuilds when the code changed (or always, for a start or `r`), then runs the current
    /// lesson. A change that leaves the code as it was (an editor saving the same text, the
    /// lab's own touch) does nothing.
    func cycle(_ trigger: Trigger) {
        let snapshot = SourceSnapshot.take(exercises, hashing: true)
        let changed = verified != snapshot.fingerprint
        if trigger == .change && !changed { return }
        state.busy = true
        defer {
            state.busy = false
            toldManualChange = false
            RawTerminal.discardPendingInput()
        }
        beginScreen(trigger, changedFiles: changedFiles(snapshot))
        if changed || trigger != .switched || state.verdict == .doesNotCompile {
            guard buildFresh(from: snapshot) else { footer(); return }
        }
        runCurrentLesson()
        footer()
    }

    /// Builds until the binary holds the code as saved; false when it does not compile.
    func buildFresh(from start: SourceSnapshot) -> Bool {
        var snapshot = start
        var attempts = 0
        while true {
            session.out(s.dim("Building… "), terminator: "")
            switch builder.build(product: lesson.hostName, interruptFD: Interruption.readFD) {
            case .interrupted:
                stopInterrupted()
            case .failed(let output, let seconds):
                session.out(s.dim("stopped with errors after \(Self.seconds(seconds))"))
                session.out("")
                session.out(output)
                session.out("")
                verified = snapshot.fingerprint
                state.verdict = .doesNotCompile
                let named = BuildOutput.lessonsNamed(in: output, folders: session.visibleLessons.map { ($0.info.number, $0.info.folder) })
                session.updateProgress { $0.setDoesNotCompile(Array(Set(named + [state.current]))) }
                session.out(s.red(s.bold("Lesson \(lesson.info.twoDigits): does not compile")) + "  — fix the error above and save.")
                return false
            case .built(let seconds):
                session.out(s.dim("done in \(Self.seconds(seconds))"))
                let now = SourceSnapshot.take(exercises, hashing: true)
                var binary: Int64? = nil
                var info = stat()
                if stat(builder.location.host(lesson.info), &info) == 0 { binary = nanoseconds(info.st_mtim) }
                // Only the files this lesson's host is built from: another lesson's save waits
                // for that lesson's own build.
                let built = lessonFolders.map { PackagePaths.absolute("Exercises/\($0)/") }
                let ours = now.files.keys.filter { path in built.contains { path.hasPrefix($0) } }
                let stale = StaleSources.find(builtFrom: snapshot.only(ours), now: now.only(ours), binaryModified: binary,
                                              compiled: StaleSources.compileTimes(for: ours, binDir: builder.location.directory))
                if stale.isEmpty {
                    verified = snapshot.fingerprint
                    session.updateProgress { $0.setDoesNotCompile([state.current], false) }
                    return true
                }
                let names = stale.map(PackagePaths.relative).joined(separator: ", ")
                attempts += 1
                if attempts >= 3 {
                    session.out(s.yellow("warning: the build still does not include the latest save of \(names); the results below may be from older code. Press r to try again."))
                    verified = nil
                    return true
                }
                session.out(s.dim("\(names) changed during the build or in the same second as it: touching it a second later and rebuilding, so the check never runs stale code."))
                StaleSources.touchInLaterSecond(stale)
                snapshot = SourceSnapshot.take(exercises, hashing: true)
            }
        }
    }

    /// Runs every part of the current lesson with the fresh binary, prints and records them.
    func runCurrentLesson() {
        let lesson = self.lesson
        session.out(report.header(lesson.info, implementation: .exercise))
        let results = runParts(lesson) { self.session.out(self.report.describe($0)) }
        session.out("  " + report.summary(results))
        let progress = session.updateProgress { $0.record(results) }
        state.verdict = WatchVerdict.of(results)
        session.out("")
        session.out(verdictLine(lesson, progress) + "  " + nextHint(results))
        if state.verdict?.passes == true { finalCheckIfEverythingPasses() }
    }

    /// Runs every part with the fresh binary. Parts run one at a time for the user (the runner's
    /// `PartLock`, which says while it waits): time spent waiting for another lab's parts is
    /// also summed up here, so a slow verdict is not blamed on the student's code.
    func runParts(_ lesson: LessonEntry, each: (PartResult) -> Void) -> [PartResult] {
        var results: [PartResult] = []
        var waited = 0.0
        defer {
            if waited >= 0.5 {
                session.out(s.dim("  (waited \(Self.seconds(waited)) for other labs' parts: parts run one at a time for each user)"))
            }
        }
        for part in lesson.parts {
            let called = monotonicSeconds()
            let result = IsolatedRun.run(PartRequest(lesson: lesson.info, part: part, implementation: .exercise),
                                         executable: builder.location.host(lesson.info))
            waited += max(0, monotonicSeconds() - called - result.seconds)
            results.append(result)
            each(result)
        }
        return results
    }

    func verdictLine(_ lesson: LessonEntry, _ progress: Progress) -> String {
        let (status, passed, total) = LessonStatus.of(lesson, in: progress)
        let text = "Lesson \(lesson.info.twoDigits): \(status.label) (\(passed)/\(total) parts)"
        switch status {
        case .passed: return s.green(s.bold(text))
        case .doesNotCompile: return s.red(s.bold(text))
        case .inProgress: return s.yellow(s.bold(text))
        case .notStarted: return s.bold(text)
        }
    }

    func nextHint(_ results: [PartResult]) -> String {
        guard let verdict = state.verdict else { return "" }
        if verdict.passes {
            return state.nextLesson.map { "Press n for lesson \(WatchState.twoDigits($0))." } ?? "That was the last lesson."
        }
        guard case .ran(_, _, let failing?) = verdict, let result = results.first(where: { $0.part.number == failing }) else { return "" }
        if case .notStarted(let function, let location) = result.outcome {
            return "Next: write \(function) (\(location)) and save. A nudge? Press h."
        }
        return "Next: fix part \(failing) and save. Stuck? Press h."
    }

    /// When every lesson passes: a last check of all of them and a summary, once.
    func finalCheckIfEverythingPasses() {
        let progress = session.loadProgress()
        let everything = session.visibleLessons.allSatisfy { LessonStatus.of($0, in: progress).status == .passed }
        guard everything, !celebrated else { return }
        session.out("")
        session.out(s.bold("Every lesson passes. A final check of all of them:"))
        if checkLessons(session.visibleLessons) {
            celebrated = true
            let total = session.visibleLessons.map { $0.parts.filter(\.graded).count }.reduce(0, +)
            session.out(s.green(s.bold("All \(session.visibleLessons.count) lesson(s) pass: \(total)/\(total) graded parts.")) + " Well done.")
        }
    }

    /// `c`: rebuild if the code changed, then check every lesson.
    func checkEverything() {
        let snapshot = SourceSnapshot.take(exercises, hashing: true)
        state.busy = true
        defer {
            state.busy = false
            RawTerminal.discardPendingInput()
        }
        session.out("")
        session.out(s.bold("Checking every lesson…"))
        if verified != snapshot.fingerprint || state.verdict == .doesNotCompile {
            guard buildFresh(from: snapshot) else { footer(); return }
        }
        if checkLessons(session.visibleLessons) {
            session.out(s.green("Every lesson passes."))
        }
        footer()
    }

    /// Runs and records every part of `lessons`; prints one line per lesson and the parts that
    /// do not pass. True when every graded part passed (or was skipped).
    func checkLessons(_ lessons: [LessonEntry]) -> Bool {
        var allPass = true
        for lesson in lessons {
            if lesson.info.number != state.current {
                // Each lesson's host is built from that lesson's file; one that does not compile
                // is said here and blocks no other lesson.
                switch builder.build(product: lesson.hostName, interruptFD: Interruption.readFD) {
                case .interrupted:
                    stopInterrupted()
                case .failed(let output, _):
                    allPass = false
                    session.updateProgress { $0.setDoesNotCompile([lesson.info.number]) }
                    session.out("  \(lesson.info.twoDigits)  \(lesson.info.title)  " + s.red("does not compile"))
                    session.out(output.split(separator: "\n").prefix(6).map { "      " + $0 }.joined(separator: "\n"))
                    continue
                case .built:
                    session.updateProgress { $0.setDoesNotCompile([lesson.info.number], false) }
                }
            }
            let results = runParts(lesson) { _ in }
            let progress = session.updateProgress { $0.record(results) }
            let verdict = WatchVerdict.of(results)
            if lesson.info.number == state.current { state.verdict = verdict }
            allPass = allPass && verdict.passes
            session.out("  \(lesson.info.twoDigits)  \(lesson.info.title)  " + report.summary(results)
                        + "  " + s.dim(LessonStatus.of(lesson, in: progress).status.label))
            for result in results where !verdict.passes && result.part.graded && !result.outcome.isPassed {
                session.out(report.describe(result))
            }
        }
        return allPass
    }

    // MARK: - Screen

    func beginScreen(_ trigger: Trigger, changedFiles: [String]) {
        if screenIsTerminal {
            session.out("\u{1B}[H\u{1B}[2J", terminator: "")
        } else {
            session.out(String(repeating: "─", count: 60))
        }
        var line = s.bold("lab watch") + " · lesson \(lesson.info.twoDigits) · your file: \(session.exerciseFile(lesson.info))"
        switch trigger {
        case .change where !changedFiles.isEmpty:
            line += s.dim("  (\(changedFiles.map(PackagePaths.relative).joined(separator: ", ")) changed)")
        case .rerun: line += s.dim("  (re-run)")
        default: break
        }
        session.out(line)
    }

    func changedFiles(_ snapshot: SourceSnapshot) -> [String] {
        guard let verified else { return [] }
        return snapshot.fingerprint.filter { verified[$0.key] != $0.value }.keys.sorted()
            + verified.keys.filter { snapshot.fingerprint[$0] == nil }.sorted()
    }

    func footer() {
        let keys = WatchKey.allCases.map { "\(s.bold(String($0.rawValue))) \($0.help)" }.joined(separator: " · ")
        let mode = manual ? "manual: press r to re-check" : "re-checks when you save"
        session.out("")
        session.out(s.dim("Watching \(PackagePaths.relative(exercises))/ with \(watcher.modeDescription) (\(mode)).")
                    + (keysOpen ? "" : s.dim(" Ctrl-C stops.")))
        if keysOpen { session.out(keys) }
    }

    static func seconds(_ value: Double) -> String {
        value < 1 ? "\(Int((value * 1000).rounded())) ms" : "\((value * 10).rounded() / 10) s"
    }
}
