import Foundation
import LabKit
import Testing

/// Issue 14: a message blames a cause only on evidence, and a stuck part is called deadlocked in
/// seconds. Each case runs one mutant's part through the built lab and reads its message.
@Suite("Diagnoses come from evidence, in seconds")
struct DiagnosisTests {
    struct Case: CustomTestStringConvertible, Sendable {
        let lesson: Int
        let mutant: String
        let part: Int
        let outcome: String
        let contains: [String]
        var excludes: [String] = []
        var testDescription: String { "lesson \(lesson) › \(mutant) › part \(part)" }
    }

    static let cases: [Case] = [
        // A parent that does not wait (WNOHANG) was told about MAP_PRIVATE (part 2) and the status
        // bits (part 4): the child was still running when waitForChild returned.
        Case(lesson: 1, mutant: "wait-nohang", part: 2, outcome: "failed",
             contains: ["returned before the child was reaped", "while the child was still running", "WNOHANG",
                        "look at: waitForChild(_:)"],
             excludes: ["MAP_PRIVATE"]),
        Case(lesson: 1, mutant: "wait-nohang", part: 4, outcome: "failed",
             contains: ["returned before the child was reaped", "exited with code 7, status word 0x700", "WNOHANG"],
             excludes: ["bits 8…15"]),
        // MAP_PRIVATE is named when /proc/self/maps shows "p", and pointed at mapSharedBlock, not runInChild.
        Case(lesson: 1, mutant: "map-private", part: 2, outcome: "failed",
             contains: ["rw-p", "the block is MAP_PRIVATE", "look at: mapSharedBlock(bytes:)"]),
        Case(lesson: 1, mutant: "map-private", part: 5, outcome: "failed",
             contains: ["rw-p", "the block is MAP_PRIVATE", "look at: mapSharedBlock(bytes:)"],
             excludes: ["look at: runInChild"]),
        Case(lesson: 1, mutant: "raw-wait-status", part: 4, outcome: "failed",
             contains: ["the whole status word (0x700) came back as the exit code"]),
        // A lock left held on .overflow: lesson 03 part 6 now refuses 2^64 − 1 in one process
        // before its race and reads the lock's owner, so the student is told why, not deadlocked.
        Case(lesson: 3, mutant: "unlock-skipped-on-overflow", part: 6, outcome: "failed",
             contains: ["threw with the lock still held", "unlock in a defer"]),
        // Lesson 04 runs the try in a child it watches: a try that sleeps is failed at once, with
        // the call it sleeps in (part 3) or the time it overslept its deadline (part 4).
        Case(lesson: 4, mutant: "try-lock-waits", part: 3, outcome: "failed",
             contains: ["went to sleep in a system call (futex)", "timeout 0 must not wait"]),
        Case(lesson: 4, mutant: "try-lock-waits", part: 4, outcome: "failed",
             contains: ["still waiting 0.9 s after its deadline"]),
    ]

    @Test("the message names the cause the evidence shows", arguments: cases)
    func messageFromEvidence(_ item: Case) async throws {
        let record = try await LabBinary.checkOnOwnThread(lesson: item.lesson, part: item.part, implementation: "mutant:\(item.mutant)")
        #expect(record.outcome == item.outcome, "\(record.outcome): \(record.message)")
        for text in item.contains { #expect(record.message.contains(text), "missing \"\(text)\" in:\n\(record.message)") }
        for text in item.excludes { #expect(!record.message.contains(text), "\"\(text)\" without evidence in:\n\(record.message)") }
        if item.outcome == "deadlocked" {
            // Issue 14's checked-by: within 5 s of the part's start (the record's seconds start
            // once the part lock is held, before the part is spawned).
            #expect(record.seconds < 5, "reported after \(record.seconds) s")
        }
    }
}
