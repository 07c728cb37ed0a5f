import Glibc

/// Lesson 10's measurements for `lab bench` (`lab __peer 10 bench IMPLEMENTATION`): 64-byte
/// messages per second through the ring (one producer process, one consumer process) beside a raw
/// pipe (the baseline), lesson 05's reference queue and CPython's `multiprocessing.Queue`, in the
/// same run; and two processes' counters on one cache line against a line each.
enum RingBench {
    static func run<R: SPSCRingContract>(_: R.Type, queue: any SharedQueueContract.Type, _ arguments: [String]) throws -> Int32 {
        try BenchPeer.run(measurements(R.self, queue: queue), arguments: arguments)
    }

    static func measurements<R: SPSCRingContract>(_: R.Type, queue: any SharedQueueContract.Type) -> [BenchMeasurement] {
        [BenchMeasurement("ring", "lock-free ring: 64-byte messages, 1 producer process → 1 consumer process") { run in
            run.declare("ring.rate", "your ring in shared memory", unit: "msg/s", higherIsBetter: true,
                        baseline: "ring.pipe", python: "ring.python")
            run.declare("ring.pipe", "raw pipe, one write() per message (baseline)", unit: "msg/s", higherIsBetter: true, role: .baseline)
            run.declare("ring.queue05", "lesson 05's queue (the reference: mutex and condition variables)", unit: "msg/s",
                        higherIsBetter: true, role: .baseline, baseline: "ring.pipe")
            run.declare("ring.python", "Python multiprocessing.Queue", unit: "msg/s", higherIsBetter: true, role: .python)
            let messages = run.pick(quick: 200_000, full: 2_000_000)
            var bodies: [() throws -> Double] = [{ try QueueBench.pipeRate(messages: messages / 2, size: 64) },
                                                 { try queueRate(queue, messages: messages / 2) }]
            if run.implementation { bodies.append({ try ringRate(R.self, messages: messages) }) }
            let rates = try BenchRepeat.inTurns(run.repetitions, bodies)
            run.record("ring.pipe", rates[0])
            run.record("ring.queue05", rates[1])
            if run.implementation { run.record("ring.rate", rates[rates.count - 1]) }
            run.measurePython(QueueBench.pythonScript, ["\(run.pick(quick: 20_000, full: 200_000))", "\(run.repetitions)"],
                              names: ["ring.python": "rate"])
        },
        BenchMeasurement("false-sharing", "two processes, an atomic add each to its own counter: one cache line or a line each") { run in
            run.declare("false-sharing.padded", "counters 128 bytes apart (a line each)", unit: "M adds/s", higherIsBetter: true,
                        role: .baseline, baseline: "false-sharing.packed")
            run.declare("false-sharing.packed", "counters 8 bytes apart (one line)", unit: "M adds/s", higherIsBetter: true, role: .baseline)
            let adds = run.pick(quick: 2_000_000, full: 10_000_000)
            let rates = try BenchRepeat.inTurns(run.repetitions, [128, 8].map { apart in
                { 2 * Double(adds) / (try Lesson10.counterSeconds(apart: apart, adds: adds)) / 1e6 }
            })
            run.record("false-sharing.padded", rates[0])
            run.record("false-sharing.packed", rates[1])
        }]
    }

    static func queueRate(_ queue: any SharedQueueContract.Type, messages: Int) throws -> Double {
        func open<Q: SharedQueueContract>(_: Q.Type) throws -> Double { try QueueBench.throughput(Q.self, messages: messages) }
        return try open(queue)
    }

    /// Messages per second through a new `R` in a 1 MiB block: a forked producer sends `messages`
    /// messages of `size` bytes, this process receives them. After `deadline` seconds it stops and
    /// returns the rate so far.
    static func ringRate<R: SPSCRingContract>(_: R.Type, messages: Int, size: Int = 64, blockBytes: Int = 1 << 20,
                                              deadline: Double = 60) throws -> Double {
        let memory = try labSharedBlock(bytes: blockBytes)
        defer { labUnmap(memory) }
        let ring = try attempt("LockFreeRing(creatingIn: \(blockBytes) bytes)") { try R(creatingIn: memory) }
        let message = [UInt8](repeating: 0x78, count: size)
        let started = monotonicSeconds()
        let producer = try forkChild {
            try attempt("send(\(size) bytes, timeout: \(Int(deadline) + 10))") {
                for _ in 0..<messages { try ring.send(message, timeout: deadline + 10) }
            }
            return 0
        }
        var received = 0
        while received < messages {
            do {
                let got = try ring.receive(timeout: 1)
                guard got.count == size else {
                    kill(producer, SIGKILL)
                    throw CheckFailure("receive returned \(got.count) bytes", expected: "the \(size)-byte message sent")
                }
                received += 1
                if received & 4095 == 0 && monotonicSeconds() - started > deadline { break }
            } catch RingError.empty {
                var status: Int32 = 0
                if waitpid(producer, &status, WNOHANG) == producer {
                    throw CheckFailure("the producer process ended (\(ProcessEnd(waitStatus: status))) after \(received) of \(messages) messages",
                                       expected: "it sends every message")
                }
                if monotonicSeconds() - started > deadline { break }
            }
        }
        let elapsed = monotonicSeconds() - started
        if received < messages { kill(producer, SIGKILL) }
        let end = try waitForProcess(producer)
        if received == messages && end != .exited(0) {
            throw CheckFailure("the producer process ended with \(end)", expected: "exit 0 after sending every message")
        }
        return Double(received) / elapsed
    }
}
