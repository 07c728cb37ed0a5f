import Foundation

/// An untouched exercise file as it ships with the lab, compiled into the `lab` binary so that
/// `lab reset` works without git and whatever the student did to `Exercises/`.
///
/// The copies live in `Sources/Lessons/Pristine/PristineStubs.swift`, generated from a fresh
/// clone's `Exercises/` by `swift run lab __pristine --write`; a test proves they equal the
/// committed stubs.
public struct PristineFile: Sendable, Equatable, Codable {
    /// Relative to the package: "Exercises/01-fork-and-mmap/ForkAndMap.swift".
    public let path: String
    public let contents: String

    public init(_ path: String, _ contents: String) {
        self.path = path
        self.contents = contents
    }

    /// "01-fork-and-mmap" for a file in `Exercises/01-fork-and-mmap/`.
    public var folder: String {
        let parts = path.split(separator: "/")
        return parts.count >= 3 ? String(parts[1]) : ""
    }
}

/// The shape of an exercise stub: every function body is exactly `todo()`.
public enum StubShape {
    /// True when `source` declares at least one function and every function body is `todo()` and
    /// nothing else (comments aside): the file as it ships. Initializers and `deinit` may keep
    /// what the lab hands them (a descriptor, a connection), so their bodies are not judged.
    public static func isUntouched(_ source: String) -> Bool {
        let code = stripCommentsAndStrings(source)
        // A lesson with nothing to write (09 measures earlier lessons) ships comments only.
        if code.allSatisfy(\.isWhitespace) { return true }
        let bodies = functionBodies(code)
        return !bodies.isEmpty && bodies.allSatisfy { $0.filter { !$0.isWhitespace } == "todo()" }
    }

    /// The text between the braces of every `func` body, in order.
    static func functionBodies(_ code: [Character]) -> [String] {
        var bodies: [String] = []
        var i = 0
        while i < code.count {
            guard let keywordEnd = keyword(in: code, at: i) else { i += 1; continue }
            // The body starts at the first `{` outside parentheses after the signature.
            var j = keywordEnd
            var parens = 0
            while j < code.count {
                let c = code[j]
                if c == "(" || c == "[" { parens += 1 }
                if c == ")" || c == "]" { parens -= 1 }
                if parens == 0 && (c == "{" || c == "}" || c == ";") { break }
                j += 1
            }
            guard j < code.count, code[j] == "{" else { i = j; continue }   // a requirement without a body
            var depth = 0
            var k = j
            while k < code.count {
                if code[k] == "{" { depth += 1 }
                if code[k] == "}" { depth -= 1; if depth == 0 { break } }
                k += 1
            }
            guard k < code.count else { return bodies }
            bodies.append(String(code[(j + 1)..<k]))
            i = k + 1
        }
        return bodies
    }

    /// The index after `func` when one starts at `i` as a whole word.
    static func keyword(in code: [Character], at i: Int) -> Int? {
        for word in ["func"] {
            let letters = Array(word)
            guard i + letters.count <= code.count, Array(code[i..<(i + letters.count)]) == letters else { continue }
            let before = i == 0 ? " " : code[i - 1]
            let after = i + letters.count < code.count ? code[i + letters.count] : " "
            // A whole word, and not a call such as `.init(…)` or `self.init(…)`.
            if isIdentifier(before) || before == "." || isIdentifier(after) { continue }
            return i + letters.count
        }
        return nil
    }

    static func isIdentifier(_ c: Character) -> Bool { c.isLetter || c.isNumber || c == "_" }

    /// The source with comments removed and string literals emptied, so that braces inside
    /// them do not count.
    static func stripCommentsAndStrings(_ source: String) -> [Character] {
        let s = Array(source)
        var out: [Character] = []
        var i = 0
        while i < s.count {
            if s[i] == "/" && i + 1 < s.count && s[i + 1] == "/" {
                while i < s.count && s[i] != "\n" { i += 1 }
            } else if s[i] == "/" && i + 1 < s.count && s[i + 1] == "*" {
                var depth = 0
                while i < s.count {
                    if s[i] == "/" && i + 1 < s.count && s[i + 1] == "*" { depth += 1; i += 2; continue }
                    if s[i] == "*" && i + 1 < s.count && s[i + 1] == "/" { depth -= 1; i += 2; if depth == 0 { break }; continue }
                    i += 1
                }
            } else if s[i] == "\"" {
                let triple = i + 2 < s.count && s[i + 1] == "\"" && s[i + 2] == "\""
                i += triple ? 3 : 1
                while i < s.count {
                    if s[i] == "\\" { i += 2; continue }
                    if triple, s[i] == "\"", i + 2 < s.count, s[i + 1] == "\"", s[i + 2] == "\"" { i += 3; break }
                    if !triple && (s[i] == "\"" || s[i] == "\n") { i += 1; break }
                    i += 1
                }
                out.append(contentsOf: "\"\"")
            } else {
                out.append(s[i])
                i += 1
            }
        }
        return out
    }
}

/// Writes the Swift source that embeds the pristine copies (`lab __pristine --write`).
public enum PristineSource {
    /// The Swift file declaring `PristineStubs.files` with each file as a raw string literal.
    public static func render(_ files: [PristineFile]) -> String {
        var text = """
            // Generated by `swift run lab __pristine --write` from Exercises/ on a fresh clone: the
            // untouched stubs `lab reset` restores. Do not edit by hand; a test checks that these
            // equal the committed stubs.
            import LabKit

            public enum PristineStubs {
                public static let files: [PristineFile] = [

            """
        for file in files.sorted(by: { $0.path < $1.path }) {
            let hashes = delimiter(for: file.contents)
            text += "        PristineFile(\"\(file.path)\", \(hashes)\"\"\"\n\(file.contents)\n\"\"\"\(hashes)),\n"
        }
        text += "    ]\n}\n"
        return text
    }

    /// Enough `#` that neither the closing delimiter nor an escape can occur in `contents`.
    static func delimiter(for contents: String) -> String {
        var hashes = "#"
        while contents.contains("\"\"\"" + hashes) || contents.contains("\\" + hashes) { hashes += "#" }
        return hashes
    }
}
