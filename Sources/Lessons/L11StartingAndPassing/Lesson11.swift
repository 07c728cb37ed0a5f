/// Lesson 11: what it is, its parts and their hints.
public enum Lesson11: LessonDeclaration {
    public static let info = LessonInfo(number: 11, slug: "starting-and-passing",
                                        title: "Starting processes and passing memory by descriptor",
                                        defaultTimeout: 30)

    public static var parts: [Part<any MemfdSegmentContract.Type>] { [
        Part(1, "a memfd segment: the size asked for, zeros, close-on-exec, sealable, nothing in /dev/shm",
             check: { lab, context in try memfdHasNoName(lab, context) }, hints: [
            "memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING) gives a descriptor for a file in RAM that has no name in any directory: the name is only a label in /proc/PID/fd. The lab's support declares memfd_create and the MFD_ values (import Glibc hides them).",
            "A new memfd is 0 bytes long, like a new shm_open object: ftruncate(fd, size), then mmap(nil, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0). Keep the descriptor: it is what you send. Check size > 0 first (MemfdError.invalidSize).",
            "Without MFD_ALLOW_SEALING the memfd is born with F_SEAL_SEAL (no seal can ever be added); without MFD_CLOEXEC every program this process execs inherits it. close() is munmap and close(fd).",
        ]),
        Part(2, "a descriptor sent over a socketpair (SCM_RIGHTS): the child maps it, both see the writes",
             check: { lab, context in try forkedChildReceives(lab, context) }, hints: [
            "The child was forked before the segment existed: it has no copy of the descriptor, and the number means nothing in it. Only sendmsg with an SCM_RIGHTS control message makes the kernel install a descriptor for the same open file in the receiver.",
            "SCMRights.send(socket:descriptor:byte:) is sendmsg with the control message built (CMSG_* are macros Swift cannot use). On a stream socket a control message travels with at least one byte of data: send 1, the number of descriptors, as Python does.",
            "receive: SCMRights.receive(socket:controlSpace: SCMRights.space(descriptors: 1), flags: MSG_CMSG_CLOEXEC). A count of 0 is end of file (.endOfFile); a descriptor of -1, or MSG_CTRUNC in messageFlags (the buffer was too small and the kernel dropped the descriptor), is .noDescriptor.",
            "map(descriptor:writable:): fstat for the size, then mmap with MAP_SHARED — a MAP_PRIVATE mapping is a private copy, and the sender never sees what the receiver writes.",
        ], ifTimedOut: "the child may wait in receive(over:) for a descriptor that send never sent."),
        Part(3, "an unrelated process receives it; killed while holding it, nothing is left anywhere",
             check: { lab, context in try unrelatedProcessAndKills(lab, context) }, hints: [
            "The other process is started with posix_spawn: it shares nothing with the part but a Unix socket path. It runs your receive(over:) and map(descriptor:writable:), writes an answer, and is then killed with SIGKILL.",
            "A memfd has no name, so a killed process cannot leave one behind: the memory is freed when the last descriptor and the last mapping, in any process, are gone. A segment made with shm_open stays in /dev/shm until someone unlinks it — and a killed process unlinks nothing.",
            "If the peer does not see the part's bytes, or the part does not see the peer's answer: was the descriptor really sent (SCM_RIGHTS), and mapped MAP_SHARED?",
        ], ifTimedOut: "the peer may wait in receive(over:), or the part for the peer's answer."),
        Part(4, "seals: a read-only hand-off that the receiver cannot write, shrink or unseal",
             check: { lab, context in try sealedHandOff(lab, context) }, hints: [
            "sealReadOnly(): addSeals(fd, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL). F_SEAL_SEAL last of all means nobody can add or change seals afterwards.",
            "F_SEAL_WRITE fails with EBUSY while a shared mapping of a descriptor opened for writing exists — yours, even if it were PROT_READ. munmap it, add the seals, then map it again with PROT_READ only.",
            "Seals need MFD_ALLOW_SEALING at memfd_create. The receiver's map(descriptor:, writable: false) must map with PROT_READ only: on a write-sealed memfd, PROT_WRITE with MAP_SHARED fails with EPERM — which is what map(…, writable: true) must then throw.",
        ], ifTimedOut: "the child may wait in receive(over:)."),
        Part(5, "interop: Python's send_handle gives you a memfd, and recv_handle takes yours",
             check: { lab, context in try pythonHandles(lab, context) }, hints: [
            "Python's multiprocessing.reduction.send_handle(conn, fd, pid) is sendmsg with one data byte — the number of descriptors, 1 — and one SCM_RIGHTS message: your receive(over:) reads it unchanged.",
            "recv_handle checks that data byte against the number of descriptors it got (an AssertionError otherwise): send exactly the byte 1.",
            "Python maps what it receives with mmap.mmap(fd, os.fstat(fd).st_size): if your create never sized the memfd, Python cannot map it.",
        ], timeout: 40),
        Part(6, "/dev/shm too small: ftruncate says yes, the first touch is SIGBUS, posix_fallocate says ENOSPC",
             check: { lab, context in try reserveSaysNoSpace(lab, context) }, hints: [
            "A tmpfs (/dev/shm, or the RAM behind a memfd) gives pages only when they are touched. ftruncate to any size succeeds; touching a page the tmpfs cannot give is a SIGBUS, long after the call that could have said no.",
            "posix_fallocate(fd, 0, bytes) asks for every page now: ENOSPC says so up front. It returns the error number (0 on success); it neither returns -1 nor sets errno.",
            "ENOSPC → MemfdError.noSpace(requested: bytes); any other non-zero → .systemError(call: \"posix_fallocate\", errno: code). ftruncate alone reserves nothing: the part looks at st_blocks after a small reserve.",
        ]),
        Part(7, "demonstration: fork while another thread holds a lock, and the child waits for ever",
             check: { lab, context in try forkWhileLockHeldShown(lab, context) }, graded: false, hints: [
            "Nothing new to write for this part: it first makes a segment with your create(name:size:) and closes it (so it is \"not started\" while create is todo(), and fails with create's error if part 1 does not pass), then shows why the next part asks for posix_spawn, or for nothing but async-signal-safe calls between fork and exec.",
            "fork copies memory — every lock with it, held or not — and only the calling thread. A lock another thread held is held in the child by a thread that does not exist there: nobody will ever release it.",
        ]),
        Part(8, "safe start from a threaded process: the helper program runs, an exec that fails ends in _exit(127)",
             check: { lab, context in try spawnIsSafe(lab, context) }, hints: [
            "posix_spawn(&pid, path, nil, nil, argv, environ) does fork and exec for you, the safe way: glibc's child runs only what is safe there. It returns the error number (it does not set errno). Build argv (strdup each string, nil at the end) before the call, free it after.",
            "If you fork yourself: build everything (argv as C strings) before fork. In the child, call only async-signal-safe functions — dup2, close, execve, _exit — no print, no WorkerLog, no Swift String: another thread may have held their lock at the moment of fork.",
            "When execve fails the child must end with _exit(127): exit() runs the parent's atexit handlers and flushes its buffers again; returning would run the parent's code in the child.",
        ], ifTimedOut: "the child of spawn may wait for a lock that another thread held when it forked (a log line or any allocation between fork and exec)."),
        Part(9, "demonstration: three ways to start a worker — what each inherits, what each costs",
             check: { lab, context in try threeWaysMeasured(lab, context) }, graded: false, hints: [
            "Nothing new to write for this part: it starts workers with fork, with your spawn(executable:arguments:) and through a small fork server, from a process with two threads, 64 MiB of memory, a descriptor without close-on-exec and SIGUSR1 blocked, and prints what each worker got and how long each start took.",
            "fork copies everything but the other threads; exec keeps only descriptors without close-on-exec and the signal mask; a fork server's workers are copies of the server as it was when it started.",
        ]),
    ] }
}
