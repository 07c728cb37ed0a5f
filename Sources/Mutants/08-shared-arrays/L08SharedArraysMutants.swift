import Glibc
import LabKit
import Lessons
import Solution08

/// Lesson 08's realistic mistakes. Each forwards to the reference except for its one mistake.
public enum SharedArraysMutants {
    public static var all: [Mutant<any SharedArraysContract.Type>] {
        [
            Mutant(name: "column-major", mistake: "offset(of:shape:) makes the first index vary fastest (Fortran order)",
                        caughtBy: [1, 3, 5], implementation: ColumnMajor.self),
            Mutant(name: "no-index-check", mistake: "offset(of:shape:) never checks the index against the shape",
                        caughtBy: [1], implementation: NoIndexCheck.self),
            Mutant(name: "size-overflow-traps", mistake: "create multiplies the shape without overflow checks (a trap, not tooLarge)",
                        caughtBy: [1], as: .crashed, implementation: SizeOverflowTraps.self),
            Mutant(name: "size-in-elements", mistake: "create sizes the segment by the element count, not the bytes (the numpy example's size=array.size)",
                        caughtBy: [4, 5], implementation: SizeInElements.self),
            Mutant(name: "header-ignored", mistake: "attach trusts the caller's type and shape and never reads the header",
                        caughtBy: [2], implementation: HeaderIgnored.self),
            Mutant(name: "attach-trusts-size", mistake: "attach validates the header but not that the segment holds every element",
                        caughtBy: [2], implementation: AttachTrustsSize.self),
            Mutant(name: "bands-drop-remainder", mistake: "bands are rows / workers long, so the last rows % workers rows are in no band",
                        caughtBy: [3, 4], implementation: BandsDropRemainder.self),
            Mutant(name: "bands-overlap", mistake: "each band's upper bound is treated as inclusive: neighbouring bands share a row",
                        caughtBy: [3, 4], implementation: BandsOverlap.self),
            Mutant(name: "fill-in-parent", mistake: "parallelFill fills every band in the calling process, no workers",
                        caughtBy: [3], implementation: FillInParent.self),
            Mutant(name: "worker-failure-ignored", mistake: "parallelFill waits for the workers but never looks at how they ended",
                        caughtBy: [3], implementation: WorkerFailureIgnored.self),
            Mutant(name: "partial-sums-in-child-variable", mistake: "each worker stores its partial sum in a Swift array, which is the child's own copy",
                        caughtBy: [4], implementation: PartialSumsInChildVariable.self),
            Mutant(name: "copy-count-not-bytes", mistake: "the bulk copies pass the element count to memcpy instead of the byte count",
                        caughtBy: [5], implementation: CopyCountNotBytes.self),
            Mutant(name: "list-absolute-offsets", mistake: "the ShareableList offset table holds offsets from the segment's start, not from the data area",
                        caughtBy: [6], implementation: ListAbsoluteOffsets.self),
            Mutant(name: "list-capacity-from-characters", mistake: "a str's slot is sized from its character count, like CPython (gh-88336): non-ASCII text is cut",
                        caughtBy: [6], implementation: ListCapacityFromCharacters.self),
            Mutant(name: "list-no-zero-fill", mistake: "setting a str/bytes item does not clear the rest of its slot",
                        caughtBy: [6], implementation: ListNoZeroFill.self),
            Mutant(name: "header-add-overflow", mistake: "create checks the multiplication for overflow but adds the 64 header bytes with +, which traps",
                        caughtBy: [1], as: .crashed, implementation: HeaderAddOverflow.self),
            Mutant(name: "negative-index-wraps", mistake: "offset(of:shape:) counts a negative index from the end, like Python's a[-1]",
                        caughtBy: [1, 7], implementation: NegativeIndexWraps.self),
            Mutant(name: "create-replaces-existing", mistake: "create unlinks a segment whose name is taken and makes a new one",
                        caughtBy: [1], implementation: CreateReplacesExisting.self),
            Mutant(name: "attach-size-overflow-traps", mistake: "attach multiplies the header's shape without overflow checks: a huge shape traps",
                        caughtBy: [2], as: .crashed, implementation: AttachSizeOverflowTraps.self),
            Mutant(name: "bands-negative-rows-crash", mistake: "bands checks workers ≥ 1 but not rows ≥ 0: negative rows make a range whose end is before its start (a trap)",
                        caughtBy: [3], as: .crashed, implementation: BandsNegativeRowsCrash.self),
            Mutant(name: "worker-signal-ignored", mistake: "parallelFill reports a worker that exited with a code, but not one killed by a signal",
                        caughtBy: [3], implementation: WorkerSignalIgnored.self),
            Mutant(name: "stops-at-first-failure", mistake: "parallelFill throws at the first failed worker without waiting for the others",
                        caughtBy: [3], implementation: StopsAtFirstFailure.self),
            Mutant(name: "element-big-endian", mistake: "setElement and element store the elements big-endian (\"portable\"), not in the host's order",
                        caughtBy: [5, 7], implementation: ElementBigEndian.self),
            Mutant(name: "strides-of-next-dimension-only", mistake: "offset multiplies each index by the next dimension only, not by the product of all later ones (right for rank ≤ 2)",
                        caughtBy: [7], implementation: StridesOfNextDimensionOnly.self),
            Mutant(name: "fill-index-two-dimensional", mistake: "fill hands the closure [row, column] made from the position, whatever the rank",
                        caughtBy: [7], implementation: FillIndexTwoDimensional.self),
            Mutant(name: "list-lenient-utf8", mistake: "readShareableList decodes a str with String(decoding:), which turns invalid UTF-8 into U+FFFD instead of an error",
                        caughtBy: [6], implementation: ListLenientUTF8.self),
            Mutant(name: "list-negative-index", mistake: "setShareableListItem counts a negative index from the end, like Python's sl[-1]",
                        caughtBy: [6], implementation: ListNegativeIndex.self),
            Mutant(name: "list-check-after-write", mistake: "setShareableListItem writes the new format and code before it finds the str too long for the slot",
                        caughtBy: [6], implementation: ListCheckAfterWrite.self),
            Mutant(name: "zero-dimension-accepted", mistake: "create refuses negative dimensions but lets a dimension of 0 through (an array of no elements)",
                        caughtBy: [1], implementation: ZeroDimensionAccepted.self),
            Mutant(name: "attach-missing-not-enoent", mistake: "attach turns every failure, a missing name too, into notASharedArray",
                        caughtBy: [2], implementation: AttachMissingNotENOENT.self),
            Mutant(name: "fill-rows-unchecked", mistake: "fill never checks its rows against 0..<shape[0]",
                        caughtBy: [3], implementation: FillRowsUnchecked.self),
            Mutant(name: "copy-count-unchecked", mistake: "copy copies min(values.count, array.count) elements instead of refusing another count",
                        caughtBy: [5], implementation: CopyCountUnchecked.self),
            Mutant(name: "workers-clamped", mistake: "parallelFill and parallelSum quietly use one worker when asked for fewer than one",
                        caughtBy: [3, 4], implementation: WorkersClamped.self),
            Mutant(name: "list-item-limit-off-by-one", mistake: "createShareableList refuses only items over 9,999,992 bytes, one more than an 8-character format can describe",
                        caughtBy: [6], implementation: ListItemLimitOffByOne.self),
            Mutant(name: "list-offsets-order-unchecked", mistake: "readShareableList checks that every offset lies inside the slots, not that each is at least the one before it, and takes an int's 8 bytes at its offset whatever the slot's size: an item whose slot ends before it starts is read from its neighbour's bytes",
                        caughtBy: [6], implementation: ListOffsetsOrderUnchecked.self),
        ]
    }
}

/// Forwards to the reference. Element access, `fill` and the parallel functions are composed
/// from `Self`'s own `offset`, `setElement`, `fill` and `bands` (the reference's algorithm, in
/// the shape a student writes it), so that one mistake shows wherever a student's code carries it.
public protocol ForwardsToSharedArrays: SharedArraysContract {}
extension ForwardsToSharedArrays {
    public static func create<E: SharedElement>(_ type: E.Type, shape: [Int], name: String) throws -> SharedArray<E> {
        try SharedArrays.create(type, shape: shape, name: name)
    }
    public static func attach<E: SharedElement>(_ type: E.Type, shape: [Int]?, name: String) throws -> SharedArray<E> {
        try SharedArrays.attach(type, shape: shape, name: name)
    }
    public static func offset(of index: [Int], shape: [Int]) throws -> Int {
        try SharedArrays.offset(of: index, shape: shape)
    }
    public static func element<E: SharedElement>(at index: [Int], of array: SharedArray<E>) throws -> E {
        let position = try offset(of: index, shape: array.shape)
        return (array.segment.bytes.baseAddress! + SharedArrayLayout.headerSize)
            .load(fromByteOffset: position * MemoryLayout<E>.stride, as: E.self)
    }
    public static func setElement<E: SharedElement>(_ value: E, at index: [Int], of array: SharedArray<E>) throws {
        let position = try offset(of: index, shape: array.shape)
        (array.segment.bytes.baseAddress! + SharedArrayLayout.headerSize)
            .storeBytes(of: value, toByteOffset: position * MemoryLayout<E>.stride, as: E.self)
    }
    public static func fill<E: SharedElement>(_ array: SharedArray<E>, rows: Range<Int>, with value: (_ index: [Int]) -> E) throws {
        let shape = array.shape
        guard rows.lowerBound >= 0 && rows.upperBound <= shape[0] else {
            throw SharedArrayError.rowsOutOfRange(rows, rows: shape[0])
        }
        let rowLength = array.count / shape[0]
        for position in (rows.lowerBound * rowLength)..<(rows.upperBound * rowLength) {
            var index = [Int](repeating: 0, count: shape.count)
            var rest = position
            for k in (0..<shape.count).reversed() {
                index[k] = rest % shape[k]
                rest /= shape[k]
            }
            try setElement(value(index), at: index, of: array)
        }
    }
    public static func copy<E: SharedElement>(_ values: [E], into array: SharedArray<E>) throws {
        try SharedArrays.copy(values, into: array)
    }
    public static func copy<E: SharedElement>(_ array: SharedArray<E>, into values: inout [E]) throws {
        try SharedArrays.copy(array, into: &values)
    }
    public static func bands(rows: Int, workers: Int) throws -> [Range<Int>] {
        try SharedArrays.bands(rows: rows, workers: workers)
    }
    public static func parallelFill<E: SharedElement>(_ array: SharedArray<E>, workers: Int, with value: (_ index: [Int]) -> E) throws {
        try waitForWorkers(try forkFillers(array, workers: workers, with: value))
    }
    public static func parallelSum(_ array: SharedArray<Double>, workers: Int) throws -> Double {
        let bands = try bands(rows: array.shape[0], workers: workers)
        let partials = try labSharedBlock(bytes: 8 * workers)
        defer { labUnmap(partials) }
        let pids = try forkSummers(array, bands: bands) { worker, sum in
            partials.storeBytes(of: sum, toByteOffset: 8 * worker, as: Double.self)
        }
        try waitForWorkers(pids)
        return (0..<workers).reduce(0.0) { $0 + partials.load(fromByteOffset: 8 * $1, as: Double.self) }
    }
    public static func createShareableList(_ items: [ShareableValue], name: String) throws -> SharedSegment {
        try SharedArrays.createShareableList(items, name: name)
    }
    public static func readShareableList(_ bytes: UnsafeRawBufferPointer) throws -> [ShareableValue] {
        try SharedArrays.readShareableList(bytes)
    }
    public static func setShareableListItem(_ value: ShareableValue, at index: Int, in bytes: UnsafeMutableRawBufferPointer) throws {
        try SharedArrays.setShareableListItem(value, at: index, in: bytes)
    }
}

extension ForwardsToSharedArrays {
    /// The reference's workers for `parallelFill`: forks (`forkChild`) one child per band of
    /// `Self.bands(rows:workers:)`, each filling its band with `Self.fill`; the pids in band order.
    fileprivate static func forkFillers<E: SharedElement>(_ array: SharedArray<E>, workers: Int,
                                                          with value: (_ index: [Int]) -> E) throws -> [pid_t] {
        var pids: [pid_t] = []
        for band in try bands(rows: array.shape[0], workers: workers) {
            pids.append(try forkChild {
                try fill(array, rows: band, with: value)
                return 0
            })
        }
        return pids
    }

    /// The reference's workers for `parallelSum`: forks (`forkChild`) one child per band, each
    /// adding up its rows and handing (worker, sum) to `report`, in the child; the pids in band order.
    fileprivate static func forkSummers(_ array: SharedArray<Double>, bands: [Range<Int>],
                                        report: (_ worker: Int, _ sum: Double) -> Void) throws -> [pid_t] {
        let rowLength = array.count / array.shape[0]
        let elements = (array.segment.bytes.baseAddress! + SharedArrayLayout.headerSize).assumingMemoryBound(to: Double.self)
        var pids: [pid_t] = []
        for (worker, band) in bands.enumerated() {
            pids.append(try forkChild {
                var sum = 0.0
                for k in (band.lowerBound * rowLength)..<(band.upperBound * rowLength) { sum += elements[k] }
                report(worker, sum)
                return 0
            })
        }
        return pids
    }
}

/// Waits (`waitForProcess`, i.e. waitpid) for every worker in order; then throws for the first
/// whose end `failed` calls a failure (by default: anything but exiting with 0).
fileprivate func waitForWorkers(_ pids: [pid_t], failed: (ProcessEnd) -> Bool = { $0 != .exited(0) }) throws {
    var failure: SharedArrayError?
    for (worker, pid) in pids.enumerated() {
        let end = try waitForProcess(pid)
        if failed(end) && failure == nil { failure = .workerFailed(worker: worker, end: end) }
    }
    if let failure { throw failure }
}

// MARK: - arrays

fileprivate enum ColumnMajor: ForwardsToSharedArrays {
    static func offset(of index: [Int], shape: [Int]) throws -> Int {
        guard index.count == shape.count else { throw SharedArrayError.indexOutOfRange(index: index, shape: shape) }
        var position = 0
        var stride = 1
        for (i, n) in zip(index, shape) {
            guard 0 <= i && i < n else { throw SharedArrayError.indexOutOfRange(index: index, shape: shape) }
            position += i * stride       // mistake: the first index varies fastest
            stride *= n
        }
        return position
    }
}

fileprivate enum NoIndexCheck: ForwardsToSharedArrays {
    static func offset(of index: [Int], shape: [Int]) throws -> Int {
        var position = 0
        for (i, n) in zip(index, shape) { position = position * n + i }   // mistake: no checks at all
        return position
    }
}

fileprivate enum SizeOverflowTraps: ForwardsToSharedArrays {
    static func create<E: SharedElement>(_ type: E.Type, shape: [Int], name: String) throws -> SharedArray<E> {
        guard !shape.isEmpty else { throw SharedArrayError.emptyShape }
        guard shape.count <= SharedArrayLayout.maxRank, shape.allSatisfy({ $0 > 0 }) else { throw SharedArrayError.invalidShape(shape) }
        let bytes = shape.reduce(1, *) * MemoryLayout<E>.stride      // mistake: traps on overflow
        _ = bytes
        return try SharedArrays.create(type, shape: shape, name: name)
    }
}

fileprivate enum SizeInElements: ForwardsToSharedArrays {
    static func create<E: SharedElement>(_ type: E.Type, shape: [Int], name: String) throws -> SharedArray<E> {
        guard !shape.isEmpty else { throw SharedArrayError.emptyShape }
        guard shape.count <= SharedArrayLayout.maxRank, shape.allSatisfy({ $0 > 0 }) else { throw SharedArrayError.invalidShape(shape) }
        var count = 1
        for dimension in shape {
            let (product, overflow) = count.multipliedReportingOverflow(by: dimension)
            if overflow || product > Int.max - SharedArrayLayout.headerSize { throw SharedArrayError.tooLarge(shape) }
            count = product
        }
        // mistake: elements, not bytes — numpy's size=array.size where array.nbytes was meant
        let segment = try SharedSegment.create(name: name, size: SharedArrayLayout.headerSize + count)
        let header = segment.bytes
        header.copyBytes(from: SharedArrayLayout.magic)
        header.storeBytes(of: E.elementType.rawValue.littleEndian, toByteOffset: SharedArrayLayout.elementTypeOffset, as: UInt32.self)
        header.storeBytes(of: UInt32(shape.count).littleEndian, toByteOffset: SharedArrayLayout.rankOffset, as: UInt32.self)
        for (k, dimension) in shape.enumerated() {
            header.storeBytes(of: Int64(dimension).littleEndian, toByteOffset: SharedArrayLayout.shapeOffset + 8 * k, as: Int64.self)
        }
        return SharedArray(segment: segment, shape: shape)
    }
}

fileprivate enum HeaderIgnored: ForwardsToSharedArrays {
    static func attach<E: SharedElement>(_ type: E.Type, shape: [Int]?, name: String) throws -> SharedArray<E> {
        let segment = try SharedSegment.attach(name: name)
        if let shape { return SharedArray(segment: segment, shape: shape) }   // mistake: trusts the caller
        let rank = Int(segment.bytes.load(fromByteOffset: SharedArrayLayout.rankOffset, as: UInt32.self))
        let stored = (0..<min(rank, SharedArrayLayout.maxRank)).map {
            Int(segment.bytes.load(fromByteOffset: SharedArrayLayout.shapeOffset + 8 * $0, as: Int64.self))
        }
        return SharedArray(segment: segment, shape: stored)
    }
}

fileprivate enum AttachTrustsSize: ForwardsToSharedArrays {
    static func attach<E: SharedElement>(_ type: E.Type, shape: [Int]?, name: String) throws -> SharedArray<E> {
        if let shape {
            guard !shape.isEmpty else { throw SharedArrayError.emptyShape }
            guard shape.count <= SharedArrayLayout.maxRank, shape.allSatisfy({ $0 > 0 }) else { throw SharedArrayError.invalidShape(shape) }
        }
        let segment = try SharedSegment.attach(name: name)
        let bytes = UnsafeRawBufferPointer(segment.bytes)
        func notAnArray(_ reason: String) -> SharedArrayError { .notASharedArray(name: name, reason: reason) }
        guard bytes.count >= SharedArrayLayout.headerSize else { throw notAnArray("too small") }
        guard bytes.prefix(8).elementsEqual(SharedArrayLayout.magic) else { throw notAnArray("no magic") }
        let code = UInt32(littleEndian: bytes.load(fromByteOffset: SharedArrayLayout.elementTypeOffset, as: UInt32.self))
        guard let found = ElementType(rawValue: code) else { throw notAnArray("unknown type code") }
        guard found == E.elementType else { throw SharedArrayError.wrongElementType(expected: E.elementType, found: found) }
        let rank = Int(UInt32(littleEndian: bytes.load(fromByteOffset: SharedArrayLayout.rankOffset, as: UInt32.self)))
        guard (1...SharedArrayLayout.maxRank).contains(rank) else { throw notAnArray("bad rank") }
        let stored = (0..<rank).map {
            Int(Int64(littleEndian: bytes.load(fromByteOffset: SharedArrayLayout.shapeOffset + 8 * $0, as: Int64.self)))
        }
        guard stored.allSatisfy({ $0 > 0 }) else { throw notAnArray("bad shape") }
        if let shape, shape != stored { throw SharedArrayError.wrongShape(expected: shape, found: stored) }
        return SharedArray(segment: segment, shape: stored)        // mistake: never compares the size with the shape
    }
}

fileprivate enum BandsDropRemainder: ForwardsToSharedArrays {
    static func bands(rows: Int, workers: Int) throws -> [Range<Int>] {
        guard workers >= 1, rows >= 0 else { throw SharedArrayError.invalidWorkerCount(workers) }
        let per = rows / workers                                   // mistake: the remainder is lost
        return (0..<workers).map { w in (w * per)..<((w + 1) * per) }
    }
}

fileprivate enum BandsOverlap: ForwardsToSharedArrays {
    static func bands(rows: Int, workers: Int) throws -> [Range<Int>] {
        guard workers >= 1, rows >= 0 else { throw SharedArrayError.invalidWorkerCount(workers) }
        // mistake: "end" treated as inclusive, so each band also takes the next band's first row
        return (0..<workers).map { w in (w * rows / workers)..<min(rows, (w + 1) * rows / workers + 1) }
    }
}

fileprivate enum FillInParent: ForwardsToSharedArrays {
    static func parallelFill<E: SharedElement>(_ array: SharedArray<E>, workers: Int, with value: (_ index: [Int]) -> E) throws {
        for band in try bands(rows: array.shape[0], workers: workers) {
            try fill(array, rows: band, with: value)               // mistake: no fork, all in this process
        }
    }
}

fileprivate enum WorkerFailureIgnored: ForwardsToSharedArrays {
    static func parallelFill<E: SharedElement>(_ array: SharedArray<E>, workers: Int, with value: (_ index: [Int]) -> E) throws {
        for pid in try forkFillers(array, workers: workers, with: value) {
            _ = try waitForProcess(pid)                             // mistake: how they ended is ignored
        }
    }
}

fileprivate enum PartialSumsInChildVariable: ForwardsToSharedArrays {
    static func parallelSum(_ array: SharedArray<Double>, workers: Int) throws -> Double {
        let bands = try bands(rows: array.shape[0], workers: workers)
        var partials = [Double](repeating: 0, count: workers)      // mistake: private memory, copied by fork
        let pids = try forkSummers(array, bands: bands) { worker, sum in
            partials[worker] = sum                                 // …so the parent never sees this
        }
        try waitForWorkers(pids)
        return partials.reduce(0, +)
    }
}

fileprivate enum CopyCountNotBytes: ForwardsToSharedArrays {
    static func copy<E: SharedElement>(_ values: [E], into array: SharedArray<E>) throws {
        guard values.count == array.count else { throw SharedArrayError.countMismatch(expected: array.count, got: values.count) }
        values.withUnsafeBytes { source in
            _ = memcpy(array.segment.bytes.baseAddress! + SharedArrayLayout.headerSize, source.baseAddress!, values.count)   // mistake: elements, not bytes
        }
    }
    static func copy<E: SharedElement>(_ array: SharedArray<E>, into values: inout [E]) throws {
        guard values.count == array.count else { throw SharedArrayError.countMismatch(expected: array.count, got: values.count) }
        let count = values.count
        values.withUnsafeMutableBytes { target in
            _ = memcpy(target.baseAddress!, array.segment.bytes.baseAddress! + SharedArrayLayout.headerSize, count)   // mistake: elements, not bytes
        }
    }
}

// MARK: - ShareableList

/// A ShareableList reader and writer with switchable mistakes: the reference's algorithm otherwise.
fileprivate struct MistakenShareableList {
    var absoluteOffsets = false
    var capacityFromCharacters = false
    var zeroFill = true
    var lenientUTF8 = false
    var negativeIndex = false
    var checkAfterWrite = false
    var longestItem = 9_999_991
    var offsetsInOrder = true

    func slot(for item: ShareableValue) -> (format: String, size: Int, code: Int8) {
        switch item {
        case .int: return ("q", 8, 0)
        case .float: return ("d", 8, 0)
        case .bool: return ("xxxxxxx?", 8, 0)
        case .none: return ("xxxxxx?x", 8, 3)
        case .string(let text):
            let length = capacityFromCharacters ? text.count : text.utf8.count   // the mistake, when set
            return ("\(8 * (length / 8 + 1))s", 8 * (length / 8 + 1), 1)
        case .bytes(let data):
            return ("\(8 * (data.count / 8 + 1))s", 8 * (data.count / 8 + 1), 2)
        }
    }

    /// (count, slot starts from the segment's start, slot sizes, formats start, codes start)
    func layout(_ bytes: UnsafeRawBufferPointer) throws -> (count: Int, starts: [Int], sizes: [Int], formats: Int, codes: Int) {
        func bad(_ reason: String) -> ShareableListError { .notAShareableList(reason: reason) }
        guard bytes.count >= 16 else { throw bad("too short") }
        let n = bytes.loadUnaligned(fromByteOffset: 0, as: Int64.self)
        guard n >= 0 && n <= Int64((bytes.count - 16) / 17) else { throw bad("bad count") }
        let count = Int(n)
        let data = 8 * (count + 2)
        var offsets = (0...count).map { Int(bytes.loadUnaligned(fromByteOffset: 8 + 8 * $0, as: Int64.self)) }
        if absoluteOffsets { offsets = offsets.map { $0 - data } }   // the mistake: the table counts from byte 0
        guard offsets[0] == 0 else { throw bad("first offset \(offsets[0])") }
        if offsetsInOrder {
            for i in 0..<count where offsets[i + 1] < offsets[i] { throw bad("offsets go backwards") }
        } else {
            // The mistake, when set: each offset is only checked to lie inside the slots.
            for offset in offsets where offset < 0 || offset > offsets[count] { throw bad("an offset past the end") }
        }
        let formats = data + offsets[count]
        guard offsets[count] <= bytes.count, formats + 9 * count <= bytes.count else { throw bad("offsets past the end") }
        return (count, offsets.dropLast().map { data + $0 }, (0..<count).map { offsets[$0 + 1] - offsets[$0] }, formats, formats + 8 * count)
    }

    func write(_ value: ShareableValue, at start: Int, size: Int, _ bytes: UnsafeMutableRawBufferPointer) {
        if zeroFill {
            for k in start..<(start + size) { bytes[k] = 0 }
        }
        switch value {
        case .int(let v): bytes.storeBytes(of: v, toByteOffset: start, as: Int64.self)
        case .float(let v): bytes.storeBytes(of: v, toByteOffset: start, as: Double.self)
        case .bool(let v): bytes[start + 7] = v ? 1 : 0
        case .none: break
        case .string(let text): for (k, b) in text.utf8.prefix(size).enumerated() { bytes[start + k] = b }
        case .bytes(let data): for (k, b) in data.prefix(size).enumerated() { bytes[start + k] = b }
        }
    }

    func writeFormat(_ format: String, at offset: Int, _ bytes: UnsafeMutableRawBufferPointer) {
        let ascii = Array(format.utf8)
        for k in 0..<8 { bytes[offset + k] = k < ascii.count ? ascii[k] : 0 }
    }

    func create(_ items: [ShareableValue], name: String) throws -> SharedSegment {
        for (index, item) in items.enumerated() {
            if case .string(let text) = item, text.utf8.count > longestItem {
                throw ShareableListError.itemTooLong(index: index, bytes: text.utf8.count, capacity: longestItem)
            }
            if case .bytes(let data) = item, data.count > longestItem {
                throw ShareableListError.itemTooLong(index: index, bytes: data.count, capacity: longestItem)
            }
        }
        let slots = items.map(slot(for:))
        let data = 8 * (items.count + 2)
        var offsets = [0]
        for slot in slots { offsets.append(offsets.last! + slot.size) }
        let formats = data + offsets.last!
        let segment = try SharedSegment.create(name: name, size: formats + 9 * items.count)
        let bytes = segment.bytes
        bytes.storeBytes(of: Int64(items.count), toByteOffset: 0, as: Int64.self)
        for (i, offset) in offsets.enumerated() {
            bytes.storeBytes(of: Int64(absoluteOffsets ? data + offset : offset), toByteOffset: 8 + 8 * i, as: Int64.self)
        }
        for (i, item) in items.enumerated() {
            write(item, at: data + offsets[i], size: slots[i].size, bytes)
            writeFormat(slots[i].format, at: formats + 8 * i, bytes)
            bytes[formats + 8 * items.count + i] = UInt8(bitPattern: slots[i].code)
        }
        return segment
    }

    func read(_ bytes: UnsafeRawBufferPointer) throws -> [ShareableValue] {
        let list = try layout(bytes)
        return try (0..<list.count).map { i in
            let format = String(decoding: bytes[(list.formats + 8 * i)..<(list.formats + 8 * i + 8)].prefix { $0 != 0 }, as: UTF8.self)
            let start = list.starts[i], size = list.sizes[i]
            switch Int8(bitPattern: bytes[list.codes + i]) {
            case 3: return .none
            case let code where code == 1 || code == 2:
                guard format.hasSuffix("s"), let length = Int(format.dropLast()), length >= 0, length <= size else {
                    throw ShareableListError.notAShareableList(reason: "bad format")
                }
                var value = Array(bytes[start..<(start + length)])
                while value.last == 0 { value.removeLast() }
                if code == 2 { return .bytes(value) }
                if lenientUTF8 { return .string(String(decoding: value, as: UTF8.self)) }   // the mistake, when set
                guard let text = String(validating: value, as: UTF8.self) else { throw ShareableListError.notAShareableList(reason: "bad UTF-8") }
                return .string(text)
            case 0:
                // The mistake (offsetsInOrder false) trusts the format for an int's size: the slot's own size is never looked at.
                guard size >= 8 || !offsetsInOrder else { throw ShareableListError.notAShareableList(reason: "small slot") }
                switch format {
                case "q": return .int(bytes.loadUnaligned(fromByteOffset: start, as: Int64.self))
                case "d": return .float(bytes.loadUnaligned(fromByteOffset: start, as: Double.self))
                case "xxxxxxx?": return .bool(bytes[start + 7] != 0)
                default: throw ShareableListError.notAShareableList(reason: "unknown format")
                }
            default:
                throw ShareableListError.notAShareableList(reason: "unknown code")
            }
        }
    }

    func set(_ value: ShareableValue, at requested: Int, in bytes: UnsafeMutableRawBufferPointer) throws {
        let list = try layout(UnsafeRawBufferPointer(bytes))
        let index = negativeIndex && requested < 0 ? requested + list.count : requested   // the mistake, when set
        guard 0 <= index && index < list.count else { throw ShareableListError.indexOutOfRange(index: requested, count: list.count) }
        let capacity = list.sizes[index]
        var (format, _, code) = slot(for: value)
        if checkAfterWrite {                                                   // the mistake, when set: written, then checked
            writeFormat(format, at: list.formats + 8 * index, bytes)
            bytes[list.codes + index] = UInt8(bitPattern: code)
        }
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
        writeFormat(format, at: list.formats + 8 * index, bytes)
        bytes[list.codes + index] = UInt8(bitPattern: code)
        write(value, at: list.starts[index], size: capacity, bytes)
    }
}

/// A list mutant whose `createShareableList` is `list.create` (the mutant's one mistake switched on in `list`).
fileprivate protocol CreatesListWithMistake: ForwardsToSharedArrays { static var list: MistakenShareableList { get } }
extension CreatesListWithMistake {
    static func createShareableList(_ items: [ShareableValue], name: String) throws -> SharedSegment { try list.create(items, name: name) }
}
/// A list mutant whose `readShareableList` is `list.read`.
fileprivate protocol ReadsListWithMistake: ForwardsToSharedArrays { static var list: MistakenShareableList { get } }
extension ReadsListWithMistake {
    static func readShareableList(_ bytes: UnsafeRawBufferPointer) throws -> [ShareableValue] { try list.read(bytes) }
}
/// A list mutant whose `setShareableListItem` is `list.set`.
fileprivate protocol SetsListItemWithMistake: ForwardsToSharedArrays { static var list: MistakenShareableList { get } }
extension SetsListItemWithMistake {
    static func setShareableListItem(_ value: ShareableValue, at index: Int, in bytes: UnsafeMutableRawBufferPointer) throws {
        try list.set(value, at: index, in: bytes)
    }
}

// Each list mutant: which of the three it does with `list`, and `list`'s one mistake; the others forward to the reference.
fileprivate enum ListAbsoluteOffsets: CreatesListWithMistake, ReadsListWithMistake, SetsListItemWithMistake {
    static let list = MistakenShareableList(absoluteOffsets: true)          // mistake: offsets from the segment's start
}
fileprivate enum ListCapacityFromCharacters: CreatesListWithMistake { static let list = MistakenShareableList(capacityFromCharacters: true) }  // mistake
fileprivate enum ListNoZeroFill: SetsListItemWithMistake { static let list = MistakenShareableList(zeroFill: false) }                          // mistake
fileprivate enum ListLenientUTF8: ReadsListWithMistake { static let list = MistakenShareableList(lenientUTF8: true) }                          // mistake
fileprivate enum ListNegativeIndex: SetsListItemWithMistake { static let list = MistakenShareableList(negativeIndex: true) }                   // mistake
fileprivate enum ListCheckAfterWrite: SetsListItemWithMistake { static let list = MistakenShareableList(checkAfterWrite: true) }               // mistake
fileprivate enum ListOffsetsOrderUnchecked: ReadsListWithMistake { static let list = MistakenShareableList(offsetsInOrder: false) }            // mistake
fileprivate enum ListItemLimitOffByOne: CreatesListWithMistake { static let list = MistakenShareableList(longestItem: 9_999_992) }             // mistake: one too many

// MARK: - more arrays

fileprivate enum HeaderAddOverflow: ForwardsToSharedArrays {
    static func create<E: SharedElement>(_ type: E.Type, shape: [Int], name: String) throws -> SharedArray<E> {
        guard !shape.isEmpty else { throw SharedArrayError.emptyShape }
        guard shape.count <= SharedArrayLayout.maxRank, shape.allSatisfy({ $0 > 0 }) else { throw SharedArrayError.invalidShape(shape) }
        var bytes = MemoryLayout<E>.size
        for dimension in shape {
            let (product, overflow) = bytes.multipliedReportingOverflow(by: dimension)
            if overflow { throw SharedArrayError.tooLarge(shape) }
            bytes = product
        }
        let size = SharedArrayLayout.headerSize + bytes                  // mistake: this addition can overflow too
        _ = size
        return try SharedArrays.create(type, shape: shape, name: name)
    }
}

fileprivate enum NegativeIndexWraps: ForwardsToSharedArrays {
    static func offset(of index: [Int], shape: [Int]) throws -> Int {
        guard index.count == shape.count else { throw SharedArrayError.indexOutOfRange(index: index, shape: shape) }
        var position = 0
        for (i, n) in zip(index, shape) {
            let wrapped = i < 0 ? i + n : i                                // mistake: Python's negative indices
            guard 0 <= wrapped && wrapped < n else { throw SharedArrayError.indexOutOfRange(index: index, shape: shape) }
            position = position * n + wrapped
        }
        return position
    }
}

fileprivate enum CreateReplacesExisting: ForwardsToSharedArrays {
    static func create<E: SharedElement>(_ type: E.Type, shape: [Int], name: String) throws -> SharedArray<E> {
        do {
            return try SharedArrays.create(type, shape: shape, name: name)
        } catch let error as SystemError where error.errno == EEXIST {
            SharedSegment.unlinkIfPresent(name)                            // mistake: someone else's array is gone
            return try SharedArrays.create(type, shape: shape, name: name)
        }
    }
}

fileprivate enum AttachSizeOverflowTraps: ForwardsToSharedArrays {
    static func attach<E: SharedElement>(_ type: E.Type, shape: [Int]?, name: String) throws -> SharedArray<E> {
        let segment = try SharedSegment.attach(name: name)
        let bytes = UnsafeRawBufferPointer(segment.bytes)
        if bytes.count >= SharedArrayLayout.headerSize && bytes.prefix(8).elementsEqual(SharedArrayLayout.magic) {
            let code = UInt32(littleEndian: bytes.load(fromByteOffset: SharedArrayLayout.elementTypeOffset, as: UInt32.self))
            let rank = Int(UInt32(littleEndian: bytes.load(fromByteOffset: SharedArrayLayout.rankOffset, as: UInt32.self)))
            if let found = ElementType(rawValue: code), (1...SharedArrayLayout.maxRank).contains(rank) {
                let stored = (0..<rank).map { Int(Int64(littleEndian: bytes.load(fromByteOffset: SharedArrayLayout.shapeOffset + 8 * $0, as: Int64.self))) }
                if stored.allSatisfy({ $0 > 0 }) {
                    let needed = stored.reduce(found.size, *)              // mistake: traps when the product overflows
                    _ = needed
                }
            }
        }
        return try SharedArrays.attach(type, shape: shape, name: name)
    }
}

fileprivate enum BandsNegativeRowsCrash: ForwardsToSharedArrays {
    static func bands(rows: Int, workers: Int) throws -> [Range<Int>] {
        guard workers >= 1 else { throw SharedArrayError.invalidWorkerCount(workers) }   // mistake: rows < 0 not refused
        return (0..<workers).map { w in (w * rows / workers)..<((w + 1) * rows / workers) }
    }
}

fileprivate enum WorkerSignalIgnored: ForwardsToSharedArrays {
    static func parallelFill<E: SharedElement>(_ array: SharedArray<E>, workers: Int, with value: (_ index: [Int]) -> E) throws {
        let pids = try forkFillers(array, workers: workers, with: value)
        try waitForWorkers(pids, failed: { end in
            if case .exited(let code) = end { return code != 0 }
            return false                                            // mistake: a worker killed by a signal passes
        })
    }
}

fileprivate enum StopsAtFirstFailure: ForwardsToSharedArrays {
    static func parallelFill<E: SharedElement>(_ array: SharedArray<E>, workers: Int, with value: (_ index: [Int]) -> E) throws {
        let pids = try forkFillers(array, workers: workers, with: value)
        for (worker, pid) in pids.enumerated() {
            let end = try waitForProcess(pid)
            if end != .exited(0) { throw SharedArrayError.workerFailed(worker: worker, end: end) }   // mistake: the rest never waited for
        }
    }
}

fileprivate enum ElementBigEndian: ForwardsToSharedArrays {
    static func element<E: SharedElement>(at index: [Int], of array: SharedArray<E>) throws -> E {
        let position = try offset(of: index, shape: array.shape)
        let start = array.segment.bytes.baseAddress! + SharedArrayLayout.headerSize + position * MemoryLayout<E>.stride
        var value = start.loadUnaligned(as: E.self)
        withUnsafeMutableBytes(of: &value) { bytes in var b = bytes; b.reverse() }// mistake: big-endian in memory
        return value
    }
    static func setElement<E: SharedElement>(_ value: E, at index: [Int], of array: SharedArray<E>) throws {
        let position = try offset(of: index, shape: array.shape)
        var swapped = value
        withUnsafeMutableBytes(of: &swapped) { bytes in var b = bytes; b.reverse() }// mistake: big-endian in memory
        (array.segment.bytes.baseAddress! + SharedArrayLayout.headerSize)
            .storeBytes(of: swapped, toByteOffset: position * MemoryLayout<E>.stride, as: E.self)
    }
}

fileprivate enum StridesOfNextDimensionOnly: ForwardsToSharedArrays {
    static func offset(of index: [Int], shape: [Int]) throws -> Int {
        guard index.count == shape.count else { throw SharedArrayError.indexOutOfRange(index: index, shape: shape) }
        var position = 0
        for (k, (i, n)) in zip(index, shape).enumerated() {
            guard 0 <= i && i < n else { throw SharedArrayError.indexOutOfRange(index: index, shape: shape) }
            position += i * (k + 1 < shape.count ? shape[k + 1] : 1)       // mistake: only the next dimension
        }
        return position
    }
}

fileprivate enum FillIndexTwoDimensional: ForwardsToSharedArrays {
    static func fill<E: SharedElement>(_ array: SharedArray<E>, rows: Range<Int>, with value: (_ index: [Int]) -> E) throws {
        let shape = array.shape
        guard rows.lowerBound >= 0 && rows.upperBound <= shape[0] else { throw SharedArrayError.rowsOutOfRange(rows, rows: shape[0]) }
        let rowLength = array.count / shape[0]
        let elements = (array.segment.bytes.baseAddress! + SharedArrayLayout.headerSize)
        for position in (rows.lowerBound * rowLength)..<(rows.upperBound * rowLength) {
            let index = [position / rowLength, position % rowLength]        // mistake: a matrix's index, whatever the rank
            elements.storeBytes(of: value(index), toByteOffset: position * MemoryLayout<E>.stride, as: E.self)
        }
    }
}

fileprivate enum ZeroDimensionAccepted: ForwardsToSharedArrays {
    static func create<E: SharedElement>(_ type: E.Type, shape: [Int], name: String) throws -> SharedArray<E> {
        guard !shape.isEmpty else { throw SharedArrayError.emptyShape }
        guard shape.count <= SharedArrayLayout.maxRank, shape.allSatisfy({ $0 >= 0 }) else {   // mistake: 0 lets through
            throw SharedArrayError.invalidShape(shape)
        }
        if shape.contains(0) {
            let segment = try SharedSegment.create(name: name, size: SharedArrayLayout.headerSize)
            return SharedArray(segment: segment, shape: shape)
        }
        return try SharedArrays.create(type, shape: shape, name: name)
    }
}

fileprivate enum AttachMissingNotENOENT: ForwardsToSharedArrays {
    static func attach<E: SharedElement>(_ type: E.Type, shape: [Int]?, name: String) throws -> SharedArray<E> {
        do {
            return try SharedArrays.attach(type, shape: shape, name: name)
        } catch let error as SystemError {
            throw SharedArrayError.notASharedArray(name: name, reason: "\(error)")   // mistake: every failure is "not an array"
        }
    }
}

fileprivate enum FillRowsUnchecked: ForwardsToSharedArrays {
    static func fill<E: SharedElement>(_ array: SharedArray<E>, rows: Range<Int>, with value: (_ index: [Int]) -> E) throws {
        let shape = array.shape                                              // mistake: no rowsOutOfRange check
        let rowLength = array.count / shape[0]
        for position in (rows.lowerBound * rowLength)..<(rows.upperBound * rowLength) {
            let index = rowMajorIndexOf(position, shape)
            try setElement(value(index), at: index, of: array)
        }
    }
}

fileprivate func rowMajorIndexOf(_ position: Int, _ shape: [Int]) -> [Int] {
    var index = [Int](repeating: 0, count: shape.count)
    var rest = position
    for k in (0..<shape.count).reversed() {
        index[k] = ((rest % shape[k]) + shape[k]) % shape[k]
        rest = (rest - index[k]) / shape[k]
    }
    index[0] += rest * shape[0]
    return index
}

fileprivate enum CopyCountUnchecked: ForwardsToSharedArrays {
    static func copy<E: SharedElement>(_ values: [E], into array: SharedArray<E>) throws {
        let count = min(values.count, array.count)                           // mistake: no countMismatch
        values.withUnsafeBytes { source in
            _ = memcpy(array.segment.bytes.baseAddress! + SharedArrayLayout.headerSize, source.baseAddress!, count * MemoryLayout<E>.stride)
        }
    }
    static func copy<E: SharedElement>(_ array: SharedArray<E>, into values: inout [E]) throws {
        let count = min(values.count, array.count)                           // mistake: no countMismatch
        values.withUnsafeMutableBytes { target in
            _ = memcpy(target.baseAddress!, array.segment.bytes.baseAddress! + SharedArrayLayout.headerSize, count * MemoryLayout<E>.stride)
        }
    }
}

fileprivate enum WorkersClamped: ForwardsToSharedArrays {
    static func parallelFill<E: SharedElement>(_ array: SharedArray<E>, workers: Int, with value: (_ index: [Int]) -> E) throws {
        try SharedArrays.parallelFill(array, workers: max(1, workers), with: value)   // mistake: a bad count is "fixed"
    }
    static func parallelSum(_ array: SharedArray<Double>, workers: Int) throws -> Double {
        try SharedArrays.parallelSum(array, workers: max(1, workers))                 // mistake: a bad count is "fixed"
    }
}
