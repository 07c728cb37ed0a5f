import CShmLab
import Glibc

extension Lesson11 {
    /// The student's file, for "look at" lines.
    static let file = "MemfdSegment.swift"

    /// The programs this lesson's checks start as unrelated processes (`lab __peer 11 NAME …`).
    public static var peers: [Peer<any MemfdSegmentContract.Type>] { [
        // Part 3: connects to the part's socket, receives the segment, answers, waits to be killed.
        Peer("hold") { lab, arguments in try holdPeer(lab, arguments) },
        // Part 8: the helper program a worker launcher starts; exits with the code it is given.
        Peer("exit-with") { _, arguments in Int32(arguments.first ?? "") ?? 1 },
        // lab bench: starting a worker three ways, beside Python's start methods.
        Peer("bench") { lab, arguments in try openBench(lab, arguments) },
        // Part 9: a worker started by spawn: reports what it inherited on the descriptor it is given.
        Peer("report") { _, arguments in
            let inheritable = Int32(arguments[0]) ?? -1
            let closeOnExec = Int32(arguments[1]) ?? -1
            // Numbers this process inherited from the part at spawn (or did not: that is the question).
            var report = InheritanceReport.probe(inheritable: BorrowedDescriptor(ownedElsewhere: inheritable),
                                                 closeOnExec: BorrowedDescriptor(ownedElsewhere: closeOnExec), marker: false)
            _ = write(inheritable, &report, MemoryLayout<InheritanceReport>.size)
            return 0
        },
    ] }

    static func openBench<L: MemfdSegmentContract>(_: L.Type, _ arguments: [String]) throws -> Int32 {
        try BenchPeer.run(StartWorkerBench.measurements(L.self), arguments: arguments)
    }

    // MARK: - helpers

    /// The names in /dev/shm now (the part's own /dev/shm when it has one).
    static func sharedMemoryNames() -> Set<String> {
        guard let directory = opendir("/dev/shm") else { return [] }
        defer { closedir(directory) }
        var names = Set<String>()
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if name != "." && name != ".." { names.insert(name) }
        }
        return names
    }

    /// Fails when /dev/shm holds names it did not hold `before`.
    static func requireNothingNew(in before: Set<String>, after what: String, cause: String) throws {
        let new = sharedMemoryNames().subtracting(before)
        if !new.isEmpty {
            throw CheckFailure("\(what) put a name in /dev/shm",
                               expected: "nothing new in /dev/shm: a memfd has no name in any directory",
                               seen: new.sorted().map { "/dev/shm/" + $0 }.joined(separator: ", "),
                               cause: cause, look: "create(name:size:) in \(file)")
        }
    }

    /// What /proc/self/fd/N points to: "/memfd:NAME (deleted)" for a memfd.
    static func descriptorTarget(_ descriptor: BorrowedDescriptor) -> String {
        var buffer = [CChar](repeating: 0, count: 512)
        let count = readlink("/proc/self/fd/\(descriptor.rawValue)", &buffer, buffer.count - 1)
        guard count >= 0 else { return "(no such descriptor: \(errnoSymbol(errno)))" }
        return String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    static func isOpen(_ descriptor: BorrowedDescriptor) -> Bool { fcntl(descriptor.rawValue, F_GETFD) != -1 }
    static func isCloseOnExec(_ descriptor: BorrowedDescriptor) -> Bool { fcntl(descriptor.rawValue, F_GETFD) & FD_CLOEXEC != 0 }

    static func fileSize(_ descriptor: BorrowedDescriptor) -> Int? {
        var info = stat()
        return fstat(descriptor.rawValue, &info) == 0 ? Int(info.st_size) : nil
    }

    /// Waits until `fd` is readable or `timeout` passes. The corresponding C function is `poll`.
    static func waitReadable(_ descriptor: BorrowedDescriptor, timeout: Double) -> Bool {
        var entry = descriptor.readable
        let deadline = monotonicSeconds() + timeout
        while true {
            let left = Int32(max(0, (deadline - monotonicSeconds()) * 1000))
            let rc = poll(&entry, 1, left)
            if rc > 0 { return true }
            if rc == 0 || (rc == -1 && errno != EINTR) { return false }
        }
    }

    /// The bytes of a token: `count` bytes from the run's seed.
    static func token(_ context: PartContext, stream: UInt64, count: Int) -> [UInt8] {
        var random = context.random(stream: stream)
        return (0..<count).map { _ in UInt8.random(in: 1...255, using: &random) }
    }

    static func hex<S: Sequence>(_ bytes: S) -> String where S.Element == UInt8 {
        bytes.map { String($0, radix: 16).leftPadded(to: 2) }.joined()
    }

    /// The lab's own mapping of a descriptor (read-only), to look at a segment without the student's map.
    static func labMapping(_ descriptor: BorrowedDescriptor, size: Int) throws -> UnsafeRawBufferPointer {
        guard let address = mmap(nil, size, PROT_READ, MAP_SHARED, descriptor.rawValue, 0), address != MAP_FAILED else {
            throw CheckFailure("the lab could not map the descriptor", seen: "\(SystemError("mmap"))")
        }
        return UnsafeRawBufferPointer(start: address, count: size)
    }

    /// Fails (instead of a SIGBUS at the first touch) when a created segment's file is not `size` bytes.
    static func requireSized<S: MemfdSegmentContract>(_ segment: S, _ size: Int, after call: String) throws {
        let real = fileSize(BorrowedDescriptor(ownedElsewhere: segment.descriptor)) ?? -1
        if real != size {
            throw CheckFailure("\(call): the file is not the size asked for (fstat), so touching the mapping would be a SIGBUS",
                               expected: "\(size) bytes", seen: "\(real) bytes",
                               cause: real == 0 ? "a new memfd is 0 bytes: call ftruncate(fd, size) before mmap" : "ftruncate(fd, size) with exactly the size asked for",
                               look: "create(name:size:) in \(file)")
        }
    }

    // MARK: - part 1

    /// Part 1: a memfd segment: the size asked for, zeros, close-on-exec, sealable, nothing in /dev/shm.
    static func memfdHasNoName<L: MemfdSegmentContract>(_: L.Type, _ context: PartContext) throws {
        let look = "create(name:size:) in \(file)"
        let before = sharedMemoryNames()
        for size in [1, 4096, 10_000, 1 << 20] {
            let call = "create(name: \"lab11-part1\", size: \(size))"
            let segment = try attempt(call) { try L.create(name: "lab11-part1", size: size) }
            defer { try? segment.close() }
            let fd = segment.descriptor
            let lent = BorrowedDescriptor(ownedElsewhere: fd)        // the segment's, for the lab's probes
            guard isOpen(lent) else {
                throw CheckFailure("\(call) returned a descriptor that is not open", seen: "descriptor \(fd)",
                                   cause: "keep the descriptor memfd_create returned: it is what is sent to other processes",
                                   look: look)
            }
            let target = descriptorTarget(lent)
            try require(target.hasPrefix("/memfd:"), CheckFailure(
                "\(call) did not make a memfd", expected: "/proc/self/fd/\(fd) → /memfd:lab11-part1 (deleted)",
                seen: "/proc/self/fd/\(fd) → \(target)",
                cause: target.hasPrefix("/dev/shm/")
                    ? "shm_open makes a name in /dev/shm that outlives a killed process; memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING) makes no name at all"
                    : "use memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING)", look: look))
            try requireNothingNew(in: before, after: call,
                                  cause: "the segment was made with a name (shm_open): use memfd_create, which makes none")
            let real = fileSize(lent) ?? -1
            try requireEqual(real, size, "\(call): the file does not have the size asked for (fstat)",
                             cause: real == 0 ? "a new memfd is 0 bytes: call ftruncate(fd, size) before mmap (touching the mapping would be a SIGBUS)"
                                              : "ftruncate(fd, size) with exactly the size asked for", look: look)
            try requireEqual(segment.size, size, "\(call): size does not match the file", look: "size in \(file)")
            try requireEqual(segment.bytes.count, size, "\(call): bytes.count does not match the file",
                             cause: "map exactly the size", look: look)
            try require(isCloseOnExec(lent), CheckFailure(
                "\(call): the descriptor is not close-on-exec",
                expected: "FD_CLOEXEC set (MFD_CLOEXEC)", seen: "FD_CLOEXEC clear",
                cause: "without MFD_CLOEXEC every program this process starts inherits the segment, and holds its memory until it exits",
                look: look))
            let seals = getSeals(fd)
            try require(seals != -1 && seals & F_SEAL_SEAL == 0, CheckFailure(
                "\(call): the memfd cannot be sealed", expected: "no seals yet (F_GET_SEALS = 0)",
                seen: seals == -1 ? "F_GET_SEALS failed: \(SystemError("fcntl(F_GET_SEALS)"))" : "F_SEAL_SEAL already set (seals = \(seals))",
                cause: "a memfd made without MFD_ALLOW_SEALING is born with F_SEAL_SEAL: pass MFD_CLOEXEC | MFD_ALLOW_SEALING",
                look: look))
            let bytes = segment.bytes
            if let index = bytes.firstIndex(where: { $0 != 0 }) {
                throw CheckFailure("\(call): a new segment is not all zeros", seen: "byte \(index) is \(bytes[index])", look: look)
            }
            for i in stride(from: 0, to: size, by: 4096) { bytes[i] = UInt8(truncatingIfNeeded: i / 4096 &+ 7) }
            let view = try labMapping(lent, size: size)
            defer { munmap(UnsafeMutableRawPointer(mutating: view.baseAddress), size) }
            for i in stride(from: 0, to: size, by: 4096) where view[i] != UInt8(truncatingIfNeeded: i / 4096 &+ 7) {
                throw CheckFailure("\(call): what is written to bytes is not in the file",
                                   expected: "byte \(i) = \(UInt8(truncatingIfNeeded: i / 4096 &+ 7)) seen through another mapping of the descriptor",
                                   seen: "\(view[i])", cause: "map the descriptor with MAP_SHARED (MAP_PRIVATE writes to a private copy)",
                                   look: look)
            }
            try attempt("close()") { try segment.close() }
            try require(!isOpen(lent), CheckFailure("close() left the descriptor open", expected: "descriptor \(fd) closed",
                                                  seen: "still open → \(descriptorTarget(lent))",
                                                  cause: "close() is munmap and close(fd): an open descriptor keeps the memory alive",
                                                  look: "close() in \(file)"))
            try attempt("a second close()") { try segment.close() }
        }
        for bad in [0, -4096] {
            do {
                let segment = try L.create(name: "lab11-bad", size: bad)
                try? segment.close()
                throw CheckFailure("create(name:size: \(bad)) did not throw", expected: ".invalidSize(\(bad))", seen: "a segment",
                                   cause: "check size > 0 before any system call", look: look)
            } catch let error as MemfdError {
                try requireEqual(error, .invalidSize(bad), "create(name:size: \(bad)) threw the wrong error", look: look)
            }
        }
    }

    // MARK: - part 2

    /// Part 2: a descriptor sent over a socketpair (SCM_RIGHTS): the child maps it, both see the writes.
    static func forkedChildReceives<L: MemfdSegmentContract>(_: L.Type, _ context: PartContext) throws {
        let size = 64 << 10
        let message = token(context, stream: 2, count: 32)
        // Forked before the segment exists: the child has no copy of its descriptor.
        let forked = try SocketPair().forkChild { childEnd in
            let fd = try attempt("receive(over:) in the child") { try L.receive(over: childEnd.rawValue) }
            guard isOpen(BorrowedDescriptor(ownedElsewhere: fd)) else {
                throw CheckFailure("receive(over:) returned \(fd), which is no open descriptor in the child",
                                   expected: "a descriptor the kernel installed in the receiver (SCM_RIGHTS)",
                                   seen: "descriptor \(fd): \(errnoSymbol(errno))",
                                   cause: "a descriptor number means nothing in another process: send it with sendmsg and an SCM_RIGHTS control message (SCMRights.send), receive it with recvmsg (SCMRights.receive)",
                                   look: "send(descriptor:over:) and receive(over:) in \(file)")
            }
            try require(isCloseOnExec(BorrowedDescriptor(ownedElsewhere: fd)), CheckFailure(
                "the received descriptor is not close-on-exec", expected: "FD_CLOEXEC set", seen: "FD_CLOEXEC clear",
                cause: "receive with recvmsg(…, MSG_CMSG_CLOEXEC): otherwise every program the receiver starts inherits the segment",
                look: "receive(over:) in \(file)"))
            let segment = try attempt("map(descriptor: \(fd), writable: true) in the child") { try L.map(descriptor: fd, writable: true) }
            defer { try? segment.close() }
            try requireEqual(segment.size, size, "the child's map(descriptor:writable:) reports the wrong size",
                             cause: "fstat the descriptor and map st_size bytes", look: "map(descriptor:writable:) in \(file)")
            let seen = Array(segment.bytes[0..<message.count])
            if seen != message {
                throw CheckFailure("the child does not see what the parent wrote",
                                   expected: "bytes 0…: \(hex(message.prefix(8)))…", seen: "\(hex(seen.prefix(8)))…",
                                   cause: "the child must map the same file the parent wrote: the descriptor it received, MAP_SHARED",
                                   look: "receive(over:) and map(descriptor:writable:) in \(file)")
            }
            for i in 0..<message.count { segment.bytes[size - message.count + i] = message[i] ^ 0x5A }
            try attempt("close() in the child") { try segment.close() }
            return 0
        }
        let parentEnd = forked.end, child = forked.child
        let segment = try attempt("create(name: \"lab11-part2\", size: \(size))") { try L.create(name: "lab11-part2", size: size) }
        defer { try? segment.close() }
        try requireSized(segment, size, after: "create(name: \"lab11-part2\", size: \(size))")
        for i in 0..<message.count { segment.bytes[i] = message[i] }
        try attempt("send(descriptor:over:)") { try L.send(descriptor: segment.descriptor, over: parentEnd.rawValue) }
        guard let end = waitForProcess(child, timeout: 20) else {
            throw CheckFailure("the child did not finish within 20 s",
                               cause: "it waits in receive(over:): did send(descriptor:over:) send anything?",
                               look: "send(descriptor:over:) in \(file)")
        }
        try require(end == .exited(0), CheckFailure("the child that receives the descriptor \(end)",
                                                     expected: "it receives, maps, checks and answers, then exits 0",
                                                     look: "receive(over:) and map(descriptor:writable:) in \(file)"))
        let answer = Array(segment.bytes[(size - message.count)..<size])
        let expected = message.map { $0 ^ 0x5A }
        if answer != expected {
            throw CheckFailure("the parent does not see what the child wrote into the segment",
                               expected: "the last \(message.count) bytes: \(hex(expected.prefix(8)))…",
                               seen: answer.allSatisfy { $0 == 0 } ? "zeros" : "\(hex(answer.prefix(8)))…",
                               cause: "map(descriptor:writable:) must map with MAP_SHARED: a MAP_PRIVATE mapping is the child's private copy",
                               look: "map(descriptor:writable:) in \(file)")
        }
        try attempt("close()") { try segment.close() }

        // End of file, and a message without a descriptor.
        let plain = try SocketPair()
        let a = plain.first, b = plain.second
        var one: UInt8 = 1
        _ = write(a.rawValue, &one, 1)
        a.close()
        try requireThrows("receive(over:) on a message of one plain byte", .noDescriptor,
                          cause: "a message without an SCM_RIGHTS part (fd -1), or with MSG_CTRUNC set, carries no descriptor: throw .noDescriptor") {
            try L.receive(over: b.rawValue)
        }
        try requireThrows("receive(over:) after the other end closed", .endOfFile,
                          cause: "recvmsg returns 0 at end of file: throw .endOfFile") {
            try L.receive(over: b.rawValue)
        }
    }

    /// Fails unless `body` throws `expected`.
    static func requireThrows(_ call: String, _ expected: MemfdError, cause: String, _ body: () throws -> Int32) throws {
        do {
            let fd = try body()
            if fd >= 0 { Descriptor.close(fd) }
            throw CheckFailure("\(call) did not throw", expected: "\(expected)", seen: "it returned \(fd)", cause: cause,
                               look: "receive(over:) in \(file)")
        } catch let error as MemfdError {
            try requireEqual(error, expected, "\(call) threw the wrong error", cause: cause, look: "receive(over:) in \(file)")
        }
    }

    // MARK: - part 3

    /// The peer of part 3: connect, receive, map, answer after the message, say so, wait to be killed.
    static func holdPeer<L: MemfdSegmentContract>(_: L.Type, _ arguments: [String]) throws -> Int32 {
        let connection = try UnixSocket.connect(to: arguments[0])
        let socket = connection.rawValue                    // for the lesson's C-shaped calls
        let length = Int(arguments[1]) ?? 32
        let fd = try L.receive(over: socket)
        let segment = try L.map(descriptor: fd, writable: true)
        for i in 0..<length { segment.bytes[length + i] = segment.bytes[i] ^ 0xA5 }
        var ready: UInt8 = 1
        _ = write(socket, &ready, 1)
        var byte: UInt8 = 0
        _ = read(socket, &byte, 1)          // until the part kills this process
        return 0
    }

    /// Part 3: an unrelated process receives it; killed while holding it, nothing is left anywhere.
    static func unrelatedProcessAndKills<L: MemfdSegmentContract>(_: L.Type, _ context: PartContext) throws {
        let before = sharedMemoryNames()
        let message = token(context, stream: 3, count: 32)
        // The student's code first: a create still todo() ends the part before the lab makes a socket file.
        let segment = try attempt("create(name: \"lab11-part3\", size: 8192)") { try L.create(name: "lab11-part3", size: 8192) }
        defer { try? segment.close() }
        try requireSized(segment, 8192, after: "create(name: \"lab11-part3\", size: 8192)")
        let path = context.temporaryDirectory + "/lab11-part3.sock"
        let listener = try UnixSocket.listen(at: path)
        defer { unlink(path) }
        let peer = try context.spawnPeer("hold", [path, "\(message.count)"], output: .captureBoth)
        defer { _ = peer.terminate() }
        for i in 0..<message.count { segment.bytes[i] = message[i] }
        guard waitReadable(listener.borrowed, timeout: 20) else {
            throw CheckFailure("the peer did not connect within 20 s", seen: String(decoding: peer.collectOutput(timeout: 1).output, as: UTF8.self))
        }
        let connection = try UnixSocket.accept(listener.borrowed)
        try attempt("send(descriptor:over:)") { try L.send(descriptor: segment.descriptor, over: connection.rawValue) }
        guard waitReadable(connection.borrowed, timeout: 20) else {
            throw CheckFailure("the peer did not answer within 20 s",
                               cause: "it waits in receive(over:): did send(descriptor:over:) send the descriptor?",
                               look: "send(descriptor:over:) in \(file)")
        }
        var ready: UInt8 = 0
        if read(connection.rawValue, &ready, 1) != 1 {
            let (output, end) = peer.collectOutput(timeout: 5)
            throw CheckFailure("the other process failed before answering",
                               expected: "it receives the descriptor, maps it, answers, and waits",
                               seen: "it \(end.map { "\($0)" } ?? "did not end"): \(String(decoding: output, as: UTF8.self).trimmingTrailingNewlines)",
                               cause: "the peer runs your receive(over:) and map(descriptor: fd, writable: true): a descriptor number sent as plain bytes means nothing in another process",
                               look: "send(descriptor:over:) and receive(over:) in \(file)")
        }
        let expected = message.map { $0 ^ 0xA5 }
        let answer = Array(segment.bytes[message.count..<(2 * message.count)])
        if answer != expected {
            throw CheckFailure("the part does not see the other process's answer",
                               expected: "bytes \(message.count)…: \(hex(expected.prefix(8)))…",
                               seen: answer.allSatisfy { $0 == 0 } ? "zeros" : "\(hex(answer.prefix(8)))…",
                               cause: "both must map the same file with MAP_SHARED", look: "map(descriptor:writable:) in \(file)")
        }
        try requireNothingNew(in: before, after: "create and send",
                              cause: "the segment has a name (shm_open): a memfd has none")
        // Kill the process that holds it mapped: nothing to clean up, nothing left.
        peer.signal(SIGKILL)
        _ = peer.wait(timeout: 10)
        try requireEqual(Array(segment.bytes[0..<message.count]), message, "the segment changed when the peer was killed")
        try attempt("close()") { try segment.close() }

        // Kill the creator while the part holds the only other descriptor.
        let forked = try SocketPair().forkChild { childEnd in
            let made = try attempt("create(name: \"lab11-killed\", size: 4096) in the child") { try L.create(name: "lab11-killed", size: 4096) }
            try requireSized(made, 4096, after: "create(name: \"lab11-killed\", size: 4096) in the child")
            for i in 0..<message.count { made.bytes[i] = message[i] ^ 0x3C }
            try attempt("send(descriptor:over:) in the child") { try L.send(descriptor: made.descriptor, over: childEnd.rawValue) }
            while true { pause() }
        }
        let parentEnd = forked.end, creator = forked.child
        let received = OwnedDescriptor(taking: try attempt("receive(over:)") { try L.receive(over: parentEnd.rawValue) })
        kill(creator, SIGKILL)
        var status: Int32 = 0
        _ = waitpid(creator, &status, 0)
        try requireNothingNew(in: before, after: "a creator killed while it held its segment",
                              cause: "a named segment (shm_open) outlives a killed creator in /dev/shm until someone unlinks it; a memfd leaves nothing")
        let view = try labMapping(received.borrowed, size: 4096)
        defer { munmap(UnsafeMutableRawPointer(mutating: view.baseAddress), 4096) }
        try requireEqual(Array(view[0..<message.count]), message.map { $0 ^ 0x3C },
                         "after its creator was killed, the received segment does not hold what the creator wrote",
                         cause: "the memory lives while any descriptor or mapping of it does: the part still holds one",
                         look: "create(name:size:) in \(file)")
    }

    // MARK: - part 4

    /// Part 4: seals: a read-only hand-off that the receiver cannot write, shrink or unseal.
    static func sealedHandOff<L: MemfdSegmentContract>(_: L.Type, _ context: PartContext) throws {
        let size = 8192
        let message = token(context, stream: 4, count: 32)
        let forked = try SocketPair().forkChild { childEnd in
            let fd = try attempt("receive(over:) in the child") { try L.receive(over: childEnd.rawValue) }
            do {
                let writable = try L.map(descriptor: fd, writable: true)
                try? writable.close()
                throw CheckFailure("map(descriptor:writable: true) of a write-sealed segment succeeded",
                                   expected: ".systemError(call: \"mmap\", errno: EPERM)", seen: "a writable mapping",
                                   cause: "the receiver could change the 'read-only' data: sealReadOnly() must add F_SEAL_WRITE",
                                   look: "sealReadOnly() in \(file)")
            } catch let error as MemfdError {
                try requireEqual(error, .systemError(call: "mmap", errno: EPERM),
                                 "map(descriptor:writable: true) of a write-sealed segment threw the wrong error",
                                 cause: "mmap(PROT_READ | PROT_WRITE, MAP_SHARED) of a write-sealed memfd fails with EPERM: throw it as .systemError(call: \"mmap\", errno:)",
                                 look: "map(descriptor:writable:) in \(file)")
            }
            let segment = try attempt("map(descriptor: \(fd), writable: false) in the child") { try L.map(descriptor: fd, writable: false) }
            defer { try? segment.close() }
            try requireEqual(Array(segment.bytes[0..<message.count]), message, "the receiver does not see the sealed data",
                             look: "sealReadOnly() in \(file)")
            if ftruncate(fd, 0) != -1 {
                throw CheckFailure("the receiver could shrink the sealed segment to 0 bytes",
                                   expected: "ftruncate(fd, 0) fails with EPERM (F_SEAL_SHRINK)", seen: "it succeeded",
                                   cause: "without F_SEAL_SHRINK a receiver can cut the file, and every mapping past the new end is a SIGBUS",
                                   look: "sealReadOnly() in \(file)")
            }
            if ftruncate(fd, off_t(2 * size)) != -1 {
                throw CheckFailure("the receiver could grow the sealed segment", expected: "ftruncate fails with EPERM (F_SEAL_GROW)",
                                   seen: "it succeeded", look: "sealReadOnly() in \(file)")
            }
            if addSeals(fd, 0) != -1 || errno != EPERM {
                throw CheckFailure("the receiver could still add seals",
                                   expected: "F_ADD_SEALS fails with EPERM (F_SEAL_SEAL)", seen: "it succeeded",
                                   cause: "without F_SEAL_SEAL the seals are not final: add it last, with the others",
                                   look: "sealReadOnly() in \(file)")
            }
            return 0
        }
        let parentEnd = forked.end, child = forked.child
        let segment = try attempt("create(name: \"lab11-sealed\", size: \(size))") { try L.create(name: "lab11-sealed", size: size) }
        defer { try? segment.close() }
        try requireSized(segment, size, after: "create(name: \"lab11-sealed\", size: \(size))")
        for i in 0..<message.count { segment.bytes[i] = message[i] }
        try attempt("sealReadOnly()") { try segment.sealReadOnly() }
        let seals = getSeals(segment.descriptor)
        let wanted: [(Int32, String)] = [(F_SEAL_SHRINK, "F_SEAL_SHRINK"), (F_SEAL_GROW, "F_SEAL_GROW"),
                                         (F_SEAL_WRITE, "F_SEAL_WRITE"), (F_SEAL_SEAL, "F_SEAL_SEAL")]
        let missing = wanted.filter { seals == -1 || seals & $0.0 == 0 }.map(\.1)
        try require(missing.isEmpty, CheckFailure(
            "after sealReadOnly() the segment lacks seals", expected: "F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL",
            seen: "missing " + missing.joined(separator: ", "), cause: "add all four in one fcntl(fd, F_ADD_SEALS, …)",
            look: "sealReadOnly() in \(file)"))
        try requireEqual(Array(segment.bytes[0..<message.count]), message, "after sealReadOnly() bytes does not show the data",
                         cause: "map the file again read-only (PROT_READ, MAP_SHARED) before unmapping the writable mapping",
                         look: "sealReadOnly() in \(file)")
        try attempt("send(descriptor:over:)") { try L.send(descriptor: segment.descriptor, over: parentEnd.rawValue) }
        guard let end = waitForProcess(child, timeout: 20) else {
            throw CheckFailure("the receiving child did not finish within 20 s", look: "send(descriptor:over:) in \(file)")
        }
        try require(end == .exited(0), CheckFailure("the receiving child \(end)", look: "sealReadOnly() in \(file)"))
        try attempt("close()") { try segment.close() }
    }

    // MARK: - part 5

    static let pythonScript = """
    import mmap, os, socket, sys
    from multiprocessing import reduction
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(sys.argv[1])
    token = bytes.fromhex(sys.argv[2])
    fd = os.memfd_create("python", os.MFD_CLOEXEC)
    os.ftruncate(fd, 4096)
    m = mmap.mmap(fd, 4096)
    m[:len(token)] = token
    reduction.send_handle(s, fd, 0)
    got = reduction.recv_handle(s)
    if m[len(token):2 * len(token)] != bytes(b ^ 0x5A for b in token):
        sys.exit("python: what you wrote into Python's memfd is not in it: " + m[len(token):2 * len(token)].hex())
    size = os.fstat(got).st_size
    theirs = mmap.mmap(got, size)
    data = theirs[:len(token)]
    theirs[len(token):2 * len(token)] = bytes(b ^ 0x5A for b in data)
    print("python: received a descriptor of", size, "bytes starting", data[:8].hex(), flush=True)
    s.recv(1)
    """

    /// Part 5: interop: Python's send_handle gives you a memfd, and recv_handle takes yours.
    static func pythonHandles<L: MemfdSegmentContract>(_: L.Type, _ context: PartContext) throws {
        let python = try context.python3()
        let fromPython = token(context, stream: 5, count: 16)
        let fromYou = token(context, stream: 6, count: 16)
        // Reach receive before the lab makes a socket file: one still todo() then leaves nothing.
        if let stray = try? L.receive(over: -1), stray >= 0 { Descriptor.close(stray) }
        let path = context.temporaryDirectory + "/lab11-part5.sock"
        let listener = try UnixSocket.listen(at: path)
        defer { unlink(path) }
        fflush(nil)
        let process = try ChildProcess.spawn(python, ["-c", pythonScript, path, hex(fromPython)], output: .captureBoth)
        defer { _ = process.terminate() }
        func pythonFailed(_ summary: String, cause: String) -> CheckFailure {
            let (output, end) = process.collectOutput(timeout: 5)
            return CheckFailure(summary, seen: "python3 \(end.map { "\($0)" } ?? "still running"): "
                                + String(decoding: output, as: UTF8.self).trimmingTrailingNewlines,
                                cause: cause, look: "send(descriptor:over:) and receive(over:) in \(file)")
        }
        guard waitReadable(listener.borrowed, timeout: 20) else {
            throw pythonFailed("python3 did not connect within 20 s", cause: "python3 could not start the script")
        }
        let connection = try UnixSocket.accept(listener.borrowed)
        let fd = try attempt("receive(over:) of Python's send_handle") { try L.receive(over: connection.rawValue) }
        let theirs = try attempt("map(descriptor: \(fd), writable: true) of Python's memfd") { try L.map(descriptor: fd, writable: true) }
        defer { try? theirs.close() }
        try requireEqual(theirs.size, 4096, "the memfd from Python has the wrong size", look: "map(descriptor:writable:) in \(file)")
        try requireEqual(Array(theirs.bytes[0..<fromPython.count]), fromPython, "you do not see what Python wrote into its memfd",
                         cause: "map the received descriptor with MAP_SHARED", look: "map(descriptor:writable:) in \(file)")
        for i in 0..<fromPython.count { theirs.bytes[fromPython.count + i] = fromPython[i] ^ 0x5A }
        let mine = try attempt("create(name: \"lab11-part5\", size: 8192)") { try L.create(name: "lab11-part5", size: 8192) }
        defer { try? mine.close() }
        try requireSized(mine, 8192, after: "create(name: \"lab11-part5\", size: 8192)")
        for i in 0..<fromYou.count { mine.bytes[i] = fromYou[i] }
        try attempt("send(descriptor:over:) to Python's recv_handle") { try L.send(descriptor: mine.descriptor, over: connection.rawValue) }
        let expected = fromYou.map { $0 ^ 0x5A }
        let deadline = monotonicSeconds() + 20
        while Array(mine.bytes[fromYou.count..<(2 * fromYou.count)]) != expected {
            if process.reapIfEnded() != nil || monotonicSeconds() > deadline {
                throw pythonFailed("Python's recv_handle did not get a segment it could answer in",
                                   cause: "recv_handle expects one data byte equal to the number of descriptors (1) and one SCM_RIGHTS message; Python maps os.fstat(fd).st_size bytes with MAP_SHARED, and reads your answer in its own memfd (mapped by your map(descriptor:writable:): MAP_SHARED?)")
            }
            usleep(1000)
        }
        connection.close()
        let (output, end) = process.collectOutput(timeout: 10)
        try require(end == .exited(0), CheckFailure("python3 \(end.map { "\($0)" } ?? "did not end")",
                                                    seen: String(decoding: output, as: UTF8.self)))
        Console.out(String(decoding: output, as: UTF8.self))
    }

    // MARK: - part 6

    /// Part 6: /dev/shm too small: ftruncate says yes, the first touch is SIGBUS, posix_fallocate says ENOSPC.
    static func reserveSaysNoSpace<L: MemfdSegmentContract>(_: L.Type, _ context: PartContext) throws {
        let look = "reserve(descriptor:bytes:) in \(file)"
        // An unnamed file in the /dev/shm this part sees: nothing can be left behind by name.
        let fd = shmlab_open_unnamed_file("/dev/shm")
        guard fd != -1 else { throw CheckFailure("the lab could not open an unnamed file in /dev/shm", seen: "\(SystemError("open(O_TMPFILE)", object: "/dev/shm"))") }
        defer { Descriptor.close(fd) }
        var fs = statvfs()
        try valueOrErrno("fstatvfs", object: "/dev/shm") { fstatvfs(fd, &fs) }
        let total = Int(fs.f_blocks) * Int(fs.f_frsize)
        guard total > 0 else { throw SkipPart("/dev/shm has no size limit here: nothing can be too big for it") }
        // More than the whole file system: the kernel refuses it up front without taking a page.
        let tooMuch = total + (16 << 20)
        try valueOrErrno("ftruncate", object: "an unnamed file in /dev/shm") { ftruncate(fd, off_t(tooMuch)) }
        Console.out("ftruncate(fd, \(tooMuch)) succeeded on a /dev/shm of \(total) bytes (\(Int(fs.f_bavail) * Int(fs.f_frsize)) free)\n")
        do {
            try L.reserve(descriptor: fd, bytes: tooMuch)
            throw CheckFailure("reserve(descriptor:bytes: \(tooMuch)) said yes to more than /dev/shm holds",
                               expected: ".noSpace(requested: \(tooMuch)) — /dev/shm holds \(total) bytes in all",
                               seen: "it returned",
                               cause: "posix_fallocate returns the error number (ENOSPC here); it does not return -1 or set errno. ftruncate alone reserves nothing",
                               look: look)
        } catch let error as MemfdError {
            try requireEqual(error, .noSpace(requested: tooMuch), "reserve(descriptor:bytes: \(tooMuch)) threw the wrong error",
                             cause: "ENOSPC from posix_fallocate is .noSpace(requested: bytes)", look: look)
        }
        var info = stat()
        _ = fstat(fd, &info)
        Console.out("posix_fallocate refused \(tooMuch) bytes; the file holds \(Int(info.st_blocks) * 512) bytes of pages\n")

        // A small reserve really takes the pages.
        let small = shmlab_open_unnamed_file("/dev/shm")
        guard small != -1 else { throw CheckFailure("the lab could not open an unnamed file in /dev/shm", seen: "\(SystemError("open(O_TMPFILE)"))") }
        defer { Descriptor.close(small) }
        let bytes = 2 << 20
        try attempt("reserve(descriptor:bytes: \(bytes))", look: look) { try L.reserve(descriptor: small, bytes: bytes) }
        _ = fstat(small, &info)
        try require(Int(info.st_blocks) * 512 >= bytes && Int(info.st_size) >= bytes, CheckFailure(
            "reserve(descriptor:bytes: \(bytes)) did not make the file system back the bytes",
            expected: "at least \(bytes) bytes allocated (st_blocks × 512) and st_size ≥ \(bytes)",
            seen: "\(Int(info.st_blocks) * 512) bytes allocated, st_size \(info.st_size)",
            cause: "ftruncate only sets the size (the pages come at the first touch, or a SIGBUS does): posix_fallocate(fd, 0, bytes) allocates them",
            look: look))
        showSigbus(context)
    }

    /// The SIGBUS, shown for real in a tmpfs of 1 MiB that only a child sees (a mount namespace of
    /// its own): a 4 MiB file, touched page by page. Explained instead when no tmpfs can be mounted here.
    static func showSigbus(_ context: PartContext) {
        let directory = context.temporaryDirectory + "/small-tmpfs"
        mkdir(directory, 0o700)
        defer { rmdir(directory) }
        guard let (readEnd, writeEnd) = try? Descriptor.pipe() else { return }
        defer { Descriptor.close(readEnd) }
        fflush(nil)
        let pid = fork()
        if pid == 0 {
            Descriptor.close(readEnd)
            var step: Int32 = 0
            var code = shmlab_mount_small_tmpfs(directory, "1m", &step)
            if code != 0 { var word = -Int32(step) * 1000 - code; _ = write(writeEnd, &word, 4); _exit(2) }
            let fd = shmlab_open_unnamed_file(directory)
            if fd == -1 || ftruncate(fd, 4 << 20) != 0 { code = errno; var word = -9000 - code; _ = write(writeEnd, &word, 4); _exit(2) }
            guard let address = mmap(nil, 4 << 20, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0), address != MAP_FAILED else { _exit(2) }
            var page: Int32 = 0
            while page < 1024 {
                address.storeBytes(of: 1, toByteOffset: Int(page) * 4096, as: UInt8.self)
                page += 1
                _ = write(writeEnd, &page, 4)
            }
            _exit(0)
        }
        Descriptor.close(writeEnd)
        var last: Int32 = 0
        var word: Int32 = 0
        while read(readEnd, &word, 4) == 4 { last = word }
        var status: Int32 = 0
        _ = waitpid(pid, &status, 0)
        let end = ProcessEnd(waitStatus: status)
        if last < 0 {
            Console.out("(a tmpfs of 1 MiB could not be mounted here — errno \(-last % 1000) at step \(-last / 1000) — so the SIGBUS is only described: touching a page the tmpfs cannot give kills the process with SIGBUS)\n")
        } else {
            Console.out("in a tmpfs of 1 MiB: ftruncate to 4 MiB succeeded, mmap succeeded, \(last) pages were touched, then the child \(end)\n")
        }
    }

    // MARK: - parts 7 and 8: a thread that holds the log's lock while another forks

    /// A thread that takes `WorkerLog`'s lock, says so, and keeps it until told to let go.
    /// The holder owns both pipes (closed when it ends); the thread, a C function with one
    /// pointer of context, gets a copy of the two numbers it uses.
    final class LockHolder {
        private var thread = pthread_t()
        private let held: OwnedPipe
        private let release: OwnedPipe

        init() throws {
            held = try OwnedPipe()
            release = try OwnedPipe()
            let box = UnsafeMutablePointer<Int32>.allocate(capacity: 2)
            box[0] = held.write.rawValue
            box[1] = release.read.rawValue
            let rc = pthread_create(&thread, nil, { raw in
                let fds = raw!.assumingMemoryBound(to: Int32.self)
                WorkerLog.holdLock()
                var byte: UInt8 = 1
                _ = write(fds[0], &byte, 1)
                _ = read(fds[1], &byte, 1)
                WorkerLog.releaseLock()
                fds.deallocate()
                return nil
            }, box)
            if rc != 0 { throw SystemError("pthread_create", errno: rc) }
            var byte: UInt8 = 0
            _ = read(held.read.rawValue, &byte, 1)        // from here on the lock is held
        }

        /// Lets go of the lock and ends the thread.
        func finish() {
            var byte: UInt8 = 1
            _ = write(release.write.rawValue, &byte, 1)
            pthread_join(thread, nil)
        }
    }

    /// Part 7: demonstration: fork while another thread holds a lock, and the child waits for ever.
    static func forkWhileLockHeldShown<L: MemfdSegmentContract>(_: L.Type, _ context: PartContext) throws {
        // Shown once the student's segment exists: nothing here needs it, but a part must not
        // pass for code that is not written (the stub's create is todo(): "not started").
        let probe = try attempt("MemfdSegment.create(name: \"part-7\", size: 4096)", look: "create(name:size:) in \(file)") {
            try L.create(name: "part-7", size: 4096)
        }
        try context.requirePartProcess(after: "create(name:size:)")
        try attempt("close()", look: "close() in \(file)") { try probe.close() }
        Console.out("a thread takes the program's log lock (WorkerLog), as if it were writing a line\n")
        let holder = try LockHolder()
        fflush(nil)
        let pid = fork()
        if pid == 0 {
            WorkerLog.write("child: started")          // the lock's copy is held by a thread the child lacks
            _exit(0)
        }
        holder.finish()
        WorkerLog.write("parent: the thread let go of the lock; the parent logs as usual")
        var asleep = 0
        var seen = ""
        // Decided within 0.1 s of the child falling asleep, long before the lab's own stall window;
        // a child that is still running (a loaded machine) is given time.
        let deadline = monotonicSeconds() + 10
        while monotonicSeconds() < deadline {
            var status: Int32 = 0
            if waitpid(pid, &status, WNOHANG) == pid {
                throw CheckFailure("the child did not wait for the lock", seen: "it \(ProcessEnd(waitStatus: status))",
                                   cause: "the demonstration expected the child to block in WorkerLog.write")
            }
            if let sample = ThreadSample.of(pid, thread: pid), sample.isAsleep {
                asleep += 1
                seen = ThreadWait.describe(pid: pid, tid: pid)
                if asleep >= 5 { break }
            } else {
                asleep = 0
            }
            usleep(20_000)
        }
        kill(pid, SIGKILL)
        var status: Int32 = 0
        _ = waitpid(pid, &status, 0)
        try require(asleep >= 5, CheckFailure("the child was not seen waiting", seen: seen.isEmpty ? "no sample" : seen))
        Console.out("""
        the child never logged: it sleeps in \(seen)
        — a futex: the log's lock, which the parent's other thread held at the moment of fork().
        Nobody in the child will ever release it; left alone the lab would report this part as deadlocked.
        The child was killed. The next part starts a program from a threaded process the safe way.

        """)
    }

    /// The check's exit handler (`atexit`) writes here when it runs in a process other than the part's.
    nonisolated(unsafe) static var exitMarker: Int32 = -1
    nonisolated(unsafe) static var markerOwner: pid_t = 0

    /// Part 8: safe start from a threaded process: the helper program runs, an exec that fails ends in _exit(127).
    static func spawnIsSafe<L: MemfdSegmentContract>(_: L.Type, _ context: PartContext) throws {
        let look = "spawn(executable:arguments:) in \(file)"
        let helper = currentExecutablePath()
        let arguments = ["__peer", "11", "exit-with", context.implementation.description, "42"]
        // Another thread is in the middle of a log line while spawn forks.
        let holder = try LockHolder()
        var pid: pid_t = -1
        do {
            pid = try L.spawn(executable: helper, arguments: arguments)
        } catch {
            try context.requirePartProcess(after: "spawn(executable:arguments:)")
            holder.finish()
            throw CheckFailure("spawn(executable: <the lab's helper>, arguments:) threw", expected: "the pid of the helper program",
                               seen: "\(error)", look: look)
        }
        try context.requirePartProcess(after: "spawn(executable:arguments:)")
        holder.finish()
        guard let end = waitForProcess(pid, timeout: 30) else {
            throw CheckFailure("the started program did not end within 30 s", look: look)
        }
        try require(end == .exited(42), CheckFailure(
            "the program started by spawn did not run as asked", expected: "\(helper) \(arguments.joined(separator: " ")) exits 42",
            seen: "it \(end)", cause: "argv[0] is the executable, then the arguments; the child must execve it", look: look))

        // An exec that fails: the child must end with _exit(127), not exit() and not a return.
        let (markerRead, markerWrite) = try Descriptor.pipe()
        defer { Descriptor.close(markerRead); Descriptor.close(markerWrite) }
        exitMarker = markerWrite
        markerOwner = getpid()
        atexit {
            if Lesson11.exitMarker != -1 && getpid() != Lesson11.markerOwner {
                var byte: UInt8 = 1
                _ = write(Lesson11.exitMarker, &byte, 1)
            }
        }
        let missing = context.temporaryDirectory + "/no-such-program"
        var failed: pid_t = -1
        do {
            failed = try L.spawn(executable: missing, arguments: ["x"])
        } catch let error as MemfdError {
            try context.requirePartProcess(after: "spawn(executable:arguments:) of a missing program")
            guard case .systemError(_, ENOENT) = error else {
                throw CheckFailure("spawn of a missing program threw the wrong error", expected: ".systemError(call: …, errno: 2 ENOENT)",
                                   seen: "\(error)", look: look)
            }
            return
        }
        try context.requirePartProcess(after: "spawn(executable:arguments:) of a missing program")
        guard let failedEnd = waitForProcess(failed, timeout: 20) else {
            throw CheckFailure("the child whose exec failed did not end within 20 s", look: look)
        }
        try require(failedEnd == .exited(127), CheckFailure(
            "the child whose exec failed ended the wrong way", expected: "_exit(127), as a shell reports a program it could not run",
            seen: "it \(failedEnd)", look: look))
        let flags = fcntl(markerRead, F_GETFL)
        _ = fcntl(markerRead, F_SETFL, flags | O_NONBLOCK)
        var byte: UInt8 = 0
        if read(markerRead, &byte, 1) == 1 {
            throw CheckFailure("the child whose exec failed ran the parent's exit handlers",
                               expected: "_exit(127): the child ends at once", seen: "an atexit handler of the part ran in the child",
                               cause: "exit() runs every atexit handler and flushes the parent's stdio buffers again, in a copy of the parent: after a failed execve call _exit(127)",
                               look: look)
        }
    }
}

/// What a worker found it inherited, in a fixed-size record a forked child can fill with system
/// calls only (no allocation).
struct InheritanceReport {
    var threads: Int32 = 0
    var sawMemory: Int32 = 0
    var hasInheritable: Int32 = 0
    var hasCloseOnExec: Int32 = 0
    var blocksSIGUSR1: Int32 = 0

    /// The marker a worker finds set only if it shares the part's memory (fork).
    nonisolated(unsafe) static var marker: Int32 = 0
    /// /proc/self/status is read into this, allocated before any fork.
    nonisolated(unsafe) static let statusBuffer = UnsafeMutablePointer<CChar>.allocate(capacity: 4096)

    /// Looks: threads (from /proc/self/status), the marker, both descriptors, the signal mask.
    /// Only system calls and a scan of a preallocated buffer: safe in a forked child.
    /// `inheritable` and `closeOnExec` are the part's numbers, looked for in this process (open
    /// here only if it inherited them).
    static func probe(inheritable: BorrowedDescriptor, closeOnExec: BorrowedDescriptor, marker: Bool) -> InheritanceReport {
        var report = InheritanceReport()
        let fd = open("/proc/self/status", O_RDONLY)
        if fd >= 0 {
            let count = read(fd, statusBuffer, 4095)
            Glibc.close(fd)
            if count > 0 {
                statusBuffer[count] = 0
                // "Threads:\t2\n"
                var i = 0
                while i < count - 9 {
                    if statusBuffer[i] == 0x54, statusBuffer[i + 1] == 0x68, statusBuffer[i + 2] == 0x72,
                       statusBuffer[i + 7] == 0x3A {       // "Thr" … ":"
                        var j = i + 8
                        while j < count, statusBuffer[j] == 0x09 || statusBuffer[j] == 0x20 { j += 1 }
                        var n: Int32 = 0
                        while j < count, statusBuffer[j] >= 0x30, statusBuffer[j] <= 0x39 { n = n * 10 + Int32(statusBuffer[j] - 0x30); j += 1 }
                        report.threads = n
                        break
                    }
                    i += 1
                }
            }
        }
        report.sawMemory = marker && Self.marker == 0x11 ? 1 : 0
        report.hasInheritable = fcntl(inheritable.rawValue, F_GETFD) != -1 ? 1 : 0
        report.hasCloseOnExec = fcntl(closeOnExec.rawValue, F_GETFD) != -1 ? 1 : 0
        var mask = sigset_t()
        sigprocmask(SIG_BLOCK, nil, &mask)
        report.blocksSIGUSR1 = sigismember(&mask, SIGUSR1) == 1 ? 1 : 0
        return report
    }

    var line: String {
        func yes(_ v: Int32) -> String { v != 0 ? "yes" : "no " }
        return "threads \(threads)   the part's memory \(yes(sawMemory))   inheritable fd \(yes(hasInheritable))   close-on-exec fd \(yes(hasCloseOnExec))   SIGUSR1 blocked \(yes(blocksSIGUSR1))"
    }
}

extension String {
    /// Without the newlines at its end.
    var trimmingTrailingNewlines: String {
        var text = self
        while text.hasSuffix("\n") { text.removeLast() }
        return text
    }
}

extension Lesson11 {
    // MARK: - part 9

    /// Reads one report from `descriptor` (with a deadline), or nil.
    static func readReport(_ descriptor: BorrowedDescriptor, timeout: Double = 20) -> InheritanceReport? {
        var report = InheritanceReport()
        guard waitReadable(descriptor, timeout: timeout) else { return nil }
        let size = MemoryLayout<InheritanceReport>.size
        let got = withUnsafeMutableBytes(of: &report) { read(descriptor.rawValue, $0.baseAddress, size) }
        return got == size ? report : nil
    }

    static func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }

    /// Part 9: demonstration: three ways to start a worker — what each inherits, what each costs.
    static func threeWaysMeasured<L: MemfdSegmentContract>(_: L.Type, _ context: PartContext) throws {
        let rounds = 7
        _ = InheritanceReport.statusBuffer          // allocated now, never in a forked child
        // The fork server starts first, while the part is small, single-threaded and blocks nothing.
        let forked = try SocketPair().forkChild { serverEnd in
            var request: (UInt8, UInt8) = (0, 0)
            while read(serverEnd.rawValue, &request, 2) == 2 {
                let worker = fork()
                if worker == 0 {
                    var report = InheritanceReport.probe(inheritable: BorrowedDescriptor(ownedElsewhere: Int32(request.0)),
                                                         closeOnExec: BorrowedDescriptor(ownedElsewhere: Int32(request.1)), marker: true)
                    _ = write(serverEnd.rawValue, &report, MemoryLayout<InheritanceReport>.size)
                    _exit(0)
                }
                var status: Int32 = 0
                _ = waitpid(worker, &status, 0)
            }
            return 0
        }
        let partEnd = forked.end, server = forked.child
        defer { kill(server, SIGKILL); var s: Int32 = 0; _ = waitpid(server, &s, 0) }

        // Now make the part what a real program often is: big, threaded, with things to inherit.
        let big = 64 << 20
        guard let memory = mmap(nil, big, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), memory != MAP_FAILED else {
            throw CheckFailure("the lab could not map 64 MiB", seen: "\(SystemError("mmap"))")
        }
        defer { munmap(memory, big) }
        for offset in stride(from: 0, to: big, by: 4096) { memory.storeBytes(of: 1, toByteOffset: offset, as: UInt8.self) }
        InheritanceReport.marker = 0x11
        var fds: [Int32] = [-1, -1]
        try valueOrErrno("pipe") { pipe(&fds) }                 // no close-on-exec: inherited by exec
        let (reportRead, inheritable) = (fds[0], fds[1])
        let (closeOnExecRead, closeOnExec) = try Descriptor.pipe()
        defer { for fd in [reportRead, inheritable, closeOnExecRead, closeOnExec] { Descriptor.close(fd) } }
        var blocked = sigset_t()
        sigemptyset(&blocked)
        sigaddset(&blocked, SIGUSR1)
        var previous = sigset_t()
        sigprocmask(SIG_BLOCK, &blocked, &previous)
        defer { sigprocmask(SIG_SETMASK, &previous, nil) }
        let holder = try LockHolder()            // a second thread (it holds the log lock: nobody here logs)
        defer { holder.finish() }

        var forkTimes: [Double] = [], spawnTimes: [Double] = [], serverTimes: [Double] = []
        var forkReport = InheritanceReport(), spawnReport = InheritanceReport(), serverReport = InheritanceReport()
        for _ in 0..<rounds {
            var start = monotonicSeconds()
            fflush(nil)
            let pid = fork()
            if pid == 0 {
                var report = InheritanceReport.probe(inheritable: BorrowedDescriptor(ownedElsewhere: inheritable),
                                                     closeOnExec: BorrowedDescriptor(ownedElsewhere: closeOnExec), marker: true)
                _ = write(inheritable, &report, MemoryLayout<InheritanceReport>.size)
                _exit(0)
            }
            guard pid > 0, let report = readReport(BorrowedDescriptor(ownedElsewhere: reportRead)) else { throw CheckFailure("a forked worker did not report") }
            forkTimes.append(monotonicSeconds() - start)
            forkReport = report
            var status: Int32 = 0
            _ = waitpid(pid, &status, 0)

            start = monotonicSeconds()
            let spawned = try attempt("spawn(executable:arguments:)") {
                try L.spawn(executable: currentExecutablePath(),
                            arguments: ["__peer", "11", "report", context.implementation.description, "\(inheritable)", "\(closeOnExec)"])
            }
            try context.requirePartProcess(after: "spawn(executable:arguments:)")
            guard let report = readReport(BorrowedDescriptor(ownedElsewhere: reportRead), timeout: 30) else {
                throw CheckFailure("the worker started by spawn did not report", look: "spawn(executable:arguments:) in \(file)")
            }
            spawnTimes.append(monotonicSeconds() - start)
            spawnReport = report
            _ = waitForProcess(spawned, timeout: 10)

            start = monotonicSeconds()
            var request = (UInt8(truncatingIfNeeded: inheritable), UInt8(truncatingIfNeeded: closeOnExec))
            _ = write(partEnd.rawValue, &request, 2)
            guard let served = readReport(partEnd.borrowed) else { throw CheckFailure("the fork server's worker did not report") }
            serverTimes.append(monotonicSeconds() - start)
            serverReport = served
        }
        func ms(_ seconds: Double) -> String {
            let hundredths = Int((seconds * 100_000).rounded())
            return "\(hundredths / 100).\(String(hundredths % 100).leftPadded(to: 2)) ms"
        }
        Console.out("""
        the part: 2 threads, 64 MiB touched, a pipe without close-on-exec (fd \(inheritable)), one with (fd \(closeOnExec)), SIGUSR1 blocked
        start method        median of \(rounds) (start → first word from the worker)   what the worker found
        fork                \(ms(median(forkTimes)).leftPadded(to: 9, with: " "))   \(forkReport.line)
        spawn (yours)       \(ms(median(spawnTimes)).leftPadded(to: 9, with: " "))   \(spawnReport.line)
        fork server         \(ms(median(serverTimes)).leftPadded(to: 9, with: " "))   \(serverReport.line)
        fork copies the part as it is (its memory, every descriptor, its mask) but one thread; exec keeps
        descriptors without close-on-exec and the mask; the fork server's workers are copies of the server
        as it was when it started: small, single-threaded, nothing inherited but what it is given.

        """)
    }
}
