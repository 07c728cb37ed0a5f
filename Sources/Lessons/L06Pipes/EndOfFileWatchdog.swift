import Glibc

/// A helper process that explains a reader stuck waiting for end-of-file. If the part is still
/// running after a few seconds, it looks at the part process from outside (`/proc`) and reports
/// why: a write end of the pipe still open in the reader itself (or in another process), or a
/// reader that is running instead of waiting (a receive that loops on read() returning 0). The
/// runner adds that report to the part's timeout message. It says nothing when it finds neither.
struct EndOfFileWatchdog {
    let pid: pid_t
    let control: Int32

    /// Forks the watchdog; `reader` is the descriptor the part reads from.
    static func start(reader: Int32, after seconds: Double) throws -> EndOfFileWatchdog {
        let part = getpid()
        let pipe = try Descriptor.pipe()
        let pid = try forkChild {
            Descriptor.close(pipe.write)
            // The part closes its end when it is done: end-of-file here means "all is well".
            if waitReadable(pipe.read, seconds: seconds) { return 0 }
            if let diagnosis = diagnose(part: part, reader: reader, control: pipe.read) {
                VerdictChannel.send(VerdictRecord(verdict: .failed, message: diagnosis))
            }
            _ = waitReadable(pipe.read, seconds: 3600)
            return 0
        }
        Descriptor.close(pipe.read)
        return EndOfFileWatchdog(pid: pid, control: pipe.write)
    }

    /// Tells the watchdog the part is over and reaps it.
    func stop() {
        Descriptor.close(control)
        _ = waitForProcess(pid, timeout: 5)
    }

    static func waitReadable(_ fd: Int32, seconds: Double) -> Bool {
        let deadline = monotonicSeconds() + seconds
        while true {
            let remaining = deadline - monotonicSeconds()
            if remaining <= 0 { return false }
            var entry = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&entry, 1, Int32(min(remaining, 60) * 1000) + 1)
            if ready > 0 { return true }
            if ready == -1 && errno != EINTR { return false }
        }
    }

    static func diagnose(part: pid_t, reader: Int32, control: Int32) -> String? {
        let target = ProcessInspection.linkTarget("/proc/\(part)/fd/\(reader)")
        if let target, target.hasPrefix("pipe:") {
            let own = ProcessInspection.openDescriptors(of: part).filter { $0.target == target && $0.canWrite }
            if let writeEnd = own.first {
                return "the reader (pid \(part)) still holds fd \(writeEnd.fd), a write end of the very pipe it reads "
                    + "(\(target)). End-of-file can only come once every write end is closed, and this one never "
                    + "will be while the reader waits: close the parent's copy of the write end right after fork "
                    + "(in startWriter), before returning the reader."
            }
            let others = ProcessInspection.allProcessIDs().filter { $0 != part && $0 != getpid() }
                .compactMap { pid -> String? in
                    guard let fd = ProcessInspection.openDescriptors(of: pid).first(where: { $0.target == target && $0.canWrite })
                    else { return nil }
                    return "process \(pid) holds fd \(fd.fd)"
                }
            if !others.isEmpty {
                return "another process still holds a write end of the pipe the reader waits on (\(target)): "
                    + others.joined(separator: ", ") + ". Is the writer child still running, or did a process "
                    + "forked later inherit the write end?"
            }
        }
        // Is the reader waiting (fine) or spinning (a receive that loops on read() returning 0)?
        guard let before = ProcessInspection.cpuSeconds(of: part) else { return nil }
        _ = waitReadable(control, seconds: 0.5)
        guard let after = ProcessInspection.cpuSeconds(of: part) else { return nil }
        if after - before > 0.25 {
            return "the reader (pid \(part)) is running, not waiting: it used \(Int((after - before) * 100)) cs of CPU "
                + "in 0.5 s. receive() keeps calling read() after it returned 0 — 0 means end-of-file: throw "
                + "PipeError.endOfFile (or truncated in the middle of a message) instead of reading again."
        }
        return nil
    }
}
