import Glibc

/// `lab __peer 4 bench IMPLEMENTATION`: what one locked increment costs, with the implementation's
/// mutex, beside CPython's `multiprocessing.Value` and its lock measured in the same run.
/// Prints a table and one JSON line.
enum LockingBench {
    static let pythonScript = """
        import json, multiprocessing as mp, sys, time
        n = int(sys.argv[1]) if len(sys.argv) > 1 else 200000
        ctx = mp.get_context("fork")
        v = ctx.Value("q", 0)
        lock = v.get_lock()
        t = time.perf_counter()
        for _ in range(n):
            with lock:
                v.value += 1
        single = (time.perf_counter() - t) / n * 1e9
        def work(v, n):
            lock = v.get_lock()
            for _ in range(n):
                with lock:
                    v.value += 1
        v.value = 0
        each = n // 4
        ps = [ctx.Process(target=work, args=(v, each)) for _ in range(4)]
        t = time.perf_counter()
        for p in ps: p.start()
        for p in ps: p.join()
        four = (time.perf_counter() - t) / (4 * each) * 1e9
        assert v.value == 4 * each
        print(json.dumps({"uncontended_ns": single, "contended4_ns": four}))
        """

    static func run<M: SharedMutexContract>(mutex make: (UnsafeMutableRawPointer) throws -> M, arguments: [String]) throws -> Int32 {
        let rounds = arguments.first.flatMap { Int($0) } ?? 2_000_000
        let block = try labSharedBlock(bytes: 4096)
        defer { labUnmap(block) }
        let base = block.baseAddress!
        let mutex = try make(base)
        let counter = base + 64

        // One process, nobody else wants the lock: the cost of lock + increment + unlock.
        counter.storeBytes(of: 0, as: UInt64.self)
        var started = monotonicSeconds()
        for _ in 0..<rounds {
            try mutex.withLock { counter.storeBytes(of: counter.load(as: UInt64.self) + 1, as: UInt64.self) }
        }
        let uncontended = (monotonicSeconds() - started) / Double(rounds) * 1e9

        // Four processes fighting for it (wall time over all increments, fork and reap included).
        counter.storeBytes(of: 0, as: UInt64.self)
        base.storeBytes(of: 0, toByteOffset: 128, as: UInt64.self)
        let barrier = StartBarrier(at: base + 128)
        let each = rounds / 8
        started = monotonicSeconds()
        var pids: [pid_t] = []
        for _ in 0..<4 {
            pids.append(try forkChild {
                _ = barrier.arriveAndWait(parties: 4, timeout: 30)
                for _ in 0..<each {
                    try mutex.withLock { counter.storeBytes(of: counter.load(as: UInt64.self) + 1, as: UInt64.self) }
                }
                return 0
            })
        }
        for pid in pids { _ = try waitForProcess(pid) }
        let contended = (monotonicSeconds() - started) / Double(4 * each) * 1e9
        let exact = counter.load(as: UInt64.self) == UInt64(4 * each)

        let python = PythonBaseline.run(pythonScript, ["200000"])
        let rows: [(String, Double, Double?)] = [
            ("1 process, uncontended", uncontended, python?["uncontended_ns"]),
            ("4 processes, contended", contended, python?["contended4_ns"]),
        ]
        Console.out("Locked counter: cost of one increment (lower is better)\n")
        Console.out(BenchFormat.pad("", 26) + BenchFormat.pad("this mutex", 14) + BenchFormat.pad("Python Value+lock", 20) + "speed-up\n")
        for (name, swift, py) in rows {
            Console.out(BenchFormat.pad(name, 26) + BenchFormat.pad("\(BenchFormat.oneDecimal(swift)) ns", 14)
                        + BenchFormat.pad(py.map { "\(BenchFormat.oneDecimal($0)) ns" } ?? "—", 20)
                        + (py.map { "\(BenchFormat.oneDecimal($0 / swift))×" } ?? "—") + "\n")
        }
        if !exact { Console.out("warning: the contended counter is not exact: the mutex lost updates\n") }
        var record: [String: Any] = ["bench": "locked-counter", "lesson": 4, "unit": "ns/increment",
                                     "increments": rounds, "swift_uncontended_ns": uncontended,
                                     "swift_contended4_ns": contended, "exact": exact]
        if let python {
            record["python_uncontended_ns"] = python["uncontended_ns"]
            record["python_contended4_ns"] = python["contended4_ns"]
        }
        Console.out(BenchFormat.json(record) + "\n")
        return exact ? 0 : 1
    }
}
