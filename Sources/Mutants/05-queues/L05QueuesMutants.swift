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
            entry(QueueSignalNotBroadcast.self, "signal-not-broadcast", "pthread_cond_signal everywhere: close and get wake only one of several waiters", [2, 6], as: .deadlocked),
            entry(QueueWrapAroundLoss.self, "wrap-around-loss", "put copies only up to the end of the ring: the part that should wrap to the start is lost", [4, 5]),
            entry(QueueNoSizeCheck.self, "no-size-check", "put does not compare the message with maximumMessageSize (it waits for room that never comes)", [5], as: .deadlocked),
            entry(QueueConditionsNotShared.self, "conditions-not-process-shared", "the condition variables are initialised without PTHREAD_PROCESS_SHARED", [2], as: .deadlocked),
            entry(QueueRelativeDeadline.self, "relative-cond-deadline", "the timeout itself is passed to pthread_cond_timedwait instead of now + timeout", [3]),
            entry(QueueClockMismatch.self, "clock-mismatch", "deadlines on CLOCK_MONOTONIC, but the condition variables were not told (pthread_condattr_setclock)", [3]),
            entry(QueueCloseWithoutWake.self, "close-without-wake", "close sets the flag but wakes nobody", [6], as: .deadlocked),
            entry(QueueNoDrainOnClose.self, "no-drain-on-close", "get checks closed before looking for a message: what was queued before close is lost", [6]),
            entry(QueueOwnerDeadInWaitIgnored.self, "owner-dead-in-wait-ignored", "EOWNERDEAD from pthread_cond_timedwait is thrown as an error, and the mutex never made consistent", [7]),
            entry(QueueUnlockedCopyOut.self, "unlocked-copy-out", "get moves head and releases the lock before copying the message out (producers overwrite it)", [4]),
            entry(QueueCountNeverDecremented.self, "count-never-decremented", "get forgets to subtract 1 from the message count", [1]),
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
         clockMismatch, closeWithoutWake, noDrainOnClose, ownerDeadInWaitIgnored, unlockedCopyOut, countNeverDecremented
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

/// The reference queue with `M.flaw` done wrong.
struct FlawedQueue<M: QueueMistake>: SharedQueueContract {
    let base: SharedQueue
    var header: UnsafeMutablePointer<QueueHeader> { base.header }
    var lock: ProcessSharedMutex { base.lock }
    func flawed(_ flaw: QueueFlaw) -> Bool { M.flaw == flaw }

    init(creatingIn block: UnsafeMutableRawBufferPointer, lock: ProcessSharedMutex) throws {
        base = try SharedQueue(creatingIn: block, lock: lock)
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

    var maximumMessageSize: Int { base.maximumMessageSize }
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
        let deadline = try QueueDeadline(timeout: timeout)
        if !flawed(.noSizeCheck) {                                        // mistake for one: no check
            guard message.count <= maximumMessageSize else {
                throw QueueError.messageTooLarge(size: message.count, maximum: maximumMessageSize)
            }
        }
        let needed = UInt64(SharedQueue.prefix + message.count)
        try base.lockQueue()
        defer { lock.unlock() }
        var timedOut = false
        while true {
            if header.pointee.closed { throw QueueError.closed }
            if UInt64(base.capacity) - (header.pointee.tail - header.pointee.head) >= needed { break }
            if timedOut { throw QueueError.full }
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
        let deadline = try QueueDeadline(timeout: timeout)
        try base.lockQueue()
        var locked = true
        defer { if locked { lock.unlock() } }
        var timedOut = false
        while true {
            if flawed(.noDrainOnClose) && header.pointee.closed { throw QueueError.closed }   // mistake: before the messages
            if header.pointee.tail != header.pointee.head { break }
            if header.pointee.closed { throw QueueError.closed }
            if timedOut { throw QueueError.empty }
            timedOut = try !wait(on: base.notEmpty, until: deadline, timeout: timeout)
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
        try base.lockQueue()
        defer { lock.unlock() }
        header.pointee.closed = true
        if flawed(.closeWithoutWake) { return }                           // mistake: nobody is told
        wake(base.notEmpty)
        wake(base.notFull)
    }
}
