import CShmLab
import Glibc

/// How a process ended, decoded from a `waitpid` status.
public enum ProcessEnd: Equatable, Sendable, CustomStringConvertible {
    case exited(Int32)
    case signaled(Int32)

    /// Decodes a raw status with WIFEXITED / WEXITSTATUS / WIFSIGNALED / WTERMSIG.
    public init(waitStatus status: Int32) {
        if shmlab_wifsignaled(status) != 0 {
            self = .signaled(shmlab_wtermsig(status))
        } else {
            self = .exited(shmlab_wexitstatus(status))
        }
    }

    public var description: String {
        switch self {
        case .exited(let code): return "exited with code \(code)"
        case .signaled(let sig): return "killed by \(signalName(sig))"
        }
    }
}

/// Waits for a child and decodes its status, retrying on EINTR. The corresponding C function
/// is `waitpid`.
public func waitForProcess(_ pid: pid_t) throws -> ProcessEnd {
    var status: Int32 = 0
    try valueOrErrno("waitpid", object: "pid \(pid)") { waitpid(pid, &status, 0) }
    return ProcessEnd(waitStatus: status)
}

/// "SIGSEGV" for 11; "signal 64" for a number without a name. The corresponding C function is
/// `sigabbrev_np`.
public func signalName(_ sig: Int32) -> String {
    if let abbrev = shmlab_signal_abbrev(sig) { return "SIG" + String(cString: abbrev) }
    return "signal \(sig)"
}

/// "Segmentation fault" for SIGSEGV. The corresponding C function is `strsignal`.
public func signalDescription(_ sig: Int32) -> String {
    guard let text = strsignal(sig) else { return "signal \(sig)" }
    return String(cString: text)
}
