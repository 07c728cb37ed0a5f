import Glibc

/// Lesson 07's benchmark (`lab __peer 7 bench solution`): the round trip of a proxy call, beside a
/// raw Unix-socket round trip measured in the same run, and Python's Manager proxies.
enum ManagerBench {
    static let method = """
        one client, one call at a time: list.append(i), list.count() and dict.increment(k) on a running \
        manager, and an 8-byte echo over a raw socketpair; B calls each, in turns, R×3 turns, the \
        median turn reported; Python: Manager().list().append(i) and dict()[k] = i, R rounds of N \
        calls, the median reported
        """

    static func run<L: ManagerContract>(_: L.Type, arguments: [String]) throws -> Int32 {
        let (rounds, quick) = Bench.options(arguments)
        let burst = quick ? 200 : 2_000
        var parent = "/tmp"
        if let env = getenv("TMPDIR"), env.pointee != 0 { parent = String(cString: env) }
        let address = try L.start(in: parent)
        let client = try L.connect(to: address)
        let echo = try PipeBench.rawSocketEcho()
        let framed = try framedEcho()
        var appendTimes: [Double] = [], countTimes: [Double] = [], incrementTimes: [Double] = [], rawTimes: [Double] = []
        var framedTimes: [Double] = []
        var next = 0
        for _ in 0..<50 { _ = try client.list.count(); try echo.trip() }   // warm up
        for _ in 0..<(rounds * 3) {
            appendTimes.append(try Bench.seconds { for _ in 0..<burst { try client.list.append(next); next += 1 } } / Double(burst) * 1e6)
            countTimes.append(try Bench.seconds { for _ in 0..<burst { _ = try client.list.count() } } / Double(burst) * 1e6)
            incrementTimes.append(try Bench.seconds { for _ in 0..<burst { _ = try client.dict.increment("k", by: 1) } } / Double(burst) * 1e6)
            rawTimes.append(try Bench.seconds { for _ in 0..<burst { try echo.trip() } } / Double(burst) * 1e6)
            framedTimes.append(try Bench.seconds { for _ in 0..<burst { try framed.trip() } } / Double(burst) * 1e6)
        }
        echo.close()
        framed.close()
        _ = try waitForProcess(framed.child)
        _ = try waitForProcess(echo.child)
        client.close()
        try L.shutdown(address)
        let append = Bench.median(appendTimes)
        // The JSON work of one call, in this process: encode and decode a request and a reply.
        var codecTimes: [Double] = []
        let request = ManagerRequest(.increment, key: "hits", value: 1), reply = ManagerReply.success(value: 42)
        for _ in 0..<(rounds * 3) {
            codecTimes.append(try Bench.seconds {
                for _ in 0..<burst {
                    _ = try CompactJSON.decode(ManagerRequest.self, from: CompactJSON.encode(request))
                    _ = try CompactJSON.decode(ManagerReply.self, from: CompactJSON.encode(reply))
                }
            } / Double(burst) * 1e6)
        }
        var figures = [
            Bench.Figure("manager_append_us", "manager list.append round trip", append, "µs"),
            Bench.Figure("manager_count_us", "manager list.count round trip", Bench.median(countTimes), "µs"),
            Bench.Figure("manager_increment_us", "manager dict.increment round trip", Bench.median(incrementTimes), "µs"),
            Bench.Figure("raw_socketpair_rt_us", "raw socketpair round trip", Bench.median(rawTimes), "µs"),
            Bench.Figure("framed_echo_rt_us", "FramedConnection echo round trip", Bench.median(framedTimes), "µs"),
            Bench.Figure("compact_json_per_call_us", "CompactJSON work of one call (4 codings)", Bench.median(codecTimes), "µs"),
        ]
        var ratios = [Bench.Figure("manager_vs_raw_socket", "manager call ÷ raw socket round trip", append / Bench.median(rawTimes), "×")]
        if let python = Bench.python(pythonScript, ["\(quick ? 1_000 : 5_000)", "\(rounds)"]) {
            for (key, label) in [("python_manager_append_us", "Python Manager list.append"),
                                 ("python_manager_dict_set_us", "Python Manager dict[k] = v")] {
                if let value = python[key] { figures.append(Bench.Figure(key, label, value, "µs")) }
            }
            if let py = python["python_manager_append_us"] {
                ratios.append(Bench.Figure("manager_vs_python", "manager call ÷ Python's (goal ≤ 0.33)", append / py, "×"))
            }
        }
        Bench.report(name: "managers", lesson: 7, implementation: "\(L.self)",
                     method: method + " (B = \(burst), R = \(rounds))", figures: figures, ratios: ratios)
        return 0
    }

    /// The lab's FramedConnection over a socketpair with an echo process: the transport alone.
    static func framedEcho() throws -> PipeBench.Echo {
        var fds: [Int32] = [-1, -1]
        try valueOrErrno("socketpair") { socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &fds) }
        let mine = FramedConnection(fd: fds[0]), theirs = FramedConnection(fd: fds[1])
        let message = Array(#"{"op":"count"}"#.utf8)
        return try PipeBench.startEcho(echo: {
            Glibc.close(mine.fd)
            while let request = try? theirs.receive() { try theirs.send(request) }
            return 0
        }, closeInParent: {
            theirs.close()
        }, trip: {
            try mine.send(message)
            _ = try mine.receive()
        }, finish: {
            mine.close()
        })
    }

    static let pythonScript = """
        import json, sys, time
        import multiprocessing as mp

        def median(xs):
            xs = sorted(xs)
            n = len(xs)
            return xs[n // 2] if n % 2 else (xs[n // 2 - 1] + xs[n // 2]) / 2

        if __name__ == "__main__":
            mp.set_start_method("fork")
            n, rounds = int(sys.argv[1]), int(sys.argv[2])
            with mp.Manager() as manager:
                L = manager.list()
                d = manager.dict()
                for i in range(200):
                    L.append(i)
                appends, sets = [], []
                for _ in range(rounds):
                    t = time.perf_counter()
                    for i in range(n):
                        L.append(i)
                    appends.append((time.perf_counter() - t) / n * 1e6)
                    t = time.perf_counter()
                    for i in range(n):
                        d["k"] = i
                    sets.append((time.perf_counter() - t) / n * 1e6)
            print(json.dumps({"python_manager_append_us": median(appends), "python_manager_dict_set_us": median(sets)}))
        """
}
