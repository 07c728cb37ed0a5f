import Glibc

extension Lesson09 {
    /// The queue, connection and shared array this lesson measures, one implementation each:
    /// lesson 09 has no contract of its own, it measures lessons 05, 06 and 08.
    public typealias Implementations = (queue: any SharedQueueContract.Type, connection: any PipeConnectionContract.Type,
                                        arrays: any SharedArraysContract.Type)

    static func look(_ lesson: String, _ what: String) -> String { "\(what) in Exercises/\(lesson)" }

    /// "123,456".
    static func count(_ value: Double) -> String { BenchReport.number(value.rounded()) }

    // MARK: - part 1

    /// Part 1: queue hand-off: a message and its reply through two of your queues in under 250 µs (lesson 05).
    static func queueHandOff<Q: SharedQueueContract>(_: Q.Type) throws {
        // The raw pipe is measured in the same run, in turns, for comparison only: the floor is absolute.
        let raw = try PipeBench.rawPipeEcho()
        defer { raw.close(); _ = waitForProcess(raw.child, timeout: 5) }
        let queue = try QueueBench.queueEcho(Q.self)
        defer { queue.close(); _ = waitForProcess(queue.child, timeout: 5) }
        let burst = 200
        let times = try BenchRepeat.inTurns(5, [raw, queue].map { echo in
            { try BenchRepeat.seconds { for _ in 0..<burst { try echo.trip() } } / Double(burst) * 1e6 }
        })
        let (pipe, yours) = (BenchFigure.median(times[0]), BenchFigure.median(times[1]))
        let micro = { (x: Double) in BenchReport.number(x) + " µs" }
        Console.out("round trip of an 8-byte message: your queues \(micro(yours)), a raw pipe \(micro(pipe)) (the median of 5 bursts of \(burst) round trips)\n")
        try require(yours <= queueRoundTripCeiling, CheckFailure(
            "a message and its reply take too long through your queue",
            expected: "at most \(micro(queueRoundTripCeiling)) for a put and the reply's get through two queues (a raw pipe takes \(micro(pipe)) here)",
            seen: "\(micro(yours)) (the 5 bursts: \(times[1].map(micro).joined(separator: ", ")))",
            cause: "every message waits out a fixed sleep. Candidates: a get that finds the queue empty naps (usleep) and looks again instead of waiting on the notEmpty condition variable that put broadcasts; a sleep before get looks; a put that naps after each message",
            look: look("05-queues/SharedQueue.swift", "get(timeout:) and put(_:timeout:)")))
    }

    // MARK: - part 2

    /// Part 2: a consumer waiting for messages that arrive every 20 ms uses under 5% of a CPU (lesson 05).
    static func consumerSleeps<Q: SharedQueueContract>(_: Q.Type) throws {
        let lockBlock = try labSharedBlock(bytes: 4096)
        let queueBlock = try labSharedBlock(bytes: 64 << 10)
        defer { labUnmap(queueBlock); labUnmap(lockBlock) }
        let lock = try ProcessSharedMutex.initialize(at: lockBlock.baseAddress!)
        let getLook = look("05-queues/SharedQueue.swift", "get(timeout:)")
        let queue = try attempt("SharedQueue(creatingIn: 64 KiB, lock:)", look: look("05-queues/SharedQueue.swift", "init(creatingIn:lock:)")) {
            try Q(creatingIn: queueBlock, lock: lock)
        }
        let messages = 25, gap: UInt32 = 20_000
        let cpuBefore = cpuSeconds(children: true)
        let started = monotonicSeconds()
        let consumer = try forkChild {
            for i in 0..<messages {
                let message = try attempt("get(timeout: 10)", look: getLook) { try queue.get(timeout: 10) }
                guard message == Array("message \(i)".utf8) else {
                    throw CheckFailure("the consumer received the wrong message", expected: "\"message \(i)\"",
                                       seen: "\(message.count) bytes: \(String(decoding: message.prefix(40), as: UTF8.self))", look: getLook)
                }
            }
            return 0
        }
        for i in 0..<messages {
            usleep(gap)                 // the rhythm of the producer, not synchronisation: the consumer waits meanwhile
            try attempt("put(\"message \(i)\", timeout: 5)", look: look("05-queues/SharedQueue.swift", "put(_:timeout:)")) {
                try queue.put(Array("message \(i)".utf8), timeout: 5)
            }
        }
        guard let end = waitForProcess(consumer, timeout: 15) else {
            throw CheckFailure("the consumer did not receive the \(messages) messages within 15 s of the last put",
                               cause: "a waiting get is not woken by put", look: getLook)
        }
        try requireEqual(end, .exited(0), "the consumer did not finish cleanly", look: getLook)
        let cpu = cpuSeconds(children: true) - cpuBefore
        let wall = monotonicSeconds() - started
        Console.out("the consumer used \(secondsText(cpu)) of CPU in \(secondsText(wall)) (\(BenchReport.number(cpu / wall * 100))%)\n")
        try require(cpu < consumerCPUCeiling * wall, CheckFailure(
            "the consumer kept a CPU busy while it waited for messages",
            expected: "under \(Int(consumerCPUCeiling * 100))% of the wall time: under \(secondsText(consumerCPUCeiling * wall)) of CPU in \(secondsText(wall)), for \(messages) messages 20 ms apart",
            seen: "\(secondsText(cpu)) of CPU (\(Int((cpu / wall * 100).rounded()))%)",
            cause: "get polls the ring in a loop (get(timeout: 0), sched_yield, a spin before it waits) instead of sleeping on the notEmpty condition variable",
            look: getLook))
    }

    // MARK: - part 3

    /// Part 3: pipe: 1 MiB messages through your Connection at ≥ 100 MiB/s (lesson 06).
    static func pipeRate<C: PipeConnectionContract>(_: C.Type) throws {
        // Up to three tries, for a machine that is busy now and then; but a rate ten times below
        // the floor (a few bytes per system call) will not reach it in two more, and each try of
        // such a pipe takes seconds.
        var rates: [Double] = []
        for _ in 0..<3 {
            rates.append(try PipeBench.connectionBulk(C.self, duplex: false, messages: 32, deadline: 1.5) * 1024)
            if rates.last! >= pipeFloorMiBs || rates.last! < pipeFloorMiBs / 10 { break }
        }
        Console.out("pipe: \(rates.map(count).joined(separator: ", ")) MiB/s in 1 MiB messages\n")
        try require(rates.max()! >= pipeFloorMiBs, CheckFailure(
            "your Connection moves too few bytes a second",
            expected: "at least \(count(pipeFloorMiBs)) MiB/s of 1 MiB messages through a pipe, from a forked writer (a raw pipe does more than 1 GiB/s)",
            seen: "\(rates.map(count).joined(separator: ", ")) MiB/s in \(rates.count) tries",
            cause: "send writes (or receive reads) a few bytes per system call — a byte at a time costs a million write() calls per MiB",
            look: look("06-pipes/Connection.swift", "send(_:) and receive()")))
    }

    // MARK: - part 4

    /// Part 4: shared-array bulk copy of 4 MiB at ≥ half memcpy's speed, both ways (lesson 08).
    static func copySpeed<A: SharedArraysContract>(_: A.Type) throws {
        // One round of an eighth of the size first, against memcpy on the same size: a copy ten
        // times below the floor will not reach it in nine rounds of the full size, and nine
        // rounds of an element-by-element copy take longer than the part may.
        let probe = try ArraysBench.copyRates(A.self, bytes: copyBytes / 8, rounds: 1)
        let farBelow = [probe.into.max()!, probe.outOf.max()!].contains { $0 < copyFraction * probe.memcpy.max()! / 10 }
        let rounds = farBelow ? 1 : copyRounds
        let rates = farBelow ? probe : try ArraysBench.copyRates(A.self, bytes: copyBytes, rounds: copyRounds)
        let memcpyBest = rates.memcpy.max()!, intoBest = rates.into.max()!, outBest = rates.outOf.max()!
        let text = { (x: Double) in BenchReport.number(x) + " GiB/s" }
        let size = farBelow ? "\((copyBytes / 8) >> 10) KiB" : "\(copyBytes >> 20) MiB"
        Console.out("memcpy \(text(memcpyBest)), copy into the array \(text(intoBest)), copy out \(text(outBest)) (best of \(rounds) round\(rounds == 1 ? "" : "s") of \(size))\n")
        for (way, best) in [("into the shared array", intoBest), ("out of the shared array", outBest)] {
            try require(best >= copyFraction * memcpyBest, CheckFailure(
                "your bulk copy \(way) is much slower than memcpy",
                expected: "at least \(Int(copyFraction * 100))% of memcpy's speed on the same \(size) in the same run (best of \(rounds) round\(rounds == 1 ? ": far below, so no more were run" : "s")): \(text(copyFraction * memcpyBest))",
                seen: "\(text(best)) (\(Int((best / memcpyBest * 100).rounded()))% of memcpy)",
                cause: "the copy goes element by element (through element/setElement, a subscript, or fill with a closure) instead of one bulk copy of the contiguous bytes",
                look: look("08-shared-arrays/SharedArrays.swift", "copy(_:into:)")))
        }
    }
}
