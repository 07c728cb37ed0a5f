import Glibc

/// What lesson 05's queue throws: the three ordinary outcomes of a timed queue (full, empty,
/// closed) and bad input (a failed system call is a `SystemError`).
public enum QueueError: Error, Equatable {
    /// `put` timed out: there was no room for the message.
    case full
    /// `get` timed out: there was no message.
    case empty
    /// `put` after `close`; `get` after `close` once every message left has been taken.
    case closed
    /// A message longer than `maximumMessageSize` (it could never fit).
    case messageTooLarge(size: Int, maximum: Int)
    /// A block too small for the queue's header and a useful ring.
    case blockTooSmall(bytes: Int, minimum: Int)
    /// A block whose start is not 8-aligned (pthread types need it).
    case misaligned(address: UInt)
    /// A timeout that is negative or not a number.
    case invalidTimeout(Double)
}

/// Lesson 05 — a bounded multi-producer, multi-consumer queue of byte messages in shared memory.
///
/// The lab hands it a block (zero-filled, shared with every process forked afterwards) and a
/// working process-shared, robust mutex (`ProcessSharedMutex`: `lock()` returns true when the
/// previous holder died; `address` is the `pthread_mutex_t` for `pthread_cond_timedwait`).
/// Processes forked after `init` use the same value.
public protocol SharedQueueContract {
    /// Lays out a new, empty queue in `block`: a header (two process-shared condition variables,
    /// positions, a count, the closed flag) and a ring buffer in the rest. Throws `misaligned`
    /// and `blockTooSmall` for bad blocks. The corresponding C functions are
    /// `pthread_condattr_setpshared`, `pthread_condattr_setclock` and `pthread_cond_init`.
    init(creatingIn block: UnsafeMutableRawBufferPointer, lock: ProcessSharedMutex) throws

    /// The longest message that fits in the empty ring.
    var maximumMessageSize: Int { get }

    /// Appends `message`, waiting up to `timeout` seconds for room (`0`: not at all,
    /// `.infinity`: as long as it takes). Throws `full` when the time is up, `closed` after
    /// `close`, `messageTooLarge` at once for a message that can never fit, `invalidTimeout` for a
    /// negative or NaN timeout. The corresponding C function is `pthread_cond_timedwait`.
    func put(_ message: [UInt8], timeout: Double) throws

    /// Takes the oldest message, waiting up to `timeout` seconds for one. Throws `empty` when the
    /// time is up, and `closed` once the queue is closed and drained. A blocked `get` sleeps: it
    /// uses no CPU until a `put` or `close` wakes it.
    func get(timeout: Double) throws -> [UInt8]

    /// Closes the queue: later puts throw `closed`; gets return what is left, then throw `closed`.
    /// Wakes every waiting process. Closing twice is harmless. The corresponding C function is
    /// `pthread_cond_broadcast`.
    func close() throws

    /// How many messages are in the queue — already out of date when you read it, like Python's
    /// `qsize()`.
    var approximateCount: Int { get }
}
