import Glibc

// Lesson 08's part 7: every rank the header allows (1…6) and every element type, with shapes,
// indices and values from the seeded generator; the lab reads the segment's bytes on its own.

/// An element type the check can draw values of, every class included (zero, the extremes, and
/// for Double -0.0, ±∞ and NaN), and compare bit for bit.
protocol DrawnElement: SharedElement {
    static func draw(_ random: inout SeededRandom) -> Self
}

extension UInt8: DrawnElement {
    static func draw(_ random: inout SeededRandom) -> UInt8 {
        let classes: [UInt8] = [0, 1, 127, 128, 255]
        return Bool.random(using: &random) ? classes[Int.random(in: 0..<classes.count, using: &random)] : UInt8.random(in: 0...255, using: &random)
    }
}
extension Int32: DrawnElement {
    static func draw(_ random: inout SeededRandom) -> Int32 {
        let classes: [Int32] = [0, 1, -1, .max, .min, 256, -129]
        return Bool.random(using: &random) ? classes[Int.random(in: 0..<classes.count, using: &random)] : Int32.random(in: .min ... .max, using: &random)
    }
}
extension Int64: DrawnElement {
    static func draw(_ random: inout SeededRandom) -> Int64 {
        let classes: [Int64] = [0, 1, -1, .max, .min, 1 << 53 + 1, -(1 << 40)]
        return Bool.random(using: &random) ? classes[Int.random(in: 0..<classes.count, using: &random)] : Int64.random(in: .min ... .max, using: &random)
    }
}
extension Double: DrawnElement {
    static func draw(_ random: inout SeededRandom) -> Double {
        let classes: [Double] = [0, -0.0, 1, -1.5, .infinity, -.infinity, .nan, .greatestFiniteMagnitude, .leastNonzeroMagnitude, 0.1]
        if Bool.random(using: &random) { return classes[Int.random(in: 0..<classes.count, using: &random)] }
        let drawn = Double(bitPattern: UInt64.random(in: 0 ... .max, using: &random))
        return drawn.isNaN ? .nan : drawn          // a signalling NaN could be quieted on its way: keep to the quiet one
    }
}

extension Lesson08 {
    /// One generated case: an element type and a shape.
    struct RankCase {
        let type: ElementType
        let shape: [Int]
        var count: Int { shape.reduce(1, *) }
    }

    /// Part 7: every rank 1…6 and every element type: the header and the size, offset, element
    /// and setElement at row-major positions, out-of-range indices, fill of a band of rows with
    /// the index each element is at, copy both ways, and attach by shape or by header.
    static func everyRankAndType<L: SharedArraysContract>(_: L.Type, _ context: PartContext) throws {
        var random = context.random(stream: 7)
        var cases: [RankCase] = []
        for rank in 1...SharedArrayLayout.maxRank {
            for type in ElementType.allCases {
                let largest = [1: 300, 2: 24, 3: 9, 4: 6, 5: 4, 6: 3][rank]!
                let shape = (0..<rank).map { _ in Int.random(in: 1...largest, using: &random) }
                cases.append(RankCase(type: type, shape: shape))
            }
        }
        // Dimensions of 1 among larger ones, where a stride mistake hides easily.
        cases.append(RankCase(type: .int32, shape: [2, 1, 3, 1, 2, 1]))
        cases.append(RankCase(type: .float64, shape: [1, 5, 1, 4]))
        try context.forEachGenerated(cases, size: { $0.shape.count * 1000 + $0.count }, describe: { "\($0.type) array of shape \($0.shape)" }) { c in
            var values = SeededRandom(seed: context.seed &+ UInt64(c.count) &* 31 &+ UInt64(c.shape.count))
            switch c.type {
            case .uint8: try checkRank(L.self, UInt8.self, c.shape, &values)
            case .int32: try checkRank(L.self, Int32.self, c.shape, &values)
            case .int64: try checkRank(L.self, Int64.self, c.shape, &values)
            case .float64: try checkRank(L.self, Double.self, c.shape, &values)
            }
        }
    }

    /// The index of row-major `position` in `shape`: the lab's own oracle.
    public static func indexOf(_ position: Int, _ shape: [Int]) -> [Int] {
        var index = [Int](repeating: 0, count: shape.count)
        var rest = position
        for k in (0..<shape.count).reversed() {
            index[k] = rest % shape[k]
            rest /= shape[k]
        }
        return index
    }

    /// The row-major position of `index`: ((i0 × n1 + i1) × n2 + i2)…
    static func positionOf(_ index: [Int], _ shape: [Int]) -> Int {
        zip(index, shape).reduce(0) { $0 * $1.1 + $1.0 }
    }

    static func bytesOf<E: SharedElement>(_ value: E) -> [UInt8] { withUnsafeBytes(of: value) { Array($0) } }

    static func checkRank<L: SharedArraysContract, E: DrawnElement>(_: L.Type, _: E.Type, _ shape: [Int], _ random: inout SeededRandom) throws {
        let size = MemoryLayout<E>.size
        let count = shape.reduce(1, *)
        let what = "a \(E.elementType) array of shape \(shape)"
        let name = SharedSegment.uniqueName()
        defer { SharedSegment.unlinkIfPresent(name) }
        let array = try attempt("create(\(E.self).self, shape: \(shape), name:)", look: look("create(_:shape:name:)")) {
            try L.create(E.self, shape: shape, name: name)
        }
        try requireEqual(array.shape, shape, "create returned \(what) with another shape", look: look("create(_:shape:name:)"))
        let raw = try attempt("the lab attaching to \(name)") { try SharedSegment.attach(name: name) }
        try requireEqual(raw.bytes.count, SharedArrayLayout.headerSize + count * size, "the segment of \(what) has the wrong size",
                         cause: "exactly 64 + \(count) elements × \(size) bytes", look: look("create(_:shape:name:)"))
        try requireHeader(raw.bytes, E.elementType, shape)
        let elements = raw.bytes.baseAddress! + SharedArrayLayout.headerSize
        func rawBytes(at position: Int) -> [UInt8] { Array(UnsafeRawBufferPointer(start: elements + position * size, count: size)) }

        // offset, setElement and element at drawn indices, the first and the last included.
        var positions = [0, count - 1]
        for _ in 0..<6 { positions.append(Int.random(in: 0..<count, using: &random)) }
        for position in positions {
            let index = indexOf(position, shape)
            let offset = try attempt("offset(of: \(index), shape: \(shape))", look: look("offset(of:shape:)")) { try L.offset(of: index, shape: shape) }
            try requireEqual(offset, position, "offset(of: \(index), shape: \(shape)) is not the row-major position",
                             cause: "row-major: ((i0 × n1 + i1) × n2 + i2)… — each index is multiplied by the product of ALL the dimensions after it, not just the next one",
                             look: look("offset(of:shape:)"))
            let value = E.draw(&random)
            try attempt("setElement(\(value), at: \(index), of:)", look: look("setElement(_:at:of:)")) { try L.setElement(value, at: index, of: array) }
            try require(rawBytes(at: position) == bytesOf(value), CheckFailure(
                "setElement(\(value), at: \(index)) on \(what) did not store it where the lab reads it",
                expected: "the value's bytes, in the host's order, at byte 64 + \(position) × \(size)",
                seen: rawBytes(at: position).map { String($0, radix: 16) }.joined(separator: " "),
                cause: "elements are native byte order, row-major, from byte 64", look: look("setElement(_:at:of:)")))
            let back = try attempt("element(at: \(index), of:)", look: look("element(at:of:)")) { try L.element(at: index, of: array) }
            try require(bytesOf(back) == bytesOf(value), CheckFailure(
                "element(at: \(index)) on \(what) does not read back what setElement stored", expected: "\(value)", seen: "\(back)",
                look: look("element(at:of:)")))
        }
        // Out of range in every dimension, both ends, and the wrong number of components.
        for k in 0..<shape.count {
            for bad in [shape[k], -1] {
                var index = indexOf(0, shape)
                index[k] = bad
                let error = SharedArrayError.indexOutOfRange(index: index, shape: shape)
                try expectThrows("element(at: \(index), of:) on \(what)", expected: "SharedArrayError.\(error)", look: look("offset(of:shape:)"),
                                 cause: "every component k must be in 0..<shape[k]: no negative indices, no running into the next row",
                                 matches: { ($0 as? SharedArrayError) == error }) {
                    try L.element(at: index, of: array)
                }
            }
        }
        for index in [Array(repeating: 0, count: shape.count + 1), Array(repeating: 0, count: shape.count - 1)] {
            let error = SharedArrayError.indexOutOfRange(index: index, shape: shape)
            try expectThrows("offset(of: \(index), shape: \(shape))", expected: "SharedArrayError.\(error)", look: look("offset(of:shape:)"),
                             cause: "an index has exactly one component per dimension",
                             matches: { ($0 as? SharedArrayError) == error }) {
                try L.offset(of: index, shape: shape)
            }
        }

        // fill of a drawn band of rows: each element gets the value of its own index; the other rows stay.
        let rowLength = count / shape[0]
        memset(elements, 0xAB, count * size)
        let lower = Int.random(in: 0...shape[0], using: &random)
        let upper = Int.random(in: lower...shape[0], using: &random)
        func valueFor(_ index: [Int]) -> E {
            var seeded = SeededRandom(seed: UInt64(positionOf(index, shape)) &* 0x9E37 &+ UInt64(index.count))
            return E.draw(&seeded)
        }
        var wrongIndex: [Int]?
        try attempt("fill(array, rows: \(lower)..<\(upper), with:)", look: look("fill(_:rows:with:)")) {
            try L.fill(array, rows: lower..<upper) { index in
                if index.count != shape.count || zip(index, shape).contains(where: { $0.0 < 0 || $0.0 >= $0.1 }) { wrongIndex = index }
                return valueFor(index)
            }
        }
        if let wrongIndex {
            throw CheckFailure("fill called the value closure with an index that is not one of \(what)", expected: "\(shape.count) components, each inside its dimension",
                               seen: "\(wrongIndex)", cause: "advance the index like an odometer over all \(shape.count) dimensions (the last fastest)",
                               look: look("fill(_:rows:with:)"))
        }
        for position in 0..<count {
            let index = indexOf(position, shape)
            let inBand = index[0] >= lower && index[0] < upper
            let expected = inBand ? bytesOf(valueFor(index)) : [UInt8](repeating: 0xAB, count: size)
            if rawBytes(at: position) != expected {
                throw CheckFailure("after fill(rows: \(lower)..<\(upper)) on \(what), element \(index) is wrong",
                                   expected: inBand ? "value(\(index)) = \(valueFor(index))" : "untouched (row \(index[0]) is outside the band)",
                                   seen: rawBytes(at: position).map { String($0, radix: 16) }.joined(separator: " "),
                                   cause: inBand ? "each element gets value(its own index): the index handed to the closure must be the element's, in row-major order"
                                                 : "fill writes only the rows in `rows`: positions rows.lowerBound × \(rowLength) ..< rows.upperBound × \(rowLength)",
                                   look: look("fill(_:rows:with:)"))
            }
        }

        // copy both ways.
        let values = (0..<count).map { _ in E.draw(&random) }
        try attempt("copy(\(count) values, into:)", look: look("copy(_:into:)")) { try L.copy(values, into: array) }
        if let k = (0..<count).first(where: { rawBytes(at: $0) != bytesOf(values[$0]) }) {
            throw CheckFailure("copy(_:into:) of \(count) values into \(what) differs at element \(indexOf(k, shape))",
                               expected: "\(values[k])", seen: rawBytes(at: k).map { String($0, radix: 16) }.joined(separator: " "),
                               cause: "copy all count × \(size) bytes, in order, from byte 64", look: look("copy(_:into:)"))
        }
        var out = [E](repeating: values[0], count: count)
        memset(elements, 0x5A, count * size)
        try attempt("copy(array, into: &values)", look: look("copy(_:into:)")) { try L.copy(array, into: &out) }
        let pattern = [UInt8](repeating: 0x5A, count: size)
        if let k = (0..<count).first(where: { bytesOf(out[$0]) != pattern }) {
            throw CheckFailure("copy(array, into:) out of \(what) gave other values at element \(indexOf(k, shape))",
                               expected: "the array's bytes (all 0x5A)", seen: bytesOf(out[k]).map { String($0, radix: 16) }.joined(separator: " "),
                               cause: "copy all count × \(size) bytes, in order, from byte 64", look: look("copy(_:into:)"))
        }

        // attach by the shape and by the header.
        for asked in [shape, nil] as [[Int]?] {
            let call = "attach(\(E.self).self, shape: \(asked.map { "\($0)" } ?? "nil"), name:)"
            let attached = try attempt(call, look: look("attach(_:shape:name:)")) { try L.attach(E.self, shape: asked, name: name) }
            try requireEqual(attached.shape, shape, "\(call) on \(what) gave another shape",
                             cause: "the header holds rank and shape: read rank dimensions of Int64 from byte 16", look: look("attach(_:shape:name:)"))
        }
    }
}
