import Glibc
import Contracts

// Lesson 01 — reference solution.

public enum ForkAndMap: ForkAndMapContract {
    public static func mapSharedBlock(bytes: Int) throws -> UnsafeMutableRawBufferPointer {
        guard bytes > 0 else { throw ForkAndMapError.invalidSize(bytes) }
        let address = mmap(nil, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0)
        guard let address, address != MAP_FAILED else {
            throw SystemError("mmap", object: "\(bytes) anonymous bytes")
        }
        return UnsafeMutableRawBufferPointer(start: address, count: bytes)
    }

    public static func unmap(_ block: UnsafeMutableRawBufferPointer) throws {
        guard let base = block.baseAddress else { return }
        if munmap(base, block.count) == -1 { throw SystemError("munmap", object: "\(base)") }
    }

    public static func runInChild(_ body: () -> Int32) throws -> pid_t {
        fflush(nil)                      // or the child prints the parent's buffered output again
        let pid = fork()
        if pid == -1 { throw SystemError("fork") }
        if pid == 0 {                    // fork returns 0 in the child…
            let code = body()
            fflush(nil)                  // _exit does not flush stdio buffers
            _exit(code)                  // never return: the child must not run the parent's code
        }
        return pid                       // …and the child's pid in the parent
    }

    public static func waitForChild(_ pid: pid_t) throws -> ChildStatus {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 {
            if errno != EINTR { throw SystemError("waitpid", object: "pid \(pid)") }
        }
        let signal = status & 0x7f       // WTERMSIG; 0 means it exited
        if signal == 0 { return .exited((status >> 8) & 0xff) }   // WEXITSTATUS
        return .signaled(signal)
    }
}
