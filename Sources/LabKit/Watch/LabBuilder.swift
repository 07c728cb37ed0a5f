import CShmLab
import Foundation
import Glibc

/// Where `swift build` puts the lessons' part hosts (`lab-lesson-NN`), beside the `lab` itself.
public struct BuildLocation: Equatable, Sendable {
    /// The folder of the build products (`.build/x86_64-unknown-linux-gnu/debug`).
    public let directory: String
    /// "debug" or "release".
    public let configuration: String

    public init(directory: String, configuration: String) {
        self.directory = directory
        self.configuration = configuration
    }

    /// The part host of `lesson` in this folder.
    public func host(_ lesson: LessonInfo) -> String { directory + "/" + PartHosts.name(of: lesson) }

    /// The running lab's own folder when it lies in the package's `.build` (how `swift run lab`
    /// and `.build/debug/lab` start it); nil otherwise. `executable` is `/proc/self/exe`, which
    /// gains " (deleted)" once a build has replaced the file.
    public static func fromRunningLab(executable: String, root: String) -> BuildLocation? {
        var path = executable
        if path.hasSuffix(" (deleted)") { path.removeLast(" (deleted)".count) }
        guard path.hasPrefix(root + "/.build/") else { return nil }
        let parts = path.split(separator: "/")
        guard parts.count >= 2 else { return nil }
        let configuration = String(parts[parts.count - 2])
        return BuildLocation(directory: String(path[..<(path.lastIndex(of: "/") ?? path.endIndex)]),
                             configuration: configuration == "release" ? "release" : "debug")
    }

    /// The newest modification time (seconds) of what a build of `lesson`'s host writes: the
    /// host and the student's module's build folder (objects, dependency records). An edit
    /// stamped with the same second can be missed by the next incremental build.
    public func latestBuildSecond(_ lesson: LessonInfo) -> Int? {
        var newest: Int64? = nil
        var info = stat()
        if stat(host(lesson), &info) == 0 { newest = nanoseconds(info.st_mtim) }
        let module = "\(directory)/Exercise\(lesson.twoDigits).build"
        for name in LeftoverSweep.list(module) where stat("\(module)/\(name)", &info) == 0 {
            newest = max(newest ?? 0, nanoseconds(info.st_mtim))
        }
        return newest.map { Int($0 / 1_000_000_000) }
    }
}

/// How one build ended.
public enum BuildAttempt: Equatable {
    case built(seconds: Double)
    /// The compiler (or the build) failed; its output as the student should see it.
    case failed(output: String, seconds: Double)
    /// Ctrl-C (or SIGTERM) arrived during the build; the build was stopped.
    case interrupted
    /// A key stopped the build (watch mode's q or r); the build was stopped.
    case stopped
}

/// Builds a lesson's part host with the student's code: `swift build --product lab-lesson-NN`.
/// Where the products go and whether to build at all is `PartHosts.forRunningLab`'s decision.
public final class LabBuilder {
    public let root: String
    public let location: BuildLocation
    /// The program and its arguments that build `product`.
    public let command: (_ product: String) -> [String]

    public init(root: String, location: BuildLocation, command: @escaping (_ product: String) -> [String]) {
        self.root = root
        self.location = location
        self.command = command
    }

    /// `swift build --package-path ROOT [--product P] [-c release] [-j JOBS]`, in the
    /// configuration of `location`. `jobs` (`$SHMLAB_BUILD_JOBS`): SwiftPM puts `-j` into every
    /// compile command, so a build with another `-j` than the last one compiles every module again
    /// (a release `Lessons` alone took minutes on the lab's 2-core machine).
    public static func swiftBuild(_ swift: String, root: String, location: BuildLocation, jobs: String? = nil) -> LabBuilder {
        let release = location.configuration == "release" ? ["-c", "release"] : []
        let parallel = jobs.map { ["-j", $0] } ?? []
        return LabBuilder(root: root, location: location) { product in
            [swift, "build", "--package-path", root] + (product.isEmpty ? [] : ["--product", product]) + release + parallel
        }
    }

    /// Runs the build of `product` ("" for every target) to its end and collects its output. The
    /// build runs in a process group of its own, so Ctrl-C reaches only the lab, which then stops
    /// the whole build (as does a key `keys` calls a stop); nothing of the build is left running
    /// when this returns (the part sweep must never meet it).
    public func build(product: String, keys: StopKeys? = nil) -> BuildAttempt {
        Interruption.install()
        let started = monotonicSeconds()
        let child: ChildProcess
        let command = self.command(product)
        // Every return below comes after the build and all of its group have ended.
        let temporaries = BuildTemporaries(package: root)
        defer { temporaries.remove() }
        do {
            child = try ChildProcess.spawn(command[0], Array(command.dropFirst()), environment: temporaries.environment,
                                           output: .captureBoth, newProcessGroup: true)
        } catch {
            return .failed(output: "could not start the build: \(error)", seconds: 0)
        }
        var watch = PartWatch(output: child.takeOutput(), report: nil, outputLimit: 4 << 20)
        while !watch.outputEnded || child.reapIfEnded() == nil {
            let wake = watch.pollOnce(timeout: 1, child: child, keys: keys)
            if wake != .waiting {
                watch.close()
                child.terminate(grace: 1)
                _ = Glibc.kill(-child.pid, SIGKILL)
                LeftoverSweep.reapZombieChildren()
                return wake == .interrupted ? .interrupted : .stopped
            }
        }
        let output = watch.collected
        watch.close()
        let end = child.reap()
        // Anything of the build still in its group goes now, and its zombies are reaped: a
        // part run afterwards sweeps re-parented processes and must find none of the build's.
        _ = Glibc.kill(-child.pid, SIGKILL)
        LeftoverSweep.reapZombieChildren()
        let seconds = monotonicSeconds() - started
        if end == .exited(0) { return .built(seconds: seconds) }
        var text = BuildOutput.forStudent(String(decoding: output, as: UTF8.self), root: root)
        if text.isEmpty { text = "the build \(end) without a message" }
        return .failed(output: text, seconds: seconds)
    }
}

/// A temporary folder of the lab's own for one `swift build` it starts, given to the build as
/// `TMPDIR` and removed when the build has ended: SwiftPM and the Swift driver leave about six
/// `TemporaryDirectory.XXXXXX` folders in the temporary root at every build (the driver makes one
/// per run and keeps it), which would otherwise pile up in /tmp at every check.
///
/// SwiftPM also keeps its locks in `TMPDIR`: the `flock` on `_PATH_.build.lock` is what keeps two
/// builds of one package apart (with a `TMPDIR` of its own, a build ran beside the student's
/// `swift build` of the same package, and one of them failed: "database is locked"). So the folder
/// holds, under SwiftPM's names for them, links to the locks in the machine's temporary root:
/// those of the package's `.build` and its `workspace-state.json`, and those of the user's
/// `~/.swiftpm` and manifest cache. SwiftPM opens the lock through the link, and the build waits
/// for (and holds off) every other SwiftPM of the package as before.
struct BuildTemporaries {
    /// The folder (`TMP/shmlab-part-PID-build-XXXXXX`: a killed lab's is removed by the next lab);
    /// nil when none could be made (the build then uses the temporary root, as SwiftPM would).
    let directory: String?

    init(package root: String) {
        directory = LeftoverSweep.makeRunnerFolder("build")
        guard let directory else { return }
        let machine = LeftoverSweep.systemTempRoot()
        let home = PartHosts.environment("HOME")
        let locked = [root + "/.build", root + "/.build/workspace-state.json"]
            + (home.map { [$0 + "/.swiftpm", $0 + "/.cache/org.swift.swiftpm/manifests/manifest.db"] } ?? [])
        for path in locked {
            let name = Self.lockName(of: path)
            symlink(machine + "/" + name, directory + "/" + name)
        }
    }

    /// What the build is started with.
    var environment: [String: String?] { directory.map { ["TMPDIR": $0] } ?? [:] }

    /// Removes the folder and what the build left in it (never the locks the links point to).
    func remove() {
        if let directory { removeTree(directory) }
    }

    /// SwiftPM's name for the lock of `path` in the temporary root (`FileLock.prepareLock`): the
    /// path, its folder's symbolic links resolved, with "/" and ":" as "_" and ".lock" added
    /// (`/work/lab/.build` → `_work_lab_.build.lock`), cut to its last `NAME_MAX` bytes.
    static func lockName(of path: String) -> String {
        let slash = path.lastIndex(of: "/") ?? path.startIndex
        var folder = String(path[..<slash])
        if let resolved = realpath(folder.isEmpty ? "/" : folder, nil) {
            folder = String(cString: resolved)
            free(resolved)
        }
        let full = (folder == "/" ? "" : folder) + "/" + path[path.index(after: slash)...]
        let name = full.replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: ":", with: "_") + ".lock"
        var bytes = name.utf8.suffix(Int(NAME_MAX))
        while String(bytes) == nil { bytes = bytes.dropFirst() }
        return String(bytes) ?? name
    }
}

/// The compiler's output as the student should see it.
public enum BuildOutput {
    /// Drops the build system's progress lines ("[3/6] Compiling …", "Building for debugging…")
    /// and repeated diagnostics; keeps the compiler's lines as it printed them, with paths made
    /// relative to the package.
    public static func forStudent(_ raw: String, root: String) -> String {
        let prefix = root.hasSuffix("/") ? root : root + "/"
        var blocks: [[String]] = [[]]
        var inPackageNote = false
        for line in raw.split(separator: "\n", omittingEmptySubsequences: false) {
            let text = String(line).replacingOccurrences(of: prefix, with: "")
            // SwiftPM's note about files it does not build (a lesson's README.md), and the
            // indented paths under it: about the package, not the student's code.
            if text.hasPrefix("warning: '") && text.contains("which are unhandled") { inPackageNote = true; continue }
            if inPackageNote && text.hasPrefix("    ") { continue }
            inPackageNote = false
            if isProgress(text) { continue }
            if text.trimmingCharacters(in: .whitespaces).isEmpty {
                if !(blocks.last?.isEmpty ?? true) { blocks.append([]) }
                continue
            }
            blocks[blocks.count - 1].append(text)
        }
        var seen = Set<[String]>()
        let kept = blocks.filter { !$0.isEmpty && seen.insert($0).inserted }
        return kept.map { $0.joined(separator: "\n") }.joined(separator: "\n\n")
    }

    /// The first error line of the compiler's output (or its first line).
    public static func firstError(in output: String) -> String {
        let lines = output.split(separator: "\n").map(String.init)
        return lines.first { $0.contains(": error:") } ?? lines.first { $0.contains("error:") } ?? lines.first ?? output
    }

    /// The compiler's output cut to its first errors, with a count of the rest: a long build
    /// log never scrolls the verdict away.
    public static func shortened(_ output: String, lines limit: Int = 12) -> String {
        let lines = output.split(separator: "\n", omittingEmptySubsequences: false)
        guard lines.count > limit else { return output }
        let errors = lines.dropFirst(limit).filter { $0.contains("error:") }.count
        return lines.prefix(limit).joined(separator: "\n")
            + "\n… \(lines.count - limit) more lines\(errors > 0 ? " (\(errors) more errors)" : "")"
    }

    static func isProgress(_ line: String) -> Bool {
        if line.hasPrefix("Building for ") || line.hasPrefix("Build complete!") || line.hasPrefix("Build of product ") {
            return true
        }
        if line == "error: fatalError" { return true }
        // SwiftPM's own line after the compiler's errors: says nothing about the code.
        if line.hasPrefix("error: emit-module command failed") || line.hasPrefix("error: compile command failed") { return true }
        // "[12/34] Compiling Exercises ForkAndMap.swift"
        guard line.hasPrefix("["), let close = line.firstIndex(of: "]") else { return false }
        let inside = line[line.index(after: line.startIndex)..<close]
        return !inside.isEmpty && inside.allSatisfy { $0.isNumber || $0 == "/" }
    }

    /// The lessons whose exercise folder appears in the compiler's output.
    public static func lessonsNamed(in output: String, folders: [(number: Int, folder: String)]) -> [Int] {
        folders.filter { output.contains("Exercises/\($0.folder)/") }.map(\.number)
    }
}

/// Sources a finished build may not have compiled (docs/ARCHITECTURE.md, "Platform facts":
/// same-second edits are missed): the incremental build compares modification times at a coarser grain than the
/// file system keeps, so a save in the same second as the previous build can be skipped, and the
/// binary would then check old code.
///
/// Measured on this toolchain: in that case the build still says "Compiling ForkAndMap.swift",
/// but the compiler does not run for the file: its `ForkAndMap.d` and `ForkAndMap.dia` keep the
/// previous build's time. When the compiler does run, it rewrites those two every time, while
/// `ForkAndMap.swift.o` (and so the linked binary) keep their old time if the code came out
/// identical (a comment edited): "newer than the binary" alone would then cry wolf.
public enum StaleSources {
    /// The sources to touch and rebuild:
    /// - content that changed since the build started (saved during the build);
    /// - a source saved after the compiler last ran for it (`compiled`: the newest time of its
    ///   `.d`, `.dia` and `.o` files);
    /// - where that is unknown, a source newer than the binary the build produced.
    public static func find(builtFrom before: SourceSnapshot, now: SourceSnapshot, binaryModified: Int64?,
                            compiled: [String: Int64]) -> [String] {
        var stale: [String] = []
        for (path, state) in now.files.sorted(by: { $0.key < $1.key }) {
            guard let old = before.files[path] else { stale.append(path); continue }   // a new file
            if old.hash != nil, state.hash != nil, old.hash != state.hash {
                stale.append(path)
            } else if let compiledAt = compiled[path] {
                if state.modified > compiledAt { stale.append(path) }
            } else if let binary = binaryModified, state.modified > binary {
                stale.append(path)
            }
        }
        return stale
    }

    /// When the compiler last ran for each source, from its lesson's module build folder
    /// (`Exercises/03-…/X.swift` → `Exercise03.build`): the newest of `NAME.d`, `NAME.dia` and
    /// `NAME.swift.o` for `…/NAME.swift` (file names are unique in a module). Sources with none
    /// of them are left out.
    public static func compileTimes(for sources: [String], binDir: String) -> [String: Int64] {
        var times: [String: Int64] = [:]
        for source in sources {
            let folder = source.split(separator: "/").dropLast().last.map(String.init) ?? ""
            let module = "\(binDir)/Exercise\(folder.prefix(2)).build"
            let file = source.split(separator: "/").last.map(String.init) ?? source
            let stem = file.hasSuffix(".swift") ? String(file.dropLast(6)) : file
            for output in ["\(stem).d", "\(stem).dia", "\(file).o"] {
                var info = stat()
                if stat("\(module)/\(output)", &info) == 0 { times[source] = max(times[source] ?? 0, nanoseconds(info.st_mtim)) }
            }
        }
        return times
    }

    /// Waits until the wall clock is past the second of the newest of `paths`' modification
    /// times (and of `notBefore`, a second), then sets their modification time to now, so the
    /// next build sees them as changed. The corresponding C function is `utimensat`.
    public static func touchInLaterSecond(_ paths: [String], notBefore: Int? = nil) {
        var newest = notBefore ?? 0
        for path in paths {
            var info = stat()
            if stat(path, &info) == 0 { newest = max(newest, Int(info.st_mtim.tv_sec)) }
        }
        while true {
            var now = timespec()
            clock_gettime(CLOCK_REALTIME, &now)
            if Int(now.tv_sec) > newest { break }
            let wait = 1_000_000_000 - Int(now.tv_nsec) + 5_000_000
            usleep(UInt32(min(wait / 1000, 1_000_000)))   // waiting for the clock, not for another process
        }
        for path in paths { _ = utimensat(AT_FDCWD, path, nil, 0) }
    }
}
