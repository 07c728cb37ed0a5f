import Foundation

/// One figure of `lab bench`: what was measured, in which unit, how it came out over several
/// repetitions (median, lowest, highest), and which figures it is compared with.
///
/// A lesson's "bench" peer declares its figures first (status `pending`) and records each one as
/// it is measured, as one line `BENCH-FIGURE {json}` on standard output, so that `lab bench`
/// still knows every row when the peer dies half-way (a student's `todo()`, a crash).
public struct BenchFigure: Codable, Sendable, Equatable {
    /// Whose code the figure measures.
    public enum Role: String, Codable, Sendable {
        /// The student's code (or the reference with `--solutions`).
        case implementation
        /// The lab's own raw version of the same thing (memcpy, a raw pipe…).
        case baseline
        /// CPython's standard-library equivalent, measured in the same run.
        case python
    }

    /// How the figure came out.
    public enum Status: String, Codable, Sendable {
        case measured, pending, notStarted = "not started", failed, crashed, timedOut = "timed out", skipped
    }

    /// Unique in a run: "pipe-rt.connection".
    public var key: String
    /// The measurement it belongs to ("pipe-rt"): one block of the table and one chart.
    public var measurement: String
    /// "Connection, two pipes".
    public var label: String
    /// "µs", "ns", "GiB/s", "msg/s".
    public var unit: String
    public var higherIsBetter: Bool
    public var role: Role
    /// The key of the figure this one is divided by in the "÷ baseline" column.
    public var baseline: String?
    /// The key of CPython's equivalent, for the "÷ Python" column.
    public var python: String?
    public var median: Double?
    public var low: Double?
    public var high: Double?
    /// Every repetition, in the order measured (after the warm-up, which is not kept).
    public var samples: [Double]
    public var status: Status
    /// Why it is not measured, or how it was measured when that is worth saying.
    public var note: String?
    /// Filled in by `lab bench` for its JSON file: median ÷ the baseline's median, and ÷ Python's.
    public var ratioToBaseline: Double?
    public var ratioToPython: Double?

    public init(key: String, measurement: String, label: String, unit: String, higherIsBetter: Bool,
                role: Role, baseline: String? = nil, python: String? = nil) {
        self.key = key
        self.measurement = measurement
        self.label = label
        self.unit = unit
        self.higherIsBetter = higherIsBetter
        self.role = role
        self.baseline = baseline
        self.python = python
        self.samples = []
        self.status = .pending
    }

    /// The figure with `samples` recorded: median, lowest and highest.
    public func measured(_ samples: [Double]) -> BenchFigure {
        var figure = self
        let finite = samples.filter(\.isFinite)
        guard !finite.isEmpty else { return figure.ended(.failed, note: "no repetition produced a number") }
        figure.samples = finite
        figure.median = BenchFigure.median(finite)
        figure.low = finite.min()
        figure.high = finite.max()
        figure.status = .measured
        return figure
    }

    /// The figure left unmeasured, and why.
    public func ended(_ status: Status, note: String?) -> BenchFigure {
        var figure = self
        figure.status = status
        figure.note = note
        return figure
    }

    /// (highest − lowest) ÷ median: how far apart the repetitions were.
    public var spread: Double? {
        guard let median, let low, let high, median > 0, samples.count > 1 else { return nil }
        return (high - low) / median
    }

    public static func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        guard !sorted.isEmpty else { return .nan }
        let middle = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
    }

    // MARK: - The line a peer prints

    /// What starts a figure's line in a peer's output.
    public static let linePrefix = "BENCH-FIGURE "

    /// `BENCH-FIGURE {json}` and a newline: one write, so lines from several processes never mix.
    public var line: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let json = (try? encoder.encode(self)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
        return BenchFigure.linePrefix + json + "\n"
    }

    /// The figures in a peer's output, in the order first seen; a later line for the same key
    /// replaces the earlier one (a declared figure, then the same figure measured).
    public static func parse(_ output: String) -> [BenchFigure] {
        var order: [String] = []
        var byKey: [String: BenchFigure] = [:]
        let decoder = JSONDecoder()
        for line in output.split(separator: "\n") {
            guard let start = line.range(of: linePrefix),
                  let figure = try? decoder.decode(BenchFigure.self, from: Data(line[start.upperBound...].utf8)) else { continue }
            if byKey[figure.key] == nil { order.append(figure.key) }
            byKey[figure.key] = figure
        }
        return order.compactMap { byKey[$0] }
    }
}

/// Repeats a measurement: `warmUp` runs thrown away, then `repetitions` runs kept.
/// The corresponding C function for the clock is `clock_gettime(CLOCK_MONOTONIC)`.
public enum BenchRepeat {
    /// The values `body` returns, after `warmUp` discarded runs.
    public static func values(warmUp: Int = 1, _ repetitions: Int, _ body: () throws -> Double) rethrows -> [Double] {
        for _ in 0..<warmUp { _ = try body() }
        return try (0..<repetitions).map { _ in try body() }
    }

    /// Several bodies measured in turns, round by round, so that a busy moment of the machine
    /// hits all of them alike: `result[i]` holds body i's values.
    public static func inTurns(warmUp: Int = 1, _ repetitions: Int, _ bodies: [() throws -> Double]) throws -> [[Double]] {
        for _ in 0..<warmUp { for body in bodies { _ = try body() } }
        var results = Array(repeating: [Double](), count: bodies.count)
        for _ in 0..<repetitions {
            for (i, body) in bodies.enumerated() { results[i].append(try body()) }
        }
        return results
    }

    /// Seconds `body` takes, on the monotonic clock.
    public static func seconds(_ body: () throws -> Void) rethrows -> Double {
        let start = monotonicSeconds()
        try body()
        return monotonicSeconds() - start
    }
}
