import Foundation
import Glibc
import Contracts

// Lesson 07 — reference solution.
//
// A manager is a server process that owns the objects; clients hold proxies, and every proxy call
// is one request and one reply over a Unix domain socket. The pieces:
//   start     — a private 0700 directory, a listening socket in it, fork the server.
//   server    — accept; check who connected (SO_PEERCRED); one thread per client, so a slow or
//               stalled client never holds up the others; one lock around the list and the dict.
//   client    — FramedConnection (the lab's lesson-06 framing) carrying JSON requests and replies
//               (CompactJSON: the lab's Codable JSON coder; Foundation's JSONEncoder/JSONDecoder
//               write and read the same JSON, several microseconds slower per message).
//   shutdown  — ask, reap, and make sure the socket and its directory are gone.

public enum Manager: ManagerContract {
    /// The socket's name inside the private directory.
    public static let socketName = "manager.sock"

    // MARK: - Starting

    public static func start(in parent: String) throws -> ManagerAddress {
        let directory = try makePrivateDirectory(in: parent)
        let socketPath = directory + "/" + socketName
        guard socketPath.utf8.count <= UnixSocket.maximumPathBytes else {
            rmdir(directory)
            throw ManagerError.pathTooLong(socketPath)
        }
        let listener: OwnedDescriptor
        do {
            listener = try listen(at: socketPath)
        } catch {
            rmdir(directory)
            throw error
        }
        // Bound and listening before the fork: a client may connect as soon as start returns;
        // the kernel queues it until the server accepts.
        fflush(nil)
        let pid = fork()
        if pid == -1 {
            let error = SystemError("fork")
            listener.close()
            unlink(socketPath)
            rmdir(directory)
            throw error
        }
        if pid == 0 {
            runServer(listener: listener, socketPath: socketPath, directory: directory)
        }
        listener.close()                           // the server owns its copy now
        return ManagerAddress(socketPath: socketPath, directory: directory, serverPID: pid)
    }

    /// mkdtemp creates the directory with mode 0700: only our user can reach the socket inside.
    /// (Python puts its manager's socket in such a directory too: /tmp/pymp-XXXXXXXX.)
    public static func makePrivateDirectory(in parent: String) throws -> String {
        var template = Array("\(parent)/manager-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw SystemError("mkdtemp", object: parent) }
        return String(cString: made)
    }

    /// A socket bound to `path` and listening, which the caller owns (a failed `bind` or
    /// `listen` closes it). The corresponding C functions are `socket`, `bind` and `listen`.
    public static func listen(at path: String) throws -> OwnedDescriptor {
        try listen(on: socketAddress(path), path: path)
    }

    /// The same on an address already filled in (`path` names it in errors).
    public static func listen(on address: sockaddr_un, path: String) throws -> OwnedDescriptor {
        var address = address
        let socket = OwnedDescriptor(taking: try valueOrErrno("socket") { Glibc.socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0) })
        let fd = socket.rawValue
        try withUnsafePointer(to: &address) { pointer in
            try pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { raw in
                _ = try valueOrErrno("bind", object: path) { bind(fd, raw, socklen_t(MemoryLayout<sockaddr_un>.size)) }
            }
        }
        try valueOrErrno("listen", object: path) { Glibc.listen(fd, 64) }
        return socket
    }

    /// `sockaddr_un` holding `path` (at most 107 bytes and a NUL).
    static func socketAddress(_ path: String) throws -> sockaddr_un {
        let bytes = Array(path.utf8)
        guard bytes.count <= UnixSocket.maximumPathBytes else { throw ManagerError.pathTooLong(path) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (i, byte) in bytes.enumerated() { raw[i] = byte }
        }
        return address
    }

    // MARK: - The server (runs in the forked child, never returns)

    /// Serves on `listener`, which the forked server owns until it ends.
    public static func runServer(listener: consuming OwnedDescriptor, socketPath: String, directory: String) -> Never {
        let state = ServerState(socketPath: socketPath, directory: directory)
        let me = geteuid()
        ServerLoop.acceptForever(listener, stop: state.removeSocketAndDirectory) { accepted in
            let connection = FramedConnection(owning: accepted)
            // Who is at the other end? The kernel recorded the peer's uid when it connected.
            // The 0700 directory already keeps other users out; this check does not rely on it.
            guard let peer = try? peerCredentials(of: connection.borrowed), peer.uid == me else {
                let uid = (try? peerCredentials(of: connection.borrowed)).map { "\($0.uid)" } ?? "unknown"
                try? connection.send(encode(ManagerReply.failure("refused: uid \(uid) is not the manager's uid \(me)")))
                connection.close()
                return
            }
            // One thread per client: a client that stalls in the middle of a request blocks only
            // its own thread. The threads share the state under one lock.
            let client = ClientThread(connection: connection, state: state)
            Thread { client.run() }.start()
        }
    }

    /// What one client's thread works with. Only that thread touches the connection; the state
    /// has its own lock. (@unchecked Sendable: we promise the compiler that much.)
    final class ClientThread: @unchecked Sendable {
        let connection: FramedConnection
        let state: ServerState
        init(connection: FramedConnection, state: ServerState) {
            self.connection = connection
            self.state = state
        }
        func run() { serveClient(connection, state) }
    }

    /// Answers one client's requests until it closes (or breaks) its connection: a frame that is
    /// not a request gets an error reply; end-of-file, a client killed mid-request, an absurd
    /// length or a reply that cannot be sent (EPIPE, never SIGPIPE: FramedConnection sends with
    /// MSG_NOSIGNAL) drop this client only (ServerLoop.serveRequests).
    public static func serveClient(_ connection: FramedConnection, _ state: ServerState) {
        defer { connection.close() }
        let badRequest = (try? encode(ManagerReply.failure("bad request: expected a ManagerRequest in JSON"))) ?? []
        ServerLoop.serveRequests(connection, badRequest: badRequest) { bytes in
            guard let request = try? CompactJSON.decode(ManagerRequest.self, from: bytes) else { return nil }
            let reply = try encode(state.apply(request))
            if request.op == .shutdown { state.removeSocketAndDirectory() }   // no new clients from here on
            return ServerLoop.Answer(reply: reply, thenExit: request.op == .shutdown)
        }
    }

    /// What the server owns, and the one lock every request takes.
    public final class ServerState {
        let socketPath: String
        let directory: String
        let lock = NSLock()
        var list: [Int] = []
        var dict: [String: Int] = [:]

        public init(socketPath: String, directory: String) {
            self.socketPath = socketPath
            self.directory = directory
        }

        /// Carries out one request, atomically with respect to every other.
        public func apply(_ request: ManagerRequest) -> ManagerReply {
            lock.lock()
            defer { lock.unlock() }
            switch request.op {
            case .append:
                guard let value = request.value else { return .failure("append needs a value") }
                list.append(value)
                return .success()
            case .count:
                return .success(value: list.count)
            case .item:
                guard let index = request.index else { return .failure("item needs an index") }
                guard list.indices.contains(index) else { return .failure(ManagerReply.indexOutOfRange) }
                return .success(value: list[index])
            case .snapshot:
                return .success(values: list)
            case .set:
                guard let key = request.key, let value = request.value else { return .failure("set needs a key and a value") }
                dict[key] = value
                return .success()
            case .get:
                guard let key = request.key else { return .failure("get needs a key") }
                return .success(value: dict[key])
            case .increment:
                // Read, add and write under the lock, in the server: the whole point. Done by the
                // client as get + set, two clients can read the same value and one update is lost.
                guard let key = request.key else { return .failure("increment needs a key") }
                let (sum, overflow) = (dict[key] ?? 0).addingReportingOverflow(request.value ?? 1)
                if overflow { return .failure("increment overflows Int") }
                dict[key] = sum
                return .success(value: sum)
            case .shutdown:
                return .success()
            }
        }

        /// Unlinks the socket and removes its directory (the server's job when it stops).
        public func removeSocketAndDirectory() {
            unlink(socketPath)
            rmdir(directory)
        }
    }

    // MARK: - Clients

    public static func connect(to address: ManagerAddress) throws -> ManagerClient {
        var socketAddress = try socketAddress(address.socketPath)
        let fd = try valueOrErrno("socket") { socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0) }
        do {
            try withUnsafePointer(to: &socketAddress) { pointer in
                try pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { raw in
                    _ = try valueOrErrno("connect", object: address.socketPath) {
                        Glibc.connect(fd, raw, socklen_t(MemoryLayout<sockaddr_un>.size))
                    }
                }
            }
        } catch {
            Glibc.close(fd)
            throw error
        }
        return ManagerClient(connection: FramedConnection(owning: OwnedDescriptor(taking: fd)))
    }

    // MARK: - Stopping

    public static func shutdown(_ address: ManagerAddress) throws {
        // Ask: the server removes its socket and directory, answers, and exits.
        var askError: Error? = nil
        do {
            let client = try connect(to: address)
            defer { client.close() }
            _ = try client.result(ManagerRequest(.shutdown))
        } catch {
            askError = error
        }
        // Reap: an ended child stays a zombie in the process table until its parent waits for it.
        // A server that does not stop within 5 s of being asked is killed.
        try ServerLoop.reap(address.serverPID)
        // If the server could not clean up after itself (it had crashed), do it here.
        unlink(address.socketPath)
        rmdir(address.directory)
        if let askError { throw askError }
    }

    /// Replies are JSON (CompactJSON's fast lane: ManagerReply writes its own members).
    public static func encode(_ reply: ManagerReply) throws -> [UInt8] {
        try CompactJSON.encode(reply)
    }
}

/// A connection to the manager. Its proxies (`list`, `dict`) turn method calls into requests.
public final class ManagerClient: ManagerClientContract {
    let connection: FramedConnection

    init(connection: FramedConnection) { self.connection = connection }

    deinit { connection.close() }

    public var list: ListProxy { ListProxy(client: self) }
    public var dict: DictProxy { DictProxy(client: self) }

    public func call(_ request: ManagerRequest) throws -> ManagerReply {
        guard connection.isOpen else { throw ManagerError.closed }
        let payload = try CompactJSON.encode(request)
        let bytes: [UInt8]
        do {
            try connection.send(payload)
            bytes = try connection.receive()
        } catch is FramedConnection.Failure {
            throw ManagerError.disconnected            // closed (or broke) instead of answering
        } catch let error as SystemError where error.errno == EPIPE || error.errno == ECONNRESET {
            throw ManagerError.disconnected
        }
        return try CompactJSON.decode(ManagerReply.self, from: bytes)
    }

    /// The reply, or its error thrown as `ManagerError.server`.
    func result(_ request: ManagerRequest) throws -> ManagerReply {
        let reply = try call(request)
        guard reply.ok else { throw ManagerError.server(reply.error ?? "unknown error") }
        return reply
    }

    public func close() { connection.close() }
}

/// Python's `manager.list()`: each method is one request.
public struct ListProxy: ListProxyContract {
    let client: ManagerClient

    public func append(_ value: Int) throws {
        _ = try client.result(ManagerRequest(.append, value: value))
    }

    public func count() throws -> Int {
        try client.result(ManagerRequest(.count)).value ?? 0
    }

    public func item(at index: Int) throws -> Int {
        let reply = try client.call(ManagerRequest(.item, index: index))
        if reply.error == ManagerReply.indexOutOfRange { throw ManagerError.indexOutOfRange(index) }
        guard reply.ok, let value = reply.value else { throw ManagerError.server(reply.error ?? "no value") }
        return value
    }

    public func snapshot() throws -> [Int] {
        try client.result(ManagerRequest(.snapshot)).values ?? []
    }
}

/// Python's `manager.dict()`: each method is one request.
public struct DictProxy: DictProxyContract {
    let client: ManagerClient

    public func set(_ key: String, to value: Int) throws {
        _ = try client.result(ManagerRequest(.set, key: key, value: value))
    }

    public func get(_ key: String) throws -> Int? {
        try client.result(ManagerRequest(.get, key: key)).value
    }

    public func increment(_ key: String, by delta: Int) throws -> Int {
        guard let value = try client.result(ManagerRequest(.increment, key: key, value: delta)).value else {
            throw ManagerError.server("increment answered without a value")
        }
        return value
    }
}
