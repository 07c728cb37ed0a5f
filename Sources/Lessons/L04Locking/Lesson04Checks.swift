import Glibc

extension Lesson04 {
    /// The lesson bound to the student's type, the reference and the mutants.
    /// Where things live in the lab's shared block.
    enum Slot {
        static let mutex = 0          // MemoryLayout<pthread_mutex_t>.size bytes, 64 reserved (checked below)
        static let counter = 64       // UInt64 (or the article's single byte)
        static let barrier = 128      // StartBarrier
        static let flag = 192         // SharedFlag: steps of a choreography between processes
        static let result = 256       // Int64: what a child saw
        static let elapsed = 264      // Double: how long a child's call took
    }

    /// Codes a child stores in `Slot.result`.
    enum Seen: Int64 {
        case nothing = 0, acquired = 1, previousOwnerDied = 2, timedOut = 3, threw = 4

        init(_ outcome: LockOutcome?) {
            switch outcome {
            case .acquired?: self = .acquired
            case .previousOwnerDied?: self = .previousOwnerDied
            case nil: self = .timedOut
            }
        }

        var text: String {
            switch self {
            case .nothing: return "no result (the child never got that far)"
            case .acquired: return ".acquired"
            case .previousOwnerDied: return ".previousOwnerDied"
            case .timedOut: return "nil (gave up: timed out or busy)"
            case .threw: return "an error was thrown"
            }
        }
    }

    /// The programs this lesson's checks start as unrelated processes (`lab __peer 4 NAME …`).
    public static var peers: [Peer<any LockingContract.Type>] { [
        Peer("alternate") { lab, arguments in try alternateTurns(lab, arguments) },
        Peer("bench") { lab, arguments in try benchPeer(lab, arguments) },
    ] }

    static let file = "Locking.swift"

    /// What a lock call returned, for an isolated call's report.
    static func describe(_ outcome: LockOutcome?) -> String { outcome.map { "\($0)" } ?? "nil" }
    static func look(_ function: String) -> String { "\(function) in \(file)" }

    /// A fresh lab block with the student's mutex initialised at its start.
    static func blockWithMutex<L: LockingContract>(_: L.Type) throws -> (UnsafeMutableRawBufferPointer, L.Mutex) {
        let block = try labSharedBlock(bytes: 4096)
        let mutex = try attempt("SharedMutex(initializingAt:)") { try L.Mutex(initializingAt: block.baseAddress! + Slot.mutex) }
        return (block, mutex)
    }

    /// `workers` processes each add 1 to the counter `each` times, all starting together.
    /// With a mutex, every increment runs in withLock; a yield between load and store makes a
    /// missing lock lose updates every time, not only on unlucky runs.
    static func race<L: LockingContract>(_: L.Type, _ block: UnsafeMutableRawBufferPointer, workers: Int, each: Int, mutex: L.Mutex?,
              yieldEvery: Int, context: PartContext) throws -> UInt64 {
        let base = block.baseAddress!
        base.storeBytes(of: 0, toByteOffset: Slot.counter, as: UInt64.self)
        base.storeBytes(of: 0, toByteOffset: Slot.barrier, as: UInt64.self)
        let barrier = StartBarrier(at: base + Slot.barrier)
        func increment(_ i: Int) {
            let value = base.load(fromByteOffset: Slot.counter, as: UInt64.self)
            if i % yieldEvery == 0 { sched_yield() }
            base.storeBytes(of: value + 1, toByteOffset: Slot.counter, as: UInt64.self)
        }
        var pids: [pid_t] = []
        for _ in 0..<workers {
            pids.append(try forkChild {
                guard barrier.arriveAndWait(parties: workers, timeout: 20) else {
                    throw CheckFailure("the workers never all started (start barrier)")
                }
                for i in 0..<each {
                    if let mutex {
                        try attempt("withLock", look: look("withLock(_:)")) { try mutex.withLock { _ in increment(i) } }
                    } else {
                        increment(i)
                    }
                }
                return 0
            })
        }
        for pid in pids {
            let end = try waitForProcess(pid)
            try requireEqual(end, .exited(0), "a worker process did not finish cleanly",
                             cause: "an error in lock(), unlock() or withLock(_:) (see the child's message)",
                             look: look("withLock(_:)"))
        }
        return base.load(fromByteOffset: Slot.counter, as: UInt64.self)
    }

    /// A child that takes the lock, sets the flag to 1 and holds the lock until the flag is 2;
    /// then unlocks, sets 3 and exits. With `holdForever` it never lets go (it is to be killed).
    static func startHolder<L: LockingContract>(_: L.Type, _ mutex: L.Mutex, flag: SharedFlag, holdForever: Bool = false) throws -> pid_t {
        flag.value = 0
        let pid = try forkChild {
            _ = try attempt("lock()", look: look("lock()")) { try mutex.lock() }
            flag.value = 1
            if holdForever { while true { pause() } }
            guard flag.wait(for: 2, timeout: 60) else { return 3 }
            try attempt("unlock()", look: look("unlock()")) { try mutex.unlock() }
            flag.value = 3
            return 0
        }
        let giveUp = monotonicSeconds() + 10
        while !flag.wait(for: 1, timeout: 0.05) {
            var status: Int32 = 0
            if waitpid(pid, &status, WNOHANG) == pid {
                throw CheckFailure("a child process could not take the free mutex with lock()",
                                   expected: "lock() returns .acquired or .previousOwnerDied", seen: "the child \(ProcessEnd(waitStatus: status)) (its error is below)",
                                   cause: "lock() threw or the child crashed (below). If the error is ENOTRECOVERABLE: an earlier locker got EOWNERDEAD and unlocked without pthread_mutex_consistent, which makes the mutex unusable for good",
                                   look: look("lock()"))
            }
            if monotonicSeconds() > giveUp {
                kill(pid, SIGKILL)
                _ = try? waitForProcess(pid)
                throw CheckFailure("a child process could not take the free mutex with lock()",
                                   expected: "lock() returns within 10 s", seen: "it did not",
                                   look: look("lock()"))
            }
        }
        return pid
    }

    /// POSIX requires PTHREAD_PROCESS_SHARED for a mutex that several processes use. glibc's robust
    /// mutexes wake waiters in other processes without it, and their bytes are the same either way
    /// (glibc marks every robust mutex shared), so no race and no look at the mutex can show it
    /// missing: read back the attributes the student's pthread_mutex_init was given (CShmLab
    /// interposes pthread_mutex_init and notes them, `MutexInitNote`).
    static func requireProcessSharedAttribute(at address: UnsafeMutableRawPointer) throws {
        precondition(MemoryLayout<pthread_mutex_t>.size <= Slot.counter - Slot.mutex, "the lab's slot for the mutex is too small")
        guard let note = MutexInitNote.last(at: address) else {
            throw CheckFailure("init(initializingAt:) did not call pthread_mutex_init at the address it was given",
                               expected: "pthread_mutex_init(address, &attributes) on the bytes in the shared block",
                               seen: "no pthread_mutex_init at \(address) in this process",
                               cause: "the mutex must be initialised where it lives, in the shared block — not in a local pthread_mutex_t that is copied afterwards",
                               look: look("init(initializingAt:)"))
        }
        if !note.processShared {
            throw CheckFailure("the mutex was initialised without PTHREAD_PROCESS_SHARED",
                               expected: "the attributes given to pthread_mutex_init say PTHREAD_PROCESS_SHARED (pthread_mutexattr_getpshared)",
                               seen: "PTHREAD_PROCESS_PRIVATE, " + (note.robust
                                   ? "robust (on glibc a robust mutex still wakes a waiter in another process, which is why the counting below would pass: an implementation detail, not a promise)"
                                   : "not robust"),
                               cause: "POSIX requires PTHREAD_PROCESS_SHARED for a mutex that several processes use; without it the behaviour is undefined (with glibc a mutex with default attributes never wakes a waiter in another process). Call pthread_mutexattr_setpshared(&attributes, Int32(PTHREAD_PROCESS_SHARED)) before pthread_mutex_init, and check what it returns",
                               look: look("init(initializingAt:)"))
        }
    }

    static func requireClean(_ pid: pid_t, _ what: String) throws {
        guard let end = waitForProcess(pid, timeout: 15) else {
            throw CheckFailure("\(what) did not finish within 15 s", look: look("lock() and unlock()"))
        }
        try requireEqual(end, .exited(0), "\(what) did not finish cleanly", look: look("lock() and unlock()"))
    }


    /// Part 1: demonstration: the unlocked counter loses updates.
    static func lostUpdatesShown<L: LockingContract>(_: L.Type, _ context: PartContext) throws {
        let block = try labSharedBlock(bytes: 4096)
        defer { labUnmap(block) }
        let workers = 4, each = 10_000, total = UInt64(workers * each)
        let unlocked = try race(L.self, block, workers: workers, each: each, mutex: nil, yieldEvery: 1, context: context)
        let lost = total - min(unlocked, total)
        let n = { (value: UInt64) in BenchReport.number(Double(value)) }
        Console.out("""
            without a lock: \(workers) processes × \(n(UInt64(each))) increments → counter = \(n(unlocked)) of \(n(total)): \
            \(n(lost)) updates lost (\(lost * 100 / total) %) on this run.
            Each process loads the counter, yields the CPU, then stores load + 1: whoever loaded the same
            value stores the same result, and all but one of those increments vanish.\n
            """)
        let mutex = try attempt("SharedMutex(initializingAt:)") { try L.Mutex(initializingAt: block.baseAddress! + Slot.mutex) }
        let locked = try race(L.self, block, workers: workers, each: each, mutex: mutex, yieldEvery: 1, context: context)
        Console.out("with your lock:  the same \(workers) × \(n(UInt64(each))) → counter = \(n(locked)) of \(n(total)): \(n(total - min(locked, total))) lost.\n")
    }

    /// Part 2: 4 processes × 100,000 locked increments = exactly 400,000.
    static func lockedIncrementsExact<L: LockingContract>(_: L.Type, _ context: PartContext) throws {
        let block = try labSharedBlock(bytes: 4096)
        defer { labUnmap(block) }
        do {
            _ = try L.Mutex(initializingAt: block.baseAddress! + 4)
            throw CheckFailure("init(initializingAt:) accepted an address that is not 8-aligned",
                               expected: "LockingError.misaligned", seen: "a mutex",
                               cause: "a pthread_mutex_t must be 8-aligned: check the address first",
                               look: look("init(initializingAt:)"))
        } catch let error as LockingError {
            try requireEqual(error, .misaligned(address: UInt(bitPattern: block.baseAddress! + 4)),
                             "init(initializingAt:) threw the wrong error for a misaligned address",
                             look: look("init(initializingAt:)"))
        } catch let failure as CheckFailure {
            throw failure
        } catch {
            throw CheckFailure("init(initializingAt:) threw the wrong error for a misaligned address",
                               expected: "LockingError.misaligned", seen: "\(error)", look: look("init(initializingAt:)"))
        }
        // 8-aligned is enough (a pthread_mutex_t needs 8): an address that is not 16-aligned is fine.
        let eight = block.baseAddress! + 1024 + 8
        do {
            let made = try L.Mutex(initializingAt: eight)
            try? made.destroy()
        } catch {
            throw CheckFailure("init(initializingAt:) refused an 8-aligned address",
                               expected: "a mutex at \(eight) (8-aligned, not 16-aligned)", seen: "\(error)",
                               cause: "a pthread_mutex_t needs 8-byte alignment: test address % 8 == 0, nothing stricter",
                               look: look("init(initializingAt:)"))
        }
        let mutex = try attempt("SharedMutex(initializingAt:)") { try L.Mutex(initializingAt: block.baseAddress! + Slot.mutex) }
        try requireProcessSharedAttribute(at: block.baseAddress! + Slot.mutex)
        let counted = try race(L.self, block, workers: 4, each: 100_000, mutex: mutex, yieldEvery: 64, context: context)
        try requireEqual(counted, 400_000, "4 processes × 100,000 locked increments did not add up",
                         cause: counted < 400_000
                            ? "updates were lost: two processes were inside withLock at the same time. Does lock() call pthread_mutex_lock on the mutex in the shared block (not on a copy), and was it initialised there?"
                            : "more increments than were made: the counter was not reset, or the lock is broken",
                         look: look("lock() and withLock(_:)"))
        try attempt("destroy()", look: look("destroy()")) { try mutex.destroy() }
        try requireDestroyed(at: block.baseAddress! + Slot.mutex)
    }

    /// glibc's pthread_mutex_destroy marks the mutex's kind invalid (-1): the only trace a
    /// destroy leaves in the bytes. `__kind` is the fifth Int32 of `struct __pthread_mutex_s`.
    static func requireDestroyed(at address: UnsafeMutableRawPointer) throws {
        #if arch(x86_64) || arch(arm64)
        let kind = address.load(fromByteOffset: 16, as: Int32.self)
        try require(kind == -1, CheckFailure(
            "destroy() did not destroy the mutex",
            expected: "pthread_mutex_destroy on the mutex in the shared block (glibc then marks its kind -1)",
            seen: "the mutex's kind field is still \(kind): no pthread_mutex_destroy reached these bytes",
            cause: "destroy() must call pthread_mutex_destroy(mutex) on the same pthread_mutex_t that init initialised, and throw a SystemError if it fails",
            look: look("destroy()")))
        #endif
    }

    /// Part 3: while another process holds the lock, try-lock fails; after release it succeeds.
    static func tryLockWhileHeld<L: LockingContract>(_: L.Type, _ context: PartContext) throws {
        let (block, mutex) = try blockWithMutex(L.self)
        defer { labUnmap(block) }
        let flag = SharedFlag(at: block.baseAddress! + Slot.flag)
        let holder = try startHolder(L.self, mutex, flag: flag)
        // This process uses the mutex through init(at:), as a process that did not create it
        // would: no system call, and certainly no second pthread_mutex_init.
        let again = L.Mutex(at: block.baseAddress! + Slot.mutex)
        let busy = try IsolatedCall.run(limit: 1.2) { describe(try again.tryLock(timeout: 0)) }
        if busy != .returned(describe(nil)) {
            flag.value = 2
            _ = waitForProcess(holder, timeout: 5)
            let tookIt = busy == .returned(describe(.acquired)) || busy == .returned(describe(.previousOwnerDied))
            throw CheckFailure(tookIt ? "tryLock(timeout: 0) took the mutex while another process held it"
                                      : "tryLock(timeout: 0) on a mutex another process holds did not return nil at once",
                               expected: "nil at once (the mutex is busy: EBUSY)", seen: busy.text,
                               cause: tookIt
                                   ? "lock and tryLock must really take the pthread mutex in the shared block (pthread_mutex_trylock), and init(at:) must not initialise it again (a second pthread_mutex_init resets a held mutex)"
                                   : busy.isAsleep ? "timeout 0 must not wait: pthread_mutex_trylock returns EBUSY at once (pthread_mutex_lock waits as long as it takes)" : nil,
                               look: look("tryLock(timeout:) and init(at:)"))
        }
        do {
            try mutex.unlock()
            flag.value = 2
            _ = waitForProcess(holder, timeout: 5)
            throw CheckFailure("unlock() by a process that does not hold the mutex did not fail",
                               expected: "LockingError.notOwner", seen: "no error",
                               cause: "pthread_mutex_unlock of a robust mutex returns EPERM when the caller is not the owner: throw notOwner. (A mutex that is not robust does not check the owner at all: it silently unlocks another process's lock. Make it robust.)",
                               look: look("unlock()"))
        } catch let error as LockingError where error == .notOwner {
        } catch let failure as CheckFailure {
            throw failure
        } catch {
            flag.value = 2
            _ = waitForProcess(holder, timeout: 5)
            throw CheckFailure("unlock() by a process that does not hold the mutex threw the wrong error",
                               expected: "LockingError.notOwner", seen: "\(error)", look: look("unlock()"))
        }
        flag.value = 2
        guard flag.wait(for: 3, timeout: 10) else {
            throw CheckFailure("the holder could not unlock", look: look("unlock()"))
        }
        let free = try attempt("tryLock(timeout: 0)", look: look("tryLock(timeout:)")) { try mutex.tryLock(timeout: 0) }
        try requireEqual(free, .acquired, "tryLock(timeout: 0) did not take a free mutex",
                         cause: "pthread_mutex_trylock returns 0 when it took the mutex: return .acquired",
                         look: look("tryLock(timeout:)"))
        try attempt("unlock()", look: look("unlock()")) { try mutex.unlock() }
        try requireClean(holder, "the process holding the lock")
    }

    /// Part 4: a timed lock gives up after its timeout, and wakes when the holder releases.
    static func timedLockGivesUp<L: LockingContract>(_: L.Type, _ context: PartContext) throws {
        let (block, mutex) = try blockWithMutex(L.self)
        defer { labUnmap(block) }
        let base = block.baseAddress!
        let flag = SharedFlag(at: base + Slot.flag)
        let holder = try startHolder(L.self, mutex, flag: flag)
        defer { flag.value = 2; _ = waitForProcess(holder, timeout: 5) }

        // In a watched child: a timed lock that ignores its timeout is seen asleep past it, at once,
        // instead of hanging the part.
        base.storeBytes(of: 0, toByteOffset: Slot.elapsed, as: Double.self)
        let timed = try IsolatedCall.run(limit: 1.4, asleepIsFinal: false) {
            let start = monotonicSeconds()
            let outcome = try mutex.tryLock(timeout: 0.5)
            base.storeBytes(of: monotonicSeconds() - start, toByteOffset: Slot.elapsed, as: Double.self)
            return describe(outcome)
        }
        let took = base.load(fromByteOffset: Slot.elapsed, as: Double.self)
        guard timed == .returned(describe(nil)) else {
            let tookIt = timed == .returned(describe(.acquired)) || timed == .returned(describe(.previousOwnerDied))
            throw CheckFailure(tookIt ? "tryLock(timeout: 0.5) took a mutex that another process held"
                                      : "tryLock(timeout: 0.5) on a mutex another process holds did not return nil after its timeout",
                               expected: "nil after about 0.5 s", seen: timed.text,
                               cause: tookIt ? "the timed lock must use pthread_mutex_timedlock on the shared mutex"
                                   : timed == .noAnswer(1.4) ? "it was still waiting 0.9 s after its deadline: the timeout is ignored (pthread_mutex_lock instead of pthread_mutex_timedlock?) or the deadline is far too late"
                                   : timed.text.contains("EINVAL") ? "pthread_mutex_timedlock returns EINVAL for a deadline whose tv_nsec is not below 1_000_000_000: when now's nanoseconds plus the timeout's fraction pass a second, carry one into tv_sec"
                                   : "pthread_mutex_timedlock returns ETIMEDOUT when the deadline passes: return nil",
                               look: look("tryLock(timeout:)"))
        }
        try require(took >= 0.45, CheckFailure(
            "tryLock(timeout: 0.5) gave up too early",
            expected: "nil after about 0.5 s", seen: "nil after \(secondsText(took))",
            cause: "pthread_mutex_timedlock wants an absolute CLOCK_REALTIME deadline (now + timeout), not the timeout itself: a deadline in 1970 has always passed",
            look: look("tryLock(timeout:)")))
        try require(took <= 3.5, CheckFailure(
            "tryLock(timeout: 0.5) waited far longer than its timeout",
            expected: "nil after about 0.5 s", seen: "nil after \(secondsText(took))",
            cause: "the deadline is computed wrongly (seconds vs nanoseconds? a nanosecond carry?)",
            look: look("tryLock(timeout:)")))
        for bad in [-1.0, -0.001, Double.nan] {
            let outcome = try IsolatedCall.run(limit: 1.2) { describe(try mutex.tryLock(timeout: bad)) }
            let wanted = "\(LockingError.invalidTimeout(bad))"
            guard case .threw(let error) = outcome, error == wanted else {
                throw CheckFailure("tryLock(timeout: \(bad)) did not throw LockingError.invalidTimeout",
                                   expected: wanted, seen: outcome.text,
                                   cause: bad.isNaN ? "NaN compares false with everything: `timeout < 0` lets it through. Test `guard timeout >= 0` (false for NaN)" : nil,
                                   look: look("tryLock(timeout:)"))
            }
        }

        // A waiter in another process must be woken by the holder's unlock, not by its timeout.
        base.storeBytes(of: Seen.nothing.rawValue, toByteOffset: Slot.result, as: Int64.self)
        let waiter = try forkChild {
            let start = monotonicSeconds()
            // 7.999 s: now + 0.999 s carries into the next second in all but 1 ms of every second.
            let outcome = try attempt("tryLock(timeout: 7.999)", look: look("tryLock(timeout:)")) { try mutex.tryLock(timeout: 7.999) }
            base.storeBytes(of: monotonicSeconds() - start, toByteOffset: Slot.elapsed, as: Double.self)
            base.storeBytes(of: Seen(outcome).rawValue, toByteOffset: Slot.result, as: Int64.self)
            if outcome != nil { try attempt("unlock()", look: look("unlock()")) { try mutex.unlock() } }
            return 0
        }
        let blocked = waitUntilBlocked([waiter], timeout: 10)
        flag.value = 2                       // the holder unlocks now
        guard let end = waitForProcess(waiter, timeout: 20) else {
            throw CheckFailure("tryLock(timeout: 7.999) in another process never returned",
                               seen: "the holder unlocked (the lab's holder does, when told); " + initEvidence(at: base + Slot.mutex),
                               cause: notWokenCause(at: base + Slot.mutex), look: look("tryLock(timeout:)"))
        }
        try requireEqual(end, .exited(0), "the process waiting in tryLock(timeout: 7.999) did not finish cleanly (its message is above)",
                         cause: "pthread_mutex_timedlock returns EINVAL for a deadline whose tv_nsec is not below 1_000_000_000: when now's nanoseconds plus the fraction pass a second, carry one into tv_sec",
                         look: look("tryLock(timeout:)"))
        let seen = Seen(rawValue: base.load(fromByteOffset: Slot.result, as: Int64.self)) ?? .nothing
        let waited = base.load(fromByteOffset: Slot.elapsed, as: Double.self)
        try require(seen == .acquired, CheckFailure(
            "a process waiting in tryLock(timeout: 7.999) was not woken when the holder unlocked",
            expected: ".acquired soon after the unlock", seen: "\(seen.text) after \(secondsText(waited))"
                + (blocked ? " (it was asleep in the kernel before the unlock)" : "") + "; " + initEvidence(at: base + Slot.mutex),
            cause: notWokenCause(at: base + Slot.mutex), look: look("init(initializingAt:)")))
    }

    /// What this process's pthread_mutex_init at `address` was given (`MutexInitNote`).
    static func initEvidence(at address: UnsafeMutableRawPointer) -> String {
        guard let note = MutexInitNote.last(at: address) else { return "no pthread_mutex_init at the mutex's address was seen" }
        return "pthread_mutex_init was given \(note.processShared ? "PTHREAD_PROCESS_SHARED" : "no PTHREAD_PROCESS_SHARED")"
            + " and \(note.robust ? "PTHREAD_MUTEX_ROBUST" : "no PTHREAD_MUTEX_ROBUST")"
    }

    /// Why a waiter in another process was not woken by the holder's unlock: named when the
    /// attributes show it, else the candidates.
    static func notWokenCause(at address: UnsafeMutableRawPointer) -> String {
        guard let note = MutexInitNote.last(at: address) else {
            return "the mutex was not initialised with pthread_mutex_init at its address in the shared block (a copy?): a waiter on other bytes is never woken"
        }
        if !note.processShared && !note.robust {
            return "a mutex initialised without PTHREAD_PROCESS_SHARED (and not robust) wakes its waiters with process-private futex calls: an unlock in one process never reaches a waiter in another. Set pthread_mutexattr_setpshared(&attributes, PTHREAD_PROCESS_SHARED) before pthread_mutex_init"
        }
        return "the attributes are right, so the wake-up was lost elsewhere. Candidates: tryLock(timeout:) computes a deadline that has already passed or lies far ahead (an absolute CLOCK_REALTIME time: now + timeout), or it waits on something other than the mutex in the block"
    }

    /// Part 5: the holder dies holding the lock: the next locker is told and recovers.
    static func ownerDeathRecovered<L: LockingContract>(_: L.Type, _ context: PartContext) throws {
        let (block, mutex) = try blockWithMutex(L.self)
        defer { labUnmap(block) }
        let base = block.baseAddress!
        let flag = SharedFlag(at: base + Slot.flag)

        // 1. The holder is killed; the next tryLock is told.
        let holder = try startHolder(L.self, mutex, flag: flag, holdForever: true)
        kill(holder, SIGKILL)
        _ = try waitForProcess(holder)
        let started = monotonicSeconds()
        let told = try attempt("tryLock(timeout: 5)", look: look("tryLock(timeout:)")) { try mutex.tryLock(timeout: 5) }
        switch told {
        case .previousOwnerDied?:
            break
        case .acquired?:
            throw CheckFailure("the next locker was not told that the holder had died",
                               expected: ".previousOwnerDied (EOWNERDEAD)", seen: ".acquired",
                               cause: "pthread_mutex_timedlock returns EOWNERDEAD for a robust mutex whose owner died: report it as .previousOwnerDied",
                               look: look("tryLock(timeout:)"))
        case nil:
            throw CheckFailure("the mutex stayed locked after its holder was killed",
                               expected: ".previousOwnerDied at once", seen: "nil after \(secondsText(monotonicSeconds() - started)) (timed out)",
                               cause: "the mutex is not robust: without PTHREAD_MUTEX_ROBUST nobody ever releases a dead holder's lock, and every later locker waits forever",
                               look: look("init(initializingAt:)"))
        }
        try attempt("unlock() after recovering", look: look("unlock()")) { try mutex.unlock() }

        // 2. After recovery and unlock, another process locks normally.
        base.storeBytes(of: Seen.nothing.rawValue, toByteOffset: Slot.result, as: Int64.self)
        let next = try forkChild {
            do {
                let outcome = try mutex.lock()
                base.storeBytes(of: Seen(outcome).rawValue, toByteOffset: Slot.result, as: Int64.self)
                try mutex.unlock()
            } catch {
                base.storeBytes(of: Seen.threw.rawValue, toByteOffset: Slot.result, as: Int64.self)
                Console.out("lock() after recovery threw: \(error)\n")
            }
            return 0
        }
        try requireClean(next, "the process locking after recovery")
        let afterwards = Seen(rawValue: base.load(fromByteOffset: Slot.result, as: Int64.self)) ?? .nothing
        try require(afterwards == .acquired, CheckFailure(
            "after recovering from a dead holder and unlocking, the mutex no longer works",
            expected: "lock() in another process gives .acquired", seen: afterwards.text + " (ENOTRECOVERABLE?)",
            cause: "on EOWNERDEAD, call pthread_mutex_consistent(mutex) before unlocking; otherwise the unlock marks the mutex unusable for good and every later lock fails with ENOTRECOVERABLE",
            look: look("lock() and tryLock(timeout:)")))

        // 2b. The same through tryLock(timeout: 0) (pthread_mutex_trylock also returns EOWNERDEAD).
        let tried = try startHolder(L.self, mutex, flag: flag, holdForever: true)
        kill(tried, SIGKILL)
        _ = try waitForProcess(tried)
        let once = try IsolatedCall.run(limit: 1.2) {
            let outcome = try mutex.tryLock(timeout: 0)
            if outcome != nil { try mutex.unlock() }
            return describe(outcome)
        }
        try require(once == .returned(describe(.previousOwnerDied)), CheckFailure(
            "tryLock(timeout: 0) after the holder was killed did not report it",
            expected: ".previousOwnerDied (pthread_mutex_trylock returned EOWNERDEAD), then the mutex is made consistent",
            seen: once.text,
            cause: "pthread_mutex_trylock returns EOWNERDEAD like pthread_mutex_lock: the caller now holds the mutex; call pthread_mutex_consistent and return .previousOwnerDied (not an error, not nil, not .acquired)",
            look: look("tryLock(timeout:)")))

        // 3. A process already asleep in lock() is woken and told when the holder dies.
        let second = try startHolder(L.self, mutex, flag: flag, holdForever: true)
        base.storeBytes(of: Seen.nothing.rawValue, toByteOffset: Slot.result, as: Int64.self)
        let waiter = try forkChild {
            let outcome = try attempt("lock()", look: look("lock()")) { try mutex.lock() }
            base.storeBytes(of: Seen(outcome).rawValue, toByteOffset: Slot.result, as: Int64.self)
            try attempt("unlock()", look: look("unlock()")) { try mutex.unlock() }
            return 0
        }
        _ = waitUntilBlocked([waiter], timeout: 10)
        kill(second, SIGKILL)
        _ = try waitForProcess(second)
        guard let end = waitForProcess(waiter, timeout: 15) else {
            throw CheckFailure("a process waiting in lock() hung after the holder was killed",
                               expected: "lock() returns .previousOwnerDied", seen: "still waiting after 15 s",
                               cause: "the mutex is not robust (PTHREAD_MUTEX_ROBUST)", look: look("init(initializingAt:)"))
        }
        try requireEqual(end, .exited(0), "the waiting process did not finish cleanly", look: look("lock()"))
        let woken = Seen(rawValue: base.load(fromByteOffset: Slot.result, as: Int64.self)) ?? .nothing
        try require(woken == .previousOwnerDied, CheckFailure(
            "a process waiting in lock() was not told that the holder died",
            expected: ".previousOwnerDied", seen: woken.text,
            cause: "pthread_mutex_lock returns EOWNERDEAD: report it as .previousOwnerDied", look: look("lock()")))

        // 4. withLock gives its body the outcome: after a holder was killed, the body is told.
        let third = try startHolder(L.self, mutex, flag: flag, holdForever: true)
        kill(third, SIGKILL)
        _ = try waitForProcess(third)
        var given: [LockOutcome] = []
        try attempt("withLock { outcome in … }, twice", look: look("withLock(_:)")) {
            try mutex.withLock { outcome in given.append(outcome) }
            try mutex.withLock { outcome in given.append(outcome) }
        }
        if given != [.previousOwnerDied, .acquired] {
            throw CheckFailure("withLock did not tell its body what lock() found",
                               expected: "the body is given .previousOwnerDied (the holder was killed holding the lock), then .acquired the next time",
                               seen: given.map(\.description).joined(separator: ", then "),
                               cause: given.first == .acquired
                                   ? "withLock passed .acquired although lock() returned .previousOwnerDied: keep what lock() returned and give it to the body (let outcome = try lock(); defer { try? unlock() }; return try body(outcome)). The body is where the data is repaired after an owner died"
                                   : "withLock must call lock() once, give its result to the body, and unlock on every path",
                               look: look("withLock(_:)"))
        }
    }

    /// Part 6: two unrelated processes take turns through named semaphores.
    static func semaphoreAlternation<L: LockingContract>(_: L.Type, _ context: PartContext) throws {
        let tag = "\(getpid())"
        try semaphoreNames(L.self, tag: tag)
        try semaphoreValues(L.self, tag: tag)
        try semaphoreWaitInterrupted(L.self, tag: tag)

        let pingName = "/shmlab-ping-\(tag)", pongName = "/shmlab-pong-\(tag)"
        let ping = try attempt("create(name: \"\(pingName)\", value: 1)", look: look("create(name:value:)")) {
            try L.Semaphore.create(name: pingName, value: 1)
        }
        let pong = try attempt("create(name: \"\(pongName)\", value: 0)", look: look("create(name:value:)")) {
            try L.Semaphore.create(name: pongName, value: 0)
        }
        defer {
            try? ping.close(); try? pong.close()
            try? L.Semaphore.unlink(name: pingName); try? L.Semaphore.unlink(name: pongName)
        }
        do {
            let again = try L.Semaphore.create(name: pingName, value: 0)
            try? again.close()
            throw CheckFailure("create(name:value:) reused a name that already exists",
                               expected: "LockingError.alreadyExists(\"\(pingName)\")", seen: "a semaphore",
                               cause: "sem_open needs O_CREAT | O_EXCL, or it silently opens someone else's semaphore (with their count)",
                               look: look("create(name:value:)"))
        } catch let error as LockingError {
            try requireEqual(error, .alreadyExists(pingName), "create(name:value:) of an existing name threw the wrong error",
                             look: look("create(name:value:)"))
        }

        let segment = try SharedSegment.create(size: 4096)
        defer { segment.close(); try? segment.unlink() }
        let rounds = 1000
        let first = try context.spawnPeer("alternate", [pingName, pongName, segment.name, "0", "\(rounds)"])
        let second = try context.spawnPeer("alternate", [pongName, pingName, segment.name, "1", "\(rounds)"])
        let ends = [first.wait(timeout: 30), second.wait(timeout: 30)]
        if ends.contains(where: { $0 == nil }) {
            first.terminate(); second.terminate()
            throw CheckFailure("the two processes did not finish taking turns within 30 s",
                               expected: "\(rounds) turns each", seen: "turns done: \(segment.bytes.load(fromByteOffset: 0, as: UInt64.self))",
                               cause: "wait(timeout:) or post() does not reach the other process: is it the same named semaphore?",
                               look: look("wait(timeout:) and post()"))
        }
        for (index, end) in ends.enumerated() {
            try requireEqual(end!, .exited(0), "process \(index + 1) of 2 did not finish its turns (its message is above)",
                             look: look("open(name:), wait(timeout:) and post()"))
        }
        let turns = segment.bytes.load(fromByteOffset: 0, as: UInt64.self)
        try requireEqual(turns, UInt64(2 * rounds), "the number of turns taken is wrong", look: look("wait(timeout:) and post()"))

        // Now ping is 1 and pong is 0: check the timed wait on the empty one.
        let started = monotonicSeconds()
        let got = try attempt("wait(timeout: 0.3)", look: look("wait(timeout:)")) { try pong.wait(timeout: 0.3) }
        let took = monotonicSeconds() - started
        try require(!got, CheckFailure("wait(timeout: 0.3) on a semaphore at 0 returned true",
                                       expected: "false after about 0.3 s", seen: "true", look: look("wait(timeout:)")))
        try require(took >= 0.28 && took <= 3.3, CheckFailure(
            "wait(timeout: 0.3) on a semaphore at 0 did not wait for its timeout",
            expected: "false after about 0.3 s", seen: "false after \(secondsText(took))",
            cause: "sem_timedwait wants an absolute CLOCK_REALTIME deadline (now + timeout), not the timeout itself",
            look: look("wait(timeout:)")))
        let once = try attempt("wait(timeout: 0)", look: look("wait(timeout:)")) { try ping.wait(timeout: 0) }
        let twice = try attempt("wait(timeout: 0)", look: look("wait(timeout:)")) { try ping.wait(timeout: 0) }
        try require(once && !twice, CheckFailure("wait(timeout: 0) on a semaphore at 1 did not take exactly one",
                                                 expected: "true, then false", seen: "\(once), then \(twice)",
                                                 look: look("wait(timeout:)")))
        do {
            _ = try pong.wait(timeout: -1)
            throw CheckFailure("wait(timeout: -1) was accepted", expected: "LockingError.invalidTimeout(-1.0)",
                               seen: "no error", look: look("wait(timeout:)"))
        } catch let error as LockingError {
            try requireEqual(error, .invalidTimeout(-1), "wait(timeout: -1) threw the wrong error", look: look("wait(timeout:)"))
        }
    }

    /// Part 7: the tutorial's one-byte counter reaches exactly 255 with the lock.
    static func tutorialByteCounter<L: LockingContract>(_: L.Type, _ context: PartContext) throws {
        let (block, mutex) = try blockWithMutex(L.self)
        defer { labUnmap(block) }
        let base = block.baseAddress!
        base.storeBytes(of: 0, toByteOffset: Slot.counter, as: UInt8.self)
        base.storeBytes(of: 0, toByteOffset: Slot.barrier, as: UInt64.self)
        let barrier = StartBarrier(at: base + Slot.barrier)
        let workers = 5
        var pids: [pid_t] = []
        for _ in 0..<workers {
            pids.append(try forkChild {
                guard barrier.arriveAndWait(parties: workers, timeout: 20) else { return 3 }
                for _ in 0..<51 {
                    try attempt("withLock", look: look("withLock(_:)")) {
                        try mutex.withLock { _ in
                            let value = base.load(fromByteOffset: Slot.counter, as: UInt8.self)
                            sched_yield()
                            base.storeBytes(of: try oneByte(Int(value) + 1), toByteOffset: Slot.counter, as: UInt8.self)
                        }
                    }
                }
                return 0
            })
        }
        for pid in pids {
            try requireEqual(try waitForProcess(pid), .exited(0), "a worker did not finish cleanly", look: look("withLock(_:)"))
        }
        let value = base.load(fromByteOffset: Slot.counter, as: UInt8.self)
        try requireEqual(value, 255, "5 processes × 51 locked increments of the one-byte counter did not reach 255",
                         cause: "updates were lost: the lock does not keep the load and the store together",
                         look: look("withLock(_:)"))

        // The 256th increment does not fit in a byte: the body throws inside withLock.
        do {
            try mutex.withLock { _ in
                let current = base.load(fromByteOffset: Slot.counter, as: UInt8.self)
                base.storeBytes(of: try oneByte(Int(current) + 1), toByteOffset: Slot.counter, as: UInt8.self)
            }
            throw CheckFailure("withLock swallowed the error its body threw",
                               expected: "the body's OneByteOverflow comes out of withLock", seen: "no error",
                               look: look("withLock(_:)"))
        } catch is OneByteOverflow {
        }
        base.storeBytes(of: Seen.nothing.rawValue, toByteOffset: Slot.result, as: Int64.self)
        let probe = try forkChild {
            let outcome = try attempt("tryLock(timeout: 0)", look: look("tryLock(timeout:)")) { try mutex.tryLock(timeout: 0) }
            base.storeBytes(of: Seen(outcome).rawValue, toByteOffset: Slot.result, as: Int64.self)
            if outcome != nil { try attempt("unlock()", look: look("unlock()")) { try mutex.unlock() } }
            return 0
        }
        try requireClean(probe, "the process probing the lock")
        let probed = Seen(rawValue: base.load(fromByteOffset: Slot.result, as: Int64.self)) ?? .nothing
        try require(probed == .acquired, CheckFailure(
            "withLock left the mutex locked after its body threw",
            expected: "another process can take the mutex: tryLock(timeout: 0) gives .acquired", seen: probed.text,
            cause: "withLock unlocks only when the body returns normally; put the unlock in a defer right after lock()",
            look: look("withLock(_:)")))
        try requireEqual(base.load(fromByteOffset: Slot.counter, as: UInt8.self), 255,
                         "the counter changed although the increment overflowed", look: look("withLock(_:)"))
    }

    /// Runs `body`, which must throw `expected` (a LockingError); fails naming `call` otherwise.
    static func expectLockingError<T>(_ expected: LockingError, _ call: String, function: String, cause: String? = nil,
                                      cleanUp: (T) -> Void = { _ in }, _ body: () throws -> T) throws {
        do {
            let made = try body()
            cleanUp(made)
            throw CheckFailure("\(call) did not throw", expected: "LockingError.\(expected)", seen: "it succeeded",
                               cause: cause, look: look(function))
        } catch let error as LockingError {
            try requireEqual(error, expected, "\(call) threw the wrong error", cause: cause, look: look(function))
        } catch let failure as CheckFailure {
            throw failure
        } catch {
            throw CheckFailure("\(call) threw the wrong error", expected: "LockingError.\(expected)", seen: "\(error)",
                               cause: cause, look: look(function))
        }
    }

    /// Names: "/" and 1…251 bytes without another "/" (nor NUL); every function validates; the
    /// longest valid name works; mode 0600; close keeps the name; unlink of a missing name.
    static func semaphoreNames<L: LockingContract>(_: L.Type, tag: String) throws {
        let tooLong = "/" + String(repeating: "x", count: 252)
        let rule = "a semaphore name is \"/\" followed by 1…251 bytes, none of them \"/\" or NUL (the file is /dev/shm/sem.NAME: at most 255 bytes)"
        for bad in ["", "no-slash-\(tag)", "/a/b\(tag)", "/", tooLong, "/shmlab-nul-\(tag)\u{0}x"] {
            let shown = bad.count > 40 ? "\"/\" + \(bad.utf8.count - 1) × \"x\"" : "\"\(bad.replacingNUL)\""
            try expectLockingError(.invalidName(bad), "create(name: \(shown), value: 1)", function: "create(name:value:)",
                                   cause: rule, cleanUp: { (made: L.Semaphore) in try? made.close(); try? L.Semaphore.unlink(name: bad) }) {
                try L.Semaphore.create(name: bad, value: 1)
            }
        }
        for bad in ["no-slash-\(tag)", "/a/b\(tag)", "/", tooLong] {
            let shown = bad.count > 40 ? "\"/\" + \(bad.utf8.count - 1) × \"x\"" : "\"\(bad)\""
            try expectLockingError(.invalidName(bad), "open(name: \(shown))", function: "open(name:)",
                                   cause: "open validates the name as create does: " + rule,
                                   cleanUp: { (found: L.Semaphore) in try? found.close() }) { try L.Semaphore.open(name: bad) }
            try expectLockingError(.invalidName(bad), "unlink(name: \(shown))", function: "unlink(name:)",
                                   cause: "unlink validates the name as create does: " + rule) { try L.Semaphore.unlink(name: bad) }
        }
        let missing = "/shmlab-missing-\(tag)"
        try expectLockingError(.notFound(missing), "open(name: \"\(missing)\") of a name nobody created", function: "open(name:)",
                               cause: "sem_open(name, 0) fails with ENOENT: throw notFound(name)",
                               cleanUp: { (found: L.Semaphore) in try? found.close() }) { try L.Semaphore.open(name: missing) }
        try expectLockingError(.notFound(missing), "unlink(name: \"\(missing)\") of a name nobody created", function: "unlink(name:)",
                               cause: "sem_unlink fails with ENOENT: throw notFound(name) (an unlink that reports nothing hides a name removed twice, or never made)") {
            try L.Semaphore.unlink(name: missing)
        }

        // The longest valid name: "/" and 251 bytes.
        let prefix = "/shmlab-\(tag)-"
        let longest = prefix + String(repeating: "y", count: 252 - prefix.utf8.count)
        let made: L.Semaphore
        do {
            made = try L.Semaphore.create(name: longest, value: 0)
        } catch {
            throw CheckFailure("create refused the longest valid name (\"/\" and 251 bytes)", expected: "a semaphore",
                               seen: "\(error)", cause: rule, look: look("create(name:value:)"))
        }
        var unlinked = false
        defer { try? made.close(); if !unlinked { try? L.Semaphore.unlink(name: longest) } }
        let file = "/dev/shm/sem." + longest.dropFirst()
        var info = stat()
        if stat(file, &info) == 0 {
            let mode = info.st_mode & 0o777
            try require(mode == 0o600, CheckFailure(
                "the semaphore's file has the wrong permissions", expected: "mode 0600 (rw for its owner only)",
                seen: "mode 0\(String(mode, radix: 8)) on \(file.prefix(40))…",
                cause: "sem_open(name, O_CREAT | O_EXCL, 0o600, value): the third argument is the mode", look: look("create(name:value:)")))
        } else {
            throw CheckFailure("create(name:value:) made no /dev/shm/sem.NAME file", expected: "\(file.prefix(40))…",
                               seen: "none (errno \(errnoSymbol(errno)))", look: look("create(name:value:)"))
        }
        try attempt("close()", look: look("close()")) { try made.close() }
        // close keeps the name: another open finds it.
        let reopened: L.Semaphore
        do {
            reopened = try L.Semaphore.open(name: longest)
        } catch {
            throw CheckFailure("after close(), open(name:) no longer finds the semaphore", expected: "close closes this process's handle; the semaphore and its name stay until unlink",
                               seen: "\(error)", cause: "close() is sem_close only: sem_unlink is unlink(name:)'s job", look: look("close()"))
        }
        try attempt("close()", look: look("close()")) { try reopened.close() }
        try attempt("unlink(name:)", look: look("unlink(name:)")) { try L.Semaphore.unlink(name: longest) }
        unlinked = true
        try require(access(file, F_OK) != 0, CheckFailure("unlink(name:) left /dev/shm/sem.NAME", expected: "the file is gone",
                                                         seen: "\(file.prefix(40))… still exists", look: look("unlink(name:)")))
    }

    /// Initial values: below 0 and above SEM_VALUE_MAX are refused; 3 gives three turns.
    static func semaphoreValues<L: LockingContract>(_: L.Type, tag: String) throws {
        let name = "/shmlab-value-\(tag)"
        for bad in [-1, Int(SEM_VALUE_MAX) + 1] {
            try expectLockingError(.invalidValue(bad), "create(name:value: \(bad))", function: "create(name:value:)",
                                   cause: "the initial value must be within 0…SEM_VALUE_MAX (\(SEM_VALUE_MAX)): check it before sem_open",
                                   cleanUp: { (made: L.Semaphore) in try? made.close(); try? L.Semaphore.unlink(name: name) }) {
                try L.Semaphore.create(name: name, value: bad)
            }
        }
        let three = try attempt("create(name: \"\(name)\", value: 3)", look: look("create(name:value:)")) { try L.Semaphore.create(name: name, value: 3) }
        defer { try? three.close(); try? L.Semaphore.unlink(name: name) }
        var taken: [Bool] = []
        for _ in 0..<4 { taken.append(try attempt("wait(timeout: 0)", look: look("wait(timeout:)")) { try three.wait(timeout: 0) }) }
        try requireEqual(taken, [true, true, true, false], "wait(timeout: 0) four times on a semaphore created with value 3",
                         cause: "create passes value to sem_open; wait(timeout: 0) is sem_trywait: true while the count is above 0",
                         look: look("create(name:value:) and wait(timeout:)"))
        let outcome = try IsolatedCall.run(limit: 1.2) { "\(try three.wait(timeout: .nan))" }
        let wanted = "\(LockingError.invalidTimeout(.nan))"
        guard case .threw(let error) = outcome, error == wanted else {
            throw CheckFailure("wait(timeout: .nan) did not throw LockingError.invalidTimeout", expected: wanted, seen: outcome.text,
                               cause: "NaN compares false with everything: `timeout < 0` lets it through. Test `guard timeout >= 0` (false for NaN)",
                               look: look("wait(timeout:)"))
        }
    }

    /// A process asleep in wait(timeout:) is interrupted by a signal (sem_timedwait fails with
    /// EINTR): it must wait on and take the post that follows.
    static func semaphoreWaitInterrupted<L: LockingContract>(_: L.Type, tag: String) throws {
        let name = "/shmlab-eintr-\(tag)"
        let sleeper = try attempt("create(name: \"\(name)\", value: 0)", look: look("create(name:value:)")) { try L.Semaphore.create(name: name, value: 0) }
        defer { try? sleeper.close(); try? L.Semaphore.unlink(name: name) }
        let block = try labSharedBlock(bytes: 4096)
        defer { labUnmap(block) }
        InterruptCounters.install(block.baseAddress!)
        defer { InterruptCounters.uninstall() }
        let interrupts = SharedCounter(at: block.baseAddress!)
        let child = try forkChild {
            let got = try attempt("wait(timeout: 19.999) interrupted by a signal", look: look("wait(timeout:)")) { try sleeper.wait(timeout: 19.999) }
            return got ? 0 : 4
        }
        guard waitUntilBlocked([child], timeout: 10) else {
            let end = waitForProcess(child, timeout: 1)
            throw CheckFailure("wait(timeout: 19.999) on a semaphore at 0 did not wait", expected: "it sleeps until a post",
                               seen: end.map { "it returned: the process \($0)" } ?? "it never slept",
                               cause: "sem_timedwait wants an absolute CLOCK_REALTIME deadline (now + timeout), with nanoseconds below 1_000_000_000 (carry into seconds)",
                               look: look("wait(timeout:)"))
        }
        kill(child, SIGUSR1)
        _ = interrupts.wait(atLeast: 1, timeout: 5)
        _ = waitUntilBlocked([child], timeout: 2)          // asleep again, or gone
        try attempt("post()", look: look("post()")) { try sleeper.post() }
        guard let end = waitForProcess(child, timeout: 10) else {
            throw CheckFailure("a process waiting in wait(timeout:) was not woken by post()", look: look("post()"))
        }
        try requireEqual(end, .exited(0), "a wait(timeout: 19.999) interrupted by a signal did not go on to take the post",
                         cause: end == .exited(4)
                             ? "it returned false when the signal interrupted it: sem_timedwait fails with EINTR then — wait again (same deadline)"
                             : "sem_timedwait fails with EINTR when a signal interrupts it: that is not an error, call it again (its message is above)",
                         look: look("wait(timeout:)"))
    }

    // `alternate MINE THEIRS SEGMENT PARITY ROUNDS`: wait on MINE, check the turn counter's
    // parity, bump it, post THEIRS — ROUNDS times. It shares nothing with the part but names.
    static func alternateTurns<L: LockingContract>(_: L.Type, _ arguments: [String]) throws -> Int32 {
        guard arguments.count == 5, let parity = UInt64(arguments[3]), let rounds = Int(arguments[4]) else { return 2 }
        let mine = try attempt("open(name: \"\(arguments[0])\")", look: look("open(name:)")) { try L.Semaphore.open(name: arguments[0]) }
        let theirs = try attempt("open(name: \"\(arguments[1])\")", look: look("open(name:)")) { try L.Semaphore.open(name: arguments[1]) }
        let segment = try SharedSegment.attach(name: arguments[2])
        defer { segment.close() }
        for round in 0..<rounds {
            // 9.999 s: now + 0.999 s carries into the next second in all but 1 ms of every second.
            let turn = try attempt("wait(timeout: 9.999)", look: look("wait(timeout:)")) { try mine.wait(timeout: 9.999) }
            let count = segment.bytes.load(fromByteOffset: 0, as: UInt64.self)
            guard turn else {
                throw CheckFailure("process \(parity + 1) got no turn within 10 s (its round \(round + 1))",
                                   expected: "wait(timeout: 9.999) returns true once the other process posts",
                                   seen: "false, with \(count) turns taken so far",
                                   cause: "wait(timeout:) gave up before its timeout (sem_timedwait wants an absolute CLOCK_REALTIME deadline), or post() does not reach this process",
                                   look: look("wait(timeout:) and post()"))
            }
            guard count % 2 == parity else {
                throw CheckFailure("the two processes did not take turns",
                                   expected: "turn \(count + 1) belongs to process \(count % 2 + 1)",
                                   seen: "process \(parity + 1) took it",
                                   cause: "wait(timeout:) returned true without taking the semaphore, or a semaphore started with the wrong value",
                                   look: look("wait(timeout:) and create(name:value:)"))
            }
            segment.bytes.storeBytes(of: count + 1, toByteOffset: 0, as: UInt64.self)
            try attempt("post()", look: look("post()")) { try theirs.post() }
        }
        try attempt("close()", look: look("close()")) { try mine.close(); try theirs.close() }
        return 0
    }

    static func benchPeer<L: LockingContract>(_: L.Type, _ arguments: [String]) throws -> Int32 {
        try BenchPeer.run(LockingBench.measurements(mutex: { try L.Mutex(initializingAt: $0) }), arguments: arguments)
    }
}

/// Python's `(256).to_bytes(1, "big")` raises OverflowError; so does this.
struct OneByteOverflow: Error {}

func oneByte(_ value: Int) throws -> UInt8 {
    guard let byte = UInt8(exactly: value) else { throw OneByteOverflow() }
    return byte
}

/// "0.503 s": enough digits to tell a timeout from an early return.
func secondsText(_ seconds: Double) -> String {
    let millis = Int((seconds * 1000).rounded())
    return "\(millis / 1000).\(String(millis % 1000).leftPaddedTo3) s"
}

extension String {
    var leftPaddedTo3: String { String(repeating: "0", count: max(0, 3 - count)) + self }
}
