import Foundation
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
            environment["SHMLAB_NO_BUILD"] = nil
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
        // The same text again, and a file that is not Swift: no new run.
        let settled = watch.text.count
        try setup.package.write(setup.exerciseFile, original + "\n// a comment\n")
        try setup.package.write("Exercises/01-fork-and-mmap/notes.txt", "hello")
        Thread.sleep(forTimeInterval: 1.5)
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
        Thread.sleep(forTimeInterval: 1)
        #expect(!String(watch.text.dropFirst(mark)).contains("Building"))
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
