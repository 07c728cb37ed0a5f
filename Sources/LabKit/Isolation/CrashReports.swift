import CShmLab
import Foundation
import Glibc

/// What Swift's backtracer (the toolchain's `swift-backtrace`) wrote about one process of a part
/// that crashed, read back by the runner: the runtime's reason, the faulting address, the first
/// frames of the crashed thread with their source lines, and the process's memory map when it
/// crashed (`shmlab_install_crash_maps`).
///
/// A part runs with `SWIFT_BACKTRACE=enable=yes,interactive=no,format=json,output-to=DIR,…` and
/// `LAB_CRASH_DIR=DIR`: every process of the part that crashes (the part, a forked child, a
/// thread of either, a peer) leaves one JSON file `NAME-PID-….json` there; the runner reads them
/// after the part and removes the folder. The backtracer only runs when a process crashes.
public struct CrashReport: Equatable, Sendable {
    public struct Frame: Equatable, Sendable {
        /// "increment(counterIn:at:length:order:lock:)" (demangled, without "+ offset").
        public let function: String
        /// The source file as compiled (absolute), or nil when the frame has none.
        public let file: String?
        public let line: Int
        public let column: Int
        /// An inlined frame the compiler made for a runtime check ("Swift runtime failure: …").
        public let runtimeFailure: Bool
    }

    public let pid: pid_t
    /// The backtracer's description: "Swift runtime failure: arithmetic overflow", "Bad pointer
    /// dereference", "Bus error", "Illegal instruction", …
    public let description: String
    /// For SIGSEGV and SIGBUS, the address that was touched (for a trap, the instruction's).
    public let faultAddress: UInt64?
    /// The crashed thread's frames, innermost first.
    public let frames: [Frame]
    /// Where the fault address lies, from the process's map at the crash (nil: no map, or no fault).
    public var faultMapping: String? = nil

    /// The environment a part gets so that a crash is written to `directory`.
    public static func environment(directory: String) -> [String: String] {
        ["SWIFT_BACKTRACE": "enable=yes,interactive=no,color=no,format=json,output-to=\(directory),"
            + "threads=crashed,registers=none,images=none,limit=32,top=0",
         directoryVariable: directory]
    }

    /// Names the folder crash reports go to, in the part's environment.
    public static let directoryVariable = "LAB_CRASH_DIR"

    /// In a part or peer process: notes the memory map now and at a crash (see
    /// `shmlab_install_crash_maps`), when the runner asked for crash reports.
    public static func installMapNotes() {
        guard let directory = getenv(directoryVariable) else { return }
        _ = shmlab_install_crash_maps(directory)
    }

    /// Makes the folder for one part's crash reports: `TMP/shmlab-part-RUNNER-crash-XXXXXX` (the
    /// runner's pid in the name, so that the next lab removes it if this one is killed).
    static func makeDirectory() -> String? {
        LeftoverSweep.makeRunnerFolder("crash")
    }

    /// Reads every report in `directory` (oldest first), then removes the folder.
    static func collect(from directory: String) -> [CrashReport] {
        defer { removeTree(directory) }
        let names = LeftoverSweep.list(directory)
        var maps: [pid_t: (start: String?, crash: String?)] = [:]
        for name in names where name.hasPrefix("maps-") {
            let fields = name.dropFirst("maps-".count).split(separator: ".")
            guard fields.count == 2, let pid = pid_t(fields[0]),
                  let text = try? readFile("\(directory)/\(name)") else { continue }
            let contents = String(decoding: text, as: UTF8.self)
            if fields[1] == "start" { maps[pid, default: (nil, nil)].start = contents }
            if fields[1] == "crash" { maps[pid, default: (nil, nil)].crash = contents }
        }
        // A forked child has no map of its own from the start: it began as a copy of the part's.
        let firstStart = maps.sorted { $0.key < $1.key }.first { $0.value.start != nil }?.value.start
        var reports: [CrashReport] = []
        for name in names.sorted() where name.hasSuffix(".json") {
            guard let bytes = try? readFile("\(directory)/\(name)"),
                  var report = parse(Data(bytes), fileName: name) else { continue }
            if let crash = maps[report.pid]?.crash, let address = report.faultAddress,
               report.description == "Bad pointer dereference" || report.description == "Bus error" {
                report.faultMapping = MemoryMap(crash).describe(address, before: MemoryMap(maps[report.pid]?.start ?? firstStart ?? ""))
            }
            reports.append(report)
        }
        return reports
    }

    /// One backtracer JSON file; the pid comes from its name (`NAME-PID-N.N.json`).
    static func parse(_ data: Data, fileName: String) -> CrashReport? {
        let fields = fileName.split(separator: "-")
        guard fields.count >= 3, let pid = pid_t(fields[fields.count - 2]),
              let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return nil }
        let threads = object["threads"] as? [[String: Any]] ?? []
        let crashedIndex = threads.firstIndex { ($0["crashed"] as? Bool) == true }
        let crashed = crashedIndex.map { threads[$0] } ?? threads.first ?? [:]
        let frames: [Frame] = (crashed["frames"] as? [[String: Any]] ?? []).compactMap { frame in
            guard let description = frame["description"] as? String ?? frame["symbol"] as? String else { return nil }
            let location = frame["sourceLocation"] as? [String: Any]
            let file = (location?["file"] as? String).flatMap { $0.isEmpty || $0.contains("<compiler-generated>") ? nil : $0 }
            var function = description
            if let plus = function.range(of: " + ", options: .backwards), function[plus.upperBound...].allSatisfy(\.isNumber) {
                function = String(function[..<plus.lowerBound])
            }
            return Frame(function: function, file: file, line: location?["line"] as? Int ?? 0,
                         column: location?["column"] as? Int ?? 0, runtimeFailure: frame["runtimeFailure"] as? Bool ?? false)
        }
        let address = (object["faultAddress"] as? String).flatMap { UInt64($0.dropFirst(2), radix: 16) }
        return CrashReport(pid: pid, description: object["description"] as? String ?? "crash", faultAddress: address,
                           frames: frames)
    }

    /// The runtime's reason for a trap: "arithmetic overflow" from its inlined failure frame, or
    /// the text after "Fatal error: " the runtime printed (`output`), or nil.
    public func trapReason(output: String) -> String? {
        let prefix = "Swift runtime failure: "
        if let failure = frames.first(where: \.runtimeFailure), failure.function.hasPrefix(prefix) {
            return String(failure.function.dropFirst(prefix.count))
        }
        if description.hasPrefix(prefix) { return String(description.dropFirst(prefix.count)) }
        // "Swift/ContiguousArrayBuffer.swift:691: Fatal error: Index out of range" (the last such line).
        if let line = output.split(separator: "\n").last(where: { $0.contains("Fatal error: ") }),
           let range = line.range(of: "Fatal error: ") {
            let reason = line[range.upperBound...].trimmingCharacters(in: .whitespaces)
            return reason.isEmpty ? nil : String(reason.prefix(300))
        }
        return nil
    }

    /// The first frame in the student's folder (`Exercises/`), else the first with a source line
    /// that is not the standard library's or the runtime's; `inExercises` says which.
    public var firstUsefulFrame: (frame: Frame, inExercises: Bool)? {
        let located = frames.filter { $0.file != nil && !$0.runtimeFailure && $0.line > 0 }
        if let own = located.first(where: { $0.file!.contains("/Exercises/") }) { return (own, true) }
        if let any = located.first(where: { !$0.file!.hasPrefix("/") || !$0.file!.contains("/swift/stdlib/") }) { return (any, false) }
        return nil
    }

    /// "Exercises/03-…/IntegerBytes.swift:42:23 in increment(counterIn:at:length:order:lock:)".
    public static func location(_ frame: Frame) -> String {
        var file = frame.file ?? "?"
        if let range = file.range(of: "/Exercises/") { file = "Exercises/" + file[range.upperBound...] }
        else { file = PackagePaths.relative(file) }
        return "\(file):\(frame.line):\(frame.column) in \(frame.function)"
    }

    /// One line for a report: the reason, where, and for a bad access where the address lay.
    public func summary(output: String) -> String {
        var text: String
        switch description {
        case "Bad pointer dereference", "Bus error":
            text = description == "Bus error" ? "bus error" : "bad memory access"
            if let address = faultAddress {
                text += " at 0x\(String(address, radix: 16))"
                if let mapping = faultMapping { text += " (\(mapping))" }
            }
        default:
            if let reason = trapReason(output: output) { text = reason } else { text = description }
        }
        if let (frame, own) = firstUsefulFrame {
            text += own ? " — at \(Self.location(frame))" : " — at \(Self.location(frame)) (no frame in Exercises/)"
        }
        return text
    }
}

/// A process's memory map (`/proc/PID/maps` text), to say where an address lies.
struct MemoryMap {
    struct Entry: Equatable {
        let low: UInt64
        let high: UInt64
        let permissions: String
        let path: String

        var shared: Bool { permissions.last == "s" }
        /// "the MAP_SHARED anonymous mapping 0x7f…-0x7f… (4096 bytes)", "/dev/shm/x (MAP_SHARED, …)".
        var name: String {
            let kind = shared ? "MAP_SHARED" : "MAP_PRIVATE"
            let size = "\(high - low) bytes"
            let span = "0x\(String(low, radix: 16))-0x\(String(high, radix: 16))"
            switch path {
            case "", "/dev/zero (deleted)": return "a \(kind) anonymous mapping \(span) (\(size), \(permissions))"
            case "[heap]": return "the heap"
            case "[stack]": return "the main thread's stack"
            default: return "\(path) \(span) (\(kind), \(size), \(permissions))"
            }
        }
    }

    let entries: [Entry]

    init(_ text: String) {
        entries = text.split(separator: "\n").compactMap { line in
            let columns = line.split(separator: " ", maxSplits: 5, omittingEmptySubsequences: true)
            let range = columns.first?.split(separator: "-") ?? []
            guard columns.count >= 5, range.count == 2, let low = UInt64(range[0], radix: 16),
                  let high = UInt64(range[1], radix: 16) else { return nil }
            let path = columns.count == 6 ? columns[5].trimmingCharacters(in: .whitespaces) : ""
            return Entry(low: low, high: high, permissions: String(columns[1]), path: path)
        }
    }

    /// Where `address` lies: in which mapping (and whether that mapping was made after `before`
    /// was taken, i.e. during the part), or in none (and what is nearest).
    func describe(_ address: UInt64, before: MemoryMap) -> String {
        if address < 65536 {
            return "in no mapping: a null pointer (or one that was never set) plus \(address)"
        }
        if let entry = entries.first(where: { $0.low <= address && address < $0.high }) {
            let made = before.entries.isEmpty ? "" : before.entries.contains(entry)
                ? ", which existed before the part began" : ", which was mapped during the part"
            var text = "+0x\(String(address - entry.low, radix: 16)) in \(entry.name)\(made)"
            if entry.path.hasPrefix("/dev/shm/") || entry.path.hasPrefix("/memfd:") {
                text += "; a SIGBUS there means the object behind it is shorter than the mapping (ftruncate?)"
            } else if !entry.permissions.hasPrefix("rw") {
                text += "; the mapping is \(entry.permissions.hasPrefix("r") ? "read-only" : "not accessible")"
            }
            return text
        }
        let below = entries.last { $0.high <= address }
        let above = entries.first { $0.low > address }
        var text = "in no mapping"
        if let below { text += "; \(address - below.high) bytes past the end of \(below.name)" }
        else if let above { text += "; \(above.low - address) bytes before \(above.name)" }
        if let below, !before.entries.isEmpty, !before.entries.contains(below) { text += ", mapped during the part" }
        return text
    }
}
