import Glibc

extension Lesson01 {
    /// The lesson bound to the student's type, the reference and the mutants.
    /// The student's file, for "look at" lines.
    static let file = "ForkAndMap.swift"

    /// Part 1: the block has the requested size and is all zeros.
    static func blockIsSizedAndZeroed<L: ForkAndMapContract>(_: L.Type, _ context: PartContext) throws {
        let look = "mapSharedBlock(bytes:) in \(file)"
        for size in [1, 4096, 10_000, 65_537, 1 << 20] {
            let block = try attempt("mapSharedBlock(bytes: \(size))") { try L.mapSharedBlock(bytes: size) }
            defer { labUnmap(block) }
            try requireEqual(block.count, size, "mapSharedBlock(bytes: \(size)) gave a block of the wrong size",
                             cause: "the buffer's count must be the size asked for, not a page-rounded one",
                             look: look)
            try requireSharedWritableMapping(block, call: "mapSharedBlock(bytes: \(size))", look: look)
            if let index = block.firstIndex(where: { $0 != 0 }) {
                throw CheckFailure("a fresh block is not all zeros", expected: "\(size) zero bytes",
                                   seen: "byte \(index) is \(block[index])",
                                   cause: "anonymous mappings are zero-filled by the kernel; is this really a new mmap?",
                                   look: look)
            }
            block[size - 1] = 0xA5
            block[0] = 0x5A
            try require(block[0] == 0x5A && (size == 1 || block[size - 1] == 0xA5), CheckFailure(
                "mapSharedBlock(bytes: \(size)) gave a block that does not keep what is written",
                expected: "the first and last byte read back as written", seen: "\(block[0]), \(block[size - 1])", look: look))
        }
        for bad in [0, -1, -4096, Int.min] {
            try requireThrows(ForkAndMapError.self, "mapSharedBlock(bytes: \(bad))", expected: "ForkAndMapError.invalidSize(\(bad))",
                              cause: "check the size before calling mmap (mmap itself fails with EINVAL for 0)", look: look, {
                let block = try L.mapSharedBlock(bytes: bad)
                labUnmap(block)
                throw CheckFailure("mapSharedBlock(bytes: \(bad)) returned a block",
                                   expected: "ForkAndMapError.invalidSize(\(bad))", seen: "a block of \(block.count) bytes",
                                   look: look)
            }, judge: { error in
                try requireEqual(error, .invalidSize(bad), "mapSharedBlock(bytes: \(bad)) threw the wrong error", look: look)
            })
        }
        // A size mmap cannot give (4 EiB): mmap returns MAP_FAILED, which is not nil.
        let huge = 1 << 62
        try requireThrows(SystemError.self, "mapSharedBlock(bytes: 1 << 62)",
                          expected: "SystemError(\"mmap\") with errno ENOMEM (mmap cannot map 4 EiB)",
                          cause: "a size > 0 is valid: only the failed mmap is an error, and it is a SystemError naming mmap", look: look, {
            let block = try L.mapSharedBlock(bytes: huge)
            let address = block.baseAddress.map { "0x" + String(UInt(bitPattern: $0), radix: 16) } ?? "nil"
            if let base = block.baseAddress, base != MAP_FAILED { munmap(base, block.count) }
            throw CheckFailure("mapSharedBlock(bytes: 1 << 62) returned a block although mmap cannot map 4 EiB",
                               expected: "SystemError(\"mmap\") with errno ENOMEM",
                               seen: "a block at \(address) of \(block.count) bytes",
                               cause: address == "0xffffffffffffffff"
                                   ? "mmap reports failure with MAP_FAILED ((void *) -1), not with nil: compare the result with MAP_FAILED and throw SystemError(\"mmap\")"
                                   : "a failed mmap must throw SystemError(\"mmap\")",
                               look: look)
        }, judge: { error in
            try requireEqual(error.call, "mmap", "mapSharedBlock(bytes: 1 << 62) threw a SystemError naming the wrong call",
                             cause: "the call that failed is mmap: SystemError(\"mmap\")", look: look)
        })
    }

    /// The kernel's view of the block: one mapping that covers all of it, readable, writable and
    /// shared ("rw-s" in /proc/self/maps).
    static func requireSharedWritableMapping(_ block: UnsafeMutableRawBufferPointer, call: String, look: String) throws {
        let start = UInt(bitPattern: block.baseAddress!)
        guard let line = ProcessInspection.mappingLine(containing: start),
              ProcessInspection.mappingLine(containing: start + UInt(block.count) - 1) != nil else {
            throw CheckFailure("\(call): the block is not all mapped",
                               expected: "/proc/self/maps covers 0x\(String(start, radix: 16)) … +\(block.count)",
                               seen: "part of the range is not mapped", cause: "map exactly `bytes` bytes and return that mapping",
                               look: look)
        }
        let fields = line.split(separator: " ")
        let permissions = fields.count > 1 ? String(fields[1]) : "?"
        if !permissions.hasPrefix("rw") {
            throw CheckFailure("\(call): the block cannot be written",
                               expected: "a mapping with permissions rw-s (PROT_READ | PROT_WRITE, MAP_SHARED)",
                               seen: "\(permissions) — writing to it would kill the process with SIGSEGV",
                               cause: "pass PROT_READ | PROT_WRITE to mmap", look: look)
        }
        if !permissions.hasSuffix("s") {
            throw CheckFailure("\(call): the block is private to this process",
                               expected: "a shared mapping (rw-s in /proc/self/maps)",
                               seen: "\(permissions): a private copy-on-write mapping",
                               cause: "MAP_PRIVATE gives every process its own copy after fork: use MAP_SHARED | MAP_ANONYMOUS",
                               look: look)
        }
    }

    /// Part 2: a child's writes are seen by the parent after the child exits.
    static func childWritesReachParent<L: ForkAndMapContract>(_: L.Type, _ context: PartContext) throws {
        let look = "runInChild(_:) and waitForChild(_:) in \(file)"
        let block = try attempt("mapSharedBlock(bytes: 4096)") { try L.mapSharedBlock(bytes: 4096) }
        defer { labUnmap(block) }
        // The lab's own flags, apart from the student's block: who ran the closure, and whether
        // the child finished before waitForChild returned.
        let flags = try labSharedBlock(bytes: 4096)
        defer { labUnmap(flags) }
        let returned = SharedFlag(at: flags.baseAddress!)
        let finished = SharedFlag(at: flags.baseAddress! + 64)
        let partProcess = context.partProcessID
        let pid = try attempt("runInChild") {
            try L.runInChild {
                flags.storeBytes(of: getpid(), toByteOffset: 128, as: pid_t.self)
                flags.storeBytes(of: getppid(), toByteOffset: 132, as: pid_t.self)
                if getpid() == partProcess { return 99 }              // the closure runs in the parent: say so at once
                // Finish only once the parent waits (asleep in waitForChild) or has come back from
                // it: a waitForChild that returns before the child has ended is then always caught.
                let deadline = monotonicSeconds() + 2
                while returned.value == 0 && monotonicSeconds() < deadline {
                    if waitUntilBlocked([getppid()], timeout: 0.1) { break }
                }
                for i in 0..<block.count { block[i] = UInt8(truncatingIfNeeded: i &* 7 &+ 1) }
                finished.value = 1
                return 0
            }
        }
        try context.requirePartProcess(after: "runInChild(_:)")
        var reaped = false
        defer { if !reaped { kill(pid, SIGKILL); _ = waitForProcess(pid, timeout: 5) } }
        let ranIn = flags.load(fromByteOffset: 128, as: pid_t.self)
        if ranIn == partProcess {
            throw CheckFailure("the closure ran in the parent, not in the child",
                               expected: "the closure runs in the new child (pid \(pid)), after fork",
                               seen: "it ran in the parent itself (pid \(partProcess)), before runInChild returned",
                               cause: "call body() in the branch where fork() returned 0, never before the fork or in the parent's branch",
                               look: "runInChild(_:) in \(file)")
        }
        let status: ChildStatus
        do {
            status = try L.waitForChild(pid)
        } catch {
            returned.value = 1
            throw CheckFailure("waitForChild(\(pid)) threw an error", expected: "no error", seen: "\(error)", look: look)
        }
        returned.value = 1
        if finished.value == 0 {
            throw CheckFailure("waitForChild(\(pid)) returned before the child was reaped: it had not even ended",
                               expected: "waitForChild returns once the child has exited (status \(ChildStatus.exited(0)))",
                               seen: "it returned \(status) while the child was still running",
                               cause: "waitpid(pid, &status, 0) blocks until the child ends; with WNOHANG it returns 0 at once (and the status is not filled in)",
                               look: "waitForChild(_:) in \(file)")
        }
        reaped = true
        try requireEqual(status, .exited(0), "the child did not exit cleanly",
                         cause: "runInChild must end the child with _exit(body())",
                         look: look)
        try requireEqual(flags.load(fromByteOffset: 128, as: pid_t.self), pid, "the closure ran in a process other than the child whose pid runInChild returned",
                         cause: "return fork()'s result in the parent: it is the pid of the child that runs the closure",
                         look: "runInChild(_:) in \(file)")
        try requireEqual(flags.load(fromByteOffset: 132, as: pid_t.self), partProcess,
                         "the closure's process is not a child of the caller",
                         cause: "fork once; the child runs the closure", look: "runInChild(_:) in \(file)")
        let wrong = (0..<block.count).filter { block[$0] != UInt8(truncatingIfNeeded: $0 &* 7 &+ 1) }
        if !wrong.isEmpty {
            throw CheckFailure("the parent does not see what the child wrote",
                               expected: "bytes 1, 8, 15, 22, … written by the child",
                               seen: "\(wrong.count) of 4096 bytes differ (byte \(wrong[0]) is \(block[wrong[0]])); the child was reaped with .exited(0); " + MappingEvidence(block).seen,
                               cause: MappingEvidence(block).cause(whenNotShared: "the child wrote to its own copy"),
                               look: "mapSharedBlock(bytes:) in \(file)")
        }
    }

    /// What /proc/self/maps says of the block: the evidence before a message blames MAP_PRIVATE.
    struct MappingEvidence {
        /// The maps line covering the block's first byte, if any.
        let line: String?
        /// Its permissions end in "s" (MAP_SHARED) or "p" (MAP_PRIVATE).
        let shared: Bool?

        init(_ block: UnsafeMutableRawBufferPointer) {
            line = block.baseAddress.flatMap { ProcessInspection.mappingLine(containing: UInt(bitPattern: $0)) }
            shared = line.flatMap { $0.split(separator: " ").dropFirst().first?.last }.map { $0 == "s" }
        }

        var seen: String {
            guard let line else { return "no line of /proc/self/maps covers the block" }
            return "/proc/self/maps: \(line) (\(shared == true ? "shared" : "private"))"
        }

        /// The cause when the child's and the parent's views of the block differ.
        func cause(whenNotShared consequence: String) -> String {
            switch shared {
            case false?:
                return "the block is MAP_PRIVATE (\"p\" in its permissions): after fork each process gets its own copy of a page on its first write, so \(consequence). Map it MAP_SHARED | MAP_ANONYMOUS"
            case nil:
                return "the block is not a mapping of its own (it lies in no line of /proc/self/maps): mapSharedBlock must return the memory mmap gave"
            case true?:
                return "the block is MAP_SHARED, so the memory itself is shared. Candidates: the child wrote somewhere else (a different buffer than the one it was given), or the parent looked before the child had written (waitForChild returned early). Compare with the lesson's runInChild and waitForChild"
            }
        }
    }

    /// Fails when waitForChild returned while the child had not been reaped (still running, or a
    /// zombie): the evidence that it did not wait (WNOHANG?). Reaps the child then, to say how it
    /// really ended. The corresponding C function is `waitpid`.
    static func requireReapedAfterWait(_ pid: pid_t, after status: ChildStatus, expected: ChildStatus) throws {
        guard let state = ProcessInspection.state(of: pid) else { return }     // gone: reaped
        let was = state == "Z" ? "had ended but was not reaped (a zombie)" : "was still running (state \(state))"
        var raw: Int32 = 0
        var real = "the lab could not reap it"
        if let end = waitReporting(pid, timeout: 5, status: &raw) {
            real = "the lab then waited for it: \(end), status word 0x\(String(raw, radix: 16))"
        }
        throw CheckFailure("waitForChild(\(pid)) returned before the child was reaped",
                           expected: "\(expected), once the child has ended and been reaped",
                           seen: "it returned \(status) while the child \(was); \(real)",
                           cause: "waitForChild did not wait: waitpid with WNOHANG returns 0 at once while the child runs and leaves the status untouched (0 reads as .exited(0)). Call waitpid(pid, &status, 0), and again when it fails with EINTR",
                           look: "waitForChild(_:) in \(file)")
    }

    /// Waits up to `timeout` seconds for `pid` and gives its raw status word too (SIGKILL and a
    /// reap after the timeout). The corresponding C function is `waitpid(…, WNOHANG)`, polled.
    static func waitReporting(_ pid: pid_t, timeout: Double, status raw: inout Int32) -> ProcessEnd? {
        let deadline = monotonicSeconds() + timeout
        while monotonicSeconds() < deadline {
            if waitpid(pid, &raw, WNOHANG) == pid { return ProcessEnd(waitStatus: raw) }
            usleep(2000)
        }
        kill(pid, SIGKILL)
        _ = waitpid(pid, &raw, 0)
        return nil
    }

    /// Why a reaped child's status was decoded as `seen` when waitpid's status word was `word`
    /// (what the kernel gives for that ending): named only when `seen` shows it; else the candidates.
    static func decodingCause(seen: ChildStatus, statusWord word: Int32) -> String {
        let hex = "0x" + String(word, radix: 16)
        let low = word & 0x7f
        switch seen {
        case .exited(let value) where value == word && word != (word >> 8) & 0xff:
            return "the whole status word (\(hex)) came back as the exit code: the code is in bits 8…15, (status >> 8) & 0xff, and only when the low 7 bits are 0"
        case .exited(let value) where low != 0 && value == (word >> 8) & 0xff:
            return "the status word \(hex) has \(low) in its low 7 bits: the child was killed by that signal, which must come back as .signaled(\(low)) — the exit code is only meaningful when those bits are 0"
        case .signaled(let value) where low == 0 && value == word:
            return "the status word \(hex) has 0 in its low 7 bits: the child exited (code \((word >> 8) & 0xff)); only non-zero low bits name a signal"
        default:
            return "for this child waitpid's status word is \(hex) (exit code in bits 8…15, signal in the low 7 bits, 0 when it exited); \(seen) fits none of the usual mistakes, so look at how waitForChild fills and decodes the status (the pid it waits for, the variable it reads)"
        }
    }

    /// Part 3: the parent's writes after the fork reach a running child.
    static func parentWritesReachRunningChild<L: ForkAndMapContract>(_: L.Type, _ context: PartContext) throws {
        let block = try attempt("mapSharedBlock(bytes: 4096)") { try L.mapSharedBlock(bytes: 4096) }
        defer { labUnmap(block) }
        let flag = SharedFlag(at: block.baseAddress!)
        // The lab's own signal that the parent has written (release, after the student's flag):
        // once the child sees it, the parent's writes must be visible in a shared block.
        let labBlock = try labSharedBlock(bytes: 4096)
        defer { labUnmap(labBlock) }
        let written = SharedFlag(at: labBlock.baseAddress!)
        let message = Array("written by the parent after fork".utf8)
        let partProcess = context.partProcessID
        let pid = try attempt("runInChild") {
            try L.runInChild {
                if getpid() == partProcess { return 99 }          // the closure runs in the parent: say so at once
                guard written.wait(for: 1, timeout: 10), flag.value == 1 else { return 3 }
                return Array(block[8..<(8 + message.count)]) == message ? 0 : 4
            }
        }
        try context.requirePartProcess(after: "runInChild(_:)")
        block.baseAddress!.advanced(by: 8).copyMemory(from: message, byteCount: message.count)
        flag.value = 1
        written.value = 1
        let status = try attempt("waitForChild(\(pid))") { try L.waitForChild(pid) }
        try requireReapedAfterWait(pid, after: status, expected: .exited(0))
        switch status {
        case .exited(0): break
        case .exited(3):
            throw CheckFailure("the running child never saw the parent's write",
                               expected: "the child sees the flag the parent set after fork",
                               seen: "the flag stayed 0 in the child (it exited with 3); " + MappingEvidence(block).seen,
                               cause: MappingEvidence(block).cause(whenNotShared: "the parent's write stayed in the parent's copy"),
                               look: "mapSharedBlock(bytes:) in \(file)")
        case .exited(4):
            throw CheckFailure("the child saw the flag but not the message the parent wrote before it",
                               look: "mapSharedBlock(bytes:) in \(file)")
        case .exited(99):
            throw ranInParent(pid: pid, partProcess: partProcess)
        default:
            throw CheckFailure("the child did not exit cleanly", expected: ".exited(0)", seen: "\(status)",
                               look: "runInChild(_:) and waitForChild(_:) in \(file)")
        }
    }

    /// Part 4: exit statuses: .exited(7) and .signaled(SIGKILL).
    static func exitStatusesDecoded<L: ForkAndMapContract>(_: L.Type, _ context: PartContext) throws {
        let look = "waitForChild(_:) in \(file)"
        let flags = try labSharedBlock(bytes: 4096)
        defer { labUnmap(flags) }
        let returned = SharedFlag(at: flags.baseAddress!)
        for code: Int32 in [7, 0, 255, 128, 1] {
            returned.value = 0
            let first = code == 7
            let pid = try attempt("runInChild") {
                try L.runInChild {
                    // The first child ends only once the parent sleeps in waitForChild (or has come
                    // back from it), so that a wait that does not wait is caught here too.
                    let deadline = monotonicSeconds() + 2
                    while first && returned.value == 0 && monotonicSeconds() < deadline {
                        if waitUntilBlocked([getppid()], timeout: 0.1) { break }
                    }
                    return code
                }
            }
            try context.requirePartProcess(after: "runInChild(_:)")
            let status: ChildStatus
            do { status = try L.waitForChild(pid) } catch {
                returned.value = 1
                throw CheckFailure("waitForChild(\(pid)) threw an error", expected: "no error", seen: "\(error)", look: look)
            }
            returned.value = 1
            try requireReapedAfterWait(pid, after: status, expected: .exited(code))
            try requireEqual(status, .exited(code), "a child that exits with \(code) was decoded wrongly",
                             cause: decodingCause(seen: status, statusWord: code << 8),
                             look: look)
            try requireReaped(pid, after: "waitForChild(\(pid))", look: look)
        }
        for signal in [SIGKILL, SIGTERM, SIGINT] {
            let pid = try attempt("runInChild") {
                try L.runInChild {
                    while true { pause() }
                }
            }
            try context.requirePartProcess(after: "runInChild(_:)")
            kill(pid, signal)
            let status = try attempt("waitForChild(\(pid))") { try L.waitForChild(pid) }
            try requireEqual(status, .signaled(signal), "a child killed with \(signalName(signal)) was decoded wrongly",
                             cause: decodingCause(seen: status, statusWord: signal),
                             look: look)
        }
        try waitsForThatChild(L.self, context)
        try retriesAfterInterruption(L.self, context)
        try refusesWhatIsNoChild(L.self, context)
    }

    /// Fails unless `pid` is gone from the process table: waited for, not a zombie.
    static func requireReaped(_ pid: pid_t, after call: String, look: String) throws {
        if let state = ProcessInspection.state(of: pid) {
            throw CheckFailure("\(call) returned, but the child is still in the process table",
                               expected: "the child reaped (no /proc/\(pid))",
                               seen: state == "Z" ? "a zombie: it ended and nobody collected its status" : "state \(state): it is still running",
                               cause: "waitpid(pid, &status, 0) both waits and removes the ended child; do not pass WNOHANG or WNOWAIT",
                               look: look)
        }
    }

    /// Two children; the one asked for ends last: waitForChild(pid) must wait for exactly that one.
    static func waitsForThatChild<L: ForkAndMapContract>(_: L.Type, _ context: PartContext) throws {
        let look = "waitForChild(_:) in \(file)"
        let flags = try labSharedBlock(bytes: 4096)
        defer { labUnmap(flags) }
        let go = SharedFlag(at: flags.baseAddress!)
        let later = try attempt("runInChild") {
            try L.runInChild { go.wait(for: 1, timeout: 10) ? 5 : 6 }
        }
        try context.requirePartProcess(after: "runInChild(_:)")
        let first = try attempt("runInChild") { try L.runInChild { 3 } }
        try context.requirePartProcess(after: "runInChild(_:)")
        var pending: Set<pid_t> = [later, first]
        defer { go.value = 1; for pid in pending { _ = waitForProcess(pid, timeout: 5) } }
        // Until the first child has ended (a zombie, not collected: WNOWAIT).
        var info = siginfo_t()
        while waitid(P_PID, id_t(first), &info, WEXITED | WNOWAIT) == -1 && errno == EINTR {}
        go.value = 1
        let status = try attempt("waitForChild(\(later))") { try L.waitForChild(later) }
        pending.remove(later)
        if status == .exited(3) {
            pending = [first]
            throw CheckFailure("waitForChild(\(later)) gave the status of another child",
                               expected: ".exited(5), the status of child \(later)",
                               seen: ".exited(3), the status of child \(first), which had ended first",
                               cause: "waitpid(-1, …) (or wait()) collects any child: pass the pid, waitpid(pid, &status, 0)",
                               look: look)
        }
        try requireEqual(status, .exited(5), "waitForChild(\(later)) gave the wrong status with two children", look: look)
        let other = try attempt("waitForChild(\(first))") { try L.waitForChild(first) }
        pending.remove(first)
        try requireEqual(other, .exited(3), "waitForChild(\(first)) gave the wrong status with two children", look: look)
    }

    /// A signal that interrupts waitpid (EINTR) is not an error: waitForChild waits again.
    static func retriesAfterInterruption<L: ForkAndMapContract>(_: L.Type, _ context: PartContext) throws {
        let look = "waitForChild(_:) in \(file)"
        let flags = try labSharedBlock(bytes: 4096)
        defer { labUnmap(flags) }
        let returned = SharedFlag(at: flags.baseAddress!)
        interruptionsSeen = SharedFlag(at: flags.baseAddress! + 64)
        // SIGUSR1 with a handler and without SA_RESTART: a waitpid it interrupts fails with EINTR.
        var action = sigaction()
        action.__sigaction_handler.sa_handler = { _ in interruptionsSeen?.value = 1 }
        sigemptyset(&action.sa_mask)
        action.sa_flags = 0
        var previous = sigaction()
        sigaction(SIGUSR1, &action, &previous)
        defer { sigaction(SIGUSR1, &previous, nil); interruptionsSeen = nil }
        let seen = interruptionsSeen!
        let pid = try attempt("runInChild") {
            try L.runInChild {
                let parent = getppid()
                // Interrupt the parent while it sleeps in waitpid…
                guard waitUntilBlocked([parent], timeout: 5) else { return 3 }
                kill(parent, SIGUSR1)
                // …and end only once it has handled the signal and waits again (or has given up).
                let deadline = monotonicSeconds() + 5
                while seen.value == 0 && monotonicSeconds() < deadline { sched_yield() }
                while returned.value == 0 && monotonicSeconds() < deadline {
                    if waitUntilBlocked([parent], timeout: 0.1) { break }
                }
                return 0
            }
        }
        try context.requirePartProcess(after: "runInChild(_:)")
        do {
            let status = try L.waitForChild(pid)
            returned.value = 1
            try requireEqual(status, .exited(0), "waitForChild(\(pid)) gave the wrong status after a signal interrupted it",
                             look: look)
        } catch let error as SystemError {
            returned.value = 1
            _ = waitForProcess(pid, timeout: 5)
            throw CheckFailure("waitForChild(\(pid)) threw when a signal interrupted waitpid",
                               expected: "it waits again and returns .exited(0)", seen: "\(error)",
                               cause: error.errno == EINTR
                                   ? "waitpid fails with EINTR when a signal handler runs while it waits: that is no error, call waitpid again (while waitpid(…) == -1 && errno == EINTR {})"
                                   : "only EINTR is retried; this failure came from \(error.call)",
                               look: look)
        } catch {
            returned.value = 1
            _ = waitForProcess(pid, timeout: 5)
            throw CheckFailure("waitForChild(\(pid)) threw when a signal interrupted waitpid", expected: "it waits again",
                               seen: "\(error)", look: look)
        }
    }

    /// What waitpid refuses: a process that is not our child, a child already collected.
    static func refusesWhatIsNoChild<L: ForkAndMapContract>(_: L.Type, _ context: PartContext) throws {
        let look = "waitForChild(_:) in \(file)"
        let pid = try attempt("runInChild") { try L.runInChild { 0 } }
        try context.requirePartProcess(after: "runInChild(_:)")
        _ = try attempt("waitForChild(\(pid))") { try L.waitForChild(pid) }
        for (target, what) in [(getppid(), "the parent of this process (not a child of it)"),
                               (pid, "a child whose status was already collected")] {
            do {
                let status = try L.waitForChild(target)
                throw CheckFailure("waitForChild(\(target)) returned \(status) for \(what)",
                                   expected: "SystemError(\"waitpid\") with errno ECHILD", seen: "\(status)",
                                   cause: "waitpid returns -1 with errno ECHILD when pid is not a child waiting to be collected: check its result and throw SystemError(\"waitpid\") instead of decoding a status it never filled in",
                                   look: look)
            } catch let error as SystemError {
                try requireEqual(error.call, "waitpid", "waitForChild(\(target)) threw a SystemError naming the wrong call", look: look)
                try requireEqual(errnoSymbol(error.errno), errnoSymbol(ECHILD), "waitForChild(\(target)) threw the wrong errno for \(what)",
                                 look: look)
            } catch let failure as CheckFailure {
                throw failure
            } catch {
                throw CheckFailure("waitForChild(\(target)) threw the wrong error for \(what)",
                                   expected: "SystemError(\"waitpid\") with errno ECHILD", seen: "\(error)", look: look)
            }
        }
    }

    /// Part 5: the tutorial's scene: the parent writes 100 × \"a\", the child prints it.
    static func tutorialScene<L: ForkAndMapContract>(_: L.Type, _ context: PartContext) throws {
        let block = try attempt("mapSharedBlock(bytes: 4096)") { try L.mapSharedBlock(bytes: 4096) }
        defer { labUnmap(block) }
        let flag = SharedFlag(at: block.baseAddress! + 2048)
        let labBlock = try labSharedBlock(bytes: 4096)
        defer { labUnmap(labBlock) }
        let written = SharedFlag(at: labBlock.baseAddress!)    // the lab's own "the parent has written"
        let pipe = try Descriptor.pipe()
        // A line the parent has printed but not flushed: stdout is a pipe, so it waits in stdio's
        // buffer. A fork that does not flush first hands a copy of it to the child.
        print(unflushedLine)
        let partProcess = context.partProcessID
        let pid = try attempt("runInChild") {
            try L.runInChild {
                if getpid() == partProcess { return 99 }          // the closure runs in the parent: say so at once
                guard written.wait(for: 1, timeout: 10), flag.value == 1 else { return 3 }
                dup2(pipe.write, 1)
                print(String(decoding: block[0..<100], as: UTF8.self))
                return 0
            }
        }
        try context.requirePartProcess(after: "runInChild(_:)")
        Descriptor.close(pipe.write)
        for i in 0..<100 { block[i] = UInt8(ascii: "a") }
        flag.value = 1
        written.value = 1
        let printed = String(decoding: try Descriptor.readAll(pipe.read), as: UTF8.self)
        Descriptor.close(pipe.read)
        let status = try attempt("waitForChild(\(pid))") { try L.waitForChild(pid) }
        if status == .exited(99) { throw ranInParent(pid: pid, partProcess: partProcess) }
        try requireReapedAfterWait(pid, after: status, expected: .exited(0))
        if status == .exited(3) {
            throw CheckFailure("the running child never saw the parent's 100 × \"a\"",
                               expected: "the child sees the flag and the bytes the parent wrote after fork",
                               seen: "the flag stayed 0 in the child's block (it exited with 3); " + MappingEvidence(block).seen,
                               cause: MappingEvidence(block).cause(whenNotShared: "the parent's writes stayed in the parent's copy"),
                               look: "mapSharedBlock(bytes:) in \(file)")
        }
        try requireEqual(status, .exited(0), "the child did not exit cleanly", look: "runInChild(_:) in \(file)")
        let expected = String(repeating: "a", count: 100) + "\n"
        if printed.hasPrefix(unflushedLine) {
            throw CheckFailure("the child printed the parent's buffered output again",
                               expected: "only the child's 100 × \"a\" and a newline",
                               seen: "\"\(unflushedLine)\" (printed by the parent before the fork, not yet flushed) and then \(printed.utf8.count - unflushedLine.utf8.count - 1) more bytes",
                               cause: "fork copies stdio's buffer: call fflush(nil) before fork, or whatever the parent printed and not yet flushed is printed a second time by the child",
                               look: "runInChild(_:) in \(file)")
        }
        if printed != expected {
            throw CheckFailure("the child's output is not the parent's 100 × \"a\"",
                               expected: "100 × \"a\" and a newline (101 bytes)",
                               seen: printed.isEmpty ? "nothing at all" : "\(printed.utf8.count) bytes: \(printed.prefix(40))…",
                               cause: printed.isEmpty
                                   ? "print() only fills stdio's buffer and _exit() does not flush it: call fflush(nil) before _exit"
                                   : MappingEvidence(block).cause(whenNotShared: "the child printed its own copy"),
                               look: "runInChild(_:) in \(file)")
        }
    }

    /// Part 6: unmap really removes the mapping.
    static func unmapRemovesMapping<L: ForkAndMapContract>(_: L.Type, _ context: PartContext) throws {
        let look = "unmap(_:) in \(file)"
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        for size in [3 * 4096, 10_000, 1 << 20] {
            let block = try attempt("mapSharedBlock(bytes: \(size))") { try L.mapSharedBlock(bytes: size) }
            let start = UInt(bitPattern: block.baseAddress!)
            try attempt("unmap") { try L.unmap(block) }
            let end = start + UInt(size)
            let overlapping = mappings().filter { $0.low < end && start < $0.high }
            if let range = overlapping.first {
                let first = Int(max(range.low, start) - start)
                let pages = overlapping.reduce(0) { $0 + Int(min($1.high, end) - max($1.low, start)) } / page
                labUnmap(block)
                throw CheckFailure("the block is still mapped after unmap",
                                   expected: "no line of /proc/self/maps covers 0x\(String(start, radix: 16)) … +\(size)",
                                   seen: "\(pages) of \((size + page - 1) / page) pages still mapped, from byte \(first): \(range.line)",
                                   cause: first == 0 ? "unmap must call munmap(base, count)"
                                                     : "munmap(base, count) with the block's whole count: only the pages in the length are removed",
                                   look: look)
            }
        }
        // munmap refuses an address that is not page-aligned (EINVAL): unmap must say so.
        let lab = try labSharedBlock(bytes: 2 * page)
        defer { labUnmap(lab) }
        let misaligned = UnsafeMutableRawBufferPointer(rebasing: lab[1..<page])
        try requireThrows(SystemError.self, "unmap of a block at a misaligned address",
                          expected: "SystemError(\"munmap\") with errno EINVAL", look: look, {
            try L.unmap(misaligned)
            throw CheckFailure("unmap of a block at a misaligned address returned normally",
                               expected: "SystemError(\"munmap\") with errno EINVAL (munmap needs a page-aligned address)",
                               seen: "no error",
                               cause: "check munmap's result: -1 means it failed; throw SystemError(\"munmap\")",
                               look: look)
        }, judge: { error in
            try requireEqual(error.call, "munmap", "unmap threw a SystemError naming the wrong call", look: look)
        })
    }

    /// Every mapping of this process: its address range and its line of /proc/self/maps.
    static func mappings() -> [(low: UInt, high: UInt, line: String)] {
        guard let bytes = try? readFile("/proc/self/maps") else { return [] }
        return String(decoding: bytes, as: UTF8.self).split(separator: "\n").compactMap { line in
            let range = line.prefix { $0 != " " }.split(separator: "-")
            guard range.count == 2, let low = UInt(range[0], radix: 16), let high = UInt(range[1], radix: 16) else { return nil }
            return (low, high, String(line))
        }
    }

    /// A line printed by part 5's parent before the fork, left in stdio's buffer.
    static let unflushedLine = "lesson 01 part 5: the parent printed this before fork and did not flush it"

    /// The failure when the closure ran in the part's own process.
    static func ranInParent(pid: pid_t, partProcess: pid_t) -> CheckFailure {
        CheckFailure("the closure ran in the parent, not in the child",
                     expected: "the closure runs in the new child (pid \(pid)), after fork",
                     seen: "it ran in the parent itself (pid \(partProcess))",
                     cause: "call body() in the branch where fork() returned 0, never before the fork or in the parent's branch",
                     look: "runInChild(_:) in \(file)")
    }

}

/// Part 4's SIGUSR1 handler notes here that it ran (a C handler captures nothing).
nonisolated(unsafe) var interruptionsSeen: SharedFlag?
