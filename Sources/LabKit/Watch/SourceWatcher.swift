import CShmLab
import Glibc

/// One Swift source as the watcher last saw it.
public struct SourceState: Equatable, Sendable {
    /// Modification time in nanoseconds since the epoch.
    public var modified: Int64
    public var size: Int64
    public var inode: UInt64
    /// FNV-1a of the content, when the snapshot was taken with hashing.
    public var hash: UInt64?

    public init(modified: Int64, size: Int64, inode: UInt64, hash: UInt64?) {
        self.modified = modified
        self.size = size
        self.inode = inode
        self.hash = hash
    }
}

/// The Swift sources under a folder (hidden names left out), by absolute path.
public struct SourceSnapshot: Equatable, Sendable {
    public var files: [String: SourceState]

    public init(files: [String: SourceState]) { self.files = files }

    /// Scans `folder` recursively for `*.swift`. With `hashing`, reads each file to hash it.
    public static func take(_ folder: String, hashing: Bool) -> SourceSnapshot {
        var files: [String: SourceState] = [:]
        for path in swiftFiles(under: folder) {
            var info = stat()
            guard stat(path, &info) == 0 else { continue }
            let hash = hashing ? (try? readFile(path)).map(fnv1a) : nil
            files[path] = SourceState(modified: nanoseconds(info.st_mtim), size: Int64(info.st_size),
                                      inode: UInt64(info.st_ino), hash: hash)
        }
        return SourceSnapshot(files: files)
    }

    /// The same snapshot with only `paths`.
    public func only(_ paths: [String]) -> SourceSnapshot {
        SourceSnapshot(files: files.filter { paths.contains($0.key) })
    }

    /// Path → content hash: equal fingerprints mean the same code.
    public var fingerprint: [String: UInt64] { files.compactMapValues(\.hash) }

    /// Every `*.swift` below `folder`, sorted; folders and files whose names start with "." are skipped.
    public static func swiftFiles(under folder: String) -> [String] {
        var found: [String] = []
        for name in LeftoverSweep.list(folder).sorted() where !name.hasPrefix(".") {
            let path = "\(folder)/\(name)"
            var info = stat()
            guard lstat(path, &info) == 0 else { continue }
            if (info.st_mode & S_IFMT) == S_IFDIR {
                found += swiftFiles(under: path)
            } else if name.hasSuffix(".swift") {
                found.append(path)
            }
        }
        return found
    }

    /// Every folder at and below `folder` (hidden ones left out).
    static func folders(under folder: String) -> [String] {
        var found = [folder]
        for name in LeftoverSweep.list(folder).sorted() where !name.hasPrefix(".") {
            let path = "\(folder)/\(name)"
            var info = stat()
            if lstat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR { found += folders(under: path) }
        }
        return found
    }
}

func nanoseconds(_ t: timespec) -> Int64 { Int64(t.tv_sec) * 1_000_000_000 + Int64(t.tv_nsec) }

/// FNV-1a, 64 bits: enough to tell two versions of a source file apart.
func fnv1a(_ bytes: [UInt8]) -> UInt64 {
    var hash: UInt64 = 0xcbf2_9ce4_8422_2325
    for byte in bytes {
        hash ^= UInt64(byte)
        hash = hash &* 0x100_0000_01b3
    }
    return hash
}

/// Tells the watch loop that a Swift source under a folder changed: inotify when the kernel has
/// it, or a scan every `interval` seconds (`--poll`).
public final class SourceWatcher {
    public enum Mode: Equatable { case inotify, polling(interval: Double) }

    public let folder: String
    public let mode: Mode
    /// The inotify instance; nil when polling. Closed with the watcher.
    private let inotify: OwnedDescriptor?
    private var watches: [Int32: String] = [:]
    private var lastScan: SourceSnapshot
    private var nextScan: Double = 0

    /// inotify on `folder` and its sub-folders, or polling when `poll` is true or inotify fails.
    /// The corresponding C function is `inotify_init1(IN_NONBLOCK | IN_CLOEXEC)`.
    public init(folder: String, poll: Bool, interval: Double = 0.25) {
        self.folder = folder
        lastScan = SourceSnapshot.take(folder, hashing: false)
        let opened = poll ? -1 : inotify_init1(Int32(IN_NONBLOCK) | Int32(IN_CLOEXEC))
        if opened >= 0 {
            inotify = OwnedDescriptor(taking: opened)
            mode = .inotify
            for dir in SourceSnapshot.folders(under: folder) { addWatch(dir) }
        } else {
            inotify = nil
            mode = .polling(interval: interval)
        }
    }

    /// A `poll` entry readable when inotify has events (skipped when polling).
    public var readableEntry: pollfd {
        switch inotify {
        case .some(let fd): return fd.readable
        case .none: return .skipped
        }
    }

    /// "inotify" or "polling every 0.25 s", for the screen.
    public var modeDescription: String {
        switch mode {
        case .inotify: return "inotify"
        case .polling(let interval): return "polling every \(interval) s"
        }
    }

    /// Seconds until the next scan is due (polling), or nil (inotify: wait on `readableEntry`).
    public func secondsUntilScan(now: Double) -> Double? {
        guard case .polling = mode else { return nil }
        return max(0, nextScan - now)
    }

    /// Reads what happened since the last call; true when a Swift source (or a folder) changed.
    public func changed(now: Double) -> Bool {
        switch mode {
        case .inotify:
            return readEvents()
        case .polling(let interval):
            guard now >= nextScan else { return false }
            nextScan = now + interval
            let scan = SourceSnapshot.take(folder, hashing: false)
            defer { lastScan = scan }
            return scan != lastScan
        }
    }

    static let eventMask = UInt32(IN_MODIFY) | UInt32(IN_CLOSE_WRITE) | UInt32(IN_MOVED_TO) | UInt32(IN_MOVED_FROM)
        | UInt32(IN_CREATE) | UInt32(IN_DELETE)

    /// The corresponding C function is `inotify_add_watch`.
    private func addWatch(_ dir: String) {
        let wd = inotify_add_watch(readableEntry.fd, dir, Self.eventMask)
        if wd >= 0 { watches[wd] = dir }
    }

    /// One read of the inotify descriptor.
    private func readChunk(into buffer: inout [UInt8]) -> OwnedDescriptor.ReadResult {
        switch inotify {
        case .some(let fd): return fd.readAvailable(into: &buffer)
        case .none: return .endOfFile
        }
    }

    /// Drains the inotify descriptor. Events about names that are not Swift sources (an
    /// editor's swap file, README.md) do not count; a new folder is watched too.
    private func readEvents() -> Bool {
        var relevant = false
        var buffer = [UInt8](repeating: 0, count: 16 * 1024)
        while true {
            guard case .bytes(let n) = readChunk(into: &buffer) else { break }
            var offset = 0
            while offset + 16 <= n {
                let (wd, mask, nameLength) = buffer.withUnsafeBytes { raw in
                    (raw.loadUnaligned(fromByteOffset: offset, as: Int32.self),
                     raw.loadUnaligned(fromByteOffset: offset + 4, as: UInt32.self),
                     Int(raw.loadUnaligned(fromByteOffset: offset + 12, as: UInt32.self)))
                }
                let nameBytes = buffer[(offset + 16)..<min(n, offset + 16 + nameLength)].prefix { $0 != 0 }
                let name = String(decoding: nameBytes, as: UTF8.self)
                offset += 16 + nameLength
                if mask & UInt32(IN_Q_OVERFLOW) != 0 { relevant = true; continue }
                if mask & UInt32(IN_ISDIR) != 0 {
                    if mask & (UInt32(IN_CREATE) | UInt32(IN_MOVED_TO)) != 0, let dir = watches[wd], !name.hasPrefix(".") {
                        for sub in SourceSnapshot.folders(under: "\(dir)/\(name)") { addWatch(sub) }
                    }
                    relevant = true
                } else if name.hasSuffix(".swift") && !name.hasPrefix(".") {
                    relevant = true
                }
            }
        }
        return relevant
    }
}
