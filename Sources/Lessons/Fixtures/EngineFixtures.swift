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
        PartInfo(18, "hangs with a grandchild", hints: []),
        PartInfo(19, "reaches todo() in a forked child", hints: []),
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
        ])
    }

    static func fixtureNotWrittenYet() -> Never { todo() }
}
