import Foundation
import Glibc
import LabKit

/// The lab's part lock as a test sees it. Every lab of this test run (`SHMLAB_PART_LOCK`,
/// `LabBinary.partLockPath`) runs a part only while holding that lock (shared for a part with a
/// /dev/shm of its own, exclusive for one that sees the machine's) and sweeps what the part left
/// (/dev/shm names, processes) before letting go. So while a test holds it exclusively, no part
/// of this run is in flight: /dev/shm and this run's part processes in /proc are exactly what the
/// finished parts left.
///
/// Why this run's lock and not one of the machine: labs elsewhere on the machine (a check loop
/// beside CI, another checkout's tests) take turns holding any machine-wide lock shared, and an
/// exclusive taker then waits as long as they go on (seen: both of a run's cooperative threads
/// waiting minutes for /dev/shm while two other labs checked lessons in a loop). What they do
/// cannot be mistaken for this run's: with `CAP_SYS_ADMIN` each of their parts has a /dev/shm of
/// its own; without it, only lesson 00 (the engine's fixtures, which no student runs) makes names
/// with "fixture" in them; and `PartProcesses` knows this build's part hosts by their path.
enum LabPartLock {
    /// A hold on the lock, taken by `acquire()`; `release()` lets go.
    final class Hold: @unchecked Sendable {
        private var lock: PartLock?

        fileprivate init(_ lock: PartLock) { self.lock = lock }

        func release() {
            guard let lock else { return }
            self.lock = nil
            lock.release()
            RunSlots.labs.reopen()
        }

        deinit { release() }
    }

    /// Takes the lock, waiting as long as this run's labs' parts hold it (each part ends by its
    /// own time limit). This process's own labs stand still meanwhile (`RunSlots.close`): they
    /// would otherwise take turns holding the lock shared until the last of them ended.
    ///
    /// Blocks the calling thread (in a test, one of Swift Testing's cooperative threads) and never
    /// suspends, on purpose: the holder must not need a cooperative thread to go on. While this
    /// process holds the lock, the other cooperative threads may all be blocked in `lab` runs
    /// that wait for this very lock; a holder suspended in an `await` would then never get a
    /// thread back to release it (tried: a run stuck until its 15-minute backstop).
    static func acquire() throws -> Hold {
        RunSlots.labs.close()
        while true {
            if let lock = PartLock.tryAcquire(for: "the tests, looking at /dev/shm and /proc", at: LabBinary.partLockPath) {
                return Hold(lock)
            }
            usleep(10_000)
        }
    }

    /// Runs `body` while holding the lock (see `acquire` for why this blocks).
    static func whileHeld<T>(_ body: () throws -> T) throws -> T {
        let hold = try acquire()
        defer { hold.release() }
        return try body()
    }

    /// The process holding the lock now (the pid `/proc/locks` shows for a `flock` on /dev/shm),
    /// or nil when it is free.
    static func holder() -> pid_t? { holders(of: "/dev/shm").first }

    /// The processes `/proc/locks` shows holding a `flock` on `path` (not those blocked on it).
    static func holders(of path: String) -> [pid_t] {
        var info = stat()
        guard stat(path, &info) == 0 else { return [] }
        let device = String(format: "%02x:%02x:%lu", major(info.st_dev), minor(info.st_dev), UInt(info.st_ino))
        let table = (try? String(contentsOfFile: "/proc/locks", encoding: .utf8)) ?? ""
        return table.split(separator: "\n").filter { !$0.contains("->") }.compactMap { line in  // "->" marks a blocked waiter
            let fields = line.split(separator: " ")
            guard fields.count > 5, fields[1] == "FLOCK", fields[5] == device else { return nil }
            return pid_t(fields[4])
        }
    }

    /// True when `pid` waits for a part lock: for this test run's lock file (`LabBinary.partLockPath`: other
    /// labs hold it and `pid` does not — a lab polls it without blocking, so it shows as no
    /// waiter), or for /dev/shm (it has /dev/shm open, which a lab does only to take that lock,
    /// while another process holds it).
    static func isWaiting(_ pid: pid_t) -> Bool {
        let fileHolders = holders(of: LabBinary.partLockPath)
        if !fileHolders.isEmpty && !fileHolders.contains(pid) { return true }
        let fds = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd")) ?? []
        let hasLockOpen = fds.contains {
            (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/fd/\($0)")) == "/dev/shm"
        }
        guard hasLockOpen, let holder = holder() else { return false }
        return holder != pid
    }

    /// glibc's `major` and `minor` (macros, not imported).
    static func major(_ device: dev_t) -> UInt32 { UInt32((device >> 8) & 0xfff) | UInt32((device >> 32) & 0xffff_f000) }
    static func minor(_ device: dev_t) -> UInt32 { UInt32(device & 0xff) | UInt32((device >> 12) & 0xffff_ff00) }
}

/// A time limit on what a lab process does itself. Parts run one at a time on the machine, so a
/// lab may wait minutes for the lock while other labs' parts run (this run's other cases, another
/// checkout's tests); that time is not the lab's and does not count.
struct LabTimeLimit {
    let seconds: Double
    let pid: pid_t
    private var counted = 0.0
    private var lastLook: Double
    /// Only against a lab that never gets the lock because its holder hangs: far longer than any
    /// ordinary wait, which ends with another part's own time limit.
    private let backstop: Double

    init(seconds: Double, for pid: pid_t) {
        self.seconds = seconds
        self.pid = pid
        lastLook = monotonicSeconds()
        backstop = lastLook + 15 * 60
    }

    /// Adds the time since the last look unless the lab spent it waiting for the lock; true once
    /// the limit is used up.
    mutating func expired() -> Bool {
        let now = monotonicSeconds()
        if !LabPartLock.isWaiting(pid) { counted += now - lastLook }
        lastLook = now
        return counted >= seconds || now >= backstop
    }
}

/// Processes running a part (`lab __part LESSON PART …` in their argv), found in /proc.
enum PartProcesses {
    /// The folder of this build's `lab` and part hosts.
    static let hostFolder = URL(fileURLWithPath: LabBinary.path).deletingLastPathComponent().path

    /// Every process of `part` of `lesson`. Zombies (ended, not yet waited for) are left out
    /// unless `includingZombies`.
    static func find(lesson: Int, part: Int, includingZombies: Bool = false) -> [pid_t] {
        ProcessInspection.allProcessIDs().filter { pid in
            guard let cmdline = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return false }
            let args = String(decoding: cmdline, as: UTF8.self).split(separator: "\0")
            // args[3] is the part: four arguments at least (a process may have fewer).
            guard args.count >= 4, args[1] == "__part", args[2] == "\(lesson)", args[3] == "\(part)" else { return false }
            // This build's part hosts only (argv[0] is the host's full path): another checkout's
            // test run may run the same fixture part meanwhile.
            guard args[0].hasPrefix(hostFolder + "/") else { return false }
            guard let state = ProcessInspection.state(of: pid) else { return false }   // gone meanwhile
            return includingZombies || state != "Z"
        }
    }

    /// The parent process id (`/proc/PID/stat` field 4), or nil when there is no such process.
    static func parent(of pid: pid_t) -> pid_t? {
        guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/stat") else { return nil }
        let text = String(decoding: data, as: UTF8.self)
        guard let close = text.lastIndex(of: ")") else { return nil }
        let fields = text[text.index(after: close)...].split(separator: " ")
        return fields.count > 1 ? pid_t(fields[1]) : nil
    }
}
