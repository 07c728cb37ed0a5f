import CShmLab
import Glibc

/// A /dev/shm of the part's own, where the kernel lets the lab make one: the part process enters a
/// mount namespace of its own with an empty tmpfs on /dev/shm before any student code runs, and
/// everything it starts (forked children, peers, Python) shares it. So what a part creates there
/// is its own beyond doubt — another part running at the same time cannot see it or be blamed for
/// it — and it cannot outlive the part: the tmpfs goes with the last process of the namespace,
/// which the runner kills.
///
/// It needs `CAP_SYS_ADMIN` (root, as in CI and containers run as root); elsewhere the runner
/// runs parts one at a time against the machine's /dev/shm, as before (`PartLock`).
/// `SHMLAB_SHARED_SHM=1` asks for that everywhere.
///
/// What the part left is listed by the part itself when it reports its verdict (the runner cannot
/// look once the namespace is gone): `VerdictRecord.leftInSharedMemory`.
public enum PrivateSharedMemory {
    /// Set by the runner in a part's environment: "make your own /dev/shm". The part removes it,
    /// so that what it starts stays in its namespace instead of making another.
    static let variable = "LAB_PRIVATE_SHM"
    /// Set by the user (or a test) to run every part against the machine's /dev/shm.
    static let optOut = "SHMLAB_SHARED_SHM"

    /// Whether this runner gives its parts a /dev/shm of their own: `CAP_SYS_ADMIN` (bit 21) in
    /// the effective capabilities (`/proc/self/status`, `CapEff`), and no opt-out.
    public static let isAvailable: Bool = {
        if let value = getenv(optOut), String(cString: value) == "1" { return false }
        guard let bytes = try? readFile("/proc/self/status") else { return false }
        let text = String(decoding: bytes, as: UTF8.self)
        guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix("CapEff:") }),
              let mask = UInt64(line.dropFirst("CapEff:".count).filter { !$0.isWhitespace }, radix: 16) else {
            return false
        }
        let capSysAdmin: UInt64 = 1 << 21
        return mask & capSysAdmin != 0
    }()

    /// True in a part process that made its own /dev/shm (and in what it forked).
    nonisolated(unsafe) public private(set) static var isEntered = false

    /// In a part process, before any student code: makes the part's own /dev/shm when the runner
    /// asked for it. Returns why it could not (the part must then fail, not run against the
    /// machine's /dev/shm while the runner believes it private); nil when done or not asked.
    static func enterIfAsked() -> String? {
        guard getenv(variable) != nil else { return nil }
        unsetenv(variable)
        var step: Int32 = 0
        let error = shmlab_enter_private_shm(&step)
        guard error != 0 else {
            isEntered = true
            return nil
        }
        let call = ["unshare(CLONE_NEWNS)", "mount(\"/\", MS_REC | MS_PRIVATE)", "mount(\"tmpfs\", \"/dev/shm\")"][Int(max(1, min(3, step))) - 1]
        return "the lab could not give this part a /dev/shm of its own: \(SystemError(call, errno: error)). "
            + "Run with \(optOut)=1 to run parts one at a time against the machine's /dev/shm."
    }

    /// The names in the part's own /dev/shm now: what the part leaves behind.
    static func names() -> [String] {
        guard isEntered else { return [] }
        return LeftoverSweep.list(LeftoverSweep.sharedMemoryDir).sorted()
    }
}
