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
                for i in 0..<block.count { block[i] = UInt8(truncatingIfNeeded: i &* 7 &+ 1) }
                return 0
            }
        }
        try context.requirePartProcess(after: "runInChild(_:)")
        let status = try attempt("waitForChild(\(pid))") { try L.waitForChild(pid) }
        try requireEqual(status, .exited(0), "the child did not exit cleanly",
                         cause: "runInChild must end the child with _exit(body())",
                         look: "runInChild(_:) and waitForChild(_:) in \(file)")
        let wrong = (0..<block.count).filter { block[$0] != UInt8(truncatingIfNeeded: $0 &* 7 &+ 1) }
        if !wrong.isEmpty {
            throw CheckFailure("the parent does not see what the child wrote",
                               expected: "bytes 1, 8, 15, 22, … written by the child",
                               seen: "\(wrong.count) of 4096 bytes differ (byte \(wrong[0]) is \(block[wrong[0]]))",
                               cause: "a MAP_PRIVATE mapping is copied on write, so the child wrote to its own copy; use MAP_SHARED",
                               look: "mapSharedBlock(bytes:) in \(file)")
        }
    }

    /// Part 3: the parent's writes after the fork reach a running child.
    static func parentWritesReachRunningChild<L: ForkAndMapContract>(_: L.Type, _ context: PartContext) throws {
        let block = try attempt("mapSharedBlock(bytes: 4096)") { try L.mapSharedBlock(bytes: 4096) }
        defer { labUnmap(block) }
        let flag = SharedFlag(at: block.baseAddress!)
        let message = Array("written by the parent after fork".utf8)
        let pid = try attempt("runInChild") {
            try L.runInChild {
                guard flag.wait(for: 1, timeout: 5) else { return 3 }
                return Array(block[8..<(8 + message.count)]) == message ? 0 : 4
            }
        }
        try context.requirePartProcess(after: "runInChild(_:)")
        block.baseAddress!.advanced(by: 8).copyMemory(from: message, byteCount: message.count)
        flag.value = 1
        let status = try attempt("waitForChild(\(pid))") { try L.waitForChild(pid) }
        switch status {
        case .exited(0): break
        case .exited(3):
            throw CheckFailure("the running child never saw the parent's write",
                               expected: "the child sees the flag the parent set after fork (within 5 s)",
                               seen: "the flag stayed 0 in the child",
                               cause: "the block is a private copy in each process (MAP_PRIVATE); use MAP_SHARED",
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
            let pid = try attempt("runInChild") { try L.runInChild { code } }
            try context.requirePartProcess(after: "runInChild(_:)")
            let status = try attempt("waitForChild(\(pid))") { try L.waitForChild(pid) }
            try requireEqual(status, .exited(code), "a child that exits with \(code) was decoded wrongly",
                             cause: "the status from waitpid packs the code in bits 8…15: (status >> 8) & 0xff",
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
        try requireEqual(status, .signaled(SIGKILL), "a child killed with SIGKILL was decoded wrongly",
                         cause: "when the low 7 bits of the status are not 0, they are the signal that ended the child",
                         look: "waitForChild(_:) in \(file)")
    }

    /// Part 5: the tutorial's scene: the parent writes 100 × \"a\", the child prints it.
    static func tutorialScene<L: ForkAndMapContract>(_: L.Type, _ context: PartContext) throws {
        let block = try attempt("mapSharedBlock(bytes: 4096)") { try L.mapSharedBlock(bytes: 4096) }
        defer { labUnmap(block) }
        let flag = SharedFlag(at: block.baseAddress! + 2048)
        let pipe = try Descriptor.pipe()
        let pid = try attempt("runInChild") {
            try L.runInChild {
                guard flag.wait(for: 1, timeout: 5) else { return 3 }
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
        try requireEqual(status, .exited(0), "the child did not exit cleanly", look: "runInChild(_:) in \(file)")
        let expected = String(repeating: "a", count: 100) + "\n"
        if printed != expected {
            throw CheckFailure("the child's output is not the parent's 100 × \"a\"",
                               expected: "100 × \"a\" and a newline (101 bytes)",
                               seen: printed.isEmpty ? "nothing at all" : "\(printed.utf8.count) bytes: \(printed.prefix(40))…",
                               cause: printed.isEmpty
                                   ? "print() only fills stdio's buffer and _exit() does not flush it: call fflush(nil) before _exit"
                                   : "the child did not see the parent's writes (MAP_SHARED?)",
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
