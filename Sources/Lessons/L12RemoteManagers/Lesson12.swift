/// Lesson 12: what it is, its parts and their hints.
public enum Lesson12: LessonDeclaration {
    public static let info = LessonInfo(number: 12, slug: "remote-managers",
                                        title: "Managers, part 2: locks, events and a remote manager",
                                        defaultTimeout: 30)

    public static var parts: [Part<any SyncManagerContract.Type>] { [
        Part(1, "a shared value: get, set, and 4 processes × 500 increments reach exactly 2,000",
             check: { lab, context in try valueIncrements(lab, context) }, hints: [
            "start(in:): UnixSocket.listen(at: directory + \"/sync.sock\") before fork(); the child runs the server and never returns (_exit). The server accepts in a loop and gives each connection its own Thread.",
            "Each request is JSON in a FramedConnection frame (JSONDecoder().decode(SyncRequest.self, from: Data(bytes))). Keep values in a [String: Int] under one lock; value.increment adds in the server and replies the new value — never get + set from the client.",
            "The part also checks the edges: a directory whose socket path would be over 107 bytes is SyncManagerError.pathTooLong(path), thrown before socket(); call() after close() is .closed (check before touching the descriptor), and on a client whose server stopped it is .disconnected (end of file, EPIPE, ECONNRESET); shutdown asks, waitpids the server (no zombie) and leaves no socket file.",
        ]),
        Part(2, "a lock: one holder at a time, and a client killed while holding it does not keep it",
             check: { lab, context in try lockReleasedOnDeath(lab, context) }, hints: [
            "lock.acquire is answered only once the lock is granted: the client's thread in the server waits on a condition variable (NSCondition) while another connection holds it, and gives up with flag false when the timeout passes (wait(until:)).",
            "Record which connection holds each lock (give each accepted connection a number). When that connection's receive() ends — end of file because the client closed it or was killed — release every lock it held and broadcast(). A client that does not hold the lock gets an error reply on release.",
        ], quietWindow: 4),
        Part(3, "an event: wait blocks until set, and set wakes every waiter",
             check: { lab, context in try eventWakesEveryWaiter(lab, context) }, hints: [
            "event.wait: under the state's lock, while the flag is clear, wait on the condition (until the timeout); reply the flag. event.set: set the flag under the same lock, then wake the waiters.",
            "signal() wakes one waiter: three clients wait, and two of them sleep for ever. set must broadcast(). And the flag stays set until clear(): a wait that starts after set returns at once.",
        ]),
        Part(4, "a remote manager: loopback TCP only, and the key checked both ways before any request",
             check: { lab, context in try remoteHandshake(lab, context) }, hints: [
            "startRemote: socket(AF_INET, SOCK_STREAM), bind to 127.0.0.1 (htonl(INADDR_LOOPBACK), never INADDR_ANY) port 0, getsockname to learn the port, listen, fork. Each accepted connection: deliverChallenge, then answerChallenge, then serve it like a Unix one.",
            "deliverChallenge: send #CHALLENGE# + {sha256} + 40 random bytes; the answer is {sha256} + HMAC.authenticate(message, key:, with: .sha256) over the message *with* its {sha256} prefix, or (a 3.11 peer) the raw 16-byte HMAC-MD5 of the same bytes. Reply #WELCOME# or #FAILURE#. answerChallenge is the mirror: a 20-byte message gets raw HMAC-MD5.",
            "connect(to:authkey:) over TCP does what Python's Client does: answerChallenge first, then deliverChallenge — the client checks the server too, or anyone listening on that port could pose as your manager.",
            "Every handshake message is at most 256 bytes (Handshake.maximumMessage; Python reads them with recv_bytes(256)): read with connection.receive(atMost: Handshake.maximumMessage), which throws FramedConnection.Failure.badLength as soon as a longer length arrives. \"waited for the rest of a 1048576-byte answer\" (your server) or \"challenge\" (your client) means plain receive(), which waits for every byte it is told of: refuse with #FAILURE# (server) or throw (client) instead.",
        ]),
        Part(5, "interop: Python's Client talks to your remote manager, your client to Python's Listener; a wrong key is refused",
             check: { lab, context in try pythonClientInterop(lab, context) }, hints: [
            "Python 3.11 answers your {sha256} challenge with a raw 16-byte HMAC-MD5 over the whole message (prefix included): accept it. Its own challenge is 20 random bytes: answer with the raw HMAC-MD5, no prefix.",
            "A wrong key must be refused by your server (#FAILURE# to Python's answer: Python raises AuthenticationError('digest sent was rejected')), not only by Python after your server welcomed it.",
            "Then Python is the server: multiprocessing.connection.Listener(..., authkey=key).accept() challenges your connect and then waits for its challenge (an AssertionError in Python means your client sent a request instead: connect must call deliverChallenge after answerChallenge). The Python side then answers value.get and value.increment in JSON; a Python BaseManager server would not: its requests are pickled.",
        ]),
        Part(6, "a request that does not decode gets an error reply; the connection and the server go on",
             check: { lab, context in try badRequestsAnswered(lab, context) }, hints: [
            "The frame arrived whole, so only its bytes are wrong: decode with try? (or do/catch), and when it is not a SyncRequest send SyncReply.failure(\"bad request…\") and read the next frame on the same connection. Close a connection only when receive() itself fails.",
            "The check sends bytes that are not JSON, an op the table does not have, a value that is not an integer and an empty frame, then a good request. \"ended\" means a trap (try! or ! on what a client sent) killed the server for every client; \"hung up\" means the connection was closed instead of answered; \"did not answer\" means the frame was skipped (continue) and the client waits for ever for its one reply.",
        ]),
    ] }
}
