import Foundation
import LabKit
import Testing

/// The lab proves itself: every part passes on the reference solution, and every mutant (a
/// realistic student mistake) is caught by each part that claims to catch it. The cases come
/// from the binary's catalog, so a lesson added later is covered without touching this file.
@Suite("The lab proves its own checks")
struct LessonProofTests {
    @Test("the reference solution passes", arguments: PartCase.all)
    func solutionPasses(_ part: PartCase) throws {
        let record = try LabBinary.check(lesson: part.lesson, part: part.part, implementation: "solution")
        if record.outcome == "skipped" && findOnPath("python3") == nil {
            try Test.cancel("skipped: \(record.message)")
        }
        #expect(record.outcome == "passed", "\(part.testDescription): \(record.outcome)\n\(record.message)\n\(record.output.suffix(1500))")
    }

    @Test("each mutant is caught by its part", arguments: MutantCase.all)
    func mutantIsCaught(_ mutant: MutantCase) throws {
        let record = try LabBinary.check(lesson: mutant.lesson, part: mutant.part, implementation: "mutant:\(mutant.mutant)")
        let caught = ["failed", "crashed", "deadlocked", "timedOut", "exitedEarly"].contains(record.outcome)
        #expect(caught, "\(mutant.testDescription) (\(mutant.mistake)) was not caught: \(record.outcome) \(record.message)")
        #expect(!record.message.isEmpty, "a caught mutant must come with an explanation")
    }

    @Test("every lesson has mutants, and every graded part catches at least one")
    func everyGradedPartCatchesAMutant() {
        for lesson in LabBinary.catalog.lessons where !lesson.hidden {
            #expect(!lesson.mutants.isEmpty, "lesson \(lesson.number) has no mutants")
            let catching = Set(lesson.mutants.flatMap(\.caughtBy))
            for part in lesson.parts where part.graded {
                #expect(catching.contains(part.number),
                        "lesson \(lesson.number) part \(part.number) (\(part.title)) catches no mutant: a check that cannot fail")
            }
        }
    }

    @Test("the committed part tests list every part of every lesson (lab __part-tests)")
    func partTestsAreCurrent() throws {
        let written = LabBinary.scratchRoot + "/ExerciseParts.swift"
        let run = try LabBinary.run(["__part-tests", written])
        #expect(run.status == 0, "\(run.stderr)")
        let committed = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("ExerciseParts.swift")
        #expect(try String(contentsOfFile: written, encoding: .utf8) == String(contentsOf: committed, encoding: .utf8),
                "Tests/ShmLabTests/ExerciseParts.swift is out of date: run 'swift run lab __part-tests Tests/ShmLabTests/ExerciseParts.swift' and commit it")
    }

    @Test("every part has hints and a check for exercise and solution")
    func everyPartIsComplete() {
        for lesson in LabBinary.catalog.lessons where !lesson.hidden {
            let numbers = lesson.parts.map(\.number)
            #expect(lesson.exerciseParts == numbers, "lesson \(lesson.number): exercise checks \(lesson.exerciseParts) ≠ parts \(numbers)")
            #expect(lesson.solutionParts == numbers, "lesson \(lesson.number): solution checks \(lesson.solutionParts) ≠ parts \(numbers)")
        }
    }
}
