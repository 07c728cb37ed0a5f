import Foundation
import Glibc

/// A user mistake on the command line: printed with the usage line, exit status 64.
public struct UsageError: Error, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// A failure that is not a usage mistake: printed as `Error: …`, exit status 1.
public struct LabError: Error, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// A command of the `lab` tool: its spec and what it does. Returns the exit status.
public struct LabCommand {
    public let spec: CommandSpec
    public let run: (Invocation, LabSession) throws -> Int32

    public init(_ spec: CommandSpec, run: @escaping (Invocation, LabSession) throws -> Int32) {
        self.spec = spec
        self.run = run
    }
}

/// Exit statuses, as swift-argument-parser uses them.
public enum ExitStatus {
    public static let success: Int32 = 0
    public static let failure: Int32 = 1
    public static let usage: Int32 = 64
}

/// The `lab` tool: hidden sub-commands for part and peer processes, then the user's commands.
public enum Lab {
    public static let version = "0.1.0"
    public static let abstract = "ShmLab: learn how separate processes share memory on Linux, in Swift."

    /// Runs the tool with the process's arguments and exits. `pristine` holds the untouched
    /// exercise files `lab reset` restores.
    public static func main(pristine: [PristineFile] = [], lessons: [LessonEntry]) -> Never {
        let arguments = Array(CommandLine.arguments.dropFirst())
        // The hidden sub-commands come first and stay cheap: they run once per part.
        if let first = arguments.first, first.hasPrefix("__") {
            runHidden(arguments, lessons: lessons, pristine: pristine)
        }
        let session = LabSession(lessons: lessons, pristine: pristine)
        exit(run(arguments, session: session))
    }

    /// Parses and runs; returns the exit status. Output goes to the session's streams.
    public static func run(_ arguments: [String], session: LabSession) -> Int32 {
        let commands = session.commands
        switch parseArguments(arguments, commands: commands.map(\.spec), defaultCommand: "overview") {
        case .version:
            session.out("ShmLab \(version)")
            return ExitStatus.success
        case .help(let name):
            if let name, let command = commands.first(where: { $0.spec.name == name }) {
                session.out(helpText(for: command.spec), terminator: "")
            } else {
                session.out(toolHelpText(commands: commands.map(\.spec), abstract: abstract), terminator: "")
            }
            return ExitStatus.success
        case .usageError(let message, let name):
            printUsageError(message, command: name, session: session)
            return ExitStatus.usage
        case .run(let invocation):
            let command = commands.first { $0.spec.name == invocation.command }!
            do {
                return try command.run(invocation, session)
            } catch let error as UsageError {
                printUsageError(error.message, command: invocation.command, session: session)
                return ExitStatus.usage
            } catch {
                session.err("Error: \(error)")
                return ExitStatus.failure
            }
        }
    }

    static func printUsageError(_ message: String, command name: String?, session: LabSession) {
        session.err("Error: \(message)")
        if let name, let spec = session.commands.first(where: { $0.spec.name == name })?.spec {
            session.err("Usage: \(spec.usageLine)")
            session.err("  See 'lab \(name) --help' for more information.")
        } else {
            session.err("Usage: lab [<command>] [<options>]")
            session.err("  See 'lab --help' for more information.")
        }
    }

    static func runHidden(_ arguments: [String], lessons: [LessonEntry], pristine: [PristineFile] = []) -> Never {
        switch arguments[0] {
        case "__pristine":
            PristineCommand.runHidden(Array(arguments.dropFirst()), lessons: lessons, pristine: pristine)
        case "__catalog":
            // The runner knows parts and hints; each lesson's host adds its mutants.
            let hosts = PartHosts.forRunningLab()
            let records = lessons.map { lesson in
                hosts.catalog(of: lesson) ?? CatalogRecord.Lesson(lesson)
            }
            Console.out(CatalogRecord(lessons: records).encoded() + "\n")
            exit(0)
        case "__part-tests" where arguments.count == 2:
            do { try PartTestsSource.write(lessons: lessons, to: arguments[1]); exit(0) } catch {
                Console.err("lab: cannot write \(arguments[1]): \(error)\n")
                exit(1)
            }
        default:
            break
        }
        Console.err("lab: bad hidden sub-command: \(arguments.joined(separator: " "))\n")
        exit(2)
    }
}

/// What every command works with: the lessons, the output streams and the progress file.
public final class LabSession {
    public let lessons: [LessonEntry]
    public let style: Style
    public let progressStore: ProgressStore
    /// The untouched exercise files, as they ship with the lab.
    public let pristine: [PristineFile]
    /// The user's commands.
    let commands = BuiltinCommands.all
    /// The lessons' part hosts, built on demand.
    public private(set) lazy var hosts = PartHosts.forRunningLab()

    public init(lessons: [LessonEntry], pristine: [PristineFile] = [], style: Style = .forStandardOutput(),
                progressStore: ProgressStore = ProgressStore()) {
        self.lessons = lessons.sorted { $0.info.number < $1.info.number }
        self.pristine = pristine
        self.style = style
        self.progressStore = progressStore
    }

    /// The lessons a student sees (fixtures left out).
    public var visibleLessons: [LessonEntry] { lessons.filter { !$0.info.hidden } }

    public func out(_ text: String, terminator: String = "\n") {
        Console.out(text + terminator)
    }

    public func err(_ text: String) {
        Console.err(text + "\n")
    }

    /// A lesson by number ("1", "01") or slug ("fork-and-mmap", "01-fork-and-mmap").
    public func lesson(named text: String) throws -> LessonEntry {
        let trimmed = text.lowercased()
        if let number = Int(trimmed), let entry = lessons.first(where: { $0.info.number == number }) {
            return entry
        }
        if let entry = lessons.first(where: { $0.info.slug == trimmed || $0.info.folder == trimmed }) {
            return entry
        }
        let known = visibleLessons.map { $0.info.twoDigits }.joined(separator: ", ")
        throw UsageError("unknown lesson '\(text)' (lessons: \(known), by number or name)")
    }

    public func loadProgress() -> Progress { progressStore.load(warn: err) }

    /// Loads, changes and saves the progress file in one step.
    @discardableResult
    public func updateProgress(_ change: (inout Progress) -> Void) -> Progress {
        progressStore.update(warn: err, change)
    }

    /// The exercise file for a lesson, relative to the package: `Exercises/01-…/ForkAndMap.swift`.
    public func exerciseFile(_ lesson: LessonInfo) -> String {
        let folder = "Exercises/\(lesson.folder)"
        let files = (try? FileManager.default.contentsOfDirectory(atPath: PackagePaths.absolute(folder))) ?? []
        if let swift = files.sorted().first(where: { $0.hasSuffix(".swift") }) { return "\(folder)/\(swift)" }
        return folder + "/"
    }
}
