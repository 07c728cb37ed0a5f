import Glibc

/// How code that runs inside a part process speaks to the runner without being able to say
/// "passed": the part host installs these before any student code runs. Only the host can report
/// a part's verdict; this module (all the student's code can import) can say only that a function
/// is not written yet, or that a helper child failed.
public enum PartReport {
    /// Reports "not started": the function still `todo()` and `file:line`. Nil outside a part.
    nonisolated(unsafe) public static var notStarted: ((_ function: String, _ location: String) -> Void)?
    /// Reports a failure from a child forked with `forkChild`. Nil outside a part.
    nonisolated(unsafe) public static var failure: ((_ message: String) -> Void)?
    /// Exit status of a process that reached `todo()`.
    public static let notStartedExitCode: Int32 = 3
}

/// Marks a function the student has not written yet.
///
/// Inside a lab part it reports "not started" with the function and `file:line`, ends the helpers
/// this process forked, then ends the process. Outside the lab it prints the same and exits with
/// status 3.
public func todo(_ function: StaticString = #function, filePath: StaticString = #filePath,
                 line: UInt = #line) -> Never {
    let location = "\(PackagePaths.relative("\(filePath)")):\(line)"
    if let report = PartReport.notStarted {
        report("\(function)", location)
    } else {
        Console.err("not started: \(function) at \(location) is still todo()\n")
    }
    LabHelpers.endAll()
    _exit(PartReport.notStartedExitCode)
}
