import Glibc
import LabKit
import Lessons
import Solution05
import Solution10
import Synchronization

/// Lesson 10's realistic mistakes, at least three for each graded part, each named in the clause
/// table (`Lesson10Clauses.swift`). Each is the reference with one thing wrong (the ring's and the
/// seqlock's internals are not public, so the faulty versions are copies of the reference,
/// switched by their mistake). A `.relaxed` flag is not among them: no run on x86 can catch it
/// (the clause table says so).
public enum LockFreeMutants {
    static func flag<M: PublicationMistake>(_: M.Type) -> Lesson10.Implementations {
        (FaultyPublication<M>.self, Seqlock.self, LockFreeRing.self, SharedQueue.self)
    }
    static func seqlock<M: SeqlockMistake>(_: M.Type) -> Lesson10.Implementations {
        (Publication.self, FaultySeqlock<M>.self, LockFreeRing.self, SharedQueue.self)
    }
    static func ring<M: RingMistake>(_: M.Type) -> Lesson10.Implementations {
        (Publication.self, Seqlock.self, FaultyRing<M>.self, SharedQueue.self)
    }

    public static var all: [Mutant<Lesson10.Implementations>] { [
        Mutant(name: "flag-before-payload", mistake: "publish sets the flag first and writes the payload after it",
               caughtBy: [1], implementation: flag(FlagFirst.self)),
        Mutant(name: "read-ignores-flag", mistake: "read copies the payload without looking at the flag",
               caughtBy: [1], implementation: flag(IgnoresFlag.self)),
        Mutant(name: "publish-without-length", mistake: "publish never stores the payload's length at byte 8 (read copies 0 bytes)",
               caughtBy: [1], implementation: flag(NoLength.self)),
        Mutant(name: "torn-seqlock-read", mistake: "read loads the sequence before and after the copy but returns the copy even when they differ or the first was odd",
               caughtBy: [2], implementation: seqlock(ReturnsTorn.self)),
        Mutant(name: "seqlock-no-recheck", mistake: "read waits for an even sequence, copies, and never looks at the sequence again (a write that starts during the copy goes unnoticed)",
               caughtBy: [2], implementation: seqlock(NoRecheck.self)),
        Mutant(name: "seqlock-odd-accepted", mistake: "read retries only when the two sequence values differ: a copy taken while a write is under way (the same odd value before and after) is returned",
               caughtBy: [2], implementation: seqlock(OddAccepted.self)),
        Mutant(name: "sequence-bumped-once", mistake: "write adds 2 to the sequence after the update only: it is never odd, so a read during a write looks whole",
               caughtBy: [2], implementation: seqlock(BumpedOnce.self)),
        Mutant(name: "indices-on-one-cache-line", mistake: "head sits at byte 72, on tail's cache line, so that every message bounces one line between the two CPUs",
               caughtBy: [3, 9], implementation: ring(OneLine.self)),
        Mutant(name: "no-alignment-check", mistake: "init takes a block that does not start on a cache line (no RingError.misaligned)",
               caughtBy: [3], implementation: ring(NoAlignmentCheck.self)),
        Mutant(name: "records-not-padded", mistake: "a record takes 4 + count bytes, not padded to a multiple of 8",
               caughtBy: [3, 9], implementation: ring(Unpadded.self)),
        Mutant(name: "no-magic", mistake: "init does not write the magic \"SHMRING1\" at byte 0",
               caughtBy: [3, 9], implementation: ring(NoMagic.self)),
        Mutant(name: "maximum-is-capacity", mistake: "maximumMessageSize is capacity - 4, as in lesson 05's queue, though a record never wraps here",
               caughtBy: [3, 5], implementation: ring(MaximumIsCapacity.self)),
        Mutant(name: "publish-before-copy", mistake: "trySend publishes tail, then copies the message into the ring",
               caughtBy: [4, 8], implementation: ring(PublishFirst.self)),
        Mutant(name: "missed-wrap", mistake: "a record that does not fit before the end is put at 0 without a padding length, and tail does not count the skipped bytes (the consumer reads the stale bytes at the old position as a record)",
               caughtBy: [4, 5], implementation: ring(MissedWrap.self)),
        Mutant(name: "tail-never-reloaded", mistake: "tryReceive answers from its cached copy of tail and never loads tail again (the consumer sleeps for a message it cannot see)",
               caughtBy: [4], as: .deadlocked, implementation: ring(TailNeverReloaded.self)),
        Mutant(name: "room-check-forgets-padding", mistake: "trySend checks room for the record only, not for the record and the bytes skipped to the end",
               caughtBy: [5], implementation: ring(RoomForgetsPadding.self)),
        Mutant(name: "padding-not-followed", mistake: "tryReceive does not recognise the padding length and reads the end of the data as a record",
               caughtBy: [5], implementation: ring(PaddingNotFollowed.self)),
        Mutant(name: "lost-wake-up", mistake: "send wakes the consumer only when its cached copy of head says the ring was empty (a stale copy says the consumer still has messages while it sleeps)",
               caughtBy: [6], implementation: ring(WakeFromCache.self)),
        Mutant(name: "busy-wait-receive", mistake: "receive loops over tryReceive with sched_yield instead of sleeping on the futex",
               caughtBy: [6], implementation: ring(BusyWait.self)),
        Mutant(name: "sleeping-never-set", mistake: "receive sleeps on the wake word without setting sleeping first, so send never sees a sleeper to wake",
               caughtBy: [6], implementation: ring(SleepingNeverSet.self)),
        Mutant(name: "close-without-wake", mistake: "close sets the closed flag but does not wake a consumer asleep on the futex",
               caughtBy: [7], implementation: ring(CloseSilently.self)),
        Mutant(name: "closed-before-drain", mistake: "tryReceive looks at closed before looking for a message: what was sent before close is lost",
               caughtBy: [7], implementation: ring(ClosedFirst.self)),
        Mutant(name: "send-after-close", mistake: "trySend does not look at closed",
               caughtBy: [7], implementation: ring(SendsAfterClose.self)),
        Mutant(name: "tail-in-process-memory", mistake: "the producer keeps its tail in its object, not in the block: a new producer process starts from the copy it was forked with",
               caughtBy: [8], implementation: ring(PrivateTail.self)),
        Mutant(name: "publishes-each-message", mistake: "trySend(batch:) is a loop over trySend: tail is stored (and fenced) after every message, so the consumer sees half a batch",
               caughtBy: [11], implementation: ring(EachMessagePublished.self)),
        Mutant(name: "batch-room-forgets-padding", mistake: "trySend(batch:) checks room for each record only, not for the record and the bytes skipped to the end",
               caughtBy: [11], implementation: ring(BatchRoomForgetsPadding.self)),
        Mutant(name: "batch-returns-requested", mistake: "trySend(batch:) stops when the ring is full but returns how many messages it was asked to send (the given send(batch:) then drops the rest)",
               caughtBy: [11], implementation: ring(BatchReturnsRequested.self)),
        Mutant(name: "batch-without-wake", mistake: "trySend(batch:) stores tail once but never looks for a sleeping consumer",
               caughtBy: [11], implementation: ring(BatchWithoutWake.self)),
        Mutant(name: "releases-each-message", mistake: "tryReceive(upTo:) stores head after each message it hands to read, not once after the last",
               caughtBy: [12], implementation: ring(ReleasesEachMessage.self)),
        Mutant(name: "release-before-read", mistake: "tryReceive(upTo:) stores head past the whole batch first, then hands the messages to read (the producer may already overwrite them)",
               caughtBy: [12], implementation: ring(ReleaseBeforeRead.self)),
        Mutant(name: "limit-ignored", mistake: "tryReceive(upTo:) hands every message up to tail to read, however many were asked for",
               caughtBy: [12], implementation: ring(LimitIgnored.self)),
        Mutant(name: "batch-receive-ignores-padding", mistake: "tryReceive(upTo:) does not recognise the padding length and reads the end of the data as a record",
               caughtBy: [12], implementation: ring(BatchReceiveIgnoresPadding.self)),
        Mutant(name: "batch-receive-never-closed", mistake: "tryReceive(upTo:) returns 0 on a closed, drained ring instead of throwing closed",
               caughtBy: [12], implementation: ring(BatchReceiveNeverClosed.self)),
        Mutant(name: "head-never-reloaded", mistake: "trySend answers from its cached copy of head and never loads head again: once the ring has been round once it looks full for ever",
               caughtBy: [8], implementation: ring(HeadNeverReloaded.self)),
    ] }
}

// MARK: - the flag

public protocol PublicationMistake {}
public enum FlagFirst: PublicationMistake {}
public enum IgnoresFlag: PublicationMistake {}
public enum NoLength: PublicationMistake {}

public struct FaultyPublication<M: PublicationMistake>: PublicationContract {
    let flag: UnsafeMutablePointer<Atomic<UInt32>>
    let base: UnsafeMutableRawPointer

    public init(over block: UnsafeMutableRawBufferPointer) {
        base = block.baseAddress!
        flag = base.bindMemory(to: Atomic<UInt32>.self, capacity: 1)
    }

    public func publish(count: Int, _ write: (UnsafeMutableRawBufferPointer) -> Void) {
        if M.self == FlagFirst.self { flag.pointee.store(1, ordering: .releasing) }      // mistake: flag first
        write(UnsafeMutableRawBufferPointer(start: base + 64, count: count))
        if M.self != NoLength.self { base.storeBytes(of: UInt64(count), toByteOffset: 8, as: UInt64.self) }  // mistake (NoLength)
        flag.pointee.store(1, ordering: .releasing)
    }

    public func read() -> [UInt8]? {
        if M.self != IgnoresFlag.self {                                                    // mistake (IgnoresFlag)
            guard flag.pointee.load(ordering: .acquiring) == 1 else { return nil }
        }
        let count = Int(base.load(fromByteOffset: 8, as: UInt64.self))
        return Array(UnsafeRawBufferPointer(start: base + 64, count: count))
    }
}

// MARK: - the seqlock

public protocol SeqlockMistake {}
public enum ReturnsTorn: SeqlockMistake {}
public enum NoRecheck: SeqlockMistake {}
public enum BumpedOnce: SeqlockMistake {}
public enum OddAccepted: SeqlockMistake {}

public struct FaultySeqlock<M: SeqlockMistake>: SeqlockContract {
    let inner: Seqlock
    let sequence: UnsafeMutablePointer<Atomic<UInt64>>
    let words: UnsafeMutablePointer<UInt64>
    let count: Int

    public init(over block: UnsafeMutableRawBufferPointer, words: Int) {
        inner = Seqlock(over: block, words: words)
        sequence = block.baseAddress!.bindMemory(to: Atomic<UInt64>.self, capacity: 1)
        self.words = (block.baseAddress! + 64).bindMemory(to: UInt64.self, capacity: words)
        count = words
    }

    public func write(_ update: (UnsafeMutableBufferPointer<UInt64>) -> Void) {
        guard M.self == BumpedOnce.self else { return inner.write(update) }
        let before = sequence.pointee.load(ordering: .relaxed)
        update(UnsafeMutableBufferPointer(start: words, count: count))
        sequence.pointee.store(before &+ 2, ordering: .releasing)                          // mistake: never odd
    }

    public func read() -> [UInt64] {
        if M.self == BumpedOnce.self { return inner.read() }
        var copy = [UInt64](repeating: 0, count: count)
        if M.self == NoRecheck.self {
            while sequence.pointee.load(ordering: .acquiring) & 1 == 1 { sched_yield() }   // waits for even …
            copy.withUnsafeMutableBufferPointer { $0.baseAddress!.update(from: words, count: count) }
            return copy                                                                     // mistake: … and never looks again
        }
        while true {
            let first = sequence.pointee.load(ordering: .acquiring)
            copy.withUnsafeMutableBufferPointer { $0.baseAddress!.update(from: words, count: count) }
            atomicMemoryFence(ordering: .acquiring)
            let second = sequence.pointee.load(ordering: .relaxed)
            if M.self == OddAccepted.self {
                if first == second { return copy }                                          // mistake: an odd value is not a whole copy
                continue
            }
            _ = first == second && first & 1 == 0                                          // mistake: computed, not used
            return copy
        }
    }
}

// MARK: - the ring

public protocol RingMistake {}
public enum OneLine: RingMistake {}
public enum NoAlignmentCheck: RingMistake {}
public enum Unpadded: RingMistake {}
public enum NoMagic: RingMistake {}
public enum MaximumIsCapacity: RingMistake {}
public enum TailNeverReloaded: RingMistake {}
public enum PaddingNotFollowed: RingMistake {}
public enum SleepingNeverSet: RingMistake {}
public enum ClosedFirst: RingMistake {}
public enum SendsAfterClose: RingMistake {}
public enum HeadNeverReloaded: RingMistake {}
public enum PublishFirst: RingMistake {}
public enum MissedWrap: RingMistake {}
public enum RoomForgetsPadding: RingMistake {}
public enum WakeFromCache: RingMistake {}
public enum BusyWait: RingMistake {}
public enum CloseSilently: RingMistake {}
public enum PrivateTail: RingMistake {}
public enum EachMessagePublished: RingMistake {}
public enum BatchRoomForgetsPadding: RingMistake {}
public enum BatchReturnsRequested: RingMistake {}
public enum BatchWithoutWake: RingMistake {}
public enum ReleasesEachMessage: RingMistake {}
public enum ReleaseBeforeRead: RingMistake {}
public enum LimitIgnored: RingMistake {}
public enum BatchReceiveIgnoresPadding: RingMistake {}
public enum BatchReceiveNeverClosed: RingMistake {}

/// The reference ring with the mistake `M`.
public final class FaultyRing<M: RingMistake>: SPSCRingContract {
    let data: UnsafeMutableRawPointer
    public let capacity: Int
    let tail: UnsafeMutablePointer<Atomic<UInt64>>
    let head: UnsafeMutablePointer<Atomic<UInt64>>
    let closed: UnsafeMutablePointer<Atomic<UInt32>>
    let wake: UnsafeMutablePointer<Atomic<UInt32>>
    let sleeping: UnsafeMutablePointer<Atomic<UInt32>>
    var cachedHead: UInt64 = 0
    var cachedTail: UInt64 = 0
    var privateTail: UInt64 = 0

    public init(creatingIn block: UnsafeMutableRawBufferPointer) throws {
        guard let base = block.baseAddress, UInt(bitPattern: base) % 64 == 0 || M.self == NoAlignmentCheck.self else {
            throw RingError.misaligned(address: UInt(bitPattern: block.baseAddress))           // mistake (NoAlignmentCheck): skipped
        }
        let minimum = RingLayout.dataOffset + 64
        guard block.count >= minimum else { throw RingError.blockTooSmall(bytes: block.count, minimum: minimum) }
        capacity = RingLayout.capacity(forBlockOf: block.count)
        data = base + RingLayout.dataOffset
        tail = (base + RingLayout.tailOffset).bindMemory(to: Atomic<UInt64>.self, capacity: 1)
        let headOffset = M.self == OneLine.self ? RingLayout.tailOffset + 8 : RingLayout.headOffset   // mistake (OneLine)
        head = (base + headOffset).bindMemory(to: Atomic<UInt64>.self, capacity: 1)
        closed = (base + RingLayout.closedOffset).bindMemory(to: Atomic<UInt32>.self, capacity: 1)
        wake = (base + RingLayout.wakeOffset).bindMemory(to: Atomic<UInt32>.self, capacity: 1)
        sleeping = (base + RingLayout.sleepingOffset).bindMemory(to: Atomic<UInt32>.self, capacity: 1)
        if M.self != NoMagic.self {                                                        // mistake (NoMagic)
            base.storeBytes(of: RingLayout.magic.littleEndian, toByteOffset: RingLayout.magicOffset, as: UInt64.self)
        }
        base.storeBytes(of: UInt64(capacity).littleEndian, toByteOffset: RingLayout.capacityOffset, as: UInt64.self)
    }

    public var maximumMessageSize: Int { M.self == MaximumIsCapacity.self ? capacity - 4 : capacity / 2 - 4 }   // mistake (MaximumIsCapacity)

    /// The room a record takes (the mistake Unpadded: no padding to 8).
    func recordSize(_ count: Int) -> Int { M.self == Unpadded.self ? 4 + count : RingLayout.recordSize(count) }

    public func trySend(count: Int, _ write: (UnsafeMutableRawBufferPointer) -> Void) throws -> Bool {
        guard closed.pointee.load(ordering: .relaxed) == 0 || M.self == SendsAfterClose.self else { throw RingError.closed }  // mistake (SendsAfterClose)
        guard count >= 0, count <= maximumMessageSize else {
            throw RingError.messageTooLarge(size: count, maximum: maximumMessageSize)
        }
        let start = M.self == PrivateTail.self ? privateTail : tail.pointee.load(ordering: .relaxed)   // mistake (PrivateTail)
        let record = recordSize(count)
        let position = Int(start % UInt64(capacity))
        let skipped = record > capacity - position ? capacity - position : 0
        let needed = UInt64(skipped + record)
        let room = M.self == RoomForgetsPadding.self ? UInt64(record) : needed  // mistake (RoomForgetsPadding)
        let wasEmpty = start == cachedHead
        if start &- cachedHead + room > UInt64(capacity) {
            if M.self == HeadNeverReloaded.self { return false }                            // mistake: never reloaded
            cachedHead = head.pointee.load(ordering: .acquiring)
            if start &- cachedHead + room > UInt64(capacity) { return false }
        }
        var at = position
        if skipped > 0 {
            if M.self != MissedWrap.self && capacity - position >= 4 { data.storeBytes(of: RingLayout.padding, toByteOffset: position, as: UInt32.self) }
            at = 0
        }
        let next = start + (M.self == MissedWrap.self ? UInt64(record) : needed)    // mistake (MissedWrap)
        data.storeBytes(of: UInt32(count).littleEndian, toByteOffset: at, as: UInt32.self)
        if M.self == PublishFirst.self { tail.pointee.store(next, ordering: .releasing) }   // mistake: published before the copy
        write(UnsafeMutableRawBufferPointer(start: data + at + 4, count: count))
        tail.pointee.store(next, ordering: .releasing)
        privateTail = next
        if M.self == WakeFromCache.self {
            if wasEmpty {                                                       // mistake: judged from a stale cache
                wake.pointee.add(1, ordering: .releasing)
                Futex.wake(UnsafeRawPointer(wake), count: 1)
            }
            return true
        }
        atomicMemoryFence(ordering: .sequentiallyConsistent)
        // One wake-up per sleep: whoever takes the sleeping flag back to 0 wakes the consumer, so
        // the messages sent while it wakes up cost no system call each.
        if sleeping.pointee.load(ordering: .relaxed) != 0, sleeping.pointee.exchange(0, ordering: .acquiringAndReleasing) != 0 {
            wake.pointee.add(1, ordering: .releasing)
            Futex.wake(UnsafeRawPointer(wake), count: 1)
        }
        return true
    }

    public func trySend(batch counts: [Int], _ write: (Int, UnsafeMutableRawBufferPointer) -> Void) throws -> Int {
        if M.self == EachMessagePublished.self {                                 // mistake: one publication per message
            var written = 0
            for count in counts {
                guard try trySend(count: count, { write(written, $0) }) else { break }
                written += 1
            }
            return written
        }
        guard closed.pointee.load(ordering: .relaxed) == 0 || M.self == SendsAfterClose.self else { throw RingError.closed }
        for count in counts where count < 0 || count > maximumMessageSize {
            throw RingError.messageTooLarge(size: count, maximum: maximumMessageSize)
        }
        let start = M.self == PrivateTail.self ? privateTail : tail.pointee.load(ordering: .relaxed)
        var end = start
        var written = 0
        for count in counts {
            let record = recordSize(count)
            let position = Int(end % UInt64(capacity))
            let skipped = record > capacity - position ? capacity - position : 0
            let needed = UInt64(skipped + record)
            let forgets = M.self == BatchRoomForgetsPadding.self || M.self == RoomForgetsPadding.self
            let room = forgets ? UInt64(record) : needed                        // mistake (BatchRoomForgetsPadding)
            if end &- cachedHead + room > UInt64(capacity) {
                if M.self == HeadNeverReloaded.self { break }
                cachedHead = head.pointee.load(ordering: .acquiring)
                if end &- cachedHead + room > UInt64(capacity) { break }
            }
            var at = position
            if skipped > 0 {
                if capacity - position >= 4 { data.storeBytes(of: RingLayout.padding, toByteOffset: position, as: UInt32.self) }
                at = 0
            }
            data.storeBytes(of: UInt32(count).littleEndian, toByteOffset: at, as: UInt32.self)
            write(written, UnsafeMutableRawBufferPointer(start: data + at + 4, count: count))
            end += needed
            written += 1
        }
        if written > 0 {
            tail.pointee.store(end, ordering: .releasing)
            privateTail = end
            if M.self != BatchWithoutWake.self {                                 // mistake (BatchWithoutWake): nobody woken
                atomicMemoryFence(ordering: .sequentiallyConsistent)
                if sleeping.pointee.load(ordering: .relaxed) != 0, sleeping.pointee.exchange(0, ordering: .acquiringAndReleasing) != 0 {
                    wake.pointee.add(1, ordering: .releasing)
                    Futex.wake(UnsafeRawPointer(wake), count: 1)
                }
            }
        }
        return M.self == BatchReturnsRequested.self ? counts.count : written    // mistake (BatchReturnsRequested)
    }

    /// Whether a record waits at `start`, as the reference's recordWaits(at:): the cached tail first,
    /// the shared tail reloaded only when the cache says empty (unless TailNeverReloaded); false
    /// when empty, RingError.closed once closed and drained.
    private func recordWaits(at start: UInt64) throws -> Bool {
        if start == cachedTail {
            if M.self != TailNeverReloaded.self { cachedTail = tail.pointee.load(ordering: .acquiring) }   // mistake (TailNeverReloaded)
            if start == cachedTail {
                guard closed.pointee.load(ordering: .acquiring) != 0 else { return false }
                cachedTail = tail.pointee.load(ordering: .acquiring)
                if start == cachedTail { throw RingError.closed }
            }
        }
        return true
    }

    /// The record that starts at `at`, as the reference's record(at:): where its message lies, its
    /// length (never past the block) and where the next record starts. A padding length moves
    /// the record to 0 when `followingPadding`.
    private func record(at: UInt64, followingPadding: Bool) -> (position: Int, count: Int, next: UInt64) {
        var position = Int(at % UInt64(capacity))
        var skipped = 0
        if capacity - position < 4 {                                              // only an unpadded ring gets here
            skipped = capacity - position
            position = 0
        }
        var length = UInt32(littleEndian: data.loadUnaligned(fromByteOffset: position, as: UInt32.self))
        if length == RingLayout.padding && followingPadding {
            skipped = capacity - position
            position = 0
            length = UInt32(littleEndian: data.loadUnaligned(fromByteOffset: 0, as: UInt32.self))
        }
        let count = max(0, min(Int(length), capacity - position - 4))             // no reading past the block
        return (position, count, at + UInt64(skipped + recordSize(count)))
    }

    public func tryReceive() throws -> [UInt8]? {
        if M.self == ClosedFirst.self, closed.pointee.load(ordering: .acquiring) != 0 { throw RingError.closed }  // mistake
        let start = head.pointee.load(ordering: .relaxed)
        guard try recordWaits(at: start) else { return nil }
        let found = record(at: start, followingPadding: M.self != PaddingNotFollowed.self)   // mistake (PaddingNotFollowed)
        let message = Array(UnsafeRawBufferPointer(start: data + found.position + 4, count: found.count))
        head.pointee.store(found.next, ordering: .releasing)
        return message
    }

    public func tryReceive(upTo limit: Int, _ read: (UnsafeRawBufferPointer) -> Void) throws -> Int {
        guard limit > 0 else { return 0 }
        if M.self == ClosedFirst.self, closed.pointee.load(ordering: .acquiring) != 0 { throw RingError.closed }
        let start = head.pointee.load(ordering: .relaxed)
        do {
            guard try recordWaits(at: start) else { return 0 }
        } catch RingError.closed where M.self == BatchReceiveNeverClosed.self {
            return 0                                                             // mistake: closed never said
        }
        let end = cachedTail
        /// The records from `start` up to `limit` of them: where each message lies, and head after each.
        var records: [(position: Int, count: Int, next: UInt64)] = []
        var at = start
        while (records.count < limit || M.self == LimitIgnored.self) && at != end {   // mistake (LimitIgnored)
            let found = record(at: at, followingPadding: M.self != PaddingNotFollowed.self
                                                         && M.self != BatchReceiveIgnoresPadding.self)   // mistake (BatchReceiveIgnoresPadding)
            at = found.next
            records.append(found)
            if at &- start > UInt64(capacity) { break }                       // a misread length: no further
        }
        if M.self == ReleaseBeforeRead.self { head.pointee.store(at, ordering: .releasing) }   // mistake: released first
        for record in records {
            read(UnsafeRawBufferPointer(start: data + record.position + 4, count: record.count))
            if M.self == ReleasesEachMessage.self { head.pointee.store(record.next, ordering: .releasing) }  // mistake: one store each
        }
        head.pointee.store(at, ordering: .releasing)
        return records.count
    }

    public func receive(timeout: Double) throws -> [UInt8] {
        guard !timeout.isNaN, timeout >= 0 else { throw RingError.invalidTimeout(timeout) }
        let deadline = now() + timeout
        if M.self == BusyWait.self {
            while true {                                                         // mistake: spins
                if let message = try tryReceive() { return message }
                if now() > deadline { throw RingError.empty }
                sched_yield()
            }
        }
        for round in 0..<320 {
            if round >= 256 { sched_yield() }
            if let message = try tryReceive() { return message }
        }
        while true {
            let seen = wake.pointee.load(ordering: .acquiring)
            if M.self != SleepingNeverSet.self { sleeping.pointee.store(1, ordering: .relaxed) }   // mistake (SleepingNeverSet)
            atomicMemoryFence(ordering: .sequentiallyConsistent)
            if let message = try tryReceive() {
                sleeping.pointee.store(0, ordering: .relaxed)
                return message
            }
            let left = deadline - now()
            if left <= 0 {
                sleeping.pointee.store(0, ordering: .relaxed)
                throw RingError.empty
            }
            _ = Futex.wait(UnsafeRawPointer(wake), expected: seen, timeout: left)
            sleeping.pointee.store(0, ordering: .relaxed)
        }
    }

    public func close() {
        closed.pointee.store(1, ordering: .releasing)
        if M.self == CloseSilently.self { return }                               // mistake: nobody woken
        atomicMemoryFence(ordering: .sequentiallyConsistent)
        wake.pointee.add(1, ordering: .releasing)
        Futex.wake(UnsafeRawPointer(wake))
    }

    func now() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }
}
