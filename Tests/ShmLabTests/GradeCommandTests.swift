import Foundation
import LabKit
import Testing

/// `lab grade` through the built binary: exact exit statuses, the score line, and the two files a
/// CI reads (results.json parsed as JSON, the JUnit file parsed by python3's XML parser, an
/// independent reader). Lessons come from the catalog, so later lessons are covered as they land.
@Suite("Grading: lab grade, results.json and JUnit")
struct GradeCommandTests {
    /// The lessons a grade covers by default, and their graded parts.
    var visible: [CatalogRecord.Lesson] { LabBinary.catalog.lessons.filter { !$0.hidden } }
    var gradedCount: Int { visible.reduce(0) { $0 + $1.parts.filter(\.graded).count } }

    /// Progress of these runs goes here (a name the runner's /tmp leftover sweep does not match).
    static let progress = ["SHMLAB_PROGRESS_DIR": LabBinary.scratchRoot + "/grade-progress"]

    @Test("the reference solutions: Score M/M, exit 0, results.json v3 with one task_id per lesson, JUnit parses")
    func solutionsGetAFullScore() throws {
        try withTemporaryDirectory { dir in
            let run = try LabBinary.run(["grade", "--solutions", "--json", "\(dir)/r.json", "--junit", "\(dir)/r.xml"],
                                        environment: Self.progress)
            let results = try readResults("\(dir)/r.json")
            let pythonMissing = findOnPath("python3") == nil
            if pythonMissing && run.status != 0 {
                // Without python3 the interop parts are skipped and score nothing; everything else passes.
                #expect(results.tests.allSatisfy { $0.status == "pass" || $0.message?.hasPrefix("skipped:") == true })
            } else {
                #expect(run.status == 0, "\(run.stdout)\n\(run.stderr)")
                #expect(run.stdout.hasSuffix("Score: \(gradedCount)/\(gradedCount)\n"), "\(run.stdout)")
                #expect(results.status == "pass")
                #expect(results.tests.allSatisfy { $0.status == "pass" && $0.message == nil },
                        "\(results.tests.filter { $0.status != "pass" })")
            }
            #expect(run.stderrWithoutWaits.isEmpty, "\(run.stderr)")
            for lesson in visible { #expect(run.stdout.contains("  \(twoDigits(lesson.number))  \(lesson.title)")) }
            try expectShape(results, lessons: visible)

            let junit = try parseJUnit("\(dir)/r.xml")
            #expect(junit.tests == gradedCount)
            #expect(junit.cases.map(\.name) == results.tests.map(\.name))
            #expect(junit.suites == visible.filter { $0.parts.contains(where: \.graded) }.count)
            if !pythonMissing { #expect(junit.cases.allSatisfy { $0.element == nil }, "\(junit.cases)") }
        }
    }

    @Test("each kind of ending has its status: the engine fixtures (hidden lesson 00) exit 1")
    func everyOutcomeMapsToItsStatus() throws {
        try withTemporaryDirectory { dir in
            let run = try LabBinary.run(["grade", "--lesson", "0", "--json", "\(dir)/r.json", "--junit", "\(dir)/r.xml"],
                                        environment: Self.progress)
            #expect(run.status == 1)
            #expect(run.stdout.hasSuffix("Score: 2/31\n"), "\(run.stdout)")
            // Crashes, timeouts and early exits are shown under the table with the lab's message.
            #expect(run.stdout.contains("crashed with SIGSEGV"))
            #expect(run.stdout.contains("timed out after 1 s"))
            #expect(run.stdout.contains("deadlocked: every process of the part slept for 1.5 s"))

            let results = try readResults("\(dir)/r.json")
            #expect(results.version == 3)
            #expect(results.status == "fail")
            #expect(results.message == nil)
            let expected: [Int: (json: String, junit: String?)] = [
                1: ("pass", nil), 2: ("fail", "failure"), 3: ("error", "error"), 4: ("error", "error"),
                5: ("error", "error"), 6: ("error", "error"), 7: ("error", "error"), 8: ("error", "error"),
                9: ("pass", nil), 10: ("fail", "failure"), 11: ("fail", "failure"), 12: ("fail", "failure"),
                13: ("fail", "failure"), 14: ("fail", "skipped"), 15: ("error", "error"), 16: ("error", "skipped"),
                17: ("error", "error"), 18: ("error", "error"),
                19: ("fail", "skipped"), 20: ("error", "error"), 21: ("error", "error"), 22: ("error", "error"),
                23: ("error", "error"),
                // A trap in a forked child fails the check that waited for it; a trap in a thread crashes the part.
                24: ("fail", "failure"), 25: ("error", "error"),
                // Forged passes end early; a flood fails; parts that cannot leave their session time out;
                // the runner-killing fixture skips unless its own test asks for it.
                30: ("error", "error"), 31: ("error", "error"), 32: ("fail", "failure"), 33: ("error", "error"),
                34: ("error", "error"), 35: ("error", "skipped"),
            ]
            #expect(results.tests.count == expected.count)
            let junit = try parseJUnit("\(dir)/r.xml")
            for (index, test) in results.tests.enumerated() {
                // "Lesson 00 › 31. …": the fixtures' numbers have a gap (25 → 30).
                let part = Int(test.name.dropFirst("Lesson 00 › ".count).prefix { $0.isNumber }) ?? -1
                #expect(expected[part] != nil, "\(test.name)")
                #expect(test.status == expected[part]?.json, "part \(part): \(test.status)")
                #expect(test.taskID == 0)
                #expect((test.status == "pass") == (test.message == nil), "part \(part)")
                #expect((test.output ?? "").unicodeScalars.count <= 500, "part \(part): output of \((test.output ?? "").count)")
                #expect(junit.cases[index].name == test.name)
                #expect(junit.cases[index].element == expected[part]?.junit, "part \(part): \(junit.cases[index])")
            }
            #expect(results.tests[13].message?.contains("not started: fixtureNotWrittenYet()") == true)
            #expect(results.tests[8].output?.contains("output cut to its last") == true, "the 100 MB part's output is capped")
            #expect(junit.failures == 7 && junit.errors == 18 && junit.skipped == 4, "\(junit)")
        }
    }

    @Test("grading the exercises agrees with lab check, part by part, and exits 0 only on a full score")
    func exercisesAgreeWithCheck() throws {
        try withTemporaryDirectory { dir in
            let grade = try LabBinary.run(["grade", "--json", "\(dir)/r.json"], environment: Self.progress)
            let results = try readResults("\(dir)/r.json")
            try expectShape(results, lessons: visible)
            let check = try LabBinary.run(["check", "all", "--json"], environment: Self.progress)
            let records = try JSONDecoder().decode(CheckReportRecord.self, from: Data(check.stdout.utf8)).results.filter(\.graded)
            #expect(records.count == results.tests.count)
            for (record, test) in zip(records, results.tests) {
                #expect(test.name == "Lesson \(twoDigits(record.lesson)) › \(record.part). \(record.title)")
                #expect((test.status == "pass") == (record.outcome == "passed"), "\(test.name): \(test.status) vs \(record.outcome)")
                if record.outcome == "notStarted" {
                    #expect(test.status == "fail")
                    #expect(test.message?.hasPrefix("not started: \(record.function ?? "")") == true, "\(test.message ?? "")")
                }
            }
            let passed = results.tests.filter { $0.status == "pass" }.count
            #expect(grade.stdout.hasSuffix("Score: \(passed)/\(gradedCount)\n"), "\(grade.stdout)")
            #expect(grade.status == (passed == gradedCount ? 0 : 1))
        }
    }

    @Test("--lesson 99 is a usage error (64) and runs nothing")
    func unknownLesson() throws {
        let run = try LabBinary.run(["grade", "--lesson", "99"], environment: Self.progress)
        #expect(run.status == 64)
        #expect(run.stdout.isEmpty)
        #expect(run.stderr.hasPrefix("Error: unknown lesson '99'"), "\(run.stderr)")
        #expect(run.stderr.contains("Usage: lab grade"))
        for arguments in [["grade", "--json"], ["grade", "--junit"], ["grade", "--lesson"], ["grade", "1"], ["grade", "--bogus"]] {
            let bad = try LabBinary.run(arguments, environment: Self.progress)
            #expect(bad.status == 64, "lab \(arguments.joined(separator: " ")) → \(bad.status)")
            #expect(bad.stderr.hasPrefix("Error: "))
        }
    }

    @Test("an unwritable --json or --junit path: the table and score first, then Error: and exit 1; the other file is written")
    func unwritablePaths() throws {
        try withTemporaryDirectory { dir in
            let missing = "\(dir)/no-such-folder/r.json"
            let run = try LabBinary.run(["grade", "--solutions", "--lesson", "1", "--json", missing, "--junit", "\(dir)/r.xml"],
                                        environment: Self.progress)
            #expect(run.status == 1)
            #expect(run.stdout.contains("Score: "), "the result is printed before the error")
            #expect(run.stderrWithoutWaits.hasPrefix("Error: cannot write the --json file: 'open' failed on '\(missing)': (2) ENOENT"), "\(run.stderr)")
            #expect(try parseJUnit("\(dir)/r.xml").tests > 0, "the JUnit file is still written")

            let directory = try LabBinary.run(["grade", "--solutions", "--lesson", "1", "--junit", dir], environment: Self.progress)
            #expect(directory.status == 1)
            #expect(directory.stdout.contains("Score: "))
            #expect(directory.stderrWithoutWaits.hasPrefix("Error: cannot write the --junit file: 'open' failed on '\(dir)': (21) EISDIR"), "\(directory.stderr)")
        }
    }

    @Test("grade --help prints its usage and exits 0")
    func help() throws {
        let run = try LabBinary.run(["grade", "--help"])
        #expect(run.status == 0)
        #expect(run.stdout.contains("USAGE: lab grade [--solutions] [--json <FILE>] [--junit <FILE>] [--lesson <N>]"))
        let tool = try LabBinary.run(["--help"])
        #expect(tool.stdout.contains("  grade "))
    }

    @Test("swift test grades every part: the generated suite has one test per part of every visible lesson")
    func generatedSuiteCoversTheCatalog() throws {
        try withTemporaryDirectory { dir in
            let run = try LabBinary.run(["__part-tests", "\(dir)/ExerciseParts.swift"])
            #expect(run.status == 0, "\(run.stderr)")
            let source = try String(contentsOfFile: "\(dir)/ExerciseParts.swift", encoding: .utf8)
            let tests = source.components(separatedBy: "@Test(").count - 1
            #expect(tests == visible.reduce(0) { $0 + $1.parts.count })
            for lesson in visible {
                for part in lesson.parts {
                    #expect(source.contains(".partStarted(lesson: \(lesson.number), part: \(part.number)))"))
                    #expect(source.contains("func lesson\(twoDigits(lesson.number))Part\(part.number)()"))
                }
            }
            #expect(!source.contains("Lesson 00"), "hidden lessons are not graded")
        }
    }

    // MARK: - Helpers

    func twoDigits(_ number: Int) -> String { number < 10 ? "0\(number)" : "\(number)" }

    func readResults(_ path: String) throws -> ExercismResults {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        // The raw keys, as a results.json reader sees them.
        let raw = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(raw["version"] as? Int == 3)
        #expect(Set(raw.keys) == ["version", "status", "message", "tests"])
        for test in raw["tests"] as? [[String: Any]] ?? [] {
            #expect(Set(test.keys) == ["name", "status", "message", "output", "test_code", "task_id"])
        }
        return try JSONDecoder().decode(ExercismResults.self, from: data)
    }

    /// Tests in lesson and part order, named like swift test's, one task_id per lesson.
    func expectShape(_ results: ExercismResults, lessons: [CatalogRecord.Lesson]) throws {
        #expect(results.version == 3)
        let expectedNames = lessons.flatMap { lesson in
            lesson.parts.filter(\.graded).map { "Lesson \(twoDigits(lesson.number)) › \($0.number). \($0.title)" }
        }
        #expect(results.tests.map(\.name) == expectedNames)
        #expect(Set(results.tests.map(\.taskID)) == Set(lessons.filter { $0.parts.contains(where: \.graded) }.map(\.number)))
        for test in results.tests {
            #expect(["pass", "fail", "error"].contains(test.status))
            #expect(test.name.hasPrefix("Lesson \(twoDigits(test.taskID)) › "))
            #expect((test.output ?? "").unicodeScalars.count <= 500)
        }
    }

    struct JUnit: CustomStringConvertible {
        struct Case: Codable { let name: String; let classname: String; let element: String? }
        let tests: Int, failures: Int, errors: Int, skipped: Int, suites: Int
        let cases: [Case]
        var description: String { "tests \(tests) failures \(failures) errors \(errors) skipped \(skipped) suites \(suites)" }
    }

    /// Parses the file with python3's XML parser (skips the test when python3 is absent). Blocks
    /// the test's thread until python3 ends, for the reason given at `LabBinary.run`.
    func parseJUnit(_ path: String) throws -> JUnit {
        guard let python = findOnPath("python3") else { try Test.cancel("python3 is not on PATH: the JUnit file is not parsed") }
        let script = """
            import json, sys, xml.etree.ElementTree as ET
            root = ET.parse(sys.argv[1]).getroot()
            assert root.tag == "testsuites", root.tag
            cases = []
            for suite in root.findall("testsuite"):
                for case in suite.findall("testcase"):
                    kinds = [c.tag for c in case if c.tag in ("failure", "error", "skipped")]
                    cases.append({"name": case.get("name"), "classname": case.get("classname"), "element": kinds[0] if kinds else None})
            print(json.dumps({"tests": int(root.get("tests")), "failures": int(root.get("failures")),
                              "errors": int(root.get("errors")), "skipped": int(root.get("skipped")),
                              "suites": len(root.findall("testsuite")), "cases": cases}))
            """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = ["-c", script, path]
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        let errors = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw LabBinaryError("python3 could not parse \(path): \(String(decoding: errors, as: UTF8.self))")
        }
        struct Summary: Codable { let tests, failures, errors, skipped, suites: Int; let cases: [JUnit.Case] }
        let summary = try JSONDecoder().decode(Summary.self, from: data)
        return JUnit(tests: summary.tests, failures: summary.failures, errors: summary.errors, skipped: summary.skipped,
                     suites: summary.suites, cases: summary.cases)
    }

    func withTemporaryDirectory(_ body: (String) throws -> Void) throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("grade-tests-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try body(dir)
    }
}
