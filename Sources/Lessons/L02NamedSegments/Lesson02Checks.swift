import Glibc

extension Lesson02 {
    /// The lesson bound to the student's type, the reference and the mutants.
    /// The student's file, for "look at" lines.
    static let file = "NamedSegment.swift"

    /// The programs this lesson's checks start as unrelated processes (`lab __peer 2 NAME …`).
    public static var peers: [Peer<any NamedSegmentContract.Type>] { [
        // Part 2: an unrelated process that knows only the name.
        Peer("answer") { lab, arguments in
            let segment = try lab.attach(name: arguments[0], size: 0)
            defer { try? segment.close() }
            guard segment.size >= answerOffset + tokenLength else {
                Console.err("peer: the segment is only \(segment.size) bytes\n")
                return 3
            }
            for i in 0..<tokenLength {
                segment.bytes[answerOffset + i] = segment.bytes[tokenLength - 1 - i] ^ 0xA5
            }
            return 0
        },
        // Part 5: prints N generated names, one a line.
        Peer("names") { lab, arguments in
            let count = Int(arguments.first ?? "") ?? 0
            var text = ""
            for _ in 0..<count { text += lab.generateName() + "\n" }
            Console.out(text)
            return 0
        },
    ] }

    // MARK: - part 1

    /// Part 1: create: the object is in /dev/shm with exactly the size asked for, mode 0600.
    static func createHasSizeAndMode<L: NamedSegmentContract>(_: L.Type) throws {
        for size in [1, 10, 4096, 10_000, 1 << 20] {
            let name = freshName()
            let segment = try attempt("create(name: \"\(name)\", size: \(size))") { try L.create(name: name, size: size) }
            defer { discard(segment, unlinking: name) }
            try requireEqual(segment.name, name, "the segment reports the wrong name",
                             cause: "name is the name given, without a leading \"/\"", look: "create(name:size:) in \(file)")
            try requireCreated(segment, size: size)
            try requireZeroAndWritable(segment)
            try attempt("close()") { try segment.close() }
            try attempt("unlink()") { try segment.unlink() }
        }
        // One leading "/" is accepted and dropped: "/x" and "x" are the same segment /dev/shm/x.
        let bare = freshName()
        let slashed = try attempt("create(name: \"/\(bare)\", size: 64)") { try L.create(name: "/" + bare, size: 64) }
        defer { discard(slashed, unlinking: bare) }
        try requireEqual(slashed.name, bare, "create(name: \"/\(bare)\", …) reports the wrong name",
                         cause: "one leading \"/\" is dropped: name is reported without it, like Python's SharedMemory.name",
                         look: "create(name:size:) in \(file)")
        try requireCreated(slashed, size: 64)
        try attempt("close()") { try slashed.close() }
        try attempt("unlink()") { try slashed.unlink() }

        let segment = try attempt("create(name: nil, size: 100)") { try L.create(name: nil, size: 100) }
        defer { discard(segment, unlinking: segment.name) }
        try require(isPlainName(segment.name), CheckFailure(
            "create(name: nil, …) gave a segment whose name is not a plain name",
            expected: "a generated name without \"/\" (e.g. shm_1f0c…)", seen: "\"\(segment.name)\"",
            cause: "with name == nil, create must use generateName(); name is reported without the leading \"/\"",
            look: "create(name:size:) in \(file)"))
        try requireCreated(segment, size: 100)
        try requireZeroAndWritable(segment)
        try attempt("close()") { try segment.close() }
        try attempt("unlink()") { try segment.unlink() }
    }

    /// The object is in /dev/shm with exactly `size` bytes and mode 0600, and the segment says so.
    static func requireCreated<L: NamedSegmentContract>(_ segment: L, size: Int) throws {
        let path = devShmPath(segment.name)
        guard let info = objectInfo(segment.name) else {
            throw CheckFailure("create returned but there is no \(path)",
                               expected: "\(path), \(size) bytes, mode 0600", seen: "no such file",
                               cause: "shm_open(\"/\" + name, O_CREAT | O_EXCL | O_RDWR, 0o600) creates /dev/shm/name; is `name` the name you opened?",
                               look: "create(name:size:) in \(file)")
        }
        try requireEqual(Int(info.st_size), size, "\(path) does not have the size asked for",
                         cause: Int(info.st_size) == 0
                            ? "a new object is empty: the creator must call ftruncate(fd, size) before mmap (touching the mapping would be a SIGBUS)"
                            : "ftruncate(fd, size) with exactly the size asked for (Linux does not round it to pages)",
                         look: "create(name:size:) in \(file)")
        let mode = info.st_mode & 0o777
        if mode != 0o600 {
            throw CheckFailure("\(path) has the wrong permissions",
                               expected: "mode 0600 (only you may read and write it)", seen: "mode 0" + String(mode, radix: 8),
                               cause: "the third argument of shm_open is the mode: pass 0o600, as Python does; anything wider lets other users read or change your memory",
                               look: "create(name:size:) in \(file)")
        }
        try requireEqual(segment.size, size, "size does not match the segment", look: "size in \(file)")
        try requireEqual(segment.bytes.count, size, "bytes.count does not match the segment",
                         cause: "map exactly the segment's size", look: "create(name:size:) in \(file)")
    }

    /// A fresh segment reads as zeros and keeps what is written (touching every page).
    static func requireZeroAndWritable<L: NamedSegmentContract>(_ segment: L) throws {
        let bytes = segment.bytes
        if let index = bytes.firstIndex(where: { $0 != 0 }) {
            throw CheckFailure("a new segment is not all zeros", expected: "\(bytes.count) zero bytes",
                               seen: "byte \(index) is \(bytes[index])",
                               cause: "a new object that ftruncate extended reads as zeros; is this really a new segment?",
                               look: "create(name:size:) in \(file)")
        }
        for i in stride(from: 0, to: bytes.count, by: 512) { bytes[i] = UInt8(truncatingIfNeeded: i / 512 &+ 1) }
        bytes[bytes.count - 1] = 0xEE
        for i in stride(from: 0, to: bytes.count - 1, by: 512) where bytes[i] != UInt8(truncatingIfNeeded: i / 512 &+ 1) {
            throw CheckFailure("the segment does not keep what is written", seen: "byte \(i) reads \(bytes[i])",
                               cause: "map with PROT_READ | PROT_WRITE and MAP_SHARED", look: "create(name:size:) in \(file)")
        }
    }

    // MARK: - part 2

    static let tokenLength = 32
    static let answerOffset = 64

    /// Part 2: an unrelated process attaches by name, reads the message and answers.
    static func unrelatedProcessAnswers<L: NamedSegmentContract>(_: L.Type, _ context: PartContext) throws {
        let segment = try attempt("create(name: nil, size: 4096)") { try L.create(name: nil, size: 4096) }
        defer { discard(segment, unlinking: segment.name) }
        try requireBacked(segment, what: "create(name: nil, size: 4096)")
        var random = SystemRandomNumberGenerator()
        let token = (0..<tokenLength).map { _ in UInt8.random(in: 1...255, using: &random) }
        for i in 0..<tokenLength { segment.bytes[i] = token[i] }

        // A program started from scratch (posix_spawn + exec, not fork): it knows only the name.
        let peer = try context.spawnPeer("answer", [segment.name], output: .captureBoth)
        let (output, end) = peer.collectOutput(timeout: 25)
        let said = String(decoding: output, as: UTF8.self)
        guard let end else {
            throw CheckFailure("the other process did not finish within 25 s", seen: said.isEmpty ? "no output" : said,
                               look: "attach(name:size:) in \(file)")
        }
        guard end == .exited(0) else {
            var cause = "the peer runs your attach(name: \"\(segment.name)\", size: 0) and answers through the segment"
            if end == .signaled(SIGSEGV) {
                cause = "SIGSEGV: the peer wrote its answer into a mapping it may not write — attach must open with O_RDWR and map PROT_READ | PROT_WRITE (Python's attach writes too)"
            }
            if end == .signaled(SIGBUS) {
                cause = "SIGBUS: the peer touched its mapping beyond the object's end — the object is shorter than what was mapped (ftruncate in create? fstat's size in attach?)"
            }
            throw CheckFailure("the other process failed", expected: "it attaches by name, reads the message, answers, exits 0",
                               seen: "it \(end)\(said.isEmpty ? "" : ": " + chomp(said))",
                               cause: cause, look: "attach(name:size:) in \(file)")
        }
        let expected = (0..<tokenLength).map { token[tokenLength - 1 - $0] ^ 0xA5 }
        let seen = Array(segment.bytes[answerOffset..<(answerOffset + tokenLength)])
        let creatorMapping = segment.bytes.baseAddress.flatMap { ProcessInspection.mappingLine(containing: UInt(bitPattern: $0)) }
        if seen != expected {
            throw CheckFailure("the creator does not see the other process's answer",
                               expected: "bytes \(answerOffset)…: \(hex(expected.prefix(8)))…",
                               seen: (seen.allSatisfy { $0 == 0 } ? "zeros" : "\(hex(seen.prefix(8)))…")
                                   + "; the creator's mapping in /proc/self/maps: " + (creatorMapping ?? "none covers segment.bytes"),
                               cause: creatorMapping.map { line in
                                   line.split(separator: " ").dropFirst().first?.last == "p"
                                       ? "the creator's mapping is MAP_PRIVATE (\"p\"): its copy of the pages is its own, so the other process's writes never reach it. Map with MAP_SHARED"
                                       : "the creator's mapping is MAP_SHARED, so the fault is on the other side. Candidates: the peer's attach maps privately (MAP_PRIVATE) or maps a different object than /dev/shm/\(segment.name)"
                               } ?? "segment.bytes is not the memory mmap gave (no mapping covers it): bytes must point into the mapping",
                               look: "create(name:size:) and attach(name:size:) in \(file)")
        }
        try attempt("close()") { try segment.close() }
        try attempt("unlink()") { try segment.unlink() }
    }

    // MARK: - part 3

    /// Part 3: attach reports the real size, whatever size it was asked.
    static func attachReportsRealSize<L: NamedSegmentContract>(_: L.Type) throws {
        // Reach attach before the lab creates anything: an unwritten attach then reports "not
        // started" without leaving the lab's segment behind.
        if let stray = try? L.attach(name: freshName(), size: 0) { try? stray.close() }
        let size = 5000
        let own = try SharedSegment.create(size: size)      // the lab's own segment
        defer { own.close(); SharedSegment.unlinkIfPresent(own.name) }
        for i in 0..<size { own.bytes[i] = UInt8(truncatingIfNeeded: i &* 13 &+ 7) }
        let bare = String(own.name.dropFirst())
        for (name, asked) in [(bare, 0), (bare, 10), (bare, 4096), (bare, 1 << 20), (own.name, size)] {
            let call = "attach(name: \"\(name)\", size: \(asked))"
            let segment = try attempt(call) { try L.attach(name: name, size: asked) }
            defer { try? segment.close() }
            let real = objectInfo(bare).map { Int($0.st_size) } ?? -1
            if real != size {
                throw CheckFailure("\(call) changed the size of someone else's segment",
                                   expected: "/dev/shm/\(bare) stays \(size) bytes", seen: "\(real) bytes",
                                   cause: "attach must never call ftruncate: only the creator sets the size. Truncating cuts the creator's data (and makes its mapping SIGBUS past the new end)",
                                   look: "attach(name:size:) in \(file)")
            }
            try requireEqual(segment.size, size, "\(call) reports the wrong size",
                             cause: "the size argument is only the caller's guess (Python ignores it too): ask the object with fstat and use st_size",
                             look: "attach(name:size:) in \(file)")
            try requireEqual(segment.bytes.count, size, "\(call) mapped the wrong number of bytes",
                             cause: "map fstat's st_size, not the size asked for", look: "attach(name:size:) in \(file)")
            try requireEqual(segment.name, bare, "\(call) reports the wrong name",
                             cause: "name is reported without the leading \"/\"", look: "attach(name:size:) in \(file)")
            if let index = (0..<size).first(where: { segment.bytes[$0] != UInt8(truncatingIfNeeded: $0 &* 13 &+ 7) }) {
                throw CheckFailure("the attached segment does not show the creator's data",
                                   expected: "byte \(index) = \(UInt8(truncatingIfNeeded: index &* 13 &+ 7))",
                                   seen: "\(segment.bytes[index])",
                                   cause: "map the existing object with MAP_SHARED, offset 0", look: "attach(name:size:) in \(file)")
            }
            try attempt("close()") { try segment.close() }
        }
    }

    // MARK: - part 4

    /// Part 4: errors: existing name, missing name, size ≤ 0, bad names, a failed system call; nothing created.
    static func errorsCreateNothing<L: NamedSegmentContract>(_: L.Type) throws {
        let before = listing()
        let look = "create(name:size:) in \(file)"

        // Sizes that make no sense.
        for bad in [0, -1, -4096] {
            let name = freshName()
            try requireError("create(name: \"\(name)\", size: \(bad))", .invalidSize(bad),
                             cause: "check size > 0 before any system call", look: look) { try L.create(name: name, size: bad) }
            try requireAbsent(name, after: "create(name: \"\(name)\", size: \(bad))", look: look)
        }

        // Names shm_open must not see. 256 bytes is one too many for a file name (NAME_MAX is 255).
        let tooLong = String(repeating: "n", count: 256)
        let tooLongInBytes = String(repeating: "é", count: 128)           // 128 characters, 256 UTF-8 bytes
        for bad in ["a/b", "/a/b", "x/", "", "/", "..", ".", "/.", "a\u{0}b", "\u{0}", tooLong, "/" + tooLong, tooLongInBytes] {
            try requireError("create(name: \(quoted(bad)), size: 64)", .invalidName(bad),
                             cause: badNameCause(bad),
                             look: look) { try L.create(name: bad, size: 64) }
            try requireError("attach(name: \(quoted(bad)))", .invalidName(bad),
                             cause: "attach validates the name the same way", look: "attach(name:size:) in \(file)") {
                try L.attach(name: bad, size: 0)
            }
        }

        // An existing name: the lab's segment, which must come through untouched.
        let own = try SharedSegment.create(size: 4096)
        defer { own.close(); SharedSegment.unlinkIfPresent(own.name) }
        for i in 0..<4096 { own.bytes[i] = 0x5A }
        let taken = String(own.name.dropFirst())
        try requireError("create(name: \"\(taken)\", size: 100) for a name that exists", .alreadyExists(taken),
                         cause: "open with O_CREAT | O_EXCL: shm_open then fails with EEXIST instead of opening (and your ftruncate resizing) the existing segment",
                         look: look) { try L.create(name: taken, size: 100) }
        let takenSize = objectInfo(taken).map { Int($0.st_size) } ?? -1
        try require(takenSize == 4096 && own.bytes.allSatisfy({ $0 == 0x5A }), CheckFailure(
            "create on an existing name changed that segment", expected: "4096 bytes of 0x5A, untouched",
            seen: takenSize == 4096 ? "its bytes changed" : "\(takenSize) bytes",
            cause: "without O_EXCL, shm_open opens the existing object and ftruncate then resizes someone else's data", look: look))

        try requireError("create(name: \"/\(taken)\", size: 100) for a name that exists", .alreadyExists(taken),
                         cause: "the name in .alreadyExists is without the leading \"/\" (only .invalidName carries the name as given)",
                         look: look) { try L.create(name: "/" + taken, size: 100) }

        // A name nobody created.
        let missing = freshName()
        try requireError("attach(name: \"\(missing)\") for a name nobody created", .notFound(missing),
                         cause: "shm_open without O_CREAT fails with ENOENT: throw .notFound(name)",
                         look: "attach(name:size:) in \(file)") { try L.attach(name: missing, size: 0) }
        try requireError("attach(name: \"/\(missing)\") for a name nobody created", .notFound(missing),
                         cause: "the name in .notFound is without the leading \"/\" (only .invalidName carries the name as given)",
                         look: "attach(name:size:) in \(file)") { try L.attach(name: "/" + missing, size: 0) }

        // Any other failure of shm_open is a .systemError with its errno: here EMFILE, in a child
        // whose descriptor table is full.
        try requireOpenFailureIsSystemError(L.self, name: taken)

        // Valid names at the limits: non-ASCII, 255 bytes counted in UTF-8, with a leading "/".
        let stem = freshName()
        for valid in ["séance_" + stem, stem + String(repeating: "é", count: (255 - stem.utf8.count) / 2) + ((255 - stem.utf8.count) % 2 == 1 ? "x" : ""),
                      "/" + stem + String(repeating: "y", count: 255 - stem.utf8.count)] {
            let bareValid = valid.hasPrefix("/") ? String(valid.dropFirst()) : valid
            let call = "create(name: \(quoted(valid)) (\(bareValid.utf8.count) bytes), size: 64)"
            let made: L
            do {
                made = try L.create(name: valid, size: 64)
            } catch {
                SharedSegment.unlinkIfPresent(bareValid)
                throw CheckFailure("\(call) threw for a valid name", expected: "a segment /dev/shm/\(quoted(bareValid))", seen: "\(error)",
                                   cause: bareValid.utf8.count == 255
                                       ? "255 bytes is the limit and is allowed: count the UTF-8 bytes of the name without its leading \"/\" (name.utf8.count), not characters, not the \"/\""
                                       : "any byte but \"/\" and NUL may be in a name, non-ASCII letters too: only empty, \".\", \"..\", an inner \"/\", NUL and more than 255 bytes are invalid",
                                   look: look)
            }
            defer { discard(made, unlinking: bareValid) }
            try requireEqual(made.name, bareValid, "\(call) reports the wrong name", look: look)
            try require(objectInfo(bareValid) != nil, CheckFailure("\(call) returned but /dev/shm has no object of that name", look: look))
            try attempt("close()") { try made.close() }
            try attempt("unlink()") { try made.unlink() }
        }

        // A name of exactly 255 bytes is fine (256 was one too many).
        let longest = freshName() + String(repeating: "x", count: 255 - freshName().utf8.count)
        let segment = try attempt("create(name: <255 bytes>, size: 64)", look: look) { try L.create(name: longest, size: 64) }
        defer { discard(segment, unlinking: longest) }
        try requireEqual(segment.name, longest, "a 255-byte name came back changed", look: look)
        try attempt("close()") { try segment.close() }
        try attempt("unlink()") { try segment.unlink() }

        // A system call that fails after shm_open: mmap cannot map 4 EiB (ENOMEM).
        let huge = freshName()
        do {
            let segment = try L.create(name: huge, size: 1 << 62)
            discard(segment, unlinking: huge)
            throw CheckFailure("create(name:, size: 1 << 62) returned a segment", expected: ".systemError(call: \"mmap\", errno: ENOMEM)",
                               seen: "a segment of \(segment.size) bytes", look: look)
        } catch NamedSegmentError.systemError(let call, let code) {
            guard ["ftruncate", "mmap", "fstat"].contains(call) else {
                throw CheckFailure("create(name:, size: 1 << 62) named the wrong call",
                                   expected: ".systemError(call: \"mmap\", errno: ENOMEM)",
                                   seen: NamedSegmentError.systemError(call: call, errno: code).description, look: look)
            }
        } catch let failure as CheckFailure {
            throw failure
        } catch {
            throw CheckFailure("create(name:, size: 1 << 62) threw the wrong error",
                               expected: ".systemError(call: \"mmap\", errno: ENOMEM) (the call that failed and its errno)",
                               seen: "\(error)", cause: "wrap a failed system call as .systemError(call: \"mmap\", errno: errno)", look: look)
        }
        try requireAbsent(huge, after: "a create that failed in mmap",
                          cause: "shm_open had already created the object: shm_unlink it before throwing, or every failed create leaks a name",
                          look: look)

        own.close()
        SharedSegment.unlinkIfPresent(own.name)
        let created = listing().subtracting(before).subtracting([longest])
        if !created.isEmpty {
            created.forEach { SharedSegment.unlinkIfPresent($0) }
            throw CheckFailure("calls that failed created objects in /dev/shm",
                               expected: "nothing new", seen: created.sorted().joined(separator: ", "),
                               cause: "validate before shm_open, and shm_unlink what you created when a later step fails", look: look)
        }
    }

    /// Why a bad name is bad, for the message.
    static func badNameCause(_ name: String) -> String {
        let bare = name.hasPrefix("/") ? String(name.dropFirst()) : name
        if bare.utf8.contains(0) {
            return "a NUL byte ends a C string: shm_open would see only the part before it (\"a\\0b\" opens \"/a\"); refuse names that contain NUL"
        }
        if bare == "." || bare == ".." { return "\".\" and \"..\" are the directory entries of /dev/shm, not names: refuse both" }
        if bare.utf8.count > 255 {
            return "NAME_MAX is 255 bytes: count the UTF-8 bytes (name.utf8.count) of the name without its leading \"/\" — \(bare.count) characters are \(bare.utf8.count) bytes here"
        }
        return "validate the name first: one optional leading \"/\", then 1…255 bytes, no other \"/\", no NUL, not \".\" or \"..\""
    }

    /// In a child whose descriptor table is full, attach must throw .systemError(call: "shm_open", errno: EMFILE).
    static func requireOpenFailureIsSystemError<L: NamedSegmentContract>(_: L.Type, name: String) throws {
        let report = try labSharedBlock(bytes: 4096)
        defer { labUnmap(report) }
        let pid = try forkChild {
            var limit = rlimit()
            getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit)
            limit.rlim_cur = 64
            setrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit)
            var opened: [Int32] = []
            while true {
                let fd = open("/dev/null", O_RDONLY | O_CLOEXEC)
                if fd < 0 { break }
                opened.append(fd)
            }
            let seen: String
            do {
                let segment = try L.attach(name: name, size: 0)
                try? segment.close()
                seen = "it returned a segment"
            } catch {
                seen = "\(error)"
            }
            opened.forEach { _ = Glibc.close($0) }
            let bytes = Array(seen.utf8.prefix(4000))
            report.copyBytes(from: bytes)
            return 0
        }
        let end = try waitForProcess(pid)
        try requireEqual(end, ProcessEnd.exited(0), "the child that attaches with a full descriptor table failed")
        let seen = String(decoding: report.prefix { $0 != 0 }, as: UTF8.self)
        let expected = NamedSegmentError.systemError(call: "shm_open", errno: EMFILE).description
        if seen != expected {
            throw CheckFailure("attach(name: \"\(name)\") with no descriptor left threw the wrong error",
                               expected: "\(expected) — shm_open failed, and not because the name is taken or missing",
                               seen: seen,
                               cause: "only ENOENT is .notFound and only EEXIST is .alreadyExists: every other errno of shm_open is .systemError(call: \"shm_open\", errno: errno)",
                               look: "attach(name:size:) in \(file)")
        }
    }

    // MARK: - part 5

    /// Part 5: 1000 generated names, from three processes, are unique, unguessable and valid.
    static func generatedNamesAreUnique<L: NamedSegmentContract>(_: L.Type, _ context: PartContext) throws {
        var from: [String: String] = [:]
        func add(_ name: String, _ who: String) throws {
            if let other = from[name] {
                throw CheckFailure("a generated name came twice", expected: "1000 different names",
                                   seen: "\"\(name)\" from \(other) and again from \(who)",
                                   cause: other == who
                                       ? "the generator repeats itself: use 64 random bits per name"
                                       : "two processes generate the same names: a generator seeded with a constant (or with the time) repeats in every process; use SystemRandomNumberGenerator (getrandom)",
                                   look: "generateName() in \(file)")
            }
            guard isPlainName(name) else {
                throw CheckFailure("a generated name is not a safe name", expected: "1…255 bytes of A–Z a–z 0–9 . _ - (no \"/\"; not \".\" or \"..\")",
                                   seen: quoted(name), look: "generateName() in \(file)")
            }
            from[name] = who
        }
        var own: [String] = []
        for _ in 0..<400 {
            let name = try attempt("generateName()") { L.generateName() }
            try add(name, "this process")
            own.append(name)
        }
        try requireUnpredictable(own, pid: getpid(), who: "this process")
        for peer in 1...2 {
            let process = try context.spawnPeer("names", ["300"], output: .captureStdout)
            let (output, end) = process.collectOutput(timeout: 25)
            guard end == .exited(0) else {
                throw CheckFailure("a process generating names failed", seen: end.map { "it \($0)" } ?? "it did not finish in 25 s",
                                   look: "generateName() in \(file)")
            }
            let names = String(decoding: output, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).dropLast()
            try requireEqual(names.count, 300, "process \(peer) printed the wrong number of names")
            for name in names { try add(String(name), "process \(peer)") }
            try requireUnpredictable(names.map(String.init), pid: process.pid, who: "process \(peer)")
        }
        // The names work: a few become segments, and create(name: nil, …) makes fresh ones.
        for name in from.keys.sorted().prefix(3) {
            let segment = try attempt("create(name: \"\(name)\", size: 16)") { try L.create(name: name, size: 16) }
            discard(segment, unlinking: name)
        }
        var made: Set<String> = []
        for _ in 0..<5 {
            let segment = try attempt("create(name: nil, size: 16)") { try L.create(name: nil, size: 16) }
            defer { discard(segment, unlinking: segment.name) }
            try require(objectInfo(segment.name) != nil && !made.contains(segment.name), CheckFailure(
                "create(name: nil, …) did not make a fresh segment", expected: "5 different names, each in /dev/shm",
                seen: "\"\(segment.name)\"\(made.contains(segment.name) ? " twice" : ", not in /dev/shm")",
                look: "create(name:size:) in \(file)"))
            made.insert(segment.name)
        }
    }

    /// Unique is not enough: "shm_<pid>_<counter>" never repeats, but anyone can guess the next
    /// name and create it first. Consecutive random names (64 bits, or Python's 32) differ in
    /// almost every character; a counter or a clock changes only its last few, and a name that
    /// holds its process's pid is guessable by anyone who can list processes.
    static func requireUnpredictable(_ names: [String], pid: pid_t, who: String) throws {
        let look = "generateName() in \(file)"
        // A random name holds the pid's digits now and then by chance; a pid-based one always does.
        let pidText = "\(pid)"
        let holdingPID = names.filter { name in
            name.split(whereSeparator: { !$0.isNumber }).contains { $0 == Substring(pidText) }
        }
        if holdingPID.count * 2 > names.count, let withPID = holdingPID.first {
            throw CheckFailure("generated names hold the process's pid", expected: "a name nobody can guess",
                               seen: "\(holdingPID.count) of \(names.count) names from \(who) (pid \(pid)) hold it, e.g. \(quoted(withPID))",
                               cause: "the name is built from getpid(): another process of the same user can predict it and create that segment first",
                               look: look)
        }
        let differing = zip(names, names.dropFirst()).map { first, second in
            let a = Array(first.utf8), b = Array(second.utf8)
            return zip(a, b).filter { $0 != $1 }.count + abs(a.count - b.count)
        }.sorted()
        guard let median = differing.isEmpty ? nil : differing[differing.count / 2] else { return }
        try require(median >= 6, CheckFailure(
            "generated names are predictable", expected: "consecutive names that differ in most of their characters (random bits from getrandom)",
            seen: "consecutive names from \(who) differ in \(median) character\(median == 1 ? "" : "s") (median), e.g. \(quoted(names[0])) then \(quoted(names[1]))",
            cause: "the name comes from a counter or a clock: unique, but the next one can be guessed and taken first",
            look: look))
    }

    // MARK: - part 6

    /// Part 6: lifecycle: close keeps the segment, unlink removes the name, mappings outlive it.
    static func lifecycle<L: NamedSegmentContract>(_: L.Type) throws {
        let look = "close() and unlink() in \(file)"
        let descriptorsBefore = openDescriptors()
        let name = freshName()
        let first = try attempt("create(name: \"\(name)\", size: 4096)") { try L.create(name: name, size: 4096) }
        defer { try? first.close(); SharedSegment.unlinkIfPresent(name) }
        try requireBacked(first, what: "create(name: \"\(name)\", size: 4096)")
        for i in 0..<4096 { first.bytes[i] = UInt8(truncatingIfNeeded: i &* 31 &+ 3) }
        let kept = try attempt("attach(name: \"\(name)\")") { try L.attach(name: name, size: 0) }
        defer { try? kept.close() }

        // A descriptor the segment keeps open must not leak into programs this one executes.
        for descriptor in openDescriptors().subtracting(descriptorsBefore) where descriptor.hasSuffix("/dev/shm/" + name) {
            let fd = Int32(descriptor.dropFirst(3).prefix { $0 != " " }) ?? -1
            let flags = fcntl(fd, F_GETFD)
            if flags >= 0 && flags & FD_CLOEXEC == 0 {
                throw CheckFailure("the segment keeps a descriptor that is not close-on-exec",
                                   expected: "descriptors of /dev/shm/\(name) closed after mmap, or opened with O_CLOEXEC",
                                   seen: "\(descriptor) without FD_CLOEXEC: every program this process executes inherits it",
                                   cause: "open with shm_open(path, O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0o600) (and O_RDWR | O_CLOEXEC to attach), or close the descriptor right after mmap",
                                   look: "create(name:size:) and attach(name:size:) in \(file)")
            }
        }

        // close: this mapping goes, the segment stays.
        let firstStart = UInt(bitPattern: first.bytes.baseAddress!)
        try attempt("close()") { try first.close() }
        if let line = ProcessInspection.mappingLine(containing: firstStart) {
            throw CheckFailure("close() left the segment mapped", expected: "no line of /proc/self/maps covers 0x\(String(firstStart, radix: 16))",
                               seen: line, cause: "close must munmap(base, size)", look: look)
        }
        // Something else now lives where the segment was; a second close must not unmap it.
        let squatter = mmap(UnsafeMutableRawPointer(bitPattern: firstStart), 4096, PROT_READ | PROT_WRITE,
                            MAP_PRIVATE | MAP_ANONYMOUS | 0x100000 /* MAP_FIXED_NOREPLACE */, -1, 0)
        let squatted = squatter != nil && squatter != MAP_FAILED && UInt(bitPattern: squatter) == firstStart
        defer { if squatted { munmap(squatter, 4096) } }
        try attempt("close() a second time") { try first.close() }
        if squatted && ProcessInspection.mappingLine(containing: firstStart) == nil {
            throw CheckFailure("a second close() unmapped memory that no longer belonged to the segment",
                               expected: "the second close() does nothing",
                               seen: "the page mapped at 0x\(String(firstStart, radix: 16)) after the first close was unmapped by the second",
                               cause: "remember that the segment is closed (a flag) and return at once the second time: munmap of a range unmaps whatever lives there now",
                               look: look)
        }
        guard objectInfo(name) != nil else {
            throw CheckFailure("close() removed the segment", expected: "/dev/shm/\(name) still there for other processes",
                               seen: "it is gone", cause: "close only unmaps (munmap); removing the name is unlink's job (shm_unlink)",
                               look: look)
        }
        let again = try attempt("attach(name: \"\(name)\") after the creator closed") { try L.attach(name: name, size: 0) }
        defer { try? again.close() }
        try require(again.bytes.count == 4096 && again.bytes[4095] == UInt8(truncatingIfNeeded: 4095 &* 31 &+ 3), CheckFailure(
            "after close, a new attach does not see the data", look: look))

        // A process that has it mapped before the unlink keeps using it after.
        let flags = try labSharedBlock(bytes: 4096)
        defer { labUnmap(flags) }
        let attached = SharedFlag(at: flags.baseAddress!)
        let unlinked = SharedFlag(at: flags.baseAddress! + 64)
        let pid = try forkChild {
            let segment: L
            do { segment = try L.attach(name: name, size: 0) } catch { attached.value = 2; throw error }
            attached.value = 1
            guard unlinked.wait(for: 1, timeout: 25) else { return 3 }
            guard segment.bytes.count == 4096, segment.bytes[1000] == UInt8(truncatingIfNeeded: 1000 &* 31 &+ 3) else { return 4 }
            for i in 0..<16 { segment.bytes[2000 + i] = 0xC0 | UInt8(i) }
            try segment.close()
            return 0
        }
        var reaped = false
        defer { if !reaped { kill(pid, SIGKILL); _ = try? waitForProcess(pid) } }
        guard waitUntil(timeout: 25, { attached.value != 0 }), attached.value == 1 else {
            throw CheckFailure("a forked child could not attach", seen: attached.value == 2 ? "attach threw (see below)" : "no sign within 25 s",
                               look: "attach(name:size:) in \(file)")
        }
        try attempt("unlink()") { try again.unlink() }
        if objectInfo(name) != nil {
            throw CheckFailure("unlink() did not remove the name", expected: "/dev/shm/\(name) gone",
                               seen: "it is still there", cause: "unlink must call shm_unlink(\"/\" + name)", look: look)
        }
        try requireError("attach(name: \"\(name)\") after unlink", .notFound(name),
                         cause: "once the name is gone, shm_open fails with ENOENT", look: "attach(name:size:) in \(file)") {
            try L.attach(name: name, size: 0)
        }
        try requireError("a second unlink()", .notFound(name),
                         cause: "shm_unlink of a name that is gone fails with ENOENT (Python raises FileNotFoundError)", look: look) {
            try again.unlink()
        }
        unlinked.value = 1
        let end = try waitForProcess(pid)
        reaped = true
        switch end {
        case .exited(0): break
        case .exited(4):
            throw CheckFailure("after unlink, a process that had the segment mapped no longer sees its data",
                               cause: "unlink must only remove the name (shm_unlink); existing mappings stay valid until munmap", look: look)
        default:
            throw CheckFailure("the child that kept the segment mapped across the unlink \(end)", look: look)
        }
        let reply = (0..<16).map { kept.bytes[2000 + $0] }
        try requireEqual(reply, (0..<16).map { 0xC0 | UInt8($0) }, "after the unlink, the child's writes do not reach this process",
                         cause: "the memory lives on while it is mapped: both mappings are still the same object", look: look)
        try attempt("close()") { try kept.close() }
        try attempt("close()") { try again.close() }

        let leaked = openDescriptors().subtracting(descriptorsBefore)
        if !leaked.isEmpty {
            throw CheckFailure("descriptors are left open after every segment was closed",
                               expected: "no new descriptors", seen: leaked.sorted().joined(separator: ", "),
                               cause: "close the shm_open descriptor after mmap (the mapping does not need it), or in close()",
                               look: "create(name:size:) and attach(name:size:) in \(file)")
        }
    }

    // MARK: - part 7

    /// Part 7: nothing is left in /dev/shm.
    static func nothingLeftBehind<L: NamedSegmentContract>(_: L.Type) throws {
        let before = listing()
        // A whole life: create with a generated name, attach, close both, unlink.
        let creator = try attempt("create(name: nil, size: 4096)") { try L.create(name: nil, size: 4096) }
        try requireBacked(creator, what: "create(name: nil, size: 4096)")
        creator.bytes[0] = 42
        let user = try attempt("attach(name: \"\(creator.name)\")") { try L.attach(name: creator.name, size: 0) }
        try require(user.bytes.first == 42, CheckFailure("the attached segment does not show the creator's byte"))
        try attempt("close()") { try user.close() }
        try attempt("close()") { try creator.close() }
        try attempt("unlink()") { try creator.unlink() }
        // The attacher may unlink too.
        let name = freshName()
        let made = try attempt("create(name: \"\(name)\", size: 100)") { try L.create(name: name, size: 100) }
        let other = try attempt("attach(name: \"\(name)\")") { try L.attach(name: name, size: 0) }
        try attempt("unlink() by the attacher") { try other.unlink() }
        try attempt("close()") { try made.close() }
        try attempt("close()") { try other.close() }
        // Calls that fail must not leave anything either.
        let taken = freshName()
        let holder = try attempt("create(name: \"\(taken)\", size: 10)") { try L.create(name: taken, size: 10) }
        if let twice = try? L.create(name: taken, size: 10) { try? twice.close() }
        try attempt("close()") { try holder.close() }
        try attempt("unlink()") { try holder.unlink() }
        for size in [0, 1 << 62] {
            if let segment = try? L.create(name: freshName(), size: size) {
                try? segment.close()
                try? segment.unlink()
            }
        }

        let left = listing().subtracting(before)
        if !left.isEmpty {
            let described = left.sorted().map { "/dev/shm/\($0) (\(objectInfo($0).map { "\($0.st_size) bytes" } ?? "?"))" }
            left.forEach { SharedSegment.unlinkIfPresent($0) }
            throw CheckFailure("objects are left in /dev/shm", expected: "/dev/shm exactly as before the part",
                               seen: described.joined(separator: ", "),
                               cause: "an object lives until someone calls shm_unlink: unlink() must call it, and a create that fails after shm_open must remove what it made",
                               look: "unlink() and create(name:size:) in \(file)")
        }
    }

    // MARK: - part 8

    /// Attaches to the student's segment, reads the message, writes an answer.
    static let pythonAttaches = """
        import sys, zlib
        from multiprocessing import shared_memory, resource_tracker
        name = sys.argv[1]
        try:
            shm = shared_memory.SharedMemory(name=name, track=False)    # Python 3.13+
        except TypeError:
            shm = shared_memory.SharedMemory(name=name)
            # Python 3.11/3.12 registers every SharedMemory with its resource tracker, even one it
            # only attached to, and the tracker shm_unlinks it when this process exits. The
            # segment belongs to the Swift program: stop tracking it.
            resource_tracker.unregister(shm._name, "shared_memory")
        message = bytes(shm.buf[:16]).decode()
        checksum = zlib.adler32(bytes(shm.buf[32:]))
        shm.buf[16:32] = b"python was here!"
        print(shm.size, checksum, message)
        shm.close()
        """

    /// Creates a segment, writes a message, hands it over (no tracking) and prints its name.
    static let pythonCreates = """
        from multiprocessing import shared_memory, resource_tracker
        try:
            shm = shared_memory.SharedMemory(create=True, size=777, track=False)    # Python 3.13+
        except TypeError:
            shm = shared_memory.SharedMemory(create=True, size=777)
            # Without this, the tracker would unlink the segment as soon as Python exits.
            resource_tracker.unregister(shm._name, "shared_memory")
        shm.buf[:17] = b"hello from python"
        print(shm.name)
        shm.close()
        """

    /// Part 8: interop: Python attaches to your segment, and you attach to Python's.
    static func pythonInterop<L: NamedSegmentContract>(_: L.Type, _ context: PartContext) throws {
        let look = "create(name:size:) and attach(name:size:) in \(file)"
        // Python attaches to a segment you created.
        let size = 70_001                                      // past 64 KiB, not a whole number of pages
        let mine = try attempt("create(name: nil, size: \(size))") { try L.create(name: nil, size: size) }
        var removed = false
        defer { try? mine.close(); if !removed { SharedSegment.unlinkIfPresent(mine.name) } }
        try requireBacked(mine, what: "create(name: nil, size: \(size))")
        let message = Array("hello from swift".utf8)
        for (i, byte) in message.enumerated() { mine.bytes[i] = byte }
        var random = context.random(stream: 2)
        for i in 32..<size { mine.bytes[i] = UInt8.random(in: 0...255, using: &random) }
        let checksum = adler32(mine.bytes[32..<size])
        let said = try context.runPython(pythonAttaches, [mine.name], timeout: 25,
                                         what: "SharedMemory(name=\"\(mine.name)\")")
        let fields = chomp(said).split(separator: " ", maxSplits: 2).map(String.init)
        try requireEqual(fields.first ?? "", "\(size)", "Python sees the wrong size for your segment",
                         cause: "Python maps fstat's st_size: create must ftruncate to exactly the size asked for", look: look)
        try requireEqual(fields.count > 2 ? fields[2] : "", "hello from swift", "Python does not read what you wrote", look: look)
        try requireEqual(fields.count > 1 ? fields[1] : "", "\(checksum)",
                         "Python reads different bytes than you wrote (adler32 of bytes 32..<\(size))",
                         cause: "both must map the same object with MAP_SHARED: a MAP_PRIVATE mapping keeps your writes to yourself", look: look)
        let answer = String(decoding: mine.bytes[16..<32], as: UTF8.self)
        try requireEqual(answer, "python was here!", "you do not see what Python wrote",
                         cause: "both must map the same object, MAP_SHARED", look: look)
        try require(objectInfo(mine.name) != nil, CheckFailure(
            "your segment vanished when Python exited",
            cause: "Python's resource tracker unlinks segments Python merely attached to, unless it attached with track=False (3.13+) or called resource_tracker.unregister (3.11/3.12)"))
        try attempt("close()") { try mine.close() }
        try attempt("unlink()") { try mine.unlink() }
        removed = true

        // You attach to a segment Python created.
        let name = chomp(try context.runPython(pythonCreates, timeout: 25, what: "SharedMemory(create=True, size=777)"))
        defer { SharedSegment.unlinkIfPresent(name) }
        let theirs = try attempt("attach(name: \"\(name)\") for Python's segment") { try L.attach(name: name, size: 0) }
        defer { try? theirs.close() }
        try requireEqual(theirs.size, 777, "attach reports the wrong size for Python's segment",
                         cause: "Python's creator called ftruncate(fd, 777): read the size with fstat", look: look)
        let text = String(decoding: theirs.bytes[0..<17], as: UTF8.self)
        try requireEqual(text, "hello from python", "you do not read what Python wrote", look: look)
        try attempt("close()") { try theirs.close() }
        try attempt("unlink()") { try theirs.unlink() }
        try require(objectInfo(name) == nil, CheckFailure("unlink() did not remove Python's segment",
                                                        expected: "/dev/shm/\(name) gone", seen: "it is still there", look: look))
    }
}

// MARK: - helpers shared by the parts

extension Lesson02 {
    /// A name nobody uses: "shmlab_" and 16 random hex digits.
    static func freshName() -> String { String(SharedSegment.uniqueName().dropFirst()) }

    /// zlib's adler32, to compare with what Python computes.
    static func adler32<C: Collection>(_ bytes: C) -> UInt32 where C.Element == UInt8 {
        var a: UInt32 = 1, b: UInt32 = 0
        for byte in bytes { a = (a + UInt32(byte)) % 65521; b = (b + a) % 65521 }
        return b << 16 | a
    }

    static func devShmPath(_ name: String) -> String { "/dev/shm/" + (name.hasPrefix("/") ? String(name.dropFirst()) : name) }

    /// `lstat` of /dev/shm/NAME, or nil when it does not exist.
    static func objectInfo(_ name: String) -> stat? {
        guard !name.isEmpty, !name.dropFirst().contains("/") else { return nil }
        var info = stat()
        return lstat(devShmPath(name), &info) == 0 ? info : nil
    }

    /// Names in /dev/shm that belong to this user. The corresponding C function is `readdir`.
    static func listing() -> Set<String> {
        var names: Set<String> = []
        guard let dir = opendir("/dev/shm") else { return names }
        defer { closedir(dir) }
        let uid = getuid()
        while let entry = readdir(dir) {
            let name = withUnsafePointer(to: entry.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if name == "." || name == ".." { continue }
            var info = stat()
            if lstat("/dev/shm/" + name, &info) == 0 && info.st_uid == uid { names.insert(name) }
        }
        return names
    }

    /// This process's open descriptors as "fd → target" (from /proc/self/fd).
    static func openDescriptors() -> Set<String> {
        var found: Set<String> = []
        guard let dir = opendir("/proc/self/fd") else { return found }
        defer { closedir(dir) }
        let own = dirfd(dir)
        while let entry = readdir(dir) {
            let name = withUnsafePointer(to: entry.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            guard let fd = Int32(name), fd != own else { continue }
            var target = [CChar](repeating: 0, count: 512)
            let n = readlink("/proc/self/fd/\(name)", &target, target.count - 1)
            let text = n > 0 ? String(decoding: target[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self) : "?"
            found.insert("fd \(fd) → \(text)")
        }
        return found
    }

    /// A generated name is safe: 1…255 bytes from the portable file-name set, not "." or "..".
    static func isPlainName(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.count <= 255 && name != "." && name != ".."
            && name.utf8.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x61 && $0 <= 0x7A)
                || $0 == 0x2E || $0 == 0x5F || $0 == 0x2D }
    }

    /// Fails (instead of letting the part die of SIGBUS) when the object is shorter than the mapping.
    static func requireBacked<L: NamedSegmentContract>(_ segment: L, what: String) throws {
        let real = objectInfo(segment.name).map { Int($0.st_size) }
        guard let real else {
            throw CheckFailure("\(what): there is no /dev/shm/\(segment.name)",
                               cause: "shm_open(\"/\" + name, …) creates /dev/shm/name; `name` must be that name without the \"/\"",
                               look: "create(name:size:) in \(file)")
        }
        if real < segment.bytes.count {
            throw CheckFailure("\(what): the object is shorter than the mapping", expected: "\(segment.bytes.count) bytes in /dev/shm/\(segment.name)",
                               seen: "\(real) bytes — touching the mapping past \(real) would be a SIGBUS",
                               cause: "a new object is empty: the creator must ftruncate(fd, size) before mmap",
                               look: "create(name:size:) in \(file)")
        }
    }

    /// Runs a call that must throw exactly `expected`. A segment it returns anyway is closed, and
    /// its name removed unless it is someone else's (`.alreadyExists`).
    static func requireError<L: NamedSegmentContract>(_ call: String, _ expected: NamedSegmentError, cause: String, look: String,
                                                      _ body: () throws -> L) throws {
        try requireError(call, expected, cause: cause, look: look, returned: { segment in
            let name = segment.name
            try? segment.close()
            if case .alreadyExists = expected {} else { discard(segment, unlinking: name) }
            return "a segment of \(segment.size) bytes"
        }, body)
    }

    /// Runs a call that must throw exactly `expected`; `returned` cleans up and describes what it
    /// returned instead.
    static func requireError<T>(_ call: String, _ expected: NamedSegmentError, cause: String, look: String,
                                returned: (T) -> String = { _ in "normally" }, _ body: () throws -> T) throws {
        do {
            let value = try body()
            let seen = returned(value)
            throw CheckFailure("\(call) did not throw", expected: expected.description.replacingNUL, seen: "it returned \(seen)",
                               cause: cause, look: look)
        } catch let error as NamedSegmentError {
            if error != expected {
                throw CheckFailure("\(call) threw the wrong error", expected: expected.description.replacingNUL,
                                   seen: error.description.replacingNUL, cause: cause, look: look)
            }
        } catch let failure as CheckFailure {
            throw failure
        } catch {
            throw CheckFailure("\(call) threw the wrong kind of error", expected: "NamedSegmentError\(expected)",
                               seen: "\(error) (\(type(of: error)))", cause: "throw the NamedSegmentError case", look: look)
        }
    }

    /// Fails when /dev/shm/NAME exists (and removes it).
    static func requireAbsent(_ name: String, after what: String,
                              cause: String = "check the input before calling shm_open", look: String) throws {
        if let info = objectInfo(name) {
            SharedSegment.unlinkIfPresent(name)
            throw CheckFailure("\(what) left /dev/shm/\(name) behind", expected: "nothing created",
                               seen: "/dev/shm/\(name), \(info.st_size) bytes", cause: cause, look: look)
        }
    }

    /// Closes a segment and removes its name, ignoring errors: cleanup after a check.
    static func discard<L: NamedSegmentContract>(_ segment: L, unlinking name: String) {
        try? segment.close()
        if !name.isEmpty && !name.dropFirst().contains("/") { SharedSegment.unlinkIfPresent(name) }
    }

    static func quoted(_ name: String) -> String {
        name.utf8.count > 40 ? "<\(name.utf8.count) bytes>" : "\"\(name.replacingNUL)\""
    }

    static func hex<C: Collection>(_ bytes: C) -> String where C.Element == UInt8 {
        bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined(separator: " ")
    }

    /// `text` without its trailing line breaks.
    static func chomp(_ text: String) -> String {
        var text = text
        while text.last == "\n" || text.last == "\r" { text.removeLast() }
        return text
    }

    /// Polls `condition` (yielding the CPU between looks) until it holds or `timeout` passes.
    static func waitUntil(timeout: Double, _ condition: () -> Bool) -> Bool {
        let deadline = monotonicSeconds() + timeout
        var rounds = 0
        while !condition() {
            rounds += 1
            if monotonicSeconds() > deadline { return false }
            if rounds > 1000 { usleep(200) } else { sched_yield() }
        }
        return true
    }
}

