import Foundation
import LabKit
import Testing

/// A `lab` process the test talks to while it runs: keys go to its standard input, its output
/// is collected as it comes, and the test waits for a text to appear (`lab watch`, `lab reset`'s
/// question). Standard error is merged into the output.
final class LabSessionProcess: @unchecked Sendable {
    let process = Process()
    private let input = Pipe()
    private let output = Pipe()
    private let lock = NSLock()
    private var collected = Data()

    init(_ arguments: [String], environment: [String: String] = [:], executable: String = LabBinary.path) throws {
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        env["NO_COLOR"] = "1"
        // Inside `swift test` the part hosts are already built, and SwiftPM's build lock is held.
        env["SHMLAB_NO_BUILD"] = "1"
        for (key, value) in environment { env[key] = value }
        process.environment = env
        process.standardInput = input
        process.standardOutput = output
        process.standardError = output
        output.fileHandleForReading.readabilityHandler = { [weak self] handle in
            let data = handle.availableData
            guard let self, !data.isEmpty else { return }
            self.lock.lock()
            self.collected.append(data)
            self.lock.unlock()
        }
        try process.run()
    }

    /// Everything printed so far.
    var text: String {
        lock.lock()
        defer { lock.unlock() }
        return String(decoding: collected, as: UTF8.self)
    }

    /// Waits until the output contains `needle` (counting from `after` characters); false on timeout.
    @discardableResult
    func waitFor(_ needle: String, after: Int = 0, timeout: Double = 90) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            let now = text
            if now.count > after && String(now.dropFirst(after)).contains(needle) { return true }
            if !process.isRunning && !String(text.dropFirst(after)).contains(needle) {
                Thread.sleep(forTimeInterval: 0.1)
                return String(text.dropFirst(after)).contains(needle)
            }
            Thread.sleep(forTimeInterval: 0.05)
        }
        return false
    }

    func send(_ keys: String) {
        input.fileHandleForWriting.write(Data(keys.utf8))
    }

    /// Waits for the end; nil when it did not end in time (it is then killed).
    func finish(timeout: Double = 60) -> Int32? {
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
            return nil
        }
        output.fileHandleForReading.readabilityHandler = nil
        // Whatever is still in the pipe.
        let rest = output.fileHandleForReading.readDataToEndOfFile()
        lock.lock()
        collected.append(rest)
        lock.unlock()
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
