import Glibc

/// What /proc says about a process (or one of its threads) right now, for checks that must know
/// whether another process is really blocked (asleep in the kernel) rather than merely slow, or
/// how much CPU it used; the runner's stall detection reads the same.
public struct ProcessSnapshot: Equatable, Sendable {
    /// The scheduler state: "R" running, "S" asleep, "D" uninterruptible, "T" stopped, "Z" zombie.
    public let state: Character
    /// Voluntary plus involuntary context switches so far: unchanged while the process sleeps.
    public let contextSwitches: Int
    /// CPU time used so far, in nanoseconds: `schedstat`'s first field (exact), or utime + stime
    /// from `stat` (clock ticks, usually 10 ms) where schedstat is missing.
    public let cpuNanoseconds: UInt64

    /// User plus system CPU time so far, in seconds.
    public var cpuSeconds: Double { Double(cpuNanoseconds) / 1e9 }

    /// Reads `/proc/PID/stat`, `status` and `schedstat`; nil when the process is gone.
    public static func of(_ pid: pid_t) -> ProcessSnapshot? { at("/proc/\(pid)") }

    /// The same for one thread: `/proc/PID/task/TID`.
    public static func of(_ pid: pid_t, thread: pid_t) -> ProcessSnapshot? { at("/proc/\(pid)/task/\(thread)") }

    static func at(_ directory: String) -> ProcessSnapshot? {
        guard let stat = ProcessInspection.StatLine.read(directory), let ticks = stat.cpuTicks else { return nil }
        var switches = 0
        if let status = try? readFile("\(directory)/status") {
            for line in String(decoding: status, as: UTF8.self).split(separator: "\n")
                where line.hasPrefix("voluntary_ctxt_switches") || line.hasPrefix("nonvoluntary_ctxt_switches") {
                switches += Int(line.split(separator: ":").last?.trimmingCharacters(in: " \t") ?? "") ?? 0
            }
        }
        var nanoseconds = ticks * 1_000_000_000 / UInt64(max(1, sysconf(Int32(_SC_CLK_TCK))))
        if let schedstat = try? readFile("\(directory)/schedstat"),
           let first = String(decoding: schedstat, as: UTF8.self).split(separator: " ").first, let value = UInt64(first) {
            nanoseconds = value
        }
        return ProcessSnapshot(state: stat.state, contextSwitches: switches, cpuNanoseconds: nanoseconds)
    }
}

/// Waits until every process in `pids` is blocked: asleep (state S) and not scheduled at all
/// (its context-switch count unchanged) over `window` seconds. Returns false when `timeout`
/// passes first or one of them ended. A process that spins, yields or naps in a loop never
/// counts as blocked. The corresponding files are `/proc/PID/stat` and `/proc/PID/status`.
public func waitUntilBlocked(_ pids: [pid_t], timeout: Double, window: Double = 0.03) -> Bool {
    waitUntilAsleep(timeout: timeout, window: window) {
        var result: [pid_t: ProcessSnapshot] = [:]
        for pid in pids {
            guard let snapshot = ProcessSnapshot.of(pid), snapshot.state != "Z" else { return nil }
            result[pid] = snapshot
        }
        return result
    }
}

/// How `watchUntilAsleep` found processes that should go to sleep.
public enum SleepWatch: Equatable, Sendable {
    /// Every one of them is blocked, as `waitUntilBlocked` means it.
    case asleep
    /// One of them ended (or is a zombie) first.
    case ended
    /// They kept running: the most CPU one of them has used so far, the most context switches one
    /// of them made since the watch began, and how long the watch lasted.
    case running(cpuSeconds: Double, switches: Int, seconds: Double)
}

/// Waits until every process in `pids` is blocked (`waitUntilBlocked`), for up to `timeout`
/// seconds (a loaded machine may take that long to let a process reach its sleep), but ends early
/// when one of them has used more than `cpuLimit` seconds of CPU, or made more than `switchLimit`
/// context switches since the watch began: a process on its way to sleep needs milliseconds and a
/// few switches; one that busy-waits or naps in a loop is not on its way. The corresponding files
/// are `/proc/PID/stat`, `status` and `schedstat`.
public func watchUntilAsleep(_ pids: [pid_t], timeout: Double = 8, cpuLimit: Double = 1, switchLimit: Int = 500) -> SleepWatch {
    let started = monotonicSeconds()
    let switchesAtStart = pids.map { ProcessSnapshot.of($0)?.contextSwitches ?? 0 }
    while true {
        if waitUntilBlocked(pids, timeout: 0.5) { return .asleep }
        let snapshots = pids.map { ProcessSnapshot.of($0) }
        if snapshots.contains(where: { $0 == nil || $0!.state == "Z" }) { return .ended }
        let cpu = snapshots.compactMap { $0?.cpuSeconds }.max() ?? 0
        let switches = zip(snapshots, switchesAtStart).map { ($0?.contextSwitches ?? 0) - $1 }.max() ?? 0
        let seconds = monotonicSeconds() - started
        if cpu > cpuLimit || switches > switchLimit || seconds >= timeout {
            return .running(cpuSeconds: cpu, switches: switches, seconds: seconds)
        }
    }
}

/// The same for every thread of process `pid` (`/proc/PID/task/TID`): a server that has finished
/// reacting to what just happened (a client that died, a request) sleeps in accept, read or poll
/// in every thread. False when `timeout` passes first or the process ended (or is a zombie).
public func waitUntilThreadsBlocked(_ pid: pid_t, timeout: Double, window: Double = 0.03) -> Bool {
    waitUntilAsleep(timeout: timeout, window: window) {
        guard let process = ProcessSnapshot.of(pid), process.state != "Z" else { return nil }
        var result: [pid_t: ProcessSnapshot] = [:]
        for tid in LeftoverSweep.list("/proc/\(pid)/task").compactMap({ pid_t($0) }) {
            if let snapshot = ProcessSnapshot.of(pid, thread: tid) { result[tid] = snapshot }
        }
        return result.isEmpty ? nil : result
    }
}

/// The loop of both: `look()` gives a snapshot per process or thread (nil: one of them is gone);
/// true once all are asleep twice, `window` seconds apart, with no context switch in between.
func waitUntilAsleep(timeout: Double, window: Double, _ look: () -> [pid_t: ProcessSnapshot]?) -> Bool {
    let deadline = monotonicSeconds() + timeout
    while monotonicSeconds() < deadline {
        guard let first = look() else { return false }
        if first.values.allSatisfy({ $0.state == "S" }) {
            usleep(UInt32(window * 1e6))   // an observation window, not synchronisation
            guard let second = look() else { return false }
            if second.count == first.count, second.allSatisfy({ id, now in
                now.state == "S" && first[id]?.contextSwitches == now.contextSwitches
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
