import Foundation
import Glibc
import Contracts
import Solution07      // lesson 07's reference: ServerLoop (accept, answer, reap)

// Lesson 12 — reference solution.
//
// One server process owns values, locks and events by name; clients hold proxies, and every
// proxy call is one request and one reply (lesson 07's pattern, JSON in the lab's
// FramedConnection). New here:
//   blocking requests — lock.acquire and event.wait are answered only when granted (or timed
//               out): the client's thread in the server waits on a condition variable;
//   ownership  — the server records which connection holds each lock and releases them all
//               when that connection ends, however it ends (closed, or its process killed);
//   TCP + key  — the same server on 127.0.0.1, behind CPython's challenge–response in both
//               directions, before any request is read.
// What has not changed since lesson 07 — the accept loop, one reply per request, an error reply
// for a frame that is not a request, reaping the server — is lesson 07's reference
// (Solutions/07-managers/ServerLoop.swift), called here rather than written again.

public enum SyncManager: SyncManagerContract {
    /// The socket's name inside the directory the caller gives.
    public static let socketName = "sync.sock"

    // MARK: - Starting

    public static func start(in directory: String) throws -> SyncManagerAddress {
        let socketPath = directory + "/" + socketName
        guard socketPath.utf8.count <= UnixSocket.maximumPathBytes else { throw SyncManagerError.pathTooLong(socketPath) }
        let listener = try UnixSocket.listen(at: socketPath)
        let pid = try forkServer(listener: listener, authkey: nil, socketPath: socketPath)   // forkServer closes it
        return SyncManagerAddress(socketPath: socketPath, serverPID: pid)
    }

    public static func startRemote(authkey: [UInt8]) throws -> SyncManagerAddress {
        let loopback = try listenOnLoopback()
        let port = loopback.port
        let pid = try forkServer(listener: loopback.socket, authkey: authkey, socketPath: nil)
        return SyncManagerAddress(host: "127.0.0.1", port: port, serverPID: pid)
    }

    /// Forks the server on an already listening socket (bound before the fork: a client may
    /// connect as soon as start returns), and closes this process's copy. The child never returns.
    static func forkServer(listener: consuming OwnedDescriptor, authkey: [UInt8]?, socketPath: String?) throws -> pid_t {
        fflush(nil)
        let pid = fork()
        if pid == -1 {
            let error = SystemError("fork")
            listener.close()
            if let socketPath { unlink(socketPath) }
            throw error
        }
        if pid == 0 { runServer(listener: listener, authkey: authkey, socketPath: socketPath) }
        listener.close()
        return pid
    }

    /// A listening socket and the port it listens on. Frozen, so that its socket can be taken
    /// out (to `forkServer`) in other modules.
    @frozen
    public struct Listener: ~Copyable {
        public var socket: OwnedDescriptor
        public let port: UInt16
        public init(socket: consuming OwnedDescriptor, port: UInt16) {
            self.socket = socket
            self.port = port
        }
    }

    /// A TCP socket listening on 127.0.0.1 at a port the kernel picks, which the caller owns.
    /// Loopback only: nobody on another machine can connect. The corresponding C functions are
    /// `socket`, `setsockopt`, `bind`, `getsockname` and `listen`.
    public static func listenOnLoopback() throws -> Listener {
        let socket = OwnedDescriptor(taking: try valueOrErrno("socket") { Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0) })
        let fd = socket.rawValue                                    // closed by `socket` if a step fails
        var one: Int32 = 1
        try valueOrErrno("setsockopt(SO_REUSEADDR)") { setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size)) }
        var address = loopbackAddress(port: 0)
        try withUnsafePointer(to: &address) { pointer in
            try pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { raw in
                _ = try valueOrErrno("bind", object: "127.0.0.1:0") { bind(fd, raw, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        try withUnsafeMutablePointer(to: &address) { pointer in
            try pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { raw in
                _ = try valueOrErrno("getsockname") { getsockname(fd, raw, &length) }
            }
        }
        try valueOrErrno("listen", object: "127.0.0.1") { Glibc.listen(fd, 64) }
        return Listener(socket: socket, port: UInt16(bigEndian: address.sin_port))
    }

    /// `sockaddr_in` for 127.0.0.1:`port` (both in network byte order).
    public static func loopbackAddress(port: UInt16) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian            // INADDR_LOOPBACK
        return address
    }

    // MARK: - The server (runs in the forked child, never returns)

    /// Serves on `listener`, which the forked server owns until it ends.
    static func runServer(listener: consuming OwnedDescriptor, authkey: [UInt8]?, socketPath: String?) -> Never {
        let state = ServerState(socketPath: socketPath)
        var nextID = 0
        ServerLoop.acceptForever(listener, stop: { if let socketPath { unlink(socketPath) } }) { accepted in
            nextID += 1
            // One thread per client: a client blocked in lock.acquire or event.wait (or stalled
            // in the handshake) holds up only its own thread.
            let client = ClientThread(connection: FramedConnection(owning: accepted), id: nextID, authkey: authkey, state: state)
            Thread { client.run() }.start()
        }
    }

    final class ClientThread: @unchecked Sendable {
        let connection: FramedConnection
        let id: Int
        let authkey: [UInt8]?
        let state: ServerState
        init(connection: FramedConnection, id: Int, authkey: [UInt8]?, state: ServerState) {
            self.connection = connection
            self.id = id
            self.authkey = authkey
            self.state = state
        }

        func run() {
            if let authkey {
                // As Python's Listener.accept: challenge the client, then answer its challenge.
                do {
                    try deliverChallenge(connection, authkey: authkey)
                    try answerChallenge(connection, authkey: authkey)
                } catch {
                    connection.close()
                    return
                }
            }
            serveClient(connection, id: id, state: state)
        }
    }

    /// Answers one client's requests until its connection ends (lesson 07's loop: a frame that
    /// does not decode gets an error reply and the connection stays); then releases what it held.
    static func serveClient(_ connection: FramedConnection, id: Int, state: ServerState) {
        defer {
            // However the connection ended — closed, or the client was killed (the kernel closes
            // its socket: we read end-of-file) — the locks it held must not stay held.
            state.releaseLocks(heldBy: id)
            connection.close()
        }
        let badRequest = (try? encode(.failure("bad request: expected a SyncRequest in JSON"))) ?? []
        ServerLoop.serveRequests(connection, badRequest: badRequest) { bytes in
            guard let request = try? JSONDecoder().decode(SyncRequest.self, from: Data(bytes)) else { return nil }
            let reply = try encode(state.apply(request, client: id))
            if request.op == .shutdown, let socketPath = state.socketPath { unlink(socketPath) }
            return ServerLoop.Answer(reply: reply, thenExit: request.op == .shutdown)
        }
    }

    public static func encode(_ reply: SyncReply) throws -> [UInt8] { Array(try JSONEncoder().encode(reply)) }

    /// What the server owns: one condition variable (a lock and a wait queue) guards it all.
    final class ServerState: @unchecked Sendable {
        let socketPath: String?
        let condition = NSCondition()
        var values: [String: Int] = [:]
        /// Lock name → the connection that holds it.
        var holders: [String: Int] = [:]
        var events: Set<String> = []

        init(socketPath: String?) { self.socketPath = socketPath }

        func apply(_ request: SyncRequest, client: Int) -> SyncReply {
            condition.lock()
            defer { condition.unlock() }
            if request.op == .shutdown { return .success() }
            guard let name = request.name else { return .failure("\(request.op.rawValue) needs a name") }
            let deadline = request.timeout.map { Date(timeIntervalSinceNow: max(0, $0)) }
            switch request.op {
            case .valueGet:
                return .success(value: values[name] ?? 0)
            case .valueSet:
                guard let value = request.value else { return .failure("value.set needs a value") }
                values[name] = value
                return .success()
            case .valueIncrement:
                let (sum, overflow) = (values[name] ?? 0).addingReportingOverflow(request.value ?? 1)
                if overflow { return .failure("value.increment overflows Int") }
                values[name] = sum
                return .success(value: sum)
            case .lockAcquire:
                while holders[name] != nil {
                    if !wait(until: deadline) { return .success(flag: false) }
                }
                holders[name] = client
                return .success(flag: true)
            case .lockRelease:
                guard holders[name] == client else { return .failure("release of lock \"\(name)\", which this client does not hold") }
                holders[name] = nil
                condition.broadcast()                      // waiters for this lock re-check
                return .success()
            case .eventSet:
                events.insert(name)
                condition.broadcast()                      // every waiter, not one
                return .success()
            case .eventClear:
                events.remove(name)
                return .success()
            case .eventIsSet:
                return .success(flag: events.contains(name))
            case .eventWait:
                // The flag is tested and the wait begun under the same lock that set() takes:
                // a set() cannot slip in between (no lost wake-up).
                while !events.contains(name) {
                    if !wait(until: deadline) { return .success(flag: events.contains(name)) }
                }
                return .success(flag: true)
            case .shutdown:
                return .success()
            }
        }

        /// One wait on the condition; false once `deadline` has passed.
        private func wait(until deadline: Date?) -> Bool {
            guard let deadline else { condition.wait(); return true }
            return condition.wait(until: deadline) || Date() < deadline
        }

        /// Releases every lock `client` holds and wakes the waiters.
        func releaseLocks(heldBy client: Int) {
            condition.lock()
            defer { condition.unlock() }
            let held = holders.filter { $0.value == client }.map(\.key)
            for name in held { holders[name] = nil }
            if !held.isEmpty { condition.broadcast() }
        }
    }

    // MARK: - The handshake (CPython's multiprocessing.connection)

    public static func deliverChallenge(_ connection: FramedConnection, authkey: [UInt8]) throws {
        var generator = SystemRandomNumberGenerator()
        let message = Array("{sha256}".utf8) + (0..<40).map { _ in UInt8.random(in: 0...255, using: &generator) }
        try connection.send(Handshake.challenge + message)
        // At most 256 bytes, as Python's recv_bytes(256): a longer answer is refused as soon as its
        // length arrives, before the server reads (or waits for) any of it.
        let response: [UInt8]
        do {
            response = try connection.receive(atMost: Handshake.maximumMessage)
        } catch FramedConnection.Failure.badLength(let length) {
            try? connection.send(Handshake.failure)
            throw AuthenticationError("a response of \(length) bytes (at most \(Handshake.maximumMessage))")
        }
        let expected: [UInt8]
        if response.count == DigestAlgorithm.md5.length {
            expected = HMAC.authenticate(message, key: authkey, with: .md5)           // a 3.11 peer: raw HMAC-MD5
        } else if let (algorithm, _) = digestPrefix(response) {
            expected = Array("{\(algorithm.rawValue)}".utf8) + HMAC.authenticate(message, key: authkey, with: algorithm)
        } else {
            expected = []
        }
        guard !expected.isEmpty, HMAC.equalInConstantTime(response, expected) else {
            try? connection.send(Handshake.failure)
            throw AuthenticationError("digest received was wrong")
        }
        try connection.send(Handshake.welcome)
    }

    public static func answerChallenge(_ connection: FramedConnection, authkey: [UInt8]) throws {
        let received: [UInt8]
        do {
            received = try connection.receive(atMost: Handshake.maximumMessage)
        } catch FramedConnection.Failure.badLength(let length) {
            throw AuthenticationError("protocol error: a challenge of \(length) bytes (at most \(Handshake.maximumMessage))")
        }
        guard received.starts(with: Handshake.challenge) else {
            throw AuthenticationError("protocol error: expected a challenge, got \(received.count) bytes")
        }
        let message = Array(received.dropFirst(Handshake.challenge.count))
        let response: [UInt8]
        if message.count == Handshake.legacyMessageLength || message.count == DigestAlgorithm.md5.length {
            response = HMAC.authenticate(message, key: authkey, with: .md5)           // a 3.11 challenger
        } else if let (algorithm, _) = digestPrefix(message) {
            // The MAC covers the whole message, prefix included: no downgrade by editing it.
            response = Array("{\(algorithm.rawValue)}".utf8) + HMAC.authenticate(message, key: authkey, with: algorithm)
        } else {
            throw AuthenticationError("unsupported challenge: no {digest} prefix and not 20 bytes")
        }
        try connection.send(response)
        guard try connection.receive(atMost: Handshake.maximumMessage) == Handshake.welcome else {
            throw AuthenticationError("digest sent was rejected")
        }
    }

    /// `{md5}…` or `{sha256}…`: the algorithm and what follows the prefix.
    public static func digestPrefix(_ bytes: [UInt8]) -> (DigestAlgorithm, [UInt8])? {
        for algorithm in DigestAlgorithm.allCases {
            let prefix = Array("{\(algorithm.rawValue)}".utf8)
            if bytes.starts(with: prefix) { return (algorithm, Array(bytes.dropFirst(prefix.count))) }
        }
        return nil
    }

    // MARK: - Clients

    public static func connect(to address: SyncManagerAddress, authkey: [UInt8]?) throws -> SyncClient {
        if let socketPath = address.socketPath {
            return SyncClient(connection: FramedConnection(owning: try UnixSocket.connect(to: socketPath)))
        }
        let connection = FramedConnection(owning: try connectTCP(port: address.port))
        do {
            // As Python's Client: answer the server's challenge, then challenge the server.
            let key = authkey ?? []
            try answerChallenge(connection, authkey: key)
            try deliverChallenge(connection, authkey: key)
        } catch {
            connection.close()
            throw error
        }
        return SyncClient(connection: connection)
    }

    /// A TCP connection to 127.0.0.1:`port`, owned by the caller (closed if `connect` fails).
    /// The corresponding C functions are `socket` and `connect`.
    public static func connectTCP(port: UInt16) throws -> OwnedDescriptor {
        let fd = OwnedDescriptor(taking: try valueOrErrno("socket") {
            socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        })
        var address = loopbackAddress(port: port)
        try withUnsafePointer(to: &address) { pointer in
            try pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { raw in
                _ = try valueOrErrno("connect", object: "127.0.0.1:\(port)") {
                    Glibc.connect(fd.rawValue, raw, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
        }
        return fd
    }

    // MARK: - Stopping

    public static func shutdown(_ address: SyncManagerAddress, authkey: [UInt8]?) throws {
        var askError: Error? = nil
        do {
            let client = try connect(to: address, authkey: authkey)
            defer { client.close() }
            _ = try client.call(SyncRequest(.shutdown))
        } catch {
            askError = error
        }
        // Reap; a server that does not stop within 5 s of being asked is killed.
        try ServerLoop.reap(address.serverPID)
        if let socketPath = address.socketPath { unlink(socketPath) }   // in case the server crashed
        if let askError { throw askError }
    }
}

/// A connection to the manager; `value`, `lock` and `event` are its proxies.
public final class SyncClient: SyncClientContract {
    let connection: FramedConnection

    public init(connection: FramedConnection) { self.connection = connection }

    deinit { connection.close() }

    public func value(_ name: String) -> ValueProxy { ValueProxy(client: self, name: name) }
    public func lock(_ name: String) -> LockProxy { LockProxy(client: self, name: name) }
    public func event(_ name: String) -> EventProxy { EventProxy(client: self, name: name) }

    public func call(_ request: SyncRequest) throws -> SyncReply {
        guard connection.isOpen else { throw SyncManagerError.closed }
        let bytes: [UInt8]
        do {
            try connection.send(Array(try JSONEncoder().encode(request)))
            bytes = try connection.receive()
        } catch is FramedConnection.Failure {
            throw SyncManagerError.disconnected
        } catch let error as SystemError where error.errno == EPIPE || error.errno == ECONNRESET {
            throw SyncManagerError.disconnected
        }
        return try JSONDecoder().decode(SyncReply.self, from: Data(bytes))
    }

    /// The reply, or its error thrown as `SyncManagerError.server`.
    func result(_ request: SyncRequest) throws -> SyncReply {
        let reply = try call(request)
        guard reply.ok else { throw SyncManagerError.server(reply.error ?? "unknown error") }
        return reply
    }

    public func close() { connection.close() }
}

public struct ValueProxy: ValueProxyContract {
    let client: SyncClient
    let name: String

    public func get() throws -> Int { try client.result(SyncRequest(.valueGet, name: name)).value ?? 0 }

    public func set(_ value: Int) throws { _ = try client.result(SyncRequest(.valueSet, name: name, value: value)) }

    public func increment(by delta: Int) throws -> Int {
        guard let value = try client.result(SyncRequest(.valueIncrement, name: name, value: delta)).value else {
            throw SyncManagerError.server("value.increment answered without a value")
        }
        return value
    }
}

public struct LockProxy: LockProxyContract {
    let client: SyncClient
    let name: String

    public func acquire(timeout: Double?) throws -> Bool {
        try client.result(SyncRequest(.lockAcquire, name: name, timeout: timeout)).flag ?? false
    }

    public func release() throws { _ = try client.result(SyncRequest(.lockRelease, name: name)) }
}

public struct EventProxy: EventProxyContract {
    let client: SyncClient
    let name: String

    public func set() throws { _ = try client.result(SyncRequest(.eventSet, name: name)) }
    public func clear() throws { _ = try client.result(SyncRequest(.eventClear, name: name)) }
    public func isSet() throws -> Bool { try client.result(SyncRequest(.eventIsSet, name: name)).flag ?? false }

    public func wait(timeout: Double?) throws -> Bool {
        try client.result(SyncRequest(.eventWait, name: name, timeout: timeout)).flag ?? false
    }
}
