import Foundation
import Glibc

/// `lab reset N | --all`: puts the untouched stub back, from the copy compiled into the lab
/// (no git needed). The student's version is kept in `.lab/backups/` first.
enum ResetCommand {
    static var command: LabCommand { LabCommand(CommandSpec(
        "reset", summary: "Put a lesson's exercise back to the untouched stub.",
        arguments: "[\(BuiltinCommands.lessonArgument)]", maximumArguments: 1,
        options: [
            OptionSpec("all", help: "Reset every lesson."),
            OptionSpec("yes", short: "y", help: "Do not ask for confirmation."),
        ],
        discussion: """
            The untouched stubs ship inside the lab, so this works without git. Your version is
            saved in .lab/backups/ first, and the lesson's recorded results are cleared (hint
            levels stay). Asks before changing anything unless --yes is given.
            """)) { invocation, session in
        try run(invocation, session)
    }}

    static func run(_ invocation: Invocation, _ session: LabSession) throws -> Int32 {
        let all = invocation.has("all")
        if all && !invocation.arguments.isEmpty {
            throw UsageError("give a lesson or --all, not both")
        }
        guard all || !invocation.arguments.isEmpty else {
            throw UsageError("say which lesson to reset (a number or a name), or --all")
        }
        let lessons = all ? session.visibleLessons : [try session.lesson(named: invocation.arguments[0])]
        // What would change: files whose content differs from the shipped stub.
        var changes: [(lesson: LessonEntry, file: PristineFile)] = []
        var missing: [LessonEntry] = []
        for lesson in lessons {
            let files = session.pristine.filter { $0.folder == lesson.info.folder }
            if files.isEmpty { missing.append(lesson); continue }
            for file in files where currentContents(file.path) != file.contents {
                changes.append((lesson, file))
            }
        }
        for lesson in missing {
            session.err("warning: no untouched copy of lesson \(lesson.info.twoDigits) ships with this lab (its authors add it with 'swift run lab __pristine --write'); left as it is")
        }
        if changes.isEmpty {
            if missing.count == lessons.count { throw LabError("nothing to reset: no untouched copy ships for \(all ? "any lesson" : "lesson \(lessons[0].info.twoDigits)")") }
            let what = all ? "Every exercise is" : "Lesson \(lessons[0].info.twoDigits) is"
            session.out("\(what) already the untouched stub; nothing to do.")
            return ExitStatus.success
        }
        let paths = changes.map(\.file.path)
        if !invocation.has("yes") {
            session.out("This replaces \(paths.joined(separator: ", ")) with the untouched stub.")
            session.out("Your version is kept in \(PackagePaths.relative(session.progressStore.directory))/backups/. Reset? [y/N] ", terminator: "")
            let answer = readLine(strippingNewline: true)?.trimmingCharacters(in: .whitespaces).lowercased()
            if answer == nil { session.out("") }
            guard answer == "y" || answer == "yes" else {
                session.out("Nothing was changed.")
                return ExitStatus.failure
            }
        }
        let backup = "\(session.progressStore.directory)/backups/\(timestamp())"
        let build = BuildLocation.fromRunningLab(executable: currentExecutablePath(), root: PackagePaths.root)
        for (_, file) in changes {
            let target = PackagePaths.absolute(file.path)
            if let old = FileManager.default.contents(atPath: target) {
                let saved = "\(backup)/\(file.path)"
                try? FileManager.default.createDirectory(atPath: (saved as NSString).deletingLastPathComponent,
                                                         withIntermediateDirectories: true)
                try? old.write(to: URL(fileURLWithPath: saved))
            }
            do {
                try FileManager.default.createDirectory(atPath: (target as NSString).deletingLastPathComponent,
                                                        withIntermediateDirectories: true)
                try Data(file.contents.utf8).write(to: URL(fileURLWithPath: target), options: .atomic)
            } catch {
                throw LabError("could not write \(file.path): \(error.localizedDescription)")
            }
        }
        // The next `swift build` must not take the restored file for unchanged: stamp it with a
        // second later than the last build of its lesson (an edit stamped with the same second as
        // a build can be missed by the next incremental build: docs/ARCHITECTURE.md).
        if let build {
            let second = changes.compactMap { build.latestBuildSecond($0.lesson.info) }.max()
            if let second { StaleSources.touchInLaterSecond(paths.map(PackagePaths.absolute), notBefore: second) }
        }
        let numbers = Set(changes.map(\.lesson.info.number))
        session.updateProgress { progress in
            for number in numbers { progress.forgetChecks(number) }
        }
        for path in paths { session.out("Restored \(path) to the untouched stub.") }
        if FileManager.default.fileExists(atPath: backup) {
            session.out(session.style.dim("Your version: \(PackagePaths.relative(backup))/"))
        }
        return ExitStatus.success
    }

    static func currentContents(_ path: String) -> String? {
        guard let data = FileManager.default.contents(atPath: PackagePaths.absolute(path)) else { return nil }
        return String(decoding: data, as: UTF8.self)
    }

    /// "20261121-213800", local time: a backup folder name that sorts by date.
    static func timestamp() -> String {
        var now = time(nil)
        var parts = tm()
        localtime_r(&now, &parts)
        func two(_ n: Int32) -> String { n < 10 ? "0\(n)" : "\(n)" }
        return "\(parts.tm_year + 1900)\(two(parts.tm_mon + 1))\(two(parts.tm_mday))-\(two(parts.tm_hour))\(two(parts.tm_min))\(two(parts.tm_sec))"
    }
}

/// `lab __pristine`: the untouched stubs compiled into this lab, as JSON (for the tests);
/// `--write` regenerates `Sources/Lessons/Pristine/PristineStubs.swift` from `Exercises/` on a
/// fresh clone; `--check` compares them with `Exercises/`.
enum PristineCommand {
    static let generatedFile = "Sources/Lessons/Pristine/PristineStubs.swift"

    static func runHidden(_ arguments: [String], lessons: [LessonEntry], pristine: [PristineFile]) -> Never {
        let visible = lessons.filter { !$0.info.hidden }
        switch arguments {
        case []:
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            Console.out(String(decoding: (try? encoder.encode(pristine)) ?? Data("[]".utf8), as: UTF8.self) + "\n")
            exit(0)
        case ["--write"], ["--write", "--force"]:
            var files: [PristineFile] = []
            var problems: [String] = []
            for lesson in visible {
                let folder = "Exercises/\(lesson.info.folder)"
                let names = LeftoverSweep.list(PackagePaths.absolute(folder)).filter { $0.hasSuffix(".swift") }.sorted()
                if names.isEmpty { problems.append("\(folder) has no Swift file") }
                for name in names {
                    let path = "\(folder)/\(name)"
                    guard let text = ResetCommand.currentContents(path) else { problems.append("cannot read \(path)"); continue }
                    if !StubShape.isUntouched(text) { problems.append("\(path) is not an untouched stub (a body other than todo())") }
                    files.append(PristineFile(path, text))
                }
            }
            if !problems.isEmpty && !arguments.contains("--force") {
                Console.err(problems.map { "error: \($0)" }.joined(separator: "\n")
                            + "\nRun this on a fresh clone (or pass --force).\n")
                exit(1)
            }
            do {
                try Data(PristineSource.render(files).utf8).write(to: URL(fileURLWithPath: PackagePaths.absolute(generatedFile)),
                                                                  options: .atomic)
            } catch {
                Console.err("error: cannot write \(generatedFile): \(error.localizedDescription)\n")
                exit(1)
            }
            Console.out("wrote \(generatedFile): \(files.count) file(s) of \(visible.count) lesson(s)\n")
            exit(0)
        case ["--check"]:
            var bad = 0
            for lesson in visible where !pristine.contains(where: { $0.folder == lesson.info.folder }) {
                Console.out("missing: no untouched copy of Exercises/\(lesson.info.folder)/\n")
                bad += 1
            }
            for file in pristine {
                let current = ResetCommand.currentContents(file.path)
                if current == file.contents { Console.out("same:    \(file.path)\n"); continue }
                if let current, !StubShape.isUntouched(current) { Console.out("edited:  \(file.path) (not compared)\n"); continue }
                Console.out("differs: \(file.path)\n")
                bad += 1
            }
            exit(bad == 0 ? 0 : 1)
        default:
            Console.err("usage: lab __pristine [--write [--force] | --check]\n")
            exit(2)
        }
    }
}
