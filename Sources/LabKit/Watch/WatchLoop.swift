import Glibc

/// Watch mode's event loop, in the shape of rustlings' `watch`: it waits for an event (a saved
/// Swift source, a key, time passing, Ctrl-C), hands it to the pure `WatchState`, and performs
/// the action the state answers with: rebuild the lesson's part host and run its parts (through
/// `LessonRun`, the one place that runs parts), show a hint, the list, the lesson text, quit.
///
/// Everything happens on one thread, one thing at a time: the build has ended and been reaped
/// before a part starts, so the runner's sweep of re-parented processes only ever meets the
/// part's. While a build or a part runs, the keys are still read (`StopKeys`): `q` and `r` stop
/// it, cleaned up as after Ctrl-C; any other key is noted and honoured when the run ends.
final class WatchLoop {
    let session: LabSession
    let hosts: PartHosts
    let watcher: SourceWatcher
    let exercises: String
    var state: WatchState
    let screen: WatchScreen
    let keyboard = Keyboard()
    var keysFromTerminal = false

    /// Content hashes of the sources behind the verdict on screen.
    var verified: [String: UInt64]?
    /// The final check of every lesson passed once: it is not repeated.
    var celebrated = false

    enum Trigger: Equatable { case start, change, rerun, switched }

    init(session: LabSession, lesson: Int, hosts: PartHosts, watcher: SourceWatcher, manual: Bool,
         exercises: String, debounce: Double = 0.2) {
        self.session = session
        self.hosts = hosts
        self.watcher = watcher
        self.exercises = exercises
        state = WatchState(lessons: session.visibleLessons.map(\.info.number), current: lesson, manual: manual, debounce: debounce)
        screen = WatchScreen(session: session, watching: PackagePaths.relative(exercises), mode: watcher.modeDescription, manual: manual)
    }

    var lesson: LessonEntry { session.visibleLessons.first { $0.info.number == state.current }! }
    /// The exercise folders the current lesson's host is built from (lesson 09: 05, 06, 08 too).
    var lessonFolders: [String] {
        let numbers = [state.current] + lesson.info.uses
        return session.lessons.filter { numbers.contains($0.info.number) }.map(\.info.folder)
    }

    /// The keys while a build or a part runs: each goes to the state; `q`, `r` (and the end of
    /// a terminal) stop the run, anything else is noted and said so.
    lazy var stopKeys = StopKeys(keyboard: keyboard) { [unowned self] typed in
        var stop = false
        for event in events(typed: typed) {
            switch state.handle(event) {
            case .stopRun:
                stop = true
                session.out(screen.s.yellow("  stopping…"))
            case .explain(let text):
                session.out(screen.s.dim("  " + text))
            default:
                break
            }
        }
        return stop
    }

    /// Runs until `q` (0) or Ctrl-C/SIGTERM (130). The terminal is restored on every way out.
    func run() -> Int32 {
        Interruption.install()
        // A closed terminal or pipe must end the loop through a failed write, not kill it
        // before the terminal is restored. (Parts get the default back: posix_spawn SETSIGDEF.)
        signal(SIGPIPE, SIG_IGN)
        keysFromTerminal = RawTerminal.enter()
        defer { RawTerminal.restore() }
        session.updateProgress { $0.currentLesson = state.current }
        if let code = cycle(.start) { return code }
        while true {
            for event in waitForEvents() {
                if let code = perform(state.handle(event)) { return code }
            }
        }
    }

    /// Sleeps in `poll` until something happens (with no time limit when nothing is due: the
    /// tests rely on it to see the loop idle), and says what happened.
    func waitForEvents() -> [WatchEvent] {
        let now = monotonicSeconds()
        var timeout = state.secondsUntilDue(now: now)
        if let scan = watcher.secondsUntilScan(now: now) { timeout = min(timeout ?? scan, scan) }
        var fds = [Interruption.readableEntry, keyboard.readableEntry, watcher.readableEntry]
        let ready = poll(&fds, nfds_t(fds.count), timeout.map { Int32($0 * 1000) + 1 } ?? -1)
        if ready < 0 && errno != EINTR { usleep(10_000) }
        if fds[0].revents != 0 { stopInterrupted() }
        var events: [WatchEvent] = []
        if watcher.changed(now: monotonicSeconds()) { events.append(.saved(at: monotonicSeconds())) }
        if fds[1].revents != 0 { events += self.events(typed: keyboard.read()) }
        events.append(.tick(at: monotonicSeconds()))
        return events
    }

    /// The events of what was typed (nil: standard input ended).
    func events(typed: [UInt8]?) -> [WatchEvent] {
        guard let typed else { return [.inputEnded(terminal: keysFromTerminal)] }
        return WatchKey.keys(in: typed).map { .key($0) }
    }

    /// Performs one action; returns an exit status when the loop should end.
    func perform(_ action: WatchAction) -> Int32? {
        switch action {
        case .ignore, .stopRun:
            return nil
        case .explain(let text):
            session.out(text)
            screen.footer(keysOpen: !keyboard.ended)
            return nil
        case .quit:
            return quit()
        case .list:
            session.out("")
            session.out(Overview.lessonTable(session, session.loadProgress()))
            screen.footer(keysOpen: !keyboard.ended)
            return nil
        case .hint(let number):
            session.out("")
            session.out(Hints.show(lesson, lesson.part(number)!, session: session, more: "press h again"))
            screen.footer(keysOpen: !keyboard.ended)
            return nil
        case .showText:
            showLessonText()
            screen.footer(keysOpen: !keyboard.ended)
            return nil
        case .switchTo(let number):
            state.switchTo(number)
            session.updateProgress { $0.currentLesson = number }
            return cycle(.switched)
        case .rerun:
            return cycle(.rerun)
        case .recheck:
            return cycle(.change)
        case .checkAll:
            return checkEverything()
        }
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
    /// lab's own touch) does nothing. Returns an exit status when what follows the run ends the
    /// loop.
    func cycle(_ trigger: Trigger) -> Int32? {
        let snapshot = SourceSnapshot.take(exercises, hashing: true)
        let changed = verified != snapshot.fingerprint
        if trigger == .change && !changed { return nil }
        state.runStarted()
        screen.begin(lesson.info, trigger: trigger, changedFiles: changedFiles(snapshot))
        var verdict: WatchVerdict? = nil
        var build = BuildOutcome.built
        if changed || trigger != .switched || state.verdict == .doesNotCompile {
            build = buildFresh(from: snapshot)
        }
        switch build {
        case .built: verdict = runCurrentLesson()
        case .failed: verdict = .doesNotCompile
        case .stopped: break
        }
        let (passedNow, next) = state.runEnded(verdict: verdict)
        if verdict == nil { session.out(screen.s.yellow("Stopped before the end: nothing of this run was recorded.")) }
        if passedNow {
            screen.lessonPasses(lesson, next: state.nextLesson.flatMap { n in session.visibleLessons.first { $0.info.number == n } })
            if next == .ignore, let code = finalCheckIfEverythingPasses() { return code }
        }
        screen.footer(keysOpen: !keyboard.ended)
        return perform(next)
    }

    enum BuildOutcome { case built, failed, stopped }

    /// Builds until the binary holds the code as saved.
    func buildFresh(from start: SourceSnapshot) -> BuildOutcome {
        var snapshot = start
        var attempts = 0
        let s = screen.s
        while true {
            session.out(s.dim("Building… "), terminator: "")
            switch hosts.build(lesson.info, keys: stopKeys) {
            case .interrupted:
                stopInterrupted()
            case .stopped:
                session.out(s.dim("stopped"))
                return .stopped
            case .failed(let output, let seconds):
                session.out(s.dim("stopped with errors after \(formatDuration(seconds))"))
                session.out("")
                // Cut to the first errors with a count of the rest: the header stays on screen.
                session.out(BuildOutput.shortened(output, lines: screen.compilerLines))
                session.out("")
                verified = snapshot.fingerprint
                let named = BuildOutput.lessonsNamed(in: output, folders: session.visibleLessons.map { ($0.info.number, $0.info.folder) })
                session.updateProgress { $0.setDoesNotCompile(Array(Set(named + [state.current]))) }
                session.out(s.red(s.bold("Lesson \(lesson.info.twoDigits): does not compile")) + "  — fix the error above and save.")
                return .failed
            case .built(let seconds):
                session.out(s.dim("done in \(formatDuration(seconds))"))
                let now = SourceSnapshot.take(exercises, hashing: true)
                var binary: Int64? = nil
                var info = stat()
                if stat(hosts.location.host(lesson.info), &info) == 0 { binary = nanoseconds(info.st_mtim) }
                // Only the files this lesson's host is built from: another lesson's save waits
                // for that lesson's own build.
                let built = lessonFolders.map { PackagePaths.absolute("Exercises/\($0)/") }
                let ours = now.files.keys.filter { path in built.contains { path.hasPrefix($0) } }
                let stale = StaleSources.find(builtFrom: snapshot.only(ours), now: now.only(ours), binaryModified: binary,
                                              compiled: StaleSources.compileTimes(for: ours, binDir: hosts.location.directory))
                if stale.isEmpty {
                    verified = snapshot.fingerprint
                    session.updateProgress { $0.setDoesNotCompile([state.current], false) }
                    return .built
                }
                let names = stale.map(PackagePaths.relative).joined(separator: ", ")
                attempts += 1
                if attempts >= 3 {
                    session.out(s.yellow("warning: the build still does not include the latest save of \(names); the results below may be from older code. Press r to try again."))
                    verified = nil
                    return .built
                }
                session.out(s.dim("\(names) changed during the build or in the same second as it: touching it a second later and rebuilding, so the check never runs stale code."))
                StaleSources.touchInLaterSecond(stale)
                snapshot = SourceSnapshot.take(exercises, hashing: true)
            }
        }
    }

    /// Runs every part of the current lesson with the fresh host, prints and records them; nil
    /// when a key stopped the run.
    func runCurrentLesson() -> WatchVerdict? {
        let lesson = self.lesson
        session.out(screen.report.header(lesson.info, implementation: .exercise))
        let run = LessonRun.run(lesson, implementation: .exercise, hosts: hosts, keys: stopKeys) {
            self.session.out(self.screen.report.describe($0))
        }
        if run.waitedForOtherLabs >= 0.5 {
            session.out(screen.s.dim("  (waited \(formatDuration(run.waitedForOtherLabs)) for other labs' parts: parts run one at a time for each user)"))
        }
        if run.stoppedByKey { return nil }
        session.out("  " + screen.report.summary(run.results))
        let progress = session.updateProgress { $0.record(run.results) }
        let verdict = WatchVerdict.of(run.results)
        session.out("")
        session.out(screen.verdictLine(lesson, progress) + "  " + nextHint(verdict, run.results))
        return verdict
    }

    func nextHint(_ verdict: WatchVerdict, _ results: [PartResult]) -> String {
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
    func finalCheckIfEverythingPasses() -> Int32? {
        let progress = session.loadProgress()
        let everything = session.visibleLessons.allSatisfy { LessonStatus.of($0, in: progress).status == .passed }
        guard everything, !celebrated else { return nil }
        session.out("")
        session.out(screen.s.bold("Every lesson passes. A final check of all of them:"))
        state.runStarted()
        let allPass = checkLessons(session.visibleLessons)
        let (_, next) = state.runEnded(verdict: nil)
        if allPass == true {
            celebrated = true
            let total = session.visibleLessons.map { $0.parts.filter(\.graded).count }.reduce(0, +)
            session.out(screen.s.green(screen.s.bold("All \(session.visibleLessons.count) lesson(s) pass: \(total)/\(total) graded parts.")) + " Well done.")
        }
        if next != .ignore {
            screen.footer(keysOpen: !keyboard.ended)
            return perform(next)
        }
        return nil
    }

    /// `c`: rebuild if the code changed, then check every lesson.
    func checkEverything() -> Int32? {
        let snapshot = SourceSnapshot.take(exercises, hashing: true)
        state.runStarted()
        session.out("")
        session.out(screen.s.bold("Checking every lesson…"))
        var allPass: Bool? = false
        if verified != snapshot.fingerprint || state.verdict == .doesNotCompile {
            switch buildFresh(from: snapshot) {
            case .built: allPass = checkLessons(session.visibleLessons)
            case .failed: allPass = false
            case .stopped: allPass = nil
            }
        } else {
            allPass = checkLessons(session.visibleLessons)
        }
        if allPass == true { session.out(screen.s.green("Every lesson passes.")) }
        if allPass == nil { session.out(screen.s.yellow("Stopped before the end.")) }
        let (_, next) = state.runEnded(verdict: nil)
        screen.footer(keysOpen: !keyboard.ended)
        return perform(next)
    }

    /// Runs and records every part of `lessons`; prints one line per lesson and the parts that
    /// do not pass. True when every graded part passed (or was skipped); nil when a key stopped it.
    func checkLessons(_ lessons: [LessonEntry]) -> Bool? {
        var allPass = true
        let s = screen.s
        for lesson in lessons {
            if lesson.info.number != state.current {
                // Each lesson's host is built from that lesson's file; one that does not compile
                // is said here and blocks no other lesson.
                switch hosts.build(lesson.info, keys: stopKeys) {
                case .interrupted:
                    stopInterrupted()
                case .stopped:
                    return nil
                case .failed(let output, _):
                    allPass = false
                    session.updateProgress { $0.setDoesNotCompile([lesson.info.number]) }
                    session.out("  \(lesson.info.twoDigits)  \(lesson.info.title)  " + s.red("does not compile"))
                    session.out(BuildOutput.shortened(output, lines: 6).split(separator: "\n").map { "      " + $0 }.joined(separator: "\n"))
                    continue
                case .built:
                    session.updateProgress { $0.setDoesNotCompile([lesson.info.number], false) }
                }
            }
            let run = LessonRun.run(lesson, implementation: .exercise, hosts: hosts, keys: stopKeys)
            if run.stoppedByKey { return nil }
            let progress = session.updateProgress { $0.record(run.results) }
            let verdict = WatchVerdict.of(run.results)
            if lesson.info.number == state.current { state.verdict = verdict }
            allPass = allPass && verdict.passes
            session.out("  \(lesson.info.twoDigits)  \(lesson.info.title)  " + screen.report.summary(run.results)
                        + "  " + s.dim(LessonStatus.of(lesson, in: progress).status.label))
            for result in run.results where !verdict.passes && result.part.graded && !result.outcome.isPassed {
                session.out(screen.report.describe(result))
            }
        }
        return allPass
    }

    /// `t`: the lesson's text, through `$PAGER` (or `less`) on a terminal, printed elsewhere.
    func showLessonText() {
        let path = PackagePaths.absolute("Exercises/\(lesson.info.folder)/README.md")
        guard let bytes = try? readFile(path) else {
            session.out("Cannot read \(PackagePaths.relative(path)).")
            return
        }
        if keysFromTerminal, screen.isTerminal, let pager = WatchScreen.pagerCommand(for: path) {
            RawTerminal.restore()
            defer { RawTerminal.enter() }
            let shown = Interruption.ignoringInterrupts { () -> Bool in
                guard let child = try? ChildProcess.spawn(pager[0], Array(pager.dropFirst())) else { return false }
                return child.reap() == .exited(0)
            }
            if shown { return }
        }
        session.out("")
        session.out(String(decoding: bytes, as: UTF8.self).trimmingTrailingNewlines())
    }

    func changedFiles(_ snapshot: SourceSnapshot) -> [String] {
        guard let verified else { return [] }
        return snapshot.fingerprint.filter { verified[$0.key] != $0.value }.keys.sorted()
            + verified.keys.filter { snapshot.fingerprint[$0] == nil }.sorted()
    }
}
