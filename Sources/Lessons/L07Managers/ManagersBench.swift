import Glibc

/// Lesson 07's measurement for `lab bench` (`lab __peer 7 bench IMPLEMENTATION`): the round trip
/// of a proxy call on a running manager, beside an 8-byte echo over a raw socketpair (the
/// baseline), the same echo through the lab's `FramedConnection` (the transport alone), the lab's
/// `CompactJSON` work of one call, and CPython's Manager proxies, measured in the same run. One
/// client, one call at a time; the calls and the echoes are timed in turns, a burst each.
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
        run.declare("\(key).framed", "FramedConnection echo of a request (transport alone)", unit: "µs", higherIsBetter: false, role: .baseline)
        run.declare("\(key).coding", "CompactJSON: encode + decode a request and a reply", unit: "µs", higherIsBetter: false, role: .baseline)
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
        let framed = try framedEcho()
        defer { framed.close(); _ = waitForProcess(framed.child, timeout: 10) }
        let request = ManagerRequest(.increment, key: "hits", value: 1), reply = ManagerReply.success(value: 42)
        var bodies: [() throws -> Double] = [
            { try perCall(echo.trip) },
            { try perCall(framed.trip) },
            { try perCall {
                _ = try CompactJSON.decode(ManagerRequest.self, from: CompactJSON.encode(request))
                _ = try CompactJSON.decode(ManagerReply.self, from: CompactJSON.encode(reply))
            } },
        ]
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
        run.record("\(key).framed", times[1])
        run.record("\(key).coding", times[2])
        if run.implementation {
            run.record("\(key).append", times[3])
            run.record("\(key).count", times[4])
            run.record("\(key).increment", times[5])
        }
        run.measurePython(pythonScript, ["\(run.pick(quick: 1_000, full: 2_000))", "\(run.repetitions)"],
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

    /// The lab's FramedConnection over a socketpair with an echo process: the transport alone.
    static func framedEcho() throws -> PipeBench.Echo {
        let ends = try SocketPair()
        return try PipeBench.messageEcho(
            mine: FramedConnection(owning: ends.first),
            theirs: FramedConnection(owning: ends.second),
            message: Array(#"{"op":"count"}"#.utf8), descriptor: { $0.borrowed },
            send: { try $0.send($1) }, receive: { try $0.receive() }, close: { $0.close() })
    }
}
