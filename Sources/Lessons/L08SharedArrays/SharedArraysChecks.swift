import Glibc

extension Lesson08 {
    /// The lesson bound to the student's type, the reference and the mutants.
    /// The student's file, for "look at" lines.
    static let file = "SharedArrays.swift"
    static func look(_ function: String) -> String { "\(function) in \(file)" }

    /// The programs this lesson's checks start as unrelated processes (`lab __peer 8 NAME …`).
    public static var peers: [Peer<any SharedArraysContract.Type>] { [
        Peer("tutorial-reader") { lab, arguments in try tutorialReader(lab, name: arguments.first ?? "") },
        Peer("bench") { lab, arguments in try BenchPeer.run(ArraysBench.measurements(lab), arguments: arguments) },
    ] }

    // MARK: - part 1

    /// Part 1: the tutorial's example: a 100×100 UInt8 array filled with 255, read by another process.
    static func tutorialExample<L: SharedArraysContract>(_: L.Type, _ context: PartContext) throws {
        let name = SharedSegment.uniqueName()
        defer { SharedSegment.unlinkIfPresent(name) }
        let array = try attempt("create(UInt8.self, shape: [100, 100], name:)", look: look("create(_:shape:name:)")) {
            try L.create(UInt8.self, shape: [100, 100], name: name)
        }
        try requireEqual(array.shape, [100, 100], "create returned an array with the wrong shape",
                         look: look("create(_:shape:name:)"))
        // The lab looks at the segment on its own, without the student's code.
        let raw = try attempt("the lab attaching to \(name)") { try SharedSegment.attach(name: name) }
        try requireEqual(raw.bytes.count, SharedArrayLayout.headerSize + 100 * 100,
                         "the segment of a 100×100 UInt8 array has the wrong size",
                         cause: "it must be exactly 64 header bytes + 100 × 100 one-byte elements",
                         look: look("create(_:shape:name:)"))
        try requireHeader(raw.bytes, .uint8, [100, 100])
        if let k = (0..<10_000).first(where: { raw.bytes[SharedArrayLayout.headerSize + $0] != 0 }) {
            throw CheckFailure("a new array is not all zeros", expected: "10000 zero elements",
                               seen: "element \(k) is \(raw.bytes[SharedArrayLayout.headerSize + k])",
                               cause: "create must not write anything past the header",
                               look: look("create(_:shape:name:)"))
        }

        // The post's example: fill with 255.
        try attempt("fill(array, rows: 0..<100) { _ in 255 }", look: look("fill(_:rows:with:)")) {
            try L.fill(array, rows: 0..<100) { _ in 255 }
        }
        if let k = (0..<10_000).first(where: { raw.bytes[SharedArrayLayout.headerSize + $0] != 255 }) {
            throw CheckFailure("fill did not set every element to 255", expected: "bytes 64…10063 all 255",
                               seen: "element \(k) (row \(k / 100), column \(k % 100)) is \(raw.bytes[SharedArrayLayout.headerSize + k])",
                               cause: "the elements start right after the 64-byte header and a band of rows is one contiguous run",
                               look: look("fill(_:rows:with:)"))
        }
        // Row-major: [3, 4] is element 3 × 100 + 4.
        try attempt("setElement(7, at: [3, 4], of:)", look: look("setElement(_:at:of:)")) { try L.setElement(7, at: [3, 4], of: array) }
        let rowMajor = SharedArrayLayout.headerSize + 3 * 100 + 4
        if raw.bytes[rowMajor] != 7 {
            let columnMajor = SharedArrayLayout.headerSize + 4 * 100 + 3
            throw CheckFailure("setElement(7, at: [3, 4]) wrote to the wrong place",
                               expected: "byte 64 + 3 × 100 + 4 = \(rowMajor) is 7 (row-major: the last index varies fastest)",
                               seen: raw.bytes[columnMajor] == 7 ? "byte \(columnMajor) = 64 + 4 × 100 + 3 is 7: that is column-major (Fortran) order"
                                                                 : "byte \(rowMajor) is \(raw.bytes[rowMajor])",
                               cause: "offset(of:shape:) must be ((i0 × n1) + i1): multiply by the next dimension, then add",
                               look: look("offset(of:shape:)"))
        }
        let seven = try attempt("element(at: [3, 4], of:)", look: look("element(at:of:)")) { try L.element(at: [3, 4], of: array) }
        try requireEqual(seven, 7, "element(at: [3, 4]) does not read back what setElement wrote", look: look("element(at:of:)"))

        // Another process, started fresh, attaches by name and reads it; it writes 42 at [99, 0].
        let peer = try context.spawnPeer("tutorial-reader", [name], output: .captureStdout)
        let (output, end) = peer.collectOutput(timeout: 20)
        let said = String(decoding: output, as: UTF8.self).split(separator: "\n").last.map(String.init) ?? ""
        guard let end else {
            throw CheckFailure("the other process did not finish within 20 s", seen: said.isEmpty ? "no output" : said,
                               look: look("attach(_:shape:name:) and element(at:of:)"))
        }
        try requireEqual(end, .exited(0), "the other process (attach + element(at:)) did not end cleanly",
                         cause: "its error, if it threw one, is shown above",
                         look: look("attach(_:shape:name:) and element(at:of:)"))
        try requireEqual(said, "not255=0 at34=7", "another process read something else than the parent wrote",
                         cause: "the other process attaches by name and reads every element with element(at:of:)",
                         look: look("attach(_:shape:name:) and element(at:of:)"))
        if raw.bytes[SharedArrayLayout.headerSize + 99 * 100] != 42 {
            throw CheckFailure("the other process's write did not land at [99, 0]",
                               expected: "byte 64 + 9900 is 42", seen: "it is \(raw.bytes[SharedArrayLayout.headerSize + 9900])",
                               look: look("setElement(_:at:of:)"))
        }

        // Bad input: a clear error, and nothing created.
        let badShapes: [([Int], SharedArrayError)] = [
            ([], .emptyShape), ([0, 5], .invalidShape([0, 5])), ([100, -1], .invalidShape([100, -1])),
            ([1, 1, 1, 1, 1, 1, 1], .invalidShape([1, 1, 1, 1, 1, 1, 1])), ([Int.max, 2], .tooLarge([Int.max, 2])),
            ([Int.max], .tooLarge([Int.max])), ([Int.max - 63], .tooLarge([Int.max - 63])), ([1 << 32, 1 << 31], .tooLarge([1 << 32, 1 << 31])),
        ]
        for (shape, error) in badShapes {
            let badName = SharedSegment.uniqueName()
            defer { SharedSegment.unlinkIfPresent(badName) }
            try expectThrows("create(UInt8.self, shape: \(shape), name:)", expected: "SharedArrayError.\(error)",
                             look: look("create(_:shape:name:)"),
                             cause: "check the shape before creating the segment (multipliedReportingOverflow for the size)",
                             matches: { ($0 as? SharedArrayError) == error }) {
                try L.create(UInt8.self, shape: shape, name: badName)
            }
            if let left = try? SharedSegment.attach(name: badName) {
                throw CheckFailure("create(shape: \(shape)) threw, but left a segment of \(left.bytes.count) bytes behind",
                                   expected: "nothing created for a bad shape", seen: "\(badName) exists",
                                   cause: "validate the shape first, create the segment last", look: look("create(_:shape:name:)"))
            }
        }
        // A taken name: EEXIST, and the array that has it is untouched.
        try expectThrows("create(UInt8.self, shape: [4], name:) with the name of the 100×100 array", expected: "SystemError(\"shm_open\") with EEXIST",
                         look: look("create(_:shape:name:)"),
                         cause: "SharedSegment.create opens with O_EXCL: a taken name is an error, never a reason to remove or reuse the other array",
                         matches: { ($0 as? SystemError)?.errno == EEXIST }) {
            try L.create(UInt8.self, shape: [4], name: name)
        }
        let after = try attempt("the lab attaching to \(name) again") { try SharedSegment.attach(name: name) }
        try require(after.bytes.count == SharedArrayLayout.headerSize + 10_000 && after.bytes[SharedArrayLayout.headerSize] == 255
                    && after.bytes[rowMajor] == 7, CheckFailure(
            "create with a taken name changed the array that had it", expected: "the 100×100 array as it was: 10064 bytes, 255 at [0, 0], 7 at [3, 4]",
            seen: "\(after.bytes.count) bytes", cause: "on EEXIST, throw: do not unlink the segment and create it again",
            look: look("create(_:shape:name:)")))
        for index in [[100, 0], [0, 100], [-1, 0], [0, -1], [-100, 0], [0], [0, 0, 0]] {
            let error = SharedArrayError.indexOutOfRange(index: index, shape: [100, 100])
            try expectThrows("element(at: \(index), of:) on a 100×100 array", expected: "SharedArrayError.\(error)",
                             look: look("offset(of:shape:)"),
                             cause: "check index.count == shape.count and 0 ≤ i < n for every component (no negative indices)",
                             matches: { ($0 as? SharedArrayError) == error }) {
                try L.element(at: index, of: array)
            }
        }
    }

    /// The peer of part 1: attaches by name, reads every element, writes 42 at [99, 0].
    static func tutorialReader<L: SharedArraysContract>(_: L.Type, name: String) throws -> Int32 {
        let array = try L.attach(UInt8.self, shape: [100, 100], name: name)
        var not255 = 0
        var at34: UInt8 = 0
        for i in 0..<100 {
            for j in 0..<100 {
                let value = try L.element(at: [i, j], of: array)
                if i == 3 && j == 4 { at34 = value } else if value != 255 { not255 += 1 }
            }
        }
        print("not255=\(not255) at34=\(at34)")
        try L.setElement(42, at: [99, 0], of: array)
        return 0
    }

    // MARK: - part 2

    /// Part 2: attach with the wrong element type or shape is a clear error.
    static func wrongTypeOrShape<L: SharedArraysContract>(_: L.Type) throws {
        let name = SharedSegment.uniqueName()
        defer { SharedSegment.unlinkIfPresent(name) }
        let array = try attempt("create(Double.self, shape: [3, 4], name:)", look: look("create(_:shape:name:)")) {
            try L.create(Double.self, shape: [3, 4], name: name)
        }
        try attempt("setElement(1.5, at: [2, 3], of:)", look: look("setElement(_:at:of:)")) { try L.setElement(1.5, at: [2, 3], of: array) }

        for shape in [[3, 4], nil] as [[Int]?] {
            let call = "attach(Double.self, shape: \(shape.map { "\($0)" } ?? "nil"), name:)"
            let same = try attempt(call, look: look("attach(_:shape:name:)")) { try L.attach(Double.self, shape: shape, name: name) }
            try requireEqual(same.shape, [3, 4], "\(call) gave the wrong shape",
                             cause: shape == nil ? "with shape: nil, the shape comes from the header" : nil,
                             look: look("attach(_:shape:name:)"))
            let value = try attempt("element(at: [2, 3]) of the attached array") { try L.element(at: [2, 3], of: same) }
            try requireEqual(value, 1.5, "the attached array does not see what the creator wrote", look: look("attach(_:shape:name:)"))
        }

        let cases: [(String, SharedArrayError, () throws -> Any)] = [
            ("attach(UInt8.self, shape: [3, 4], name:)", .wrongElementType(expected: .uint8, found: .float64),
             { try L.attach(UInt8.self, shape: [3, 4], name: name) }),
            ("attach(Int64.self, shape: nil, name:)", .wrongElementType(expected: .int64, found: .float64),
             { try L.attach(Int64.self, shape: nil, name: name) }),
            ("attach(Double.self, shape: [4, 3], name:)", .wrongShape(expected: [4, 3], found: [3, 4]),
             { try L.attach(Double.self, shape: [4, 3], name: name) }),
            ("attach(Double.self, shape: [12], name:)", .wrongShape(expected: [12], found: [3, 4]),
             { try L.attach(Double.self, shape: [12], name: name) }),
            ("attach(Double.self, shape: [3, 4, 1], name:)", .wrongShape(expected: [3, 4, 1], found: [3, 4]),
             { try L.attach(Double.self, shape: [3, 4, 1], name: name) }),
            ("attach(Double.self, shape: [], name:)", .emptyShape, { try L.attach(Double.self, shape: [], name: name) }),
            ("attach(Double.self, shape: [3, 0], name:)", .invalidShape([3, 0]), { try L.attach(Double.self, shape: [3, 0], name: name) }),
        ]
        for (call, error, body) in cases {
            try expectThrows(call, expected: "SharedArrayError.\(error)", look: look("attach(_:shape:name:)"),
                             cause: "attach must read the header (magic, type code, rank, shape) and compare it with what was asked",
                             matches: { ($0 as? SharedArrayError) == error }, body)
        }

        // Segments that are not arrays, made by the lab: an error, never garbage or a crash.
        func header(_ code: UInt32, rank: UInt32, _ dims: [Int64], magic: [UInt8] = SharedArrayLayout.magic) -> [UInt8] {
            var bytes = magic + [UInt8](repeating: 0, count: 56)
            withUnsafeBytes(of: code.littleEndian) { bytes.replaceSubrange(8..<12, with: $0) }
            withUnsafeBytes(of: rank.littleEndian) { bytes.replaceSubrange(12..<16, with: $0) }
            for (k, d) in dims.enumerated() {
                withUnsafeBytes(of: d.littleEndian) { bytes.replaceSubrange((16 + 8 * k)..<(24 + 8 * k), with: $0) }
            }
            return bytes
        }
        let notArrays: [(String, [UInt8], Int)] = [
            ("4096 zero bytes (no magic)", [], 4096),
            ("a 10-byte segment (smaller than the header)", Array("SHMARR01\u{1}\u{0}".utf8), 10),
            ("a header claiming 1000×1000 UInt8 in a 4096-byte segment", header(1, rank: 2, [1000, 1000]), 4096),
            ("a header with element type code 99", header(99, rank: 1, [8]), 4096),
            ("a header whose shape's byte count overflows Int (2^40 × 2^40 UInt8)", header(1, rank: 2, [1 << 40, 1 << 40]), 4096),
            ("a header whose shape needs Int.max bytes (UInt8 [2^63 − 1])", header(1, rank: 1, [Int64.max]), 4096),
            ("a header with rank 0", header(1, rank: 0, []), 4096),
            ("a header with rank 7", header(1, rank: 7, [1, 1, 1, 1, 1, 1]), 4096),
            ("a header with a dimension of -5", header(1, rank: 2, [4, -5]), 4096),
            ("a header whose magic is \"SHMARR02\"", header(1, rank: 1, [8], magic: Array("SHMARR02".utf8)), 4096),
        ]
        for (what, content, size) in notArrays {
            let other = SharedSegment.uniqueName()
            defer { SharedSegment.unlinkIfPresent(other) }
            let segment = try attempt("the lab creating a test segment") { try SharedSegment.create(name: other, size: size) }
            segment.bytes.copyBytes(from: content)
            segment.close()
            try expectThrows("attach(UInt8.self, shape: nil) to \(what)", expected: "SharedArrayError.notASharedArray",
                             look: look("attach(_:shape:name:)"),
                             cause: "validate before trusting: size ≥ 64, magic, known type code, rank 1…6, dimensions ≥ 1, and the segment holds 64 + count × size bytes",
                             matches: { if case .notASharedArray? = $0 as? SharedArrayError { return true }; return false }) {
                try L.attach(UInt8.self, shape: nil, name: other)
            }
        }
        let missing = SharedSegment.uniqueName()
        try expectThrows("attach to a name that does not exist", expected: "SystemError(\"shm_open\") with ENOENT",
                         look: look("attach(_:shape:name:)"),
                         matches: { ($0 as? SystemError)?.errno == ENOENT }) {
            try L.attach(UInt8.self, shape: nil, name: missing)
        }
    }

    // MARK: - part 3

    /// Part 3: 4 worker processes each fill a band of rows; the result equals the sequential fill.
    static func parallelFillBands<L: SharedArraysContract>(_: L.Type, _ context: PartContext) throws {
        for (rows, workers) in [(10, 4), (1001, 4), (4096, 3), (3, 4), (0, 2), (7, 1), (4096, 2)] {
            try requireBands(L.self, rows: rows, workers: workers)
        }
        var random = context.random(stream: 3)
        let drawn = (0..<40).map { n in (rows: Int.random(in: 0...(n < 20 ? 64 : 5000), using: &random), workers: Int.random(in: 1...(n < 20 ? 16 : 64), using: &random)) }
        try context.forEachGenerated(drawn, size: { $0.rows + $0.workers }, describe: { "rows \($0.rows), workers \($0.workers)" }) { pair in
            try requireBands(L.self, rows: pair.rows, workers: pair.workers)
        }
        try expectThrows("bands(rows: -1, workers: 2)", expected: "SharedArrayError.invalidWorkerCount(2)", look: look("bands(rows:workers:)"),
                         cause: "negative rows are as invalid as fewer than one worker: check rows ≥ 0 before making ranges",
                         matches: { ($0 as? SharedArrayError) == .invalidWorkerCount(2) }) {
            try L.bands(rows: -1, workers: 2)
        }
        for workers in [0, -1] {
            try expectThrows("bands(rows: 10, workers: \(workers))", expected: "SharedArrayError.invalidWorkerCount(\(workers))",
                             look: look("bands(rows:workers:)"),
                             matches: { ($0 as? SharedArrayError) == .invalidWorkerCount(workers) }) {
                try L.bands(rows: 10, workers: workers)
            }
        }

        let rows = 1001, columns = 301
        func value(_ index: [Int]) -> Int32 { Int32(index[0] * 1000 + index[1]) }
        let parallelName = SharedSegment.uniqueName(), sequentialName = SharedSegment.uniqueName()
        defer {
            SharedSegment.unlinkIfPresent(parallelName)
            SharedSegment.unlinkIfPresent(sequentialName)
        }
        let parallel = try attempt("create(Int32.self, shape: [\(rows), \(columns)], name:)") {
            try L.create(Int32.self, shape: [rows, columns], name: parallelName)
        }
        let sequential = try attempt("create(Int32.self, shape: [\(rows), \(columns)], name:)") {
            try L.create(Int32.self, shape: [rows, columns], name: sequentialName)
        }
        // Nobody attaches by name here: remove the names now (the mappings stay valid), so that
        // nothing is left behind even if the student's code stops the part.
        SharedSegment.unlinkIfPresent(parallelName)
        SharedSegment.unlinkIfPresent(sequentialName)
        // Which process filled each row: the lab's own shared block, written from the fill closure.
        let pidBlock = try labSharedBlock(bytes: 4 * rows)
        defer { labUnmap(pidBlock) }
        let fillers = pidBlock.bindMemory(to: Int32.self)
        try attempt("parallelFill(array, workers: 4, with:)", look: look("parallelFill(_:workers:with:)")) {
            try L.parallelFill(parallel, workers: 4) { index in
                fillers[index[0]] = getpid()
                return value(index)
            }
        }
        try context.requirePartProcess(after: "parallelFill(_:workers:with:)")
        try attempt("fill(array, rows: 0..<\(rows), with:)", look: look("fill(_:rows:with:)")) {
            try L.fill(sequential, rows: 0..<rows, with: value)
        }

        // The lab's own reading: row-major, element [r, c] at 64 + 4 × (r × 301 + c).
        let parallelBytes = parallel.segment.bytes
        for r in 0..<rows {
            for c in 0..<columns {
                let seen = parallelBytes.loadUnaligned(fromByteOffset: SharedArrayLayout.headerSize + 4 * (r * columns + c), as: Int32.self)
                if seen == value([r, c]) { continue }
                let neverFilled = (0..<columns).allSatisfy {
                    parallelBytes.loadUnaligned(fromByteOffset: SharedArrayLayout.headerSize + 4 * (r * columns + $0), as: Int32.self) == 0
                }
                throw CheckFailure("after parallelFill, element [\(r), \(c)] is wrong",
                                   expected: "\(value([r, c])) (row × 1000 + column) at byte 64 + 4 × (\(r) × \(columns) + \(c))",
                                   seen: neverFilled ? "row \(r) is all zeros: no worker filled it" : "\(seen)",
                                   cause: neverFilled
                                       ? "a band boundary is off by one: bands must cover 0..<\(rows) with no gap (see bands(rows: \(rows), workers: 4))"
                                       : "elements are not where row-major order puts them (the last index varies fastest)",
                                   look: neverFilled ? look("bands(rows:workers:)") : look("offset(of:shape:) and fill(_:rows:with:)"))
            }
        }
        if memcmp(parallelBytes.baseAddress!, sequential.segment.bytes.baseAddress!, parallelBytes.count) != 0 {
            throw CheckFailure("the parallel fill and the sequential fill differ", expected: "identical segments",
                               look: look("fill(_:rows:with:)"))
        }

        // The work really ran in 4 other processes, each on one contiguous band.
        let me = getpid()
        let byRow = (0..<rows).map { fillers[$0] }
        if byRow.contains(me) {
            throw CheckFailure("parallelFill filled rows in the calling process",
                               expected: "4 worker processes started with forkChild, each filling its band",
                               seen: "\(byRow.filter { $0 == me }.count) of \(rows) rows were filled by the parent (pid \(me))",
                               cause: "call fill inside forkChild { … }, once per band, then wait for the workers",
                               look: look("parallelFill(_:workers:with:)"))
        }
        var runs: [Int32] = []
        for pid in byRow where runs.last != pid { runs.append(pid) }
        if Set(runs).count != 4 || runs.count != 4 {
            throw CheckFailure("parallelFill did not split the rows into 4 contiguous bands, one per worker",
                               expected: "4 workers, each filling one run of rows",
                               seen: "\(Set(runs).count) distinct processes in \(runs.count) runs of rows",
                               cause: "one forkChild per band of bands(rows: \(rows), workers: 4)",
                               look: look("parallelFill(_:workers:with:)"))
        }

        // A worker that dies: an error naming it, not a half-filled array reported as done.
        let failingName = SharedSegment.uniqueName()
        defer { SharedSegment.unlinkIfPresent(failingName) }
        let failing = try attempt("create(UInt8.self, shape: [8, 4], name:)") { try L.create(UInt8.self, shape: [8, 4], name: failingName) }
        SharedSegment.unlinkIfPresent(failingName)
        try expectThrows("parallelFill with a worker that exits with 3", expected: "SharedArrayError.workerFailed(worker: _, end: exited with code 3)",
                         look: look("parallelFill(_:workers:with:)"),
                         cause: "wait for every worker and check that each ended with .exited(0)",
                         matches: { if case .workerFailed(_, .exited(3))? = $0 as? SharedArrayError { return true }; return false }) {
            try L.parallelFill(failing, workers: 4) { index in
                if index[0] == 5 { _exit(3) }
                return 1
            }
        }
        try context.requirePartProcess(after: "parallelFill(_:workers:with:)")
        try requireNoChildLeft("a worker exited with 3")
        // A worker killed by a signal: workerFailed with .signaled, after waiting for every worker.
        try expectThrows("parallelFill with a worker killed by SIGKILL", expected: "SharedArrayError.workerFailed(worker: _, end: killed by SIGKILL)",
                         look: look("parallelFill(_:workers:with:)"),
                         cause: "a worker that did not exit with 0 failed, whether it exited with a code or was killed by a signal: compare the whole end with .exited(0)",
                         matches: { if case .workerFailed(_, .signaled(SIGKILL))? = $0 as? SharedArrayError { return true }; return false }) {
            try L.parallelFill(failing, workers: 4) { index in
                if index[0] == 0 { kill(getpid(), SIGKILL) }
                return 1
            }
        }
        try context.requirePartProcess(after: "parallelFill(_:workers:with:)")
        try requireNoChildLeft("a worker was killed")
        try expectThrows("fill(array, rows: -1..<2) on \(rows) rows", expected: "SharedArrayError.rowsOutOfRange(-1..<2, rows: 1001)",
                         look: look("fill(_:rows:with:)"),
                         matches: { ($0 as? SharedArrayError) == .rowsOutOfRange(-1..<2, rows: 1001) }) {
            try L.fill(sequential, rows: -1..<2) { _ in 0 }
        }
        try expectThrows("fill(array, rows: 1000..<1002) on \(rows) rows", expected: "SharedArrayError.rowsOutOfRange(1000..<1002, rows: 1001)",
                         look: look("fill(_:rows:with:)"),
                         matches: { ($0 as? SharedArrayError) == .rowsOutOfRange(1000..<1002, rows: 1001) }) {
            try L.fill(sequential, rows: 1000..<1002) { _ in 0 }
        }
        try expectThrows("parallelFill(array, workers: 0)", expected: "SharedArrayError.invalidWorkerCount(0)",
                         look: look("parallelFill(_:workers:with:)"),
                         matches: { ($0 as? SharedArrayError) == .invalidWorkerCount(0) }) {
            try L.parallelFill(sequential, workers: 0) { _ in 0 }
        }
    }

    /// After parallelFill threw, every worker it started was waited for: this process has no child.
    static func requireNoChildLeft(_ moment: String) throws {
        var status: Int32 = 0
        let pid = waitpid(-1, &status, WNOHANG)
        guard pid == -1 && errno == ECHILD else {
            // Reap whatever is left, so that nothing outlives the part.
            while waitpid(-1, &status, 0) > 0 {}
            throw CheckFailure("parallelFill threw before every worker had ended (after \(moment))",
                               expected: "every worker waited for, then workerFailed", seen: pid > 0 ? "worker \(pid) was never reaped" : "a worker still running",
                               cause: "wait for all the workers first (they may still be writing into the array), then throw for the first that failed",
                               look: look("parallelFill(_:workers:with:)"))
        }
    }

    /// bands(rows:workers:) covers 0..<rows with `workers` contiguous bands of near-equal size.
    static func requireBands<L: SharedArraysContract>(_: L.Type, rows: Int, workers: Int) throws {
        let bands = try attempt("bands(rows: \(rows), workers: \(workers))", look: look("bands(rows:workers:)")) {
            try L.bands(rows: rows, workers: workers)
        }
        func fail(_ seen: String, _ cause: String) -> CheckFailure {
            CheckFailure("bands(rows: \(rows), workers: \(workers)) is wrong",
                         expected: "\(workers) contiguous bands in order, from 0 to \(rows), sizes \(rows / workers) or \(rows / workers + 1)",
                         seen: "\(bands) — \(seen)", cause: cause, look: look("bands(rows:workers:)"))
        }
        guard bands.count == workers else { throw fail("\(bands.count) bands", "one band per worker, empty ones included") }
        var next = 0
        for band in bands {
            if band.lowerBound > next { throw fail("rows \(next)..<\(band.lowerBound) are in no band", "off by one: band w ends where band w+1 starts") }
            if band.lowerBound < next { throw fail("rows \(band.lowerBound)..<\(next) are in two bands", "off by one: band w ends where band w+1 starts (upper bounds are exclusive)") }
            if band.count != rows / workers && band.count != rows / workers + 1 {
                throw fail("a band of \(band.count) rows", "spread the remainder: band w is (w × rows / workers) ..< ((w + 1) × rows / workers)")
            }
            next = band.upperBound
        }
        if next != rows { throw fail(next < rows ? "rows \(next)..<\(rows) are in no band" : "the bands go past \(rows)", "the last band must end at rows exactly (rows / workers drops the remainder)") }
    }

    // MARK: - part 4

    /// Part 4: parallel sum of 16 Mi Float64 with 2 workers equals the sequential sum (within 1e-6 × Σ|x|).
    static func parallelSumBands<L: SharedArraysContract>(_: L.Type, _ context: PartContext) throws {
        let side = 4096
        let count = side * side   // 16 Mi Float64, 128 MiB
        let name = SharedSegment.uniqueName()
        defer { SharedSegment.unlinkIfPresent(name) }
        let array = try attempt("create(Double.self, shape: [\(side), \(side)], name:)", look: look("create(_:shape:name:)")) {
            try L.create(Double.self, shape: [side, side], name: name)
        }
        SharedSegment.unlinkIfPresent(name)       // the mapping stays valid; the name is not needed
        try require(array.segment.bytes.count == SharedArrayLayout.headerSize + 8 * count,
                    CheckFailure("the segment of a 4096×4096 Float64 array has the wrong size",
                                 expected: "\(SharedArrayLayout.headerSize + 8 * count) bytes (64 + count × 8)", seen: "\(array.segment.bytes.count) bytes",
                                 cause: array.segment.bytes.count == SharedArrayLayout.headerSize + count
                                     ? "the segment was sized by the element count, not the bytes — the numpy example's size=array.size (elements) where it needed array.nbytes: a Float64 takes 8 bytes"
                                     : "the segment holds the 64-byte header, then count × MemoryLayout<E>.size bytes",
                                 look: look("create(_:shape:name:)")))
        // The lab fills it itself (not through the student's fill) and sums it sequentially.
        let elements = (array.segment.bytes.baseAddress! + SharedArrayLayout.headerSize).bindMemory(to: Double.self, capacity: count)
        var sequential = 0.0
        for k in 0..<count {
            let x = Double(k % 1000) * 0.001 + 0.25
            elements[k] = x
            sequential += x
        }
        let magnitude = sequential                            // every value is positive: Σ|x| = Σx
        let tolerance = sumTolerance * magnitude
        for workers in [2, 1, 3] {
            let sum = try attempt("parallelSum(array, workers: \(workers))", look: look("parallelSum(_:workers:)")) {
                try L.parallelSum(array, workers: workers)
            }
            try context.requirePartProcess(after: "parallelSum(_:workers:)")
            let difference = abs(sum - sequential)
            if !(difference <= tolerance) {
                let rowsWorth = Int((difference / (magnitude / Double(side))).rounded())
                throw CheckFailure("parallelSum(workers: \(workers)) differs from the sequential sum",
                                   expected: "\(sequential) within \(sumTolerance) × Σ|x| = \(tolerance)",
                                   seen: "\(sum): off by \(difference), about \(rowsWorth) row\(rowsWorth == 1 ? "" : "s") of \(side) values",
                                   cause: sum == 0
                                       ? "the partial sums never reached the parent: a forked worker's variables are its own copy; write them into a shared block (labSharedBlock)"
                                       : "a band boundary is off by one (rows skipped or counted twice), or a partial sum is lost",
                                   look: sum == 0 ? look("parallelSum(_:workers:)") : look("bands(rows:workers:) and parallelSum(_:workers:)"))
            }
        }
        try expectThrows("parallelSum(array, workers: 0)", expected: "SharedArrayError.invalidWorkerCount(0)",
                         look: look("parallelSum(_:workers:)"),
                         matches: { ($0 as? SharedArrayError) == .invalidWorkerCount(0) }) {
            try L.parallelSum(array, workers: 0)
        }
    }

    // MARK: - part 5

    /// A test array for Python: its name, type, shape and the values it must hold (row-major).
    struct PythonCase {
        let name: String
        let type: ElementType
        let shape: [Int]
        let expected: [String]
    }

    /// Part 5: interop: Python (standard library only, memoryview.cast) reads the student's data.
    static func pythonReadsArrays<L: SharedArraysContract>(_: L.Type, _ context: PartContext) throws {
        _ = try context.python3()
        let names = (0..<4).map { _ in SharedSegment.uniqueName() }
        defer { for name in names { SharedSegment.unlinkIfPresent(name) } }

        // UInt8 100×100 through fill.
        let bytes = try attempt("create(UInt8.self, shape: [100, 100], name:)") { try L.create(UInt8.self, shape: [100, 100], name: names[0]) }
        func byteValue(_ i: Int, _ j: Int) -> UInt8 { UInt8((7 * i + 3 * j) % 256) }
        try attempt("fill(_:rows: 0..<100, with:)", look: look("fill(_:rows:with:)")) { try L.fill(bytes, rows: 0..<100) { byteValue($0[0], $0[1]) } }
        // Int32 3×4×5 through copy.
        let ints = try attempt("create(Int32.self, shape: [3, 4, 5], name:)") { try L.create(Int32.self, shape: [3, 4, 5], name: names[1]) }
        let intValues = (0..<60).map { Int32($0 * 1000 - 30_000) }
        try attempt("copy(_:into:) of 60 Int32", look: look("copy(_:into:)")) { try L.copy(intValues, into: ints) }
        // Int64 [5] through setElement.
        let longs = try attempt("create(Int64.self, shape: [5], name:)") { try L.create(Int64.self, shape: [5], name: names[2]) }
        let longValues: [Int64] = [.min, -1, 0, 1, .max]
        for (k, v) in longValues.enumerated() {
            try attempt("setElement(\(v), at: [\(k)], of:)", look: look("setElement(_:at:of:)")) { try L.setElement(v, at: [k], of: longs) }
        }
        // Float64 7×9 through fill.
        let doubles = try attempt("create(Double.self, shape: [7, 9], name:)") { try L.create(Double.self, shape: [7, 9], name: names[3]) }
        func doubleValue(_ i: Int, _ j: Int) -> Double { Double(i) * 0.5 - Double(j) / 3 }
        try attempt("fill(_:rows: 0..<7, with:)", look: look("fill(_:rows:with:)")) { try L.fill(doubles, rows: 0..<7) { doubleValue($0[0], $0[1]) } }

        let cases = [
            PythonCase(name: names[0], type: .uint8, shape: [100, 100],
                       expected: (0..<10_000).map { "\(byteValue($0 / 100, $0 % 100))" }),
            PythonCase(name: names[1], type: .int32, shape: [3, 4, 5], expected: intValues.map { "\($0)" }),
            PythonCase(name: names[2], type: .int64, shape: [5], expected: longValues.map { "\($0)" }),
            PythonCase(name: names[3], type: .float64, shape: [7, 9],
                       expected: (0..<63).map { "\(doubleValue($0 / 9, $0 % 9).bitPattern)" }),
        ]
        let output = try context.runPython(pythonArrayReader, names.map { String($0.dropFirst()) },
                                           what: "reading the arrays with memoryview.cast")
        let lines = output.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        for (n, test) in cases.enumerated() {
            guard lines.count > 2 * n + 1 else {
                throw CheckFailure("python3 printed less than expected", seen: output)
            }
            try requirePythonSaw(test, header: lines[2 * n], values: lines[2 * n + 1])
        }

        // Python wrote back: [99, 1] = 200 in the bytes, [5, 2] = -2.5 in the doubles.
        let byteBack = try attempt("element(at: [99, 1], of:)") { try L.element(at: [99, 1], of: bytes) }
        try requireEqual(byteBack, 200, "the student does not see what Python wrote at [99, 1] of the UInt8 array",
                         cause: "Python wrote with view[99, 1] = 200 on a row-major view", look: look("element(at:of:)"))
        let doubleBack = try attempt("element(at: [5, 2], of:)") { try L.element(at: [5, 2], of: doubles) }
        try requireEqual(doubleBack, -2.5, "the student does not see what Python wrote at [5, 2] of the Float64 array",
                         cause: "Python wrote with view[5, 2] = -2.5 on a row-major view", look: look("element(at:of:)"))
        // Copy out, the other bulk direction.
        var out = [Int32](repeating: 0, count: 60)
        try attempt("copy(array, into: &values)", look: look("copy(_:into:)")) { try L.copy(ints, into: &out) }
        try requireEqual(out, intValues, "copying the Int32 array out gave other values", look: look("copy(_:into:)"))
        var short = [Int32](repeating: 0, count: 59)
        try expectThrows("copy(array, into: &values) with 59 values for 60 elements", expected: "SharedArrayError.countMismatch(expected: 60, got: 59)",
                         look: look("copy(_:into:)"),
                         matches: { ($0 as? SharedArrayError) == .countMismatch(expected: 60, got: 59) }) {
            try L.copy(ints, into: &short)
        }
        try expectThrows("copy(_:into:) of 61 values into 60 elements", expected: "SharedArrayError.countMismatch(expected: 60, got: 61)",
                         look: look("copy(_:into:)"),
                         matches: { ($0 as? SharedArrayError) == .countMismatch(expected: 60, got: 61) }) {
            try L.copy(intValues + [1], into: ints)
        }
    }

    /// Compares what Python printed for one array ("H name magic code rank d0…d5 size" and
    /// "V values…") with what it must be.
    static func requirePythonSaw(_ test: PythonCase, header: String, values: String) throws {
        let fields = header.split(separator: " ").map(String.init)
        let count = test.shape.reduce(1, *)
        let dims = test.shape.map(String.init) + Array(repeating: "0", count: SharedArrayLayout.maxRank - test.shape.count)
        let expectedHeader = ["H", String(test.name.dropFirst()), SharedArrayLayout.magic.map(hexByte).joined(),
                              "\(test.type.rawValue)", "\(test.shape.count)"] + dims
            + ["\(SharedArrayLayout.headerSize + count * test.type.size)"]
        let what = "the \(test.type) array \(test.shape)"
        if fields.count == expectedHeader.count, fields.dropLast() == expectedHeader.dropLast(),
           fields.last == "\(SharedArrayLayout.headerSize + count)", test.type.size > 1 {
            throw CheckFailure("Python found the segment of \(what) too small",
                               expected: "shm.size = \(expectedHeader.last!) (64 + \(count) elements × \(test.type.size) bytes)",
                               seen: "shm.size = \(fields.last!) (64 + \(count))",
                               cause: "the segment was sized by the element count, not the bytes — the numpy example's size=array.size (elements) where it needed array.nbytes",
                               look: look("create(_:shape:name:)"))
        }
        if fields != expectedHeader {
            throw CheckFailure("Python read another header (or size) for \(what)",
                               expected: expectedHeader.dropFirst(2).joined(separator: " ") + "  (magic hex, code, rank, 6 dimensions, segment size)",
                               seen: fields.dropFirst(2).joined(separator: " "),
                               cause: "Python reads struct.unpack_from('<8sII6q', buf, 0): magic, UInt32 code, UInt32 rank, six Int64 dimensions, little-endian; the segment is exactly 64 + count × size bytes",
                               look: look("create(_:shape:name:)"))
        }
        var seen = values.split(separator: " ").dropFirst().map(String.init)
        if test.type == .float64 { seen = seen.map { Double($0).map { "\($0.bitPattern)" } ?? $0 } }
        guard seen.count == count else {
            throw CheckFailure("Python read \(seen.count) values from \(what)", expected: "\(count) values", seen: values.prefix(200) + "…")
        }
        if let k = (0..<count).first(where: { seen[$0] != test.expected[$0] }) {
            var index: [Int] = []
            var rest = k
            for n in test.shape.reversed() { index.insert(rest % n, at: 0); rest /= n }
            func show(_ text: String) -> String { test.type == .float64 ? "\(Double(bitPattern: UInt64(text) ?? 0))" : text }
            throw CheckFailure("Python's memoryview.cast view of \(what) differs at \(index)",
                               expected: show(test.expected[k]), seen: show(seen[k]),
                               cause: "memoryview.cast reads C order (row-major, the last index fastest) in native byte order, from byte 64",
                               look: look("offset(of:shape:), fill(_:rows:with:) and copy(_:into:)"))
        }
    }

    static let pythonArrayReader = #"""
import struct, sys
from multiprocessing import shared_memory, resource_tracker

def attach(name):
    shm = shared_memory.SharedMemory(name=name)
    # Python 3.11/3.12 register every segment a process attaches to, and unlink it when the
    # process exits: this segment belongs to the Swift side, so take it off the list.
    resource_tracker.unregister(shm._name, "shared_memory")
    return shm

def flatten(x):
    if isinstance(x, list):
        for y in x:
            yield from flatten(y)
    else:
        yield x

FORMATS = {1: "B", 2: "i", 3: "q", 4: "d"}
WRITES = {("B", 2): ((99, 1), 200), ("d", 2): ((5, 2), -2.5)}
for name in sys.argv[1:]:
    shm = attach(name)
    magic, code, rank, *dims = struct.unpack_from("<8sII6q", shm.buf, 0)
    print("H", name, magic.hex(), code, rank, " ".join(map(str, dims)), shm.size)
    fmt = FORMATS.get(code)
    shape = dims[:rank]
    n = 1
    for d in shape:
        n *= d
    if fmt is None or not 1 <= rank <= 6 or n <= 0 or 64 + n * struct.calcsize(fmt) > shm.size:
        print("V")
        shm.close()
        continue
    raw = shm.buf[64:64 + n * struct.calcsize(fmt)]
    view = raw.cast(fmt, shape)
    print("V", " ".join(repr(v) for v in flatten(view.tolist())))
    if (fmt, rank) in WRITES:
        index, value = WRITES[(fmt, rank)]
        view[index] = value
    view.release()       # every view must go before close(), or it raises BufferError
    raw.release()
    shm.close()
# Wait for the resource tracker to end, so that no Python process outlives this script.
stop = getattr(resource_tracker._resource_tracker, "_stop", None)
if stop:
    stop()
"""#

    // MARK: - part 6

    /// Part 6: interop: the student reads a ShareableList Python created, and Python reads one the student wrote.
    static func shareableListsBothWays<L: SharedArraysContract>(_: L.Type, _ context: PartContext) throws {
        _ = try context.python3()
        // 1. Python creates, the student reads.
        let pythonList = SharedSegment.uniqueName()
        defer { SharedSegment.unlinkIfPresent(pythonList) }
        _ = try context.runPython(pythonListWriter, [String(pythonList.dropFirst())], what: "creating a ShareableList")
        // The lab keeps a copy and removes Python's segment at once, so nothing is left behind
        // whatever the student's code does.
        let created = try attempt("the lab attaching to Python's list") { try SharedSegment.attach(name: pythonList) }
        let pythonBytes = Array(UnsafeRawBufferPointer(created.bytes))
        created.close()
        SharedSegment.unlinkIfPresent(pythonList)
        let fromPython: [ShareableValue]
        do {
            fromPython = try pythonBytes.withUnsafeBytes { try L.readShareableList($0) }
        } catch let failure as CheckFailure {
            throw failure
        } catch {
            throw CheckFailure("readShareableList rejected the list Python created", expected: "the 19 items Python stored",
                               seen: "\(error)",
                               cause: "CPython wrote a valid list, so the reader expects another layout: offsets count from the data area at 8 × (N + 2), the first is 0",
                               look: look("readShareableList(_:)"))
        }
        let pythonExpected: [ShareableValue] = [
            .string("seven"), .int(.min), .int(.max), .int(0), .float(2.5), .float(-0.0), .float(1e300), .float(.infinity),
            .bool(true), .bool(false), .none, .int(7), .none, .string("xxxxxxxx"), .string("héllo"),
            .bytes(Array("xyz".utf8)), .bytes([]), .bytes([0, 1, 255]), .bytes(Array(repeating: 0x62, count: 20)),
        ]
        try requireSameList(fromPython.map(tag), pythonExpected.map(tag), pythonExpected,
                            "readShareableList does not give the items Python stored",
                            cause: "layout: N, N+1 offsets (from the data area), slots at 8 × (N + 2), formats, codes; see the lesson's diagram",
                            look: look("readShareableList(_:)"))

        // 2. The student creates, changes some items, Python reads (and writes back).
        let items: [ShareableValue] = [
            .int(42), .int(.min), .int(.max), .float(0.1), .float(-0.0), .float(-.infinity), .bool(true), .bool(false),
            .none, .string("hi"), .string(""), .string("xxxxxxxx"), .string("ééééé"), .bytes(Array("xyz".utf8)),
            .bytes([]), .bytes([0, 1, 255]), .int(-1),
        ]
        let studentList = SharedSegment.uniqueName()
        defer { SharedSegment.unlinkIfPresent(studentList) }
        let segment = try attempt("createShareableList(\(items.count) items, name:)", look: look("createShareableList(_:name:)")) {
            try L.createShareableList(items, name: studentList)
        }
        let roundTrip = try attempt("readShareableList on the student's own list", look: look("readShareableList(_:)")) {
            try L.readShareableList(UnsafeRawBufferPointer(segment.bytes))
        }
        try requireSameList(roundTrip.map(tag), items.map(tag), items, "the student's list does not read back what was written",
                            look: look("createShareableList(_:name:) and readShareableList(_:)"))
        let sets: [(Int, ShareableValue)] = [
            (11, .string("short")), (0, .string("abcdefgh")), (3, .bool(true)), (9, .int(7)), (8, .float(2.5)), (10, .bytes([1, 2, 3])),
        ]
        for (index, value) in sets {
            try attempt("setShareableListItem(\(value), at: \(index), in:)", look: look("setShareableListItem(_:at:in:)")) {
                try L.setShareableListItem(value, at: index, in: segment.bytes)
            }
        }
        try expectThrows("setShareableListItem(\"abcdefghi\", at: 1, in:) on an 8-byte slot",
                         expected: "ShareableListError.itemTooLong(index: 1, bytes: 9, capacity: 8)",
                         look: look("setShareableListItem(_:at:in:)"),
                         cause: "a slot never grows: like Python's \"bytes/str item exceeds available storage\"",
                         matches: { ($0 as? ShareableListError) == .itemTooLong(index: 1, bytes: 9, capacity: 8) }) {
            try L.setShareableListItem(.string("abcdefghi"), at: 1, in: segment.bytes)
        }
        try expectThrows("setShareableListItem(1, at: \(items.count), in:)",
                         expected: "ShareableListError.indexOutOfRange(index: \(items.count), count: \(items.count))",
                         look: look("setShareableListItem(_:at:in:)"),
                         matches: { ($0 as? ShareableListError) == .indexOutOfRange(index: items.count, count: items.count) }) {
            try L.setShareableListItem(.int(1), at: items.count, in: segment.bytes)
        }
        let slotOne: [ShareableValue]
        do {
            slotOne = try L.readShareableList(UnsafeRawBufferPointer(segment.bytes))
        } catch {
            throw CheckFailure("a refused setShareableListItem changed the list: it no longer reads", expected: "item 1 still \(Int64.min) after itemTooLong",
                               seen: "readShareableList threw \(error)",
                               cause: "check that the value fits the slot before writing anything: a format \"16s\" or a code 1 written into an 8-byte int slot breaks the item",
                               look: look("setShareableListItem(_:at:in:)"))
        }
        try require(slotOne.count > 1 && tag(slotOne[1]) == tag(.int(.min)), CheckFailure(
            "a refused setShareableListItem changed the item", expected: "item 1 still \(Int64.min) after itemTooLong",
            seen: slotOne.count > 1 ? "item 1 = \(slotOne[1])" : "\(slotOne.count) items",
            cause: "check that the value fits the slot before writing anything (format, code or value)", look: look("setShareableListItem(_:at:in:)")))
        try expectThrows("setShareableListItem(1, at: -1, in:)", expected: "ShareableListError.indexOutOfRange(index: -1, count: \(items.count))",
                         look: look("setShareableListItem(_:at:in:)"),
                         cause: "no counting from the end (unlike Python's sl[-1]): the index must be in 0..<N",
                         matches: { ($0 as? ShareableListError) == .indexOutOfRange(index: -1, count: items.count) }) {
            try L.setShareableListItem(.int(1), at: -1, in: segment.bytes)
        }
        var expected = items
        for (index, value) in sets { expected[index] = value }
        let expectedSize = 8 * (items.count + 2) + items.map(cpythonSlotSize).reduce(0, +) + 9 * items.count

        let output = try context.runPython(pythonListReader, [String(studentList.dropFirst())], what: "reading the student's ShareableList")
        let lines = output.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let seenTags = lines.filter { $0.hasPrefix("I ") }.map { String($0.dropFirst(2)) }
        try requireSameList(seenTags, expected.map(tag), expected, "Python's ShareableList(name=…) reads other items than the student wrote",
                            cause: "see the first differing item: offsets from the data area; capacity 8 × (UTF-8 bytes / 8 + 1); the whole slot zero-filled on every write",
                            look: look("createShareableList(_:name:) and setShareableListItem(_:at:in:)"))
        try requireEqual(lines.first { $0.hasPrefix("SIZE ") } ?? "no size printed", "SIZE \(expectedSize)",
                         "the student's list has another size than CPython gives the same items",
                         cause: "total = 8 × (N + 2) + Σ slot sizes + 9 × N, nothing more", look: look("createShareableList(_:name:)"))
        // Python wrote: sl[12] = "py", sl[2] = 3.75.
        expected[12] = .string("py")
        expected[2] = .float(3.75)
        let after = try attempt("readShareableList after Python's writes", look: look("readShareableList(_:)")) {
            try L.readShareableList(UnsafeRawBufferPointer(segment.bytes))
        }
        try requireSameList(after.map(tag), expected.map(tag), expected, "the student does not read what Python wrote into the list",
                            look: look("readShareableList(_:)"))

        // Bad input.
        let tooLongName = SharedSegment.uniqueName()
        defer { SharedSegment.unlinkIfPresent(tooLongName) }
        try expectThrows("createShareableList with a 10,000,000-byte str", expected: "ShareableListError.itemTooLong(index: 1, bytes: 10000000, capacity: 9999991)",
                         look: look("createShareableList(_:name:)"),
                         cause: "a format is at most 8 characters, so \"<cap>s\" holds at most 9999992 (Python: AssertionError)",
                         matches: { ($0 as? ShareableListError) == .itemTooLong(index: 1, bytes: 10_000_000, capacity: 9_999_991) }) {
            try L.createShareableList([.int(1), .string(String(repeating: "a", count: 10_000_000))], name: tooLongName)
        }
        if (try? SharedSegment.attach(name: tooLongName)) != nil {
            throw CheckFailure("createShareableList threw itemTooLong but left its segment behind",
                               cause: "check every item before creating the segment", look: look("createShareableList(_:name:)"))
        }
        // The limit exactly: 9,999,991 bytes fit ("9999992s"), 9,999,992 do not ("10000000s" is 9 characters).
        try expectThrows("createShareableList with a 9,999,992-byte bytes item", expected: "ShareableListError.itemTooLong(index: 0, bytes: 9999992, capacity: 9999991)",
                         look: look("createShareableList(_:name:)"),
                         cause: "its slot would be 8 × (9999992 / 8 + 1) = 10000000 bytes, whose format \"10000000s\" does not fit in 8 characters",
                         matches: { ($0 as? ShareableListError) == .itemTooLong(index: 0, bytes: 9_999_992, capacity: 9_999_991) }) {
            try L.createShareableList([.bytes([UInt8](repeating: 0x61, count: 9_999_992))], name: tooLongName)
        }
        SharedSegment.unlinkIfPresent(tooLongName)
        let largest = try attempt("createShareableList with a 9,999,991-byte bytes item (the largest that fits)", look: look("createShareableList(_:name:)")) {
            try L.createShareableList([.bytes([UInt8](repeating: 0x61, count: 9_999_991)), .int(5)], name: tooLongName)
        }
        SharedSegment.unlinkIfPresent(tooLongName)
        let largestFormat = String(decoding: UnsafeRawBufferPointer(largest.bytes)[(8 * 4 + 9_999_992 + 8)..<(8 * 4 + 9_999_992 + 16)], as: UTF8.self)
        try requireEqual(largestFormat, "9999992s", "the format of a 9,999,991-byte item", look: look("createShareableList(_:name:)"))
        largest.close()
        let good = Array(UnsafeRawBufferPointer(segment.bytes))
        var corrupt: [(String, [UInt8])] = [("4 bytes", Array(good.prefix(4)))]
        var hugeCount = good
        withUnsafeBytes(of: Int64(1) << 40) { hugeCount.replaceSubrange(0..<8, with: $0) }
        corrupt.append(("an item count of 2^40", hugeCount))
        var backwards = good
        withUnsafeBytes(of: Int64(1) << 20) { backwards.replaceSubrange(16..<24, with: $0) }
        corrupt.append(("an offset past the end", backwards))
        var badCode = good
        badCode[good.count - 1] = 9
        corrupt.append(("a back-transform code of 9", badCode))
        // Item 11 is the str "short" (a 16-byte slot), item 2 the float 3.75 Python wrote; where they are comes from the offsets.
        let n = items.count
        let offsets = (0...n).map { k in good.withUnsafeBytes { Int($0.loadUnaligned(fromByteOffset: 8 + 8 * k, as: Int64.self)) } }
        let dataStart = 8 * (n + 2), formatsStart = dataStart + offsets[n]
        // Offsets that go backwards inside the data area: item 1's slot would end before it starts
        // (a slice with start > end traps).
        var outOfOrder = good
        withUnsafeBytes(of: Int64(offsets[2] + 8)) { outOfOrder.replaceSubrange(16..<24, with: $0) }
        corrupt.append(("offsets that go backwards (item 1 starts after item 2)", outOfOrder))
        var badUTF8 = good
        badUTF8.replaceSubrange((dataStart + offsets[11])..<(dataStart + offsets[11] + 2), with: [0xC3, 0x28])   // item 11: "short"
        corrupt.append(("a str item that is not UTF-8 (0xC3 0x28)", badUTF8))
        var badFormat = good
        badFormat.replaceSubrange((formatsStart + 8 * 2)..<(formatsStart + 8 * 2 + 8), with: Array("z".utf8) + [UInt8](repeating: 0, count: 7))
        corrupt.append(("an int item whose format is \"z\"", badFormat))
        var wideFormat = good
        wideFormat.replaceSubrange((formatsStart + 8 * 11)..<(formatsStart + 8 * 11 + 8), with: Array("64s".utf8) + [UInt8](repeating: 0, count: 5))
        corrupt.append(("a str item whose format \"64s\" is wider than its 8-byte slot", wideFormat))
        for (what, bytes) in corrupt {
            try expectThrows("readShareableList of \(what)", expected: "ShareableListError.notAShareableList",
                             look: look("readShareableList(_:)"),
                             cause: "validate N and the offsets against the buffer's size before reading (each offset at least the one before it), and every code",
                             matches: { if case .notAShareableList? = $0 as? ShareableListError { return true }; return false }) {
                try bytes.withUnsafeBytes { try L.readShareableList($0) }
            }
        }
    }

    /// CPython's slot size for an item (with the capacity counted in UTF-8 bytes).
    static func cpythonSlotSize(_ item: ShareableValue) -> Int {
        switch item {
        case .string(let text): return 8 * (text.utf8.count / 8 + 1)
        case .bytes(let data): return 8 * (data.count / 8 + 1)
        default: return 8
        }
    }

    /// An item as the Python scripts print it: exact, bit for bit.
    static func tag(_ value: ShareableValue) -> String {
        switch value {
        case .int(let v): return "int \(v)"
        case .float(let v): return "float \(String(v.bitPattern, radix: 16))"
        case .bool(let v): return "bool \(v ? 1 : 0)"
        case .none: return "none"
        case .string(let text): return "str " + text.utf8.map(hexByte).joined()
        case .bytes(let data): return "bytes " + data.map(hexByte).joined()
        }
    }

    static func requireSameList(_ seen: [String], _ expected: [String], _ values: [ShareableValue], _ summary: String,
                                cause: String? = nil, look: String) throws {
        if seen == expected { return }
        guard seen.count == expected.count else {
            throw CheckFailure(summary, expected: "\(expected.count) items", seen: "\(seen.count) items", cause: cause, look: look)
        }
        let i = (0..<seen.count).first { seen[$0] != expected[$0] }!
        throw CheckFailure(summary, expected: "item \(i) = \(values[i])  [\(expected[i])]", seen: "[\(seen[i])]", cause: cause, look: look)
    }

    static let pythonTracker = #"""
from multiprocessing import resource_tracker

def keep(shm):
    # Python 3.11/3.12 unlink at exit every segment this process created OR attached to:
    # the other side owns it, so take it off the tracker's list.
    resource_tracker.unregister(shm._name, "shared_memory")

def stop_tracker():
    # Wait for the tracker process to end, so that nothing outlives this script.
    stop = getattr(resource_tracker._resource_tracker, "_stop", None)
    if stop:
        stop()
"""#

    static let pythonListWriter = pythonTracker + "\n" + #"""
import sys
from multiprocessing import shared_memory
items = [42, -2**63, 2**63 - 1, 0, 2.5, -0.0, 1e300, float("inf"), True, False, None,
         "hi", "", "x" * 8, "héllo", b"xyz", b"", b"\x00\x01\xff", b"b" * 20]
sl = shared_memory.ShareableList(items, name=sys.argv[1])
sl[0] = "seven"      # an int slot becomes "8s"
sl[11] = 7           # a str slot becomes "q"
sl[12] = None        # "" becomes None; the slot keeps its 8 bytes
keep(sl.shm)
sl.shm.close()
stop_tracker()
print("created", len(items))
"""#

    static let pythonListReader = pythonTracker + "\n" + #"""
import struct, sys
from multiprocessing import shared_memory

def tag(v):
    if v is None:
        return "none"
    if isinstance(v, bool):
        return "bool %d" % v
    if isinstance(v, int):
        return "int %d" % v
    if isinstance(v, float):
        return "float %x" % struct.unpack("<Q", struct.pack("<d", v))[0]
    if isinstance(v, str):
        return "str " + v.encode("utf8").hex()
    return "bytes " + v.hex()

sl = shared_memory.ShareableList(name=sys.argv[1])
keep(sl.shm)
print("N", len(sl))
for i in range(len(sl)):
    try:
        print("I", tag(sl[i]))
    except Exception as e:
        print("I ERROR", type(e).__name__, e)
print("SIZE", sl.shm.size)
try:
    sl[12] = "py"
    sl[2] = 3.75
except Exception as e:
    print("W ERROR", type(e).__name__, e)
sl.shm.close()
stop_tracker()
"""#

    // MARK: - helpers

    /// Runs `body`, which must throw an error that `matches` accepts; anything else fails the part.
    static func expectThrows<T>(_ call: String, expected: String, look: String, cause: String? = nil,
                                matches: (Error) -> Bool, _ body: () throws -> T) throws {
        let value: T
        do {
            value = try body()
        } catch let failure as CheckFailure {
            throw failure
        } catch let skip as SkipPart {
            throw skip
        } catch {
            if matches(error) { return }
            throw CheckFailure("\(call) threw the wrong error", expected: expected, seen: "\(error)", cause: cause, look: look)
        }
        let seen: String
        if let array = value as? DescribesSharedArrayShape { seen = "an array of shape \(array.arrayShape)" } else { seen = "\(value)" }
        throw CheckFailure("\(call) did not throw", expected: expected, seen: "it returned \(seen.prefix(200))", cause: cause, look: look)
    }

    /// Checks the 64 header bytes the lab reads on its own.
    static func requireHeader(_ bytes: UnsafeMutableRawBufferPointer, _ type: ElementType, _ shape: [Int]) throws {
        let magic = Array(bytes.prefix(8))
        let lookAt = look("create(_:shape:name:)")
        try require(magic == SharedArrayLayout.magic,
                    CheckFailure("the header does not start with the magic", expected: "\"SHMARR01\" at bytes 0…7",
                                 seen: "bytes " + magic.map(hexByte).joined(separator: " "), look: lookAt))
        let code = UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: 8, as: UInt32.self))
        try requireEqual(code, type.rawValue, "the header's element type code (UInt32 at byte 8) is wrong",
                         cause: "\(type) is code \(type.rawValue), stored little-endian", look: lookAt)
        let rank = UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: 12, as: UInt32.self))
        try requireEqual(rank, UInt32(shape.count), "the header's rank (UInt32 at byte 12) is wrong", look: lookAt)
        let dims = (0..<SharedArrayLayout.maxRank).map {
            Int(Int64(littleEndian: bytes.loadUnaligned(fromByteOffset: 16 + 8 * $0, as: Int64.self)))
        }
        try requireEqual(dims, shape + Array(repeating: 0, count: SharedArrayLayout.maxRank - shape.count),
                         "the header's shape (six Int64 from byte 16) is wrong",
                         cause: "each dimension is an Int64, little-endian; unused ones are 0", look: lookAt)
    }
}

/// Lets a failure message describe an array that should not have been returned.
fileprivate protocol DescribesSharedArrayShape { var arrayShape: [Int] { get } }
extension SharedArray: DescribesSharedArrayShape { fileprivate var arrayShape: [Int] { shape } }

/// Two lowercase hex digits.
fileprivate func hexByte(_ byte: UInt8) -> String {
    let hex = String(byte, radix: 16)
    return hex.count == 1 ? "0" + hex : hex
}
