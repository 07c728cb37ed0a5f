import Glibc

/// Lesson 06's benchmark (`lab __peer 6 bench solution`): round-trip latency and bulk throughput of
/// an implementation beside a raw pipe measured in the same run, and Python's equivalents.
enum PipeBench {
    static let method = """
        round trip: an 8-byte message to a forked echo process and back; the four echo pairs stay up \
        and are timed in turns, B trips each, R×3 turns, the median turn reported (so that all four \
        see the same machine load); bulk: 64 MiB in 1 MiB messages from a forked writer, the raw pipe \
        and the connection in turns, R rounds, the median reported
        """

    /// An echo process and the way to make one round trip with it.
    struct Echo {
        let trip: () throws -> Void
        /// Closes the parent's ends. Later echo processes inherited copies of earlier ones' ends,
        /// so every echo is closed before any is waited for.
        let close: () -> Void
        let child: pid_t
    }

    static func run<L: PipeConnectionContract>(_: L.Type, arguments: [String]) throws -> Int32 {
        let (rounds, quick) = Bench.options(arguments)
        let burst = quick ? 200 : 2_000
        let turns = rounds * 3
        let bulkMessages = quick ? 8 : 64
        let echoes = [try rawPipeEcho(), try pipePairEcho(L.self), try rawSocketEcho(), try duplexEcho(L.self)]
        var times: [[Double]] = Array(repeating: [], count: echoes.count)
        for echo in echoes { for _ in 0..<200 { try echo.trip() } }          // warm up
        for _ in 0..<turns {
            for (i, echo) in echoes.enumerated() {
                let elapsed = try Bench.seconds { for _ in 0..<burst { try echo.trip() } }
                times[i].append(elapsed / Double(burst) * 1e6)
            }
        }
        for echo in echoes { echo.close() }
        for echo in echoes.reversed() { _ = try waitForProcess(echo.child) }
        let (rawRT, pairRT, socketRT, duplexRT) = (Bench.median(times[0]), Bench.median(times[1]), Bench.median(times[2]), Bench.median(times[3]))
        var rawBulk: [Double] = [], bulk: [Double] = []
        for _ in 0..<rounds {
            rawBulk.append(try rawPipeBulk(messages: bulkMessages))
            bulk.append(try connectionBulk(L.self, messages: bulkMessages))
        }
        var figures = [
            Bench.Figure("raw_pipe_rt_us", "raw pipe round trip (write/read)", rawRT, "µs"),
            Bench.Figure("pipe_rt_us", "Connection round trip, two pipes", pairRT, "µs"),
            Bench.Figure("raw_socketpair_rt_us", "raw socketpair round trip", socketRT, "µs"),
            Bench.Figure("duplex_rt_us", "Connection round trip, socketpair", duplexRT, "µs"),
            Bench.Figure("raw_pipe_bulk_gib_s", "raw pipe bulk, 1 MiB writes", Bench.median(rawBulk), "GiB/s"),
            Bench.Figure("pipe_bulk_gib_s", "Connection bulk, 1 MiB messages", Bench.median(bulk), "GiB/s"),
        ]
        var ratios = [
            Bench.Figure("pipe_rt_vs_raw", "round trip ÷ raw pipe (goal ≤ 1.3)", pairRT / rawRT, "×"),
            Bench.Figure("duplex_rt_vs_raw_socketpair", "duplex round trip ÷ raw socketpair", duplexRT / socketRT, "×"),
            Bench.Figure("pipe_bulk_vs_raw", "bulk ÷ raw pipe bulk (goal ≥ 0.9)", Bench.median(bulk) / Bench.median(rawBulk), "×"),
        ]
        if let python = Bench.python(pythonScript, ["\(quick ? 2_000 : 20_000)", "\(rounds)", "\(bulkMessages)"]) {
            let keys = [("python_pipe_bytes_rt_us", "Python Pipe() send_bytes round trip", "µs"),
                        ("python_pipe_obj_rt_us", "Python Pipe() send/recv (pickle) round trip", "µs"),
                        ("python_raw_pipe_rt_us", "Python raw os.pipe round trip", "µs"),
                        ("python_raw_pipe_bulk_gib_s", "Python raw os.pipe bulk, 1 MiB", "GiB/s"),
                        ("python_pipe_bulk_gib_s", "Python Pipe() send_bytes bulk, 1 MiB", "GiB/s")]
            for (key, label, unit) in keys { if let value = python[key] { figures.append(Bench.Figure(key, label, value, unit)) } }
            if let py = python["python_pipe_bytes_rt_us"] {
                ratios.append(Bench.Figure("pipe_rt_vs_python", "round trip ÷ Python's Pipe", pairRT / py, "×"))
            }
        }
        Bench.report(name: "pipes", lesson: 6, implementation: "\(L.self)",
                     method: method + " (B = \(burst), R = \(rounds))", figures: figures, ratios: ratios)
        return 0
    }

    // MARK: - Round trips

    /// Forks an echo process running `echo`; the parent keeps `trip` and `finish`.
    static func startEcho(echo: () throws -> Int32, closeInParent: () -> Void,
                          trip: @escaping () throws -> Void, finish: @escaping () -> Void) throws -> Echo {
        let child = try forkChild(echo)
        closeInParent()
        return Echo(trip: trip, close: finish, child: child)
    }

    static func rawPipeEcho() throws -> Echo {
        let there = try Descriptor.pipe(), back = try Descriptor.pipe()
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: 64, alignment: 8)
        return try startEcho(echo: {
            Descriptor.close(there.write); Descriptor.close(back.read)
            while true {
                let n = read(there.read, buffer, 64)
                if n <= 0 { return 0 }
                _ = write(back.write, buffer, n)
            }
        }, closeInParent: {
            Descriptor.close(there.read); Descriptor.close(back.write)
        }, trip: {
            _ = write(there.write, buffer, 8)
            _ = read(back.read, buffer, 64)
        }, finish: {
            Descriptor.close(there.write); Descriptor.close(back.read)
        })
    }

    static func rawSocketEcho() throws -> Echo {
        var fds: [Int32] = [-1, -1]
        try valueOrErrno("socketpair") { socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &fds) }
        let (mine, theirs) = (fds[0], fds[1])
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: 64, alignment: 8)
        return try startEcho(echo: {
            Descriptor.close(mine)
            while true {
                let n = read(theirs, buffer, 64)
                if n <= 0 { return 0 }
                _ = send(theirs, buffer, n, Int32(MSG_NOSIGNAL))
            }
        }, closeInParent: {
            Descriptor.close(theirs)
        }, trip: {
            _ = send(mine, buffer, 8, Int32(MSG_NOSIGNAL))
            _ = read(mine, buffer, 64)
        }, finish: {
            Descriptor.close(mine)
        })
    }

    static func pipePairEcho<L: PipeConnectionContract>(_: L.Type) throws -> Echo {
        let (thereRead, thereWrite) = try L.pipe(duplex: false)
        let (backRead, backWrite) = try L.pipe(duplex: false)
        let message = [UInt8](repeating: 1, count: 8)
        return try startEcho(echo: {
            Glibc.close(thereWrite.descriptor); Glibc.close(backRead.descriptor)
            while let request = try? thereRead.receive() { try backWrite.send(request) }
            return 0
        }, closeInParent: {
            thereRead.close(); backWrite.close()
        }, trip: {
            try thereWrite.send(message)
            _ = try backRead.receive()
        }, finish: {
            thereWrite.close(); backRead.close()
        })
    }

    static func duplexEcho<L: PipeConnectionContract>(_: L.Type) throws -> Echo {
        let (mine, theirs) = try L.pipe(duplex: true)
        let message = [UInt8](repeating: 1, count: 8)
        return try startEcho(echo: {
            Glibc.close(mine.descriptor)
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

    // MARK: - Bulk

    static let chunk = 1 << 20

    static func rawPipeBulk(messages: Int) throws -> Double {
        let ends = try Descriptor.pipe()
        let child = try forkChild {
            Descriptor.close(ends.read)
            let data = [UInt8](repeating: 7, count: chunk)
            for _ in 0..<messages { try data.withUnsafeBytes { try Descriptor.writeAll(ends.write, $0) } }
            return 0
        }
        Descriptor.close(ends.write)
        var buffer = [UInt8](repeating: 0, count: chunk)
        var total = 0
        let elapsed = try Bench.seconds {
            while total < messages * chunk {
                let n = try valueOrErrno("read") { buffer.withUnsafeMutableBytes { read(ends.read, $0.baseAddress, $0.count) } }
                if n == 0 { break }
                total += n
            }
        }
        Descriptor.close(ends.read)
        _ = try waitForProcess(child)
        return Double(total) / elapsed / Double(1 << 30)
    }

    static func connectionBulk<L: PipeConnectionContract>(_: L.Type, messages: Int) throws -> Double {
        let (reader, writer) = try L.pipe(duplex: false)
        let child = try forkChild {
            Glibc.close(reader.descriptor)
            let data = [UInt8](repeating: 7, count: chunk)
            for _ in 0..<messages { try writer.send(data) }
            return 0
        }
        writer.close()
        var total = 0
        let elapsed = try Bench.seconds {
            for _ in 0..<messages { total += try reader.receive().count }
        }
        reader.close()
        _ = try waitForProcess(child)
        return Double(total) / elapsed / Double(1 << 30)
    }

    // MARK: - Python

    static let pythonScript = """
        import json, os, sys, time
        import multiprocessing as mp

        def echo_bytes(c, other):
            other.close()
            while True:
                try:
                    m = c.recv_bytes()
                except EOFError:
                    break
                c.send_bytes(m)

        def echo_obj(c, other):
            other.close()
            while True:
                try:
                    m = c.recv()
                except EOFError:
                    break
                c.send(m)

        def bulk_writer(c, other, count):
            other.close()
            data = b"\\x07" * (1 << 20)
            for _ in range(count):
                c.send_bytes(data)
            c.close()

        def median(xs):
            xs = sorted(xs)
            n = len(xs)
            return xs[n // 2] if n % 2 else (xs[n // 2 - 1] + xs[n // 2]) / 2

        def pipe_rt(target, message, send, recv, n, rounds):
            a, b = mp.Pipe()
            p = mp.Process(target=target, args=(b, a))
            p.start()
            b.close()
            for _ in range(100):
                send(a, message); recv(a)
            times = []
            for _ in range(rounds):
                t = time.perf_counter()
                for _ in range(n):
                    send(a, message); recv(a)
                times.append((time.perf_counter() - t) / n * 1e6)
            a.close()
            p.join()
            return median(times)

        def raw_rt(n, rounds):
            r1, w1 = os.pipe(); r2, w2 = os.pipe()
            pid = os.fork()
            if pid == 0:
                os.close(w1); os.close(r2)
                while True:
                    m = os.read(r1, 64)
                    if not m:
                        os._exit(0)
                    os.write(w2, m)
            os.close(r1); os.close(w2)
            times = []
            for _ in range(rounds):
                t = time.perf_counter()
                for _ in range(n):
                    os.write(w1, b"12345678"); os.read(r2, 64)
                times.append((time.perf_counter() - t) / n * 1e6)
            os.close(w1); os.close(r2)
            os.waitpid(pid, 0)
            return median(times)

        def raw_bulk(count):
            r, w = os.pipe()
            pid = os.fork()
            if pid == 0:
                os.close(r)
                data = memoryview(b"\\x07" * (1 << 20))
                for _ in range(count):
                    done = 0
                    while done < len(data):
                        done += os.write(w, data[done:])
                os._exit(0)
            os.close(w)
            total = 0
            buf = bytearray(1 << 20)
            t = time.perf_counter()
            while total < count << 20:
                n = os.readv(r, [buf])
                if n == 0:
                    break
                total += n
            elapsed = time.perf_counter() - t
            os.close(r)
            os.waitpid(pid, 0)
            return total / elapsed / (1 << 30)

        def pipe_bulk(count):
            a, b = mp.Pipe(duplex=False)
            p = mp.Process(target=bulk_writer, args=(b, a, count))
            p.start()
            b.close()
            total = 0
            t = time.perf_counter()
            for _ in range(count):
                total += len(a.recv_bytes())
            elapsed = time.perf_counter() - t
            a.close()
            p.join()
            return total / elapsed / (1 << 30)

        if __name__ == "__main__":
            mp.set_start_method("fork")
            n, rounds, count = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
            out = {
                "python_pipe_bytes_rt_us": pipe_rt(echo_bytes, b"12345678", lambda c, m: c.send_bytes(m), lambda c: c.recv_bytes(), n, rounds),
                "python_pipe_obj_rt_us": pipe_rt(echo_obj, 12345678, lambda c, m: c.send(m), lambda c: c.recv(), n, rounds),
                "python_raw_pipe_rt_us": raw_rt(n, rounds),
                "python_raw_pipe_bulk_gib_s": median([raw_bulk(count) for _ in range(rounds)]),
                "python_pipe_bulk_gib_s": median([pipe_bulk(count) for _ in range(rounds)]),
            }
            print(json.dumps(out))
        """
}
