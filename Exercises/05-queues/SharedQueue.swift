import Glibc
import Contracts

// Lesson 05 — queues: a bounded multi-producer, multi-consumer queue in shared memory.
// Read the lesson: swift run lab show 5     Check your work: swift run lab check 5
//
// Replace each todo() with your code. The lab hands you the block (zero-filled, shared with the
// processes forked afterwards) and a working lock: `lock.lock()` (returns true when the previous
// holder died), `lock.unlock()`, and `lock.address`, the pthread_mutex_t to pass to
// pthread_cond_timedwait. Throw QueueError for full, empty, closed and bad input.

public struct SharedQueue: SharedQueueContract {
    /// The lab's process-shared, robust mutex: hold it whenever you read or change the queue.
    let lock: ProcessSharedMutex
    // Add what you need: a pointer to your header (two pthread_cond_t, head, tail, count,
    // closed) at the start of the block, a pointer to the ring after it, the ring's capacity.

    /// Lays out an empty queue in `block`; initialises the two condition variables
    /// (pthread_condattr_setpshared, pthread_condattr_setclock(CLOCK_MONOTONIC), pthread_cond_init).
    public init(creatingIn block: UnsafeMutableRawBufferPointer, lock: ProcessSharedMutex) throws {
        todo()
    }

    /// The longest message that fits in the empty ring.
    public var maximumMessageSize: Int {
        todo()
    }

    /// Waits (pthread_cond_timedwait on notFull) up to `timeout` s for room, writes, wakes getters.
    public func put(_ message: [UInt8], timeout: Double) throws {
        todo()
    }

    /// Waits (pthread_cond_timedwait on notEmpty) up to `timeout` s for a message, takes the oldest, wakes putters.
    public func get(timeout: Double) throws -> [UInt8] {
        todo()
    }

    /// Marks the queue closed and wakes every waiter (pthread_cond_broadcast on both).
    public func close() throws {
        todo()
    }

    /// The number of messages in the queue (already out of date when you read it).
    public var approximateCount: Int {
        todo()
    }
}
