import Glibc
import LabSupport

/// Where a running manager listens, and which process serves it.
public struct ManagerAddress: Equatable, Sendable, CustomStringConvertible {
    /// The listening socket: `<directory>/manager.sock`.
    public let socketPath: String
    /// The private directory (mode 0700) that holds the socket, made by `start`.
    public let directory: String
    /// The server process: a child of the process that called `start`, which must reap it.
    public let serverPID: pid_t

    public init(socketPath: String, directory: String, serverPID: pid_t) {
        self.socketPath = socketPath
        self.directory = directory
        self.serverPID = serverPID
    }

    public var description: String { "\(socketPath) (server pid \(serverPID))" }
}

/// One request a proxy call sends: JSON such as `{"op":"append","value":7}`.
public struct ManagerRequest: Codable, Equatable, Sendable {
    /// What to do. The list: append, count, item, snapshot. The dict: set, get, increment.
    public enum Operation: String, Codable, Sendable {
        case append, count, item, snapshot
        case set, get, increment
        case shutdown
    }

    public var op: Operation
    /// For `item`.
    public var index: Int?
    /// For `set`, `get`, `increment`.
    public var key: String?
    /// For `append`, `set`, and `increment` (the amount to add).
    public var value: Int?

    public init(_ op: Operation, index: Int? = nil, key: String? = nil, value: Int? = nil) {
        self.op = op
        self.index = index
        self.key = key
        self.value = value
    }
}

/// The one reply to one request: `{"ok":true,"value":3}` or `{"ok":false,"error":"index out of range"}`.
public struct ManagerReply: Codable, Equatable, Sendable {
    public var ok: Bool
    /// For count, item, get (absent when the key is missing) and increment (the new value).
    public var value: Int?
    /// For snapshot.
    public var values: [Int]?
    /// Why the request failed, when `ok` is false.
    public var error: String?

    public init(ok: Bool, value: Int? = nil, values: [Int]? = nil, error: String? = nil) {
        self.ok = ok
        self.value = value
        self.values = values
        self.error = error
    }

    public static func success(value: Int? = nil, values: [Int]? = nil) -> ManagerReply {
        ManagerReply(ok: true, value: value, values: values)
    }

    public static func failure(_ message: String) -> ManagerReply {
        ManagerReply(ok: false, error: message)
    }

    /// The error text for `item` outside `0..<count`; clients turn it into `indexOutOfRange`.
    public static let indexOutOfRange = "index out of range"
}

// CompactJSON's fast lane: the same JSON as the synthesized Codable conformance (members in
// declaration order, nil ones left out), written and read without Codable's containers. A
// manager call encodes and decodes four messages; this keeps that well under a microsecond.
// Foundation's JSONEncoder/JSONDecoder still work on these types, and read and write the same text.
extension ManagerRequest: CompactJSONMessage {
    public func writeCompactJSON(_ object: inout CompactJSON.ObjectWriter) {
        object.write("op", op.rawValue)
        object.write("index", index)
        object.write("key", key)
        object.write("value", value)
    }

    public init(compactJSON object: CompactJSON.ObjectReader) throws {
        let name = try object.requiredString("op")
        guard let op = Operation(rawValue: name) else {
            throw DecodingError.dataCorrupted(DecodingError.Context(codingPath: [], debugDescription: "unknown op \"\(name)\""))
        }
        self.init(op, index: try object.int("index"), key: try object.string("key"), value: try object.int("value"))
    }
}

extension ManagerReply: CompactJSONMessage {
    public func writeCompactJSON(_ object: inout CompactJSON.ObjectWriter) {
        object.write("ok", ok)
        object.write("value", value)
        object.write("values", values)
        object.write("error", error)
    }

    public init(compactJSON object: CompactJSON.ObjectReader) throws {
        self.init(ok: try object.requiredBool("ok"), value: try object.int("value"),
                  values: try object.ints("values"), error: try object.string("error"))
    }
}

/// What lesson 07 throws (a failed system call is a `SystemError` naming it, e.g. `connect` with
/// ENOENT when no manager listens there).
public enum ManagerError: Error, Equatable, CustomStringConvertible {
    /// The socket path would not fit in `sockaddr_un` (107 bytes).
    case pathTooLong(String)
    /// `item(at:)` outside `0..<count`.
    case indexOutOfRange(Int)
    /// The server answered with an error (a bad request, a refused peer…).
    case server(String)
    /// The server closed the connection without answering: it refused us, or it is gone.
    case disconnected
    /// The client was used after `close()`.
    case closed

    public var description: String {
        switch self {
        case .pathTooLong(let path): return "ManagerError.pathTooLong(\(path))"
        case .indexOutOfRange(let i): return "ManagerError.indexOutOfRange(\(i))"
        case .server(let message): return "ManagerError.server(\"\(message)\")"
        case .disconnected: return "ManagerError.disconnected"
        case .closed: return "ManagerError.closed"
        }
    }
}

/// Lesson 07 — a manager: a server process that owns a list and a dict, reached over a Unix
/// domain socket. The student's `Manager` implements it.
public protocol ManagerContract {
    associatedtype Client: ManagerClientContract

    /// Makes a private directory (mode 0700) inside `parent`, listens on `manager.sock` in it,
    /// forks the server and returns its address. The server owns an empty list of Int and an
    /// empty dict of String → Int, serves every connected client at once, one reply per request,
    /// and refuses peers whose uid (SO_PEERCRED) is not its own.
    /// The corresponding C functions are `mkdtemp`, `socket`, `bind`, `listen` and `fork`.
    static func start(in parent: String) throws -> ManagerAddress

    /// Connects to a running manager. The corresponding C functions are `socket` and `connect`.
    static func connect(to address: ManagerAddress) throws -> Client

    /// Asks the server to stop, reaps it (`waitpid`) and makes sure the socket and its directory
    /// are gone. Call it from the process that called `start`.
    static func shutdown(_ address: ManagerAddress) throws
}

/// A connection to the manager, and the proxies that use it.
public protocol ManagerClientContract: AnyObject {
    associatedtype List: ListProxyContract
    associatedtype Dict: DictProxyContract

    /// The server's list.
    var list: List { get }
    /// The server's dict.
    var dict: Dict { get }

    /// Sends one request (JSON in a frame) and returns the one reply. Throws
    /// `ManagerError.disconnected` when the server closes the connection instead of answering and
    /// `ManagerError.closed` after `close()`. An error reply is returned, not thrown.
    func call(_ request: ManagerRequest) throws -> ManagerReply

    /// Closes the connection; a second call does nothing.
    func close()
}

/// Python's `manager.list()` proxy, for a list of Int.
public protocol ListProxyContract {
    func append(_ value: Int) throws
    func count() throws -> Int
    /// Throws `ManagerError.indexOutOfRange` outside `0..<count`.
    func item(at index: Int) throws -> Int
    /// A copy of the whole list.
    func snapshot() throws -> [Int]
}

/// Python's `manager.dict()` proxy, for String → Int.
public protocol DictProxyContract {
    func set(_ key: String, to value: Int) throws
    /// nil when the key is missing.
    func get(_ key: String) throws -> Int?
    /// Adds `delta` on the server, in one request (a missing key counts as 0), and returns the
    /// new value. Atomic: two clients incrementing at once never lose an update.
    func increment(_ key: String, by delta: Int) throws -> Int
}
