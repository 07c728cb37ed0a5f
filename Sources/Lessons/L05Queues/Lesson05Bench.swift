import Glibc

/// `lab __peer 5 bench IMPLEMENTATION [MESSAGES]`: messages per second through the
/// implementation's queue — 64-byte messages, one producer process and one consumer process —
/// beside CPython's `multiprocessing.Queue` measured the same way in the same run. Prints a table
/// and one JSON line.
enum QueueBench {
    static let pythonScript = """
        import json, multiprocessing as mp, sys, time
        n = int(sys.argv[1]) if len(sys.argv) > 1 else 200000
        ctx = mp.get_context("fork")
        q = ctx.Queue()
        message = b"x" * 64
        def produce(q, n):
            for _ in range(n):
                q.put(message)
            q.put(None)
        p = ctx.Process(target=produce, args=(q, n))
        t = time.perf_counter()
        p.start()
        got = 0
        while q.get() is not None:
            got += 1
        elapsed = time.perf_counter() - t
        p.join()
        assert got == n
        print(json.dumps({"messages_per_second": n / elapsed, "messages": n}))
        """

    static func run<Q: SharedQueueContract>(_ type: Q.Type, arguments: [String]) throws -> Int32 {
        let messages = arguments.first.flatMap { Int($0) } ?? 2_000_000
        let size = 64
        let lockBlock = try labSharedBlock(bytes: 4096)
        let queueBlock = try labSharedBlock(bytes: 1 << 20)
        defer { labUnmap(queueBlock); labUnmap(lockBlock) }
        let lock = try ProcessSharedMutex.initialize(at: lockBlock.baseAddress!)
        let queue = try Q(creatingIn: queueBlock, lock: lock)

        let message = [UInt8](repeating: 0x78, count: size)
        let started = monotonicSeconds()
        let producer = try forkChild {
            for _ in 0..<messages { try queue.put(message, timeout: 60) }
            return 0
        }
        var bytes = 0
        for _ in 0..<messages { bytes += try queue.get(timeout: 60).count }
        let elapsed = monotonicSeconds() - started
        let end = try waitForProcess(producer)
        let rate = Double(messages) / elapsed
        let complete = end == .exited(0) && bytes == messages * size

        let python = PythonBaseline.run(pythonScript, ["200000"])
        Console.out("Queue: \(size)-byte messages, 1 producer process → 1 consumer process (higher is better)\n")
        Console.out(BenchFormat.pad("", 26) + BenchFormat.pad("messages/s", 14) + "MB/s\n")
        Console.out(BenchFormat.pad("this queue", 26) + BenchFormat.pad(BenchFormat.grouped(rate), 14)
                    + BenchFormat.oneDecimal(rate * Double(size) / 1e6) + "\n")
        if let py = python?["messages_per_second"] {
            Console.out(BenchFormat.pad("Python mp.Queue", 26) + BenchFormat.pad(BenchFormat.grouped(py), 14)
                        + BenchFormat.oneDecimal(py * Double(size) / 1e6) + "\n")
            Console.out("speed-up: \(BenchFormat.oneDecimal(rate / py))×\n")
        }
        if !complete { Console.out("warning: not every message arrived (\(bytes) of \(messages * size) bytes; producer \(end))\n") }
        var record: [String: Any] = ["bench": "queue", "lesson": 5, "unit": "messages/s", "message_bytes": size,
                                     "messages": messages, "swift_messages_per_second": rate, "complete": complete]
        if let py = python?["messages_per_second"] { record["python_messages_per_second"] = py }
        Console.out(BenchFormat.json(record) + "\n")
        return complete ? 0 : 1
    }
}
