import Foundation
import Glibc

extension Lesson12 {
    /// The student's file, for "look at" lines.
    static let file = "SyncManager.swift"

    // MARK: - Part 1

    /// Part 1: get/set and 4 processes × 500 increments of one value reach exactly 2,000.
    static func valueIncrements<L: SyncManagerContract>(_: L.Type, _ context: PartContext) throws {
        var random = context.random()
        let start = Int.random(in: -1000...1000, using: &random)
        let delta = Int.random(in: 2...9, using: &random)
        // A directory whose socket path would not fit in sun_path (107 bytes).
        let deep = context.temporaryDirectory + "/" + String(repeating: "d", count: max(1, 108 - context.temporaryDirectory.count - 1 - 9))
        try requireThrows(SyncManagerError.self, "start(in:) with a socket path of \(deep.utf8.count + 10) bytes",
                          expected: "SyncManagerError.pathTooLong(\(deep)/sync.sock)",
                          cause: "sun_path holds 107 bytes: check the length of directory + \"/sync.sock\" before socket() and bind(), and throw pathTooLong",
                          look: "start(in:) in \(file)", {
            let started = try L.start(in: deep)
            abandon(started)
            throw CheckFailure("start(in:) accepted a socket path over 107 bytes", expected: "SyncManagerError.pathTooLong(\(deep)/sync.sock)",
                               seen: "a server at \(started)", look: "start(in:) in \(file)")
        }, judge: { error in
            try requireEqual(error, .pathTooLong(deep + "/sync.sock"), "start(in:) with a socket path of \(deep.utf8.count + 10) bytes threw the wrong error",
                             look: "start(in:) in \(file)")
        })
        let address = try startLocal(L.self, context)
        defer { abandon(address) }
        let client = try connect(L.self, address, after: "start")
        let v = client.value("v")
        let look = "the value proxy and the server's value.* requests in \(file)"
        try requireEqual(try attempt("value(\"v\").get()", look: look) { try v.get() }, 0, "a value never set",
                         cause: "a value starts at 0 (Python's manager.Value('i', 0))", look: look)
        try attempt("value(\"v\").set(\(start))", look: look) { try v.set(start) }
        try requireEqual(try attempt("value(\"v\").get()", look: look) { try v.get() }, start, "get() after set(\(start))", look: look)
        try requireEqual(try attempt("value(\"v\").increment(by: \(delta))", look: look) { try v.increment(by: delta) }, start + delta,
                         "increment(by: \(delta)) after set(\(start)) returned the wrong value",
                         cause: "increment adds the amount it is given and returns the new value (not the old one)", look: look)
        try requireEqual(try attempt("value(\"v\").get()", look: look) { try v.get() }, start + delta,
                         "get() after increment(by: \(delta))", look: look)

        let perClient = 500
        let block = try labSharedBlock(bytes: 4 * perClient * 8 + 64)
        defer { labUnmap(block) }
        let ready = SharedCounter(at: block.baseAddress!)
        let results = (block.baseAddress! + 64).bindMemory(to: Int.self, capacity: 4 * perClient)
        try runClients(L.self, address, count: 4) { index, client in
            ready.add()
            _ = ready.wait(atLeast: 4, timeout: 10)                // all four increment at once
            let hits = client.value("hits")
            for i in 0..<perClient { results[index * perClient + i] = try hits.increment(by: 1) }
        }
        let total = try attempt("value(\"hits\").get()", look: look) { try client.value("hits").get() }
        let returned = Set(UnsafeBufferPointer(start: results, count: 4 * perClient))
        if total != 4 * perClient || returned != Set(1...(4 * perClient)) {
            let missing = (1...(4 * perClient)).filter { !returned.contains($0) }
            throw CheckFailure("4 processes × 500 increments did not make 2,000",
                               expected: "hits = 2000, and the 2000 increments returned 1…2000, each once",
                               seen: "hits = \(total); the increments returned \(returned.count) distinct values"
                                   + (missing.isEmpty ? "" : ", none returned \(missing.prefix(5).map(String.init).joined(separator: ", "))\(missing.count > 5 ? "…" : "")"),
                               cause: total < 4 * perClient
                                   ? "updates were lost: an increment done by the client as get + set (Python's v.value += 1) can be overtaken between the two requests. Send one value.increment and let the server add under its lock"
                                   : "increment must return the new value, the one after this client's addition",
                               look: "increment(by:) and the server's value.increment in \(file)")
        }
        let lingering = try connect(L.self, address, after: "the four clients left")
        _ = try attempt("value(\"hits\").get()", look: look) { try lingering.value("hits").get() }
        client.close()
        client.close()
        try expectSyncError(.closed, "value(\"v\").get() after close()", look: "call(_:) and close() in \(file)") { _ = try client.value("v").get() }
        try stop(L.self, address, authkey: nil)
        try expectSyncError(.disconnected, "value(\"hits\").get() on a client still connected when the server stopped",
                            look: "call(_:) in \(file)") { _ = try lingering.value("hits").get() }
        lingering.close()
    }

    // MARK: - Part 2

    /// Part 2: one holder at a time; release by a non-holder is refused; the server releases what
    /// a killed client held, so another client acquires within a bound.
    static func lockReleasedOnDeath<L: SyncManagerContract>(_: L.Type, _ context: PartContext) throws {
        let address = try startLocal(L.self, context)
        defer { abandon(address) }
        let first = try connect(L.self, address, after: "start")
        let second = try connect(L.self, address, after: "start")
        let look = "the server's lock.acquire and lock.release in \(file)"
        let got = try attempt("client 1: lock(\"L\").acquire(timeout: nil)", look: look) { try first.lock("L").acquire(timeout: nil) }
        try requireEqual(got, true, "the first acquire of a free lock", look: look)
        let began = monotonicSeconds()
        let also = try attempt("client 2: lock(\"L\").acquire(timeout: 0.3)", look: look) { try second.lock("L").acquire(timeout: 0.3) }
        let waited = monotonicSeconds() - began
        try require(!also, CheckFailure(
            "two clients held the lock at once", expected: "client 2's acquire(timeout: 0.3) returns false while client 1 holds it",
            seen: "true after \(String(format: "%.2f", waited)) s",
            cause: "the server must record the holder of each lock and make other clients wait until it is released", look: look))
        try require(waited >= 0.25, CheckFailure(
            "acquire(timeout: 0.3) gave up before its timeout", expected: "about 0.3 s of waiting", seen: "\(String(format: "%.3f", waited)) s",
            cause: "the server answers an acquire of a held lock only when it is released or the timeout passes", look: look))
        do {
            try second.lock("L").release()
            throw CheckFailure("a client released a lock it does not hold", expected: "SyncManagerError.server(…) from client 2's release()",
                               seen: "no error", cause: "only the holder may release: check the holder before clearing it", look: look)
        } catch let error as SyncManagerError {
            guard case .server = error else {
                throw CheckFailure("release() by a client that does not hold the lock threw the wrong error",
                                   expected: "SyncManagerError.server(…)", seen: "\(error)", look: look)
            }
        }
        try attempt("client 1: lock(\"L\").release()", look: look) { try first.lock("L").release() }
        try requireEqual(try attempt("client 2: lock(\"L\").acquire(timeout: 2)", look: look) { try second.lock("L").acquire(timeout: 2) }, true,
                         "after client 1 released the lock, client 2 did not get it within 2 s", look: look)
        try attempt("client 2: lock(\"L\").release()", look: look) { try second.lock("L").release() }

        // A client process takes the lock and is killed while holding it.
        let block = try labSharedBlock(bytes: 64)
        defer { labUnmap(block) }
        let holding = SharedCounter(at: block.baseAddress!)
        let holder = try forkChild {
            let client = try L.connect(to: address, authkey: nil)
            guard try client.lock("L").acquire(timeout: 5) else { return 2 }
            holding.add()
            while true { pause() }
        }
        defer { killAndReap([holder]) }
        guard holding.wait(atLeast: 1, timeout: 10) else {
            let end = waitForProcess(holder, timeout: 0.1)
            throw CheckFailure("the holder process never got the free lock", expected: "acquire(timeout: 5) returns true in a new client",
                               seen: end.map { "the process \($0)" } ?? "still waiting after 10 s", look: look)
        }
        try requireEqual(try attempt("client 2: lock(\"L\").acquire(timeout: 0.3)", look: look) { try second.lock("L").acquire(timeout: 0.3) }, false,
                         "client 2 got the lock while the holder process was alive and holding it", look: look)
        kill(holder, SIGKILL)
        _ = waitForProcess(holder, timeout: 5)
        let killedAt = monotonicSeconds()
        let bound = 2.0
        let after = try attempt("client 2: lock(\"L\").acquire(timeout: \(bound))", look: look) { try second.lock("L").acquire(timeout: bound) }
        try require(after, CheckFailure(
            "the lock stayed held by a client that was killed",
            expected: "client 2 acquires within \(Int(bound)) s of the holder's death (SIGKILL)",
            seen: "acquire(timeout: \(Int(bound))) returned false after \(String(format: "%.1f", monotonicSeconds() - killedAt)) s; the holder is dead and reaped",
            cause: "a killed client never sends release: the kernel closes its socket, and the server's receive() for that connection ends (end of file). The server must then release every lock that connection held and wake the waiters",
            look: "where the server's client thread ends, in \(file)"))
        try attempt("client 2: lock(\"L\").release()", look: look) { try second.lock("L").release() }
        first.close()
        second.close()
        try stop(L.self, address, authkey: nil)
    }

    // MARK: - Part 3

    /// Part 3: wait blocks until set; set wakes every waiter (three client processes); the flag
    /// stays set; clear clears it.
    static func eventWakesEveryWaiter<L: SyncManagerContract>(_: L.Type, _ context: PartContext) throws {
        let address = try startLocal(L.self, context)
        defer { abandon(address) }
        let client = try connect(L.self, address, after: "start")
        let event = client.event("E")
        let look = "the server's event.wait and event.set in \(file)"
        try requireEqual(try attempt("event(\"E\").isSet()", look: look) { try event.isSet() }, false, "a new event is set", look: look)
        var began = monotonicSeconds()
        let early = try attempt("event(\"E\").wait(timeout: 0.2)", look: look) { try event.wait(timeout: 0.2) }
        var waited = monotonicSeconds() - began
        try require(!early && waited >= 0.15, CheckFailure(
            "wait on a clear event did not wait", expected: "false after about 0.2 s",
            seen: "\(early) after \(String(format: "%.3f", waited)) s",
            cause: "wait blocks (in the server) until the flag is set or the timeout passes", look: look))

        let waiters = 3
        let block = try labSharedBlock(bytes: 64 + 8 * waiters)
        defer { labUnmap(block) }
        let asking = SharedCounter(at: block.baseAddress!)
        let woken = SharedCounter(at: block.baseAddress! + 8)
        let flags = (block.baseAddress! + 64).bindMemory(to: Int.self, capacity: waiters)
        var pids: [pid_t] = []
        defer { killAndReap(pids) }
        for index in 0..<waiters {
            pids.append(try forkChild {
                let mine = try L.connect(to: address, authkey: nil)
                _ = try mine.event("E").isSet()                     // connected and served once
                asking.add()
                flags[index] = try mine.event("E").wait(timeout: nil) ? 1 : 2
                woken.add()
                mine.close()
                return 0
            })
        }
        guard asking.wait(atLeast: UInt64(waiters), timeout: 10) else {
            throw CheckFailure("the waiter processes could not reach the manager", seen: "\(asking.value) of \(waiters) connected within 10 s", look: file)
        }
        usleep(300_000)                                             // each now waits in the server
        try require(woken.value == 0, CheckFailure(
            "wait(timeout: nil) returned before the event was set", expected: "the \(waiters) waiters still waiting 0.3 s later",
            seen: "\(woken.value) returned, with \((0..<waiters).map { flags[$0] == 1 ? "true" : flags[$0] == 2 ? "false" : "-" })",
            cause: "wait must block until set (it answers only then)", look: look))
        let setAt = monotonicSeconds()
        try attempt("event(\"E\").set()", look: look) { try event.set() }
        let allWoke = woken.wait(atLeast: UInt64(waiters), timeout: 1.0)
        if !allWoke {
            throw CheckFailure("set() did not wake every waiter: a lost wake-up",
                               expected: "all \(waiters) waiting clients return true within 1 s of set()",
                               seen: "\(woken.value) of \(waiters) woke in \(String(format: "%.1f", monotonicSeconds() - setAt)) s; the others still wait in the server",
                               cause: woken.value >= 1 ? "set wakes one waiter (signal) instead of all of them (broadcast)"
                                                        : "set must wake the waiters: they wait on the condition variable set() signals",
                               look: look)
        }
        try require((0..<waiters).allSatisfy { flags[$0] == 1 }, CheckFailure(
            "a woken waiter's wait returned false", expected: "true for every waiter",
            seen: "\((0..<waiters).map { flags[$0] == 1 })", look: look))
        for pid in pids { _ = waitForProcess(pid, timeout: 5) }
        pids = []
        try requireEqual(try attempt("event(\"E\").isSet()", look: look) { try event.isSet() }, true, "isSet() after set()",
                         cause: "the flag stays set until clear()", look: look)
        began = monotonicSeconds()
        let late = try attempt("event(\"E\").wait(timeout: 1)", look: look) { try event.wait(timeout: 1) }
        waited = monotonicSeconds() - began
        try require(late && waited < 0.5, CheckFailure(
            "a wait that starts after set() does not return at once", expected: "true at once",
            seen: "\(late) after \(String(format: "%.2f", waited)) s",
            cause: "an event is a flag, not a pulse: set() leaves it set, and every later wait returns true until clear()", look: look))
        try attempt("event(\"E\").clear()", look: look) { try event.clear() }
        try requireEqual(try attempt("event(\"E\").isSet()", look: look) { try event.isSet() }, false, "isSet() after clear()", look: look)
        try requireEqual(try attempt("event(\"E\").wait(timeout: 0.1)", look: look) { try event.wait(timeout: 0.1) }, false,
                         "wait(timeout: 0.1) after clear()", look: look)
        client.close()
        try stop(L.self, address, authkey: nil)
    }

    // MARK: - Part 4

    /// Part 4: the remote manager listens on loopback only, and checks the key both ways before it
    /// reads a request — against a client playing CPython 3.12+ and one playing 3.11; a wrong key
    /// is refused; the student's client checks the server.
    static func remoteHandshake<L: SyncManagerContract>(_: L.Type, _ context: PartContext) throws {
        var random = context.random()
        let key = (0..<32).map { _ in UInt8.random(in: 0...255, using: &random) }
        let wrong = key.map { $0 ^ 0x5a }
        let address = try startRemote(L.self, key, context)
        defer { abandon(address) }
        try requireLoopbackOnly(address)
        let look = "deliverChallenge / answerChallenge and the remote server in \(file)"

        for style in [LabPeer.Style.modern, .legacy] {
            let connection = try LabPeer.connect(port: address.port)
            defer { connection.close() }
            do {
                try LabPeer.answer(connection, key: key, style: style)
                try LabPeer.deliver(connection, key: key, style: style)
            } catch let failure as LabPeer.Failure {
                throw CheckFailure("the remote manager refused a client that knows the key (\(style.label))",
                                   expected: "the handshake completes: #WELCOME# both ways", seen: failure.description,
                                   cause: failure.cause, look: look)
            }
            let reply = try LabPeer.request(connection, #"{"op":"value.increment","name":"tcp","value":7}"#)
            try require(reply.contains("\"ok\":true"), CheckFailure(
                "a request after the handshake (\(style.label)) was not served", expected: #"{"ok":true,"value":…}"#, seen: reply,
                cause: "once both challenges pass, serve the connection like a Unix one", look: file))
        }

        // A client that does not know the key.
        let intruder = try LabPeer.connect(port: address.port)
        defer { intruder.close() }
        let verdict: [UInt8]
        do {
            verdict = try LabPeer.answerAndRead(intruder, key: wrong)
        } catch let failure as LabPeer.Failure {
            throw CheckFailure("the handshake with a wrong-key client broke off", expected: "#FAILURE# and a closed connection",
                               seen: failure.description, cause: failure.cause, look: look)
        }
        if verdict == Handshake.welcome {
            throw CheckFailure("the remote manager welcomed a client with the wrong key",
                               expected: "#FAILURE# (the client's HMAC does not match)", seen: "#WELCOME#",
                               cause: "compare the response with HMAC(key, the message you sent) and refuse anything else (HMAC.equalInConstantTime)",
                               look: "deliverChallenge in \(file)")
        }
        try require(verdict == Handshake.failure, CheckFailure(
            "the wrong-key client got neither #WELCOME# nor #FAILURE#", expected: "#FAILURE#", seen: LabPeer.show(verdict), look: look))
        let after = LabPeer.tryRequest(intruder, #"{"op":"value.get","name":"tcp"}"#)
        try require(after == nil, CheckFailure(
            "the server answered a request from a client it had refused", expected: "the connection closed after #FAILURE#",
            seen: after ?? "", cause: "after sending #FAILURE#, close the connection: read no request from it", look: look))
        intruder.close()

        // An answer that announces more than 256 bytes: refused as soon as its length arrives.
        let long = LabPeer.Impostor.longChallenge
        let talker = try LabPeer.connect(port: address.port)
        defer { talker.close() }
        let answered: LabPeer.LongAnswerVerdict
        do {
            answered = try LabPeer.announceLongAnswer(talker, length: long)
        } catch let failure as LabPeer.Failure {
            throw CheckFailure("the handshake with a client whose answer is too long broke off", expected: "#CHALLENGE#, then #FAILURE# or a closed connection",
                               seen: failure.description, cause: failure.cause, look: look)
        }
        switch answered {
        case .refused:
            break
        case .waited:
            throw CheckFailure("the remote manager waited for the rest of a \(long)-byte answer to its challenge",
                               expected: "#FAILURE# or a closed connection as soon as the 4-byte length arrives: a response is at most \(Handshake.maximumMessage) bytes (Handshake.maximumMessage; Python reads it with recv_bytes(256))",
                               seen: "nothing within \(Int(LabPeer.patience)) s; the lab sent the length and nothing else",
                               cause: "read the response with connection.receive(atMost: Handshake.maximumMessage): a longer length throws FramedConnection.Failure.badLength before anything more is read. receive() waits for every byte it is told of, so anyone who can reach the port holds a server thread (and up to 64 MiB) before proving anything",
                               look: "deliverChallenge in \(file)")
        case .welcomed:
            throw CheckFailure("the remote manager welcomed a client that never sent its answer", expected: "#FAILURE# or a closed connection",
                               seen: "#WELCOME#", cause: "compare the whole response with the HMAC you expect before anything else", look: "deliverChallenge in \(file)")
        case .other(let bytes):
            throw CheckFailure("the remote manager answered a too-long response with neither #FAILURE# nor a closed connection",
                               expected: "#FAILURE# (or close the connection)", seen: LabPeer.show(bytes), look: "deliverChallenge in \(file)")
        }
        talker.close()

        // The student's client: the right key works, a wrong one is refused.
        let mine = try attempt("connect(to: \(address), authkey: key)", look: "connect(to:authkey:) in \(file)") { try L.connect(to: address, authkey: key) }
        let seen: Int
        do {
            seen = try mine.value("tcp").get()
        } catch SyncManagerError.disconnected {
            throw CheckFailure("your client's first request after connect(to:authkey:) got no reply: the server closed the connection",
                               expected: "a reply to value(\"tcp\").get()", seen: "SyncManagerError.disconnected",
                               cause: "the handshake is mutual: after #WELCOME#, the server waits for the client's own #CHALLENGE# (Python's Client sends it). A request in its place is a wrong challenge, and the server hangs up. connect must call deliverChallenge after answerChallenge",
                               look: "connect(to:authkey:) in \(file)")
        } catch {
            throw CheckFailure("value(\"tcp\").get() over TCP threw an error", expected: "14", seen: "\(error)", look: file)
        }
        try requireEqual(seen, 14, "value(\"tcp\") over TCP after the two lab clients added 7 each", look: file)
        mine.close()
        try expectAuthenticationError("connect(to:authkey:) with a wrong key", look: "connect(to:authkey:) in \(file)") {
            let refused = try L.connect(to: address, authkey: wrong)
            refused.close()
        }

        // The student's client against a server that does not know the key.
        let impostor = try LabPeer.Impostor.start()
        defer { impostor.stop() }
        let fake = SyncManagerAddress(host: "127.0.0.1", port: impostor.port, serverPID: address.serverPID)
        do {
            let fooled = try L.connect(to: fake, authkey: key)
            fooled.close()
            throw CheckFailure("your client trusted a server that does not know the key",
                               expected: "AuthenticationError from connect(to:authkey:): the server's answer to your challenge is wrong",
                               seen: "a connection (the lab's impostor welcomed your answer without checking it, then answered your challenge with a wrong MAC)",
                               cause: "after answering the server's challenge, the client must challenge the server (deliverChallenge): authentication is mutual, as in Python's Client",
                               look: "connect(to:authkey:) in \(file)")
        } catch is AuthenticationError {
        } catch let failure as CheckFailure {
            throw failure
        } catch {
            throw CheckFailure("connect(to:authkey:) to an impostor threw the wrong error", expected: "AuthenticationError", seen: "\(error)",
                               look: "connect(to:authkey:) in \(file)")
        }

        // The student's client against a server whose challenge announces 1 MiB and never comes.
        let teaser = try LabPeer.Impostor.start(longChallenge: true)
        defer { teaser.stop() }
        let began = monotonicSeconds()
        var refusal = "a connection"
        do {
            let fooled = try L.connect(to: SyncManagerAddress(host: "127.0.0.1", port: teaser.port, serverPID: address.serverPID), authkey: key)
            fooled.close()
        } catch {
            refusal = "\(error)"
        }
        let took = monotonicSeconds() - began
        try require(refusal != "a connection", CheckFailure(
            "your client connected to a server whose challenge never came", expected: "an error from connect(to:authkey:)",
            seen: "a connection (the lab's server announced a \(LabPeer.Impostor.longChallenge)-byte challenge and sent nothing more)",
            cause: "answerChallenge reads the challenge first: without it there is nothing to answer", look: "answerChallenge in \(file)"))
        try require(took < 0.7, CheckFailure(
            "your client waited for the rest of a \(LabPeer.Impostor.longChallenge)-byte challenge",
            expected: "an error as soon as the 4-byte length arrives: a challenge is at most \(Handshake.maximumMessage) bytes (Python reads it with recv_bytes(256))",
            seen: "\(refusal) after \(String(format: "%.2f", took)) s, once the lab's server closed the connection",
            cause: "answerChallenge reads with connection.receive(atMost: Handshake.maximumMessage). receive() waits for every byte a server announces: a server that announces 1 MiB and sends nothing holds your client as long as it likes",
            look: "answerChallenge in \(file)"))
        try stop(L.self, address, authkey: key)
    }

    // MARK: - Part 5

    static let pythonClient = #"""
import json, signal, sys
from multiprocessing.connection import Client
from multiprocessing import AuthenticationError
port, key, wrong = int(sys.argv[1]), bytes.fromhex(sys.argv[2]), bytes.fromhex(sys.argv[3])
def stalled(signum, frame):
    raise TimeoutError("no answer within 1 s (the handshake stalled)")
signal.signal(signal.SIGALRM, stalled)   # Client's socket blocks without a timeout
out = {"python": sys.version.split()[0]}
try:
    signal.setitimer(signal.ITIMER_REAL, 1.0)
    c = Client(("127.0.0.1", port), authkey=key)
    c.send_bytes(json.dumps({"op": "value.increment", "name": "py", "value": 5}).encode())
    out["first"] = json.loads(c.recv_bytes(1 << 16))
    c.send_bytes(json.dumps({"op": "value.increment", "name": "py", "value": 6}).encode())
    out["second"] = json.loads(c.recv_bytes(1 << 16))
    signal.setitimer(signal.ITIMER_REAL, 0)
    c.close()
except Exception as e:
    out["right"] = "%s: %s" % (type(e).__name__, e)
    print(json.dumps(out))
    sys.exit(0)
try:
    signal.setitimer(signal.ITIMER_REAL, 1.0)
    c = Client(("127.0.0.1", port), authkey=wrong)
    signal.setitimer(signal.ITIMER_REAL, 0)
    out["wrong"] = "accepted"
    c.close()
except AuthenticationError as e:
    out["wrong"] = "AuthenticationError: %s" % e
except Exception as e:
    out["wrong"] = "%s: %s" % (type(e).__name__, e)
print(json.dumps(out))
"""#

    /// Part 5: Python's `Client(("127.0.0.1", port), authkey=key)` completes the handshake, sends
    /// two requests and reads the replies; with a wrong key it gets AuthenticationError because
    /// the student's server refused it.
    static func pythonClientInterop<L: SyncManagerContract>(_: L.Type, _ context: PartContext) throws {
        _ = try context.python3()
        var random = context.random()
        let key = (0..<32).map { _ in UInt8.random(in: 0...255, using: &random) }
        let wrong = key.map { $0 ^ 0xa5 }
        let address = try startRemote(L.self, key, context)
        defer { abandon(address) }
        let text = try context.runPython(pythonClient, ["\(address.port)", hex(key), hex(wrong)], what: "multiprocessing.connection.Client")
        guard let line = text.split(separator: "\n").last,
              let out = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
            throw CheckFailure("python3 printed no result", seen: text)
        }
        let version = out["python"] as? String ?? "?"
        let digest = version.hasPrefix("3.11") || version.hasPrefix("3.10") || version.hasPrefix("3.9") ? "HMAC-MD5, raw 16 bytes" : "{sha256} + HMAC-SHA256"
        let look = "deliverChallenge / answerChallenge in \(file) (Python \(version) answers with \(digest))"
        if let problem = out["right"] as? String {
            throw CheckFailure("Python \(version)'s Client could not talk to your remote manager with the right key",
                               expected: "the handshake completes and two requests are answered", seen: problem,
                               cause: problem.contains("digest sent was rejected")
                                   ? "your server refused Python's answer to its challenge: Python \(version) answers a {sha256} challenge with \(digest) over the whole message, prefix included"
                                   : problem.contains("digest received was wrong") || problem.contains("FAILURE")
                                   ? "Python refused your server's answer to its challenge: Python \(version) sends 20 random bytes and expects their raw HMAC-MD5"
                                   : problem.contains("TimeoutError")
                                   ? "Python's Client speaks second: it waits for your server's #CHALLENGE#, answers it, then sends its own challenge. A server that reads a request (or anything else) first leaves both waiting"
                                   : "a handshake message or a reply did not come as Python expects it (4-byte big-endian length, then the bytes)",
                               look: look)
        }
        let first = out["first"] as? [String: Any], second = out["second"] as? [String: Any]
        try require(first?["value"] as? Int == 5 && second?["value"] as? Int == 11, CheckFailure(
            "Python's requests got the wrong replies", expected: #"{"ok":true,"value":5} then {"ok":true,"value":11}"#,
            seen: "\(first.map { "\($0)" } ?? "nil") then \(second.map { "\($0)" } ?? "nil")", look: file))
        let refusal = out["wrong"] as? String ?? "nothing"
        if !refusal.contains("digest sent was rejected") {
            throw CheckFailure("Python's Client with a wrong key was not refused by your server",
                               expected: "AuthenticationError: digest sent was rejected (your server sent #FAILURE# to Python's answer)",
                               seen: refusal,
                               cause: refusal.contains("digest received was wrong")
                                   ? "your server welcomed the wrong key; only Python's own check of your answer stopped it. Compare the response with the HMAC you expect, and send #FAILURE# when they differ"
                                   : "the server must refuse a client whose HMAC does not match",
                               look: "deliverChallenge in \(file)")
        }
        // Python as the server, before this server is stopped: stopping it goes through the
        // student's connect, which the Listener checks first.
        try clientTalksToPythonListener(L.self, context, key: key)
        try stop(L.self, address, authkey: key)
    }

    /// Python's side of the second half of part 5: a `multiprocessing.connection.Listener` on
    /// 127.0.0.1 with the key (its `accept` challenges the client, then answers its challenge),
    /// which then serves value.get and value.increment in JSON, as the lesson's server does.
    /// It writes its port to a file for the client; each blocking step has 1 s.
    static let pythonListener = #"""
import json, os, signal, sys
from multiprocessing.connection import Listener
portfile, key, start = sys.argv[1], bytes.fromhex(sys.argv[2]), int(sys.argv[3])
def stalled(signum, frame):
    raise TimeoutError("nothing within 1 s (the client never came, or the handshake stalled)")
signal.signal(signal.SIGALRM, stalled)
out = {"python": sys.version.split()[0], "requests": []}
values = {}
with Listener(("127.0.0.1", 0), authkey=key) as listener:
    with open(portfile + ".tmp", "w") as f:
        f.write(str(listener.address[1]))
    os.rename(portfile + ".tmp", portfile)
    try:
        signal.setitimer(signal.ITIMER_REAL, 1.0)
        conn = listener.accept()
        signal.setitimer(signal.ITIMER_REAL, 0)
    except Exception as e:
        out["accept"] = "%s: %s" % (type(e).__name__, e)
        print(json.dumps(out))
        sys.exit(0)
    out["accept"] = "ok"
    while True:
        try:
            signal.setitimer(signal.ITIMER_REAL, 1.0)
            request = json.loads(conn.recv_bytes(1 << 16))
            signal.setitimer(signal.ITIMER_REAL, 0)
        except EOFError:
            break
        except Exception as e:
            out["error"] = "%s: %s" % (type(e).__name__, e)
            break
        out["requests"].append(request)
        name = request.get("name")
        if request.get("op") == "value.get":
            reply = {"ok": True, "value": values.get(name, start)}
        elif request.get("op") == "value.increment":
            values[name] = values.get(name, start) + request.get("value", 1)
            reply = {"ok": True, "value": values[name]}
        else:
            reply = {"ok": False, "error": "this Python listener serves value.get and value.increment"}
        conn.send_bytes(json.dumps(reply).encode())
    conn.close()
print(json.dumps(out))
"""#

    /// Part 5, the other way round: the student's `connect(to:authkey:)` against Python's
    /// `multiprocessing.connection.Listener` (Python as the server), then two requests that the
    /// Python side answers. The client runs in a forked child; Python in the part.
    static func clientTalksToPythonListener<L: SyncManagerContract>(_: L.Type, _ context: PartContext, key: [UInt8]) throws {
        var random = context.random(stream: 5)
        let start = Int.random(in: 1...1_000_000, using: &random)
        let portFile = context.temporaryDirectory + "/listener.port"
        defer { unlink(portFile); unlink(portFile + ".tmp") }
        let report = try Descriptor.pipe()
        let client = try forkChild {
            Descriptor.close(report.read)
            var line = ""
            let deadline = monotonicSeconds() + 10
            var port: UInt16? = nil
            while port == nil && monotonicSeconds() < deadline {
                if let bytes = try? readFile(portFile), let number = UInt16(String(decoding: bytes, as: UTF8.self)) { port = number } else { usleep(5_000) }
            }
            if let port {
                do {
                    let mine = try L.connect(to: SyncManagerAddress(host: "127.0.0.1", port: port, serverPID: getpid()), authkey: key)
                    let got = try mine.value("py").get()
                    let added = try mine.value("py").increment(by: 3)
                    mine.close()
                    line = "ok \(got) \(added)"
                } catch {
                    line = "error \(error)"
                }
            } else {
                line = "error the Python listener never wrote its port"
            }
            try? Descriptor.writeAll(report.write, line.replacingOccurrences(of: "\n", with: " / "))
            return 0
        }
        Descriptor.close(report.write)
        defer { killAndReap([client]) }
        let text = try context.runPython(pythonListener, [portFile, hex(key), "\(start)"], what: "multiprocessing.connection.Listener")
        var entry = pollfd(fd: report.read, events: Int16(POLLIN), revents: 0)
        let said = poll(&entry, 1, 5000) > 0 ? String(decoding: (try? Descriptor.readAll(report.read)) ?? [], as: UTF8.self)
                                             : "no word from the client process within 5 s"
        Descriptor.close(report.read)
        guard let last = text.split(separator: "\n").last,
              let out = try? JSONSerialization.jsonObject(with: Data(last.utf8)) as? [String: Any] else {
            throw CheckFailure("python3 printed no result", seen: text)
        }
        let version = out["python"] as? String ?? "?"
        let legacy = version.hasPrefix("3.11") || version.hasPrefix("3.10") || version.hasPrefix("3.9")
        let accept = out["accept"] as? String ?? "?"
        let requests = (out["requests"] as? [[String: Any]]) ?? []
        let look = "connect(to:authkey:) and answerChallenge / deliverChallenge in \(file) (Python \(version)'s Listener)"
        if said != "ok \(start) \(start + 3)" {
            let cause: String
            if accept.contains("digest received was wrong") {
                cause = legacy
                    ? "Python refused your client's answer to its challenge: Python \(version)'s Listener sends 20 random bytes and expects their raw 16-byte HMAC-MD5, no {digest} prefix"
                    : "Python refused your client's answer to its challenge: answer {sha256}… with {sha256} + HMAC-SHA256 of the whole message, prefix included"
            } else if accept.contains("digest sent was rejected") {
                cause = "your client refused Python's answer to its challenge: Python \(version) answers a {sha256} challenge with " + (legacy ? "the raw 16-byte HMAC-MD5 of the whole message, prefix included: accept it" : "{sha256} + HMAC-SHA256 of the whole message")
            } else if accept.contains("AssertionError") || accept.contains("TimeoutError") || (out["error"] as? String ?? "").contains("TimeoutError") {
                cause = "after #WELCOME#, Python's Listener.accept() waits for your client's own #CHALLENGE# (a request sent in its place is a protocol error to it): connect answers the server's challenge, then challenges the server (deliverChallenge)"
            } else {
                cause = "a handshake message or a request did not come as Python expects it (4-byte big-endian length, then the bytes)"
            }
            throw CheckFailure("your client could not talk to Python's multiprocessing.connection.Listener with the right key",
                               expected: "the handshake completes both ways; value(\"py\").get() = \(start), then increment(by: 3) = \(start + 3)",
                               seen: "your client: \(said); Python's accept(): \(accept)" + ((out["error"] as? String).map { "; then \($0)" } ?? ""),
                               cause: cause, look: look)
        }
        let ops = requests.compactMap { $0["op"] as? String }
        try require(ops == ["value.get", "value.increment"], CheckFailure(
            "Python's Listener received other requests than your client's two", expected: "value.get, then value.increment",
            seen: ops.joined(separator: ", "), look: "the proxies in \(file)"))
    }

    // MARK: - Part 6

    /// The frames part 6 sends: none of them is a SyncRequest.
    static let undecodable: [(what: String, payload: String)] = [
        ("bytes that are not JSON", "value.get v"),
        ("JSON with an op the protocol table does not have", #"{"op":"value.frobnicate","name":"v"}"#),
        ("JSON whose value is not an integer", #"{"op":"value.set","name":"v","value":"seven"}"#),
        ("an empty frame", ""),
    ]

    /// Part 6: a frame that does not decode as a request gets an error reply; the same connection
    /// is then served as before, other clients too, and the server keeps running.
    static func badRequestsAnswered<L: SyncManagerContract>(_: L.Type, _ context: PartContext) throws {
        let address = try startLocal(L.self, context)
        defer { abandon(address) }
        let client = try connect(L.self, address, after: "start")
        var random = context.random()
        let stored = Int.random(in: -1000...1000, using: &random)
        let look = "the server's request loop in \(file)"
        try attempt("value(\"v\").set(\(stored))", look: look) { try client.value("v").set(stored) }
        // A connection the check writes into itself: each frame exactly as it is.
        let raw = FramedConnection(owning: try UnixSocket.connect(to: address.socketPath ?? ""))
        defer { raw.close() }
        for (what, payload) in undecodable {
            try raw.send(Array(payload.utf8))
            let sent = payload.isEmpty ? "an empty frame" : "\(what): \(payload)"
            switch awaitAnswer(raw, server: address.serverPID) {
            case .reply(let bytes):
                let text = String(decoding: bytes, as: UTF8.self)
                guard let reply = try? JSONDecoder().decode(SyncReply.self, from: Data(bytes)), !reply.ok,
                      !(reply.error ?? "").isEmpty else {
                    throw CheckFailure("the server's answer to a request that does not decode is not an error reply",
                                       expected: #"{"ok":false,"error":"…"} (SyncReply.failure) to \#(sent)"#, seen: text,
                                       cause: "decode each frame with try? (or do/catch): when it is not a SyncRequest, reply SyncReply.failure(\"bad request…\") — ok false, with an error that says why",
                                       look: look)
                }
            case .ended(let end):
                throw CheckFailure("the server process ended on a request that does not decode",
                                   expected: "an error reply to \(sent), and the server keeps running", seen: "the server process \(end)",
                                   cause: "a request is what a client sends, not what the server trusts: no try! (or !) on JSONDecoder().decode. Catch the error, reply SyncReply.failure(\"bad request…\") and go on — every client lost its manager here",
                                   look: look)
            case .closed(let how):
                throw CheckFailure("the server hung up on a request that does not decode",
                                   expected: "an error reply to \(sent), on the same connection", seen: "the connection closed (\(how)); the server is still running",
                                   cause: "the frame itself was whole, so the next one starts right after it: reply SyncReply.failure(\"bad request…\") and keep reading this connection (close it only when receive() fails: end of file, or a length that cannot be right)",
                                   look: look)
            case .silent:
                throw CheckFailure("the server did not answer a request that does not decode",
                                   expected: "an error reply to \(sent)", seen: "no reply; every thread of the server is asleep (it reads the next request)",
                                   cause: "the client waits for exactly one reply per request: one that skips a frame it cannot decode (continue) leaves that client waiting for ever. Reply SyncReply.failure(\"bad request…\") first",
                                   look: look)
            }
        }
        // The same connection, and another client, are served as before.
        try raw.send(Array(#"{"op":"value.get","name":"v"}"#.utf8))
        guard case .reply(let bytes) = awaitAnswer(raw, server: address.serverPID),
              let reply = try? JSONDecoder().decode(SyncReply.self, from: Data(bytes)) else {
            throw CheckFailure("after the error replies, a good request on the same connection got no reply",
                               expected: #"{"ok":true,"value":\#(stored)}"#,
                               cause: "an undecodable frame ends nothing: the connection goes on with the next frame", look: look)
        }
        try requireEqual(reply.value, stored, "value.get on the connection that sent the bad requests",
                         cause: "a bad request changes nothing: value \"v\" is still what set stored", look: look)
        try requireEqual(try attempt("value(\"v\").get() from another client", look: look) { try client.value("v").get() }, stored,
                         "value(\"v\").get() from another client after the bad requests", look: look)
        try requireServerAlive(pid: address.serverPID, after: "requests that do not decode",
                               cause: "answer a frame that does not decode with SyncReply.failure; no try! on what a client sent")
        raw.close()
        client.close()
        try stop(L.self, address, authkey: nil)
    }

    /// What the server did with the last frame sent on `connection`.
    enum ServerAnswer {
        case reply([UInt8])
        /// It closed this connection and lives on.
        case closed(String)
        /// The server process ended (a trap).
        case ended(ProcessEnd)
        /// Nothing came, and every thread of the server sleeps: nothing will.
        case silent
    }

    /// Waits for the server's answer on `connection`: a reply, the connection closed, the server's
    /// end, or silence — every thread of the server asleep with nothing sent (decided within
    /// about 0.2 s, well inside the stall window). A server dying of a trap has a crash report
    /// being written (a child of it): that is waited for (10 s at most).
    static func awaitAnswer(_ connection: FramedConnection, server pid: pid_t) -> ServerAnswer {
        let deadline = monotonicSeconds() + 10
        while true {
            if connection.poll(timeout: 0.05) {
                do {
                    return .reply(try connection.receive())
                } catch {
                    _ = waitUntilThreadsBlocked(pid, timeout: 5)      // false at once for a server that ended
                    if let end = serverEnd(pid: pid) { return .ended(end) }
                    return .closed("\(error)")
                }
            }
            if let end = serverEnd(pid: pid) { return .ended(end) }
            if monotonicSeconds() > deadline { return .silent }
            if ProcessInspection.descendants(of: pid).isEmpty, waitUntilThreadsBlocked(pid, timeout: 0.1, window: 0.1),
               ProcessInspection.descendants(of: pid).isEmpty, !connection.poll(timeout: 0) {
                return .silent
            }
        }
    }

    // MARK: - Helpers

    static func hex(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined() }

    static func startLocal<L: SyncManagerContract>(_: L.Type, _ context: PartContext) throws -> SyncManagerAddress {
        let address = try attempt("start(in:)", look: "start(in:) in \(file)") { try L.start(in: context.temporaryDirectory) }
        try context.requirePartProcess(after: "start(in:)")
        try requireServing(socketPath: address.socketPath ?? "(nil)", serverPID: address.serverPID)
        return address
    }

    static func startRemote<L: SyncManagerContract>(_: L.Type, _ key: [UInt8], _ context: PartContext) throws -> SyncManagerAddress {
        let address = try attempt("startRemote(authkey:)", look: "startRemote(authkey:) in \(file)") { try L.startRemote(authkey: key) }
        try context.requirePartProcess(after: "startRemote(authkey:)")
        try require(address.host == "127.0.0.1" && address.port != 0, CheckFailure(
            "startRemote returned a wrong address", expected: "127.0.0.1 and the port the kernel chose (not 0)", seen: "\(address)",
            cause: "bind to port 0, then read the real port back with getsockname", look: "startRemote(authkey:) in \(file)"))
        try require(address.serverPID > 0 && kill(address.serverPID, 0) == 0, CheckFailure(
            "startRemote returned, but its server process is not running", expected: "process \(address.serverPID) alive",
            look: "startRemote(authkey:) in \(file)"))
        return address
    }

    /// The listening socket on the address's port must be bound to 127.0.0.1 only: read from
    /// /proc/net/tcp and /proc/net/tcp6 (state 0A is LISTEN; addresses are hex, little-endian words).
    static func requireLoopbackOnly(_ address: SyncManagerAddress) throws {
        var bound: [String] = []
        for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
            guard let text = try? String(decoding: readFile(table), as: UTF8.self) else { continue }
            for line in text.split(separator: "\n").dropFirst() {
                let fields = line.split(separator: " ")
                guard fields.count > 3, fields[3] == "0A" else { continue }
                let local = fields[1].split(separator: ":")
                guard local.count == 2, UInt16(local[1], radix: 16) == address.port else { continue }
                bound.append(String(local[0]))
            }
        }
        try require(!bound.isEmpty, CheckFailure(
            "nothing listens on the port startRemote returned", expected: "a listening TCP socket on 127.0.0.1:\(address.port)",
            seen: "no LISTEN entry for port \(address.port) in /proc/net/tcp or tcp6", look: "startRemote(authkey:) in \(file)"))
        let open = bound.filter { $0 != "0100007F" }
        try require(open.isEmpty, CheckFailure(
            "the remote manager listens beyond loopback", expected: "bound to 127.0.0.1 only (0100007F in /proc/net/tcp)",
            seen: "bound to " + open.map { $0.allSatisfy { $0 == "0" } ? "every address (INADDR_ANY, \($0))" : $0 }.joined(separator: ", "),
            cause: "bind to INADDR_ANY (0.0.0.0) accepts connections from other machines; this lab's manager is for loopback only: 127.0.0.1",
            look: "startRemote(authkey:) in \(file)"))
    }

    /// After a failure: kill and reap the student's server if it still runs (it is the part's
    /// child) and remove its socket, so that the report shows the failure, not its debris. A
    /// passing check has stopped it already, through the student's shutdown.
    static func abandon(_ address: SyncManagerAddress) {
        var status: Int32 = 0
        if waitpid(address.serverPID, &status, WNOHANG) == 0 {
            kill(address.serverPID, SIGKILL)
            _ = waitpid(address.serverPID, &status, 0)
        }
        if let path = address.socketPath { unlink(path) }
    }

    static func stop<L: SyncManagerContract>(_: L.Type, _ address: SyncManagerAddress, authkey: [UInt8]?) throws {
        try attempt("shutdown(\(address))", look: "shutdown(_:authkey:) in \(file)") { try L.shutdown(address, authkey: authkey) }
        if kill(address.serverPID, 0) == 0 {
            // A server that is still exiting shows as running for a moment: give it a second to
            // become a zombie (never reaped) or go (reaped after all) before judging.
            let deadline = monotonicSeconds() + 1
            while kill(address.serverPID, 0) == 0, ProcessInspection.state(of: address.serverPID) != "Z", monotonicSeconds() < deadline {
                usleep(10_000)
            }
        }
        if kill(address.serverPID, 0) == 0 {
            let state = ProcessInspection.state(of: address.serverPID)
            throw CheckFailure(state == "Z" ? "the server exited but was never reaped" : "the server is still running after shutdown",
                               expected: "no process \(address.serverPID)",
                               seen: state == "Z" ? "a zombie (state Z)" : "process \(address.serverPID) in state \(state.map(String.init) ?? "?")",
                               cause: state == "Z" ? "shutdown must waitpid(serverPID, …)" : "on a shutdown request the server replies and calls _exit",
                               look: "shutdown(_:authkey:) in \(file)")
        }
        if let path = address.socketPath {
            var info = stat()
            try require(lstat(path, &info) != 0, CheckFailure(
                "the socket file is still there after shutdown", expected: "\(path) gone", seen: "it exists",
                cause: "a socket file outlives its process: unlink it when the server stops", look: "shutdown(_:authkey:) in \(file)"))
        }
    }

    static func connect<L: SyncManagerContract>(_: L.Type, _ address: SyncManagerAddress, after moment: String) throws -> L.Client {
        do {
            return try L.connect(to: address, authkey: nil)
        } catch {
            throw CheckFailure("connect(to:authkey:) failed after \(moment)", expected: "a connection to a running manager", seen: "\(error)",
                               cause: "is the server still running? It must keep accepting clients until it is asked to shut down",
                               look: "the server in \(file)")
        }
    }

    /// Forks `count` client processes that each connect and run `body`; waits for all (15 s at
    /// most) and fails with what went wrong in which client.
    static func runClients<L: SyncManagerContract>(_: L.Type, _ address: SyncManagerAddress, count: Int,
                                                   _ body: @escaping (Int, L.Client) throws -> Void) throws {
        let clients = try forkClients(count: count, connect: { try L.connect(to: address, authkey: nil) }, close: { $0.close() }, body)
        let (hung, lines) = (clients.hung, clients.failures)
        if !hung.isEmpty || !lines.isEmpty {
            throw CheckFailure("a client process failed",
                               seen: ((hung.isEmpty ? [] : ["client(s) \(hung.map(String.init).joined(separator: ", ")) still blocked after 15 s"]) + lines.prefix(4))
                                   .joined(separator: "; "),
                               cause: "every client must be served at once: one thread per accepted connection", look: file)
        }
    }

    static func expectSyncError(_ expected: SyncManagerError, _ call: String, look: String, _ body: () throws -> Void) throws {
        try expectError(expected, call, look: look,
                        cause: expected == .closed
                            ? "call() must check that the client is still open and throw SyncManagerError.closed, before it touches the descriptor"
                            : "when the server closes the connection instead of answering (end of file, EPIPE, ECONNRESET), call() throws SyncManagerError.disconnected",
                        body)
    }

    static func expectAuthenticationError(_ call: String, look: String, _ body: () throws -> Void) throws {
        do {
            try body()
        } catch is AuthenticationError {
            return
        } catch {
            throw CheckFailure("\(call) threw the wrong error", expected: "AuthenticationError", seen: "\(error)", look: look)
        }
        throw CheckFailure("\(call) succeeded", expected: "AuthenticationError: the server refuses the answer (#FAILURE#)",
                           seen: "a connection", look: look)
    }
}
