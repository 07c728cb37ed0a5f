import Contracts
import Glibc
import Synchronization

// Lesson 10 — memory ordering and a lock-free ring.
// Read the lesson: swift run lab show 10     Check your work: swift run lab check 10
//
// Replace each todo() with your code. Every block the lab hands you is zero-filled, 64-aligned
// and shared with the processes forked afterwards. Put an Atomic in it through a pointer:
//     let flag = base.bindMemory(to: Atomic<UInt32>.self, capacity: 1)
//     flag.pointee.store(1, ordering: .releasing)
// Futex.wait and Futex.wake (from the lab's support code) put a process to sleep on a 32-bit
// word and wake it.

/// Part 1: the flag (Atomic<UInt32>) at byte 0, the payload's length (UInt64) at byte 8, the
/// payload from byte 64.
public struct Publication: PublicationContract {
    // Add what you need: a pointer to the flag, the block's base address.

    public init(over block: UnsafeMutableRawBufferPointer) {
        todo()
    }

    /// Lets `write` fill the payload, stores the length, then sets the flag with a releasing store.
    public func publish(count: Int, _ write: (UnsafeMutableRawBufferPointer) -> Void) {
        todo()
    }

    /// nil while the flag (an acquiring load) is 0; otherwise a copy of the payload.
    public func read() -> [UInt8]? {
        todo()
    }
}

/// Part 2: the sequence (Atomic<UInt64>) at byte 0, the record's words from byte 64.
public struct Seqlock: SeqlockContract {
    // Add what you need: a pointer to the sequence, a pointer to the words, their count.

    public init(over block: UnsafeMutableRawBufferPointer, words: Int) {
        todo()
    }

    /// Sequence odd, a releasing fence, `update` the words, sequence even (releasing store).
    public func write(_ update: (UnsafeMutableBufferPointer<UInt64>) -> Void) {
        todo()
    }

    /// Copies the words between two equal, even sequence values; retries otherwise.
    public func read() -> [UInt64] {
        todo()
    }
}

/// Parts 3–9, 11 and 12: the ring, laid out as RingLayout says (read it in the contract: swift run lab show 10).
public final class LockFreeRing: SPSCRingContract {
    // Add what you need: pointers to tail, head, closed, the wake word and sleeping (Atomics at
    // RingLayout's offsets), a pointer to the data, and the process's own cached copies of the
    // other side's index (plain `var`s: each process has its own).

    /// Checks the block (64-aligned, at least RingLayout.dataOffset + 64 bytes), writes the magic
    /// and the capacity.
    public init(creatingIn block: UnsafeMutableRawBufferPointer) throws {
        todo()
    }

    /// RingLayout.capacity(forBlockOf:) of the block.
    public var capacity: Int {
        todo()
    }

    /// Half the capacity less the 4-byte length.
    public var maximumMessageSize: Int {
        todo()
    }

    /// Room? (padding to the end counts) → length, write(...), tail (releasing), wake a sleeper.
    public func trySend(count: Int, _ write: (UnsafeMutableRawBufferPointer) -> Void) throws -> Bool {
        todo()
    }

    /// Part 11, batched publication: write as many of the messages as fit (each one's padding,
    /// length and write(i, …), as in trySend), then ONE tail store (releasing) for all of them and
    /// one look for a sleeper; return how many were written.
    public func trySend(batch counts: [Int], _ write: (Int, UnsafeMutableRawBufferPointer) -> Void) throws -> Int {
        todo()
    }

    /// A record at head? (follow a padding record to 0) → copy it, move head (releasing).
    public func tryReceive() throws -> [UInt8]? {
        todo()
    }

    /// Part 12, batched release: hand up to `limit` records at head to read(bytes), in place (follow
    /// a padding record to 0), then ONE head store (releasing) after the last read; return how many.
    public func tryReceive(upTo limit: Int, _ read: (UnsafeRawBufferPointer) -> Void) throws -> Int {
        todo()
    }

    /// tryReceive, and when the ring is empty: announce sleeping, look again, Futex.wait.
    public func receive(timeout: Double) throws -> [UInt8] {
        todo()
    }

    /// Sets closed and wakes the consumer.
    public func close() {
        todo()
    }
}
