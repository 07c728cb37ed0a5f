import Glibc

/// What a check can use while it runs inside its part process.
public final class PartContext {
    public let lesson: LessonInfo
    public let part: PartInfo
    public let implementation: Implementation
    /// The part's own process; a forked child that returns into check code has another pid.
    public let partProcessID: pid_t
    /// The part's private temporary directory (also `$TMPDIR`); the lab removes it afterwards.
    public let temporaryDirectory: String
    /// What generated inputs are drawn from (see `PartSeed`, `random(stream:)`).
    public let seed: UInt64
    let executable: String

    init(lesson: LessonInfo, part: PartInfo, implementation: Implementation) {
        self.lesson = lesson
        self.part = part
        self.implementation = implementation
        self.partProcessID = getpid()
        self.temporaryDirectory = LeftoverSweep.systemTempRoot()
        self.seed = PartSeed.fromEnvironment()
        self.executable = currentExecutablePath()
    }

    /// Where the student's file for this lesson is, for "look at" lines: `Exercises/01-…/`.
    public var exerciseFolder: String { "Exercises/\(lesson.folder)/" }

    /// Fails unless this is the part's own process. Call it right after a contract function that
    /// forks: if it returned in the child, the child would otherwise run the rest of the check.
    public func requirePartProcess(after call: String) throws {
        if getpid() != partProcessID {
            let failure = CheckFailure(
                "\(call) returned inside the forked child",
                expected: "the child runs the closure and ends with _exit(code); only the parent returns",
                seen: "process \(getpid()) (a child of the part) came back from \(call) and went on with the parent's code",
                cause: "the child branch returns (or falls through) instead of calling _exit",
                look: call)
            VerdictChannel.send(VerdictRecord(verdict: .failed, message: failure.description))
            fflush(nil)
            _exit(1)
        }
    }

    /// Starts one of this lesson's peers as an unrelated process (`lab __peer …`): it shares
    /// nothing with the part but what it is told on the command line.
    public func spawnPeer(_ name: String, _ arguments: [String], output: ChildProcess.Output = .inherit) throws -> ChildProcess {
        fflush(nil)
        return try ChildProcess.spawn(
            executable, ["__peer", "\(lesson.number)", name, implementation.description] + arguments,
            output: output)
    }

    /// The python3 on $PATH, or a skip with the reason.
    public func python3() throws -> String {
        guard let path = findOnPath("python3") else {
            throw SkipPart("python3 is not on PATH: this interop part needs it (only its standard library)")
        }
        return path
    }

    /// Runs `python3 -c script arguments…`; returns its standard output. A non-zero exit, a
    /// signal or a timeout fails the part, quoting what Python printed.
    public func runPython(_ script: String, _ arguments: [String] = [], timeout: Double = 20,
                          what: String) throws -> String {
        let python = try python3()
        fflush(nil)
        let process = try ChildProcess.spawn(python, ["-c", script] + arguments, output: .captureStdout)
        let (output, end) = process.collectOutput(timeout: timeout)
        let text = String(decoding: output, as: UTF8.self)
        guard let end else {
            throw CheckFailure("python3 (\(what)) did not finish within \(Int(timeout)) s",
                               seen: text.isEmpty ? "no output" : text)
        }
        guard end == .exited(0) else {
            throw CheckFailure("python3 (\(what)) \(end)", seen: text.isEmpty ? "no output (its error is in the output below)" : text)
        }
        return text
    }
}

/// The hidden sub-commands a part process and a peer process run.
public enum PartProcess {
    /// `lab __part LESSON PART IMPLEMENTATION`: runs one check and reports its verdict on the
    /// report descriptor. Never returns.
    public static func runPart(_ entry: LessonEntry, part number: Int, implementation: Implementation) -> Never {
        VerdictChannel.connect()
        if let problem = PrivateSharedMemory.enterIfAsked() {
            VerdictChannel.send(VerdictRecord(verdict: .failed, message: problem))
            exit(2)
        }
        CrashReport.installMapNotes()
        guard let part = entry.part(number), let checks = entry.checks(for: implementation),
              let body = checks.parts[number] else {
            VerdictChannel.send(VerdictRecord(verdict: .failed, message: "lesson \(entry.info.number) has no part \(number) for \(implementation)"))
            exit(2)
        }
        let context = PartContext(lesson: entry.info, part: part, implementation: implementation)
        var record: VerdictRecord
        do {
            try body(context)
            record = VerdictRecord(verdict: .passed, message: "")
        } catch let failure as CheckFailure {
            record = VerdictRecord(verdict: .failed, message: failure.description)
        } catch let skip as SkipPart {
            record = VerdictRecord(verdict: .skipped, message: skip.reason)
        } catch {
            record = VerdictRecord(verdict: .failed, message: "the check threw: \(error)")
        }
        fflush(nil)
        if getpid() != context.partProcessID {
            // A forked child that came back into check code: never let it speak for the part.
            if record.verdict == .passed { _exit(0) }
        }
        let left = PrivateSharedMemory.names()
        if !left.isEmpty { record.leftInSharedMemory = left }
        _ = VerdictChannel.sendVerdict(record)
        exit(0)
    }

    /// `lab __peer LESSON NAME IMPLEMENTATION ARGS…`: runs a peer and exits with its code.
    public static func runPeer(_ entry: LessonEntry, name: String, implementation: Implementation,
                               arguments: [String]) -> Never {
        VerdictChannel.connect()
        if let problem = PrivateSharedMemory.enterIfAsked() {
            Console.err("lab: \(problem)\n")
            VerdictChannel.send(VerdictRecord(verdict: .failed, message: problem))
            exit(2)
        }
        CrashReport.installMapNotes()
        guard let peer = entry.checks(for: implementation)?.peers[name] else {
            Console.err("lab: lesson \(entry.info.number) has no peer '\(name)'\n")
            exit(2)
        }
        do {
            let code = try peer(arguments)
            fflush(nil)
            exit(code)
        } catch {
            Console.err("peer \(name): \(error)\n")
            VerdictChannel.send(VerdictRecord(verdict: .failed, message: "peer '\(name)' failed: \(error)"))
            exit(1)
        }
    }
}
