import Foundation
import Glibc

/// `lab bench`: every lesson's benchmark in one run — the student's code (or the reference) beside
/// the lab's raw baselines and CPython's equivalents. Each measurement runs in its own process
/// (`lab __peer N bench IMPLEMENTATION NAME --lines`), the way a part runs, so a crash or a
/// `todo()` costs that row only.
extension BuiltinCommands {
    static var bench: LabCommand { LabCommand(CommandSpec(
        "bench", summary: "Measure your locks, queues, pipes, manager, shared arrays, ring and worker starts beside raw baselines and Python.",
        options: [
            OptionSpec("solutions", help: "Measure the reference solutions instead of your exercises."),
            OptionSpec("json", value: "FILE", help: "Also write every figure (all repetitions, median, ratios) as JSON."),
            OptionSpec("quick", help: "Less data and 3 repetitions: a rough picture in under a minute."),
            OptionSpec("no-python", help: "Leave CPython's figures out (they need python3 on PATH)."),
        ],
        discussion: """
            Each measurement runs in its own process, after a warm-up, several times; the table shows
            the median, the spread of the repetitions ((highest - lowest) / median), and the median
            divided by the lab's raw baseline (memcpy, a raw pipe, a raw socketpair...) and by
            CPython's multiprocessing equivalent measured in the same run. A function that is still
            todo() makes its row "not started"; a crash or a hang is reported on its row.
            Measure a release build for figures worth comparing: swift run -c release lab bench.

            ROWS (measurement .row, as named in --json; ↑ higher is better, ↓ lower; "your" rows
            run your code, the others are the lab's baselines and CPython):
              Lesson 04  locked-counter  .one .four: your mutex, an increment by 1 process or 4 at once (ns ↓);
                         .atomic: an atomic add, no lock (baseline); .python-one .python-four: Value + its lock
              Lesson 05  queue  .rate: your queue, 64-byte messages, 1 producer → 1 consumer process (msg/s ↑);
                         .pipe: raw pipe, one write() per message (baseline); .python: multiprocessing.Queue
              Lesson 06  pipe-rt socketpair-rt  .connection: your round trip of 8 bytes, on one CPU (µs ↓);
                         .raw: the bare calls (baseline); .python: Pipe, send_bytes
                         pipe-bulk socketpair-bulk  .connection: 64 MiB in 1 MiB messages (GiB/s ↑);
                         .raw: 1 MiB write() (baseline); .python: Pipe, send_bytes
              Lesson 07  manager-call  .append .count .increment: your manager, one proxy call (µs ↓);
                         .raw: socketpair echo, .framed: FramedConnection echo, .coding: CompactJSON
                         (baselines); .python-append .python-len .python-increment: Manager
              Lesson 08  array-copy  .into .out: your copy of 64 MiB of Float64 (GiB/s ↑); .memcpy (baseline);
                         .python-into .python-out: SharedMemory buffer
                         array-element  .read .write: your element access (ns ↓); .raw: a pointer load
                         (baseline); .python-list .python-list-write .python-memoryview .python-manager
                         transfer-64k transfer-4m  .fresh .reused: your segment, made per transfer or
                         once (µs ↓); .pipe: write, read (baseline)
              Lesson 10  ring  .rate: your ring, trySend and receive (a new array) per 64-byte message
                         (msg/s ↑); .batch: your ring, trySend(batch:) of 32 and tryReceive(upTo:) in
                         place; .pipe: raw pipe (baseline); .queue05: lesson 05's reference queue;
                         .python: multiprocessing.Queue
                         false-sharing  .packed .padded: two processes pinned to two CPUs, an atomic
                         add each to its own counter, 8 or 128 bytes apart, timed while both run (M adds/s ↑)
              Lesson 11  start-worker  .spawn: your spawn of /bin/true (it exits at once) + waitpid (ms ↓);
                         .fork: fork + _exit + waitpid (baseline); .forkserver: a fork server's fork;
                         .python-fork .python-spawn .python-forkserver: Process running a no-op
                         function (spawn starts a new interpreter each time; forkserver forks a
                         server started once)
            """)) { invocation, session in
        try runBench(invocation, session)
    }}

    /// One measurement to run: which lesson's peer, its name and title.
    struct BenchPlanItem {
        let lesson: LessonEntry
        /// The lesson's part host, which runs the measurement.
        let host: String
        let name: String
        let title: String
        var heading: String { "Lesson \(lesson.info.twoDigits) · \(title)" }
    }

    static func runBench(_ invocation: Invocation, _ session: LabSession) throws -> Int32 {
        let implementation: Implementation = invocation.has("solutions") ? .solution : .exercise
        let quick = invocation.has("quick")
        let python = !invocation.has("no-python")
        let s = session.style
        let started = monotonicSeconds()
        var progress = StatusLine()      // which measurement runs, on a terminal
        // A bench takes a while: a --json path that cannot be written is said before, not after.
        if let path = invocation.values["json"], let problem = cannotWrite(path) {
            session.err("Error: cannot write the --json file: \(problem)\nNothing was measured.")
            return ExitStatus.failure
        }

        let plan = benchPlan(session, implementation: implementation)
        guard !plan.isEmpty else { throw LabError("no lesson in this lab has a benchmark") }
        let whose = implementation == .solution ? "the reference solutions (Solutions/)" : "your exercises (Exercises/)"
        session.out(s.bold("ShmLab bench") + " · \(whose) · \(BenchBuild.name) build · "
                    + (quick ? "quick: " : "") + "a warm-up, then \(quick ? 3 : 7) repetitions; the median is shown")
        if BenchBuild.name == "debug" {
            session.out(s.dim("A debug build runs Swift unoptimised (the lab's baselines too): for figures to compare, swift run -c release lab bench"))
        }
        if python && findOnPath("python3") == nil {
            session.out(s.yellow("python3 is not on PATH: CPython's figures are left out."))
        }
        session.out("")

        var figures: [BenchFigure] = []
        var notes: [String] = []
        var durations: [Double] = []
        for (index, item) in plan.enumerated() {
            progress.show(String("[\(index + 1)/\(plan.count)] \(item.heading)…".prefix(100)))
            var arguments = ["__peer", "\(item.lesson.info.number)", "bench", implementation.description, item.name, "--lines"]
            if quick { arguments.append("--quick") }
            if !python { arguments.append("--no-python") }
            let began = monotonicSeconds()
            let (measured, said) = runMeasurement(item, arguments: arguments, quick: quick)
            durations.append(monotonicSeconds() - began)
            figures += measured
            notes += said
        }
        progress.clear()

        let titles = Dictionary(uniqueKeysWithValues: plan.map { ($0.name, $0.heading) })
        let report = BenchReport(figures: figures, titles: titles, style: s)
        for index in figures.indices {
            figures[index].ratioToBaseline = report.ratio(figures[index], to: figures[index].baseline)
            figures[index].ratioToPython = report.ratio(figures[index], to: figures[index].python)
        }
        session.out(report.table())
        session.out(report.chart())
        session.out(s.dim("÷ baseline, ÷ Python: this row's median divided by that figure's, in this row's unit: for a time (↓) below 1 is faster, for a rate (↑) above 1 is faster."))
        for note in notes { session.out(s.yellow(note)) }
        let seconds = monotonicSeconds() - started
        session.out(s.dim("\(plan.count) measurements in \(formatSeconds(seconds))"))

        guard let path = invocation.values["json"] else { return ExitStatus.success }
        let document = BenchDocument(lab: "ShmLab \(Lab.version)", implementation: implementation.description,
                                     build: BenchBuild.name, quick: quick, python: python, seconds: seconds,
                                     measurements: zip(plan, durations).map {
                                         .init(name: $0.name, lesson: $0.lesson.info.number, title: $0.title, seconds: $1)
                                     },
                                     figures: figures)
        if let problem = writeResults(document.encoded(), to: path) {
            session.err("Error: cannot write the --json file: \(problem)")
            return ExitStatus.failure
        }
        return ExitStatus.success
    }

    /// Every lesson's measurements, in lesson order (`lab-lesson-NN __peer N bench IMPLEMENTATION
    /// --list`, which touches no implementation).
    static func benchPlan(_ session: LabSession, implementation: Implementation) -> [BenchPlanItem] {
        var plan: [BenchPlanItem] = []
        let lessons = session.visibleLessons.filter { $0.peerNames.contains("bench") }
        session.hosts.prepare(lessons.map(\.info))
        for lesson in lessons {
            let host: String
            do { host = try session.hosts.host(for: lesson.info) } catch {
                session.err("lesson \(lesson.info.twoDigits) does not compile: its measurements are left out (swift run lab check \(lesson.info.number) shows why)")
                continue
            }
            fflush(nil)
            guard let process = try? ChildProcess.spawn(
                host, ["__peer", "\(lesson.info.number)", "bench", implementation.description, "--list"],
                output: .captureStdout) else { continue }
            let (output, end) = process.collectOutput(timeout: 20)
            guard end == .exited(0) else {
                session.err("lesson \(lesson.info.twoDigits)'s benchmark did not list its measurements (\(end.map { "\($0)" } ?? "timed out"))")
                continue
            }
            for line in String(decoding: output, as: UTF8.self).split(separator: "\n") {
                let fields = line.split(separator: "\t", maxSplits: 1).map(String.init)
                if fields.count == 2 { plan.append(BenchPlanItem(lesson: lesson, host: host, name: fields[0], title: fields[1])) }
            }
        }
        return plan
    }

    /// Runs one measurement in its own process. When the implementation fails, what is still
    /// missing of the baselines and Python is measured again without it.
    static func runMeasurement(_ item: BenchPlanItem, arguments: [String], quick: Bool) -> ([BenchFigure], [String]) {
        let timeout: Double = quick ? 60 : 300
        let stopped = "the measurement '\(item.name)' of lesson \(item.lesson.info.twoDigits)"
        let run = IsolatedRun.runHidden(arguments, timeout: timeout, executable: item.host, stopped: stopped)
        var figures = BenchFigure.parse(run.output)
        var notes: [String] = []
        if !run.leftovers.isEmpty {
            notes.append("\(item.heading): left behind (and removed by the lab): " + run.leftovers.map(\.description).joined(separator: "; "))
        }
        let problem = benchProblem(run, timeout: timeout)
        figures = figures.map { $0.status == .pending ? $0.ended(problem?.status ?? .failed, note: problem?.note ?? "ended without recording it") : $0 }
        guard problem != nil else { return (figures, notes) }
        if figures.isEmpty {
            notes.append("\(item.heading): \(problem!.status.rawValue): \(problem!.note)")
        }
        guard figures.isEmpty || figures.contains(where: { $0.role != .implementation && $0.status != .measured }) else {
            return (figures, notes)
        }
        // The implementation took the process down: the baselines and Python once more, alone.
        let again = IsolatedRun.runHidden(arguments + ["--baselines-only"], timeout: timeout, executable: item.host,
                                          stopped: stopped)
        let secondProblem = benchProblem(again, timeout: timeout)
        for var figure in BenchFigure.parse(again.output) {
            if figure.status == .pending {
                figure = figure.ended(secondProblem?.status ?? .failed, note: secondProblem?.note ?? "ended without recording it")
            }
            if let index = figures.firstIndex(where: { $0.key == figure.key }) {
                if figures[index].status != .measured { figures[index] = figure }
            } else {
                figures.append(figure)
            }
        }
        return (figures, notes)
    }

    /// Why a measurement's process did not end well, in the words of the table; nil when it did.
    static func benchProblem(_ run: IsolatedRun.HiddenRun, timeout: Double) -> (status: BenchFigure.Status, note: String)? {
        if let error = run.couldNotStart { return (.failed, "could not start: \(error)") }
        if let todo = run.records.first(where: { $0.verdict == .notStarted }) {
            return (.notStarted, "\(todo.function ?? "a function") (\(todo.location ?? "?"))")
        }
        if run.timedOut { return (.timedOut, "stopped after \(Int(timeout)) s (a deadlock, or a wait that never ends?)") }
        if case .signaled(let signal) = run.end {
            return (.crashed, "\(signalName(signal)): \(PartOutcome.meaning(ofSignal: signal))")
        }
        if let failed = run.records.first(where: { $0.verdict == .failed }) {
            return (.failed, String(failed.message.split(separator: "\n").first ?? ""))
        }
        if run.end != .exited(0) {
            let said = run.output.split(separator: "\n").last { !$0.hasPrefix(BenchFigure.linePrefix) }
            return (.failed, "\(run.end)" + (said.map { ": \($0)" } ?? ""))
        }
        return nil
    }
}

/// The `--json` file of `lab bench`.
struct BenchDocument: Encodable {
    struct Measurement: Encodable {
        let name: String
        let lesson: Int
        let title: String
        let seconds: Double
    }
    let lab: String
    let implementation: String
    let build: String
    let quick: Bool
    let python: Bool
    let seconds: Double
    let measurements: [Measurement]
    let figures: [BenchFigure]

    func encoded() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return ((try? encoder.encode(self)).map { String(decoding: $0, as: UTF8.self) } ?? "{}") + "\n"
    }
}

/// Whether this binary was built for debugging or for release.
public enum BenchBuild {
    #if DEBUG
    public static let name = "debug"
    #else
    public static let name = "release"
    #endif
}

