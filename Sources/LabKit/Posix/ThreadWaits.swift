import Glibc

/// One look at one thread of a process, from `/proc/PID/task/TID`: enough to tell whether it
/// progressed since the previous look (the runner's stall detection) without stopping it.
public struct ThreadSample: Equatable, Sendable {
    public let pid: pid_t
    public let tid: pid_t
    /// The scheduler state: "R" running, "S" asleep, "D" uninterruptible, "T"/"t" stopped, "Z" zombie.
    public let state: Character
    /// CPU time the thread has used, in nanoseconds: `schedstat`'s first field (exact), or
    /// utime + stime from `stat` (clock ticks) where schedstat is missing.
    public let cpuNanoseconds: UInt64

    public init(pid: pid_t, tid: pid_t, state: Character, cpuNanoseconds: UInt64) {
        self.pid = pid
        self.tid = tid
        self.state = state
        self.cpuNanoseconds = cpuNanoseconds
    }

    /// Asleep in the kernel waiting for something (or stopped, or a zombie): it cannot progress
    /// on its own right now. "D" is not asleep here: it is disk or page I/O that will finish.
    public var isAsleep: Bool { state == "S" || state == "T" || state == "t" || state == "Z" }

    /// Every thread of process `pid`; empty when it is gone.
    public static func threads(of pid: pid_t) -> [ThreadSample] {
        LeftoverSweep.list("/proc/\(pid)/task").compactMap { pid_t($0) }.compactMap { of(pid, thread: $0) }
    }

    /// One thread; nil when it is gone (`ProcessSnapshot.of(_:thread:)`).
    public static func of(_ pid: pid_t, thread tid: pid_t) -> ThreadSample? {
        ProcessSnapshot.of(pid, thread: tid).map { ThreadSample(pid: pid, tid: tid, state: $0.state, cpuNanoseconds: $0.cpuNanoseconds) }
    }
}

/// What a sleeping thread is waiting in, in words, from `/proc/PID/task/TID/{stat,wchan,syscall}`
/// and, for a futex, the process's `/proc/PID/maps`: "futex wait on 0x7f…10 (in a MAP_SHARED
/// anonymous mapping), no timeout".
public enum ThreadWait {
    /// One line for thread `tid` of process `pid`. `pipeWriters` names, for a pipe, the
    /// processes that still hold its write end (a read on it can only end once they close it).
    public static func describe(pid: pid_t, tid: pid_t, pipeWriters: (String) -> [String] = { _ in [] }) -> String {
        let directory = "/proc/\(pid)/task/\(tid)"
        var words: [String] = []
        if let state = ProcessInspection.StatLine.read(directory)?.state { words.append("state \(state) (\(stateName(state)))") }
        if let call = ProcessInspection.SystemCallInProgress.read(directory) {
            words.append(blockedCall(call, pid: pid, tid: tid, pipeWriters: pipeWriters))
        }
        if let bytes = try? readFile("\(directory)/wchan") {
            let wchan = Substring(String(decoding: bytes, as: UTF8.self)).trimmingCharacters(in: " \n\0")
            if !wchan.isEmpty && wchan != "0" { words.append("kernel wait: \(wchan)") }
        }
        return words.isEmpty ? "gone" : words.joined(separator: "; ")
    }

    static func stateName(_ state: Character) -> String {
        switch state {
        case "R": return "running"
        case "S": return "asleep"
        case "D": return "uninterruptible I/O"
        case "T", "t": return "stopped"
        case "Z": return "zombie: ended, never waited for"
        default: return "?"
        }
    }

    /// The system call a thread sleeps in, decoded for the calls a part can wait in.
    static func blockedCall(_ call: ProcessInspection.SystemCallInProgress, pid: pid_t, tid: pid_t,
                            pipeWriters: (String) -> [String]) -> String {
        let number = call.number
        let arguments = call.arguments
        guard arguments.count == 6 else { return "in system call \(number)" }
        let name = ProcessInspection.systemCallName(number)
        let fd = Int32(truncatingIfNeeded: Int64(bitPattern: arguments[0]))
        switch name {
        case "futex":
            return futex(pid: pid, tid: tid, address: arguments[0], operation: arguments[1], timeout: arguments[3])
        case "read", "readv", "pread64", "recvfrom", "recvmsg", "write", "writev", "pwrite64", "sendto", "sendmsg",
             "accept", "accept4", "connect", "flock":
            let target = ProcessInspection.linkTarget("/proc/\(pid)/fd/\(fd)") ?? "?"
            var text = "in \(name)(fd \(fd) → \(target))"
            if name.hasPrefix("read") || name.hasPrefix("recv"), target.hasPrefix("pipe:") {
                let writers = pipeWriters(target)
                text += writers.isEmpty ? " with no write end left open in the part"
                    : ", whose write end is still open in " + writers.joined(separator: ", ")
            }
            return text
        case "wait4", "waitid":
            let child = Int32(truncatingIfNeeded: Int64(bitPattern: arguments[name == "wait4" ? 0 : 1]))
            return name == "wait4" && child > 0 ? "in wait4 for child \(child)" : "in \(name) for a child"
        case "poll", "ppoll", "select", "pselect6", "epoll_wait", "epoll_pwait", "epoll_pwait2":
            return "in \(name)"
        case "nanosleep", "clock_nanosleep":
            return "in \(name) (a timed sleep)"
        default:
            return "in \(name)"
        }
    }

    /// "futex wait on 0x7f…40 (FUTEX_WAIT_BITSET, process-shared), no timeout — in a MAP_SHARED
    /// mapping of /dev/shm/name".
    static func futex(pid: pid_t, tid: pid_t, address: UInt64, operation: UInt64, timeout: UInt64) -> String {
        let command = operation & 0x7f                      // FUTEX_CMD_MASK without PRIVATE and CLOCK_REALTIME
        let names: [UInt64: String] = [0: "FUTEX_WAIT", 9: "FUTEX_WAIT_BITSET", 6: "FUTEX_LOCK_PI", 13: "FUTEX_LOCK_PI2",
                                       11: "FUTEX_WAIT_REQUEUE_PI"]
        let kind = names[command] ?? "futex op \(command)"
        let sharing = operation & 128 != 0 ? "process-private" : "process-shared"
        var text = "in futex wait on 0x\(String(address, radix: 16)) (\(kind), \(sharing)), "
            + (timeout == 0 ? "no timeout" : "with a timeout")
        if let line = ProcessInspection.mappingLine(containing: UInt(address), in: pid),
           let mapping = mapping(line, containing: address) {
            text += ", \(mapping)"
            if operation & 128 != 0 && mapping.contains("MAP_SHARED") {
                text += " — a process-private wait on shared memory: a wake-up from another process never reaches it"
                    + " (a mutex or condition variable made without PTHREAD_PROCESS_SHARED)"
            }
        }
        if let holder = mutexHolder(pid: pid, waiter: tid, address: address) { text += "; \(holder)" }
        return text
    }

    /// When the futex word at `address` starts a `pthread_mutex_t` (glibc: `__lock` at +0,
    /// `__owner` at +8, `__kind` at +16), who holds it: the evidence for "never unlocked" against
    /// "unlocked but the waiter was not woken". Read from `/proc/PID/mem` (the runner is the part's
    /// ancestor); nil when it cannot be read or does not look like a mutex.
    static func mutexHolder(pid: pid_t, waiter: pid_t, address: UInt64) -> String? {
        guard let memory = try? OwnedDescriptor.open("/proc/\(pid)/mem", O_RDONLY) else { return nil }
        var words = [Int32](repeating: 0, count: 5)
        let got = words.withUnsafeMutableBytes { pread(memory.rawValue, $0.baseAddress, $0.count, off_t(Int64(bitPattern: address))) }
        guard got == 20 else { return nil }
        let lock = UInt32(bitPattern: words[0]), owner = words[2], kind = words[4]
        // __kind: type 0…3, plus robust (16), pshared (128) and protocol bits; anything else is not a mutex.
        guard kind >= 0 && kind & ~0x3f3 == 0, lock != 0 else { return nil }
        let robustOwner = kind & 16 != 0 ? Int32(bitPattern: lock & 0x3fff_ffff) : owner
        let holder = robustOwner > 0 ? robustOwner : owner
        guard holder > 0 else { return "read as a pthread_mutex_t it is locked (word 0x\(String(lock, radix: 16))) with no owner recorded" }
        if holder == waiter {
            return "read as a pthread_mutex_t it is held by thread \(holder), the waiting thread itself: it locks a mutex it already holds (it was never unlocked since its last lock)"
        }
        let alive = ProcessInspection.state(of: holder).map { $0 != "Z" } ?? false
        return "read as a pthread_mutex_t it is held by thread \(holder)"
            + (alive ? " (alive: see what it waits in)" : ", which no longer runs: it ended holding the lock")
    }


    /// Where `address` lies, in words, from the line of `/proc/PID/maps` that holds it: "in a
    /// MAP_SHARED anonymous mapping", "in /dev/shm/x (MAP_SHARED)", "on the heap", "on the stack".
    static func mapping(_ line: String, containing address: UInt64) -> String? {
        let columns = line.split(separator: " ", maxSplits: 5, omittingEmptySubsequences: true)
        let range = columns.first?.split(separator: "-") ?? []
        guard columns.count >= 5, range.count == 2, let low = UInt64(range[0], radix: 16) else { return nil }
        let shared = columns[1].last == "s"
        let path = columns.count == 6 ? columns[5].trimmingCharacters(in: " ") : ""
        let offset = "+0x\(String(address - low, radix: 16))"
        switch path {
        case "", "/dev/zero (deleted)": return "\(offset) in a \(shared ? "MAP_SHARED" : "MAP_PRIVATE") anonymous mapping"
        case "[heap]": return "on the heap"
        case "[stack]": return "on the stack"
        default: return "\(offset) in \(path) (\(shared ? "MAP_SHARED" : "MAP_PRIVATE"))"
        }
    }
}

/// Names of the system calls a waiting thread is found in, by the number `/proc/PID/syscall` shows.
enum SystemCallName {
    static func of(_ number: Int) -> String? { table[number] }

    #if arch(x86_64)
    static let table: [Int: String] = [
        0: "read", 1: "write", 7: "poll", 17: "pread64", 18: "pwrite64", 19: "readv", 20: "writev", 23: "select",
        34: "pause", 35: "nanosleep", 42: "connect", 43: "accept", 44: "sendto", 45: "recvfrom", 46: "sendmsg",
        47: "recvmsg", 61: "wait4", 65: "semop", 72: "fcntl", 73: "flock", 128: "rt_sigtimedwait",
        130: "rt_sigsuspend", 202: "futex", 220: "semtimedop", 230: "clock_nanosleep", 232: "epoll_wait",
        247: "waitid", 270: "pselect6", 271: "ppoll", 281: "epoll_pwait", 288: "accept4", 441: "epoll_pwait2",
        449: "futex_waitv",
    ]
    #elseif arch(arm64)
    static let table: [Int: String] = [
        22: "epoll_pwait", 25: "fcntl", 32: "flock", 63: "read", 64: "write", 65: "readv", 66: "writev",
        67: "pread64", 68: "pwrite64", 72: "pselect6", 73: "ppoll", 95: "waitid", 98: "futex", 101: "nanosleep",
        115: "clock_nanosleep", 133: "rt_sigsuspend", 137: "rt_sigtimedwait", 193: "semop", 192: "semtimedop",
        202: "accept", 203: "connect", 206: "sendto", 207: "recvfrom", 211: "sendmsg", 212: "recvmsg",
        242: "accept4", 260: "wait4", 441: "epoll_pwait2", 449: "futex_waitv",
    ]
    #else
    static let table: [Int: String] = [:]
    #endif
}
