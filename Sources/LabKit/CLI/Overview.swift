/// What `lab` shows with no command: progress bars, every lesson's status, the next command.
enum Overview {
    /// The whole overview.
    static func text(_ session: LabSession, _ progress: Progress) -> String {
        let s = session.style
        let lessons = session.visibleLessons
        let statuses = lessons.map { LessonStatus.of($0, in: progress) }
        let partsDone = statuses.map(\.passed).reduce(0, +)
        let partsTotal = statuses.map(\.total).reduce(0, +)
        let lessonsDone = statuses.filter { $0.status == .passed }.count
        return [
            s.bold("ShmLab") + " — share memory between processes, in Swift",
            "",
            "  parts    " + bar(partsDone, of: partsTotal, style: s) + "  \(partsDone)/\(partsTotal)",
            "  lessons  " + bar(lessonsDone, of: lessons.count, style: s) + "  \(lessonsDone)/\(lessons.count)",
            "",
            lessonTable(session, progress),
            "",
            nextStep(session, progress),
        ].joined(separator: "\n")
    }

    /// "[██████░░░░░░]" on a terminal, "[######------]" elsewhere.
    static func bar(_ done: Int, of total: Int, width: Int = 24, style: Style) -> String {
        var filled = total > 0 ? Int((Double(done) / Double(total) * Double(width)).rounded()) : 0
        if done > 0 { filled = max(1, filled) }          // some progress always shows
        if done < total { filled = min(width - 1, filled) } // and only all of it fills the bar
        filled = min(max(filled, 0), width)
        let on = String(repeating: style.fancy ? "█" : "#", count: filled)
        let off = String(repeating: style.fancy ? "░" : "-", count: width - filled)
        return "[" + style.green(on) + style.dim(off) + "]"
    }

    /// One line per lesson: the current one marked, parts passed, the status in words.
    static func lessonTable(_ session: LabSession, _ progress: Progress) -> String {
        let s = session.style
        let width = session.visibleLessons.map { $0.info.title.count }.max() ?? 20
        return session.visibleLessons.map { lesson in
            let (status, passed, total) = LessonStatus.of(lesson, in: progress)
            let current = lesson.info.number == currentLesson(session, progress)?.info.number
                ? (s.fancy ? s.cyan("▸") : ">") : " "
            let title = lesson.info.title + String(repeating: " ", count: width - lesson.info.title.count)
            let coloured: String
            switch status {
            case .passed: coloured = s.green(status.label)
            case .doesNotCompile: coloured = s.red(status.label)
            case .inProgress: coloured = s.yellow(status.label)
            case .notStarted: coloured = s.dim(status.label)
            }
            return " \(current) \(lesson.info.twoDigits)  \(title)  \(passed)/\(total) parts  \(coloured)"
        }.joined(separator: "\n")
    }

    /// The lesson the student is on (a stale number in the progress file falls back to the first).
    static func currentLesson(_ session: LabSession, _ progress: Progress) -> LessonEntry? {
        session.visibleLessons.first { $0.info.number == progress.currentLesson } ?? session.visibleLessons.first
    }

    /// "Next: swift run lab …" — one exact command, then why, in a few words.
    static func nextStep(_ session: LabSession, _ progress: Progress) -> String {
        let lessons = session.visibleLessons
        guard let lesson = currentLesson(session, progress) else { return "No lessons are registered." }
        let n = lesson.info.number
        let file = session.exerciseFile(lesson.info)
        let bold = session.style.bold
        switch LessonStatus.of(lesson, in: progress).status {
        case .doesNotCompile:
            return "Next: " + bold("swift run lab watch \(n)") + "   (your code does not compile; watch shows the compiler's message and re-checks on every save)"
        case .notStarted:
            return "Next: " + bold("swift run lab show \(n)") + "   (read lesson \(lesson.info.twoDigits), then edit \(file) with 'swift run lab watch \(n)' running)"
        case .inProgress:
            return "Next: " + bold("swift run lab watch \(n)") + "   (edit \(file); it re-checks on every save. Stuck? 'swift run lab hint \(n)')"
        case .passed:
            let open = lessons.first { $0.info.number > n && LessonStatus.of($0, in: progress).status != .passed }
                ?? lessons.first { LessonStatus.of($0, in: progress).status != .passed }
            if let open {
                return "Next: " + bold("swift run lab show \(open.info.number)") + "   (lesson \(lesson.info.twoDigits) passes)"
            }
            return "Every lesson passes. Next: " + bold("swift run lab check all") + "   (a last check of everything)"
        }
    }
}
