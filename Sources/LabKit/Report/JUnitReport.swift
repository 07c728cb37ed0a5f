/// A grade as JUnit XML (`lab grade --junit FILE`), the format CI systems show as a test report.
///
/// One `<testsuite>` per lesson and one `<testcase>` per graded part, named like everywhere else
/// ("Lesson 02 › 3. attach reports the real size"). A part not started, or one that could not run
/// here, is `<skipped>`; a check that did not hold is `<failure>`; a crash, a deadlock, a timeout or an
/// early exit is `<error>`. The message attribute holds the first line, the element the whole message
/// and the output tail; the output (its last 8000 characters) also goes to `<system-out>`.
public enum JUnitReport {
    /// The whole document.
    public static func make(_ grade: Grade) -> String {
        let lessons = grade.lessons.filter { !$0.graded.isEmpty }
        let all = lessons.flatMap(\.graded)
        var xml = #"<?xml version="1.0" encoding="UTF-8"?>"# + "\n"
        xml += "<testsuites name=\(attribute("ShmLab grade (\(grade.implementation))"))"
            + counts(all) + ">\n"
        for lesson in lessons {
            xml += "  <testsuite name=\(attribute("Lesson \(lesson.info.twoDigits) · \(lesson.info.title)"))"
                + " package=\(attribute("ShmLab"))" + counts(lesson.graded) + ">\n"
            for result in lesson.graded { xml += testcase(result) }
            xml += "  </testsuite>\n"
        }
        xml += "</testsuites>\n"
        return xml
    }

    static func counts(_ results: [PartResult]) -> String {
        let kinds = results.map { kind($0.outcome) }
        let seconds = results.reduce(0) { $0 + $1.seconds }
        return " tests=\"\(results.count)\" failures=\"\(kinds.filter { $0 == "failure" }.count)\""
            + " errors=\"\(kinds.filter { $0 == "error" }.count)\" skipped=\"\(kinds.filter { $0 == "skipped" }.count)\""
            + " time=\"\(time(seconds))\""
    }

    /// The child element a part's outcome becomes: nil (passed), failure, error or skipped.
    static func kind(_ outcome: PartOutcome) -> String? {
        switch outcome {
        case .passed: return nil
        case .notStarted, .skipped: return "skipped"
        case .failed(let message) where message.hasPrefix(IsolatedRun.couldNotStart): return "error"
        case .failed: return "failure"
        case .crashed, .deadlocked, .timedOut, .exitedEarly: return "error"
        }
    }

    static func testcase(_ result: PartResult) -> String {
        let open = "    <testcase classname=\(attribute("ShmLab.Lesson\(result.lesson.twoDigits)"))"
            + " name=\(attribute(Grade.testName(result))) time=\"\(time(result.seconds))\""
        let message = ExercismResults.message(result)
        var inner = ""
        if let kind = kind(result.outcome) {
            let firstLine = message.split(separator: "\n", omittingEmptySubsequences: false).first.map(String.init) ?? ""
            if kind == "skipped" {
                inner += "      <skipped message=\(attribute(firstLine))/>\n"
            } else {
                var body = message
                let output = result.output.trimmingTrailingNewlines()
                if !output.isEmpty {
                    let lines = output.split(separator: "\n", omittingEmptySubsequences: false)
                    let shown = lines.suffix(TerminalReport.tailLines)
                    body += "\n\n" + (shown.count < lines.count ? "output (last \(shown.count) of \(lines.count) lines):" : "output:")
                    body += "\n" + shown.joined(separator: "\n")
                }
                body += "\n\nSee it yourself: \(Grade.command(result))"
                inner += "      <\(kind) message=\(attribute(firstLine)) type=\(attribute(result.outcome.kind.rawValue))>"
                    + text(body) + "</\(kind)>\n"
            }
        }
        let output = result.output.trimmingTrailingNewlines()
        if !output.isEmpty {
            inner += "      <system-out>" + text(tail(output)) + "</system-out>\n"
        }
        return inner.isEmpty ? open + "/>\n" : open + ">\n" + inner + "    </testcase>\n"
    }

    /// Characters of a part's output kept in `<system-out>`.
    static let systemOutLimit = 8000

    /// The last `systemOutLimit` characters of `output`, with a note when more came before.
    static func tail(_ output: String) -> String {
        guard output.count > systemOutLimit else { return output }
        return "…(\(output.count - systemOutLimit) earlier characters not kept)\n" + String(output.suffix(systemOutLimit))
    }

    /// Seconds with three decimals, as JUnit readers expect ("0.017").
    static func time(_ seconds: Double) -> String {
        let millis = Int((max(seconds, 0) * 1000).rounded())
        return "\(millis / 1000)." + String(millis % 1000).leftPadded(to: 3)
    }

    /// `value` as a quoted attribute value.
    static func attribute(_ value: String) -> String {
        "\"" + escape(value, quotes: true, newlines: true) + "\""
    }

    /// `value` as element text.
    static func text(_ value: String) -> String { escape(value, quotes: false, newlines: false) }

    /// Escapes markup, and replaces what XML 1.0 does not allow at all (most control characters,
    /// e.g. the ESC of a colour code a part printed) with U+FFFD.
    static func escape(_ value: String, quotes: Bool, newlines: Bool) -> String {
        var out = ""
        out.reserveCapacity(value.utf8.count)
        for scalar in value.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"" where quotes: out += "&quot;"
            case "\n" where newlines: out += "&#10;"
            case "\r": out += "&#13;"
            case "\t" where newlines: out += "&#9;"
            case "\t", "\n": out.unicodeScalars.append(scalar)
            default:
                let v = scalar.value
                let allowed = (0x20...0xD7FF).contains(v) || (0xE000...0xFFFD).contains(v) || (0x10000...0x10FFFF).contains(v)
                out.unicodeScalars.append(allowed ? scalar : "\u{FFFD}")
            }
        }
        return out
    }
}
