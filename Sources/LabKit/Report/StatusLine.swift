import Glibc

/// One line on standard error that says what the lab is doing while it does it (a measurement
/// that runs, a wait for another lab's part): on a terminal, rewritten in place and erased when it
/// is over, so that what comes next takes its place; elsewhere nothing (a caller that must say it
/// in a log writes lines of its own). Never on standard output, which `--json` keeps for results.
struct StatusLine {
    let terminal = isatty(2) == 1
    /// What the line says now; nil when nothing is shown.
    private(set) var shown: String? = nil

    /// Shows `text` in place of what was there (written only when it changed).
    mutating func show(_ text: String) {
        guard terminal else { return }
        if text != shown { Console.err("\r\u{1B}[2K" + text) }
        shown = text
    }

    /// Erases the line.
    mutating func clear() {
        if terminal && shown != nil { Console.err("\r\u{1B}[2K") }
        shown = nil
    }
}
