import Glibc
import LabKit
import Lessons
import Solution01

/// Lesson 01's realistic mistakes. Each forwards to the reference except for its one mistake.
public enum ForkAndMapMutants {
    public static var all: [Mutant<any ForkAndMapContract.Type>] {
        [
            Mutant(name: "page-rounded-size", mistake: "the block's count is rounded up to whole pages",
                        caughtBy: [1], implementation: PageRoundedSize.self),
            Mutant(name: "no-size-check", mistake: "bytes <= 0 goes straight to mmap (EINVAL) instead of invalidSize",
                        caughtBy: [1], implementation: NoSizeCheck.self),
            Mutant(name: "no-map-failed-check", mistake: "mmap's result is only checked for nil, so MAP_FAILED ((void *) -1) comes back as a block",
                        caughtBy: [1], implementation: NoMapFailedCheck.self),
            Mutant(name: "read-only-block", mistake: "the block is mapped with PROT_READ only",
                        caughtBy: [1], implementation: ReadOnlyBlock.self),
            Mutant(name: "map-private", mistake: "MAP_PRIVATE instead of MAP_SHARED",
                        caughtBy: [1, 2, 3, 5], implementation: MapPrivate.self),
            Mutant(name: "child-returns", mistake: "the child returns from runInChild instead of calling _exit",
                        caughtBy: [2, 3, 4, 5], implementation: ChildReturns.self),
            Mutant(name: "swapped-branches", mistake: "parent and child branches of fork are swapped",
                        caughtBy: [2, 3, 4, 5], implementation: SwappedBranches.self),
            Mutant(name: "body-before-fork", mistake: "runInChild runs the closure first and forks afterwards, so the closure runs in the parent",
                        caughtBy: [2, 3, 5], implementation: BodyBeforeFork.self),
            Mutant(name: "wait-nohang", mistake: "waitForChild calls waitpid with WNOHANG: it returns at once, before the child has ended",
                        caughtBy: [2, 4], implementation: WaitNoHang.self),
            Mutant(name: "raw-wait-status", mistake: "the raw waitpid status is returned as the exit code",
                        caughtBy: [4], implementation: RawWaitStatus.self),
            Mutant(name: "waits-for-any-child", mistake: "waitForChild calls waitpid(-1, …), collecting whichever child ended first",
                        caughtBy: [4], implementation: WaitsForAnyChild.self),
            Mutant(name: "no-eintr-retry", mistake: "waitForChild throws when waitpid fails with EINTR instead of waiting again",
                        caughtBy: [4], implementation: NoEintrRetry.self),
            Mutant(name: "unchecked-waitpid", mistake: "waitpid's result is not checked: a failed wait (ECHILD) decodes the untouched status 0 as .exited(0)",
                        caughtBy: [4], implementation: UncheckedWaitpid.self),
            Mutant(name: "no-flush", mistake: "the child calls _exit without fflush, losing printed output",
                        caughtBy: [5], implementation: NoFlush.self),
            Mutant(name: "no-flush-before-fork", mistake: "runInChild flushes before _exit but not before fork: the child prints the parent's buffered output again",
                        caughtBy: [5], implementation: NoFlushBeforeFork.self),
            Mutant(name: "unmap-noop", mistake: "unmap does nothing",
                        caughtBy: [6], implementation: UnmapNoop.self),
            Mutant(name: "unmap-one-page", mistake: "unmap passes one page as the length, leaving the rest of a larger block mapped",
                        caughtBy: [6], implementation: UnmapOnePage.self),
            Mutant(name: "unmap-ignores-error", mistake: "unmap ignores munmap's result: a failed munmap is not reported",
                        caughtBy: [6], implementation: UnmapIgnoresError.self),
        ]
    }
}

/// Forwards every requirement to the reference; mutants override one.
public protocol ForwardsToForkAndMap: ForkAndMapContract {}
extension ForwardsToForkAndMap {
    public static func mapSharedBlock(bytes: Int) throws -> UnsafeMutableRawBufferPointer { try ForkAndMap.mapSharedBlock(bytes: bytes) }
    public static func unmap(_ block: UnsafeMutableRawBufferPointer) throws { try ForkAndMap.unmap(block) }
    public static func runInChild(_ body: () -> Int32) throws -> pid_t { try ForkAndMap.runInChild(body) }
    public static func waitForChild(_ pid: pid_t) throws -> ChildStatus { try ForkAndMap.waitForChild(pid) }
}

/// The reference's decoding of a `waitpid` status word: WTERMSIG 0 means the child exited
/// (WEXITSTATUS is its code), anything else is the signal that killed it.
fileprivate func decoded(_ status: Int32) -> ChildStatus {
    let signal = status & 0x7f
    if signal == 0 { return .exited((status >> 8) & 0xff) }
    return .signaled(signal)
}

enum MapPrivate: ForwardsToForkAndMap {
    static func mapSharedBlock(bytes: Int) throws -> UnsafeMutableRawBufferPointer {
        guard bytes > 0 else { throw ForkAndMapError.invalidSize(bytes) }
        let address = mmap(nil, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
        guard let address, address != MAP_FAILED else { throw SystemError("mmap") }
        return UnsafeMutableRawBufferPointer(start: address, count: bytes)
    }
}

enum ChildReturns: ForwardsToForkAndMap {
    static func runInChild(_ body: () -> Int32) throws -> pid_t {
        fflush(nil)
        let pid = fork()
        if pid == -1 { throw SystemError("fork") }
        if pid == 0 { _ = body() }       // mistake: falls through and returns 0 in the child
        return pid
    }
}

enum RawWaitStatus: ForwardsToForkAndMap {
    static func waitForChild(_ pid: pid_t) throws -> ChildStatus {
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        return .exited(status)           // mistake: the status word is not the exit code
    }
}

enum WaitNoHang: ForwardsToForkAndMap {
    static func waitForChild(_ pid: pid_t) throws -> ChildStatus {
        var status: Int32 = 0
        if waitpid(pid, &status, WNOHANG) == -1 { throw SystemError("waitpid", object: "pid \(pid)") }   // mistake: WNOHANG
        return decoded(status)
    }
}

enum SwappedBranches: ForwardsToForkAndMap {
    static func runInChild(_ body: () -> Int32) throws -> pid_t {
        fflush(nil)
        let pid = fork()
        if pid == -1 { throw SystemError("fork") }
        if pid != 0 {                    // mistake: the parent runs the body and exits…
            let code = body()
            fflush(nil)
            _exit(code)
        }
        return pid                       // …and the child returns
    }
}

enum UnmapNoop: ForwardsToForkAndMap {
    static func unmap(_ block: UnsafeMutableRawBufferPointer) throws {}
}

enum NoFlush: ForwardsToForkAndMap {
    static func runInChild(_ body: () -> Int32) throws -> pid_t {
        let pid = fork()
        if pid == -1 { throw SystemError("fork") }
        if pid == 0 { _exit(body()) }    // mistake: stdio buffers are lost
        return pid
    }
}

enum PageRoundedSize: ForwardsToForkAndMap {
    static func mapSharedBlock(bytes: Int) throws -> UnsafeMutableRawBufferPointer {
        guard bytes > 0 else { throw ForkAndMapError.invalidSize(bytes) }
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let rounded = (bytes + page - 1) / page * page   // mistake: the caller asked for `bytes`
        let address = mmap(nil, rounded, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0)
        guard let address, address != MAP_FAILED else { throw SystemError("mmap") }
        return UnsafeMutableRawBufferPointer(start: address, count: rounded)
    }
}

enum NoSizeCheck: ForwardsToForkAndMap {
    static func mapSharedBlock(bytes: Int) throws -> UnsafeMutableRawBufferPointer {
        let address = mmap(nil, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0)
        guard let address, address != MAP_FAILED else { throw SystemError("mmap") }   // mistake: no size check
        return UnsafeMutableRawBufferPointer(start: address, count: bytes)
    }
}

enum NoMapFailedCheck: ForwardsToForkAndMap {
    static func mapSharedBlock(bytes: Int) throws -> UnsafeMutableRawBufferPointer {
        guard bytes > 0 else { throw ForkAndMapError.invalidSize(bytes) }
        let address = mmap(nil, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0)
        guard let address else { throw SystemError("mmap") }            // mistake: MAP_FAILED is not nil
        return UnsafeMutableRawBufferPointer(start: address, count: bytes)
    }
}

enum ReadOnlyBlock: ForwardsToForkAndMap {
    static func mapSharedBlock(bytes: Int) throws -> UnsafeMutableRawBufferPointer {
        guard bytes > 0 else { throw ForkAndMapError.invalidSize(bytes) }
        let address = mmap(nil, bytes, PROT_READ, MAP_SHARED | MAP_ANONYMOUS, -1, 0)   // mistake: no PROT_WRITE
        guard let address, address != MAP_FAILED else { throw SystemError("mmap") }
        return UnsafeMutableRawBufferPointer(start: address, count: bytes)
    }
}

enum BodyBeforeFork: ForwardsToForkAndMap {
    static func runInChild(_ body: () -> Int32) throws -> pid_t {
        let code = body()                // mistake: the closure runs here, in the parent
        fflush(nil)
        let pid = fork()
        if pid == -1 { throw SystemError("fork") }
        if pid == 0 { _exit(code) }
        return pid
    }
}

enum WaitsForAnyChild: ForwardsToForkAndMap {
    static func waitForChild(_ pid: pid_t) throws -> ChildStatus {
        var status: Int32 = 0
        while waitpid(-1, &status, 0) == -1 {            // mistake: any child, not `pid`
            if errno != EINTR { throw SystemError("waitpid") }
        }
        return decoded(status)
    }
}

enum NoEintrRetry: ForwardsToForkAndMap {
    static func waitForChild(_ pid: pid_t) throws -> ChildStatus {
        var status: Int32 = 0
        if waitpid(pid, &status, 0) == -1 { throw SystemError("waitpid") }   // mistake: EINTR is not retried
        return decoded(status)
    }
}

enum UncheckedWaitpid: ForwardsToForkAndMap {
    static func waitForChild(_ pid: pid_t) throws -> ChildStatus {
        var status: Int32 = 0
        _ = waitpid(pid, &status, 0)                      // mistake: -1 (ECHILD) goes unnoticed
        return decoded(status)
    }
}

enum NoFlushBeforeFork: ForwardsToForkAndMap {
    static func runInChild(_ body: () -> Int32) throws -> pid_t {
        let pid = fork()                                  // mistake: no fflush(nil) before fork
        if pid == -1 { throw SystemError("fork") }
        if pid == 0 {
            let code = body()
            fflush(nil)
            _exit(code)
        }
        return pid
    }
}

enum UnmapOnePage: ForwardsToForkAndMap {
    static func unmap(_ block: UnsafeMutableRawBufferPointer) throws {
        guard let base = block.baseAddress else { return }
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        if munmap(base, page) == -1 { throw SystemError("munmap") }   // mistake: one page, not block.count
    }
}

enum UnmapIgnoresError: ForwardsToForkAndMap {
    static func unmap(_ block: UnsafeMutableRawBufferPointer) throws {
        guard let base = block.baseAddress else { return }
        munmap(base, block.count)                         // mistake: -1 goes unnoticed
    }
}
