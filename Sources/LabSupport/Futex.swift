import CShmLab
import Glibc

/// A 32-bit word in shared memory that processes sleep on and wake each other through: a Linux
/// futex ("fast user-space mutex"). The kernel keeps a queue of sleepers per word; a shared
/// mapping makes the word the same futex in every process that maps it.
public enum Futex {
    /// How a `wait` ended.
    public enum WaitResult: Equatable, Sendable {
        /// A `wake` on the word woke this process (or, rarely, a spurious wake-up: look again).
        case woken
        /// The word no longer held `expected` when the kernel looked: nothing to sleep for.
        case valueChanged
        /// `timeout` seconds passed.
        case timedOut
        /// A signal arrived.
        case interrupted
    }

    /// Sleeps while the word at `word` (4-byte aligned, in a shared mapping) holds `expected`,
    /// for at most `timeout` seconds (`.infinity`: no limit). The kernel compares and goes to sleep
    /// atomically with respect to `wake`, so a wake after the word changed is never lost. The
    /// corresponding C call is `syscall(SYS_futex, word, FUTEX_WAIT, expected, &timeout)`.
    public static func wait(_ word: UnsafeRawPointer, expected: UInt32, timeout: Double) -> WaitResult {
        let nanoseconds: Int64 = timeout.isFinite ? Int64(max(0, timeout) * 1e9) : -1
        if shmlab_futex_wait(word, expected, nanoseconds) == 0 { return .woken }
        switch errno {
        case EAGAIN: return .valueChanged
        case ETIMEDOUT: return .timedOut
        default: return .interrupted
        }
    }

    /// Wakes up to `count` processes sleeping in `wait` on `word`; returns how many it woke. The
    /// corresponding C call is `syscall(SYS_futex, word, FUTEX_WAKE, count)`.
    @discardableResult
    public static func wake(_ word: UnsafeRawPointer, count: Int32 = Int32.max) -> Int {
        Int(max(0, shmlab_futex_wake(word, count)))
    }
}
