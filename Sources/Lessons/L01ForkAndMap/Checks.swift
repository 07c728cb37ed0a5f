import Glibc

extension Lesson01 {
    /// The lesson bound to the student's type, the reference and the mutants.
    /// The student's file, for "look at" lines.
    static let file = "ForkAndMap.swift"

    /// Part 1: the block has the requested size and is all zeros.
    static func blockIsSizedAndZeroed<L: ForkAndMapContract>(_: L.Type, _ context: PartContext) throws {
        for size in [1, 4096, 10_000, 1 << 20] {
            let block = try attempt("mapSharedBlock(bytes: \(size))") { try L.mapSharedBlock(bytes: size) }
            defer { labUnmap(block) }
            try requireEqual(block.count, size, "mapSharedBlock(bytes: \(size)) gave a block of the wrong size",
                             cause: "the buffer's count must be the size asked for, not a page-rounded one",
                             look: "mapSharedBlock(bytes:) in \(file)")
            if let index = block.firstIndex(where: { $0 != 0 }) {
                throw CheckFailure("a fresh block is not all zeros", expected: "\(size) zero bytes",
                                   seen: "byte \(index) is \(block[index])",
                                   cause: "anonymous mappings are zero-filled by the kernel; is this really a new mmap?",
                                   look: "mapSharedBlock(bytes:) in \(file)")
            }
        }
        for bad in [0, -1] {
            do {
                let block = try L.mapSharedBlock(bytes: bad)
                labUnmap(block)
                throw CheckFailure("mapSharedBlock(bytes: \(bad)) returned a block",
                                   expected: "ForkAndMapError.invalidSize(\(bad))", seen: "a block of \(block.count) bytes",
                                   look: "mapSharedBlock(bytes:) in \(file)")
            } catch let error as ForkAndMapError {
                try requireEqual(error, .invalidSize(bad), "mapSharedBlock(bytes: \(bad)) threw the wrong error")
            } catch let failure as CheckFailure {
                throw failure
            } catch {
                throw CheckFailure("mapSharedBlock(bytes: \(bad)) threw the wrong error",
                                   expected: "ForkAndMapError.invalidSize(\(bad))", seen: "\(error)",
                                   cause: "check the size before calling mmap (mmap itself fails with EINVAL for 0)",
                                   look: "mapSharedBlock(bytes:) in \(file)")
            }
        }
    }

    /// Part 2: a child's writes are seen by the parent after the child exits.
    static func childWritesReachParent<L: ForkAndMapContract>(_: L.Type, _ context: PartContext) throws {
        let block = try attempt("mapSharedBlock(bytes: 4096)") { try L.mapSharedBlock(bytes: 4096) }
        defer { labUnmap(block) }
        let pid = try attempt("runInChild") {
            try L.runInChild {
                usleep(100_000)          // a child that takes a moment: the parent must really wait for it
                for i in 0..<block.count { block[i] = UInt8(truncatingIfNeeded: i &* 7 &+ 1) }
                return 0
            }
        }
        try context.requirePartProcess(after: "runInChild(_:)")
        let status = try attempt("waitForChild(\(pid))") { try L.waitForChild(pid) }
        try requireReaped(pid, after: status, expected: .exited(0))
        try requireEqual(status, .exited(0), "the child did not exit cleanly",
                         cause: "its closure returns 0: the child must end with _exit(body()) and waitForChild decode that as .exited(0)",
                         look: "runInChild(_:) and waitForChild(_:) in \(file)")
        let wrong = (0..<block.count).filter { block[$0] != UInt8(truncatingIfNeeded: $0 &* 7 &+ 1) }
        if !wrong.isEmpty {
            let seen = "\(wrong.count) of 4096 bytes differ (byte \(wrong[0]) is \(block[wrong[0]])); the child was reaped with .exited(0)"
            throw CheckFailure("the parent does not see what the child wrote",
                               expected: "bytes 1, 8, 15, 22, … written by the child",
                               seen: seen + "; " + MappingEvidence(block).seen,
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
    static func requireReaped(_ pid: pid_t, after status: ChildStatus, expected: ChildStatus) throws {
        guard let state = ProcessInspection.state(of: pid) else { return }     // gone: reaped
        let was = state == "Z" ? "had ended but was not reaped (a zombie)" : "was still running (state \(state))"
        var raw: Int32 = 0
        var real = "the lab could not reap it"
        if let end = waitForProcess(pid, timeout: 5, status: &raw) {
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
    static func waitForProcess(_ pid: pid_t, timeout: Double, status raw: inout Int32) -> ProcessEnd? {
        let deadline = monotonicSeconds() + timeout
        while monotonicSeconds() < deadline {
            if waitpid(pid, &raw, WNOHANG) == pid { return ProcessEnd(waitStatus: raw) }
            usleep(2000)
        }
        kill(pid, SIGKILL)
        _ = waitpid(pid, &raw, 0)
        return nil
    }

    /// Part 3: the parent's writes after the fork reach a running child.
    static func parentWritesReachRunningChild<L: ForkAndMapContract>(_: L.Type, _ context: PartContext) throws {
        let block = try attempt("mapSharedBlock(bytes: 4096)") { try L.mapSharedBlock(bytes: 4096) }
        defer { labUnmap(block) }
        let flag = SharedFlag(at: block.baseAddress!)
        let message = Array("written by the parent after fork".utf8)
        let pid = try attempt("runInChild") {
            try L.runInChild {
                // 1 s: ends well before the runner's 1.5 s stall window, so that this check explains it.
                guard flag.wait(for: 1, timeout: 1) else { return 3 }
                return Array(block[8..<(8 + message.count)]) == message ? 0 : 4
            }
        }
        try context.requirePartProcess(after: "runInChild(_:)")
        block.baseAddress!.advanced(by: 8).copyMemory(from: message, byteCount: message.count)
        flag.value = 1
        let status = try attempt("waitForChild(\(pid))") { try L.waitForChild(pid) }
        try requireReaped(pid, after: status, expected: .exited(0))
        switch status {
        case .exited(0): break
        case .exited(3):
            throw CheckFailure("the running child never saw the parent's write",
                               expected: "the child sees the flag the parent set after fork (within 1 s)",
                               seen: "the flag stayed 0 in the child (it exited with 3); " + MappingEvidence(block).seen,
                               cause: MappingEvidence(block).cause(whenNotShared: "the parent's write stayed in the parent's copy"),
                               look: "mapSharedBlock(bytes:) in \(file)")
        case .exited(4):
            throw CheckFailure("the child saw the flag but not the message the parent wrote before it",
                               look: "mapSharedBlock(bytes:) in \(file)")
        default:
            throw CheckFailure("the child did not exit cleanly", expected: ".exited(0)", seen: "\(status)",
                               look: "runInChild(_:) and waitForChild(_:) in \(file)")
        }
    }

    /// Part 4: exit statuses: .exited(7) and .signaled(SIGKILL).
    static func exitStatusesDecoded<L: ForkAndMapContract>(_: L.Type, _ context: PartContext) throws {
        for code: Int32 in [7, 0, 255] {
            let pid = try attempt("runInChild") { try L.runInChild { usleep(50_000); return code } }
            try context.requirePartProcess(after: "runInChild(_:)")
            let status = try attempt("waitForChild(\(pid))") { try L.waitForChild(pid) }
            try requireReaped(pid, after: status, expected: .exited(code))
            try requireEqual(status, .exited(code), "a child that exits with \(code) was decoded wrongly",
                             cause: decodingCause(seen: status, statusWord: code << 8),
                             look: "waitForChild(_:) in \(file)")
        }
        let pid = try attempt("runInChild") {
            try L.runInChild {
                while true { pause() }
            }
        }
        try context.requirePartProcess(after: "runInChild(_:)")
        kill(pid, SIGKILL)
        let status = try attempt("waitForChild(\(pid))") { try L.waitForChild(pid) }
        try requireReaped(pid, after: status, expected: .signaled(SIGKILL))
        try requireEqual(status, .signaled(SIGKILL), "a child killed with SIGKILL was decoded wrongly",
                         cause: decodingCause(seen: status, statusWord: SIGKILL),
                         look: "waitForChild(_:) in \(file)")
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

    /// Part 5: the tutorial's scene: the parent writes 100 × \"a\", the child prints it.
    static func tutorialScene<L: ForkAndMapContract>(_: L.Type, _ context: PartContext) throws {
        let block = try attempt("mapSharedBlock(bytes: 4096)") { try L.mapSharedBlock(bytes: 4096) }
        defer { labUnmap(block) }
        let flag = SharedFlag(at: block.baseAddress! + 2048)
        let pipe = try Descriptor.pipe()
        let pid = try attempt("runInChild") {
            try L.runInChild {
                guard flag.wait(for: 1, timeout: 1) else { return 3 }       // within the stall window (part 3)
                dup2(pipe.write, 1)
                print(String(decoding: block[0..<100], as: UTF8.self))
                return 0
            }
        }
        try context.requirePartProcess(after: "runInChild(_:)")
        Descriptor.close(pipe.write)
        for i in 0..<100 { block[i] = UInt8(ascii: "a") }
        flag.value = 1
        let printed = String(decoding: try Descriptor.readAll(pipe.read), as: UTF8.self)
        Descriptor.close(pipe.read)
        let status = try attempt("waitForChild(\(pid))") { try L.waitForChild(pid) }
        try requireReaped(pid, after: status, expected: .exited(0))
        if status == .exited(3) {
            throw CheckFailure("the child never saw the parent's 100 × \"a\"",
                               expected: "the child sees the flag the parent set after fork (within 1 s), prints and exits 0",
                               seen: "it exited with 3: the flag stayed 0 in the child; " + MappingEvidence(block).seen,
                               cause: MappingEvidence(block).cause(whenNotShared: "the parent's writes stayed in the parent's copy"),
                               look: "mapSharedBlock(bytes:) in \(file)")
        }
        try requireEqual(status, .exited(0), "the child did not exit cleanly",
                         cause: "its closure returns 0 once it has printed: the child must end with _exit(body()) after fflush",
                         look: "runInChild(_:) in \(file)")
        let expected = String(repeating: "a", count: 100) + "\n"
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
        for size in [3 * 4096, 10_000] {
            let block = try attempt("mapSharedBlock(bytes: \(size))") { try L.mapSharedBlock(bytes: size) }
            let start = UInt(bitPattern: block.baseAddress!)
            try attempt("unmap") { try L.unmap(block) }
            if let line = ProcessInspection.mappingLine(containing: start) {
                labUnmap(block)
                throw CheckFailure("the block is still mapped after unmap",
                                   expected: "no line of /proc/self/maps covers 0x\(String(start, radix: 16))",
                                   seen: line, cause: "unmap must call munmap(base, count)",
                                   look: "unmap(_:) in \(file)")
            }
        }
    }

}
