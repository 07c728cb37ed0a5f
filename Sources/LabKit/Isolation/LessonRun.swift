/// How one lesson's parts ran against one implementation: the results in part order, the build
/// failure that stopped them, the time spent waiting for other labs, and whether a key stopped
/// the run. Made by `LessonRun.run`, the one place that runs a lesson's parts (`check`, `grade`
/// and `watch` all call it).
public struct LessonRun {
    public let lesson: LessonEntry
    /// One result per part that ran to its end (a part a key stopped is not among them).
    public private(set) var results: [PartResult] = []
    /// The lesson's host did not compile: every part failed with the compiler's first error.
    public private(set) var doesNotCompile: LessonDoesNotCompile?
    /// Seconds spent waiting for other labs' parts (parts run one at a time for each user).
    public private(set) var waitedForOtherLabs = 0.0
    /// A key stopped the run (watch mode's q or r) before its last part ended.
    public private(set) var stoppedByKey = false

    /// Runs `lesson`'s parts (or only `onlyPart`) against `implementation`, each in its own
    /// process, in part order, with the host `hosts` gives (built first when this lab builds);
    /// `each` sees every result as soon as its part ends (not the failures of a lesson that does
    /// not compile: the caller says that once, from `doesNotCompile`). `keys` may stop the run.
    public static func run(_ lesson: LessonEntry, implementation: Implementation, hosts: PartHosts,
                           timeout: Double? = nil, seed: UInt64 = PartSeed.fresh(), onlyPart: Int? = nil,
                           keys: StopKeys? = nil, each: (PartResult) -> Void = { _ in }) -> LessonRun {
        var run = LessonRun(lesson: lesson)
        let parts = lesson.parts.filter { onlyPart == nil || $0.number == onlyPart }
        let host: String
        do {
            host = try hosts.host(for: lesson.info)
        } catch {
            run.doesNotCompile = error as? LessonDoesNotCompile
            // Every part fails the same way; the compiler's output is shown once by the caller.
            for part in parts {
                let result = PartResult(lesson: lesson.info, part: part, implementation: implementation,
                                        outcome: .failed(LessonDoesNotCompile.prefix(lesson.info)
                                                         + BuildOutput.firstError(in: run.doesNotCompile?.output ?? "\(error)")),
                                        output: "", leftovers: [], seconds: 0)
                run.results.append(result)
                // A missing host is said part by part; a compile error once, by the caller.
                if run.doesNotCompile == nil { each(result) }
            }
            return run
        }
        for part in parts {
            let called = monotonicSeconds()
            let result = IsolatedRun.run(PartRequest(lesson: lesson.info, part: part, implementation: implementation,
                                                     timeout: timeout, seed: seed),
                                         executable: host, keys: keys)
            run.waitedForOtherLabs += max(0, monotonicSeconds() - called - result.seconds)
            if result.stoppedByKey {
                run.stoppedByKey = true
                return run
            }
            run.results.append(result)
            each(result)
        }
        return run
    }

    /// True when every graded part passed or was skipped.
    public var allGradedPass: Bool {
        results.allSatisfy { !$0.part.graded || $0.outcome.isPassed || $0.outcome.kind == .skipped }
    }
}
