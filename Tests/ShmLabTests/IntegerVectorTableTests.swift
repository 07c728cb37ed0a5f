import Foundation
import LabKit
import Testing

/// Lesson 03 part 1 compares the student's encoding with a committed table of vectors that
/// CPython made. These tests prove the table right with the python3 on this machine (CI has
/// 3.11); without python3 they are skipped, saying why.
@Suite("Lesson 03's vector table is what CPython says",
       .enabled(if: findOnPath("python3") != nil, "python3 is not on PATH: the table cannot be checked against CPython here"))
struct IntegerVectorTableTests {
    static let folder = PackagePaths.absolute("Sources/Lessons/L03BytesAndIntegers")

    /// The table's lines: "value length order signedness hex-or-OverflowError".
    static func committedVectors() throws -> [String] {
        let source = try String(contentsOfFile: folder + "/Lesson03Vectors.swift", encoding: .utf8)
        return source.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { $0.split(separator: " ").count == 5 && ($0.first?.isNumber == true || $0.first == "-") }
    }

    @Test("regenerating the table with live python3 gives the committed file")
    func regeneratedTableMatches() throws {
        let run = try Python.run(["\(Self.folder)/make_vectors.py"])
        #expect(run.status == 0, "make_vectors.py failed: \(run.stderr)")
        let committed = try String(contentsOfFile: Self.folder + "/Lesson03Vectors.swift", encoding: .utf8)
        // The comment lines name the CPython version that made the file; everything else must match.
        func content(_ text: String) -> [Substring] { text.split(separator: "\n").filter { !$0.hasPrefix("//") } }
        let fresh = content(run.stdout), kept = content(committed)
        #expect(fresh.count == kept.count, "the regenerated table has \(fresh.count) lines, the committed one \(kept.count)")
        if let first = zip(fresh, kept).enumerated().first(where: { $0.element.0 != $0.element.1 }) {
            Issue.record("line \(first.offset) differs: python3 says \"\(first.element.0)\", the committed file \"\(first.element.1)\"")
        }
    }

    @Test("a sample of the committed vectors, recomputed with int.to_bytes and int.from_bytes")
    func sampleMatchesLivePython() throws {
        let vectors = try Self.committedVectors()
        #expect(vectors.count == 990)
        // Every 7th vector plus every OverflowError of 8 bytes: computed here, not by make_vectors.py.
        let sample = vectors.enumerated().filter { $0.offset % 7 == 0 || ($0.element.hasSuffix("OverflowError") && $0.element.contains(" 8 ")) }
            .map(\.element)
        let script = """
            import sys
            for line in sys.stdin.read().splitlines():
                value, length, order, signedness, expected = line.split()
                value, length, signed = int(value), int(length), signedness == "signed"
                try:
                    data = value.to_bytes(length, order, signed=signed)
                    got = data.hex()
                    assert int.from_bytes(data, order, signed=signed) == value
                except OverflowError:
                    got = "OverflowError"
                print("ok" if got == expected else f"MISMATCH {line} python3 gives {got}")
            """
        let run = try Python.run(["-c", script], input: sample.joined(separator: "\n") + "\n")
        #expect(run.status == 0, "python3 failed: \(run.stderr)")
        let answers = run.stdout.split(separator: "\n")
        #expect(answers.count == sample.count, "python3 answered \(answers.count) of \(sample.count) vectors")
        let wrong = answers.filter { $0 != "ok" }
        #expect(wrong.isEmpty, "\(wrong.count) of \(sample.count) vectors disagree with python3:\n\(wrong.prefix(5).joined(separator: "\n"))")
    }
}

/// python3 run through Foundation's Process (never fork in the test process). Blocks the test's
/// thread until it ends, for the reason given at `LabBinary.run`.
enum Python {
    struct Run { let status: Int32; let stdout: String; let stderr: String }

    static func run(_ arguments: [String], input: String = "") throws -> Run {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: findOnPath("python3")!)
        process.arguments = arguments
        let stdin = Pipe(), stdout = Pipe(), stderr = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        process.standardError = stderr
        try process.run()
        nonisolated(unsafe) var errData = Data()
        let group = DispatchGroup()
        group.enter()
        DispatchQueue.global().async {
            errData = stderr.fileHandleForReading.readDataToEndOfFile()
            group.leave()
        }
        group.enter()
        DispatchQueue.global().async {
            stdin.fileHandleForWriting.write(Data(input.utf8))
            try? stdin.fileHandleForWriting.close()
            group.leave()
        }
        let outData = stdout.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        process.waitUntilExit()
        return Run(status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
                   stderr: String(decoding: errData, as: UTF8.self))
    }
}
