import Glibc

/// Lesson 08's measurements for `lab bench` (`lab __peer 8 bench IMPLEMENTATION`):
///
/// 1. `array-copy`: bulk copy into and out of a warm shared array (`copy(_:into:)` both ways)
///    against a plain `memcpy` of the same size between two warm private buffers, in turns;
///    CPython's `SharedMemory` buffer copied the same way.
/// 2. `array-element`: one element at a time (`element(at:)`, `setElement`) against a raw pointer
///    load; CPython's `ShareableList`, a `memoryview` over `SharedMemory`, and a Manager list —
///    the claim of the post "Using skills of python multi process shared variables" that
///    ShareableList beats a Manager list by about 10×.
/// 3. `transfer-64k`, `transfer-4m`: moving N bytes to another, already running process: through a
///    pipe, through a fresh segment (create, copy in, the reader attaches and reads it, unlink) and
///    through a segment created once and reused (copy in, the reader reads).
enum ArraysBench {
    static func measurements<L: SharedArraysContract>(_: L.Type) -> [BenchMeasurement] {
        [
            BenchMeasurement("array-copy", "bulk copy of 64 MiB of Float64") { run in try copy(L.self, run) },
            BenchMeasurement("array-element", "element access, one Float64 at a time") { run in try elements(L.self, run) },
            BenchMeasurement("transfer-64k", "64 KiB to a running process: pipe or segment") { run in
                try transfer(L.self, run, bytes: 64 << 10, name: "64 KiB")
            },
            BenchMeasurement("transfer-4m", "4 MiB to a running process: pipe or segment") { run in
                try transfer(L.self, run, bytes: 4 << 20, name: "4 MiB")
            },
        ]
    }

    /// Names made by a measurement, unlinked when it ends (even when the implementation threw).
    final class Names {
        private(set) var made: [String] = []
        func next() -> String {
            let name = SharedSegment.uniqueName()
            made.append(name)
            return name
        }
        deinit { for name in made { SharedSegment.unlinkIfPresent(name) } }
    }

    static func gibs(_ bytes: Int, _ seconds: Double) -> Double { Double(bytes) / seconds / Double(1 << 30) }

    // MARK: - Bulk copy

    static func copy<L: SharedArraysContract>(_: L.Type, _ run: BenchRun) throws {
        run.declare("array-copy.into", "your copy(_:into:) into the shared array", unit: "GiB/s", higherIsBetter: true,
                    baseline: "array-copy.memcpy", python: "array-copy.python-into")
        run.declare("array-copy.out", "your copy(_:into:) out of the shared array", unit: "GiB/s", higherIsBetter: true,
                    baseline: "array-copy.memcpy", python: "array-copy.python-out")
        run.declare("array-copy.memcpy", "memcpy, private → private (baseline)", unit: "GiB/s", higherIsBetter: true, role: .baseline)
        run.declare("array-copy.python-into", "Python SharedMemory: shm.buf[:] = bytes", unit: "GiB/s", higherIsBetter: true, role: .python)
        run.declare("array-copy.python-out", "Python SharedMemory: bytearray[:] = shm.buf", unit: "GiB/s", higherIsBetter: true, role: .python)
        let rates = try copyRates(L.self, bytes: 64 << 20, rounds: run.repetitions, implementation: run.implementation)
        run.record("array-copy.memcpy", rates.memcpy)
        run.record("array-copy.into", rates.into)
        run.record("array-copy.out", rates.outOf)
        run.measurePython(pythonCopyScript, ["\(64 << 20)", "\(run.repetitions)"],
                          names: ["array-copy.python-into": "into", "array-copy.python-out": "out"])
    }

    /// GiB/s of `bytes` of Float64 copied by `memcpy` between two warm private buffers, into a
    /// warm shared array and out of it, the three in turns round by round (so that a busy moment
    /// of the machine hits all of them alike), after one warm-up round that faults every page in.
    static func copyRates<L: SharedArraysContract>(_: L.Type, bytes: Int, rounds: Int, implementation: Bool = true) throws
        -> (memcpy: [Double], into: [Double], outOf: [Double]) {
        let names = Names()
        let count = bytes / 8
        // Filled by the standard library (fast in a debug build too), with a few marks to check.
        var source = [Double](repeating: 0.25, count: count)
        for i in stride(from: 0, to: count, by: count / 64) { source[i] = Double(i) }
        var scratch = [Double](repeating: 1, count: count)
        var bodies: [() throws -> Double] = [{
            gibs(bytes, BenchRepeat.seconds {
                source.withUnsafeBytes { from in
                    scratch.withUnsafeMutableBytes { to in _ = memcpy(to.baseAddress!, from.baseAddress!, bytes) }
                }
            })
        }]
        var destination: [Double] = []
        if implementation {
            let array = try attempt("create(Double.self, shape: [\(count)], name:)", look: Lesson08.look("create(_:shape:name:)")) {
                try L.create(Double.self, shape: [count], name: names.next())
            }
            destination = [Double](repeating: 0, count: count)
            bodies.append({ gibs(bytes, try BenchRepeat.seconds { try attempt("copy(_:into:)", look: Lesson08.look("copy(_:into:)")) { try L.copy(source, into: array) } }) })
            bodies.append({ gibs(bytes, try BenchRepeat.seconds { try attempt("copy(_:into:)", look: Lesson08.look("copy(_:into:)")) { try L.copy(array, into: &destination) } }) })
        }
        let rates = try BenchRepeat.inTurns(rounds, bodies)
        func same(_ a: [Double], _ b: [Double]) -> Bool {
            a.count == b.count && a.withUnsafeBytes { x in b.withUnsafeBytes { y in memcmp(x.baseAddress!, y.baseAddress!, x.count) == 0 } }
        }
        guard same(scratch, source), !implementation || same(destination, source) else {
            throw CheckFailure("the copies did not copy", expected: "the shared array and the copy out hold what was copied in",
                               look: Lesson08.look("copy(_:into:)"))
        }
        return (rates[0], implementation ? rates[1] : [], implementation ? rates[2] : [])
    }

    static let pythonCopyScript = """
        import json, sys, time
        from multiprocessing import shared_memory
        n, reps = int(sys.argv[1]), int(sys.argv[2])
        data = bytes(range(256)) * (n // 256)
        out = bytearray(n)
        shm = shared_memory.SharedMemory(create=True, size=n)
        try:
            def into():
                t = time.perf_counter()
                shm.buf[:n] = data
                return n / (time.perf_counter() - t) / (1 << 30)
            def out_of():
                t = time.perf_counter()
                out[:] = shm.buf[:n]
                return n / (time.perf_counter() - t) / (1 << 30)
            into(); out_of()
            values = {"into": [], "out": []}
            for _ in range(reps):
                values["into"].append(into())
                values["out"].append(out_of())
            assert out == data
        finally:
            shm.close()
            shm.unlink()
        print(json.dumps(values))
        """

    // MARK: - Element access

    static func elements<L: SharedArraysContract>(_: L.Type, _ run: BenchRun) throws {
        run.declare("array-element.read", "your element(at:)", unit: "ns", higherIsBetter: false,
                    baseline: "array-element.raw", python: "array-element.python-list")
        run.declare("array-element.write", "your setElement(_:at:)", unit: "ns", higherIsBetter: false,
                    baseline: "array-element.raw", python: "array-element.python-list-write")
        run.declare("array-element.raw", "raw pointer load (baseline)", unit: "ns", higherIsBetter: false, role: .baseline)
        run.declare("array-element.python-list", "Python ShareableList: sl[i]", unit: "ns", higherIsBetter: false, role: .python)
        run.declare("array-element.python-list-write", "Python ShareableList: sl[i] = x", unit: "ns", higherIsBetter: false, role: .python)
        run.declare("array-element.python-memoryview", "Python memoryview of SharedMemory: mv[i]", unit: "ns", higherIsBetter: false, role: .python)
        run.declare("array-element.python-manager", "Python Manager list: ml[i]", unit: "ns", higherIsBetter: false, role: .python)

        let names = Names()
        let side = 4096, accesses = run.pick(quick: 50_000, full: 1_000_000)
        let block = UnsafeMutableBufferPointer<Double>.allocate(capacity: side)
        block.initialize(repeating: 0.5)
        defer { block.deallocate() }
        var sink = 0.0
        func nanoseconds(_ body: () throws -> Void) rethrows -> Double { try BenchRepeat.seconds(body) / Double(accesses) * 1e9 }
        var bodies: [() throws -> Double] = [{
            nanoseconds { for i in 0..<accesses { sink += block[i & (side - 1)] } }
        }]
        if run.implementation {
            let array = try L.create(Double.self, shape: [side], name: names.next())
            bodies.append({ try nanoseconds { for i in 0..<accesses { sink += try L.element(at: [i & (side - 1)], of: array) } } })
            bodies.append({ try nanoseconds { for i in 0..<accesses { try L.setElement(1.5, at: [i & (side - 1)], of: array) } } })
        }
        let times = try BenchRepeat.inTurns(run.repetitions, bodies)
        if sink.isNaN { Console.out("") }          // keeps the loops' loads from being optimised away
        run.record("array-element.raw", times[0])
        if run.implementation {
            run.record("array-element.read", times[1])
            run.record("array-element.write", times[2])
        }
        run.measurePython(pythonElementScript, ["\(run.pick(quick: 20_000, full: 50_000))", "\(run.pick(quick: 500, full: 1_000))", "\(run.repetitions)"],
                          names: ["array-element.python-list": "list", "array-element.python-list-write": "list_write",
                                  "array-element.python-memoryview": "memoryview", "array-element.python-manager": "manager"])
    }

    /// `N M REPS`: ns per access, N accesses (M for the Manager list, whose every access is a
    /// request and a reply to its server process).
    static let pythonElementScript = """
        import json, sys, time
        import multiprocessing as mp
        from multiprocessing import shared_memory
        n, m, reps = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
        side = 4096

        def per_access(body, count):
            t = time.perf_counter()
            body(count)
            return (time.perf_counter() - t) / count * 1e9

        def list_read(sl):
            def body(count):
                for i in range(count):
                    sl[i & 4095]
            return body

        def list_write(sl):
            def body(count):
                for i in range(count):
                    sl[i & 4095] = 1.5
            return body

        values = {"list": [], "list_write": [], "memoryview": [], "manager": []}
        sl = shared_memory.ShareableList([0.5] * side)
        shm = shared_memory.SharedMemory(create=True, size=8 * side)
        mv = shm.buf.cast("d")
        try:
            with mp.get_context("fork").Manager() as manager:
                ml = manager.list([0.5] * side)
                bodies = [("list", list_read(sl), n), ("list_write", list_write(sl), n),
                          ("memoryview", list_read(mv), n), ("manager", list_read(ml), m)]
                for _, body, count in bodies:
                    per_access(body, count)
                for _ in range(reps):
                    for name, body, count in bodies:
                        values[name].append(per_access(body, count))
        finally:
            mv.release()
            shm.close(); shm.unlink()
            sl.shm.close(); sl.shm.unlink()
        print(json.dumps(values))
        """

    // MARK: - One-off transfers

    static func transfer<L: SharedArraysContract>(_: L.Type, _ run: BenchRun, bytes: Int, name: String) throws {
        let key = run.measurement
        run.declare("\(key).fresh", "\(name) in a fresh segment: create, copy, attach, read, unlink", unit: "µs",
                    higherIsBetter: false, baseline: "\(key).pipe")
        run.declare("\(key).reused", "\(name) in a segment made once: copy, read", unit: "µs", higherIsBetter: false,
                    baseline: "\(key).pipe")
        run.declare("\(key).pipe", "\(name) through a pipe: write, read (baseline)", unit: "µs", higherIsBetter: false, role: .baseline)
        let times = try transferTimes(L.self, bytes: bytes, rounds: run.pick(quick: 10, full: 50), implementation: run.implementation)
        run.record("\(key).pipe", times.pipe.map { $0 * 1e6 })
        run.record("\(key).fresh", times.fresh.map { $0 * 1e6 })
        run.record("\(key).reused", times.reused.map { $0 * 1e6 })
    }

    /// What the reader process is asked to do.
    enum TransferMode: UInt32 { case quit = 0, pipe = 1, fresh = 2, attach = 3, reused = 4 }

    /// Seconds to move `bytes` to a reader process started once (so that no fork is timed), which
    /// reads every byte (sums them) and says done. Requests go through a control block (sequence
    /// flags, mode, size, segment name). Each way is timed `rounds` times after a warm-up.
    static func transferTimes<L: SharedArraysContract>(_: L.Type, bytes size: Int, rounds: Int, implementation: Bool)
        throws -> (pipe: [Double], fresh: [Double], reused: [Double]) {
        let names = Names()
        let control = try labSharedBlock(bytes: 4096)
        defer { labUnmap(control) }
        let request = SharedFlag(at: control.baseAddress!)
        let done = SharedFlag(at: control.baseAddress! + 4)
        let pipe = try Descriptor.pipe()
        var sequence: UInt32 = 0

        func send(_ mode: TransferMode, name: String = "") {
            control.storeBytes(of: mode.rawValue, toByteOffset: 8, as: UInt32.self)
            control.storeBytes(of: Int64(size), toByteOffset: 16, as: Int64.self)
            let utf8 = Array(name.utf8) + [0]
            control.baseAddress!.advanced(by: 64).copyMemory(from: utf8, byteCount: utf8.count)
            sequence += 1
            request.value = sequence
        }
        var reader: pid_t = 0
        func awaitDone() throws {
            while !done.wait(for: sequence, timeout: 1) {
                var status: Int32 = 0
                if waitpid(reader, &status, WNOHANG) == reader {
                    throw CheckFailure("the reader process ended (\(ProcessEnd(waitStatus: status))) during request \(sequence)")
                }
            }
        }

        reader = try forkChild {
            Descriptor.close(pipe.write)
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: size, alignment: 64)
            buffer.initializeMemory(as: UInt8.self, repeating: 0)     // faulted in before any timing
            var attached: SharedArray<Double>? = nil
            var seen: UInt32 = 0
            func sum(_ elements: UnsafeRawPointer) -> Double {
                var total = 0.0
                for x in UnsafeBufferPointer(start: elements.assumingMemoryBound(to: Double.self), count: size / 8) { total += x }
                return total
            }
            func sum(_ array: SharedArray<Double>) -> Double {
                withExtendedLifetime(array) { sum(UnsafeRawPointer(array.segment.bytes.baseAddress! + SharedArrayLayout.headerSize)) }
            }
            while true {
                seen += 1
                guard request.wait(for: seen, timeout: 120) else { return 2 }
                let mode = TransferMode(rawValue: control.load(fromByteOffset: 8, as: UInt32.self)) ?? .quit
                let name = String(cString: control.baseAddress!.advanced(by: 64).assumingMemoryBound(to: CChar.self))
                var result = 0.0
                switch mode {
                case .quit:
                    return 0
                case .pipe:
                    var got = 0
                    while got < size {
                        let n = read(pipe.read, buffer.baseAddress! + got, size - got)
                        if n <= 0 { return 3 }
                        got += n
                    }
                    result = sum(buffer.baseAddress!)
                case .fresh:
                    result = sum(try L.attach(Double.self, shape: nil, name: name))
                case .attach:
                    let array = try L.attach(Double.self, shape: nil, name: name)
                    attached = array
                    result = sum(array)                     // touches every page once
                case .reused:
                    guard let attached else { return 4 }
                    result = sum(attached)
                }
                control.storeBytes(of: result, toByteOffset: 24, as: Double.self)
                done.value = seen
            }
        }
        Descriptor.close(pipe.read)
        defer {
            send(.quit)
            Descriptor.close(pipe.write)
            _ = waitForProcess(reader, timeout: 10)
        }

        let values = (0..<(size / 8)).map { Double($0 & 1023) }
        var bodies: [() throws -> Double] = [{
            try BenchRepeat.seconds {
                send(.pipe)
                try values.withUnsafeBytes { try Descriptor.writeAll(pipe.write, $0) }
                try awaitDone()
            }
        }]
        if implementation {
            bodies.append({
                try BenchRepeat.seconds {
                    let name = SharedSegment.uniqueName()
                    defer { SharedSegment.unlinkIfPresent(name) }
                    let array = try L.create(Double.self, shape: [size / 8], name: name)
                    try L.copy(values, into: array)
                    send(.fresh, name: name)
                    try awaitDone()
                }
            })
            let warm = try L.create(Double.self, shape: [size / 8], name: names.next())
            try L.copy(values, into: warm)
            send(.attach, name: warm.name)
            try awaitDone()
            bodies.append({
                try BenchRepeat.seconds {
                    try L.copy(values, into: warm)
                    send(.reused)
                    try awaitDone()
                }
            })
        }
        let times = try BenchRepeat.inTurns(rounds, bodies)
        return (times[0], implementation ? times[1] : [], implementation ? times[2] : [])
    }
}
