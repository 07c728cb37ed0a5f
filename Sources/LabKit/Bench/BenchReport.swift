import Foundation

/// Prints benchmark figures: a table per measurement (median, spread, ratios to the baseline and
/// to Python) and a horizontal bar chart per measurement and unit.
public struct BenchReport {
    public let figures: [BenchFigure]
    /// Measurement name → the title of its block.
    public let titles: [String: String]
    public let style: Style

    public init(figures: [BenchFigure], titles: [String: String], style: Style) {
        self.figures = figures
        self.titles = titles
        self.style = style
    }

    /// The measurements in the order their first figure appears.
    var measurements: [String] {
        var seen: [String] = []
        for figure in figures where !seen.contains(figure.measurement) { seen.append(figure.measurement) }
        return seen
    }

    func figure(_ key: String?) -> BenchFigure? { key.flatMap { key in figures.first { $0.key == key } } }

    /// `figure`'s median divided by the median of the figure `key` (in the figure's own unit:
    /// below 1 is faster for a time, slower for a rate).
    public func ratio(_ figure: BenchFigure, to key: String?) -> Double? {
        guard let median = figure.median, let other = self.figure(key)?.median, other > 0 else { return nil }
        return median / other
    }

    // MARK: - Table

    public func table() -> String {
        var lines: [String] = []
        for measurement in measurements {
            let rows = figures.filter { $0.measurement == measurement }
            let labelWidth = max(30, (rows.map { $0.label.count }.max() ?? 0) + 2)
            lines.append(style.bold(titles[measurement] ?? measurement))
            lines.append(style.dim("  " + "figure".padded(to: labelWidth) + "unit".padded(to: 9) + "median".padded(to: 12, left: true)
                                   + "spread".padded(to: 8, left: true) + "÷ baseline".padded(to: 12, left: true) + "÷ Python".padded(to: 10, left: true)))
            for row in rows {
                var line = "  " + row.label.padded(to: labelWidth) + (row.unit + (row.higherIsBetter ? " ↑" : " ↓")).padded(to: 9)
                guard row.status == .measured, let median = row.median else {
                    let said = row.status.rawValue + (row.note.map { ": \($0)" } ?? "")
                    line += "  " + (row.status == .skipped ? style.yellow(said) : row.status == .pending ? style.dim(said) : style.red(said))
                    lines.append(line)
                    continue
                }
                line += BenchReport.number(median).padded(to: 12, left: true)
                line += (row.spread.map { "\(Int(($0 * 100).rounded()))%" } ?? "—").padded(to: 8, left: true)
                line += (ratio(row, to: row.baseline).map(BenchReport.ratioText) ?? "").padded(to: 12, left: true)
                line += (ratio(row, to: row.python).map(BenchReport.ratioText) ?? "").padded(to: 10, left: true)
                if let note = row.note { line += "  " + style.yellow(note) }
                lines.append(line)
            }
            lines.append("")
        }
        return lines.joined(separator: "\n")
    }

    // MARK: - Chart

    /// Cells of the longest bar.
    static let barWidth = 36

    public func chart() -> String {
        var lines: [String] = []
        for measurement in measurements {
            let measured = figures.filter { $0.measurement == measurement && $0.status == .measured && $0.median != nil }
            var units: [String] = []
            for figure in measured where !units.contains(figure.unit) { units.append(figure.unit) }
            for unit in units {
                let rows = measured.filter { $0.unit == unit }
                let largest = rows.compactMap(\.median).max() ?? 0
                guard largest > 0 else { continue }
                let better = rows[0].higherIsBetter ? "longer is better" : "shorter is better"
                lines.append(style.bold(titles[measurement] ?? measurement) + style.dim(" · \(unit), \(better)"))
                let width = rows.map { $0.label.count }.max() ?? 0
                for row in rows {
                    let bar = self.bar(row.median! / largest)
                    let painted: String
                    switch row.role {
                    case .implementation: painted = style.cyan(bar.text)
                    case .baseline: painted = style.dim(bar.text)
                    case .python: painted = style.yellow(bar.text)
                    }
                    lines.append("  " + row.label.padded(to: width) + "  " + painted
                                 + String(repeating: " ", count: BenchReport.barWidth - bar.cells + 1) + BenchReport.number(row.median!))
                }
                lines.append("")
            }
        }
        return lines.joined(separator: "\n")
    }

    /// A bar `fraction` of the full width: block characters (eighths) on a terminal, '#' elsewhere.
    func bar(_ fraction: Double) -> (text: String, cells: Int) {
        let eighths = max(1, Int((fraction * Double(BenchReport.barWidth * 8)).rounded()))
        guard style.fancy else {
            let cells = max(1, (eighths + 4) / 8)
            return (String(repeating: "#", count: cells), cells)
        }
        let partial = ["", "▏", "▎", "▍", "▌", "▋", "▊", "▉"][eighths % 8]
        return (String(repeating: "█", count: eighths / 8) + partial, eighths / 8 + (partial.isEmpty ? 0 : 1))
    }

    // MARK: - Numbers

    /// "1,256,586", "463", "12.3", "0.54".
    public static func number(_ value: Double) -> String {
        guard value.isFinite else { return "—" }
        let magnitude = abs(value)
        if magnitude >= 1000 { return grouped(Int(value.rounded())) }
        if magnitude >= 100 { return String(Int(value.rounded())) }
        if magnitude >= 10 { return fixed(value, 1) }
        if magnitude >= 0.1 { return fixed(value, 2) }
        return fixed(value, 4)
    }

    /// "1.15×", "12×", "0.012×".
    public static func ratioText(_ value: Double) -> String {
        guard value.isFinite else { return "—" }
        if value >= 100 { return "\(Int(value.rounded()))×" }
        if value >= 10 { return fixed(value, 1) + "×" }
        if value >= 0.1 { return fixed(value, 2) + "×" }
        return fixed(value, 3) + "×"
    }

    static func grouped(_ value: Int) -> String {
        let digits = String(abs(value))
        var out = ""
        for (i, c) in digits.reversed().enumerated() {
            if i > 0 && i % 3 == 0 { out.append(",") }
            out.append(c)
        }
        return (value < 0 ? "-" : "") + String(out.reversed())
    }

    static func fixed(_ value: Double, _ digits: Int) -> String {
        String(format: "%.\(digits)f", value)
    }
}
