import Foundation
import Glibc
import LabKit
import Lessons
import Solution07

/// Lesson 07's realistic mistakes, written from the clause table (`Lesson07Clauses.swift`).
/// Each is the reference `Manager` except for its one mistake: the server below is the
/// reference's, with switches; the client is the reference's, with switches.
public enum ManagersMutants {
    public static var all: [Mutant<any ManagerContract.Type>] {
        [
            // The server's state and its lock.
            Mutant(name: "client-side-increment", mistake: "increment is done by the client as get + set (two requests)",
                   caughtBy: [3, 10], implementation: ClientSideIncrement.self),
            Mutant(name: "no-server-lock", mistake: "the server's threads apply requests to the list and the dict without a lock",
                   caughtBy: [3], implementation: NoServerLock.self),
            Mutant(name: "state-per-connection", mistake: "each client's thread makes its own list and dict, so clients never see each other's data",
                   caughtBy: [1, 2, 3, 4], implementation: StatePerConnection.self),
            Mutant(name: "increment-ignores-delta", mistake: "the server's increment adds 1 whatever the amount (d[k] += 1)",
                   caughtBy: [3], implementation: IncrementIgnoresDelta.self),
            Mutant(name: "increment-returns-old-value", mistake: "the server's increment answers the value before the addition",
                   caughtBy: [3, 11], implementation: IncrementReturnsOldValue.self),
            Mutant(name: "missing-key-is-zero", mistake: "get of a missing key answers 0 instead of no value",
                   caughtBy: [3, 11], implementation: MissingKeyIsZero.self),
            Mutant(name: "increment-overflow-traps", mistake: "the server's increment adds with +, which traps on overflow and ends the server",
                   caughtBy: [3], implementation: IncrementOverflowTraps.self),
            Mutant(name: "values-through-double", mistake: "the server keeps the list's values as Double, which loses Ints past 2^53",
                   caughtBy: [1, 11], implementation: ValuesThroughDouble.self),
            // Serving several clients.
            Mutant(name: "one-client-at-a-time", mistake: "the server serves one connection until it closes before accepting the next",
                   caughtBy: [1: .failed, 2: .deadlocked, 4: .failed, 6: .deadlocked], implementation: OneClientAtATime.self),
            Mutant(name: "thread-pool-of-cpus", mistake: "the server serves connections with a fixed pool of 2 threads (one per CPU): a third client waits for a connection to close",
                   caughtBy: [2: .deadlocked, 4: .failed], implementation: ThreadPoolOfCPUs.self),
            // One client's misdeeds.
            Mutant(name: "server-dies-on-bad-client", mistake: "the server uses try! on a client's request: a broken client crashes it",
                   caughtBy: [5, 6], implementation: ServerDiesOnBadClient.self),
            Mutant(name: "exit-when-client-leaves", mistake: "the server exits when its first client disconnects",
                   caughtBy: [1, 5], implementation: ExitWhenClientLeaves.self),
            Mutant(name: "sigpipe-on-reply", mistake: "the server writes replies with write(), without MSG_NOSIGNAL: a client that is gone kills it with SIGPIPE",
                   caughtBy: [5], implementation: SigpipeOnReply.self),
            Mutant(name: "bad-request-ignored", mistake: "a request that does not decode is skipped without a reply",
                   caughtBy: [6], implementation: BadRequestIgnored.self),
            Mutant(name: "bad-request-closes", mistake: "a whole frame that does not decode as a request closes the connection instead of an error reply",
                   caughtBy: [6], implementation: BadRequestCloses.self),
            Mutant(name: "missing-field-traps", mistake: "the server force-unwraps a request's fields (request.value!): a request without one crashes it",
                   caughtBy: [6], implementation: MissingFieldTraps.self),
            Mutant(name: "negative-index-traps", mistake: "the server's item checks index < count but not index ≥ 0: list[-1] traps",
                   caughtBy: [1], implementation: NegativeIndexTraps.self),
            Mutant(name: "out-of-range-text-changed", mistake: "the server answers \"index 7 out of range\" instead of the protocol's \"index out of range\" (its own client only looks for \"out of range\")",
                   caughtBy: [11], implementation: OutOfRangeTextChanged.self),
            // Who may connect.
            Mutant(name: "no-peer-check", mistake: "the server serves whoever connects (no SO_PEERCRED check)",
                   caughtBy: [7], implementation: NoPeerCheck.self),
            Mutant(name: "world-readable-directory", mistake: "the socket's directory is made 0755 instead of 0700",
                   caughtBy: [7], implementation: WorldReadableDirectory.self),
            Mutant(name: "peer-checked-after-request", mistake: "the server reads and applies the first request before it checks the peer's uid",
                   caughtBy: [7], implementation: PeerCheckedAfterRequest.self),
            Mutant(name: "refused-silently", mistake: "a peer of another uid is refused by closing the connection, without the error reply",
                   caughtBy: [7], implementation: RefusedSilently.self),
            // Stopping.
            Mutant(name: "socket-left-behind", mistake: "the server exits without unlinking its socket, and shutdown does not clean up",
                   caughtBy: [8, 11], implementation: SocketLeftBehind.self),
            Mutant(name: "shutdown-without-wait", mistake: "shutdown asks the server to stop but never reaps it (a zombie)",
                   caughtBy: [8], implementation: ShutdownWithoutWait.self),
            Mutant(name: "shutdown-gives-up-on-dead-server", mistake: "shutdown connects first and throws when that fails: a server that died is never reaped, its socket never removed",
                   caughtBy: [8], implementation: ShutdownGivesUpOnDeadServer.self),
            Mutant(name: "shutdown-request-not-exiting", mistake: "the server answers a shutdown request but keeps running; shutdown waits for it for ever",
                   caughtBy: [8: .deadlocked, 11: .failed], implementation: ShutdownRequestNotExiting.self),
            // start and connect.
            Mutant(name: "listen-after-fork", mistake: "the server child binds and listens after the fork, so start returns before anyone listens",
                   caughtBy: [9], implementation: ListenAfterFork.self),
            Mutant(name: "path-truncated", mistake: "start copies at most 107 bytes of the socket path into sun_path instead of throwing pathTooLong",
                   caughtBy: [9], implementation: PathTruncated.self),
            Mutant(name: "path-limit-off-by-one", mistake: "start refuses a socket path of exactly 107 bytes (< 107 instead of ≤ 107)",
                   caughtBy: [9], implementation: PathLimitOffByOne.self),
            Mutant(name: "too-long-leaves-directory", mistake: "start throws pathTooLong but leaves the directory mkdtemp made",
                   caughtBy: [9], implementation: TooLongLeavesDirectory.self),
            Mutant(name: "missing-parent-traps", mistake: "start force-unwraps mkdtemp's result: a missing parent directory crashes",
                   caughtBy: [9], as: .crashed, implementation: MissingParentTraps.self),
            Mutant(name: "connect-result-ignored", mistake: "connect never checks what connect() returned: with no server it hands back a dead client",
                   caughtBy: [8, 9], implementation: ConnectResultIgnored.self),
            // The client and its proxies.
            Mutant(name: "error-reply-ignored", mistake: "count, item, snapshot and get return the reply's value without looking at ok",
                   caughtBy: [10], implementation: ErrorReplyIgnored.self),
            Mutant(name: "out-of-range-not-mapped", mistake: "item(at:) throws ManagerError.server(\"index out of range\") instead of indexOutOfRange(index)",
                   caughtBy: [1, 10], implementation: OutOfRangeNotMapped.self),
            Mutant(name: "call-throws-error-reply", mistake: "call(_:) throws an error reply as ManagerError.server instead of returning it",
                   caughtBy: [1, 6, 10], implementation: CallThrowsErrorReply.self),
            Mutant(name: "end-of-file-not-disconnected", mistake: "call(_:) lets FramedConnection's end-of-file through instead of ManagerError.disconnected",
                   caughtBy: [10], implementation: EndOfFileNotDisconnected.self),
            Mutant(name: "close-twice-closes-twice", mistake: "close() calls close(fd) every time: the second call closes whatever descriptor took that number",
                   caughtBy: [1], implementation: CloseTwiceClosesTwice.self),
            Mutant(name: "call-after-close-not-checked", mistake: "call(_:) never checks that the client was closed: after close() it fails with EBADF instead of ManagerError.closed",
                   caughtBy: [1], implementation: CallAfterCloseNotChecked.self),
            Mutant(name: "hand-built-json", mistake: "the client writes each request's JSON by string interpolation, without escaping the key",
                   caughtBy: [3, 10], implementation: HandBuiltJSON.self),
            Mutant(name: "listener-left-open-in-parent", mistake: "start never closes its copy of the listening socket after the fork",
                   caughtBy: [9], implementation: ListenerLeftOpenInParent.self),
            Mutant(name: "item-sends-value", mistake: "item(at:) puts the index in the request's value field",
                   caughtBy: [1, 10], implementation: ItemSendsValue.self),
        ]
    }
}

// MARK: - The server, with switches

/// What a mutant's server gets wrong; all false is the reference's behaviour.
struct ServerFlaws: Sendable {
    var serial = false
    var threadPool = 0
    var noPeerCheck = false
    var peerCheckAfterRequest = false
    var refuseSilently = false
    var trapOnBadClient = false
    var ignoreBadRequest = false
    var closeOnBadRequest = false
    var exitWhenClientLeaves = false
    var keepSocket = false
    var statePerConnection = false
    var noLock = false
    var incrementIgnoresDelta = false
    var incrementReturnsOld = false
    var missingKeyZero = false
    var incrementOverflowTraps = false
    var valuesThroughDouble = false
    var negativeIndexTraps = false
    var missingFieldTraps = false
    var sigpipeOnReply = false
    var shutdownNotExiting = false
    var outOfRangeText: String? = nil
}

/// The list and the dict, and the one lock (unless the flaw says otherwise).
final class FlawedState: @unchecked Sendable {
    let flaws: ServerFlaws
    let socketPath: String
    let directory: String
    let lock = NSLock()
    var list: [Int] = []
    var doubles: [Double] = []
    var dict: [String: Int] = [:]

    init(_ flaws: ServerFlaws, socketPath: String, directory: String) {
        self.flaws = flaws
        self.socketPath = socketPath
        self.directory = directory
    }

    func apply(_ request: ManagerRequest) -> ManagerReply {
        if !flaws.noLock { lock.lock() }
        defer { if !flaws.noLock { lock.unlock() } }
        switch request.op {
        case .append:
            if flaws.missingFieldTraps { list.append(request.value!) ; return .success() }
            guard let value = request.value else { return .failure("append needs a value") }
            if flaws.valuesThroughDouble { doubles.append(Double(value)) } else { list.append(value) }
            return .success()
        case .count:
            return .success(value: flaws.valuesThroughDouble ? doubles.count : list.count)
        case .item:
            let index = flaws.missingFieldTraps ? request.index! : request.index
            guard let index else { return .failure("item needs an index") }
            let count = flaws.valuesThroughDouble ? doubles.count : list.count
            let inRange = flaws.negativeIndexTraps ? index < count : (0 <= index && index < count)
            guard inRange else { return .failure(flaws.outOfRangeText.map { $0.replacingOccurrences(of: "#", with: "\(index)") } ?? ManagerReply.indexOutOfRange) }
            if flaws.valuesThroughDouble { return .success(value: Int(doubles[index])) }   // mistake: rounded (and traps past Int)
            return .success(value: list[index])
        case .snapshot:
            if flaws.valuesThroughDouble { return .success(values: doubles.map { Int($0) }) }
            return .success(values: list)
        case .set:
            if flaws.missingFieldTraps { dict[request.key!] = request.value!; return .success() }
            guard let key = request.key, let value = request.value else { return .failure("set needs a key and a value") }
            dict[key] = value
            return .success()
        case .get:
            guard let key = request.key else { return .failure("get needs a key") }
            if flaws.missingKeyZero { return .success(value: dict[key] ?? 0) }
            return .success(value: dict[key])
        case .increment:
            let key = flaws.missingFieldTraps ? request.key! : request.key
            guard let key else { return .failure("increment needs a key") }
            let old = dict[key] ?? 0
            let delta = flaws.incrementIgnoresDelta ? 1 : (request.value ?? 1)
            let sum: Int
            if flaws.incrementOverflowTraps {
                sum = old + delta
            } else {
                let (total, overflow) = old.addingReportingOverflow(delta)
                if overflow { return .failure("increment overflows Int") }
                sum = total
            }
            dict[key] = sum
            return .success(value: flaws.incrementReturnsOld ? old : sum)
        case .shutdown:
            return .success()
        }
    }

    func removeSocketAndDirectory() {
        unlink(socketPath)
        rmdir(directory)
    }
}

/// One client's connection on the mutant's server.
final class FlawedClientThread: @unchecked Sendable {
    let connection: FramedConnection
    let state: FlawedState
    var flaws: ServerFlaws { state.flaws }

    init(_ connection: FramedConnection, _ state: FlawedState) {
        self.connection = connection
        self.state = state
    }

    func send(_ reply: ManagerReply) -> Bool {
        guard let bytes = try? Manager.encode(reply) else { return false }
        if flaws.sigpipeOnReply {
            // mistake (sigpipeOnReply): write(), which raises SIGPIPE when the reader is gone
            let n = UInt32(bytes.count)
            let framed = [UInt8(n >> 24), UInt8((n >> 16) & 0xff), UInt8((n >> 8) & 0xff), UInt8(n & 0xff)] + bytes
            return framed.withUnsafeBytes { Glibc.write(connection.borrowed.rawValue, $0.baseAddress!, $0.count) } == framed.count
        }
        return (try? connection.send(bytes)) != nil
    }

    func run() {
        defer { connection.close() }
        var checkedPeer = !flaws.peerCheckAfterRequest
        while true {
            let bytes: [UInt8]
            do {
                bytes = try connection.receive()
            } catch FramedConnection.Failure.endOfFile {
                if flaws.exitWhenClientLeaves { _exit(0) }              // mistake (exitWhenClientLeaves)
                return
            } catch {
                if flaws.trapOnBadClient { fatalError("bad client: \(error)") }   // mistake (like try!)
                return
            }
            let request: ManagerRequest
            if flaws.trapOnBadClient {
                request = try! CompactJSON.decode(ManagerRequest.self, from: bytes)   // mistake
            } else if let decoded = try? CompactJSON.decode(ManagerRequest.self, from: bytes) {
                request = decoded
            } else {
                if flaws.ignoreBadRequest { continue }                  // mistake: no reply at all
                if flaws.closeOnBadRequest { return }                   // mistake: closed instead of a reply
                guard send(.failure("bad request")) else { return }
                continue
            }
            let reply = state.apply(request)
            if !checkedPeer {
                // mistake (peerCheckAfterRequest): the request above was already applied
                checkedPeer = true
                guard let peer = try? peerCredentials(of: connection.borrowed), peer.uid == geteuid() else {
                    _ = send(.failure("refused"))
                    return
                }
            }
            if request.op == .shutdown && !flaws.shutdownNotExiting {   // mistake (shutdownNotExiting): carries on
                if !flaws.keepSocket { state.removeSocketAndDirectory() }   // mistake (keepSocket): socket stays
                _ = send(reply)
                _exit(0)
            }
            guard send(reply) else { return }
        }
    }
}

/// A fixed pool of threads that take accepted connections from a queue.
final class ConnectionPool: @unchecked Sendable {
    let condition = NSCondition()
    var waiting: [FlawedClientThread] = []

    init(threads: Int) {
        for _ in 0..<threads {
            Thread { self.work() }.start()
        }
    }

    func submit(_ client: FlawedClientThread) {
        condition.lock()
        waiting.append(client)
        condition.signal()
        condition.unlock()
    }

    func work() {
        while true {
            condition.lock()
            while waiting.isEmpty { condition.wait() }
            let client = waiting.removeFirst()
            condition.unlock()
            client.run()
        }
    }
}

/// The reference's server on `listener` (which the forked server owns until it ends), with switches.
func runFlawedServer(listener: consuming OwnedDescriptor, socketPath: String, directory: String, flaws: ServerFlaws) -> Never {
    let shared = FlawedState(flaws, socketPath: socketPath, directory: directory)
    let pool = flaws.threadPool > 0 ? ConnectionPool(threads: flaws.threadPool) : nil
    while true {
        let fd = accept(listener.rawValue, nil, nil)
        if fd == -1 { if errno == EINTR { continue }; _exit(1) }
        let connection = FramedConnection(owning: OwnedDescriptor(taking: fd))
        if !flaws.noPeerCheck && !flaws.peerCheckAfterRequest {       // mistake (noPeerCheck): no check
            guard let peer = try? peerCredentials(of: connection.borrowed), peer.uid == geteuid() else {
                if !flaws.refuseSilently {                              // mistake (refuseSilently): no reply
                    try? connection.send(Manager.encode(ManagerReply.failure("refused")))
                }
                connection.close()
                continue
            }
        }
        let state = flaws.statePerConnection ? FlawedState(flaws, socketPath: socketPath, directory: directory) : shared  // mistake when set
        let client = FlawedClientThread(connection, state)
        if flaws.serial {
            client.run()                                                // mistake: the next accept waits
        } else if let pool {
            pool.submit(client)                                         // mistake: at most `threadPool` at once
        } else {
            Thread { client.run() }.start()
        }
    }
}

/// The reference's start, with a flawed server and directory mode.
func startFlawedServer(in parent: String, flaws: ServerFlaws, directoryMode: mode_t = 0o700) throws -> ManagerAddress {
    let (directory, socketPath) = try privateSocketPath(in: parent)
    chmod(directory, directoryMode)
    try checkLength(of: socketPath, removing: directory)
    let listener = try Manager.listen(at: socketPath)
    return try forkServer(listener: listener, socketPath: socketPath, directory: directory, flaws: flaws)
}

/// A manager that forwards every requirement to the reference; mutants override one.
protocol ForwardsToManager: ManagerContract {}
extension ForwardsToManager {
    static func start(in parent: String) throws -> ManagerAddress { try Manager.start(in: parent) }
    static func shutdown(_ address: ManagerAddress) throws { try Manager.shutdown(address) }
}
extension ForwardsToManager where Client == ManagerClient {
    static func connect(to address: ManagerAddress) throws -> ManagerClient { try Manager.connect(to: address) }
}

/// The reference everywhere but the server.
protocol FlawedServerManager: ForwardsToManager where Client == ManagerClient {
    static var flaws: ServerFlaws { get }
}
extension FlawedServerManager {
    static func start(in parent: String) throws -> ManagerAddress { try startFlawedServer(in: parent, flaws: flaws) }
}

enum NoServerLock: FlawedServerManager { static let flaws = ServerFlaws(noLock: true) }
enum StatePerConnection: FlawedServerManager { static let flaws = ServerFlaws(statePerConnection: true) }
enum IncrementIgnoresDelta: FlawedServerManager { static let flaws = ServerFlaws(incrementIgnoresDelta: true) }
enum IncrementReturnsOldValue: FlawedServerManager { static let flaws = ServerFlaws(incrementReturnsOld: true) }
enum MissingKeyIsZero: FlawedServerManager { static let flaws = ServerFlaws(missingKeyZero: true) }
enum IncrementOverflowTraps: FlawedServerManager { static let flaws = ServerFlaws(incrementOverflowTraps: true) }
enum ValuesThroughDouble: FlawedServerManager { static let flaws = ServerFlaws(valuesThroughDouble: true) }
enum OneClientAtATime: FlawedServerManager { static let flaws = ServerFlaws(serial: true) }
enum ThreadPoolOfCPUs: FlawedServerManager { static let flaws = ServerFlaws(threadPool: 2) }
enum ServerDiesOnBadClient: FlawedServerManager { static let flaws = ServerFlaws(trapOnBadClient: true) }
enum ExitWhenClientLeaves: FlawedServerManager { static let flaws = ServerFlaws(exitWhenClientLeaves: true) }
enum SigpipeOnReply: FlawedServerManager { static let flaws = ServerFlaws(sigpipeOnReply: true) }
enum BadRequestIgnored: FlawedServerManager { static let flaws = ServerFlaws(ignoreBadRequest: true) }
enum BadRequestCloses: FlawedServerManager { static let flaws = ServerFlaws(closeOnBadRequest: true) }
enum MissingFieldTraps: FlawedServerManager { static let flaws = ServerFlaws(missingFieldTraps: true) }
enum NegativeIndexTraps: FlawedServerManager { static let flaws = ServerFlaws(negativeIndexTraps: true) }
enum NoPeerCheck: FlawedServerManager { static let flaws = ServerFlaws(noPeerCheck: true) }
enum PeerCheckedAfterRequest: FlawedServerManager { static let flaws = ServerFlaws(peerCheckAfterRequest: true) }
enum RefusedSilently: FlawedServerManager { static let flaws = ServerFlaws(refuseSilently: true) }

/// Its own client finds the error by "out of range", so it passes everything it runs itself.
enum OutOfRangeTextChanged: ForwardsToManager {
    static func start(in parent: String) throws -> ManagerAddress {
        try startFlawedServer(in: parent, flaws: ServerFlaws(outOfRangeText: "index # out of range"))   // mistake: other words
    }
    static func connect(to address: ManagerAddress) throws -> FlawedClient {
        FlawedClient(try Manager.connect(to: address), ClientFlaws(outOfRangeByContains: true))
    }
}

enum WorldReadableDirectory: FlawedServerManager {
    static let flaws = ServerFlaws()
    static func start(in parent: String) throws -> ManagerAddress {
        try startFlawedServer(in: parent, flaws: flaws, directoryMode: 0o755)   // mistake: others may enter
    }
}

/// Shutdown as a first draft writes it: connect (throws when that fails), `ask` the server to stop,
/// close, reap it with waitpid(pid, 0) (again after EINTR, with no time limit), then, when
/// `cleanUp`, unlink the socket and rmdir the directory.
func draftShutdown(_ address: ManagerAddress, cleanUp: Bool = true,
                   ask: (ManagerClient) throws -> Void = { _ = try $0.call(ManagerRequest(.shutdown)) }) throws {
    let client = try Manager.connect(to: address)
    try ask(client)
    client.close()
    var status: Int32 = 0
    while waitpid(address.serverPID, &status, 0) == -1 && errno == EINTR {}
    if cleanUp {
        unlink(address.socketPath)
        rmdir(address.directory)
    }
}

enum SocketLeftBehind: FlawedServerManager {
    static let flaws = ServerFlaws(keepSocket: true)
    static func shutdown(_ address: ManagerAddress) throws {
        try draftShutdown(address, cleanUp: false)   // mistake: neither the server nor shutdown unlinks the socket or removes the directory
    }
}

enum ShutdownWithoutWait: FlawedServerManager {
    static let flaws = ServerFlaws()
    static func shutdown(_ address: ManagerAddress) throws {
        let client = try Manager.connect(to: address)
        _ = try client.call(ManagerRequest(.shutdown))
        // Wait until the server has gone away (its end of our connection closes)…
        _ = try? client.call(ManagerRequest(.count))
        client.close()
        // mistake: …but never waitpid: it stays a zombie
    }
}

enum ShutdownGivesUpOnDeadServer: FlawedServerManager {
    static let flaws = ServerFlaws()
    static func shutdown(_ address: ManagerAddress) throws {
        try draftShutdown(address)   // mistake: connects first and throws when the server is gone, so it is never reaped
    }
}

enum ShutdownRequestNotExiting: FlawedServerManager {
    static let flaws = ServerFlaws(shutdownNotExiting: true)
    static func shutdown(_ address: ManagerAddress) throws {
        try draftShutdown(address, ask: { _ = try? $0.call(ManagerRequest(.shutdown)) })   // waits for a server that never ends
    }
}

// MARK: - start and connect with one mistake

/// The reference with its own start, which each mutant below writes with one mistake.
protocol FlawedStart: ForwardsToManager where Client == ManagerClient {}

/// The reference's listen (`Manager.listen(on:path:)`: socket + bind + listen) on a `sockaddr_un`
/// holding at most 107 bytes of `path`; the caller owns the socket.
func listenTruncating(at path: String) throws -> OwnedDescriptor {
    var address = sockaddr_un()
    address.sun_family = sa_family_t(AF_UNIX)
    withUnsafeMutableBytes(of: &address.sun_path) { raw in
        for (i, byte) in path.utf8.prefix(raw.count - 1).enumerated() { raw[i] = byte }   // mistake: cut to fit
    }
    return try Manager.listen(on: address, path: path)
}

/// The reference start's first step: a private directory (`Manager.makePrivateDirectory`, mkdtemp)
/// and the socket's path in it, not yet checked.
func privateSocketPath(in parent: String) throws -> (directory: String, socketPath: String) {
    let directory = try Manager.makePrivateDirectory(in: parent)
    return (directory, directory + "/" + Manager.socketName)
}

/// The reference start's length check: a path that sun_path cannot hold removes the directory
/// (rmdir) and throws pathTooLong.
func checkLength(of socketPath: String, removing directory: String) throws {
    guard socketPath.utf8.count <= UnixSocket.maximumPathBytes else {
        rmdir(directory)
        throw ManagerError.pathTooLong(socketPath)
    }
}

/// The reference start's last step: fflush(nil), fork the server on `listener` (the reference's,
/// or the flawed one when `flaws` is given) and close this process's copy, unless
/// `closeParentCopy` is false.
func forkServer(listener: consuming OwnedDescriptor, socketPath: String, directory: String,
                flaws: ServerFlaws? = nil, closeParentCopy: Bool = true) throws -> ManagerAddress {
    fflush(nil)
    let pid = fork()
    if pid == -1 { throw SystemError("fork") }
    if pid == 0 {
        if let flaws {
            runFlawedServer(listener: listener, socketPath: socketPath, directory: directory, flaws: flaws)
        } else {
            Manager.runServer(listener: listener, socketPath: socketPath, directory: directory)
        }
    }
    if closeParentCopy { listener.close() } else { _ = listener.release() }
    return ManagerAddress(socketPath: socketPath, directory: directory, serverPID: pid)
}

enum ListenAfterFork: FlawedStart {
    static func start(in parent: String) throws -> ManagerAddress {
        let (directory, socketPath) = try privateSocketPath(in: parent)
        try checkLength(of: socketPath, removing: directory)
        fflush(nil)
        let pid = fork()
        if pid == -1 { throw SystemError("fork") }
        if pid == 0 {
            // mistake: the socket is made in the server, after start may already have returned
            let listener: OwnedDescriptor
            do { listener = try Manager.listen(at: socketPath) } catch { _exit(1) }
            Manager.runServer(listener: listener, socketPath: socketPath, directory: directory)
        }
        // "wait until the server is ready": the socket file appears at bind, before listen
        var info = stat()
        while lstat(socketPath, &info) != 0 { sched_yield() }
        return ManagerAddress(socketPath: socketPath, directory: directory, serverPID: pid)
    }
}

enum ListenerLeftOpenInParent: FlawedStart {
    static func start(in parent: String) throws -> ManagerAddress {
        let (directory, socketPath) = try privateSocketPath(in: parent)
        try checkLength(of: socketPath, removing: directory)
        let listener = try Manager.listen(at: socketPath)
        return try forkServer(listener: listener, socketPath: socketPath, directory: directory,
                              closeParentCopy: false)               // mistake: the parent's copy of `listener` stays open
    }
}

enum PathTruncated: FlawedStart {
    static func start(in parent: String) throws -> ManagerAddress {
        let (directory, socketPath) = try privateSocketPath(in: parent)   // mistake: no length check
        let listener = try listenTruncating(at: socketPath)
        return try forkServer(listener: listener, socketPath: socketPath, directory: directory)
    }
}

enum PathLimitOffByOne: FlawedStart {
    static func start(in parent: String) throws -> ManagerAddress {
        let (directory, socketPath) = try privateSocketPath(in: parent)
        guard socketPath.utf8.count < UnixSocket.maximumPathBytes else {   // mistake: 107 itself fits
            rmdir(directory)
            throw ManagerError.pathTooLong(socketPath)
        }
        return try forkServer(listener: try Manager.listen(at: socketPath), socketPath: socketPath, directory: directory)
    }
}

enum TooLongLeavesDirectory: FlawedStart {
    static func start(in parent: String) throws -> ManagerAddress {
        let (directory, socketPath) = try privateSocketPath(in: parent)
        guard socketPath.utf8.count <= UnixSocket.maximumPathBytes else {
            throw ManagerError.pathTooLong(socketPath)                     // mistake: the directory stays
        }
        return try forkServer(listener: try Manager.listen(at: socketPath), socketPath: socketPath, directory: directory)
    }
}

enum MissingParentTraps: FlawedStart {
    static func start(in parent: String) throws -> ManagerAddress {
        var template = Array("\(parent)/manager-XXXXXX".utf8CString)
        let directory = String(cString: mkdtemp(&template)!)              // mistake: nil when the parent is missing
        let socketPath = directory + "/" + Manager.socketName
        try checkLength(of: socketPath, removing: directory)
        return try forkServer(listener: try Manager.listen(at: socketPath), socketPath: socketPath, directory: directory)
    }
}

// MARK: - The client, with switches

struct ClientFlaws: Sendable {
    var ignoreConnectResult = false
    var errorReplyIgnored = false
    var outOfRangeNotMapped = false
    var outOfRangeByContains = false
    var throwErrorReplies = false
    var endOfFileThrough = false
    var closeTwice = false
    var itemSendsValue = false
    var noClosedCheck = false
    var handBuiltJSON = false
    var clientSideIncrement = false
}

/// The reference client's behaviour over its own connection, with switches.
final class FlawedClient: ManagerClientContract {
    let connection: FramedConnection
    let flaws: ClientFlaws
    /// The connection's descriptor number, which the `closeTwice` mistake closes by hand.
    let fd: Int32
    var closed = false

    init(_ reference: ManagerClient, _ flaws: ClientFlaws) {
        // Take the reference client's descriptor over.
        let taken = Mirror(reflecting: reference).children.compactMap { $0.value as? FramedConnection }.first!.release()
        self.fd = taken.rawValue
        self.connection = FramedConnection(owning: taken)
        self.flaws = flaws
    }

    init(owning socket: consuming OwnedDescriptor, _ flaws: ClientFlaws) {
        self.fd = socket.rawValue
        self.connection = FramedConnection(owning: socket)
        self.flaws = flaws
    }

    var list: FlawedList { FlawedList(client: self) }
    var dict: FlawedDict { FlawedDict(client: self) }

    func call(_ request: ManagerRequest) throws -> ManagerReply {
        if flaws.closeTwice {
            guard !closed else { throw ManagerError.closed }
        } else if !flaws.noClosedCheck {                              // mistake (noClosedCheck): no guard
            guard connection.isOpen else { throw ManagerError.closed }
        }
        var payload = try CompactJSON.encode(request)
        if flaws.handBuiltJSON {
            var fields = ["\"op\":\"\(request.op.rawValue)\""]
            if let index = request.index { fields.append("\"index\":\(index)") }
            if let key = request.key { fields.append("\"key\":\"\(key)\"") }           // mistake: the key is not escaped
            if let value = request.value { fields.append("\"value\":\(value)") }
            payload = Array(("{" + fields.joined(separator: ",") + "}").utf8)
        }
        let bytes: [UInt8]
        do {
            try connection.send(payload)
            bytes = try connection.receive()
        } catch let failure as FramedConnection.Failure {
            if flaws.endOfFileThrough { throw failure }                // mistake: not ManagerError.disconnected
            throw ManagerError.disconnected
        } catch let error as SystemError where error.errno == EPIPE || error.errno == ECONNRESET {
            throw ManagerError.disconnected
        }
        let reply = try CompactJSON.decode(ManagerReply.self, from: bytes)
        if flaws.throwErrorReplies && !reply.ok { throw ManagerError.server(reply.error ?? "") }   // mistake: thrown, not returned
        return reply
    }

    func result(_ request: ManagerRequest) throws -> ManagerReply {
        let reply = try call(request)
        if flaws.errorReplyIgnored { return reply }                   // mistake: ok never looked at
        guard reply.ok else { throw ManagerError.server(reply.error ?? "unknown error") }
        return reply
    }

    func close() {
        if flaws.closeTwice {
            Glibc.close(fd)                                           // mistake: every time
            closed = true
        } else {
            connection.close()
        }
    }

    deinit {
        if flaws.closeTwice { _ = connection.release().release() }   // already closed by hand: close it no more
    }
}

struct FlawedList: ListProxyContract {
    let client: FlawedClient

    func append(_ value: Int) throws { _ = try client.result(ManagerRequest(.append, value: value)) }
    func count() throws -> Int { try client.result(ManagerRequest(.count)).value ?? 0 }
    func item(at index: Int) throws -> Int {
        let request = client.flaws.itemSendsValue ? ManagerRequest(.item, value: index) : ManagerRequest(.item, index: index)   // mistake when set
        let reply = try client.call(request)
        if client.flaws.outOfRangeByContains {
            if reply.error?.contains("out of range") == true { throw ManagerError.indexOutOfRange(index) }
        } else if !client.flaws.outOfRangeNotMapped && reply.error == ManagerReply.indexOutOfRange {
            throw ManagerError.indexOutOfRange(index)
        }
        if client.flaws.errorReplyIgnored { return reply.value ?? 0 }
        guard reply.ok, let value = reply.value else { throw ManagerError.server(reply.error ?? "no value") }
        return value
    }
    func snapshot() throws -> [Int] { try client.result(ManagerRequest(.snapshot)).values ?? [] }
}

struct FlawedDict: DictProxyContract {
    let client: FlawedClient

    func set(_ key: String, to value: Int) throws { _ = try client.result(ManagerRequest(.set, key: key, value: value)) }
    func get(_ key: String) throws -> Int? { try client.result(ManagerRequest(.get, key: key)).value }
    func increment(_ key: String, by delta: Int) throws -> Int {
        if client.flaws.clientSideIncrement {
            let value = (try get(key) ?? 0) + delta                    // mistake: another client can come between
            try set(key, to: value)
            return value
        }
        guard let value = try client.result(ManagerRequest(.increment, key: key, value: delta)).value else {
            throw ManagerError.server("increment answered without a value")
        }
        return value
    }
}

/// The reference manager with a flawed client.
protocol FlawedClientManager: ForwardsToManager where Client == FlawedClient {
    static var clientFlaws: ClientFlaws { get }
}
extension FlawedClientManager {
    static func connect(to address: ManagerAddress) throws -> FlawedClient { FlawedClient(try Manager.connect(to: address), clientFlaws) }
}

enum ClientSideIncrement: FlawedClientManager { static let clientFlaws = ClientFlaws(clientSideIncrement: true) }
enum ErrorReplyIgnored: FlawedClientManager { static let clientFlaws = ClientFlaws(errorReplyIgnored: true) }
enum OutOfRangeNotMapped: FlawedClientManager { static let clientFlaws = ClientFlaws(outOfRangeNotMapped: true) }
enum CallThrowsErrorReply: FlawedClientManager { static let clientFlaws = ClientFlaws(throwErrorReplies: true) }
enum EndOfFileNotDisconnected: FlawedClientManager { static let clientFlaws = ClientFlaws(endOfFileThrough: true) }
enum CloseTwiceClosesTwice: FlawedClientManager { static let clientFlaws = ClientFlaws(closeTwice: true) }
enum CallAfterCloseNotChecked: FlawedClientManager { static let clientFlaws = ClientFlaws(noClosedCheck: true) }
enum HandBuiltJSON: FlawedClientManager { static let clientFlaws = ClientFlaws(handBuiltJSON: true) }
enum ItemSendsValue: FlawedClientManager { static let clientFlaws = ClientFlaws(itemSendsValue: true) }

enum ConnectResultIgnored: FlawedClientManager {
    static let clientFlaws = ClientFlaws(ignoreConnectResult: true)
    static func connect(to address: ManagerAddress) throws -> FlawedClient {
        var socketAddress = sockaddr_un()
        socketAddress.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &socketAddress.sun_path) { raw in
            for (i, byte) in address.socketPath.utf8.prefix(raw.count - 1).enumerated() { raw[i] = byte }
        }
        let fd = try valueOrErrno("socket") { socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0) }
        withUnsafePointer(to: &socketAddress) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { raw in
                _ = Glibc.connect(fd, raw, socklen_t(MemoryLayout<sockaddr_un>.size))   // mistake: -1 not looked at
            }
        }
        return FlawedClient(owning: OwnedDescriptor(taking: fd), clientFlaws)
    }
}
