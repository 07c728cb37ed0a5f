import Glibc

/// A hidden lesson of deliberately misbehaving parts, for the engine's own tests: each part
/// must be classified correctly and leave the runner unharmed and nothing behind.
public enum EngineFixtures {
    public static let info = LessonInfo(number: 0, slug: "engine-fixtures", title: "Engine fixtures",
                                        defaultTimeout: 5, hidden: true)

    public static let parts: [PartInfo] = [
        PartInfo(1, "passes", hints: []),
        PartInfo(2, "fails with a message", hints: []),
        PartInfo(3, "crashes with SIGSEGV", hints: []),
        PartInfo(4, "crashes with SIGBUS", hints: []),
        PartInfo(5, "hits a Swift runtime trap", hints: []),
        PartInfo(6, "hangs", hints: [], ifTimedOut: "(this fixture sleeps forever)", timeout: 1),
        PartInfo(7, "calls exit(0) before reporting", hints: []),
        PartInfo(8, "prints PASS and exits 0", hints: []),
        PartInfo(9, "writes 100 MB to stdout, then passes", hints: [], timeout: 30),
        PartInfo(10, "leaves a grandchild running", hints: []),
        PartInfo(11, "leaves a grandchild running in a session of its own", hints: []),
        PartInfo(12, "leaves a /dev/shm object", hints: []),
        PartInfo(13, "leaves a named semaphore and a socket file", hints: []),
        PartInfo(14, "reaches todo()", hints: []),
        PartInfo(15, "forges a passing record with the wrong nonce", hints: []),
        PartInfo(16, "skips", hints: []),
        PartInfo(17, "a forked child reports passed for the part", hints: []),
        // Sleeps for ever but declares a long quiet window: a timeout, not a deadlock (and slow
        // enough to end for the interrupt tests to catch it running).
        PartInfo(18, "hangs with a grandchild", hints: [], quietWindow: 60),
        PartInfo(19, "reaches todo() in a forked child", hints: []),
        PartInfo(20, "locks its own lock twice (a deadlock of one process)", hints: []),
        PartInfo(21, "two children each wait for the other's lock, the part waits for them", hints: []),
        PartInfo(22, "spins for ever (a busy loop)", hints: [], timeout: 3),
        PartInfo(23, "a child waits for a lock the part holds, the part waits for the child", hints: []),
    ]

    public static var entry: LessonEntry {
        LessonEntry(info: info, parts: parts, exercise: checks, solution: checks)
    }

    static var checks: ImplementationChecks {
        ImplementationChecks(parts: [
            1: { _ in },
            2: { _ in throw CheckFailure("two and two make five", expected: "4", seen: "5", cause: "a fixture", look: "nowhere") },
            3: { _ in
                let p = UnsafeMutablePointer<Int>(bitPattern: 16)!
                p.pointee = 1
            },
            4: { _ in
                let name = "/shmlab-fixture-bus-\(getpid())"
                let fd = shm_open(name, O_CREAT | O_RDWR | O_EXCL, 0o600)
                shm_unlink(name)
                let p = mmap(nil, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)! // size 0: no page behind it
                p.storeBytes(of: 1, as: UInt8.self)
            },
            5: { _ in
                let values = [1, 2, 3]
                let index = Int(getpid() % 1) + 3
                print(values[index])
            },
            6: { _ in while true { pause() } },
            7: { _ in exit(0) },
            8: { _ in print("PASS"); fflush(nil); _exit(0) },
            9: { _ in
                let line = [UInt8](repeating: UInt8(ascii: "x"), count: 1023) + [10]
                for _ in 0..<(100 * 1024) { try line.withUnsafeBytes { try Descriptor.writeAll(1, $0) } }
            },
            10: { _ in _ = try forkChild { while true { pause() } } },
            11: { _ in _ = try forkChild { setsid(); while true { pause() } } },
            12: { _ in
                let fd = shm_open("/shmlab-fixture-leak", O_CREAT | O_RDWR, 0o600)
                close(fd)
            },
            13: { context in
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
            },
            14: { _ in fixtureNotWrittenYet() },
            15: { _ in
                let forged = #"{"nonce":"0000000000000000","pid":\#(getpid()),"verdict":"passed","message":""}"# + "\n"
                try Descriptor.writeAll(VerdictChannel.reportFD, forged)
                exit(0)
            },
            16: { _ in throw SkipPart("this fixture always skips") },
            17: { _ in
                // A child that "returns" into the part and reports passed, while the part dies.
                fflush(nil)
                if fork() == 0 { return }
                _exit(0)
            },
            18: { _ in
                _ = try forkChild { while true { pause() } }
                while true { pause() }
            },
            19: { _ in
                let pid = try forkChild { fixtureNotWrittenYet() }
                let end = try waitForProcess(pid)
                throw CheckFailure("the child \(end)")
            },
            20: { _ in try relocksItsOwnLock() },
            21: { _ in try twoChildrenInLockOrder() },
            22: { _ in spinsForEver() },
            23: { _ in try childWaitsForThePartsLock() },
        ])
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
        let a = try forkChild {
            try first.lock()
            firstHeld.value = 1
            _ = secondHeld.wait(for: 1, timeout: 10)
            try second.lock()
            return 0
        }
        let b = try forkChild {
            try second.lock()
            secondHeld.value = 1
            _ = firstHeld.wait(for: 1, timeout: 10)
            try first.lock()
            return 0
        }
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

    static func fixtureNotWrittenYet() -> Never { todo() }
}
