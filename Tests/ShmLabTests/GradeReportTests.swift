import Glibc
@testable import LabKit
import Testing

/// The grade's rules and its two files as pure functions of results, for the cases no lesson
/// produces on demand (nothing could run, odd characters in the output).
@Suite("Grading rules and file formats")
struct GradeReportTests {
    static let lesson = LessonInfo(number: 3, slug: "bytes", title: "Bytes <and> \"integers\"")

    func result(_ part: Int, _ outcome: PartOutcome, graded: Bool = true, output: String = "") -> PartResult {
        PartResult(lesson: Self.lesson, part: PartInfo(part, "part & \(part)", graded: graded, hints: []),
                   implementation: .exercise, outcome: outcome, output: output, leftovers: [], seconds: 0.0125)
    }

    @Test("each outcome has one status: pass, fail or error")
    func statuses() {
        let cases: [(PartOutcome, Grade.Status)] = [
            (.passed, .pass), (.failed("x"), .fail), (.notStarted(function: "f()", location: "F.swift:1"), .fail),
            (.crashed(signal: SIGSEGV, meaning: "m"), .error), (.timedOut(seconds: 1, likelyCause: "c"), .error),
            (.exitedEarly(.exited(0)), .error), (.skipped("python3 is not on PATH"), .error),
            (.failed("\(IsolatedRun.couldNotStart): posix_spawn"), .error),
        ]
        for (outcome, status) in cases { #expect(Grade.Status(outcome) == status, "\(outcome)") }
    }

    @Test("a score counts graded parts only; a skipped part counts in M and earns nothing")
    func score() {
        let grade = Grade(implementation: .exercise, lessons: [Grade.Lesson(info: Self.lesson, results: [
            result(1, .passed), result(2, .skipped("python3 is not on PATH")), result(3, .failed("no"), graded: false),
        ])])
        #expect(grade.earned == 1 && grade.possible == 2 && !grade.isFull)
        let results = ExercismResults(grade)
        #expect(results.tests.map(\.name) == ["Lesson 03 › 1. part & 1", "Lesson 03 › 2. part & 2"])
        #expect(results.status == "fail")
        #expect(results.tests[1].message == "skipped: python3 is not on PATH")
    }

    @Test("nothing could run: status error with a top-level message")
    func nothingRan() {
        let skipped = Grade(implementation: .solution, lessons: [Grade.Lesson(info: Self.lesson, results: [
            result(1, .skipped("python3 is not on PATH")), result(2, .skipped("python3 is not on PATH")),
        ])])
        let results = ExercismResults(skipped)
        #expect(results.status == "error")
        #expect(results.message == "no part could run here: python3 is not on PATH")
        #expect(results.tests.count == 2)
        let empty = ExercismResults(Grade(implementation: .exercise, lessons: []))
        #expect(empty.status == "error" && empty.message == "there is no graded part to run" && empty.tests.isEmpty)
        #expect(JUnitReport.make(Grade(implementation: .exercise, lessons: [])).contains(#"<testsuites name="ShmLab grade (exercise)" tests="0""#))
    }

    @Test("output is cut to its last 500 characters, counted as Python counts them")
    func outputCap() {
        #expect(ExercismResults.capped("") == nil)
        #expect(ExercismResults.capped("hello\n\n") == "hello")
        let combining = String(repeating: "e\u{301}", count: 400) + "END"  // 803 scalars, 403 characters
        let cut = ExercismResults.capped(combining)!
        #expect(cut.unicodeScalars.count <= 500)
        #expect(cut.hasPrefix("…(output cut to its last"))
        #expect(cut.hasSuffix("END"))
        let exact = String(repeating: "x", count: 500)
        #expect(ExercismResults.capped(exact) == exact)
    }

    @Test("JUnit text is escaped, and characters XML cannot hold are replaced")
    func xmlEscaping() {
        #expect(JUnitReport.attribute("a<b & \"c\"\nd") == "\"a&lt;b &amp; &quot;c&quot;&#10;d\"")
        #expect(JUnitReport.text("\u{1B}[31mred\u{1B}[0m\u{0}") == "\u{FFFD}[31mred\u{FFFD}[0m\u{FFFD}")
        #expect(JUnitReport.time(0.0125) == "0.013" && JUnitReport.time(61.5) == "61.500")
        let xml = JUnitReport.make(Grade(implementation: .exercise, lessons: [Grade.Lesson(info: Self.lesson, results: [
            result(1, .crashed(signal: SIGBUS, meaning: "past the end"), output: "\u{1B}[1mbold <x>"),
        ])]))
        #expect(xml.contains(#"<testsuite name="Lesson 03 · Bytes &lt;and&gt; &quot;integers&quot;""#))
        #expect(xml.contains(#"<error message="crashed: crashed with SIGBUS"#))
        #expect(xml.contains("<system-out>\u{FFFD}[1mbold &lt;x&gt;</system-out>"))
    }

    @Test("generated test names are valid Swift string literals")
    func literals() {
        #expect(PartTestsSource.literal(#"100 × "a" \ done"#) == #""100 × \"a\" \\ done""#)
        #expect(PartTestsSource.literal("two\nlines") == #""two\nlines""#)
    }
}
