import Foundation
import Glibc
import LabKit
import Testing

/// The runner against parts that misbehave on purpose (the hidden lesson 00): each is classified
/// as it should be, the runner survives, and nothing is left behind.
@Suite("The runner classifies every kind of ending")
struct EngineFixtureTests {
    struct Fixture: CustomTestStringConvertible, Sendable {
        let part: Int
        let outcome: String
        let messageContains: String
        var testDescription: String { "fixture \(part) → \(outcome)" }
    }

    static let fixtures: [Fixture] = [
        Fixture(part: 1, outcome: "passed", messageContains: ""),
        Fixture(part: 2, outcome: "failed", messageContains: "expected: 4"),
        Fixture(part: 3, outcome: "crashed", messageContains: "SIGSEGV"),
        Fixture(part: 4, outcome: "crashed", messageContains: "SIGBUS"),
        Fixture(part: 5, outcome: "crashed", messageContains: "Swift runtime trap"),
        Fixture(part: 6, outcome: "timedOut", messageContains: "deadlock"),
        Fixture(part: 7, outcome: "exitedEarly", messageContains: "before reporting"),
        Fixture(part: 8, outcome: "exitedEarly", messageContains: "before reporting"),
        Fixture(part: 9, outcome: "passed", messageContains: ""),
        Fixture(part: 10, outcome: "failed", messageContains: "still running"),
        Fixture(part: 11, outcome: "failed", messageContains: "still running"),
        Fixture(part: 12, outcome: "failed", messageContains: "shmlab-fixture-leak"),
        Fixture(part: 13, outcome: "failed", messageContains: "shmlab-fixture-sem"),
        Fixture(part: 14, outcome: "notStarted", messageContains: "fixtureNotWrittenYet()"),
        Fixture(part: 15, outcome: "exitedEarly", messageContains: ""),
        Fixture(part: 30, outcome: "exitedEarly", messageContains: ""),
        Fixture(part: 31, outcome: "exitedEarly", messageContains: ""),
        Fixture(part: 32, outcome: "failed", messageContains: "report descriptor"),
        Fixture(part: 33, outcome: "timedOut", messageContains: ""),
        Fixture(part: 34, outcome: "timedOut", messageContains: ""),
        Fixture(part: 16, outcome: "skipped", messageContains: "always skips"),
        Fixture(part: 17, outcome: "exitedEarly", messageContains: ""),
        Fixture(part: 18, outcome: "timedOut", messageContains: "deadlock"),
        Fixture(part: 19, outcome: "notStarted", messageContains: "fixtureNotWrittenYet()"),
    ]

    @Test("a fixture part is classified correctly", arguments: fixtures)
    func classified(_ fixture: Fixture) throws {
        let shmBefore = Set(try FileManager.default.contentsOfDirectory(atPath: "/dev/shm"))
        let record = try LabBinary.check(lesson: 0, part: fixture.part, implementation: "solution")
        #expect(record.outcome == fixture.outcome, "\(record.outcome): \(record.message)")
        if !fixture.messageContains.isEmpty { #expect(record.message.contains(fixture.messageContains), "\(record.message)") }
        let shmAfter = Set(try FileManager.default.contentsOfDirectory(atPath: "/dev/shm"))
        #expect(shmAfter.subtracting(shmBefore).filter { $0.contains("fixture") }.isEmpty)
        // No process of this part survives it.
        let survivors = try FileManager.default.contentsOfDirectory(atPath: "/proc").compactMap { Int32($0) }.filter { pid in
            guard let cmdline = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return false }
            let args = String(decoding: cmdline, as: UTF8.self).split(separator: "\0")
            return args.count >= 3 && args[1] == "__part" && args[2] == "0" && args[3] == "\(fixture.part)"
        }
        #expect(survivors.isEmpty, "processes of fixture \(fixture.part) still running: \(survivors)")
    }

    @Test("the 100 MB fixture keeps only a bounded tail of the output")
    func outputIsCapped() throws {
        let record = try LabBinary.check(lesson: 0, part: 9, implementation: "solution")
        #expect(record.output.utf8.count <= IsolatedRun.outputCap + 100)
        #expect(record.output.contains("earlier bytes not kept"))
    }
}

/// A part that turns on its runner: the runner stays in charge, or the next one cleans up.
@Suite("The runner survives its part")
struct RunnerSurvivesTests {
    @Test("a part can neither join the runner's process group nor start a session of its own")
    func cannotLeaveItsSession() throws {
        for (part, call) in [(33, "setpgid into the runner's group"), (34, "setsid")] {
            let record = try LabBinary.check(lesson: 0, part: part, implementation: "solution")
            #expect(record.outcome == "timedOut", "\(record.outcome): \(record.message)")
            #expect(record.output.contains("\(call): refused (EPERM)"), "\(record.output)")
        }
    }

    @Test("what a part left when it killed its runner is removed by the next lab")
    func killedRunnerIsCleanedUp() throws {
        let lab = try LabSessionProcess(["check", "0", "--part", "35"], environment: ["SHMLAB_PROGRESS_DIR": LabBinary.scratchProgressDir])
        let runner = lab.process.processIdentifier
        _ = lab.finish(timeout: 60)
        #expect(lab.process.terminationReason == .uncaughtSignal, "the runner was not killed: \(lab.text)")
        // The part and its grandchild outlive the killed runner, and so does its temp folder...
        let orphans = processes(runner: { $0 == "\(runner)" })
        let root = FileManager.default.temporaryDirectory.path
        let folders = { ((try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []).filter { $0.hasPrefix("shmlab-part-\(runner)-") } }
        #expect(!orphans.isEmpty, "the fixture's processes were not found (LAB_RUNNER=\(runner))")
        // ...until the next lab runs a part.
        let next = try LabBinary.check(lesson: 0, part: 1, implementation: "solution")
        #expect(next.outcome == "passed", "\(next.message)")
        #expect(processes(runner: { $0 == "\(runner)" }).isEmpty, "still running")
        #expect(folders().isEmpty, "still there: \(folders())")
    }

    /// Live processes whose `LAB_RUNNER` matches.
    func processes(runner matches: (String) -> Bool) -> [Int32] {
        ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).compactMap { Int32($0) }.filter { pid in
            guard let environ = FileManager.default.contents(atPath: "/proc/\(pid)/environ") else { return false }
            let stat = String(decoding: FileManager.default.contents(atPath: "/proc/\(pid)/stat") ?? Data(), as: UTF8.self)
            if stat.split(separator: ")").last?.trimmingCharacters(in: .whitespaces).hasPrefix("Z") ?? true { return false }
            return environ.split(separator: 0).contains { entry in
                let text = String(decoding: entry, as: UTF8.self)
                return text.hasPrefix("LAB_RUNNER=") && matches(String(text.dropFirst("LAB_RUNNER=".count)))
            }
        }
    }
}

/// Ctrl-C while a part runs: the part's whole tree is killed, nothing is left, the lab exits 130.
@Suite("Interrupting the runner")
struct InterruptTests {
    @Test("SIGINT during a hanging part kills its tree, cleans up and exits 130")
    func interrupt() throws {
        let lab = try LabSessionProcess(["check", "0", "--part", "18", "--timeout", "60"], // hangs with a grandchild
                                        environment: ["SHMLAB_PROGRESS_DIR": LabBinary.scratchProgressDir])
        // Wait until the part process exists (its argv says so), then interrupt the runner.
        let deadline = Date().addingTimeInterval(20)
        var partSeen = false
        while Date() < deadline && !partSeen {
            partSeen = !partProcesses(lesson: "0", part: "18").isEmpty
            if !partSeen { usleep(10_000) }
        }
        #expect(partSeen, "the part process never appeared")
        kill(lab.process.processIdentifier, SIGINT)
        #expect(lab.finish(timeout: 60) == 130)
        #expect(lab.text.contains("interrupted"), "\(lab.text)")
        #expect(partProcesses(lesson: "0", part: "18").isEmpty)
    }

    @Test("SIGINT while waiting for another lab's part (the machine lock) exits 130 at once")
    func interruptWhileWaitingForTheLock() throws {
        // Hold the machine-wide part lock, as another lab running a part would.
        let lockFD = open("/dev/shm", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        #expect(lockFD >= 0)
        defer { Glibc.close(lockFD) }
        #expect(flock(lockFD, LOCK_EX) == 0)
        defer { flock(lockFD, LOCK_UN) }

        let lab = try LabSessionProcess(["check", "0", "--part", "1"], environment: ["SHMLAB_PROGRESS_DIR": LabBinary.scratchProgressDir])
        let process = lab.process
        // The lab opens /dev/shm to take the lock: once it holds that descriptor, it is waiting.
        let pid = process.processIdentifier
        let deadline = Date().addingTimeInterval(20)
        var waiting = false
        while Date() < deadline && !waiting {
            let fds = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd")) ?? []
            waiting = fds.contains { (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/fd/\($0)")) == "/dev/shm" }
            if !waiting { usleep(5_000) }
        }
        #expect(waiting, "the lab never opened /dev/shm to wait for the lock")
        kill(pid, SIGINT)
        // It must end while the lock is still held; if it does not within 10 s, free the lock so
        // that the test ends (and fails) instead of hanging.
        let stopBy = Date().addingTimeInterval(10)
        while process.isRunning && Date() < stopBy { usleep(5_000) }
        let endedWhileLocked = !process.isRunning
        if !endedWhileLocked { flock(lockFD, LOCK_UN) }
        let status = lab.finish(timeout: 60)
        #expect(endedWhileLocked, "the lab did not stop until the lock was free")
        #expect(status == 130)
        #expect(lab.text.contains("interrupted while waiting"), "\(lab.text)")
        #expect(partProcesses(lesson: "0", part: "1").isEmpty)
    }

    func partProcesses(lesson: String, part: String) -> [Int32] {
        ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).compactMap { Int32($0) }.filter { pid in
            guard let cmdline = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return false }
            let args = String(decoding: cmdline, as: UTF8.self).split(separator: "\0")
            guard args.count >= 4, args[1] == "__part", args[2] == Substring(lesson), args[3] == Substring(part) else { return false }
            // A zombie is already dead.
            let stat = String(decoding: FileManager.default.contents(atPath: "/proc/\(pid)/stat") ?? Data(), as: UTF8.self)
            return !(stat.split(separator: ")").last?.trimmingCharacters(in: .whitespaces).hasPrefix("Z") ?? false)
        }
    }
}
