import Foundation
import Glibc

/// `lab grade --exercises DIR`: grades a submission's `Exercises/` folder with this lab's own
/// checks. The submission's lesson folders are copied into a scratch copy of this package (its
/// `Package.swift`, `Sources` and `Solutions`: the instructor's, never the submission's), the
/// scratch lab is built and runs `lab grade` there. Afterwards every submission file that names
/// the lab's internals is listed: the channel a part reports on cannot be reached by accident,
/// but deliberately hostile code could still look for it, and this list is where it shows.
enum SubmissionGrade {
    /// Words that student code has no reason to contain: the lab's modules and its reporting.
    static let internals = ["LabKit", "import Lessons", "VerdictChannel", "VerdictRecord", "PartReport", "PartProcess",
                            "PartHost", "IsolatedRun", "@testable", "LAB_REPORT", "LAB_NONCE", "/proc/self/environ",
                            "/proc/self/fd", "Mutants0", "Solution0", "@_silgen_name", "dlsym"]

    static func run(_ directory: String, _ invocation: Invocation, _ session: LabSession) throws -> Int32 {
        let submission = absolute(directory)
        var info = stat()
        guard stat(submission, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR else {
            throw UsageError("--exercises takes the submission's Exercises folder; '\(directory)' is not a folder")
        }
        let lessons = session.visibleLessons
        let present = lessons.filter { access(submission + "/" + $0.info.folder, F_OK) == 0 }
        guard !present.isEmpty else {
            throw UsageError("'\(directory)' holds no lesson folder (01-fork-and-mmap, …): pass the submission's Exercises folder")
        }
        guard let swift = findOnPath("swift") else { throw LabError("grading a submission builds it with `swift build`, but `swift` is not on PATH") }

        let scratch = try makeScratchPackage(submission: submission, lessons: lessons, session: session)
        defer {
            removeTree(scratch)
            // SwiftPM leaves its lock files for a package in the temporary root, named after the
            // package's path ("/tmp/shmlab-grade-X/.build" → "_tmp_shmlab-grade-X_.build.lock"):
            // the builds of the scratch package (this one's, the scratch lab's) lock them there.
            let root = LeftoverSweep.systemTempRoot()
            let prefix = scratch.replacingOccurrences(of: "/", with: "_") + "_"
            for name in LeftoverSweep.list(root) where name.hasPrefix(prefix) { removeTree("\(root)/\(name)") }
        }
        session.out(session.style.dim("Building the submission with this lab's checks in \(scratch) …"))
        let temporaries = BuildTemporaries(package: scratch)
        defer { temporaries.remove() }
        let build = try ChildProcess.spawn(swift, ["build", "--package-path", scratch, "--product", "lab"],
                                           environment: temporaries.environment, output: .captureBoth, newProcessGroup: true)
        let (output, end) = build.collectOutput(timeout: 1200)
        guard end == .exited(0) else {
            throw LabError("the lab itself did not build in the scratch copy (\(end.map { "\($0)" } ?? "timed out")):\n"
                           + BuildOutput.shortened(BuildOutput.forStudent(String(decoding: output, as: UTF8.self), root: scratch)))
        }
        // The scratch lab grades; its own hosts are built lesson by lesson (one that does not
        // compile scores nothing and stops no other).
        var arguments = ["grade"]
        for name in ["solutions"] where invocation.has(name) { arguments.append("--\(name)") }
        for name in ["lesson"] { if let value = invocation.values[name] { arguments += ["--\(name)", value] } }
        for name in ["json", "junit"] { if let value = invocation.values[name] { arguments += ["--\(name)", absolute(value)] } }
        let lab = try ChildProcess.spawn(scratch + "/.build/debug/lab", arguments,
                                         environment: ["SHMLAB_ROOT": scratch, "SHMLAB_PROGRESS_DIR": scratch + "/.lab",
                                                       "SHMLAB_NO_BUILD": nil, "SHMLAB_HOSTS_DIR": nil, "SHMLAB_BUILD_COMMAND": nil],
                                         output: .inherit)
        let graded = lab.reap()

        let findings = scan(submission)
        session.out("")
        if findings.isEmpty {
            session.out(session.style.dim("No submission file names the lab's internals."))
        } else {
            session.out(session.style.yellow("These submission files name the lab's internals (read them before trusting the score):"))
            for finding in findings { session.out("  " + finding) }
        }
        if case .exited(let code) = graded { return Int32(code) }
        return ExitStatus.failure
    }

    /// A copy of this package with the submission's lesson folders as `Exercises/` (a lesson the
    /// submission lacks gets the untouched stub: not started).
    static func makeScratchPackage(submission: String, lessons: [LessonEntry], session: LabSession) throws -> String {
        var template = Array("\(LeftoverSweep.systemTempRoot())/shmlab-grade-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw SystemError("mkdtemp") }
        let scratch = String(cString: made)
        let files = FileManager.default
        do {
            for item in ["Package.swift", "Sources", "Solutions", "Tests"] {  // Tests: the manifest names its target
                try files.copyItem(atPath: PackagePaths.absolute(item), toPath: scratch + "/" + item)
            }
            for lesson in lessons {
                let target = scratch + "/Exercises/" + lesson.info.folder
                try files.createDirectory(atPath: target, withIntermediateDirectories: true)
                let theirs = submission + "/" + lesson.info.folder
                let swiftFiles = ((try? files.contentsOfDirectory(atPath: theirs)) ?? []).filter { $0.hasSuffix(".swift") }
                if swiftFiles.isEmpty {
                    for stub in session.pristine where stub.path.hasPrefix("Exercises/\(lesson.info.folder)/") {
                        try Data(stub.contents.utf8).write(to: URL(fileURLWithPath: scratch + "/" + stub.path))
                    }
                } else {
                    for file in swiftFiles { try files.copyItem(atPath: theirs + "/" + file, toPath: target + "/" + file) }
                }
                // The lesson text is excluded from the target by name; it is not graded.
                try Data().write(to: URL(fileURLWithPath: target + "/README.md"))
            }
        } catch {
            removeTree(scratch)
            throw LabError("could not make the scratch copy for grading: \(error)")
        }
        return scratch
    }

    /// "01-fork-and-mmap/ForkAndMap.swift:12: names VerdictChannel" for every line that names one
    /// of the lab's internals.
    static func scan(_ submission: String) -> [String] {
        var findings: [String] = []
        let files = FileManager.default
        guard let walker = files.enumerator(atPath: submission) else { return [] }
        for case let path as String in walker where path.hasSuffix(".swift") {
            guard let text = try? String(contentsOfFile: submission + "/" + path, encoding: .utf8) else { continue }
            for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
                for word in internals where line.contains(word) {
                    findings.append("\(path):\(index + 1): names \(word)")
                }
            }
        }
        return findings
    }

    static func absolute(_ path: String) -> String {
        path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
    }
}
