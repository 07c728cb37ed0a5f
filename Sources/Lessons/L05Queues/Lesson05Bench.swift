import Glibc

/// Lesson 05's measurement for `lab bench` (`lab __peer 5 bench IMPLEMENTATION`): messages per
/// second through the implementation's queue — 64-byte messages, one producer process and one
/// consumer process — beside the same messages through a raw pipe (the baseline) and CPython's
/// `multiprocessing.Queue`, measured in the same run.
enum QueueBench {
    static let pythonScript = """
        import json, multiprocessing as mp, sys, time
        n, reps = int(sys.argv[1]), int(sys.argv[2])
        ctx = mp.get_context("fork")
        message = b"x" * 64

        def produce(q, n):
            for _ in range(n):
                q.put(message)
            q.put(None)

        def rate():
            q = ctx.Queue()
            p = ctx.Process(target=produce, args=(q, n))
            t = time.perf_counter()
            p.start()
            got = 0
            while q.get() is not None:
                got += 1
            elapsed = time.perf_counter() - t
            p.join()
            assert got == n
            return n / elapsed

        rate()
        print(json.dumps({"rate": [rate() for _ in range(reps)]}))
        """

    static func measurements<Q: SharedQueueContract>(_: Q.Type) -> [BenchMeasurement] {
        [BenchMeasurement("queue", "queue: 64-byte messages, 1 producer process → 1 consumer process") { run in
            run.declare("queue.rate", "your queue in shared memory", unit: "msg/s", higherIsBetter: true,
                        baseline: "queue.pipe", python: "queue.python")
            run.declare("queue.pipe", "raw pipe, one write() per message (baseline)", unit: "msg/s", higherIsBetter: true, role: .baseline)
            run.declare("queue.python", "Python multiprocessing.Queue", unit: "msg/s", higherIsBetter: true, role: .python)
            let messages = run.pick(quick: 100_000, full: 400_000)
            var bodies: [() throws -> Double] = [{ try pipeRate(messages: messages, size: 64) }]
            if run.implementation { bodies.append({ try throughput(Q.self, messages: messages) }) }
            let rates = try BenchRepeat.inTurns(run.repetitions, bodies)
            run.record("queue.pipe", rates[0])
            if run.implementation { run.record("queue.rate", rates[1]) }
            run.measurePython(pythonScript, ["\(run.pick(quick: 20_000, full: 50_000))", "\(run.repetitions)"],
                              names: ["queue.python": "rate"])
        }]
    }

    /// Messages per second through a new `Q` in a block of `blockBytes`: a forked producer puts
    /// `messages` messages of `size` bytes, this process gets them. After `deadline` seconds it
    /// stops and returns the rate so far (a slow queue is measured, not waited for).
    static func throughput<Q: SharedQueueContract>(_: Q.Type, messages: Int, size: Int = 64, blockBytes: Int = 1 << 20,
                                                   deadline: Double = 60) throws -> Double {
        let lockBlock = try labSharedBlock(bytes: 4096)
        let queueBlock = try labSharedBlock(bytes: blockBytes)
        defer { labUnmap(queueBlock); labUnmap(lockBlock) }
        let lock = try ProcessSharedMutex.initialize(at: lockBlock.baseAddress!)
        let queue = try attempt("SharedQueue(creatingIn: \(blockBytes) bytes, lock:)") { try Q(creatingIn: queueBlock, lock: lock) }
        let message = [UInt8](repeating: 0x78, count: size)

        let started = monotonicSeconds()
        let producer = try forkChild {
            try attempt("put(\(size) bytes, timeout: \(Int(deadline) + 10))") {
                for _ in 0..<messages { try queue.put(message, timeout: deadline + 10) }
            }
            return 0
        }
        var received = 0
        var producerEnd: ProcessEnd? = nil
        receiving: while received < messages {
            do {
                let got = try queue.get(timeout: 1)
                guard got.count == size else {
                    kill(producer, SIGKILL)
                    throw CheckFailure("get returned \(got.count) bytes", expected: "the \(size)-byte message that was put")
                }
                received += 1
                if received & 255 == 0 && monotonicSeconds() - started > deadline { break }
            } catch QueueError.empty {
                var status: Int32 = 0
                if waitpid(producer, &status, WNOHANG) == producer {
                    producerEnd = ProcessEnd(waitStatus: status)
                    break receiving
                }
                if monotonicSeconds() - started > deadline { break }
            }
        }
        let elapsed = monotonicSeconds() - started
        if let producerEnd {
            throw CheckFailure("the producer process ended (\(producerEnd)) after \(received) of \(messages) messages",
                               expected: "it puts every message", seen: "its own error is printed above, if it said one")
        }
        if received < messages { kill(producer, SIGKILL) }
        let end = try waitForProcess(producer)
        if received == messages && end != .exited(0) {
            throw CheckFailure("the producer process ended with \(end)", expected: "exit 0 after putting every message")
        }
        return Double(received) / elapsed
    }

    /// An echo process that gets each message from one new `Q` and puts it back on another, for
    /// round trips (`PipeBench.Echo`): every get finds its queue empty and must be woken by the put.
    static func queueEcho<Q: SharedQueueContract>(_: Q.Type, size: Int = 8) throws -> PipeBench.Echo {
        let lockBlocks = try labSharedBlock(bytes: 8192)
        let there = try labSharedBlock(bytes: 64 << 10), back = try labSharedBlock(bytes: 64 << 10)
        let thereQueue = try attempt("SharedQueue(creatingIn: 64 KiB, lock:)") {
            try Q(creatingIn: there, lock: try ProcessSharedMutex.initialize(at: lockBlocks.baseAddress!))
        }
        let backQueue = try attempt("SharedQueue(creatingIn: 64 KiB, lock:)") {
            try Q(creatingIn: back, lock: try ProcessSharedMutex.initialize(at: lockBlocks.baseAddress! + 4096))
        }
        let message = [UInt8](repeating: 0x78, count: size)
        return try PipeBench.startEcho(echo: {
            while true {
                let request = try attempt("get(timeout: 60)") { try thereQueue.get(timeout: 60) }
                if request.isEmpty { return 0 }
                try attempt("put(_:timeout: 60)") { try backQueue.put(request, timeout: 60) }
            }
        }, closeInParent: {}, trip: {
            try attempt("put(_:timeout: 10)") { try thereQueue.put(message, timeout: 10) }
            let reply = try attempt("get(timeout: 10)") { try backQueue.get(timeout: 10) }
            guard reply == message else { throw CheckFailure("the echo process sent back \(reply.count) bytes", expected: "the \(size) bytes it got") }
        }, finish: {
            try? thereQueue.put([], timeout: 1)
        })
    }

    /// Messages per second through a raw pipe: a forked writer writes `messages` messages of
    /// `size` bytes with one write() each, this process reads them with one read() each.
    static func pipeRate(messages: Int, size: Int) throws -> Double {
        let ends = try Descriptor.pipe()
        let started = monotonicSeconds()
        let writer = try forkChild {
            Descriptor.close(ends.read)
            let message = [UInt8](repeating: 0x78, count: size)
            try message.withUnsafeBytes { bytes in for _ in 0..<messages { try Descriptor.writeAll(ends.write, bytes) } }
            return 0
        }
        Descriptor.close(ends.write)
        defer { Descriptor.close(ends.read) }
        var buffer = [UInt8](repeating: 0, count: size)
        var total = 0
        try buffer.withUnsafeMutableBytes { raw in
            while total < messages * size {
                let n = try valueOrErrno("read") { read(ends.read, raw.baseAddress, size) }
                if n == 0 { break }
                total += n
            }
        }
        let elapsed = monotonicSeconds() - started
        _ = try waitForProcess(writer)
        return Double(total / size) / elapsed
    }
}
