import Foundation
import LabKit
import Synchronization
import Testing

/// The built `lab` executable beside this test bundle, run as a separate process (the tests never
/// fork: docs/ARCHITECTURE.md, "Platform facts").
enum LabBinary {
    /// `.build/<triple>/debug/lab`, found next to the test bundle.
    static var path: String {
        URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
            .deletingLastPathComponent().appendingPathComponent("lab").path
    }

    struct Run {
        let status: Int32
        let stdout: String
        let stderr: String

        /// Standard error without the lines about other labs: that this one waited for another
        /// lab's part, or removed what a killed lab left (tests run labs in parallel, and one of
        /// them kills its runner on purpose; whichever lab starts next sweeps up after it).
        var stderrWithoutWaits: String {
            stderr.split(separator: "\n", omittingEmptySubsequences: false)
                .filter { !$0.hasPrefix("waiting for another lab's part")
                    && !$0.hasPrefix("lab: removed what an earlier lab (killed before it could clean up) left behind") }
                .joined(separator: "\n")
        }
    }

    /// Runs `lab arguments…` to the end, with NO_COLOR set and progress kept in a private folder.
    ///
    /// Blocks the calling thread, which in a test is one of Swift Testing's cooperative threads,
    /// on purpose: synchronous test bodies run one per such thread (one per core), so at most that
    /// many labs are alive and polling for the machine lock at once, instead of every
    /// parameterized case together on a 2-core machine. Nothing this process needs to end the
    /// wait runs on those threads (the pipes are drained on Dispatch's threads, the exit is seen
    /// by Foundation's SIGCHLD handler), so the wait starves nothing; it only queues the next case.
    /// The same holds for the other process runs in these tests (`Python.run`, `parseJUnit`).
    /// That is also why a test that times something or holds the machine lock is not `async`: a
    /// suspended test can wait minutes for a thread back while these runs occupy them, which
    /// breaks its time limits, and a suspended holder of the machine lock would never get one
    /// (`LabPartLock.acquire`). The cases that only run a part and read its verdict are `async`
    /// through `checkOnOwnThread`, which runs this on a thread of its own.
    /// `executable` runs another program of the build instead (a part host).
    static func run(_ arguments: [String], environment: [String: String] = [:], executable: String? = nil) throws -> Run {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable ?? path)
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        env["NO_COLOR"] = "1"
        // Inside `swift test` the part hosts are already built, and SwiftPM's build lock is held.
        env["SHMLAB_NO_BUILD"] = "1"
        // The labs of this test run share a part lock of their own: labs elsewhere on the machine
        // (a student's, a check loop beside CI) cannot starve the tests that hold it.
        env["SHMLAB_PART_LOCK"] = LabBinary.partLockPath
        for (key, value) in environment { env[key] = value }
        process.environment = env
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try process.run()
        // Read both pipes concurrently so a chatty child never blocks on a full pipe.
        nonisolated(unsafe) var errData = Data()
        let group = DispatchGroup()
        group.enter()
        DispatchQueue.global().async {
            errData = err.fileHandleForReading.readDataToEndOfFile()
            group.leave()
        }
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        process.waitUntilExit()
        return Run(status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
                   stderr: String(decoding: errData, as: UTF8.self))
    }

    /// Runs one part through `lab check --json` on a thread of its own, at most `RunSlots.labs.width`
    /// labs of this test process at a time, and returns its record.
    ///
    /// For the many cases that only run a part and read its verdict (the proofs, the student's
    /// parts): most of a part's time is spent asleep — a deadlocked mutant is named only after
    /// its 1.5 s quiet window, a process waits for its peer — so one lab per core left the CPU
    /// idle more than half the time. The lab runs on a `Thread` of its own, not on one of Swift
    /// Testing's cooperative threads (one per core), and the test suspends meanwhile; the
    /// cooperative threads stay free for the synchronous tests (see `run` and
    /// `LabPartLock.acquire`, which never suspend), and nothing a lab needs to end runs on them.
    /// Parts with a /dev/shm of their own (the lab has `CAP_SYS_ADMIN`) run side by side; others
    /// still take the part lock one at a time, whatever the number of labs waiting for it.
    static func checkOnOwnThread(lesson: Int, part: Int, implementation: String) async throws -> PartResultRecord {
        try await RunSlots.labs.run { try check(lesson: lesson, part: part, implementation: implementation) }
    }

    /// Runs one part through `lab check --json` and returns its record.
    static func check(lesson: Int, part: Int, implementation: String, timeout: Double? = nil) throws -> PartResultRecord {
        var arguments = ["check", "\(lesson)", "--part", "\(part)", "--json"]
        switch implementation {
        case "solution": arguments.append("--solutions")
        case "exercise": break
        default: arguments += ["--mutant", String(implementation.dropFirst("mutant:".count))]
        }
        if let timeout { arguments += ["--timeout", "\(timeout)"] }
        let run = try self.run(arguments, environment: ["SHMLAB_PROGRESS_DIR": scratchProgressDir])
        let data = Data(run.stdout.utf8)
        guard let report = try? JSONDecoder().decode(CheckReportRecord.self, from: data), let record = report.results.first else {
            throw LabBinaryError("lab \(arguments.joined(separator: " ")) printed no result (status \(run.status)):\n\(run.stdout)\n\(run.stderr)")
        }
        return record
    }

    /// One scratch folder per test process (`/tmp/shmlab-tests-…`), removed when the process
    /// exits (an `atexit` handler): a test run leaves nothing in /tmp.
    static let scratchRoot: String = {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("shmlab-tests-\(UUID().uuidString.prefix(8))").path
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        ScratchCleanup.path = dir
        atexit { if let dir = ScratchCleanup.path { removeTree(dir) } }
        return dir
    }()

    /// The part lock of this test run's labs (`SHMLAB_PART_LOCK`).
    static let partLockPath: String = scratchRoot + "/parts.lock"

    /// Progress written by test runs goes here, not into the student's `.lab/`.
    static let scratchProgressDir: String = scratchRoot + "/progress"

    /// Whether the parameterized proof tests (the solution passes, each mutant is caught) take
    /// lesson `number`: every lesson, unless `SHMLAB_PROOF_LESSONS` lists some ("10" or "10,11").
    /// `swift test --filter` selects a test, not one argument of it:
    /// `SHMLAB_PROOF_LESSONS=10 swift test --filter LessonProofTests` proves lesson 10 alone.
    static func proves(_ number: Int) -> Bool {
        guard let list = ProcessInfo.processInfo.environment["SHMLAB_PROOF_LESSONS"], !list.isEmpty else { return true }
        return list.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }.contains(number)
    }

    /// The lessons, parts and mutants the binary knows (`lab __catalog`).
    static let catalog: CatalogRecord = {
        guard let run = try? run(["__catalog"]),
              let catalog = try? JSONDecoder().decode(CatalogRecord.self, from: Data(run.stdout.utf8)) else {
            fatalError("could not read the lab's catalog from \(path)")
        }
        return catalog
    }()
}

struct LabBinaryError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// One part of one lesson, as a test argument: "Lesson 02 › 3. attach reports the real size".
struct PartCase: CustomTestStringConvertible, Sendable, Hashable {
    let lesson: Int
    let part: Int
    let title: String
    let graded: Bool
    var testDescription: String { "Lesson \(lesson < 10 ? "0" : "")\(lesson) › \(part). \(title)" }

    /// Every part of every visible lesson (of the lessons `SHMLAB_PROOF_LESSONS` names, when set).
    static var all: [PartCase] {
        LabBinary.catalog.lessons.filter { !$0.hidden && LabBinary.proves($0.number) }.flatMap { lesson in
            lesson.parts.map { PartCase(lesson: lesson.number, part: $0.number, title: $0.title, graded: $0.graded) }
        }
    }
}

/// One mutant and one part that must catch it.
struct MutantCase: CustomTestStringConvertible, Sendable, Hashable {
    let lesson: Int
    let mutant: String
    let mistake: String
    let part: Int
    /// What the student with this mistake should be told.
    let outcome: PartOutcome.Kind
    var testDescription: String { "Lesson \(lesson < 10 ? "0" : "")\(lesson) › mutant \(mutant) › caught by part \(part)" }

    static var all: [MutantCase] {
        LabBinary.catalog.lessons.filter { !$0.hidden && LabBinary.proves($0.number) }.flatMap { lesson in
            lesson.mutants.flatMap { mutant in
                mutant.catches.map {
                    MutantCase(lesson: lesson.number, mutant: mutant.name, mistake: mutant.mistake,
                               part: $0.part, outcome: $0.outcome)
                }
            }
        }
    }
}

/// What the `atexit` handler removes (a C function pointer cannot capture it).
enum ScratchCleanup {
    nonisolated(unsafe) static var path: String?
}

/// Runs blocking jobs on threads of their own for async tests: at most `width` at a time, the
/// others queued in the order they came while their tests stay suspended (no thread blocked); and
/// a gate that a synchronous test closes while it needs this process's labs to stand still.
///
/// A job is started on a new `Thread` by whoever lets it in (the test that queued it, a job that
/// ended, or the test that opened the gate), never by a task that would first need a cooperative
/// thread to run again: those threads may all be blocked in `close`, waiting for the jobs to end.
///
/// Why the gate: a test that takes the lab's lock exclusively (`LabPartLock.acquire`, the part
/// lock in `EngineFixtureTests.holdPartLock`) waits until no part holds it shared. With several
/// labs of this process starting parts one after another, there is always one holding it, and the
/// exclusive taker could wait until the last proof ended. So it closes the gate first: no job of
/// this process starts, and it waits (blocking, a few seconds at most) for those running to end.
final class RunSlots: Sendable {
    /// The labs `LabBinary.checkOnOwnThread` runs at once: two per core, since most of a part's
    /// time is spent asleep.
    static let labs = RunSlots(width: max(2, 2 * ProcessInfo.processInfo.activeProcessorCount))

    let width: Int
    private struct State {
        var running = 0
        /// Synchronous tests that closed the gate and have not reopened it.
        var closers = 0
        var waiting: [@Sendable () -> Void] = []

        /// Takes the jobs that may start now.
        mutating func admitted(width: Int) -> [@Sendable () -> Void] {
            var admitted: [@Sendable () -> Void] = []
            while closers == 0 && running < width && !waiting.isEmpty {
                running += 1
                admitted.append(waiting.removeFirst())
            }
            return admitted
        }
    }
    private let state = Mutex(State())

    init(width: Int) {
        self.width = width
    }

    /// Runs `body` on a thread of its own once a slot is free and the gate is open.
    func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            let job: @Sendable () -> Void = {
                let result = Result { try body() }
                self.ended()
                continuation.resume(with: result)
            }
            start(state.withLock { state in
                state.waiting.append(job)
                return state.admitted(width: width)
            })
        }
    }

    private func ended() {
        start(state.withLock { state in
            state.running -= 1
            return state.admitted(width: width)
        })
    }

    private func start(_ jobs: [@Sendable () -> Void]) {
        for job in jobs { Thread(block: job).start() }
    }

    /// Closes the gate and blocks the calling thread until no job of this process runs.
    func close() {
        state.withLock { $0.closers += 1 }
        while state.withLock({ $0.running > 0 }) { usleep(10_000) }
    }

    /// Opens the gate again (once per `close`).
    func reopen() {
        start(state.withLock { state in
            state.closers -= 1
            return state.admitted(width: width)
        })
    }
}
