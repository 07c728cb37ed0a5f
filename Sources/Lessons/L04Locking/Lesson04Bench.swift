import Glibc

/// Lesson 04's measurement for `lab bench` (`lab __peer 4 bench IMPLEMENTATION`): what one locked
/// increment costs with the implementation's mutex, beside a lock-free atomic add (the baseline)
/// and CPython's `multiprocessing.Value` with its lock, measured in the same run.
enum LockingBench {
    static let pythonScript = """
        import json, multiprocessing as mp, sys, time
        n, reps = int(sys.argv[1]), int(sys.argv[2])
        ctx = mp.get_context("fork")
        v = ctx.Value("q", 0)
        lock = v.get_lock()

        def one():
            t = time.perf_counter()
            for _ in range(n):
                with lock:
                    v.value += 1
            return (time.perf_counter() - t) / n * 1e9

        def work(v, count):
            lock = v.get_lock()
            for _ in range(count):
                with lock:
                    v.value += 1

        def four():
            v.value = 0
            each = n // 4
            ps = [ctx.Process(target=work, args=(v, each)) for _ in range(4)]
            t = time.perf_counter()
            for p in ps: p.start()
            for p in ps: p.join()
            elapsed = time.perf_counter() - t
            assert v.value == 4 * each
            return elapsed / (4 * each) * 1e9

        one()
        print(json.dumps({"one": [one() for _ in range(reps)], "four": [four() for _ in range(reps)]}))
        """

    static func measurements<M: SharedMutexContract>(mutex make: @escaping (UnsafeMutableRawPointer) throws -> M) -> [BenchMeasurement] {
        [BenchMeasurement("locked-counter", "locked counter: one increment") { run in
            run.declare("locked-counter.one", "your mutex, 1 process", unit: "ns", higherIsBetter: false,
                        baseline: "locked-counter.atomic", python: "locked-counter.python-one")
            run.declare("locked-counter.four", "your mutex, 4 processes at once", unit: "ns", higherIsBetter: false,
                        baseline: "locked-counter.one", python: "locked-counter.python-four")
            run.declare("locked-counter.atomic", "atomic add, no lock (baseline)", unit: "ns", higherIsBetter: false, role: .baseline)
            run.declare("locked-counter.python-one", "Python Value + its lock, 1 process", unit: "ns", higherIsBetter: false, role: .python)
            run.declare("locked-counter.python-four", "Python Value + its lock, 4 processes", unit: "ns", higherIsBetter: false, role: .python)

            let rounds = run.pick(quick: 200_000, full: 2_000_000)
            let block = try labSharedBlock(bytes: 4096)
            defer { labUnmap(block) }
            let base = block.baseAddress!
            let counter = base + 64
            let atomic = SharedCounter(at: base + 192)
            func nanoseconds(_ count: Int, _ body: () throws -> Void) rethrows -> Double {
                try BenchRepeat.seconds(body) / Double(count) * 1e9
            }

            // One process, nobody else wants the lock: lock + increment + unlock, against an atomic add.
            var bodies: [() throws -> Double] = [{ nanoseconds(rounds) { for _ in 0..<rounds { atomic.add() } } }]
            var mutex: M? = nil
            if run.implementation {
                let made = try make(base)
                mutex = made
                bodies.append({
                    try nanoseconds(rounds) {
                        for _ in 0..<rounds {
                            try made.withLock { _ in counter.storeBytes(of: counter.load(as: UInt64.self) + 1, as: UInt64.self) }
                        }
                    }
                })
            }
            let times = try BenchRepeat.inTurns(run.repetitions, bodies)
            run.record("locked-counter.atomic", times[0])

            if let mutex {
                run.record("locked-counter.one", times[1])
                // Four processes fighting for it (wall time over all increments, fork and reap included).
                let each = rounds / 8
                var exact = true
                let contended = try BenchRepeat.values(run.repetitions) {
                    counter.storeBytes(of: 0, as: UInt64.self)
                    base.storeBytes(of: 0, toByteOffset: 128, as: UInt64.self)
                    let barrier = StartBarrier(at: base + 128)
                    return try nanoseconds(4 * each) {
                        var pids: [pid_t] = []
                        for _ in 0..<4 {
                            pids.append(try forkChild {
                                _ = barrier.arriveAndWait(parties: 4, timeout: 30)
                                for _ in 0..<each {
                                    try mutex.withLock { _ in counter.storeBytes(of: counter.load(as: UInt64.self) + 1, as: UInt64.self) }
                                }
                                return 0
                            })
                        }
                        for pid in pids { _ = try waitForProcess(pid) }
                        exact = exact && counter.load(as: UInt64.self) == UInt64(4 * each)
                    }
                }
                run.record("locked-counter.four", contended, note: exact ? nil : "the counter was not exact: the mutex lost updates")
            }
            run.measurePython(pythonScript, ["\(run.pick(quick: 20_000, full: 50_000))", "\(run.repetitions)"],
                              names: ["locked-counter.python-one": "one", "locked-counter.python-four": "four"])
        }]
    }
}
