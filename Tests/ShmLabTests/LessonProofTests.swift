import Foundation
import LabKit
import Lessons
import Testing

/// The lab proves itself: every part passes on the reference solution, and every mutant (a
/// realistic student mistake) is caught by each part that claims to catch it. The cases come
/// from the binary's catalog, so a lesson added later is covered without touching this file.
@Suite("The lab proves its own checks")
struct LessonProofTests {
    @Test("the reference solution passes", arguments: PartCase.all)
    func solutionPasses(_ part: PartCase) async throws {
        let record = try await LabBinary.checkOnOwnThread(lesson: part.lesson, part: part.part, implementation: "solution")
        if record.outcome == "skipped" && findOnPath("python3") == nil {
            try Test.cancel("skipped: \(record.message)")
        }
        #expect(record.outcome == "passed", "\(part.testDescription): \(record.outcome)\n\(record.message)\n\(record.output.suffix(1500))")
    }

    @Test("each mutant is caught by its part, with the outcome a student should see", arguments: MutantCase.all)
    func mutantIsCaught(_ mutant: MutantCase) async throws {
        let record = try await LabBinary.checkOnOwnThread(lesson: mutant.lesson, part: mutant.part, implementation: "mutant:\(mutant.mutant)")
        #expect(record.outcome == mutant.outcome.rawValue,
                "\(mutant.testDescription) (\(mutant.mistake)): expected \(mutant.outcome.label), seen \(record.outcome): \(record.message)")
        #expect(!record.message.isEmpty, "a caught mutant must come with an explanation")
    }

    /// Three realistic mistakes per graded part at least: one mutant per part proves only that
    /// the part can fail for the mistake its author had in mind.
    @Test("every graded part catches at least three mutants")
    func everyGradedPartCatchesThreeMutants() {
        for lesson in LabBinary.catalog.lessons where !lesson.hidden {
            for part in lesson.parts where part.graded {
                let catching = lesson.mutants.filter { $0.caughtBy.contains(part.number) }.map(\.name)
                #expect(catching.count >= 3,
                        "lesson \(lesson.number) part \(part.number) (\(part.title)) catches \(catching.count) mutant(s) \(catching): write mutants from the clause table")
            }
        }
    }

    /// The clause table (`LessonNNClauses.swift`): every promise names the parts that check it and
    /// the mutants that prove those parts fail when it is broken — or says why no part can.
    @Test("every clause of every lesson has a part and a mutant that proves it")
    func clauseTablesAreComplete() {
        for lesson in LabBinary.catalog.lessons where !lesson.hidden {
            #expect(!lesson.clauses.isEmpty, "lesson \(lesson.number) has no clause table")
            let partNumbers = Set(lesson.parts.map(\.number))
            let mutantsByName = Dictionary(lesson.mutants.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
            for clause in lesson.clauses {
                let label = "lesson \(lesson.number), clause \"\(clause.promise)\" (\(clause.source))"
                if let reason = clause.notCheckable {
                    #expect(!reason.isEmpty && clause.parts.isEmpty && clause.mutants.isEmpty,
                            "\(label): a clause the lab cannot check names no part and says why")
                    continue
                }
                #expect(!clause.parts.isEmpty, "\(label) names no part")
                #expect(!clause.mutants.isEmpty, "\(label) names no mutant")
                for part in clause.parts {
                    #expect(partNumbers.contains(part), "\(label) names part \(part), which the lesson does not have")
                }
                for name in clause.mutants {
                    guard let mutant = mutantsByName[name] else {
                        Issue.record("\(label) names mutant \(name), which the lesson does not have")
                        continue
                    }
                    #expect(!Set(mutant.caughtBy).isDisjoint(with: clause.parts),
                            "\(label): mutant \(name) is caught by parts \(mutant.caughtBy), none of the clause's parts \(clause.parts)")
                }
            }
            let checked = Set(lesson.clauses.flatMap(\.parts))
            for part in lesson.parts where part.graded {
                #expect(checked.contains(part.number),
                        "lesson \(lesson.number) part \(part.number) (\(part.title)) checks no clause of the table")
            }
            let named = Set(lesson.clauses.flatMap(\.mutants))
            for mutant in lesson.mutants {
                #expect(named.contains(mutant.name),
                        "lesson \(lesson.number): mutant \(mutant.name) proves no clause of the table")
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

    /// A student stuck on a graded part gets a gentle hint first and a stronger one after it.
    @Test("every graded part has a title and at least two different staged hints")
    func everyGradedPartHasHints() {
        for lesson in LessonCatalog.all where !lesson.info.hidden {
            for part in lesson.parts where part.graded {
                let label = "lesson \(lesson.info.number) part \(part.number)"
                #expect(!part.title.trimmingCharacters(in: .whitespaces).isEmpty, "\(label) has no title")
                let hints = part.hints.map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }.filter { !$0.isEmpty }
                #expect(hints.count >= 2, "\(label) (\(part.title)) has \(hints.count) hint(s): a part needs a gentle one and a stronger one")
                #expect(Set(hints).count == hints.count, "\(label) (\(part.title)) repeats a hint")
            }
        }
    }

    /// The runner (which links no checks) and each lesson's part host (which binds them) are two
    /// programs built from one declaration: asked directly, the host must list the runner's parts,
    /// and bind a check to each of them for the exercise and for the solution.
    @Test("the runner's catalog and each part host's __catalog list the same parts, each with a check")
    func runnerAndHostsAgree() throws {
        let folder = URL(fileURLWithPath: LabBinary.path).deletingLastPathComponent().path
        for lesson in LessonCatalog.all {
            let run = try LabBinary.run(["__catalog"], executable: "\(folder)/\(lesson.hostName)")
            #expect(run.status == 0, "\(lesson.hostName) __catalog: \(run.stderr)")
            let record = try JSONDecoder().decode(CatalogRecord.self, from: Data(run.stdout.utf8))
            let hosted = try #require(record.lessons.first, "\(lesson.hostName) lists no lesson")
            #expect(record.lessons.count == 1 && hosted.number == lesson.info.number)
            let runner = lesson.parts.map { "\($0.number). \($0.title)\($0.graded ? "" : " (not graded)")" }
            let host = hosted.parts.map { "\($0.number). \($0.title)\($0.graded ? "" : " (not graded)")" }
            #expect(host == runner, "lesson \(lesson.info.number): the host's parts differ from the runner's")
            let numbers = lesson.parts.map(\.number)
            #expect(hosted.exerciseParts == numbers, "lesson \(lesson.info.number): exercise checks \(hosted.exerciseParts) ≠ parts \(numbers)")
            #expect(hosted.solutionParts == numbers, "lesson \(lesson.info.number): solution checks \(hosted.solutionParts) ≠ parts \(numbers)")
        }
    }
}
