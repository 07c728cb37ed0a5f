import Glibc

/// Lesson 11's measurement for `lab bench` (`lab __peer 11 bench IMPLEMENTATION`): what it costs to
/// start a worker and hear it end — with `fork`, with the implementation's `spawn` of a small
/// program, and through a fork server — beside CPython's three start methods, in the same run.
enum StartWorkerBench {
    static let pythonScript = """
        import json, multiprocessing as mp, sys, time
        reps, n = int(sys.argv[1]), int(sys.argv[2])

        def noop():
            pass

        def per_start(ctx):
            t = time.perf_counter()
            for _ in range(n):
                p = ctx.Process(target=noop)
                p.start()
                p.join()
            return (time.perf_counter() - t) / n * 1e3

        if __name__ == "__main__":
            result = {}
            for method in ("fork", "spawn", "forkserver"):
                ctx = mp.get_context(method)
                per_start(ctx)                     # warm-up: the fork server starts here
                result[method] = [per_start(ctx) for _ in range(reps)]
            print(json.dumps(result))
        """

    /// The program `spawn` starts: the smallest one on the machine.
    static var smallProgram: String? {
        ["/bin/true", "/usr/bin/true"].first { access($0, X_OK) == 0 }
    }

    static func measurements<L: MemfdSegmentContract>(_: L.Type) -> [BenchMeasurement] {
        [BenchMeasurement("start-worker", "starting a worker: start, run nothing, reap") { run in
            run.declare("start-worker.fork", "fork + _exit + waitpid (baseline)", unit: "ms", higherIsBetter: false,
                        role: .baseline, python: "start-worker.python-fork")
            let program = smallProgram
            run.declare("start-worker.spawn", "your spawn of \(program ?? "/bin/true") (exits at once) + waitpid", unit: "ms", higherIsBetter: false,
                        baseline: "start-worker.fork", python: "start-worker.python-spawn")
            run.declare("start-worker.forkserver", "a fork server's fork, asked over a socket", unit: "ms", higherIsBetter: false,
                        role: .baseline, python: "start-worker.python-forkserver")
            run.declare("start-worker.python-fork", "Python Process, fork: a no-op function", unit: "ms", higherIsBetter: false, role: .python)
            run.declare("start-worker.python-spawn", "Python Process, spawn: a new interpreter, a no-op function", unit: "ms",
                        higherIsBetter: false, role: .python)
            run.declare("start-worker.python-forkserver", "Python Process, forkserver: a no-op function", unit: "ms",
                        higherIsBetter: false, role: .python)

            let count = run.pick(quick: 20, full: 100)
            func milliseconds(_ body: () throws -> Void) rethrows -> Double {
                try BenchRepeat.seconds { for _ in 0..<count { try body() } } / Double(count) * 1e3
            }
            // The fork server: forked now, while this process is small; it forks a worker per byte
            // it reads and answers with one byte when the worker has ended.
            var fds: [Int32] = [-1, -1]
            try valueOrErrno("socketpair") { socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &fds) }
            let server = try forkChild {
                Descriptor.close(fds[0])
                var byte: UInt8 = 0
                while read(fds[1], &byte, 1) == 1 {
                    let worker = fork()
                    if worker == 0 { _exit(0) }
                    var status: Int32 = 0
                    _ = waitpid(worker, &status, 0)
                    _ = write(fds[1], &byte, 1)
                }
                return 0
            }
            Descriptor.close(fds[1])
            defer { Descriptor.close(fds[0]); var status: Int32 = 0; _ = waitpid(server, &status, 0) }

            var bodies: [() throws -> Double] = [
                { milliseconds { fflush(nil); let pid = fork(); if pid == 0 { _exit(0) }; var s: Int32 = 0; _ = waitpid(pid, &s, 0) } },
                { milliseconds { var byte: UInt8 = 1; _ = write(fds[0], &byte, 1); _ = read(fds[0], &byte, 1) } },
            ]
            if run.implementation, let program {
                bodies.append({
                    try milliseconds {
                        let pid = try L.spawn(executable: program, arguments: [])
                        var status: Int32 = 0
                        _ = waitpid(pid, &status, 0)
                    }
                })
            }
            let times = try BenchRepeat.inTurns(run.repetitions, bodies)
            run.record("start-worker.fork", times[0])
            run.record("start-worker.forkserver", times[1])
            if run.implementation {
                if program == nil { run.skip("start-worker.spawn", "no /bin/true on this machine") } else { run.record("start-worker.spawn", times[2]) }
            }
            run.measurePython(pythonScript, ["\(run.repetitions)", "\(run.pick(quick: 2, full: 4))"],
                              names: ["start-worker.python-fork": "fork", "start-worker.python-spawn": "spawn",
                                      "start-worker.python-forkserver": "forkserver"], timeout: 300)
        }]
    }
}
