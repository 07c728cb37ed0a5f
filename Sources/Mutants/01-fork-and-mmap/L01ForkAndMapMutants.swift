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
            Mutant(name: "map-private", mistake: "MAP_PRIVATE instead of MAP_SHARED",
                        caughtBy: [2, 3, 5], implementation: MapPrivate.self),
            Mutant(name: "wait-nohang", mistake: "waitForChild calls waitpid with WNOHANG: it returns at once, before the child ends, with the status untouched (.exited(0))",
                        caughtBy: [2, 3, 4], implementation: WaitNoHang.self),
            Mutant(name: "child-returns", mistake: "the child returns from runInChild instead of calling _exit",
                        caughtBy: [2, 3, 4, 5], implementation: ChildReturns.self),
            Mutant(name: "raw-wait-status", mistake: "the raw waitpid status is returned as the exit code",
                        caughtBy: [4], implementation: RawWaitStatus.self),
            Mutant(name: "swapped-branches", mistake: "parent and child branches of fork are swapped",
                        caughtBy: [2, 3, 4, 5], implementation: SwappedBranches.self),
            Mutant(name: "unmap-noop", mistake: "unmap does nothing",
                        caughtBy: [6], implementation: UnmapNoop.self),
            Mutant(name: "no-flush", mistake: "the child calls _exit without fflush, losing printed output",
                        caughtBy: [5], implementation: NoFlush.self),
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
        let signal = status & 0x7f
        if signal == 0 { return .exited((status >> 8) & 0xff) }
        return .signaled(signal)
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
