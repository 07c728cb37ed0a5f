import Foundation
import Glibc

/// What the lessons' "bench" peers share (`lab __peer N bench IMPLEMENTATION [--rounds R] [--quick]`):
/// options, medians, Python measured in the same run, a table for people and a JSON line for tools.
public enum Bench {
    /// One measured figure.
    public struct Figure {
        public let key: String
        public let label: String
        public let value: Double
        public let unit: String

        public init(_ key: String, _ label: String, _ value: Double, _ unit: String) {
            self.key = key
            self.label = label
            self.value = value
            self.unit = unit
        }
    }

    /// `--rounds R` (default `fallback`); `--quick` divides the work by 10.
    public static func options(_ arguments: [String], rounds fallback: Int = 5) -> (rounds: Int, quick: Bool) {
        var rounds = fallback
        if let index = arguments.firstIndex(of: "--rounds"), index + 1 < arguments.count, let n = Int(arguments[index + 1]), n > 0 {
            rounds = n
        }
        return (rounds, arguments.contains("--quick"))
    }

    public static func median(_ values: [Double]) -> Double {
        guard !values.isEmpty else { return .nan }
        let sorted = values.sorted()
        return sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
    }

    /// Runs `python3 -c script arguments…` and parses the last line of its output as a JSON object
    /// of numbers. Nil (with the reason printed) when python3 is absent or fails.
    public static func python(_ script: String, _ arguments: [String], timeout: Double = 300) -> [String: Double]? {
        guard let python = findOnPath("python3") else {
            Console.out("python3 is not on PATH: Python's figures are left out\n")
            return nil
        }
        fflush(nil)
        guard let process = try? ChildProcess.spawn(python, ["-c", script] + arguments, output: .captureStdout) else { return nil }
        let (output, end) = process.collectOutput(timeout: timeout)
        let text = String(decoding: output, as: UTF8.self)
        guard end == .exited(0), let line = text.split(separator: "\n").last,
              let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
            Console.out("python3 failed (\(end.map { "\($0)" } ?? "timed out")): \(text.suffix(500))\n")
            return nil
        }
        return object.compactMapValues { ($0 as? NSNumber)?.doubleValue }
    }

    /// Prints a table of figures and ratios, then one JSON line:
    /// `{"bench":"pipes","lesson":6,"implementation":"solution","figures":{…},"ratios":{…}}`.
    public static func report(name: String, lesson: Int, implementation: String, method: String,
                              figures: [Figure], ratios: [Figure]) {
        var lines = ["\(name) — \(method)"]
        let width = (figures + ratios).map(\.label.count).max() ?? 20
        for figure in figures + ratios {
            let pad = String(repeating: " ", count: max(0, width - figure.label.count))
            lines.append("  \(figure.label)\(pad)  \(format(figure.value)) \(figure.unit)")
        }
        Console.out(lines.joined(separator: "\n") + "\n")
        var json: [String: Any] = ["bench": name, "lesson": lesson, "implementation": implementation, "method": method]
        json["figures"] = Dictionary(uniqueKeysWithValues: figures.filter { $0.value.isFinite }.map { ($0.key, rounded($0.value)) })
        json["ratios"] = Dictionary(uniqueKeysWithValues: ratios.filter { $0.value.isFinite }.map { ($0.key, rounded($0.value)) })
        if let data = try? JSONSerialization.data(withJSONObject: json, options: [.sortedKeys]) {
            Console.out(String(decoding: data, as: UTF8.self) + "\n")
        }
    }

    static func rounded(_ value: Double) -> Double { (value * 1000).rounded() / 1000 }

    static func format(_ value: Double) -> String {
        guard value.isFinite else { return "—" }
        if value >= 100 { return String(Int(value.rounded())) }
        return String((value * 100).rounded() / 100)
    }

    /// Seconds `body` takes, on the monotonic clock.
    public static func seconds(_ body: () throws -> Void) rethrows -> Double {
        let start = monotonicSeconds()
        try body()
        return monotonicSeconds() - start
    }
}
