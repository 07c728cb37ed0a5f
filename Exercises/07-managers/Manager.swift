import Foundation
import Glibc
import Contracts

// Lesson 07 — managers.
// Read the lesson: swift run lab show 7     Check your work: swift run lab check 7
//
// Replace each todo() with your code. Messages travel in the lab's FramedConnection (lesson 06's
// framing, ready to use) as JSON: JSONEncoder().encode(request), JSONDecoder().decode(…) — or the
// lab's faster CompactJSON.encode(request), CompactJSON.decode(ManagerRequest.self, from: bytes).
// Throw ManagerError for the cases the lesson lists, and SystemError("bind") (or the call that
// failed) when a system call fails.

public enum Manager: ManagerContract {
    /// Makes a 0700 directory in `parent` (mkdtemp), listens on <directory>/manager.sock, forks
    /// the server (which never returns: it accepts clients until asked to shut down) and returns
    /// the address. The server serves every client at once and refuses other uids (SO_PEERCRED).
    public static func start(in parent: String) throws -> ManagerAddress {
        todo()
    }

    /// Connects a new client to the manager's socket.
    public static func connect(to address: ManagerAddress) throws -> ManagerClient {
        todo()
    }

    /// Asks the server to stop, reaps it with waitpid, and makes sure the socket and directory are gone.
    public static func shutdown(_ address: ManagerAddress) throws {
        todo()
    }
}

/// A connection to the manager; `list` and `dict` are its proxies.
public final class ManagerClient: ManagerClientContract {
    let connection: FramedConnection

    init(connection: FramedConnection) {
        self.connection = connection
    }

    public var list: ListProxy { ListProxy(client: self) }
    public var dict: DictProxy { DictProxy(client: self) }

    /// One request out (JSON in a frame), one reply back.
    public func call(_ request: ManagerRequest) throws -> ManagerReply {
        todo()
    }

    /// Closes the connection; a second close does nothing.
    public func close() {
        todo()
    }
}

/// Python's manager.list(): each method is one request.
public struct ListProxy: ListProxyContract {
    let client: ManagerClient

    public func append(_ value: Int) throws {
        todo()
    }

    public func count() throws -> Int {
        todo()
    }

    public func item(at index: Int) throws -> Int {
        todo()
    }

    public func snapshot() throws -> [Int] {
        todo()
    }
}

/// Python's manager.dict(): each method is one request.
public struct DictProxy: DictProxyContract {
    let client: ManagerClient

    public func set(_ key: String, to value: Int) throws {
        todo()
    }

    public func get(_ key: String) throws -> Int? {
        todo()
    }

    /// One request: the server adds, so that two clients never lose an update.
    public func increment(_ key: String, by delta: Int) throws -> Int {
        todo()
    }
}
