/// Lesson 04: what it is, its parts and their hints.
public enum Lesson04: LessonDeclaration {
    public static let info = LessonInfo(number: 4, slug: "locking",
                                        title: "Locking: a process-shared mutex and a named semaphore", defaultTimeout: 15)

    /// Why a waiter that never wakes most likely hangs a locking part.
    static let neverWoken = "A process waiting in lock() was never woken. Which of the candidates it is, the mutex "
        + "itself says (its holder, read from the pthread_mutex_t, is in the lines above when the part was found "
        + "deadlocked): a holder that is alive and waits itself means the two processes wait for each other (a tryLock "
        + "that waits instead of giving up, an unlock skipped on some path); a holder that no longer runs died holding "
        + "a lock that is not robust; a lock with no owner was unlocked, but the wake-up never reached the other process: "
        + "a mutex initialised without PTHREAD_PROCESS_SHARED (pthread_mutex_init with default attributes) wakes with "
        + "process-private futex calls. POSIX requires PTHREAD_PROCESS_SHARED and the lesson asks for robust: "
        + "pthread_mutexattr_setpshared(&attributes, PTHREAD_PROCESS_SHARED) and pthread_mutexattr_setrobust in "
        + "init(initializingAt:)."

    public static var parts: [Part<any LockingContract.Type>] { [
        Part(1, "demonstration: the unlocked counter loses updates",
             check: { lab, context in try lostUpdatesShown(lab, context) }, graded: false, hints: [
            "Nothing to write for this part: it shows what goes wrong without a lock, then runs the same counter with your SharedMutex.",
            "counter = counter + 1 is three steps: load, add, store. Two processes that load the same value both store value + 1: one update is lost.",
        ], ifTimedOut: neverWoken),
        Part(2, "4 processes × 100,000 locked increments = exactly 400,000",
             check: { lab, context in try lockedIncrementsExact(lab, context) }, hints: [
            "init(initializingAt:) runs pthread_mutex_init on the shared bytes, with attributes: build a pthread_mutexattr_t first. Check the address is 8-aligned (throw LockingError.misaligned).",
            "Two attributes matter: pthread_mutexattr_setpshared(&a, Int32(PTHREAD_PROCESS_SHARED)) and pthread_mutexattr_setrobust(&a, Int32(PTHREAD_MUTEX_ROBUST)). pthread calls return the error number; they do not set errno.",
            "lock(): let rc = pthread_mutex_lock(mutex); 0 → .acquired; EOWNERDEAD → pthread_mutex_consistent(mutex) and .previousOwnerDied; anything else → throw SystemError(\"pthread_mutex_lock\", errno: rc). withLock: let outcome = try lock(); defer { try? unlock() }; return try body(outcome).",
            "The part reads back the attributes your pthread_mutex_init was given: without PTHREAD_PROCESS_SHARED it fails even though glibc's robust mutexes would wake the other processes anyway. POSIX requires the attribute; check what pthread_mutexattr_setpshared returns.",
            "It also checks: pthread_mutex_init runs on the pthread_mutex_t at the address it was given, in the shared block (not on a local one copied there afterwards); any 8-aligned address is accepted (address % 8 == 0, nothing stricter); destroy() calls pthread_mutex_destroy on that same mutex and throws a SystemError when it returns non-zero.",
        ], ifTimedOut: neverWoken, timeout: 25),
        Part(3, "while another process holds the lock, try-lock fails; after release it succeeds",
             check: { lab, context in try tryLockWhileHeld(lab, context) }, hints: [
            "tryLock(timeout: 0) must not wait: pthread_mutex_trylock returns EBUSY when someone else holds the mutex. Return nil then.",
            "unlock(): pthread_mutex_unlock returns EPERM when this process does not hold a robust mutex: throw LockingError.notOwner.",
            "The part opens the held mutex with SharedMutex(at:): that initializer only remembers the address. Calling pthread_mutex_init there again would reset a mutex another process holds (\"tryLock took a held lock\").",
        ], ifTimedOut: neverWoken),
        Part(4, "a timed lock gives up after its timeout, and wakes when the holder releases",
             check: { lab, context in try timedLockGivesUp(lab, context) }, hints: [
            "pthread_mutex_timedlock takes an absolute deadline on CLOCK_REALTIME, not a duration: clock_gettime(CLOCK_REALTIME, &now), add the timeout, carry nanoseconds over 1_000_000_000 into seconds.",
            "ETIMEDOUT → return nil. A negative (or NaN) timeout → throw LockingError.invalidTimeout. `guard timeout >= 0` rejects both.",
            "If the waiter is never woken when the holder unlocks, the mutex is not process-shared (see part 2).",
        ], ifTimedOut: neverWoken, timeout: 30),
        Part(5, "the holder dies holding the lock: the next locker is told and recovers",
             check: { lab, context in try ownerDeathRecovered(lab, context) }, hints: [
            "A robust mutex (PTHREAD_MUTEX_ROBUST) whose holder dies is handed to the next locker with the result EOWNERDEAD — also by pthread_mutex_trylock and pthread_mutex_timedlock.",
            "On EOWNERDEAD you hold the mutex, but it is marked inconsistent: call pthread_mutex_consistent(mutex) before unlocking, or the unlock makes it unusable for good (ENOTRECOVERABLE). Return .previousOwnerDied.",
            "withLock gives its body what lock() returned: let outcome = try lock(); defer { try? unlock() }; return try body(outcome). After a killed holder the body must be told .previousOwnerDied — it is the code that can repair the data.",
        ], ifTimedOut: "The next locker waited forever for a holder that had died: the mutex is not robust "
            + "(pthread_mutexattr_setrobust(&attributes, PTHREAD_MUTEX_ROBUST)).", timeout: 40),
        Part(6, "two unrelated processes take turns through named semaphores",
             check: { lab, context in try semaphoreAlternation(lab, context) }, hints: [
            "create: sem_open(name, O_CREAT | O_EXCL, 0o600, UInt32(value)); it returns nil on failure (errno EEXIST → alreadyExists). open: sem_open(name, 0) (ENOENT → notFound). Validate the name first: \"/\" then 1…251 characters, no other \"/\".",
            "wait(timeout:): 0 → sem_trywait (EAGAIN → false); otherwise sem_timedwait with an absolute CLOCK_REALTIME deadline (ETIMEDOUT → false); retry on EINTR.",
            "Who creates a name removes it: unlink(name:) is sem_unlink. A semaphore left in /dev/shm (sem.NAME) outlives every process and is a leak.",
            "The part also checks the edges: a name that is empty, has no leading \"/\", has another \"/\", holds a NUL byte, or has more than 251 bytes after the \"/\" is invalidName in create, open and unlink alike (count UTF-8 bytes; \"/\" + 251 bytes works, \"/\" + 252 does not); a value below 0 or above SEM_VALUE_MAX is invalidValue; the file /dev/shm/sem.NAME has mode 0600; close() is sem_close only (the name stays); sem_unlink with ENOENT is notFound; a negative or NaN timeout is invalidTimeout (guard timeout >= 0 is false for NaN).",
        ], timeout: 40),
        Part(7, "the article's one-byte counter reaches exactly 255 with the lock",
             check: { lab, context in try tutorialByteCounter(lab, context) }, hints: [
            "Five processes add 51 each under withLock: 255 fits in one byte. The 256th increment throws inside withLock (a byte cannot hold 256: Python's memoryview raises ValueError, to_bytes OverflowError).",
            "withLock must release the mutex when its body throws: unlock in a defer, right after lock().",
        ], ifTimedOut: neverWoken),
    ] }
}
