import Glibc
import Contracts

// Lesson 04 — reference solution.

public enum Locking: LockingContract {
    public typealias Mutex = SharedMutex
    public typealias Semaphore = NamedSemaphore
}

/// A process-shared, robust pthread mutex that lives at an address inside shared memory.
public struct SharedMutex: SharedMutexContract {
    /// The mutex itself is in the shared block; this value only remembers where.
    public let mutex: UnsafeMutablePointer<pthread_mutex_t>

    public init(initializingAt address: UnsafeMutableRawPointer) throws {
        guard Int(bitPattern: address) % 8 == 0 else {
            throw LockingError.misaligned(address: UInt(bitPattern: address))
        }
        var attributes = pthread_mutexattr_t()
        var rc = pthread_mutexattr_init(&attributes)
        if rc != 0 { throw SystemError("pthread_mutexattr_init", errno: rc) }
        defer { pthread_mutexattr_destroy(&attributes) }
        // POSIX requires PROCESS_SHARED for a mutex several processes use. Without it glibc wakes
        // the waiters of a plain mutex with process-private futex calls (an unlock in one process
        // never wakes a waiter in another); its robust mutexes happen to wake across processes
        // anyway, an implementation detail, not a promise.
        rc = pthread_mutexattr_setpshared(&attributes, Int32(PTHREAD_PROCESS_SHARED))
        if rc != 0 { throw SystemError("pthread_mutexattr_setpshared", errno: rc) }
        // ROBUST: when the holder dies, the kernel releases the mutex and the next locker gets
        // EOWNERDEAD instead of waiting forever.
        rc = pthread_mutexattr_setrobust(&attributes, Int32(PTHREAD_MUTEX_ROBUST))
        if rc != 0 { throw SystemError("pthread_mutexattr_setrobust", errno: rc) }
        mutex = address.assumingMemoryBound(to: pthread_mutex_t.self)
        rc = pthread_mutex_init(mutex, &attributes)
        if rc != 0 { throw SystemError("pthread_mutex_init", errno: rc, object: "\(address)") }
    }

    public init(at address: UnsafeMutableRawPointer) {
        mutex = address.assumingMemoryBound(to: pthread_mutex_t.self)
    }

    public func lock() throws -> LockOutcome {
        // pthread calls return the error number; they do not set errno.
        try outcome(of: pthread_mutex_lock(mutex), call: "pthread_mutex_lock")!
    }

    public func tryLock(timeout: Double) throws -> LockOutcome? {
        guard timeout >= 0 else { throw LockingError.invalidTimeout(timeout) }   // also NaN
        if timeout == 0 {
            return try outcome(of: pthread_mutex_trylock(mutex), call: "pthread_mutex_trylock")
        }
        var deadline = realtimeDeadline(after: timeout)
        return try outcome(of: pthread_mutex_timedlock(mutex, &deadline), call: "pthread_mutex_timedlock")
    }

    /// Turns a pthread lock result into an outcome: nil when the lock is busy or the time ran out.
    func outcome(of rc: Int32, call: String) throws -> LockOutcome? {
        switch rc {
        case 0:
            return .acquired
        case EOWNERDEAD:
            // We hold it now; mark it consistent, or the next unlock makes it unusable for good
            // (every later lock would fail with ENOTRECOVERABLE).
            let fixed = pthread_mutex_consistent(mutex)
            if fixed != 0 { throw SystemError("pthread_mutex_consistent", errno: fixed) }
            return .previousOwnerDied
        case EBUSY, ETIMEDOUT:
            return nil
        default:
            throw SystemError(call, errno: rc)
        }
    }

    public func unlock() throws {
        let rc = pthread_mutex_unlock(mutex)
        if rc == EPERM { throw LockingError.notOwner }      // robust mutexes check the owner
        if rc != 0 { throw SystemError("pthread_mutex_unlock", errno: rc) }
    }

    public func withLock<T>(_ body: (LockOutcome) throws -> T) throws -> T {
        let outcome = try lock()
        defer { try? unlock() }   // on every path: a throwing body must not leave it locked
        return try body(outcome)  // .previousOwnerDied: the body repairs what the dead holder left
    }

    public func destroy() throws {
        let rc = pthread_mutex_destroy(mutex)
        if rc != 0 { throw SystemError("pthread_mutex_destroy", errno: rc) }
    }
}

/// A named POSIX semaphore (`/dev/shm/sem.NAME` on Linux).
public struct NamedSemaphore: NamedSemaphoreContract {
    /// What sem_open returned: this process's handle on the semaphore.
    public let semaphore: UnsafeMutablePointer<sem_t>
    public let name: String

    /// "/" and 1…251 characters without "/" (the file is /dev/shm/sem.NAME, at most 255 bytes).
    static func validate(_ name: String) throws {
        let rest = name.utf8.dropFirst()
        guard name.hasPrefix("/"), !rest.isEmpty, rest.count <= 251,
              !rest.contains(UInt8(ascii: "/")), !rest.contains(0) else {
            throw LockingError.invalidName(name)
        }
    }

    public static func create(name: String, value: Int) throws -> NamedSemaphore {
        try validate(name)
        guard value >= 0, value <= Int(SEM_VALUE_MAX) else { throw LockingError.invalidValue(value) }
        // O_EXCL: never silently reuse a semaphore someone else left behind with another count.
        guard let semaphore = sem_open(name, O_CREAT | O_EXCL, 0o600, UInt32(value)) else {
            if errno == EEXIST { throw LockingError.alreadyExists(name) }
            throw SystemError("sem_open", object: name)
        }
        return NamedSemaphore(semaphore: semaphore, name: name)
    }

    public static func open(name: String) throws -> NamedSemaphore {
        try validate(name)
        guard let semaphore = sem_open(name, 0) else {
            if errno == ENOENT { throw LockingError.notFound(name) }
            throw SystemError("sem_open", object: name)
        }
        return NamedSemaphore(semaphore: semaphore, name: name)
    }

    public func wait(timeout: Double) throws -> Bool {
        guard timeout >= 0 else { throw LockingError.invalidTimeout(timeout) }
        if timeout == 0 {
            while sem_trywait(semaphore) == -1 {
                if errno == EAGAIN { return false }
                if errno != EINTR { throw SystemError("sem_trywait", object: name) }
            }
            return true
        }
        var deadline = realtimeDeadline(after: timeout)   // absolute, like pthread_mutex_timedlock
        while sem_timedwait(semaphore, &deadline) == -1 {
            if errno == ETIMEDOUT { return false }
            if errno != EINTR { throw SystemError("sem_timedwait", object: name) }
        }
        return true
    }

    public func post() throws {
        if sem_post(semaphore) == -1 { throw SystemError("sem_post", object: name) }
    }

    public func close() throws {
        if sem_close(semaphore) == -1 { throw SystemError("sem_close", object: name) }
    }

    public static func unlink(name: String) throws {
        try validate(name)
        if sem_unlink(name) == -1 {
            if errno == ENOENT { throw LockingError.notFound(name) }
            throw SystemError("sem_unlink", object: name)
        }
    }
}

/// Now plus `seconds`, as the absolute CLOCK_REALTIME time that the timed calls want.
fileprivate func realtimeDeadline(after seconds: Double) -> timespec {
    var now = timespec()
    clock_gettime(CLOCK_REALTIME, &now)
    let whole = seconds.rounded(.down)
    var nanoseconds = Int(now.tv_nsec) + Int((seconds - whole) * 1e9)
    var wholeSeconds = Int(now.tv_sec) + Int(min(whole, 1e9))   // cap: "forever" is a billion seconds
    if nanoseconds >= 1_000_000_000 { wholeSeconds += 1; nanoseconds -= 1_000_000_000 }
    return timespec(tv_sec: wholeSeconds, tv_nsec: nanoseconds)
}
