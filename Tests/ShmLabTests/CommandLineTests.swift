import Foundation
import Testing

/// The built `lab` binary: exact output and exit status for what a user types.
@Suite("The lab command line")
struct CommandLineTests {
    @Test("usage errors exit 64 with Error:, Usage: and a pointer to --help")
    func usageErrors() throws {
        for arguments in [["check", "99"], ["check", "1", "--bogus"], ["check", "1", "--part"], ["check", "1", "--part", "9"],
                          ["show", "nope"], ["check", "1", "--timeout", "-3"], ["frobnicate"]] {
            let run = try LabBinary.run(arguments)
            #expect(run.status == 64, "lab \(arguments.joined(separator: " ")) → \(run.status)")
            #expect(run.stderr.hasPrefix("Error: "), "\(run.stderr)")
            #expect(run.stderr.contains("Usage: lab"), "\(run.stderr)")
            #expect(run.stderr.contains("--help"), "\(run.stderr)")
            #expect(run.stdout.isEmpty)
        }
    }

    @Test("the exact usage error for an unknown lesson")
    func unknownLessonExactly() throws {
        let run = try LabBinary.run(["check", "99"])
        #expect(run.stderr.split(separator: "\n").first == "Error: unknown lesson '99' (lessons: \(lessonList), by number or name)")
    }

    var lessonList: String {
        LabBinary.catalog.lessons.filter { !$0.hidden }.map { $0.number < 10 ? "0\($0.number)" : "\($0.number)" }.joined(separator: ", ")
    }

    @Test("--help prints help on stdout and exits 0, for the tool and every command")
    func help() throws {
        let tool = try LabBinary.run(["--help"])
        #expect(tool.status == 0)
        #expect(tool.stdout.hasPrefix("OVERVIEW: ShmLab"))
        for command in ["overview", "list", "show", "check", "hint"] {
            let run = try LabBinary.run([command, "--help"])
            #expect(run.status == 0)
            #expect(run.stdout.contains("USAGE: lab \(command)"), "\(command): \(run.stdout)")
            #expect(run.stderr.isEmpty)
        }
    }

    @Test("--version")
    func version() throws {
        let run = try LabBinary.run(["--version"])
        #expect(run.status == 0)
        #expect(run.stdout.hasPrefix("ShmLab "))
    }

    @Test("lessons are found by number, zero-padded number or name")
    func lessonNames() throws {
        for name in ["1", "01", "fork-and-mmap", "01-fork-and-mmap"] {
            let run = try LabBinary.run(["check", name, "--part", "1", "--solutions"], environment: ["SHMLAB_PROGRESS_DIR": LabBinary.scratchProgressDir])
            #expect(run.status == 0, "\(name): \(run.stderr)")
        }
    }

    @Test("without a tty or with NO_COLOR there are no escape codes")
    func noColour() throws {
        let run = try LabBinary.run(["check", "1", "--solutions", "--part", "1"], environment: ["SHMLAB_PROGRESS_DIR": LabBinary.scratchProgressDir])
        #expect(!run.stdout.contains("\u{1B}["))
        #expect(run.stdout.contains("[pass] 1."))
    }

    @Test("the overview lists the lessons and says what to do next")
    func overview() throws {
        let run = try LabBinary.run([], environment: ["SHMLAB_PROGRESS_DIR": LabBinary.scratchProgressDir + "-overview"])
        #expect(run.status == 0)
        #expect(run.stdout.contains("01  Fork and an anonymous shared block"))
        #expect(run.stdout.contains("Next: "))
        #expect(!run.stdout.contains("Engine fixtures"))
    }
}
