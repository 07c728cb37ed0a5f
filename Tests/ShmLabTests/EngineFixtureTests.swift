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
        // A crash names the line (Swift's backtracer) and, for a bad access, where the address lay.
        Fixture(part: 3, outcome: "crashed", messageContains: "SIGSEGV (Segmentation fault): bad memory access at 0x10 (in no mapping: a null pointer"),
        Fixture(part: 4, outcome: "crashed", messageContains: "which was mapped during the part; a SIGBUS there means the object behind it is shorter than the mapping"),
        Fixture(part: 5, outcome: "crashed", messageContains: "Swift runtime trap: Index out of range — at Sources/Lessons/Fixtures/EngineFixtures.swift:"),
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
        Fixture(part: 18, outcome: "timedOut", messageContains: "without using CPU: a deadlock"),   // declares a 60 s quiet window
        Fixture(part: 19, outcome: "notStarted", messageContains: "fixtureNotWrittenYet()"),
        Fixture(part: 20, outcome: "deadlocked", messageContains: "in futex wait on 0x"),
        Fixture(part: 21, outcome: "deadlocked", messageContains: "in futex wait on 0x"),
        Fixture(part: 22, outcome: "timedOut", messageContains: "timed out after 3 s"),
        Fixture(part: 23, outcome: "deadlocked", messageContains: "in wait4 for child"),
        Fixture(part: 24, outcome: "failed", messageContains: "crashed: arithmetic overflow — at Sources/Lessons/Fixtures/EngineFixtures.swift:"),
        Fixture(part: 25, outcome: "crashed", messageContains: "Swift runtime trap: arithmetic overflow — at Sources/Lessons/Fixtures/EngineFixtures.swift:"),
    ]

    @Test("a fixture part is classified correctly", arguments: fixtures)
    func classified(_ fixture: Fixture) throws {
        // /dev/shm and /proc are shared with the other cases, which run fixture parts (13 leaks a
        // semaphore on purpose) and grade lesson 00 meanwhile: both are read under this run's part
        // lock, when no part of its labs is in flight and each has been swept.
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

    @Test("a deadlock is reported within seconds, naming each process and the futex it waits on")
    func deadlocksAreNamed() throws {
        // One process that locks its own mutex twice.
        let alone = try LabBinary.check(lesson: 0, part: 20, implementation: "solution")
        let address = try #require(Self.mutexAddress(in: alone.output), "\(alone.output)")
        #expect(alone.outcome == "deadlocked", "\(alone.outcome): \(alone.message)")
        #expect(alone.message.contains("in futex wait on \(address) (FUTEX_WAIT"), "\(alone.message)")
        #expect(alone.message.contains("+0x0 in a MAP_SHARED anonymous mapping"), "\(alone.message)")
        #expect(alone.seconds < 5, "reported after \(alone.seconds) s")

        // Two children in lock order: each waits on a futex of the other's mutex (64 bytes
        // apart), while the part polls for their ends.
        let pair = try LabBinary.check(lesson: 0, part: 21, implementation: "solution")
        #expect(pair.outcome == "deadlocked", "\(pair.outcome): \(pair.message)")
        let futexLines = pair.message.split(separator: "\n").filter { $0.contains("in futex wait on 0x") }
        #expect(futexLines.count == 2, "\(pair.message)")
        #expect(Set(futexLines.map { $0.contains("+0x0 in") ? "first" : $0.contains("+0x40 in") ? "second" : "?" }) == ["first", "second"],
                "\(pair.message)")
        #expect(pair.seconds < 5, "reported after \(pair.seconds) s")

        // A child waits for the part's mutex; the part sleeps in waitpid for that child.
        let nested = try LabBinary.check(lesson: 0, part: 23, implementation: "solution")
        let held = try #require(Self.mutexAddress(in: nested.output), "\(nested.output)")
        #expect(nested.outcome == "deadlocked", "\(nested.outcome): \(nested.message)")
        #expect(nested.message.contains("in futex wait on \(held)"), "\(nested.message)")
        #expect(nested.message.contains("in wait4 for child"), "\(nested.message)")
    }

    @Test("a busy loop is a timeout, never a deadlock, and a healthy part comes nowhere near the window")
    func busyLoopIsATimeout() throws {
        let spin = try LabBinary.check(lesson: 0, part: 22, implementation: "solution")
        #expect(spin.outcome == "timedOut", "\(spin.outcome): \(spin.message)")
        #expect(spin.message.contains("a process kept using CPU to the end"), "\(spin.message)")
        #expect((spin.quietSeconds ?? 99) < 1, "a spinning part looked quiet for \(spin.quietSeconds ?? -1) s")
        let passing = try LabBinary.check(lesson: 0, part: 1, implementation: "solution")
        #expect(passing.outcome == "passed")
        #expect(passing.quietSeconds != nil)
    }

    @Test("a trap in a forked child and in a thread names the runtime's reason and the line, with little extra time")
    func trapsNameTheLine() throws {
        // The line of the overflow in EngineFixtures.overflowingByte(), read from the source.
        let source = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Sources/Lessons/Fixtures/EngineFixtures.swift")
        let lines = try String(contentsOf: source, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false)
        let line = try #require(lines.firstIndex { $0.contains("return byte + 1") }) + 1
        let expected = "arithmetic overflow — at Sources/Lessons/Fixtures/EngineFixtures.swift:\(line):"
        for part in [24, 25] {
            let record = try LabBinary.check(lesson: 0, part: part, implementation: "solution")
            #expect(record.message.contains(expected), "\(record.message)")
            #expect(record.message.contains("in static EngineFixtures.overflowingByte()"), "\(record.message)")
            #expect(!record.output.contains("Backtracing from"), "\(record.output)")
            // The backtracer costs ~0.2 s on this machine; far less than a second even under load.
            #expect(record.seconds < 3, "took \(record.seconds) s")
        }
    }

    /// "0x7f…" from the fixture's line "mutex at 0x7f…".
    static func mutexAddress(in output: String) -> String? {
        output.split(separator: "\n").first { $0.hasPrefix("mutex at 0x") }.map { String($0.dropFirst("mutex at ".count)) }
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
        let lab = try LabSessionProcess(["check", "0", "--part", "35"],
                                        environment: ["SHMLAB_PROGRESS_DIR": LabBinary.scratchProgressDir, "SHMLAB_FIXTURE_KILL_RUNNER": "1"])
        let runner = lab.process.processIdentifier
        _ = lab.finish(timeout: 60)
        #expect(lab.process.terminationReason == .uncaughtSignal, "the runner was not killed: \(lab.text)")
        // The part and its grandchild outlive the killed runner, and so does its temp folder, until
        // the next lab runs a part (another case's lab may be that next one: attributed by the
        // runner's pid only, what remains is counted after this case's own next run).
        let root = FileManager.default.temporaryDirectory.path
        let folders = { ((try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []).filter { $0.hasPrefix("shmlab-part-\(runner)-") } }
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

    /// Takes the user's part lock as another lab would ("lesson 03, part 4"), waiting while a lab
    /// of this test run holds it. This process's own labs stand still until it is taken
    /// (`RunSlots.close`): taking turns, they would hold it shared until the last of them ended.
    static func holdPartLock() throws -> PartLock {
        RunSlots.labs.close()
        defer { RunSlots.labs.reopen() }
        let deadline = Date().addingTimeInterval(120)
        while Date() < deadline {
            if let lock = PartLock.tryAcquire(for: "lesson 03, part 4", at: LabBinary.partLockPath) { return lock }
            usleep(20_000)
        }
        throw LabBinaryError("could not take \(LabBinary.partLockPath) within 120 s")
    }

    @Test("while another lab holds the part lock, the lab says whom it waits for, at once and again, and Ctrl-C exits 130")
    func interruptWhileWaitingForTheLock() throws {
        let lock = try Self.holdPartLock()
        var released = false
        defer { if !released { lock.release() } }
        let started = Date()
        let lab = try LabSessionProcess(["check", "0", "--part", "1"], environment: ["SHMLAB_PROGRESS_DIR": LabBinary.scratchProgressDir])
        let process = lab.process
        let line = "waiting for another lab's part (pid \(getpid()), lesson 03, part 4) — parts run one at a time"
        #expect(lab.waitFor(line, timeout: 20), "\(lab.text)")
        let firstSeen = Date().timeIntervalSince(started)
        // Not a terminal: the line comes again every 5 s, with the seconds counted.
        #expect(lab.waitFor(line + " · 5 s", timeout: 20), "\(lab.text)")
        kill(process.processIdentifier, SIGINT)
        // It must end while the lock is still held; if it does not within 10 s, free the lock so
        // that the test ends (and fails) instead of hanging.
        let stopBy = Date().addingTimeInterval(10)
        while process.isRunning && Date() < stopBy { usleep(5_000) }
        let endedWhileLocked = !process.isRunning
        if !endedWhileLocked { lock.release(); released = true }
        let status = lab.finish(timeout: 60)
        #expect(endedWhileLocked, "the lab did not stop until the lock was free")
        #expect(status == 130)
        #expect(lab.text.contains("interrupted while waiting"), "\(lab.text)")
        // Read under the lock (still this test's, or taken again if it had to let go): no lab runs
        // a part now, so a process of part 1 would be one this lab started.
        let left = endedWhileLocked ? PartProcesses.find(lesson: 0, part: 1)
            : try LabPartLock.whileHeld { PartProcesses.find(lesson: 0, part: 1) }
        #expect(left.isEmpty)
        // From the start of the lab process (its own start-up included) to the first line.
        #expect(firstSeen < 5, "the waiting line came \(firstSeen) s after the lab started")
    }

    @Test("with --json the waiting line goes to standard error only; the part runs once the lock is free")
    func waitingLineStaysOffStandardOutput() throws {
        let lock = try Self.holdPartLock()
        nonisolated(unsafe) var run: LabBinary.Run? = nil
        let done = DispatchSemaphore(value: 0)
        DispatchQueue.global().async {
            run = try? LabBinary.run(["check", "0", "--part", "1", "--json"], environment: ["SHMLAB_PROGRESS_DIR": LabBinary.scratchProgressDir])
            done.signal()
        }
        Thread.sleep(forTimeInterval: 2)       // the other lab's part, as long as it takes
        lock.release()
        #expect(done.wait(timeout: .now() + 60) == .success)
        let result = try #require(run)
        #expect(result.stderr.contains("waiting for another lab's part (pid \(getpid()), lesson 03, part 4)"), "\(result.stderr)")
        #expect(!result.stdout.contains("waiting"), "\(result.stdout)")
        let report = try JSONDecoder().decode(CheckReportRecord.self, from: Data(result.stdout.utf8))
        #expect(report.results.first?.outcome == "passed")
        #expect(access(LabBinary.partLockPath, F_OK) != 0 || PartLock.holder(at: LabBinary.partLockPath) != nil, "the lock file stays only while held")
    }
}
