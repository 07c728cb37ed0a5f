import Glibc

/// Decides when a running part is stalled: every thread of every one of its processes asleep,
/// together using (next to) no CPU, nothing printed or reported, and no process started or ended,
/// for `window` seconds on end.
///
/// Why "next to no CPU" rather than none: a check that waits for its children polls them
/// (`waitForProcess` naps up to 5 ms between `waitpid(…, WNOHANG)` calls), which costs well under
/// 1% of a CPU; such a part whose children all sleep in a lock is as stuck as one whose every
/// process sleeps in `futex`. Any real work, even a slow loop, uses far more than `quietCPUShare`
/// of the time between two looks, and a busy loop never sleeps at all: it runs to the hard timeout.
/// Only a part that waits on purpose (a timed sleep, a timed get on an empty queue) looks the same
/// as a deadlock: such parts declare a longer window (`PartInfo.quietWindow`).
public struct StallWatch: Sendable {
    /// The window when a part declares none: a deadlock is reported this soon after it forms.
    public static let defaultWindow = 1.5
    /// How often the runner looks at the part's threads.
    public static let lookInterval = 0.1
    /// The share of the time between two looks all threads together may spend on a CPU and still
    /// count as quiet (polling children costs < 1%; see the type's comment).
    public static let quietCPUShare = 0.03

    public let window: Double
    /// When the current quiet stretch began.
    public private(set) var quietSince: Double
    /// The longest quiet stretch seen so far, in seconds: how close a healthy part came to the window.
    public private(set) var longestQuiet: Double = 0
    private var previous: [pid_t: ThreadSample] = [:]
    private var previousTime: Double

    public init(window: Double, now: Double) {
        self.window = window
        quietSince = now
        previousTime = now
    }

    /// Takes one look at the part's threads (all processes together) at time `now`; `activity` is
    /// true when the part printed or reported something since the previous look. True when the
    /// part has been quiet for the whole window and every thread is asleep at this look.
    public mutating func observe(_ threads: [ThreadSample], at now: Double, activity: Bool) -> Bool {
        defer {
            previous = Dictionary(threads.map { ($0.tid, $0) }, uniquingKeysWith: { a, _ in a })
            previousTime = now
        }
        let sameThreads = threads.count == previous.count && threads.allSatisfy { previous[$0.tid] != nil }
        var used: UInt64 = 0
        for thread in threads {
            if let before = previous[thread.tid], thread.cpuNanoseconds > before.cpuNanoseconds {
                used += thread.cpuNanoseconds - before.cpuNanoseconds
            }
        }
        let budget = Self.quietCPUShare * max(now - previousTime, 0.001)
        if activity || !sameThreads || threads.isEmpty || Double(used) / 1e9 > budget {
            quietSince = now
        }
        let quiet = now - quietSince
        longestQuiet = max(longestQuiet, quiet)
        // A thread caught running (or in disk I/O) at this look defers the verdict to the next look.
        return quiet >= window && threads.allSatisfy(\.isAsleep)
    }

    /// Every thread of every process below `runner` (the part, its descendants, and orphans
    /// re-parented to the runner, which is their subreaper).
    public static func look(below runner: pid_t) -> [ThreadSample] {
        ProcessInspection.descendants(of: runner).flatMap { ThreadSample.threads(of: $0) }
    }

    /// What each process below `runner` was waiting in, one line per thread:
    /// "pid 123 (lab): in futex wait on 0x7f… (FUTEX_WAIT_BITSET, process-shared), no timeout, …".
    public static func report(below runner: pid_t) -> String {
        let pids = ProcessInspection.descendants(of: runner)
        // For a read on a pipe: which of the part's processes still hold its write end.
        var writers: [String: [String]] = [:]
        for pid in pids {
            for descriptor in ProcessInspection.openDescriptors(of: pid)
            where descriptor.canWrite && descriptor.target.hasPrefix("pipe:") {
                writers[descriptor.target, default: []].append("pid \(pid) (fd \(descriptor.fd))")
            }
        }
        var lines: [String] = []
        for pid in pids {
            let command = ProcessInspection.process(pid)?.command ?? "?"
            let tids = LeftoverSweep.list("/proc/\(pid)/task").compactMap { pid_t($0) }.sorted()
            for tid in tids {
                let who = tid == pid ? "pid \(pid) (\(command))" : "pid \(pid) thread \(tid)"
                lines.append("  \(who): " + ThreadWait.describe(pid: pid, tid: tid, pipeWriters: { writers[$0] ?? [] }))
            }
        }
        return lines.joined(separator: "\n")
    }
}
