import Glibc

extension Lesson08 {
    /// `lab __peer 8 bench IMPLEMENTATION [MiB]`: measures an implementation of the contract and
    /// prints a table and one JSON line (`{"bench":"shared-arrays",…}`). Not a test: figures only.
    ///
    /// 1. Bulk copy into and out of a warm shared array (`copy(_:into:)` both ways) against a plain
    ///    `memcpy` of the same size between two warm private buffers, in the same run.
    /// 2. `parallelSum` of 16 Mi Float64 with 1 worker and with 2 workers.
    /// 3. Moving N bytes to another (already running) process: through a pipe, through a fresh
    ///    segment (create, copy in, the reader attaches and reads it, unlink) and through a segment
    ///    created once and reused (copy in, the reader reads).
    /// Times are the median of several rounds (and the best, for the copies).
    ///
    /// Run it under the lab's machine lock, like a part (`flock /dev/shm lab __peer 8 bench
    /// solution`): a part running meanwhile would take the bench's segments for its own leftovers
    /// and remove them.
    static func bench<L: SharedArraysContract>(_: L.Type, _ arguments: [String]) throws -> Int32 {
        let copyMiB = max(1, Int(arguments.first ?? "") ?? 64)
        var names: [String] = []
        defer { for name in names { SharedSegment.unlinkIfPresent(name) } }
        func newName() -> String {
            let name = SharedSegment.uniqueName()
            names.append(name)
            return name
        }
        func timed(_ rounds: Int, _ body: () throws -> Void) rethrows -> (median: Double, best: Double) {
            var times: [Double] = []
            for _ in 0..<rounds {
                let start = monotonicSeconds()
                try body()
                times.append(monotonicSeconds() - start)
            }
            times.sort()
            return (times[times.count / 2], times[0])
        }
        func gibs(_ bytes: Int, _ seconds: Double) -> Double { Double(bytes) / seconds / Double(1 << 30) }
        func fixed(_ value: Double, _ digits: Int) -> String {
            var scale = 1.0
            for _ in 0..<digits { scale *= 10 }
            let rounded = (value * scale).rounded() / scale
            var text = "\(rounded)"
            if text.contains("e") { return text }
            if !text.contains(".") { text += "." }
            let decimals = text.split(separator: ".", omittingEmptySubsequences: false)[1].count
            return text + String(repeating: "0", count: max(0, digits - decimals))
        }

        // 1. Bulk copy of a warm array against memcpy.
        let count = copyMiB << 20 / 8
        let bytes = count * 8
        let array = try L.create(Double.self, shape: [count], name: newName())
        let source = (0..<count).map(Double.init)
        var destination = [Double](repeating: 0, count: count)
        var scratch = [Double](repeating: 1, count: count)
        try L.copy(source, into: array)                       // first touch: every page faulted in
        try L.copy(array, into: &destination)
        // The three copies take turns round by round, so that a busy moment of the machine
        // hits all of them alike.
        let rounds = 12
        var plainTimes: [Double] = [], intoTimes: [Double] = [], outTimes: [Double] = []
        for _ in 0..<rounds {
            plainTimes.append(timed(1) {
                source.withUnsafeBytes { from in
                    scratch.withUnsafeMutableBytes { to in _ = memcpy(to.baseAddress!, from.baseAddress!, bytes) }
                }
            }.best)
            intoTimes.append(try timed(1) { try L.copy(source, into: array) }.best)
            outTimes.append(try timed(1) { try L.copy(array, into: &destination) }.best)
        }
        func summary(_ times: [Double]) -> (median: Double, best: Double) {
            let sorted = times.sorted()
            return (sorted[sorted.count / 2], sorted[0])
        }
        let plain = summary(plainTimes), into = summary(intoTimes), outOf = summary(outTimes)
        precondition(destination == source && scratch == source, "the copies did not copy")

        // 2. Parallel sum, 1 and 2 workers.
        let side = 4096
        let sumArray = try L.create(Double.self, shape: [side, side], name: newName())
        try L.copy((0..<(side * side)).map { Double($0 % 1000) * 0.001 + 0.25 }, into: sumArray)
        _ = try L.parallelSum(sumArray, workers: 1)             // warm
        let one = try timed(5) { _ = try L.parallelSum(sumArray, workers: 1) }
        let two = try timed(5) { _ = try L.parallelSum(sumArray, workers: 2) }

        // 3. One-off transfers to a running reader: pipe, fresh segment, reused segment.
        let sizes = [64 << 10, 1 << 20, 16 << 20, 64 << 20]
        let transfers = try transferBench(L.self, sizes: sizes, newName: newName, timed: timed)

        #if DEBUG
        let build = "debug"
        #else
        let build = "release"
        #endif
        print("lesson 08 bench (\(L.self), \(build) build), \(copyMiB) MiB copies, best of \(rounds) (median in brackets)")
        if build == "debug" { print("  (a debug build: loops are not optimised; swift build -c release for figures)") }
        print("  memcpy, private → private     \(fixed(gibs(bytes, plain.best), 2)) GiB/s  [\(fixed(gibs(bytes, plain.median), 2))]")
        print("  copy into the shared array    \(fixed(gibs(bytes, into.best), 2)) GiB/s  [\(fixed(gibs(bytes, into.median), 2))]  \(fixed(plain.best / into.best, 2))× memcpy")
        print("  copy out of the shared array  \(fixed(gibs(bytes, outOf.best), 2)) GiB/s  [\(fixed(gibs(bytes, outOf.median), 2))]  \(fixed(plain.best / outOf.best, 2))× memcpy")
        print("parallelSum of 16 Mi Float64, median of 5")
        print("  1 worker   \(fixed(one.median * 1000, 1)) ms")
        print("  2 workers  \(fixed(two.median * 1000, 1)) ms   speed-up \(fixed(one.median / two.median, 2))×")
        print("moving N bytes to a running process, median (µs): pipe | fresh segment | reused segment")
        for t in transfers {
            print("  \(String(t.bytes >> 10).leftAligned(6)) KiB   \(fixed(t.pipe * 1e6, 0).leftAligned(9)) \(fixed(t.fresh * 1e6, 0).leftAligned(9)) \(fixed(t.reused * 1e6, 0))")
        }
        let transferJSON = transfers.map {
            "{\"bytes\":\($0.bytes),\"pipe_us\":\(fixed($0.pipe * 1e6, 1)),\"fresh_segment_us\":\(fixed($0.fresh * 1e6, 1)),\"reused_segment_us\":\(fixed($0.reused * 1e6, 1))}"
        }.joined(separator: ",")
        print("{\"bench\":\"shared-arrays\",\"lesson\":8,\"implementation\":\"\(L.self)\",\"build\":\"\(build)\","
            + "\"copy\":{\"bytes\":\(bytes),\"rounds\":\(rounds),\"memcpy_gibs\":\(fixed(gibs(bytes, plain.best), 3)),"
            + "\"into_gibs\":\(fixed(gibs(bytes, into.best), 3)),\"out_of_gibs\":\(fixed(gibs(bytes, outOf.best), 3)),"
            + "\"into_vs_memcpy\":\(fixed(plain.best / into.best, 3)),\"out_of_vs_memcpy\":\(fixed(plain.best / outOf.best, 3))},"
            + "\"sum\":{\"elements\":\(side * side),\"one_worker_ms\":\(fixed(one.median * 1000, 2)),"
            + "\"two_workers_ms\":\(fixed(two.median * 1000, 2)),\"speedup\":\(fixed(one.median / two.median, 3))},"
            + "\"transfer\":[\(transferJSON)]}")
        return 0
    }

    /// What the bench's reader process is asked to do.
    enum TransferMode: UInt32 { case quit = 0, pipe = 1, fresh = 2, attach = 3, reused = 4 }

    struct TransferTimes {
        let bytes: Int
        let pipe: Double
        let fresh: Double
        let reused: Double
    }

    /// Part 3 of the bench: a reader process started once serves every request, so that no fork is
    /// timed. Requests go through a control block (sequence flags, mode, size, segment name).
    static func transferBench<L: SharedArraysContract>(_: L.Type, sizes: [Int], newName: () -> String,
                                                       timed: (Int, () throws -> Void) throws -> (median: Double, best: Double)) throws -> [TransferTimes] {
        let control = try labSharedBlock(bytes: 4096)
        defer { labUnmap(control) }
        let request = SharedFlag(at: control.baseAddress!)
        let done = SharedFlag(at: control.baseAddress! + 4)
        let largest = sizes.max()!
        let pipe = try Descriptor.pipe()
        var sequence: UInt32 = 0

        func send(_ mode: TransferMode, size: Int = 0, name: String = "") throws {
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
                    throw CheckFailure("bench: the reader process ended (\(ProcessEnd(waitStatus: status))) during request \(sequence)")
                }
            }
        }

        reader = try forkChild {
            do {
                Descriptor.close(pipe.write)
                let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: largest, alignment: 64)
                buffer.initializeMemory(as: UInt8.self, repeating: 0)     // faulted in before any timing
                var attached: [Int: SharedArray<Double>] = [:]
                var seen: UInt32 = 0
                func sum(_ elements: UnsafeRawPointer, _ size: Int) -> Double {
                    var total = 0.0
                    for x in UnsafeBufferPointer(start: elements.assumingMemoryBound(to: Double.self), count: size / 8) { total += x }
                    return total
                }
                while true {
                    seen += 1
                    guard request.wait(for: seen, timeout: 120) else { return 2 }
                    let mode = TransferMode(rawValue: control.load(fromByteOffset: 8, as: UInt32.self)) ?? .quit
                    let size = Int(control.load(fromByteOffset: 16, as: Int64.self))
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
                        result = sum(buffer.baseAddress!, size)
                    case .fresh:
                        let array = try L.attach(Double.self, shape: nil, name: name)
                        result = sum(array.segment.bytes.baseAddress! + SharedArrayLayout.headerSize, size)
                    case .attach:
                        let array = try L.attach(Double.self, shape: nil, name: name)
                        attached[size] = array
                        result = sum(array.segment.bytes.baseAddress! + SharedArrayLayout.headerSize, size)   // touch every page once
                    case .reused:
                        guard let array = attached[size] else { return 4 }
                        result = sum(array.segment.bytes.baseAddress! + SharedArrayLayout.headerSize, size)
                    }
                    control.storeBytes(of: result, toByteOffset: 24, as: Double.self)
                    done.value = seen
                }
            } catch {
                Console.err("bench reader: \(error)\n")   // outside a part nobody else would say it
                return 1
            }
        }
        Descriptor.close(pipe.read)
        defer {
            try? send(.quit)
            Descriptor.close(pipe.write)
            _ = waitForProcess(reader, timeout: 10)
        }

        var results: [TransferTimes] = []
        for size in sizes {
            let values = (0..<(size / 8)).map { Double($0 & 1023) }
            let rounds = max(5, min(100, (256 << 20) / size))
            let viaPipe = try timed(rounds) {
                try send(.pipe, size: size)
                try values.withUnsafeBytes { try Descriptor.writeAll(pipe.write, $0) }
                try awaitDone()
            }
            let viaFresh = try timed(rounds) {
                let name = SharedSegment.uniqueName()
                defer { SharedSegment.unlinkIfPresent(name) }
                let array = try L.create(Double.self, shape: [size / 8], name: name)
                try L.copy(values, into: array)
                try send(.fresh, size: size, name: name)
                try awaitDone()
            }
            let warm = try L.create(Double.self, shape: [size / 8], name: newName())
            try L.copy(values, into: warm)
            try send(.attach, size: size, name: warm.name)
            try awaitDone()
            let viaReused = try timed(rounds) {
                try L.copy(values, into: warm)
                try send(.reused, size: size)
                try awaitDone()
            }
            results.append(TransferTimes(bytes: size, pipe: viaPipe.median, fresh: viaFresh.median, reused: viaReused.median))
        }
        return results
    }
}

fileprivate extension String {
    /// The string padded with spaces on the right to `width` characters.
    func leftAligned(_ width: Int) -> String { count >= width ? self : self + String(repeating: " ", count: width - count) }
}
