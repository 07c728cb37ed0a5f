import Glibc

/// What watch mode draws: the header that starts every run, the verdict, the moment a lesson
/// passes, the progress line and the keys.
struct WatchScreen {
    let session: LabSession
    /// The folder watched, relative to the package.
    let watching: String
    /// "inotify" or "polling every 0.25 s".
    let mode: String
    let manual: Bool
    let report: TerminalReport
    let isTerminal: Bool
    /// Lines of compiler output shown: what fits under the header and above the verdict and the
    /// keys on this terminal (12 elsewhere).
    let compilerLines: Int

    init(session: LabSession, watching: String, mode: String, manual: Bool) {
        self.session = session
        self.watching = watching
        self.mode = mode
        self.manual = manual
        report = TerminalReport(style: session.style, verbose: false)
        isTerminal = isatty(1) == 1
        compilerLines = isTerminal ? max(8, Self.terminalRows() - 12) : 12
    }

    var s: Style { session.style }

    /// The terminal's height (`ioctl(TIOCGWINSZ)`), 24 when unknown.
    static func terminalRows() -> Int {
        var size = winsize()
        guard ioctl(1, UInt(TIOCGWINSZ), &size) == 0, size.ws_row > 0 else { return 24 }
        return Int(size.ws_row)
    }

    /// Clears a terminal (a rule elsewhere) and names the lesson, its file and why it runs.
    func begin(_ lesson: LessonInfo, trigger: WatchLoop.Trigger, changedFiles: [String]) {
        if isTerminal {
            session.out("\u{1B}[H\u{1B}[2J", terminator: "")
        } else {
            session.out(String(repeating: "─", count: 60))
        }
        var line = s.bold("lab watch") + " · lesson \(lesson.twoDigits) · your file: \(session.exerciseFile(lesson))"
        switch trigger {
        case .change where !changedFiles.isEmpty:
            line += s.dim("  (\(changedFiles.map(PackagePaths.relative).joined(separator: ", ")) changed)")
        case .rerun: line += s.dim("  (re-run)")
        default: break
        }
        session.out(line)
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

    /// The moment a lesson passes: a box that cannot be missed, and where to go next.
    func lessonPasses(_ lesson: LessonEntry, next: LessonEntry?) {
        let graded = lesson.parts.filter(\.graded).count
        let rule = String(repeating: s.fancy ? "━" : "=", count: 60)
        session.out("")
        session.out(s.green(rule))
        session.out(s.green(s.bold("  \(s.fancy ? "★ " : "")Lesson \(lesson.info.twoDigits) passes: all \(graded) graded parts.")))
        if let next {
            session.out("  Press n for lesson \(next.info.twoDigits), \(next.info.title).")
        } else {
            session.out("  That was the last lesson.")
        }
        session.out(s.green(rule))
    }

    /// The progress line, what is watched, and the keys.
    func footer(keysOpen: Bool) {
        let progress = session.loadProgress()
        let keys = WatchKey.allCases.map { "\(s.bold(String($0.rawValue))) \($0.help)" }.joined(separator: " · ")
        let how = manual ? "manual: press r to re-check" : "re-checks when you save"
        session.out("")
        session.out(WatchProgress.line(session.visibleLessons.map { LessonStatus.of($0, in: progress) }))
        session.out(s.dim("Watching \(watching)/ with \(mode) (\(how)).") + (keysOpen ? "" : s.dim(" Ctrl-C stops.")))
        if keysOpen { session.out(keys) }
    }

    /// How to page `path`: `$PAGER` (through /bin/sh, it may hold options) or `less`; nil when
    /// there is neither.
    static func pagerCommand(for path: String) -> [String]? {
        if let pager = PartHosts.environment("PAGER") { return ["/bin/sh", "-c", pager + " \"$1\"", "sh", path] }
        if let less = findOnPath("less") { return [less, path] }
        return nil
    }
}
