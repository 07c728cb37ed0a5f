import CShmLab
import Foundation
import Glibc

/// One measurement a lesson offers to `lab bench`; each runs in its own peer process
/// (`lab __peer N bench IMPLEMENTATION NAME --lines`), so a crash or a `todo()` in the student's
/// code ends that measurement only.
public struct BenchMeasurement {
    /// "pipe-rt": the word on the peer's command line, and the figures' `measurement`.
    public let name: String
    /// "pipe round trip": the title of its block in the table and of its chart.
    public let title: String
    /// Declares the figures, measures, records.
    public let run: (BenchRun) throws -> Void

    public init(_ name: String, _ title: String, run: @escaping (BenchRun) throws -> Void) {
        self.name = name
        self.title = title
        self.run = run
    }
}

/// What a measurement works with: the options of the run, and where its figures go.
public final class BenchRun {
    /// `--quick`: fewer repetitions and less data.
    public let quick: Bool
    /// False with `--no-python`: CPython's figures are left out.
    public let python: Bool
    /// False with `--baselines-only`: the implementation is not touched (it failed in an earlier
    /// run); only the lab's baselines and Python are measured.
    public let implementation: Bool
    /// The measurement being run.
    public private(set) var measurement = ""
    let printsLines: Bool
    private(set) var figures: [BenchFigure] = []

    init(quick: Bool, python: Bool, implementation: Bool, printsLines: Bool) {
        self.quick = quick
        self.python = python
        self.implementation = implementation
        self.printsLines = printsLines
    }

    /// `quick` with `--quick`, `full` otherwise.
    public func pick<T>(quick: T, full: T) -> T { self.quick ? quick : full }

    /// The repetitions kept (after one warm-up run): 3 with `--quick`, 7 otherwise.
    public var repetitions: Int { pick(quick: 3, full: 7) }

    /// Declares a figure this measurement will record (shown as pending until then). Figures of
    /// a role this run leaves out (`--no-python`, `--baselines-only`) are not declared.
    public func declare(_ key: String, _ label: String, unit: String, higherIsBetter: Bool,
                        role: BenchFigure.Role = .implementation, baseline: String? = nil, python: String? = nil) {
        if role == .implementation && !implementation { return }
        if role == .python && !self.python { return }
        let figure = BenchFigure(key: key, measurement: measurement, label: label, unit: unit, higherIsBetter: higherIsBetter,
                                 role: role, baseline: baseline, python: self.python ? python : nil)
        figures.append(figure)
        emit(figure)
    }

    /// Records a declared figure's repetitions. A key that was not declared is ignored.
    public func record(_ key: String, _ samples: [Double], note: String? = nil) {
        update(key) { figure in
            var measured = figure.measured(samples)
            if let note { measured.note = note }
            return measured
        }
    }

    /// Marks a declared figure as not measured, and why.
    public func skip(_ key: String, _ reason: String) {
        update(key) { $0.ended(.skipped, note: reason) }
    }

    /// Runs `python3 -c script arguments…`, whose last JSON line of output is an object mapping
    /// names to lists of samples, and records each declared Python figure `figureKey` from
    /// `names[figureKey]`. When python3 is missing or fails, those figures are skipped with the
    /// reason. Does nothing with `--no-python`.
    public func measurePython(_ script: String, _ arguments: [String] = [], names: [String: String], timeout: Double = 120) {
        guard python else { return }
        let keys = names.keys.sorted()
        guard let python3 = findOnPath("python3") else {
            for key in keys { skip(key, "python3 is not on PATH") }
            return
        }
        fflush(nil)
        let process: ChildProcess
        do {
            process = try ChildProcess.spawn(python3, ["-c", script] + arguments, output: .captureBoth)
        } catch {
            for key in keys { skip(key, "python3 could not be started: \(error)") }
            return
        }
        let (output, end) = process.collectOutput(timeout: timeout)
        let text = String(decoding: output, as: UTF8.self)
        // The last line that is a JSON object (a warning printed at exit may follow it).
        let object = text.split(separator: "\n").reversed().lazy
            .compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }.first
        guard end == .exited(0), let object else {
            let how = end.map { "\($0)" } ?? "did not finish within \(Int(timeout)) s"
            for key in keys { skip(key, "python3 \(how): \(text.suffix(300))") }
            return
        }
        for key in keys {
            guard let name = names[key], let values = object[name] as? [NSNumber] else {
                skip(key, "python3 printed no '\(names[key] ?? key)'")
                continue
            }
            record(key, values.map(\.doubleValue))
        }
    }

    /// Runs `body` with this process — and every process it starts meanwhile (forks, python3) —
    /// on the one CPU it is on now, then lets it run anywhere again. For round trips: the figure is
    /// then what the mechanism costs (system calls, copies, encoding, two context switches), not how
    /// long the kernel takes to wake another, sleeping CPU — which varies from run to run with where
    /// the scheduler puts the two processes. The corresponding C functions are `sched_getcpu`,
    /// `sched_getaffinity` and `sched_setaffinity`.
    public func onOneCPU<T>(_ body: () throws -> T) rethrows -> T {
        var saved = [UInt8](repeating: 0, count: 128)
        let cpu = shmlab_current_cpu()
        guard cpu >= 0, saved.withUnsafeMutableBytes({ shmlab_get_affinity($0.baseAddress, UInt($0.count)) }) == 0,
              shmlab_pin_to_cpu(cpu) == 0 else { return try body() }
        defer { _ = saved.withUnsafeBytes { shmlab_set_affinity($0.baseAddress, UInt($0.count)) } }
        return try body()
    }

    func begin(_ measurement: String) { self.measurement = measurement }

    private func update(_ key: String, _ change: (BenchFigure) -> BenchFigure) {
        guard let index = figures.firstIndex(where: { $0.key == key }) else { return }
        figures[index] = change(figures[index])
        emit(figures[index])
    }

    private func emit(_ figure: BenchFigure) {
        if printsLines { Console.out(figure.line) }
    }
}

/// The body of a lesson's "bench" peer.
///
/// `lab __peer N bench IMPLEMENTATION [NAME…] [--quick] [--no-python] [--baselines-only] [--lines]`:
/// runs the named measurements (all when none is named). With `--lines` (what `lab bench` passes)
/// it prints one `BENCH-FIGURE` line per figure as it goes; without, a table at the end, for a
/// person trying one lesson's bench. `--list` prints "name<TAB>title" per measurement and touches
/// no implementation.
public enum BenchPeer {
    public static func run(_ measurements: [BenchMeasurement], arguments: [String]) throws -> Int32 {
        if arguments.contains("--list") {
            Console.out(measurements.map { "\($0.name)\t\($0.title)\n" }.joined())
            return 0
        }
        let names = arguments.filter { !$0.hasPrefix("--") }
        if let unknown = names.first(where: { name in !measurements.contains { $0.name == name } }) {
            Console.err("no measurement '\(unknown)' (\(measurements.map(\.name).joined(separator: ", ")))\n")
            return 2
        }
        let chosen = names.isEmpty ? measurements : measurements.filter { names.contains($0.name) }
        let run = BenchRun(quick: arguments.contains("--quick"), python: !arguments.contains("--no-python"),
                           implementation: !arguments.contains("--baselines-only"), printsLines: arguments.contains("--lines"))
        for measurement in chosen {
            run.begin(measurement.name)
            try measurement.run(run)
        }
        if !run.printsLines {
            let report = BenchReport(figures: run.figures, titles: Dictionary(uniqueKeysWithValues: chosen.map { ($0.name, $0.title) }),
                                     style: Style.forStandardOutput())
            Console.out(report.table() + "\n" + report.chart())
        }
        return 0
    }
}
