import Glibc

extension Lesson03 {
    /// The lesson bound to the student's type, the reference and the mutants.
    /// The student's file, for "look at" lines.
    static let file = "IntegerBytes.swift"

    // MARK: - the vectors

    /// One line of the table: what CPython's `value.to_bytes(length, order, signed=…)` gave;
    /// `bytes == nil` means it raised OverflowError.
    struct Vector: Sendable {
        let value: Int128
        let length: Int
        let order: ByteOrder
        let signed: Bool
        let bytes: [UInt8]?

        /// `encode(4660, length: 2, order: .big, signed: false)`
        var call: String { "encode(\(value), length: \(length), order: \(order), signed: \(signed))" }
        /// `(4660).to_bytes(2, "big", signed=False)`
        var python: String { "(\(value)).to_bytes(\(length), \"\(order.rawValue)\", signed=\(signed ? "True" : "False"))" }
    }

    /// The committed table (Lesson03Vectors.swift, made by make_vectors.py with CPython).
    static let vectors: [Vector] = vectorTable.split(separator: "\n").compactMap { line in
        let fields = line.split(separator: " ")
        guard fields.count == 5, let value = Int128(String(fields[0])), let length = Int(String(fields[1])),
              let order = ByteOrder(rawValue: String(fields[2])) else { return nil }
        let bytes: [UInt8]? = fields[4] == "OverflowError" ? nil : stride(from: 0, to: fields[4].count, by: 2).map { i in
            let start = fields[4].index(fields[4].startIndex, offsetBy: i)
            return UInt8(fields[4][start..<fields[4].index(start, offsetBy: 2)], radix: 16)!
        }
        return Vector(value: value, length: length, order: order, signed: fields[3] == "signed", bytes: bytes)
    }

    // MARK: - part 1

    /// Part 1: encoding matches CPython's int.to_bytes on a table of vectors.
    static func encodingMatchesPython<L: IntegerBytesContract>(_: L.Type) throws {
        let look = "encode(_:length:order:signed:) in \(file)"
        let table = vectors.filter { $0.bytes != nil }
        try require(table.count > 700, CheckFailure("the vector table is missing", look: "Lesson03Vectors.swift"))
        for vector in table {
            let expected = vector.bytes!
            let seen = try attempt(vector.call, look: look) { try L.encode(vector.value, length: vector.length, order: vector.order, signed: vector.signed) }
            if seen != expected {
                throw CheckFailure("\(vector.call) differs from CPython",
                                   expected: "\(hex(expected))   — Python: \(vector.python)", seen: hex(seen),
                                   cause: encodingCause(seen: seen, expected: expected, vector: vector), look: look)
            }
        }
        for length in [0, 9, -1] {
            try requireError("encode(1, length: \(length), order: .big, signed: false)", .invalidLength(length),
                             cause: "lengths are 1…8 bytes: check before anything else", look: look) {
                try L.encode(1, length: length, order: .big, signed: false)
            }
        }
    }

    /// The likeliest reason an encoding came out wrong.
    static func encodingCause(seen: [UInt8], expected: [UInt8], vector: Vector) -> String {
        if seen.count != expected.count { return "the result must be exactly length (\(vector.length)) bytes" }
        if seen == expected.reversed() {
            return vector.order == .big
                ? "the bytes are in little-endian order: \"big\" puts the most significant byte first (do not copy the machine's own memory, which is little-endian)"
                : "the bytes are in big-endian order: \"little\" puts the least significant byte first"
        }
        if vector.value < 0 { return "a negative value is stored in two's complement: the low bytes of value + 2^(8·length)" }
        return "shift the value right by 8·k bits and keep the low byte (UInt8(truncatingIfNeeded:)) for each byte k"
    }

    // MARK: - part 2

    /// Part 2: decoding matches int.from_bytes, negative signed values included.
    static func decodingMatchesPython<L: IntegerBytesContract>(_: L.Type) throws {
        let look = "decode(_:order:signed:) in \(file)"
        for vector in vectors {
            guard let bytes = vector.bytes else { continue }
            let call = "decode([\(hex(bytes))], order: \(vector.order), signed: \(vector.signed))"
            let seen = try attempt(call, look: look) { try L.decode(bytes, order: vector.order, signed: vector.signed) }
            if seen != vector.value {
                let python = "int.from_bytes(bytes.fromhex(\"\(hex(bytes, separator: ""))\"), \"\(vector.order.rawValue)\", signed=\(vector.signed ? "True" : "False"))"
                var cause = "for \"big\" the first byte is the most significant; for \"little\" the last"
                if vector.signed && vector.value < 0 && seen == vector.value + (Int128(1) << (8 * vector.length)) {
                    cause = "signed, with the top bit set, the bytes stand for a negative number: subtract 2^(8·length) (here 2^\(8 * vector.length))"
                } else if !vector.signed && seen < 0 {
                    cause = "unsigned bytes never give a negative number"
                }
                throw CheckFailure("\(call) differs from CPython", expected: "\(vector.value)   — Python: \(python)",
                                   seen: "\(seen)", cause: cause, look: look)
            }
        }
        for count in [0, 9] {
            try requireError("decode(<\(count) bytes>, order: .little, signed: true)", .invalidLength(count),
                             cause: "1…8 bytes only: check bytes.count first", look: look) {
                try L.decode([UInt8](repeating: 0xFF, count: count), order: .little, signed: true)
            }
        }
    }

    // MARK: - part 3

    /// Part 3: overflow: values that do not fit are refused, like Python's OverflowError, nothing written.
    static func overflowIsRefused<L: IntegerBytesContract>(_: L.Type) throws {
        let look = "encode(_:length:order:signed:) in \(file)"
        // The lesson text's cases first, then every OverflowError of the table.
        let named: [(Int128, Int, Bool)] = [(256, 1, false), (-1, 1, false), (128, 1, true), (-129, 1, true),
                                           (65536, 2, false), (Int128(1) << 64, 8, false), (-(Int128(1) << 63) - 1, 8, true)]
        let cases = named.map { Vector(value: $0.0, length: $0.1, order: .big, signed: $0.2, bytes: nil) } + vectors.filter { $0.bytes == nil }
        for vector in cases {
            let expected = IntegerBytesError.overflow(value: vector.value, length: vector.length, signed: vector.signed)
            try requireError(vector.call, expected,
                             cause: overflowCause(vector), look: look) {
                try L.encode(vector.value, length: vector.length, order: vector.order, signed: vector.signed)
            }
        }
        // A failed store writes nothing.
        let block = try labSharedBlock(bytes: 64)
        defer { labUnmap(block) }
        for (value, length, signed) in named {
            for i in 0..<block.count { block[i] = 0xAA }
            let call = "store(\(value), into: <64 bytes>, at: 8, length: \(length), order: .little, signed: \(signed))"
            try requireError(call, .overflow(value: value, length: length, signed: signed),
                             cause: "store must refuse what encode refuses", look: "store(_:into:at:length:order:signed:) in \(file)") {
                try L.store(value, into: block, at: 8, length: length, order: .little, signed: signed)
            }
            if let index = block.firstIndex(where: { $0 != 0xAA }) {
                throw CheckFailure("\(call) threw, but wrote into the buffer first", expected: "the buffer unchanged (all 0xAA)",
                                   seen: "byte \(index) is 0x\(String(block[index], radix: 16))",
                                   cause: "encode (which throws) before writing a single byte",
                                   look: "store(_:into:at:length:order:signed:) in \(file)")
            }
        }
    }

    static func overflowCause(_ vector: Vector) -> String {
        let bits = 8 * vector.length
        let range = vector.signed ? "−2^\(bits - 1) … 2^\(bits - 1) − 1" : "0 … 2^\(bits) − 1"
        return "a \(vector.length)-byte \(vector.signed ? "signed" : "unsigned") integer holds \(range); Python raises OverflowError (\(vector.python)). Truncating silently stores a different number"
    }

    // MARK: - part 4

    /// Part 4: 4,000 random round trips for every length, byte order and signedness. The values
    /// come from the part's seed; the oracle is the encoding by shifts (what CPython computes), so a
    /// failure names the smallest value it fails on and `--seed` draws the same values again.
    static func randomRoundTrips<L: IntegerBytesContract>(_: L.Type, _ context: PartContext) throws {
        var random = context.random(stream: 4)
        for length in 1...8 {
            let bits = 8 * length
            for signed in [false, true] {
                let low: Int128 = signed ? -(Int128(1) << (bits - 1)) : 0
                let high: Int128 = signed ? (Int128(1) << (bits - 1)) - 1 : (Int128(1) << bits) - 1
                for order in [ByteOrder.big, .little] {
                    var values: [Int128] = [low, high, signed ? -1 : 0, 0, 1]
                    while values.count < 4_000 {
                        // Small magnitudes too: draw the number of significant bits first.
                        let width = Int.random(in: 1...bits, using: &random)
                        values.append(low + Int128(random.next() >> UInt64(64 - width)))
                    }
                    let what = "\(length)-byte \(signed ? "signed" : "unsigned") \(order)"
                    // A fast pass first; the failing values, if any, go through forEachGenerated, which
                    // reports the smallest of them with the seed.
                    let failing = values.contains { !roundTripHolds(L.self, $0, length: length, order: order, signed: signed) }
                    try context.forEachGenerated(failing ? values : [], size: { Int(($0 < 0 ? -($0 + 1) : $0).bitWidth - ($0 < 0 ? -($0 + 1) : $0).leadingZeroBitCount) },
                                                 describe: { "\($0) (\(what))" }) { value in
                        try roundTrip(L.self, value, length: length, order: order, signed: signed)
                    }
                    // Every byte pattern decodes as CPython's int.from_bytes would.
                    var patterns: [[UInt8]] = [[UInt8](repeating: 0xFF, count: length), [0x80] + [UInt8](repeating: 0, count: length - 1)]
                    for _ in 0..<500 { patterns.append((0..<length).map { _ in UInt8.random(in: 0...255, using: &random) }) }
                    let wrong = patterns.contains { (try? L.decode($0, order: order, signed: signed)) != oracleDecode($0, order: order, signed: signed) }
                    try context.forEachGenerated(wrong ? patterns : [], size: { $0.reduce(0) { $0 + $1.nonzeroBitCount } },
                                                 describe: { "bytes [\(hex($0))] (\(what))" }) { bytes in
                        let expected = oracleDecode(bytes, order: order, signed: signed)
                        let call = "decode([\(hex(bytes))], order: \(order), signed: \(signed))"
                        let seen = try attempt(call) { try L.decode(bytes, order: order, signed: signed) }
                        try requireEqual(seen, expected, "\(call) differs from int.from_bytes",
                                         cause: signed && seen == expected + (Int128(1) << bits)
                                             ? "signed, with the top bit set, the bytes stand for a negative number: subtract 2^(8·length)"
                                             : "for \"big\" the first byte is the most significant; for \"little\" the last",
                                         look: "decode(_:order:signed:) in \(file)")
                    }
                }
            }
        }
    }

    /// The fast test of `roundTrip`: no strings unless it fails.
    static func roundTripHolds<L: IntegerBytesContract>(_: L.Type, _ value: Int128, length: Int, order: ByteOrder, signed: Bool) -> Bool {
        guard let encoded = try? L.encode(value, length: length, order: order, signed: signed), encoded.count == length else { return false }
        let pattern = UInt64(truncatingIfNeeded: value)
        for i in 0..<length where encoded[i] != UInt8(truncatingIfNeeded: pattern >> UInt64(8 * (order == .big ? length - 1 - i : i))) {
            return false
        }
        guard let decoded = try? L.decode(encoded, order: order, signed: signed) else { return false }
        return decoded == value
    }

    /// encode gives the oracle's bytes, and decode gives the value back.
    static func roundTrip<L: IntegerBytesContract>(_: L.Type, _ value: Int128, length: Int, order: ByteOrder, signed: Bool) throws {
        let vector = Vector(value: value, length: length, order: order, signed: signed, bytes: oracleEncode(value, length: length, order: order))
        let encoded = try attempt(vector.call) { try L.encode(value, length: length, order: order, signed: signed) }
        if encoded != vector.bytes! {
            throw CheckFailure("\(vector.call) differs from CPython", expected: "\(hex(vector.bytes!))   — Python: \(vector.python)",
                               seen: hex(encoded), cause: encodingCause(seen: encoded, expected: vector.bytes!, vector: vector),
                               look: "encode(_:length:order:signed:) in \(file)")
        }
        let decoded = try attempt("decode([\(hex(encoded))], order: \(order), signed: \(signed))") {
            try L.decode(encoded, order: order, signed: signed)
        }
        if decoded != value {
            throw CheckFailure("a round trip changed the value (\(length)-byte \(signed ? "signed" : "unsigned") \(order))",
                               expected: "\(value) → \(length) bytes → \(value)",
                               seen: "\(value) → [\(hex(encoded))] → \(decoded)",
                               cause: (decoded < 0) != (value < 0)
                                   ? "the sign: a signed value whose most significant byte has its top bit set is negative (subtract 2^(8·length)) — that byte is the first for \"big\" and the last for \"little\"; an unsigned value is never negative"
                                   : "encode and decode must use the same byte order and the same number of bytes",
                               look: "encode and decode in \(file)")
        }
    }

    /// What CPython's `value.to_bytes(length, order, signed=…)` gives for a value in range.
    static func oracleEncode(_ value: Int128, length: Int, order: ByteOrder) -> [UInt8] {
        let pattern = UInt64(truncatingIfNeeded: value)
        return (0..<length).map { i in UInt8(truncatingIfNeeded: pattern >> UInt64(8 * (order == .big ? length - 1 - i : i))) }
    }

    /// What CPython's `int.from_bytes(bytes, order, signed=…)` gives.
    static func oracleDecode(_ bytes: [UInt8], order: ByteOrder, signed: Bool) -> Int128 {
        let ordered = order == .big ? bytes : bytes.reversed()
        var value: Int128 = 0
        for byte in ordered { value = value << 8 | Int128(byte) }
        if signed, let first = ordered.first, first & 0x80 != 0 { value -= Int128(1) << (8 * bytes.count) }
        return value
    }

    // MARK: - part 5

    /// Part 5: store/load at unaligned offsets (1, 3, 5, 7) of a shared block, seen by another process.
    static func unalignedStoreAndLoad<L: IntegerBytesContract>(_: L.Type) throws {
        let look = "store(_:into:at:length:order:signed:) and load(from:at:length:order:signed:) in \(file)"
        let block = try labSharedBlock(bytes: 4096)
        defer { labUnmap(block) }
        // The student's buffer is 256 bytes in the middle of the block; the rest is a fence.
        let region = UnsafeMutableRawBufferPointer(rebasing: block[1024..<1280])
        // The whole block is the fence; within the table's loop, the buffer and 64 bytes each side.
        var watched = 0..<block.count
        func resetFence() { for i in watched { block[i] = 0xAA } }
        func requireFence(_ call: String, except range: Range<Int>?) throws {
            let allowed = range.map { ($0.lowerBound + 1024)..<($0.upperBound + 1024) } ?? 0..<0
            let changed = watched.filter { block[$0] != 0xAA && !allowed.contains($0) }
            guard !changed.isEmpty else { return }
            let inside = changed.filter { (1024..<1280).contains($0) }.count
            let before = changed.filter { $0 < 1024 }.count, after = changed.filter { $0 >= 1280 }.count
            var seen: [String] = []
            if inside > 0 { seen.append("\(inside) byte\(inside == 1 ? "" : "s") of the buffer") }
            if before > 0 { seen.append("\(before) byte\(before == 1 ? "" : "s") before its start") }
            if after > 0 { seen.append("\(after) byte\(after == 1 ? "" : "s") past its end") }
            throw CheckFailure("\(call) wrote where it should not",
                               expected: range.map { "only bytes \($0.lowerBound)..<\($0.upperBound) of the buffer change" } ?? "nothing written",
                               seen: seen.joined(separator: " and ") + " changed",
                               cause: before + after > 0 || range == nil
                                   ? "check offset >= 0 and offset <= buffer.count - length (no addition, which can overflow), and throw .outOfBounds before writing anything: past the buffer lies other data"
                                   : "write exactly length bytes at offset",
                               look: look)
        }
        let table = vectors.filter { $0.bytes != nil }
        resetFence()
        watched = (1024 - 64)..<(1280 + 64)
        defer { watched = 0..<block.count }
        for offset in [1, 3, 5, 7, 0, 250] {
            for vector in table where offset + vector.length <= region.count {
                resetFence()
                let call = "store(\(vector.value), into: buffer, at: \(offset), length: \(vector.length), order: \(vector.order), signed: \(vector.signed))"
                try attempt(call, look: look) {
                    try L.store(vector.value, into: region, at: offset, length: vector.length, order: vector.order, signed: vector.signed)
                }
                let written = Array(region[offset..<(offset + vector.length)])
                if written != vector.bytes! {
                    throw CheckFailure("\(call) wrote the wrong bytes", expected: "\(hex(vector.bytes!))   — Python: \(vector.python)",
                                       seen: hex(written), cause: encodingCause(seen: written, expected: vector.bytes!, vector: vector), look: look)
                }
                try requireFence(call, except: offset..<(offset + vector.length))
                let loadCall = "load(from: buffer, at: \(offset), length: \(vector.length), order: \(vector.order), signed: \(vector.signed))"
                let seen = try attempt(loadCall, look: look) {
                    try L.load(from: UnsafeRawBufferPointer(region), at: offset, length: vector.length, order: vector.order, signed: vector.signed)
                }
                try requireEqual(seen, vector.value, "\(loadCall) does not give back what was stored",
                                 cause: "load reads the same bytes store wrote: bytes offset..<offset+length, same order and sign", look: look)
            }
        }

        watched = 0..<block.count
        // Out of bounds: an error, and nothing written anywhere.
        for (offset, length) in [(region.count - 7, 8), (region.count, 1), (-1, 2), (-8, 8), (Int.max - 4, 8)] {
            if offset > Int.max - length {
                // offset + length overflows here, and a bounds test that computes it traps (SIGILL):
                // try the calls in a child first, so that a crash can be explained.
                try requireNoCrash(offset: offset, length: length, count: region.count, look: look) {
                    try L.store(1, into: region, at: offset, length: length, order: .big, signed: false)
                }
                try requireNoCrash(offset: offset, length: length, count: region.count, look: look, load: true) {
                    _ = try L.load(from: UnsafeRawBufferPointer(region), at: offset, length: length, order: .big, signed: false)
                }
            }
            resetFence()
            let call = "store(1, into: <\(region.count) bytes>, at: \(offset), length: \(length), order: .big, signed: false)"
            try requireError(call, .outOfBounds(offset: offset, length: length, count: region.count),
                             cause: "check offset >= 0 and offset <= buffer.count - length before writing (offset + length overflows for offset = Int.max - 4)", look: look,
                             ifReturned: { try requireFence(call, except: nil) }) {
                try L.store(1, into: region, at: offset, length: length, order: .big, signed: false)
            }
            try requireFence(call, except: nil)
            let loadCall = "load(from: <\(region.count) bytes>, at: \(offset), length: \(length), order: .big, signed: false)"
            try requireError(loadCall, .outOfBounds(offset: offset, length: length, count: region.count),
                             cause: "check offset >= 0 and offset <= buffer.count - length before reading (offset + length overflows for offset = Int.max - 4)", look: look) {
                try L.load(from: UnsafeRawBufferPointer(region), at: offset, length: length, order: .big, signed: false)
            }
        }
        for length in [0, 9] {
            try requireError("store(1, into:, at: 1, length: \(length), …)", .invalidLength(length),
                             cause: "lengths are 1…8 bytes", look: look) {
                try L.store(1, into: region, at: 1, length: length, order: .big, signed: false)
            }
            try requireError("load(from:, at: 1, length: \(length), …)", .invalidLength(length),
                             cause: "lengths are 1…8 bytes", look: look) {
                try L.load(from: UnsafeRawBufferPointer(region), at: 1, length: length, order: .big, signed: false)
            }
        }

        // Another process reads what this one stored at odd offsets, and answers at another.
        resetFence()
        let layout: [(offset: Int, value: Int128, length: Int, order: ByteOrder, signed: Bool)] = [
            (1, -2, 8, .big, true), (11, 0xDEAD_BEEF, 4, .little, false), (17, -300, 2, .big, true),
            (23, (Int128(1) << 64) - 1, 8, .little, false), (33, 0x12_3456, 3, .big, false), (39, -(Int128(1) << 39), 5, .little, true),
        ]
        for item in layout {
            try attempt("store(\(item.value), at: \(item.offset), length: \(item.length), …)", look: look) {
                try L.store(item.value, into: region, at: item.offset, length: item.length, order: item.order, signed: item.signed)
            }
        }
        let pid = try forkChild {
            var sum: Int128 = 0
            for item in layout {
                let value = try L.load(from: UnsafeRawBufferPointer(region), at: item.offset, length: item.length,
                                       order: item.order, signed: item.signed)
                guard value == item.value else { return 10 + Int32(item.offset) }
                sum += value
            }
            try L.store(sum & 0xFFFF_FFFF_FFFF, into: region, at: 101, length: 6, order: .big, signed: false)
            return 0
        }
        let end = try waitForProcess(pid)
        if case .exited(let code) = end, code >= 10 {
            throw CheckFailure("another process loads a different value from the shared block",
                               expected: "the value stored at offset \(code - 10)", look: look)
        }
        try requireEqual(end, .exited(0), "the process reading the shared block failed", look: look)
        let sum = layout.reduce(Int128(0)) { $0 + $1.value } & 0xFFFF_FFFF_FFFF
        let answer = try attempt("load(from:, at: 101, length: 6, order: .big, signed: false)", look: look) {
            try L.load(from: UnsafeRawBufferPointer(region), at: 101, length: 6, order: .big, signed: false)
        }
        try requireEqual(answer, sum, "the value the other process stored at offset 101 does not come back", look: look)
    }

    /// Runs one out-of-bounds store or load in a child the lab forks, and turns a crash into a
    /// failure that says why: the part's own process would die with the student's code.
    static func requireNoCrash(offset: Int, length: Int, count: Int, look: String, load: Bool = false,
                               _ body: () throws -> Void) throws {
        let call = load ? "load(from: <\(count) bytes>, at: \(offset), length: \(length), order: .big, signed: false)"
                        : "store(1, into: <\(count) bytes>, at: \(offset), length: \(length), order: .big, signed: false)"
        let pid = try forkChild {
            do { try body() } catch {}               // any error is judged in the part's own process next
            return 0
        }
        let end = try waitForProcess(pid)
        guard case .signaled(let signal) = end else { return }
        let expected = "IntegerBytesError.outOfBounds(offset: \(offset), length: \(length), count: \(count)) thrown"
        if signal == SIGILL || signal == SIGTRAP {
            throw CheckFailure("\(call) crashed (\(signalName(signal)), a Swift trap) instead of throwing",
                               expected: expected,
                               seen: "the process was killed by \(signalName(signal)) (offset is Int.max - 4)",
                               cause: "arithmetic overflow in the bounds check: offset + length is more than Int.max for offset = Int.max - 4, and Swift traps on integer overflow. Test guard offset >= 0, length >= 0, offset <= buffer.count - length — no term of it can overflow — and only then compute offset + length",
                               look: look)
        }
        throw CheckFailure("\(call) crashed (\(signalName(signal))) instead of throwing",
                           expected: expected,
                           seen: "the process was killed by \(signalName(signal)) (offset is Int.max - 4)",
                           cause: signal == SIGSEGV || signal == SIGBUS
                               ? "it touched memory far outside the buffer: check the bounds before reading or writing a single byte"
                               : PartOutcome.meaning(ofSignal: signal),
                           look: look)
    }

    // MARK: - part 6

    /// Part 6: the tutorial's counter: 4 processes reach the exact total; one byte stops at 255.
    static func sharedCounter<L: IntegerBytesContract>(_: L.Type) throws {
        let look = "increment(counterIn:at:length:order:lock:) in \(file)"
        let block = try labSharedBlock(bytes: 4096)
        defer { labUnmap(block) }
        let lock = try ProcessSharedMutex.initialize(at: block.baseAddress!)     // the lab provides the lock
        defer { lock.destroy() }
        let wide = 64, narrow = 73                                                // counters' offsets
        let start = SharedFlag(at: block.baseAddress! + 256)
        func slot(_ i: Int) -> Int { 512 + 8 * i }

        // Four processes, 5,000 increments each, of an 8-byte big-endian counter.
        let processes = 4, increments = 5_000
        var pids: [pid_t] = []
        for _ in 0..<processes {
            pids.append(try forkChild {
                guard start.wait(for: 1, timeout: 60) else { return 3 }
                for _ in 0..<increments {
                    _ = try L.increment(counterIn: block, at: wide, length: 8, order: .big, lock: lock)
                }
                return 0
            })
        }
        start.value = 1                                                           // all start together
        for pid in pids {
            let end = try waitForProcess(pid)
            try requireEqual(end, .exited(0), "a process incrementing the counter failed", look: look)
        }
        let total = processes * increments
        let raw = Array(block[wide..<(wide + 8)])
        let expected = (0..<8).map { UInt8(truncatingIfNeeded: UInt64(total) >> UInt64(8 * (7 - $0))) }
        if raw != expected {
            let seen = raw.reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            let littleEndian = raw.reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            throw CheckFailure("\(processes) processes × \(increments) increments did not give \(total)",
                               expected: "\(total) as 8 big-endian bytes: \(hex(expected))",
                               seen: "\(hex(raw)) (= \(seen) big-endian)",
                               cause: littleEndian == UInt64(total)
                                   ? "the counter is stored little-endian: order .big puts the most significant byte first, like Python's to_bytes(8, \"big\")"
                                   : seen < UInt64(total)
                                       ? "\(UInt64(total) - seen) updates were lost: load, add and store must all happen while holding the lock (lock.withLock { … })"
                                       : "each increment adds exactly 1",
                               look: look)
        }

        // One process at a time first: the return value, the order, the refusal at 2^64 − 1 (and
        // the lock free after it), then the lock held by the lab while a child increments.
        try incrementReturnsAndOrders(L.self, block: block, lock: lock, look: look)
        try incrementHoldsTheLockThroughout(L.self, block: block, lock: lock, look: look)

        // The article's first counter: one byte, which holds 0…255. 2 processes × 150 increments.
        start.value = 0
        pids = []
        for i in 0..<2 {
            pids.append(try forkChild {
                guard start.wait(for: 1, timeout: 60) else { return 3 }
                var refused: UInt64 = 0
                for _ in 0..<150 {
                    do {
                        _ = try L.increment(counterIn: block, at: narrow, length: 1, order: .big, lock: lock)
                    } catch IntegerBytesError.overflow {
                        refused += 1
                    }
                }
                block.storeBytes(of: refused, toByteOffset: slot(i), as: UInt64.self)
                return 0
            })
        }
        start.value = 1
        for pid in pids {
            let end = try waitForProcess(pid)
            try requireEqual(end, .exited(0), "a process incrementing the one-byte counter failed", look: look)
        }
        let refused = (0..<2).reduce(0) { $0 + Int(block.load(fromByteOffset: slot($1), as: UInt64.self)) }
        let byte = Int(block[narrow])
        if byte != 255 || refused != 300 - 255 {
            throw CheckFailure("the one-byte counter went wrong past 255",
                               expected: "it stops at 255 (0xff), and the other 45 increments throw .overflow — Python: (256).to_bytes(1, \"big\") raises OverflowError",
                               seen: "it reads \(byte) after 300 increments, \(refused) refused",
                               cause: byte == 300 % 256 && refused == 0
                                   ? "the wrap at 256: one byte holds 0…255, and 256 truncated to one byte is 0 — the counter silently starts over (Python refuses it instead: a memoryview raises ValueError). To count further the article uses 8 bytes; store must throw .overflow here"
                                   : "increment stores value + 1 with store, which throws .overflow at the maximum and leaves the counter unchanged",
                               look: look)
        }
        try requireEqual(Array(block[(wide - 1)...(wide + 8)]), [0] + expected + [0],
                         "the counters' neighbours changed", cause: "increment touches exactly length bytes at offset", look: look)
    }

    /// One process: increment returns the new value, honours the byte order and the length at an
    /// odd offset, and refuses to go past 2^64 − 1.
    static func incrementReturnsAndOrders<L: IntegerBytesContract>(_: L.Type, block: UnsafeMutableRawBufferPointer,
                                                                    lock: ProcessSharedMutex, look: String) throws {
        let at = 301                                                          // 3 bytes, little-endian
        for i in 296..<312 { block[i] = 0 }
        for expected in 1...300 {
            let returned = try attempt("increment(counterIn:, at: \(at), length: 3, order: .little, lock:)", look: look) {
                try L.increment(counterIn: block, at: at, length: 3, order: .little, lock: lock)
            }
            if returned != Int128(expected) {
                throw CheckFailure("increment returned the wrong value (a 3-byte little-endian counter, increment \(expected))",
                                   expected: "\(expected), the new value", seen: "\(returned)",
                                   cause: returned == Int128(expected - 1) ? "return the value after adding 1, not the one read before" : "return value + 1, what was stored",
                                   look: look)
            }
        }
        let bytes = Array(block[at..<(at + 3)])
        if bytes != [0x2c, 0x01, 0x00] {
            throw CheckFailure("a 3-byte little-endian counter at offset \(at) is stored wrongly after 300 increments",
                               expected: "2c 01 00 (300, least significant byte first: (300).to_bytes(3, \"little\"))",
                               seen: hex(bytes),
                               cause: bytes == [0x00, 0x01, 0x2c] ? "increment ignores `order`: pass it on to load and store (the article's counter is big-endian, this one is not)"
                                                                  : "load, add 1 and store with the given length and order",
                               look: look)
        }
        try require(block[at - 1] == 0 && block[at + 3] == 0, CheckFailure(
            "increment of a 3-byte counter changed its neighbours", expected: "bytes \(at - 1) and \(at + 3) stay 0",
            seen: "\(block[at - 1]) and \(block[at + 3])", cause: "touch exactly `length` bytes at `offset`", look: look))
        // The largest 8-byte counter: one more is refused, and the counter keeps its value.
        let top = 320
        for i in top..<(top + 8) { block[i] = 0xFF }
        let call = "increment(counterIn:, at: \(top), length: 8, order: .big, lock:) at 2^64 − 1"
        do {
            let value = try L.increment(counterIn: block, at: top, length: 8, order: .big, lock: lock)
            throw CheckFailure("\(call) returned \(value)", expected: "IntegerBytesError.overflow(value: 18446744073709551616, length: 8, signed: false), the counter unchanged",
                               seen: "it returned \(value); the counter now reads \(hex(block[top..<(top + 8)]))",
                               cause: "compute value + 1 as Int128 and let store refuse it: UInt64 arithmetic with &+ wraps 2^64 − 1 to 0", look: look)
        } catch let error as IntegerBytesError {
            try requireEqual(error, .overflow(value: Int128(1) << 64, length: 8, signed: false), "\(call) threw the wrong error", look: look)
        } catch let failure as CheckFailure {
            throw failure
        } catch {
            throw CheckFailure("\(call) threw the wrong kind of error", expected: "IntegerBytesError.overflow", seen: "\(error)", look: look)
        }
        try requireEqual(hex(block[top..<(top + 8)]), "ff ff ff ff ff ff ff ff", "\(call) changed the counter although it threw",
                         cause: "a refused increment leaves the counter as it was", look: look)
        // The lock is free again after the refusal.
        try require(lock.ownerThreadID == nil, CheckFailure("\(call) threw with the lock still held",
                                                           expected: "the lock released on every path out of increment, the throwing one too",
                                                           seen: "the lock is held by thread \(lock.ownerThreadID ?? 0)",
                                                           cause: "use lock.withLock { … }, or unlock in a defer", look: look))
    }

    /// The lab holds the lock while a child increments: the child must block before it reads the
    /// counter. The lab then adds 100 under the lock; once it unlocks, the child's increment must
    /// start from what the lab left (no read before the lock, no store without it).
    static func incrementHoldsTheLockThroughout<L: IntegerBytesContract>(_: L.Type, block: UnsafeMutableRawBufferPointer,
                                                                         lock: ProcessSharedMutex, look: String) throws {
        let at = 400
        for i in at..<(at + 8) { block[i] = 0 }
        let returnedSlot = 448
        block.storeBytes(of: UInt64(0), toByteOffset: returnedSlot, as: UInt64.self)
        try lock.lock()
        var locked = true
        defer { if locked { lock.unlock() } }
        let pid = try forkChild {
            let value = try L.increment(counterIn: block, at: at, length: 8, order: .big, lock: lock)
            block.storeBytes(of: UInt64(truncatingIfNeeded: value), toByteOffset: returnedSlot, as: UInt64.self)
            return 0
        }
        var reaped = false
        defer { if !reaped { kill(pid, SIGKILL); _ = waitForProcess(pid, timeout: 5) } }
        // Until the child sleeps (in the lock) or has ended.
        let deadline = monotonicSeconds() + 10
        while monotonicSeconds() < deadline {
            if waitUntilBlocked([pid], timeout: 0.1) { break }
            if let state = ProcessInspection.state(of: pid), state == "Z" { break }
        }
        let during = Array(block[at..<(at + 8)])
        if during != [UInt8](repeating: 0, count: 8) {
            throw CheckFailure("increment changed the counter while another process held the lock",
                               expected: "the child waits for the lock before touching the counter",
                               seen: "the counter became \(hex(during)) while the lab held the lock",
                               cause: "take the lock around the whole read-modify-write: try lock.withLock { load, add 1, store }",
                               look: look)
        }
        // What other processes did meanwhile, under the lock: 100 increments.
        for i in 0..<8 { block[at + i] = i == 7 ? 100 : 0 }
        lock.unlock()
        locked = false
        let end = try waitForProcess(pid)
        reaped = true
        try requireEqual(end, .exited(0), "the process incrementing the counter failed", look: look)
        let after = Array(block[at..<(at + 8)])
        let returned = block.load(fromByteOffset: returnedSlot, as: UInt64.self)
        if after != [0, 0, 0, 0, 0, 0, 0, 101] {
            throw CheckFailure("an increment lost what another process did while it waited for the lock",
                               expected: "101: the child read the counter after the lab's 100 increments, under the lock",
                               seen: "\(hex(after)) (increment returned \(returned))",
                               cause: after.last == 1
                                   ? "increment read the counter before it took the lock, then stored its stale value + 1: load, add and store must all happen while holding the lock"
                                   : "load, add 1 and store, all while holding the lock",
                               look: look)
        }
        try requireEqual(returned, 101, "increment returned the wrong value after waiting for the lock", look: look)
    }
}

// MARK: - helpers

extension Lesson03 {
    /// "12 34 ff" (or "1234ff" with no separator).
    static func hex<C: Collection>(_ bytes: C, separator: String = " ") -> String where C.Element == UInt8 {
        bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined(separator: separator)
    }

    /// Runs a call that must throw exactly `expected`.
    /// `ifReturned` runs first when the call returns instead (to say what it did wrong).
    static func requireError<T>(_ call: String, _ expected: IntegerBytesError, cause: String, look: String,
                                ifReturned: () throws -> Void = {}, _ body: () throws -> T) throws {
        do {
            let value = try body()
            try ifReturned()
            let seen = value is [UInt8] ? "[\(hex(value as! [UInt8]))]" : value is Void ? "it returned normally" : "\(value)"
            throw CheckFailure("\(call) did not throw", expected: "\(expected)", seen: seen, cause: cause, look: look)
        } catch let error as IntegerBytesError {
            try requireEqual(error, expected, "\(call) threw the wrong error", cause: cause, look: look)
        } catch let failure as CheckFailure {
            throw failure
        } catch {
            throw CheckFailure("\(call) threw the wrong kind of error", expected: "IntegerBytesError\(expected)",
                               seen: "\(error) (\(type(of: error)))", cause: cause, look: look)
        }
    }

}
