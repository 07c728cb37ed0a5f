import CShmLab
import Glibc

/// The result of one part run in its own process.
public struct PartResult: Sendable {
    public let lesson: LessonInfo
    public let part: PartInfo
    public let implementation: Implementation
    public let outcome: PartOutcome
    /// The tail of what the part printed (standard output and error together).
    public let output: String
    /// What the part left behind; it has been removed.
    public let leftovers: [Leftover]
    public let seconds: Double
    /// The longest stretch in which every process of the part slept using no CPU (see `StallWatch`).
    public var longestQuiet: Double = 0
    /// A key stopped the part before it ended (watch mode's q or r): the outcome says nothing
    /// about the code, and nothing of it is recorded.
    public var stoppedByKey = false
}

/// What to run: one part of one lesson against one implementation.
public struct PartRequest: Sendable {
    public let lesson: LessonInfo
    public let part: PartInfo
    public let implementation: Implementation
    /// Seconds before the part is stopped (the backstop for a part that never sleeps).
    public let timeout: Double
    /// Seconds of every process asleep without CPU before the part is stopped as deadlocked.
    public let quietWindow: Double
    /// What the part's generated inputs are drawn from (`LAB_SEED`); the same seed gives the
    /// same inputs, so `lab check --seed N` repeats a failure.
    public let seed: UInt64

    public init(lesson: LessonInfo, part: PartInfo, implementation: Implementation, timeout: Double? = nil,
                seed: UInt64? = nil) {
        self.seed = seed ?? PartSeed.fresh()
        self.lesson = lesson
        self.part = part
        self.implementation = implementation
        self.timeout = timeout ?? part.timeout ?? lesson.defaultTimeout
        self.quietWindow = part.quietWindow ?? StallWatch.defaultWindow
    }
}

/// Runs a part in a child process of the lab (`lab __part …`) and classifies how it ended.
///
/// The child gets its own process group, stdin from /dev/null, stdout and stderr into one pipe
/// (the last `outputCap` bytes are kept), the report pipe as descriptor 3 and a nonce, and Swift's
/// backtracer set to write a JSON report of any crash into a folder of the part's
/// (`CrashReport`): a crash is reported with the runtime's reason and the first frame in `Exercises/`. Parts run one at a time across every lab process of the user
/// (`PartLock`), so what of the user's appears in /dev/shm during a part is the part's. A part
/// whose processes all sleep without CPU for its quiet window is stopped as deadlocked
/// (`StallWatch`); the timeout stays as the backstop for parts that never sleep.
public enum IsolatedRun {
    /// Bytes of output kept; the rest is counted and dropped.
    public static let outputCap = 64 * 1024
    /// How the failure of a part that never started begins (the lab could not spawn its process).
    public static let couldNotStart = "the lab could not start the part"
    /// The failure of a part a key stopped (never shown as a verdict on the code).
    public static let stoppedByKey = "stopped before it ended (a key asked for it)"

    /// Runs `request` with the executable at `executable` (normally this one). `keys` may stop it.
    public static func run(_ request: PartRequest, executable: String = currentExecutablePath(),
                           keys: StopKeys? = nil) -> PartResult {
        let run = runHidden(["__part", "\(request.lesson.number)", "\(request.part.number)", request.implementation.description],
                            timeout: request.timeout, quietWindow: request.quietWindow,
                            environment: [PartSeed.variable: "\(request.seed)"], executable: executable,
                            stopped: "part \(request.part.number) of lesson \(request.lesson.twoDigits)", keys: keys)
        let output = withoutBacktracerLines(run.output)
        let outcome: PartOutcome
        if let error = run.couldNotStart {
            outcome = .failed("\(couldNotStart): \(error)")
        } else if run.stoppedByKey {
            outcome = .failed(stoppedByKey)
        } else if run.reportFlooded {
            outcome = .failed("the part wrote more than \(PartWatch.reportCap >> 20) MiB to the lab's report descriptor, "
                              + "which only the lab writes to (a few lines per part); its verdict is not trusted")
        } else {
            outcome = classify(records: run.records, end: run.end, childPID: run.pid, timedOut: run.timedOut,
                               request: request, leftovers: run.leftovers, output: output, stalled: run.stalled,
                               quietAtEnd: run.quietAtEnd, crashes: run.crashes)
        }
        return PartResult(lesson: request.lesson, part: request.part, implementation: request.implementation,
                          outcome: outcome, output: output, leftovers: run.leftovers, seconds: run.seconds,
                          longestQuiet: run.longestQuiet, stoppedByKey: run.stoppedByKey)
    }

    /// How a hidden sub-command run in its own process ended: what it reported, how it exited,
    /// what it printed and what it left behind (already removed).
    public struct HiddenRun {
        public let records: [VerdictRecord]
        public let end: ProcessEnd
        public let pid: pid_t
        public let timedOut: Bool
        /// When every process slept without CPU for the quiet window (and no verdict had come):
        /// what each was waiting in, looked at before the part was stopped.
        public let stalled: String?
        /// The longest stretch in which every process slept without CPU, and the one at the end.
        public let longestQuiet: Double
        public let quietAtEnd: Double
        /// The tail of standard output and error together.
        public let output: String
        public let leftovers: [Leftover]
        public let seconds: Double
        /// Why the process could not be started at all (then nothing else is meaningful).
        public let couldNotStart: String?
        /// The process wrote more to the report descriptor than the lab ever does.
        public var reportFlooded = false
        /// What Swift's backtracer wrote about each process of it that crashed.
        public var crashes: [CrashReport] = []
        /// A key stopped it (watch mode's q or r).
        public var stoppedByKey = false
    }

    /// Runs `lab ARGUMENTS…` (a hidden sub-command: `__part`, `__peer`) the way a part runs: its
    /// own process group, the report pipe, a private TMPDIR, one at a time for the user, stopped
    /// after `timeout` seconds (or, with a `quietWindow`, once every process of it slept that long
    /// without CPU), and everything it left behind swept. `stopped` names it in the message
    /// printed when the user interrupts. `environment` is added to the lab's own variables. `keys`
    /// may stop it (then it is swept as after Ctrl-C, and the lab goes on).
    public static func runHidden(_ arguments: [String], timeout: Double, quietWindow: Double? = nil,
                                 environment: [String: String] = [:],
                                 executable: String = currentExecutablePath(), stopped: String,
                                 keys: StopKeys? = nil) -> HiddenRun {
        Interruption.install()
        Subreaper.become()
        // With a /dev/shm of its own the part cannot be confused with another lab's: shared lock.
        let privateSharedMemory = PrivateSharedMemory.isAvailable
        let waitStarted = monotonicSeconds()
        guard let lock = PartLock.acquire(for: PartLock.activity(of: arguments), shared: privateSharedMemory, keys: keys) else {
            // A key stopped the wait for another lab's part: nothing was started.
            return HiddenRun(records: [], end: .exited(-1), pid: 0, timedOut: false, stalled: nil, longestQuiet: 0, quietAtEnd: 0,
                             output: "", leftovers: [], seconds: monotonicSeconds() - waitStarted, couldNotStart: nil,
                             stoppedByKey: true)
        }
        defer { lock.release() }
        let started = monotonicSeconds()
        let abandoned = LeftoverSweep.sweepAbandoned()
        if !abandoned.isEmpty {
            Console.err("lab: removed what an earlier lab (killed before it could clean up) left behind: "
                        + abandoned.map(\.description).joined(separator: "; ") + "\n")
        }
        let sweep = LeftoverSweep(machineWide: !privateSharedMemory)
        let madeTemp = LeftoverSweep.makeRunnerFolder()
        let crashDirectory = CrashReport.makeDirectory()
        let nonce = randomNonce()

        func couldNotStart(_ error: Error) -> HiddenRun {
            // Every descriptor made so far had an owner, which closed it on the way out.
            if let madeTemp { removeTree(madeTemp) }
            if let crashDirectory { removeTree(crashDirectory) }
            return HiddenRun(records: [], end: .exited(-1), pid: 0, timedOut: false, stalled: nil, longestQuiet: 0, quietAtEnd: 0,
                             output: "", leftovers: [], seconds: monotonicSeconds() - started, couldNotStart: "\(error)")
        }
        // Without a folder of its own the part cannot run: the sweep empties the part's TMPDIR.
        guard let partTemp = madeTemp else {
            return couldNotStart(SystemError("mkdtemp", object: LeftoverSweep.systemTempRoot()))
        }
        let report: OwnedPipe
        do { report = try OwnedPipe() } catch { return couldNotStart(error) }
        let child: ChildProcess
        do {
            // The nonce travels in a pipe the part reads and closes before any student code runs.
            let noncePipe = try VerdictChannel.noncePipe(nonce)
            let handOver = VerdictChannel.handOver(report: report.write, nonce: noncePipe)
            child = try ChildProcess.spawn(
                executable, arguments,
                environment: ["SWIFT_BACKTRACE": "enable=no", "TMPDIR": partTemp, "NO_COLOR": "1",
                              LeftoverSweep.runnerVariable: "\(getpid())"]
                    .merging(privateSharedMemory ? [PrivateSharedMemory.variable: "1"] : [:]) { $1 }
                    .merging(environment) { $1 }
                    .merging(crashDirectory.map(CrashReport.environment(directory:)) ?? [:]) { $1 }
                    .merging(handOver.environment) { $1 },
                output: .captureBoth, newSession: true,
                handOver: handOver.descriptors)
            noncePipe.close()
        } catch {
            return couldNotStart(error)
        }
        report.write.close()      // the child's copy is the only writer now
        var watch = PartWatch(output: child.takeOutput(), report: report.read)
        let deadline = started + timeout
        var timedOut = false
        var interrupted = false
        var stoppedByKey = false
        var stalled: String? = nil
        let runner = getpid()
        var stall = quietWindow.map { StallWatch(window: $0, now: monotonicSeconds()) }
        var nextLook = monotonicSeconds() + StallWatch.lookInterval
        var bytesAtLastLook = 0
        while child.reapIfEnded() == nil {
            let now = monotonicSeconds()
            let remaining = deadline - now
            if remaining <= 0 { timedOut = true; break }
            if stall != nil && now >= nextLook {
                nextLook = now + StallWatch.lookInterval
                let activity = watch.bytesRead != bytesAtLastLook
                bytesAtLastLook = watch.bytesRead
                if stall!.observe(StallWatch.look(below: runner), at: now, activity: activity),
                   !VerdictChannel.parse(watch.reportBytes, nonce: nonce).contains(where: { $0.pid == child.pid }) {
                    // Looked at before anything is signalled: what each process sleeps in now.
                    stalled = StallWatch.report(below: runner)
                    break
                }
            }
            let wait = stall == nil ? remaining : min(remaining, max(0.001, nextLook - now))
            let wake = watch.pollOnce(timeout: wait, child: child, keys: keys)
            if wake == .interrupted { interrupted = true; break }
            if wake == .stopped { stoppedByKey = true; break }
        }
        let endedAt = monotonicSeconds()
        let end: ProcessEnd = (timedOut || interrupted || stoppedByKey || stalled != nil) ? child.terminate() : child.reap()
        watch.drainAvailable()
        // Anything still in the group holds the pipes open: sweep it before the last drain.
        let strays = LeftoverSweep.sweepProcesses(group: child.pid)
        watch.drainAvailable()
        let reportBytes = watch.reportBytes, outputTail = watch.outputTail, reportFlooded = watch.reportFlooded
        watch.close()
        let records = VerdictChannel.parse(reportBytes, nonce: nonce)
        // A private /dev/shm is gone with the part; what was left in it, the part said.
        let leftInPrivate = records.filter { $0.pid == child.pid }.flatMap { $0.leftInSharedMemory ?? [] }
        let leftovers = strays.filter { if case .process(let pid, _) = $0 { return pid != child.pid } else { return true } }
            + sweep.sweepFiles(partTempDir: partTemp)
            + Set(leftInPrivate).sorted().map(Leftover.inSharedMemory)
        let crashes = crashDirectory.map(CrashReport.collect(from:)) ?? []

        if interrupted || Interruption.isPending {
            Interruption.finish(message: "interrupted: stopped \(stopped) and cleaned up")
        }
        return HiddenRun(records: records, end: end, pid: child.pid,
                         timedOut: timedOut, stalled: stalled, longestQuiet: stall?.longestQuiet ?? 0,
                         quietAtEnd: stall.map { endedAt - $0.quietSince } ?? 0,
                         output: outputTail, leftovers: leftovers,
                         seconds: monotonicSeconds() - started, couldNotStart: nil, reportFlooded: reportFlooded,
                         crashes: crashes, stoppedByKey: stoppedByKey)
    }

    /// Turns the records, the exit and the leftovers into one outcome.
    static func classify(records: [VerdictRecord], end: ProcessEnd, childPID: pid_t, timedOut: Bool,
                         request: PartRequest, leftovers: [Leftover], output: String = "",
                         stalled: String? = nil, quietAtEnd: Double = 0, crashes: [CrashReport] = []) -> PartOutcome {
        let outcome = classifyEnd(records: records, end: end, childPID: childPID, timedOut: timedOut, request: request,
                                  leftovers: leftovers, output: output, stalled: stalled, quietAtEnd: quietAtEnd,
                                  crash: crashes.last { $0.pid == childPID })
        // Crashes of the part's other processes (a forked child, a peer) explain most failures.
        let others = crashes.filter { $0.pid != childPID }
            .map { "another process of the part (pid \($0.pid)) crashed: \($0.summary(output: output))" }
        guard !others.isEmpty else { return outcome }
        let notes = others.joined(separator: "\n")
        switch outcome {
        case .failed(let message): return .failed(message + "\n" + notes)
        case .crashed(let signal, let meaning): return .crashed(signal: signal, meaning: meaning + "\n" + notes)
        case .deadlocked(let seconds, let waits): return .deadlocked(quietSeconds: seconds, waits: waits + "\n" + notes)
        case .timedOut(let seconds, let cause): return .timedOut(seconds: seconds, likelyCause: cause + "\n" + notes)
        default: return outcome
        }
    }

    static func classifyEnd(records: [VerdictRecord], end: ProcessEnd, childPID: pid_t, timedOut: Bool,
                            request: PartRequest, leftovers: [Leftover], output: String,
                            stalled: String?, quietAtEnd: Double, crash: CrashReport?) -> PartOutcome {
        // The part's own todo() first: a child that reached another todo() may have written first,
        // and which came first must not change what a student (or a grade) is told.
        if let todo = records.first(where: { $0.verdict == .notStarted && $0.pid == childPID })
            ?? records.first(where: { $0.verdict == .notStarted }) {
            return .notStarted(function: todo.function ?? "a function", location: todo.location ?? "?")
        }
        let own = records.filter { $0.pid == childPID }
        let fromChildren = records.filter { $0.pid != childPID && $0.verdict == .failed }
        let childNotes = fromChildren.map { "in a child process (pid \($0.pid)): \($0.message)" }
        if let failed = own.first(where: { $0.verdict == .failed }) {
            return .failed(([failed.message] + childNotes).joined(separator: "\n"))
        }
        if let waits = stalled {
            var text = waits
            if let specific = request.part.ifTimedOut { text += "\nLikely cause: " + specific }
            if !childNotes.isEmpty { text += "\n" + childNotes.joined(separator: "\n") }
            return .deadlocked(quietSeconds: request.quietWindow, waits: text)
        }
        if case .signaled(let sig) = end, !timedOut {
            var meaning = PartOutcome.meaning(ofSignal: sig)
            if let crash {
                let summary = crash.summary(output: output)
                meaning = sig == SIGILL || sig == SIGTRAP ? "Swift runtime trap: " + summary : summary
            } else if let said = swiftFatalError(in: output) {
                meaning += "\nSwift said: \(said)"
            }
            return .crashed(signal: sig, meaning: meaning)
        }
        if timedOut {
            // Not a deadlock the stall watch could call (the part's window is longer than its
            // timeout, or something kept running): say which of the two it looked like.
            var cause = quietAtEnd >= 3 * StallWatch.lookInterval
                ? "every process slept for the last \(formatSeconds((quietAtEnd * 10).rounded() / 10)) without using CPU: a deadlock, or a read that never ends?"
                : "a process kept using CPU to the end: a busy loop, or a wait that spins or polls instead of sleeping?"
            if let specific = request.part.ifTimedOut { cause += " " + specific }
            if !childNotes.isEmpty { cause += "\n" + childNotes.joined(separator: "\n") }
            return .timedOut(seconds: request.timeout, likelyCause: cause)
        }
        if let skipped = own.first(where: { $0.verdict == .skipped }) {
            return .skipped(skipped.message)
        }
        if !childNotes.isEmpty {
            return .failed(childNotes.joined(separator: "\n"))
        }
        if own.contains(where: { $0.verdict == .passed }) {
            guard end == .exited(0) else {
                return .failed("the part reported success but its process then \(end); a pass needs a clean exit")
            }
            if !leftovers.isEmpty {
                return .failed("every check held, but the part left things behind (the lab removed them):\n"
                    + leftovers.map { "  - \($0)" }.joined(separator: "\n"))
            }
            return .passed
        }
        return .exitedEarly(end)
    }

    /// `output` without the lines Swift's backtracer prints while it writes its report
    /// ("*** Signal 4: Backtracing from 0x… done ***"): the report itself is summarised instead.
    static func withoutBacktracerLines(_ output: String) -> String {
        guard output.contains(": Backtracing from 0x") else { return output }
        return output.split(separator: "\n", omittingEmptySubsequences: false)
            .filter { !($0.hasPrefix("*** Signal ") && $0.contains(": Backtracing from 0x")) }
            .joined(separator: "\n")
    }

    /// The runtime's own line about a trap ("Fatal error: Index out of range"), if it printed one.
    static func swiftFatalError(in output: String) -> String? {
        guard let line = output.split(separator: "\n").first(where: { $0.contains("Fatal error") }) else { return nil }
        return String(line.drop { $0 != "F" }.prefix(300))
    }

    /// 16 hex digits from getrandom.
    static func randomNonce() -> String {
        var generator = SystemRandomNumberGenerator()
        return String(generator.next(), radix: 16).leftPadded(to: 16)
    }
}

/// The runner adopts orphaned descendants, so that a part's grandchild that left its process
/// group (setsid) is still found, killed and reaped.
enum Subreaper {
    nonisolated(unsafe) static var done = false

    /// The corresponding C call is `prctl(PR_SET_CHILD_SUBREAPER, 1)`.
    static func become() {
        if !done { _ = shmlab_become_subreaper(); done = true }
    }
}

/// Ctrl-C (SIGINT) and SIGTERM in the runner: a self-pipe the run loops poll, so that the part's
/// tree (or the build) is killed and cleaned up before the lab exits with 130. The pipe lives as
/// long as the process; its descriptors never leave this type.
public enum Interruption {
    /// The self-pipe's owner, from `install` to the end of the process.
    nonisolated(unsafe) private static var selfPipe: OwnedPipe? = nil
    /// Its two numbers, copied where the signal handler can reach them without touching Swift
    /// values (only `write` is async-signal-safe there) and for `poll`.
    nonisolated(unsafe) private static var readFD: Int32 = -1
    nonisolated(unsafe) private static var writeFD: Int32 = -1

    /// Installs the handlers once, and unblocks the three signals: a parent may have started the
    /// lab with them blocked (threads of a test runner often do). The only place the lab changes
    /// its signal mask. The corresponding C functions are `sigaction` and `sigprocmask`.
    public static func install() {
        guard readFD < 0, let ends = try? OwnedPipe() else { return }
        try? ends.write.setNonBlocking()
        readFD = ends.read.rawValue
        writeFD = ends.write.rawValue
        selfPipe = consume ends
        var action = sigaction()
        action.__sigaction_handler.sa_handler = { _ in
            var byte: UInt8 = 1
            _ = write(Interruption.writeFD, &byte, 1)
        }
        sigemptyset(&action.sa_mask)
        action.sa_flags = SA_RESTART
        sigaction(SIGINT, &action, nil)
        sigaction(SIGTERM, &action, nil)
        sigaction(SIGHUP, &action, nil)
        var handled = sigset_t()
        sigemptyset(&handled)
        for sig in [SIGINT, SIGTERM, SIGHUP] { sigaddset(&handled, sig) }
        sigprocmask(SIG_UNBLOCK, &handled, nil)
    }

    /// A `poll` entry that is readable once a signal arrived (skipped before `install`).
    public static var readableEntry: pollfd { pollfd(fd: readFD, events: Int16(POLLIN), revents: 0) }

    /// True when a signal arrived that the run loop has not seen (during the sweep, say).
    static var isPending: Bool {
        guard readFD >= 0 else { return false }
        var entry = readableEntry
        return poll(&entry, 1, 0) > 0
    }

    /// Runs `body` (a pager in the foreground) with Ctrl-C left to it: the lab ignores SIGINT
    /// meanwhile, and gets its handler back after. The corresponding C function is `sigaction`.
    static func ignoringInterrupts<T>(_ body: () -> T) -> T {
        var ignore = sigaction()
        ignore.__sigaction_handler.sa_handler = SIG_IGN
        sigemptyset(&ignore.sa_mask)
        var previous = sigaction()
        sigaction(SIGINT, &ignore, &previous)
        defer { sigaction(SIGINT, &previous, nil) }
        return body()
    }

    /// Prints `message` and exits with 130, the status of a process ended by Ctrl-C.
    static func finish(message: String) -> Never {
        Console.err("\n\(message)\n")
        exit(130)
    }
}
