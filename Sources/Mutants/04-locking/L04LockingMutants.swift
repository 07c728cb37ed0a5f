import Glibc
import LabKit
import Lessons
import Solution04

/// Lesson 04's realistic mistakes. Each forwards to the reference except for its one mistake.
public enum LockingMutants {
    public static var all: [Mutant<any LockingContract.Type>] {
        [
            Mutant(name: "no-lock", mistake: "lock, tryLock and unlock do nothing: the increments race",
                        caughtBy: [2, 3, 4, 5, 7], implementation: NoLock.self),
            Mutant(name: "not-process-shared", mistake: "pthread_mutex_init with default attributes: not process-shared (nor robust), so waiters in other processes are never woken",
                        caughtBy: [2: .failed, 3: .failed, 4: .deadlocked, 5: .deadlocked], implementation: NotProcessShared.self),
            Mutant(name: "robust-not-process-shared", mistake: "robust but not PTHREAD_PROCESS_SHARED: works on glibc (robust mutexes wake across processes), but POSIX leaves it undefined",
                        caughtBy: [2], implementation: RobustNotProcessShared.self),
            Mutant(name: "withlock-hides-owner-death", mistake: "withLock always gives its body .acquired, so the body never learns that a holder died",
                        caughtBy: [5], implementation: WithLockHidesOwnerDeath.self),
            Mutant(name: "not-robust", mistake: "process-shared but not robust: a dead holder's lock is never released",
                        caughtBy: [3: .failed, 5: .deadlocked], implementation: NotRobust.self),
            Mutant(name: "no-consistent", mistake: "EOWNERDEAD is reported but pthread_mutex_consistent is never called (the mutex becomes unusable)",
                        caughtBy: [5], implementation: NoConsistent.self),
            Mutant(name: "relative-deadline", mistake: "the timeout itself is passed to pthread_mutex_timedlock instead of now + timeout",
                        caughtBy: [4], implementation: RelativeDeadline.self),
            Mutant(name: "unlock-skipped-on-throw", mistake: "withLock unlocks only when the body returns normally",
                        caughtBy: [7], implementation: UnlockSkippedOnThrow.self),
            Mutant(name: "try-lock-waits", mistake: "tryLock ignores its timeout and waits in pthread_mutex_lock: a process that tries a lock held by a process waiting for it deadlocks",
                        caughtBy: [3, 4], implementation: TryLockWaits.self),
            Mutant(name: "semaphore-never-unlinked", mistake: "unlink(name:) does nothing: sem.NAME stays in /dev/shm",
                        caughtBy: [6], implementation: SemaphoreNeverUnlinked.self),
            Mutant(name: "semaphore-relative-deadline", mistake: "the timeout itself is passed to sem_timedwait instead of now + timeout",
                        caughtBy: [6], implementation: SemaphoreRelativeDeadline.self),
            Mutant(name: "semaphore-no-excl", mistake: "create uses O_CREAT without O_EXCL and silently reuses an existing semaphore",
                        caughtBy: [6], implementation: SemaphoreNoExcl.self),
        ]
    }
}

// MARK: - Forwarding

/// A mutex that forwards every requirement to the reference; mutants override one.
public protocol ForwardsToSharedMutex: SharedMutexContract {
    var base: SharedMutex { get }
    init(base: SharedMutex)
}
extension ForwardsToSharedMutex {
    public init(initializingAt address: UnsafeMutableRawPointer) throws { self.init(base: try SharedMutex(initializingAt: address)) }
    public init(at address: UnsafeMutableRawPointer) { self.init(base: SharedMutex(at: address)) }
    public func lock() throws -> LockOutcome { try base.lock() }
    public func tryLock(timeout: Double) throws -> LockOutcome? { try base.tryLock(timeout: timeout) }
    public func unlock() throws { try base.unlock() }
    public func withLock<T>(_ body: (LockOutcome) throws -> T) throws -> T {
        let outcome = try lock()
        defer { try? unlock() }
        return try body(outcome)
    }
    public func destroy() throws { try base.destroy() }
    var raw: UnsafeMutablePointer<pthread_mutex_t> { base.mutex }
}

/// A semaphore that forwards every requirement to the reference; mutants override one.
public protocol ForwardsToNamedSemaphore: NamedSemaphoreContract {
    var base: NamedSemaphore { get }
    init(base: NamedSemaphore)
}
extension ForwardsToNamedSemaphore {
    public static func create(name: String, value: Int) throws -> Self { Self(base: try NamedSemaphore.create(name: name, value: value)) }
    public static func open(name: String) throws -> Self { Self(base: try NamedSemaphore.open(name: name)) }
    public func wait(timeout: Double) throws -> Bool { try base.wait(timeout: timeout) }
    public func post() throws { try base.post() }
    public func close() throws { try base.close() }
    public static func unlink(name: String) throws { try NamedSemaphore.unlink(name: name) }
}

struct ReferenceSemaphore: ForwardsToNamedSemaphore { let base: NamedSemaphore }
struct ReferenceMutex: ForwardsToSharedMutex { let base: SharedMutex }

/// Pthread result → outcome, as the reference does it (for mutants that re-implement a call).
func outcome(_ rc: Int32, _ mutex: UnsafeMutablePointer<pthread_mutex_t>, call: String, consistent: Bool = true) throws -> LockOutcome? {
    switch rc {
    case 0: return .acquired
    case EOWNERDEAD:
        if consistent { pthread_mutex_consistent(mutex) }
        return .previousOwnerDied
    case EBUSY, ETIMEDOUT: return nil
    default: throw SystemError(call, errno: rc)
    }
}

// MARK: - Mutex mistakes

enum NoLock: LockingContract { typealias Mutex = NoLockMutex; typealias Semaphore = ReferenceSemaphore }
struct NoLockMutex: ForwardsToSharedMutex {
    let base: SharedMutex
    func lock() throws -> LockOutcome { .acquired }                       // mistake: nothing is locked
    func tryLock(timeout: Double) throws -> LockOutcome? {
        guard timeout >= 0 else { throw LockingError.invalidTimeout(timeout) }
        return .acquired
    }
    func unlock() throws {}
}

/// Initialises with the given attribute switches.
func initialize(_ address: UnsafeMutableRawPointer, shared: Bool, robust: Bool) throws -> SharedMutex {
    var attributes = pthread_mutexattr_t()
    pthread_mutexattr_init(&attributes)
    defer { pthread_mutexattr_destroy(&attributes) }
    if shared { pthread_mutexattr_setpshared(&attributes, Int32(PTHREAD_PROCESS_SHARED)) }
    if robust { pthread_mutexattr_setrobust(&attributes, Int32(PTHREAD_MUTEX_ROBUST)) }
    let rc = shared || robust ? pthread_mutex_init(address.assumingMemoryBound(to: pthread_mutex_t.self), &attributes)
                              : pthread_mutex_init(address.assumingMemoryBound(to: pthread_mutex_t.self), nil)
    if rc != 0 { throw SystemError("pthread_mutex_init", errno: rc) }
    return SharedMutex(at: address)
}

enum TryLockWaits: LockingContract { typealias Mutex = TryLockWaitsMutex; typealias Semaphore = ReferenceSemaphore }
struct TryLockWaitsMutex: ForwardsToSharedMutex {
    let base: SharedMutex
    func tryLock(timeout: Double) throws -> LockOutcome? {
        guard timeout >= 0 else { throw LockingError.invalidTimeout(timeout) }
        return try lock()                // mistake: waits as long as it takes, whatever the timeout
    }
}

enum NotProcessShared: LockingContract { typealias Mutex = NotProcessSharedMutex; typealias Semaphore = ReferenceSemaphore }
struct NotProcessSharedMutex: ForwardsToSharedMutex {
    let base: SharedMutex
    init(base: SharedMutex) { self.base = base }
    init(initializingAt address: UnsafeMutableRawPointer) throws {
        guard Int(bitPattern: address) % 8 == 0 else { throw LockingError.misaligned(address: UInt(bitPattern: address)) }
        base = try initialize(address, shared: false, robust: false)  // mistake: pthread_mutex_init(m, nil)
    }
}

enum RobustNotProcessShared: LockingContract { typealias Mutex = RobustNotProcessSharedMutex; typealias Semaphore = ReferenceSemaphore }
struct RobustNotProcessSharedMutex: ForwardsToSharedMutex {
    let base: SharedMutex
    init(base: SharedMutex) { self.base = base }
    init(initializingAt address: UnsafeMutableRawPointer) throws {
        guard Int(bitPattern: address) % 8 == 0 else { throw LockingError.misaligned(address: UInt(bitPattern: address)) }
        base = try initialize(address, shared: false, robust: true)   // mistake: no PTHREAD_PROCESS_SHARED
    }
}

enum WithLockHidesOwnerDeath: LockingContract { typealias Mutex = WithLockHidesOwnerDeathMutex; typealias Semaphore = ReferenceSemaphore }
struct WithLockHidesOwnerDeathMutex: ForwardsToSharedMutex {
    let base: SharedMutex
    func withLock<T>(_ body: (LockOutcome) throws -> T) throws -> T {
        _ = try lock()                   // mistake: what lock() found is dropped
        defer { try? unlock() }
        return try body(.acquired)
    }
}

enum NotRobust: LockingContract { typealias Mutex = NotRobustMutex; typealias Semaphore = ReferenceSemaphore }
struct NotRobustMutex: ForwardsToSharedMutex {
    let base: SharedMutex
    init(base: SharedMutex) { self.base = base }
    init(initializingAt address: UnsafeMutableRawPointer) throws {
        guard Int(bitPattern: address) % 8 == 0 else { throw LockingError.misaligned(address: UInt(bitPattern: address)) }
        base = try initialize(address, shared: true, robust: false)   // mistake: no PTHREAD_MUTEX_ROBUST
    }
}

enum NoConsistent: LockingContract { typealias Mutex = NoConsistentMutex; typealias Semaphore = ReferenceSemaphore }
struct NoConsistentMutex: ForwardsToSharedMutex {
    let base: SharedMutex
    func lock() throws -> LockOutcome {
        try outcome(pthread_mutex_lock(raw), raw, call: "pthread_mutex_lock", consistent: false)!   // mistake
    }
    func tryLock(timeout: Double) throws -> LockOutcome? {
        guard timeout >= 0 else { throw LockingError.invalidTimeout(timeout) }
        if timeout == 0 { return try outcome(pthread_mutex_trylock(raw), raw, call: "pthread_mutex_trylock", consistent: false) }
        var deadline = absoluteDeadline(after: timeout)
        return try outcome(pthread_mutex_timedlock(raw, &deadline), raw, call: "pthread_mutex_timedlock", consistent: false)
    }
}

enum RelativeDeadline: LockingContract { typealias Mutex = RelativeDeadlineMutex; typealias Semaphore = ReferenceSemaphore }
struct RelativeDeadlineMutex: ForwardsToSharedMutex {
    let base: SharedMutex
    func tryLock(timeout: Double) throws -> LockOutcome? {
        guard timeout >= 0 else { throw LockingError.invalidTimeout(timeout) }
        if timeout == 0 { return try outcome(pthread_mutex_trylock(raw), raw, call: "pthread_mutex_trylock") }
        let whole = timeout.rounded(.down)
        var deadline = timespec(tv_sec: Int(whole), tv_nsec: Int((timeout - whole) * 1e9))   // mistake: a duration, not a time
        return try outcome(pthread_mutex_timedlock(raw, &deadline), raw, call: "pthread_mutex_timedlock")
    }
}

enum UnlockSkippedOnThrow: LockingContract { typealias Mutex = UnlockSkippedMutex; typealias Semaphore = ReferenceSemaphore }
struct UnlockSkippedMutex: ForwardsToSharedMutex {
    let base: SharedMutex
    func withLock<T>(_ body: (LockOutcome) throws -> T) throws -> T {
        let outcome = try lock()
        let result = try body(outcome)   // mistake: a throwing body leaves the mutex locked
        try unlock()
        return result
    }
}

// MARK: - Semaphore mistakes

enum SemaphoreNeverUnlinked: LockingContract { typealias Mutex = ReferenceMutex; typealias Semaphore = NeverUnlinkedSemaphore }
struct NeverUnlinkedSemaphore: ForwardsToNamedSemaphore {
    let base: NamedSemaphore
    static func unlink(name: String) throws {}                          // mistake: the name stays in /dev/shm
}

enum SemaphoreRelativeDeadline: LockingContract { typealias Mutex = ReferenceMutex; typealias Semaphore = RelativeDeadlineSemaphore }
struct RelativeDeadlineSemaphore: ForwardsToNamedSemaphore {
    let base: NamedSemaphore
    func wait(timeout: Double) throws -> Bool {
        guard timeout >= 0 else { throw LockingError.invalidTimeout(timeout) }
        if timeout == 0 { return try base.wait(timeout: 0) }
        let whole = timeout.rounded(.down)
        var deadline = timespec(tv_sec: Int(whole), tv_nsec: Int((timeout - whole) * 1e9))   // mistake
        while sem_timedwait(base.semaphore, &deadline) == -1 {
            if errno == ETIMEDOUT { return false }
            if errno != EINTR { throw SystemError("sem_timedwait") }
        }
        return true
    }
}

enum SemaphoreNoExcl: LockingContract { typealias Mutex = ReferenceMutex; typealias Semaphore = NoExclSemaphore }
struct NoExclSemaphore: NamedSemaphoreContract {
    let semaphore: UnsafeMutablePointer<sem_t>
    let reference: NamedSemaphore

    static func create(name: String, value: Int) throws -> NoExclSemaphore {
        guard name.hasPrefix("/"), name.utf8.count > 1, name.utf8.count <= 252, !name.dropFirst().contains("/") else {
            throw LockingError.invalidName(name)
        }
        guard value >= 0, value <= Int(SEM_VALUE_MAX) else { throw LockingError.invalidValue(value) }
        guard let semaphore = sem_open(name, O_CREAT, 0o600, UInt32(value)) else {   // mistake: no O_EXCL
            throw SystemError("sem_open", object: name)
        }
        sem_close(semaphore)
        let reference = try NamedSemaphore.open(name: name)
        return NoExclSemaphore(semaphore: reference.semaphore, reference: reference)
    }
    static func open(name: String) throws -> NoExclSemaphore {
        let reference = try NamedSemaphore.open(name: name)
        return NoExclSemaphore(semaphore: reference.semaphore, reference: reference)
    }
    func wait(timeout: Double) throws -> Bool { try reference.wait(timeout: timeout) }
    func post() throws { try reference.post() }
    func close() throws { try reference.close() }
    static func unlink(name: String) throws { try NamedSemaphore.unlink(name: name) }
}

/// Now plus `seconds` on CLOCK_REALTIME.
func absoluteDeadline(after seconds: Double) -> timespec {
    var now = timespec()
    clock_gettime(CLOCK_REALTIME, &now)
    let whole = seconds.rounded(.down)
    var nanoseconds = Int(now.tv_nsec) + Int((seconds - whole) * 1e9)
    var wholeSeconds = Int(now.tv_sec) + Int(whole)
    if nanoseconds >= 1_000_000_000 { wholeSeconds += 1; nanoseconds -= 1_000_000_000 }
    return timespec(tv_sec: wholeSeconds, tv_nsec: nanoseconds)
}
