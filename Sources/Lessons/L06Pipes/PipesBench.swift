import Glibc

/// Lesson 06's benchmark (`lab __peer 6 bench solution`): round-trip latency and bulk throughput of
/// an implementation beside a raw pipe measured in the same run, and Python's equivalents.
enum PipeBench {
    static func measurements<L: PipeConnectionContract>(_: L.Type) -> [BenchMeasurement] {
        [
            BenchMeasurement("pipe-rt", "round trip of an 8-byte message over two pipes, on one CPU") { run in
                try run.onOneCPU { try roundTrips(run, key: "pipe-rt", your: "your Connection, two pipes", raw: "raw pipes, write/read (baseline)",
                               python: "Python Pipe(duplex=False) × 2, send_bytes", duplex: false,
                               baseline: rawPipeEcho, implementation: { try pipePairEcho(L.self) }) }
            },
            BenchMeasurement("socketpair-rt", "round trip of an 8-byte message over a socketpair, on one CPU") { run in
                try run.onOneCPU { try roundTrips(run, key: "socketpair-rt", your: "your Connection, duplex", raw: "raw socketpair, send/read (baseline)",
                               python: "Python Pipe(), send_bytes", duplex: true,
                               baseline: rawSocketEcho, implementation: { try duplexEcho(L.self) }) }
            },
            BenchMeasurement("pipe-bulk", "64 MiB in 1 MiB messages through a pipe") { run in
                try bulk(run, key: "pipe-bulk", your: "your Connection, pipe", raw: "raw pipe, 1 MiB write() (baseline)",
                         python: "Python Pipe(duplex=False), send_bytes", duplex: false,
                         baseline: { let pipe = try OwnedPipe(); return try rawBulk(read: pipe.read, write: pipe.write, messages: $0) },
                         implementation: { try connectionBulk(L.self, duplex: false, messages: $0) })
            },
            BenchMeasurement("socketpair-bulk", "64 MiB in 1 MiB messages through a socketpair") { run in
                try bulk(run, key: "socketpair-bulk", your: "your Connection, socketpair", raw: "raw socketpair, 1 MiB write() (baseline)",
                         python: "Python Pipe(), send_bytes", duplex: true,
                         baseline: { let ends = try SocketPair(); return try rawBulk(read: ends.first, write: ends.second, messages: $0) },
                         implementation: { try connectionBulk(L.self, duplex: true, messages: $0) })
            },
        ]
    }

    /// µs per round trip: an echo process for the baseline and one for the implementation stay up
    /// and are timed in turns, a burst of trips each, so that both see the same machine load.
    /// `lab bench` runs it on one CPU (`BenchRun.onOneCPU`), Python's equivalent too.
    static func roundTrips(_ run: BenchRun, key: String, your: String, raw: String, python: String, duplex: Bool,
                           baseline: () throws -> Echo, implementation: () throws -> Echo) throws {
        run.declare("\(key).connection", your, unit: "µs", higherIsBetter: false, baseline: "\(key).raw", python: "\(key).python")
        run.declare("\(key).raw", raw, unit: "µs", higherIsBetter: false, role: .baseline)
        run.declare("\(key).python", python, unit: "µs", higherIsBetter: false, role: .python)
        let burst = run.pick(quick: 500, full: 5_000)
        var echoes = [try baseline()]
        if run.implementation { echoes.append(try implementation()) }
        defer {
            for echo in echoes { echo.close() }
            for echo in echoes.reversed() { _ = waitForProcess(echo.child, timeout: 10) }
        }
        let times = try BenchRepeat.inTurns(run.repetitions, echoes.map { echo in
            { try BenchRepeat.seconds { for _ in 0..<burst { try echo.trip() } } / Double(burst) * 1e6 }
        })
        run.record("\(key).raw", times[0])
        if run.implementation { run.record("\(key).connection", times[1]) }
        run.measurePython(pythonScript, ["rt", duplex ? "duplex" : "simplex", "\(run.pick(quick: 2_000, full: 5_000))", "\(run.repetitions)"],
                          names: ["\(key).python": "values"])
    }

    /// GiB/s of 64 MiB in 1 MiB messages from a forked writer, the raw ends and the connection in turns.
    static func bulk(_ run: BenchRun, key: String, your: String, raw: String, python: String, duplex: Bool,
                     baseline: @escaping (Int) throws -> Double, implementation: @escaping (Int) throws -> Double) throws {
        run.declare("\(key).connection", your, unit: "GiB/s", higherIsBetter: true, baseline: "\(key).raw", python: "\(key).python")
        run.declare("\(key).raw", raw, unit: "GiB/s", higherIsBetter: true, role: .baseline)
        run.declare("\(key).python", python, unit: "GiB/s", higherIsBetter: true, role: .python)
        let messages = 64
        var bodies = [{ try baseline(messages) }]
        if run.implementation { bodies.append({ try implementation(messages) }) }
        let rates = try BenchRepeat.inTurns(run.repetitions, bodies)
        run.record("\(key).raw", rates[0])
        if run.implementation { run.record("\(key).connection", rates[1]) }
        run.measurePython(pythonScript, ["bulk", duplex ? "duplex" : "simplex", "\(messages)", "\(run.repetitions)"],
                          names: ["\(key).python": "values"])
    }

    /// An echo process and the way to make one round trip with it.
    struct Echo {
        let trip: () throws -> Void
        /// Closes the parent's ends. Later echo processes inherited copies of earlier ones' ends,
        /// so every echo is closed before any is waited for.
        let close: () -> Void
        let child: pid_t
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
        return try messageEcho(mine: mine, theirs: theirs, message: [UInt8](repeating: 1, count: 8), descriptor: { $0.borrowedDescriptor },
                               send: { try $0.send($1) }, receive: { try $0.receive() }, close: { $0.close() })
    }

    /// Round trips over a duplex pair of message connections (an implementation's, or the lab's
    /// own `FramedConnection`): a forked child echoes every message on `theirs` until end-of-file.
    static func messageEcho<C>(mine: C, theirs: C, message: [UInt8], descriptor: @escaping (C) -> BorrowedDescriptor,
                               send: @escaping (C, [UInt8]) throws -> Void, receive: @escaping (C) throws -> [UInt8],
                               close: @escaping (C) -> Void) throws -> Echo {
        try startEcho(echo: {
            Glibc.close(descriptor(mine).rawValue)          // the child's copy of the parent's end
            while let request = try? receive(theirs) { try send(theirs, request) }
            return 0
        }, closeInParent: {
            close(theirs)
        }, trip: {
            try send(mine, message)
            _ = try receive(mine)
        }, finish: {
            close(mine)
        })
    }

    // MARK: - Bulk

    static let chunk = 1 << 20

    /// GiB/s of `messages` × 1 MiB written by a forked writer to `write` with 1 MiB write()s
    /// and read from `read` with 1 MiB read()s; both ends (of a pipe or a socket pair) are closed.
    static func rawBulk(read: consuming OwnedDescriptor, write: consuming OwnedDescriptor, messages: Int) throws -> Double {
        let child = try forkChild {
            _ = Glibc.close(read.rawValue)                  // the child's copy of the read end
            let data = [UInt8](repeating: 7, count: chunk)
            for _ in 0..<messages { try data.withUnsafeBytes { try write.borrowed.writeAll($0) } }
            return 0
        }
        write.close()
        var buffer = [UInt8](repeating: 0, count: chunk)
        var total = 0
        let elapsed = try BenchRepeat.seconds {
            try buffer.withUnsafeMutableBytes { raw in
                while total < messages * chunk {
                    let n = try valueOrErrno("read") { Glibc.read(read.rawValue, raw.baseAddress, raw.count) }
                    if n == 0 { break }
                    total += n
                }
            }
        }
        read.close()
        _ = try waitForProcess(child)
        return Double(total) / elapsed / Double(1 << 30)
    }

    /// GiB/s of `messages` 1 MiB messages sent by a forked writer through a new pair of `L`
    /// (simplex: a pipe; duplex: a socketpair) and received here. After `deadline` seconds it
    /// stops, ends the writer and returns the rate so far (a slow connection is measured, not
    /// waited for).
    static func connectionBulk<L: PipeConnectionContract>(_: L.Type, duplex: Bool, messages: Int,
                                                          deadline: Double = 120) throws -> Double {
        let (reader, writer) = try attempt("pipe(duplex: \(duplex))") { try L.pipe(duplex: duplex) }
        let started = monotonicSeconds()
        let child = try forkChild {
            Glibc.close(reader.descriptor)
            let data = [UInt8](repeating: 7, count: chunk)
            try attempt("send(1 MiB)") { for _ in 0..<messages { try writer.send(data) } }
            return 0
        }
        writer.close()
        var total = 0
        for _ in 0..<messages {
            let message = try attempt("receive()") { try reader.receive() }
            guard message.count == chunk else {
                kill(child, SIGKILL)
                throw CheckFailure("receive() returned \(message.count) bytes", expected: "the 1 MiB message that was sent")
            }
            total += chunk
            if monotonicSeconds() - started > deadline { break }
        }
        let elapsed = monotonicSeconds() - started
        reader.close()
        if total < messages * chunk { kill(child, SIGKILL) }
        _ = try waitForProcess(child)
        return Double(total) / elapsed / Double(1 << 30)
    }

    // MARK: - Python

    /// `rt simplex|duplex N REPS`: µs per round trip of an 8-byte message with send_bytes /
    /// recv_bytes, over Pipe(duplex=False) × 2 or Pipe(); `bulk simplex|duplex COUNT REPS`: GiB/s
    /// of COUNT 1 MiB messages. Prints {"values": [...]}.
    static let pythonScript = """
        import json, sys, time
        import multiprocessing as mp

        ctx = mp.get_context("fork")

        def echo(receive_end, send_end, unused):
            for c in unused:
                c.close()
            while True:
                try:
                    m = receive_end.recv_bytes()
                except EOFError:
                    break
                send_end.send_bytes(m)

        def round_trips(duplex, n, reps):
            if duplex:
                mine, theirs = ctx.Pipe()
                p = ctx.Process(target=echo, args=(theirs, theirs, [mine]))
                p.start()
                theirs.close()
                send, receive = mine, mine
            else:
                there_r, there_w = ctx.Pipe(duplex=False)
                back_r, back_w = ctx.Pipe(duplex=False)
                p = ctx.Process(target=echo, args=(there_r, back_w, [there_w, back_r]))
                p.start()
                there_r.close(); back_w.close()
                send, receive = there_w, back_r
            message = b"12345678"
            def burst():
                t = time.perf_counter()
                for _ in range(n):
                    send.send_bytes(message)
                    receive.recv_bytes()
                return (time.perf_counter() - t) / n * 1e6
            burst()
            values = [burst() for _ in range(reps)]
            send.close()
            receive.close()
            p.join()
            return values

        def writer(send_end, unused, count):
            for c in unused:
                c.close()
            data = b"\\x07" * (1 << 20)
            for _ in range(count):
                send_end.send_bytes(data)
            send_end.close()

        def bulk(duplex, count):
            receive, send = ctx.Pipe() if duplex else ctx.Pipe(duplex=False)
            p = ctx.Process(target=writer, args=(send, [receive], count))
            t = time.perf_counter()
            p.start()
            send.close()
            total = 0
            for _ in range(count):
                total += len(receive.recv_bytes())
            elapsed = time.perf_counter() - t
            receive.close()
            p.join()
            return total / elapsed / (1 << 30)

        mode, duplex, n, reps = sys.argv[1], sys.argv[2] == "duplex", int(sys.argv[3]), int(sys.argv[4])
        if mode == "rt":
            values = round_trips(duplex, n, reps)
        else:
            bulk(duplex, n)
            values = [bulk(duplex, n) for _ in range(reps)]
        print(json.dumps({"values": values}))
        """
}
