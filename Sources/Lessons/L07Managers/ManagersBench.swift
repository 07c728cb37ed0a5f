import Glibc

/// Lesson 07's measurement for `lab bench` (`lab __peer 7 bench IMPLEMENTATION`): the round trip
/// of a proxy call on a running manager, beside an 8-byte echo over a raw socketpair (the
/// baseline) and CPython's Manager proxies, measured in the same run. One client, one call at a
/// time; the calls and the echo are timed in turns, a burst each.
enum ManagerBench {
    static func measurements<L: ManagerContract>(_: L.Type) -> [BenchMeasurement] {
        [BenchMeasurement("manager-call", "manager: one proxy call (request and reply over a Unix socket), on one CPU") { run in
            try run.onOneCPU { try measure(L.self, run) }
        }]
    }

    /// Runs on one CPU, with Python's equivalent (see `BenchRun.onOneCPU`).
    static func measure<L: ManagerContract>(_: L.Type, _ run: BenchRun) throws {
        let key = "manager-call"
        run.declare("\(key).append", "your manager, list.append", unit: "µs", higherIsBetter: false,
                    baseline: "\(key).raw", python: "\(key).python-append")
        run.declare("\(key).count", "your manager, list.count", unit: "µs", higherIsBetter: false,
                    baseline: "\(key).raw", python: "\(key).python-len")
        run.declare("\(key).increment", "your manager, dict.increment (atomic)", unit: "µs", higherIsBetter: false,
                    baseline: "\(key).raw", python: "\(key).python-increment")
        run.declare("\(key).raw", "raw socketpair, 8-byte echo (baseline)", unit: "µs", higherIsBetter: false, role: .baseline)
        run.declare("\(key).python-append", "Python Manager list.append", unit: "µs", higherIsBetter: false, role: .python)
        run.declare("\(key).python-len", "Python Manager len(list)", unit: "µs", higherIsBetter: false, role: .python)
        run.declare("\(key).python-increment", "Python Manager d[k] += 1 (2 calls, not atomic)", unit: "µs",
                    higherIsBetter: false, role: .python)

        let burst = run.pick(quick: 300, full: 3_000)
        func perCall(_ body: () throws -> Void) throws -> Double {
            try BenchRepeat.seconds { for _ in 0..<burst { try body() } } / Double(burst) * 1e6
        }
        let echo = try PipeBench.rawSocketEcho()
        defer { echo.close(); _ = waitForProcess(echo.child, timeout: 10) }
        var bodies: [() throws -> Double] = [{ try perCall(echo.trip) }]
        var stop: () throws -> Void = {}
        if run.implementation {
            var parent = "/tmp"
            if let env = getenv("TMPDIR"), env.pointee != 0 { parent = String(cString: env) }
            let address = try L.start(in: parent)
            let client = try L.connect(to: address)
            stop = { client.close(); try L.shutdown(address) }
            var next = 0
            bodies += [
                { try perCall { try client.list.append(next); next += 1 } },
                { try perCall { _ = try client.list.count() } },
                { try perCall { _ = try client.dict.increment("k", by: 1) } },
            ]
        }
        let times = try BenchRepeat.inTurns(run.repetitions, bodies)
        try stop()
        run.record("\(key).raw", times[0])
        if run.implementation {
            run.record("\(key).append", times[1])
            run.record("\(key).count", times[2])
            run.record("\(key).increment", times[3])
        }
        run.measurePython(pythonScript, ["\(run.pick(quick: 1_000, full: 5_000))", "\(run.repetitions)"],
                          names: ["\(key).python-append": "append", "\(key).python-len": "len",
                                  "\(key).python-increment": "increment"])
    }

    static let pythonScript = """
        import json, sys, time
        import multiprocessing as mp

        n, reps = int(sys.argv[1]), int(sys.argv[2])
        ctx = mp.get_context("fork")

        def per_call(body):
            t = time.perf_counter()
            for i in range(n):
                body(i)
            return (time.perf_counter() - t) / n * 1e6

        def increment(d):
            def body(i):
                d["k"] += 1
            return body

        with ctx.Manager() as manager:
            L = manager.list()
            d = manager.dict()
            d["k"] = 0
            bodies = {"append": L.append, "len": lambda i: len(L), "increment": increment(d)}
            out = {name: [] for name in bodies}
            for body in bodies.values():
                per_call(body)
            for _ in range(reps):
                for name, body in bodies.items():
                    out[name].append(per_call(body))
        print(json.dumps(out))
        """
}
