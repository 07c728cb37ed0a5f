import Foundation
import Glibc

/// What lessons 07 and 12 check alike: a manager server that the student's `start` forked,
/// client processes that the check forks, and frames written byte for byte. One copy of each
/// helper serves both lessons' checks; each lesson names its student file (`file`), and its
/// own helpers (`Lesson07.runClients`, `Lesson12.runClients`, …) say what a failure means there.
protocol ManagerServerChecks {
    /// The student's file, for "look at" lines.
    static var file: String { get }
}

extension Lesson07: ManagerServerChecks {}
extension Lesson12: ManagerServerChecks {}

/// What became of the client processes `forkClients` started.
struct ForkedClients {
    /// The clients (numbered from 1) still running when the time was up; they were killed.
    let hung: [Int]
    /// One line per client that threw: "client N: the error".
    let failures: [String]
}

/// Client processes `startClients` forked, and the read end of the pipe on which each client
/// that threw wrote its line.
struct StartedClients: ~Copyable {
    /// The clients' pids, in order.
    let children: [pid_t]
    /// The read end of the clients' report pipe (its write end is closed in this process).
    let report: OwnedDescriptor

    /// One line per client that threw ("client N: the error"), read to the end once every client
    /// has ended or been killed; closes the pipe.
    consuming func failureLines() -> [String] {
        String(decoding: (try? report.readAll()) ?? [], as: UTF8.self).split(separator: "\n").map(String.init)
    }
}

extension ManagerServerChecks {
    /// After `start(in:)` returned: a listening socket at `socketPath` and a running server.
    static func requireServing(socketPath: String, serverPID: pid_t) throws {
        let look = "start(in:) in \(file)"
        var info = stat()
        try require(lstat(socketPath, &info) == 0 && (info.st_mode & S_IFMT) == S_IFSOCK, CheckFailure(
            "start returned, but there is no socket at its address", expected: "a listening socket at \(socketPath)",
            seen: lstat(socketPath, &info) == 0 ? "a file that is not a socket" : "nothing there",
            cause: "bind and listen before fork, so that clients can connect as soon as start returns", look: look))
        try require(serverPID > 0 && kill(serverPID, 0) == 0, CheckFailure(
            "start returned, but its server process is not running", expected: "process \(serverPID) alive", look: look))
    }

    /// Forks `count` client processes: each connects, runs `body` with its index and closes; an
    /// error it throws becomes its line in the returned clients' report (see `StartedClients`).
    static func startClients<C>(count: Int, connect: () throws -> C, close: (C) -> Void,
                                _ body: (Int, C) throws -> Void) throws -> StartedClients {
        let report = try OwnedPipe()
        var children: [pid_t] = []
        for index in 0..<count {
            children.append(try forkChild {
                _ = Glibc.close(report.read.rawValue)                  // the child's copy of the read end
                do {
                    let client = try connect()
                    try body(index, client)
                    close(client)
                    return 0
                } catch {
                    let line = "client \(index + 1): \(error)".prefix(1500).replacingOccurrences(of: "\n", with: " / ")
                    try? report.write.writeAll(line + "\n")
                    return 1
                }
            })
        }
        report.write.close()
        return StartedClients(children: children, report: report.read)
    }

    /// The clients of `startClients`, waited for: 15 s at most (a client still running then is
    /// killed and counted as hung).
    static func forkClients<C>(count: Int, connect: () throws -> C, close: (C) -> Void,
                               _ body: (Int, C) throws -> Void) throws -> ForkedClients {
        let started = try startClients(count: count, connect: connect, close: close, body)
        let deadline = monotonicSeconds() + 15
        var hung: [Int] = []
        for (index, pid) in started.children.enumerated() {
            if waitForProcess(pid, timeout: max(0.5, deadline - monotonicSeconds())) == nil { hung.append(index + 1) }
        }
        return ForkedClients(hung: hung, failures: started.failureLines())
    }

    /// How the server ended, if it has (the part process is its parent: reaping it here is fine).
    static func serverEnd(pid: pid_t) -> ProcessEnd? {
        var status: Int32 = 0
        if waitpid(pid, &status, WNOHANG) == pid { return ProcessEnd(waitStatus: status) }
        return nil
    }

    /// The server must still be running once it has finished reacting to `moment`: first wait
    /// (up to 5 s) until every one of its threads sleeps again — a server that is dying of what
    /// just happened (a trap in a client's thread) may still answer others for a few milliseconds
    /// while the runtime prints its error — then ask whether it ended.
    static func requireServerAlive(pid: pid_t, after moment: String, cause: String) throws {
        _ = waitUntilThreadsBlocked(pid, timeout: 5)
        if let end = serverEnd(pid: pid) {
            throw CheckFailure("the server process ended after \(moment)", expected: "the server keeps running",
                               seen: "the server process \(end)", cause: cause, look: "the server in \(file)")
        }
    }

    /// `body` must throw exactly `expected` (the lesson's error type).
    static func expectError<E: Error & Equatable>(_ expected: E, _ call: String, look: String, cause: String? = nil,
                                                  _ body: () throws -> Void) throws {
        do {
            try body()
        } catch let error as E {
            try requireEqual(error, expected, "\(call) threw the wrong error", look: look)
            return
        } catch {
            throw CheckFailure("\(call) threw the wrong error", expected: "\(expected)", seen: "\(error)", cause: cause, look: look)
        }
        throw CheckFailure("\(call) did not throw", expected: "\(expected)", seen: "no error", look: look)
    }

    /// A frame's 4-byte big-endian length, as `FramedConnection` (and Python's `send_bytes`) writes it.
    static func bigEndianLength(_ n: Int32) -> [UInt8] {
        let u = UInt32(bitPattern: n)
        return [UInt8(u >> 24), UInt8((u >> 16) & 0xff), UInt8((u >> 8) & 0xff), UInt8(u & 0xff)]
    }

    static func frame(_ payload: [UInt8]) -> [UInt8] { bigEndianLength(Int32(payload.count)) + payload }

    /// Writes `bytes` as they are (a frame the check built, or only part of one).
    static func rawWrite(_ socket: BorrowedDescriptor, _ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { raw in
            var done = 0
            while done < raw.count {
                let n = send(socket.rawValue, raw.baseAddress! + done, raw.count - done, Int32(MSG_NOSIGNAL))
                if n == -1 {
                    if errno == EINTR { continue }
                    throw SystemError("send", object: "fd \(socket.rawValue)")
                }
                done += n
            }
        }
    }
}
