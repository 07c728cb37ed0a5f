import Glibc

// The lab's own process helpers, which checks and the student's code both use (lesson 08 forks
// its workers with `forkChild`).

/// Forks a child that runs `body` and ends with `_exit`: the lab's own fork, for checks that need
/// "the same program after fork" without relying on the student's code. Errors thrown in the child
/// are reported to the runner as a failure from that child, and the child exits 1.
/// The corresponding C function is `fork`.
public func forkChild(_ body: () throws -> Int32) throws -> pid_t {
    fflush(nil)
    let pid = fork()
    if pid < 0 { throw SystemError("fork") }
    if pid != 0 { LabHelpers.forked.append(pid) }
    if pid == 0 {
        LabHelpers.forked = []                 // the parent's helpers are not this child's
        var code: Int32
        do {
            code = try body()
        } catch {
            PartReport.failure?("\(error)")
            code = 1
        }
        fflush(nil)
        _exit(code)
    }
    return pid
}

/// Waits for a child with a deadline; kills it (SIGKILL) and returns nil if it does not end in time.
/// The corresponding C function is `waitpid(…, WNOHANG)`, polled.
public func waitForProcess(_ pid: pid_t, timeout: Double) -> ProcessEnd? {
    let deadline = monotonicSeconds() + timeout
    var status: Int32 = 0
    var pause: UInt32 = 100
    while true {
        let rc = waitpid(pid, &status, WNOHANG)
        if rc == pid { return ProcessEnd(waitStatus: status) }
        if rc == -1 && errno != EINTR { return nil }
        if monotonicSeconds() >= deadline {
            kill(pid, SIGKILL)
            _ = waitpid(pid, &status, 0)
            return nil
        }
        usleep(pause)
        pause = min(pause * 2, 5000)
    }
}

/// Waits for every process in `pids` until `timeout` passes, but returns as soon as one of them
/// ends other than `.exited(0)`: a failing worker is reported at once, not after the others time
/// out. Returns how each ended (absent: still running). Kills nothing.
/// The corresponding C function is `waitpid(…, WNOHANG)`, polled.
public func waitForAll(_ pids: [pid_t], timeout: Double) -> [pid_t: ProcessEnd] {
    var ends: [pid_t: ProcessEnd] = [:]
    let deadline = monotonicSeconds() + timeout
    var pause: UInt32 = 100
    while ends.count < pids.count {
        var progressed = false
        for pid in pids where ends[pid] == nil {
            var status: Int32 = 0
            if waitpid(pid, &status, WNOHANG) == pid {
                let end = ProcessEnd(waitStatus: status)
                ends[pid] = end
                progressed = true
                if end != .exited(0) { return ends }
            }
        }
        if monotonicSeconds() >= deadline { break }
        if progressed { pause = 100 } else { usleep(pause); pause = min(pause * 2, 5000) }
    }
    return ends
}

/// Kills (SIGKILL) and reaps every process in `pids` that has not been reaped yet.
public func killAndReap(_ pids: [pid_t]) {
    for pid in pids { kill(pid, SIGKILL) }
    for pid in pids {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
    }
}

/// The processes `forkChild` started from this process. When the student's code reaches `todo()`
/// the process ends at once (`_exit`), before a check or a measurement can stop the helpers it had
/// forked: `todo()` ends those first, so a part or a bench row that is "not started" leaves nothing.
public enum LabHelpers {
    nonisolated(unsafe) static var forked: [pid_t] = []

    /// Kills (SIGKILL) and reaps every helper still running. `waitpid(…, WNOHANG)` first: a pid
    /// that is no longer our child (already reaped, perhaps reused) is left alone.
    public static func endAll() {
        for pid in forked {
            var status: Int32 = 0
            guard waitpid(pid, &status, WNOHANG) == 0 else { continue }
            kill(pid, SIGKILL)
            _ = waitpid(pid, &status, 0)
        }
        forked = []
    }
}
