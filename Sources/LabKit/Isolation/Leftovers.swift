import Glibc

/// Something a part left behind that outlives it.
public enum Leftover: Equatable, Sendable, CustomStringConvertible {
    /// A POSIX shared-memory object (`/dev/shm/NAME`).
    case sharedMemory(String)
    /// A named POSIX semaphore (`/dev/shm/sem.NAME`).
    case semaphore(String)
    /// A socket file.
    case socket(String)
    /// A temporary file or directory.
    case temporary(String)
    /// A process still running after the part ended.
    case process(pid: Int32, command: String)

    /// A name left in /dev/shm: `sem.NAME` is a named semaphore (glibc keeps them there), anything
    /// else a shared-memory object.
    static func inSharedMemory(_ name: String) -> Leftover {
        name.hasPrefix("sem.") ? .semaphore(String(name.dropFirst(4))) : .sharedMemory(name)
    }

    public var description: String {
        switch self {
        case .sharedMemory(let name): return "shared-memory segment /\(name) (never shm_unlink'ed)"
        case .semaphore(let name): return "named semaphore /\(name) (never sem_unlink'ed)"
        case .socket(let path): return "socket file \(path) (never unlink'ed)"
        case .temporary(let path): return "temporary file or directory \(path)"
        case .process(let pid, let command): return "process \(pid) (\(command)) still running (never waited for?)"
        }
    }
}

/// Finds and removes what parts leave behind: new names in /dev/shm, the part's own temp dir,
/// new lab-looking entries in /tmp, and processes still alive after the part.
public struct LeftoverSweep {
    static let sharedMemoryDir = "/dev/shm"
    /// Parts get a private TMPDIR, so of what appears directly in /tmp only Python's multiprocessing
    /// names are attributed to a part (other programs' files there are none of the part's business).
    static let tmpPrefixes = ["pymp-", "listener-"]
    let sharedMemoryBefore: Set<String>
    let tmpBefore: Set<String>
    let tmpRoot: String

    /// Whether what appears in the machine's /dev/shm and /tmp is the part's (one part at a time);
    /// false for a part with a /dev/shm of its own, which runs beside others: then only its own
    /// temp folder is its.
    let machineWide: Bool

    /// Notes what exists now; call before the part starts.
    public init(machineWide: Bool = true) {
        self.machineWide = machineWide
        sharedMemoryBefore = machineWide ? Set(Self.list(Self.sharedMemoryDir)) : []
        tmpRoot = Self.systemTempRoot()
        tmpBefore = machineWide ? Set(Self.list(tmpRoot)) : []
    }

    /// Names the runner that started a part, in the part's environment (inherited by everything
    /// the part starts), so that what a killed runner left can be found by the next one.
    static let runnerVariable = "LAB_RUNNER"

    /// What a runner that was killed (SIGKILL leaves it no chance to clean up) left behind: its
    /// parts' temporary folders (`shmlab-part-RUNNERPID-…`) and processes whose environment still
    /// names it (`LAB_RUNNER=RUNNERPID`). Runs under the machine lock, before a part; removes them
    /// and returns them. A runner that is still alive (or whose pid was reused) is left alone.
    public static func sweepAbandoned() -> [Leftover] {
        var found: [Leftover] = []
        let root = systemTempRoot()
        for name in list(root) where name.hasPrefix("shmlab-part-") {
            let fields = name.split(separator: "-")
            guard fields.count >= 4, let runner = Int32(fields[2]), !isAlive(runner) else { continue }
            removeTree("\(root)/\(name)")
            found.append(.temporary("\(root)/\(name)"))
        }
        let me = getpid()
        for entry in ProcessInspection.processTable() where entry.pid != me {
            guard let runner = environmentValue(runnerVariable, of: entry.pid).flatMap(Int32.init),
                  runner != me, !isAlive(runner) else { continue }
            kill(entry.pid, SIGKILL)
            found.append(.process(pid: entry.pid, command: entry.command))
        }
        return found
    }

    /// Whether a process with this pid exists. The corresponding C function is `kill(pid, 0)`.
    static func isAlive(_ pid: Int32) -> Bool { kill(pid, 0) == 0 || errno == EPERM }

    /// `NAME`'s value in another process's environment (`/proc/PID/environ`), if readable.
    static func environmentValue(_ name: String, of pid: Int32) -> String? {
        guard let bytes = try? readFile("/proc/\(pid)/environ", limit: 1 << 20) else { return nil }
        let prefix = Array((name + "=").utf8)
        for entry in bytes.split(separator: 0) where entry.starts(with: prefix) {
            return String(decoding: entry.dropFirst(prefix.count), as: UTF8.self)
        }
        return nil
    }

    /// A new folder of this runner's in the temporary root: `shmlab-part-RUNNERPID-KIND-XXXXXX`
    /// (a part's own TMPDIR without a kind). The runner's pid in the name is what lets the next
    /// lab remove it (`sweepAbandoned`) when this one is killed before it can. nil when none can
    /// be made. The corresponding C function is `mkdtemp`.
    static func makeRunnerFolder(_ kind: String? = nil) -> String? {
        var template = Array("\(systemTempRoot())/shmlab-part-\(getpid())-\(kind.map { $0 + "-" } ?? "")XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { return nil }
        return String(cString: made)
    }

    /// The temporary root: `$TMPDIR` or /tmp.
    static func systemTempRoot() -> String {
        if let env = getenv("TMPDIR"), env.pointee != 0 {
            let text = String(cString: env)
            return text.hasSuffix("/") && text.count > 1 ? String(text.dropLast()) : text
        }
        return "/tmp"
    }

    /// Removes (and returns) whatever files appeared since `init` and whatever the part put in
    /// `partTempDir`, then the directory itself.
    public func sweepFiles(partTempDir: String) -> [Leftover] {
        var found: [Leftover] = []
        let uid = getuid()
        for name in machineWide ? Self.list(Self.sharedMemoryDir) : [] where !sharedMemoryBefore.contains(name) {
            let path = "\(Self.sharedMemoryDir)/\(name)"
            var info = stat()
            guard lstat(path, &info) == 0, info.st_uid == uid else { continue }
            found.append(.inSharedMemory(name))
            unlink(path)
        }
        for name in Self.list(partTempDir) {
            let path = "\(partTempDir)/\(name)"
            found.append(Self.isSocket(path) ? .socket(path) : .temporary(path))
            removeTree(path)
        }
        removeTree(partTempDir)
        for name in machineWide ? Self.list(tmpRoot) : [] where !tmpBefore.contains(name)
            && Self.tmpPrefixes.contains(where: { name.hasPrefix($0) }) {
            let path = "\(tmpRoot)/\(name)"
            if path == partTempDir { continue }
            var info = stat()
            guard lstat(path, &info) == 0, info.st_uid == uid else { continue }
            found.append(Self.isSocket(path) ? .socket(path) : .temporary(path))
            removeTree(path)
        }
        return found
    }

    /// Kills and reaps every process left in `group` or re-parented to this (subreaper) process,
    /// after giving them `grace` seconds to end on their own.
    public static func sweepProcesses(group: pid_t, grace: Double = 0.3) -> [Leftover] {
        let me = getpid()
        var found: [Int32: String] = [:]
        let deadline = monotonicSeconds() + grace
        var rounds = 0
        while rounds < 50 {
            reapZombieChildren()
            let alive = ProcessInspection.processTable().filter { ($0.group == group || $0.parent == me) && $0.pid != me && $0.state != "Z" }
            if alive.isEmpty { break }
            if monotonicSeconds() < deadline {
                usleep(5000) // a grace period for exiting helpers, not synchronisation
                continue
            }
            rounds += 1
            for process in alive {
                if found[process.pid] == nil { found[process.pid] = process.command }
                kill(process.pid, SIGKILL)
            }
            kill(-group, SIGKILL)
            usleep(2000)
        }
        reapZombieChildren()
        return found.sorted { $0.key < $1.key }.map { .process(pid: $0.key, command: $0.value) }
    }

    /// Reaps every ended child without blocking. The corresponding C function is `waitpid(-1, …, WNOHANG)`.
    static func reapZombieChildren() {
        var status: Int32 = 0
        while waitpid(-1, &status, WNOHANG) > 0 {}
    }

    static func isSocket(_ path: String) -> Bool {
        var info = stat()
        return lstat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFSOCK
    }

    /// The names in a directory, without "." and "..". The corresponding C function is `readdir`.
    static func list(_ dir: String) -> [String] {
        guard let handle = opendir(dir) else { return [] }
        defer { closedir(handle) }
        var names: [String] = []
        while let entry = readdir(handle) {
            let name = withUnsafePointer(to: entry.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }
}

/// Removes a file or a directory tree; errors are ignored. Uses `lstat`, `unlink`, `rmdir`.
public func removeTree(_ path: String) {
    var info = stat()
    guard lstat(path, &info) == 0 else { return }
    if (info.st_mode & S_IFMT) == S_IFDIR {
        for name in LeftoverSweep.list(path) { removeTree("\(path)/\(name)") }
        rmdir(path)
    } else {
        unlink(path)
    }
}
