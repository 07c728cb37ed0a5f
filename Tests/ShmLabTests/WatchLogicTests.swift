import Foundation
import Glibc
@testable import LabKit
import Testing

/// Watch mode's rules as pure functions: keys, verdicts, the build output, stale sources.
@Suite("Watch mode's rules")
struct WatchLogicTests {
    @Test("keys: n h t l c r q, upper case too; anything else is no key")
    func keys() {
        #expect(WatchKey(byte: UInt8(ascii: "n")) == .next)
        #expect(WatchKey(byte: UInt8(ascii: "Q")) == .quit)
        #expect(WatchKey(byte: UInt8(ascii: "c")) == .checkAll)
        #expect(WatchKey(byte: UInt8(ascii: "x")) == nil)
        #expect(WatchKey(byte: 0x1B) == nil)
        #expect(WatchKey(byte: 0xC3) == nil)
    }

    @Test("n moves on only when the lesson passes, and not past the last lesson")
    func next() {
        var state = WatchState(lessons: [1, 2, 3], current: 1, verdict: .ran(passed: 2, total: 6, firstFailing: 3))
        #expect(state.action(for: .next) == .explain("n moves on once lesson 01 passes (2/6 parts so far)."))
        state.verdict = .doesNotCompile
        #expect(state.action(for: .next) == .explain("n moves on once lesson 01 compiles and passes."))
        state.verdict = .ran(passed: 6, total: 6, firstFailing: nil)
        #expect(state.action(for: .next) == .switchTo(lesson: 2))
        state.current = 3
        #expect(state.action(for: .next) == .explain("Lesson 03 is the last lesson."))
    }

    @Test("h asks for the first failing part; not while the code does not compile or when all pass")
    func hint() {
        var state = WatchState(lessons: [1], current: 1, verdict: .ran(passed: 2, total: 6, firstFailing: 3))
        #expect(state.action(for: .hint) == .hint(part: 3))
        state.verdict = .doesNotCompile
        guard case .explain = state.action(for: .hint) else { Issue.record("expected an explanation"); return }
        state.verdict = .ran(passed: 6, total: 6, firstFailing: nil)
        #expect(state.action(for: .hint) == .explain("Every part of lesson 01 passes: no hint needed."))
    }

    @Test("between runs every key acts at once")
    func idle() {
        let state = WatchState(lessons: [1, 2], current: 1, verdict: .ran(passed: 6, total: 6, firstFailing: nil))
        #expect(state.action(for: .quit) == .quit)
        #expect(state.action(for: .rerun) == .rerun)
        #expect(state.action(for: .list) == .list)
        #expect(state.action(for: .checkAll) == .checkAll)
        #expect(state.action(for: .text) == .showText)
    }

    @Test("what was typed: keys in order, no key skipped, nothing after an escape sequence")
    func typed() {
        #expect(WatchKey.keys(in: Array("xhQ".utf8)) == [.hint, .quit])
        #expect(WatchKey.keys(in: [UInt8(ascii: "l"), 0x1B, UInt8(ascii: "["), UInt8(ascii: "A")]) == [.list])
        #expect(WatchKey(byte: UInt8(ascii: "t")) == .text)
    }

    @Test("during a run q and r stop it; any other key is noted, said so, and honoured when it ends")
    func keysDuringRun() {
        var state = WatchState(lessons: [1, 2], current: 1, verdict: .ran(passed: 2, total: 6, firstFailing: 3))
        state.runStarted()
        guard case .explain(let said) = state.handle(.key(.hint)) else { Issue.record("h during a run says something"); return }
        #expect(said.contains("when this run ends"), "\(said)")
        #expect(state.deferred == .hint)
        // The run ends with part 4 failing first now: the hint is for it.
        let ended = state.runEnded(verdict: .ran(passed: 3, total: 6, firstFailing: 4))
        #expect(ended.next == .hint(part: 4))
        #expect(!ended.passedNow)
        #expect(state.deferred == nil && !state.busy)

        state.runStarted()
        #expect(state.handle(.key(.quit)) == .stopRun)
        #expect(state.runEnded(verdict: nil).next == .quit)
        #expect(state.verdict == .ran(passed: 3, total: 6, firstFailing: 4), "a stopped run leaves the verdict as it was")

        state.runStarted()
        _ = state.handle(.key(.list))
        #expect(state.handle(.key(.rerun)) == .stopRun)
        #expect(state.runEnded(verdict: nil).next == .rerun, "r starts the run again; the noted key gives way")
        #expect(state.runEnded(verdict: nil).next == .ignore)
    }

    @Test("the end of a terminal quits, stopping a run first; the end of a pipe keeps watching")
    func inputEnds() {
        var state = WatchState(lessons: [1], current: 1)
        #expect(state.handle(.inputEnded(terminal: false)) == .ignore)
        #expect(state.handle(.inputEnded(terminal: true)) == .quit)
        state.runStarted()
        #expect(state.handle(.inputEnded(terminal: true)) == .stopRun)
        #expect(state.runEnded(verdict: nil).next == .quit)
    }

    @Test("a save re-checks after the quiet time; a later save restarts the wait; nothing is due without a save")
    func debounce() {
        var state = WatchState(lessons: [1], current: 1, debounce: 0.2)
        #expect(state.secondsUntilDue(now: 10) == nil)
        #expect(state.handle(.saved(at: 10)) == .ignore)
        #expect(state.handle(.tick(at: 10.1)) == .ignore)
        #expect(state.handle(.saved(at: 10.15)) == .ignore)
        #expect(abs((state.secondsUntilDue(now: 10.2) ?? -1) - 0.15) < 1e-9)
        #expect(state.handle(.tick(at: 10.3)) == .ignore)
        #expect(state.handle(.tick(at: 10.4)) == .recheck)
        #expect(state.handle(.tick(at: 11)) == .ignore, "one re-check per save")
        #expect(state.secondsUntilDue(now: 11) == nil)
        // A save during a run waits for the run's end: the run already builds what was saved
        // before it began; one saved meanwhile is re-checked after it.
        state.runStarted()
        _ = state.handle(.saved(at: 12))
        #expect(state.handle(.tick(at: 13)) == .ignore)
        _ = state.runEnded(verdict: nil)
        #expect(state.handle(.tick(at: 13)) == .recheck)
    }

    @Test("--manual says once that the code changed and re-checks only on r")
    func manual() {
        var state = WatchState(lessons: [1], current: 1, manual: true)
        #expect(state.handle(.saved(at: 1)) == .explain("Your code changed. Press r to re-check it."))
        #expect(state.handle(.saved(at: 2)) == .ignore)
        #expect(state.handle(.tick(at: 9)) == .ignore)
        #expect(state.secondsUntilDue(now: 9) == nil, "the loop sleeps until a key")
        #expect(state.handle(.key(.rerun)) == .rerun)
        state.runStarted()
        _ = state.runEnded(verdict: nil)
        #expect(state.handle(.saved(at: 20)) == .explain("Your code changed. Press r to re-check it."), "said again after a run")
    }

    @Test("a lesson passes 'now' once, when its verdict turns to pass")
    func passesNow() {
        var state = WatchState(lessons: [1, 2], current: 1, verdict: .ran(passed: 5, total: 6, firstFailing: 6))
        state.runStarted()
        #expect(state.runEnded(verdict: .ran(passed: 6, total: 6, firstFailing: nil)).passedNow)
        state.runStarted()
        #expect(!state.runEnded(verdict: .ran(passed: 6, total: 6, firstFailing: nil)).passedNow, "a pass again is no news")
        state.runStarted()
        #expect(!state.runEnded(verdict: nil).passedNow)
        state.switchTo(2)
        #expect(state.verdict == nil)
        state.runStarted()
        #expect(state.runEnded(verdict: .ran(passed: 4, total: 4, firstFailing: nil)).passedNow)
    }

    @Test("the progress line counts lessons that pass and graded parts")
    func progressLine() {
        let line = WatchProgress.line([(.passed, 6, 6), (.inProgress, 2, 5), (.notStarted, 0, 4)])
        #expect(line == "Progress: 1/3 lessons pass · 8/15 graded parts")
    }

    @Test("long compiler output is cut to its first lines, with a count of the lines and errors left out")
    func shortenedBuildOutput() {
        let lines = (1...30).map { $0 % 3 == 0 ? "Exercises/01-a/A.swift:\($0):1: error: e\($0)" : "  context \($0)" }
        let cut = BuildOutput.shortened(lines.joined(separator: "\n"), lines: 12)
        #expect(cut.split(separator: "\n").count == 13)
        #expect(cut.hasPrefix("  context 1\n"))
        #expect(cut.hasSuffix("… 18 more lines (6 more errors)"), "\(cut)")
        #expect(BuildOutput.shortened("one\ntwo", lines: 12) == "one\ntwo")
    }

    static let lesson = LessonInfo(number: 1, slug: "x", title: "X")
    static func result(_ part: Int, _ outcome: PartOutcome, graded: Bool = true) -> PartResult {
        PartResult(lesson: lesson, part: PartInfo(part, "p\(part)", graded: graded, hints: []), implementation: .exercise,
                   outcome: outcome, output: "", leftovers: [], seconds: 0)
    }

    @Test("the verdict counts graded parts; skipped and demonstration parts neither pass nor fail it")
    func verdict() {
        let results = [Self.result(1, .passed), Self.result(2, .notStarted(function: "f", location: "x:1")),
                       Self.result(3, .failed("no")), Self.result(4, .skipped("no python3")), Self.result(5, .failed("demo"), graded: false)]
        #expect(WatchVerdict.of(results) == .ran(passed: 1, total: 3, firstFailing: 2))
        #expect(WatchVerdict.of([Self.result(1, .passed), Self.result(2, .skipped("s"))]).passes)
        #expect(!WatchVerdict.of([]).passes)
    }

    @Test("build output: progress lines and SwiftPM's package notes go, paths become relative, repeats are dropped")
    func buildOutput() {
        let raw = """
            warning: 'shmlab': found 1 file(s) which are unhandled; explicitly declare them as resources or exclude from the target
                /pkg/Exercises/01-a/README.md
            Building for debugging...
            [0/4] Write sources
            [3/6] Compiling Exercises ForkAndMap.swift
            /pkg/Exercises/01-a/ForkAndMap.swift:15:5: error: expected expression
            13 |     func f() {
               |     `- error: expected expression

            /pkg/Exercises/01-a/ForkAndMap.swift:15:5: error: expected expression
            13 |     func f() {
               |     `- error: expected expression

            /pkg/Exercises/03-c/Other.swift:2:1: warning: unused
            error: fatalError
            """
        let shown = BuildOutput.forStudent(raw, root: "/pkg")
        #expect(shown == """
            Exercises/01-a/ForkAndMap.swift:15:5: error: expected expression
            13 |     func f() {
               |     `- error: expected expression

            Exercises/03-c/Other.swift:2:1: warning: unused
            """)
        #expect(BuildOutput.lessonsNamed(in: shown, folders: [(1, "01-a"), (2, "02-b"), (3, "03-c")]) == [1, 3])
    }

    static func state(_ modified: Int64, _ hash: UInt64) -> SourceState {
        SourceState(modified: modified, size: 10, inode: 1, hash: hash)
    }

    @Test("stale sources: saved during the build, saved after the compiler last ran, or (unknown) newer than the binary")
    func stale() {
        let before = SourceSnapshot(files: ["/a.swift": Self.state(100, 1), "/b.swift": Self.state(100, 2)])
        // A clean build: nothing changed, the compiler ran after the saves.
        #expect(StaleSources.find(builtFrom: before, now: before, binaryModified: 200, compiled: ["/a.swift": 150, "/b.swift": 150]).isEmpty)
        // Saved during the build: the content differs from what the build started with.
        let during = SourceSnapshot(files: ["/a.swift": Self.state(100, 9), "/b.swift": Self.state(100, 2)])
        #expect(StaleSources.find(builtFrom: before, now: during, binaryModified: 200, compiled: [:]) == ["/a.swift"])
        // The same-second trap as measured: the compiler did not run for b after it was saved.
        #expect(StaleSources.find(builtFrom: before, now: before, binaryModified: 200, compiled: ["/a.swift": 150, "/b.swift": 99]) == ["/b.swift"])
        // A comment edited: compiled after the save, but the object and the binary stayed as they were.
        #expect(StaleSources.find(builtFrom: before, now: before, binaryModified: 50, compiled: ["/a.swift": 150, "/b.swift": 150]).isEmpty)
        // Nothing known about compiling: newer than the binary is stale.
        #expect(StaleSources.find(builtFrom: before, now: before, binaryModified: 50, compiled: [:]) == ["/a.swift", "/b.swift"])
        // A new file.
        var added = before
        added.files["/c.swift"] = Self.state(100, 3)
        #expect(StaleSources.find(builtFrom: before, now: added, binaryModified: 200, compiled: [:]) == ["/c.swift"])
    }

    @Test("compile times come from the module's .d, .dia and .o files, the newest of them")
    func compileTimes() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sltest-bin-\(UUID().uuidString.prefix(6))").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createDirectory(atPath: dir + "/Exercise01.build", withIntermediateDirectories: true)
        for (name, seconds) in [("A.d", 10.0), ("A.dia", 30.0), ("A.swift.o", 20.0)] {
            let path = dir + "/Exercise01.build/" + name
            try Data().write(to: URL(fileURLWithPath: path))
            try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSince1970: seconds)], ofItemAtPath: path)
        }
        let times = StaleSources.compileTimes(for: ["/x/01-a/A.swift", "/x/01-a/B.swift"], binDir: dir)
        #expect(times == ["/x/01-a/A.swift": 30_000_000_000])
    }

    @Test("touching a second later gives a modification time in a later wall-clock second")
    func touchLater() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("sltest-touch-\(UUID().uuidString.prefix(6)).swift").path
        defer { unlink(path) }
        try Data("x".utf8).write(to: URL(fileURLWithPath: path))
        var info = stat()
        stat(path, &info)
        let before = info.st_mtim.tv_sec
        StaleSources.touchInLaterSecond([path])
        stat(path, &info)
        #expect(info.st_mtim.tv_sec > before)
    }

    @Test("the part hosts are beside the running lab in .build, even once it is replaced")
    func buildLocation() {
        let debug = BuildLocation.fromRunningLab(executable: "/p/.build/x86_64-unknown-linux-gnu/debug/lab (deleted)", root: "/p")
        #expect(debug == BuildLocation(directory: "/p/.build/x86_64-unknown-linux-gnu/debug", configuration: "debug"))
        #expect(debug?.host(LessonInfo(number: 3, slug: "x", title: "X")) == "/p/.build/x86_64-unknown-linux-gnu/debug/lab-lesson-03")
        #expect(BuildLocation.fromRunningLab(executable: "/p/.build/release/lab", root: "/p")?.configuration == "release")
        #expect(BuildLocation.fromRunningLab(executable: "/usr/local/bin/lab", root: "/p") == nil)
    }

    func temporaryFolder() throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sltest-watch-\(UUID().uuidString.prefix(6))").path
        try FileManager.default.createDirectory(atPath: dir + "/01-a", withIntermediateDirectories: true)
        try Data("a".utf8).write(to: URL(fileURLWithPath: dir + "/01-a/A.swift"))
        return dir
    }

    /// One look at the watcher that cannot miss what was written before it: inotify's events for
    /// writes that have returned are already queued (the kernel queues them inside the write), and
    /// a polling watcher is handed a time past its next scan. No waiting, so a "nothing changed"
    /// answer is a real answer, not a look that came too early.
    func lookNow(_ watcher: SourceWatcher, clock: inout Double) -> Bool {
        clock += 1
        return watcher.changed(now: clock)
    }

    @Test("inotify and polling both see a saved Swift file, in new folders too, and ignore other files", arguments: [false, true])
    func watcherSeesSwiftSources(poll: Bool) throws {
        let dir = try temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let watcher = SourceWatcher(folder: dir, poll: poll, interval: 0.05)
        #expect(watcher.modeDescription == (poll ? "polling every 0.05 s" : "inotify"))
        var clock = monotonicSeconds()
        try Data("b".utf8).write(to: URL(fileURLWithPath: dir + "/01-a/A.swift"))
        #expect(lookNow(watcher, clock: &clock))
        try Data("notes".utf8).write(to: URL(fileURLWithPath: dir + "/01-a/README.md"))
        try Data("swap".utf8).write(to: URL(fileURLWithPath: dir + "/01-a/.A.swift.swp"))
        #expect(!lookNow(watcher, clock: &clock))
        try FileManager.default.createDirectory(atPath: dir + "/02-b", withIntermediateDirectories: true)
        _ = lookNow(watcher, clock: &clock)   // the new folder itself: inotify starts watching it here
        try Data("c".utf8).write(to: URL(fileURLWithPath: dir + "/02-b/B.swift"))
        #expect(lookNow(watcher, clock: &clock))
    }
}
