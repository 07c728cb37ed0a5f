import Glibc
import LabKit
import Lessons
import Solution05

/// Lesson 05's realistic mistakes. Each is the reference queue with exactly one thing done wrong:
/// `FlawedQueue` repeats the reference's put, get and close, and each flaw changes one spot
/// (marked `// mistake:`).
public enum SharedQueueMutants {
    public static var all: [Mutant<any SharedQueueContract.Type>] {
        [
            entry(QueueBusyWaitGet.self, "busy-wait-get", "get polls the queue in a loop (get(timeout: 0) and sched_yield) instead of sleeping on a condition variable", [2]),
            entry(QueueSignalNotBroadcast.self, "signal-not-broadcast", "pthread_cond_signal everywhere: close and get wake only one of several waiters", [2, 6]),
            entry(QueueWrapAroundLoss.self, "wrap-around-loss", "put copies only up to the end of the ring: the part that should wrap to the start is lost", [4, 5]),
            entry(QueueNoSizeCheck.self, "no-size-check", "put does not compare the message with maximumMessageSize (it waits for room that never comes)", [5]),
            entry(QueueConditionsNotShared.self, "conditions-not-process-shared", "the condition variables are initialised without PTHREAD_PROCESS_SHARED", [2]),
            entry(QueueRelativeDeadline.self, "relative-cond-deadline", "the timeout itself is passed to pthread_cond_timedwait instead of now + timeout", [3]),
            entry(QueueClockMismatch.self, "clock-mismatch", "deadlines on CLOCK_MONOTONIC, but the condition variables were not told (pthread_condattr_setclock)", [3]),
            entry(QueueCloseWithoutWake.self, "close-without-wake", "close sets the flag but wakes nobody", [6]),
            entry(QueueNoDrainOnClose.self, "no-drain-on-close", "get checks closed before looking for a message: what was queued before close is lost", [6]),
            entry(QueueOwnerDeadInWaitIgnored.self, "owner-dead-in-wait-ignored", "EOWNERDEAD from pthread_cond_timedwait is thrown as an error, and the mutex never made consistent", [7]),
            entry(QueueUnlockedCopyOut.self, "unlocked-copy-out", "get moves head and releases the lock before copying the message out (producers overwrite it)", [4]),
            entry(QueueCountNeverDecremented.self, "count-never-decremented", "get forgets to subtract 1 from the message count", [1]),
            entry(QueueInitAssumesZeroed.self, "init-assumes-zeroed", "init never sets head, tail, count and closed: it relies on the block being zero-filled", [1]),
            entry(QueueAlignsBlock.self, "aligns-instead-of-refusing", "init rounds a misaligned block's start up to 8 instead of throwing misaligned", [1]),
            entry(QueueCloseTwiceThrows.self, "close-twice-throws", "a second close() throws closed instead of doing nothing", [6]),
            entry(QueueMinimumOffByOne.self, "block-minimum-off-by-one", "init refuses a block of exactly the minimum it names (<= instead of <)", [1]),
            entry(QueueNappingGet.self, "napping-get", "get naps 1 ms at a time and looks again instead of sleeping on the condition variable", [2]),
            entry(QueueWaitWithIf.self, "wait-with-if", "get waits with `if` instead of `while`: after a wake-up it takes a message without looking again", [2]),
            entry(QueueNaNAccepted.self, "nan-timeout-accepted", "put and get reject timeout < 0 only: NaN reaches the deadline arithmetic (and traps)", [3]),
            entry(QueueInfinityTraps.self, "infinite-timeout-traps", "timeout .infinity is turned into a deadline like any other (Int(.infinity) traps)", [3]),
            entry(QueueNoNanosecondCarry.self, "deadline-no-carry", "the deadline adds the fraction to tv_nsec without carrying into tv_sec (EINVAL past 999,999,999)", [3]),
            entry(QueuePutUnlocked.self, "put-unlocked", "put writes the message and moves tail without taking the lock when there is room", [4]),
            entry(QueueMaximumIgnoresPrefix.self, "maximum-ignores-prefix", "maximumMessageSize is the ring's capacity, forgetting the 4-byte length prefix", [5]),
            entry(QueueFullBeforeClosed.self, "full-before-closed", "put looks for room before the closed flag: a full, closed queue says full", [6]),
            entry(QueueEmptyBeforeClosed.self, "empty-before-closed", "get(timeout: 0) says empty before looking at the closed flag", [6]),
            entry(QueueResetOnOwnerDeath.self, "reset-on-owner-death", "when the lock reports a dead holder, the queue is reset (head = tail, count 0): finished messages are lost", [7]),
            entry(QueueOwnerDeadNotConsistent.self, "owner-dead-in-wait-not-consistent", "EOWNERDEAD from pthread_cond_timedwait is taken as a wake-up but pthread_mutex_consistent is never called", [7]),
        ]
    }

    /// The two queue mistakes lesson 09 measures (its mutants use them with lessons 06 and 08).
    public static var busyWaitGet: any SharedQueueContract.Type { FlawedQueue<QueueBusyWaitGet>.self }
    public static var nappingGet: any SharedQueueContract.Type { FlawedQueue<QueueNappingGet>.self }

    static func entry<M: QueueMistake>(_ mistake: M.Type, _ name: String, _ text: String, _ parts: [Int],
                                       as outcome: PartOutcome.Kind = .failed) -> Mutant<any SharedQueueContract.Type> {
        Mutant(name: name, mistake: text, caughtBy: parts, as: outcome, implementation: FlawedQueue<M>.self)
    }
    static func entry<M: QueueMistake>(_ mistake: M.Type, _ name: String, _ text: String,
                                       _ parts: KeyValuePairs<Int, PartOutcome.Kind>) -> Mutant<any SharedQueueContract.Type> {
        Mutant(name: name, mistake: text, caughtBy: parts, implementation: FlawedQueue<M>.self)
    }
}

/// The one thing a mutant gets wrong.
public enum QueueFlaw {
    case busyWaitGet, nappingGet, signalNotBroadcast, wrapAroundLoss, noSizeCheck, conditionsNotShared, relativeDeadline,
         clockMismatch, closeWithoutWake, noDrainOnClose, ownerDeadInWaitIgnored, unlockedCopyOut, countNeverDecremented,
         initAssumesZeroed, minimumOffByOne, waitWithIf, nanAccepted, infinityTraps, noNanosecondCarry, putUnlocked,
         maximumIgnoresPrefix, fullBeforeClosed, emptyBeforeClosed, resetOnOwnerDeath, ownerDeadNotConsistent,
         alignsBlock, closeTwiceThrows
}

public protocol QueueMistake { static var flaw: QueueFlaw { get } }
enum QueueBusyWaitGet: QueueMistake { static let flaw = QueueFlaw.busyWaitGet }
enum QueueNappingGet: QueueMistake { static let flaw = QueueFlaw.nappingGet }
enum QueueSignalNotBroadcast: QueueMistake { static let flaw = QueueFlaw.signalNotBroadcast }
enum QueueWrapAroundLoss: QueueMistake { static let flaw = QueueFlaw.wrapAroundLoss }
enum QueueNoSizeCheck: QueueMistake { static let flaw = QueueFlaw.noSizeCheck }
enum QueueConditionsNotShared: QueueMistake { static let flaw = QueueFlaw.conditionsNotShared }
enum QueueRelativeDeadline: QueueMistake { static let flaw = QueueFlaw.relativeDeadline }
enum QueueClockMismatch: QueueMistake { static let flaw = QueueFlaw.clockMismatch }
enum QueueCloseWithoutWake: QueueMistake { static let flaw = QueueFlaw.closeWithoutWake }
enum QueueNoDrainOnClose: QueueMistake { static let flaw = QueueFlaw.noDrainOnClose }
enum QueueOwnerDeadInWaitIgnored: QueueMistake { static let flaw = QueueFlaw.ownerDeadInWaitIgnored }
enum QueueUnlockedCopyOut: QueueMistake { static let flaw = QueueFlaw.unlockedCopyOut }
enum QueueCountNeverDecremented: QueueMistake { static let flaw = QueueFlaw.countNeverDecremented }
enum QueueAlignsBlock: QueueMistake { static let flaw = QueueFlaw.alignsBlock }
enum QueueCloseTwiceThrows: QueueMistake { static let flaw = QueueFlaw.closeTwiceThrows }
enum QueueInitAssumesZeroed: QueueMistake { static let flaw = QueueFlaw.initAssumesZeroed }
enum QueueMinimumOffByOne: QueueMistake { static let flaw = QueueFlaw.minimumOffByOne }
enum QueueWaitWithIf: QueueMistake { static let flaw = QueueFlaw.waitWithIf }
enum QueueNaNAccepted: QueueMistake { static let flaw = QueueFlaw.nanAccepted }
enum QueueInfinityTraps: QueueMistake { static let flaw = QueueFlaw.infinityTraps }
enum QueueNoNanosecondCarry: QueueMistake { static let flaw = QueueFlaw.noNanosecondCarry }
enum QueuePutUnlocked: QueueMistake { static let flaw = QueueFlaw.putUnlocked }
enum QueueMaximumIgnoresPrefix: QueueMistake { static let flaw = QueueFlaw.maximumIgnoresPrefix }
enum QueueFullBeforeClosed: QueueMistake { static let flaw = QueueFlaw.fullBeforeClosed }
enum QueueEmptyBeforeClosed: QueueMistake { static let flaw = QueueFlaw.emptyBeforeClosed }
enum QueueResetOnOwnerDeath: QueueMistake { static let flaw = QueueFlaw.resetOnOwnerDeath }
enum QueueOwnerDeadNotConsistent: QueueMistake { static let flaw = QueueFlaw.ownerDeadNotConsistent }

/// The reference queue with `M.flaw` done wrong.
struct FlawedQueue<M: QueueMistake>: SharedQueueContract {
    let base: SharedQueue
    var header: UnsafeMutablePointer<QueueHeader> { base.header }
    var lock: ProcessSharedMutex { base.lock }
    func flawed(_ flaw: QueueFlaw) -> Bool { M.flaw == flaw }

    init(creatingIn block: UnsafeMutableRawBufferPointer, lock: ProcessSharedMutex) throws {
        if M.flaw == .minimumOffByOne, Int(bitPattern: block.baseAddress) % 8 == 0 {
            let minimum = SharedQueue.headerBytes + SharedQueue.prefix + 8
            guard block.count > minimum else { throw QueueError.blockTooSmall(bytes: block.count, minimum: minimum) }   // mistake: <=
        }
        // For one mistake: what the header's fields held before init (init will not set them).
        var before: (UInt64, UInt64, Int64, UInt8)? = nil
        if M.flaw == .initAssumesZeroed, let start = block.baseAddress, block.count >= SharedQueue.headerBytes {
            let header = start.assumingMemoryBound(to: QueueHeader.self)
            before = (header.pointee.head, header.pointee.tail, header.pointee.count,
                      start.load(fromByteOffset: MemoryLayout<QueueHeader>.offset(of: \.closed)!, as: UInt8.self))
        }
        if M.flaw == .alignsBlock, let start = block.baseAddress, Int(bitPattern: start) % 8 != 0 {
            let skip = 8 - Int(bitPattern: start) % 8                     // mistake: aligned silently, not refused
            base = try SharedQueue(creatingIn: UnsafeMutableRawBufferPointer(rebasing: block[(block.startIndex + skip)...]), lock: lock)
            return
        }
        base = try SharedQueue(creatingIn: block, lock: lock)
        if let before {                                                   // mistake: the fields keep whatever was there
            base.header.pointee.head = before.0
            base.header.pointee.tail = before.1
            base.header.pointee.count = before.2
            UnsafeMutableRawPointer(base.header).storeBytes(of: before.3 & 1, toByteOffset: MemoryLayout<QueueHeader>.offset(of: \.closed)!, as: UInt8.self)
        }
        if M.flaw == .conditionsNotShared || M.flaw == .clockMismatch {
            var attributes = pthread_condattr_t()
            pthread_condattr_init(&attributes)
            defer { pthread_condattr_destroy(&attributes) }
            if M.flaw != .conditionsNotShared { pthread_condattr_setpshared(&attributes, Int32(PTHREAD_PROCESS_SHARED)) }  // mistake for one
            if M.flaw != .clockMismatch { pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC) }                         // mistake for the other
            pthread_cond_destroy(base.notEmpty)
            pthread_cond_destroy(base.notFull)
            pthread_cond_init(base.notEmpty, &attributes)
            pthread_cond_init(base.notFull, &attributes)
        }
    }

    var maximumMessageSize: Int { flawed(.maximumIgnoresPrefix) ? base.capacity : base.maximumMessageSize }   // mistake for one

    /// The reference's deadline, or one of three wrong ways to compute it.
    func deadline(_ timeout: Double) throws -> QueueDeadline {
        switch M.flaw {
        case .nanAccepted, .infinityTraps, .noNanosecondCarry:
            if flawed(.nanAccepted) { if timeout < 0 { throw QueueError.invalidTimeout(timeout) } }   // mistake: NaN passes
            else { guard timeout >= 0 else { throw QueueError.invalidTimeout(timeout) } }
            if timeout == 0 { return .now }
            if timeout.isInfinite && !flawed(.infinityTraps) { return .never }                        // mistake for one: no .never
            var now = timespec()
            clock_gettime(CLOCK_MONOTONIC, &now)
            let whole = timeout.rounded(.down)
            var seconds = now.tv_sec + Int(whole)                         // traps for NaN and .infinity
            var nanoseconds = now.tv_nsec + Int((timeout - whole) * 1e9)
            if !flawed(.noNanosecondCarry) && nanoseconds >= 1_000_000_000 { seconds += 1; nanoseconds -= 1_000_000_000 }   // mistake for one
            return .at(timespec(tv_sec: seconds, tv_nsec: nanoseconds))
        default:
            return try QueueDeadline(timeout: timeout)
        }
    }

    /// The lab's lock, taken as the reference does — or, for one mistake, "repairing" the queue by
    /// throwing away what it holds when the previous holder died.
    func lockQueue() throws {
        if flawed(.resetOnOwnerDeath) {
            if try lock.lock() {
                header.pointee.head = header.pointee.tail                 // mistake: finished messages are dropped
                header.pointee.count = 0
                base.wakeEveryone()
            }
            return
        }
        try base.lockQueue()
    }
    var approximateCount: Int { base.approximateCount }

    func wake(_ condition: UnsafeMutablePointer<pthread_cond_t>) {
        if flawed(.signalNotBroadcast) { pthread_cond_signal(condition) } else { pthread_cond_broadcast(condition) }   // mistake for one
    }

    func wait(on condition: UnsafeMutablePointer<pthread_cond_t>, until deadline: QueueDeadline, timeout: Double) throws -> Bool {
        if flawed(.relativeDeadline), case .at = deadline {
            let whole = timeout.rounded(.down)
            var relative = timespec(tv_sec: Int(whole), tv_nsec: Int((timeout - whole) * 1e9))   // mistake: a duration
            let rc = pthread_cond_timedwait(condition, lock.address, &relative)
            if rc == ETIMEDOUT { return false }
            if rc != 0 { throw SystemError("pthread_cond_timedwait", errno: rc) }
            return true
        }
        if flawed(.ownerDeadNotConsistent), case .at(var time) = deadline {
            let rc = pthread_cond_timedwait(condition, lock.address, &time)
            if rc == 0 || rc == EOWNERDEAD { return true }                 // mistake: no pthread_mutex_consistent
            if rc == ETIMEDOUT { return false }
            throw SystemError("pthread_cond_timedwait", errno: rc)
        }
        if flawed(.ownerDeadInWaitIgnored), case .at(var time) = deadline {
            let rc = pthread_cond_timedwait(condition, lock.address, &time)
            if rc == 0 { return true }
            if rc == ETIMEDOUT { return false }
            throw SystemError("pthread_cond_timedwait", errno: rc)      // mistake: EOWNERDEAD is not an error to give up on
        }
        return try base.wait(on: condition, until: deadline)
    }

    func copyIn(_ bytes: UnsafeRawBufferPointer, at position: UInt64) {
        guard flawed(.wrapAroundLoss) else { return base.copyIn(bytes, at: position) }
        guard let source = bytes.baseAddress, bytes.count > 0 else { return }
        let start = Int(position % UInt64(base.capacity))
        let first = min(bytes.count, base.capacity - start)
        (base.ring + start).copyMemory(from: source, byteCount: first)   // mistake: the rest never goes to the ring's start
    }

    func put(_ message: [UInt8], timeout: Double) throws {
        let deadline = try self.deadline(timeout)
        if !flawed(.noSizeCheck) {                                        // mistake for one: no check
            guard message.count <= maximumMessageSize else {
                throw QueueError.messageTooLarge(size: message.count, maximum: maximumMessageSize)
            }
        }
        let needed = UInt64(SharedQueue.prefix + message.count)
        if flawed(.putUnlocked), !header.pointee.closed,
           UInt64(base.capacity) - (header.pointee.tail - header.pointee.head) >= needed {
            let tail = header.pointee.tail                                // mistake: no lock around any of this
            var length = UInt32(message.count)
            withUnsafeBytes(of: &length) { copyIn($0, at: tail) }
            message.withUnsafeBytes { copyIn($0, at: tail + UInt64(SharedQueue.prefix)) }
            header.pointee.tail = tail + needed
            header.pointee.count += 1
            try lockQueue()
            wake(base.notEmpty)
            lock.unlock()
            return
        }
        try lockQueue()
        defer { lock.unlock() }
        var timedOut = false
        while true {
            if !flawed(.fullBeforeClosed) && header.pointee.closed { throw QueueError.closed }
            if UInt64(base.capacity) - (header.pointee.tail - header.pointee.head) >= needed {
                if header.pointee.closed { throw QueueError.closed }
                break
            }
            if timedOut { throw QueueError.full }                          // mistake for one: before closed
            timedOut = try !wait(on: base.notFull, until: deadline, timeout: timeout)
        }
        let tail = header.pointee.tail
        var length = UInt32(message.count)
        withUnsafeBytes(of: &length) { copyIn($0, at: tail) }
        message.withUnsafeBytes { copyIn($0, at: tail + UInt64(SharedQueue.prefix)) }
        header.pointee.tail = tail + needed
        header.pointee.count += 1
        wake(base.notEmpty)
    }

    func get(timeout: Double) throws -> [UInt8] {
        if flawed(.busyWaitGet) || flawed(.nappingGet) {
            _ = try QueueDeadline(timeout: timeout)                        // bad timeouts as the reference
            let deadline = monotonicSeconds() + timeout
            while true {                                                  // mistake: spins (or naps) instead of sleeping
                do { return try base.get(timeout: 0) } catch QueueError.empty {
                    if monotonicSeconds() >= deadline { throw QueueError.empty }
                    if flawed(.nappingGet) { usleep(1000) } else { sched_yield() }
                }
            }
        }
        let deadline = try self.deadline(timeout)
        try lockQueue()
        var locked = true
        defer { if locked { lock.unlock() } }
        var timedOut = false
        if flawed(.emptyBeforeClosed), case .now = deadline, header.pointee.tail == header.pointee.head {
            throw QueueError.empty                                        // mistake: the closed flag is never looked at
        }
        while true {
            if flawed(.noDrainOnClose) && header.pointee.closed { throw QueueError.closed }   // mistake: before the messages
            if header.pointee.tail != header.pointee.head { break }
            if header.pointee.closed { throw QueueError.closed }
            if timedOut { throw QueueError.empty }
            timedOut = try !wait(on: base.notEmpty, until: deadline, timeout: timeout)
            if flawed(.waitWithIf) && !timedOut { break }                 // mistake: a wake-up taken for a message
        }
        let head = header.pointee.head
        var length: UInt32 = 0
        withUnsafeMutableBytes(of: &length) { base.copyOut($0, from: head) }
        header.pointee.head = head + UInt64(SharedQueue.prefix) + UInt64(length)
        if !flawed(.countNeverDecremented) { header.pointee.count = max(0, header.pointee.count - 1) }   // mistake for one
        if flawed(.unlockedCopyOut) {
            wake(base.notFull)
            lock.unlock()                                                 // mistake: the bytes are still to be copied
            locked = false
        }
        let message = [UInt8](unsafeUninitializedCapacity: Int(length)) { buffer, initialized in
            base.copyOut(UnsafeMutableRawBufferPointer(buffer), from: head + UInt64(SharedQueue.prefix))
            initialized = Int(length)
        }
        if locked { wake(base.notFull) }
        return message
    }

    func close() throws {
        try lockQueue()
        defer { lock.unlock() }
        if flawed(.closeTwiceThrows) && header.pointee.closed { throw QueueError.closed }   // mistake: closing twice is an error
        header.pointee.closed = true
        if flawed(.closeWithoutWake) { return }                           // mistake: nobody is told
        wake(base.notEmpty)
        wake(base.notFull)
    }
}
