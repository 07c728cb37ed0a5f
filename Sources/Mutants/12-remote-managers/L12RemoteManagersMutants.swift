import Foundation
import Glibc
import LabKit
import Lessons
import Solution12

/// Lesson 12's realistic mistakes. Each is the reference with one mistake: the server, the
/// handshake or the client below are copies of the reference's with a switch per mistake.
public enum RemoteManagersMutants {
    public static var all: [Mutant<any SyncManagerContract.Type>] {
        [
            Mutant(name: "client-side-increment", mistake: "increment is done by the client as get + set (Python's v.value += 1)",
                   caughtBy: [1], implementation: ClientSideIncrement.self),
            Mutant(name: "errors-not-translated", mistake: "call() lets the connection's own errors escape: EBADF after close(), end of file when the server is gone",
                   caughtBy: [1], implementation: ErrorsNotTranslated.self),
            Mutant(name: "shutdown-without-wait", mistake: "shutdown asks the server to stop but never reaps it (a zombie)",
                   caughtBy: [1, 4], implementation: ShutdownWithoutWait.self),
            Mutant(name: "path-length-unchecked", mistake: "start binds without checking the socket path's length: bind's ENAMETOOLONG escapes as a SystemError",
                   caughtBy: [1], implementation: PathLengthUnchecked.self),
            Mutant(name: "increment-returns-old-value", mistake: "value.increment replies the value before the addition",
                   caughtBy: [1, 5], implementation: IncrementReturnsOldValue.self),
            Mutant(name: "increment-ignores-amount", mistake: "value.increment always adds 1, whatever amount was sent",
                   caughtBy: [1, 4, 5], implementation: IncrementIgnoresAmount.self),
            Mutant(name: "lock-kept-by-dead-client", mistake: "the server does not release the locks of a client whose connection ended",
                   caughtBy: [2], implementation: LockKeptByDeadClient.self),
            Mutant(name: "lock-not-exclusive", mistake: "lock.acquire is granted without checking whether another client holds the lock",
                   caughtBy: [2], implementation: LockNotExclusive.self),
            Mutant(name: "release-by-anyone", mistake: "lock.release clears the holder without checking that the caller holds it",
                   caughtBy: [2], implementation: ReleaseByAnyone.self),
            Mutant(name: "acquire-ignores-timeout", mistake: "lock.acquire waits on the condition without a deadline",
                   caughtBy: [2], as: .deadlocked, implementation: AcquireIgnoresTimeout.self),
            Mutant(name: "event-wakes-one", mistake: "event.set signals the condition (one waiter) instead of broadcasting",
                   caughtBy: [3], implementation: EventWakesOne.self),
            Mutant(name: "wait-returns-at-once", mistake: "event.wait replies the flag at once instead of waiting for set",
                   caughtBy: [3], implementation: WaitReturnsAtOnce.self),
            Mutant(name: "event-is-a-pulse", mistake: "event.set wakes the clients waiting now but keeps no flag: a later wait blocks",
                   caughtBy: [3], implementation: EventIsAPulse.self),
            Mutant(name: "no-authentication", mistake: "the remote server serves requests without any handshake",
                   caughtBy: [4, 5], implementation: NoAuthentication.self),
            Mutant(name: "welcomes-any-answer", mistake: "deliverChallenge sends #WELCOME# without comparing the answer with the HMAC",
                   caughtBy: [4, 5], implementation: WelcomesAnyAnswer.self),
            Mutant(name: "listens-on-every-address", mistake: "startRemote binds INADDR_ANY (0.0.0.0) instead of 127.0.0.1",
                   caughtBy: [4], implementation: ListensOnEveryAddress.self),
            Mutant(name: "client-trusts-server", mistake: "connect answers the server's challenge but never challenges the server",
                   caughtBy: [4, 5], implementation: ClientTrustsServer.self),
            Mutant(name: "mac-without-prefix", mistake: "the HMAC is computed over the random bytes only, leaving out the {sha256} prefix",
                   caughtBy: [4, 5], implementation: MacWithoutPrefix.self),
            Mutant(name: "sha256-only", mistake: "deliverChallenge accepts only {sha256} answers, refusing the raw HMAC-MD5 of a Python 3.11 peer",
                   caughtBy: [4, 5], implementation: SHA256Only.self),
            Mutant(name: "prefixed-answer-to-legacy", mistake: "answerChallenge answers a 20-byte (3.11) challenge with {sha256} + HMAC-SHA256",
                   caughtBy: [4, 5], implementation: PrefixedAnswerToLegacy.self),
            Mutant(name: "key-and-message-swapped", mistake: "HMAC is called with the message as the key and the key as the message",
                   caughtBy: [4, 5], implementation: KeyAndMessageSwapped.self),
            Mutant(name: "response-read-to-the-end", mistake: "deliverChallenge reads the response with receive() and checks its length afterwards: a client that announces a long answer holds the server's thread waiting for the rest",
                   caughtBy: [4], implementation: ResponseReadToTheEnd.self),
            Mutant(name: "challenge-read-to-the-end", mistake: "answerChallenge reads the challenge with receive(): connect waits for every byte a server announces",
                   caughtBy: [4], implementation: ChallengeReadToTheEnd.self),
            Mutant(name: "bad-request-crashes-server", mistake: "the server decodes each request with try! JSONDecoder().decode: a frame that is not a SyncRequest traps and takes the server down",
                   caughtBy: [6], implementation: BadRequestCrashesServer.self),
            Mutant(name: "bad-request-hangs-up", mistake: "the server closes the connection of a client whose request does not decode, instead of an error reply",
                   caughtBy: [6], implementation: BadRequestHangsUp.self),
            Mutant(name: "bad-request-unanswered", mistake: "the server skips a frame that does not decode (continue) without replying: that client waits for ever for its reply",
                   caughtBy: [6], implementation: BadRequestUnanswered.self),
        ]
    }
}

enum Mistake {
    case none
    case returnsOld, ignoresAmount, lockKept, lockNotExclusive, releaseByAnyone, acquireIgnoresTimeout
    case eventWakesOne, waitReturnsAtOnce, eventPulse
    case noAuthentication, welcomesAny, listensEverywhere, clientTrustsServer, macWithoutPrefix, sha256Only
    case prefixedLegacyAnswer, keySwapped
    case responseReadToTheEnd, challengeReadToTheEnd
    case badRequestTraps, badRequestHangsUp, badRequestUnanswered
}

/// The reference everywhere but its one mistake.
protocol MutantSyncManager: SyncManagerContract where Client == SyncClient {
    static var mistake: Mistake { get }
}

extension MutantSyncManager {
    static func start(in directory: String) throws -> SyncManagerAddress {
        let socketPath = directory + "/" + SyncManager.socketName
        let listener = try UnixSocket.listen(at: socketPath)
        let pid = try forkMutantServer(listener: listener, authkey: nil, socketPath: socketPath, mistake: mistake)
        return SyncManagerAddress(socketPath: socketPath, serverPID: pid)
    }

    static func startRemote(authkey: [UInt8]) throws -> SyncManagerAddress {
        let listening: SyncManager.Listener
        if mistake == .listensEverywhere {
            listening = try listenOnEveryAddress()
        } else {
            listening = try SyncManager.listenOnLoopback()
        }
        let port = listening.port
        let pid = try forkMutantServer(listener: listening.socket, authkey: authkey, socketPath: nil, mistake: mistake)
        return SyncManagerAddress(host: "127.0.0.1", port: port, serverPID: pid)
    }

    static func connect(to address: SyncManagerAddress, authkey: [UInt8]?) throws -> SyncClient {
        if let socketPath = address.socketPath {
            return SyncClient(connection: FramedConnection(owning: try UnixSocket.connect(to: socketPath)))
        }
        let connection = FramedConnection(owning: try SyncManager.connectTCP(port: address.port))
        do {
            try answerChallenge(connection, authkey: authkey ?? [])
            if mistake != .clientTrustsServer {                      // mistake (clientTrustsServer): no challenge
                try deliverChallenge(connection, authkey: authkey ?? [])
            }
        } catch {
            connection.close()
            throw error
        }
        return SyncClient(connection: connection)
    }

    static func shutdown(_ address: SyncManagerAddress, authkey: [UInt8]?) throws {
        if let client = try? connect(to: address, authkey: authkey) {
            _ = try? client.call(SyncRequest(.shutdown))
            client.close()
        }
        let deadline = monotonicSeconds() + 5
        var status: Int32 = 0
        while waitpid(address.serverPID, &status, WNOHANG) != address.serverPID {
            if monotonicSeconds() > deadline { kill(address.serverPID, SIGKILL) }
            usleep(1000)
        }
        if let socketPath = address.socketPath { unlink(socketPath) }
    }

    static func deliverChallenge(_ connection: FramedConnection, authkey: [UInt8]) throws {
        try mutantDeliver(connection, authkey: authkey, mistake: mistake)
    }

    static func answerChallenge(_ connection: FramedConnection, authkey: [UInt8]) throws {
        try mutantAnswer(connection, authkey: authkey, mistake: mistake)
    }
}

enum IncrementReturnsOldValue: MutantSyncManager { static let mistake = Mistake.returnsOld }
enum IncrementIgnoresAmount: MutantSyncManager { static let mistake = Mistake.ignoresAmount }
enum LockKeptByDeadClient: MutantSyncManager { static let mistake = Mistake.lockKept }
enum LockNotExclusive: MutantSyncManager { static let mistake = Mistake.lockNotExclusive }
enum ReleaseByAnyone: MutantSyncManager { static let mistake = Mistake.releaseByAnyone }
enum AcquireIgnoresTimeout: MutantSyncManager { static let mistake = Mistake.acquireIgnoresTimeout }
enum EventWakesOne: MutantSyncManager { static let mistake = Mistake.eventWakesOne }
enum WaitReturnsAtOnce: MutantSyncManager { static let mistake = Mistake.waitReturnsAtOnce }
enum EventIsAPulse: MutantSyncManager { static let mistake = Mistake.eventPulse }
enum NoAuthentication: MutantSyncManager { static let mistake = Mistake.noAuthentication }
enum WelcomesAnyAnswer: MutantSyncManager { static let mistake = Mistake.welcomesAny }
enum ListensOnEveryAddress: MutantSyncManager { static let mistake = Mistake.listensEverywhere }
enum ClientTrustsServer: MutantSyncManager { static let mistake = Mistake.clientTrustsServer }
enum MacWithoutPrefix: MutantSyncManager { static let mistake = Mistake.macWithoutPrefix }
enum SHA256Only: MutantSyncManager { static let mistake = Mistake.sha256Only }
enum PrefixedAnswerToLegacy: MutantSyncManager { static let mistake = Mistake.prefixedLegacyAnswer }
enum KeyAndMessageSwapped: MutantSyncManager { static let mistake = Mistake.keySwapped }
enum ResponseReadToTheEnd: MutantSyncManager { static let mistake = Mistake.responseReadToTheEnd }
enum ChallengeReadToTheEnd: MutantSyncManager { static let mistake = Mistake.challengeReadToTheEnd }
enum BadRequestCrashesServer: MutantSyncManager { static let mistake = Mistake.badRequestTraps }
enum BadRequestHangsUp: MutantSyncManager { static let mistake = Mistake.badRequestHangsUp }
enum BadRequestUnanswered: MutantSyncManager { static let mistake = Mistake.badRequestUnanswered }

/// The mistake of `listens-on-every-address`: the reference's listener, bound to INADDR_ANY.
func listenOnEveryAddress() throws -> SyncManager.Listener {
    let socket = OwnedDescriptor(taking: try valueOrErrno("socket") { Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0) })
    let fd = socket.rawValue
    var address = SyncManager.loopbackAddress(port: 0)
    address.sin_addr.s_addr = 0                                         // mistake: INADDR_ANY
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    try withUnsafeMutablePointer(to: &address) { pointer in
        try pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { raw in
            _ = try valueOrErrno("bind") { bind(fd, raw, length) }
            _ = try valueOrErrno("getsockname") { getsockname(fd, raw, &length) }
        }
    }
    try valueOrErrno("listen") { listen(fd, 64) }
    return SyncManager.Listener(socket: socket, port: UInt16(bigEndian: address.sin_port))
}

// MARK: - The handshake with one mistake

func mac(_ message: [UInt8], _ key: [UInt8], _ algorithm: DigestAlgorithm, _ mistake: Mistake) -> [UInt8] {
    if mistake == .keySwapped { return HMAC.authenticate(key, key: message, with: algorithm) }   // mistake
    if mistake == .macWithoutPrefix, let (_, payload) = SyncManager.digestPrefix(message) {
        return HMAC.authenticate(payload, key: key, with: algorithm)                              // mistake
    }
    return HMAC.authenticate(message, key: key, with: algorithm)
}

func mutantDeliver(_ connection: FramedConnection, authkey: [UInt8], mistake: Mistake) throws {
    var generator = SystemRandomNumberGenerator()
    let message = Array("{sha256}".utf8) + (0..<40).map { _ in UInt8.random(in: 0...255, using: &generator) }
    try connection.send(Handshake.challenge + message)
    let response: [UInt8]
    if mistake == .responseReadToTheEnd {
        response = try connection.receive()                                         // mistake: any length, read to the end
        guard response.count <= Handshake.maximumMessage else {
            try? connection.send(Handshake.failure)
            throw AuthenticationError("response too long")
        }
    } else {
        do {
            response = try connection.receive(atMost: Handshake.maximumMessage)
        } catch FramedConnection.Failure.badLength {
            try? connection.send(Handshake.failure)
            throw AuthenticationError("response too long")
        }
    }
    if mistake == .welcomesAny { try connection.send(Handshake.welcome); return }     // mistake: no comparison
    var expected: [UInt8] = []
    if response.count == 16 && mistake != .sha256Only {                                 // mistake (sha256Only)
        expected = mac(message, authkey, .md5, mistake)
    } else if let (algorithm, _) = SyncManager.digestPrefix(response) {
        expected = Array("{\(algorithm.rawValue)}".utf8) + mac(message, authkey, algorithm, mistake)
    }
    guard !expected.isEmpty, HMAC.equalInConstantTime(response, expected) else {
        try? connection.send(Handshake.failure)
        throw AuthenticationError("digest received was wrong")
    }
    try connection.send(Handshake.welcome)
}

func mutantAnswer(_ connection: FramedConnection, authkey: [UInt8], mistake: Mistake) throws {
    let received = try mistake == .challengeReadToTheEnd
        ? connection.receive()                                                      // mistake: any length, read to the end
        : connection.receive(atMost: Handshake.maximumMessage)
    guard received.count <= Handshake.maximumMessage, received.starts(with: Handshake.challenge) else { throw AuthenticationError("protocol error") }
    let message = Array(received.dropFirst(Handshake.challenge.count))
    let response: [UInt8]
    if message.count == 20 && mistake == .prefixedLegacyAnswer {
        response = Array("{sha256}".utf8) + mac(message, authkey, .sha256, mistake)    // mistake: 3.11 wants raw MD5
    } else if message.count == 20 || message.count == 16 {
        response = mac(message, authkey, .md5, mistake)
    } else if let (algorithm, _) = SyncManager.digestPrefix(message) {
        response = Array("{\(algorithm.rawValue)}".utf8) + mac(message, authkey, algorithm, mistake)
    } else {
        throw AuthenticationError("unsupported challenge")
    }
    try connection.send(response)
    guard try connection.receive(atMost: Handshake.maximumMessage) == Handshake.welcome else { throw AuthenticationError("digest sent was rejected") }
}

// MARK: - The server with one mistake

/// Forks the server with `mistake` on `listener` and closes this process's copy.
func forkMutantServer(listener: consuming OwnedDescriptor, authkey: [UInt8]?, socketPath: String?, mistake: Mistake) throws -> pid_t {
    fflush(nil)
    let pid = fork()
    if pid == -1 { throw SystemError("fork") }
    if pid == 0 {
        let state = MutantState(mistake: mistake)
        var nextID = 0
        while true {
            let fd = accept(listener.rawValue, nil, nil)
            if fd == -1 { if errno == EINTR { continue }; _exit(1) }
            nextID += 1
            let client = MutantClientThread(FramedConnection(owning: OwnedDescriptor(taking: fd)), nextID, authkey, socketPath, state)
            Thread { client.run() }.start()
        }
    }
    listener.close()
    return pid
}

final class MutantClientThread: @unchecked Sendable {
    let connection: FramedConnection
    let id: Int
    let authkey: [UInt8]?
    let socketPath: String?
    let state: MutantState
    init(_ connection: FramedConnection, _ id: Int, _ authkey: [UInt8]?, _ socketPath: String?, _ state: MutantState) {
        self.connection = connection
        self.id = id
        self.authkey = authkey
        self.socketPath = socketPath
        self.state = state
    }

    func run() {
        if let authkey, state.mistake != .noAuthentication {            // mistake (noAuthentication): no handshake
            do {
                try mutantDeliver(connection, authkey: authkey, mistake: state.mistake)
                try mutantAnswer(connection, authkey: authkey, mistake: state.mistake)
            } catch {
                connection.close()
                return
            }
        }
        defer {
            if state.mistake != .lockKept { state.releaseLocks(heldBy: id) }   // mistake (lockKept)
            connection.close()
        }
        while true {
            guard let bytes = try? connection.receive() else { return }
            if state.mistake == .badRequestTraps {
                _ = try! JSONDecoder().decode(SyncRequest.self, from: Data(bytes))     // mistake: a bad request traps
            }
            guard let request = try? JSONDecoder().decode(SyncRequest.self, from: Data(bytes)) else {
                if state.mistake == .badRequestHangsUp { return }                        // mistake: closed, not answered
                if state.mistake == .badRequestUnanswered { continue }                   // mistake: no reply at all
                guard (try? connection.send(SyncManager.encode(.failure("bad request")))) != nil else { return }
                continue
            }
            let reply = state.apply(request, client: id)
            if request.op == .shutdown {
                if let socketPath { unlink(socketPath) }
                try? connection.send(SyncManager.encode(reply))
                _exit(0)
            }
            guard (try? connection.send(SyncManager.encode(reply))) != nil else { return }
        }
    }
}

final class MutantState: @unchecked Sendable {
    let mistake: Mistake
    let condition = NSCondition()
    var values: [String: Int] = [:]
    var holders: [String: Int] = [:]
    var events: Set<String> = []
    var pulses: [String: Int] = [:]

    init(mistake: Mistake) { self.mistake = mistake }

    func apply(_ request: SyncRequest, client: Int) -> SyncReply {
        condition.lock()
        defer { condition.unlock() }
        if request.op == .shutdown { return .success() }
        guard let name = request.name else { return .failure("needs a name") }
        let deadline = request.timeout.map { Date(timeIntervalSinceNow: max(0, $0)) }
        switch request.op {
        case .valueGet:
            return .success(value: values[name] ?? 0)
        case .valueSet:
            guard let value = request.value else { return .failure("value.set needs a value") }
            values[name] = value
            return .success()
        case .valueIncrement:
            let old = values[name] ?? 0
            let amount = mistake == .ignoresAmount ? 1 : (request.value ?? 1)      // mistake (ignoresAmount)
            values[name] = old + amount
            return .success(value: mistake == .returnsOld ? old : old + amount)    // mistake (returnsOld)
        case .lockAcquire:
            if mistake != .lockNotExclusive {                                       // mistake (lockNotExclusive)
                while holders[name] != nil {
                    if mistake == .acquireIgnoresTimeout { condition.wait(); continue }   // mistake: no deadline
                    if !wait(until: deadline) { return .success(flag: false) }
                }
            }
            holders[name] = client
            return .success(flag: true)
        case .lockRelease:
            guard holders[name] == client || mistake == .releaseByAnyone else {     // mistake (releaseByAnyone)
                return .failure("release of a lock this client does not hold")
            }
            holders[name] = nil
            condition.broadcast()
            return .success()
        case .eventSet:
            if mistake == .eventPulse {
                pulses[name, default: 0] += 1                                       // mistake: no flag kept
            } else {
                events.insert(name)
            }
            if mistake == .eventWakesOne { condition.signal() } else { condition.broadcast() }   // mistake (eventWakesOne)
            return .success()
        case .eventClear:
            events.remove(name)
            return .success()
        case .eventIsSet:
            return .success(flag: events.contains(name))
        case .eventWait:
            if mistake == .waitReturnsAtOnce { return .success(flag: events.contains(name)) }   // mistake
            if mistake == .eventPulse {
                let seen = pulses[name, default: 0]
                while pulses[name, default: 0] == seen {
                    if !wait(until: deadline) { return .success(flag: false) }
                }
                return .success(flag: true)
            }
            while !events.contains(name) {
                if !wait(until: deadline) { return .success(flag: events.contains(name)) }
            }
            return .success(flag: true)
        case .shutdown:
            return .success()
        }
    }

    private func wait(until deadline: Date?) -> Bool {
        guard let deadline else { condition.wait(); return true }
        return condition.wait(until: deadline) || Date() < deadline
    }

    func releaseLocks(heldBy client: Int) {
        condition.lock()
        defer { condition.unlock() }
        let held = holders.filter { $0.value == client }.map(\.key)
        for name in held { holders[name] = nil }
        if !held.isEmpty { condition.broadcast() }
    }
}

// MARK: - Forwarding

/// A manager that forwards every requirement to the reference; mutants override one.
protocol ForwardsToSyncManager: SyncManagerContract {}
extension ForwardsToSyncManager {
    static func start(in directory: String) throws -> SyncManagerAddress { try SyncManager.start(in: directory) }
    static func startRemote(authkey: [UInt8]) throws -> SyncManagerAddress { try SyncManager.startRemote(authkey: authkey) }
    static func shutdown(_ address: SyncManagerAddress, authkey: [UInt8]?) throws { try SyncManager.shutdown(address, authkey: authkey) }
    static func deliverChallenge(_ connection: FramedConnection, authkey: [UInt8]) throws { try SyncManager.deliverChallenge(connection, authkey: authkey) }
    static func answerChallenge(_ connection: FramedConnection, authkey: [UInt8]) throws { try SyncManager.answerChallenge(connection, authkey: authkey) }
}
extension ForwardsToSyncManager where Client == SyncClient {
    static func connect(to address: SyncManagerAddress, authkey: [UInt8]?) throws -> SyncClient { try SyncManager.connect(to: address, authkey: authkey) }
}

// MARK: - A client with one mistake

enum ClientSideIncrement: ForwardsToSyncManager {
    static func connect(to address: SyncManagerAddress, authkey: [UInt8]?) throws -> GetThenSetClient {
        GetThenSetClient(inner: try SyncManager.connect(to: address, authkey: authkey))
    }
}

final class GetThenSetClient: SyncClientContract {
    let inner: SyncClient
    init(inner: SyncClient) { self.inner = inner }
    func value(_ name: String) -> GetThenSetValue { GetThenSetValue(inner: inner.value(name)) }
    func lock(_ name: String) -> LockProxy { inner.lock(name) }
    func event(_ name: String) -> EventProxy { inner.event(name) }
    func call(_ request: SyncRequest) throws -> SyncReply { try inner.call(request) }
    func close() { inner.close() }
}

struct GetThenSetValue: ValueProxyContract {
    let inner: ValueProxy
    func get() throws -> Int { try inner.get() }
    func set(_ value: Int) throws { try inner.set(value) }
    func increment(by delta: Int) throws -> Int {
        let value = try inner.get() + delta          // mistake: another client can come between
        try inner.set(value)
        return value
    }
}

// MARK: - Shutdown with one mistake

enum ShutdownWithoutWait: ForwardsToSyncManager {
    static func shutdown(_ address: SyncManagerAddress, authkey: [UInt8]?) throws {
        let client = try connect(to: address, authkey: authkey)
        _ = try client.call(SyncRequest(.shutdown))
        _ = try? client.call(SyncRequest(.valueGet, name: "x"))     // returns once the server is gone
        client.close()
        if let socketPath = address.socketPath { unlink(socketPath) }
        // mistake: no waitpid — the server stays a zombie
    }
}

// MARK: - A client whose call() lets the connection's errors escape

enum ErrorsNotTranslated: ForwardsToSyncManager {
    static func connect(to address: SyncManagerAddress, authkey: [UInt8]?) throws -> RawClient {
        if let socketPath = address.socketPath {
            return RawClient(connection: FramedConnection(owning: try UnixSocket.connect(to: socketPath)))
        }
        let connection = FramedConnection(owning: try SyncManager.connectTCP(port: address.port))
        try SyncManager.answerChallenge(connection, authkey: authkey ?? [])
        try SyncManager.deliverChallenge(connection, authkey: authkey ?? [])
        return RawClient(connection: connection)
    }
}

final class RawClient: SyncClientContract {
    let connection: FramedConnection
    init(connection: FramedConnection) { self.connection = connection }
    func value(_ name: String) -> RawProxy { RawProxy(client: self, name: name) }
    func lock(_ name: String) -> RawProxy { RawProxy(client: self, name: name) }
    func event(_ name: String) -> RawProxy { RawProxy(client: self, name: name) }
    func call(_ request: SyncRequest) throws -> SyncReply {
        try connection.send(Array(try JSONEncoder().encode(request)))      // mistake: no closed check,
        return try JSONDecoder().decode(SyncReply.self, from: Data(try connection.receive()))   // no translation
    }
    func close() { connection.close() }
}

/// The reference's proxies, over `RawClient`.
struct RawProxy: ValueProxyContract, LockProxyContract, EventProxyContract {
    let client: RawClient
    let name: String

    func result(_ op: SyncRequest.Operation, value: Int? = nil, timeout: Double? = nil) throws -> SyncReply {
        let reply = try client.call(SyncRequest(op, name: name, value: value, timeout: timeout))
        guard reply.ok else { throw SyncManagerError.server(reply.error ?? "unknown error") }
        return reply
    }

    func get() throws -> Int { try result(.valueGet).value ?? 0 }
    func set(_ value: Int) throws { _ = try result(.valueSet, value: value) }
    func increment(by delta: Int) throws -> Int { try result(.valueIncrement, value: delta).value ?? 0 }
    func acquire(timeout: Double?) throws -> Bool { try result(.lockAcquire, timeout: timeout).flag ?? false }
    func release() throws { _ = try result(.lockRelease) }
    func set() throws { _ = try result(.eventSet) }
    func clear() throws { _ = try result(.eventClear) }
    func isSet() throws -> Bool { try result(.eventIsSet).flag ?? false }
    func wait(timeout: Double?) throws -> Bool { try result(.eventWait, timeout: timeout).flag ?? false }
}

enum PathLengthUnchecked: ForwardsToSyncManager {
    static func start(in directory: String) throws -> SyncManagerAddress {
        let socketPath = directory + "/" + SyncManager.socketName
        let listener = try UnixSocket.listen(at: socketPath)          // mistake: no length check first
        let pid = try forkMutantServer(listener: listener, authkey: nil, socketPath: socketPath, mistake: .none)
        return SyncManagerAddress(socketPath: socketPath, serverPID: pid)
    }
}
