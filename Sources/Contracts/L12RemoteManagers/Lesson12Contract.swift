import Glibc
import LabSupport

/// Where a running manager listens, and which process serves it. Over a Unix socket the
/// `socketPath` is set; over TCP the `port` (on `host`, always 127.0.0.1 in this lab).
public struct SyncManagerAddress: Equatable, Sendable, CustomStringConvertible {
    /// `<directory>/sync.sock` for a local manager; nil for a remote one.
    public let socketPath: String?
    /// "127.0.0.1" for a remote manager; nil for a local one.
    public let host: String?
    /// The TCP port the kernel chose (bind to port 0); 0 for a local manager.
    public let port: UInt16
    /// The server process: a child of the process that called `start…`, which must reap it.
    public let serverPID: pid_t

    /// A manager on a Unix socket.
    public init(socketPath: String, serverPID: pid_t) {
        self.socketPath = socketPath
        self.host = nil
        self.port = 0
        self.serverPID = serverPID
    }

    /// A manager on TCP at `host:port`.
    public init(host: String, port: UInt16, serverPID: pid_t) {
        self.socketPath = nil
        self.host = host
        self.port = port
        self.serverPID = serverPID
    }

    public var description: String {
        if let socketPath { return "\(socketPath) (server pid \(serverPID))" }
        return "\(host ?? "?"):\(port) (server pid \(serverPID))"
    }
}

/// One request: JSON such as `{"op":"lock.acquire","name":"L","timeout":0.5}`.
public struct SyncRequest: Codable, Equatable, Sendable {
    public enum Operation: String, Codable, Sendable {
        case valueGet = "value.get", valueSet = "value.set", valueIncrement = "value.increment"
        case lockAcquire = "lock.acquire", lockRelease = "lock.release"
        case eventSet = "event.set", eventClear = "event.clear", eventIsSet = "event.is_set", eventWait = "event.wait"
        case shutdown
    }

    public var op: Operation
    /// Which object: the server keeps one value, lock and event per name, made on first use.
    public var name: String?
    /// For `value.set` (the new value) and `value.increment` (the amount).
    public var value: Int?
    /// For `lock.acquire` and `event.wait`: seconds to wait at most; absent: wait for ever.
    public var timeout: Double?

    public init(_ op: Operation, name: String? = nil, value: Int? = nil, timeout: Double? = nil) {
        self.op = op
        self.name = name
        self.value = value
        self.timeout = timeout
    }
}

/// The one reply to one request: `{"ok":true,"value":3}`, `{"ok":true,"flag":false}` or
/// `{"ok":false,"error":"release of a lock this client does not hold"}`.
public struct SyncReply: Codable, Equatable, Sendable {
    public var ok: Bool
    /// For `value.get` and `value.increment` (the new value).
    public var value: Int?
    /// For `lock.acquire` (acquired?), `event.is_set` and `event.wait` (set?).
    public var flag: Bool?
    /// Why the request failed, when `ok` is false.
    public var error: String?

    public init(ok: Bool, value: Int? = nil, flag: Bool? = nil, error: String? = nil) {
        self.ok = ok
        self.value = value
        self.flag = flag
        self.error = error
    }

    public static func success(value: Int? = nil, flag: Bool? = nil) -> SyncReply { SyncReply(ok: true, value: value, flag: flag) }
    public static func failure(_ message: String) -> SyncReply { SyncReply(ok: false, error: message) }
}

/// What lesson 12 throws (a failed system call is a `SystemError` naming it).
public enum SyncManagerError: Error, Equatable, CustomStringConvertible {
    /// The socket path would not fit in `sockaddr_un` (107 bytes).
    case pathTooLong(String)
    /// The server answered with an error.
    case server(String)
    /// The server closed the connection without answering.
    case disconnected
    /// The client was used after `close()`.
    case closed

    public var description: String {
        switch self {
        case .pathTooLong(let path): return "SyncManagerError.pathTooLong(\(path))"
        case .server(let message): return "SyncManagerError.server(\"\(message)\")"
        case .disconnected: return "SyncManagerError.disconnected"
        case .closed: return "SyncManagerError.closed"
        }
    }
}

/// The challenge–response of CPython's `multiprocessing.connection` failed: the peer does not
/// know the key (or does not speak the protocol). Python raises `AuthenticationError`.
public struct AuthenticationError: Error, Equatable, CustomStringConvertible {
    public let reason: String
    public init(_ reason: String) { self.reason = reason }
    public var description: String { "AuthenticationError: \(reason)" }
}

/// The bytes of CPython's handshake (`multiprocessing/connection.py`).
public enum Handshake {
    public static let challenge = Array("#CHALLENGE#".utf8)
    public static let welcome = Array("#WELCOME#".utf8)
    public static let failure = Array("#FAILURE#".utf8)
    /// The random bytes of a 3.11 (legacy) challenge; 3.12+ sends `{sha256}` and 40 bytes.
    public static let legacyMessageLength = 20
    /// A response or challenge at most this long is read (`recv_bytes(256)`): a longer length is
    /// refused as soon as it arrives (`FramedConnection.receive(atMost:)`), the rest never waited for.
    public static let maximumMessage = 256
}

/// Lesson 12 — a manager serving values, locks and events over a Unix socket, and the same
/// manager on loopback TCP behind CPython's authentication challenge. The student's
/// `SyncManager` implements it.
public protocol SyncManagerContract {
    associatedtype Client: SyncClientContract

    /// Listens on `<directory>/sync.sock` (`directory` exists and is private to this user: the
    /// check gives it), forks the server and returns its address. The server owns values, locks
    /// and events by name, serves every client at once (one thread each), answers a frame that is
    /// not a `SyncRequest` with an error reply (`SyncReply.failure`) and goes on with that
    /// connection, and when a client's connection ends — it closed it, or it died — releases
    /// every lock that client held.
    /// The corresponding C functions are `socket`, `bind`, `listen` and `fork`.
    static func start(in directory: String) throws -> SyncManagerAddress

    /// Listens on 127.0.0.1 (loopback only), port 0 (the kernel picks one, read back with
    /// `getsockname`), forks the same server and returns its address. Every connection must pass
    /// the handshake in both directions with `authkey` before any request is read.
    /// The corresponding C functions are `socket`, `setsockopt(SO_REUSEADDR)`, `bind`,
    /// `getsockname`, `listen` and `fork`.
    static func startRemote(authkey: [UInt8]) throws -> SyncManagerAddress

    /// Connects to a manager: over its Unix socket, or over TCP followed by the handshake with
    /// `authkey` (answer the server's challenge, then challenge it), as Python's `Client` does.
    /// Throws `AuthenticationError` when either side's key is wrong.
    static func connect(to address: SyncManagerAddress, authkey: [UInt8]?) throws -> Client

    /// Asks the server to stop, reaps it (`waitpid`) and makes sure its socket file is gone.
    static func shutdown(_ address: SyncManagerAddress, authkey: [UInt8]?) throws

    /// The challenger's half (`deliver_challenge`): send `#CHALLENGE#` + `{sha256}` + 40 random
    /// bytes; read the response (at most 256 bytes: `receive(atMost: Handshake.maximumMessage)`
    /// refuses a longer length as soon as it arrives, as Python's `recv_bytes(256)`); accept `{sha256}` + HMAC-SHA256(authkey,
    /// `{sha256}`+random) or — a 3.11 peer — the raw 16-byte HMAC-MD5 of the same bytes; reply
    /// `#WELCOME#`, or `#FAILURE#` and throw `AuthenticationError`.
    static func deliverChallenge(_ connection: FramedConnection, authkey: [UInt8]) throws

    /// The responder's half (`answer_challenge`): read `#CHALLENGE#` + message (at most 256
    /// bytes, like the response: a longer challenge is an error at once); a 20-byte message
    /// (a 3.11 challenger) is answered with the raw HMAC-MD5 of it; a `{digest}`-prefixed one with
    /// `{digest}` + HMAC(digest) of the whole message (prefix included); then expect `#WELCOME#`,
    /// else throw `AuthenticationError`.
    static func answerChallenge(_ connection: FramedConnection, authkey: [UInt8]) throws
}

/// A connection to the manager; its proxies turn method calls into requests.
public protocol SyncClientContract: AnyObject {
    associatedtype Value: ValueProxyContract
    associatedtype Lock: LockProxyContract
    associatedtype Event: EventProxyContract

    /// Python's `manager.Value('i', 0)`: the server's integer called `name` (0 until set).
    func value(_ name: String) -> Value
    /// Python's `manager.Lock()`: the server's lock called `name`.
    func lock(_ name: String) -> Lock
    /// Python's `manager.Event()`: the server's event called `name` (clear until set).
    func event(_ name: String) -> Event

    /// Sends one request and returns the one reply. Throws `SyncManagerError.disconnected` when
    /// the server closes instead of answering and `.closed` after `close()`. An error reply is
    /// returned, not thrown.
    func call(_ request: SyncRequest) throws -> SyncReply

    /// Closes the connection (the server then releases the locks this client held); a second
    /// call does nothing.
    func close()
}

/// A shared integer. An error reply is thrown as `SyncManagerError.server`.
public protocol ValueProxyContract {
    func get() throws -> Int
    func set(_ value: Int) throws
    /// Adds `delta` on the server in one request and returns the new value: two clients
    /// incrementing at once never lose an update (Python's `v.value += 1` is two requests and does).
    func increment(by delta: Int) throws -> Int
}

/// A lock held by one client at a time.
public protocol LockProxyContract {
    /// Blocks until this client holds the lock, or `timeout` seconds pass (nil: no limit).
    /// Returns whether it got the lock. The server answers only once it grants it.
    func acquire(timeout: Double?) throws -> Bool
    /// Releases the lock. Throws `SyncManagerError.server` when this client does not hold it.
    func release() throws
}

/// An event: a flag that waiters block on until it is set.
public protocol EventProxyContract {
    /// Sets the flag and wakes every waiter (of every client); later waits return at once.
    func set() throws
    /// Clears the flag.
    func clear() throws
    func isSet() throws -> Bool
    /// Blocks until the flag is set or `timeout` seconds pass (nil: no limit); returns the flag.
    func wait(timeout: Double?) throws -> Bool
}
