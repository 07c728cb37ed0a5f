import Glibc

/// A hidden lesson of deliberately misbehaving parts, for the engine's own tests: each part
/// must be classified correctly and leave the runner unharmed and nothing behind.
public enum EngineFixtures: LessonDeclaration {
    public static let info = LessonInfo(number: 0, slug: "engine-fixtures", title: "Engine fixtures",
                                        defaultTimeout: 5, hidden: true)

    public static var parts: [Part<Void>] { [
        Part(1, "passes", check: { _, context in try passes(context) }, hints: []),
        Part(2, "fails with a message", check: { _, context in try failsWithAMessage(context) }, hints: []),
        Part(3, "crashes with SIGSEGV", check: { _, context in try crashesWithSIGSEGV(context) }, hints: []),
        Part(4, "crashes with SIGBUS", check: { _, context in try crashesWithSIGBUS(context) }, hints: []),
        Part(5, "hits a Swift runtime trap", check: { _, context in try hitsARuntimeTrap(context) }, hints: []),
        Part(6, "hangs", check: { _, context in try hangs(context) }, hints: [], ifTimedOut: "(this fixture sleeps forever)", timeout: 1),
        Part(7, "calls exit(0) before reporting", check: { _, context in try exitsBeforeReporting(context) }, hints: []),
        Part(8, "prints PASS and exits 0", check: { _, context in try printsPass(context) }, hints: []),
        Part(9, "writes 100 MB to stdout, then passes", check: { _, context in try writes100MB(context) }, hints: [], timeout: 30),
        Part(10, "leaves a grandchild running", check: { _, context in try leavesAGrandchild(context) }, hints: []),
        Part(11, "leaves a grandchild running in a session of its own", check: { _, context in try leavesAGrandchildInItsOwnSession(context) }, hints: []),
        Part(12, "leaves a /dev/shm object", check: { _, context in try leavesAShmObject(context) }, hints: []),
        Part(13, "leaves a named semaphore and a socket file", check: { _, context in try leavesASemaphoreAndASocket(context) }, hints: []),
        Part(14, "reaches todo()", check: { _, context in try reachesTodo(context) }, hints: []),
        Part(15, "forges a passing record with the wrong nonce", check: { _, context in try forgesAPassWithTheWrongNonce(context) }, hints: []),
        Part(16, "skips", check: { _, context in try skips(context) }, hints: []),
        Part(17, "a forked child reports passed for the part", check: { _, context in try forkedChildReportsPassed(context) }, hints: []),
        // Sleeps for ever but declares a long quiet window: a timeout, not a deadlock (and slow
        // enough to end for the interrupt tests to catch it running).
        Part(18, "hangs with a grandchild", check: { _, context in try hangsWithAGrandchild(context) }, hints: [],
             quietWindow: 60),
        Part(19, "reaches todo() in a forked child", check: { _, context in try reachesTodoInAForkedChild(context) }, hints: []),
        Part(20, "locks its own lock twice (a deadlock of one process)", check: { _, _ in try relocksItsOwnLock() }, hints: []),
        Part(21, "two children each wait for the other's lock, the part waits for them",
             check: { _, _ in try twoChildrenInLockOrder() }, hints: []),
        Part(22, "spins for ever (a busy loop)", check: { _, _ in spinsForEver() }, hints: [], timeout: 3),
        Part(23, "a child waits for a lock the part holds, the part waits for the child",
             check: { _, _ in try childWaitsForThePartsLock() }, hints: []),
        Part(24, "a forked child hits a Swift runtime trap (arithmetic overflow)",
             check: { _, _ in try trapsInAForkedChild() }, hints: []),
        Part(25, "a second thread hits a Swift runtime trap (arithmetic overflow)",
             check: { _, _ in trapsInAThread() }, hints: []),
        Part(30, "forges a pass with VerdictChannel.send, then exits 0", check: { _, context in try forgesWithSend(context) }, hints: []),
        Part(31, "forges a pass with a raw record and the nonce from /proc/self/environ",
             check: { _, context in try forgesWithEnvironNonce(context) }, hints: []),
        Part(32, "floods the report descriptor", check: { _, context in try floodsTheReport(context) }, hints: [], timeout: 20),
        Part(33, "moves into the runner's process group, then hangs", check: { _, context in try joinsTheRunnersGroup(context) },
             hints: [], timeout: 1),
        Part(34, "starts a session of its own, then hangs", check: { _, context in try startsASession(context) },
             hints: [], timeout: 1),
        Part(35, "kills the runner, then hangs with a grandchild", check: { _, context in try killsTheRunner(context) }, hints: []),
    ] }

    static func passes(_ context: PartContext) throws {}

    static func failsWithAMessage(_ context: PartContext) throws {
        throw CheckFailure("two and two make five", expected: "4", seen: "5", cause: "a fixture", look: "nowhere")
    }

    static func crashesWithSIGSEGV(_ context: PartContext) throws {
        let p = UnsafeMutablePointer<Int>(bitPattern: 16)!
        p.pointee = 1
    }

    static func crashesWithSIGBUS(_ context: PartContext) throws {
        let name = "/shmlab-fixture-bus-\(getpid())"
        let fd = shm_open(name, O_CREAT | O_RDWR | O_EXCL, 0o600)
        shm_unlink(name)
        let p = mmap(nil, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)! // size 0: no page behind it
        p.storeBytes(of: 1, as: UInt8.self)
    }

    static func hitsARuntimeTrap(_ context: PartContext) throws {
        let values = [1, 2, 3]
        let index = Int(getpid() % 1) + 3
        print(values[index])
    }

    static func hangs(_ context: PartContext) throws {
        while true { pause() }
    }

    static func exitsBeforeReporting(_ context: PartContext) throws {
        exit(0)
    }

    static func printsPass(_ context: PartContext) throws {
        print("PASS"); fflush(nil); _exit(0)
    }

    static func writes100MB(_ context: PartContext) throws {
        let line = [UInt8](repeating: UInt8(ascii: "x"), count: 1023) + [10]
        for _ in 0..<(100 * 1024) { try line.withUnsafeBytes { try BorrowedDescriptor.standardOutput.writeAll($0) } }
    }

    static func leavesAGrandchild(_ context: PartContext) throws {
        _ = try forkChild { while true { pause() } }
    }

    static func leavesAGrandchildInItsOwnSession(_ context: PartContext) throws {
        _ = try forkChild { setsid(); while true { pause() } }
    }

    static func leavesAShmObject(_ context: PartContext) throws {
        let fd = shm_open("/shmlab-fixture-leak", O_CREAT | O_RDWR, 0o600)
        close(fd)
    }

    static func leavesASemaphoreAndASocket(_ context: PartContext) throws {
        let sem = sem_open("/shmlab-fixture-sem", O_CREAT, 0o600, 1)
        if let sem { sem_close(sem) }
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let path = context.temporaryDirectory + "/fixture.sock"
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (i, byte) in path.utf8.prefix(100).enumerated() { raw[i] = byte }
        }
        _ = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        close(fd)
    }

    static func reachesTodo(_ context: PartContext) throws {
        fixtureNotWrittenYet()
    }

    static func forgesAPassWithTheWrongNonce(_ context: PartContext) throws {
        let forged = #"{"nonce":"0000000000000000","pid":\#(getpid()),"verdict":"passed","message":""}"# + "\n"
        try VerdictChannel.reportForFixtures?.writeAll(forged)
        exit(0)
    }

    static func skips(_ context: PartContext) throws {
        throw SkipPart("this fixture always skips")
    }

    static func forkedChildReportsPassed(_ context: PartContext) throws {
        // A child that "returns" into the part and reports passed, while the part dies.
        fflush(nil)
        if fork() == 0 { return }
        _exit(0)
    }

    static func hangsWithAGrandchild(_ context: PartContext) throws {
        _ = try forkChild { while true { pause() } }
        while true { pause() }
    }

    static func reachesTodoInAForkedChild(_ context: PartContext) throws {
        let pid = try forkChild { fixtureNotWrittenYet() }
        let end = try waitForProcess(pid)
        throw CheckFailure("the child \(end)")
    }

    /// Prints where the lab's mutex lies ("mutex at 0x…"), so a test can find that address in the
    /// deadlock report. Flushed: the output is a pipe, and the process never gets to exit.
    static func sayWhere(_ mutex: ProcessSharedMutex) {
        print("mutex at 0x\(String(UInt(bitPattern: mutex.address), radix: 16))")
        fflush(nil)
    }

    /// A robust mutex is not recursive: its holder's second lock waits in futex for ever.
    static func relocksItsOwnLock() throws {
        let block = try labSharedBlock(bytes: 4096)
        let mutex = try ProcessSharedMutex.initialize(at: block.baseAddress!)
        sayWhere(mutex)
        try mutex.lock()
        try mutex.lock()
    }

    /// The classic lock-order deadlock: one child holds A and wants B, the other holds B and
    /// wants A; the part polls for their ends (waitForAll naps between looks) as checks do.
    static func twoChildrenInLockOrder() throws {
        let block = try labSharedBlock(bytes: 4096)
        let first = try ProcessSharedMutex.initialize(at: block.baseAddress!)
        let second = try ProcessSharedMutex.initialize(at: block.baseAddress! + 64)
        let firstHeld = SharedFlag(at: block.baseAddress! + 128), secondHeld = SharedFlag(at: block.baseAddress! + 192)
        /// A child that takes `mine`, says so, waits until the other child holds `theirs`, then wants it.
        func child(locking mine: ProcessSharedMutex, _ mineHeld: SharedFlag,
                   then theirs: ProcessSharedMutex, _ theirsHeld: SharedFlag) throws -> pid_t {
            try forkChild {
                try mine.lock()
                mineHeld.value = 1
                _ = theirsHeld.wait(for: 1, timeout: 10)
                try theirs.lock()
                return 0
            }
        }
        let a = try child(locking: first, firstHeld, then: second, secondHeld)
        let b = try child(locking: second, secondHeld, then: first, firstHeld)
        let ends = waitForAll([a, b], timeout: 60)
        killAndReap([a, b].filter { ends[$0] == nil })
        throw CheckFailure("the two children did not finish", seen: "\(ends)")
    }

    /// Never sleeps: a timeout, never a deadlock. (getpid is a system call each time, so the
    /// loop cannot be optimised away.)
    static func spinsForEver() {
        while getpid() != 0 {}
    }

    /// The part holds the lab's mutex and waits (blocking waitpid) for a child that wants it.
    static func childWaitsForThePartsLock() throws {
        let block = try labSharedBlock(bytes: 4096)
        let mutex = try ProcessSharedMutex.initialize(at: block.baseAddress!)
        try mutex.lock()
        sayWhere(mutex)
        let child = try forkChild {
            try mutex.lock()
            return 0
        }
        _ = try waitForProcess(child)
        throw CheckFailure("the child got a lock its parent holds")
    }

    /// 255 + 1 in a UInt8, in a way the optimiser cannot see coming.
    static func overflowingByte() -> UInt8 {
        let byte = UInt8(truncatingIfNeeded: 255 + Int(getpid() % 1))
        return byte + 1
    }

    /// The part's check waits for a child that traps; the report names the child's line.
    static func trapsInAForkedChild() throws {
        let pid = try forkChild { Int32(overflowingByte()) }
        let end = try waitForProcess(pid)
        throw CheckFailure("the child \(end)")
    }

    /// A second thread traps; the whole process ends with SIGILL.
    static func trapsInAThread() {
        var thread = pthread_t()
        pthread_create(&thread, nil, fixtureThreadThatTraps, nil)
        pthread_join(thread, nil)
    }

    static func fixtureNotWrittenYet() -> Never { todo() }

    /// What student code that imports LabKit could try: the channel refuses to say "passed".
    static func forgesWithSend(_ context: PartContext) throws {
        VerdictChannel.send(VerdictRecord(verdict: .passed, message: ""))
        exit(0)
    }

    /// A raw record on descriptor 3 and on the channel's own descriptor, with whatever nonce the
    /// environment holds (none: it is not there).
    static func forgesWithEnvironNonce(_ context: PartContext) throws {
        let environ = (try? readFile("/proc/self/environ")) ?? []
        let nonce = environ.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
            .first { $0.hasPrefix("LAB_NONCE=") }.map { String($0.dropFirst("LAB_NONCE=".count)) } ?? ""
        let forged = #"{"nonce":"\#(nonce)","pid":\#(getpid()),"verdict":"passed","message":""}"# + "\n"
        // Descriptor 3 is where the runner put the report pipe; the part moved it away at connect.
        for report in [BorrowedDescriptor(ownedElsewhere: 3), VerdictChannel.reportForFixtures].compactMap({ $0 }) {
            try? report.writeAll(forged)
        }
        exit(0)
    }

    /// Writes records without end: the runner must stop listening, not spin.
    static func floodsTheReport(_ context: PartContext) throws {
        let line = #"{"nonce":"x","pid":1,"verdict":"failed","message":"flood"}"# + "\n"
        guard let report = VerdictChannel.reportForFixtures else { throw CheckFailure("not connected to the runner") }
        while true { try report.writeAll(line) }
    }

    /// setpgid into the runner's group is refused (the part leads a session of its own); hangs.
    static func joinsTheRunnersGroup(_ context: PartContext) throws {
        let moved = setpgid(0, getpgid(getppid()))
        Console.out("setpgid into the runner's group: \(moved == 0 ? "done" : "refused (\(errnoSymbol(errno)))")\n")
        while true { pause() }
    }

    /// setsid is refused too (already a session leader); hangs.
    static func startsASession(_ context: PartContext) throws {
        let session = setsid()
        Console.out("setsid: \(session >= 0 ? "done" : "refused (\(errnoSymbol(errno)))")\n")
        while true { pause() }
    }

    /// Kills its runner (SIGKILL: it cannot clean up) and hangs with a grandchild: the next lab
    /// removes both processes and the part's temporary folder.
    /// Only when the test that expects it asks (`SHMLAB_FIXTURE_KILL_RUNNER=1`): a whole-lesson
    /// run of the fixtures (the grade tests) must not lose its runner.
    static func killsTheRunner(_ context: PartContext) throws {
        guard getenv("SHMLAB_FIXTURE_KILL_RUNNER") != nil else {
            throw SkipPart("kills the runner only when SHMLAB_FIXTURE_KILL_RUNNER is set")
        }
        _ = try forkChild { while true { pause() } }
        kill(getppid(), SIGKILL)
        while true { pause() }
    }
}

/// The body of fixture 25's second thread (a plain function: a closure literal here crashed the
/// 6.3.1 compiler's SendNonSendable pass).
private func fixtureThreadThatTraps(_: UnsafeMutableRawPointer?) -> UnsafeMutableRawPointer? {
    print(EngineFixtures.overflowingByte())
    return nil
}
