import CShmLab
import Glibc
import Synchronization

extension Lesson10 {
    static let file = "Exercises/10-memory-ordering/LockFreeRing.swift"
    static func look(_ function: String) -> String { "\(function) in \(file)" }

    /// The byte at `index` of payload or message `salt`: wrong bytes are recognised.
    static func byte(_ index: Int, _ salt: Int = 0) -> UInt8 { UInt8(truncatingIfNeeded: index &* 31 &+ salt &* 7 &+ 1) }

    /// `size` bytes tagged with `sequence` (in the first 4 bytes when there is room).
    static func message(_ sequence: Int, size: Int) -> [UInt8] {
        var bytes = (0..<size).map { byte($0, sequence) }
        if size >= 4 { withUnsafeBytes(of: UInt32(truncatingIfNeeded: sequence).littleEndian) { bytes.replaceSubrange(0..<4, with: $0) } }
        return bytes
    }

    /// Where `seen` first differs from `expected`, told for a failure message.
    static func difference(_ seen: [UInt8], _ expected: [UInt8]) -> String {
        if seen.count != expected.count { return "\(seen.count) bytes instead of \(expected.count)" }
        guard let i = (0..<seen.count).first(where: { seen[$0] != expected[$0] }) else { return "the same bytes" }
        let wrong = (i..<seen.count).filter { seen[$0] != expected[$0] }.count
        return "\(wrong) of \(seen.count) bytes wrong, the first at byte \(i) (\(seen[i]) instead of \(expected[i]))"
    }

    /// A 64-aligned, zero-filled shared block (a fresh mapping is page-aligned).
    static func block(_ bytes: Int) throws -> UnsafeMutableRawBufferPointer { try labSharedBlock(bytes: bytes) }

    /// A fresh ring in a block of `bytes`.
    static func makeRing<R: SPSCRingContract>(_: R.Type, _ bytes: Int) throws -> (ring: R, block: UnsafeMutableRawBufferPointer) {
        let memory = try block(bytes)
        let ring = try attempt("LockFreeRing(creatingIn: \(bytes) bytes)", look: look("init(creatingIn:)")) { try R(creatingIn: memory) }
        return (ring, memory)
    }

    /// While the other process is paused half-way through its write or read: looks for 0.15 s
    /// (yielding between looks) at what `look` returns, and gives the first non-nil answer — what
    /// a reader could see too early — or nil when it saw nothing throughout. `look` may also note
    /// what it saw in shared memory on the way (an index that moved).
    static func seenTooEarly<T>(_ look: () throws -> T?) rethrows -> T? {
        let lookUntil = monotonicSeconds() + 0.15
        while monotonicSeconds() < lookUntil {
            if let seen = try look() { return seen }
            sched_yield()
        }
        return nil
    }

    /// The page a check shares with a process it forked to stop inside the student's callback,
    /// so that this process can look at a half-done write or read: the forked side calls
    /// `waitForLook(atMost:)` there; this side waits for `halfway`, looks, then sets `looked`.
    struct MidCallPause {
        let page: UnsafeMutableRawBufferPointer
        init() throws { page = try block(4096) }
        /// Set by the forked process once it is inside the callback.
        var halfway: SharedFlag { SharedFlag(at: page.baseAddress!) }
        /// Set by this process once it has looked.
        var looked: SharedFlag { SharedFlag(at: page.baseAddress! + 64) }
        /// What the student's call returned in the forked process.
        var returned: SharedCounter { SharedCounter(at: page.baseAddress! + 128) }
        /// Bytes 192 on, for the part's own notes.
        var own: UnsafeMutableRawPointer { page.baseAddress! + 192 }

        /// In the forked process, inside the callback: says it is there, and waits until this
        /// process has looked (at most `seconds`).
        func waitForLook(atMost seconds: Double) {
            halfway.value = 1
            _ = looked.wait(for: 1, timeout: seconds)
        }
    }

    /// Looks with `look` for 0.15 s (`seenTooEarly`) while `other` waits half-way through its write,
    /// then lets it go on (`looked`). When the look saw something, kills `other` and throws the
    /// failure made of what it saw.
    static func failIfSeenMidWrite<T>(_ look: () throws -> T?, other: pid_t, looked: SharedFlag,
                                      _ failure: (T) -> CheckFailure) throws {
        let early = try seenTooEarly(look)
        looked.value = 1
        if let early {
            killAndReap([other])
            throw failure(early)
        }
    }

    /// Waits until `consumer`, in `receive` on an empty ring, sleeps in the kernel; otherwise kills
    /// it and fails, at once when it has used a second of CPU or made 5,000 context switches (a
    /// receive that spins a while before it sleeps, as the reference does 320 times, stays far
    /// below that; one that loops over tryReceive does not).
    static func requireReceiveAsleep(_ consumer: pid_t, _ call: String = "receive on an empty ring") throws {
        let watch = watchUntilAsleep([consumer], switchLimit: 5_000)
        if watch == .asleep { return }
        killAndReap([consumer])
        guard case let .running(cpu, switches, seconds) = watch else {
            throw CheckFailure("\(call) returned instead of waiting", expected: "it sleeps in the kernel (Futex.wait) until a send wakes it",
                               seen: "the consumer ended before it slept",
                               cause: "receive gave up on the empty ring at once: it must wait on the wake word until a message comes or its timeout is up",
                               look: look("receive(timeout:)"))
        }
        throw CheckFailure("\(call) never went to sleep", expected: "it sleeps in the kernel (Futex.wait) until a send wakes it",
                           seen: "it kept running: \(secondsText(cpu)) of CPU and \(switches) context switches in \(secondsText(seconds))",
                           cause: "receive loops over tryReceive (with sched_yield or a nap) instead of waiting on the wake word",
                           look: look("receive(timeout:)"))
    }

    /// Receives one message with `receive(timeout:)`, failing with the call named.
    static func take<R: SPSCRingContract>(_ ring: R, timeout: Double = 10, _ what: String) throws -> [UInt8] {
        do {
            return try ring.receive(timeout: timeout)
        } catch RingError.empty {
            throw CheckFailure("receive(timeout: \(Int(timeout))) found no message (\(what))",
                               expected: "the message sent", seen: "RingError.empty after \(Int(timeout)) s",
                               cause: "send did not publish tail, or receive does not load it again (with .acquiring) when its cached copy says empty",
                               look: look("trySend(count:_:) and tryReceive()"))
        } catch {
            throw CheckFailure("receive(timeout: \(Int(timeout))) threw (\(what))", expected: "a message", seen: "\(error)",
                               look: look("receive(timeout:)"))
        }
    }

    /// `take` while `producer` sends: when it fails, the producer (perhaps blocked on a full
    /// ring for good) is killed and reaped before the failure goes on.
    static func take<R: SPSCRingContract>(_ ring: R, from producer: pid_t, timeout: Double, _ what: String) throws -> [UInt8] {
        do {
            return try take(ring, timeout: timeout, what)
        } catch {
            killAndReap([producer])
            throw error
        }
    }

    /// The producer of a stress run, once every message arrived: it must exit 0 within 10 s.
    /// Returns the seconds since `started`, the moment it forked (taken before the wait).
    static func producerFinished(_ producer: pid_t, started: Double, look: String) throws -> Double {
        let seconds = monotonicSeconds() - started
        let end = waitForProcess(producer, timeout: 10)
        try requireEqual(end, .exited(0), "the producer did not finish cleanly", look: look)
        return seconds
    }

    /// Forks the producer of a stress run: it calls `send(i)` for messages 0..<count, then exits 0.
    /// Returns the producer and when it started, for `producerFinished`.
    static func forkProducer(count: Int, _ send: (Int) throws -> Void) throws -> (producer: pid_t, started: Double) {
        let started = monotonicSeconds()
        let producer = try forkChild {
            for i in 0..<count { try send(i) }
            return 0
        }
        return (producer, started)
    }

    /// The messages of the two-process stress runs: message `i` has `(i × 13) mod 120` bytes, the
    /// first four (when there is room) the little-endian `i`, the rest a pattern of its size.
    struct StressMessages {
        /// The bytes after the 4-byte tag, by size.
        let bodies = (0..<120).map { size in (0..<size).map { Lesson10.byte($0, size) } }

        func size(_ i: Int) -> Int { (i &* 13) % 120 }

        func message(_ i: Int) -> [UInt8] {
            var bytes = bodies[size(i)]
            if bytes.count >= 4 { withUnsafeBytes(of: UInt32(truncatingIfNeeded: i).littleEndian) { bytes.replaceSubrange(0..<4, with: $0) } }
            return bytes
        }

        /// Whether `bytes` are message `i`, compared in place.
        func matches(_ bytes: UnsafeRawBufferPointer, _ i: Int) -> Bool {
            let size = size(i)
            guard bytes.count == size else { return false }
            if size >= 4 && bytes.load(as: UInt32.self) != UInt32(truncatingIfNeeded: i).littleEndian { return false }
            let from = min(4, size)
            return bodies[size].withUnsafeBytes { memcmp(bytes.baseAddress! + from, $0.baseAddress! + from, size - from) == 0 }
        }

        /// Message `i` of `count` (`how` it travelled: "" or ", sent in batches of 1 to 16") arrived
        /// as `got`: the failure says so, and whether `got` is another message, whole — then one was
        /// lost or repeated (`lostOrRepeated`); else it was read from the wrong place (`wrongPlace`).
        func wrong(_ got: [UInt8], index i: Int, of count: Int, _ how: String,
                   wrongPlace: String, lostOrRepeated: String, look: String) -> CheckFailure {
            var seenAs = ""
            if got.count >= 4 {
                let tag = Int(got[0]) | Int(got[1]) << 8 | Int(got[2]) << 16 | Int(got[3]) << 24
                seenAs = got == message(tag) ? " — it is message \(tag), whole" : ""
            }
            return CheckFailure("message \(i) of \(count)\(how) arrived wrong", expected: "message \(i): \(size(i)) bytes, in order",
                                seen: difference(got, message(i)) + seenAs,
                                cause: seenAs.isEmpty ? wrongPlace : lostOrRepeated, look: look)
        }
    }

    // MARK: - part 1

    /// Part 1: a payload published with a releasing store is seen whole by a reader in another
    /// process. The writer is stopped half-way through `write` while the reader looks.
    static func publicationSeenWhole<P: PublicationContract>(_: P.Type, _ context: PartContext) throws {
        let count = 16 << 10
        let expected = (0..<count).map { byte($0) }
        for round in 1...2 {
            let memory = try block(64 + count)
            let pause = try MidCallPause()
            defer { labUnmap(memory); labUnmap(pause.page) }
            let handed = pause.own
            let publication = P(over: memory)
            if let before = publication.read() {
                throw CheckFailure("read() returned a payload before anything was published",
                                   expected: "nil while the flag at byte 0 is 0", seen: "\(before.count) bytes",
                                   cause: "read must load the flag (.acquiring) first and return nil unless it is 1",
                                   look: look("read()"))
            }
            let writer = try forkChild {
                publication.publish(count: count) { payload in
                    handed.storeBytes(of: Int64(payload.count), as: Int64.self)
                    guard payload.count == count else { pause.halfway.value = 1; return }
                    for i in 0..<count / 2 { payload[i] = byte(i) }
                    pause.waitForLook(atMost: 0.3)                  // the reader's moment to look
                    for i in count / 2..<count { payload[i] = byte(i) }
                }
                return 0
            }
            guard pause.halfway.wait(for: 1, timeout: 10) else {
                killAndReap([writer])
                throw CheckFailure("publish(count:_:) never called its write callback", expected: "publish lets write fill the payload",
                                   seen: "no call within 10 s", look: look("publish(count:_:)"))
            }
            let givenCount = Int(handed.load(as: Int64.self))
            guard givenCount == count else {
                killAndReap([writer])
                throw CheckFailure("publish handed write a buffer of the wrong size", expected: "\(count) bytes (from byte 64 of the block)",
                                   seen: "\(givenCount) bytes", look: look("publish(count:_:)"))
            }
            // The writer now waits inside write, half the payload written: look.
            try failIfSeenMidWrite({ publication.read() }, other: writer, looked: pause.looked) { early in
                CheckFailure("a reader saw the flag while the payload was still being written",
                             expected: "read() returns nil until the whole payload is written, then all of it",
                             seen: "read() returned a payload while the writer was half-way through it (round \(round)): \(difference(early, expected))",
                             cause: "the flag is set before the payload is written: publish must call write (and store the length) first and set the flag last, with .releasing",
                             look: look("publish(count:_:)"))
            }
            guard let end = waitForProcess(writer, timeout: 10) else {
                throw CheckFailure("publish did not return in the writer process", look: look("publish(count:_:)"))
            }
            try requireEqual(end, .exited(0), "the writer process did not finish cleanly", look: look("publish(count:_:)"))
            guard let seen = publication.read() else {
                throw CheckFailure("read() returned nil after publish returned", expected: "the payload",
                                   seen: "nil: the flag is not 1", cause: "publish must set the flag (store 1, .releasing) at its end; read must load it with .acquiring",
                                   look: look("publish(count:_:) and read()"))
            }
            try require(seen == expected, CheckFailure("read() after publish returned other bytes", expected: "the \(count) bytes written",
                                                       seen: difference(seen, expected),
                                                       cause: "the length at byte 8 or the payload at byte 64 is not what was written",
                                                       look: look("read()")))
        }
        Console.out("the writer was stopped half-way through write twice; the reader never saw the flag early\n")
    }

    // MARK: - part 2

    /// How the writer of a part-2 phase writes.
    enum SeqlockWrites: Equatable {
        /// The first half of the words, a pause of this many µs, the second half.
        case pausedMidway(UInt32)
        /// The words from the last down, 4 KiB at a time (memset), then this many µs before
        /// the next write.
        case crossing(UInt32)
        /// One after the other, no pause.
        case flatOut

        var isCrossing: Bool { if case .crossing = self { return true }; return false }
    }

    /// Part 2: readers in three processes never see a torn record while one writer updates it;
    /// first with writes that meet the readers' copies (arranged), then with the writer pausing
    /// in the middle of each write (arranged), then flat out.
    static func seqlockNeverTorn<S: SeqlockContract>(_: S.Type, _ context: PartContext) throws {
        let scratch = try block(4096)
        defer { labUnmap(scratch) }
        let done = SharedFlag(at: scratch.baseAddress!)
        let tornCount = SharedCounter(at: scratch.baseAddress! + 64)
        let readsCount = SharedCounter(at: scratch.baseAddress! + 128)
        let example = scratch.baseAddress! + 192                     // the first torn record's two values

        /// One writer (a child) and three readers (two children and this process) on a record of
        /// `words` words, written `writes` times as `shape` says.
        func phase(_ name: String, words: Int, writes: Int, _ shape: SeqlockWrites) throws -> (reads: UInt64, seconds: Double) {
            let crossing = shape.isCrossing
            let memory = try block(64 + 8 * words)
            defer { labUnmap(memory) }
            let lock = S(over: memory, words: words)
            // A crossing write stores value × 0x0101…01 (all 8 bytes alike), so memset can write it.
            let word = { (value: UInt64) in crossing ? value &* 0x0101_0101_0101_0101 : value }
            done.value = 0
            let readsBefore = readsCount.value
            func readLoop() {
                while done.value == 0 {
                    let record = lock.read()
                    readsCount.add()
                    // Whole: every word equal to the next (the copy compared with itself one word on).
                    let whole = record.count == words
                        && record.withUnsafeBytes { memcmp($0.baseAddress!, $0.baseAddress! + 8, $0.count - 8) == 0 }
                    if !whole {
                        if tornCount.add() == 1 {
                            example.storeBytes(of: record.first ?? 0, as: UInt64.self)
                            example.storeBytes(of: record.first(where: { $0 != record.first }) ?? UInt64(record.count), toByteOffset: 8, as: UInt64.self)
                        }
                    }
                }
            }
            let readers = try (0..<2).map { _ in try forkChild { readLoop(); return 0 } }
            let started = monotonicSeconds()
            let writer = try forkChild {
                for value in 1...UInt64(writes) {
                    lock.write { record in
                        switch shape {
                        case .crossing:
                            for start in stride(from: words - 512, through: 0, by: -512) {
                                memset(record.baseAddress! + start, Int32(value), 512 * 8)
                            }
                        case .pausedMidway(let pause):
                            for i in 0..<words / 2 { record[i] = value }
                            usleep(pause)
                            for i in words / 2..<words { record[i] = value }
                        case .flatOut:
                            for i in 0..<words { record[i] = value }
                        }
                    }
                    if case .crossing(let gap) = shape { usleep(gap) }
                }
                done.value = 1
                return 0
            }
            readLoop()                                                 // this process reads too
            let seconds = monotonicSeconds() - started
            let writerEnd = waitForProcess(writer, timeout: 20)
            let ends = waitForAll(readers, timeout: 20)
            killAndReap(readers.filter { ends[$0] == nil })
            guard let writerEnd else {
                throw CheckFailure("the writer did not finish \(writes) writes (\(name))", look: look("write(_:)"))
            }
            try requireEqual(writerEnd, .exited(0), "the writer process did not finish cleanly (\(name))", look: look("write(_:)"))
            guard ends.count == readers.count, ends.values.allSatisfy({ $0 == .exited(0) }) else {
                throw CheckFailure("a reader process did not finish cleanly (\(name))", seen: "\(ends.values.map { "\($0)" })",
                                   cause: "read() never returned after the writer stopped: does it wait for an even sequence that never comes (write must leave it even)?",
                                   look: look("read() and write(_:)"))
            }
            let torn = tornCount.value
            if torn > 0 {
                // Which writes the words came from (a crossing write's word is its number × 0x0101…01).
                let a = example.load(as: UInt64.self) / word(1), b = example.load(fromByteOffset: 8, as: UInt64.self) / word(1)
                throw CheckFailure("read() returned a torn record (\(name))",
                                   expected: "every word of each record read is the same value (one write's)",
                                   seen: "\(torn) torn records in \(readsCount.value - readsBefore) reads; the first mixed words of write \(a) and write \(b)",
                                   cause: !crossing && shape != .flatOut
                                       ? "the writer was paused in the middle of a write: read returned the copy without checking that the sequence was even and unchanged across the copy"
                                       : "a write began while read was copying: read must load the sequence again after the copy (behind an .acquiring fence), compare it with the one before, and retry when they differ or the first was odd",
                                   look: look("read()"))
            }
            let final = lock.read()
            try requireEqual(final, [UInt64](repeating: word(UInt64(writes)), count: words), "the record after the last write (\(name))",
                             cause: "write must leave the words as update left them and the sequence even", look: look("write(_:)"))
            return (readsCount.value - readsBefore, seconds)
        }
        // A read that does not look at the sequence again after its copy is torn when a write
        // begins during the copy. Arranged first: 4 MiB records (a copy takes a millisecond or
        // more), each write 0.1 ms after the last, from the last word down (it meets a copy going
        // up). Whether the writer runs beside a reader or takes its CPU in the middle of the copy,
        // the copy ends with new words above the meeting point and old ones below.
        let crossing = try phase("4 MiB records, written from the end down, 0.1 ms apart", words: 512 << 10, writes: 200, .crossing(100))
        let paused = try phase("the writer pausing 2 ms in the middle of each write", words: 64, writes: 40, .pausedMidway(2000))
        // 20,000 writes flat out: readers in three processes beside a writer that never waits.
        // What it finds torn, it finds when the scheduler runs them side by side; the two phases
        // above arrange it.
        let flatOutWrites = 20_000
        let flatOut = try phase("the writer flat out, 8 KiB records", words: 1024, writes: flatOutWrites, .flatOut)
        Console.out("4 MiB records: \(crossing.reads) reads in \(secondsText(crossing.seconds)); paused writer: \(paused.reads) reads in \(secondsText(paused.seconds)); flat out: \(flatOutWrites) writes of 8 KiB and \(flatOut.reads) reads in \(secondsText(flatOut.seconds)), none torn\n")
    }

    // MARK: - part 3

    /// Part 3: the header: magic, capacity, tail on line 1, head on line 2, counting bytes; the
    /// records; bad blocks.
    static func ringHeaderLayout<R: SPSCRingContract>(_: R.Type, _ context: PartContext) throws {
        let memory = try block(4096)
        defer { labUnmap(memory) }
        let base = memory.baseAddress!
        let initLook = look("init(creatingIn:)")
        do {
            _ = try R(creatingIn: UnsafeMutableRawBufferPointer(rebasing: memory[8..<4096]))
            throw CheckFailure("init accepted a block that does not start on a cache line", expected: "RingError.misaligned",
                               seen: "a ring", cause: "check the block's address is a multiple of 64 first", look: initLook)
        } catch let error as RingError {
            try requireEqual(error, .misaligned(address: UInt(bitPattern: base + 8)), "init threw the wrong error for a misaligned block", look: initLook)
        }
        do {
            _ = try R(creatingIn: UnsafeMutableRawBufferPointer(rebasing: memory[0..<300]))
            throw CheckFailure("init accepted a 300-byte block", expected: "RingError.blockTooSmall(bytes: 300, minimum: 320)",
                               seen: "a ring", look: initLook)
        } catch let error as RingError {
            try requireEqual(error, .blockTooSmall(bytes: 300, minimum: RingLayout.dataOffset + 64),
                             "init threw the wrong error for a 300-byte block", look: initLook)
        }
        let ring = try attempt("LockFreeRing(creatingIn: 4096 bytes)", look: initLook) { try R(creatingIn: memory) }
        let u64 = { (offset: Int) in UInt64(littleEndian: base.load(fromByteOffset: offset, as: UInt64.self)) }
        try requireEqual(u64(RingLayout.magicOffset), RingLayout.magic, "the magic at byte 0",
                         cause: "store RingLayout.magic.littleEndian at byte 0 (the bytes \"SHMRING1\")", look: initLook)
        try requireEqual(u64(RingLayout.capacityOffset), UInt64(RingLayout.capacity(forBlockOf: 4096)), "the capacity at byte 8",
                         cause: "RingLayout.capacity(forBlockOf: block.count): what follows the 256-byte header, rounded down to 16", look: initLook)
        try requireEqual(ring.capacity, 3840, "capacity of a ring in 4096 bytes", look: look("capacity"))
        try requireEqual(ring.maximumMessageSize, 3840 / 2 - 4, "maximumMessageSize of a ring in 4096 bytes",
                         cause: "half the capacity less the 4-byte length: wherever the indices stand, such a record fits before the end or after the wrap",
                         look: look("maximumMessageSize"))
        let sizes = [1, 10, 100]
        for (i, size) in sizes.enumerated() {
            try attempt("send(\(size) bytes, timeout: 1)", look: look("trySend(count:_:)")) { try ring.send(message(i, size: size), timeout: 1) }
        }
        let published = UInt64(sizes.map(RingLayout.recordSize).reduce(0, +))
        func requireLines(_ when: String) throws {
            for (name, line, word) in [("tail", 64, RingLayout.tailOffset), ("head", 128, RingLayout.headOffset)] {
                if let stray = (line..<line + 64).first(where: { ($0 < word || $0 >= word + 8) && base.load(fromByteOffset: $0, as: UInt8.self) != 0 }) {
                    throw CheckFailure("something besides \(name) is written on \(name)'s cache line (\(when))",
                                       expected: "bytes \(line)-\(line + 63) hold \(name) (8 bytes at \(word)) and nothing else",
                                       seen: "byte \(stray) is \(base.load(fromByteOffset: stray, as: UInt8.self))",
                                       cause: "head and tail must sit on cache lines of their own (RingLayout.tailOffset 64, headOffset 128): the producer writes one and the consumer the other, and two writers on one 64-byte line make it bounce between CPUs on every message",
                                       look: initLook)
                }
            }
        }
        try requireEqual(u64(RingLayout.tailOffset), published, "tail (byte 64) after sending 1, 10 and 100 bytes",
                         cause: "tail counts the bytes of records ever published: 8 + 16 + 104 (a 4-byte length and the bytes, padded to 8)",
                         look: look("trySend(count:_:)"))
        try requireEqual(u64(RingLayout.headOffset), 0, "head (byte 128) before any receive", look: look("tryReceive()"))
        try requireLines("after three sends")
        var offset = RingLayout.dataOffset
        for (i, size) in sizes.enumerated() {
            let length = UInt32(littleEndian: base.load(fromByteOffset: offset, as: UInt32.self))
            try requireEqual(Int(length), size, "the length word of record \(i + 1) at byte \(offset)",
                             cause: "a record is a 4-byte little-endian length, then the bytes, padded to a multiple of 8",
                             look: look("trySend(count:_:)"))
            let bytes = Array(UnsafeRawBufferPointer(start: base + offset + 4, count: size))
            try require(bytes == message(i, size: size), CheckFailure("the bytes of record \(i + 1) in the block", expected: "the message sent",
                                                                    seen: difference(bytes, message(i, size: size)), look: look("trySend(count:_:)")))
            offset += RingLayout.recordSize(size)
        }
        let first = try attempt("tryReceive()", look: look("tryReceive()")) { try ring.tryReceive() }
        try requireEqual(first ?? [], message(0, size: 1), "the first message received", look: look("tryReceive()"))
        try requireLines("after a receive")
        let headSeen = u64(RingLayout.headOffset)
        if headSeen == 1 {
            throw CheckFailure("head counts messages", expected: "head (byte 128) = 8, the bytes of the record consumed", seen: "1",
                               cause: "head and tail count bytes, for ever, so that a record starts at data + head % capacity",
                               look: look("tryReceive()"))
        }
        try requireEqual(headSeen, 8, "head (byte 128) after receiving the first record (8 bytes)",
                         cause: "the consumer stores head + record size at byte 128 (a cache line of its own) after copying the message",
                         look: look("tryReceive()"))
        do {
            _ = try ring.trySend(count: ring.maximumMessageSize + 1) { _ in }
            throw CheckFailure("trySend accepted a message longer than maximumMessageSize",
                               expected: "RingError.messageTooLarge(size: \(ring.maximumMessageSize + 1), maximum: \(ring.maximumMessageSize))",
                               seen: "no error", look: look("trySend(count:_:)"))
        } catch let error as RingError {
            try requireEqual(error, .messageTooLarge(size: ring.maximumMessageSize + 1, maximum: ring.maximumMessageSize),
                             "trySend threw the wrong error for a message that can never fit", look: look("trySend(count:_:)"))
        }
    }

    // MARK: - part 4

    /// Part 4: a consumer looks while the producer is stopped inside `write` (arranged), then
    /// 500,000 messages of 0…119 bytes between two processes (about 500 times round a 64 KiB ring),
    /// each once, in order, whole.
    static func everyMessageOnceInOrder<R: SPSCRingContract>(_: R.Type, _ context: PartContext) throws {
        // A. Stopped mid-copy.
        do {
            let (ring, memory) = try makeRing(R.self, 64 << 10)
            let pause = try MidCallPause()
            defer { labUnmap(memory); labUnmap(pause.page) }
            let size = 4000
            let producer = try forkChild {
                for i in 0..<10 {
                    try attempt("send(message \(i), timeout: 5)", look: look("trySend(count:_:)")) { try ring.send(message(i, size: 100), timeout: 5) }
                }
                let expected = message(10, size: size)
                let sent = try attempt("trySend(count: \(size), _:)", look: look("trySend(count:_:)")) {
                    try ring.trySend(count: size) { bytes in
                        for i in 0..<size / 2 { bytes[i] = expected[i] }
                        pause.waitForLook(atMost: 0.3)                 // the consumer's moment to look
                        for i in size / 2..<size { bytes[i] = expected[i] }
                    }
                }
                guard sent else { throw CheckFailure("trySend returned false on a ring with room", look: look("trySend(count:_:)")) }
                return 0
            }
            for i in 0..<10 {
                let got = try take(ring, "message \(i) of 10")
                try require(got == message(i, size: 100), CheckFailure("message \(i) arrived different", expected: "the 100 bytes sent",
                                                                       seen: difference(got, message(i, size: 100)), look: look("tryReceive()")))
            }
            guard pause.halfway.wait(for: 1, timeout: 10) else {
                killAndReap([producer])
                throw CheckFailure("trySend never called its write callback", look: look("trySend(count:_:)"))
            }
            try failIfSeenMidWrite({ try attempt("tryReceive()", look: look("tryReceive()")) { try ring.tryReceive() } },
                                   other: producer, looked: pause.looked) { early in
                CheckFailure("the consumer received a message while the producer was still copying it into the ring",
                             expected: "tryReceive() returns nil until the message is whole",
                             seen: "a message of \(early.count) bytes while the producer was half-way through write: \(difference(early, message(10, size: size)))",
                             cause: "tail is published before the bytes are copied: call write(…) first, then tail.store(…, ordering: .releasing)",
                             look: look("trySend(count:_:)"))
            }
            let end = waitForProcess(producer, timeout: 10)
            try requireEqual(end, .exited(0), "the producer did not finish cleanly", look: look("trySend(count:_:)"))
            let last = try take(ring, "the message copied in two halves")
            try require(last == message(10, size: size), CheckFailure("the message copied in two halves arrived different",
                                                                      seen: difference(last, message(10, size: size)), look: look("tryReceive()")))
        }

        // B. Half a million messages: every size meets the wrap point many times over.
        let (ring, memory) = try makeRing(R.self, 64 << 10)
        defer { labUnmap(memory) }
        let count = 500_000
        let stress = StressMessages()
        let sizeOf = stress.size, bodies = stress.bodies
        let (producer, started) = try forkProducer(count: count) { i in
            let size = sizeOf(i)
            var tries = 0
            while try !attempt("trySend(count: \(size), _:) of message \(i)", look: look("trySend(count:_:)"), {
                try ring.trySend(count: size) { bytes in
                    bodies[size].withUnsafeBytes { bytes.copyMemory(from: $0) }
                    if size >= 4 { bytes.storeBytes(of: UInt32(truncatingIfNeeded: i).littleEndian, as: UInt32.self) }
                }
            }) {
                tries += 1
                if tries > 1000 { usleep(20) } else { sched_yield() }
                if tries > 1_000_000 { throw CheckFailure("trySend said full for 20 s while the consumer was receiving", look: look("trySend(count:_:)")) }
            }
        }
        for i in 0..<count {
            let got = try take(ring, from: producer, timeout: 20, "message \(i) of \(count)")
            if !got.withUnsafeBytes({ stress.matches($0, i) }) {
                killAndReap([producer])
                throw stress.wrong(got, index: i, of: count, "",
                                   wrongPlace: "a record read from the wrong place: at the wrap point the producer writes a padding length (RingLayout.padding) and the record at 0, and both sides move their index past the skipped bytes; or head is published before the copy is done",
                                   lostOrRepeated: "a message lost or repeated: head or tail moved by the wrong amount",
                                   look: look("trySend(count:_:) and tryReceive()"))
            }
        }
        let seconds = try producerFinished(producer, started: started, look: look("trySend(count:_:)"))
        let after = try attempt("tryReceive()", look: look("tryReceive()")) { try ring.tryReceive() }
        try require(after == nil, CheckFailure("a message after the last one sent", expected: "nil (the ring is empty)",
                                               seen: "\(after?.count ?? 0) bytes", look: look("tryReceive()")))
        Console.out("\(count) messages of 0-119 bytes in \(secondsText(seconds)) (\(BenchReport.number(Double(count) / seconds)) msg/s, debug build): each once, in order, whole\n")
    }

    // MARK: - part 5

    /// Part 5: sizes 0…maximum across the wrap point, in one process; the ring is full exactly
    /// when the record and the skipped bytes do not fit.
    static func sizesAcrossTheWrap<R: SPSCRingContract>(_: R.Type, _ context: PartContext) throws {
        let bytes = RingLayout.dataOffset + 1024
        // A. Full exactly: head at 504 with 512 bytes unread up to 1016, 8 bytes to the end.
        do {
            let (ring, memory) = try makeRing(R.self, bytes)
            defer { labUnmap(memory) }
            try requireEqual(ring.capacity, 1024, "capacity of a ring in \(bytes) bytes", look: look("capacity"))
            try attempt("send(496 bytes)", look: look("trySend(count:_:)")) { try ring.send(message(0, size: 496), timeout: 1) }
            _ = try take(ring, "the 496-byte message")
            for i in 1...2 { try attempt("send(252 bytes)", look: look("trySend(count:_:)")) { try ring.send(message(i, size: 252), timeout: 1) } }
            let fits = try attempt("trySend(count: 508, _:)", look: look("trySend(count:_:)")) {
                try ring.trySend(count: 508) { $0.copyMemory(from: message(3, size: 508).withUnsafeBytes { UnsafeRawBufferPointer($0) }) }
            }
            try require(!fits, CheckFailure("trySend wrote a record over unread data at the wrap point",
                expected: "false: the record (512 bytes) does not fit in the 8 bytes before the end, and after the wrap only 504 bytes are free before the unread data",
                seen: "true", cause: "the room needed is the record plus the bytes skipped to the end (capacity - position): count both",
                look: look("trySend(count:_:)")))
            for i in 1...2 {
                let got = try take(ring, "252-byte message \(i)")
                try require(got == message(i, size: 252), CheckFailure("an unread message was damaged by a send at the wrap point",
                    expected: "the 252 bytes sent", seen: difference(got, message(i, size: 252)),
                    cause: "the room check forgot the bytes skipped to the end", look: look("trySend(count:_:)")))
            }
            try attempt("send(508 bytes) into the empty ring", look: look("trySend(count:_:)")) { try ring.send(message(3, size: 508), timeout: 1) }
            let wrapped = try take(ring, "the 508-byte message across the wrap point")
            try require(wrapped == message(3, size: 508), CheckFailure("the 508-byte message placed after the wrap arrived different",
                expected: "the bytes sent", seen: difference(wrapped, message(3, size: 508)),
                cause: "the consumer must follow the padding length (RingLayout.padding) to 0, and head must move past the skipped bytes",
                look: look("tryReceive()")))
        }
        // B. Every size, at positions all around the ring, one and two messages in flight.
        let (ring, memory) = try makeRing(R.self, bytes)
        defer { labUnmap(memory) }
        let maximum = ring.maximumMessageSize
        try requireEqual(maximum, 508, "maximumMessageSize of a 1024-byte ring", look: look("maximumMessageSize"))
        var sequence = 0
        var pending: [[UInt8]] = []
        for size in Array(0...maximum) + (0..<1500).map({ ($0 &* 97) % (maximum + 1) }) {
            sequence += 1
            let next = message(sequence, size: size)
            var sent = try attempt("trySend(count: \(size), _:)", look: look("trySend(count:_:)")) {
                try ring.trySend(count: size) { $0.copyMemory(from: next.withUnsafeBytes { UnsafeRawBufferPointer($0) }) }
            }
            if !sent {
                try require(!pending.isEmpty, CheckFailure("trySend said full on an empty ring", expected: "true for \(size) bytes (maximum \(maximum))",
                                                           seen: "false", look: look("trySend(count:_:)")))
            }
            if sent { pending.append(next) }
            if !sent || pending.count >= 2 || size % 3 == 0 {
                while let oldest = pending.first {
                    let got = try attempt("tryReceive()", look: look("tryReceive()")) { try ring.tryReceive() }
                    guard let got else {
                        throw CheckFailure("tryReceive() returned nil with \(pending.count) message(s) in the ring", look: look("tryReceive()"))
                    }
                    try require(got == oldest, CheckFailure("a \(oldest.count)-byte message arrived wrong (message \(sequence), all sizes 0…\(maximum) at every position)",
                        expected: "the bytes sent", seen: difference(got, oldest),
                        cause: "at the wrap point: the producer writes RingLayout.padding and the record at 0, moving tail past the skipped bytes; the consumer follows the padding and moves head the same way",
                        look: look("trySend(count:_:) and tryReceive()")))
                    pending.removeFirst()
                    if pending.count <= 1 && sent { break }
                }
                if !sent {
                    sent = try attempt("trySend(count: \(size), _:) on the drained ring", look: look("trySend(count:_:)")) {
                        try ring.trySend(count: size) { $0.copyMemory(from: next.withUnsafeBytes { UnsafeRawBufferPointer($0) }) }
                    }
                    try require(sent, CheckFailure("trySend said full on an empty ring", expected: "true for \(size) bytes", seen: "false",
                                                   look: look("trySend(count:_:)")))
                    pending.append(next)
                }
            }
        }
        for oldest in pending {
            let got = try attempt("tryReceive()", look: look("tryReceive()")) { try ring.tryReceive() }
            try require(got == oldest, CheckFailure("the last messages arrived wrong", seen: got.map { difference($0, oldest) } ?? "nil",
                                                    look: look("tryReceive()")))
        }
    }

    // MARK: - part 6

    /// A consumer process for the wake-up checks (parts 6 and 11): it receives messages 0 ..<
    /// `messages` (64 bytes each, from `message(_:size:)`) one by one, adding 1 to `received`
    /// after each, so the check sees how far it got; `what(i)` names message i in a failure.
    static func wokenConsumer<R: SPSCRingContract>(_ ring: R, messages: Int, received: SharedCounter,
                                                   _ what: @escaping (Int) -> String) throws -> pid_t {
        try forkChild {
            for i in 0..<messages {
                let got = try take(ring, timeout: 30, what(i))
                guard got == message(i, size: 64) else {
                    throw CheckFailure("the woken consumer received the wrong bytes", seen: difference(got, message(i, size: 64)),
                                       look: look("receive(timeout:)"))
                }
                received.add()
            }
            return 0
        }
    }


    /// Part 6: a receive on an empty ring sleeps and each of 5 sends wakes it within 1 s.
    static func sleepingReceiveWakes<R: SPSCRingContract>(_: R.Type, _ context: PartContext) throws {
        let (ring, memory) = try makeRing(R.self, 64 << 10)
        let scratch = try block(4096)
        defer { labUnmap(memory); labUnmap(scratch) }
        let received = SharedCounter(at: scratch.baseAddress!)
        let rounds = 5
        let cpuBefore = cpuSeconds(children: true)
        let consumer = try wokenConsumer(ring, messages: rounds, received: received) { "round \($0 + 1)" }
        var latencies: [Double] = []
        var asleep = 0.0
        for i in 0..<rounds {
            try requireReceiveAsleep(consumer)
            usleep(150_000)                                          // it sleeps; this is what its CPU is measured over
            asleep += 0.15
            let sent = monotonicSeconds()
            try attempt("send(64 bytes, timeout: 1)", look: look("trySend(count:_:)")) { try ring.send(message(i, size: 64), timeout: 1) }
            guard received.wait(atLeast: UInt64(i + 1), timeout: 1) else {
                killAndReap([consumer])
                throw CheckFailure("a receive asleep on an empty ring was not woken by send (message \(i + 1) of \(rounds))",
                                   expected: "receive returns the message within 1 s of the send",
                                   seen: "still asleep 1 s later\(i > 0 ? " (the first \(i) were woken)" : "")",
                                   cause: i > 0
                                       ? "a lost wake-up: send decides whether to wake from something stale — a cached copy of head says the consumer still has messages while it sleeps. Wake when the block's sleeping word is 1 (after a sequentially consistent fence)"
                                       : "send never wakes the consumer: after publishing tail, a sequentially consistent fence, then when sleeping is 1 bump the wake word and Futex.wake it",
                                   look: look("trySend(count:_:) and receive(timeout:)"))
            }
            latencies.append(monotonicSeconds() - sent)
        }
        guard let end = waitForProcess(consumer, timeout: 10) else {
            throw CheckFailure("the consumer did not finish after its last message", look: look("receive(timeout:)"))
        }
        try requireEqual(end, .exited(0), "the consumer did not finish cleanly", look: look("receive(timeout:)"))
        let cpu = cpuSeconds(children: true) - cpuBefore
        try require(cpu < 0.05 * asleep, CheckFailure("the consumer used CPU while it waited for messages",
            expected: "under 5% of the \(secondsText(asleep)) it waited: \(secondsText(0.05 * asleep))",
            seen: "\(secondsText(cpu)) of CPU", cause: "receive spins or polls for too long before it sleeps on the futex",
            look: look("receive(timeout:)")))
        Console.out("woken \(rounds) times; send to receive: \(latencies.map { secondsText($0) }.joined(separator: ", ")); consumer CPU \(secondsText(cpu)) over \(secondsText(asleep)) asleep\n")
    }

    // MARK: - part 7

    /// Part 7: close wakes a sleeping receive; what is left is drained, then closed.
    static func closeWakesAndDrains<R: SPSCRingContract>(_: R.Type, _ context: PartContext) throws {
        // A. A consumer asleep in receive wakes on close.
        do {
            let (ring, memory) = try makeRing(R.self, 64 << 10)
            let scratch = try block(4096)
            defer { labUnmap(memory); labUnmap(scratch) }
            let outcome = SharedFlag(at: scratch.baseAddress!)      // 1 message, 2 closed, 3 empty, 4 other
            let consumer = try forkChild {
                do {
                    _ = try ring.receive(timeout: 30)
                    outcome.value = 1
                } catch RingError.closed {
                    outcome.value = 2
                } catch RingError.empty {
                    outcome.value = 3
                } catch {
                    Console.out("receive threw \(error)\n")
                    outcome.value = 4
                }
                return 0
            }
            try requireReceiveAsleep(consumer, "receive(timeout: 30) on an empty ring")
            ring.close()
            guard let end = waitForProcess(consumer, timeout: 2) else {
                throw CheckFailure("close() did not wake a consumer asleep in receive", expected: "receive throws RingError.closed at once",
                                   seen: "still asleep 2 s after close",
                                   cause: "close must set closed, then bump the wake word and Futex.wake it: setting the flag alone wakes nobody",
                                   look: look("close()"))
            }
            try requireEqual(end, .exited(0), "the consumer did not finish cleanly", look: look("receive(timeout:)"))
            let saw = ["nothing", "a message", "RingError.closed", "RingError.empty", "another error"][Int(min(outcome.value, 4))]
            try requireEqual(saw, "RingError.closed", "what receive threw when close woke it", look: look("receive(timeout:)"))
        }
        // B. Drain, then closed.
        let (ring, memory) = try makeRing(R.self, 64 << 10)
        defer { labUnmap(memory) }
        for i in 0..<3 { try attempt("send(message \(i))", look: look("trySend(count:_:)")) { try ring.send(message(i, size: 10 + i), timeout: 1) } }
        ring.close()
        ring.close()
        do {
            _ = try ring.trySend(count: 1) { _ in }
            throw CheckFailure("trySend after close did not throw", expected: "RingError.closed", seen: "no error", look: look("trySend(count:_:)"))
        } catch let error as RingError {
            try requireEqual(error, .closed, "trySend after close threw the wrong error", look: look("trySend(count:_:)"))
        }
        for i in 0..<3 {
            let got: [UInt8]
            do {
                got = try ring.receive(timeout: 1)
            } catch {
                throw CheckFailure("receive after close did not return the messages still in the ring",
                                   expected: "the 3 messages sent before close, then RingError.closed", seen: "\(error) at message \(i + 1)",
                                   cause: "look for a message first and at closed second: closing does not throw away what was sent",
                                   look: look("tryReceive()"))
            }
            try requireEqual(got, message(i, size: 10 + i), "message \(i + 1) after close", look: look("tryReceive()"))
        }
        let started = monotonicSeconds()
        do {
            _ = try ring.receive(timeout: 5)
            throw CheckFailure("receive on a closed, drained ring returned a message", expected: "RingError.closed", look: look("tryReceive()"))
        } catch let error as RingError {
            try requireEqual(error, .closed, "receive on a closed, drained ring", look: look("tryReceive()"))
        }
        try require(monotonicSeconds() - started < 1, CheckFailure("receive on a closed, drained ring waited",
            expected: "RingError.closed at once", seen: "after \(secondsText(monotonicSeconds() - started))", look: look("receive(timeout:)")))
        // C. Timeouts.
        let (open, openMemory) = try makeRing(R.self, 4096)
        defer { labUnmap(openMemory) }
        for bad in [-1.0, .nan] {
            do {
                _ = try open.receive(timeout: bad)
                throw CheckFailure("receive(timeout: \(bad)) did not throw", expected: "RingError.invalidTimeout", look: look("receive(timeout:)"))
            } catch let error as RingError {
                guard case .invalidTimeout = error else {
                    throw CheckFailure("receive(timeout: \(bad)) threw the wrong error", expected: "RingError.invalidTimeout", seen: "\(error)",
                                       look: look("receive(timeout:)"))
                }
            }
        }
        let waited = monotonicSeconds()
        do {
            _ = try open.receive(timeout: 0.2)
            throw CheckFailure("receive(timeout: 0.2) on an empty ring returned a message", look: look("receive(timeout:)"))
        } catch let error as RingError {
            try requireEqual(error, .empty, "receive(timeout: 0.2) on an empty ring", look: look("receive(timeout:)"))
        }
        let took = monotonicSeconds() - waited
        try require(took >= 0.15 && took < 2, CheckFailure("receive(timeout: 0.2) on an empty ring took \(secondsText(took))",
            expected: "about 0.2 s", seen: secondsText(took), cause: "Futex.wait takes the time left, in seconds, relative to now",
            look: look("receive(timeout:)")))
    }

    // MARK: - part 8

    /// Part 8: a producer killed inside `write` leaves the ring usable.
    static func killedProducerLeavesRingUsable<R: SPSCRingContract>(_: R.Type, _ context: PartContext) throws {
        let (ring, memory) = try makeRing(R.self, 64 << 10)
        defer { labUnmap(memory) }
        let producer = try forkChild {
            for i in 0..<100 {
                try attempt("send(message \(i))", look: look("trySend(count:_:)")) { try ring.send(message(i, size: 200), timeout: 5) }
            }
            _ = try ring.trySend(count: 200) { bytes in
                let half = message(100, size: 200)
                for i in 0..<100 { bytes[i] = half[i] }
                kill(getpid(), SIGKILL)                                // dies mid-copy
            }
            return 0
        }
        let end = waitForProcess(producer, timeout: 20)
        try requireEqual(end, .signaled(SIGKILL), "the producer was not killed inside its write callback",
                         cause: "trySend must call write(…) when there is room (the 101st message of 200 bytes in a 64 KiB ring)",
                         look: look("trySend(count:_:)"))
        for i in 0..<100 {
            let got = try take(ring, timeout: 2, "message \(i) sent before the producer died")
            try require(got == message(i, size: 200), CheckFailure("message \(i) sent before the producer died arrived wrong",
                                                                   seen: difference(got, message(i, size: 200)), look: look("tryReceive()")))
        }
        if let half = try attempt("tryReceive()", look: look("tryReceive()"), { try ring.tryReceive() }) {
            throw CheckFailure("the consumer received the message the producer died writing",
                               expected: "nothing: a message is visible only once whole",
                               seen: "\(half.count) bytes: \(difference(half, message(100, size: 200)))",
                               cause: "tail was published before the bytes were copied (write(…) first, tail's releasing store last)",
                               look: look("trySend(count:_:)"))
        }
        let next = try forkChild {
            for i in 100..<500 {
                try attempt("send(message \(i)) from a new producer", look: look("trySend(count:_:)")) { try ring.send(message(i, size: 200), timeout: 5) }
            }
            return 0
        }
        for i in 100..<500 {
            let got: [UInt8]
            do {
                got = try take(ring, timeout: 5, "message \(i) from the new producer")
            } catch {
                if let end = waitForProcess(next, timeout: 1), end != .exited(0) {
                    throw CheckFailure("the new producer gave up after \(i - 100) of its 400 messages",
                                       expected: "it sends 400 messages of 200 bytes while this process takes them (it must go round the 64 KiB ring)",
                                       seen: "it ended (\(end)); its own error is above",
                                       cause: "its send found the ring full for 5 s while the consumer had taken everything: trySend must load head again (.acquiring) when its cached copy says the ring is full",
                                       look: look("trySend(count:_:)"))
                }
                killAndReap([next])
                throw error
            }
            if got != message(i, size: 200) {
                killAndReap([next])
                throw CheckFailure("a new producer's message \(i - 99) arrived wrong", expected: "the 200 bytes it sent",
                                   seen: difference(got, message(i, size: 200)),
                                   cause: "the new producer did not carry on from the block's tail: it started from a tail kept in its object (the copy it was forked with). trySend must load tail from the block",
                                   look: look("trySend(count:_:)"))
            }
        }
        let nextEnd = waitForProcess(next, timeout: 10)
        try requireEqual(nextEnd, .exited(0), "the new producer did not finish cleanly", look: look("trySend(count:_:)"))
    }

    // MARK: - part 9

    static let pythonRingReader = """
        import struct, sys
        from multiprocessing import shared_memory, resource_tracker
        shm = shared_memory.SharedMemory(name=sys.argv[1])
        try:
            resource_tracker.unregister(shm._name, "shared_memory")   # attached, not owned
        except Exception:
            pass
        buf = shm.buf
        magic, capacity = struct.unpack_from("<8sQ", buf, 0)
        (tail,) = struct.unpack_from("<Q", buf, 64)
        (head,) = struct.unpack_from("<Q", buf, 128)
        position = head % capacity if capacity else 0
        (length,) = struct.unpack_from("<I", buf, 256 + position)
        if length == 0xFFFFFFFF:
            position = 0
            (length,) = struct.unpack_from("<I", buf, 256)
        message = bytes(buf[256 + position + 4: 256 + position + 4 + min(length, 4096)]) if length <= capacity else b""
        for key, value in [("magic", magic.decode("latin-1")), ("capacity", capacity), ("tail", tail), ("head", head),
                           ("length", length), ("message", message.hex())]:
            print(f"{key}={value}")
        del buf
        shm.close()
        """

    /// Part 9: Python reads the header and the oldest message of a ring in a named segment.
    static func pythonReadsRing<R: SPSCRingContract>(_: R.Type, _ context: PartContext) throws {
        _ = try context.python3()
        // The functions this part calls, tried first on an anonymous block: a todo() ends the
        // process, and must not leave a named segment behind.
        do {
            let (probe, probeMemory) = try makeRing(R.self, 4096)
            defer { labUnmap(probeMemory) }
            try attempt("send(\"probe\")", look: look("trySend(count:_:)")) { try probe.send(Array("probe".utf8), timeout: 1) }
            _ = try take(probe, "a probe before the named segment")
        }
        let segment = try SharedSegment.create(size: 8192)
        defer { segment.close(); SharedSegment.unlinkIfPresent(segment.name) }
        let ring = try attempt("LockFreeRing(creatingIn: an 8192-byte segment)", look: look("init(creatingIn:)")) { try R(creatingIn: segment.bytes) }
        let texts = ["first, already received", "hello from Swift", "third"]
        for text in texts { try attempt("send(\"\(text)\")", look: look("trySend(count:_:)")) { try ring.send(Array(text.utf8), timeout: 1) } }
        _ = try take(ring, "the first message")
        let output = try context.runPython(pythonRingReader, [String(segment.name.dropFirst())], what: "reading the ring's header")
        var fields: [String: String] = [:]
        for line in output.split(separator: "\n") {
            let parts = line.split(separator: "=", maxSplits: 1).map(String.init)
            if parts.count == 2 { fields[parts[0]] = parts[1] }
        }
        let tail = texts.map { RingLayout.recordSize($0.utf8.count) }.reduce(0, +)
        let head = RingLayout.recordSize(texts[0].utf8.count)
        let expected = ["magic": "SHMRING1", "capacity": "\(RingLayout.capacity(forBlockOf: 8192))", "tail": "\(tail)", "head": "\(head)",
                        "length": "\(texts[1].utf8.count)", "message": Array(texts[1].utf8).map { String($0, radix: 16).leftPadded(to: 2) }.joined()]
        for key in ["magic", "capacity", "tail", "head", "length", "message"] where fields[key] != expected[key] {
            throw CheckFailure("Python read another \(key) from the ring's segment",
                               expected: "\(key) = \(expected[key]!) (magic, capacity, tail, head; then the record at 256 + head % capacity)",
                               seen: "\(key) = \(fields[key] ?? "nothing") — Python printed: \(output)",
                               cause: "Python reads the header at the fixed offsets of RingLayout, little-endian: magic \"SHMRING1\" at 0, capacity at 8, tail at 64, head at 128 (both counting bytes), data at 256",
                               look: look("init(creatingIn:), trySend(count:_:) and tryReceive()"))
        }
        Console.out("Python read magic SHMRING1, capacity \(expected["capacity"]!), tail \(tail), head \(head) and \"\(texts[1])\"\n")
    }

    // MARK: - part 10

    /// Part 10 (not graded): two processes each add to a counter of their own, in chunks: once
    /// with the two counters 8 bytes apart (one cache line), once 128 bytes apart.
    static func falseSharingMeasured<R: SPSCRingContract>(_: R.Type, _ context: PartContext) throws {
        // Shown once the ring works: the counters stand 8 bytes apart (head on tail's line) and
        // 128 bytes apart (RingLayout: tail at 64, head at 128) — what the ring's layout avoids.
        // A ring still todo() makes this part "not started", not a measurement that passes.
        do {
            let (probe, probeMemory) = try makeRing(R.self, 4096)
            defer { labUnmap(probeMemory) }
            try attempt("send(\"probe\")", look: look("trySend(count:_:)")) { try probe.send(Array("probe".utf8), timeout: 1) }
            let got = try take(probe, timeout: 1, "a probe before the measurement")
            try require(got == Array("probe".utf8), CheckFailure("the probe message came back different", expected: "\"probe\"",
                                                                 seen: difference(got, Array("probe".utf8)), look: look("tryReceive()")))
        }
        guard allowedCPUs().count >= 2 else {
            Console.out("this part may use one CPU only: two processes never run at once here, and a cache line they share never bounces (nothing to measure)\n")
            return
        }
        var runs: [(packed: CounterRun, padded: CounterRun)] = []
        for _ in 0..<3 {
            runs.append((try counterRun(apart: 8, seconds: 1), try counterRun(apart: 128, seconds: 1)))
        }
        let packed = runs.compactMap(\.packed.nanosecondsPerAdd), padded = runs.compactMap(\.padded.nanosecondsPerAdd)
        let share = runs.map { ($0.packed.concurrentShare + $0.padded.concurrentShare) / 2 }.reduce(0, +) / Double(runs.count)
        guard !packed.isEmpty, !padded.isEmpty else {
            Console.out("""
                two processes pinned to two CPUs, each adding to its own counter: they were never on a CPU at the same time
                long enough to measure (other programs held the other CPU), and false sharing happens only then.
                Run this part again on a quieter machine.

                """)
            return
        }
        let (p, q) = (BenchFigure.median(packed), BenchFigure.median(padded))
        Console.out("""
            two processes pinned to two CPUs, each adding 1 to its own counter with an atomic add, timed in chunks of \(CounterRun.chunk)
            while the other process was adding too (\(Int((share * 100).rounded()))% of the chunks: the rest ran alone, the other CPU busy elsewhere):
              one cache line (8 bytes apart):   \(BenchReport.number(p)) ns per add
              a line each (128 bytes apart):    \(BenchReport.number(q)) ns per add
              padded is \(BenchReport.number(p / q))× faster while both run (a debug build: each add also pays for unoptimised Swift around it)

            """)
    }

    /// What `counterRun` measured: nanoseconds per add in the chunks during which the other
    /// process was adding too (nil when there were none), and their share of all chunks.
    struct CounterRun {
        static let chunk = 4096
        let nanosecondsPerAdd: Double?
        let concurrentShare: Double
    }

    /// Two forked processes each add 1 to a counter of their own, the counters `apart` bytes apart
    /// in one shared block, each process pinned to a CPU of its own when this process may use two.
    /// Each adds in chunks of 4096 and times every chunk; a chunk counts only when the other's
    /// counter moved by at least a quarter chunk meanwhile: both were on a CPU at once, the only
    /// time a shared line can bounce. (On a busy machine most chunks run alone, another program on
    /// the other CPU — then a start-to-end time shows no false sharing at all.) Each process stops
    /// when either has 64 such chunks, or after `seconds`. The corresponding C calls are `sched_setaffinity` and
    /// `clock_gettime`.
    static func counterRun(apart: Int, seconds: Double) throws -> CounterRun {
        let memory = try block(4096)
        defer { labUnmap(memory) }
        let base = memory.baseAddress!
        let start = StartBarrier(at: base + 1024)
        let enough = SharedFlag(at: base + 1536)                      // one process has its chunks: both stop
        let counters = [base + 256, base + 256 + apart].map { $0.bindMemory(to: Atomic<UInt64>.self, capacity: 1) }
        let cpus = allowedCPUs()
        let pinned = cpus.count >= 2
        let children = try (0..<2).map { me in
            try forkChild {
                if pinned { _ = shmlab_pin_to_cpu(Int32(cpus[me])) }
                let mine = counters[me], other = counters[1 - me]
                _ = start.arriveAndWait(parties: 2, timeout: 10)
                let until = monotonicSeconds() + seconds
                var concurrent: [Double] = []
                var chunks = 0
                while enough.value == 0 && (chunks & 15 != 0 || monotonicSeconds() < until) {
                    let before = other.pointee.load(ordering: .relaxed)
                    let began = monotonicSeconds()
                    for _ in 0..<CounterRun.chunk { mine.pointee.add(1, ordering: .relaxed) }
                    let took = monotonicSeconds() - began
                    if other.pointee.load(ordering: .relaxed) &- before >= UInt64(CounterRun.chunk / 4) {
                        concurrent.append(took / Double(CounterRun.chunk) * 1e9)
                    }
                    chunks += 1
                    if concurrent.count >= 64 { enough.value = 1 }
                }
                let slot = base + 2048 + 64 * me
                slot.storeBytes(of: concurrent.isEmpty ? Double.nan : BenchFigure.median(concurrent), as: Double.self)
                slot.storeBytes(of: Int64(concurrent.count), toByteOffset: 8, as: Int64.self)
                slot.storeBytes(of: Int64(chunks), toByteOffset: 16, as: Int64.self)
                return 0
            }
        }
        let ends = waitForAll(children, timeout: seconds + 30)
        killAndReap(children.filter { ends[$0] == nil })
        guard ends.count == 2, ends.values.allSatisfy({ $0 == .exited(0) }) else {
            throw CheckFailure("a counting process did not finish cleanly", seen: "\(ends.values.map { "\($0)" })")
        }
        let medians = (0..<2).map { base.load(fromByteOffset: 2048 + 64 * $0, as: Double.self) }.filter { !$0.isNaN }
        let concurrent = (0..<2).map { Int(base.load(fromByteOffset: 2048 + 64 * $0 + 8, as: Int64.self)) }.reduce(0, +)
        let chunks = (0..<2).map { Int(base.load(fromByteOffset: 2048 + 64 * $0 + 16, as: Int64.self)) }.reduce(0, +)
        return CounterRun(nanosecondsPerAdd: medians.count == 2 ? medians.reduce(0, +) / 2 : nil,
                          concurrentShare: chunks > 0 ? Double(concurrent) / Double(chunks) : 0)
    }

    /// The CPUs this process may run on (`sched_getaffinity`), in order.
    static func allowedCPUs() -> [Int] {
        var mask = [UInt8](repeating: 0, count: 128)
        guard mask.withUnsafeMutableBytes({ shmlab_get_affinity($0.baseAddress, UInt($0.count)) }) == 0 else { return [] }
        return (0..<mask.count * 8).filter { mask[$0 / 8] & (1 << ($0 % 8)) != 0 }
    }
}

extension Lesson10 {
    // MARK: - part 11

    /// Part 11: batched publication. A batch is published with one store of tail: a consumer
    /// looking while the producer is stopped inside the last message's `write` sees none of it;
    /// what fits is written (the bytes skipped at the wrap count) and the count returned; a
    /// sleeping consumer is woken by a batch; then 100,000 messages in batches of 1 to 16 between
    /// two processes, each once, in order, whole.
    static func batchedPublication<R: SPSCRingContract>(_: R.Type, _ context: PartContext) throws {
        let batchLook = look("trySend(batch:_:)")
        let tailAt = { (memory: UnsafeMutableRawBufferPointer) in
            UInt64(littleEndian: memory.baseAddress!.load(fromByteOffset: RingLayout.tailOffset, as: UInt64.self))
        }
        // The function first, on a small ring in this process: a todo() ends the part here, not
        // in a child this process waits for.
        do {
            let (probe, probeMemory) = try makeRing(R.self, 4096)
            defer { labUnmap(probeMemory) }
            let probeText = Array("probe".utf8)
            let written = try attempt("trySend(batch: [5], _:) into an empty ring", look: batchLook) {
                try probe.trySend(batch: [probeText.count]) { _, bytes in
                    guard bytes.count == probeText.count else { return }
                    probeText.withUnsafeBytes { bytes.copyMemory(from: $0) }
                }
            }
            try requireEqual(written, 1, "trySend(batch: [5], _:) into an empty ring", cause: "it returns how many messages it wrote", look: batchLook)
            let got = try take(probe, timeout: 1, "a batch of one message")
            try require(got == probeText, CheckFailure("a batch of one 5-byte message arrived different", expected: "\"probe\"",
                                                       seen: difference(got, probeText), look: batchLook))
        }

        // A. Stopped inside the last message's write: none of the batch is visible yet.
        do {
            let (ring, memory) = try makeRing(R.self, 64 << 10)
            let pause = try MidCallPause()
            defer { labUnmap(memory); labUnmap(pause.page) }
            let handed = pause.own                           // the sizes write was handed, in order
            let batch = 8, size = 100
            let producer = try forkChild {
                let written = try attempt("trySend(batch: 8 × \(size) bytes, _:)", look: batchLook) {
                    try ring.trySend(batch: [Int](repeating: size, count: batch)) { index, bytes in
                        if (0..<batch).contains(index) { handed.storeBytes(of: Int32(bytes.count), toByteOffset: 4 * index, as: Int32.self) }
                        let expected = message(index, size: size)
                        guard bytes.count == size else { return }
                        if index < batch - 1 {
                            expected.withUnsafeBytes { bytes.copyMemory(from: $0) }
                            return
                        }
                        for i in 0..<size / 2 { bytes[i] = expected[i] }
                        pause.waitForLook(atMost: 2)                   // the consumer's moment to look
                        for i in size / 2..<size { bytes[i] = expected[i] }
                    }
                }
                pause.returned.add(UInt64(written))
                return 0
            }
            guard pause.halfway.wait(for: 1, timeout: 10) else {
                killAndReap([producer])
                let sizes = (0..<batch).map { Int(handed.load(fromByteOffset: 4 * $0, as: Int32.self)) }
                throw CheckFailure("trySend(batch:) never called write for the last of 8 messages",
                                   expected: "write(i, bytes) once for each message, i from 0 to 7, each handed \(size) bytes (the ring has room for all of them)",
                                   seen: "the sizes write was handed, by index: \(sizes)", look: batchLook)
            }
            var tailSeen = tailAt(memory)
            let early = try seenTooEarly { () throws -> [UInt8]? in
                tailSeen = max(tailSeen, tailAt(memory))
                return try attempt("tryReceive()", look: look("tryReceive()")) { try ring.tryReceive() }
            }
            pause.looked.value = 1
            if early != nil || tailSeen != 0 {
                killAndReap([producer])
                let which = early.flatMap { got in (0..<batch).first { message($0, size: size) == got } }
                throw CheckFailure("the consumer saw part of a batch while the producer was still writing its last message",
                                   expected: "nothing of the batch until all 8 messages are written, then all 8: one releasing store of tail after the last write",
                                   seen: "tail (byte 64) was \(tailSeen) while write was filling message 8 of 8"
                                       + (early.map { "; tryReceive() returned \($0.count) bytes" + (which.map { " (message \($0 + 1) of the batch)" } ?? "") } ?? ""),
                                   cause: "trySend(batch:) publishes tail message by message (a loop of trySend, or a tail store inside the loop): write every record first, then store tail once, with .releasing",
                                   look: batchLook)
            }
            let end = waitForProcess(producer, timeout: 10)
            try requireEqual(end, .exited(0), "the producer did not finish cleanly", look: batchLook)
            try requireEqual(Int(pause.returned.value), batch, "what trySend(batch:) returned for 8 messages in an empty 64 KiB ring",
                             cause: "it returns how many messages it wrote and published", look: batchLook)
            try requireEqual(tailAt(memory), UInt64(batch * RingLayout.recordSize(size)), "tail (byte 64) after a batch of 8 × \(size) bytes",
                             cause: "the batch's one store of tail moves it past every record: 8 × \(RingLayout.recordSize(size)) bytes", look: batchLook)
            for i in 0..<batch {
                let got = try take(ring, timeout: 2, "message \(i + 1) of the batch")
                try require(got == message(i, size: size), CheckFailure("message \(i + 1) of the batch arrived different",
                    expected: "the \(size) bytes written for index \(i)", seen: difference(got, message(i, size: size)),
                    cause: "write(i, bytes) must be handed message i's own \(size) bytes of the ring, in order", look: batchLook))
            }
        }

        // B. What fits, at the wrap point: head at 504 with 512 bytes unread up to 1016 and 8
        // bytes to the end; a batch of 252, 252 and 508 bytes: the third (512 bytes) fits neither
        // in the 8 bytes before the end nor in the 504 free bytes after the wrap.
        do {
            let (ring, memory) = try makeRing(R.self, RingLayout.dataOffset + 1024)
            defer { labUnmap(memory) }
            try attempt("send(496 bytes)", look: look("trySend(count:_:)")) { try ring.send(message(0, size: 496), timeout: 1) }
            _ = try take(ring, "the 496-byte message")
            let sizes = [252, 252, 508]
            let first = try attempt("trySend(batch: [252, 252, 508], _:)", look: batchLook) {
                try ring.trySend(batch: sizes) { index, bytes in
                    guard sizes.indices.contains(index), bytes.count == sizes[index] else { return }
                    message(1 + index, size: sizes[index]).withUnsafeBytes { bytes.copyMemory(from: $0) }
                }
            }
            if first != 2 {
                throw CheckFailure("trySend(batch:) at the wrap point returned \(first)",
                                   expected: "2: the two 252-byte messages fit (head 504, tail 1016); the 508-byte one needs 8 bytes skipped to the end and 512 at 0, where only 504 are free",
                                   seen: "\(first)",
                                   cause: first == 3
                                       ? "the room check forgot the bytes skipped to the end (capacity - position), or the function returns how many it was asked to send instead of how many it wrote"
                                       : "it must write as many as fit, in order, and return how many it wrote",
                                   look: batchLook)
            }
            try requireEqual(tailAt(memory), 1016, "tail (byte 64) after the batch wrote 2 messages",
                             cause: "tail moves past the records written, in one store", look: batchLook)
            for i in 1...2 {
                let got = try take(ring, "252-byte message \(i) of the batch")
                try require(got == message(i, size: 252), CheckFailure("a message of the batch arrived different",
                    expected: "the 252 bytes written", seen: difference(got, message(i, size: 252)),
                    cause: "a record of the batch was written over another: the room needed is the record plus the bytes skipped to the end",
                    look: batchLook))
            }
            let rest = try attempt("trySend(batch: [508], _:) into the empty ring", look: batchLook) {
                try ring.trySend(batch: [508]) { _, bytes in
                    guard bytes.count == 508 else { return }
                    message(3, size: 508).withUnsafeBytes { bytes.copyMemory(from: $0) }
                }
            }
            try requireEqual(rest, 1, "trySend(batch: [508]) into the empty ring", look: batchLook)
            let wrapped = try take(ring, "the 508-byte message after the wrap")
            try require(wrapped == message(3, size: 508), CheckFailure("the 508-byte message of a batch, placed after the wrap, arrived different",
                expected: "the bytes written", seen: difference(wrapped, message(3, size: 508)),
                cause: "a record that does not fit before the end: the padding length there, the record at 0, tail past both", look: batchLook))
            let tailBefore = tailAt(memory)
            do {
                _ = try ring.trySend(batch: [1, ring.maximumMessageSize + 1]) { _, _ in }
                throw CheckFailure("trySend(batch:) accepted a message longer than maximumMessageSize",
                                   expected: "RingError.messageTooLarge(size: \(ring.maximumMessageSize + 1), maximum: \(ring.maximumMessageSize)), before writing anything",
                                   seen: "no error", look: batchLook)
            } catch let error as RingError {
                try requireEqual(error, .messageTooLarge(size: ring.maximumMessageSize + 1, maximum: ring.maximumMessageSize),
                                 "trySend(batch:) threw the wrong error for a message that can never fit", look: batchLook)
            }
            try requireEqual(tailAt(memory), tailBefore, "tail (byte 64) after a batch refused with messageTooLarge",
                             cause: "nothing of a refused batch is written or published: check every size first", look: batchLook)
        }

        // C. A consumer asleep in receive is woken by a batch.
        do {
            let (ring, memory) = try makeRing(R.self, 64 << 10)
            let scratch = try block(4096)
            defer { labUnmap(memory); labUnmap(scratch) }
            let received = SharedCounter(at: scratch.baseAddress!)
            let rounds = 3, batch = 3
            let consumer = try wokenConsumer(ring, messages: rounds * batch, received: received) {
                "message \($0 % batch + 1) of batch \($0 / batch + 1)"
            }
            for round in 0..<rounds {
                try requireReceiveAsleep(consumer)
                let sent = try attempt("trySend(batch: 3 × 64 bytes, _:)", look: batchLook) {
                    try ring.trySend(batch: [64, 64, 64]) { index, bytes in
                        guard bytes.count == 64 else { return }
                        message(round * batch + index, size: 64).withUnsafeBytes { bytes.copyMemory(from: $0) }
                    }
                }
                try requireEqual(sent, batch, "trySend(batch: 3 × 64 bytes) into an empty ring", look: batchLook)
                guard received.wait(atLeast: UInt64((round + 1) * batch), timeout: 1) else {
                    killAndReap([consumer])
                    throw CheckFailure("a receive asleep on an empty ring was not woken by a batch (batch \(round + 1) of \(rounds))",
                                       expected: "receive returns the batch's first message within 1 s of trySend(batch:)",
                                       seen: "\(received.value - UInt64(round * batch)) of the batch's \(batch) messages received 1 s later",
                                       cause: "trySend(batch:) publishes tail but does not look for a sleeper: after the one store of tail, a sequentially consistent fence, then when sleeping is 1 bump the wake word and Futex.wake it — once per batch",
                                       look: batchLook)
                }
            }
            let end = waitForProcess(consumer, timeout: 10)
            try requireEqual(end, .exited(0), "the consumer did not finish cleanly", look: look("receive(timeout:)"))
        }

        // D. Many batches between two processes.
        let (ring, memory) = try makeRing(R.self, 64 << 10)
        defer { labUnmap(memory) }
        let count = 100_000
        let batchOf = { (k: Int) in 1 + (k &* 7) % 16 }
        let stress = StressMessages()
        let stressMessage = stress.message
        let started = monotonicSeconds()
        let producer = try forkChild {
            var next = 0, k = 0
            while next < count {
                let messages = (next..<min(count, next + batchOf(k))).map(stressMessage)
                try attempt("send(batch: \(messages.count) messages, timeout: 20)", look: batchLook) { try ring.send(batch: messages, timeout: 20) }
                next += messages.count
                k += 1
            }
            return 0
        }
        for i in 0..<count {
            let got = try take(ring, from: producer, timeout: 20, "message \(i) of \(count), sent in batches")
            if got != stressMessage(i) {
                killAndReap([producer])
                throw stress.wrong(got, index: i, of: count, ", sent in batches of 1 to 16",
                                   wrongPlace: "a record of a batch written in the wrong place: each record of a batch starts where the one before ended (its padding and the skipped bytes counted), and tail moves past all of them",
                                   lostOrRepeated: "a message lost or repeated: trySend(batch:) must return how many it wrote, no more, no fewer",
                                   look: batchLook)
            }
        }
        let seconds = try producerFinished(producer, started: started, look: batchLook)
        Console.out("a batch stayed invisible until its last message was written; \(count) messages in batches of 1-16 in \(secondsText(seconds)) (debug build): each once, in order, whole\n")
    }
}

extension Lesson10 {
    // MARK: - part 12

    /// Part 12: batched release. `tryReceive(upTo:_:)` hands messages in place and stores head once,
    /// after the last `read`: another process looks at head while the consumer is stopped inside
    /// the last read; at most `limit` messages; across the wrap; closed once drained; then 100,000
    /// messages between two processes taken in batches of 1 to 16, each once, in order, whole.
    static func batchedRelease<R: SPSCRingContract>(_: R.Type, _ context: PartContext) throws {
        let releaseLook = look("tryReceive(upTo:_:)")
        let headAt = { (memory: UnsafeMutableRawBufferPointer) in
            UInt64(littleEndian: memory.baseAddress!.load(fromByteOffset: RingLayout.headOffset, as: UInt64.self))
        }
        /// Calls tryReceive(upTo: limit) and returns copies of what read was handed.
        func takeBatch(_ ring: R, upTo limit: Int, _ what: String) throws -> [[UInt8]] {
            var got: [[UInt8]] = []
            let count = try attempt("tryReceive(upTo: \(limit), _:) (\(what))", look: releaseLook) {
                try ring.tryReceive(upTo: limit) { got.append(Array($0)) }
            }
            try require(count == got.count, CheckFailure("tryReceive(upTo: \(limit), _:) returned \(count) (\(what))",
                expected: "how many messages it handed to read: \(got.count)", seen: "\(count)", look: releaseLook))
            return got
        }
        // The function first, on an empty ring in this process: a todo() ends the part here.
        do {
            let (probe, probeMemory) = try makeRing(R.self, 4096)
            defer { labUnmap(probeMemory) }
            let none = try takeBatch(probe, upTo: 4, "an empty ring")
            try require(none.isEmpty, CheckFailure("tryReceive(upTo: 4, _:) on an empty ring handed \(none.count) message(s) to read",
                                                   expected: "0, at once", look: releaseLook))
        }

        // A. Stopped inside the last read: head has not moved.
        do {
            let (ring, memory) = try makeRing(R.self, 64 << 10)
            let pause = try MidCallPause()
            defer { labUnmap(memory); labUnmap(pause.page) }
            let wrong = SharedCounter(at: pause.own)    // 1 + the index of the first wrong message
            let batch = 8, size = 100
            for i in 0..<batch {
                try attempt("send(message \(i + 1) of \(batch))", look: look("trySend(count:_:)")) { try ring.send(message(i, size: size), timeout: 1) }
            }
            let consumer = try forkChild {
                var index = 0
                let taken = try attempt("tryReceive(upTo: \(batch), _:)", look: releaseLook) {
                    try ring.tryReceive(upTo: batch) { bytes in
                        if index >= batch || !bytes.elementsEqual(message(index, size: size)) {
                            if wrong.value == 0 { wrong.add(UInt64(index + 1)) }
                        }
                        if index == batch - 1 {
                            pause.waitForLook(atMost: 2)                   // the producer's moment to look
                        }
                        index += 1
                    }
                }
                pause.returned.add(UInt64(taken))
                return 0
            }
            guard pause.halfway.wait(for: 1, timeout: 10) else {
                let end = waitForProcess(consumer, timeout: 2)
                killAndReap([consumer])
                throw CheckFailure("tryReceive(upTo: 8, _:) never handed read the 8th of 8 messages in the ring",
                                   expected: "read called once per message, oldest first, up to the limit",
                                   seen: end.map { "the consumer ended (\($0)) after tryReceive returned \(pause.returned.value)" } ?? "no 8th call within 10 s",
                                   look: releaseLook)
            }
            var headSeen: UInt64 = 0
            _ = seenTooEarly { () -> Bool? in
                headSeen = max(headSeen, headAt(memory))
                return nil
            }
            pause.looked.value = 1
            if headSeen != 0 {
                killAndReap([consumer])
                let record = UInt64(RingLayout.recordSize(size))
                throw CheckFailure("head moved while the consumer was still reading the batch's last message in place",
                                   expected: "head (byte 128) stays 0 until read has returned for all 8 messages, then one store moves it to \(UInt64(batch) * record)",
                                   seen: "head was \(headSeen) (\(headSeen % record == 0 ? "\(headSeen / record) records" : "\(headSeen) bytes")) during the 8th read",
                                   cause: headSeen >= UInt64(batch) * record
                                       ? "head is stored for the whole batch before the messages are read: the producer may then write over bytes read is still looking at"
                                       : "head is stored after each message: store it once, after the loop (.releasing)",
                                   look: releaseLook)
            }
            let end = waitForProcess(consumer, timeout: 10)
            try requireEqual(end, .exited(0), "the consumer did not finish cleanly", look: releaseLook)
            if wrong.value > 0 {
                throw CheckFailure("read was handed other bytes than message \(wrong.value) of the batch",
                                   expected: "the messages in order, each exactly its bytes in the ring", look: releaseLook)
            }
            try requireEqual(Int(pause.returned.value), batch, "what tryReceive(upTo: 8, _:) returned with 8 messages in the ring", look: releaseLook)
            try requireEqual(headAt(memory), UInt64(batch * RingLayout.recordSize(size)), "head (byte 128) after the batch of 8 was read",
                             cause: "one store of head past every record read", look: releaseLook)
        }

        // B. At most `limit`, oldest first; 0 asks for nothing; then the rest.
        do {
            let (ring, memory) = try makeRing(R.self, 64 << 10)
            defer { labUnmap(memory) }
            for i in 0..<8 {
                try attempt("send(message \(i + 1) of 8)", look: look("trySend(count:_:)")) { try ring.send(message(i, size: 10 + i), timeout: 1) }
            }
            let first = try takeBatch(ring, upTo: 3, "8 messages in the ring")
            if first.count != 3 {
                throw CheckFailure("tryReceive(upTo: 3, _:) with 8 messages in the ring handed \(first.count) to read",
                                   expected: "3: at most limit messages", seen: "\(first.count)",
                                   cause: first.count > 3 ? "the walk does not stop at limit" : "it must hand the oldest messages up to limit when there are that many",
                                   look: releaseLook)
            }
            try requireEqual(first, (0..<3).map { message($0, size: 10 + $0) }, "the 3 messages read", look: releaseLook)
            try requireEqual(headAt(memory), UInt64((0..<3).map { RingLayout.recordSize(10 + $0) }.reduce(0, +)),
                             "head (byte 128) after 3 of 8 messages were read", look: releaseLook)
            let nothing = try takeBatch(ring, upTo: 0, "limit 0")
            try requireEqual(nothing.count, 0, "messages tryReceive(upTo: 0, _:) handed to read", look: releaseLook)
            let rest = try takeBatch(ring, upTo: 100, "the 5 messages left")
            try requireEqual(rest, (3..<8).map { message($0, size: 10 + $0) }, "the 5 messages left, read with limit 100", look: releaseLook)
            let after = try takeBatch(ring, upTo: 100, "the emptied ring")
            try requireEqual(after.count, 0, "messages handed to read from the emptied ring", look: releaseLook)
        }

        // C. Across the wrap point, then closed once drained.
        do {
            let (ring, memory) = try makeRing(R.self, RingLayout.dataOffset + 1024)
            defer { labUnmap(memory) }
            try attempt("send(496 bytes)", look: look("trySend(count:_:)")) { try ring.send(message(0, size: 496), timeout: 1) }
            _ = try take(ring, "the 496-byte message")
            for i in 1...2 { try attempt("send(252 bytes)", look: look("trySend(count:_:)")) { try ring.send(message(i, size: 252), timeout: 1) } }
            let two = try takeBatch(ring, upTo: 10, "two 252-byte messages")
            try requireEqual(two, [message(1, size: 252), message(2, size: 252)], "two 252-byte messages read in place", look: releaseLook)
            try attempt("send(508 bytes)", look: look("trySend(count:_:)")) { try ring.send(message(3, size: 508), timeout: 1) }
            try attempt("send(100 bytes)", look: look("trySend(count:_:)")) { try ring.send(message(4, size: 100), timeout: 1) }
            let wrapped = try takeBatch(ring, upTo: 10, "a 508-byte message placed at 0 after a padding length at byte 1016, then 100 bytes")
            if wrapped != [message(3, size: 508), message(4, size: 100)] {
                throw CheckFailure("the messages after the wrap point arrived wrong",
                                   expected: "the 508-byte message (at 0, after the padding length at 1016), then the 100-byte one",
                                   seen: "\(wrapped.count) message(s): \(wrapped.map { "\($0.count) bytes" }.joined(separator: ", "))",
                                   cause: "a length of RingLayout.padding means \"go on at 0\": the record is at the start of the data, and head moves past the skipped bytes too",
                                   look: releaseLook)
            }
            try requireEqual(headAt(memory), UInt64(1016 + 8 + 512 + 104), "head (byte 128) after the wrap",
                             cause: "head moves past the skipped bytes and each record", look: releaseLook)
            try attempt("send(message before close)", look: look("trySend(count:_:)")) { try ring.send(message(5, size: 40), timeout: 1) }
            ring.close()
            let last = try takeBatch(ring, upTo: 10, "a closed ring with one message left")
            try requireEqual(last, [message(5, size: 40)], "the message sent before close, read after it", look: releaseLook)
            do {
                let more = try ring.tryReceive(upTo: 10) { _ in }
                throw CheckFailure("tryReceive(upTo:_:) on a closed, drained ring returned \(more)",
                                   expected: "RingError.closed", seen: "\(more), no error",
                                   cause: "as tryReceive does: when the ring is empty and closed (tail loaded once more), throw RingError.closed",
                                   look: releaseLook)
            } catch let error as RingError {
                try requireEqual(error, .closed, "tryReceive(upTo:_:) on a closed, drained ring", look: releaseLook)
            }
        }

        // D. Two processes: a producer sends, this process reads in batches of 1 to 16.
        let (ring, memory) = try makeRing(R.self, 64 << 10)
        defer { labUnmap(memory) }
        let count = 100_000
        let stress = StressMessages()
        let (producer, started) = try forkProducer(count: count) { i in
            try attempt("send(message \(i), timeout: 20)", look: look("trySend(count:_:)")) { try ring.send(stress.message(i), timeout: 20) }
        }
        var next = 0, round = 0
        var bad: (index: Int, bytes: [UInt8])? = nil
        while next < count && bad == nil {
            let limit = 1 + (round &* 7) % 16
            round += 1
            let taken: Int
            do {
                taken = try ring.tryReceive(upTo: limit) { bytes in
                    if bad == nil && (next >= count || !stress.matches(bytes, next)) { bad = (next, Array(bytes)) }
                    next += 1
                }
            } catch {
                killAndReap([producer])
                throw CheckFailure("tryReceive(upTo: \(limit), _:) threw at message \(next) of \(count)", seen: "\(error)", look: releaseLook)
            }
            if taken == 0 && bad == nil {
                let got = try take(ring, timeout: 20, "message \(next) of \(count), when tryReceive(upTo:) found the ring empty")
                if got != stress.message(next) { bad = (next, got) }
                next += 1
            }
        }
        if let bad {
            killAndReap([producer])
            throw stress.wrong(bad.bytes, index: bad.index, of: count, ", read in batches of 1 to 16",
                               wrongPlace: "a record read from the wrong place: follow a padding length to 0, and move past the skipped bytes and each whole record (recordSize)",
                               lostOrRepeated: "a message lost or read twice: head must end past exactly the records handed to read",
                               look: releaseLook)
        }
        let seconds = try producerFinished(producer, started: started, look: look("trySend(count:_:)"))
        Console.out("head stayed put until the batch's last read returned; \(count) messages read in place in batches of 1-16 in \(secondsText(seconds)) (debug build): each once, in order, whole\n")
    }
}
