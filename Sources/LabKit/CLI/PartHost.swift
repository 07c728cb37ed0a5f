import Foundation
import Glibc

/// A lesson's part host (`lab-lesson-NN`): the only program that links the lesson's checks with
/// the student's code, the reference and the mutants. The runner starts it once per part
/// (`__part`) and the checks start it as an unrelated peer (`__peer`); `__catalog` says what it
/// holds. It has no user commands.
public enum PartHost {
    public static func main(_ entry: LessonEntry) -> Never {
        let arguments = Array(CommandLine.arguments.dropFirst())
        switch arguments.first {
        case "__part" where arguments.count == 4:
            guard Int(arguments[1]) == entry.info.number, let part = Int(arguments[2]),
                  let implementation = Implementation(arguments[3]) else { break }
            PartProcess.runPart(entry, part: part, implementation: implementation)
        case "__peer" where arguments.count >= 4:
            guard Int(arguments[1]) == entry.info.number, let implementation = Implementation(arguments[3]) else { break }
            PartProcess.runPeer(entry, name: arguments[2], implementation: implementation,
                                arguments: Array(arguments.dropFirst(4)))
        case "__catalog":
            Console.out(CatalogRecord(lessons: [entry]).encoded() + "\n")
            exit(0)
        default:
            break
        }
        Console.err("""
            \(PartHosts.name(of: entry.info)) runs the parts of lesson \(entry.info.twoDigits) for the lab; it is not \
            meant to be started by hand. Use `swift run lab check \(entry.info.number)`.
            (arguments: \(arguments.joined(separator: " ")))\n
            """)
        exit(ExitStatus.usage)
    }
}
