import Contracts
import Glibc
import Synchronization

// Lesson 10 — memory ordering and a lock-free ring: the reference.

/// A payload published with a flag: the payload first, the flag last with a releasing store.
public struct Publication: PublicationContract {
    let flag: UnsafeMutablePointer<Atomic<UInt32>>
    let base: UnsafeMutableRawPointer

    public init(over block: UnsafeMutableRawBufferPointer) {
        base = block.baseAddress!
        flag = base.bindMemory(to: Atomic<UInt32>.self, capacity: 1)
    }

    public func publish(count: Int, _ write: (UnsafeMutableRawBufferPointer) -> Void) {
        write(UnsafeMutableRawBufferPointer(start: base + 64, count: count))
        base.storeBytes(of: UInt64(count), toByteOffset: 8, as: UInt64.self)
        // Release: every store above is visible to whoever sees this one with an acquiring load.
        flag.pointee.store(1, ordering: .releasing)
    }

    public func read() -> [UInt8]? {
        // Acquire: the loads below cannot be answered from before the flag was seen.
        guard flag.pointee.load(ordering: .acquiring) == 1 else { return nil }
        let count = Int(base.load(fromByteOffset: 8, as: UInt64.self))
        return Array(UnsafeRawBufferPointer(start: base + 64, count: count))
    }
}

/// A seqlock: the sequence is odd while the writer writes; a reader copies between two equal,
/// even sequence values.
public struct Seqlock: SeqlockContract {
    let sequence: UnsafeMutablePointer<Atomic<UInt64>>
    let words: UnsafeMutablePointer<UInt64>
    let count: Int

    public init(over block: UnsafeMutableRawBufferPointer, words: Int) {
        sequence = block.baseAddress!.bindMemory(to: Atomic<UInt64>.self, capacity: 1)
        self.words = (block.baseAddress! + 64).bindMemory(to: UInt64.self, capacity: words)
        count = words
    }

    public func write(_ update: (UnsafeMutableBufferPointer<UInt64>) -> Void) {
        let before = sequence.pointee.load(ordering: .relaxed)
        sequence.pointee.store(before &+ 1, ordering: .relaxed)      // odd: a write is in progress
        atomicMemoryFence(ordering: .releasing)                       // … before any word changes
        update(UnsafeMutableBufferPointer(start: words, count: count))
        sequence.pointee.store(before &+ 2, ordering: .releasing)    // even: the words are whole
    }

    public func read() -> [UInt64] {
        var copy = [UInt64](repeating: 0, count: count)
        var tries = 0
        while true {
            let first = sequence.pointee.load(ordering: .acquiring)
            if first & 1 == 0 {
                copy.withUnsafeMutableBufferPointer { $0.baseAddress!.update(from: words, count: count) }
                atomicMemoryFence(ordering: .acquiring)                // the copy's loads come before …
                if sequence.pointee.load(ordering: .relaxed) == first { return copy }   // … this one
            }
            tries += 1
            if tries > 100 { sched_yield() }                           // the writer may need this CPU
        }
    }
}

/// A single-producer single-consumer ring: tail and head on cache lines of their own, each side
/// caching the other's index, batched publication (one store of tail for many messages, one store
/// of head for many read in place), a futex word for a consumer that sleeps.
public final class LockFreeRing: SPSCRingContract {
    let data: UnsafeMutableRawPointer
    public let capacity: Int
    let tail: UnsafeMutablePointer<Atomic<UInt64>>
    let head: UnsafeMutablePointer<Atomic<UInt64>>
    let closed: UnsafeMutablePointer<Atomic<UInt32>>
    let wake: UnsafeMutablePointer<Atomic<UInt32>>
    let sleeping: UnsafeMutablePointer<Atomic<UInt32>>
    /// The producer's copy of head: read from the block again only when the ring looks full.
    var cachedHead: UInt64 = 0
    /// The consumer's copy of tail: read from the block again only when the ring looks empty.
    var cachedTail: UInt64 = 0

    public init(creatingIn block: UnsafeMutableRawBufferPointer) throws {
        guard let base = block.baseAddress, UInt(bitPattern: base) % 64 == 0 else {
            throw RingError.misaligned(address: UInt(bitPattern: block.baseAddress))
        }
        let minimum = RingLayout.dataOffset + 64
        guard block.count >= minimum else { throw RingError.blockTooSmall(bytes: block.count, minimum: minimum) }
        capacity = RingLayout.capacity(forBlockOf: block.count)
        data = base + RingLayout.dataOffset
        tail = (base + RingLayout.tailOffset).bindMemory(to: Atomic<UInt64>.self, capacity: 1)
        head = (base + RingLayout.headOffset).bindMemory(to: Atomic<UInt64>.self, capacity: 1)
        closed = (base + RingLayout.closedOffset).bindMemory(to: Atomic<UInt32>.self, capacity: 1)
        wake = (base + RingLayout.wakeOffset).bindMemory(to: Atomic<UInt32>.self, capacity: 1)
        sleeping = (base + RingLayout.sleepingOffset).bindMemory(to: Atomic<UInt32>.self, capacity: 1)
        base.storeBytes(of: RingLayout.magic.littleEndian, toByteOffset: RingLayout.magicOffset, as: UInt64.self)
        base.storeBytes(of: UInt64(capacity).littleEndian, toByteOffset: RingLayout.capacityOffset, as: UInt64.self)
        tail.pointee.store(0, ordering: .relaxed)
        head.pointee.store(0, ordering: .relaxed)
        closed.pointee.store(0, ordering: .relaxed)
    }

    public var maximumMessageSize: Int { capacity / 2 - 4 }

    public func trySend(count: Int, _ write: (UnsafeMutableRawBufferPointer) -> Void) throws -> Bool {
        guard closed.pointee.load(ordering: .relaxed) == 0 else { throw RingError.closed }
        guard count >= 0, count <= maximumMessageSize else {
            throw RingError.messageTooLarge(size: count, maximum: maximumMessageSize)
        }
        // The producer alone moves tail; it reads it from the block, so a new producer process
        // carries on where the last one stopped.
        let start = tail.pointee.load(ordering: .relaxed)
        guard let (at, end) = place(count, at: start) else { return false }
        write(UnsafeMutableRawBufferPointer(start: data + at, count: count))
        publish(end)
        return true
    }

    public func trySend(batch counts: [Int], _ write: (Int, UnsafeMutableRawBufferPointer) -> Void) throws -> Int {
        guard closed.pointee.load(ordering: .relaxed) == 0 else { throw RingError.closed }
        for count in counts where count < 0 || count > maximumMessageSize {
            throw RingError.messageTooLarge(size: count, maximum: maximumMessageSize)
        }
        let start = tail.pointee.load(ordering: .relaxed)
        var end = start
        var written = 0
        for count in counts {
            guard let (at, next) = place(count, at: end) else { break }
            write(written, UnsafeMutableRawBufferPointer(start: data + at, count: count))
            end = next
            written += 1
        }
        // Batched publication: the whole batch becomes visible with this one store, and the fence
        // and the look at sleeping are paid once for all of it.
        if written > 0 { publish(end) }
        return written
    }

    /// Makes room for a record of `count` bytes at the unpublished tail `start`: nil when it does
    /// not fit; else writes the padding (when the record goes to 0) and the length, and returns
    /// where the message's bytes go (from `data`) and the tail after the record.
    func place(_ count: Int, at start: UInt64) -> (at: Int, end: UInt64)? {
        let record = RingLayout.recordSize(count)
        let position = Int(start % UInt64(capacity))
        let skipped = record > capacity - position ? capacity - position : 0
        let needed = UInt64(skipped + record)
        if start &- cachedHead + needed > UInt64(capacity) {
            cachedHead = head.pointee.load(ordering: .acquiring)       // the consumer's reads are over
            if start &- cachedHead + needed > UInt64(capacity) { return nil }
        }
        var at = position
        if skipped > 0 {
            data.storeBytes(of: RingLayout.padding, toByteOffset: position, as: UInt32.self)
            at = 0
        }
        data.storeBytes(of: UInt32(count).littleEndian, toByteOffset: at, as: UInt32.self)
        return (at + 4, start + needed)
    }

    /// Publication: every record written before, then tail, with a releasing store; then the
    /// consumer is woken if it sleeps.
    func publish(_ end: UInt64) {
        tail.pointee.store(end, ordering: .releasing)
        // Store tail, then load sleeping: only a sequentially consistent fence keeps a later load
        // from passing an earlier store (x86's store buffer does exactly that).
        atomicMemoryFence(ordering: .sequentiallyConsistent)
        // One wake-up per sleep: whoever takes the sleeping flag back to 0 wakes the consumer, so
        // the messages sent while it wakes up cost no system call each.
        if sleeping.pointee.load(ordering: .relaxed) != 0, sleeping.pointee.exchange(0, ordering: .acquiringAndReleasing) != 0 {
            wake.pointee.add(1, ordering: .releasing)
            Futex.wake(UnsafeRawPointer(wake), count: 1)
        }
    }

    public func tryReceive() throws -> [UInt8]? {
        let start = head.pointee.load(ordering: .relaxed)             // the consumer alone moves head
        guard try recordWaits(at: start) else { return nil }
        let record = record(at: start)
        let message = Array(record.bytes)
        // Release: the copy above is done before the producer may reuse these bytes.
        head.pointee.store(record.next, ordering: .releasing)
        return message
    }

    public func tryReceive(upTo limit: Int, _ read: (UnsafeRawBufferPointer) -> Void) throws -> Int {
        guard limit > 0 else { return 0 }
        let start = head.pointee.load(ordering: .relaxed)
        guard try recordWaits(at: start) else { return 0 }
        let end = cachedTail
        var at = start
        var taken = 0
        while taken < limit && at != end {
            let record = record(at: at)
            read(record.bytes)
            at = record.next
            taken += 1
        }
        // Batched release: every read above is over before this one store hands their room back.
        head.pointee.store(at, ordering: .releasing)
        return taken
    }

    /// Whether a record waits at `start` (head). The cached copy of tail is loaded again only when
    /// it says empty; an acquiring load, so every record up to tail is visible. False when the
    /// ring is empty and open; `RingError.closed` when it is empty and closed.
    func recordWaits(at start: UInt64) throws -> Bool {
        if start != cachedTail { return true }
        cachedTail = tail.pointee.load(ordering: .acquiring)
        if start != cachedTail { return true }
        guard closed.pointee.load(ordering: .acquiring) != 0 else { return false }
        cachedTail = tail.pointee.load(ordering: .acquiring)           // sent before close?
        if start != cachedTail { return true }
        throw RingError.closed
    }

    /// The record that starts at `at` (a byte count, like head): its bytes in the ring, and
    /// where the next record starts. A padding length means the record was put at 0: the bytes
    /// from `at` to the end are skipped, and counted.
    func record(at: UInt64) -> (bytes: UnsafeRawBufferPointer, next: UInt64) {
        var position = Int(at % UInt64(capacity))
        var skipped = 0
        var length = UInt32(littleEndian: data.load(fromByteOffset: position, as: UInt32.self))
        if length == RingLayout.padding {
            skipped = capacity - position
            position = 0
            length = UInt32(littleEndian: data.load(fromByteOffset: 0, as: UInt32.self))
        }
        return (UnsafeRawBufferPointer(start: data + position + 4, count: Int(length)),
                at + UInt64(skipped + RingLayout.recordSize(Int(length))))
    }

    public func receive(timeout: Double) throws -> [UInt8] {
        guard !timeout.isNaN, timeout >= 0 else { throw RingError.invalidTimeout(timeout) }
        if let message = try tryReceive() { return message }
        for round in 0..<320 {                                         // a message may be moments away:
            if round >= 256 { sched_yield() }                          // spin, then let the producer run
            if let message = try tryReceive() { return message }
        }
        let deadline = now() + timeout
        while true {
            let seen = wake.pointee.load(ordering: .acquiring)
            sleeping.pointee.store(1, ordering: .relaxed)
            // Store sleeping, then load tail (in tryReceive): the mirror of the producer's fence.
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
            // Sleeps only if no send bumped the wake word since `seen` was read.
            _ = Futex.wait(UnsafeRawPointer(wake), expected: seen, timeout: left)
            sleeping.pointee.store(0, ordering: .relaxed)
        }
    }

    public func close() {
        closed.pointee.store(1, ordering: .releasing)
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
