import Glibc

/// Runs one call of the student's code in a child forked by the lab and watches it from outside
/// (`/proc`), so that a call that must return at once is judged on evidence, promptly: what it
/// returned or threw, or that it crashed, or that it keeps calling `read()` (a loop on
/// end-of-file), or that it went to sleep in a system call (a wait for bytes nobody can send).
///
/// Use it only where the answer is already determined when the call starts (every byte written,
/// every writer gone, a free lock): then sleeping or spinning is itself the failure.
enum IsolatedCall {
    enum Outcome: Equatable {
        /// What the body returned (its own description of the result).
        case returned(String)
        /// The body threw: the error's description.
        case threw(String)
        /// The child ended without reporting: killed by a signal (a trap is SIGILL), or exited.
        case ended(ProcessEnd)
        /// It kept making `read` system calls (or burning CPU) without returning.
        case spinning(reads: Int, cpu: Double)
        /// It fell asleep inside a system call (its number in `/proc/PID/syscall`).
        case asleep(systemCall: Int)
        /// Still running after `limit` seconds, neither asleep nor spinning on reads.
        case noAnswer(Double)

        var isAsleep: Bool { if case .asleep = self { return true } else { return false } }

        /// For a failure message.
        var text: String {
            switch self {
            case .returned(let value): return value
            case .threw(let error): return "threw \(error)"
            case .ended(let end): return "the call never returned: the process \(end)" + (end == .signaled(SIGILL) ? " (a Swift runtime trap: an overflow, a conversion that does not fit, a negative count…)" : "")
            case .spinning(let reads, let cpu): return "it kept running without returning: \(reads) read() calls and \(secondsText(cpu)) of CPU"
            case .asleep(let number): return "it went to sleep in a system call (\(ProcessInspection.systemCallName(number))) and did not return"
            case .noAnswer(let seconds): return "no answer within \(secondsText(seconds))"
            }
        }
    }

    /// Runs `body` in a child; `body` describes its result as a string (the child writes it to
    /// the lab through a pipe). `asleepIsFinal`: sleeping in a system call counts as the answer
    /// (for calls that must not wait). A child found asleep `limit` seconds after it started is
    /// killed (`.noAnswer`); one that is merely waiting for a CPU (a loaded machine) is given up to
    /// 20 s. Keep `limit` under the stall watch's quiet window (1.5 s) when the child may sleep.
    static func run(limit: Double = 5, readLimit: Int = 20_000, asleepIsFinal: Bool = true,
                    _ body: () throws -> String) throws -> Outcome {
        let report = try OwnedPipe()
        let child = try forkChild {
            // The child ends with _exit, which closes what it holds.
            var text: String
            do {
                text = "R" + (try body())
            } catch {
                text = "T\(error)"
            }
            try? report.write.writeAll(text)
            return 0
        }
        report.write.close()        // the child's copy is the only writer now
        let answer = report.read    // closed when this call returns
        let started = monotonicSeconds()
        let readsBefore = ProcessInspection.readCalls(of: child) ?? 0
        var asleepSince: Double? = nil
        while true {
            var status: Int32 = 0
            if waitpid(child, &status, WNOHANG) == child {
                let end = ProcessEnd(waitStatus: status)
                let text = String(decoding: (try? answer.readAll()) ?? [], as: UTF8.self)
                if end == .exited(0), let kind = text.first {
                    let rest = String(text.dropFirst())
                    return kind == "R" ? .returned(rest) : .threw(rest)
                }
                return .ended(end)
            }
            let now = monotonicSeconds()
            let reads = (ProcessInspection.readCalls(of: child) ?? readsBefore) - readsBefore
            let cpu = ProcessInspection.cpuSeconds(of: child) ?? 0
            if reads > readLimit || cpu > 1.5 {
                killAndReap([child])
                return .spinning(reads: reads, cpu: cpu)
            }
            if asleepIsFinal, ProcessInspection.state(of: child) == "S", let number = ProcessInspection.blockedSystemCall(of: child) {
                // Asleep twice, 30 ms apart, in the same call: it is waiting, not passing through.
                if let since = asleepSince, now - since >= 0.03 {
                    killAndReap([child])
                    return .asleep(systemCall: number)
                }
                if asleepSince == nil { asleepSince = now }
            } else {
                asleepSince = nil
            }
            if (now - started > limit && ProcessInspection.state(of: child) == "S") || now - started > 20 {
                killAndReap([child])
                return .noAnswer(limit)
            }
            usleep(2000)
        }
    }
}
