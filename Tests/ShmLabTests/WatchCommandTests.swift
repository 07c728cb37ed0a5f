import Foundation
import Glibc
import LabKit
import Testing

/// `lab watch` through the built binary, on a scratch copy of the package. The build is
/// replaced (`SHMLAB_BUILD_COMMAND`) so the test never runs SwiftPM inside `swift test`; the
/// parts run for real with the built part hosts (`SHMLAB_HOSTS_DIR`).
@Suite("lab watch")
struct WatchCommandTests {
    /// A scratch package, a copy of the lab to "build", and the environment that wires them.
    struct Setup {
        let package: ScratchPackage
        let binary: String
        var environment: [String: String]

        init(build: String? = nil) throws {
            package = try ScratchPackage()
            // The part hosts as a build would leave them: lesson 01's a copy (its time is the
            // test's to set), the others links to the built ones.
            let hosts = package.root + "/hosts"
            try FileManager.default.createDirectory(atPath: hosts, withIntermediateDirectories: true)
            let built = URL(fileURLWithPath: LabBinary.path).deletingLastPathComponent().path
            for lesson in 0...9 {
                let name = "lab-lesson-0\(lesson)"
                if lesson == 1 {
                    try FileManager.default.copyItem(atPath: built + "/" + name, toPath: hosts + "/" + name)
                } else {
                    try FileManager.default.createSymbolicLink(atPath: hosts + "/" + name, withDestinationPath: built + "/" + name)
                }
            }
            binary = hosts + "/lab-lesson-01"
            environment = package.environment
            environment["SHMLAB_HOSTS_DIR"] = hosts
            environment["SHMLAB_NO_BUILD"] = "0"   // this lab builds, with the command below
            // A build that "relinks" the binary, the way a real one does.
            environment["SHMLAB_BUILD_COMMAND"] = build ?? "touch '\(binary)'"
        }

        var exerciseFile: String { LabBinary.pristine.first { $0.folder.hasPrefix("01-") }!.path }
    }

    @Test("says which watcher is active, runs the lesson, and quits on q with the terminal left alone")
    func startsAndQuits() throws {
        for (options, mode) in [([], "inotify"), (["--poll"], "polling every")] {
            let setup = try Setup()
            defer { setup.package.remove() }
            let watch = try LabSessionProcess(["watch", "1"] + options, environment: setup.environment)
            #expect(watch.waitFor("Watching Exercises/ with \(mode)"), "\(watch.text)")
            #expect(watch.text.contains("Lesson 01: not started"), "\(watch.text)")
            #expect(watch.text.contains("[todo] 1."))
            watch.send("q")
            #expect(watch.finish() == 0)
            #expect(watch.text.contains("Stopped watching."))
            #expect(!watch.text.contains("\u{1B}["), "no escape codes with NO_COLOR and no terminal")
        }
    }

    @Test("a saved change re-runs the lesson without a key; the same text saved again does not", arguments: [false, true])
    func rerunsOnSave(poll: Bool) throws {
        let setup = try Setup()
        defer { setup.package.remove() }
        let watch = try LabSessionProcess(["watch", "1"] + (poll ? ["--poll"] : []), environment: setup.environment)
        #expect(watch.waitFor("q quit"), "\(watch.text)")
        let before = watch.text.count
        let original = try #require(setup.package.read(setup.exerciseFile))
        try setup.package.write(setup.exerciseFile, original + "\n// a comment\n")
        #expect(watch.waitFor("ForkAndMap.swift changed", after: before, timeout: 60), "\(watch.text)")
        #expect(watch.waitFor("q quit", after: before), "\(watch.text)")
        // A file that is not Swift, then the same text again: no new run. Proof that the loop had
        // its chance: it reads the saved file to hash it when it handles the save, after both
        // writes (the kernel queued their events in order); a key it reads after that is answered
        // after anything handling the save printed (keys typed during a run are thrown away).
        let settled = watch.text.count
        let reads = try FileReads(folder: setup.package.root + "/Exercises/01-fork-and-mmap", name: "ForkAndMap.swift")
        try setup.package.write("Exercises/01-fork-and-mmap/notes.txt", "hello")
        try setup.package.write(setup.exerciseFile, original + "\n// a comment\n")
        #expect(reads.waitForRead(timeout: 60), "the watch never read the saved file: \(watch.text.dropFirst(settled))")
        watch.send("l")
        #expect(watch.waitFor("01  Fork and an anonymous shared block", after: settled), "\(watch.text)")
        #expect(!String(watch.text.dropFirst(settled)).contains("Building"), "\(watch.text.dropFirst(settled))")
        watch.send("q")
        #expect(watch.finish() == 0)
    }

    @Test("--manual notices a save, says so, and re-checks only on r")
    func manual() throws {
        let setup = try Setup()
        defer { setup.package.remove() }
        let watch = try LabSessionProcess(["watch", "1", "--manual"], environment: setup.environment)
        #expect(watch.waitFor("manual: press r to re-check"), "\(watch.text)")
        var mark = watch.text.count
        let original = try #require(setup.package.read(setup.exerciseFile))
        try setup.package.write(setup.exerciseFile, original + "\n// manual\n")
        #expect(watch.waitFor("Press r to re-check it.", after: mark), "\(watch.text)")
        // No re-check without r. Proof that nothing is scheduled: the loop sleeps in poll with no
        // time limit (a debounce timer would give it one), so only a new event can wake it; a key
        // it reads after that is answered after anything it printed before.
        #expect(WatchLoopProbe.waitUntilIdle(watch.process.processIdentifier, timeout: 60), "the loop never went idle: \(watch.text)")
        watch.send("l")
        #expect(watch.waitFor("01  Fork and an anonymous shared block", after: mark), "\(watch.text)")
        #expect(!String(watch.text.dropFirst(mark)).contains("Building"), "\(watch.text.dropFirst(mark))")
        // The list ends with a footer whose last line names the keys: the next mark goes after it,
        // or the re-run's wait for "q quit" would stop at this footer and q would come mid-run.
        let listed = try #require(watch.end(of: "01  Fork and an anonymous shared block", after: mark))
        #expect(watch.waitFor("q quit", after: listed), "\(watch.text)")
        mark = watch.text.count
        watch.send("r")
        #expect(watch.waitFor("Building", after: mark), "\(watch.text)")
        #expect(watch.waitFor("q quit", after: mark), "\(watch.text)")
        watch.send("q")
        #expect(watch.finish() == 0)
    }

    @Test("a compile error is shown with paths relative to the package and the lesson does not compile")
    func compileError() throws {
        var setup = try Setup()
        defer { setup.package.remove() }
        let root = setup.package.root
        setup.environment["SHMLAB_BUILD_COMMAND"] = """
            echo 'Building for debugging...'; echo '[3/6] Compiling Exercises ForkAndMap.swift'; \
            echo '\(root)/Exercises/01-fork-and-mmap/ForkAndMap.swift:14:9: error: cannot find x in scope'; exit 1
            """
        let watch = try LabSessionProcess(["watch", "1"], environment: setup.environment)
        #expect(watch.waitFor("q quit"), "\(watch.text)")
        watch.send("q")
        #expect(watch.finish() == 0)
        let text = watch.text
        #expect(text.contains("\nExercises/01-fork-and-mmap/ForkAndMap.swift:14:9: error: cannot find x in scope"), "\(text)")
        #expect(!text.contains(root + "/Exercises"), "paths are relative: \(text)")
        #expect(!text.contains("[3/6] Compiling"))
        #expect(text.contains("Lesson 01: does not compile"))
        #expect(!text.contains("failed"), "a compile error is not a failure of the parts: \(text)")
        let list = try LabBinary.run(["list"], environment: setup.environment)
        #expect(list.stdout.contains("does not compile"), "recorded in progress: \(list.stdout)")
        let overview = try LabBinary.run([], environment: setup.environment)
        #expect(overview.stdout.contains("Next: swift run lab watch 1"), "\(overview.stdout)")
    }

    @Test("a source newer than the binary after a build is touched a second later and rebuilt, never run silently")
    func staleBuild() throws {
        // This "build" never relinks: the binary stays older than the source.
        let setup = try Setup(build: "true")
        defer { setup.package.remove() }
        try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSince1970: 1_000_000_000)],
                                              ofItemAtPath: setup.binary)
        let file = setup.package.root + "/" + setup.exerciseFile
        try FileManager.default.setAttributes([.modificationDate: Date()], ofItemAtPath: file)
        let watch = try LabSessionProcess(["watch", "1"], environment: setup.environment)
        #expect(watch.waitFor("q quit"), "\(watch.text)")
        watch.send("q")
        _ = watch.finish()
        #expect(watch.text.contains("touching it a second later and rebuilding"), "\(watch.text)")
        #expect(watch.text.contains("warning: the build still does not include the latest save"), "\(watch.text)")
    }

    @Test("keys: n waits for a pass, h gives the next hint and remembers it, l lists, unknown keys do nothing")
    func keys() throws {
        let setup = try Setup()
        defer { setup.package.remove() }
        let watch = try LabSessionProcess(["watch", "1"], environment: setup.environment)
        #expect(watch.waitFor("q quit"), "\(watch.text)")
        var mark = watch.text.count
        watch.send("x")
        watch.send("n")
        #expect(watch.waitFor("n moves on once lesson 01 passes", after: mark), "\(watch.text)")
        mark = watch.text.count
        watch.send("h")
        #expect(watch.waitFor("(hint 1 of", after: mark), "\(watch.text)")
        mark = watch.text.count
        watch.send("h")
        #expect(watch.waitFor("(hint 2 of", after: mark), "\(watch.text)")
        mark = watch.text.count
        watch.send("l")
        #expect(watch.waitFor("01  Fork and an anonymous shared block", after: mark), "\(watch.text)")
        watch.send("q")
        #expect(watch.finish() == 0)
        let progress = try #require(FileManager.default.contents(atPath: setup.package.progress + "/progress.json"))
        #expect(String(decoding: progress, as: UTF8.self).contains("\"1.1\" : 2"))
    }

    /// A part host that only spins: each part it runs writes its pid to `part.pid` in the scratch
    /// package and then uses CPU until it is stopped (a busy loop is never a stall).
    static func spinningHost(_ setup: Setup) throws -> String {
        let pidFile = setup.package.root + "/part.pid"
        try? FileManager.default.removeItem(atPath: setup.binary)
        try "#!/bin/sh\necho $$ > '\(pidFile).new' && mv '\(pidFile).new' '\(pidFile)'\nwhile :; do :; done\n"
            .write(toFile: setup.binary, atomically: true, encoding: .utf8)
        chmod(setup.binary, 0o755)
        return pidFile
    }

    /// The pid a spinning part wrote, once it wrote one (removed, so the next run's is new); nil
    /// after `timeout` seconds of the lab's own time (waits for other labs' parts not counted).
    static func runningPart(_ pidFile: String, lab: LabSessionProcess, timeout: Double = 90) -> pid_t? {
        var limit = LabTimeLimit(seconds: timeout, for: lab.process.processIdentifier)
        while !limit.expired() {
            // Looks at the file every 10 ms on the test's thread (see FileReads.waitForRead).
            if let text = try? String(contentsOfFile: pidFile, encoding: .utf8), let pid = pid_t(text.trimmingCharacters(in: .whitespacesAndNewlines)) {
                try? FileManager.default.removeItem(atPath: pidFile)
                return pid
            }
            usleep(10_000)
        }
        return nil
    }

    @Test("during a run: a key says it waits for the run's end, r stops the part and runs again, q stops it and quits")
    func keysDuringRun() throws {
        let setup = try Setup()
        defer { setup.package.remove() }
        let pidFile = try Self.spinningHost(setup)
        let watch = try LabSessionProcess(["watch", "1"], environment: setup.environment)
        let first = try #require(Self.runningPart(pidFile, lab: watch), "no part started: \(watch.text)")
        var mark = watch.text.count
        watch.send("l")
        #expect(watch.waitFor("l: noted — list when this run ends", after: mark), "\(watch.text)")
        mark = watch.text.count
        watch.send("r")
        #expect(watch.waitFor("stopping…", after: mark), "\(watch.text)")
        #expect(watch.waitFor("Building", after: mark), "r starts the run again: \(watch.text)")
        let second = try #require(Self.runningPart(pidFile, lab: watch), "no part started again: \(watch.text)")
        #expect(kill(first, 0) != 0, "the first part (pid \(first)) was stopped")
        mark = watch.text.count
        watch.send("q")
        #expect(watch.finish() == 0, "\(watch.text)")
        #expect(watch.text.dropFirst(mark).contains("Stopped watching."), "\(watch.text)")
        #expect(!watch.text.contains("01  Fork and an anonymous shared block"), "the noted l gave way to r and q")
        #expect(kill(second, 0) != 0, "the second part (pid \(second)) was stopped and reaped")
        let progress = FileManager.default.contents(atPath: setup.package.progress + "/progress.json")
            .map { String(decoding: $0, as: UTF8.self) } ?? ""
        #expect(!progress.contains("timedOut") && !progress.contains("\"failed\""), "a stopped run records nothing: \(progress)")
    }

    @Test("t prints the lesson's text when there is no terminal to page it on; the progress line is on screen")
    func lessonText() throws {
        let setup = try Setup()
        defer { setup.package.remove() }
        let watch = try LabSessionProcess(["watch", "1"], environment: setup.environment)
        #expect(watch.waitFor("q quit"), "\(watch.text)")
        #expect(watch.text.contains("Progress: 0/"), "\(watch.text)")
        let mark = watch.text.count
        watch.send("t")
        #expect(watch.waitFor("# Lesson 01 — Fork and an anonymous shared block", after: mark), "\(watch.text)")
        #expect(watch.waitFor("q quit", after: mark), "\(watch.text)")
        watch.send("q")
        #expect(watch.finish() == 0)
    }

    @Test("SIGTERM stops watch mode with 130 and leaves nothing running")
    func terminated() throws {
        let setup = try Setup()
        defer { setup.package.remove() }
        let watch = try LabSessionProcess(["watch", "1"], environment: setup.environment)
        #expect(watch.waitFor("q quit"), "\(watch.text)")
        watch.process.terminate()
        #expect(watch.finish() == 130)
        #expect(watch.text.contains("stopped watching"))
    }
}

/// Reads of one file in a folder, as inotify reports them (`IN_ACCESS`): the watch loop reads a
/// source only to hash it, when it handles a save. The folder is watched, not the file, so an
/// editor's (or Foundation's) replace-by-rename does not lose the events.
final class FileReads {
    let fd: Int32
    let name: String

    init(folder: String, name: String) throws {
        self.name = name
        fd = inotify_init1(Int32(IN_NONBLOCK) | Int32(IN_CLOEXEC))
        guard fd >= 0, inotify_add_watch(fd, folder, UInt32(IN_ACCESS)) >= 0 else {
            throw LabBinaryError("inotify on \(folder): errno \(errno)")
        }
    }

    deinit { close(fd) }

    /// True once something read the file; false after `timeout` seconds.
    func waitForRead(timeout: Double) -> Bool {
        let deadline = monotonicSeconds() + timeout
        var buffer = [UInt8](repeating: 0, count: 4096)
        while monotonicSeconds() < deadline {
            // Waits on the inotify descriptor (at most 100 ms at a time) on the test's thread: a
            // synchronous test body holds it anyway, and nothing it waits for needs it.
            var entry = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            _ = poll(&entry, 1, 100)
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            var offset = 0
            while n > 0 && offset + 16 <= n {
                let length = buffer.withUnsafeBytes { Int($0.loadUnaligned(fromByteOffset: offset + 12, as: UInt32.self)) }
                let nameBytes = buffer[(offset + 16)..<min(n, offset + 16 + length)].prefix { $0 != 0 }
                if String(decoding: nameBytes, as: UTF8.self) == name { return true }
                offset += 16 + length
            }
        }
        return false
    }
}

/// What the watch loop is doing, from `/proc/PID/syscall` (its loop runs on the main thread).
enum WatchLoopProbe {
    /// True when the process sleeps in poll with no time limit: nothing is scheduled, only an
    /// event (a save, a key, a signal) can wake it.
    static func isIdle(_ pid: pid_t) -> Bool {
        guard ProcessInspection.state(of: pid) == "S",
              let data = FileManager.default.contents(atPath: "/proc/\(pid)/syscall") else { return false }
        let fields = String(decoding: data, as: UTF8.self).split(separator: " ")
        guard fields.count > 3, let number = Int(fields[0]),
              let argument = UInt64(fields[3].dropFirst(2), radix: 16) else { return false }
        #if arch(x86_64)
        let (poll, ppoll) = (7, 271)
        #else
        let (poll, ppoll) = (-1, 73)
        #endif
        if number == poll { return UInt32(truncatingIfNeeded: argument) == UInt32.max }  // timeout -1
        if number == ppoll { return argument == 0 }                                      // no timespec
        return false
    }

    /// Waits until `isIdle`; false after `timeout` seconds of the lab's own time.
    static func waitUntilIdle(_ pid: pid_t, timeout: Double) -> Bool {
        var limit = LabTimeLimit(seconds: timeout, for: pid)
        while !limit.expired() {
            if isIdle(pid) { return true }
            // Polls /proc every 10 ms on the test's thread (see FileReads.waitForRead).
            usleep(10_000)
        }
        return false
    }
}
