import Glibc

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
        let (reader, writer) = try attempt("startWriter(_:)") {
            try L.startWriter { connection in
                for i in 0..<10 { try connection.send(Array("\(i)".utf8)) }
                try connection.send(Array("END".utf8))
            }
        }
        try context.requirePartProcess(after: "startWriter(_:)")
        try require(fileType(reader.descriptor) == S_IFIFO, CheckFailure(
            "the reader startWriter returned is not the read end of a pipe",
            expected: "a simplex pair made with pipe()", seen: describeDescriptor(reader.descriptor),
            look: "pipe(duplex:) and startWriter(_:) in \(file)"))
        try require(accessMode(reader.descriptor) == O_RDONLY, CheckFailure(
            "the reader startWriter returned cannot read", expected: "the read end of the pipe (opened O_RDONLY)",
            seen: "a descriptor opened \(accessMode(reader.descriptor) == O_WRONLY ? "O_WRONLY: the write end" : "otherwise")",
            cause: "pipe(&fds) gives fds[0] = the read end and fds[1] = the write end",
            look: "pipe(duplex:) in \(file)"))
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
                                             : "messages are lost, merged or reordered",
                               look: "send(_:) and receive() in \(file)")
        }
        let end = try waitForProcess(writer)
        let endCause: String
        switch end {
        case .exited(1): endCause = "its body threw (the error is shown with the output): the child ends with _exit(1) then"
        case .signaled(let signal): endCause = "the child was killed by \(signalName(signal)); a crash is described below with its line"
        default: endCause = "the child must run body(writer) and end with _exit(0) (1 when body threw)"
        }
        try requireEqual(end, .exited(0), "the writer child did not exit cleanly", cause: endCause,
                         look: "startWriter(_:) in \(file)")
        reader.close()
        try requireCloseOnExec(L.self, duplex: false)
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
                               seen: flags < 0 ? "fcntl(F_GETFD) failed: \(describeDescriptor(end.descriptor))" : "F_GETFD = \(flags), without FD_CLOEXEC",
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
        for (name, connection) in [("first", mine), ("second", theirs)] where fileType(connection.descriptor) != S_IFSOCK {
            throw CheckFailure("the \(name) end of a duplex pair is not a socket",
                               expected: "both ends from socketpair(AF_UNIX, SOCK_STREAM): each can send and receive",
                               seen: describeDescriptor(connection.descriptor),
                               cause: "a pipe carries bytes one way only: its read end cannot send",
                               look: "pipe(duplex:) in \(file)")
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
        if let index = (0..<big.count).first(where: { big[$0] != payload[$0] }) {
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
        let watchdog = try EndOfFileWatchdog.start(reader: reader.descriptor, after: 4)
        defer { watchdog.stop() }
        for i in 0..<3 {
            let message = try attempt("receive()", look: "receive() in \(file)") { try reader.receive() }
            try requireEqual(String(decoding: message, as: UTF8.self), "message \(i)", "message \(i) is wrong")
        }
        _ = try waitForProcess(writer)
        // The writer is gone: the next receive must say so, not block.
        do {
            let extra = try reader.receive()
            throw CheckFailure("receive() returned a message after the writer had gone", expected: "PipeError.endOfFile",
                               seen: "\(extra.count) bytes", look: "receive() in \(file)")
        } catch PipeError.endOfFile {
        } catch let failure as CheckFailure {
            throw failure
        } catch {
            throw CheckFailure("receive() at end-of-file threw the wrong error", expected: "PipeError.endOfFile", seen: "\(error)",
                               cause: "read() returning 0 before any byte of a message is a clean end-of-file",
                               look: "receive() in \(file)")
        }
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
        try expectPipeError(.endOfFile, "receive() after the socket's other end was closed") { _ = try mine.receive() }
        mine.close()
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
        for bad in [-1.0, Double.nan] {
            do {
                let answer = try mine.poll(timeout: bad)
                throw CheckFailure("poll(timeout: \(bad)) returned \(answer)", expected: "PipeError.invalidTimeout", seen: "\(answer)", look: look)
            } catch let error as PipeError {
                guard case .invalidTimeout = error else {
                    throw CheckFailure("poll(timeout: \(bad)) threw the wrong error", expected: "PipeError.invalidTimeout", seen: "\(error)", look: look)
                }
            } catch let failure as CheckFailure {
                throw failure
            } catch {
                throw CheckFailure("poll(timeout: \(bad)) threw the wrong error", expected: "PipeError.invalidTimeout", seen: "\(error)",
                                   cause: "check the timeout before calling poll()", look: look)
            }
        }
        // Data arriving while poll waits wakes it long before its timeout.
        let partProcess = getpid()
        let stay = try Descriptor.pipe()        // the child stays until this closes: no end-of-file yet
        let child = try forkChild {
            Glibc.close(mine.descriptor)
            Descriptor.close(stay.write)
            _ = ProcessInspection.waitUntilBlocked(partProcess, in: [.poll], timeout: 10)
            try theirs.send(Array("ping".utf8))
            _ = try Descriptor.readAll(stay.read)
            return 0
        }
        theirs.close()
        Descriptor.close(stay.read)
        started = monotonicSeconds()
        let woke = try attempt("poll(timeout: 30)", look: look) { try mine.poll(timeout: 30) }
        elapsed = monotonicSeconds() - started
        try require(woke, CheckFailure("poll(timeout: 30) returned false although a message arrived", expected: "true when the message arrives",
                                       seen: "false after \(format3(elapsed)) s",
                                       cause: "poll() takes milliseconds: 30 s is 30000, not 30", look: look))
        try require(elapsed < 20, CheckFailure("poll(timeout: 30) did not wake when the message arrived", expected: "true within moments",
                                               seen: "true after \(format3(elapsed)) s", look: look))
        let huge = try attempt("poll(timeout: 1e12)", look: look) { try mine.poll(timeout: 1e12) }
        try require(huge, CheckFailure("poll(timeout: 1e12) with a message waiting returned false", expected: "true", seen: "false", look: look))
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
    }

    // MARK: - Part 6

    static let pythonEcho = """
        import sys
        from multiprocessing.connection import Connection
        c = Connection(int(sys.argv[1]))
        n = 0
        while True:
            try:
                m = c.recv_bytes(maxlength=8 << 20)
            except EOFError:
                break
            c.send_bytes(m[::-1] + b"|py")
            n += 1
        print("python echoed", n, "messages")
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
        let sizes = [0, 1, 4, 255, 256, 16383, 16384, 16385, 65536, 1 << 20]
        func pythonSaid(_ process: ChildProcess) -> String {
            let (output, end) = process.collectOutput(timeout: 10)
            let text = String(decoding: output, as: UTF8.self).trimmingSuffixNewlines()
            return (text.isEmpty ? "no output" : text) + " (python3 \(end.map { "\($0)" } ?? "did not end"))"
        }
        let deadlock = "your code and Python waited for each other: one side read the other's 4-byte length as a larger number and waits for bytes that will never come. Python writes and reads the length with struct \"!i\": big-endian (most significant byte first), signed"

        // Both directions over a socket pair: you send, Python echoes the bytes reversed, you receive.
        let (mine, theirs) = try attempt("pipe(duplex: true)") { try L.pipe(duplex: true) }
        keepFromChildren(mine.descriptor)
        fflush(nil)
        let echo = try ChildProcess.spawn(python, ["-c", pythonEcho, "100"], output: .captureBoth,
                                          mapDescriptors: [(theirs.descriptor, 100)])
        theirs.close()
        // The exchange runs in a child with a deadline, so that a wait that never ends is reported
        // with what Python said rather than as a bare timeout.
        let exchange = try inChildWithDeadline(15) {
            for size in sizes {
                let message = pattern(size, seed: 5)
                do {
                    try mine.send(message)
                } catch {
                    throw CheckFailure("send(\(size) bytes) to Python failed", seen: "\(error)", look: "send(_:) in \(file)")
                }
                let answer: [UInt8]
                do {
                    answer = try mine.receive()
                } catch {
                    throw CheckFailure("receiving Python's answer to a \(size)-byte message failed",
                                       expected: "\(size + 3) bytes", seen: "\(error)",
                                       cause: "Python frames with struct.pack(\"!i\", n): a big-endian signed 32-bit length. \"bad message length\" from Python below means it could not read yours",
                                       look: "send(_:) and receive() in \(file)")
                }
                if answer != Array(message.reversed()) + Array("|py".utf8) {
                    throw CheckFailure("Python's answer to a \(size)-byte message is wrong", expected: "the \(size) bytes reversed and \"|py\"",
                                       seen: "\(answer.count) bytes", look: "receive() in \(file)")
                }
            }
            mine.close()
        }
        mine.close()
        switch exchange {
        case .passed: break
        case .failed(let what): throw CheckFailure(what + "\nPython said: " + pythonSaid(echo))
        case .timedOut:
            throw CheckFailure("the exchange with Python did not finish within 15 s", seen: "Python said: \(pythonSaid(echo))",
                               cause: deadlock, look: "send(_:) and receive() in \(file)")
        }
        let said = pythonSaid(echo)
        try require(echo.end == .exited(0) && said.contains("python echoed \(sizes.count) messages"), CheckFailure(
            "Python did not end cleanly after your connection closed", expected: "python echoed \(sizes.count) messages",
            seen: said, cause: "Python's recv_bytes raises EOFError when the other end closes between messages",
            look: "close() in \(file)"))

        // The other direction through a simplex pipe: Python writes, you read until end-of-file.
        let (reader, writer) = try attempt("pipe(duplex: false)") { try L.pipe(duplex: false) }
        keepFromChildren(reader.descriptor)
        fflush(nil)
        let sender = try ChildProcess.spawn(python, ["-c", pythonWriter, "100", sizes.map(String.init).joined(separator: ",")],
                                            output: .captureBoth, mapDescriptors: [(writer.descriptor, 100)])
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
                let expected = (0..<size).map { UInt8(($0 + size) % 256) }
                if message != expected {
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
        let (socket, closedPeer) = try attempt("pipe(duplex: true)") { try L.pipe(duplex: true) }
        closedPeer.close()
        try expectEPIPE("send(_:) on a socket whose other end is closed",
                        cause: "without MSG_NOSIGNAL, send()/write() on a socket whose peer is gone raises SIGPIPE and the process dies") {
            try socket.send(Array("anyone there?".utf8))
        }
        socket.close()
        // 2. The same on a pipe whose read end is closed.
        let (deadReader, lonelyWriter) = try attempt("pipe(duplex: false)") { try L.pipe(duplex: false) }
        deadReader.close()
        try expectEPIPE("send(_:) on a pipe whose read end is closed",
                        cause: "a pipe has no MSG_NOSIGNAL: ignore SIGPIPE (signal(SIGPIPE, SIG_IGN)) so that write() fails with EPIPE instead") {
            try lonelyWriter.send(Array("anyone there?".utf8))
        }
        lonelyWriter.close()

        // 3. A writer killed in the middle of a payload.
        let (reader, writer) = try attempt("pipe(duplex: false)") { try L.pipe(duplex: false) }
        let killed = try forkChild {
            Glibc.close(reader.descriptor)
            try rawWrite(writer.descriptor, bigEndianLength(1000) + Array(repeating: 42, count: 10))
            kill(getpid(), SIGKILL)
            return 0
        }
        writer.close()
        _ = try waitForProcess(killed)
        do {
            let message = try reader.receive()
            throw CheckFailure("receive() returned a message from a writer that died mid-message",
                               expected: "PipeError.truncated(expected: 1000, received: 10)", seen: "\(message.count) bytes",
                               look: "receive() in \(file)")
        } catch let error as PipeError {
            var cause = "read() returned 0 in the middle of the payload: that is a truncated message, not a clean end-of-file"
            if case .badLength = error {
                cause = "the writer sent the length 00 00 03 E8, which is 1000 read big-endian (most significant byte first); read in another byte order it is a different number"
            }
            try requireEqual(error, .truncated(expected: 1000, received: 10),
                             "a writer that died after 10 of 1000 bytes gave the wrong error", cause: cause,
                             look: "receive() in \(file)")
        } catch let failure as CheckFailure {
            throw failure
        } catch {
            throw CheckFailure("receive() after the writer died mid-message threw the wrong error",
                               expected: "PipeError.truncated(expected: 1000, received: 10)", seen: "\(error)", look: "receive() in \(file)")
        }
        reader.close()

        // 4. A peer killed in the middle of the length prefix (socket pair).
        let (mine, theirs) = try attempt("pipe(duplex: true)") { try L.pipe(duplex: true) }
        let halfway = try forkChild {
            Glibc.close(mine.descriptor)
            try rawWrite(theirs.descriptor, [0, 0])
            kill(getpid(), SIGKILL)
            return 0
        }
        theirs.close()
        _ = try waitForProcess(halfway)
        do {
            let message = try mine.receive()
            throw CheckFailure("receive() returned a message from a peer that died after 2 bytes of the length",
                               expected: "PipeError.truncated", seen: "\(message.count) bytes", look: "receive() in \(file)")
        } catch let error as PipeError {
            guard case .truncated = error else {
                throw CheckFailure("a peer that died after 2 of the 4 length bytes gave the wrong error",
                                   expected: "PipeError.truncated(expected: 4, received: 2)", seen: "\(error)",
                                   cause: "0 bytes before a message is endOfFile; some but not all of the length is a truncated message",
                                   look: "receive() in \(file)")
            }
        } catch let failure as CheckFailure {
            throw failure
        } catch {
            throw CheckFailure("receive() after the peer died mid-length threw the wrong error",
                               expected: "PipeError.truncated", seen: "\(error)", look: "receive() in \(file)")
        }
        mine.close()

        // 5. Lengths that cannot be: negative, Python's 8-byte marker, over the maximum.
        for (header, length) in [([0xFF, 0xFF, 0xFF, 0xF0] as [UInt8], -16), ([0xFF, 0xFF, 0xFF, 0xFF], -1), ([0x7F, 0xFF, 0xFF, 0xFF], Int(Int32.max))] {
            let (a, b) = try attempt("pipe(duplex: true)") { try L.pipe(duplex: true) }
            try rawWrite(b.descriptor, header + Array("xyz".utf8))
            do {
                let message = try a.receive()
                throw CheckFailure("receive() accepted a length prefix of \(length)", expected: "PipeError.badLength(\(length))",
                                   seen: "\(message.count) bytes", look: "receive() in \(file)")
            } catch let error as PipeError {
                try requireEqual(error, .badLength(length), "a length prefix of \(length) gave the wrong error",
                                 cause: "the length is signed (struct \"!i\"): check it is within 0…maximumMessageBytes before allocating",
                                 look: "receive() in \(file)")
            } catch let failure as CheckFailure {
                throw failure
            } catch {
                throw CheckFailure("a length prefix of \(length) gave the wrong error", expected: "PipeError.badLength(\(length))",
                                   seen: "\(error)", look: "receive() in \(file)")
            }
            a.close()
            b.close()
        }
    }

    // MARK: - Helpers

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
    static func rawWrite(_ fd: Int32, _ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try Descriptor.writeAll(fd, $0) }
    }

    /// The `S_IFMT` bits of a descriptor's file type.
    static func fileType(_ fd: Int32) -> mode_t {
        var info = stat()
        guard fstat(fd, &info) == 0 else { return 0 }
        return info.st_mode & S_IFMT
    }

    /// O_RDONLY, O_WRONLY or O_RDWR. The corresponding C call is `fcntl(fd, F_GETFL)`.
    static func accessMode(_ fd: Int32) -> Int32 {
        fcntl(fd, F_GETFL) & O_ACCMODE
    }

    /// Keeps a descriptor out of processes the check spawns (python3 must hold only its own end).
    static func keepFromChildren(_ fd: Int32) {
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
    }

    static func describeDescriptor(_ fd: Int32) -> String {
        if fd < 0 { return "descriptor \(fd)" }
        switch fileType(fd) {
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
