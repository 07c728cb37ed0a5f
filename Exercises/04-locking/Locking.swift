import Glibc
import Contracts

// Lesson 04 — locking: a process-shared mutex and a named semaphore.
// Read the lesson: swift run lab show 4     Check your work: swift run lab check 4
//
// Replace each todo() with your code. pthread calls return their error number (they do not set
// errno): throw SystemError("pthread_mutex_lock", errno: rc). Bad input throws a LockingError.

public enum Locking: LockingContract {
    public typealias Mutex = SharedMutex
    public typealias Semaphore = NamedSemaphore
}

/// A process-shared, robust pthread mutex living at an address inside shared memory.
public struct SharedMutex: SharedMutexContract {
    /// Where the pthread_mutex_t is: inside the shared block, never a copy.
    let mutex: UnsafeMutablePointer<pthread_mutex_t>

    /// pthread_mutexattr_setpshared + pthread_mutexattr_setrobust, then pthread_mutex_init at `address`.
    public init(initializingAt address: UnsafeMutableRawPointer) throws {
        todo()
    }

    /// Uses a mutex that is already initialised at `address`.
    public init(at address: UnsafeMutableRawPointer) {
        todo()
    }

    /// pthread_mutex_lock; EOWNERDEAD → pthread_mutex_consistent and .previousOwnerDied.
    public func lock() throws -> LockOutcome {
        todo()
    }

    /// timeout 0: pthread_mutex_trylock; otherwise pthread_mutex_timedlock (absolute CLOCK_REALTIME deadline).
    public func tryLock(timeout: Double) throws -> LockOutcome? {
        todo()
    }

    /// pthread_mutex_unlock; EPERM → LockingError.notOwner.
    public func unlock() throws {
        todo()
    }

    /// Runs body with the mutex held, giving it what lock() returned; releases it on every path.
    public func withLock<T>(_ body: (LockOutcome) throws -> T) throws -> T {
        todo()
    }

    /// pthread_mutex_destroy.
    public func destroy() throws {
        todo()
    }
}

/// A named POSIX semaphore (/dev/shm/sem.NAME on Linux).
public struct NamedSemaphore: NamedSemaphoreContract {
    /// What sem_open returned.
    let semaphore: UnsafeMutablePointer<sem_t>
    public let name: String

    /// sem_open(name, O_CREAT | O_EXCL, 0o600, UInt32(value)).
    public static func create(name: String, value: Int) throws -> NamedSemaphore {
        todo()
    }

    /// sem_open(name, 0).
    public static func open(name: String) throws -> NamedSemaphore {
        todo()
    }

    /// timeout 0: sem_trywait; otherwise sem_timedwait (absolute CLOCK_REALTIME deadline). False on timeout.
    public func wait(timeout: Double) throws -> Bool {
        todo()
    }

    /// sem_post.
    public func post() throws {
        todo()
    }

    /// sem_close.
    public func close() throws {
        todo()
    }

    /// sem_unlink.
    public static func unlink(name: String) throws {
        todo()
    }
}
