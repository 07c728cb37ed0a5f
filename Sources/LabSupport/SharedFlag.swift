import CShmLab
import Glibc

/// A 32-bit word in shared memory that processes use to signal each other without locks.
/// Loads are acquire and stores release (`__atomic_load_n` / `__atomic_store_n`).
public struct SharedFlag {
    public let address: UnsafeMutableRawPointer

    public init(at address: UnsafeMutableRawPointer) { self.address = address }

    public var value: UInt32 {
        get { shmlab_atomic_load_u32(address) }
        nonmutating set { shmlab_atomic_store_u32(address, newValue) }
    }

    /// Spins (yielding the CPU each round) until the flag equals `expected` or `timeout` passes;
    /// after 20,000 rounds it naps instead, 0.1 ms growing to 1 ms between looks. Returns whether it
    /// was seen. The corresponding C functions are `sched_yield` and `usleep`.
    ///
    /// Why the naps grow: a waiter that woke every 0.1 ms used about 3% of a CPU, enough for the
    /// runner's stall watch to take a process stuck waiting for a flag nobody will set (its peer
    /// asleep in a lock) for a busy loop — a deadlock reported as a timeout 15–30 s later.
    public func wait(for expected: UInt32, timeout: Double) -> Bool {
        let deadline = monotonicSeconds() + timeout
        var rounds = 0
        var pause: UInt32 = 100
        while value != expected {
            rounds += 1
            if rounds > 20_000 {
                if monotonicSeconds() > deadline { return false }
                usleep(pause)
                pause = min(pause * 2, 1000)
            } else {
                if rounds & 1023 == 0 && monotonicSeconds() > deadline { return false }
                sched_yield()
            }
        }
        return true
    }
}

/// A one-shot start line in shared memory: `parties` processes arrive, and all leave together,
/// so that code meant to race really runs at the same time. Takes 8 zeroed bytes at `address`.
/// The corresponding C builtins are `__atomic_fetch_add` and `__atomic_load_n`.
public struct StartBarrier {
    public let address: UnsafeMutableRawPointer

    public init(at address: UnsafeMutableRawPointer) { self.address = address }

    /// Arrives and waits (yielding the CPU) until all `parties` have arrived; false after `timeout`.
    public func arriveAndWait(parties: Int, timeout: Double) -> Bool {
        shmlab_atomic_fetch_add_u64(address, 1)
        let deadline = monotonicSeconds() + timeout
        var rounds = 0
        while shmlab_atomic_load_u64(address) < UInt64(parties) {
            rounds += 1
            if rounds & 1023 == 0 && monotonicSeconds() > deadline { return false }
            sched_yield()
        }
        return true
    }

    /// How many have arrived so far.
    public var arrived: Int { Int(shmlab_atomic_load_u64(address)) }
}

/// Maps `bytes` of zero-filled memory shared with children forked afterwards: the lab's own,
/// for checks that must not depend on the student's code. The corresponding C function is `mmap`.
public func labSharedBlock(bytes: Int) throws -> UnsafeMutableRawBufferPointer {
    let address = mmap(nil, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0)
    guard let address, address != MAP_FAILED else { throw SystemError("mmap", object: "\(bytes) anonymous bytes") }
    return UnsafeMutableRawBufferPointer(start: address, count: bytes)
}

/// Unmaps a block from `labSharedBlock`. The corresponding C function is `munmap`.
public func labUnmap(_ block: UnsafeMutableRawBufferPointer) {
    if let base = block.baseAddress { munmap(base, block.count) }
}
