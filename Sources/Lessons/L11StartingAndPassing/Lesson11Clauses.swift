/// Lesson 11's clause table: every promise of `MemfdSegmentContract` and of the lesson text →
/// the parts that check it → the mutants that prove those parts fail when it is broken.
extension Lesson11 {
    public static var clauses: [Clause] { [
        // create(name:size:)
        Clause("create makes a file of exactly the size asked for (ftruncate: a new memfd is 0 bytes)",
               in: "create(name:size:)", parts: [1, 2, 3, 5], mutants: ["no-ftruncate"]),
        Clause("create makes no name in any directory: nothing appears in /dev/shm (memfd_create, not shm_open)",
               in: "create(name:size:)", parts: [1, 3], mutants: ["named-segment"]),
        Clause("the descriptor is close-on-exec (MFD_CLOEXEC)",
               in: "create(name:size:)", parts: [1], mutants: ["no-cloexec"]),
        Clause("the descriptor allows seals (MFD_ALLOW_SEALING; without it the memfd is born with F_SEAL_SEAL)",
               in: "create(name:size:)", parts: [1, 4], mutants: ["no-allow-sealing"]),
        Clause("create throws .invalidSize for a size of 0 or less",
               in: "create(name:size:)", parts: [1], mutants: ["no-size-check"]),
        Clause("when create throws, nothing is left open",
               in: "create(name:size:)",
               notCheckable: "every failure after memfd_create (ftruncate, mmap of a valid size) needs a kernel that refuses memory; the lab cannot make one fail on purpose without filling RAM"),
        // close()
        Clause("close unmaps and closes the descriptor; a second call does nothing",
               in: "close()", parts: [1], mutants: ["close-keeps-descriptor"]),
        // send / receive / map
        Clause("send passes the descriptor itself (SCM_RIGHTS), not its number: the receiver gets a descriptor of its own for the same file",
               in: "send(descriptor:over:), receive(over:)", parts: [2, 3, 5], mutants: ["number-as-bytes"]),
        Clause("map maps the received descriptor MAP_SHARED: the sender sees the receiver's writes and the receiver the sender's",
               in: "map(descriptor:writable:)", parts: [2, 3, 5], mutants: ["map-private"]),
        Clause("receive has room for a whole control message (CMSG_SPACE) and reports a cut one (MSG_CTRUNC) as .noDescriptor",
               in: "receive(over:)", parts: [2, 5], mutants: ["control-buffer-too-small"]),
        Clause("the received descriptor is close-on-exec (MSG_CMSG_CLOEXEC)",
               in: "receive(over:)", parts: [2], mutants: ["received-not-cloexec"]),
        Clause("receive throws .endOfFile when the other end closed, .noDescriptor for a message without one",
               in: "receive(over:)", parts: [2], mutants: ["receive-returns-minus-one"]),
        Clause("send's one data byte is the number of descriptors, 1, which Python's recv_handle checks",
               in: "send(descriptor:over:); text: In Python", parts: [5], mutants: ["data-byte-zero"]),
        Clause("Python's send_handle gives a descriptor that receive and map take unchanged, and recv_handle takes what send gives",
               in: "text: In Python", parts: [5], mutants: ["number-as-bytes", "map-private", "control-buffer-too-small"]),
        // lifetime
        Clause("a process killed while it holds a memfd (the creator or a receiver) leaves nothing behind, and the others keep the memory",
               in: "text: No name, nothing to leak", parts: [3], mutants: ["named-segment"]),
        Clause("the memory is freed when the last descriptor and mapping of it, in any process, are gone",
               in: "close(); text: No name, nothing to leak",
               notCheckable: "the kernel frees the pages without a trace a process can look at (no name, no file); the lab can only show that nothing is left by name, which part 3 does"),
        // seals
        Clause("sealReadOnly adds F_SEAL_SHRINK, F_SEAL_GROW, F_SEAL_WRITE and F_SEAL_SEAL: the receiver cannot shrink, grow, write or reseal",
               in: "sealReadOnly()", parts: [4], mutants: ["no-seal-seal", "no-seal-shrink", "no-allow-sealing"]),
        Clause("sealReadOnly unmaps its own writable mapping first (F_SEAL_WRITE is EBUSY while one exists) and keeps the data readable",
               in: "sealReadOnly()", parts: [4], mutants: ["seal-keeps-writable-mapping"]),
        Clause("map(…, writable: false) maps read-only, which a write-sealed memfd allows; writable: true throws .systemError(mmap, EPERM)",
               in: "map(descriptor:writable:)", parts: [4], mutants: ["map-always-writable"]),
        // reserve
        Clause("reserve throws .noSpace(requested:) when the file system cannot back the bytes (posix_fallocate returns ENOSPC, it does not set errno)",
               in: "reserve(descriptor:bytes:)", parts: [6], mutants: ["fallocate-errno", "enospc-as-system-error"]),
        Clause("reserve really allocates the pages (st_blocks), unlike ftruncate",
               in: "reserve(descriptor:bytes:); text: When /dev/shm is too small", parts: [6], mutants: ["reserve-by-ftruncate"]),
        Clause("ftruncate succeeds on a size the tmpfs cannot back and the first touch past its room is SIGBUS",
               in: "text: When /dev/shm is too small",
               notCheckable: "a fact of the kernel, not of the student's code: part 6 shows it (in a 1 MiB tmpfs of a child's own, where the machine allows a mount namespace) but no student function is involved"),
        // spawn
        Clause("spawn runs the program with argv[0] = the executable, then the arguments, from a process whose other thread holds a lock",
               in: "spawn(executable:arguments:)", parts: [8], mutants: ["log-in-child"]),
        Clause("between fork and exec the child does only async-signal-safe work (no logging, no lock another thread may hold)",
               in: "spawn(executable:arguments:); text: Why fork is unsafe in a threaded process", parts: [8], mutants: ["log-in-child"]),
        Clause("when exec fails the child ends with _exit(127): no exit handlers, no return into the parent's code",
               in: "spawn(executable:arguments:)", parts: [8], mutants: ["exit-after-failed-exec", "child-returns-after-failed-exec"]),
        Clause("a fork server and posix_spawn start workers that inherit no threads and no locks; fork copies memory, descriptors and the signal mask",
               in: "text: Three ways to start a worker",
               notCheckable: "what each start method inherits is a property of the methods, not of the student's code: part 9 (a demonstration) measures and shows it; the student writes only spawn, whose safety part 8 checks"),
    ] }
}
