/// Lesson 08: what it is, its parts and their hints.
public enum Lesson08: LessonDeclaration {
    public static let info = LessonInfo(number: 8, slug: "shared-arrays",
                                        title: "Shared arrays", defaultTimeout: 30)

    /// Parallel sums are compared with the sequential sum within this fraction of Σ|x|.
    public static let sumTolerance = 1e-6

    public static var parts: [Part<any SharedArraysContract.Type>] { [
        Part(1, "the post's example: a 100×100 UInt8 array filled with 255, read by another process",
             check: { lab, context in try tutorialExample(lab, context) }, hints: [
            "create: check the shape first (emptyShape, invalidShape, tooLarge with multipliedReportingOverflow), then SharedSegment.create(name:size:) with exactly 64 + count × size bytes — bytes, not elements (the post's size=array.size is right only for one-byte types) — then write the header: magic, type code, rank, shape (little-endian).",
            "offset(of:shape:) is row-major: the last index varies fastest. position = ((i0 × n1 + i1) × n2 + i2)…; check index.count == shape.count and 0 ≤ i_k < n_k first, or throw indexOutOfRange.",
            "The elements start at segment.bytes.baseAddress! + 64. bindMemory(to: E.self, capacity: count) gives a typed pointer; element k is at pointer[k]. fill walks the positions rows.lowerBound × rowLength ..< rows.upperBound × rowLength.",
            "The part also creates with a name that is taken: SharedSegment.create throws the SystemError (EEXIST), and create throws it on — never unlink the other array to make room. A shape that is refused leaves no segment: validate everything before SharedSegment.create.",
        ]),
        Part(2, "attach with the wrong element type or shape is a clear error",
             check: { lab, _ in try wrongTypeOrShape(lab) }, hints: [
            "attach must read the header before trusting anything: the segment may not be an array at all, may hold another type, or another shape.",
            "Check in order: the segment is at least 64 bytes; the first 8 bytes are \"SHMARR01\"; the type code is known and equals E.elementType (else wrongElementType); rank is 1…6; the shape is valid; it equals the shape asked for (else wrongShape).",
            "Last, the segment must really hold 64 + count × size bytes: a header that claims more than the segment has must be notASharedArray, never a read past the end (SIGBUS).",
            "Multiply the header's dimensions with multipliedReportingOverflow too: a header can claim a shape whose size overflows Int (notASharedArray, not a trap). A name that does not exist is SharedSegment.attach's SystemError (ENOENT), thrown as it is — not notASharedArray.",
        ]),
        Part(3, "4 worker processes each fill a band of rows; the result equals the sequential fill",
             check: { lab, context in try parallelFillBands(lab, context) }, hints: [
            "bands(rows:workers:): band w is (w × rows / workers) ..< ((w + 1) × rows / workers). Consecutive bands share a boundary, so no row is skipped or done twice, even when rows is not a multiple of workers.",
            "parallelFill: for each band, forkChild { try fill(array, rows: band, with: value); return 0 }, keep the pids; then waitForProcess each pid. The children write straight into the shared segment: no lock, because the bands are disjoint.",
            "Wait for every worker, and throw workerFailed(worker:end:) if one did not end with .exited(0): a worker that crashed left its band unfilled.",
            "The edges: fill with rows outside 0..<shape[0] (past the end, or negative) is rowsOutOfRange; bands with workers < 1 or rows < 0 is invalidWorkerCount (check before building ranges: a negative range traps), and so is parallelFill with workers < 1 — never quietly one worker. A worker killed by a signal failed too (compare the whole end with .exited(0)); wait for all the workers before throwing for the first that failed.",
        ], ifTimedOut: "A worker that never ends, or a wait for a process that is not a child of this one: start each worker with forkChild (it ends the child with _exit) and waitForProcess exactly the pids it returned."),
        Part(4, "parallel sum of 16 Mi Float64 with 2 workers equals the sequential sum (within 1e-6 × Σ|x|)",
             check: { lab, context in try parallelSumBands(lab, context) }, hints: [
            "Each worker sums its band and must hand its partial sum back to the parent: a forked child's variables are its own copy. Put one Double per worker in labSharedBlock(bytes: 8 × workers), forked after it is mapped.",
            "After waiting for every worker, add the partial sums in band order. Floating-point addition is not associative, so the result differs from the sequential sum in the last bits; that is why the check has a tolerance.",
            "A band boundary off by one drops or doubles a whole row of 4096 values: far more than the tolerance. Check bands(rows: 4096, workers: 3).",
            "parallelSum with workers < 1 is invalidWorkerCount, as parallelFill: the part asks for 0 workers and expects the error, not a sum made by one.",
        ], ifTimedOut: "Summing 16 Mi values takes well under a second even in a debug build: a worker that never ends, or a wait for a pid that is not a child of this process, is the likely cause.", timeout: 30),
        Part(5, "interop: Python (standard library only, memoryview.cast) reads the student's data",
             check: { lab, context in try pythonReadsArrays(lab, context) }, hints: [
            "Python reads the header with struct.unpack_from('<8sII6q', buf, 0), then casts shm.buf[64:] with the format and shape: memoryview.cast expects C order (row-major) and native byte order.",
            "Check the header bytes exactly: magic at 0, UInt32 type code at 8, UInt32 rank at 12, six Int64 dimensions from 16, elements from 64; the segment exactly 64 + count × size bytes.",
            "copy(_:into:) both ways moves count × MemoryLayout<E>.size bytes (memcpy counts bytes, not elements), and a Swift array of another count is countMismatch(expected:got:) — never a partial copy.",
        ]),
        Part(6, "interop: the student reads a ShareableList Python created, and Python reads one the student wrote",
             check: { lab, context in try shareableListsBothWays(lab, context) }, hints: [
            "Layout: Int64 N at 0; N+1 Int64 offsets at 8 (0, then running sums of slot sizes); the slots from 8 × (N + 2); then N 8-byte formats; then N code bytes. Native byte order.",
            "Formats: int \"q\", float \"d\", bool \"xxxxxxx?\" (the byte at slot + 7), None \"xxxxxx?x\" (code 3), str/bytes \"<cap>s\" with cap = 8 × (length / 8 + 1) and codes 1/2. Count a str's UTF-8 bytes, not its characters.",
            "Setting an item: str/bytes longer than the slot → itemTooLong, nothing written; otherwise zero the whole slot before writing, or a shorter string reads back with the old one's tail. Python strips trailing NULs when it reads.",
            "Reading bytes you did not write: validate before you read anything. N must fit in the buffer; offsets[0] is 0, each offset is at least the one before it (slot k is offsets[k] ..< offsets[k + 1]: one that goes backwards ends before it starts), and the last one leaves room for the formats and codes; every code is 0…3, every format known and no wider than its slot, every str valid UTF-8 (String(validating:as:)). Anything else is notAShareableList — \"did not throw\" for \"offsets that go backwards\" means the order is not checked.",
        ]),
        Part(7, "every rank 1…6 and every element type: header, offset, element access, fill of a band, copy, attach",
             check: { lab, context in try everyRankAndType(lab, context) }, hints: [
            "offset(of:shape:) for any rank: position = ((i0 × n1 + i1) × n2 + i2) × n3 + … — the stride of index k is the product of ALL the dimensions after k, not just the next one.",
            "fill hands value(_:) the index of each element, with one component per dimension: advance it like an odometer (the last component fastest), or compute it from the position by dividing by the dimensions from the last.",
            "Elements are stored in the host's byte order (storeBytes(of: value, …)); only the header is little-endian. fill writes only the rows in its range.",
        ]),
    ] }
}
