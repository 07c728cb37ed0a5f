import Foundation
import Glibc
import Synchronization

// The client processes of parts 1–4 and how the check tells a server that leaves some of them
// waiting from a slow one: by what the processes are doing, never by how long something took or
// how often a waiter happened to wake.

extension Lesson07 {
    /// Where forked clients meet: for each named point, a 32-bit count in shared memory that each
    /// client bumps and then sleeps on in the kernel (a process-shared futex) until every client
    /// got there (at most 10 s). The last to arrive wakes the others.
    ///
    /// A waiter sleeps rather than naps: a client waiting here is asleep and never scheduled, so
    /// when the clients and the server all sleep, nobody is left to wake anybody. `runClients`
    /// (and, in part 2, the runner's stall watch) sees exactly that, whatever the machine's load.
    /// (A waiter that napped 100 µs at a time used about 3% of a CPU: the stall watch then saw
    /// "work" in some runs and a deadlock in others.)
    struct Barrier {
        static let names = ["connected", "appended", "counted", "served"]
        /// Words per name.
        static let stride = 8
        /// 32 bytes per name: its count, and 16 bytes further a word of all ones, which no
        /// `pthread_mutex_t` has as its kind (so that the runner's deadlock report does not read a
        /// waited-on count as a mutex "locked with no owner"); then one word per client: the number
        /// of the last point it reached (its index in `names` + 1; 0: none yet).
        let words: UnsafeMutablePointer<Atomic<UInt32>>
        let clients: Int
        /// The client (0-based) that arrives through this value; the parent's copy has none.
        var client: Int?

        /// The words at the start of `block` (zero-filled shared memory, as `labSharedBlock` makes).
        init(in block: UnsafeMutableRawBufferPointer, clients: Int) {
            let capacity = Self.names.count * Self.stride + clients
            precondition(capacity * MemoryLayout<UInt32>.stride <= block.count, "the barrier's block is too small")
            words = block.baseAddress!.bindMemory(to: Atomic<UInt32>.self, capacity: capacity)
            self.clients = clients
            for slot in Self.names.indices { (words + Self.stride * slot + 4).pointee.store(.max, ordering: .relaxed) }
        }

        /// The count of point `slot`: the futex word its waiters sleep on.
        func count(_ slot: Int) -> UnsafeMutablePointer<Atomic<UInt32>> { words + Self.stride * slot }
        /// Where `client` notes the last point it reached.
        func reached(_ client: Int) -> UnsafeMutablePointer<Atomic<UInt32>> { words + Self.stride * Self.names.count + client }

        func arrive(_ name: String) throws {
            guard let slot = Self.names.firstIndex(of: name) else { throw CheckFailure("unknown barrier \(name)") }
            if let client { reached(client).pointee.store(UInt32(slot + 1), ordering: .releasing) }
            let word = count(slot)
            let all = UInt32(clients)
            if word.pointee.add(1, ordering: .acquiringAndReleasing).newValue >= all {
                Futex.wake(UnsafeRawPointer(word))
                return
            }
            let deadline = monotonicSeconds() + 10
            while true {
                let seen = word.pointee.load(ordering: .acquiring)
                if seen >= all { return }
                let left = deadline - monotonicSeconds()
                guard left > 0 else { throw Stalled(name: name, arrived: Int(seen), clients: clients) }
                // Sleeps only while the count is still `seen`: an arrival in between is never missed.
                _ = Futex.wait(UnsafeRawPointer(word), expected: seen, timeout: left)
            }
        }

        /// The last point client `index` reached, if any.
        func lastReached(by index: Int) -> String? {
            let slot = Int(reached(index).pointee.load(ordering: .acquiring))
            return slot == 0 ? nil : Self.names[slot - 1]
        }

        /// How many clients have reached `name`.
        func arrived(at name: String) -> Int {
            guard let slot = Self.names.firstIndex(of: name) else { return 0 }
            return Int(count(slot).pointee.load(ordering: .acquiring))
        }
    }

    struct Stalled: Error, CustomStringConvertible {
        let name: String
        let arrived: Int
        let clients: Int
        var description: String { "only \(arrived) of \(clients) clients reached \"\(name)\" within 10 s" }
    }

    /// What `runClients` does when its clients and the server all sleep and none of them can
    /// wake another.
    enum WhenLeftWaiting {
        /// The check says so itself, at once: a failed part naming who waits for what (parts 1,
        /// 3 and 4, where clients wait at the check's barrier for clients the server does not serve).
        case fail
        /// It leaves them asleep, and the runner's stall watch ends the part as deadlocked with
        /// each process's wait (part 2, where a client waits for its reply holding the lab's lock
        /// and the others sleep in that lock).
        case sleep
    }

    /// Watches the part's processes below the check (the server and the clients) for the moment
    /// none of them can move: every thread of every one asleep at each look, over `span` seconds,
    /// and not one client scheduled meanwhile. A server always has a thread awake while it owes a
    /// client something (woken by the request it must read, or by the connection it must accept),
    /// and a client woken by its reply is scheduled; so a slow server, however slow, is never still,
    /// while a server that serves only clients which themselves wait (at the check's barrier) for
    /// the clients it does not serve is still for good. (The server's threads need only be asleep
    /// at each look: one that wakes on a timer of its own, as a poll with a timeout does, serves
    /// nobody by waking.)
    struct Stillness {
        /// How long everything must stay still. Well inside the stall watch's 1.5 s, so that the
        /// check, not the runner, explains it.
        static let span = 0.25
        /// How often to look, and how long after the clients start the first look comes: most
        /// runs of a working server are over by then, and a look (every thread's stat, status and
        /// schedstat) is not free on a 2-core machine.
        static let interval = 0.1
        static let firstLook = 0.2
        private var since: (time: Double, threads: [pid_t: (pid: pid_t, snapshot: ProcessSnapshot)])?
        private var nextLook: Double

        init(clientsStarted: Double) { nextLook = clientsStarted + Self.firstLook }

        /// True once every thread below this process has been asleep at each look for `span`
        /// seconds and no thread of `clients` was scheduled; false while any runs, a thread appeared
        /// or ended, or the server is gone.
        mutating func isStill(server: pid_t, clients: Set<pid_t>, at now: Double) -> Bool {
            guard now >= nextLook else { return false }
            nextLook = now + Self.interval
            guard let threads = Self.threads(server: server), threads.values.allSatisfy({ $0.snapshot.state == "S" }) else {
                since = nil
                return false
            }
            if let since, since.threads.count == threads.count, since.threads.allSatisfy({ tid, before in
                guard let current = threads[tid] else { return false }
                return !clients.contains(current.pid)
                    || (current.snapshot.contextSwitches == before.snapshot.contextSwitches
                        && current.snapshot.cpuNanoseconds == before.snapshot.cpuNanoseconds)
            }) {
                return now - since.time >= Self.span
            }
            since = (now, threads)
            return false
        }

        /// Every thread of every live process below this one, by thread id, with its process; nil
        /// when the server is not among them (it ended, or it is not this process's descendant).
        static func threads(server: pid_t) -> [pid_t: (pid: pid_t, snapshot: ProcessSnapshot)]? {
            var result: [pid_t: (pid: pid_t, snapshot: ProcessSnapshot)] = [:]
            var sawServer = false
            for pid in ProcessInspection.descendants(of: getpid()) {
                guard let process = ProcessSnapshot.of(pid), process.state != "Z" else { continue }   // ended: not waiting
                sawServer = sawServer || pid == server
                let tids = ((try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")) ?? []).compactMap { pid_t($0) }
                for tid in tids {
                    guard let thread = ProcessSnapshot.of(pid, thread: tid) else { return nil }
                    result[tid] = (pid, thread)
                }
            }
            return sawServer ? result : nil
        }
    }

    /// Forks `count` client processes that each connect and run `body`, all kept connected until
    /// `body` returns; waits for all (15 s at most), or until one fails (the others are killed
    /// then: they may wait at a barrier it will never reach). Fails with what went wrong in which
    /// client, and recognises a server that leaves clients waiting while it serves others that
    /// stay connected (one client at a time, or a fixed pool of threads all taken):
    /// `whenLeftWaiting`.
    static func runClients<L: ManagerContract>(_: L.Type, _ address: ManagerAddress, count: Int,
                                               whenLeftWaiting: WhenLeftWaiting = .fail,
                                               _ body: @escaping (Int, L.Client, Barrier) throws -> Void) throws {
        let block = try labSharedBlock(bytes: 4096)
        defer { labUnmap(block) }
        let barrier = Barrier(in: block, clients: count)
        let started = try startClients(count: count, connect: { try L.connect(to: address) },
                                      close: { $0.close() }) { index, client in
            var mine = barrier
            mine.client = index
            try body(index, client, mine)
        }
        let children = started.children
        // Reap the clients as they end; meanwhile look for the moment nothing can move. A client
        // that failed ends the wait: the others may be waiting at a barrier it will never reach.
        var running = Set(children)
        var stillness = Stillness(clientsStarted: monotonicSeconds())
        var leftWaiting: String?
        var aClientFailed = false
        let deadline = monotonicSeconds() + 15
        var pause: UInt32 = 100
        while !running.isEmpty && !aClientFailed && monotonicSeconds() < deadline {
            for pid in running {
                var status: Int32 = 0
                let rc = waitpid(pid, &status, WNOHANG)
                if rc == pid || (rc == -1 && errno != EINTR) { running.remove(pid) }
                if rc == pid && ProcessEnd(waitStatus: status) != .exited(0) { aClientFailed = true }
            }
            if running.isEmpty || aClientFailed { break }
            if whenLeftWaiting == .fail && stillness.isStill(server: address.serverPID, clients: running, at: monotonicSeconds()) {
                leftWaiting = whoWaits(children: children, running: running, barrier: barrier, server: address.serverPID)
                break
            }
            usleep(pause)
            pause = min(pause * 2, 5000)
        }
        let hung = aClientFailed ? [] : children.indices.filter { running.contains(children[$0]) }.map { $0 + 1 }
        for pid in running {
            kill(pid, SIGKILL)
            var status: Int32 = 0
            _ = waitpid(pid, &status, 0)
        }
        let lines = started.failureLines()
        let cause = "the server serves one connection until it closes — or has a fixed number of threads, all busy with connections that stay open — so the others wait behind them: serve each accepted connection in its own thread"
        if let leftWaiting {
            throw CheckFailure("clients were left waiting while other clients stayed connected",
                               expected: "all \(count) clients served at the same time", seen: leftWaiting,
                               cause: cause, look: "the server's accept loop in \(file)")
        }
        if !hung.isEmpty || lines.contains(where: { $0.contains("within 10 s") }) {
            throw CheckFailure("clients were left waiting while other clients stayed connected",
                               expected: "all \(count) clients served at the same time",
                               seen: ((hung.isEmpty ? [] : ["client(s) \(hung.map(String.init).joined(separator: ", ")) still blocked after 15 s"])
                                      + Array(lines.prefix(4))).joined(separator: "; "),
                               cause: cause, look: "the server's accept loop in \(file)")
        }
        if !lines.isEmpty {
            // A server dying of a client's request may still be writing its crash report.
            _ = waitUntilThreadsBlocked(address.serverPID, timeout: 5)
            let end = serverEnd(address)
            let ended = end.map { " (the server process \($0))" } ?? ""
            var cause: String?
            if case .signaled? = end {
                cause = "the server crashed while it served several clients at once. Candidates: its threads share the list and the dict without one lock around every request (a Swift Array or Dictionary changed by two threads at once is corrupted), or a trap (try!, !, an overflowing +) on a request"
            }
            throw CheckFailure("a client process failed\(ended)", seen: lines.prefix(4).joined(separator: "; "), cause: cause,
                               look: cause == nil ? file : "the server's request handling in \(file)")
        }
    }

    /// What the still clients and the server wait in, for the failure: "client 1 waits at the
    /// check's meeting point "appended" for the others, still connected; client 2 sleeps in
    /// read(…): a request sent, no reply; the server (…): in read(…)".
    static func whoWaits(children: [pid_t], running: Set<pid_t>, barrier: Barrier, server: pid_t) -> String {
        func call(_ pid: pid_t, _ tid: pid_t) -> String {
            ThreadWait.describe(pid: pid, tid: tid).components(separatedBy: "; ").first { $0.hasPrefix("in ") } ?? "asleep"
        }
        func numbers(_ indices: [Int]) -> String {
            (indices.count == 1 ? "client " : "clients ") + indices.map { String($0 + 1) }.joined(separator: ", ")
        }
        var parts = ["the server and every client asleep for \(Stillness.span) s, no client scheduled"]
        // A client waits at the last point it reached while not every client got there; any
        // other sleeps in a call of its own (its request's reply, or connect).
        var atPoint: [String: [Int]] = [:]
        var inCall: [(kind: String, example: String, clients: [Int])] = []
        for index in children.indices where running.contains(children[index]) {
            if let point = barrier.lastReached(by: index), barrier.arrived(at: point) < barrier.clients {
                atPoint[point, default: []].append(index)
                continue
            }
            let words = call(children[index], children[index])
            let kind = words.components(separatedBy: "(").first ?? words
            if let k = inCall.firstIndex(where: { $0.kind == kind }) {
                inCall[k].clients.append(index)
            } else {
                inCall.append((kind, words, [index]))
            }
        }
        for point in Barrier.names {
            guard let indices = atPoint[point] else { continue }
            parts.append("\(numbers(indices)) wait\(indices.count == 1 ? "s" : "") at the check's meeting point \"\(point)\" for the others, still connected")
        }
        for (kind, example, indices) in inCall {
            let one = indices.count == 1
            let reading = kind.hasPrefix("in read") || kind.hasPrefix("in recv")
            parts.append("\(numbers(indices)) sleep\(one ? "s" : "") \(example)\(one ? "" : " (each on its own connection)")"
                         + (reading ? ": a request sent, no reply" : ""))
        }
        let serverThreads = ((try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(server)/task")) ?? [])
            .compactMap { pid_t($0) }.sorted()
        let calls = serverThreads.prefix(4).map { call(server, $0) }
        parts.append("the server (pid \(server), \(serverThreads.count) thread\(serverThreads.count == 1 ? "" : "s")): "
                     + calls.joined(separator: ", ") + (serverThreads.count > 4 ? ", …" : ""))
        return parts.joined(separator: "; ")
    }
}
