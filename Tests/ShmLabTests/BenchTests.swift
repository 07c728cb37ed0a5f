import Foundation
import LabKit
import Testing

/// `lab bench`: the figure type and its report (pure), and the command run end to end.
@Suite("lab bench")
struct BenchTests {
    func figure(_ key: String, _ unit: String = "µs", role: BenchFigure.Role = .implementation,
                baseline: String? = nil, python: String? = nil, higherIsBetter: Bool = false) -> BenchFigure {
        BenchFigure(key: key, measurement: "m", label: key, unit: unit, higherIsBetter: higherIsBetter,
                    role: role, baseline: baseline, python: python)
    }

    @Test("a figure's median, lowest, highest and spread")
    func medianAndSpread() {
        let measured = figure("a").measured([4, 1, 3, 2])
        #expect(measured.status == .measured)
        #expect(measured.median == 2.5)
        #expect(measured.low == 1 && measured.high == 4)
        #expect(measured.spread == 3 / 2.5)
        #expect(figure("b").measured([7]).spread == nil)
        #expect(figure("c").measured([.nan]).status == .failed)
    }

    @Test("peer lines: the last line for a key wins, in the order first declared, noise ignored")
    func lines() {
        let pending = figure("x.one"), other = figure("x.two")
        let output = pending.line + "something else the peer printed\n" + other.line + pending.measured([5, 6, 7]).line
        let parsed = BenchFigure.parse(output)
        #expect(parsed.map(\.key) == ["x.one", "x.two"])
        #expect(parsed[0].median == 6 && parsed[1].status == .pending)
    }

    @Test("ratios divide medians in the row's own unit; the table and chart show every figure")
    func report() {
        let figures = [figure("mine", baseline: "raw", python: "py").measured([2]),
                       figure("raw", role: .baseline).measured([1]),
                       figure("py", role: .python).measured([8]),
                       figure("todo").ended(.notStarted, note: "put(_:timeout:) (Exercises/05-queues/SharedQueue.swift:31)")]
        let report = BenchReport(figures: figures, titles: ["m": "Lesson 05 · queue"], style: Style(fancy: false))
        #expect(report.ratio(figures[0], to: "raw") == 2)
        #expect(report.ratio(figures[0], to: "py") == 0.25)
        #expect(report.ratio(figures[0], to: "missing") == nil)
        let table = report.table()
        #expect(table.contains("Lesson 05 · queue"))
        #expect(table.contains("2.00×") && table.contains("0.25×"))
        #expect(table.contains("not started: put(_:timeout:) (Exercises/05-queues/SharedQueue.swift:31)"))
        let chart = report.chart()
        #expect(chart.contains("µs, shorter is better"))
        #expect(chart.split(separator: "\n").filter { $0.contains("#") }.count == 3)
        #expect(!chart.contains("\u{1B}["))
    }

    @Test("numbers: grouped thousands, sensible decimals")
    func numbers() {
        #expect(BenchReport.number(1_234_567) == "1,234,567")
        #expect(BenchReport.number(463.4) == "463")
        #expect(BenchReport.number(12.34) == "12.3")
        #expect(BenchReport.number(0.537) == "0.54")
        #expect(BenchReport.ratioText(1.154) == "1.15×")
        #expect(BenchReport.ratioText(12.3) == "12.3×")
    }

    @Test("usage errors exit 64; --help exits 0")
    func usage() throws {
        for arguments in [["bench", "--bogus"], ["bench", "--json"], ["bench", "extra"]] {
            let run = try LabBinary.run(arguments)
            #expect(run.status == 64, "lab \(arguments.joined(separator: " ")) → \(run.status)")
            #expect(run.stderr.hasPrefix("Error: ") && run.stderr.contains("Usage: lab bench"), "\(run.stderr)")
        }
        let help = try LabBinary.run(["bench", "--help"])
        #expect(help.status == 0)
        #expect(help.stdout.contains("USAGE: lab bench [--solutions] [--json <FILE>] [--quick] [--no-python]"))
    }

    @Test("lab bench --solutions --quick --json: a table, a chart, every figure in the file, and every row named by --help")
    func quickRun() throws {
        let (run, figures) = try Self.bench(["--solutions", "--quick"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.contains("÷ baseline"))
        #expect(run.stdout.contains("shorter is better") && run.stdout.contains("longer is better"))
        #expect(!run.stdout.contains("\u{1B}["))
        let measurements = Set(figures.compactMap { $0["measurement"] as? String })
        for name in ["locked-counter", "queue", "pipe-rt", "socketpair-rt", "pipe-bulk", "socketpair-bulk", "manager-call",
                     "array-copy", "array-element", "transfer-64k", "transfer-4m", "ring", "false-sharing", "start-worker"] {
            #expect(measurements.contains(name), "no figures for \(name)")
        }
        let python = findOnPath("python3") != nil
        for figure in figures {
            let status = figure["status"] as? String ?? "?"
            var expected = figure["role"] as? String == "python" && !python ? "skipped" : "measured"
            // Two processes that were never on two CPUs at once (one CPU allowed, or a machine
            // busy elsewhere throughout) show no false sharing: the row says so instead.
            if figure["measurement"] as? String == "false-sharing" && status == "skipped" { expected = "skipped" }
            #expect(status == expected, "\(figure["key"] ?? "?"): \(status) \(figure["note"] ?? "")")
            if status == "measured" {
                #expect(((figure["samples"] as? [Double])?.count ?? 0) >= 3, "\(figure["key"] ?? "?") has fewer than 3 repetitions")
            }
        }
        // lab bench --help names every row of every measurement, after its measurement's name and
        // before the next lesson's.
        let fullHelp = try LabBinary.run(["bench", "--help"]).stdout
        let help = fullHelp.range(of: "ROWS").map { String(fullHelp[$0.upperBound...]) } ?? ""
        #expect(!help.isEmpty, "lab bench --help has no ROWS section")
        for key in Set(figures.compactMap { $0["key"] as? String }) {
            let parts = key.split(separator: ".", maxSplits: 1).map(String.init)
            guard parts.count == 2, let at = help.range(of: " \(parts[0]) ") else {
                Issue.record("lab bench --help does not name the measurement of \(key)")
                continue
            }
            let section = help[at.upperBound...].components(separatedBy: "\n  Lesson ").first ?? ""
            #expect([" ", ":", "\n"].contains { section.contains(".\(parts[1])\($0)") }, "lab bench --help does not name the row \(key)")
        }
    }

    @Test("an unwritable --json path is said at once: exit 1, nothing measured, no file made")
    func unwritableJSONPath() throws {
        let missing = FileManager.default.temporaryDirectory.appendingPathComponent("no-such-folder-\(ProcessInfo.processInfo.processIdentifier)/b.json").path
        let started = Date()
        let run = try LabBinary.run(["bench", "--quick", "--json", missing])
        #expect(run.status == 1)
        #expect(run.stderr.hasPrefix("Error: cannot write the --json file: 'open' failed on '\(missing)': (2) ENOENT"), "\(run.stderr)")
        #expect(run.stderr.contains("Nothing was measured."))
        #expect(!run.stdout.contains("÷ baseline"), "it measured anyway")
        // Wall time on purpose: a bench that checks the path first takes no lock, so this is only
        // the lab's start; one that measured first would also wait for the lock and fail, rightly.
        #expect(Date().timeIntervalSince(started) < 10, "it measured before saying so")
    }

    @Test("the exercises (stubs, in a fresh clone): every row is measured or not started, and nothing is left behind")
    func exercisesLeaveNothing() throws {
        let (run, figures) = try Self.bench(["--quick", "--no-python"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(!run.stdout.contains("left behind"), "\(run.stdout)")
        for figure in figures where figure["role"] as? String == "implementation" {
            let status = figure["status"] as? String ?? "?"
            #expect(status == "measured" || status == "not started", "\(figure["key"] ?? "?"): \(status) \(figure["note"] ?? "")")
        }
    }

    /// `lab bench ARGUMENTS… --json FILE`: what it printed and the figures in the file.
    static func bench(_ arguments: [String]) throws -> (LabBinary.Run, [[String: Any]]) {
        let file = LabBinary.scratchRoot + "/bench-\(UUID().uuidString.prefix(8)).json"
        defer { try? FileManager.default.removeItem(atPath: file) }
        let run = try LabBinary.run(["bench"] + arguments + ["--json", file])
        let document = (try? JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: file)))) as? [String: Any]
        return (run, document?["figures"] as? [[String: Any]] ?? [])
    }
}
