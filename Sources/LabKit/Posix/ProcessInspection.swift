import Glibc

/// What `/proc` says about another process: enough for a check to wait until a process is really
/// blocked in a system call (instead of sleeping and hoping), or to explain why it is stuck.
public enum ProcessInspection {
    /// The line of `/proc/PID/maps` (this process's when `pid` is nil) whose address range
    /// contains `address`, if any: what the kernel says is mapped there (anonymous, shared, a
    /// /dev/shm file...).
    public static func mappingLine(containing address: UInt, in pid: pid_t? = nil) -> String? {
        guard let bytes = try? readFile("/proc/\(pid.map { "\($0)" } ?? "self")/maps") else { return nil }
        return mappingLine(containing: address, inMaps: String(decoding: bytes, as: UTF8.self))
    }

    /// The line of a maps text ("7f00-7f80 rw-s 0 00:01 12 /dev/shm/x") whose range contains `address`.
    static func mappingLine(containing address: UInt, inMaps text: String) -> String? {
        for line in text.split(separator: "\n") {
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
        StatLine.read("/proc/\(pid)")?.state
    }

    /// User + system CPU time the process has used, in seconds (`/proc/PID/stat` fields 14 and 15).
    public static func cpuSeconds(of pid: pid_t) -> Double? {
        StatLine.read("/proc/\(pid)")?.cpuSeconds
    }

    /// The number of the system call the process is sleeping in (`/proc/PID/syscall`), or nil
    /// when it is running, gone, or the file cannot be read.
    public static func blockedSystemCall(of pid: pid_t) -> Int? {
        SystemCallInProgress.read("/proc/\(pid)")?.number
    }

    /// What `/proc/PID/syscall` (or `/proc/PID/task/TID/syscall`) says: the number of the system
    /// call a sleeping thread is in and its six arguments ("202 0x7f… 0x80 0x2 0x0 0x0 0x0 …").
    public struct SystemCallInProgress: Equatable, Sendable {
        public let number: Int
        /// The six arguments; empty when the file did not give them.
        public let arguments: [UInt64]

        /// Reads `DIRECTORY/syscall`; nil when it cannot be read or the thread is running.
        static func read(_ directory: String) -> SystemCallInProgress? {
            guard let bytes = try? readFile("\(directory)/syscall") else { return nil }
            return parse(String(decoding: bytes, as: UTF8.self))
        }

        static func parse(_ text: String) -> SystemCallInProgress? {
            let fields = text.split(whereSeparator: { $0 == " " || $0 == "\n" })
            guard let first = fields.first, let number = Int(first), number >= 0 else { return nil }
            let arguments = fields.dropFirst().prefix(6).map { UInt64($0.dropFirst(2), radix: 16) ?? 0 }
            return SystemCallInProgress(number: number, arguments: arguments.count == 6 ? arguments : [])
        }
    }

    /// The name of system call `number` as `/proc/PID/syscall` shows it ("read", "futex"), or
    /// "system call N" for one the lab does not name.
    public static func systemCallName(_ number: Int) -> String {
        SystemCallName.of(number) ?? "system call \(number)"
    }

    /// The read-like system calls the process has made so far (`syscr` of `/proc/PID/io`): a
    /// process that keeps calling `read()` on an end-of-file shows it here. nil when it is gone.
    public static func readCalls(of pid: pid_t) -> Int? {
        guard let bytes = try? readFile("/proc/\(pid)/io") else { return nil }
        for line in String(decoding: bytes, as: UTF8.self).split(separator: "\n") where line.hasPrefix("syscr:") {
            return Int(line.dropFirst("syscr:".count).trimmingCharacters(in: " \t"))
        }
        return nil
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

    /// One process as its `/proc/PID/stat` shows it.
    public struct ProcessEntry: Equatable, Sendable {
        public let pid: pid_t
        public let parent: pid_t
        public let group: pid_t
        public let state: Character
        public let command: String
    }

    /// Every process visible in `/proc`.
    public static func processTable() -> [ProcessEntry] {
        allProcessIDs().compactMap(process)
    }

    /// One process; nil when it is gone.
    public static func process(_ pid: pid_t) -> ProcessEntry? {
        guard let line = StatLine.read("/proc/\(pid)"), let parent = line.parent, let group = line.group else { return nil }
        return ProcessEntry(pid: pid, parent: parent, group: group, state: line.state, command: line.command)
    }

    /// The processes below `root`: its children, theirs, and so on (`/proc/PID/task/TID/children`,
    /// which lists the children each thread forked). Falls back to the whole process table where
    /// the children files are missing (a kernel without CONFIG_PROC_CHILDREN).
    public static func descendants(of root: pid_t) -> [pid_t] {
        guard access("/proc/\(root)/task/\(root)/children", R_OK) == 0 else {
            return descendants(of: root, in: processTable())
        }
        var found: [pid_t] = []
        var seen: Set<pid_t> = [root]
        var queue: [pid_t] = [root]
        while let pid = queue.popLast() {
            for tid in LeftoverSweep.list("/proc/\(pid)/task") {
                guard let bytes = try? readFile("/proc/\(pid)/task/\(tid)/children") else { continue }
                for word in String(decoding: bytes, as: UTF8.self).split(separator: " ") {
                    guard let child = pid_t(word.filter { $0.isNumber }), !seen.contains(child) else { continue }
                    seen.insert(child)
                    found.append(child)
                    queue.append(child)
                }
            }
        }
        return found.sorted()
    }

    /// The processes below `root` in `table`, by parent links.
    static func descendants(of root: pid_t, in table: [ProcessEntry]) -> [pid_t] {
        var below: Set<pid_t> = [root]
        var grew = true
        while grew {
            grew = false
            for entry in table where !below.contains(entry.pid) && below.contains(entry.parent) {
                below.insert(entry.pid)
                grew = true
            }
        }
        below.remove(root)
        return below.sorted()
    }

    /// One open descriptor of a process: its number, what it refers to (`pipe:[1234]`,
    /// `socket:[99]`, a path) and its open flags (`O_RDONLY`, `O_WRONLY`… from `/proc/PID/fdinfo`).
    public struct OpenDescriptor: Sendable, Equatable {
        /// The number in that process's descriptor table, read from `/proc/PID/fd`: a name for
        /// what the process holds, not a descriptor of this process, so neither owned nor borrowed.
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

    /// One `stat` file of `/proc` (a process's or a thread's), split: the command between the
    /// parentheses, then the fields after it, state first (field 3 of proc(5)).
    struct StatLine {
        let command: String
        /// The fields after the command: [0] state, [1] parent, [2] process group, [11] utime, [12] stime.
        let fields: [Substring]

        var state: Character { fields[0].first ?? "?" }
        var parent: pid_t? { fields.count > 2 ? pid_t(fields[1]) : nil }
        var group: pid_t? { fields.count > 2 ? pid_t(fields[2]) : nil }
        /// utime + stime in clock ticks.
        var cpuTicks: UInt64? {
            guard fields.count > 12, let user = UInt64(fields[11]), let system = UInt64(fields[12]) else { return nil }
            return user + system
        }
        var cpuSeconds: Double? { cpuTicks.map { Double($0) / Double(sysconf(Int32(_SC_CLK_TCK))) } }

        /// Reads `DIRECTORY/stat` (`/proc/PID` or `/proc/PID/task/TID`); nil when it is gone.
        static func read(_ directory: String) -> StatLine? {
            guard let bytes = try? readFile("\(directory)/stat") else { return nil }
            return parse(String(decoding: bytes, as: UTF8.self))
        }

        /// "123 (a (b) c) S 1 123 …": the command may hold spaces and parentheses, so it ends at
        /// the last ")".
        static func parse(_ text: String) -> StatLine? {
            guard let open = text.firstIndex(of: "("), let close = text.lastIndex(of: ")"), open < close else { return nil }
            let fields = text[text.index(after: close)...].split(whereSeparator: { $0 == " " || $0 == "\n" })
            guard !fields.isEmpty else { return nil }
            return StatLine(command: String(text[text.index(after: open)..<close]), fields: fields)
        }
    }
}
