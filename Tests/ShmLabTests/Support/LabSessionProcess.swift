import Foundation
import LabKit
import Testing

/// A `lab` process the test talks to while it runs: keys go to its standard input, its output
/// is collected as it comes, and the test waits for a text to appear (`lab watch`, `lab reset`'s
/// question). Standard error is merged into the output.
///
/// The waits poll every 50 ms with `Thread.sleep`, on the test's thread (one of Swift Testing's
/// cooperative threads): on purpose, because a synchronous test body occupies one such thread
/// anyway, and nothing this process needs to finish the wait runs there (the output is read on a
/// thread of its own, the exit is seen by Foundation's SIGCHLD handler), so blocking starves nothing.
/// Their time limits count only the lab's own time, not its waits for the machine lock
/// (`LabTimeLimit`).
final class LabSessionProcess: @unchecked Sendable {
    let process = Process()
    private let input = Pipe()
    private let output = Pipe()
    private let lock = NSLock()
    private var collected = Data()
    /// True once the output reached its end (every writer closed it): nothing more will come.
    private var outputEnded = false

    init(_ arguments: [String], environment: [String: String] = [:], executable: String = LabBinary.path) throws {
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        env["NO_COLOR"] = "1"
        // Inside `swift test` the part hosts are already built, and SwiftPM's build lock is held.
        env["SHMLAB_NO_BUILD"] = "1"
        // The labs of this test run share a part lock of their own: labs elsewhere on the machine
        // (a student's, a check loop beside CI) cannot starve the tests that hold it.
        env["SHMLAB_PART_LOCK"] = LabBinary.partLockPath
        for (key, value) in environment { env[key] = value }
        process.environment = env
        process.standardInput = input
        process.standardOutput = output
        process.standardError = output
        try process.run()
        // One reader to the end of the output, so that "ended" means the last byte is collected
        // (a readability handler gives no such moment).
        let handle = output.fileHandleForReading
        Thread.detachNewThread { [weak self] in
            while true {
                let data = handle.availableData
                guard let self else { return }
                self.lock.lock()
                if data.isEmpty { self.outputEnded = true } else { self.collected.append(data) }
                self.lock.unlock()
                if data.isEmpty { return }
            }
        }
    }

    /// Everything printed so far.
    var text: String {
        lock.lock()
        defer { lock.unlock() }
        return String(decoding: collected, as: UTF8.self)
    }

    private var textAndEnd: (String, Bool) {
        lock.lock()
        defer { lock.unlock() }
        return (String(decoding: collected, as: UTF8.self), outputEnded)
    }

    /// Waits until the output contains `needle` (counting from `after` characters); false when the
    /// output ended without it, or after `timeout` seconds of the lab's own time.
    @discardableResult
    func waitFor(_ needle: String, after: Int = 0, timeout: Double = 90) -> Bool {
        var limit = LabTimeLimit(seconds: timeout, for: process.processIdentifier)
        while true {
            let (now, ended) = textAndEnd
            if now.count > after && String(now.dropFirst(after)).contains(needle) { return true }
            if ended || limit.expired() { return false }
            Thread.sleep(forTimeInterval: 0.05)
        }
    }

    /// Where the first `needle` after `after` characters ends (a character count), if printed yet.
    func end(of needle: String, after: Int) -> Int? {
        let now = text
        let rest = now.dropFirst(after)
        guard let found = rest.range(of: needle) else { return nil }
        return now.distance(from: now.startIndex, to: found.upperBound)
    }

    func send(_ keys: String) {
        input.fileHandleForWriting.write(Data(keys.utf8))
    }

    /// Waits for the end and for the last of the output; nil when it did not end within `timeout`
    /// seconds of its own time (it is then killed).
    func finish(timeout: Double = 60) -> Int32? {
        var limit = LabTimeLimit(seconds: timeout, for: process.processIdentifier)
        while process.isRunning && !limit.expired() { Thread.sleep(forTimeInterval: 0.05) }
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
            return nil
        }
        // The lab has ended; its output ends when the last descriptor on the pipe closes (a
        // descendant that kept it would be a leak: give up after 10 s rather than hang).
        let stopBy = monotonicSeconds() + 10
        while !textAndEnd.1 && monotonicSeconds() < stopBy { Thread.sleep(forTimeInterval: 0.01) }
        return process.terminationStatus
    }

    deinit {
        if process.isRunning { process.terminate(); process.waitUntilExit() }
    }
}

/// A throwaway package root for commands that change files: `Exercises/` and `Solutions/`
/// copied from the real package, with old modification times (a build never looks stale
/// because of the copy), and a progress folder of its own.
struct ScratchPackage {
    let root: String
    var progress: String { root + "/.lab" }
    var environment: [String: String] { ["SHMLAB_ROOT": root, "SHMLAB_PROGRESS_DIR": progress] }

    init() throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("sltest-scratch-\(UUID().uuidString.prefix(8))").path
        let fm = FileManager.default
        try fm.createDirectory(atPath: root, withIntermediateDirectories: true)
        for folder in ["Exercises", "Solutions"] {
            try fm.copyItem(atPath: PackagePaths.absolute(folder), toPath: "\(root)/\(folder)")
        }
        // Start from the untouched stubs whatever the student did to the real Exercises/.
        for file in LabBinary.pristine {
            try Data(file.contents.utf8).write(to: URL(fileURLWithPath: "\(root)/\(file.path)"))
        }
        for path in SourceSnapshot.swiftFiles(under: root) {
            try fm.setAttributes([.modificationDate: Date(timeIntervalSince1970: 1_000_000_000)], ofItemAtPath: path)
        }
    }

    func read(_ relative: String) -> String? {
        FileManager.default.contents(atPath: "\(root)/\(relative)").map { String(decoding: $0, as: UTF8.self) }
    }

    func write(_ relative: String, _ text: String) throws {
        try Data(text.utf8).write(to: URL(fileURLWithPath: "\(root)/\(relative)"))
    }

    func remove() { try? FileManager.default.removeItem(atPath: root) }
}

extension LabBinary {
    /// The untouched stubs compiled into the binary (`lab __pristine`).
    static let pristine: [PristineFile] = {
        guard let run = try? run(["__pristine"]),
              let files = try? JSONDecoder().decode([PristineFile].self, from: Data(run.stdout.utf8)) else {
            fatalError("could not read the pristine stubs from \(path)")
        }
        return files
    }()
}
