import Glibc

extension Lesson12 {
    /// The lab's own side of CPython's handshake, written from `multiprocessing/connection.py`
    /// and independent of the student's code: a client that answers and challenges the way
    /// Python 3.12+ does (`{sha256}`) or the way 3.11 does (raw HMAC-MD5, 20-byte challenges),
    /// and an impostor server that does not know the key.
    enum LabPeer {
        enum Style {
            case modern, legacy
            var label: String { self == .modern ? "a client that speaks like Python 3.12+ ({sha256})" : "a client that speaks like Python 3.11 (HMAC-MD5)" }
        }

        /// What went wrong in the handshake, and what it most likely means.
        struct Failure: Error, CustomStringConvertible {
            let description: String
            let cause: String
        }

        /// Seconds the lab waits for each handshake message: a server that waits for something
        /// else fails the part with a reason instead of a hang.
        static let patience = 1.0

        /// A TCP connection to 127.0.0.1:`port`, with a receive timeout. The corresponding C
        /// functions are `socket`, `setsockopt(SO_RCVTIMEO)` and `connect`.
        static func connect(port: UInt16) throws -> FramedConnection {
            let fd = OwnedDescriptor(taking: try valueOrErrno("socket") {
                socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            })
            var limit = timeval(tv_sec: 1, tv_usec: 0)
            _ = setsockopt(fd.rawValue, SOL_SOCKET, SO_RCVTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
            var address = loopback(port: port)
            try withUnsafePointer(to: &address) { pointer in
                try pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { raw in
                    _ = try valueOrErrno("connect", object: "127.0.0.1:\(port)") { Glibc.connect(fd.rawValue, raw, socklen_t(MemoryLayout<sockaddr_in>.size)) }
                }
            }
            return FramedConnection(owning: fd)
        }

        static func loopback(port: UInt16) -> sockaddr_in {
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = port.bigEndian
            address.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
            return address
        }

        /// Receives one message, turning a timeout or a closed connection into a `Failure`.
        static func receive(_ connection: FramedConnection, waitingFor what: String, cause: String) throws -> [UInt8] {
            do {
                return try connection.receive()
            } catch let error as SystemError where error.errno == EAGAIN || error.errno == EWOULDBLOCK {
                throw Failure(description: "no \(what) within \(patience) s", cause: cause)
            } catch {
                throw Failure(description: "the connection ended while the lab waited for \(what): \(error)", cause: cause)
            }
        }

        static func random(_ count: Int) -> [UInt8] {
            var generator = SystemRandomNumberGenerator()
            return (0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) }
        }

        static let sha256Prefix = Array("{sha256}".utf8)

        /// The client's first half: answer the server's challenge and expect `#WELCOME#`.
        static func answer(_ connection: FramedConnection, key: [UInt8], style: Style) throws {
            let challenge = try receive(connection, waitingFor: "#CHALLENGE# from the server",
                                        cause: "the server speaks first: as soon as it accepts a TCP connection it sends #CHALLENGE# + message (deliverChallenge), before it reads anything")
            guard challenge.starts(with: Handshake.challenge) else {
                throw Failure(description: "the server's first message is \(show(challenge)), not #CHALLENGE#…",
                              cause: "deliverChallenge sends #CHALLENGE# followed by the message, in one frame")
            }
            let message = Array(challenge.dropFirst(Handshake.challenge.count))
            let response: [UInt8]
            if style == .modern && message.starts(with: sha256Prefix) {
                response = sha256Prefix + HMAC.authenticate(message, key: key, with: .sha256)
            } else {
                response = HMAC.authenticate(message, key: key, with: .md5)
            }
            try connection.send(response)
            let verdict = try receive(connection, waitingFor: "#WELCOME# after the lab's answer", cause: "deliverChallenge replies #WELCOME# or #FAILURE# to every answer")
            guard verdict == Handshake.welcome else {
                throw Failure(description: "the server replied \(show(verdict)) to the right answer (\(response.count) bytes: \(style == .modern && message.starts(with: sha256Prefix) ? "{sha256} + HMAC-SHA256" : "raw HMAC-MD5") of the \(message.count) bytes after #CHALLENGE#)",
                              cause: style == .legacy
                                ? "a Python 3.11 client answers with the raw 16-byte HMAC-MD5 of the whole message after #CHALLENGE#, {sha256} prefix included: accept it as well as {sha256} + HMAC-SHA256"
                                : "the MAC covers the whole message after #CHALLENGE#, the {sha256} prefix included, keyed with authkey: HMAC.authenticate(message, key: authkey, with: .sha256)")
            }
        }

        /// The client's second half: challenge the server and check its answer as Python would.
        static func deliver(_ connection: FramedConnection, key: [UInt8], style: Style) throws {
            let message = style == .modern ? sha256Prefix + random(40) : random(Handshake.legacyMessageLength)
            try connection.send(Handshake.challenge + message)
            let response = try receive(connection, waitingFor: "the server's answer to the lab's challenge",
                                       cause: "after #WELCOME#, the server answers the client's challenge (answerChallenge): authentication is mutual")
            let md5 = HMAC.authenticate(message, key: key, with: .md5)
            let accepted = style == .modern
                ? (response == md5 || response == sha256Prefix + HMAC.authenticate(message, key: key, with: .sha256))
                : response == md5
            try connection.send(accepted ? Handshake.welcome : Handshake.failure)
            guard accepted else {
                throw Failure(description: "the server's answer to a \(message.count)-byte challenge was \(show(response)), which is not the HMAC of it under the key",
                              cause: style == .legacy
                                ? (response.starts(with: Array("{".utf8)) ? "a 20-byte challenge comes from a Python 3.11 peer, which expects the raw 16-byte HMAC-MD5, no {digest} prefix" : "answer a 20-byte challenge with HMAC.authenticate(message, key: authkey, with: .md5)")
                                : "answer {sha256}… with {sha256} + HMAC.authenticate(message, key: authkey, with: .sha256), over the whole message (prefix included)")
            }
        }

        /// A wrong-key client: answers the challenge with a MAC under `key` and returns the verdict.
        static func answerAndRead(_ connection: FramedConnection, key: [UInt8]) throws -> [UInt8] {
            let challenge = try receive(connection, waitingFor: "#CHALLENGE# from the server",
                                        cause: "the server sends #CHALLENGE# first, to every client, and reads no request before the handshake")
            let message = Array(challenge.dropFirst(Handshake.challenge.count))
            try connection.send(sha256Prefix + HMAC.authenticate(message, key: key, with: .sha256))
            return try receive(connection, waitingFor: "#WELCOME# or #FAILURE#", cause: "deliverChallenge replies to every answer")
        }

        /// What a server did when the answer to its challenge announced more than 256 bytes.
        enum LongAnswerVerdict {
            /// #FAILURE#, or the connection closed: refused.
            case refused(String)
            case welcomed
            /// Nothing within `patience`: the server waits for the rest.
            case waited
            case other([UInt8])
        }

        /// A client that answers the server's challenge with only the 4-byte length of a
        /// `length`-byte answer, and never the answer: a server that reads at most 256 bytes
        /// refuses it at once; one that reads whatever length it is told waits for the rest.
        static func announceLongAnswer(_ connection: FramedConnection, length: Int) throws -> LongAnswerVerdict {
            _ = try receive(connection, waitingFor: "#CHALLENGE# from the server",
                            cause: "the server sends #CHALLENGE# first, to every client, and reads no request before the handshake")
            try Lesson12.rawWrite(connection.borrowed, Lesson12.bigEndianLength(Int32(length)))
            guard connection.poll(timeout: patience) else { return .waited }
            do {
                let verdict = try connection.receive()
                if verdict == Handshake.failure { return .refused("#FAILURE#") }
                if verdict == Handshake.welcome { return .welcomed }
                return .other(verdict)
            } catch {
                return .refused("the connection closed (\(error))")
            }
        }

        /// Sends one JSON request and returns the reply text.
        static func request(_ connection: FramedConnection, _ json: String) throws -> String {
            try connection.send(Array(json.utf8))
            return String(decoding: try receive(connection, waitingFor: "a reply to \(json)", cause: "serve the connection once the handshake passed"), as: UTF8.self)
        }

        /// The reply to a request, or nil when the connection is closed (or nothing comes).
        static func tryRequest(_ connection: FramedConnection, _ json: String) -> String? {
            guard (try? connection.send(Array(json.utf8))) != nil, let reply = try? connection.receive() else { return nil }
            return String(decoding: reply, as: UTF8.self)
        }

        static func show(_ bytes: [UInt8]) -> String {
            if bytes.allSatisfy({ $0 >= 0x20 && $0 < 0x7f }) { return "\"\(String(decoding: bytes, as: UTF8.self))\"" }
            let prefix = bytes.prefix { $0 != 0x7d }.count < bytes.count && bytes.first == 0x7b
                ? String(decoding: bytes.prefix(through: bytes.firstIndex(of: 0x7d)!), as: UTF8.self) + " + " : ""
            return prefix + "\(bytes.count) bytes"
        }

        /// A server that does not know the key: it welcomes any answer, then answers the client's
        /// challenge with random bytes. Runs in a forked child of the part. With `longChallenge`
        /// it sends only the 4-byte length of a 1 MiB challenge, and closes the connection once
        /// the client has (or after `patience`).
        struct Impostor {
            let pid: pid_t
            let port: UInt16

            /// The length the long challenge announces.
            static let longChallenge = 1 << 20

            static func start(longChallenge: Bool = false) throws -> Impostor {
                let fd = OwnedDescriptor(taking: try valueOrErrno("socket") {
                    socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
                })
                var address = loopback(port: 0)
                var length = socklen_t(MemoryLayout<sockaddr_in>.size)
                try withUnsafeMutablePointer(to: &address) { pointer in
                    try pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { raw in
                        _ = try valueOrErrno("bind", object: "127.0.0.1:0") { bind(fd.rawValue, raw, length) }
                        _ = try valueOrErrno("getsockname") { getsockname(fd.rawValue, raw, &length) }
                    }
                }
                try valueOrErrno("listen") { listen(fd.rawValue, 4) }
                let pid = try forkChild {
                    let client = accept(fd.rawValue, nil, nil)
                    guard client >= 0 else { return 1 }
                    let connection = FramedConnection(owning: OwnedDescriptor(taking: client))
                    if longChallenge {
                        try Lesson12.rawWrite(connection.borrowed, Lesson12.bigEndianLength(Int32(Impostor.longChallenge)))
                        var entry = connection.borrowed.readable
                        _ = poll(&entry, 1, Int32(patience * 1000))        // the client closes, or the time is up
                        return 0
                    }
                    try connection.send(Handshake.challenge + sha256Prefix + random(40))
                    _ = try? connection.receive()
                    try connection.send(Handshake.welcome)                    // welcomes whatever came
                    if let theirs = try? connection.receive() {
                        let message = theirs.dropFirst(Handshake.challenge.count)
                        try? connection.send(message.starts(with: sha256Prefix) ? sha256Prefix + random(32) : random(16))
                        _ = try? connection.receive()
                    }
                    return 0
                }
                fd.close()
                return Impostor(pid: pid, port: UInt16(bigEndian: address.sin_port))
            }

            func stop() { killAndReap([pid]) }
        }
    }
}
