import Glibc

/// Where the package lives, so that `lab` finds lesson texts and stubs wherever it is run from.
public enum PackagePaths {
    /// The package root: `$SHMLAB_ROOT` if set, else the folder this file was compiled in, three levels up.
    public static var root: String {
        if let env = getenv("SHMLAB_ROOT") { return String(cString: env) }
        var parts = "\(#filePath)".split(separator: "/", omittingEmptySubsequences: false)
        parts.removeLast(3) // PackagePaths.swift, LabSupport, Sources
        return parts.joined(separator: "/")
    }

    /// `path` relative to the package root when it lies inside it; unchanged otherwise.
    public static func relative(_ path: String) -> String {
        let prefix = root + "/"
        return path.hasPrefix(prefix) ? String(path.dropFirst(prefix.count)) : path
    }

    /// The absolute path of `relative` inside the package.
    public static func absolute(_ relative: String) -> String { root + "/" + relative }
}
