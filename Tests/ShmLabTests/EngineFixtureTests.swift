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
        Fixture(part: 16, outcome: "skipped", messageContains: "always skips"),
        Fixture(part: 17, outcome: "exitedEarly", messageContains: ""),
        Fixture(part: 18, outcome: "timedOut", messageContains: "deadlock"),
        Fixture(part: 19, outcome: "notStarted", messageContains: "fixtureNotWrittenYet()"),
    ]

    @Test("a fixture part is classified correctly", arguments: fixtures)
    func classified(_ fixture: Fixture) throws {
        // /dev/shm and /proc are shared with the other cases, which run fixture parts (13 leaks a
        // semaphore on purpose) and grade lesson 00 meanwhile: both are read under the lab's lock,
        // when no part of any lab is in flight and each has been swept.
        let shmBefore = try LabPartLock.whileHeld { try Self.sharedMemoryNames() }
        let record = try LabBinary.check(lesson: 0, part: fixture.part, implementation: "solution")
        #expect(record.outcome == fixture.outcome, "\(record.outcome): \(record.message)")
        if !fixture.messageContains.isEmpty { #expect(record.message.contains(fixture.messageContains), "\(record.message)") }
        try LabPartLock.whileHeld {
            let shmAfter = try Self.sharedMemoryNames()
            #expect(shmAfter.subtracting(shmBefore).filter { $0.contains("fixture") }.isEmpty)
            // No process of this part survives it (no lab's part of it runs now, so any is a survivor).
            let survivors = PartProcesses.find(lesson: 0, part: fixture.part, includingZombies: true)
            #expect(survivors.isEmpty, "processes of fixture \(fixture.part) still running: \(survivors)")
        }
    }

    static func sharedMemoryNames() throws -> Set<String> {
        Set(try FileManager.default.contentsOfDirectory(atPath: "/dev/shm"))
    }

    @Test("the 100 MB fixture keeps only a bounded tail of the output")
    func outputIsCapped() throws {
        let record = try LabBinary.check(lesson: 0, part: 9, implementation: "solution")
        #expect(record.output.utf8.count <= IsolatedRun.outputCap + 100)
        #expect(record.output.contains("earlier bytes not kept"))
    }
}

/// Ctrl-C while a part runs: the part's whole tree is killed, nothing is left, the lab exits 130.
@Suite("Interrupting the runner")
struct InterruptTests {
    @Test("SIGINT during a hanging part kills its tree, cleans up and exits 130")
    func interrupt() throws {
        let lab = try LabSessionProcess(["check", "0", "--part", "18", "--timeout", "60"], // hangs with a grandchild
                                        environment: ["SHMLAB_PROGRESS_DIR": LabBinary.scratchProgressDir])
        let labPID = lab.process.processIdentifier
        // Wait until this lab's part process exists (its argv says so, and its parent is this lab:
        // other cases run part 18 too), then interrupt the runner. Time the lab spends waiting for
        // the lock while other cases' parts run is not its own and does not count.
        var limit = LabTimeLimit(seconds: 20, for: labPID)
        var partSeen = false
        while !partSeen && !limit.expired() {
            partSeen = PartProcesses.find(lesson: 0, part: 18).contains { PartProcesses.parent(of: $0) == labPID }
            // Blocks this cooperative thread 10 ms at a time rather than awaiting: a suspended
            // test may not get a thread back for minutes (the others may all be blocked in `lab`
            // runs), and that time would count against the limit.
            if !partSeen { usleep(10_000) }
        }
        #expect(partSeen, "the part process never appeared")
        kill(labPID, SIGINT)
        #expect(lab.finish(timeout: 60) == 130)
        #expect(lab.text.contains("interrupted"), "\(lab.text)")
        // Under the lock no lab runs a part: any process of part 18 is one this lab left.
        let left = try LabPartLock.whileHeld { PartProcesses.find(lesson: 0, part: 18) }
        #expect(left.isEmpty)
    }

    @Test("SIGINT while waiting for another lab's part (the machine lock) exits 130 at once")
    func interruptWhileWaitingForTheLock() throws {
        // Hold the machine-wide part lock, as another lab running a part would.
        let hold = try LabPartLock.acquire()
        defer { hold.release() }

        let lab = try LabSessionProcess(["check", "0", "--part", "1"], environment: ["SHMLAB_PROGRESS_DIR": LabBinary.scratchProgressDir])
        let process = lab.process
        // The lab opens /dev/shm to take the lock: once it holds that descriptor, it is waiting.
        // (This test holds the lock, so no time here is spent waiting for anyone else's part.)
        let pid = process.processIdentifier
        let deadline = Date().addingTimeInterval(20)
        var waiting = false
        while Date() < deadline && !waiting {
            let fds = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd")) ?? []
            waiting = fds.contains { (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/fd/\($0)")) == "/dev/shm" }
            // Blocks, never suspends, while holding the lock: see LabPartLock.acquire.
            if !waiting { usleep(5_000) }
        }
        #expect(waiting, "the lab never opened /dev/shm to wait for the lock")
        kill(pid, SIGINT)
        // It must end while the lock is still held; if it does not within 10 s, free the lock so
        // that the test ends (and fails) instead of hanging.
        let stopBy = Date().addingTimeInterval(10)
        while process.isRunning && Date() < stopBy { usleep(5_000) }
        let endedWhileLocked = !process.isRunning
        if !endedWhileLocked { hold.release() }
        let status = lab.finish(timeout: 60)
        #expect(endedWhileLocked, "the lab did not stop until the lock was free")
        #expect(status == 130)
        #expect(lab.text.contains("interrupted while waiting"), "\(lab.text)")
        // Read under the lock (still this test's, or taken again if it had to let go): no lab runs
        // a part now, so a process of part 1 would be one this lab started.
        let started = endedWhileLocked ? PartProcesses.find(lesson: 0, part: 1)
            : try LabPartLock.whileHeld { PartProcesses.find(lesson: 0, part: 1) }
        #expect(started.isEmpty)
    }
}
