/// Lesson 04's promises — the contract's doc comments (Sources/Contracts/L04Locking) and the lesson
/// text (Exercises/04-locking/README.md) — each with the parts that check it and the mutants that
/// prove those parts fail when it is broken.
extension Lesson04 {
    public static var clauses: [Clause] { [
        // The mutex: initialisation.
        Clause("init(initializingAt:) makes a mutex that keeps 4 processes × 100,000 increments exact (it is initialised where it lives, in the shared block)",
               in: "init(initializingAt:); text: part 2", parts: [2], mutants: ["no-lock", "unlocks-before-body"]),
        Clause("the attributes given to pthread_mutex_init say PTHREAD_PROCESS_SHARED",
               in: "init(initializingAt:); text: A pthread mutex in shared memory", parts: [2], mutants: ["robust-not-process-shared", "not-process-shared"]),
        Clause("the mutex is robust: a dead holder's lock is released to the next locker",
               in: "init(initializingAt:); text: PTHREAD_MUTEX_ROBUST", parts: [3, 5], mutants: ["not-robust"]),
        Clause("an address that is not 8-aligned throws LockingError.misaligned(address:) with that address; an 8-aligned one (not 16-aligned) is accepted",
               in: "init(initializingAt:); LockingError.misaligned", parts: [2], mutants: ["alignment-16"]),
        Clause("init(at:) uses the mutex already there without a system call: it does not reset a mutex another process holds",
               in: "init(at:)", parts: [3], mutants: ["init-at-reinitializes"]),
        Clause("destroy() calls pthread_mutex_destroy on the mutex in the shared block",
               in: "destroy()", parts: [2], mutants: ["destroy-does-nothing"]),

        // lock, tryLock, unlock.
        Clause("a waiter in another process is woken by the holder's unlock (process-shared wake-ups)",
               in: "lock(); text: PTHREAD_PROCESS_SHARED", parts: [4], mutants: ["not-process-shared"]),
        Clause("tryLock(timeout: 0) on a mutex another process holds returns nil at once (EBUSY), and .acquired once it is released",
               in: "tryLock(timeout:)", parts: [3], mutants: ["no-lock", "trylock-zero-blocks", "init-at-reinitializes", "try-lock-waits"]),
        Clause("unlock() by a process that does not hold the mutex throws LockingError.notOwner",
               in: "unlock(); LockingError.notOwner", parts: [3], mutants: ["no-lock", "not-robust"]),
        Clause("tryLock(timeout: 0.5) on a held mutex returns nil after about 0.5 s: the deadline is absolute CLOCK_REALTIME (now + timeout)",
               in: "tryLock(timeout:); text: pthread_mutex_timedlock", parts: [4], mutants: ["relative-deadline", "no-lock", "try-lock-waits"]),
        Clause("the timed deadline's nanoseconds stay below 1,000,000,000 (carried into seconds): a fractional timeout waits, it does not fail",
               in: "tryLock(timeout:); text: pthread_mutex_timedlock", parts: [4], mutants: ["no-nanosecond-carry"]),
        Clause("tryLock with a negative or NaN timeout throws LockingError.invalidTimeout",
               in: "tryLock(timeout:); LockingError.invalidTimeout", parts: [4], mutants: ["nan-timeout-accepted"]),
        Clause("a process waiting in tryLock(timeout:) is woken as soon as the holder unlocks, not at its timeout",
               in: "tryLock(timeout:)", parts: [4], mutants: ["not-process-shared"]),

        // Owner death.
        Clause("after the holder is killed, tryLock(timeout: 5) returns .previousOwnerDied at once (EOWNERDEAD)",
               in: "lock(), tryLock(timeout:); LockOutcome.previousOwnerDied", parts: [5], mutants: ["not-robust", "no-lock"]),
        Clause("after the holder is killed, tryLock(timeout: 0) (pthread_mutex_trylock) returns .previousOwnerDied too",
               in: "tryLock(timeout:); LockOutcome.previousOwnerDied", parts: [5], mutants: ["trylock-owner-died-is-error"]),
        Clause("after .previousOwnerDied the mutex is consistent again: the next lock in another process gives .acquired",
               in: "lock(); text: pthread_mutex_consistent", parts: [5], mutants: ["no-consistent"]),
        Clause("a process already asleep in lock() is woken when the holder dies and told .previousOwnerDied",
               in: "lock()", parts: [5], mutants: ["not-robust"]),
        Clause("withLock gives its body what lock() returned: .previousOwnerDied after a killed holder, then .acquired",
               in: "withLock(_:)", parts: [5], mutants: ["withlock-hides-owner-death"]),

        // withLock.
        Clause("withLock runs its body with the mutex held: 5 processes × 51 increments of a one-byte counter reach exactly 255",
               in: "withLock(_:); text: In Python", parts: [7, 2], mutants: ["no-lock", "unlocks-before-body"]),
        Clause("withLock rethrows the body's error and releases the mutex on that path too",
               in: "withLock(_:)", parts: [7], mutants: ["unlock-skipped-on-throw"]),

        // Named semaphores.
        Clause("two unrelated processes sharing only two names take 1,000 strict turns each (open, wait, post reach the same semaphore)",
               in: "NamedSemaphoreContract; text: A named semaphore", parts: [6], mutants: ["semaphore-no-excl", "semaphore-relative-deadline"]),
        Clause("names: \"/\" then 1…251 bytes without another \"/\" or NUL; empty, no slash, \"/a/b\", \"/\", 252 bytes and NUL throw invalidName; 251 bytes work",
               in: "create(name:value:); LockingError.invalidName", parts: [6], mutants: ["semaphore-name-limit-250", "semaphore-nul-accepted"]),
        Clause("open and unlink validate names as create does (invalidName)",
               in: "open(name:), unlink(name:)", parts: [6], mutants: ["semaphore-open-unvalidated"]),
        Clause("create refuses an existing name with alreadyExists (O_EXCL)",
               in: "create(name:value:); LockingError.alreadyExists", parts: [6], mutants: ["semaphore-no-excl"]),
        Clause("open and unlink of a name nobody created throw notFound",
               in: "open(name:), unlink(name:); LockingError.notFound", parts: [6], mutants: ["semaphore-unlink-missing-silent", "semaphore-open-unvalidated"]),
        Clause("an initial value below 0 or above SEM_VALUE_MAX throws invalidValue; value 3 gives exactly three turns",
               in: "create(name:value:); LockingError.invalidValue", parts: [6], mutants: ["semaphore-value-max-unchecked"]),
        Clause("the semaphore's file /dev/shm/sem.NAME has mode 0600",
               in: "create(name:value:)", parts: [6], mutants: ["semaphore-mode-0644"]),
        Clause("close() keeps the semaphore and its name: another open finds it",
               in: "close()", parts: [6], mutants: ["semaphore-close-unlinks"]),
        Clause("unlink removes the name (nothing is left in /dev/shm)",
               in: "unlink(name:); text: whoever creates it removes it", parts: [6], mutants: ["semaphore-never-unlinked"]),
        Clause("wait(timeout: 0.3) on a semaphore at 0 returns false after about 0.3 s (absolute CLOCK_REALTIME deadline); wait(timeout: 0) never waits",
               in: "wait(timeout:)", parts: [6], mutants: ["semaphore-relative-deadline"]),
        Clause("the wait's deadline carries nanoseconds into seconds: a fractional timeout waits for its post",
               in: "wait(timeout:)", parts: [6], mutants: ["semaphore-no-nanosecond-carry"]),
        Clause("wait(timeout:) interrupted by a signal (EINTR) waits on and takes the next post",
               in: "wait(timeout:)", parts: [6], mutants: ["semaphore-no-eintr-retry"]),
        Clause("wait with a negative or NaN timeout throws invalidTimeout",
               in: "wait(timeout:); LockingError.invalidTimeout", parts: [6], mutants: ["semaphore-nan-timeout"]),
        Clause("unlink removes the name while processes that have the semaphore open keep using it",
               in: "unlink(name:)", notCheckable: "nothing in the contract lets an implementation break it: unlink is static and holds no handle, so no realistic mistake in the student's code changes what open handles see (the kernel keeps the semaphore mapped)"),
    ] }
}
