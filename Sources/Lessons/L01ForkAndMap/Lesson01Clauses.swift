/// Lesson 01's promises (contract doc comments and lesson text) → the parts that check them → the
/// mutants that prove those parts fail when the promise is broken.
extension Lesson01 {
    public static var clauses: [Clause] { [
        // mapSharedBlock(bytes:)
        Clause("the block has exactly `bytes` bytes (1, a page, sizes between pages, past 64 KiB, 1 MiB), not a page-rounded count",
               in: "mapSharedBlock(bytes:)", parts: [1], mutants: ["page-rounded-size"]),
        Clause("a fresh block is all zeros", in: "mapSharedBlock(bytes:)", parts: [1], mutants: ["page-rounded-size"]),
        Clause("the block is readable and writable (PROT_READ | PROT_WRITE) over its whole length",
               in: "mapSharedBlock(bytes:)", parts: [1], mutants: ["read-only-block"]),
        Clause("the block is shared (MAP_SHARED | MAP_ANONYMOUS), not a private copy-on-write mapping",
               in: "mapSharedBlock(bytes:)", parts: [1, 2, 3], mutants: ["map-private"]),
        Clause("bytes <= 0 (0, -1, -4096, Int.min) throws ForkAndMapError.invalidSize(bytes), before any mmap",
               in: "mapSharedBlock(bytes:)", parts: [1], mutants: ["no-size-check"]),
        Clause("a failed mmap (MAP_FAILED, not nil) throws a SystemError naming mmap",
               in: "mapSharedBlock(bytes:)", parts: [1], mutants: ["no-map-failed-check"]),
        // runInChild(_:)
        Clause("the closure runs in the child, after fork — not in the parent, not before the fork",
               in: "runInChild(_:)", parts: [2, 3, 5], mutants: ["body-before-fork", "swapped-branches"]),
        Clause("the parent gets the child's pid (fork returns 0 in the child, the pid in the parent — the video says it backwards)",
               in: "runInChild(_:); text: what fork returns", parts: [2, 3, 4, 5], mutants: ["swapped-branches"]),
        Clause("the child ends with _exit(body()) and never returns into the parent's code",
               in: "runInChild(_:); text: ending the child", parts: [2, 3, 4, 5], mutants: ["child-returns"]),
        Clause("the child's exit code is the closure's result", in: "runInChild(_:)", parts: [4], mutants: ["raw-wait-status", "child-returns"]),
        Clause("what the child printed reaches its output: fflush before _exit",
               in: "text: ending the child", parts: [5], mutants: ["no-flush"]),
        Clause("what the parent printed and did not flush is not printed again by the child: fflush before fork",
               in: "text: ending the child", parts: [5], mutants: ["no-flush-before-fork"]),
        Clause("a failed fork throws SystemError(\"fork\")", in: "runInChild(_:)",
               notCheckable: "fork fails only when the process limit or memory is exhausted; making it fail would take the whole machine's process table, other users' included"),
        // waitForChild(_:)
        Clause("waitForChild returns only once the child has ended, so everything the child wrote is visible",
               in: "waitForChild(_:); text: the parent waits for the child", parts: [2, 4], mutants: ["wait-nohang"]),
        Clause("a child that exits with a code (0, 1, 7, 128, 255) is .exited(code): bits 8…15 of the status",
               in: "ChildStatus.exited; waitForChild(_:)", parts: [4], mutants: ["raw-wait-status"]),
        Clause("a child ended by a signal (SIGKILL, SIGTERM, SIGINT) is .signaled(signal): the low 7 bits",
               in: "ChildStatus.signaled; waitForChild(_:)", parts: [4], mutants: ["raw-wait-status"]),
        Clause("the status of a child that dumped core (bit 7 set) still decodes to .signaled(signal)",
               in: "text: the status word", notCheckable: "a core dump writes a file wherever core_pattern says (or hands it to a system daemon); the lab leaves nothing behind and cannot redirect it"),
        Clause("waitForChild(pid) waits for that child, not whichever child ended first",
               in: "waitForChild(_:)", parts: [4], mutants: ["waits-for-any-child"]),
        Clause("the waited child is reaped: no zombie is left", in: "text: the parent waits for the child",
               parts: [2, 4], mutants: ["wait-nohang"]),
        Clause("a signal that interrupts waitpid (EINTR) is retried, not thrown",
               in: "text: the parent waits for the child", parts: [4], mutants: ["no-eintr-retry"]),
        Clause("a pid that is not a child (the parent) or was already collected throws SystemError(\"waitpid\") with ECHILD",
               in: "waitForChild(_:); text: your task", parts: [4], mutants: ["unchecked-waitpid"]),
        // The parent and a running child
        Clause("the parent's writes after the fork reach a child that is still running",
               in: "mapSharedBlock(bytes:); text: the child waits for the parent", parts: [3], mutants: ["map-private", "child-returns"]),
        Clause("the video's scene: the child prints the parent's 100 × \"a\" after the parent's flag, no sleep",
               in: "text: in Python", parts: [5], mutants: ["no-flush", "body-before-fork"]),
        // unmap(_:)
        Clause("unmap removes every page of the mapping (gone from /proc/self/maps)",
               in: "unmap(_:)", parts: [6], mutants: ["unmap-noop", "unmap-one-page"]),
        Clause("a failed munmap (a misaligned address: EINVAL) throws a SystemError naming munmap",
               in: "unmap(_:); text: your task", parts: [6], mutants: ["unmap-ignores-error"]),
    ] }
}
