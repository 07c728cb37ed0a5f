import Foundation
@testable import LabKit
import Testing

/// The progress file, lesson status, hint levels and the overview's bar, as pure functions.
@Suite("Progress, status and hints")
struct ProgressTests {
    func decode(_ json: String) throws -> LabKit.Progress {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return try decoder.decode(Progress.self, from: Data(json.utf8))
    }

    @Test("a progress file with missing fields still loads, with defaults")
    func partialFile() throws {
        let progress = try decode(#"{"lessons": {"2": {"passedParts": [1]}}}"#)
        #expect(progress.currentLesson == 1)
        #expect(progress.lesson(2).passedParts == [1])
        #expect(progress.lesson(2).doesNotCompile == false)
        #expect(progress.hintLevels.isEmpty)
        #expect(try decode("{}") == LabKit.Progress())
    }

    @Test("a store recreates an unusable file with one warning")
    func store() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sltest-store-\(UUID().uuidString.prefix(6))").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = ProgressStore(directory: dir)
        var warnings: [String] = []
        #expect(store.load { warnings.append($0) } == LabKit.Progress())
        #expect(warnings.isEmpty, "a missing file is a fresh start, not a problem")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try Data([0xFF, 0x00, 0x7B]).write(to: URL(fileURLWithPath: store.path))
        #expect(store.load { warnings.append($0) } == LabKit.Progress())
        #expect(warnings.count == 1)
        var changed = LabKit.Progress()
        changed.currentLesson = 3
        store.save(changed)
        #expect(store.load { warnings.append($0) }.currentLesson == 3)
        #expect(warnings.count == 1)
    }

    static var lesson: LessonEntry { LessonEntry(
        info: LessonInfo(number: 4, slug: "x", title: "X"),
        parts: [Part<Void>(1, "a", check: { _, _ in }, hints: ["h1", "h2"]), Part(2, "b", check: { _, _ in }, hints: ["h"]),
                Part(3, "demo", check: { _, _ in }, graded: false, hints: [])],
        exercise: (), solution: ()) }

    func progress(passed: [Int], outcomes: [Int: String] = [:], doesNotCompile: Bool = false) -> LabKit.Progress {
        var progress = LabKit.Progress()
        var entry = LabKit.Progress.LessonProgress()
        entry.passedParts = passed
        entry.outcomes = Dictionary(uniqueKeysWithValues: outcomes.map { ("\($0.key)", PartOutcome.Kind(rawValue: $0.value)!) })
        entry.doesNotCompile = doesNotCompile
        progress.lessons["4"] = entry
        return progress
    }

    @Test("lesson status: passed, in progress, not started, does not compile")
    func status() {
        let lesson = Self.lesson
        #expect(LessonStatus.of(lesson, in: LabKit.Progress()).status == .notStarted)
        #expect(LessonStatus.of(lesson, in: progress(passed: [], outcomes: [1: "notStarted", 2: "notStarted"])).status == .notStarted)
        #expect(LessonStatus.of(lesson, in: progress(passed: [], outcomes: [1: "failed", 2: "notStarted"])).status == .inProgress)
        #expect(LessonStatus.of(lesson, in: progress(passed: [1], outcomes: [1: "passed"])).status == .inProgress)
        let done = LessonStatus.of(lesson, in: progress(passed: [1, 2]))
        #expect(done.status == .passed && done.passed == 2 && done.total == 2, "a demonstration part does not count")
        #expect(LessonStatus.of(lesson, in: progress(passed: [1, 2], doesNotCompile: true)).status == .doesNotCompile)
        #expect(LessonStatus.doesNotCompile.label == "does not compile")
    }

    @Test("hint levels go up one at a time and stop at the last; the first part not passing gets the hint")
    func hintLevels() {
        #expect(Hints.level(after: nil, count: 3) == 1)
        #expect(Hints.level(after: 1, count: 3) == 2)
        #expect(Hints.level(after: 3, count: 3) == 3)
        #expect(Hints.level(after: 99, count: 3) == 3)
        #expect(Hints.level(after: -4, count: 3) == 1)
        #expect(Hints.firstNotPassing(Self.lesson, LabKit.Progress())?.number == 1)
        #expect(Hints.firstNotPassing(Self.lesson, progress(passed: [1]))?.number == 2)
        #expect(Hints.firstNotPassing(Self.lesson, progress(passed: [1, 2])) == nil)
    }

    @Test("the progress bar: empty, partial, full; symbols on a terminal, ASCII elsewhere")
    func bar() {
        let plain = Style(fancy: false)
        #expect(Overview.bar(0, of: 10, width: 10, style: plain) == "[----------]")
        #expect(Overview.bar(1, of: 40, width: 10, style: plain) == "[#---------]")
        #expect(Overview.bar(39, of: 40, width: 10, style: plain) == "[#########-]")
        #expect(Overview.bar(5, of: 10, width: 10, style: plain) == "[#####-----]")
        #expect(Overview.bar(10, of: 10, width: 10, style: plain) == "[##########]")
        #expect(Overview.bar(0, of: 0, width: 4, style: plain) == "[----]")
        #expect(Overview.bar(2, of: 4, width: 4, style: Style(fancy: true)).contains("██"))
    }
}

/// The untouched stubs that ship inside the lab (for `lab reset`).
@Suite("Pristine stubs")
struct PristineStubTests {
    @Test("every visible lesson ships an untouched copy of its exercise, and each copy is a stub")
    func everyLessonShipsAStub() {
        for lesson in LabBinary.catalog.lessons where !lesson.hidden {
            let folder = "\(lesson.number < 10 ? "0" : "")\(lesson.number)-\(lesson.slug)"
            let files = LabBinary.pristine.filter { $0.folder == folder }
            #expect(!files.isEmpty, "lesson \(lesson.number) ships no untouched stub: run 'swift run lab __pristine --write' on a fresh clone and commit Sources/Lessons/Pristine/PristineStubs.swift")
            for file in files {
                #expect(StubShape.isUntouched(file.contents), "\(file.path) as shipped is not an untouched stub (every body todo())")
            }
        }
    }

    /// On a fresh clone the exercises are the committed stubs, and the shipped copies must equal
    /// them byte for byte. Once a student has started a lesson its file differs, and there is
    /// nothing to compare: a file that still has the stub's shape must still be equal.
    @Test("the shipped copy equals the committed stub (on a fresh clone)")
    func shippedCopyEqualsCommittedStub() throws {
        for file in LabBinary.pristine {
            let data = FileManager.default.contents(atPath: PackagePaths.absolute(file.path))
            let current = try #require(data.map { String(decoding: $0, as: UTF8.self) }, "\(file.path) is missing")
            if current == file.contents { continue }
            #expect(!StubShape.isUntouched(current),
                    "\(file.path) is a stub but differs from the copy that ships in the lab: run 'swift run lab __pristine --write' and commit Sources/Lessons/Pristine/PristineStubs.swift")
        }
    }

    @Test("stub shape: every function body todo(), whatever the comments and strings say")
    func stubShape() {
        let stub = """
            // A comment with a brace { and func f() { return 1 }
            public enum E: P {
                /// Doc with "quotes" and } braces.
                public static func a(_ x: [Int] = [1, 2]) throws -> Int {
                    todo()
                }
                public init(label: String = "{") { todo() }
                static func b() -> (() -> Void) { todo() }
            }
            """
        #expect(StubShape.isUntouched(stub))
        #expect(!StubShape.isUntouched(stub.replacingOccurrences(of: "{ todo() }", with: "{ self.init() }")))
        #expect(!StubShape.isUntouched(stub.replacingOccurrences(of: "        todo()", with: "        return 1")))
        #expect(!StubShape.isUntouched("let x = 1"))
        #expect(StubShape.isUntouched("// a lesson with nothing to write\n"))
        // An initializer that keeps what the lab hands it is part of the stub (lessons 06, 07).
        #expect(StubShape.isUntouched("final class C { let fd: Int32\n init(fd: Int32) { self.fd = fd }\n func f() { todo() } }"))
        #expect(StubShape.isUntouched("protocol P { func a() }\nenum E: P { static func a() { todo() } }"))
    }

    @Test("the generated source's raw-string delimiter never occurs in the text it holds")
    func delimiter() {
        #expect(PristineSource.delimiter(for: "plain") == "#")
        #expect(PristineSource.delimiter(for: "a \"\"\"# b") == "##")
        #expect(PristineSource.delimiter(for: "print(\"\\#(x)\")") == "##")
        let rendered = PristineSource.render([PristineFile("Exercises/01-a/A.swift", "line\n")])
        #expect(rendered.contains("PristineFile(\"Exercises/01-a/A.swift\", #\"\"\"\nline\n\n\"\"\"#),"))
    }
}
