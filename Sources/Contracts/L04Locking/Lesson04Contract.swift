import Glibc

/// What `lock()` (or a successful `tryLock`) found.
public enum LockOutcome: Equatable, CustomStringConvertible {
    /// The mutex was free, or released by its holder: an ordinary acquisition.
    case acquired
    /// The previous holder died while holding it (EOWNERDEAD). The mutex is yours and already made
    /// consistent again, but the data it protects may be half-updated: check or repair it.
    case previousOwnerDied

    public var description: String {
        switch self {
        case .acquired: return ".acquired"
        case .previousOwnerDied: return ".previousOwnerDied"
        }
    }
}

/// What lesson 04 functions throw for bad input (a failed system call is a `SystemError`).
public enum LockingError: Error, Equatable {
    /// The address for a mutex is not a multiple of 8 (a `pthread_mutex_t` must be 8-aligned).
    case misaligned(address: UInt)
    /// A timeout that is negative or not a number.
    case invalidTimeout(Double)
    /// `unlock()` by a process that does not hold the mutex (EPERM).
    case notOwner
    /// A semaphore name that is not "/" followed by 1…251 characters with no other "/".
    case invalidName(String)
    /// `create` found a semaphore of that name already (EEXIST).
    case alreadyExists(String)
    /// `open` found no semaphore of that name (ENOENT).
    case notFound(String)
    /// An initial semaphore value below 0 or above SEM_VALUE_MAX.
    case invalidValue(Int)
}

/// A `pthread_mutex_t` living inside shared memory: process-shared and robust.
///
/// The lab gives it the address of `MemoryLayout<pthread_mutex_t>.size` bytes (it differs between
/// architectures: never write the number), 8-aligned, inside a block every process maps; each
/// process then makes its own value over that address.
public protocol SharedMutexContract {
    /// Initialises a new mutex at `address`: process-shared (PTHREAD_PROCESS_SHARED, which POSIX
    /// requires for a mutex used by several processes; the lab checks the attribute itself) and
    /// robust (PTHREAD_MUTEX_ROBUST). Throws `LockingError.misaligned` for an address that is not
    /// 8-aligned. The corresponding C functions are `pthread_mutexattr_setpshared`,
    /// `pthread_mutexattr_setrobust` and `pthread_mutex_init`.
    init(initializingAt address: UnsafeMutableRawPointer) throws

    /// Uses a mutex already initialised at `address` (by this or another process). No system call.
    init(at address: UnsafeMutableRawPointer)

    /// Waits as long as it takes. Returns `.previousOwnerDied` when the holder died (EOWNERDEAD),
    /// after making the mutex consistent again. The corresponding C functions are
    /// `pthread_mutex_lock` and `pthread_mutex_consistent`.
    func lock() throws -> LockOutcome

    /// Like `lock`, but gives up after `timeout` seconds and returns nil; `timeout == 0` tries once
    /// without waiting. Throws `LockingError.invalidTimeout` for a negative or NaN timeout.
    /// The corresponding C functions are `pthread_mutex_trylock` and `pthread_mutex_timedlock`
    /// (whose deadline is an absolute CLOCK_REALTIME time).
    func tryLock(timeout: Double) throws -> LockOutcome?

    /// Releases it. Throws `LockingError.notOwner` when this process does not hold it.
    /// The corresponding C function is `pthread_mutex_unlock`.
    func unlock() throws

    /// Runs `body` with the mutex held and releases it on every path, also when `body` throws.
    /// `body` is given what `lock()` returned: `.previousOwnerDied` means the data the mutex
    /// protects may be half-updated by a holder that died, and `body` must check or repair it.
    func withLock<T>(_ body: (LockOutcome) throws -> T) throws -> T

    /// Destroys it; no process may use it afterwards. The corresponding C function is `pthread_mutex_destroy`.
    func destroy() throws
}

/// A named POSIX semaphore: processes that share nothing but its name can count and wait on it.
public protocol NamedSemaphoreContract {
    /// Creates a new semaphore with `value`, mode 0600; fails with `alreadyExists` if the name is
    /// taken. Throws `invalidName`, `invalidValue` for bad input. The corresponding C function is
    /// `sem_open(name, O_CREAT | O_EXCL, 0600, value)`.
    static func create(name: String, value: Int) throws -> Self

    /// Opens an existing semaphore; `notFound` if there is none. The corresponding C function is
    /// `sem_open(name, 0)`.
    static func open(name: String) throws -> Self

    /// Decrements it, waiting up to `timeout` seconds while it is 0. Returns false when the timeout
    /// passed. `timeout == 0` never waits; negative or NaN → `invalidTimeout`. The corresponding C
    /// functions are `sem_trywait` and `sem_timedwait` (absolute CLOCK_REALTIME deadline).
    func wait(timeout: Double) throws -> Bool

    /// Increments it, waking one waiter. The corresponding C function is `sem_post`.
    func post() throws

    /// Closes this process's handle; the semaphore and its name stay. The corresponding C function
    /// is `sem_close`.
    func close() throws

    /// Removes the name (processes that have it open keep using it). `notFound` if there is none.
    /// The corresponding C function is `sem_unlink`.
    static func unlink(name: String) throws
}

/// Lesson 04 — locking. The student's `Locking` names their two types.
public protocol LockingContract {
    associatedtype Mutex: SharedMutexContract
    associatedtype Semaphore: NamedSemaphoreContract
}
