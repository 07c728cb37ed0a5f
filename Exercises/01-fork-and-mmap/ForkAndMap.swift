import Glibc
import Contracts

// Lesson 01 — fork and an anonymous shared block.
// Read the lesson: swift run lab show 1     Check your work: swift run lab check 1
//
// Replace each todo() with your code. Throw SystemError("mmap") (or the call that failed)
// when a system call fails, and ForkAndMapError.invalidSize(bytes) for a size <= 0.

public enum ForkAndMap: ForkAndMapContract {
    /// Maps `bytes` bytes of zero-filled memory shared with every child forked afterwards.
    /// mmap(nil, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0)
    public static func mapSharedBlock(bytes: Int) throws -> UnsafeMutableRawBufferPointer {
        todo()
    }

    /// Removes the mapping with munmap.
    public static func unmap(_ block: UnsafeMutableRawBufferPointer) throws {
        todo()
    }

    /// Forks: the child runs `body` and ends with _exit(body()); the parent returns the child's pid.
    public static func runInChild(_ body: () -> Int32) throws -> pid_t {
        todo()
    }

    /// Waits for the child with waitpid and decodes the status.
    public static func waitForChild(_ pid: pid_t) throws -> ChildStatus {
        todo()
    }
}
