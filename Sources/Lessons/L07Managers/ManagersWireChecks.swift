import Foundation
import Glibc

// Lesson 07's parts 9–11: start and connect at their edges, the client against the protocol
// table (a stand-in server the check plays), and the server against it (Python's
// multiprocessing.connection client).

extension Lesson07 {
    // MARK: - Part 9

    /// Part 9: start at its edges: listening before the fork, the 107-byte socket path limit, a
    /// missing parent, and connect where nothing listens.
    static func startAtItsEdges<L: ManagerContract>(_: L.Type, _ context: PartContext) throws {
        let startLook = "start(in:) in \(file)"
        // Listening before the fork: the kernel records who called listen(), and a client's
        // SO_PEERCRED reports that process — the caller of start, not the server.
        let descriptorsBefore = openDescriptors()
        let address = try startManager(L.self, context)
        let probe: OwnedDescriptor
        do {
            probe = try UnixSocket.connect(to: address.socketPath)
        } catch {
            discard(address)
            throw CheckFailure("a client could not connect right after start returned", expected: "start returns once the socket listens",
                               seen: "\(error)",
                               cause: "socket, bind and listen in start, before fork(): listening in the server child leaves a moment after start returns in which connect fails",
                               look: startLook)
        }
        let listener = try peerCredentials(of: probe.borrowed)
        probe.close()
        let parent = parentPID(of: address.serverPID)
        try stopManager(L.self, address)
        let descriptorsAfter = openDescriptors()
        try require(descriptorsAfter.count <= descriptorsBefore.count, CheckFailure(
            "start left a descriptor open in the process that called it",
            expected: "\(descriptorsBefore.count) open descriptors after start and shutdown, as before",
            seen: "\(descriptorsAfter.count): " + descriptorsAfter.subtracting(descriptorsBefore).sorted().map { "fd \($0)" }.joined(separator: ", ") + " new",
            cause: "after fork, the server owns the listening socket: the parent closes its copy (close(listener)) before returning the address",
            look: startLook))
        try require(listener.pid == getpid(), CheckFailure(
            "the socket was made to listen in the server, after the fork",
            expected: "listen() called by the process that called start (pid \(getpid())), before fork(): a client may connect the moment start returns",
            seen: "SO_PEERCRED of a client names pid \(listener.pid) (the server is \(address.serverPID)) as the process that called listen()",
            cause: "socket, bind and listen in start, then fork; the server inherits the listening socket. Listening in the child leaves a moment after start returns in which connect fails with ENOENT or ECONNREFUSED",
            look: startLook))
        try require(parent == getpid(), CheckFailure(
            "the server is not a child of the process that called start",
            expected: "serverPID \(address.serverPID) is a child of pid \(getpid()) (which reaps it in shutdown)",
            seen: "its parent is \(parent.map(String.init) ?? "unknown")", look: startLook))

        // The 107-byte limit of sun_path: 107 works, 108 is pathTooLong with nothing left behind.
        // The socket path is <parent>/manager-XXXXXX/manager.sock: the parent's length + 28.
        let fits = try paddedDirectory(in: context.temporaryDirectory, length: UnixSocket.maximumPathBytes - 28, tag: "a")
        defer { rmdir(fits) }
        let atLimit = try attempt("start(in: a parent whose socket path is exactly 107 bytes)", look: startLook) { try L.start(in: fits) }
        try context.requirePartProcess(after: "start(in:)")
        do {
            try requireEqual(atLimit.socketPath.utf8.count, UnixSocket.maximumPathBytes, "the socket path's length",
                             cause: "the socket is <parent>/manager-XXXXXX/manager.sock", look: startLook)
            let client = try connect(L.self, atLimit, after: "start with a 107-byte socket path")
            try requireEqual(try attempt("list.count()") { try client.list.count() }, 0, "list.count() of a new manager")
            client.close()
        } catch {
            try? L.shutdown(atLimit)
            throw error
        }
        try stopManager(L.self, atLimit)
        let tooLong = try paddedDirectory(in: context.temporaryDirectory, length: UnixSocket.maximumPathBytes - 27, tag: "b")
        defer { rmdir(tooLong) }
        do {
            let address = try L.start(in: tooLong)
            try context.requirePartProcess(after: "start(in:)")
            discard(address)
            throw CheckFailure("start made a manager whose socket path is 108 bytes long",
                               expected: "ManagerError.pathTooLong(<the 108-byte path>): sun_path holds at most 107 bytes",
                               seen: "an address \(address.socketPath.utf8.count) bytes long",
                               cause: "check the path's UTF-8 length before filling sockaddr_un; copying only what fits binds another path than the one returned",
                               look: startLook)
        } catch let failure as CheckFailure {
            throw failure
        } catch ManagerError.pathTooLong(let path) {
            try require(path.utf8.count == UnixSocket.maximumPathBytes + 1 && path.hasPrefix(tooLong + "/manager-") && path.hasSuffix("/" + "manager.sock"),
                        CheckFailure("pathTooLong names another path", expected: "\(tooLong)/manager-XXXXXX/manager.sock (108 bytes)",
                                     seen: path, look: startLook))
        } catch {
            throw CheckFailure("start with a 108-byte socket path threw the wrong error",
                               expected: "ManagerError.pathTooLong(<the 108-byte path>)", seen: "\(error)",
                               cause: "compare the path's UTF-8 length with 107 before bind: bind itself would fail or truncate",
                               look: startLook)
        }
        let left = directoryEntries(tooLong)
        for name in left { rmdir(tooLong + "/" + name) }
        try require(left.isEmpty, CheckFailure(
            "start threw pathTooLong but left something in the parent directory", expected: "nothing in \(tooLong)",
            seen: left.joined(separator: ", "), cause: "remove the directory mkdtemp made (rmdir) before throwing", look: startLook))

        // A parent that does not exist: SystemError (ENOENT), nothing made, no crash.
        let missing = context.temporaryDirectory + "/no-such-parent"
        do {
            let address = try L.start(in: missing)
            try context.requirePartProcess(after: "start(in:)")
            discard(address)
            throw CheckFailure("start(in: a missing directory) returned a manager", expected: "SystemError(\"mkdtemp\") with ENOENT",
                               seen: "\(address)", look: startLook)
        } catch let failure as CheckFailure {
            throw failure
        } catch let error as SystemError {
            try require(error.errno == ENOENT, CheckFailure("start(in: a missing directory) threw the wrong error",
                                                           expected: "SystemError(\"mkdtemp\") with ENOENT", seen: "\(error)", look: startLook))
        } catch {
            throw CheckFailure("start(in: a missing directory) threw the wrong error", expected: "SystemError(\"mkdtemp\") with ENOENT",
                               seen: "\(error)", cause: "mkdtemp returns nil and sets errno: throw SystemError(\"mkdtemp\")", look: startLook)
        }
        var info = stat()
        try require(lstat(missing, &info) != 0, CheckFailure("start(in: a missing directory) created it", expected: "\(missing) still missing",
                                                             seen: "it exists", look: startLook))

        // connect where no manager listens: a SystemError, not a client.
        let nothing = context.temporaryDirectory + "/nothing.sock"
        let notListening = context.temporaryDirectory + "/bound-only.sock"
        let bound = try boundSocket(at: notListening)      // open (and so refusing) until the end of the check
        defer { unlink(notListening) }
        for (path, what, code) in [(nothing, "a path where nothing is", ENOENT), (notListening, "a socket nobody listens on", ECONNREFUSED)] {
            let address = ManagerAddress(socketPath: path, directory: context.temporaryDirectory, serverPID: getpid())
            do {
                let client = try L.connect(to: address)
                client.close()
                throw CheckFailure("connect(to: \(what)) returned a client", expected: "SystemError(\"connect\") with \(errnoSymbol(code))",
                                   seen: "a client", cause: "check what connect() returns: -1 means no connection (errno says why)",
                                   look: "connect(to:) in \(file)")
            } catch let failure as CheckFailure {
                throw failure
            } catch let error as SystemError {
                try require(error.errno == code, CheckFailure("connect(to: \(what)) threw the wrong error",
                                                             expected: "SystemError(\"connect\") with \(errnoSymbol(code))", seen: "\(error)",
                                                             look: "connect(to:) in \(file)"))
            } catch {
                throw CheckFailure("connect(to: \(what)) threw the wrong error", expected: "SystemError(\"connect\") with \(errnoSymbol(code))",
                                   seen: "\(error)", look: "connect(to:) in \(file)")
            }
        }
        bound.close()
    }

    /// Ends a manager the check did not expect to exist, whatever its code does: kills and reaps
    /// its server and removes what is in its directory.
    static func discard(_ address: ManagerAddress) {
        if address.serverPID > 0 && address.serverPID != getpid() {
            kill(address.serverPID, SIGKILL)
            var status: Int32 = 0
            _ = waitpid(address.serverPID, &status, 0)
        }
        for name in directoryEntries(address.directory) { unlink(address.directory + "/" + name) }
        rmdir(address.directory)
    }

    /// The numbers of this process's open descriptors (/proc/self/fd).
    static func openDescriptors() -> Set<Int32> {
        Set(directoryEntries("/proc/self/fd").compactMap { Int32($0) })
    }

    /// The parent pid in /proc/PID/stat.
    static func parentPID(of pid: pid_t) -> pid_t? {
        guard let bytes = try? readFile("/proc/\(pid)/stat") else { return nil }
        let text = String(decoding: bytes, as: UTF8.self)
        guard let close = text.lastIndex(of: ")") else { return nil }
        let fields = text[text.index(after: close)...].split(separator: " ")
        return fields.count > 1 ? pid_t(fields[1]) : nil
    }

    /// Makes an empty directory inside `parent` whose path is exactly `length` bytes.
    static func paddedDirectory(in parent: String, length: Int, tag: String) throws -> String {
        let padding = length - parent.utf8.count - 1
        guard padding >= 1 && padding <= 255 else {
            throw CheckFailure("the part's temporary directory \(parent) is too long to build a \(length)-byte path in it")
        }
        let path = parent + "/" + tag + String(repeating: "p", count: padding - 1)
        try valueOrErrno("mkdir", object: path) { mkdir(path, 0o700) }
        return path
    }

    static func directoryEntries(_ path: String) -> [String] {
        guard let dir = opendir(path) else { return ["(cannot read \(path))"] }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    /// A Unix socket bound to `path` that does not listen (connect gets ECONNREFUSED), which the
    /// caller owns.
    static func boundSocket(at path: String) throws -> OwnedDescriptor {
        let socket = OwnedDescriptor(taking: try valueOrErrno("socket") { Glibc.socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0) })
        let fd = socket.rawValue
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (i, byte) in path.utf8.enumerated() { raw[i] = byte }
        }
        try withUnsafePointer(to: &address) { pointer in
            try pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { raw in
                _ = try valueOrErrno("bind", object: path) { bind(fd, raw, socklen_t(MemoryLayout<sockaddr_un>.size)) }
            }
        }
        return socket
    }

    // MARK: - Part 10

    /// What one proxy call did against the stand-in server: what it returned or threw, and the
    /// requests it sent.
    struct Exchange<T> {
        let result: Result<T, Error>
        let requests: [ManagerRequest]
        let undecodable: [String]
    }

    /// Part 10: each proxy call sends the one request of the table and reads the one reply; an
    /// error reply is thrown as ManagerError.server. The check plays the server: it accepts your
    /// client's connection, puts the scripted replies in the socket before the call, and reads
    /// what the call sent.
    static func proxiesSpeakTheProtocol<L: ManagerContract>(_: L.Type, _ context: PartContext) throws {
        var template = Array("\(context.temporaryDirectory)/standin-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw SystemError("mkdtemp", object: context.temporaryDirectory) }
        let directory = String(cString: made)
        let path = directory + "/manager.sock"
        let listener = try UnixSocket.listen(at: path)                    // closed when this check ends
        let listening = listener.borrowed
        defer { unlink(path); rmdir(directory) }
        let address = ManagerAddress(socketPath: path, directory: directory, serverPID: getpid())

        func exchange<T>(_ replies: [ManagerReply], _ body: (L.Client) throws -> T) throws -> Exchange<T> {
            let client = try attempt("connect(to: the check's stand-in server)", look: "connect(to:) in \(file)") { try L.connect(to: address) }
            let connection = FramedConnection(owning: try UnixSocket.accept(listening))
            defer { connection.close() }
            try rawWrite(connection.borrowed, Array(try replies.map { frame(try CompactJSON.encode($0)) }.joined()))
            Glibc.shutdown(connection.borrowed.rawValue, Int32(SHUT_WR))   // after these replies, the client reads end-of-file
            let result = Result { try body(client) }
            client.close()
            var requests: [ManagerRequest] = []
            var undecodable: [String] = []
            while connection.poll(timeout: 5), let bytes = try? connection.receive() {
                if let request = try? JSONDecoder().decode(ManagerRequest.self, from: Data(bytes)) {
                    requests.append(request)
                } else {
                    undecodable.append(String(decoding: bytes.prefix(200), as: UTF8.self))
                }
            }
            return Exchange(result: result, requests: requests, undecodable: undecodable)
        }

        func requireOne<T>(_ call: String, _ exchange: Exchange<T>, _ expected: ManagerRequest, function: String) throws -> T {
            let look = "\(function) in \(file)"
            if let text = exchange.undecodable.first {
                throw CheckFailure("\(call) sent a frame that is not a ManagerRequest in JSON", expected: "\(json(expected))", seen: text,
                                   cause: "encode the request with JSONEncoder or CompactJSON.encode", look: look)
            }
            guard exchange.requests == [expected] else {
                throw CheckFailure("\(call) did not send the one request of the protocol table",
                                   expected: "one request: \(json(expected))",
                                   seen: exchange.requests.isEmpty ? "no request" : "\(exchange.requests.count) request(s): " + exchange.requests.map(json).joined(separator: ", "),
                                   cause: exchange.requests.count > 1 ? "each proxy method is exactly one call: one request, one reply (increment is done by the server, not as get + set)"
                                                                      : "the op and its fields as the table says: item sends index, append/set/increment send value",
                                   look: look)
            }
            switch exchange.result {
            case .success(let value): return value
            case .failure(let error):
                throw CheckFailure("\(call) threw after the stand-in server answered it", expected: "it returns what the reply says",
                                   seen: "\(error)", look: look)
            }
        }

        var random = context.random(stream: 10)
        let values = numberClasses(&random)
        let keys = keyClasses(&random)
        let cases = values.indices.map { (value: values[$0], key: keys[$0 % keys.count], index: abs(values[($0 + 1) % values.count] % 1000)) }
        try context.forEachGenerated(cases, size: { "\($0.value)".count + $0.key.utf8.count }, describe: { "value \($0.value), key \(String(reflecting: $0.key)), index \($0.index)" }) { c in
            _ = try requireOne("list.append(\(c.value))", exchange([.success()]) { try $0.list.append(c.value) },
                               ManagerRequest(.append, value: c.value), function: "append(_:)")
            let count = try requireOne("list.count()", exchange([.success(value: c.index)]) { try $0.list.count() },
                                       ManagerRequest(.count), function: "count()")
            try requireEqual(count, c.index, "list.count() does not return the reply's value", look: "count() in \(file)")
            let item = try requireOne("list.item(at: \(c.index))", exchange([.success(value: c.value)]) { try $0.list.item(at: c.index) },
                                      ManagerRequest(.item, index: c.index), function: "item(at:)")
            try requireEqual(item, c.value, "list.item(at:) does not return the reply's value", look: "item(at:) in \(file)")
            let all = [c.value, 0, -c.index]
            let snapshot = try requireOne("list.snapshot()", exchange([.success(values: all)]) { try $0.list.snapshot() },
                                          ManagerRequest(.snapshot), function: "snapshot()")
            try requireEqual(snapshot, all, "list.snapshot() does not return the reply's values", look: "snapshot() in \(file)")
            _ = try requireOne("dict.set(\(String(reflecting: c.key)), to: \(c.value))", exchange([.success()]) { try $0.dict.set(c.key, to: c.value) },
                               ManagerRequest(.set, key: c.key, value: c.value), function: "set(_:to:)")
            let got = try requireOne("dict.get(\(String(reflecting: c.key)))", exchange([.success(value: c.value)]) { try $0.dict.get(c.key) },
                                     ManagerRequest(.get, key: c.key), function: "get(_:)")
            try requireEqual(got, c.value, "dict.get does not return the reply's value", look: "get(_:) in \(file)")
            let missing = try requireOne("dict.get(\(String(reflecting: c.key))) of a missing key", exchange([.success()]) { try $0.dict.get(c.key) },
                                         ManagerRequest(.get, key: c.key), function: "get(_:)")
            try requireEqual(missing, nil, "dict.get of a key the reply has no value for", cause: "a reply without a value means the key is missing: nil",
                             look: "get(_:) in \(file)")
            let sum = try requireOne("dict.increment(\(String(reflecting: c.key)), by: \(c.value))",
                                     exchange([.success(value: c.index), .success()]) { try $0.dict.increment(c.key, by: c.value) },
                                     ManagerRequest(.increment, key: c.key, value: c.value), function: "increment(_:by:)")
            try requireEqual(sum, c.index, "dict.increment does not return the new value the server answered",
                             cause: "the reply's value is the sum the server made", look: "increment(_:by:) in \(file)")
        }

        // Error replies: thrown as ManagerError.server(the reply's error), never taken for an answer.
        let message = "refused: the check's stand-in server says no"
        let failing = ManagerReply.failure(message)
        func requireServerError<T>(_ call: String, function: String, _ body: @escaping (L.Client) throws -> T) throws {
            let outcome = try exchange([failing]) { try body($0) }
            switch outcome.result {
            case .failure(let error as ManagerError) where error == .server(message):
                return
            case .failure(let error):
                throw CheckFailure("\(call) answered with an error reply threw the wrong error", expected: "ManagerError.server(\"\(message)\")",
                                   seen: "\(error)", cause: "an error reply ({\"ok\":false,\"error\":…}) becomes ManagerError.server(error)",
                                   look: "\(function) in \(file)")
            case .success(let value):
                throw CheckFailure("\(call) took an error reply for an answer", expected: "ManagerError.server(\"\(message)\")",
                                   seen: "it returned \(value)", cause: "look at the reply's ok before its value: {\"ok\":false,\"error\":…} is an error, whatever else it holds",
                                   look: "\(function) in \(file)")
            }
        }
        try requireServerError("list.append(1)", function: "append(_:)") { try $0.list.append(1) }
        try requireServerError("list.count()", function: "count()") { try $0.list.count() }
        try requireServerError("list.item(at: 0)", function: "item(at:)") { try $0.list.item(at: 0) }
        try requireServerError("list.snapshot()", function: "snapshot()") { try $0.list.snapshot() }
        try requireServerError("dict.set(\"k\", to: 1)", function: "set(_:to:)") { try $0.dict.set("k", to: 1) }
        try requireServerError("dict.get(\"k\")", function: "get(_:)") { try $0.dict.get("k") }
        try requireServerError("dict.increment(\"k\", by: 1)", function: "increment(_:by:)") { try $0.dict.increment("k", by: 1) }

        // "index out of range" is the one error reply that has its own case.
        for index in [5, -3] {
            let outcome = try exchange([.failure(ManagerReply.indexOutOfRange)]) { try $0.list.item(at: index) }
            guard case .failure(let error) = outcome.result, (error as? ManagerError) == .indexOutOfRange(index) else {
                throw CheckFailure("list.item(at: \(index)) answered \"index out of range\" gave the wrong result",
                                   expected: "ManagerError.indexOutOfRange(\(index))", seen: "\(outcome.result)",
                                   cause: "the error reply ManagerReply.indexOutOfRange becomes ManagerError.indexOutOfRange(index)",
                                   look: "item(at:) in \(file)")
            }
        }

        // call(_:) returns an error reply, and throws disconnected when the connection ends instead.
        let returned = try exchange([failing]) { try $0.call(ManagerRequest(.count)) }
        guard case .success(let reply) = returned.result, reply == failing else {
            throw CheckFailure("call(_:) did not return the error reply", expected: "the reply \(json(failing)), returned",
                               seen: "\(returned.result)", cause: "call returns whatever reply comes; only the proxies turn an error reply into an error",
                               look: "call(_:) in \(file)")
        }
        let cut = try exchange([]) { try $0.call(ManagerRequest(.count)) }
        guard case .failure(let error) = cut.result, (error as? ManagerError) == .disconnected else {
            throw CheckFailure("call(_:) on a connection the server closed without answering gave the wrong result",
                               expected: "ManagerError.disconnected", seen: "\(cut.result)",
                               cause: "end-of-file instead of a reply (FramedConnection.Failure.endOfFile) becomes ManagerError.disconnected",
                               look: "call(_:) in \(file)")
        }
    }

    static func json(_ request: ManagerRequest) -> String {
        (try? CompactJSON.encode(request)).map { String(decoding: $0, as: UTF8.self) } ?? "\(request)"
    }

    static func json(_ reply: ManagerReply) -> String {
        (try? CompactJSON.encode(reply)).map { String(decoding: $0, as: UTF8.self) } ?? "\(reply)"
    }

    // MARK: - Part 11

    /// Part 11: interop: Python's `multiprocessing.connection.Client` (the same framing) reads
    /// what your client wrote through your server, writes what your client then reads, and shuts
    /// the server down.
    static func pythonTalksToTheServer<L: ManagerContract>(_: L.Type, _ context: PartContext) throws {
        _ = try context.python3()
        let address = try startManager(L.self, context)
        var stopped = false
        defer {
            if !stopped {
                kill(address.serverPID, SIGKILL)
                var status: Int32 = 0
                _ = waitpid(address.serverPID, &status, 0)
                unlink(address.socketPath)
                rmdir(address.directory)
            }
        }
        let client = try connect(L.self, address, after: "start")
        var random = context.random(stream: 11)
        let values = numberClasses(&random)
        let keys = keyClasses(&random)
        // Your client writes; Python reads it first.
        for value in values { try attempt("list.append(\(value))") { try client.list.append(value) } }
        for (k, key) in keys.enumerated() { try attempt("dict.set(\(String(reflecting: key)), to: \(values[k % values.count]))") { try client.dict.set(key, to: values[k % values.count]) } }
        _ = try attempt("dict.increment(\"hits\", by: 5)") { try client.dict.increment("hits", by: 5) }

        // The plan Python follows, and the reply it must get to each request.
        var plan: [(request: [String: Any], expected: String)] = []
        func reply(_ fields: String) -> String { "{\(fields)}" }
        plan.append((["op": "snapshot"], reply("\"ok\":true,\"values\":[\(values.map(String.init).joined(separator: ","))]")))
        plan.append((["op": "count"], reply("\"ok\":true,\"value\":\(values.count)")))
        for (i, value) in values.enumerated() { plan.append((["op": "item", "index": i], reply("\"ok\":true,\"value\":\(value)"))) }
        for bad in [values.count, -1, Int.max] {
            plan.append((["op": "item", "index": bad], reply("\"error\":\"index out of range\",\"ok\":false")))
        }
        for (k, key) in keys.enumerated() { plan.append((["op": "get", "key": key], reply("\"ok\":true,\"value\":\(values[k % values.count])"))) }
        plan.append((["op": "get", "key": "never set"], reply("\"ok\":true")))
        plan.append((["op": "increment", "key": "hits", "value": 2], reply("\"ok\":true,\"value\":7")))
        plan.append((["op": "increment", "key": "python new"], reply("\"ok\":true,\"value\":1")))
        let pythonValues = [Int.min, -7, 0, 1 << 62]
        for value in pythonValues { plan.append((["op": "append", "value": value], reply("\"ok\":true"))) }
        let pythonKeys = ["python ключ", "🙂 from python", ""]
        for (k, key) in pythonKeys.enumerated() { plan.append((["op": "set", "key": key, "value": pythonValues[k]], reply("\"ok\":true"))) }
        plan.append((["op": "count"], reply("\"ok\":true,\"value\":\(values.count + pythonValues.count)")))

        let requests = plan.map { $0.request }
        let planText = String(decoding: try JSONSerialization.data(withJSONObject: requests), as: UTF8.self)
        let output = try context.runPython(pythonClient, [address.socketPath, planText], what: "a multiprocessing.connection client of your manager")
        let lines = output.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        for (n, step) in plan.enumerated() {
            let seen = n < lines.count ? lines[n] : "(no reply)"
            let sent = String(decoding: (try? JSONSerialization.data(withJSONObject: step.request, options: [.sortedKeys])) ?? Data(), as: UTF8.self)
            guard seen == step.expected else {
                throw CheckFailure("Python's client got another reply than the protocol table says",
                                   expected: "to \(sent): \(step.expected)", seen: seen,
                                   cause: seen.hasPrefix("ERROR") ? "the server's reply is not one frame of JSON that Python's json.loads reads"
                                                                  : "the reply's fields, exactly as the table says: count/item/get/increment answer value, snapshot values; \"index out of range\" word for word; every Int exact (Python's ints are exact to any size)",
                                   look: "the server in \(file)")
            }
        }

        // What Python wrote, read by your client.
        let after = try served(by: client, "your client after Python's requests") { try client.list.snapshot() }
        try requireEqual(after, values + pythonValues, "your client does not read the list Python appended to",
                         look: "snapshot() and the server in \(file)")
        for (k, key) in pythonKeys.enumerated() {
            let value = try served(by: client, "your client after Python's requests") { try client.dict.get(key) }
            try requireEqual(value, pythonValues[k], "your client does not read what Python set for \(String(reflecting: key))",
                             cause: "Python's json.dumps writes non-ASCII as \\u escapes (an emoji as a surrogate pair): the server's JSON decoder must read them",
                             look: "get(_:) and the server in \(file)")
        }
        try requireEqual(try served(by: client, "your client") { try client.dict.get("python new") }, 1,
                         "an increment of a missing key from Python", look: "the server's increment in \(file)")
        client.close()

        // The shutdown request itself: {"ok":true}, then the connection ends and the server exits
        // (it removed its socket and its directory); the caller of start reaps it.
        let raw = FramedConnection(owning: try UnixSocket.connect(to: address.socketPath))
        defer { raw.close() }
        try rawWrite(raw.borrowed, frame(Array(#"{"op":"shutdown"}"#.utf8)))
        guard raw.poll(timeout: 5), let bytes = try? raw.receive(),
              let answer = try? JSONDecoder().decode(ManagerReply.self, from: Data(bytes)), answer.ok else {
            throw CheckFailure("the server did not answer a shutdown request with {\"ok\":true}", expected: "{\"ok\":true}, then the connection closes",
                               cause: "on shutdown: unlink the socket, remove the directory, send the reply, then _exit(0)",
                               look: "the server in \(file)")
        }
        guard let end = waitForProcess(address.serverPID, timeout: 5) else {
            throw CheckFailure("the server did not exit after answering a shutdown request", expected: "the server process ends",
                               seen: "still running 5 s later", cause: "after the shutdown reply, the server calls _exit(0)", look: "the server in \(file)")
        }
        stopped = true
        var info = stat()
        let socketLeft = lstat(address.socketPath, &info) == 0
        let directoryLeft = lstat(address.directory, &info) == 0
        unlink(address.socketPath)
        rmdir(address.directory)
        try requireEqual(end, .exited(0), "the server's exit after a shutdown request", look: "the server in \(file)")
        try require(!socketLeft && !directoryLeft, CheckFailure(
            "the server exited on a shutdown request but left its socket or its directory",
            expected: "the server unlinks \(address.socketPath) and removes its directory before it exits",
            seen: socketLeft ? "the socket is still there" : "the directory is still there",
            cause: "a socket file outlives its process: the server removes both when asked to stop (shutdown(_:) only makes sure)",
            look: "the server in \(file)"))
    }

    /// Python's side of part 11: one connection, each request of the plan, one reply printed per
    /// line as canonical JSON (sorted keys, no spaces, None-valued keys left out).
    static let pythonClient = #"""
import json, sys
from multiprocessing.connection import Client

conn = Client(sys.argv[1], family="AF_UNIX")      # no authkey: no challenge, just the framing
for request in json.loads(sys.argv[2]):
    conn.send_bytes(json.dumps(request).encode())
    try:
        reply = json.loads(conn.recv_bytes())
    except Exception as e:
        print("ERROR", type(e).__name__, e)
        break
    if isinstance(reply, dict):
        reply = {k: v for k, v in reply.items() if v is not None}
    print(json.dumps(reply, sort_keys=True, separators=(",", ":"), ensure_ascii=False))
conn.close()
"""#
}
