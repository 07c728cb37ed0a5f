import Glibc

/// What /proc says about a process right now, for checks that must know whether another process
/// is really blocked (asleep in the kernel) rather than merely slow, or how much CPU it used.
public struct ProcessSnapshot: Equatable, Sendable {
    /// The scheduler state: "R" running, "S" asleep, "D" uninterruptible, "T" stopped, "Z" zombie.
    public let state: Character
    /// Voluntary plus involuntary context switches so far: unchanged while the process sleeps.
    public let contextSwitches: Int
    /// User plus system CPU time so far, in seconds (clock-tick resolution, usually 10 ms).
    public let cpuSeconds: Double

    /// Reads `/proc/PID/stat` and `/proc/PID/status`; nil when the process is gone.
    public static func of(_ pid: pid_t) -> ProcessSnapshot? { at("/proc/\(pid)") }

    /// The same for one thread: `/proc/PID/task/TID`.
    public static func of(_ pid: pid_t, thread: pid_t) -> ProcessSnapshot? { at("/proc/\(pid)/task/\(thread)") }

    static func at(_ directory: String) -> ProcessSnapshot? {
        guard let stat = try? readFile("\(directory)/stat"), let status = try? readFile("\(directory)/status") else { return nil }
        let text = String(decoding: stat, as: UTF8.self)
        guard let close = text.lastIndex(of: ")") else { return nil }
        let fields = text[text.index(after: close)...].split(separator: " ")
        // After the command: state is field 3 of the man page, utime 14 and stime 15.
        guard fields.count > 12, let state = fields[0].first,
              let user = Double(fields[11]), let system = Double(fields[12]) else { return nil }
        var switches = 0
        for line in String(decoding: status, as: UTF8.self).split(separator: "\n")
            where line.hasPrefix("voluntary_ctxt_switches") || line.hasPrefix("nonvoluntary_ctxt_switches") {
            switches += Int(line.split(separator: ":").last?.trimmingCharacters(in: " \t") ?? "") ?? 0
        }
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        return ProcessSnapshot(state: state, contextSwitches: switches, cpuSeconds: (user + system) / ticks)
    }
}

/// Waits until every process in `pids` is blocked: asleep (state S) and not scheduled at all
/// (its context-switch count unchanged) over `window` seconds. Returns false when `timeout`
/// passes first or one of them ended. A process that spins, yields or naps in a loop never
/// counts as blocked. The corresponding files are `/proc/PID/stat` and `/proc/PID/status`.
public func waitUntilBlocked(_ pids: [pid_t], timeout: Double, window: Double = 0.03) -> Bool {
    let deadline = monotonicSeconds() + timeout
    while monotonicSeconds() < deadline {
        let first = pids.map { ProcessSnapshot.of($0) }
        if first.contains(where: { $0 == nil || $0!.state == "Z" }) { return false }
        if first.allSatisfy({ $0!.state == "S" }) {
            usleep(UInt32(window * 1e6))   // an observation window, not synchronisation
            let second = pids.map { ProcessSnapshot.of($0) }
            if zip(first, second).allSatisfy({ $1 != nil && $1!.state == "S" && $1!.contextSwitches == $0!.contextSwitches }) {
                return true
            }
        } else {
            usleep(1000)
        }
    }
    return false
}

/// Waits until every thread of process `pid` is blocked (asleep and not scheduled over `window`
/// seconds), the way `waitUntilBlocked` does for whole processes: a server that has finished
/// reacting to what just happened (a client that died, a request) sleeps in accept, read or poll
/// in every thread. Returns false when `timeout` passes first or the process ended (or is a
/// zombie). The corresponding files are `/proc/PID/task/TID/stat` and `.../status`.
public func waitUntilThreadsBlocked(_ pid: pid_t, timeout: Double, window: Double = 0.03) -> Bool {
    let deadline = monotonicSeconds() + timeout
    func snapshots() -> [pid_t: ProcessSnapshot]? {
        let entries = LeftoverSweep.list("/proc/\(pid)/task")
        var result: [pid_t: ProcessSnapshot] = [:]
        for entry in entries {
            guard let tid = pid_t(entry) else { continue }
            if let snapshot = ProcessSnapshot.of(pid, thread: tid) { result[tid] = snapshot }
        }
        return result.isEmpty ? nil : result
    }
    while monotonicSeconds() < deadline {
        guard let first = snapshots(), ProcessSnapshot.of(pid)?.state != "Z" else { return false }
        if first.values.allSatisfy({ $0.state == "S" }) {
            usleep(UInt32(window * 1e6))   // an observation window, not synchronisation
            guard let second = snapshots() else { return false }
            if second.count == first.count, second.allSatisfy({ tid, now in
                now.state == "S" && first[tid]?.contextSwitches == now.contextSwitches
            }) {
                return true
            }
        } else {
            usleep(1000)
        }
    }
    return false
}

extension Substring {
    func trimmingCharacters(in set: String) -> String {
        String(drop { set.contains($0) }.reversed().drop { set.contains($0) }.reversed())
    }
}
