import Glibc

extension PipeConnectionContract {
    /// The student's descriptor, lent to the lab's helpers (`fileType`, `rawWrite`, …): the
    /// connection owns it and closes it in its `close()`.
    var borrowedDescriptor: BorrowedDescriptor { BorrowedDescriptor(ownedElsewhere: descriptor) }
}

extension Lesson06 {
    /// The lesson bound to the student's type, the reference and the mutants.
    /// The student's file, for "look at" lines.
    static let file = "Connection.swift"

    /// The programs this lesson's checks start as unrelated processes (`lab __peer 6 NAME …`).
    public static var peers: [Peer<any PipeConnectionContract.Type>] { [
        Peer("bench") { lab, arguments in try BenchPeer.run(PipeBench.measurements(lab), arguments: arguments) },
    ] }

    // The checks never poll a connection's descriptor themselves before calling receive(): an
    // implementation may read ahead into a buffer of its own, and then the descriptor stays quiet
    // while messages are waiting. A receive that never returns ends as the part's timeout.

    // MARK: - Part 1

    /// Part 1: the tutorial's example: 0…9 then \"END\" arrive in order through a simplex pipe.
    static func tutorialExample<L: PipeConnectionContract>(_: L.Type, _ context: PartContext) throws {
        try simplexPairIsReadThenWrite(L.self)
        try framingOnTheWire(L.self, context)

        // startWriter: the child runs body with the write end, having closed the read end. The
        // body first waits for the lab (a control pipe), so the lab can look at the child's
        // descriptors while it is inside body.
        let control = try Descriptor.pipe()
        let (reader, writer) = try attempt("startWriter(_:)") {
            try L.startWriter { connection in
                Descriptor.close(control.write)
                _ = try Descriptor.readAll(control.read)        // until the lab closes its end
                for i in 0..<10 { try connection.send(Array("\(i)".utf8)) }
                try connection.send(Array("END".utf8))
            }
        }
        try context.requirePartProcess(after: "startWriter(_:)")
        Descriptor.close(control.read)
        try require(fileType(reader.borrowedDescriptor) == S_IFIFO, CheckFailure(
            "the reader startWriter returned is not the read end of a pipe",
            expected: "a simplex pair made with pipe()", seen: describeDescriptor(reader.borrowedDescriptor),
            look: "pipe(duplex:) and startWriter(_:) in \(file)"))
        try require(accessMode(reader.borrowedDescriptor) == O_RDONLY, CheckFailure(
            "the reader startWriter returned cannot read", expected: "the read end of the pipe (opened O_RDONLY)",
            seen: "a descriptor opened \(accessMode(reader.borrowedDescriptor) == O_WRONLY ? "O_WRONLY: the write end" : "otherwise")",
            cause: "pipe(&fds) gives fds[0] = the read end and fds[1] = the write end",
            look: "pipe(duplex:) in \(file)"))
        let pipeName = ProcessInspection.linkTarget("/proc/self/fd/\(reader.descriptor)") ?? "?"
        if ProcessInspection.waitUntilBlocked(writer, in: [.read], timeout: 10) {
            let kept = ProcessInspection.openDescriptors(of: writer).filter { $0.target == pipeName && !$0.canWrite }
            if let readEnd = kept.first {
                Descriptor.close(control.write)
                killAndReap([writer])
                throw CheckFailure("the writer child still holds the read end of the pipe while body runs",
                                   expected: "the child closes the end it does not use (the reader) before running body",
                                   seen: "the child (pid \(writer)) has fd \(readEnd.fd) open on \(pipeName), read-only, while body runs",
                                   cause: "after fork the child has both ends; with its own read end open, a send to a reader that is gone blocks once the pipe is full instead of failing with EPIPE",
                                   look: "startWriter(_:) in \(file)")
            }
        }
        Descriptor.close(control.write)
        // All 11 messages are in the pipe before the first receive: a receive that reads ahead
        // must keep what belongs to the next messages.
        let end = try waitForProcess(writer)
        let endCause: String
        switch end {
        case .exited(1): endCause = "its body threw (the error is shown with the output): the child ends with _exit(1) then"
        case .signaled(let signal): endCause = "the child was killed by \(signalName(signal)); a crash is described below with its line"
        default: endCause = "the child must run body(writer) and end with _exit(0) (1 when body threw)"
        }
        try requireEqual(end, .exited(0), "the writer child did not exit cleanly", cause: endCause,
                         look: "startWriter(_:) in \(file)")
        var received: [String] = []
        while received.count < 11 {
            let message = try attempt("receive()", look: "receive() in \(file)") { try reader.receive() }
            received.append(String(decoding: message, as: UTF8.self))
            if received.last == "END" { break }
        }
        let expected = (0..<10).map { "\($0)" } + ["END"]
        if received != expected {
            let endian = received.first.map { $0.count != 1 } ?? false
            throw CheckFailure("the messages did not arrive as sent", expected: expected.joined(separator: " "),
                               seen: received.map { "\"\($0)\"" }.joined(separator: " "),
                               cause: endian ? "message boundaries are lost: each message needs its own length prefix, read back exactly"
                                             : "messages are lost, merged or reordered (all 11 were already in the pipe: a read that took several at once must keep the rest for the next receive)",
                               look: "send(_:) and receive() in \(file)")
        }
        reader.close()

        // A body that throws: the child exits 1.
        let (failingReader, failing) = try attempt("startWriter(_:) with a body that throws") {
            try L.startWriter { _ in throw PipeError.closed }
        }
        try context.requirePartProcess(after: "startWriter(_:)")
        failingReader.close()
        let failedEnd = try waitForProcess(failing)
        try requireEqual(failedEnd, .exited(1), "the writer child whose body threw did not exit with code 1",
                         cause: "the child runs body in a do/catch: _exit(0) when it returned, _exit(1) when it threw",
                         look: "startWriter(_:) in \(file)")
        try requireCloseOnExec(L.self, duplex: false)
    }

    /// `pipe(duplex: false)` is (read end, write end) of one pipe.
    static func simplexPairIsReadThenWrite<L: PipeConnectionContract>(_: L.Type) throws {
        let (first, second) = try attempt("pipe(duplex: false)", look: "pipe(duplex:) in \(file)") { try L.pipe(duplex: false) }
        defer { first.close(); second.close() }
        let modes = (accessMode(first.borrowedDescriptor), accessMode(second.borrowedDescriptor))
        let same = ProcessInspection.linkTarget("/proc/self/fd/\(first.descriptor)") == ProcessInspection.linkTarget("/proc/self/fd/\(second.descriptor)")
        try require(fileType(first.borrowedDescriptor) == S_IFIFO && fileType(second.borrowedDescriptor) == S_IFIFO && same
                    && modes.0 == O_RDONLY && modes.1 == O_WRONLY, CheckFailure(
            "pipe(duplex: false) did not return (read end, write end) of one pipe",
            expected: "first: the read end (O_RDONLY), second: the write end (O_WRONLY), both of the same pipe (Python's Pipe(duplex=False) order)",
            seen: "first: \(describeDescriptor(first.borrowedDescriptor)), \(modeName(modes.0)); second: \(describeDescriptor(second.borrowedDescriptor)), \(modeName(modes.1))" + (same ? "" : "; not the same pipe"),
            cause: modes == (O_WRONLY, O_RDONLY) ? "the ends are swapped: pipe(&fds) gives fds[0] = the read end and fds[1] = the write end" : nil,
            look: "pipe(duplex:) in \(file)"))
    }

    static func modeName(_ mode: Int32) -> String {
        switch mode {
        case O_RDONLY: return "O_RDONLY"
        case O_WRONLY: return "O_WRONLY"
        case O_RDWR: return "O_RDWR"
        default: return "mode \(mode)"
        }
    }

    /// The bytes on the wire are Python's framing: the lab reads what send wrote with its own
    /// read loop, and writes frames receive must decode. Sizes from the run's seed.
    static func framingOnTheWire<L: PipeConnectionContract>(_: L.Type, _ context: PartContext) throws {
        let (reader, writer) = try attempt("pipe(duplex: false)", look: "pipe(duplex:) in \(file)") { try L.pipe(duplex: false) }
        defer { reader.close(); writer.close() }
        var random = context.random(stream: 6)
        var sizes = [0, 1, 3, 255, 256, 258]
        for _ in 0..<6 { sizes.append(Int.random(in: 2...9000, using: &random)) }
        try context.forEachGenerated(sizes, size: { $0 }, describe: { "a message of \($0) bytes" }) { size in
            let payload = pattern(size, seed: size)
            try attempt("send(\(size) bytes)", look: "send(_:) in \(file)") { try writer.send(payload) }
            var header = [UInt8](repeating: 0, count: 4)
            let got = try header.withUnsafeMutableBytes { try readExactly(reader.borrowedDescriptor, $0) }
            let expectedHeader = bigEndianLength(Int32(size))
            if got < 4 || header != expectedHeader {
                let seen = header.prefix(got).map { hex2($0) }.joined(separator: " ")
                let reversed = header == expectedHeader.reversed()
                let plusFour = header == bigEndianLength(Int32(size + 4))
                throw CheckFailure("send(\(size) bytes) wrote the wrong length prefix",
                                   expected: "4 bytes, big-endian signed (Python's struct.pack(\"!i\", \(size))): " + expectedHeader.map { hex2($0) }.joined(separator: " "),
                                   seen: seen.isEmpty ? "nothing" : seen,
                                   cause: reversed ? "the length is written little-endian (the machine's own order): the most significant byte goes first"
                                        : plusFour ? "the length counts the 4 bytes of the prefix too: it is the payload's length only"
                                        : "the prefix is the payload's length as 4 bytes, most significant first",
                                   look: "send(_:) in \(file)")
            }
            var body = [UInt8](repeating: 0, count: size)
            let bodyGot = try body.withUnsafeMutableBytes { try readExactly(reader.borrowedDescriptor, $0) }
            if bodyGot < size || body != payload {
                throw CheckFailure("send(\(size) bytes) did not write the payload right after the prefix",
                                   expected: "the \(size) bytes as given", seen: "\(bodyGot) bytes" + (bodyGot == size ? " with other content" : ""),
                                   look: "send(_:) in \(file)")
            }
            // And back: a frame the lab writes is one message for receive.
            try rawWrite(writer.borrowedDescriptor, bigEndianLength(Int32(size)) + payload)
            let back = try attempt("receive() of a \(size)-byte frame the lab wrote", look: "receive() in \(file)") { try reader.receive() }
            if back != payload {
                throw CheckFailure("receive() decoded a frame of \(size) bytes wrongly",
                                   expected: "the \(size) bytes after the prefix " + bigEndianLength(Int32(size)).map { hex2($0) }.joined(separator: " "),
                                   seen: "\(back.count) bytes" + (back.count == size ? " with other content" : ""),
                                   cause: "read the 4-byte length big-endian (most significant byte first), signed, then exactly that many bytes",
                                   look: "receive() in \(file)")
            }
        }
    }

    static func hex2(_ byte: UInt8) -> String {
        let digits = Array("0123456789ABCDEF")
        return String([digits[Int(byte >> 4)], digits[Int(byte & 15)]])
    }

    /// The lab's own read loop: fills `buffer` or stops at end-of-file; returns the count.
    static func readExactly(_ descriptor: BorrowedDescriptor, _ buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        var done = 0
        while done < buffer.count {
            let n = Glibc.read(descriptor.rawValue, buffer.baseAddress! + done, buffer.count - done)
            if n == -1 { if errno == EINTR { continue }; throw SystemError("read") }
            if n == 0 { break }
            done += n
        }
        return done
    }

    /// Both ends of `pipe(duplex:)` are close-on-exec, as the contract requires.
    /// The corresponding C call is `fcntl(fd, F_GETFD)`.
    static func requireCloseOnExec<L: PipeConnectionContract>(_: L.Type, duplex: Bool) throws {
        let (first, second) = try attempt("pipe(duplex: \(duplex))", look: "pipe(duplex:) in \(file)") { try L.pipe(duplex: duplex) }
        defer { first.close(); second.close() }
        for (name, end) in [("first", first), ("second", second)] {
            let flags = fcntl(end.descriptor, F_GETFD)
            guard flags < 0 || flags & FD_CLOEXEC == 0 else { continue }
            throw CheckFailure("the \(name) end from pipe(duplex: \(duplex)) is not close-on-exec",
                               expected: "fcntl(fd, F_GETFD) includes FD_CLOEXEC: a program exec'd later does not inherit the end",
                               seen: flags < 0 ? "fcntl(F_GETFD) failed: \(describeDescriptor(end.borrowedDescriptor))" : "F_GETFD = \(flags), without FD_CLOEXEC",
                               cause: duplex
                                   ? "socketpair without SOCK_CLOEXEC: socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &fds)"
                                   : "pipe() makes inheritable ends: use Descriptor.pipe(), which calls pipe2(fds, O_CLOEXEC). An end inherited by a program started later is one more open write end, and the reader never sees end-of-file while it runs",
                               look: "pipe(duplex:) in \(file)")
        }
    }

    // MARK: - Part 2

    /// Part 2: duplex request/response both ways.
    static func duplexBothWays<L: PipeConnectionContract>(_: L.Type, _ context: PartContext) throws {
        let (mine, theirs) = try attempt("pipe(duplex: true)") { try L.pipe(duplex: true) }
        for (name, connection) in [("first", mine), ("second", theirs)] where fileType(connection.borrowedDescriptor) != S_IFSOCK {
            throw CheckFailure("the \(name) end of a duplex pair is not a socket",
                               expected: "both ends from socketpair(AF_UNIX, SOCK_STREAM): each can send and receive",
                               seen: describeDescriptor(connection.borrowedDescriptor),
                               cause: "a pipe carries bytes one way only: its read end cannot send",
                               look: "pipe(duplex:) in \(file)")
        }
        for (name, connection) in [("first", mine), ("second", theirs)] {
            var type: Int32 = 0, domain: Int32 = 0
            var length = socklen_t(MemoryLayout<Int32>.size)
            getsockopt(connection.descriptor, SOL_SOCKET, SO_TYPE, &type, &length)
            length = socklen_t(MemoryLayout<Int32>.size)
            getsockopt(connection.descriptor, SOL_SOCKET, SO_DOMAIN, &domain, &length)
            if type != Int32(SOCK_STREAM.rawValue) || domain != AF_UNIX {
                throw CheckFailure("the \(name) end of a duplex pair is not a Unix stream socket",
                                   expected: "socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, &fds): a byte stream, like Python's socket.socketpair()",
                                   seen: "SO_DOMAIN \(domain), SO_TYPE \(type) (SOCK_STREAM is \(SOCK_STREAM.rawValue), SOCK_DGRAM \(SOCK_DGRAM.rawValue), SOCK_SEQPACKET \(SOCK_SEQPACKET.rawValue))",
                                   cause: "a datagram or sequenced-packet socket keeps each write() as a packet of its own: the framing would then fight the socket's own boundaries, and large messages fail",
                                   look: "pipe(duplex:) in \(file)")
            }
        }
        let sizes = [0, 1, 3, 4, 5, 100, 4096, 16383, 16384, 16385, 65536, 100_000]
        let child = try forkChild {
            Glibc.close(mine.descriptor)
            // Answer each request with the bytes reversed, until told it is our turn.
            while true {
                let request = try theirs.receive()
                if request == Array("your turn".utf8) { break }
                try theirs.send(request.reversed())
            }
            // Then ask: 20 numbers, each answer must be the double.
            for i in 0..<20 {
                try theirs.send(Array("\(i * 7)".utf8))
                let answer = String(decoding: try theirs.receive(), as: UTF8.self)
                guard answer == "\(i * 14)" else {
                    throw CheckFailure("the child asked \(i * 7) and got a wrong answer", expected: "\(i * 14)", seen: answer,
                                       look: "send(_:) and receive() in \(file)")
                }
            }
            return 0
        }
        theirs.close()
        for size in sizes {
            let request = pattern(size, seed: 3)
            try attempt("send(\(size) bytes)", look: "send(_:) in \(file)") { try mine.send(request) }
            let answer = try attempt("receive()", look: "receive() in \(file)") { try mine.receive() }
            if answer != Array(request.reversed()) {
                throw CheckFailure("the answer to a \(size)-byte request is wrong",
                                   expected: "the \(size) bytes reversed", seen: "\(answer.count) bytes" + (answer.count == size ? " with other content" : ""),
                                   cause: "a message must arrive exactly as sent: its length first, then every byte",
                                   look: "send(_:) and receive() in \(file)")
            }
        }
        // Three requests in a row before reading any answer: the boundaries must survive.
        let burst = [Array("alpha".utf8), [], Array(repeating: 7, count: 1000)]
        for request in burst { try attempt("send(_:)") { try mine.send(request) } }
        for request in burst {
            let answer = try attempt("receive()") { try mine.receive() }
            try require(answer == Array(request.reversed()), CheckFailure(
                "three messages sent in a row came back merged or split",
                expected: "answers of \(burst.map(\.count)) bytes", seen: "an answer of \(answer.count) bytes",
                cause: "a stream has no message boundaries of its own: only the length prefix separates messages",
                look: "receive() in \(file)"))
        }
        try attempt("send(\"your turn\")") { try mine.send(Array("your turn".utf8)) }
        for _ in 0..<20 {
            let question = String(decoding: try attempt("receive()") { try mine.receive() }, as: UTF8.self)
            let number = Int(question) ?? -1
            try attempt("send(_:)") { try mine.send(Array("\(number * 2)".utf8)) }
        }
        let end = try waitForProcess(child)
        try requireEqual(end, .exited(0), "the child end of the duplex pair did not finish its exchange",
                         look: "send(_:) and receive() in \(file)")
        // Closing: idempotent, and a closed connection refuses to be used.
        mine.close()
        mine.close()
        try requireEqual(mine.descriptor, -1, "descriptor is not -1 after close()",
                         cause: "forget the number when you close it: it may soon belong to another file",
                         look: "close() in \(file)")
        try expectPipeError(.closed, "send(_:) after close()") { try mine.send([1]) }
        try expectPipeError(.closed, "receive() after close()") { _ = try mine.receive() }
        try expectPipeError(.closed, "poll(timeout: 0) after close()") { _ = try mine.poll(timeout: 0) }
        try requireCloseOnExec(L.self, duplex: true)
    }

    // MARK: - Part 3

    /// The writer blocks on a full pipe and is interrupted twice by a signal (without SA_RESTART):
    /// the first time after its write() took 64 KiB (a partial write), the second time before the
    /// next write() took anything (EINTR). The reader is interrupted once while it waits in read().
    static func bigMessageWithInterruptions<L: PipeConnectionContract>(_: L.Type, _ context: PartContext) throws {
        let block = try labSharedBlock(bytes: 4096)
        defer { labUnmap(block) }
        InterruptCounters.install(block.baseAddress!)
        defer { InterruptCounters.uninstall() }
        let readerInterrupts = SharedCounter(at: block.baseAddress!)
        let writerInterrupts = SharedCounter(at: block.baseAddress! + 8)
        let payload = pattern(4 << 20, seed: 11)
        let (reader, writer) = try attempt("pipe(duplex: false)") { try L.pipe(duplex: false) }
        let partProcess = getpid()
        let child = try forkChild {
            Glibc.close(reader.descriptor)
            // Interrupt the reader while it waits in read(), then send it a first message.
            _ = ProcessInspection.waitUntilBlocked(partProcess, in: [.read, .receive], timeout: 10)
            kill(partProcess, SIGUSR1)
            _ = readerInterrupts.wait(atLeast: 1, timeout: 10)
            try writer.send(Array("first".utf8))
            try writer.send(payload)
            try writer.send(Array("after".utf8))
            return 0
        }
        writer.close()
        // No poll here: the writer waits until this process is blocked inside read().
        let first: [UInt8]
        do {
            first = try reader.receive()
        } catch let error as SystemError where error.errno == EINTR {
            throw CheckFailure("receive() failed when a signal interrupted it", expected: "the message \"first\"",
                               seen: "\(error)", cause: "read() fails with EINTR when a signal arrives before any byte: call it again",
                               look: "receive() in \(file)")
        } catch {
            throw CheckFailure("receive() threw", expected: "the message \"first\"", seen: "\(error)", look: "receive() in \(file)")
        }
        try requireEqual(String(decoding: first, as: UTF8.self), "first", "the first message is wrong", look: "receive() in \(file)")

        // Let the writer fill the pipe and block, then interrupt it twice before reading anything.
        var interruptions = 0
        for round in 1...2 {
            guard ProcessInspection.waitUntilBlocked(child, in: [.write, .send], timeout: 10) else { break }
            kill(child, SIGUSR2)
            guard writerInterrupts.wait(atLeast: UInt64(round), timeout: 10) else { break }
            interruptions = round
        }
        try require(interruptions >= 1, CheckFailure(
            "the writer never blocked in write() with the pipe full",
            expected: "send(4 MiB) blocks once the 64 KiB pipe is full", seen: "it did not block within 10 s",
            look: "send(_:) in \(file)"))
        let big: [UInt8]
        do {
            big = try reader.receive()
        } catch let error as PipeError {
            throw CheckFailure("the 4 MiB message did not arrive whole", expected: "4194304 bytes", seen: "\(error)",
                               cause: "the writer's write() was interrupted after it took 64 KiB and returned that count: send must keep writing the rest (a single write() is not enough)",
                               look: "send(_:) in \(file)")
        } catch {
            throw CheckFailure("receive() threw while reading the 4 MiB message", expected: "4194304 bytes", seen: "\(error)",
                               look: "receive() in \(file)")
        }
        if big.count != payload.count {
            throw CheckFailure("the 4 MiB message arrived with the wrong size", expected: "\(payload.count) bytes", seen: "\(big.count) bytes",
                               cause: "read() returns what the pipe holds (at most 64 KiB here), not the whole message: loop until you have all of it",
                               look: "receive() in \(file)")
        }
        if let index = firstDifference(big, payload) {
            throw CheckFailure("the 4 MiB message arrived corrupted", expected: "the bytes as sent", seen: "byte \(index) differs",
                               cause: "after a partial write(), continue from the first byte not yet written",
                               look: "send(_:) in \(file)")
        }
        let after = try attempt("receive()") { try reader.receive() }
        try requireEqual(String(decoding: after, as: UTF8.self), "after", "the message after the big one is wrong",
                         cause: "the stream lost its place: the big message was not sent (or read) whole",
                         look: "send(_:) and receive() in \(file)")
        let end = try waitForProcess(child)
        try requireEqual(end, .exited(0), "the writer process failed while sending",
                         cause: "a signal makes write() return early (a partial count) or fail with EINTR: neither is an error",
                         look: "send(_:) in \(file)")
        reader.close()
        try piecemealFrames(L.self)
    }

    /// A frame that arrives in pieces, the reader asleep in read() between them: 2 bytes of the
    /// length, then 2 more and half the payload, then the rest.
    static func piecemealFrames<L: PipeConnectionContract>(_: L.Type) throws {
        let (reader, writer) = try attempt("pipe(duplex: false)") { try L.pipe(duplex: false) }
        let partProcess = getpid()
        let payload = pattern(300, seed: 9)
        let frame = bigEndianLength(300) + payload
        let child = try forkChild {
            Glibc.close(reader.descriptor)
            for piece in [frame[0..<2], frame[2..<154], frame[154...]] {
                _ = ProcessInspection.waitUntilBlocked(partProcess, in: [.read, .receive], timeout: 10)
                try rawWrite(writer.borrowedDescriptor, Array(piece))
            }
            return 0
        }
        writer.close()
        // The writer has written every piece when the message arrived whole; on a failure it may
        // still be waiting (10 s) for this process to block in read() again: it is not needed.
        defer { reader.close(); kill(child, SIGKILL); _ = waitForProcess(child, timeout: 5) }
        let message: [UInt8]
        do {
            message = try reader.receive()
        } catch {
            throw CheckFailure("receive() failed on a frame that arrived in pieces",
                               expected: "the 300-byte message (its length arrived as 2 + 2 bytes, its payload as 150 + 150)",
                               seen: "\(error)",
                               cause: "read() returns what has arrived: 2 bytes of the length are not end-of-file nor an error. Loop until you have all 4 bytes of the length, then all of the payload",
                               look: "receive() in \(file)")
        }
        try require(message == payload, CheckFailure(
            "a frame that arrived in pieces was decoded wrongly",
            expected: "the 300 bytes as sent", seen: "\(message.count) bytes" + (message.count == 300 ? " with other content" : ""),
            cause: "the length must be read whole (4 bytes, perhaps over several read() calls) before it is decoded",
            look: "receive() in \(file)"))
    }

    // MARK: - Part 4

    /// Part 4: end-of-file: receive throws endOfFile once the writing process is gone.
    static func endOfFile<L: PipeConnectionContract>(_: L.Type, _ context: PartContext) throws {
        let (reader, writer) = try attempt("startWriter(_:)") {
            try L.startWriter { connection in
                for i in 0..<3 { try connection.send(Array("message \(i)".utf8)) }
            }
        }
        try context.requirePartProcess(after: "startWriter(_:)")
        // The evidence first: does this process (the parent) still hold a write end of the pipe?
        let pipeName = ProcessInspection.linkTarget("/proc/self/fd/\(reader.descriptor)") ?? "?"
        let kept = ProcessInspection.openDescriptors(of: getpid()).filter { $0.target == pipeName && $0.canWrite }
        if let writeEnd = kept.first {
            _ = waitForProcess(writer, timeout: 5)
            throw CheckFailure("after startWriter returned, the parent still holds a write end of the pipe it reads",
                               expected: "the parent keeps only the read end: end-of-file comes once every write end is closed",
                               seen: "fd \(writeEnd.fd) of this process is open for writing on \(pipeName), the pipe of the reader (fd \(reader.descriptor))",
                               cause: "after fork both processes hold both ends; the parent must close its copy of the write end right after fork, before returning the reader — or its own receive() waits for ever at the end",
                               look: "startWriter(_:) in \(file)")
        }
        for i in 0..<3 {
            let message = try attempt("receive()", look: "receive() in \(file)") { try reader.receive() }
            try requireEqual(String(decoding: message, as: UTF8.self), "message \(i)", "message \(i) is wrong")
        }
        _ = try waitForProcess(writer)
        // The writer is gone and every write end closed: the next receive must say so at once.
        try requireReceive(reader, gives: .endOfFile, "receive() after the writer child exited",
                           cause: "read() returning 0 before any byte of a message is a clean end-of-file: throw PipeError.endOfFile")
        // And again: end-of-file stays end-of-file.
        try requireReceive(reader, gives: .endOfFile, "a second receive() after the writer child exited",
                           cause: "after end-of-file every receive throws PipeError.endOfFile")
        reader.close()

        // The same over a socket pair, with a writer forked by the lab.
        let (mine, theirs) = try attempt("pipe(duplex: true)") { try L.pipe(duplex: true) }
        let child = try forkChild {
            Glibc.close(mine.descriptor)
            try theirs.send(Array("bye".utf8))
            return 0
        }
        theirs.close()
        let bye = try attempt("receive()") { try mine.receive() }
        try requireEqual(String(decoding: bye, as: UTF8.self), "bye", "the last message over the socket pair is wrong")
        _ = try waitForProcess(child)
        try requireReceive(mine, gives: .endOfFile, "receive() after the socket's other end was closed",
                           cause: "read() returning 0 before any byte of a message is a clean end-of-file: throw PipeError.endOfFile")
        mine.close()
    }

    /// Runs `connection.receive()` in a child the lab watches, when everything it can ever read
    /// is already there (every writer gone): it must throw `expected` at once. A receive that
    /// keeps calling read() after it returned 0, or that sleeps, is a failure with that evidence.
    static func requireReceive<L: PipeConnectionContract>(_ connection: L, gives expected: PipeError, _ call: String,
                                                          cause: String) throws {
        let outcome = try IsolatedCall.run {
            let message = try connection.receive()
            return "a message of \(message.count) bytes"
        }
        switch outcome {
        case .threw(let error) where error == expected.description:
            return
        case .spinning:
            throw CheckFailure("\(call) never returned", expected: "\(expected) at once", seen: outcome.text,
                               cause: "read() returned 0 (end-of-file) and receive() called it again, and again: 0 means the other end is closed and nothing is left — never read again after a 0. Throw PipeError.endOfFile between messages, PipeError.truncated in the middle of one",
                               look: "receive() in \(file)")
        case .asleep:
            throw CheckFailure("\(call) waited for bytes that can never come", expected: "\(expected) at once", seen: outcome.text,
                               cause: "every writer is gone, so read() would return 0 at once unless a write end of the pipe is still open somewhere: in this process (a copy kept after fork) or in a child",
                               look: "startWriter(_:) and receive() in \(file)")
        default:
            throw CheckFailure("\(call) gave the wrong result", expected: "\(expected)", seen: outcome.text,
                               cause: cause, look: "receive() in \(file)")
        }
    }

    // MARK: - Part 5

    /// Part 5: poll: false after its timeout on an idle connection, true once data arrives.
    static func pollWaits<L: PipeConnectionContract>(_: L.Type, _ context: PartContext) throws {
        let (mine, theirs) = try attempt("pipe(duplex: true)") { try L.pipe(duplex: true) }
        let look = "poll(timeout:) in \(file)"
        // Idle: false, after about the timeout.
        var started = monotonicSeconds()
        let idle = try attempt("poll(timeout: 0.3)", look: look) { try mine.poll(timeout: 0.3) }
        var elapsed = monotonicSeconds() - started
        try require(!idle, CheckFailure("poll(timeout: 0.3) said ready on an idle connection", expected: "false", seen: "true", look: look))
        try require(elapsed >= 0.25, CheckFailure(
            "poll(timeout: 0.3) returned too early on an idle connection", expected: "about 0.3 s",
            seen: String(format3(elapsed)) + " s",
            cause: "poll() takes milliseconds and our timeout is in seconds: multiply by 1000", look: look))
        try require(elapsed < 5, CheckFailure("poll(timeout: 0.3) waited far too long", expected: "about 0.3 s",
                                              seen: format3(elapsed) + " s", look: look))
        let zero = try attempt("poll(timeout: 0)", look: look) { try mine.poll(timeout: 0) }
        try require(!zero, CheckFailure("poll(timeout: 0) said ready on an idle connection", expected: "false", seen: "true", look: look))
        for bad in [-1.0, -0.001, Double.nan] {
            let outcome = try IsolatedCall.run { "returned \(try mine.poll(timeout: bad))" }
            guard case .threw(let error) = outcome, error.hasPrefix("PipeError.invalidTimeout(") else {
                throw CheckFailure("poll(timeout: \(bad)) did not throw PipeError.invalidTimeout", expected: "PipeError.invalidTimeout(\(bad))",
                                   seen: outcome.text,
                                   cause: bad.isNaN ? "NaN compares false with everything: `timeout < 0` lets it through. Test `timeout >= 0` (false for NaN) before calling poll()"
                                                    : "check the timeout before calling poll()",
                                   look: look)
            }
        }
        // Data arriving while poll waits wakes it long before its timeout. Before the data, a
        // signal interrupts the waiting poll (EINTR): it must wait on for the rest of its time.
        let block = try labSharedBlock(bytes: 4096)
        defer { labUnmap(block) }
        InterruptCounters.install(block.baseAddress!)
        defer { InterruptCounters.uninstall() }
        let interrupts = SharedCounter(at: block.baseAddress!)
        let partProcess = getpid()
        let stay = try Descriptor.pipe()        // the child stays until this closes: no end-of-file yet
        let child = try forkChild {
            Glibc.close(mine.descriptor)
            Descriptor.close(stay.write)
            if ProcessInspection.waitUntilBlocked(partProcess, in: [.poll], timeout: 10) {
                kill(partProcess, SIGUSR1)
                _ = interrupts.wait(atLeast: 1, timeout: 10)
                // A poll that retries is asleep in poll() again; one that gave up is not.
                _ = ProcessInspection.waitUntilBlocked(partProcess, in: [.poll], timeout: 3)
            }
            try theirs.send(Array("ping".utf8))
            _ = try Descriptor.readAll(stay.read)
            return 0
        }
        theirs.close()
        Descriptor.close(stay.read)
        started = monotonicSeconds()
        let woke: Bool
        do {
            woke = try mine.poll(timeout: 30)
        } catch let error as SystemError where error.errno == EINTR {
            throw CheckFailure("poll(timeout: 30) failed when a signal interrupted it", expected: "it waits on, and returns true when the message arrives",
                               seen: "\(error)", cause: "poll() fails with EINTR when a signal arrives while it waits: that is not an error, call it again with the time that is left",
                               look: look)
        } catch {
            throw CheckFailure("poll(timeout: 30) threw", expected: "true when the message arrives", seen: "\(error)", look: look)
        }
        elapsed = monotonicSeconds() - started
        try require(woke, CheckFailure("poll(timeout: 30) returned false although a message arrived", expected: "true when the message arrives",
                                       seen: "false after \(format3(elapsed)) s" + (interrupts.value > 0 ? ", after a signal interrupted its wait" : ""),
                                       cause: interrupts.value > 0 && elapsed < 3
                                           ? "a signal interrupted poll() (EINTR) and poll(timeout:) returned false: retry on EINTR with the time that is left"
                                           : "poll() takes milliseconds: 30 s is 30000, not 30", look: look))
        try require(elapsed < 20, CheckFailure("poll(timeout: 30) did not wake when the message arrived", expected: "true within moments",
                                               seen: "true after \(format3(elapsed)) s", look: look))
        // Huge timeouts with a message waiting: true at once, never a trap (Int32(1e15) traps).
        for huge in [1e12, Double.infinity] {
            let outcome = try IsolatedCall.run { "\(try mine.poll(timeout: huge))" }
            try require(outcome == .returned("true"), CheckFailure(
                "poll(timeout: \(huge)) with a message waiting did not return true", expected: "true at once", seen: outcome.text,
                cause: "poll() takes an Int32 of milliseconds: .infinity means -1 (wait for ever); clamp a huge finite timeout to Int32.max before converting — Int32(huge * 1000) traps",
                look: look))
        }
        let ping = try attempt("receive()") { try mine.receive() }
        try requireEqual(String(decoding: ping, as: UTF8.self), "ping", "after poll said ready, receive() got the wrong message",
                         cause: "poll must not consume anything", look: look)
        let drained = try attempt("poll(timeout: 0)", look: look) { try mine.poll(timeout: 0) }
        try require(!drained, CheckFailure("poll(timeout: 0) said ready after the only message was received", expected: "false", seen: "true", look: look))
        Descriptor.close(stay.write)
        _ = try waitForProcess(child)
        // End-of-file counts as ready: receive() would not block (it throws endOfFile).
        let atEnd = try attempt("poll(timeout: 5)", look: look) { try mine.poll(timeout: 5) }
        try require(atEnd, CheckFailure("poll said not ready at end-of-file of a socket", expected: "true (receive would throw endOfFile at once)",
                                        seen: "false", look: look))
        mine.close()
        let (reader, writer) = try attempt("pipe(duplex: false)") { try L.pipe(duplex: false) }
        writer.close()
        started = monotonicSeconds()
        let pipeEnd = try attempt("poll(timeout: 5)", look: look) { try reader.poll(timeout: 5) }
        try require(pipeEnd, CheckFailure(
            "poll said not ready at end-of-file of a pipe", expected: "true at once (receive would throw endOfFile)",
            seen: "false after \(format3(monotonicSeconds() - started)) s",
            cause: "at end-of-file a pipe reports POLLHUP without POLLIN: count POLLIN | POLLHUP | POLLERR as ready", look: look))
        try expectPipeError(.endOfFile, "receive() at end-of-file of a pipe") { _ = try reader.receive() }
        reader.close()

        // Readable is not a whole message: two bytes of a length are enough for poll.
        let (partial, sender) = try attempt("pipe(duplex: true)") { try L.pipe(duplex: true) }
        defer { partial.close(); sender.close() }
        try rawWrite(sender.borrowedDescriptor, [0, 0])
        started = monotonicSeconds()
        let some = try attempt("poll(timeout: 1)", look: look) { try partial.poll(timeout: 1) }
        try require(some, CheckFailure(
            "poll(timeout: 1) said not ready with 2 bytes waiting (the start of a length prefix)",
            expected: "true at once: some bytes are waiting (not necessarily a whole message)",
            seen: "false after \(format3(monotonicSeconds() - started)) s",
            cause: "poll tells whether the descriptor is readable (POLLIN), like Python's Connection.poll: it does not wait for a whole message",
            look: look))
    }

    // MARK: - Part 6

    /// Reads `count` messages first, checking each against what the lab's pattern says was sent
    /// (before anything else touches them), then answers each with its bytes reversed and "|py".
    static let pythonEcho = """
        import sys
        from multiprocessing.connection import Connection
        c = Connection(int(sys.argv[1]))
        sizes = [int(s) for s in sys.argv[2].split(",")]
        base = bytes(range(256)) * 4200
        got = []
        for index, size in enumerate(sizes):
            expected = base[size % 256: size % 256 + size]
            try:
                m = c.recv_bytes(maxlength=8 << 20)
            except EOFError:
                print("MISMATCH message %d (%d bytes): Python got end-of-file before it" % (index + 1, size)); sys.exit(1)
            except OSError as e:
                print("MISMATCH message %d (%d bytes): Python's recv_bytes refused it: %s" % (index + 1, size, e)); sys.exit(1)
            if m != expected:
                first = next((i for i in range(min(len(m), size)) if m[i] != expected[i]), min(len(m), size))
                print("MISMATCH message %d: sent %d bytes, Python read %d bytes (first difference at byte %d)" % (index + 1, size, len(m), first)); sys.exit(1)
            got.append(m)
        for m in got:
            c.send_bytes(m[::-1] + b"|py")
        try:
            c.recv_bytes()
            print("MISMATCH: more bytes came after the last message"); sys.exit(1)
        except EOFError:
            pass
        print("python echoed", len(got), "messages")
        """

    static let pythonWriter = """
        import sys
        from multiprocessing.connection import Connection
        c = Connection(int(sys.argv[1]), readable=False)
        base = bytes(range(256)) * 4200
        sizes = [int(s) for s in sys.argv[2].split(",")]
        for size in sizes:
            c.send_bytes(base[size % 256: size % 256 + size])
        c.close()
        print("python sent", len(sizes), "messages")
        """

    /// Part 6: interop: Python's multiprocessing.connection reads what you send, and you read what it sends.
    static func pythonInterop<L: PipeConnectionContract>(_: L.Type, _ context: PartContext) throws {
        let python = try context.python3()
        // 1 byte first: a length in the wrong byte order is then 16 MiB, which Python refuses at once
        // ("bad message length") instead of waiting for bytes that never come.
        let sizes = [1, 0, 4, 255, 256, 16383, 16384, 16385, 65536, 1 << 20]
        func pythonSaid(_ process: ChildProcess) -> String {
            let (output, end) = process.collectOutput(timeout: 10)
            let text = String(decoding: output, as: UTF8.self).trimmingSuffixNewlines()
            return (text.isEmpty ? "no output" : text) + " (python3 \(end.map { "\($0)" } ?? "did not end"))"
        }
        let deadlock = "your code and Python waited for each other: one side read the other's 4-byte length as a larger number and waits for bytes that will never come. Python writes and reads the length with struct \"!i\": big-endian (most significant byte first), signed"

        // Both directions over a socket pair: you send every message, Python reads and checks each
        // (before anything else touches it), then echoes them reversed, and you receive them.
        // Python's own pattern (bytes(range(256)) * 4200, sliced): copied, not computed byte by byte.
        let base = [UInt8](unsafeUninitializedCapacity: 256 * 4200) { buffer, initialized in
            for i in 0..<256 { buffer[i] = UInt8(i) }
            for copy in 1..<4200 { (buffer.baseAddress! + copy * 256).update(from: buffer.baseAddress!, count: 256) }
            initialized = 256 * 4200
        }
        func sent(_ size: Int) -> [UInt8] { Array(base[(size % 256)..<(size % 256 + size)]) }
        let (mine, theirs) = try attempt("pipe(duplex: true)") { try L.pipe(duplex: true) }
        keepFromChildren(mine.borrowedDescriptor)
        fflush(nil)
        let echo = try ChildProcess.spawn(python, ["-c", pythonEcho, "100", sizes.map(String.init).joined(separator: ",")],
                                          output: .captureBoth,
                                          handOver: [DescriptorHandOver(theirs.borrowedDescriptor, as: 100)])
        theirs.close()
        // The exchange runs in a child with a deadline, so that a wait that never ends is reported
        // with what Python said rather than as a bare timeout.
        let exchange = try inChildWithDeadline(15) {
            for size in sizes {
                do {
                    try mine.send(sent(size))
                } catch {
                    throw CheckFailure("send(\(size) bytes) to Python failed", seen: "\(error)", look: "send(_:) in \(file)")
                }
            }
            for size in sizes {
                let answer: [UInt8]
                do {
                    answer = try mine.receive()
                } catch {
                    throw CheckFailure("receiving Python's answer to a \(size)-byte message failed",
                                       expected: "\(size + 3) bytes", seen: "\(error)",
                                       cause: "Python frames with struct.pack(\"!i\", n): a big-endian signed 32-bit length",
                                       look: "receive() in \(file)")
                }
                if answer != Array(sent(size).reversed()) + Array("|py".utf8) {
                    throw CheckFailure("Python's answer to a \(size)-byte message is wrong", expected: "the \(size) bytes reversed and \"|py\"",
                                       seen: "\(answer.count) bytes", look: "receive() in \(file)")
                }
            }
            mine.close()
        }
        mine.close()
        let said = pythonSaid(echo)
        if let line = said.split(separator: "\n").first(where: { $0.hasPrefix("MISMATCH") }) {
            throw CheckFailure("Python's multiprocessing.connection did not read what send wrote",
                               expected: "each message framed as struct.pack(\"!i\", n) + payload, read back by Python's recv_bytes",
                               seen: String(line.dropFirst("MISMATCH ".count)),
                               cause: "the length prefix is the payload's length (not counting the prefix), 4 bytes, big-endian (most significant byte first), signed; then exactly the payload",
                               look: "send(_:) in \(file)")
        }
        switch exchange {
        case .passed: break
        case .failed(let what): throw CheckFailure(what + "\nPython said: " + said)
        case .timedOut:
            throw CheckFailure("the exchange with Python did not finish within 15 s", seen: "Python said: \(said)",
                               cause: deadlock, look: "send(_:) and receive() in \(file)")
        }
        try require(echo.end == .exited(0) && said.contains("python echoed \(sizes.count) messages"), CheckFailure(
            "Python did not end cleanly after your connection closed", expected: "python echoed \(sizes.count) messages",
            seen: said, cause: "Python's recv_bytes raises EOFError when the other end closes between messages",
            look: "close() in \(file)"))

        // The other direction through a simplex pipe: Python writes, you read until end-of-file.
        let (reader, writer) = try attempt("pipe(duplex: false)") { try L.pipe(duplex: false) }
        keepFromChildren(reader.borrowedDescriptor)
        fflush(nil)
        let sender = try ChildProcess.spawn(python, ["-c", pythonWriter, "100", sizes.map(String.init).joined(separator: ",")],
                                            output: .captureBoth,
                                            handOver: [DescriptorHandOver(writer.borrowedDescriptor, as: 100)])
        writer.close()
        let reading = try inChildWithDeadline(15) {
            for size in sizes {
                let message: [UInt8]
                do {
                    message = try reader.receive()
                } catch {
                    throw CheckFailure("receiving a \(size)-byte message Python sent failed", seen: "\(error)",
                                       cause: "Python's length prefix is struct.pack(\"!i\", n): 4 bytes, big-endian, signed; above 16 KiB it arrives in a write of its own",
                                       look: "receive() in \(file)")
                }
                if message != sent(size) {
                    throw CheckFailure("a message Python sent arrived wrong", expected: "\(size) bytes", seen: "\(message.count) bytes",
                                       cause: "read the 4-byte big-endian length, then exactly that many bytes", look: "receive() in \(file)")
                }
            }
            try expectPipeError(.endOfFile, "receive() after Python closed its end") { _ = try reader.receive() }
        }
        reader.close()
        switch reading {
        case .passed: break
        case .failed(let what): throw CheckFailure(what + "\nPython said: " + pythonSaid(sender))
        case .timedOut:
            throw CheckFailure("reading what Python sent did not finish within 15 s", seen: "Python said: \(pythonSaid(sender))",
                               cause: deadlock + "; or receive() never saw end-of-file after Python closed", look: "receive() in \(file)")
        }
        let sent = pythonSaid(sender)
        try require(sender.end == .exited(0), CheckFailure("Python's writer did not end cleanly", seen: sent))
    }

    enum ChildOutcome { case passed, failed(String), timedOut }

    /// Runs `body` in a child forked by the lab and waits at most `seconds` for it (killing it
    /// then): a check that may wait for ever on the student's code still ends with a clear message.
    static func inChildWithDeadline(_ seconds: Double, _ body: () throws -> Void) throws -> ChildOutcome {
        let result = try Descriptor.pipe()
        let child = try forkChild {
            Descriptor.close(result.read)
            do {
                try body()
                return 0
            } catch {
                try? Descriptor.writeAll(result.write, "\(error)")
                return 1
            }
        }
        Descriptor.close(result.write)
        let end = waitForProcess(child, timeout: seconds)
        let text = String(decoding: (try? Descriptor.readAll(result.read)) ?? [], as: UTF8.self)
        Descriptor.close(result.read)
        switch end {
        case nil: return .timedOut
        case .exited(0)?: return .passed
        case let other?: return .failed(text.isEmpty ? "the checking child \(other)" : text)
        }
    }

    // MARK: - Part 7

    /// Part 7: a peer that dies mid-message gives PipeError.truncated, not a hang or a crash.
    static func peerDiesMidMessage<L: PipeConnectionContract>(_: L.Type, _ context: PartContext) throws {
        // 1. Sending to a socket whose other end is closed: EPIPE, not death by SIGPIPE.
        // 2. The same on a pipe whose read end is closed.
        for (duplex, call, cause) in [
            (true, "send(_:) on a socket whose other end is closed",
             "without MSG_NOSIGNAL, send()/write() on a socket whose peer is gone raises SIGPIPE and the process dies"),
            (false, "send(_:) on a pipe whose read end is closed",
             "a pipe has no MSG_NOSIGNAL: ignore SIGPIPE (signal(SIGPIPE, SIG_IGN)) so that write() fails with EPIPE instead"),
        ] {
            let (gone, sender) = try attempt("pipe(duplex: \(duplex))") { try L.pipe(duplex: duplex) }
            gone.close()
            try expectEPIPE(call, cause: cause) { try sender.send(Array("anyone there?".utf8)) }
            sender.close()
        }

        // 3. A writer killed in the middle of a payload.
        try receiveAfterPeerKilled(L.self, duplex: false, wrote: bigEndianLength(1000) + Array(repeating: 42, count: 10),
                                   gives: .truncated(expected: 1000, received: 10),
                                   "receive() after the writer died 10 bytes into a 1000-byte payload",
                                   cause: "read() returned 0 in the middle of the payload: that is a truncated message (PipeError.truncated(expected: 1000, received: 10)), not a clean end-of-file. The writer sent the length 00 00 03 E8, which is 1000 read big-endian")
        // 4. A peer killed in the middle of the length prefix (socket pair).
        try receiveAfterPeerKilled(L.self, duplex: true, wrote: [0, 0], gives: .truncated(expected: 4, received: 2),
                                   "receive() after the peer died 2 bytes into the length prefix",
                                   cause: "0 bytes before a message is endOfFile; some but not all of the 4 length bytes is PipeError.truncated(expected: 4, received: 2)")

        // 5. Lengths that cannot be: negative, Python's 8-byte marker, over the maximum.
        for (header, length) in [([0xFF, 0xFF, 0xFF, 0xF0] as [UInt8], -16), ([0xFF, 0xFF, 0xFF, 0xFF], -1),
                                 ([0x40, 0x00, 0x00, 0x01], maximumMessageBytes + 1), ([0x7F, 0xFF, 0xFF, 0xFF], Int(Int32.max))] {
            let (a, b) = try attempt("pipe(duplex: true)") { try L.pipe(duplex: true) }
            try rawWrite(b.borrowedDescriptor, header + Array("xyz".utf8))
            b.close()
            try requireReceive(a, gives: .badLength(length),
                               "receive() of the length prefix \(header.map { hex2($0) }.joined(separator: " ")) (\(length))",
                               cause: "the length is signed (struct \"!i\"): check it is within 0…maximumMessageBytes before allocating anything, and throw PipeError.badLength(n) with the signed value")
            a.close()
        }

        // 6. send refuses a message over maximumMessageBytes before writing anything (the other
        //    end is closed: a send that writes anyway fails with EPIPE instead).
        let (lone, gone) = try attempt("pipe(duplex: true)") { try L.pipe(duplex: true) }
        gone.close()
        let tooBig = [UInt8](unsafeUninitializedCapacity: maximumMessageBytes + 1) { _, initialized in
            initialized = maximumMessageBytes + 1          // never touched: the pages stay unallocated
        }
        try requireThrows(PipeError.self, "send of maximumMessageBytes + 1 bytes",
                          expected: "PipeError.messageTooLarge(\(maximumMessageBytes + 1)), before writing anything",
                          cause: "compare message.count with maximumMessageBytes before writing the prefix: the receiver (Python too) refuses such a length",
                          look: "send(_:) in \(file)", {
            try lone.send(tooBig)
            throw CheckFailure("send of maximumMessageBytes + 1 bytes did not throw", expected: "PipeError.messageTooLarge(\(maximumMessageBytes + 1))",
                               seen: "no error", look: "send(_:) in \(file)")
        }, judge: { error in
            try requireEqual(error, .messageTooLarge(maximumMessageBytes + 1), "send of maximumMessageBytes + 1 bytes threw the wrong error",
                             look: "send(_:) in \(file)")
        })
        lone.close()
    }

    // MARK: - Helpers

    /// The first index where two arrays of one length differ; nil when they are equal. A `memcmp`
    /// first (a debug build compares 4 MiB byte by byte in about half a second), then the scan.
    static func firstDifference(_ a: [UInt8], _ b: [UInt8]) -> Int? {
        guard !a.isEmpty else { return nil }
        let same = a.withUnsafeBytes { x in b.withUnsafeBytes { y in memcmp(x.baseAddress!, y.baseAddress!, a.count) == 0 } }
        return same ? nil : (0..<a.count).first { a[$0] != b[$0] }
    }

    /// `count` bytes that differ from one position (and one seed) to the next.
    static func pattern(_ count: Int, seed: Int) -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            for i in 0..<count { buffer[i] = UInt8(truncatingIfNeeded: (i &* 31) ^ (i >> 8) &+ seed) }
            initialized = count
        }
    }

    static func bigEndianLength(_ n: Int32) -> [UInt8] {
        let u = UInt32(bitPattern: n)
        return [UInt8(u >> 24), UInt8((u >> 16) & 0xff), UInt8((u >> 8) & 0xff), UInt8(u & 0xff)]
    }

    /// Writes bytes with the lab's own loop (not the student's send).
    static func rawWrite(_ descriptor: BorrowedDescriptor, _ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try descriptor.writeAll($0) }
    }

    /// The `S_IFMT` bits of a descriptor's file type.
    static func fileType(_ descriptor: BorrowedDescriptor) -> mode_t {
        var info = stat()
        guard fstat(descriptor.rawValue, &info) == 0 else { return 0 }
        return info.st_mode & S_IFMT
    }

    /// O_RDONLY, O_WRONLY or O_RDWR. The corresponding C call is `fcntl(fd, F_GETFL)`.
    static func accessMode(_ descriptor: BorrowedDescriptor) -> Int32 {
        fcntl(descriptor.rawValue, F_GETFL) & O_ACCMODE
    }

    /// Keeps a descriptor out of processes the check spawns (python3 must hold only its own end).
    static func keepFromChildren(_ descriptor: BorrowedDescriptor) {
        _ = fcntl(descriptor.rawValue, F_SETFD, FD_CLOEXEC)
    }

    static func describeDescriptor(_ descriptor: BorrowedDescriptor) -> String {
        let fd = descriptor.rawValue
        if fd < 0 { return "descriptor \(fd)" }
        switch fileType(descriptor) {
        case S_IFIFO: return "fd \(fd) is a pipe"
        case S_IFSOCK: return "fd \(fd) is a socket"
        case 0: return "fd \(fd) is not open"
        default: return "fd \(fd) is \(ProcessInspection.linkTarget("/proc/self/fd/\(fd)") ?? "something else")"
        }
    }

    static func expectPipeError(_ expected: PipeError, _ call: String, _ body: () throws -> Void) throws {
        do {
            try body()
        } catch let error as PipeError {
            try requireEqual(error, expected, "\(call) threw the wrong error", look: "\(file)")
            return
        } catch {
            throw CheckFailure("\(call) threw the wrong error", expected: "\(expected)", seen: "\(error)", look: "\(file)")
        }
        throw CheckFailure("\(call) did not throw", expected: "\(expected)", seen: "no error", look: "\(file)")
    }

    /// A peer forked with the second end of `pipe(duplex:)` writes `bytes` raw and kills itself
    /// (SIGKILL); then `receive()` on the first end must throw `expected`.
    static func receiveAfterPeerKilled<L: PipeConnectionContract>(_: L.Type, duplex: Bool, wrote bytes: [UInt8],
                                                                  gives expected: PipeError, _ call: String,
                                                                  cause: String) throws {
        let (mine, theirs) = try attempt("pipe(duplex: \(duplex))") { try L.pipe(duplex: duplex) }
        let killed = try forkChild {
            Glibc.close(mine.descriptor)
            try rawWrite(theirs.borrowedDescriptor, bytes)
            kill(getpid(), SIGKILL)
            return 0
        }
        theirs.close()
        _ = try waitForProcess(killed)
        try requireReceive(mine, gives: expected, call, cause: cause)
        mine.close()
    }

    static func expectEPIPE(_ call: String, cause: String, _ body: () throws -> Void) throws {
        do {
            try body()
        } catch let error as SystemError where error.errno == EPIPE {
            return
        } catch {
            throw CheckFailure("\(call) threw the wrong error", expected: "a SystemError with EPIPE", seen: "\(error)",
                               cause: cause, look: "send(_:) in \(file)")
        }
        throw CheckFailure("\(call) did not throw", expected: "a SystemError with EPIPE (nobody will ever read it)",
                           seen: "no error", cause: cause, look: "send(_:) in \(file)")
    }

    static func format3(_ seconds: Double) -> String {
        let millis = Int((seconds * 1000).rounded())
        return "\(millis / 1000).\(String(millis % 1000).leftPadded3)"
    }
}

extension String {
    var leftPadded3: String { count >= 3 ? self : String(repeating: "0", count: 3 - count) + self }

    func trimmingSuffixNewlines() -> String {
        var text = self
        while text.hasSuffix("\n") { text.removeLast() }
        return text
    }
}

/// Counts SIGUSR1 (at the block's first 8 bytes) and SIGUSR2 (the next 8) in shared memory.
/// Installed without SA_RESTART, so a signal makes a blocked read() or write() return early —
/// as Python's own handlers do (which is why PEP 475 retries inside the interpreter).
enum InterruptCounters {
    nonisolated(unsafe) static var base: UnsafeMutableRawPointer?

    static func install(_ address: UnsafeMutableRawPointer) {
        base = address
        var action = sigaction()
        action.__sigaction_handler.sa_handler = { signal in
            guard let base = InterruptCounters.base else { return }
            SharedCounter(at: signal == SIGUSR1 ? base : base + 8).add()
        }
        sigemptyset(&action.sa_mask)
        action.sa_flags = 0
        sigaction(SIGUSR1, &action, nil)
        sigaction(SIGUSR2, &action, nil)
    }

    static func uninstall() {
        signal(SIGUSR1, SIG_DFL)
        signal(SIGUSR2, SIG_DFL)
        base = nil
    }
}
