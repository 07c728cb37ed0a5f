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
    /// Polls readable once the process has ended; nil when pidfd_open is unavailable.
    let pidfd: OwnedDescriptor?
    /// The read end of the captured output, until `takeOutput()` hands it on.
    private var output: OwnedDescriptor?
    /// How it ended, once reaped.
    public private(set) var end: ProcessEnd?
    /// True when the child leads a process group of its own (pgid == pid).
    public let ownsProcessGroup: Bool

    init(pid: pid_t, pidfd: consuming OwnedDescriptor?, output: consuming OwnedDescriptor?, ownsProcessGroup: Bool) {
        self.pid = pid
        self.pidfd = pidfd
        self.output = output
        self.ownsProcessGroup = ownsProcessGroup
    }

    /// A `poll` entry that is readable once the child has ended (a descriptor of -1, which poll
    /// skips, without a pidfd).
    var endedEntry: pollfd {
        switch pidfd {
        case .some(let fd): return fd.readable
        case .none: return .skipped
        }
    }

    var hasPidfd: Bool {
        switch pidfd {
        case .some: return true
        case .none: return false
        }
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
    ///   - handOver: descriptors of this process duplicated into the child at fixed numbers
    ///     (`dup2`); their owners keep them and close them after the spawn.
    /// The corresponding C function is `posix_spawn`.
    public static func spawn(_ path: String, _ arguments: [String], environment: [String: String?] = [:],
                             output: Output = .inherit, newProcessGroup: Bool = false, newSession: Bool = false,
                             handOver: [DescriptorHandOver] = []) throws -> ChildProcess {
        /// posix_spawn's set-up calls return their error (they do not set errno).
        func check(_ call: String, _ rc: Int32) throws {
            if rc != 0 { throw SystemError(call, errno: rc, object: path) }
        }
        var actions = posix_spawn_file_actions_t()
        try check("posix_spawn_file_actions_init", posix_spawn_file_actions_init(&actions))
        defer { posix_spawn_file_actions_destroy(&actions) }
        var attributes = posix_spawnattr_t()
        try check("posix_spawnattr_init", posix_spawnattr_init(&attributes))
        defer { posix_spawnattr_destroy(&attributes) }

        try check("posix_spawn_file_actions_addopen", posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0))
        // Owned from here: a failed set-up call or spawn closes both ends on the way out.
        let pipe: OwnedPipe? = output == .inherit ? nil : try OwnedPipe()
        switch pipe {
        case .some(let ends):
            try check("posix_spawn_file_actions_adddup2", posix_spawn_file_actions_adddup2(&actions, ends.write.rawValue, 1))
            if output == .captureBoth {
                try check("posix_spawn_file_actions_adddup2", posix_spawn_file_actions_adddup2(&actions, ends.write.rawValue, 2))
            }
        case .none:
            break
        }
        for mapping in handOver {
            try check("posix_spawn_file_actions_adddup2", posix_spawn_file_actions_adddup2(&actions, mapping.source.rawValue, mapping.target))
        }
        // Nothing else of this process's descriptors reaches the child: a part never holds
        // what the lab's own parent gave it (a test runner's pipe or socket, a terminal's).
        let keep = handOver.map(\.target).max().map { max($0, 2) } ?? 2
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

        let argv = ([path] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        let envp = mergedEnvironment(environment).map { strdup($0) } + [nil]
        defer { envp.forEach { free($0) } }

        var pid: pid_t = 0
        let rc = posix_spawn(&pid, path, &actions, &attributes, argv, envp)
        guard rc == 0 else { throw SystemError("posix_spawn", errno: rc, object: path) }
        var readEnd: OwnedDescriptor? = nil
        if let ends = pipe {
            ends.write.close()          // the child's copy is the only writer now
            let read = ends.read
            readEnd = consume read
        }
        let opened = shmlab_pidfd_open(pid)
        var pidfd: OwnedDescriptor? = nil
        if opened >= 0 {
            _ = shmlab_set_cloexec(opened)
            pidfd = OwnedDescriptor(taking: opened)
        }
        return ChildProcess(pid: pid, pidfd: pidfd, output: readEnd, ownsProcessGroup: newProcessGroup || newSession)
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
            if hasPidfd {
                var entry = endedEntry
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
        let deadline = monotonicSeconds() + timeout
        guard let output = takeOutput() else {
            let end = wait(timeout: timeout)
            if end == nil { terminate() }
            return ([], end)
        }
        var watch = PartWatch(output: output, report: nil, outputLimit: limit)
        while !watch.outputEnded {
            let remaining = deadline - monotonicSeconds()
            if remaining <= 0 { terminate(); return (watch.collected, nil) }
            _ = watch.pollOnce(timeout: remaining, child: self, keys: nil, interruptible: false)
        }
        let collected = watch.collected
        watch.close()
        let end = wait(timeout: max(0.05, deadline - monotonicSeconds()))
        if end == nil { terminate(); return (collected, nil) }
        return (collected, end)
    }

    /// Gives the output's read end to the caller, who then owns it (nil when none was captured or
    /// it was taken already).
    public func takeOutput() -> OwnedDescriptor? {
        output.take()
    }
}

/// A descriptor of this process that `ChildProcess.spawn` duplicates into the child at `target`
/// (`posix_spawn_file_actions_adddup2`): lent for the spawn by its owner, which keeps it and
/// closes it after. `target` is a number in the child's table, not a descriptor of this process.
public struct DescriptorHandOver: Sendable {
    let source: BorrowedDescriptor
    let target: Int32

    /// A descriptor the engine owns.
    public init(_ source: borrowing OwnedDescriptor, as target: Int32) {
        self.source = source.borrowed
        self.target = target
    }

    /// A descriptor owned elsewhere (a lesson's `Connection` that holds the student's descriptor),
    /// which its owner keeps open for the spawn.
    public init(_ source: BorrowedDescriptor, as target: Int32) {
        self.source = source
        self.target = target
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
