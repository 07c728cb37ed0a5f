extension String {
    /// The string with each NUL shown as \\0, for failure messages about names.
    var replacingNUL: String { split(separator: "\u{0}", omittingEmptySubsequences: false).joined(separator: "\\0") }
}
