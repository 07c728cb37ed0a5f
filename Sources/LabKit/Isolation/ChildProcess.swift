import CShmLab
import Glibc

/// A process started with `posix_spawn`, watched through a pidfd so that waiting can time out.
public final class ChildProcess {
    /// Where the child's standard output and error go.
    public enum Output {
        /// The same as this process's.
        case inherit
        /// Standard output into a pipe (`outputFD`); standard error inherited.
        case captureStdout
        /// Standard output and error together into one pipe (`outputFD`).
        case captureBoth
    }

    public let pid: pid_t
    /// Polls readable once the process has ended. -1 when pidfd_open is unavailable.
    public let pidfd: Int32
    /// The read end of the captured output, or -1.
    public private(set) var outputFD: Int32
    /// How it ended, once reaped.
    public private(set) var end: ProcessEnd?
    /// True when the child leads a process group of its own (pgid == pid).
    public let ownsProcessGroup: Bool

    init(pid: pid_t, pidfd: Int32, outputFD: Int32, ownsProcessGroup: Bool) {
        self.pid = pid
        self.pidfd = pidfd
        self.outputFD = outputFD
        self.ownsProcessGroup = ownsProcessGroup
    }

    deinit {
        Descriptor.close(pidfd)
        Descriptor.close(outputFD)
    }

    /// Starts `path` with `arguments` (argv[0] is added). The corresponding C function is `posix_spawn`.
    ///
    /// - Parameters:
    ///   - environment: variables set (or, with a nil value, removed) on top of this process's environment.
    ///   - newProcessGroup: the child leads a new process group, so it and its descendants can be
    ///     signalled together with `kill(-pid, …)`.
    ///   - newSession: the child leads a new session (and so a new process group): it cannot move
    ///     itself into this process's group (setpgid across sessions is refused), and its own
    ///     `setsid()` fails. Parts run this way.
    ///   - mapDescriptors: (source, target) pairs duplicated into the child with `dup2`.
    /// The corresponding C function is `posix_spawn`.
    public static func spawn(_ path: String, _ arguments: [String], environment: [String: String?] = [:],
                             output: Output = .inherit, newProcessGroup: Bool = false, newSession: Bool = false,
                             mapDescriptors: [(source: Int32, target: Int32)] = []) throws -> ChildProcess {
        /// posix_spawn's set-up calls return their error (they do not set errno).
        func check(_ call: String, _ rc: Int32) throws {
            if rc != 0 { throw SystemError(call, errno: rc, object: path) }
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }

        try check("posix_spawn_file_actions_addopen", posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0))
        var pipeEnds: (read: Int32, write: Int32)? = nil
        do {
            if output != .inherit {
                let ends = try Descriptor.pipe()
                pipeEnds = ends
                try check("posix_spawn_file_actions_adddup2", posix_spawn_file_actions_adddup2(&actions, ends.write, 1))
                if output == .captureBoth {
                    try check("posix_spawn_file_actions_adddup2", posix_spawn_file_actions_adddup2(&actions, ends.write, 2))
                }
            }
            for (source, target) in mapDescriptors {
                try check("posix_spawn_file_actions_adddup2", posix_spawn_file_actions_adddup2(&actions, source, target))
            }
            // Nothing else of this process's descriptors reaches the child: a part never holds
            // what the lab's own parent gave it (a test runner's pipe or socket, a terminal's).
            let keep = mapDescriptors.map(\.target).max().map { max($0, 2) } ?? 2
            try check("posix_spawn_file_actions_addclosefrom_np", shmlab_spawn_addclosefrom(&actions, keep + 1))

            var flags = Int32(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF)
            if newSession {
                flags |= shmlab_posix_spawn_setsid_flag()
            } else if newProcessGroup {
                flags |= Int32(POSIX_SPAWN_SETPGROUP)
                try check("posix_spawnattr_setpgroup", posix_spawnattr_setpgroup(&attributes, 0))
            }
            try check("posix_spawnattr_setflags", posix_spawnattr_setflags(&attributes, Int16(flags)))
            var emptyMask = sigset_t()
            sigemptyset(&emptyMask)
            try check("posix_spawnattr_setsigmask", posix_spawnattr_setsigmask(&attributes, &emptyMask))
            var defaults = sigset_t()
            sigemptyset(&defaults)
            for sig in [SIGINT, SIGTERM, SIGPIPE, SIGCHLD, SIGQUIT, SIGHUP, SIGUSR1, SIGUSR2] { sigaddset(&defaults, sig) }
            try check("posix_spawnattr_setsigdefault", posix_spawnattr_setsigdefault(&attributes, &defaults))
        } catch {
            if let ends = pipeEnds { Descriptor.close(ends.read); Descriptor.close(ends.write) }
            throw error
        }

        let argv = ([path] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        let envp = mergedEnvironment(environment).map { strdup($0) } + [nil]
        defer { envp.forEach { free($0) } }

        var pid: pid_t = 0
        let rc = posix_spawn(&pid, path, &actions, &attributes, argv, envp)
        if let ends = pipeEnds { Descriptor.close(ends.write) }
        guard rc == 0 else {
            if let ends = pipeEnds { Descriptor.close(ends.read) }
            throw SystemError("posix_spawn", errno: rc, object: path)
        }
        let pidfd = shmlab_pidfd_open(pid)
        if pidfd >= 0 { _ = shmlab_set_cloexec(pidfd) }
        return ChildProcess(pid: pid, pidfd: pidfd, outputFD: pipeEnds?.read ?? -1,
                            ownsProcessGroup: newProcessGroup || newSession)
    }

    /// This process's environment with `changes` applied, as "NAME=value" strings.
    static func mergedEnvironment(_ changes: [String: String?]) -> [String] {
        var result: [String] = []
        var index = 0
        while let entry = environ[index] {
            let text = String(cString: entry)
            let name = String(text.prefix { $0 != "=" })
            if changes[name] == nil { result.append(text) }
            index += 1
        }
        for (name, value) in changes.sorted(by: { $0.key < $1.key }) {
            if let value { result.append("\(name)=\(value)") }
        }
        return result
    }

    /// Reaps the child if it has ended, without blocking. The corresponding C function is
    /// `waitpid(pid, …, WNOHANG)`.
    @discardableResult
    public func reapIfEnded() -> ProcessEnd? {
        if let end { return end }
        var status: Int32 = 0
        let rc = waitpid(pid, &status, WNOHANG)
        if rc == pid { end = ProcessEnd(waitStatus: status) }
        return end
    }

    /// Waits until the child ends or `timeout` seconds pass; nil on timeout. Uses `poll` on the pidfd.
    public func wait(timeout: Double?) -> ProcessEnd? {
        if let end { return end }
        if timeout == nil { return reap() }
        let deadline = monotonicSeconds() + timeout!
        while true {
            if let end = reapIfEnded() { return end }
            let remaining = deadline - monotonicSeconds()
            if remaining <= 0 { return nil }
            if pidfd >= 0 {
                var entry = pollfd(fd: pidfd, events: Int16(POLLIN), revents: 0)
                _ = poll(&entry, 1, Int32(min(remaining, 1) * 1000) + 1)
            } else {
                usleep(2000)
            }
        }
    }

    /// Waits for the child to end, however long it takes. The corresponding C function is `waitpid`.
    @discardableResult
    public func reap() -> ProcessEnd {
        if let end { return end }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
        let ended = ProcessEnd(waitStatus: status)
        end = ended
        return ended
    }

    /// Sends `signal` to the child, or to its whole process group when it leads one.
    /// The corresponding C function is `kill`.
    public func signal(_ sig: Int32) {
        if end != nil && !ownsProcessGroup { return }
        _ = Glibc.kill(ownsProcessGroup ? -pid : pid, sig)
    }

    /// SIGTERM, a grace period, then SIGKILL; always reaps.
    @discardableResult
    public func terminate(grace: Double = 0.2) -> ProcessEnd {
        if let end = reapIfEnded() { return end }
        signal(SIGTERM)
        if let end = wait(timeout: grace) {
            if ownsProcessGroup { signal(SIGKILL) }
            return end
        }
        signal(SIGKILL)
        return reap()
    }

    /// Reads the captured output until end-of-file or `timeout`; kills the child on timeout and
    /// returns nil for its end. Meant for short-lived helpers such as a python3 peer.
    public func collectOutput(timeout: Double, limit: Int = 16 << 20) -> (output: [UInt8], end: ProcessEnd?) {
        var output: [UInt8] = []
        let deadline = monotonicSeconds() + timeout
        var buffer = [UInt8](repeating: 0, count: 65536)
        while outputFD >= 0 {
            let remaining = deadline - monotonicSeconds()
            if remaining <= 0 { terminate(); return (output, nil) }
            var entry = pollfd(fd: outputFD, events: Int16(POLLIN), revents: 0)
            let ready = poll(&entry, 1, Int32(remaining * 1000) + 1)
            if ready <= 0 { continue }
            let n = buffer.withUnsafeMutableBytes { Glibc.read(outputFD, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { Descriptor.close(outputFD); outputFD = -1; break }
            if output.count < limit { output.append(contentsOf: buffer[0..<n]) }
        }
        let end = wait(timeout: max(0.05, deadline - monotonicSeconds()))
        if end == nil { terminate(); return (output, nil) }
        return (output, end)
    }

    /// Gives the output descriptor to the caller, who then closes it.
    public func takeOutputFD() -> Int32 {
        let fd = outputFD
        outputFD = -1
        return fd
    }
}

/// The path of the running executable, from `/proc/self/exe`. The corresponding C function is `readlink`.
public func currentExecutablePath() -> String {
    var buffer = [UInt8](repeating: 0, count: Int(PATH_MAX) + 1)
    let n = buffer.withUnsafeMutableBufferPointer { raw in
        raw.withMemoryRebound(to: CChar.self) { readlink("/proc/self/exe", $0.baseAddress!, $0.count - 1) }
    }
    guard n > 0 else { return CommandLine.arguments[0] }
    return String(decoding: buffer[0..<n], as: UTF8.self)
}

/// The first executable called `name` on `$PATH`, or nil.
public func findOnPath(_ name: String) -> String? {
    guard let path = getenv("PATH") else { return nil }
    for dir in String(cString: path).split(separator: ":") {
        let candidate = "\(dir)/\(name)"
        if access(candidate, X_OK) == 0 { return candidate }
    }
    return nil
}
