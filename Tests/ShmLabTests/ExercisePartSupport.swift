import Foundation
import LabKit
import Synchronization
import Testing

/// What each generated test in `ExerciseParts` (one per part, written by `lab __part-tests`) does: run the part against the student's Exercises through the built `lab`, skip it
/// when it is not started, and otherwise require it to pass.
///
/// Why a condition trait: Swift Testing 6.3 shows a test as *skipped* — in the console
/// (`➜ Test "…" skipped: "…"`) and as `<skipped>` in `--xunit-output` — only when it is cancelled
/// while its traits are evaluated. `Test.cancel` in a test body shows as "cancelled" in the console
/// and as a plain pass in the xUnit file; inside a parameterized test case it does not show at all.
/// So the trait runs the part and calls `Test.cancel` with the function still to write; the test
/// body then reads the same result.
enum ExercisePart {
    /// Results already run, by "lesson.part": the trait runs the part once, the test body reuses it.
    private static let results = Mutex<[String: PartResultRecord]>([:])

    /// Lines of the part's output shown under a failure.
    static let tailLines = 20

    /// The part's result on the student's Exercises, run at most once per test process.
    static func result(lesson: Int, part: Int) throws -> PartResultRecord {
        let key = "\(lesson).\(part)"
        if let known = results.withLock({ $0[key] }) { return known }
        let record = try LabBinary.check(lesson: lesson, part: part, implementation: "exercise")
        results.withLock { $0[key] = record }
        return record
    }

    /// The same, for the trait: the lab runs on a thread of its own (`LabBinary.checkOnOwnThread`).
    static func resultOnOwnThread(lesson: Int, part: Int) async throws -> PartResultRecord {
        let key = "\(lesson).\(part)"
        if let known = results.withLock({ $0[key] }) { return known }
        let record = try await LabBinary.checkOnOwnThread(lesson: lesson, part: part, implementation: "exercise")
        results.withLock { $0[key] = record }
        return record
    }

    /// The trait's condition: cancels (skips) the test when the part is not started, could not run
    /// here (python3 missing), or is a demonstration that did not pass; true otherwise.
    static func skipUnlessStarted(lesson: Int, part: Int) async throws -> Bool {
        let record = try await resultOnOwnThread(lesson: lesson, part: part)
        if let reason = skipReason(record) { try Test.cancel(Comment(rawValue: reason)) }
        return true
    }

    /// Why a part does not count here, if it does not.
    static func skipReason(_ record: PartResultRecord) -> String? {
        switch record.outcome {
        case "notStarted":
            return "not started: write \(record.message.replacingOccurrences(of: " is still todo()", with: ""))"
        case "skipped":
            return "could not run here: \(record.message)"
        case "passed":
            return nil
        default:
            return record.graded ? nil : "demonstration (not graded) \(label(record.outcome)): \(record.message)"
        }
    }

    /// The test body: a started part must pass; a failure shows the lab's message and output tail.
    static func expectPasses(lesson: Int, part: Int, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let record = try result(lesson: lesson, part: part)
        if let reason = skipReason(record) { try Test.cancel(Comment(rawValue: reason)) }
        guard record.outcome != "passed" else { return }
        Issue.record(Comment(rawValue: failureText(record)), sourceLocation: sourceLocation)
    }

    /// The words the lab uses for an outcome key ("timedOut" → "timed out").
    static func label(_ outcome: String) -> String {
        PartOutcome.Kind(rawValue: outcome)?.label ?? outcome
    }

    /// "failed: …" (the lab's own words), the output tail, and the command that shows it again.
    static func failureText(_ record: PartResultRecord) -> String {
        var lines = ["\(label(record.outcome)): \(record.message)"]
        if !record.leftovers.isEmpty, !record.message.contains("left things behind") {
            lines.append("left behind (removed by the lab): " + record.leftovers.joined(separator: ", "))
        }
        var output = record.output
        while output.hasSuffix("\n") { output.removeLast() }
        if !output.isEmpty {
            let all = output.split(separator: "\n", omittingEmptySubsequences: false)
            let shown = all.suffix(tailLines)
            lines.append(shown.count < all.count ? "output (last \(shown.count) of \(all.count) lines):" : "output:")
            lines += shown.map { "│ " + $0 }
        }
        lines.append("See it yourself: swift run lab check \(record.lesson) --part \(record.part)")
        return lines.joined(separator: "\n")
    }
}

extension Trait where Self == ConditionTrait {
    /// Runs the part on the student's Exercises and skips the test unless the part was started.
    static func partStarted(lesson: Int, part: Int) -> Self {
        .enabled { try await ExercisePart.skipUnlessStarted(lesson: lesson, part: part) }
    }
}
