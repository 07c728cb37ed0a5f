import Foundation
import Glibc
import Contracts

// Lesson 12 — managers, part 2: locks, events and a remote manager.
// Read the lesson: swift run lab show 12     Check your work: swift run lab check 12
//
// Replace each todo() with your code. Messages travel in the lab's FramedConnection as JSON:
// JSONEncoder().encode(request), JSONDecoder().decode(SyncRequest.self, from: Data(bytes)).
// The digests are ready: HMAC.authenticate(message, key: authkey, with: .md5 or .sha256).

public enum SyncManager: SyncManagerContract {
    /// Listens on <directory>/sync.sock, forks the server and returns its address. The server
    /// serves every client at once, answers a frame that is not a SyncRequest with
    /// SyncReply.failure (and keeps the connection), and releases the locks of a client whose
    /// connection ends.
    public static func start(in directory: String) throws -> SyncManagerAddress {
        todo()
    }

    /// Listens on 127.0.0.1, port 0 (getsockname gives the real one), forks the same server; each
    /// connection must pass deliverChallenge then answerChallenge before any request is read.
    public static func startRemote(authkey: [UInt8]) throws -> SyncManagerAddress {
        todo()
    }

    /// Over the Unix socket, or over TCP followed by answerChallenge then deliverChallenge.
    public static func connect(to address: SyncManagerAddress, authkey: [UInt8]?) throws -> SyncClient {
        todo()
    }

    /// Asks the server to stop, reaps it with waitpid, and makes sure its socket file is gone.
    public static func shutdown(_ address: SyncManagerAddress, authkey: [UInt8]?) throws {
        todo()
    }

    /// #CHALLENGE# + {sha256} + 40 random bytes out; read the answer with
    /// receive(atMost: Handshake.maximumMessage) (256 bytes at most); check it; #WELCOME# or #FAILURE#.
    public static func deliverChallenge(_ connection: FramedConnection, authkey: [UInt8]) throws {
        todo()
    }

    /// Read the challenge (receive(atMost: Handshake.maximumMessage)), send its HMAC (raw MD5 for a
    /// 20-byte message), expect #WELCOME#.
    public static func answerChallenge(_ connection: FramedConnection, authkey: [UInt8]) throws {
        todo()
    }
}

/// A connection to the manager; `value`, `lock` and `event` are its proxies.
public final class SyncClient: SyncClientContract {
    let connection: FramedConnection

    init(connection: FramedConnection) {
        self.connection = connection
    }

    /// The proxy of the server's value called `name`: ValueProxy(client: self, name: name).
    public func value(_ name: String) -> ValueProxy {
        todo()
    }

    public func lock(_ name: String) -> LockProxy {
        todo()
    }

    public func event(_ name: String) -> EventProxy {
        todo()
    }

    /// One request out (JSON in a frame), one reply back.
    public func call(_ request: SyncRequest) throws -> SyncReply {
        todo()
    }

    /// Closes the connection; a second close does nothing.
    public func close() {
        todo()
    }
}

/// Python's manager.Value: each method is one request.
public struct ValueProxy: ValueProxyContract {
    let client: SyncClient
    let name: String

    public func get() throws -> Int {
        todo()
    }

    public func set(_ value: Int) throws {
        todo()
    }

    /// One request: the server adds, so that two clients never lose an update.
    public func increment(by delta: Int) throws -> Int {
        todo()
    }
}

/// Python's manager.Lock: acquire is answered when the server grants it.
public struct LockProxy: LockProxyContract {
    let client: SyncClient
    let name: String

    public func acquire(timeout: Double?) throws -> Bool {
        todo()
    }

    public func release() throws {
        todo()
    }
}

/// Python's manager.Event.
public struct EventProxy: EventProxyContract {
    let client: SyncClient
    let name: String

    public func set() throws {
        todo()
    }

    public func clear() throws {
        todo()
    }

    public func isSet() throws -> Bool {
        todo()
    }

    public func wait(timeout: Double?) throws -> Bool {
        todo()
    }
}
