import Foundation
import Glibc

/// A lesson whose part host could not be built: the student's file (or a lesson it uses) does not
/// compile. Other lessons are unaffected.
public struct LessonDoesNotCompile: Error, CustomStringConvertible {
    public let lesson: LessonInfo
    /// The compiler's output, as the student should see it.
    public let output: String
    public var description: String { "lesson \(lesson.twoDigits) does not compile:\n\(output)" }
    /// How the failure of each part of a lesson that does not compile begins.
    public static func prefix(_ lesson: LessonInfo) -> String { "lesson \(lesson.twoDigits) does not compile: " }
}

/// Where the lessons' part hosts are (`lab-lesson-NN`, beside the `lab` executable), whether this
/// lab builds them, and how the runner brings one up to date before it runs that lesson's parts.
///
/// The runner links no student code: a lesson's checks, the student's file of that lesson, the
/// reference and the mutants are linked into that lesson's host only. When the lab runs from the
/// package's `.build` (as `swift run lab` starts it), `host(for:)` first builds the host with
/// `swift build --product lab-lesson-NN`, so a compile error in one lesson's file is reported for
/// that lesson and never stops another. `SHMLAB_NO_BUILD=1` uses the hosts as they are (the test
/// suite, which runs inside `swift test`'s own build, sets it); so does a lab outside `.build`.
public final class PartHosts {
    public let location: BuildLocation
    /// Builds a product; nil when the hosts are used as they are.
    public let builder: LabBuilder?
    /// Hosts already brought up to date by this process (a lesson is built once per command).
    private var fresh: [Int: Result<String, LessonDoesNotCompile>] = [:]

    public init(location: BuildLocation, builder: LabBuilder?) {
        self.location = location
        self.builder = builder
    }

    /// "lab-lesson-01": the executable target that runs `lesson`'s parts.
    public static func name(of lesson: LessonInfo) -> String { "lab-lesson-\(lesson.twoDigits)" }

    /// The one place that decides where the hosts are and whether this lab builds them:
    /// - where: `$SHMLAB_HOSTS_DIR`, else beside the running lab (also once a build replaced it);
    /// - whether: never with `SHMLAB_NO_BUILD` set (to anything but 0); with
    ///   `$SHMLAB_BUILD_COMMAND` (run with /bin/sh; the lab's own tests) when it is set; else with
    ///   `swift build` when the lab runs from the package's `.build` and `swift` is on PATH (with
    ///   `-j $SHMLAB_BUILD_JOBS` when that is a number: the `-j` the lab itself was built with).
    public static func forRunningLab(root: String = PackagePaths.root,
                                     environment: (String) -> String? = PartHosts.environment) -> PartHosts {
        var executable = currentExecutablePath()
        if executable.hasSuffix(" (deleted)") { executable.removeLast(" (deleted)".count) }
        let inPackageBuild = BuildLocation.fromRunningLab(executable: executable, root: root)
        let location = environment("SHMLAB_HOSTS_DIR").map { BuildLocation(directory: $0, configuration: "debug") }
            ?? inPackageBuild
            ?? BuildLocation(directory: String(executable[..<(executable.lastIndex(of: "/") ?? executable.endIndex)]),
                             configuration: executable.contains("/release/") ? "release" : "debug")
        let noBuild = environment("SHMLAB_NO_BUILD").map { $0 != "0" } ?? false
        if noBuild { return PartHosts(location: location, builder: nil) }
        if let command = environment("SHMLAB_BUILD_COMMAND") {
            return PartHosts(location: location, builder: LabBuilder(root: root, location: location) { _ in ["/bin/sh", "-c", command] })
        }
        guard inPackageBuild != nil, let swift = findOnPath("swift") else { return PartHosts(location: location, builder: nil) }
        let jobs = environment("SHMLAB_BUILD_JOBS").flatMap { Int($0) }.map(String.init)
        return PartHosts(location: location, builder: .swiftBuild(swift, root: root, location: location, jobs: jobs))
    }

    /// A variable of this process's environment; nil when unset or empty.
    public static func environment(_ name: String) -> String? {
        guard let value = getenv(name), value.pointee != 0 else { return nil }
        return String(cString: value)
    }

    /// Brings the hosts of `lessons` up to date, in one build when every one compiles (a build of
    /// each product on its own costs SwiftPM's planning each time); then the ones that failed are
    /// known lesson by lesson.
    public func prepare(_ lessons: [LessonInfo]) {
        guard let builder, lessons.count > 1 else { return }
        switch builder.build(product: "") {
        case .built:
            for lesson in lessons { fresh[lesson.number] = .success(location.host(lesson)) }
        case .interrupted:
            Interruption.finish(message: "interrupted: stopped the build")
        case .failed, .stopped:
            break
        }
    }

    /// Builds `lesson`'s host now, even when this process built it before (watch mode, after a
    /// save), and remembers the result for `host(for:)`. `keys` may stop the build.
    public func build(_ lesson: LessonInfo, keys: StopKeys? = nil) -> BuildAttempt {
        guard let builder else { return .built(seconds: 0) }
        let attempt = builder.build(product: Self.name(of: lesson), keys: keys)
        switch attempt {
        case .built: fresh[lesson.number] = .success(location.host(lesson))
        case .failed(let output, _): fresh[lesson.number] = .failure(LessonDoesNotCompile(lesson: lesson, output: output))
        case .interrupted, .stopped: fresh[lesson.number] = nil
        }
        return attempt
    }

    /// The host for `lesson`, built first (once per process) when this lab builds. Throws
    /// `LessonDoesNotCompile`, or a `LabError` when the host is missing.
    public func host(for lesson: LessonInfo) throws -> String {
        if fresh[lesson.number] == nil, builder != nil, case .interrupted = build(lesson) {
            Interruption.finish(message: "interrupted: stopped the build of lesson \(lesson.twoDigits)")
        }
        let result = fresh[lesson.number] ?? .success(location.host(lesson))
        fresh[lesson.number] = result
        let path = try result.get()
        guard access(path, X_OK) == 0 else {
            throw LabError("\(path) is missing: build the lab first (swift build), or run it as `swift run lab`")
        }
        return path
    }

    /// What the host of `lesson` holds (its mutants, which parts it binds), or nil when there is
    /// no built host to ask.
    public func catalog(of lesson: LessonEntry) -> CatalogRecord.Lesson? {
        guard let path = try? host(for: lesson.info),
              let process = try? ChildProcess.spawn(path, ["__catalog"], output: .captureStdout) else { return nil }
        let (bytes, end) = process.collectOutput(timeout: 30)
        guard end == .exited(0),
              let record = try? JSONDecoder().decode(CatalogRecord.self, from: Data(bytes)) else { return nil }
        return record.lessons.first
    }
}
