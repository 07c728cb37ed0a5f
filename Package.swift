// swift-tools-version:6.0
// ShmLab: no package dependencies, only the toolchain's modules.
import PackageDescription

/// One lesson's student code and what it is built with. `uses` are the lessons whose exercise
/// and reference this lesson's host links as well (lesson 09 measures 05, 06 and 08).
struct LessonTargets {
    let number: String
    let folder: String
    var uses: [String] = []
    /// Lesson 09 has no reference of its own: it measures the references of the lessons it uses.
    var hasSolution = true
    /// Earlier lessons whose reference only (not the student's exercise) this lesson's host links:
    /// lesson 10's bench sets its ring beside lesson 05's reference queue.
    var references: [String] = []
    /// Earlier lessons whose reference this lesson's reference imports (its `SolutionNN` target
    /// depends on theirs): lesson 12's server is lesson 07's loop with other requests. The
    /// student's exercise still depends on `Contracts` only.
    var referenceBuildsOn: [String] = []
}

let lessons = [
    LessonTargets(number: "01", folder: "01-fork-and-mmap"),
    LessonTargets(number: "02", folder: "02-named-segments"),
    LessonTargets(number: "03", folder: "03-bytes-and-integers"),
    LessonTargets(number: "04", folder: "04-locking"),
    LessonTargets(number: "05", folder: "05-queues"),
    LessonTargets(number: "06", folder: "06-pipes"),
    LessonTargets(number: "07", folder: "07-managers"),
    LessonTargets(number: "08", folder: "08-shared-arrays"),
    LessonTargets(number: "09", folder: "09-measure-and-choose", uses: ["05", "06", "08"], hasSolution: false),
    LessonTargets(number: "10", folder: "10-memory-ordering", references: ["05"]),
    LessonTargets(number: "11", folder: "11-starting-and-passing"),
    LessonTargets(number: "12", folder: "12-remote-managers", referenceBuildsOn: ["07"]),
]

/// Student-facing code (exercises, reference solutions, mutants) stays in Swift 5 mode so that
/// concurrency diagnostics unrelated to the lesson never get in a student's way.
let studentMode: [SwiftSetting] = [.swiftLanguageMode(.v5)]

/// Per lesson: the student's module (`Exercise01`, from `Exercises/01-…/`), the reference
/// (`Solution01`), the mistakes (`Mutants01`) and the part host (`lab-lesson-01`) that links
/// them with the checks. A compile error in one lesson's file breaks only that lesson's host.
let lessonTargets: [Target] = lessons.flatMap { lesson -> [Target] in
    let exercises = ([lesson.number] + lesson.uses).map { "Exercise\($0)" }
    let solutions = ((lesson.hasSolution ? [lesson.number] : lesson.uses) + lesson.references).map { "Solution\($0)" }
    var targets: [Target] = [
        .target(name: "Exercise\(lesson.number)", dependencies: ["Contracts"], path: "Exercises/\(lesson.folder)",
                exclude: ["README.md"], swiftSettings: studentMode),
        .target(name: "Mutants\(lesson.number)",
                dependencies: [.target(name: "Lessons")] + (solutions + lesson.uses.map { "Mutants\($0)" }).map { .target(name: $0) },
                path: "Sources/Mutants/\(lesson.folder)", swiftSettings: studentMode),
        .executableTarget(name: "lab-lesson-\(lesson.number)",
                          dependencies: ["LabKit", "Lessons", .target(name: "Mutants\(lesson.number)")]
                              + (exercises + solutions).map { .target(name: $0) },
                          path: "Sources/PartHosts/\(lesson.folder)"),
    ]
    if lesson.hasSolution {
        targets.append(.target(name: "Solution\(lesson.number)",
                               dependencies: ["Contracts"] + lesson.referenceBuildsOn.map { .target(name: "Solution\($0)") },
                               path: "Solutions/\(lesson.folder)", swiftSettings: studentMode))
    }
    return targets
}

let package = Package(
    name: "ShmLab",
    products: [
        .executable(name: "lab", targets: ["lab"]),
    ],
    targets: [
        // GNU-only and variadic C calls Swift cannot import (pipe2, prctl, pidfd_open, wait macros).
        .target(name: "CShmLab"),
        // What the student's code may use: system errors, descriptors, the lab's shared block,
        // lock and connection, forkChild, todo(). No way to report a verdict.
        .target(name: "LabSupport", dependencies: ["CShmLab"]),
        // The contract of every lesson: the protocols and error types the student implements.
        .target(name: "Contracts", dependencies: ["LabSupport"]),
        // The runner engine: catalog types, isolation, outcomes, reporters, CLI. Knows no lesson.
        .target(name: "LabKit", dependencies: ["CShmLab", "LabSupport"]),
        // One folder per lesson: parts, checks, hints, benches; and the engine's own fixtures.
        .target(name: "Lessons", dependencies: ["LabKit", "Contracts"],
                exclude: ["L03BytesAndIntegers/make_vectors.py"]),   // writes Lesson03Vectors.swift
        // The runner: links no student code; builds and starts each lesson's part host.
        .executableTarget(name: "lab", dependencies: ["LabKit", "Lessons"]),
        // The engine's fixtures run in a host of their own, like a lesson.
        .executableTarget(name: "lab-lesson-00", dependencies: ["LabKit", "Lessons"],
                          path: "Sources/PartHosts/00-engine-fixtures"),
        // Engine, CLI and lesson tests, and the Exercises graded part by part
        // (`ExerciseParts.swift`, written by `lab __part-tests`). Parts run through the built
        // `lab` (never fork in here).
        .testTarget(name: "ShmLabTests", dependencies: ["LabKit", "Lessons"]),
    ] + lessonTargets
)
