import Glibc

/// One part at a time for each user: an exclusive `flock` on `/tmp/shmlab-parts-UID.lock`. The
/// holder writes who it is into the file ("PID lesson 03, part 4"), so a lab that waits can say
/// for whom, and it says so on standard error for as long as it waits (`LockWaitNotice`).
///
/// A part with a /dev/shm of its own (`PrivateSharedMemory`) cannot mistake another part's
/// objects for its own, nor be mistaken: it takes the lock *shared*, so such parts run side by
/// side and only a part that sees the machine's /dev/shm (exclusive) runs alone.
///
/// Why per user and not per machine: what the lock protects is the sweep after a part, which
/// removes only the user's own objects in /dev/shm and the processes below its own runner;
/// another user's parts can never be mistaken for ours.
///
/// Why the file is removed on release: nothing of the lab stays in /tmp. A lab that was waiting
/// on the removed file finds, once it holds it, that the path names another file (or none) and
/// tries again; only a holder removes the file, so two labs never hold the same name at once.
///
/// Labs built before this lock take an exclusive `flock` on the /dev/shm directory itself. This
/// lab also waits for a shared one there, so that an older lab and this one never run parts at the
/// same time (each would take the other's new objects in /dev/shm for its part's leftovers: seen
/// when this lab once did not wait), while labs of this kind (shared locks do not exclude each
/// other) are kept apart per user only. (The test suite gives its labs a lock file of their own,
/// `SHMLAB_PART_LOCK`, and takes that one exclusively to look at /dev/shm and /proc when no part of
/// its labs is in flight.)
public final class PartLock {
    /// The lock file, held with `flock`; nil where no lock could be had (an unwritable /tmp).
    private var file: OwnedDescriptor?
    /// The shared lock on /dev/shm; nil where the directory cannot be opened.
    private var legacy: OwnedDescriptor?

    init(file: consuming OwnedDescriptor?, legacy: consuming OwnedDescriptor?, path: String = PartLock.path) {
        self.path = path
        self.file = file
        self.legacy = legacy
    }

    /// The lock file of the current user.
    /// `SHMLAB_PART_LOCK` names another (the test suite gives its labs one of their own, so that
    /// labs elsewhere on the machine cannot starve its lock-waiting tests).
    public static var path: String {
        if let other = getenv("SHMLAB_PART_LOCK"), other.pointee != 0 { return String(cString: other) }
        return "/tmp/shmlab-parts-\(getuid()).lock"
    }
    /// The lock file this hold is on.
    private let path: String

    /// What a hidden sub-command runs, as the waiting line names it: "lesson 03, part 4".
    static func activity(of arguments: [String]) -> String {
        let lesson = arguments.count > 1 ? Int(arguments[1]).map { $0 < 10 ? "0\($0)" : "\($0)" } ?? arguments[1] : "?"
        switch arguments.first {
        case "__part" where arguments.count > 2: return "lesson \(lesson), part \(arguments[2])"
        case "__peer" where arguments.count > 2: return "lesson \(lesson), bench \(arguments[2])"
        default: return arguments.joined(separator: " ")
        }
    }

    /// Waits for the lock, saying on standard error whom for. While another lab's part holds it,
    /// Ctrl-C still ends this lab at once (exit 130): the lock is tried without blocking every
    /// 10 ms between looks at the interrupt pipe, because a blocking `flock` is restarted after
    /// the signal. Where no lock can be had at all (an unwritable /tmp), the part runs anyway.
    /// In watch mode `keys` may stop the wait (q, r): then nil, and nothing was started.
    static func acquire(for activity: String, shared: Bool = false, keys: StopKeys? = nil) -> PartLock? {
        var notice = LockWaitNotice()
        let started = monotonicSeconds()
        var file: FileAttempt = .busy
        while true {
            if file.isBusy { file = attemptFile(activity, shared: shared) }
            if !file.isBusy {
                switch attemptLegacy() {
                case .held(let legacy):
                    notice.finish()
                    return PartLock(file: file.descriptor(), legacy: legacy)
                case .unavailable:
                    notice.finish()
                    return PartLock(file: file.descriptor(), legacy: nil)
                case .busy:
                    break
                }
            }
            // Holding the file, only an older lab can be in the way, and it does not say who it is.
            let holder: String
            holder = file.isBusy ? Self.holder() ?? "" : "a lab built before labs said which part they run"
            notice.update(waited: monotonicSeconds() - started, holder: holder)
            // 10 ms on the interrupt pipe and the keys.
            var entries = [Interruption.readableEntry, keys?.keyboard.readableEntry ?? .skipped]
            if poll(&entries, 2, 10) > 0 {
                if entries[0].revents != 0 {
                    PartLock(file: file.descriptor(), legacy: nil).release()
                    notice.finish()
                    Interruption.finish(message: "interrupted while waiting for another lab's part to finish (nothing was started)")
                }
                if entries[1].revents != 0, let keys, keys.stops(keys.keyboard.read()) {
                    PartLock(file: file.descriptor(), legacy: nil).release()
                    notice.finish()
                    return nil
                }
            }
        }
    }

    /// Takes the lock if it is free, without waiting; nil when another lab holds it. Tests use it
    /// to stand for another lab. The corresponding C function is `flock(LOCK_EX | LOCK_NB)`.
    public static func tryAcquire(for activity: String, at path: String = PartLock.path) -> PartLock? {
        guard case .acquired(let fd) = attemptFile(activity, at: path) else { return nil }
        switch attemptLegacy() {
        case .held(let legacy): return PartLock(file: fd, legacy: legacy, path: path)
        case .unavailable: return PartLock(file: fd, legacy: nil, path: path)
        case .busy:
            PartLock(file: fd, legacy: nil, path: path).release()
            return nil
        }
    }

    /// One try at the lock file.
    enum FileAttempt: ~Copyable {
        case acquired(OwnedDescriptor)
        case busy
        /// No lock can be had (the file cannot be opened or locked): parts run without it.
        case unavailable

        var isBusy: Bool {
            switch self {
            case .busy: return true
            case .acquired: return false
            case .unavailable: return false
            }
        }

        /// The descriptor held, if any.
        consuming func descriptor() -> OwnedDescriptor? {
            switch consume self {
            case .acquired(let fd): return fd
            case .busy: return nil
            case .unavailable: return nil
            }
        }
    }

    /// One try at the lock file; on success it names this process and `activity` (a shared holder
    /// only when the file is empty: the first of them speaks for all). The corresponding C
    /// functions are `open`, `flock`, `fstat`/`stat`, `ftruncate` and `pwrite`.
    static func attemptFile(_ activity: String, shared: Bool = false, at path: String = PartLock.path) -> FileAttempt {
        while true {
            guard let fd = try? OwnedDescriptor.open(path, O_RDWR | O_CREAT | O_NOFOLLOW, mode: 0o600) else { return .unavailable }
            guard flock(fd.rawValue, (shared ? LOCK_SH : LOCK_EX) | LOCK_NB) == 0 else {
                return errno == EWOULDBLOCK || errno == EINTR ? .busy : .unavailable
            }
            var held = stat(), named = stat()
            guard fstat(fd.rawValue, &held) == 0, stat(path, &named) == 0,
                  held.st_dev == named.st_dev, held.st_ino == named.st_ino else {
                // The previous holder removed this file as we opened it: try the new one.
                continue
            }
            if !shared || held.st_size == 0 {
                let line = Array("\(getpid()) \(activity)\n".utf8)
                _ = ftruncate(fd.rawValue, 0)
                _ = line.withUnsafeBytes { pwrite(fd.rawValue, $0.baseAddress, $0.count, 0) }
            }
            return .acquired(fd)
        }
    }

    /// A shared `flock` on the /dev/shm directory, which older labs lock exclusively.
    enum LegacyAttempt: ~Copyable {
        case held(OwnedDescriptor)
        /// One of them runs a part.
        case busy
        /// The directory cannot be opened: nothing to wait for.
        case unavailable
    }

    /// One try at the shared lock on /dev/shm. The corresponding C functions are `open` and
    /// `flock(LOCK_SH | LOCK_NB)`.
    static func attemptLegacy() -> LegacyAttempt {
        guard let fd = try? OwnedDescriptor.open("/dev/shm", O_RDONLY | O_DIRECTORY) else { return .unavailable }
        return flock(fd.rawValue, LOCK_SH | LOCK_NB) == 0 ? .held(fd) : .busy
    }

    /// Who holds the lock, as the holder wrote it: "pid 123, lesson 03, part 4"; nil when the file
    /// is missing, empty or half-written.
    public static func holder(at path: String = PartLock.path) -> String? {
        guard let bytes = try? readFile(path) else { return nil }
        let line = String(decoding: bytes, as: UTF8.self)
        guard line.hasSuffix("\n") else { return nil }
        let words = line.dropLast().split(separator: " ", maxSplits: 1)
        guard words.count == 2, let pid = Int32(words[0]) else { return nil }
        return "pid \(pid), \(words[1])"
    }

    /// Removes the file (only a holder may, and only the last: a shared holder first tries to
    /// hold it alone) and unlocks; a second call does nothing. The corresponding C functions are
    /// `flock`, `unlink`, `flock(LOCK_UN)` and `close`.
    public func release() {
        if let fd = file.take() {
            var held = stat(), named = stat()
            if flock(fd.rawValue, LOCK_EX | LOCK_NB) == 0,
               fstat(fd.rawValue, &held) == 0, stat(path, &named) == 0, held.st_dev == named.st_dev, held.st_ino == named.st_ino {
                unlink(path)
            }
            flock(fd.rawValue, LOCK_UN)
            fd.close()
        }
        if let fd = legacy.take() {
            flock(fd.rawValue, LOCK_UN)
            fd.close()
        }
    }
}

/// The line that says a part waits for another lab's part, on standard error (never on standard
/// output, which `--json` keeps for the result): on a terminal one line rewritten as the seconds
/// count; elsewhere a line when the wait begins and again every `repeatEvery` seconds.
struct LockWaitNotice {
    /// Shorter waits get no line: another lab between two of its parts, or its file not yet written.
    static let after = 0.2
    static let repeatEvery = 5.0
    private var line = StatusLine()
    private var shownAt = -Double.infinity

    static func text(holder: String, waited: Double) -> String {
        let who = holder.isEmpty ? "" : " (\(holder))"
        return "waiting for another lab's part\(who) — parts run one at a time · \(Int(waited)) s"
    }

    mutating func update(waited: Double, holder: String) {
        guard waited >= Self.after else { return }
        let text = Self.text(holder: holder, waited: waited)
        if line.terminal {
            line.show(text)
        } else if waited - shownAt >= Self.repeatEvery {
            Console.err(text + "\n")
            shownAt = waited
        }
    }

    /// The wait is over: on a terminal the line is erased, so the part's report takes its place.
    mutating func finish() {
        line.clear()
    }
}
