import Glibc
import Contracts

// Lesson 08 — reference solution.
//
// The lab's SharedSegment does the system calls (shm_open, ftruncate, fstat, mmap, shm_unlink);
// everything about what the bytes mean is here: the header, the row-major layout, the bands
// of rows the workers share out, and CPython's ShareableList format.

public enum SharedArrays: SharedArraysContract {

    // MARK: - the header and the layout

    /// Validates a shape and returns how many bytes its elements take (count × size), refusing
    /// anything whose segment size (header + elements) would overflow an Int.
    static func elementBytes(of shape: [Int], _ type: ElementType) throws -> Int {
        guard !shape.isEmpty else { throw SharedArrayError.emptyShape }
        guard shape.count <= SharedArrayLayout.maxRank, shape.allSatisfy({ $0 > 0 }) else {
            throw SharedArrayError.invalidShape(shape)
        }
        var bytes = type.size
        for dimension in shape {
            let (product, overflow) = bytes.multipliedReportingOverflow(by: dimension)
            if overflow { throw SharedArrayError.tooLarge(shape) }
            bytes = product
        }
        if bytes.addingReportingOverflow(SharedArrayLayout.headerSize).overflow {
            throw SharedArrayError.tooLarge(shape)
        }
        return bytes
    }

    public static func create<E: SharedElement>(_ type: E.Type, shape: [Int], name: String) throws -> SharedArray<E> {
        // Every check happens before the segment exists: a bad shape creates nothing.
        let bytes = try elementBytes(of: shape, E.elementType)
        let segment = try SharedSegment.create(name: name, size: SharedArrayLayout.headerSize + bytes)
        let header = segment.bytes
        // A new segment is all zeros, so the unused shape slots and the elements are already 0.
        header.copyBytes(from: SharedArrayLayout.magic)
        header.storeBytes(of: E.elementType.rawValue.littleEndian,
                          toByteOffset: SharedArrayLayout.elementTypeOffset, as: UInt32.self)
        header.storeBytes(of: UInt32(shape.count).littleEndian,
                          toByteOffset: SharedArrayLayout.rankOffset, as: UInt32.self)
        for (k, dimension) in shape.enumerated() {
            header.storeBytes(of: Int64(dimension).littleEndian,
                              toByteOffset: SharedArrayLayout.shapeOffset + 8 * k, as: Int64.self)
        }
        return SharedArray(segment: segment, shape: shape)
    }

    public static func attach<E: SharedElement>(_ type: E.Type, shape: [Int]?, name: String) throws -> SharedArray<E> {
        if let shape { _ = try elementBytes(of: shape, E.elementType) }   // a bad argument is the caller's mistake
        let segment = try SharedSegment.attach(name: name)
        // If we throw below, `segment` goes away and its deinit unmaps it.
        let bytes = UnsafeRawBufferPointer(segment.bytes)
        func notAnArray(_ reason: String) -> SharedArrayError { .notASharedArray(name: name, reason: reason) }

        // Read nothing before knowing it is there: a short segment must be an error, not a SIGBUS.
        guard bytes.count >= SharedArrayLayout.headerSize else {
            throw notAnArray("\(bytes.count) bytes is too small for the \(SharedArrayLayout.headerSize)-byte header")
        }
        guard bytes.prefix(SharedArrayLayout.magic.count).elementsEqual(SharedArrayLayout.magic) else {
            throw notAnArray("it does not start with the magic \"SHMARR01\"")
        }
        let code = UInt32(littleEndian: bytes.load(fromByteOffset: SharedArrayLayout.elementTypeOffset, as: UInt32.self))
        guard let found = ElementType(rawValue: code) else { throw notAnArray("unknown element type code \(code)") }
        guard found == E.elementType else {
            throw SharedArrayError.wrongElementType(expected: E.elementType, found: found)
        }
        let rank = Int(UInt32(littleEndian: bytes.load(fromByteOffset: SharedArrayLayout.rankOffset, as: UInt32.self)))
        guard (1...SharedArrayLayout.maxRank).contains(rank) else {
            throw notAnArray("rank \(rank) is not 1…\(SharedArrayLayout.maxRank)")
        }
        let stored = (0..<rank).map {
            Int(Int64(littleEndian: bytes.load(fromByteOffset: SharedArrayLayout.shapeOffset + 8 * $0, as: Int64.self)))
        }
        guard let needed = try? elementBytes(of: stored, found) else {
            throw notAnArray("the header's shape \(stored) is not a valid shape")
        }
        if let shape, shape != stored {
            throw SharedArrayError.wrongShape(expected: shape, found: stored)
        }
        // elementBytes guaranteed that headerSize + needed does not overflow.
        guard bytes.count >= SharedArrayLayout.headerSize + needed else {
            throw notAnArray("the header's shape \(stored) needs \(needed) bytes of elements, the segment has \(bytes.count - SharedArrayLayout.headerSize)")
        }
        return SharedArray(segment: segment, shape: stored)
    }

    /// The elements as a typed buffer: they start right after the header.
    static func elements<E: SharedElement>(of array: SharedArray<E>) -> UnsafeMutableBufferPointer<E> {
        let start = array.segment.bytes.baseAddress! + SharedArrayLayout.headerSize
        return UnsafeMutableBufferPointer(start: start.bindMemory(to: E.self, capacity: array.count), count: array.count)
    }

    // MARK: - indexing

    public static func offset(of index: [Int], shape: [Int]) throws -> Int {
        guard index.count == shape.count else { throw SharedArrayError.indexOutOfRange(index: index, shape: shape) }
        // Row-major (C order): the last index varies fastest. Horner's scheme gives
        // ((i0 × n1 + i1) × n2 + i2) …, which is i0·stride0 + i1·stride1 + … with
        // stride_k = n_(k+1) × … × n_last.
        var position = 0
        for (i, n) in zip(index, shape) {
            guard 0 <= i && i < n else { throw SharedArrayError.indexOutOfRange(index: index, shape: shape) }
            position = position * n + i
        }
        return position
    }

    public static func element<E: SharedElement>(at index: [Int], of array: SharedArray<E>) throws -> E {
        elements(of: array)[try offset(of: index, shape: array.shape)]
    }

    public static func setElement<E: SharedElement>(_ value: E, at index: [Int], of array: SharedArray<E>) throws {
        elements(of: array)[try offset(of: index, shape: array.shape)] = value
    }

    // MARK: - bulk

    public static func fill<E: SharedElement>(_ array: SharedArray<E>, rows: Range<Int>,
                                              with value: (_ index: [Int]) -> E) throws {
        let rowCount = array.shape[0]
        guard rows.lowerBound >= 0 && rows.upperBound <= rowCount else {
            throw SharedArrayError.rowsOutOfRange(rows, rows: rowCount)
        }
        guard !rows.isEmpty else { return }
        // Rows are contiguous in row-major order, so the band is one run of positions; the
        // index is advanced like an odometer instead of being recomputed for every element.
        let rowLength = array.count / rowCount
        let elements = elements(of: array)
        let shape = array.shape
        var index = [Int](repeating: 0, count: shape.count)
        index[0] = rows.lowerBound
        for position in (rows.lowerBound * rowLength)..<(rows.upperBound * rowLength) {
            elements[position] = value(index)
            var k = shape.count - 1
            while k > 0 {
                index[k] += 1
                if index[k] < shape[k] { break }
                index[k] = 0
                k -= 1
            }
            if k == 0 { index[0] += 1 }
        }
    }

    public static func copy<E: SharedElement>(_ values: [E], into array: SharedArray<E>) throws {
        guard values.count == array.count else { throw SharedArrayError.countMismatch(expected: array.count, got: values.count) }
        // One memcpy: the elements are contiguous on both sides.
        values.withUnsafeBytes { source in
            UnsafeMutableRawBufferPointer(elements(of: array)).copyMemory(from: source)
        }
    }

    public static func copy<E: SharedElement>(_ array: SharedArray<E>, into values: inout [E]) throws {
        guard values.count == array.count else { throw SharedArrayError.countMismatch(expected: array.count, got: values.count) }
        let source = UnsafeRawBufferPointer(elements(of: array))
        values.withUnsafeMutableBytes { $0.copyMemory(from: source) }
    }

    // MARK: - work split across processes

    public static func bands(rows: Int, workers: Int) throws -> [Range<Int>] {
        guard workers >= 1, rows >= 0 else { throw SharedArrayError.invalidWorkerCount(workers) }
        // Band w is [w·rows/workers, (w+1)·rows/workers): consecutive bands share their boundary,
        // so nothing is skipped or done twice, and integer division spreads the remainder.
        return (0..<workers).map { w in (w * rows / workers)..<((w + 1) * rows / workers) }
    }

    /// Forks one worker per band (with the lab's `forkChild`), runs `work` in each, and waits
    /// for all of them. No lock is needed: each worker writes only its own band.
    static func runWorkers(rows: Int, workers: Int, _ work: (_ worker: Int, _ band: Range<Int>) throws -> Void) throws {
        let bands = try bands(rows: rows, workers: workers)
        var pids: [pid_t] = []
        for (worker, band) in bands.enumerated() {
            do {
                pids.append(try forkChild {
                    try work(worker, band)
                    return 0
                })
            } catch {
                for pid in pids { _ = try? waitForProcess(pid) }   // never leave started workers behind
                throw error
            }
        }
        // Wait for every worker before judging any: waitpid is also what makes their writes
        // safe to read here (they are finished).
        var failure: SharedArrayError?
        for (worker, pid) in pids.enumerated() {
            let end = try waitForProcess(pid)
            if end != .exited(0) && failure == nil { failure = .workerFailed(worker: worker, end: end) }
        }
        if let failure { throw failure }
    }

    public static func parallelFill<E: SharedElement>(_ array: SharedArray<E>, workers: Int,
                                                      with value: (_ index: [Int]) -> E) throws {
        try runWorkers(rows: array.shape[0], workers: workers) { _, band in
            try fill(array, rows: band, with: value)
        }
    }

    public static func parallelSum(_ array: SharedArray<Double>, workers: Int) throws -> Double {
        guard workers >= 1 else { throw SharedArrayError.invalidWorkerCount(workers) }
        let rowLength = array.count / array.shape[0]
        let elements = UnsafeBufferPointer(elements(of: array))
        // One Double per worker, in an anonymous block that the forked workers share.
        let partials = try labSharedBlock(bytes: 8 * workers)
        defer { labUnmap(partials) }
        try runWorkers(rows: array.shape[0], workers: workers) { worker, band in
            var sum = 0.0
            for x in UnsafeBufferPointer(rebasing: elements[(band.lowerBound * rowLength)..<(band.upperBound * rowLength)]) {
                sum += x
            }
            partials.storeBytes(of: sum, toByteOffset: 8 * worker, as: Double.self)
        }
        // Adding the partial sums in band order makes the result the same from run to run.
        var total = 0.0
        for worker in 0..<workers { total += partials.load(fromByteOffset: 8 * worker, as: Double.self) }
        return total
    }

    // MARK: - CPython's ShareableList
    //
    //   off 0            Int64        N
    //   off 8            Int64[N+1]   offsets of the slots from D: 0, then running sums of slot sizes
    //   off D=8(N+2)     slots        item i at D + offsets[i]
    //   off F=D+offs[N]  N × 8 bytes  struct format of item i, ASCII, NUL-padded
    //   off C=F+8N       N × Int8     0 int/float/bool, 1 str, 2 bytes, 3 None
    // Everything native byte order (struct's "@" mode), nothing padded.

    /// The longest str/bytes an 8-character format "<cap>s" can hold: cap ≤ 9999992.
    static let longestItem = 9_999_991

    /// The format, slot size and back-transform code CPython gives an item when it creates a list.
    static func slot(for item: ShareableValue) -> (format: String, size: Int, code: Int8) {
        switch item {
        case .int: return ("q", 8, 0)
        case .float: return ("d", 8, 0)
        case .bool: return ("xxxxxxx?", 8, 0)
        case .none: return ("xxxxxx?x", 8, 3)
        // CPython computes the capacity from len(str), in characters (gh-88336), and silently
        // truncates non-ASCII text. Counting UTF-8 bytes gives the same number for ASCII and
        // always leaves room; Python reads either.
        case .string(let text):
            let capacity = 8 * (text.utf8.count / 8 + 1)
            return ("\(capacity)s", capacity, 1)
        case .bytes(let data):
            let capacity = 8 * (data.count / 8 + 1)
            return ("\(capacity)s", capacity, 2)
        }
    }

    /// Where things are in a list's bytes.
    struct ListLayout {
        let count: Int
        let offsets: [Int]
        var dataStart: Int { 8 * (count + 2) }
        var formatsStart: Int { dataStart + offsets[count] }
        var codesStart: Int { formatsStart + 8 * count }
        func slotStart(_ i: Int) -> Int { dataStart + offsets[i] }
        func slotSize(_ i: Int) -> Int { offsets[i + 1] - offsets[i] }
    }

    /// Reads and validates N and the offset table, so that nothing later reads out of bounds.
    static func listLayout(_ bytes: UnsafeRawBufferPointer) throws -> ListLayout {
        func bad(_ reason: String) -> ShareableListError { .notAShareableList(reason: reason) }
        guard bytes.count >= 16 else { throw bad("\(bytes.count) bytes is too short for a count and one offset") }
        let n = bytes.loadUnaligned(fromByteOffset: 0, as: Int64.self)
        // Each item takes at least 8 (offset) + 8 (format) + 1 (code) bytes besides its slot.
        guard n >= 0 && n <= Int64((bytes.count - 16) / 17) else {
            throw bad("an item count of \(n) does not fit in \(bytes.count) bytes")
        }
        let count = Int(n)
        let offsets = (0...count).map { Int(bytes.loadUnaligned(fromByteOffset: 8 + 8 * $0, as: Int64.self)) }
        guard offsets[0] == 0 else { throw bad("the first offset is \(offsets[0]), not 0") }
        for i in 0..<count where offsets[i + 1] < offsets[i] {
            throw bad("offset \(i + 1) (\(offsets[i + 1])) is before offset \(i) (\(offsets[i]))")
        }
        let layout = ListLayout(count: count, offsets: offsets)
        guard offsets[count] <= bytes.count, layout.codesStart + count <= bytes.count else {
            throw bad("the offsets claim \(offsets[count]) bytes of slots; the list has \(bytes.count) bytes in all")
        }
        return layout
    }

    /// Writes a format into its 8-byte field, NUL-padded.
    static func writeFormat(_ format: String, at offset: Int, _ bytes: UnsafeMutableRawBufferPointer) {
        let ascii = Array(format.utf8)
        for k in 0..<8 { bytes[offset + k] = k < ascii.count ? ascii[k] : 0 }
    }

    /// Writes a value into its slot, zero-filling the whole slot first (as struct.pack_into does
    /// for "<cap>s": otherwise a shorter string would read back with the old one's tail).
    static func writeValue(_ value: ShareableValue, at start: Int, size: Int, _ bytes: UnsafeMutableRawBufferPointer) {
        UnsafeMutableRawBufferPointer(rebasing: bytes[start..<(start + size)]).initializeMemory(as: UInt8.self, repeating: 0)
        switch value {
        case .int(let v): bytes.storeBytes(of: v, toByteOffset: start, as: Int64.self)
        case .float(let v): bytes.storeBytes(of: v, toByteOffset: start, as: Double.self)
        case .bool(let v): bytes[start + 7] = v ? 1 : 0          // "xxxxxxx?": 7 pad bytes, then the bool
        case .none: break                                        // "xxxxxx?x": all zero
        case .string(let text): bytes.baseAddress!.advanced(by: start).copyMemory(from: Array(text.utf8), byteCount: text.utf8.count)
        case .bytes(let data): bytes.baseAddress!.advanced(by: start).copyMemory(from: data, byteCount: data.count)
        }
    }

    public static func createShareableList(_ items: [ShareableValue], name: String) throws -> SharedSegment {
        for (index, item) in items.enumerated() {
            let length: Int
            switch item {
            case .string(let text): length = text.utf8.count
            case .bytes(let data): length = data.count
            default: length = 0
            }
            if length > longestItem { throw ShareableListError.itemTooLong(index: index, bytes: length, capacity: longestItem) }
        }
        let slots = items.map(slot(for:))
        var offsets = [0]
        for slot in slots { offsets.append(offsets.last! + slot.size) }
        let layout = ListLayout(count: items.count, offsets: offsets)
        let segment = try SharedSegment.create(name: name, size: layout.codesStart + items.count)
        let bytes = segment.bytes
        bytes.storeBytes(of: Int64(items.count), toByteOffset: 0, as: Int64.self)
        for (i, offset) in offsets.enumerated() {
            bytes.storeBytes(of: Int64(offset), toByteOffset: 8 + 8 * i, as: Int64.self)
        }
        for (i, item) in items.enumerated() {
            writeValue(item, at: layout.slotStart(i), size: slots[i].size, bytes)
            writeFormat(slots[i].format, at: layout.formatsStart + 8 * i, bytes)
            bytes[layout.codesStart + i] = UInt8(bitPattern: slots[i].code)
        }
        return segment
    }

    public static func readShareableList(_ bytes: UnsafeRawBufferPointer) throws -> [ShareableValue] {
        let layout = try listLayout(bytes)
        func bad(_ i: Int, _ reason: String) -> ShareableListError { .notAShareableList(reason: "item \(i): \(reason)") }
        return try (0..<layout.count).map { i in
            let field = bytes[(layout.formatsStart + 8 * i)..<(layout.formatsStart + 8 * i + 8)]
            let format = String(decoding: field.prefix { $0 != 0 }, as: UTF8.self)   // fmt.rstrip(b"\0")
            let code = Int8(bitPattern: bytes[layout.codesStart + i])
            let start = layout.slotStart(i)
            let size = layout.slotSize(i)
            switch code {
            case 3:
                return .none
            case 1, 2:
                guard format.hasSuffix("s"), let length = Int(format.dropLast()), length >= 0, length <= size else {
                    throw bad(i, "format \"\(format)\" is not \"<n>s\" within its \(size)-byte slot")
                }
                // Python strips trailing NULs (so a str or bytes ending in NUL loses them: gh-96779).
                var value = Array(bytes[start..<(start + length)])
                while value.last == 0 { value.removeLast() }
                if code == 2 { return .bytes(value) }
                guard let text = String(validating: value, as: UTF8.self) else { throw bad(i, "the str is not valid UTF-8") }
                return .string(text)
            case 0:
                guard size >= 8 else { throw bad(i, "a \(size)-byte slot is too small for \"\(format)\"") }
                switch format {
                case "q": return .int(bytes.loadUnaligned(fromByteOffset: start, as: Int64.self))
                case "d": return .float(bytes.loadUnaligned(fromByteOffset: start, as: Double.self))
                case "xxxxxxx?": return .bool(bytes[start + 7] != 0)
                default: throw bad(i, "unknown format \"\(format)\" for code 0")
                }
            default:
                throw bad(i, "unknown back-transform code \(code)")
            }
        }
    }

    public static func setShareableListItem(_ value: ShareableValue, at index: Int, in bytes: UnsafeMutableRawBufferPointer) throws {
        let layout = try listLayout(UnsafeRawBufferPointer(bytes))
        guard 0 <= index && index < layout.count else {
            throw ShareableListError.indexOutOfRange(index: index, count: layout.count)
        }
        // The slot keeps its size; a str/bytes slot's format is "<slot size>s".
        let capacity = layout.slotSize(index)
        var (format, _, code) = slot(for: value)
        switch value {
        case .string(let text):
            guard text.utf8.count <= capacity else { throw ShareableListError.itemTooLong(index: index, bytes: text.utf8.count, capacity: capacity) }
            format = "\(capacity)s"
        case .bytes(let data):
            guard data.count <= capacity else { throw ShareableListError.itemTooLong(index: index, bytes: data.count, capacity: capacity) }
            format = "\(capacity)s"
        default:
            break
        }
        // CPython's order: the format, the code, then the value. None of it is atomic: a reader
        // in another process needs a lock (or must not read while this runs).
        writeFormat(format, at: layout.formatsStart + 8 * index, bytes)
        bytes[layout.codesStart + index] = UInt8(bitPattern: code)
        writeValue(value, at: layout.slotStart(index), size: capacity, bytes)
    }
}
