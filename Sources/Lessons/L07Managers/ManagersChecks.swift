import Foundation
import Glibc

extension Lesson07 {
    /// The lesson bound to the student's type, the reference and the mutants.
    /// The student's file, for "look at" lines.
    static let file = "Manager.swift"

    /// The programs this lesson's checks start as unrelated processes (`lab __peer 7 NAME …`).
    public static var peers: [Peer<any ManagerContract.Type>] { [
        Peer("bench") { lab, arguments in try BenchPeer.run(ManagerBench.measurements(lab), arguments: arguments) },
    ] }

    // MARK: - Part 1

    /// Part 1: the tutorial's first example: two processes append 0…9 and 10…19, all 20 present.
    static func twoAppenders<L: ManagerContract>(_: L.Type, _ context: PartContext) throws {
        let address = try startManager(L.self, context)
        try runClients(L.self, address, count: 2) { index, client, barrier in
            try barrier.arrive("connected")
            for i in 0..<10 { try attempt("list.append(\(index * 10 + i))") { try client.list.append(index * 10 + i) } }
            try barrier.arrive("appended")       // stay connected until both are done
        }
        let client = try connect(L.self, address, after: "both clients left")
        let snapshot = try attempt("list.snapshot()", look: "snapshot() in \(file)") { try client.list.snapshot() }
        try require(snapshot.sorted() == Array(0..<20), CheckFailure(
            "the list does not hold what the two processes appended", expected: "0…19, each once",
            seen: "\(snapshot.count) items: \(snapshot.prefix(30))", look: "the server's append in \(file)"))
        for first in [0, 10] {
            let mine = snapshot.filter { $0 >= first && $0 < first + 10 }
            try require(mine == Array(first..<(first + 10)), CheckFailure(
                "one process's appends are out of order", expected: "\(Array(first..<(first + 10)))", seen: "\(mine)",
                cause: "the server must apply one client's requests in the order they arrive", look: file))
        }
        let count = try attempt("list.count()", look: "count() in \(file)") { try client.list.count() }
        try requireEqual(count, 20, "list.count() is wrong", look: "count() in \(file)")
        for index in [0, 7, 19] {
            let item = try attempt("list.item(at: \(index))", look: "item(at:) in \(file)") { try client.list.item(at: index) }
            try requireEqual(item, snapshot[index], "list.item(at: \(index)) differs from the snapshot", look: "item(at:) in \(file)")
        }
        for bad in [20, -1] {
            try expectManagerError(.indexOutOfRange(bad), "list.item(at: \(bad))") { _ = try client.list.item(at: bad) }
        }
        // Every number class an Int has, appended and read back (seeded).
        var random = context.random(stream: 1)
        let values = numberClasses(&random)
        var appended = snapshot
        try context.forEachGenerated(values, size: { String($0).count }, describe: { "the value \($0)" }) { value in
            try attempt("list.append(\(value))", look: "append(_:) in \(file)") { try client.list.append(value) }
            appended.append(value)
            let back = try attempt("list.item(at: \(appended.count - 1))", look: "item(at:) in \(file)") {
                try client.list.item(at: appended.count - 1)
            }
            try requireEqual(back, value, "list.item(at:) does not give back the value appended",
                             cause: "the value must travel as an exact Int both ways (JSON numbers through Codable's Int, never Double)",
                             look: "append(_:), item(at:) and the server in \(file)")
        }
        let all = try attempt("list.snapshot()", look: "snapshot() in \(file)") { try client.list.snapshot() }
        try requireEqual(all, appended, "list.snapshot() after appending every number class", look: "snapshot() in \(file)")

        client.close()
        // A second close does nothing — even when the descriptor's number was taken meanwhile.
        let reused = try Descriptor.pipe()
        client.close()
        let stillOpen = fcntl(reused.read, F_GETFD) != -1 && fcntl(reused.write, F_GETFD) != -1
        Descriptor.close(reused.read)
        Descriptor.close(reused.write)
        try require(stillOpen, CheckFailure(
            "the second close() closed a descriptor the client no longer owned",
            expected: "close() closes the connection once; a second call does nothing",
            seen: "after the first close(), a new pipe took descriptors \(reused.read) and \(reused.write); the second close() closed one of them",
            cause: "close() calls close(fd) every time: remember that the connection is closed (FramedConnection.close() does) and do nothing the second time",
            look: "close() in \(file)"))
        try expectManagerError(.closed, "list.count() after close()") { _ = try client.list.count() }
        try expectManagerError(.closed, "list.append(1) after close()") { try client.list.append(1) }
        try stopManager(L.self, address)
    }

    /// Ints of every class: zero, ±1, the largest and smallest, past 2^53 (where a Double loses
    /// them), byte boundaries, and a few drawn from the whole range.
    static func numberClasses(_ random: inout SeededRandom) -> [Int] {
        var values = [0, 1, -1, Int.max, Int.min, Int.max - 1, Int.min + 1, 1 << 53, (1 << 53) + 1, -(1 << 53) - 1,
                      255, 256, -129, 65_536, 4_294_967_296]
        for _ in 0..<4 { values.append(Int.random(in: Int.min...Int.max, using: &random)) }
        for _ in 0..<2 { values.append(Int.random(in: -1_000_000...1_000_000, using: &random)) }
        var seen = Set<Int>()
        return values.filter { seen.insert($0).inserted }
    }

    /// Keys of every class: empty, one character, non-ASCII, an emoji (a surrogate pair in JSON),
    /// JSON's special characters, a NUL, 1,000 characters, and a few drawn at random.
    static func keyClasses(_ random: inout SeededRandom) -> [String] {
        var keys = ["", " ", "a", "A", "é", "日本語", "emoji 🙂", "quote \" backslash \\ slash /", "new\nline\ttab",
                    "nul\u{0}inside", String(repeating: "k", count: 1000)]
        let ranges: [ClosedRange<UInt32>] = [0x21...0x7E, 0xA1...0x2AF, 0x410...0x44F, 0x4E00...0x4FFF, 0x1F600...0x1F64F]
        for n in 0..<5 {
            let length = Int.random(in: 1...12, using: &random)
            let range = n < 2 ? ranges[0] : ranges[Int.random(in: 0..<ranges.count, using: &random)]
            keys.append(String(String.UnicodeScalarView((0..<length).compactMap { _ in
                Unicode.Scalar(UInt32.random(in: range, using: &random))
            })))
        }
        var seen = Set<String>()
        return keys.filter { seen.insert($0).inserted }
    }

    // MARK: - Part 2

    /// Part 2: the tutorial's second: under a lock, each process's block of 100 stays contiguous.
    ///
    /// A server that leaves some of the four clients unserved while the others stay connected
    /// (one client at a time; a pool of fewer than four threads) deadlocks here whatever the order
    /// the clients take the lock in: the first unserved client to take it sleeps in read() holding
    /// it, the others sleep in the lock or at the "appended" barrier (a futex), the server sleeps
    /// reading a client that will not close. Nothing wakes anything: the runner's stall watch ends
    /// the part as deadlocked and names each wait, the lock's holder among them.
    static func blocksUnderALock<L: ManagerContract>(_: L.Type, _ context: PartContext) throws {
        let address = try startManager(L.self, context)
        let block = try labSharedBlock(bytes: 4096)
        defer { labUnmap(block) }
        let lock = try ProcessSharedMutex.initialize(at: block.baseAddress! + 1024)
        try runClients(L.self, address, count: 4, whenLeftWaiting: .sleep) { index, client, barrier in
            try barrier.arrive("connected")
            try lock.withLock {
                for _ in 0..<100 { try attempt("list.append(\(index))") { try client.list.append(index) } }
            }
            try barrier.arrive("appended")
        }
        let client = try connect(L.self, address, after: "the four clients left")
        let snapshot = try attempt("list.snapshot()") { try client.list.snapshot() }
        var runs: [(value: Int, length: Int)] = []
        for value in snapshot {
            if let last = runs.last, last.value == value { runs[runs.count - 1].length += 1 } else { runs.append((value, 1)) }
        }
        try require(snapshot.count == 400 && runs.count == 4 && Set(runs.map(\.value)) == Set(0..<4) && runs.allSatisfy { $0.length == 100 },
                    CheckFailure("the list is not four blocks of 100", expected: "400 items: four runs of 100 equal values (0, 1, 2, 3 in some order)",
                                 seen: "\(snapshot.count) items in \(runs.count) runs: " + runs.prefix(8).map { "\($0.length)×\($0.value)" }.joined(separator: ", "),
                                 cause: "each process appends its 100 items while holding the lock: the server must apply requests as they come, losing none",
                                 look: "the server's append in \(file)"))
        client.close()
        try stopManager(L.self, address)
    }

    // MARK: - Part 3

    /// Part 3: 4 processes × 1,000 atomic increments of one key = exactly 4,000.
    static func atomicIncrements<L: ManagerContract>(_: L.Type, _ context: PartContext) throws {
        let address = try startManager(L.self, context)
        let client = try connect(L.self, address, after: "start")
        let look = "the dict proxy in \(file)"
        try attempt("dict.set(\"a\", to: 5)", look: look) { try client.dict.set("a", to: 5) }
        try requireEqual(try attempt("dict.get(\"a\")") { try client.dict.get("a") }, 5, "dict.get(\"a\") after set(\"a\", to: 5)", look: look)
        try requireEqual(try attempt("dict.get(\"missing\")") { try client.dict.get("missing") }, nil, "dict.get of a missing key",
                         cause: "a missing key is nil (Python's d.get(k))", look: look)
        try requireEqual(try attempt("dict.increment(\"b\", by: 3)") { try client.dict.increment("b", by: 3) }, 3,
                         "increment of a missing key", cause: "a missing key counts as 0", look: look)
        try requireEqual(try attempt("dict.increment(\"b\", by: -5)") { try client.dict.increment("b", by: -5) }, -2,
                         "increment by a negative amount", look: look)
        try attempt("dict.set(\"a\", to: 6)", look: look) { try client.dict.set("a", to: 6) }
        try requireEqual(try attempt("dict.get(\"a\")") { try client.dict.get("a") }, 6, "dict.get(\"a\") after a second set(\"a\", to: 6)",
                         cause: "set replaces the value of a key that exists", look: look)
        let perClient = 1_000
        let block = try labSharedBlock(bytes: 4 * perClient * 8)
        defer { labUnmap(block) }
        let results = block.bindMemory(to: Int.self)
        try runClients(L.self, address, count: 4) { index, client, barrier in
            try barrier.arrive("connected")
            for i in 0..<perClient {
                results[index * perClient + i] = try attempt("dict.increment(\"hits\", by: 1)") { try client.dict.increment("hits", by: 1) }
            }
            try barrier.arrive("counted")
        }
        let total = try attempt("dict.get(\"hits\")") { try client.dict.get("hits") }
        let returned = Array(results)
        let distinct = Set(returned)
        if total != 4 * perClient || distinct != Set(1...(4 * perClient)) {
            throw CheckFailure("4 processes × 1,000 increments did not make 4,000",
                               expected: "hits = 4000, and the 4000 increments returned 1…4000, each once",
                               seen: "hits = \(total.map(String.init) ?? "nil"); the increments returned \(distinct.count) distinct values",
                               cause: "an increment done by the client as get + set can be overtaken between the two: both read the same value and one update is lost. Send one increment request and let the server add under its lock",
                               look: "increment(_:by:) in \(file)")
        }
        try pipelinedRace(L.self, address, client: client)
        // Every key class with every number class (seeded), and increments up to the edges of Int.
        var random = context.random(stream: 3)
        let values = numberClasses(&random)
        let keys = keyClasses(&random)
        let pairs = keys.enumerated().map { (key: $0.element, value: values[$0.offset % values.count]) }
        try context.forEachGenerated(pairs, size: { $0.key.utf8.count }, describe: { "the key \(String(reflecting: $0.key)) set to \($0.value)" }) { pair in
            try attempt("dict.set(\(String(reflecting: pair.key)), to: \(pair.value))", look: look) { try client.dict.set(pair.key, to: pair.value) }
            let back = try attempt("dict.get(\(String(reflecting: pair.key)))", look: look) { try client.dict.get(pair.key) }
            try requireEqual(back, Optional(pair.value), "dict.get does not give back what set stored",
                             cause: "keys and values must travel exactly (JSON strings with every character escaped by Codable; Ints as Int, never Double)",
                             look: look)
        }
        for pair in pairs {
            try requireEqual(try attempt("dict.get(\(String(reflecting: pair.key)))", look: look) { try client.dict.get(pair.key) }, Optional(pair.value),
                             "dict.get of \(String(reflecting: pair.key)) after every key was set",
                             cause: "each key is its own entry: two keys must never share one", look: look)
        }
        let edges: [(String, Int, Int)] = [("edge max", Int.max - 1, 1), ("edge min", Int.min + 1, -1), ("edge zero", Int.max, Int.min)]
        for (key, start, delta) in edges {
            try attempt("dict.set(\"\(key)\", to: \(start))", look: look) { try client.dict.set(key, to: start) }
            let sum = try attempt("dict.increment(\"\(key)\", by: \(delta))", look: look) { try client.dict.increment(key, by: delta) }
            try requireEqual(sum, start + delta, "dict.increment(\"\(key)\", by: \(delta)) from \(start)", look: look)
        }
        for (key, delta) in [("edge max", 1), ("edge min", -1)] {
            let before = try attempt("dict.get(\"\(key)\")", look: look) { try client.dict.get(key) }
            do {
                let sum = try client.dict.increment(key, by: delta)
                throw CheckFailure("dict.increment past the end of Int answered a value", expected: "ManagerError.server(…): the sum overflows Int, and the value stays \(before.map(String.init) ?? "nil")",
                                   seen: "\(sum)", cause: "check the sum with addingReportingOverflow and answer an error reply when it overflows",
                                   look: "the server's increment in \(file)")
            } catch let failure as CheckFailure {
                throw failure
            } catch ManagerError.server {
            } catch {
                let ended = serverEnd(address).map { " — the server process \($0)" } ?? ""
                throw CheckFailure("dict.increment(\"\(key)\", by: \(delta)) from \(before.map(String.init) ?? "nil") threw the wrong error\(ended)",
                                   expected: "ManagerError.server(…) from an error reply (the sum does not fit in an Int)", seen: "\(error)",
                                   cause: ended.isEmpty ? "an error reply is thrown by the proxy as ManagerError.server"
                                                        : "the server added with + and trapped on the overflow: one client's request must never end the server; use addingReportingOverflow and reply an error",
                                   look: "the server's increment in \(file)")
            }
            try requireEqual(try attempt("dict.get(\"\(key)\")", look: look) { try client.dict.get(key) }, before,
                             "an increment that overflowed changed the value", look: "the server's increment in \(file)")
        }

        client.close()
        try stopManager(L.self, address)
    }

    /// Four processes, each on its own connection, send batches of increments and appends before
    /// reading the replies: the server's threads then apply requests back to back, on both CPUs at
    /// once, and a server whose threads share the list and the dict without a lock loses updates
    /// (or corrupts them and crashes).
    static func pipelinedRace<L: ManagerContract>(_: L.Type, _ address: ManagerAddress, client: L.Client) throws {
        let before = try attempt("list.count()") { try client.list.count() }
        let processes = 4, rounds = 12, batch = 60
        // A long key: hashing it twice (to read, then to write) makes the read-modify-write of an
        // unlocked server a window of microseconds instead of nanoseconds.
        let key = "race " + String(repeating: "x", count: 2000)
        let increment = frame(Array(#"{"op":"increment","key":"\#(key)","value":1}"#.utf8))
        try runClients(L.self, address, count: processes) { index, _, barrier in
            let connection = FramedConnection(owning: try UnixSocket.connect(to: address.socketPath))
            defer { connection.close() }
            let append = frame(Array(#"{"op":"append","value":\#(index)}"#.utf8))
            var burst: [UInt8] = []
            for k in 0..<batch { burst += k % 2 == 0 ? increment : append }
            try barrier.arrive("connected")
            for _ in 0..<rounds {
                try rawWrite(connection.borrowed, burst)
                for _ in 0..<batch {
                    let reply = try CompactJSON.decode(ManagerReply.self, from: try connection.receive())
                    guard reply.ok else { throw CheckFailure("a pipelined request was answered with an error", seen: "\(reply)") }
                }
            }
            try barrier.arrive("served")
        }
        let total = processes * rounds * batch / 2
        let race = try served(by: client, "your client after the pipelined clients") { try client.dict.get(key) }
        let count = try served(by: client, "your client after the pipelined clients") { try client.list.count() }
        if race != total || count != before + total {
            throw CheckFailure("requests applied at the same time by several server threads lost updates",
                               expected: "\(processes) connections × \(rounds * batch / 2) increments of one key and as many appends: that key = \(total), the list \(total) items longer",
                               seen: "the race key = \(race.map(String.init) ?? "nil"), the list grew by \(count - before)",
                               cause: "the server's threads share the list and the dict: every request must be applied under one lock (NSLock around apply), or two threads read the same old value and one update is lost",
                               look: "the server's request handling in \(file)")
        }
    }

    // MARK: - Part 4

    /// Part 4: 16 clients connected at once are all served.
    static func sixteenClients<L: ManagerContract>(_: L.Type, _ context: PartContext) throws {
        let address = try startManager(L.self, context)
        try runClients(L.self, address, count: 16) { index, client, barrier in
            try barrier.arrive("connected")
            try attempt("list.append(\(index))") { try client.list.append(index) }
            _ = try attempt("list.count()") { try client.list.count() }
            try barrier.arrive("served")
        }
        let client = try connect(L.self, address, after: "the 16 clients left")
        let snapshot = try attempt("list.snapshot()") { try client.list.snapshot() }
        try require(snapshot.sorted() == Array(0..<16), CheckFailure(
            "the list does not hold one item from each of the 16 clients", expected: "0…15", seen: "\(snapshot)", look: file))
        client.close()
        try stopManager(L.self, address)
    }

    // MARK: - Part 5

    /// Part 5: a client killed mid-request neither kills nor wedges the server.
    static func clientKilledMidRequest<L: ManagerContract>(_: L.Type, _ context: PartContext) throws {
        let (address, survivor) = try startWithSurvivor(L.self, context, appending: 1)

        // A client killed between two requests: its reply read, nothing sent since. Its end of the
        // connection holds no unread byte, so the server's read on it ends with end of file (not
        // ECONNRESET), exactly as when a client closes — whatever the timing. (The kills below
        // land at a moment of their own: a reply unread, a request half sent.)
        let idle = try forkChild {
            let connection = FramedConnection(owning: try UnixSocket.connect(to: address.socketPath))
            try rawWrite(connection.borrowed, frame(Array(#"{"op":"count"}"#.utf8)))
            _ = try connection.receive()
            kill(getpid(), SIGKILL)
            return 0
        }
        _ = try waitForProcess(idle)
        try requireServerAlive(address, after: "a client was killed between two requests (every reply read)",
                               cause: "a client that goes away makes receive() on its connection end (end of file, as when it closes): close that connection and end its thread — never exit the server")

        // A client killed half-way through sending a request.
        try clientKilled(after: bigEndianLength(100) + Array(repeating: 0x7B, count: 10), address)
        try requireServerAlive(address, after: "a client died half-way through sending a request",
                               cause: "receive() on that client's connection throws (a truncated message): end that client's thread, not the server")
        // A client killed after sending a whole request, before reading the reply.
        try clientKilled(after: frame(Array(#"{"op":"snapshot"}"#.utf8)), address)
        // A client that will never read a reply: shutdown(SHUT_RD) on its end makes every reply
        // the server sends fail with EPIPE — deterministically, whatever the timing.
        let deaf = try UnixSocket.connect(to: address.socketPath)
        Glibc.shutdown(deaf.rawValue, Int32(SHUT_RD))
        try rawWrite(deaf.borrowed, Array((0..<50).map { _ in frame(Array(#"{"op":"count"}"#.utf8)) }.joined()))
        try requireServerAlive(address, after: "replies to a client that no longer reads failed with EPIPE",
                               cause: "a reply to a client that is gone fails with EPIPE — and kills the whole server with SIGPIPE when it is sent with write() or send() without MSG_NOSIGNAL. Send with FramedConnection (MSG_NOSIGNAL), or ignore SIGPIPE, and end that client's thread")
        deaf.close()
        // A client of yours killed at some point in a burst of increments.
        let block = try labSharedBlock(bytes: 4096)
        defer { labUnmap(block) }
        let progress = SharedCounter(at: block.baseAddress!)
        let busy = try forkChild {
            let client = try L.connect(to: address)
            while true {
                _ = try client.dict.increment("busy", by: 1)
                progress.add()
            }
        }
        // Wait for 50 increments, unless the busy client gives up first (its server is gone).
        var busyEnded = false
        let deadline = monotonicSeconds() + 15
        while !progress.wait(atLeast: 50, timeout: 0.05) && monotonicSeconds() < deadline {
            var status: Int32 = 0
            if waitpid(busy, &status, WNOHANG) == busy { busyEnded = true; break }
        }
        let moving = progress.value >= 50
        if !busyEnded {
            kill(busy, SIGKILL)
            _ = try waitForProcess(busy)
        }
        try requireServerAlive(address, after: "clients were killed in the middle of requests",
                               cause: "a client that disappears makes receive() or send() on its connection fail: close that connection and end its thread — never exit, and never use try! on what a client sends")
        try require(moving, CheckFailure("a client's increments made no progress", expected: "50 increments within 15 s",
                                         seen: "\(progress.value)", look: "increment(_:by:) in \(file)"))
        let count = try served(by: survivor, "the client connected before the others died") { try survivor.list.count() }
        try requireEqual(count, 1, "list.count() from the surviving client is wrong")
        let newcomer = try connect(L.self, address, after: "clients were killed mid-request")
        let busyCount = try served(by: newcomer, "a client that connected afterwards") { try newcomer.dict.get("busy") } ?? 0
        try require(busyCount >= 50, CheckFailure("the killed client's increments are missing", expected: "at least 50", seen: "\(busyCount)"))
        survivor.close()
        newcomer.close()
        try stopManager(L.self, address)
    }

    // MARK: - Part 6

    /// Part 6: malformed requests get an error reply or a closed connection; the others are still served.
    static func malformedRequests<L: ManagerContract>(_: L.Type, _ context: PartContext) throws {
        let (address, survivor) = try startWithSurvivor(L.self, context, appending: 7)
        // A client that sends half a request and then stalls, connected all along.
        let stalled = FramedConnection(owning: try UnixSocket.connect(to: address.socketPath))
        defer { stalled.close() }
        try rawWrite(stalled.borrowed, bigEndianLength(100) + Array(repeating: 0x7B, count: 5))

        // A whole frame whose bytes are not a request: an error reply, and the connection goes on.
        let undecodable: [(String, [UInt8])] = [
            ("a frame of garbage bytes", frame([0xFF, 0x00, 0x13] + Array("this is not JSON".utf8))),
            ("JSON that is not a request", frame(Array(#"{"op":"explode","value":1}"#.utf8))),
            ("a request whose value is a string", frame(Array(#"{"op":"append","value":"seven"}"#.utf8))),
            ("an empty frame", frame([])),
        ]
        for (what, bytes) in undecodable {
            let connection = FramedConnection(owning: try UnixSocket.connect(to: address.socketPath))
            defer { connection.close() }
            try rawWrite(connection.borrowed, bytes + frame(Array(#"{"op":"count"}"#.utf8)))
            for step in ["the error reply to \(what)", "the reply to a count sent right after it, on the same connection"] {
                guard connection.poll(timeout: 5) else {
                    throw CheckFailure("after \(what), the server neither answered nor closed the connection",
                                       expected: "\(step) within 5 s", seen: "silence: that client waits for ever",
                                       cause: "a frame that does not decode as a request still needs a reply (ManagerReply.failure), and the next frame starts right after it",
                                       look: "the server's request loop in \(file)")
                }
                let reply: ManagerReply
                do {
                    reply = try JSONDecoder().decode(ManagerReply.self, from: Data(try connection.receive()))
                } catch is FramedConnection.Failure {
                    throw CheckFailure("the server closed the connection after \(what)", expected: step, seen: "the connection closed",
                                       cause: "the frame itself was whole: only its content is bad. Reply ManagerReply.failure(\"bad request…\") and keep serving that connection; close only when the framing is lost (truncated, badLength)",
                                       look: "the server's request loop in \(file)")
                } catch {
                    throw CheckFailure("the server's answer to \(what) is not a ManagerReply", seen: "\(error)", look: file)
                }
                if step.hasPrefix("the error") {
                    try require(!(reply.ok && reply.value == 1), CheckFailure(
                        "the server sent no reply to \(what)", expected: "an error reply to it, then the reply to the count sent after it",
                        seen: "the first reply is the count's: \(reply)",
                        cause: "a frame that does not decode still gets one reply: ManagerReply.failure(\"bad request…\") — skipping it leaves that client waiting for ever",
                        look: "the server's request loop in \(file)"))
                    try require(!reply.ok && reply.error != nil, CheckFailure(
                        "the server answered \(what) as if it were fine", expected: "{\"ok\":false,\"error\":…}", seen: "\(reply)",
                        look: "the server's request loop in \(file)"))
                } else {
                    try require(reply.ok && reply.value == 1, CheckFailure(
                        "after \(what), the next request on the same connection got the wrong reply", expected: "{\"ok\":true,\"value\":1}",
                        seen: "\(reply)", cause: "one reply per request, in order: the bad frame's error reply, then the count's", look: "the server's request loop in \(file)"))
                }
            }
        }
        // A frame whose length cannot be right: the framing is lost, the connection must end.
        let broken: [(String, [UInt8])] = [
            ("an absurd length (2 GiB − 1)", [0x7F, 0xFF, 0xFF, 0xFF] + Array(repeating: 1, count: 16)),
            ("a negative length", [0x80, 0x00, 0x00, 0x00] + Array(repeating: 1, count: 4)),
        ]
        for (what, bytes) in broken {
            let connection = FramedConnection(owning: try UnixSocket.connect(to: address.socketPath))
            try rawWrite(connection.borrowed, bytes)
            guard connection.poll(timeout: 5) else {
                throw CheckFailure("after \(what), the server neither answered nor closed the connection",
                                   expected: "an error reply or a closed connection within 5 s", seen: "silence: that client waits for ever",
                                   cause: "a request that cannot be decoded still needs a reply (ManagerReply.failure); a frame whose length is absurd breaks the framing: close that connection",
                                   look: "the server's request loop in \(file)")
            }
            do {
                let reply = try JSONDecoder().decode(ManagerReply.self, from: Data(try connection.receive()))
                try require(!reply.ok && reply.error != nil, CheckFailure(
                    "the server answered \(what) as if it were fine", expected: "{\"ok\":false,\"error\":…}", seen: "\(reply)",
                    look: "the server's request loop in \(file)"))
                // An error reply is fine, but then the connection must end: nothing after it is a frame.
                guard connection.poll(timeout: 5) else {
                    throw CheckFailure("after \(what) and its error reply, the server kept the connection open",
                                       expected: "the connection closed: the stream lost its framing", seen: "still open after 5 s",
                                       cause: "when receive() throws (badLength, truncated) there is no next frame to find: close that connection",
                                       look: "the server's request loop in \(file)")
                }
                _ = try connection.receive()
                throw CheckFailure("after \(what), the server read the bytes that followed as another frame",
                                   expected: "the connection closed", seen: "a second reply", look: "the server's request loop in \(file)")
            } catch is FramedConnection.Failure {
                // Closed: fine.
            } catch let error as SystemError where error.errno == ECONNRESET {
                // Closed: fine.
            } catch let failure as CheckFailure {
                throw failure
            } catch {
                throw CheckFailure("the server's answer to \(what) is not a ManagerReply", seen: "\(error)", look: file)
            }
            connection.close()
        }
        // Requests that decode but lack what they need: an error reply, through your own client.
        let incomplete = [ManagerRequest(.item), ManagerRequest(.append), ManagerRequest(.set, key: "k"),
                          ManagerRequest(.increment), ManagerRequest(.get)]
        for request in incomplete {
            let reply = try attempt("call(\(request))", look: "call(_:) in \(file)") { try survivor.call(request) }
            try require(!reply.ok && reply.error != nil, CheckFailure(
                "a \(request.op.rawValue) request without its argument was answered as a success",
                expected: "{\"ok\":false,\"error\":…}", seen: "\(reply)",
                cause: "guard let each field the operation needs, and reply ManagerReply.failure(…) when it is missing",
                look: "the server in \(file)"))
        }
        try requireServerAlive(address, after: "malformed requests",
                               cause: "never trap (try!, force-unwrap) on what a client sends: reply with an error or close that connection")
        let count = try served(by: survivor, "the client connected before the malformed requests") { try survivor.list.count() }
        try requireEqual(count, 1, "list.count() from the client connected all along is wrong")
        let newcomer = try connect(L.self, address, after: "malformed requests")
        _ = try served(by: newcomer, "a client that connected after the malformed requests (a stalled one is still connected)") {
            try newcomer.list.count()
        }
        survivor.close()
        newcomer.close()
        try stopManager(L.self, address)
    }

    // MARK: - Part 7

    static let nobody: uid_t = 65534

    /// Part 7: a client running as another uid is refused.
    static func otherUserRefused<L: ManagerContract>(_: L.Type, _ context: PartContext) throws {
        guard geteuid() == 0 else {
            throw SkipPart("running a client as another uid needs root (the check lowers a child's effective uid to 65534, nobody); run as root, as CI does")
        }
        try probeOtherUser(context)
        let address = try startManager(L.self, context)
        // The socket's directory is private.
        var info = stat()
        try require(stat(address.directory, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR, CheckFailure(
            "the manager's directory does not exist", expected: address.directory, look: "start(in:) in \(file)"))
        try require(info.st_mode & 0o777 == 0o700 && info.st_uid == geteuid(), CheckFailure(
            "the manager's directory is not private", expected: "mode 0700, owned by uid \(geteuid())",
            seen: "mode 0\(String(info.st_mode & 0o777, radix: 8)), owned by uid \(info.st_uid)",
            cause: "mkdtemp makes it 0700: other users must not even reach the socket", look: "start(in:) in \(file)"))
        try require(address.socketPath.hasPrefix(address.directory + "/"), CheckFailure(
            "the socket is not inside the private directory", expected: "\(address.directory)/…", seen: address.socketPath,
            look: "start(in:) in \(file)"))
        // A client running as uid 65534 (which keeps root's file access, so it can reach the socket).
        let result = try Descriptor.pipe()
        let stranger = try forkChild {
            Descriptor.close(result.read)
            try becomeOtherUser(nobody)
            var outcome: String
            do {
                let client = try L.connect(to: address)
                do {
                    try client.list.append(666)
                    outcome = "served"
                } catch {
                    outcome = "refused: \(error)"
                }
            } catch {
                outcome = "connect failed: \(error)"
            }
            var rawOutcome = "not tried"
            if outcome != "served" {
                rawOutcome = "refused"
                // A connection that sends nothing: the refusal is an error reply, then the end.
                let raw = FramedConnection(owning: try UnixSocket.connect(to: address.socketPath))
                defer { raw.close() }
                try? rawWrite(raw.borrowed, frame(Array(#"{"op":"count"}"#.utf8)))   // EPIPE when the server closed already: fine
                if !raw.poll(timeout: 5) {
                    rawOutcome = "silent: no reply and no close within 5 s"
                } else if let bytes = try? raw.receive() {
                    if let reply = try? CompactJSON.decode(ManagerReply.self, from: bytes), !reply.ok, reply.error != nil {
                        if !raw.poll(timeout: 5) { rawOutcome = "an error reply, but the connection stayed open" }
                        else if (try? raw.receive()) != nil { rawOutcome = "an error reply, then more" }
                    } else {
                        rawOutcome = "not an error reply: \(String(decoding: bytes.prefix(200), as: UTF8.self))"
                    }
                } else {
                    rawOutcome = "closed without an error reply"
                }
            }
            try Descriptor.writeAll(result.write, outcome.replacingOccurrences(of: "\n", with: " ") + "\n" + rawOutcome)
            return 0
        }
        Descriptor.close(result.write)
        let outcomes = String(decoding: try Descriptor.readAll(result.read), as: UTF8.self).split(separator: "\n", maxSplits: 1).map(String.init)
        let outcome = outcomes.first ?? "no outcome"
        let rawOutcome = outcomes.count > 1 ? outcomes[1] : "no outcome"
        Descriptor.close(result.read)
        _ = try waitForProcess(stranger)
        if outcome == "served" {
            throw CheckFailure("a client running as uid \(nobody) was served", expected: "refused (an error reply, or the connection closed)",
                               seen: "list.append(666) succeeded",
                               cause: "after accept, check the peer with peerCredentials(of: connection.borrowed) (getsockopt SO_PEERCRED) and refuse any uid but the server's own",
                               look: "the server's accept loop in \(file)")
        }
        if outcome.hasPrefix("connect failed") {
            throw CheckFailure("the uid-\(nobody) client could not even connect", expected: "connect succeeds, then the server refuses it",
                               seen: outcome, look: "connect(to:) in \(file)")
        }
        try requireServerAlive(address, after: "a client of another uid was refused",
                               cause: "refusing a client means closing that connection, not stopping the server")
        let client = try connect(L.self, address, after: "the other-uid client was refused")
        let snapshot = try served(by: client, "your own client after the refusal") { try client.list.snapshot() }
        try require(!snapshot.contains(666), CheckFailure(
            "the refused client's append reached the list", expected: "no 666 in the list", seen: "\(snapshot)",
            cause: "check the peer before reading any request", look: "the server's accept loop in \(file)"))
        try require(rawOutcome == "refused", CheckFailure(
            "a client running as uid \(nobody) was not refused the way the lesson says",
            expected: "right after accept: an error reply ({\"ok\":false,\"error\":\"refused…\"}), then the connection closed",
            seen: "on a connection that sent one count request: " + rawOutcome,
            cause: "send ManagerReply.failure(\"refused…\") on the connection, then close it",
            look: "the server's accept loop in \(file)"))
        client.close()
        try stopManager(L.self, address)
    }

    /// Proves the check can do what part 7 needs: a child that lowered its effective uid to 65534
    /// (keeping root's file access with setfsuid) reaches a socket in a 0700 root directory, and
    /// SO_PEERCRED reports 65534. Skips with the reason when this machine cannot.
    static func probeOtherUser(_ context: PartContext) throws {
        var template = Array("\(context.temporaryDirectory)/probe-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw SystemError("mkdtemp", object: context.temporaryDirectory) }
        let directory = String(cString: made)
        let path = directory + "/probe.sock"
        defer { unlink(path); rmdir(directory) }
        let listener = try UnixSocket.listen(at: path)
        let child = try forkChild {
            try becomeOtherUser(nobody)
            try UnixSocket.connect(to: path).close()
            return 0
        }
        var entry = listener.readable
        let ready = poll(&entry, 1, 10_000)
        let end = waitForProcess(child, timeout: 10)
        guard ready > 0, end == .exited(0) else {
            throw SkipPart("this machine cannot run a client as uid \(nobody) that reaches a 0700 directory (seteuid + setfsuid): the child \(end.map { "\($0)" } ?? "hung")")
        }
        let accepted = try UnixSocket.accept(listener.borrowed)
        let peer = try peerCredentials(of: accepted.borrowed)
        guard peer.uid == nobody else {
            throw SkipPart("SO_PEERCRED reported uid \(peer.uid), not \(nobody), for a child that lowered its effective uid: the check cannot play another user here")
        }
    }

    /// Lowers this (forked) process's effective uid to `uid` and keeps root's file-system access,
    /// so that it can reach a socket inside a 0700 root directory; its real uid stays 0.
    /// The corresponding C functions are `seteuid` and `setfsuid`.
    static func becomeOtherUser(_ uid: uid_t) throws {
        try valueOrErrno("seteuid", object: "\(uid)") { seteuid(uid) }
        setFilesystemUser(0)
        guard setFilesystemUser(0) == 0 else { throw SystemError("setfsuid", errno: EPERM, object: "0") }
    }

    // MARK: - Part 8

    /// Part 8: shutdown: the server exits, is reaped, and the socket and its directory are gone.
    static func shutdownLeavesNothing<L: ManagerContract>(_: L.Type, _ context: PartContext) throws {
        let address = try startManager(L.self, context)
        let lingering = try connect(L.self, address, after: "start")
        try attempt("list.append(1)") { try lingering.list.append(1) }
        try attempt("shutdown(\(address))", look: "shutdown(_:) in \(file)") { try L.shutdown(address) }
        if kill(address.serverPID, 0) == 0 {
            let state = ProcessInspection.state(of: address.serverPID)
            throw CheckFailure(state == "Z" ? "the server exited but was never reaped" : "the server is still running after shutdown",
                               expected: "no process \(address.serverPID)",
                               seen: state == "Z" ? "a zombie (state Z) in the process table" : "process \(address.serverPID) in state \(state.map(String.init) ?? "?")",
                               cause: state == "Z" ? "the process that started the server must waitpid(serverPID, …) for it"
                                                   : "on a shutdown request the server must _exit after replying",
                               look: "shutdown(_:) in \(file)")
        }
        var info = stat()
        try require(lstat(address.socketPath, &info) != 0, CheckFailure(
            "the socket file is still there after shutdown", expected: "\(address.socketPath) gone", seen: "it exists",
            cause: "a socket file outlives its process: unlink it when the server stops", look: "shutdown(_:) in \(file)"))
        try require(lstat(address.directory, &info) != 0, CheckFailure(
            "the manager's directory is still there after shutdown", expected: "\(address.directory) gone", seen: "it exists",
            cause: "remove the directory (rmdir) once the socket is unlinked", look: "shutdown(_:) in \(file)"))
        do {
            let count = try lingering.list.count()
            throw CheckFailure("a client got an answer after shutdown", expected: "ManagerError.disconnected", seen: "count \(count)")
        } catch let error as ManagerError {
            try requireEqual(error, .disconnected, "a client still connected at shutdown got the wrong error",
                             cause: "when the server closes the connection instead of answering, call() throws ManagerError.disconnected",
                             look: "call(_:) in \(file)")
        } catch let failure as CheckFailure {
            throw failure
        } catch {
            throw CheckFailure("a client still connected at shutdown got the wrong error", expected: "ManagerError.disconnected",
                               seen: "\(error)", look: "call(_:) in \(file)")
        }
        lingering.close()
        try deadServerShutdown(L.self, context)
        do {
            let late = try L.connect(to: address)
            late.close()
            throw CheckFailure("connect(to:) succeeded after shutdown", expected: "a SystemError from connect (ENOENT)", seen: "a connection")
        } catch is SystemError {
        } catch let failure as CheckFailure {
            throw failure
        } catch {
            throw CheckFailure("connect(to:) after shutdown threw the wrong error", expected: "a SystemError from connect (ENOENT)",
                               seen: "\(error)", look: "connect(to:) in \(file)")
        }
    }

    /// shutdown of a server that already died: still reaps it and removes the socket and the
    /// directory, then throws.
    static func deadServerShutdown<L: ManagerContract>(_: L.Type, _ context: PartContext) throws {
        let dead = try startManager(L.self, context)
        defer {
            var status: Int32 = 0
            kill(dead.serverPID, SIGKILL)
            _ = waitpid(dead.serverPID, &status, 0)
            unlink(dead.socketPath)
            rmdir(dead.directory)
        }
        kill(dead.serverPID, SIGKILL)
        // Wait until it is dead, without reaping it: that is shutdown's job.
        var info = siginfo_t()
        while waitid(P_PID, id_t(dead.serverPID), &info, WEXITED | WNOWAIT) == -1 && errno == EINTR {}
        var thrown: Error?
        do { try L.shutdown(dead) } catch { thrown = error }
        let zombie = ProcessInspection.state(of: dead.serverPID) == "Z"
        var stats = stat()
        let socketLeft = lstat(dead.socketPath, &stats) == 0
        let directoryLeft = lstat(dead.directory, &stats) == 0
        if zombie || socketLeft || directoryLeft {
            throw CheckFailure("shutdown of a server that had died left things behind",
                               expected: "the dead server reaped, \(dead.socketPath) and its directory removed, then an error thrown",
                               seen: [zombie ? "the server is still a zombie (never reaped)" : nil, socketLeft ? "the socket is still there" : nil,
                                      directoryLeft ? "the directory is still there" : nil].compactMap { $0 }.joined(separator: "; ")
                                   + " — shutdown " + (thrown.map { "threw \($0)" } ?? "returned"),
                               cause: "asking fails when the server is gone (connect: ECONNREFUSED): remember that error, but still waitpid(serverPID) and unlink the socket and rmdir the directory before throwing it",
                               look: "shutdown(_:) in \(file)")
        }
        try require(thrown != nil, CheckFailure(
            "shutdown of a server that had died returned as if all went well",
            expected: "an error (the server could not be asked: it was gone)", seen: "no error",
            cause: "after reaping and cleaning up, throw the error from asking the server", look: "shutdown(_:) in \(file)"))
    }

    // MARK: - Helpers

    /// Forks a client that connects, sends `bytes` as they are and is killed (SIGKILL) before it
    /// reads anything; returns once it is reaped.
    static func clientKilled(after bytes: [UInt8], _ address: ManagerAddress) throws {
        let client = try forkChild {
            let socket = try UnixSocket.connect(to: address.socketPath)
            try rawWrite(socket.borrowed, bytes)
            kill(getpid(), SIGKILL)
            return 0
        }
        _ = try waitForProcess(client)
    }

    /// A manager started for the part and a client connected at once that appended `value` to
    /// the list: the survivor that must still be served after what the part does to other clients.
    static func startWithSurvivor<L: ManagerContract>(_: L.Type, _ context: PartContext,
                                                      appending value: Int) throws -> (address: ManagerAddress, survivor: L.Client) {
        let address = try startManager(L.self, context)
        let survivor = try connect(L.self, address, after: "start")
        try attempt("list.append(\(value))") { try survivor.list.append(value) }
        return (address, survivor)
    }

    static func startManager<L: ManagerContract>(_: L.Type, _ context: PartContext) throws -> ManagerAddress {
        let address = try attempt("start(in:)", look: "start(in:) in \(file)") { try L.start(in: context.temporaryDirectory) }
        try context.requirePartProcess(after: "start(in:)")
        try requireServing(socketPath: address.socketPath, serverPID: address.serverPID)
        return address
    }

    static func stopManager<L: ManagerContract>(_: L.Type, _ address: ManagerAddress) throws {
        try attempt("shutdown(\(address))", look: "shutdown(_:) in \(file)") { try L.shutdown(address) }
    }

    static func connect<L: ManagerContract>(_: L.Type, _ address: ManagerAddress, after moment: String) throws -> L.Client {
        do {
            return try L.connect(to: address)
        } catch {
            let ended = serverEnd(address).map { " The server process \($0)." } ?? ""
            throw CheckFailure("connect(to:) failed after \(moment)", expected: "a connection to a running manager", seen: "\(error)",
                               cause: "is the server still running?\(ended) It must keep accepting clients until it is asked to shut down",
                               look: "the server in \(file)")
        }
    }

    /// Runs a call that must be answered by a live server; explains a `disconnected`.
    static func served<T>(by client: AnyObject, _ who: String, _ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch {
            throw CheckFailure("\(who) was not served", expected: "an answer", seen: "\(error)",
                               cause: "the server must keep serving every other client whatever one client does", look: "the server in \(file)")
        }
    }

    /// How the server ended, if it has (the part process is its parent: reaping it here is fine).
    static func serverEnd(_ address: ManagerAddress) -> ProcessEnd? { serverEnd(pid: address.serverPID) }

    /// The server must still be running once it has finished reacting to `moment`: first wait
    /// (up to 5 s) until every one of its threads sleeps again — a server that is dying of what
    /// just happened (a trap in a client's thread) may still answer others for a few milliseconds
    /// while the runtime prints its error — then ask whether it ended.
    static func requireServerAlive(_ address: ManagerAddress, after moment: String, cause: String) throws {
        try requireServerAlive(pid: address.serverPID, after: moment, cause: cause)
    }

    static func expectManagerError(_ expected: ManagerError, _ call: String, _ body: () throws -> Void) throws {
        try expectError(expected, call, look: file, body)
    }
}
