import Glibc

/// Lesson 10's measurements for `lab bench` (`lab __peer 10 bench IMPLEMENTATION`): 64-byte
/// messages per second through the ring (one producer process, one consumer process), one message
/// at a time and in batches (`trySend(batch:)`, `tryReceive(upTo:)`: one store of tail and of head
/// per batch), beside a raw pipe (the baseline), lesson 05's reference queue and CPython's
/// `multiprocessing.Queue`, in the same run; and two processes' counters on one cache line
/// against a line each, timed while both run.
enum RingBench {
    /// The messages of one `send(batch:)` in the batched measurement.
    static let batch = 32

    static func run<R: SPSCRingContract>(_: R.Type, queue: any SharedQueueContract.Type, _ arguments: [String]) throws -> Int32 {
        try BenchPeer.run(measurements(R.self, queue: queue), arguments: arguments)
    }

    static func measurements<R: SPSCRingContract>(_: R.Type, queue: any SharedQueueContract.Type) -> [BenchMeasurement] {
        [BenchMeasurement("ring", "lock-free ring: 64-byte messages, 1 producer process → 1 consumer process") { run in
            run.declare("ring.rate", "your ring: trySend, receive (an array) per message", unit: "msg/s", higherIsBetter: true,
                        baseline: "ring.pipe", python: "ring.python")
            run.declare("ring.batch", "your ring: trySend(batch: \(batch)), tryReceive(upTo:) in place", unit: "msg/s",
                        higherIsBetter: true, baseline: "ring.pipe", python: "ring.python")
            run.declare("ring.pipe", "raw pipe, one write() per message (baseline)", unit: "msg/s", higherIsBetter: true, role: .baseline)
            run.declare("ring.queue05", "lesson 05's queue (the reference: mutex and condition variables)", unit: "msg/s",
                        higherIsBetter: true, role: .baseline, baseline: "ring.pipe")
            run.declare("ring.python", "Python multiprocessing.Queue", unit: "msg/s", higherIsBetter: true, role: .python)
            // Counts that give each body a similar share of the time: the pipe and lesson 05's
            // queue move about a million messages a second here, the ring several times that, and
            // in batches tens of times.
            let slow = run.pick(quick: 100_000, full: 400_000), messages = run.pick(quick: 400_000, full: 2_000_000)
            var bodies: [() throws -> Double] = [{ try QueueBench.pipeRate(messages: slow, size: 64) },
                                                 { try queueRate(queue, messages: slow) }]
            // The batched functions are tried in a child first: a todo() there ends the child, and
            // that row is "not started" while the others are still measured.
            let batched = run.implementation && batchWorks(R.self)
            if run.implementation { bodies.append({ try ringRate(R.self, messages: messages) }) }
            if batched { bodies.append({ try ringRate(R.self, messages: 2 * messages, batch: batch) }) }
            let rates = try BenchRepeat.inTurns(run.repetitions, bodies)
            run.record("ring.pipe", rates[0])
            run.record("ring.queue05", rates[1])
            if run.implementation { run.record("ring.rate", rates[2]) }
            if batched { run.record("ring.batch", rates[3]) }
            run.measurePython(QueueBench.pythonScript, ["\(run.pick(quick: 20_000, full: 50_000))", "\(run.repetitions)"],
                              names: ["ring.python": "rate"])
        },
        BenchMeasurement("false-sharing", "two processes on two CPUs, an atomic add each to its own counter, timed while both run: one cache line or a line each") { run in
            run.declare("false-sharing.padded", "counters 128 bytes apart (a line each)", unit: "M adds/s", higherIsBetter: true,
                        role: .baseline, baseline: "false-sharing.packed")
            run.declare("false-sharing.packed", "counters 8 bytes apart (one line)", unit: "M adds/s", higherIsBetter: true, role: .baseline)
            guard Lesson10.allowedCPUs().count >= 2 else {
                for key in ["false-sharing.packed", "false-sharing.padded"] {
                    run.skip(key, "this process may use one CPU only: two processes never run at once, and a line shared by them never bounces")
                }
                return
            }
            var runs: [(packed: Lesson10.CounterRun, padded: Lesson10.CounterRun)] = []
            for round in 0...run.repetitions {                         // round 0: the warm-up
                let pair = (try Lesson10.counterRun(apart: 8, seconds: run.pick(quick: 0.5, full: 1)),
                            try Lesson10.counterRun(apart: 128, seconds: run.pick(quick: 0.5, full: 1)))
                if round > 0 { runs.append(pair) }
            }
            let share = runs.map { ($0.packed.concurrentShare + $0.padded.concurrentShare) / 2 }.reduce(0, +) / Double(runs.count)
            let note = "chunks of \(Lesson10.CounterRun.chunk) adds timed while the other process advanced too: \(Int((share * 100).rounded()))% of them"
            for (key, rates) in [("false-sharing.packed", runs.compactMap { $0.packed.nanosecondsPerAdd.map { 1e3 / $0 } }),
                                 ("false-sharing.padded", runs.compactMap { $0.padded.nanosecondsPerAdd.map { 1e3 / $0 } })] {
                if rates.isEmpty { run.skip(key, "the two processes were never on CPUs at once (\(note))") } else { run.record(key, rates, note: note) }
            }
        }]
    }

    static func queueRate(_ queue: any SharedQueueContract.Type, messages: Int) throws -> Double {
        func open<Q: SharedQueueContract>(_: Q.Type) throws -> Double { try QueueBench.throughput(Q.self, messages: messages) }
        return try open(queue)
    }

    /// Whether `trySend(batch:_:)` and `tryReceive(upTo:_:)` run: tried in a forked child on a
    /// small ring, so that a `todo()` ends the child only.
    static func batchWorks<R: SPSCRingContract>(_: R.Type) -> Bool {
        guard let child = try? forkChild({
            let memory = try labSharedBlock(bytes: 4096)
            let ring = try R(creatingIn: memory)
            guard try ring.trySend(batch: [1, 2], { _, _ in }) == 2 else { return 1 }
            return try ring.tryReceive(upTo: 4, { _ in }) == 2 ? 0 : 1
        }) else { return false }
        return waitForProcess(child, timeout: 10) == .exited(0)
    }

    /// Messages per second through a new `R` in a 1 MiB block: a forked producer sends `messages`
    /// messages of `size` bytes, this process receives them. `batch` 1: one `trySend(count:_:)`
    /// per message and one `receive(timeout:)` (a new array) per message; otherwise
    /// `trySend(batch:_:)` of `batch` messages and `tryReceive(upTo: 2 × batch)` in place, with
    /// `receive(timeout:)` (asleep) when the ring is empty. The producer retries a full ring as the
    /// given `send` does (spins, yields, naps 50 µs). After `deadline` seconds it stops and
    /// returns the rate so far.
    static func ringRate<R: SPSCRingContract>(_: R.Type, messages: Int, batch: Int = 1, size: Int = 64, blockBytes: Int = 1 << 20,
                                              deadline: Double = 60) throws -> Double {
        let memory = try labSharedBlock(bytes: blockBytes)
        defer { labUnmap(memory) }
        let ring = try attempt("LockFreeRing(creatingIn: \(blockBytes) bytes)") { try R(creatingIn: memory) }
        let message = [UInt8](repeating: 0x78, count: size)
        let started = monotonicSeconds()
        let producer = try forkChild {
            let giveUp = monotonicSeconds() + deadline + 10
            var tries = 0
            /// After a full ring: spin, then yield, then nap, as `send` does.
            func backOff() throws {
                tries += 1
                if tries < 64 { return }
                if tries & 63 == 0 && monotonicSeconds() > giveUp { throw RingError.full }
                if tries < 1024 { sched_yield() } else { usleep(50) }
            }
            let call = batch > 1 ? "trySend(batch: \(batch) × \(size) bytes)" : "trySend(count: \(size))"
            try attempt(call) {
                try message.withUnsafeBytes { source in
                    if batch > 1 {
                        let counts = [Int](repeating: size, count: batch)
                        var sent = 0
                        while sent < messages {
                            let written = try ring.trySend(batch: messages - sent >= batch ? counts : Array(counts[0..<(messages - sent)])) { _, bytes in
                                bytes.copyMemory(from: source)
                            }
                            if written > 0 { sent += written; tries = 0 } else { try backOff() }
                        }
                    } else {
                        for _ in 0..<messages {
                            tries = 0
                            while try !ring.trySend(count: size, { $0.copyMemory(from: source) }) { try backOff() }
                        }
                    }
                }
            }
            return 0
        }
        var received = 0
        var wrongSize: Int? = nil
        while received < messages && wrongSize == nil {
            do {
                if batch > 1 {
                    let taken = try ring.tryReceive(upTo: 2 * batch) { bytes in if bytes.count != size { wrongSize = bytes.count } }
                    received += taken
                    if taken > 0 {
                        if received & 4095 < taken && monotonicSeconds() - started > deadline { break }
                        continue
                    }
                }
                let got = try ring.receive(timeout: 1)
                if got.count != size { wrongSize = got.count }
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
        if let wrongSize {
            kill(producer, SIGKILL)
            _ = try? waitForProcess(producer)
            throw CheckFailure("a message of \(wrongSize) bytes arrived", expected: "the \(size)-byte message sent")
        }
        if received < messages { kill(producer, SIGKILL) }
        let end = try waitForProcess(producer)
        if received >= messages && end != .exited(0) {
            throw CheckFailure("the producer process ended with \(end)", expected: "exit 0 after sending every message")
        }
        return Double(received) / elapsed
    }
}
