import Glibc
import Contracts

// Lesson 07 — reference solution: the parts of a manager's server that do not depend on what it
// serves. Lesson 12's reference builds on them: its server accepts, answers and is reaped the
// same way, with other requests (its package target imports this one).

public enum ServerLoop {
    /// Accepts clients for ever on `listener` (the server's: the loop owns it until the server
    /// ends) and hands each accepted descriptor to `serve`, which owns it from then on and starts
    /// the client's thread.
    /// An interrupted `accept` (EINTR) or a client that left before it was accepted
    /// (ECONNABORTED) is no reason to stop; any other failure of `accept` calls `stop` (remove
    /// the socket) and ends the server with `_exit(1)`.
    public static func acceptForever(_ listener: consuming OwnedDescriptor, stop: () -> Void,
                                     _ serve: (consuming OwnedDescriptor) -> Void) -> Never {
        while true {
            let fd = accept(listener.rawValue, nil, nil)
            if fd == -1 {
                if errno == EINTR || errno == ECONNABORTED { continue }
                stop()
                _exit(1)
            }
            serve(OwnedDescriptor(taking: fd))
        }
    }

    /// What the server sends back for one request.
    public struct Answer {
        public let reply: [UInt8]
        /// A shutdown: send the reply, then end the server process (`_exit(0)`).
        public let thenExit: Bool
        public init(reply: [UInt8], thenExit: Bool = false) {
            self.reply = reply
            self.thenExit = thenExit
        }
    }

    /// Answers one client's requests until its connection ends: one frame in, one reply out.
    /// `answer` returns nil for a frame whose bytes are not a request: `badRequest` goes back and
    /// the connection is kept (the next frame starts right after). End of file, a client killed
    /// mid-request or an absurd length (the framing is lost), a reply that cannot be encoded
    /// (`answer` throws) or one that cannot be sent (EPIPE: the client is gone) end this client's
    /// loop only; everyone else carries on. The caller closes the connection.
    public static func serveRequests(_ connection: FramedConnection, badRequest: [UInt8],
                                     _ answer: ([UInt8]) throws -> Answer?) {
        while true {
            guard let bytes = try? connection.receive() else { return }
            let answered: Answer?
            do { answered = try answer(bytes) } catch { return }
            guard let answered else {
                guard (try? connection.send(badRequest)) != nil else { return }
                continue
            }
            if answered.thenExit {
                try? connection.send(answered.reply)
                _exit(0)
            }
            guard (try? connection.send(answered.reply)) != nil else { return }
        }
    }

    /// Reaps the server: an ended child stays a zombie in the process table until its parent
    /// waits for it. A server that has not stopped within `patience` seconds (it was asked to)
    /// is killed. The corresponding C function is `waitpid`.
    public static func reap(_ pid: pid_t, patience: Double = 5) throws {
        let deadline = monotonicSeconds() + patience
        var status: Int32 = 0
        while true {
            let rc = waitpid(pid, &status, WNOHANG)
            if rc == pid { return }
            if rc == -1 && errno != EINTR { throw SystemError("waitpid", object: "pid \(pid)") }
            if monotonicSeconds() > deadline { kill(pid, SIGKILL) }
            usleep(1000)
        }
    }
}
