import Glibc

// Lesson 08 — shared arrays. The lab provides the raw storage (`SharedSegment`: shm_open,
// ftruncate, mmap, unlink); the student writes the header, the layout, the indexing, the
// parallel bands and CPython's ShareableList format on top of it.

/// The element types a shared array can hold. The raw value is the code stored in the header.
public enum ElementType: UInt32, CaseIterable, Sendable, CustomStringConvertible {
    case uint8 = 1
    case int32 = 2
    case int64 = 3
    case float64 = 4

    /// Bytes per element.
    public var size: Int {
        switch self {
        case .uint8: return 1
        case .int32: return 4
        case .int64, .float64: return 8
        }
    }

    /// The `struct` / `memoryview.cast` format character Python uses for it ("B", "i", "q", "d").
    public var pythonFormat: String {
        switch self {
        case .uint8: return "B"
        case .int32: return "i"
        case .int64: return "q"
        case .float64: return "d"
        }
    }

    public var description: String {
        switch self {
        case .uint8: return "uint8"
        case .int32: return "int32"
        case .int64: return "int64"
        case .float64: return "float64"
        }
    }
}

/// A Swift type a shared array can hold: `UInt8`, `Int32`, `Int64` or `Double`.
public protocol SharedElement: BitwiseCopyable, Equatable {
    /// Its code in the header.
    static var elementType: ElementType { get }
}

extension UInt8: SharedElement { public static var elementType: ElementType { .uint8 } }
extension Int32: SharedElement { public static var elementType: ElementType { .int32 } }
extension Int64: SharedElement { public static var elementType: ElementType { .int64 } }
extension Double: SharedElement { public static var elementType: ElementType { .float64 } }

/// The fixed facts of the on-segment layout (see the lesson text for the diagram).
///
/// ```
/// offset 0   8 bytes      magic "SHMARR01"
/// offset 8   UInt32 LE    element type code (ElementType.rawValue)
/// offset 12  UInt32 LE    rank: the number of dimensions, 1…6
/// offset 16  6 × Int64 LE shape, outermost first; unused dimensions are 0
/// offset 64  the elements, row-major (C order), native byte order
/// ```
/// The segment is exactly `headerSize + count × elementSize` bytes.
public enum SharedArrayLayout {
    /// The first 8 bytes of every shared array: ASCII "SHMARR01".
    public static let magic: [UInt8] = Array("SHMARR01".utf8)
    /// Bytes before the first element (also where the elements start: 64 is a cache line, and
    /// a multiple of every element's alignment).
    public static let headerSize = 64
    /// Offsets of the header fields.
    public static let elementTypeOffset = 8
    public static let rankOffset = 12
    public static let shapeOffset = 16
    /// At most this many dimensions fit in the header.
    public static let maxRank = 6
}

/// A typed n-dimensional array over a named segment: what `create` and `attach` return.
///
/// The array holds the lab's `SharedSegment` (a class), so the mapping stays valid as long as any
/// copy of the array exists — unlike `np.ndarray(buffer=shm.buf)`, which does not keep the
/// mapping alive. Do not call `segment.close()` while you still use the array.
public struct SharedArray<Element: SharedElement> {
    /// The segment that holds the header and the elements.
    public let segment: SharedSegment
    /// The extent of each dimension, outermost first (`[rows, columns]` for a matrix).
    public let shape: [Int]

    public init(segment: SharedSegment, shape: [Int]) {
        self.segment = segment
        self.shape = shape
    }

    /// The segment's name, with its leading slash (Python's `SharedMemory` wants it without).
    public var name: String { segment.name }
    /// The number of elements: the product of the shape.
    public var count: Int { shape.reduce(1, *) }
}

/// What lesson 08's array functions throw for bad input (a system call's failure is a `SystemError`).
public enum SharedArrayError: Error, Equatable, CustomStringConvertible {
    /// `shape` was `[]`: an array needs at least one dimension.
    case emptyShape
    /// A dimension is 0 or negative, or there are more than `SharedArrayLayout.maxRank` dimensions.
    case invalidShape([Int])
    /// The byte count of the shape does not fit in an `Int`.
    case tooLarge([Int])
    /// The segment does not hold a valid shared array (too small, wrong magic, bad rank or shape,
    /// unknown element type code, or fewer bytes than the header claims).
    case notASharedArray(name: String, reason: String)
    /// The header says another element type than the one asked for.
    case wrongElementType(expected: ElementType, found: ElementType)
    /// The header says another shape than the one asked for.
    case wrongShape(expected: [Int], found: [Int])
    /// An index with the wrong number of components, or a component outside `0..<shape[k]`.
    case indexOutOfRange(index: [Int], shape: [Int])
    /// A Swift array whose count is not the shared array's count.
    case countMismatch(expected: Int, got: Int)
    /// A range of rows that is not inside `0..<rows`.
    case rowsOutOfRange(Range<Int>, rows: Int)
    /// `bands(rows:workers:)` with fewer than one worker (or negative rows).
    case invalidWorkerCount(Int)
    /// A worker process did not exit with 0.
    case workerFailed(worker: Int, end: ProcessEnd)

    public var description: String {
        switch self {
        case .emptyShape: return "emptyShape: an array needs at least one dimension"
        case .invalidShape(let shape): return "invalidShape(\(shape)): dimensions must be ≥ 1, at most \(SharedArrayLayout.maxRank) of them"
        case .tooLarge(let shape): return "tooLarge(\(shape)): the byte count overflows Int"
        case .notASharedArray(let name, let reason): return "notASharedArray(\(name)): \(reason)"
        case .wrongElementType(let expected, let found): return "wrongElementType(expected: \(expected), found: \(found))"
        case .wrongShape(let expected, let found): return "wrongShape(expected: \(expected), found: \(found))"
        case .indexOutOfRange(let index, let shape): return "indexOutOfRange(index: \(index), shape: \(shape))"
        case .countMismatch(let expected, let got): return "countMismatch(expected: \(expected), got: \(got))"
        case .rowsOutOfRange(let range, let rows): return "rowsOutOfRange(\(range), rows: \(rows))"
        case .invalidWorkerCount(let n): return "invalidWorkerCount(\(n))"
        case .workerFailed(let worker, let end): return "workerFailed(worker: \(worker), \(end))"
        }
    }
}

/// One item of a CPython `ShareableList`.
public enum ShareableValue: Equatable, Sendable, CustomStringConvertible {
    /// Python `int` (format "q": a signed 64-bit integer).
    case int(Int64)
    /// Python `float` (format "d").
    case float(Double)
    /// Python `bool` (format "xxxxxxx?": the byte at slot + 7).
    case bool(Bool)
    /// Python `None` (format "xxxxxx?x", all zero).
    case none
    /// Python `str`, stored as UTF-8 (format "<capacity>s").
    case string(String)
    /// Python `bytes` (format "<capacity>s").
    case bytes([UInt8])

    public var description: String {
        switch self {
        case .int(let v): return "\(v)"
        case .float(let v): return "\(v)"
        case .bool(let v): return v ? "True" : "False"
        case .none: return "None"
        case .string(let s): return "\"\(s)\""
        case .bytes(let b): return "b'" + b.map(pythonByteLiteral).joined() + "'"
        }
    }
}

/// One byte as Python's `repr(bytes)` shows it: printable ASCII as is, the rest as `\\xNN`.
fileprivate func pythonByteLiteral(_ byte: UInt8) -> String {
    if byte >= 0x20 && byte < 0x7f && byte != 0x27 && byte != 0x5c { return String(UnicodeScalar(byte)) }
    let hex = String(byte, radix: 16)
    return "\\x" + (hex.count == 1 ? "0" + hex : hex)
}

/// What the ShareableList functions throw for bad input.
public enum ShareableListError: Error, Equatable, CustomStringConvertible {
    /// A str (as UTF-8) or bytes item longer than its slot (or, when creating, than the
    /// 9,999,991 bytes an 8-character format can describe). Python: "ValueError: bytes/str item
    /// exceeds available storage".
    case itemTooLong(index: Int, bytes: Int, capacity: Int)
    /// An item index outside `0..<count`.
    case indexOutOfRange(index: Int, count: Int)
    /// The bytes are not a ShareableList (too short, bad count or offsets, unknown format or
    /// code, invalid UTF-8).
    case notAShareableList(reason: String)

    public var description: String {
        switch self {
        case .itemTooLong(let index, let bytes, let capacity): return "itemTooLong(index: \(index), bytes: \(bytes), capacity: \(capacity))"
        case .indexOutOfRange(let index, let count): return "indexOutOfRange(index: \(index), count: \(count))"
        case .notAShareableList(let reason): return "notAShareableList: \(reason)"
        }
    }
}

/// Lesson 08 — shared arrays. The student's `SharedArrays` implements it.
public protocol SharedArraysContract {
    // MARK: the header and the layout

    /// Creates the segment `name` (with `SharedSegment.create(name:size:)`, exactly
    /// `headerSize + count × size` bytes), writes the header and returns the array; the elements
    /// are zero. Throws `emptyShape`, `invalidShape`, `tooLarge` before creating anything, and the
    /// segment's `SystemError` (EEXIST for a taken name).
    static func create<E: SharedElement>(_ type: E.Type, shape: [Int], name: String) throws -> SharedArray<E>

    /// Attaches to the segment `name` (with `SharedSegment.attach(name:)`) and validates the
    /// header: magic, element type `E`, rank, shape (`shape: nil` takes the header's), and that the
    /// segment holds every element. Throws `notASharedArray`, `wrongElementType`, `wrongShape`
    /// (or `emptyShape`/`invalidShape` for a bad `shape` argument), never traps.
    static func attach<E: SharedElement>(_ type: E.Type, shape: [Int]?, name: String) throws -> SharedArray<E>

    // MARK: indexing

    /// The row-major position of `index` among the elements (0 for the first, count−1 for the
    /// last). Throws `indexOutOfRange` for a wrong number of components or any component outside
    /// `0..<shape[k]` (negative too: there is no counting from the end).
    static func offset(of index: [Int], shape: [Int]) throws -> Int

    /// The element at `index`. Throws `indexOutOfRange`.
    static func element<E: SharedElement>(at index: [Int], of array: SharedArray<E>) throws -> E

    /// Stores `value` at `index`. Throws `indexOutOfRange`.
    static func setElement<E: SharedElement>(_ value: E, at index: [Int], of array: SharedArray<E>) throws

    // MARK: bulk

    /// Sets every element whose first index is in `rows` to `value(index)`. Throws
    /// `rowsOutOfRange` unless `rows` lies inside `0..<shape[0]`.
    static func fill<E: SharedElement>(_ array: SharedArray<E>, rows: Range<Int>, with value: (_ index: [Int]) -> E) throws

    /// Copies a Swift array (row-major order) into the shared array in one bulk copy. Throws
    /// `countMismatch` unless `values.count == array.count`.
    static func copy<E: SharedElement>(_ values: [E], into array: SharedArray<E>) throws

    /// Copies the shared array out into `values` in one bulk copy. Throws `countMismatch`
    /// unless `values.count == array.count`.
    static func copy<E: SharedElement>(_ array: SharedArray<E>, into values: inout [E]) throws

    // MARK: work split across processes

    /// Splits `rows` rows into `workers` contiguous, disjoint bands, in order, that cover
    /// `0..<rows` exactly; their sizes differ by at most one (some are empty when
    /// `workers > rows`). Throws `invalidWorkerCount` for `workers < 1` or `rows < 0`.
    static func bands(rows: Int, workers: Int) throws -> [Range<Int>]

    /// Fills the array like `fill(_:rows:with:)` over all rows, with `workers` processes started
    /// by `forkChild`, each filling one band; waits for all of them. Throws `invalidWorkerCount`,
    /// or `workerFailed` when a worker does not exit with 0.
    static func parallelFill<E: SharedElement>(_ array: SharedArray<E>, workers: Int, with value: (_ index: [Int]) -> E) throws

    /// The sum of all elements, computed by `workers` processes started by `forkChild`, each
    /// summing one band and leaving its partial sum in a shared block; the partial sums are added
    /// in band order. Throws `invalidWorkerCount` or `workerFailed`.
    static func parallelSum(_ array: SharedArray<Double>, workers: Int) throws -> Double

    // MARK: CPython's ShareableList

    /// Creates the segment `name` (with `SharedSegment.create`) holding `items` in the exact
    /// layout of CPython's `ShareableList`, so that `ShareableList(name=...)` reads it. Throws
    /// `itemTooLong` for a str/bytes item over 9,999,991 bytes, before creating anything.
    static func createShareableList(_ items: [ShareableValue], name: String) throws -> SharedSegment

    /// Reads every item of a ShareableList (one Python created, say). Throws
    /// `notAShareableList` for bytes that are not one, never traps.
    static func readShareableList(_ bytes: UnsafeRawBufferPointer) throws -> [ShareableValue]

    /// Replaces item `index` in place, like Python's `sl[index] = value`: the slot keeps its
    /// size; str/bytes are NUL-padded to the slot. Throws `indexOutOfRange`, or `itemTooLong`
    /// (leaving the item unchanged) when a str/bytes does not fit the slot.
    static func setShareableListItem(_ value: ShareableValue, at index: Int, in bytes: UnsafeMutableRawBufferPointer) throws
}
