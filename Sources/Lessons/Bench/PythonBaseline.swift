import Foundation
import Glibc

/// Runs a Python snippet that prints one JSON object and returns it, for benchmarks that put the
/// lab's figures beside CPython's multiprocessing in the same run. Nil (with a note on standard
/// error) when python3 is missing or the snippet fails.
enum PythonBaseline {
    static func run(_ script: String, _ arguments: [String] = [], timeout: Double = 180) -> [String: Double]? {
        guard let python = findOnPath("python3") else {
            Console.err("python3 is not on PATH: no Python figures in this run\n")
            return nil
        }
        fflush(nil)
        guard let process = try? ChildProcess.spawn(python, ["-c", script] + arguments, output: .captureStdout) else { return nil }
        let (output, end) = process.collectOutput(timeout: timeout)
        let text = String(decoding: output, as: UTF8.self)
        guard end == .exited(0), let line = text.split(separator: "\n").last,
              let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
            Console.err("the Python baseline failed (\(end.map { "\($0)" } ?? "timed out")): \(text.suffix(500))\n")
            return nil
        }
        return object.compactMapValues { ($0 as? NSNumber)?.doubleValue }
    }
}

/// Formats benchmark figures.
enum BenchFormat {
    /// "1,234,567".
    static func grouped(_ value: Double) -> String {
        let digits = String(Int(value.rounded()))
        var out = ""
        for (i, c) in digits.reversed().enumerated() {
            if i > 0 && i % 3 == 0 { out.append(",") }
            out.append(c)
        }
        return String(out.reversed())
    }

    /// "12.3" with one decimal.
    static func oneDecimal(_ value: Double) -> String {
        let tenths = Int((value * 10).rounded())
        return "\(tenths / 10).\(abs(tenths % 10))"
    }

    static func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text : text + String(repeating: " ", count: width - text.count)
    }

    /// One JSON line with sorted keys.
    static func json(_ object: [String: Any]) -> String {
        guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]) else { return "{}" }
        return String(decoding: data, as: UTF8.self)
    }
}
