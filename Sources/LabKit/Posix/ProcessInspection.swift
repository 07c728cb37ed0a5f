import Glibc

/// What `/proc` says about another process: enough for a check to wait until a process is really
/// blocked in a system call (instead of sleeping and hoping), or to explain why it is stuck.
public enum ProcessInspection {
    /// The line of this process's `/proc/self/maps` whose address range contains `address`, if
    /// any: what the kernel says is mapped there (anonymous, shared, a /dev/shm file...).
    public static func mappingLine(containing address: UInt) -> String? {
        guard let bytes = try? readFile("/proc/self/maps") else { return nil }
        for line in String(decoding: bytes, as: UTF8.self).split(separator: "\n") {
            let range = line.prefix { $0 != " " }.split(separator: "-")
            guard range.count == 2, let low = UInt(range[0], radix: 16), let high = UInt(range[1], radix: 16) else { continue }
            if low <= address && address < high { return String(line) }
        }
        return nil
    }

    /// System calls a check may wait for, by name; their numbers depend on the architecture.
    public enum SystemCall: Sendable, CaseIterable {
        case read, write, poll, accept, receive, send

        /// The numbers `/proc/PID/syscall` shows for this call (variants included: `ppoll` for
        /// `poll`, `recvfrom` for `recv`, …).
        var numbers: [Int] {
            #if arch(x86_64)
            switch self {
            case .read: return [0, 17, 19, 295]          // read, pread64, readv, preadv
            case .write: return [1, 18, 20, 296]         // write, pwrite64, writev, pwritev
            case .poll: return [7, 271, 23, 270, 232, 281] // poll, ppoll, select, pselect6, epoll_wait, epoll_pwait
            case .accept: return [43, 288]               // accept, accept4
            case .receive: return [45, 47, 0]            // recvfrom, recvmsg, read
            case .send: return [44, 46, 1]               // sendto, sendmsg, write
            }
            #elseif arch(arm64)
            switch self {
            case .read: return [63, 67, 65, 69]
            case .write: return [64, 68, 66, 70]
            case .poll: return [73, 72, 22]
            case .accept: return [202, 242]
            case .receive: return [207, 212, 63]
            case .send: return [206, 211, 64]
            }
            #else
            return []
            #endif
        }
    }

    /// The state letter of `/proc/PID/stat`: R running, S sleeping, D uninterruptible, T stopped,
    /// Z zombie; nil when there is no such process.
    public static func state(of pid: pid_t) -> Character? {
        statFields(pid)?.first?.first
    }

    /// User + system CPU time the process has used, in seconds (`/proc/PID/stat` fields 14 and 15).
    public static func cpuSeconds(of pid: pid_t) -> Double? {
        guard let fields = statFields(pid), fields.count > 13,
              let user = Double(fields[11]), let system = Double(fields[12]) else { return nil }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    /// The number of the system call the process is sleeping in (`/proc/PID/syscall`), or nil
    /// when it is running, gone, or the file cannot be read.
    public static func blockedSystemCall(of pid: pid_t) -> Int? {
        guard let bytes = try? readFile("/proc/\(pid)/syscall") else { return nil }
        let text = String(decoding: bytes, as: UTF8.self)
        guard let first = text.split(separator: " ").first, let number = Int(first), number >= 0 else { return nil }
        return number
    }

    /// True when the process sleeps inside one of `calls`. Where `/proc/PID/syscall` cannot be
    /// read, a sleeping process (state S) is taken as blocked.
    public static func isBlocked(_ pid: pid_t, in calls: [SystemCall]) -> Bool {
        guard state(of: pid) == "S" else { return false }
        guard (try? readFile("/proc/\(pid)/syscall")) != nil else { return true }
        guard let number = blockedSystemCall(of: pid) else { return false }
        return calls.contains { $0.numbers.contains(number) }
    }

    /// Waits until the process sleeps inside one of `calls`; false if it does not within `timeout`
    /// seconds (or ends). Polls `/proc` every 200 µs: a wait for a state, not a guess at a delay.
    public static func waitUntilBlocked(_ pid: pid_t, in calls: [SystemCall], timeout: Double) -> Bool {
        let deadline = monotonicSeconds() + timeout
        while monotonicSeconds() < deadline {
            if isBlocked(pid, in: calls) { return true }
            if let state = state(of: pid), state == "Z" || state == "X" { return false }
            if state(of: pid) == nil { return false }
            usleep(200)
        }
        return false
    }

    /// Every process id visible in `/proc`.
    public static func allProcessIDs() -> [pid_t] {
        LeftoverSweep.list("/proc").compactMap { pid_t($0) }
    }

    /// One open descriptor of a process: its number, what it refers to (`pipe:[1234]`,
    /// `socket:[99]`, a path) and its open flags (`O_RDONLY`, `O_WRONLY`… from `/proc/PID/fdinfo`).
    public struct OpenDescriptor: Sendable, Equatable {
        public let fd: Int32
        public let target: String
        public let flags: Int32

        /// True when the descriptor was opened for writing (a pipe's write end, say).
        public var canWrite: Bool { flags & O_ACCMODE == O_WRONLY || flags & O_ACCMODE == O_RDWR }
    }

    /// The open descriptors of a process (`/proc/PID/fd`). The corresponding C function is `readlink`.
    public static func openDescriptors(of pid: pid_t) -> [OpenDescriptor] {
        LeftoverSweep.list("/proc/\(pid)/fd").compactMap { Int32($0) }.sorted().compactMap { fd in
            guard let target = linkTarget("/proc/\(pid)/fd/\(fd)") else { return nil }
            var flags: Int32 = 0
            if let info = try? readFile("/proc/\(pid)/fdinfo/\(fd)") {
                for line in String(decoding: info, as: UTF8.self).split(separator: "\n") where line.hasPrefix("flags:") {
                    flags = Int32(line.dropFirst("flags:".count).filter { $0 != " " && $0 != "\t" }, radix: 8) ?? 0
                }
            }
            return OpenDescriptor(fd: fd, target: target, flags: flags)
        }
    }

    /// What a symbolic link (such as `/proc/self/fd/3`) points to. The corresponding C function is `readlink`.
    public static func linkTarget(_ path: String) -> String? {
        var buffer = [CChar](repeating: 0, count: 4096)
        let n = readlink(path, &buffer, buffer.count - 1)
        guard n > 0 else { return nil }
        return String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The fields of `/proc/PID/stat` after the command name: state first.
    static func statFields(_ pid: pid_t) -> [Substring]? {
        guard let bytes = try? readFile("/proc/\(pid)/stat") else { return nil }
        let text = String(decoding: bytes, as: UTF8.self)
        guard let close = text.lastIndex(of: ")") else { return nil }
        return text[text.index(after: close)...].split(separator: " ")
    }
}
