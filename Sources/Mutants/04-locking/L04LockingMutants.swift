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
            Mutant(name: "unlocks-before-body", mistake: "withLock locks and unlocks, then runs the body: the body runs without the lock",
                        caughtBy: [2, 7], implementation: UnlocksBeforeBody.self),
            Mutant(name: "alignment-16", mistake: "init refuses an address that is not 16-aligned (a pthread_mutex_t needs 8)",
                        caughtBy: [2], implementation: Alignment16.self),
            Mutant(name: "destroy-does-nothing", mistake: "destroy() returns without calling pthread_mutex_destroy",
                        caughtBy: [2], implementation: DestroyDoesNothing.self),
            Mutant(name: "init-at-reinitializes", mistake: "init(at:) calls pthread_mutex_init again: a mutex another process holds is reset to unlocked",
                        caughtBy: [3], implementation: InitAtReinitializes.self),
            Mutant(name: "trylock-zero-blocks", mistake: "tryLock(timeout: 0) calls pthread_mutex_lock, which waits for the holder",
                        caughtBy: [3], implementation: TryLockZeroBlocks.self),
            Mutant(name: "no-nanosecond-carry", mistake: "the timed lock's deadline adds the fraction to tv_nsec without carrying into tv_sec (EINVAL past 999,999,999)",
                        caughtBy: [4], implementation: NoNanosecondCarry.self),
            Mutant(name: "nan-timeout-accepted", mistake: "tryLock rejects timeout < 0 only: NaN goes on to the deadline arithmetic (and traps)",
                        caughtBy: [4], implementation: NaNTimeoutAccepted.self),
            Mutant(name: "trylock-owner-died-is-error", mistake: "tryLock(timeout: 0) treats EOWNERDEAD from pthread_mutex_trylock as an error",
                        caughtBy: [5], implementation: TryLockOwnerDiedIsError.self),
            Mutant(name: "semaphore-name-limit-250", mistake: "names are refused from 251 bytes on instead of from 252 (off by one)",
                        caughtBy: [6], implementation: SemaphoreNameLimit250.self),
            Mutant(name: "semaphore-nul-accepted", mistake: "a name with a NUL byte is accepted (sem_open then sees only the part before it)",
                        caughtBy: [6], implementation: SemaphoreNULAccepted.self),
            Mutant(name: "semaphore-open-unvalidated", mistake: "open and unlink pass the name to sem_open/sem_unlink without validating it",
                        caughtBy: [6], implementation: SemaphoreOpenUnvalidated.self),
            Mutant(name: "semaphore-unlink-missing-silent", mistake: "unlink(name:) of a name that does not exist reports nothing",
                        caughtBy: [6], implementation: SemaphoreUnlinkMissingSilent.self),
            Mutant(name: "semaphore-value-max-unchecked", mistake: "create checks value >= 0 only: SEM_VALUE_MAX + 1 reaches sem_open",
                        caughtBy: [6], implementation: SemaphoreValueMaxUnchecked.self),
            Mutant(name: "semaphore-mode-0644", mistake: "create passes mode 0644: every user can open the semaphore",
                        caughtBy: [6], implementation: SemaphoreMode0644.self),
            Mutant(name: "semaphore-close-unlinks", mistake: "close() also unlinks the name, so no other process can open it any more",
                        caughtBy: [6], implementation: SemaphoreCloseUnlinks.self),
            Mutant(name: "semaphore-no-eintr-retry", mistake: "wait(timeout:) returns false when sem_timedwait fails with EINTR",
                        caughtBy: [6], implementation: SemaphoreNoEINTRRetry.self),
            Mutant(name: "semaphore-nan-timeout", mistake: "wait rejects timeout < 0 only: NaN goes on to the deadline arithmetic (and traps)",
                        caughtBy: [6], implementation: SemaphoreNaNTimeout.self),
            Mutant(name: "semaphore-no-nanosecond-carry", mistake: "sem_timedwait's deadline adds the fraction to tv_nsec without carrying into tv_sec",
                        caughtBy: [6], implementation: SemaphoreNoNanosecondCarry.self),
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

/// Initialises with the given attribute switches, after the reference's 8-byte alignment check
/// (pthread_mutexattr_setpshared and pthread_mutexattr_setrobust as switched, then pthread_mutex_init).
func initialize(_ address: UnsafeMutableRawPointer, shared: Bool, robust: Bool) throws -> SharedMutex {
    guard Int(bitPattern: address) % 8 == 0 else { throw LockingError.misaligned(address: UInt(bitPattern: address)) }
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

/// A mutant whose one mistake is in the attributes its mutex is initialised with.
protocol MutexAttributeMistake: LockingContract {
    static var shared: Bool { get }
    static var robust: Bool { get }
}
/// The reference mutex, initialised with the attribute switches of the mistake `M`.
struct MisattributedMutex<M: MutexAttributeMistake>: ForwardsToSharedMutex { let base: SharedMutex }
extension MisattributedMutex {
    init(initializingAt address: UnsafeMutableRawPointer) throws {
        base = try initialize(address, shared: M.shared, robust: M.robust)
    }
}

enum NotProcessShared: MutexAttributeMistake {
    typealias Mutex = MisattributedMutex<NotProcessShared>; typealias Semaphore = ReferenceSemaphore
    static let shared = false, robust = false    // mistake: pthread_mutex_init(m, nil)
}
enum RobustNotProcessShared: MutexAttributeMistake {
    typealias Mutex = MisattributedMutex<RobustNotProcessShared>; typealias Semaphore = ReferenceSemaphore
    static let shared = false, robust = true     // mistake: no PTHREAD_PROCESS_SHARED
}
enum NotRobust: MutexAttributeMistake {
    typealias Mutex = MisattributedMutex<NotRobust>; typealias Semaphore = ReferenceSemaphore
    static let shared = true, robust = false     // mistake: no PTHREAD_MUTEX_ROBUST
}

enum TryLockWaits: LockingContract { typealias Mutex = TryLockWaitsMutex; typealias Semaphore = ReferenceSemaphore }
struct TryLockWaitsMutex: ForwardsToSharedMutex {
    let base: SharedMutex
    func tryLock(timeout: Double) throws -> LockOutcome? {
        guard timeout >= 0 else { throw LockingError.invalidTimeout(timeout) }
        return try lock()                // mistake: waits as long as it takes, whatever the timeout
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

/// The reference's tryLock(timeout:): a negative or NaN timeout is refused, then pthread_mutex_trylock
/// for 0, else pthread_mutex_timedlock until `deadline(timeout)`; `consistent` as in `outcome`.
func tryLocking(_ mutex: UnsafeMutablePointer<pthread_mutex_t>, timeout: Double,
                deadline: (Double) -> timespec = absoluteDeadline(after:), consistent: Bool = true) throws -> LockOutcome? {
    guard timeout >= 0 else { throw LockingError.invalidTimeout(timeout) }
    if timeout == 0 { return try outcome(pthread_mutex_trylock(mutex), mutex, call: "pthread_mutex_trylock", consistent: consistent) }
    var deadline = deadline(timeout)
    return try outcome(pthread_mutex_timedlock(mutex, &deadline), mutex, call: "pthread_mutex_timedlock", consistent: consistent)
}

enum NoConsistent: LockingContract { typealias Mutex = NoConsistentMutex; typealias Semaphore = ReferenceSemaphore }
struct NoConsistentMutex: ForwardsToSharedMutex {
    let base: SharedMutex
    func lock() throws -> LockOutcome {
        try outcome(pthread_mutex_lock(raw), raw, call: "pthread_mutex_lock", consistent: false)!   // mistake
    }
    func tryLock(timeout: Double) throws -> LockOutcome? {
        try tryLocking(raw, timeout: timeout, consistent: false)                               // mistake
    }
}

enum RelativeDeadline: LockingContract { typealias Mutex = RelativeDeadlineMutex; typealias Semaphore = ReferenceSemaphore }
struct RelativeDeadlineMutex: ForwardsToSharedMutex {
    let base: SharedMutex
    func tryLock(timeout: Double) throws -> LockOutcome? {
        try tryLocking(raw, timeout: timeout, deadline: durationAsDeadline)   // mistake: a duration, not a time
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

/// The reference's wait(timeout:) after its timeout check: the reference's sem_trywait for 0, else
/// sem_timedwait until `deadline(timeout)`, again after EINTR; false once it fails with ETIMEDOUT.
/// Other failures throw SystemError("sem_timedwait", object: `object`).
func timedWait(_ base: NamedSemaphore, timeout: Double, deadline: (Double) -> timespec = absoluteDeadline(after:),
               object: String = "") throws -> Bool {
    guard timeout >= 0 else { throw LockingError.invalidTimeout(timeout) }
    if timeout == 0 { return try base.wait(timeout: 0) }
    var deadline = deadline(timeout)
    while sem_timedwait(base.semaphore, &deadline) == -1 {
        if errno == ETIMEDOUT { return false }
        if errno != EINTR { throw SystemError("sem_timedwait", object: object) }
    }
    return true
}

enum SemaphoreRelativeDeadline: LockingContract { typealias Mutex = ReferenceMutex; typealias Semaphore = RelativeDeadlineSemaphore }
struct RelativeDeadlineSemaphore: ForwardsToNamedSemaphore {
    let base: NamedSemaphore
    func wait(timeout: Double) throws -> Bool {
        try timedWait(base, timeout: timeout, deadline: durationAsDeadline)   // mistake: a duration, not a time
    }
}

enum SemaphoreNoExcl: LockingContract { typealias Mutex = ReferenceMutex; typealias Semaphore = NoExclSemaphore }
struct NoExclSemaphore: ForwardsToNamedSemaphore {
    let base: NamedSemaphore
    static func create(name: String, value: Int) throws -> NoExclSemaphore {
        guard name.hasPrefix("/"), name.utf8.count > 1, name.utf8.count <= 252, !name.dropFirst().contains("/") else {
            throw LockingError.invalidName(name)
        }
        guard value >= 0, value <= Int(SEM_VALUE_MAX) else { throw LockingError.invalidValue(value) }
        guard let semaphore = sem_open(name, O_CREAT, 0o600, UInt32(value)) else {   // mistake: no O_EXCL
            throw SystemError("sem_open", object: name)
        }
        sem_close(semaphore)
        return NoExclSemaphore(base: try NamedSemaphore.open(name: name))
    }
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

/// The mistaken deadline of the relative-deadline mutants: the timeout itself as a timespec, a
/// duration where the timed calls want a time (so it lies in 1970 and has always passed).
func durationAsDeadline(_ seconds: Double) -> timespec {
    let whole = seconds.rounded(.down)
    return timespec(tv_sec: Int(whole), tv_nsec: Int((seconds - whole) * 1e9))   // mistake: a duration, not a time
}

/// The mistaken deadline of the no-nanosecond-carry mutants: now plus `seconds` on CLOCK_REALTIME,
/// with tv_nsec left at 1,000,000,000 or more when the fractions add up past a second.
func uncarriedDeadline(_ seconds: Double) -> timespec {
    var now = timespec()
    clock_gettime(CLOCK_REALTIME, &now)
    let whole = seconds.rounded(.down)
    return timespec(tv_sec: now.tv_sec + Int(whole), tv_nsec: now.tv_nsec + Int((seconds - whole) * 1e9))   // mistake: no carry
}

// MARK: - Mistakes written from the clause table

enum UnlocksBeforeBody: LockingContract { typealias Mutex = UnlocksBeforeBodyMutex; typealias Semaphore = ReferenceSemaphore }
struct UnlocksBeforeBodyMutex: ForwardsToSharedMutex {
    let base: SharedMutex
    func withLock<T>(_ body: (LockOutcome) throws -> T) throws -> T {
        let outcome = try lock()
        try unlock()                        // mistake: released before the body runs
        return try body(outcome)
    }
}

enum Alignment16: LockingContract { typealias Mutex = Alignment16Mutex; typealias Semaphore = ReferenceSemaphore }
struct Alignment16Mutex: ForwardsToSharedMutex {
    let base: SharedMutex
    init(base: SharedMutex) { self.base = base }
    init(initializingAt address: UnsafeMutableRawPointer) throws {
        guard Int(bitPattern: address) % 16 == 0 else {   // mistake: 16, not 8
            throw LockingError.misaligned(address: UInt(bitPattern: address))
        }
        base = try SharedMutex(initializingAt: address)
    }
}

enum DestroyDoesNothing: LockingContract { typealias Mutex = DestroyDoesNothingMutex; typealias Semaphore = ReferenceSemaphore }
struct DestroyDoesNothingMutex: ForwardsToSharedMutex {
    let base: SharedMutex
    func destroy() throws {}                // mistake: pthread_mutex_destroy never called
}

enum InitAtReinitializes: LockingContract { typealias Mutex = InitAtReinitializesMutex; typealias Semaphore = ReferenceSemaphore }
struct InitAtReinitializesMutex: ForwardsToSharedMutex {
    let base: SharedMutex
    init(base: SharedMutex) { self.base = base }
    init(at address: UnsafeMutableRawPointer) {
        base = (try? SharedMutex(initializingAt: address)) ?? SharedMutex(at: address)   // mistake: initialised again
    }
}

enum TryLockZeroBlocks: LockingContract { typealias Mutex = TryLockZeroBlocksMutex; typealias Semaphore = ReferenceSemaphore }
struct TryLockZeroBlocksMutex: ForwardsToSharedMutex {
    let base: SharedMutex
    func tryLock(timeout: Double) throws -> LockOutcome? {
        guard timeout >= 0 else { throw LockingError.invalidTimeout(timeout) }
        if timeout == 0 { return try outcome(pthread_mutex_lock(raw), raw, call: "pthread_mutex_lock") }   // mistake: waits
        return try base.tryLock(timeout: timeout)
    }
}

enum NoNanosecondCarry: LockingContract { typealias Mutex = NoNanosecondCarryMutex; typealias Semaphore = ReferenceSemaphore }
struct NoNanosecondCarryMutex: ForwardsToSharedMutex {
    let base: SharedMutex
    func tryLock(timeout: Double) throws -> LockOutcome? {
        try tryLocking(raw, timeout: timeout, deadline: uncarriedDeadline)   // mistake: no carry
    }
}

enum NaNTimeoutAccepted: LockingContract { typealias Mutex = NaNTimeoutAcceptedMutex; typealias Semaphore = ReferenceSemaphore }
struct NaNTimeoutAcceptedMutex: ForwardsToSharedMutex {
    let base: SharedMutex
    func tryLock(timeout: Double) throws -> LockOutcome? {
        if timeout < 0 { throw LockingError.invalidTimeout(timeout) }      // mistake: NaN < 0 is false
        if timeout == 0 { return try outcome(pthread_mutex_trylock(raw), raw, call: "pthread_mutex_trylock") }
        var deadline = absoluteDeadline(after: timeout)
        return try outcome(pthread_mutex_timedlock(raw, &deadline), raw, call: "pthread_mutex_timedlock")
    }
}

enum TryLockOwnerDiedIsError: LockingContract { typealias Mutex = TryLockOwnerDiedIsErrorMutex; typealias Semaphore = ReferenceSemaphore }
struct TryLockOwnerDiedIsErrorMutex: ForwardsToSharedMutex {
    let base: SharedMutex
    func tryLock(timeout: Double) throws -> LockOutcome? {
        guard timeout >= 0 else { throw LockingError.invalidTimeout(timeout) }
        if timeout == 0 {
            let rc = pthread_mutex_trylock(raw)
            switch rc {
            case 0: return .acquired
            case EBUSY: return nil
            default: throw SystemError("pthread_mutex_trylock", errno: rc)   // mistake: EOWNERDEAD is not an error
            }
        }
        return try base.tryLock(timeout: timeout)
    }
}

// Semaphores.

/// The reference's validation with one rule changed.
func validateName(_ name: String, limit: Int = 251, refuseNUL: Bool = true) throws {
    let rest = name.utf8.dropFirst()
    guard name.hasPrefix("/"), !rest.isEmpty, rest.count <= limit, !rest.contains(UInt8(ascii: "/")),
          !(refuseNUL && rest.contains(0)) else {
        throw LockingError.invalidName(name)
    }
}

/// The reference's value check: 0 through SEM_VALUE_MAX.
func checkValue(_ value: Int) throws {
    guard value >= 0, value <= Int(SEM_VALUE_MAX) else { throw LockingError.invalidValue(value) }
}

/// sem_open(name, O_CREAT | O_EXCL, mode, value) as the reference does it, with the mode given.
func createSemaphore(_ name: String, _ value: Int, mode: mode_t = 0o600) throws -> NamedSemaphore {
    guard let semaphore = sem_open(name, O_CREAT | O_EXCL, mode, UInt32(truncatingIfNeeded: value)) else {
        if errno == EEXIST { throw LockingError.alreadyExists(name) }
        throw SystemError("sem_open", object: name)
    }
    sem_close(semaphore)
    return try NamedSemaphore.open(name: String(name.prefix { $0 != "\u{0}" }))   // the name C saw
}

enum SemaphoreNameLimit250: LockingContract { typealias Mutex = ReferenceMutex; typealias Semaphore = NameLimit250Semaphore }
struct NameLimit250Semaphore: ForwardsToNamedSemaphore {
    let base: NamedSemaphore
    static func create(name: String, value: Int) throws -> Self {
        try validateName(name, limit: 250)                               // mistake: one byte short
        return Self(base: try NamedSemaphore.create(name: name, value: value))
    }
}

enum SemaphoreNULAccepted: LockingContract { typealias Mutex = ReferenceMutex; typealias Semaphore = NULAcceptedSemaphore }
struct NULAcceptedSemaphore: ForwardsToNamedSemaphore {
    let base: NamedSemaphore
    static func create(name: String, value: Int) throws -> Self {
        try validateName(name, refuseNUL: false)                         // mistake: NUL passes
        try checkValue(value)
        return Self(base: try createSemaphore(name, value))
    }
    static func unlink(name: String) throws {
        try validateName(name, refuseNUL: false)
        if sem_unlink(name) == -1 { throw errno == ENOENT ? LockingError.notFound(name) : SystemError("sem_unlink") }
    }
}

enum SemaphoreOpenUnvalidated: LockingContract { typealias Mutex = ReferenceMutex; typealias Semaphore = OpenUnvalidatedSemaphore }
struct OpenUnvalidatedSemaphore: ForwardsToNamedSemaphore {
    let base: NamedSemaphore
    static func open(name: String) throws -> Self {
        guard let semaphore = sem_open(name, 0) else {                   // mistake: no validation first
            if errno == ENOENT { throw LockingError.notFound(name) }
            throw SystemError("sem_open", object: name)
        }
        sem_close(semaphore)
        return Self(base: try NamedSemaphore.open(name: name))
    }
    static func unlink(name: String) throws {
        if sem_unlink(name) == -1 {                                       // mistake: no validation first
            if errno == ENOENT { throw LockingError.notFound(name) }
            throw SystemError("sem_unlink", object: name)
        }
    }
}

enum SemaphoreUnlinkMissingSilent: LockingContract { typealias Mutex = ReferenceMutex; typealias Semaphore = UnlinkMissingSilentSemaphore }
struct UnlinkMissingSilentSemaphore: ForwardsToNamedSemaphore {
    let base: NamedSemaphore
    static func unlink(name: String) throws {
        do { try NamedSemaphore.unlink(name: name) } catch LockingError.notFound { }   // mistake: ENOENT swallowed
    }
}

enum SemaphoreValueMaxUnchecked: LockingContract { typealias Mutex = ReferenceMutex; typealias Semaphore = ValueMaxUncheckedSemaphore }
struct ValueMaxUncheckedSemaphore: ForwardsToNamedSemaphore {
    let base: NamedSemaphore
    static func create(name: String, value: Int) throws -> Self {
        try validateName(name)
        guard value >= 0 else { throw LockingError.invalidValue(value) }   // mistake: no upper bound
        return Self(base: try createSemaphore(name, value))
    }
}

enum SemaphoreMode0644: LockingContract { typealias Mutex = ReferenceMutex; typealias Semaphore = Mode0644Semaphore }
struct Mode0644Semaphore: ForwardsToNamedSemaphore {
    let base: NamedSemaphore
    static func create(name: String, value: Int) throws -> Self {
        try validateName(name)
        try checkValue(value)
        return Self(base: try createSemaphore(name, value, mode: 0o644))  // mistake: readable by everyone
    }
}

enum SemaphoreCloseUnlinks: LockingContract { typealias Mutex = ReferenceMutex; typealias Semaphore = CloseUnlinksSemaphore }
struct CloseUnlinksSemaphore: ForwardsToNamedSemaphore {
    let base: NamedSemaphore
    func close() throws {
        try base.close()
        try? NamedSemaphore.unlink(name: base.name)                      // mistake: the name goes too
    }
}

enum SemaphoreNoEINTRRetry: LockingContract { typealias Mutex = ReferenceMutex; typealias Semaphore = NoEINTRRetrySemaphore }
struct NoEINTRRetrySemaphore: ForwardsToNamedSemaphore {
    let base: NamedSemaphore
    func wait(timeout: Double) throws -> Bool {
        guard timeout >= 0 else { throw LockingError.invalidTimeout(timeout) }
        if timeout == 0 { return try base.wait(timeout: 0) }
        var deadline = absoluteDeadline(after: timeout)
        if sem_timedwait(base.semaphore, &deadline) == -1 {
            if errno == ETIMEDOUT || errno == EINTR { return false }      // mistake: a signal ends the wait
            throw SystemError("sem_timedwait")
        }
        return true
    }
}

enum SemaphoreNaNTimeout: LockingContract { typealias Mutex = ReferenceMutex; typealias Semaphore = NaNTimeoutSemaphore }
struct NaNTimeoutSemaphore: ForwardsToNamedSemaphore {
    let base: NamedSemaphore
    func wait(timeout: Double) throws -> Bool {
        if timeout < 0 { throw LockingError.invalidTimeout(timeout) }      // mistake: NaN < 0 is false
        if timeout == 0 { return try base.wait(timeout: 0) }
        var deadline = absoluteDeadline(after: timeout)
        while sem_timedwait(base.semaphore, &deadline) == -1 {
            if errno == ETIMEDOUT { return false }
            if errno != EINTR { throw SystemError("sem_timedwait") }
        }
        return true
    }
}

enum SemaphoreNoNanosecondCarry: LockingContract { typealias Mutex = ReferenceMutex; typealias Semaphore = NoNanosecondCarrySemaphore }
struct NoNanosecondCarrySemaphore: ForwardsToNamedSemaphore {
    let base: NamedSemaphore
    func wait(timeout: Double) throws -> Bool {
        try timedWait(base, timeout: timeout, deadline: uncarriedDeadline, object: base.name)   // mistake: no carry
    }
}
