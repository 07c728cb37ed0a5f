import Glibc
import Contracts

// Lesson 05 — reference solution.
//
// The block:
//   ┌──────────────────────── QueueHeader ─────────────────────────┬──────── ring ────────┐
//   │ notEmpty │ notFull │ head │ tail │ count │ closed            │ [len][bytes][len]…   │
//   └──────────────────────────────────────────────────────────────┴──────────────────────┘
// head and tail count bytes ever taken / ever written; a position in the ring is the counter
// modulo the ring's capacity, and tail - head bytes are in use. Every message is a 4-byte length
// followed by its bytes, and either may wrap from the end of the ring to its start.

/// The header at the start of the block. Only touched while holding the lock.
public struct QueueHeader {
    /// Getters wait here while the ring is empty.
    public var notEmpty: pthread_cond_t
    /// Putters wait here while there is no room.
    public var notFull: pthread_cond_t
    /// Bytes ever taken out: where the oldest message starts.
    public var head: UInt64
    /// Bytes ever written: where the next message goes. Publishing a message = moving tail.
    public var tail: UInt64
    /// Messages in the ring (approximate after a process died mid-put or mid-get).
    public var count: Int64
    /// Set by close(); never cleared.
    public var closed: Bool
}

/// How long a wait may last.
public enum QueueDeadline {
    case now
    case at(timespec)      // CLOCK_MONOTONIC, as the condition variables are told to use
    case never

    public init(timeout: Double) throws {
        guard timeout >= 0 else { throw QueueError.invalidTimeout(timeout) }   // also NaN
        if timeout == 0 { self = .now; return }
        if timeout.isInfinite { self = .never; return }
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        let whole = min(timeout.rounded(.down), 1e9)
        var nanoseconds = Int(now.tv_nsec) + Int((timeout - timeout.rounded(.down)) * 1e9)
        var seconds = Int(now.tv_sec) + Int(whole)
        if nanoseconds >= 1_000_000_000 { seconds += 1; nanoseconds -= 1_000_000_000 }
        self = .at(timespec(tv_sec: seconds, tv_nsec: nanoseconds))
    }
}

public struct SharedQueue: SharedQueueContract {
    public let lock: ProcessSharedMutex
    public let header: UnsafeMutablePointer<QueueHeader>
    public let ring: UnsafeMutableRawPointer
    public let capacity: Int

    /// Bytes of length prefix before every message.
    public static let prefix = MemoryLayout<UInt32>.size
    /// The header, rounded up so that the ring starts 8-aligned.
    public static let headerBytes = (MemoryLayout<QueueHeader>.stride + 7) / 8 * 8

    public init(creatingIn block: UnsafeMutableRawBufferPointer, lock: ProcessSharedMutex) throws {
        guard let base = block.baseAddress, Int(bitPattern: base) % 8 == 0 else {
            throw QueueError.misaligned(address: UInt(bitPattern: block.baseAddress))
        }
        let minimum = Self.headerBytes + Self.prefix + 8
        guard block.count >= minimum else { throw QueueError.blockTooSmall(bytes: block.count, minimum: minimum) }
        self.lock = lock
        header = base.bindMemory(to: QueueHeader.self, capacity: 1)
        ring = base + Self.headerBytes
        capacity = block.count - Self.headerBytes

        var attributes = pthread_condattr_t()
        pthread_condattr_init(&attributes)
        defer { pthread_condattr_destroy(&attributes) }
        // Waiters in other processes must be woken: the same reason as the mutex's PROCESS_SHARED.
        var rc = pthread_condattr_setpshared(&attributes, Int32(PTHREAD_PROCESS_SHARED))
        if rc != 0 { throw SystemError("pthread_condattr_setpshared", errno: rc) }
        // Deadlines on the monotonic clock: a wall-clock change cannot stretch or cut a wait.
        rc = pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
        if rc != 0 { throw SystemError("pthread_condattr_setclock", errno: rc) }
        rc = pthread_cond_init(notEmpty, &attributes)
        if rc != 0 { throw SystemError("pthread_cond_init", errno: rc) }
        rc = pthread_cond_init(notFull, &attributes)
        if rc != 0 { throw SystemError("pthread_cond_init", errno: rc) }
        header.pointee.head = 0
        header.pointee.tail = 0
        header.pointee.count = 0
        header.pointee.closed = false
    }

    public var notEmpty: UnsafeMutablePointer<pthread_cond_t> { header.pointer(to: \.notEmpty)! }
    public var notFull: UnsafeMutablePointer<pthread_cond_t> { header.pointer(to: \.notFull)! }

    public var maximumMessageSize: Int { capacity - Self.prefix }

    public func put(_ message: [UInt8], timeout: Double) throws {
        let deadline = try QueueDeadline(timeout: timeout)
        guard message.count <= maximumMessageSize else {
            throw QueueError.messageTooLarge(size: message.count, maximum: maximumMessageSize)
        }
        let needed = UInt64(Self.prefix + message.count)
        try lockQueue()
        defer { lock.unlock() }
        var timedOut = false
        while true {
            if header.pointee.closed { throw QueueError.closed }
            if UInt64(capacity) - (header.pointee.tail - header.pointee.head) >= needed { break }
            if timedOut { throw QueueError.full }
            timedOut = try !wait(on: notFull, until: deadline)
        }
        // Write the bytes first, then publish them by moving tail: a producer killed half-way
        // leaves bytes nobody can see, never half a message.
        let tail = header.pointee.tail
        var length = UInt32(message.count)
        withUnsafeBytes(of: &length) { copyIn($0, at: tail) }
        message.withUnsafeBytes { copyIn($0, at: tail + UInt64(Self.prefix)) }
        header.pointee.tail = tail + needed
        header.pointee.count += 1
        // Broadcast, not signal: several getters may be waiting, and wakes are cheap when nobody waits.
        pthread_cond_broadcast(notEmpty)
    }

    public func get(timeout: Double) throws -> [UInt8] {
        let deadline = try QueueDeadline(timeout: timeout)
        try lockQueue()
        defer { lock.unlock() }
        var timedOut = false
        while header.pointee.tail == header.pointee.head {      // messages first: close drains
            if header.pointee.closed { throw QueueError.closed }
            if timedOut { throw QueueError.empty }
            timedOut = try !wait(on: notEmpty, until: deadline)
        }
        let head = header.pointee.head
        var length: UInt32 = 0
        withUnsafeMutableBytes(of: &length) { copyOut($0, from: head) }
        let message = [UInt8](unsafeUninitializedCapacity: Int(length)) { buffer, initialized in
            copyOut(UnsafeMutableRawBufferPointer(buffer), from: head + UInt64(Self.prefix))
            initialized = Int(length)
        }
        header.pointee.head = head + UInt64(Self.prefix) + UInt64(length)   // the message is taken
        header.pointee.count = max(0, header.pointee.count - 1)
        // Broadcast: the room freed may fit several waiting putters (messages vary in size), and
        // a signal could wake one whose message still does not fit while another's would.
        pthread_cond_broadcast(notFull)
        return message
    }

    public func close() throws {
        try lockQueue()
        defer { lock.unlock() }
        header.pointee.closed = true
        pthread_cond_broadcast(notEmpty)   // every waiter must see it, not just one
        pthread_cond_broadcast(notFull)
    }

    public var approximateCount: Int {
        guard (try? lockQueue()) != nil else { return 0 }
        defer { lock.unlock() }
        return Int(header.pointee.count)
    }

    // MARK: - Locking and waiting

    /// Takes the lab's robust lock. When its holder had died, the header is still consistent
    /// (a put or get publishes with one store), but a wake-up may have been lost: wake everyone
    /// so they re-check.
    public func lockQueue() throws {
        if try lock.lock() { wakeEveryone() }
    }

    public func wakeEveryone() {
        pthread_cond_broadcast(notEmpty)
        pthread_cond_broadcast(notFull)
    }

    /// Waits on `condition` (releasing the lock while asleep). False when the deadline passed.
    public func wait(on condition: UnsafeMutablePointer<pthread_cond_t>, until deadline: QueueDeadline) throws -> Bool {
        let rc: Int32
        switch deadline {
        case .now: return false
        case .never: rc = pthread_cond_wait(condition, lock.address)
        case .at(var time): rc = pthread_cond_timedwait(condition, lock.address, &time)
        }
        switch rc {
        case 0:
            return true
        case ETIMEDOUT:
            return false
        case EOWNERDEAD:
            // We hold the lock again, but its last holder died holding it: make it consistent
            // (or the next unlock makes it unusable for every process) and let everyone re-check.
            pthread_mutex_consistent(lock.address)
            wakeEveryone()
            return true
        default:
            throw SystemError("pthread_cond_timedwait", errno: rc)
        }
    }

    // MARK: - The ring

    /// Copies `bytes` into the ring at byte counter `position`, wrapping past the end to the start.
    public func copyIn(_ bytes: UnsafeRawBufferPointer, at position: UInt64) {
        guard let source = bytes.baseAddress, bytes.count > 0 else { return }
        let start = Int(position % UInt64(capacity))
        let first = min(bytes.count, capacity - start)
        (ring + start).copyMemory(from: source, byteCount: first)
        if first < bytes.count {                               // the rest goes to the ring's start
            ring.copyMemory(from: source + first, byteCount: bytes.count - first)
        }
    }

    /// Copies `bytes.count` bytes out of the ring from byte counter `position`, wrapping likewise.
    public func copyOut(_ bytes: UnsafeMutableRawBufferPointer, from position: UInt64) {
        guard let target = bytes.baseAddress, bytes.count > 0 else { return }
        let start = Int(position % UInt64(capacity))
        let first = min(bytes.count, capacity - start)
        target.copyMemory(from: ring + start, byteCount: first)
        if first < bytes.count {
            (target + first).copyMemory(from: ring, byteCount: bytes.count - first)
        }
    }
}
