/// Lesson 07: what it is, its parts and their hints.
public enum Lesson07: LessonDeclaration {
    public static let info = LessonInfo(number: 7, slug: "managers", title: "Managers: a server process owns the objects",
                                        defaultTimeout: 30)

    static let servedOneAtATime = """
        Clients waited for replies that never came. A server that reads one connection until it \
        closes serves one client at a time: every other client (and the check) waits behind it, and \
        behind a client that stalls, for ever. Serve each accepted connection in its own thread.
        """

    public static var parts: [Part<any ManagerContract.Type>] { [
        Part(1, "the first example: two processes append 0…9 and 10…19, all 20 present",
             check: { lab, context in try twoAppenders(lab, context) }, hints: [
            "start: mkdtemp(\"\\(parent)/manager-XXXXXX\") makes a 0700 directory; socket(AF_UNIX, SOCK_STREAM), bind to <dir>/manager.sock, listen — all before fork(), so clients can connect as soon as start returns. The child becomes the server and never returns (_exit).",
            "The server: accept() in a loop; wrap each descriptor in FramedConnection(owning: OwnedDescriptor(taking: fd)) (the lab's lesson-06 framing); receive a frame, JSONDecoder().decode(ManagerRequest.self, from: Data(bytes)), apply it, send JSONEncoder().encode(reply). connect: socket + connect to the same path, FramedConnection around it.",
            "Fill sun_path with withUnsafeMutableBytes(of: &address.sun_path) and call bind/connect inside withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { … } } with socklen_t(MemoryLayout<sockaddr_un>.size).",
        ], ifTimedOut: servedOneAtATime),
        Part(2, "the second example: under a lock, each process's block of 100 stays contiguous",
             check: { lab, context in try blocksUnderALock(lab, context) }, hints: [
            "The lab holds the lock; your server only has to keep serving the process that holds it while the others wait — their connections stay open all along.",
            "If the server reads one connection until it closes, the process holding the lock may be the one it is not reading: serve every connection at once (a Thread per accepted connection).",
        ], ifTimedOut: servedOneAtATime),
        Part(3, "4 processes × 1,000 atomic increments of one key = exactly 4,000",
             check: { lab, context in try atomicIncrements(lab, context) }, hints: [
            "increment must be one request, done by the server: a client that does get and then set can be overtaken by another client between the two, and one update is lost.",
            "The server's threads share the list and the dict: take one lock (NSLock, say) around every request, so that read-add-write of an increment is atomic.",
        ], ifTimedOut: servedOneAtATime),
        Part(4, "16 clients connected at once are all served",
             check: { lab, context in try sixteenClients(lab, context) }, hints: [
            "Each accepted connection gets its own thread: Thread { serveClient(connection) }.start().",
            "listen(fd, 64) lets the kernel queue connections that arrive before accept() takes them.",
        ], ifTimedOut: servedOneAtATime),
        Part(5, "a client killed mid-request neither kills nor wedges the server",
             check: { lab, context in try clientKilledMidRequest(lab, context) }, hints: [
            "A client killed half-way through a request makes receive() throw (a truncated message); one killed before reading its reply makes send() fail. Either way only that connection is broken: close it and end its thread — never the server.",
            "No try! and no fatalError on what a client sends or does: treat every error of one connection as the end of that connection.",
        ]),
        Part(6, "malformed requests get an error reply or a closed connection; the others are still served",
             check: { lab, context in try malformedRequests(lab, context) }, hints: [
            "A frame whose bytes do not decode as a ManagerRequest: reply ManagerReply.failure(\"bad request…\") and keep the connection — the next frame starts right after.",
            "An absurd length (FramedConnection throws badLength) means the stream lost its framing: there is no next frame to find. Close that connection.",
            "A request missing its argument (item without an index, set without a value) is an error reply, never a crash: guard let each field.",
        ]),
        Part(7, "a client running as another uid is refused",
             check: { lab, context in try otherUserRefused(lab, context) }, hints: [
            "After accept, peerCredentials(of: connection.borrowed) (getsockopt SO_PEERCRED) tells who connected. Compare its uid with geteuid() and refuse anyone else: an error reply, then close.",
            "mkdtemp already makes the directory 0700: keep it that way (no chmod). The peer check must hold even if someone could reach the socket.",
        ]),
        Part(8, "shutdown: the server exits, is reaped, and the socket and its directory are gone",
             check: { lab, context in try shutdownLeavesNothing(lab, context) }, hints: [
            "On a shutdown request the server unlinks its socket, removes the directory, replies and calls _exit(0).",
            "The process that started the server must waitpid(serverPID, …): until then the ended server stays a zombie in the process table.",
            "A server that already died cannot be asked: connect fails. shutdown must still waitpid it and unlink the socket and rmdir the directory — then throw the error from asking.",
        ]),
        Part(9, "start and connect at their edges: listening before the fork, the 107-byte path, a missing parent, nobody listening",
             check: { lab, context in try startAtItsEdges(lab, context) }, hints: [
            "socket, bind and listen in start, before fork(): the server inherits the listening socket, and a client can connect the moment start returns.",
            "sun_path holds 107 bytes and a NUL: compare the socket path's utf8.count with 107 before bind, throw ManagerError.pathTooLong(path), and rmdir the directory mkdtemp made. Exactly 107 bytes must still work.",
            "mkdtemp returns nil (errno set) when the parent is missing: throw SystemError(\"mkdtemp\"). connect returns -1 when nothing listens: throw SystemError(\"connect\") (ENOENT or ECONNREFUSED).",
        ]),
        Part(10, "each proxy call sends the one request of the protocol table; an error reply is thrown as ManagerError.server",
             check: { lab, context in try proxiesSpeakTheProtocol(lab, context) }, hints: [
            "The check plays the server: it reads what your client sends and answers with replies it chose. Each proxy method is one call(_:): one ManagerRequest, as in the table (item sends index; append, set and increment send value).",
            "Look at reply.ok before anything else: {\"ok\":false,\"error\":\"…\"} becomes ManagerError.server(error) — except \"index out of range\", which item(at:) turns into ManagerError.indexOutOfRange(index).",
            "call(_:) itself returns an error reply; it throws ManagerError.disconnected when the connection ends instead of a reply.",
        ]),
        Part(11, "interop: Python's multiprocessing.connection client reads and writes your manager, and shuts it down",
             check: { lab, context in try pythonTalksToTheServer(lab, context) }, hints: [
            "Python's Client(path, family=\"AF_UNIX\") frames messages exactly like FramedConnection. It sends json.dumps(request) and reads your reply with json.loads: the reply's fields exactly as the table says.",
            "Python writes non-ASCII keys as \\u escapes and ints of any size: decode requests with JSONDecoder or CompactJSON (never by hand), and keep every Int an Int.",
            "On shutdown the server unlinks the socket, removes the directory, replies {\"ok\":true} and _exit(0)s.",
        ], quietWindow: 6),
    ] }
}
