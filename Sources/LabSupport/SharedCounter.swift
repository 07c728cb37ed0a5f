import CShmLab
import Glibc

/// A 64-bit counter in shared memory that processes bump and wait on without a lock: the lab's
/// barrier for checks that start several processes and need them all at one point.
/// Adds are `__atomic_fetch_add` (acquire-release), loads `__atomic_load_n` (acquire).
public struct SharedCounter {
    public let address: UnsafeMutableRawPointer

    /// A counter at `address`, which must be 8-byte aligned inside a shared mapping.
    public init(at address: UnsafeMutableRawPointer) {
        precondition(Int(bitPattern: address) % 8 == 0, "a SharedCounter must be 8-byte aligned")
        self.address = address
    }

    public var value: UInt64 { shmlab_atomic_load_u64(address) }

    /// Adds `amount` and returns the new value.
    @discardableResult
    public func add(_ amount: UInt64 = 1) -> UInt64 {
        shmlab_atomic_fetch_add_u64(address, amount) &+ amount
    }

    /// Waits until the counter reaches at least `target`; false if `timeout` seconds pass first.
    /// Spins with `sched_yield`, then naps of 100 µs. The corresponding C function is `sched_yield`.
    public func wait(atLeast target: UInt64, timeout: Double) -> Bool {
        let deadline = monotonicSeconds() + timeout
        var rounds = 0
        while value < target {
            rounds += 1
            if rounds & 255 == 0 && monotonicSeconds() > deadline { return false }
            if rounds > 2_000 { usleep(100) } else { sched_yield() }
        }
        return true
    }
}
