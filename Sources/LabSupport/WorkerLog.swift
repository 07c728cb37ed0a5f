import Glibc

/// The program's log, as most programs have one: one lock (a process-private `pthread_mutex_t`)
/// so that lines written by several threads never interleave. Lesson 11 uses it to show why a
/// child forked from a threaded process must not call it: if another thread held the lock at the
/// moment of `fork()`, the child's copy of the lock is held for ever by a thread the child does
/// not have.
public enum WorkerLog {
    nonisolated(unsafe) private static let lock: UnsafeMutablePointer<pthread_mutex_t> = {
        let lock = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
        pthread_mutex_init(lock, nil)
        return lock
    }()

    /// Writes one line to standard error under the log's lock.
    /// The corresponding C calls are `pthread_mutex_lock`, `write(2, …)`, `pthread_mutex_unlock`.
    public static func write(_ line: String) {
        pthread_mutex_lock(lock)
        Console.err(line.hasSuffix("\n") ? line : line + "\n")
        pthread_mutex_unlock(lock)
    }

    /// Takes the log's lock, as a thread in the middle of `write` holds it (for the lab's checks:
    /// a thread that is logging when another thread forks). The corresponding C function is
    /// `pthread_mutex_lock`.
    public static func holdLock() { pthread_mutex_lock(lock) }

    /// Releases what `holdLock` took. The corresponding C function is `pthread_mutex_unlock`.
    public static func releaseLock() { pthread_mutex_unlock(lock) }
}
