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

/// Where the lessons' part hosts are (`lab-lesson-NN`, beside the `lab` executable), and how the
/// runner brings one up to date before it runs that lesson's parts.
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
    let builder: LabBuilder?
    /// Hosts already brought up to date by this process (a lesson is built once per command).
    private var fresh: [Int: Result<String, LessonDoesNotCompile>] = [:]

    public init(location: BuildLocation, builder: LabBuilder?) {
        self.location = location
        self.builder = builder
    }

    /// "lab-lesson-01": the executable target that runs `lesson`'s parts.
    public static func name(of lesson: LessonInfo) -> String { "lab-lesson-\(lesson.twoDigits)" }

    /// The hosts beside the running lab, built on demand when the lab runs from the package's
    /// `.build` and building is not turned off.
    public static func forRunningLab() -> PartHosts {
        let root = PackagePaths.root
        var executable = currentExecutablePath()
        if executable.hasSuffix(" (deleted)") { executable.removeLast(" (deleted)".count) }
        let own = BuildLocation(directory: String(executable[..<(executable.lastIndex(of: "/") ?? executable.endIndex)]),
                                configuration: executable.contains("/release/") ? "release" : "debug")
        let noBuild = getenv("SHMLAB_NO_BUILD").map { String(cString: $0) != "0" && String(cString: $0) != "" } ?? false
        if getenv("SHMLAB_HOSTS_DIR") != nil || getenv("SHMLAB_BUILD_COMMAND") != nil,
           let builder = try? LabBuilder.forPackage(root: root) {
            return PartHosts(location: builder.location, builder: noBuild ? nil : builder)
        }
        guard !noBuild, BuildLocation.fromRunningLab(executable: executable, root: root) != nil,
              let builder = try? LabBuilder.forPackage(root: root) else {
            return PartHosts(location: own, builder: nil)
        }
        return PartHosts(location: builder.location, builder: builder)
    }

    /// Brings the hosts of `lessons` up to date, in one build when every one compiles (a build of
    /// each product on its own costs SwiftPM's planning each time); then the ones that failed are
    /// known lesson by lesson.
    public func prepare(_ lessons: [LessonInfo], interruptFD: Int32 = -1) {
        guard let builder, lessons.count > 1 else { return }
        if case .built = builder.build(product: "", interruptFD: interruptFD) {
            for lesson in lessons { fresh[lesson.number] = .success(location.host(lesson)) }
        }
    }

    /// The host for `lesson`, built first when this lab builds. Throws `LessonDoesNotCompile`.
    public func host(for lesson: LessonInfo, interruptFD: Int32 = -1) throws -> String {
        if let known = fresh[lesson.number] { return try known.get() }
        let path = location.host(lesson)
        var result: Result<String, LessonDoesNotCompile> = .success(path)
        if let builder {
            switch builder.build(product: Self.name(of: lesson), interruptFD: interruptFD) {
            case .built: break
            case .failed(let output, _): result = .failure(LessonDoesNotCompile(lesson: lesson, output: output))
            case .interrupted: exit(130)
            }
        }
        if case .success = result, access(path, X_OK) != 0 {
            fresh[lesson.number] = result
            throw LabError("\(path) is missing: build the lab first (swift build), or run it as `swift run lab`")
        }
        fresh[lesson.number] = result
        return try result.get()
    }

    /// What the host of `lesson` holds (its mutants, which parts it binds), or nil when there is
    /// no built host to ask.
    public func catalog(of lesson: LessonEntry) -> CatalogRecord.Lesson? {
        guard let path = try? host(for: lesson.info), access(path, X_OK) == 0,
              let process = try? ChildProcess.spawn(path, ["__catalog"], output: .captureStdout) else { return nil }
        let (bytes, end) = process.collectOutput(timeout: 30)
        guard end == .exited(0),
              let record = try? JSONDecoder().decode(CatalogRecord.self, from: Data(bytes)) else { return nil }
        return record.lessons.first
    }
}
