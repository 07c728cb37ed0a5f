import Glibc

/// The lab's own process-shared, robust mutex, placed inside shared memory. Checks hand it to a
/// student's code where a lesson needs a working lock without depending on lesson 04.
///
/// Layout: one `pthread_mutex_t` at `address` (`ProcessSharedMutex.size` bytes, 8-aligned).
public struct ProcessSharedMutex {
    /// Bytes a mutex takes in shared memory.
    public static let size = MemoryLayout<pthread_mutex_t>.stride

    public let address: UnsafeMutablePointer<pthread_mutex_t>

    /// Attaches to a mutex already initialised at `address` (by another process, say).
    public init(at address: UnsafeMutableRawPointer) {
        self.address = address.assumingMemoryBound(to: pthread_mutex_t.self)
    }

    /// Initialises a new mutex at `address`, shared between processes and robust (the next locker
    /// recovers when a holder dies). The corresponding C functions are `pthread_mutexattr_setpshared`,
    /// `pthread_mutexattr_setrobust` and `pthread_mutex_init`.
    public static func initialize(at address: UnsafeMutableRawPointer) throws -> ProcessSharedMutex {
        precondition(Int(bitPattern: address) % 8 == 0, "a pthread_mutex_t must be 8-byte aligned")
        var attributes = pthread_mutexattr_t()
        pthread_mutexattr_init(&attributes)
        defer { pthread_mutexattr_destroy(&attributes) }
        pthread_mutexattr_setpshared(&attributes, Int32(PTHREAD_PROCESS_SHARED))
        pthread_mutexattr_setrobust(&attributes, Int32(PTHREAD_MUTEX_ROBUST))
        let mutex = ProcessSharedMutex(at: address)
        let rc = pthread_mutex_init(mutex.address, &attributes)
        if rc != 0 { throw SystemError("pthread_mutex_init", errno: rc) }
        return mutex
    }

    /// Locks; if the previous holder died, makes the mutex consistent and returns true.
    /// The corresponding C functions are `pthread_mutex_lock` and `pthread_mutex_consistent`.
    @discardableResult
    public func lock() throws -> Bool {
        let rc = pthread_mutex_lock(address)
        if rc == 0 { return false }
        if rc == EOWNERDEAD {
            pthread_mutex_consistent(address)
            return true
        }
        throw SystemError("pthread_mutex_lock", errno: rc)
    }

    /// The corresponding C function is `pthread_mutex_unlock`.
    public func unlock() {
        pthread_mutex_unlock(address)
    }

    /// Runs `body` with the lock held; unlocks on every path.
    public func withLock<T>(_ body: () throws -> T) throws -> T {
        try lock()
        defer { unlock() }
        return try body()
    }

    /// The thread (in a single-threaded process: the process) that holds the mutex now, or nil when
    /// it is free. Read from glibc's lock word of a robust mutex (owner TID | FUTEX_WAITERS |
    /// FUTEX_OWNER_DIED), so Linux and glibc only; checks use it to stop a holder mid-operation.
    public var ownerThreadID: pid_t? {
        let word = UInt32(bitPattern: address.pointee.__data.__lock) & 0x3fff_ffff   // FUTEX_TID_MASK
        return word == 0 ? nil : pid_t(word)
    }

    /// The corresponding C function is `pthread_mutex_destroy`.
    public func destroy() {
        pthread_mutex_destroy(address)
    }
}
