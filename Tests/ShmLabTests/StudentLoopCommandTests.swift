import Foundation
import LabKit
import Testing

/// The student's loop through the built `lab`: progress, hints, reset, solution, the overview.
/// Commands that change files run against a scratch copy of the package (`SHMLAB_ROOT`).
@Suite("The student's loop: progress, hints, reset, solution")
struct StudentLoopCommandTests {
    var firstLesson: CatalogRecord.Lesson { LabBinary.catalog.lessons.first { !$0.hidden }! }

    /// A progress file in which every graded part of the first lesson passed.
    func passedProgress(_ dir: String) throws {
        let lesson = firstLesson
        let parts = lesson.parts.filter(\.graded).map(\.number)
        let json = """
            {"currentLesson": \(lesson.number), "lessons": {"\(lesson.number)": {"passedParts": \(parts), "checkedParts": \(parts)}}}
            """
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try Data(json.utf8).write(to: URL(fileURLWithPath: dir + "/progress.json"))
    }

    /// A progress folder of this case's own, inside the test process's scratch folder (removed at
    /// exit even when a command that was only meant to fail created it).
    func scratchProgress() -> String {
        LabBinary.scratchRoot + "/progress-\(UUID().uuidString.prefix(8))"
    }

    @Test("new commands: --help on stdout with exit 0, usage errors exit 64 with Error: and Usage:")
    func helpAndUsage() throws {
        for command in ["watch", "reset", "solution", "hint"] {
            let run = try LabBinary.run([command, "--help"])
            #expect(run.status == 0)
            #expect(run.stdout.contains("USAGE: lab \(command)"), "\(command): \(run.stdout)")
        }
        for arguments in [["reset"], ["reset", "1", "--all"], ["reset", "99", "--yes"], ["solution", "99"],
                          ["solution", "1", "2"], ["watch", "99"], ["watch", "1", "2"], ["watch", "--bogus"],
                          ["hint", "1", "99"], ["hint", "nope"], ["reset", "--yes=no"]] {
            let run = try LabBinary.run(arguments, environment: ["SHMLAB_PROGRESS_DIR": scratchProgress()])
            #expect(run.status == 64, "lab \(arguments.joined(separator: " ")) → \(run.status) \(run.stderr)")
            #expect(run.stderr.hasPrefix("Error: "), "\(run.stderr)")
            #expect(run.stderr.contains("Usage: lab \(arguments[0])"), "\(run.stderr)")
            #expect(!run.stderr.contains("Fatal error") && !run.stderr.contains("Backtrace"))
        }
    }

    @Test("a garbage progress file gives one warning line, is recreated, and the lab works")
    func garbageProgress() throws {
        let dir = scratchProgress()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try Data("{\"currentLesson\": [garbage\u{0}\u{7F}".utf8).write(to: URL(fileURLWithPath: dir + "/progress.json"))
        let run = try LabBinary.run([], environment: ["SHMLAB_PROGRESS_DIR": dir])
        #expect(run.status == 0)
        let warnings = run.stderr.split(separator: "\n")
        #expect(warnings.count == 1 && warnings[0].hasPrefix("warning: ") && warnings[0].contains("started afresh"), "\(run.stderr)")
        #expect(run.stdout.contains("Next: "))
        let again = try LabBinary.run([], environment: ["SHMLAB_PROGRESS_DIR": dir])
        #expect(again.stderr.isEmpty, "the recreated file must load cleanly: \(again.stderr)")
        let data = try #require(FileManager.default.contents(atPath: dir + "/progress.json"))
        #expect((try? JSONSerialization.jsonObject(with: data)) != nil)
    }

    @Test("a progress folder that is a file, or a progress file that is a folder, is repaired with a warning")
    func progressPathsOfTheWrongKind() throws {
        let dir = scratchProgress()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Data("not a folder".utf8).write(to: URL(fileURLWithPath: dir))
        let run = try LabBinary.run(["list"], environment: ["SHMLAB_PROGRESS_DIR": dir])
        #expect(run.status == 0)
        #expect(run.stderr.hasPrefix("warning: "), "\(run.stderr)")
        try FileManager.default.removeItem(atPath: dir)
        try FileManager.default.createDirectory(atPath: dir + "/progress.json", withIntermediateDirectories: true)
        let other = try LabBinary.run(["hint", "1"], environment: ["SHMLAB_PROGRESS_DIR": dir])
        #expect(other.status == 0)
        #expect(other.stderr.hasPrefix("warning: "), "\(other.stderr)")
        #expect(other.stdout.contains("(hint 1 of"))
    }

    @Test("the overview shows progress bars, each lesson's status and the exact next command")
    func overview() throws {
        let dir = scratchProgress()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let fresh = try LabBinary.run([], environment: ["SHMLAB_PROGRESS_DIR": dir])
        let lesson = firstLesson
        let total = LabBinary.catalog.lessons.filter { !$0.hidden }.map { $0.parts.filter(\.graded).count }.reduce(0, +)
        #expect(fresh.stdout.contains("  parts    [------------------------]  0/\(total)"), "\(fresh.stdout)")
        #expect(fresh.stdout.contains("not started"))
        #expect(fresh.stdout.contains("Next: swift run lab show \(lesson.number)"), "\(fresh.stdout)")

        try passedProgress(dir)
        let done = try LabBinary.run([], environment: ["SHMLAB_PROGRESS_DIR": dir])
        #expect(done.stdout.contains("passed"), "\(done.stdout)")
        #expect(done.stdout.contains("  lessons  [#"), "\(done.stdout)")
        let visible = LabBinary.catalog.lessons.filter { !$0.hidden }
        if visible.count == 1 {
            #expect(done.stdout.contains("Every lesson passes. Next: swift run lab check all"), "\(done.stdout)")
        } else {
            #expect(done.stdout.contains("Next: swift run lab show \(visible[1].number)"), "\(done.stdout)")
        }
    }

    @Test("hints are staged per part and the level is remembered")
    func stagedHints() throws {
        let dir = scratchProgress()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let env = ["SHMLAB_PROGRESS_DIR": dir]
        let lesson = firstLesson
        let first = try LabBinary.run(["hint", "\(lesson.number)"], environment: env)
        #expect(first.stdout.contains("part 1:") && first.stdout.contains("(hint 1 of"), "\(first.stdout)")
        let second = try LabBinary.run(["hint"], environment: env)
        #expect(second.stdout.contains("part 1:") && second.stdout.contains("(hint 2 of"), "\(second.stdout)")
        let other = try LabBinary.run(["hint", "\(lesson.number)", "2"], environment: env)
        #expect(other.stdout.contains("part 2:") && other.stdout.contains("(hint 1 of"), "\(other.stdout)")
        // Past the last level the last hint stays.
        for _ in 0..<5 { _ = try LabBinary.run(["hint", "\(lesson.number)", "2"], environment: env) }
        let last = try LabBinary.run(["hint", "\(lesson.number)", "2"], environment: env)
        #expect(last.stdout.contains("That was the last hint for part 2"), "\(last.stdout)")
        // With every part passed, no part is picked without asking.
        try passedProgress(dir)
        let none = try LabBinary.run(["hint", "\(lesson.number)"], environment: env)
        #expect(none.stdout.contains("Every part of lesson"), "\(none.stdout)")
    }

    @Test("lab check keeps what another lab saved while its parts ran, and records its own results")
    func checkKeepsProgressSavedMeanwhile() throws {
        let dir = scratchProgress()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = ProgressStore(directory: dir)
        // Fixture 18 sleeps until its timeout: a part that runs long enough to save beside it.
        let check = try LabSessionProcess(["check", "0", "--part", "18", "--timeout", "6"],
                                          environment: ["SHMLAB_PROGRESS_DIR": dir])
        var limit = LabTimeLimit(seconds: 60, for: check.process.processIdentifier)
        var part: pid_t? = nil
        while part == nil && !limit.expired() {
            part = PartProcesses.find(lesson: 0, part: 18).first { PartProcesses.parent(of: $0) == check.process.processIdentifier }
            if part == nil { Thread.sleep(forTimeInterval: 0.02) }
        }
        let running = try #require(part, "the check's part never started: \(check.text)")
        // The check loaded the progress when it started and saves once the part has ended; a watch
        // (here: this process) saves in between.
        store.update(warn: { _ in }) { $0.hintLevels["1.1"] = 2 }
        #expect(PartProcesses.find(lesson: 0, part: 18).contains(running), "the part must still run after the other save")
        #expect(check.finish(timeout: 60) == 1, "\(check.text)")
        var warnings: [String] = []
        let saved = store.load { warnings.append($0) }
        #expect(warnings.isEmpty)
        #expect(saved.hintLevels["1.1"] == 2, "what the other lab saved meanwhile is kept")
        #expect(saved.lesson(0).checkedParts == [18], "and the check's own result is recorded")
        #expect(saved.lesson(0).outcome(ofPart: 18) == .timedOut)
    }

    @Test("lab solution refuses until the lesson passes, unless --force, with one line")
    func solution() throws {
        let dir = scratchProgress()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let env = ["SHMLAB_PROGRESS_DIR": dir]
        let n = "\(firstLesson.number)"
        let refused = try LabBinary.run(["solution", n], environment: env)
        #expect(refused.status == 1)
        #expect(refused.stdout.isEmpty)
        #expect(refused.stderr.split(separator: "\n").count == 1 && refused.stderr.hasPrefix("Error: "), "\(refused.stderr)")
        #expect(refused.stderr.contains("--force"))
        let forced = try LabBinary.run(["solution", n, "--force"], environment: env)
        #expect(forced.status == 0)
        #expect(forced.stderr.split(separator: "\n").count == 1 && forced.stderr.hasPrefix("warning: "), "\(forced.stderr)")
        #expect(forced.stdout.contains("── Solutions/"))
        try passedProgress(dir)
        let opened = try LabBinary.run(["solution", n], environment: env)
        #expect(opened.status == 0)
        #expect(opened.stderr.isEmpty)
        #expect(opened.stdout == forced.stdout)
    }

    @Test("lab reset restores the shipped stub, asks first, keeps a backup, and clears the lesson's results")
    func reset() throws {
        let package = try ScratchPackage()
        defer { package.remove() }
        let file = try #require(LabBinary.pristine.first { $0.folder.hasPrefix("01-") })
        try package.write(file.path, "// my attempt\n")
        try passedProgress(package.progress)

        // Asked, and declined: nothing changes.
        let declined = try LabSessionProcess(["reset", "1"], environment: package.environment)
        #expect(declined.waitFor("[y/N]"))
        declined.send("n\n")
        #expect(declined.finish() == 1)
        #expect(declined.text.contains("Nothing was changed."))
        #expect(package.read(file.path) == "// my attempt\n")

        // Asked, and accepted.
        let accepted = try LabSessionProcess(["reset", "1"], environment: package.environment)
        #expect(accepted.waitFor("[y/N]"))
        accepted.send("y\n")
        #expect(accepted.finish() == 0, "\(accepted.text)")
        #expect(package.read(file.path) == file.contents)
        let backups = SourceSnapshot.swiftFiles(under: package.progress + "/backups")
        #expect(backups.count == 1)
        #expect(backups.first.flatMap { FileManager.default.contents(atPath: $0) } == Data("// my attempt\n".utf8))
        let overview = try LabBinary.run(["list"], environment: package.environment)
        #expect(overview.stdout.contains("not started"), "results are cleared: \(overview.stdout)")

        // --yes, and --all, without a question; an untouched stub needs nothing.
        try package.write(file.path, "// again\n")
        let yes = try LabBinary.run(["reset", "--all", "--yes"], environment: package.environment)
        #expect(yes.status == 0)
        #expect(package.read(file.path) == file.contents)
        let nothing = try LabBinary.run(["reset", "1", "--yes"], environment: package.environment)
        #expect(nothing.status == 0)
        #expect(nothing.stdout.contains("already the untouched stub"))
    }
}
