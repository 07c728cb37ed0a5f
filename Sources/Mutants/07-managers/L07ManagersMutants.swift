import Foundation
import Glibc
import LabKit
import Lessons
import Solution07

/// Lesson 07's realistic mistakes. Each reuses the reference `Manager` except for its one mistake.
public enum ManagersMutants {
    public static var all: [Mutant<any ManagerContract.Type>] {
        [
            Mutant(name: "client-side-increment", mistake: "increment is done by the client as get + set (two requests)",
                        caughtBy: [3], implementation: ClientSideIncrement.self),
            Mutant(name: "one-client-at-a-time", mistake: "the server serves one connection until it closes before accepting the next",
                        caughtBy: [1: .failed, 2: .deadlocked, 4: .failed, 6: .deadlocked], implementation: OneClientAtATime.self),
            Mutant(name: "no-peer-check", mistake: "the server serves whoever connects (no SO_PEERCRED check)",
                        caughtBy: [7], implementation: NoPeerCheck.self),
            Mutant(name: "world-readable-directory", mistake: "the socket's directory is made 0755 instead of 0700",
                        caughtBy: [7], implementation: WorldReadableDirectory.self),
            Mutant(name: "socket-left-behind", mistake: "the server exits without unlinking its socket, and shutdown does not clean up",
                        caughtBy: [8], implementation: SocketLeftBehind.self),
            Mutant(name: "shutdown-without-wait", mistake: "shutdown asks the server to stop but never reaps it (a zombie)",
                        caughtBy: [8], implementation: ShutdownWithoutWait.self),
            Mutant(name: "server-dies-on-bad-client", mistake: "the server uses try! on a client's request: a broken client crashes it",
                        caughtBy: [5, 6], implementation: ServerDiesOnBadClient.self),
            Mutant(name: "bad-request-ignored", mistake: "a request that does not decode is skipped without a reply",
                        caughtBy: [6], as: .deadlocked, implementation: BadRequestIgnored.self),
            Mutant(name: "exit-when-client-leaves", mistake: "the server exits when its first client disconnects",
                        caughtBy: [1, 5], implementation: ExitWhenClientLeaves.self),
        ]
    }
}

// MARK: - Servers with one mistake

/// How a mutant's server treats one accepted connection (on its own thread, or not).
enum ServerStyle {
    case reference
    case serial                 // serves a connection to its end before the next accept
    case noPeerCheck
    case trapOnBadClient
    case ignoreBadRequest
    case exitWhenClientLeaves
    case keepSocket
}

/// The reference's start, with a pluggable server and directory mode.
func startMutantServer(in parent: String, style: ServerStyle, directoryMode: mode_t = 0o700) throws -> ManagerAddress {
    let directory = try Manager.makePrivateDirectory(in: parent)
    chmod(directory, directoryMode)
    let socketPath = directory + "/" + Manager.socketName
    let listener = try Manager.listen(at: socketPath)
    fflush(nil)
    let pid = fork()
    if pid == -1 { throw SystemError("fork") }
    if pid == 0 {
        if style == .reference { Manager.runServer(listener: listener, socketPath: socketPath, directory: directory) }
        runMutantServer(listener: listener, socketPath: socketPath, directory: directory, style: style)
    }
    close(listener)
    return ManagerAddress(socketPath: socketPath, directory: directory, serverPID: pid)
}

final class MutantClientThread: @unchecked Sendable {
    let connection: FramedConnection
    let state: Manager.ServerState
    let style: ServerStyle
    let directory: String
    let socketPath: String
    init(_ connection: FramedConnection, _ state: Manager.ServerState, _ style: ServerStyle, _ socketPath: String, _ directory: String) {
        self.connection = connection
        self.state = state
        self.style = style
        self.socketPath = socketPath
        self.directory = directory
    }

    func run() {
        defer { connection.close() }
        while true {
            let bytes: [UInt8]
            do {
                bytes = try connection.receive()
            } catch FramedConnection.Failure.endOfFile {
                if style == .exitWhenClientLeaves { _exit(0) }              // mistake (exitWhenClientLeaves)
                return
            } catch {
                if style == .trapOnBadClient { fatalError("bad client: \(error)") }   // mistake (like try!)
                return
            }
            let request: ManagerRequest
            if style == .trapOnBadClient {
                request = try! CompactJSON.decode(ManagerRequest.self, from: bytes)   // mistake
            } else if let decoded = try? CompactJSON.decode(ManagerRequest.self, from: bytes) {
                request = decoded
            } else {
                if style == .ignoreBadRequest { continue }                  // mistake: no reply at all
                guard (try? connection.send(Manager.encode(ManagerReply.failure("bad request")))) != nil else { return }
                continue
            }
            let reply = state.apply(request)
            if request.op == .shutdown {
                if style != .keepSocket { state.removeSocketAndDirectory() }   // mistake (keepSocket): socket stays
                try? connection.send(Manager.encode(reply))
                _exit(0)
            }
            guard (try? connection.send(Manager.encode(reply))) != nil else { return }
        }
    }
}

func runMutantServer(listener: Int32, socketPath: String, directory: String, style: ServerStyle) -> Never {
    let state = Manager.ServerState(socketPath: socketPath, directory: directory)
    while true {
        let fd = accept(listener, nil, nil)
        if fd == -1 { if errno == EINTR { continue }; _exit(1) }
        let connection = FramedConnection(fd: fd)
        if style != .noPeerCheck {                                           // mistake (noPeerCheck): no check
            guard let peer = try? peerCredentials(of: fd), peer.uid == geteuid() else {
                try? connection.send(Manager.encode(ManagerReply.failure("refused")))
                connection.close()
                continue
            }
        }
        let client = MutantClientThread(connection, state, style, socketPath, directory)
        if style == .serial {
            client.run()                                                     // mistake: the next accept waits
        } else {
            Thread { client.run() }.start()
        }
    }
}

/// The reference everywhere but `start`.
protocol MutantManager: ManagerContract where Client == ManagerClient {
    static var style: ServerStyle { get }
}

extension MutantManager {
    static func start(in parent: String) throws -> ManagerAddress { try startMutantServer(in: parent, style: style) }
    static func connect(to address: ManagerAddress) throws -> ManagerClient { try Manager.connect(to: address) }
    static func shutdown(_ address: ManagerAddress) throws { try Manager.shutdown(address) }
}

enum OneClientAtATime: MutantManager { static let style = ServerStyle.serial }
enum NoPeerCheck: MutantManager { static let style = ServerStyle.noPeerCheck }
enum ServerDiesOnBadClient: MutantManager { static let style = ServerStyle.trapOnBadClient }
enum BadRequestIgnored: MutantManager { static let style = ServerStyle.ignoreBadRequest }
enum ExitWhenClientLeaves: MutantManager { static let style = ServerStyle.exitWhenClientLeaves }

enum WorldReadableDirectory: MutantManager {
    static let style = ServerStyle.reference
    static func start(in parent: String) throws -> ManagerAddress {
        try startMutantServer(in: parent, style: .reference, directoryMode: 0o755)   // mistake: others may enter
    }
}

enum SocketLeftBehind: MutantManager {
    static let style = ServerStyle.keepSocket
    static func shutdown(_ address: ManagerAddress) throws {
        let client = try Manager.connect(to: address)
        _ = try client.call(ManagerRequest(.shutdown))
        client.close()
        var status: Int32 = 0
        while waitpid(address.serverPID, &status, 0) == -1 && errno == EINTR {}
        // mistake: neither the server nor shutdown unlinks the socket or removes the directory
    }
}

enum ShutdownWithoutWait: MutantManager {
    static let style = ServerStyle.reference
    static func shutdown(_ address: ManagerAddress) throws {
        let client = try Manager.connect(to: address)
        _ = try client.call(ManagerRequest(.shutdown))
        // Wait until the server has gone away (its end of our connection closes)…
        _ = try? client.call(ManagerRequest(.count))
        client.close()
        // mistake: …but never waitpid: it stays a zombie
    }
}

// MARK: - A client with one mistake

enum ClientSideIncrement: ManagerContract {
    static func start(in parent: String) throws -> ManagerAddress { try Manager.start(in: parent) }
    static func connect(to address: ManagerAddress) throws -> GetThenSetClient {
        GetThenSetClient(inner: try Manager.connect(to: address))
    }
    static func shutdown(_ address: ManagerAddress) throws { try Manager.shutdown(address) }
}

final class GetThenSetClient: ManagerClientContract {
    let inner: ManagerClient
    init(inner: ManagerClient) { self.inner = inner }
    var list: ListProxy { inner.list }
    var dict: GetThenSetDict { GetThenSetDict(inner: inner.dict) }
    func call(_ request: ManagerRequest) throws -> ManagerReply { try inner.call(request) }
    func close() { inner.close() }
}

struct GetThenSetDict: DictProxyContract {
    let inner: DictProxy
    func set(_ key: String, to value: Int) throws { try inner.set(key, to: value) }
    func get(_ key: String) throws -> Int? { try inner.get(key) }
    func increment(_ key: String, by delta: Int) throws -> Int {
        let value = (try inner.get(key) ?? 0) + delta     // mistake: another client can come between
        try inner.set(key, to: value)
        return value
    }
}
