import Foundation
import PackagePlugin

/// Makes `swift test` grade the student's exercises part by part: while the test target is built,
/// `lab __part-tests FILE` writes one Swift Testing test per part of every lesson in the lab's
/// catalog. The `lab` built from the current Exercises is an input, so the list follows the
/// catalog (a lesson added later is graded without writing test code).
@main
struct ExercisePartTests: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        let lab = try context.tool(named: "lab")
        let output = context.pluginWorkDirectoryURL.appendingPathComponent("ExerciseParts.swift")
        return [.buildCommand(displayName: "Listing the lab's parts as tests",
                              executable: lab.url, arguments: ["__part-tests", output.path],
                              inputFiles: [lab.url], outputFiles: [output])]
    }
}
