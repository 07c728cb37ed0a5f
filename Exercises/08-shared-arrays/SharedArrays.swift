import Glibc
import Contracts

// Lesson 08 — shared arrays.
// Read the lesson: swift run lab show 8     Check your work: swift run lab check 8
//
// Replace each todo() with your code. The lab's SharedSegment does the system calls:
//   SharedSegment.create(name:size:)  SharedSegment.attach(name:)  segment.bytes  segment.unlink()
// You write what the bytes mean. The layout constants are in SharedArrayLayout (magic "SHMARR01",
// headerSize 64, field offsets 8 / 12 / 16, maxRank 6). Throw SharedArrayError or
// ShareableListError for bad input, as the lesson's table says; never trap.

public enum SharedArrays: SharedArraysContract {

    // MARK: - the header and the layout

    /// Checks the shape (emptyShape, invalidShape, tooLarge), creates a segment of exactly
    /// 64 + count × size bytes and writes the header: magic, type code, rank, shape (little-endian).
    public static func create<E: SharedElement>(_ type: E.Type, shape: [Int], name: String) throws -> SharedArray<E> {
        todo()
    }

    /// Attaches by name and validates the header before trusting it: size ≥ 64, magic, type code
    /// == E.elementType, rank 1…6, a valid shape equal to `shape` (if given), enough bytes.
    public static func attach<E: SharedElement>(_ type: E.Type, shape: [Int]?, name: String) throws -> SharedArray<E> {
        todo()
    }

    // MARK: - indexing

    /// The row-major position of `index`: ((i0 × n1 + i1) × n2 + i2)… Throws indexOutOfRange.
    public static func offset(of index: [Int], shape: [Int]) throws -> Int {
        todo()
    }

    /// The element at `index` (the elements start 64 bytes into the segment).
    public static func element<E: SharedElement>(at index: [Int], of array: SharedArray<E>) throws -> E {
        todo()
    }

    /// Stores `value` at `index`.
    public static func setElement<E: SharedElement>(_ value: E, at index: [Int], of array: SharedArray<E>) throws {
        todo()
    }

    // MARK: - bulk

    /// Sets every element of the rows in `rows` to value(index). Throws rowsOutOfRange.
    public static func fill<E: SharedElement>(_ array: SharedArray<E>, rows: Range<Int>,
                                              with value: (_ index: [Int]) -> E) throws {
        todo()
    }

    /// One bulk copy from a Swift array into the shared array. Throws countMismatch.
    public static func copy<E: SharedElement>(_ values: [E], into array: SharedArray<E>) throws {
        todo()
    }

    /// One bulk copy from the shared array into a Swift array. Throws countMismatch.
    public static func copy<E: SharedElement>(_ array: SharedArray<E>, into values: inout [E]) throws {
        todo()
    }

    // MARK: - work split across processes

    /// `workers` contiguous, disjoint bands covering 0..<rows, sizes differing by at most one.
    public static func bands(rows: Int, workers: Int) throws -> [Range<Int>] {
        todo()
    }

    /// One forkChild per band, each filling its rows; wait for all; throw workerFailed if one failed.
    public static func parallelFill<E: SharedElement>(_ array: SharedArray<E>, workers: Int,
                                                      with value: (_ index: [Int]) -> E) throws {
        todo()
    }

    /// One forkChild per band, each summing its rows into its slot of a labSharedBlock; wait;
    /// add the partial sums in band order.
    public static func parallelSum(_ array: SharedArray<Double>, workers: Int) throws -> Double {
        todo()
    }

    // MARK: - CPython's ShareableList

    /// Creates a segment holding `items` in CPython's ShareableList layout.
    public static func createShareableList(_ items: [ShareableValue], name: String) throws -> SharedSegment {
        todo()
    }

    /// Reads every item of a ShareableList; notAShareableList for bytes that are not one.
    public static func readShareableList(_ bytes: UnsafeRawBufferPointer) throws -> [ShareableValue] {
        todo()
    }

    /// Replaces one item in place, like Python's `sl[index] = value`.
    public static func setShareableListItem(_ value: ShareableValue, at index: Int, in bytes: UnsafeMutableRawBufferPointer) throws {
        todo()
    }
}
