/// Lesson 02: what it is, its parts and their hints.
public enum Lesson02: LessonDeclaration {
    public static let info = LessonInfo(number: 2, slug: "named-segments",
                                        title: "Named shared-memory segments", defaultTimeout: 20)

    public static var parts: [Part<any NamedSegmentContract.Type>] { [
        Part(1, "create: the object is in /dev/shm with exactly the size asked for, mode 0600",
             check: { lab, _ in try createHasSizeAndMode(lab) }, hints: [
            "A named segment is a file in /dev/shm (a tmpfs): shm_open(\"/name\", O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0o600) creates it and gives a descriptor.",
            "A new object is 0 bytes long. The creator sets its size with ftruncate(fd, size), then maps it: mmap(nil, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0). Close the descriptor afterwards: the mapping keeps the memory.",
            "Check size > 0 first (NamedSegmentError.invalidSize). The mode argument of shm_open is the permission: 0o600 means only you may read and write it. `name` is reported without the leading \"/\".",
        ]),
        Part(2, "an unrelated process attaches by name, reads the message and answers",
             check: { lab, context in try unrelatedProcessAnswers(lab, context) }, hints: [
            "The other process shares nothing with yours but the name: attach opens it with shm_open(\"/name\", O_RDWR, 0) — no O_CREAT.",
            "The attacher does not know the size: ask the object with fstat(fd, &st) and map st.st_size bytes.",
            "If the peer crashes with SIGBUS, the object is shorter than the mapping: did create call ftruncate?",
        ], ifTimedOut: "the other process may be stuck in attach(name:size:).", timeout: 30),
        Part(3, "attach reports the real size, whatever size it was asked",
             check: { lab, _ in try attachReportsRealSize(lab) }, hints: [
            "Python's SharedMemory(name=…, size=…) ignores the size when attaching; so does attach(name:size:).",
            "Map exactly fstat's st_size. Never call ftruncate in attach: it would cut (or grow) the creator's data.",
        ]),
        Part(4, "errors: existing name, missing name, size ≤ 0, bad names, a failed system call; nothing created",
             check: { lab, _ in try errorsCreateNothing(lab) }, hints: [
            "shm_open sets errno: EEXIST (with O_EXCL) → .alreadyExists(name), ENOENT → .notFound(name); any other failure → .systemError(call: \"shm_open\", errno: errno).",
            "Validate before any system call: size <= 0 → .invalidSize(size); a name that is empty, \".\", \"..\", has a \"/\" after an optional leading one, holds a NUL byte, or is longer than 255 bytes → .invalidName(name). Count UTF-8 bytes (name.utf8.count), not characters: 128 × \"é\" is 256 bytes. 255 bytes exactly, with or without the leading \"/\", is valid. The names in .alreadyExists and .notFound are without the leading \"/\"; only .invalidName carries the name as given.",
            "When ftruncate or mmap fails after shm_open created the object, call shm_unlink before throwing: a failed create must leave nothing behind (try a size of 1 << 62: mmap fails with ENOMEM).",
        ]),
        Part(5, "1000 generated names, from three processes, are unique, unguessable and valid",
             check: { lab, context in try generatedNamesAreUnique(lab, context) }, hints: [
            "Names must differ between processes too: two programs started at the same moment must not pick the same name.",
            "Use the kernel's randomness: var g = SystemRandomNumberGenerator(); g.next() gives 64 random bits (getrandom). A generator seeded with a constant, or with time(nil), repeats across processes.",
            "For example \"shm_\" + 16 hex digits. Python uses \"psm_\" + 8 hex digits and retries on EEXIST; with 64 bits you practically never need the retry, but create(name: nil, …) should still retry on .alreadyExists.",
            "Unique is not enough: the part also refuses names that can be guessed. \"hold the process's pid\" means getpid() is in the name; \"predictable\" means consecutive names differ in only a few characters (a counter, or a clock). Another process of the same user can then create your next name first. Only random bits (SystemRandomNumberGenerator) make every character unpredictable. Use only A–Z a–z 0–9 . _ - in the name.",
        ], ifTimedOut: "generateName() may never return, or create(name: nil, …) may retry forever.", timeout: 30),
        Part(6, "lifecycle: close keeps the segment, unlink removes the name, mappings outlive it",
             check: { lab, _ in try lifecycle(lab) }, hints: [
            "close() is munmap only: other processes (and other attachments in this one) keep using the segment.",
            "unlink() is shm_unlink(\"/name\"): the name disappears at once, attach fails with ENOENT → .notFound, a second unlink too — but every existing mapping stays valid until it is unmapped.",
            "Close the descriptor right after mmap (or keep it and close it in close()): after create + close, no descriptor of yours may be left open. A descriptor you keep must be close-on-exec (O_CLOEXEC in shm_open's flags), or every program this process starts inherits it.",
            "A second close() must do nothing: remember that the segment is closed (a flag) and return. munmap of the same range again unmaps whatever was mapped there since — the part maps something at that address and checks it survives.",
        ], ifTimedOut: "the forked child that attaches may be stuck in attach(name:size:).", timeout: 30),
        Part(7, "nothing is left in /dev/shm",
             check: { lab, _ in try nothingLeftBehind(lab) }, hints: [
            "Whoever creates a name unlinks it. Every object in /dev/shm lives until someone calls shm_unlink (or the machine reboots).",
            "Check the error paths: a create that fails after shm_open (ftruncate or mmap failing) must shm_unlink the object it just made.",
        ]),
        Part(8, "interop: Python attaches to your segment, and you attach to Python's",
             check: { lab, context in try pythonInterop(lab, context) }, hints: [
            "Python's SharedMemory(name=\"x\") opens \"/x\" exactly like your attach. Give it the name without the leading \"/\".",
            "Python maps fstat's size: if your create never called ftruncate, Python fails with \"cannot mmap an empty file\". Your attach must read the size of Python's segment the same way.",
            "Python's resource tracker unlinks, when Python exits, every segment that Python merely attached to (by default in every version; Python 3.13 added SharedMemory(name, track=False)). The lab's scripts pass track=False, or on 3.11/3.12 call resource_tracker.unregister right after attaching; your code does not need to do anything about it — but read the lesson text.",
        ], timeout: 30),
    ] }
}
