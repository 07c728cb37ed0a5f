import CShmLab

/// What a `pthread_mutex_init` at an address in this process was given. CShmLab interposes
/// `pthread_mutex_init` and notes `pthread_mutexattr_getpshared` and `pthread_mutexattr_getrobust`
/// of the attributes: glibc's mutex bytes cannot show whether a robust mutex was made
/// `PTHREAD_PROCESS_SHARED` (it marks every robust mutex shared), so a check that must see the
/// attribute itself reads it here.
public struct MutexInitNote: Equatable, Sendable {
    public let processShared: Bool
    public let robust: Bool

    /// The last `pthread_mutex_init` at `address` in this process, or nil when none is remembered.
    public static func last(at address: UnsafeRawPointer) -> MutexInitNote? {
        var pshared: Int32 = 0, robust: Int32 = 0
        guard shmlab_mutex_init_attributes(address, &pshared, &robust) == 1 else { return nil }
        return MutexInitNote(processShared: pshared == 1, robust: robust == 1)   // PTHREAD_PROCESS_SHARED, PTHREAD_MUTEX_ROBUST
    }
}
