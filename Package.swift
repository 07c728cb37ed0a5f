// swift-tools-version:6.0
// ShmLab: no package dependencies, only the toolchain's modules.
import Foundation
import PackageDescription

/// The lesson texts (`NN-slug/README.md`) inside a sources folder: not Swift, so excluded from the target.
func lessonTexts(in folder: String) -> [String] {
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent(folder)
    let lessons = (try? FileManager.default.contentsOfDirectory(atPath: root.path)) ?? []
    return lessons.sorted().map { "\($0)/README.md" }
        .filter { FileManager.default.fileExists(atPath: root.appendingPathComponent($0).path) }
}

/// Student-facing code (exercises, reference solutions, mutants) stays in Swift 5 mode so that
/// concurrency diagnostics unrelated to the lesson never get in a student's way.
let studentMode: [SwiftSetting] = [.swiftLanguageMode(.v5)]

let package = Package(
    name: "ShmLab",
    products: [
        .executable(name: "lab", targets: ["lab"]),
    ],
    targets: [
        // GNU-only and variadic C calls Swift cannot import (pipe2, prctl, pidfd_open, wait macros).
        .target(name: "CShmLab"),
        // The runner engine: catalog types, isolation, outcomes, reporters, CLI. Knows no lesson.
        .target(name: "LabKit", dependencies: ["CShmLab"]),
        // One folder per lesson: the contract the student implements, the checks, hints, text.
        .target(name: "Lessons", dependencies: ["LabKit"],
                exclude: ["L03BytesAndIntegers/make_vectors.py"]),   // writes Lesson03Vectors.swift
        // What the student edits.
        .target(name: "Exercises", dependencies: ["Lessons"], path: "Exercises",
                exclude: lessonTexts(in: "Exercises"), swiftSettings: studentMode),
        // The reference for every lesson.
        .target(name: "Solutions", dependencies: ["Lessons"], path: "Solutions",
                exclude: lessonTexts(in: "Solutions"), swiftSettings: studentMode),
        // Realistic student mistakes, each of which some part must catch.
        .target(name: "Mutants", dependencies: ["Lessons", "Solutions"], swiftSettings: studentMode),
        // main.swift only wires lessons to Exercises, Solutions and Mutants.
        .executableTarget(name: "lab", dependencies: ["LabKit", "Lessons", "Exercises", "Solutions", "Mutants"]),
        // Writes one Swift Testing test per part of every lesson (`lab __part-tests`), so that
        // `swift test` grades the student's Exercises part by part.
        .plugin(name: "ExercisePartTests", capability: .buildTool(), dependencies: ["lab"],
                path: "Tests/ExercisePartTestsPlugin"),
        // Engine, CLI and lesson tests, and the Exercises graded part by part. Parts run through
        // the built `lab` (never fork in here).
        .testTarget(name: "ShmLabTests", dependencies: ["LabKit", "Lessons"], plugins: ["ExercisePartTests"]),
    ]
)
