/// Lesson 01: what it is, its parts and their hints.
public enum Lesson01: LessonDeclaration {
    public static let info = LessonInfo(number: 1, slug: "fork-and-mmap",
                                        title: "Fork and an anonymous shared block", defaultTimeout: 10)

    public static var parts: [Part<any ForkAndMapContract.Type>] { [
        Part(1, "the block has the requested size and is all zeros",
             check: { lab, context in try blockIsSizedAndZeroed(lab, context) }, hints: [
            "mmap returns a pointer (or MAP_FAILED); wrap it with its length in an UnsafeMutableRawBufferPointer.",
            "Anonymous memory needs no file: flags MAP_SHARED | MAP_ANONYMOUS, fd -1, offset 0. Check bytes > 0 first and throw ForkAndMapError.invalidSize otherwise.",
            "let p = mmap(nil, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0)\nguard let p, p != MAP_FAILED else { throw SystemError(\"mmap\") }\nreturn UnsafeMutableRawBufferPointer(start: p, count: bytes)",
        ]),
        Part(2, "a child's writes are seen by the parent after the child exits",
             check: { lab, context in try childWritesReachParent(lab, context) }, hints: [
            "fork() returns twice: 0 in the child, the child's pid in the parent (Real Python's video \"Accessing Shared Memory\" says it the other way round).",
            "In the child: run the closure, then end the process with _exit(code). Never return: the child would go on running the parent's code.",
            "The writes only reach the parent if the block is MAP_SHARED; with MAP_PRIVATE the child writes to its own copy.",
            "waitForChild must return only once the child has ended: waitpid(pid, &status, 0) sleeps until then. With WNOHANG it returns 0 at once while the child still runs (and leaves the status 0, which reads as .exited(0)): that is \"returned before the child was reaped\".",
        ]),
        Part(3, "the parent's writes after the fork reach a running child",
             check: { lab, context in try parentWritesReachRunningChild(lab, context) }, hints: [
            "After fork, parent and child must look at the same physical pages, not copies.",
            "Copy-on-write applies to MAP_PRIVATE memory: each process gets a private copy on its first write. MAP_SHARED memory is never copied.",
        ]),
        Part(4, "exit statuses: .exited(7) and .signaled(SIGKILL)",
             check: { lab, context in try exitStatusesDecoded(lab, context) }, hints: [
            "waitpid(pid, &status, 0) fills in a status word that packs several things; it is not the exit code.",
            "The low 7 bits are the signal that ended the process (0 if it exited); the exit code is in bits 8…15.",
            "let signal = status & 0x7f\nif signal == 0 { return .exited((status >> 8) & 0xff) }\nreturn .signaled(signal)\n(Retry waitpid when it fails with EINTR.)",
            "Look at waitpid's result before the status: -1 with errno EINTR means a signal handler ran while it waited (the part sends SIGUSR1): call waitpid again. -1 with any other errno — ECHILD: the pid is not a child of this process, or its status was already collected — is SystemError(\"waitpid\"); the status was never filled in, so never decode it. And wait for that pid (waitpid(-1, …) collects whichever child ended first), without WNOHANG or WNOWAIT, so that the child is reaped.",
        ]),
        Part(5, "the video's scene: the parent writes 100 × \"a\", the child prints it",
             check: { lab, context in try tutorialScene(lab, context) }, hints: [
            "The child prints with print(), which writes into a stdio buffer, not straight to the descriptor.",
            "_exit ends the process at once and does not flush stdio buffers: call fflush(nil) before _exit in the child (and before fork, or buffered output is printed twice).",
        ]),
        Part(6, "unmap really removes the mapping",
             check: { lab, context in try unmapRemovesMapping(lab, context) }, hints: [
            "munmap(address, length) with the same address and length that mmap gave.",
            "After munmap the range disappears from /proc/self/maps. Touching it afterwards is a SIGSEGV.",
            "munmap returns -1 when it fails (an address that is not page-aligned: EINVAL): check it and throw SystemError(\"munmap\"). \"pages still mapped\" means a shorter length than the block's count.",
        ]),
    ] }
}
