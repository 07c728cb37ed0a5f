import Glibc

// Lesson 10 — memory ordering and a lock-free ring. Three things, each in a zero-filled block
// shared with the processes forked afterwards: a payload published with a flag, a seqlock, and a
// single-producer single-consumer ring of variable-length messages.
//
// Every promise in these doc comments is a row of the lesson's clause table: the part that checks
// it and the mistakes that prove the part does (the lesson text, "What the parts prove", shows
// it; four promises no part can check are listed there with the reason).

/// What lesson 10's ring throws: the ordinary outcomes (empty, full, closed) and bad input.
public enum RingError: Error, Equatable {
    /// `receive` timed out: there was no message.
    case empty
    /// `send` timed out: there was no room.
    case full
    /// A send after `close`; a receive after `close` once every message left has been taken.
    case closed
    /// A message longer than `maximumMessageSize` (it could never fit).
    case messageTooLarge(size: Int, maximum: Int)
    /// A block too small for the header and a useful ring.
    case blockTooSmall(bytes: Int, minimum: Int)
    /// A block whose start is not 64-aligned (the header's lines must be cache lines).
    case misaligned(address: UInt)
    /// A timeout that is negative or not a number.
    case invalidTimeout(Double)
}

/// The ring's header, fixed so that another process (Python, part 9) can read it. All integers
/// are little-endian; offsets are bytes from the start of the block.
///
/// ```text
/// line 0   0  magic "SHMRING1" (UInt64)   8  capacity (UInt64)   16  closed (UInt32)
/// line 1  64  tail: bytes ever published (UInt64) — written by the producer only
/// line 2 128  head: bytes ever consumed  (UInt64) — written by the consumer only
/// line 3 192  wake word (UInt32, a futex)   196  sleeping (UInt32)
///        256  the data: `capacity` bytes of records
/// ```
///
/// A record is a 4-byte length and the message, padded to a multiple of 8; it never wraps. When
/// a record does not fit before the end of the data, the producer writes the length
/// `RingLayout.padding` there and the record starts again at 0 (the skipped bytes count in tail).
/// A record of `n` bytes starts at `data + tail % capacity`.
public enum RingLayout {
    /// "SHMRING1" read as a little-endian UInt64.
    public static let magic: UInt64 = 0x3147_4E49_524D_4853
    public static let magicOffset = 0
    public static let capacityOffset = 8
    public static let closedOffset = 16
    public static let tailOffset = 64
    public static let headOffset = 128
    public static let wakeOffset = 192
    public static let sleepingOffset = 196
    public static let dataOffset = 256
    /// The length word that says "the rest of the data is padding: go on at 0".
    public static let padding: UInt32 = 0xFFFF_FFFF
    /// The bytes of data a block of `bytes` holds: what is left after the header, rounded down to a
    /// multiple of 16 (so that half of it is a multiple of 8).
    public static func capacity(forBlockOf bytes: Int) -> Int { max(0, (bytes - dataOffset) & ~15) }
    /// The room one message of `count` bytes takes: its length word and the bytes, padded to 8.
    public static func recordSize(_ count: Int) -> Int { (4 + count + 7) & ~7 }
}

/// Part 1 — a payload published with a flag.
///
/// The block: the flag (a `UInt32` used as `Atomic<UInt32>`) at byte 0, the payload's length (a
/// `UInt64`) at byte 8, the payload from byte 64. One process publishes once; readers in other
/// processes look for the flag.
public protocol PublicationContract {
    /// Uses `block` (zero-filled, 64-aligned, shared) for one publication.
    init(over block: UnsafeMutableRawBufferPointer)

    /// Writes the payload — `write` is handed the `count` bytes from byte 64 to fill — and its
    /// length, then sets the flag to 1 with a releasing store: everything written before is
    /// visible to whoever sees the flag with an acquiring load.
    func publish(count: Int, _ write: (UnsafeMutableRawBufferPointer) -> Void)

    /// nil while the flag is 0 (an acquiring load); otherwise a copy of the payload.
    func read() -> [UInt8]?
}

/// Part 2 — a seqlock: one writer updates a record of several words; many readers copy it
/// without a lock and without ever blocking the writer.
///
/// The block: the sequence (`UInt64`, as `Atomic<UInt64>`) at byte 0, the record's words from
/// byte 64. The sequence is odd while a write is in progress.
public protocol SeqlockContract {
    /// A record of `words` UInt64 words in `block` (zero-filled, 64-aligned, shared).
    init(over block: UnsafeMutableRawBufferPointer, words: Int)

    /// The single writer: makes the sequence odd, lets `update` change the words in place, makes
    /// it even again (releasing).
    func write(_ update: (UnsafeMutableBufferPointer<UInt64>) -> Void)

    /// Any process: a copy of the words as they were between two writes — never half of one write
    /// and half of another. Retries while a write is in progress or happened during the copy.
    func read() -> [UInt64]
}

/// Parts 3–9, 11 and 12 — a single-producer single-consumer ring of byte messages in a shared
/// block, without a lock: the producer alone moves tail, the consumer alone moves head. Each side
/// caches the other's index (it loads it again only when its copy says full or empty), and each
/// can publish a batch with one store of its index: the producer a batch of messages
/// (`trySend(batch:_:)`), the consumer the room of a batch of messages it read in place
/// (`tryReceive(upTo:_:)`).
///
/// The lab makes the ring in one process and forks the producer and the consumer afterwards:
/// each process has its own copy of the object (its own cached indices), and the block is
/// shared. Exactly one process sends and one receives at a time.
public protocol SPSCRingContract: AnyObject {
    /// Lays out a new, empty ring in `block` (zero-filled, shared) as `RingLayout` says. Throws
    /// `misaligned` unless the block is 64-aligned, and `blockTooSmall` below
    /// `RingLayout.dataOffset + 64` bytes.
    init(creatingIn block: UnsafeMutableRawBufferPointer) throws

    /// Bytes of data: `RingLayout.capacity(forBlockOf:)`.
    var capacity: Int { get }

    /// The longest message that always fits in the empty ring, wherever its indices stand: half
    /// the capacity less the 4-byte length (a record never wraps).
    var maximumMessageSize: Int { get }

    /// Producer only. When there is room for a `count`-byte message now, hands `write` exactly
    /// the `count` bytes of the ring to fill, then publishes the record (a releasing store of
    /// tail) and wakes the consumer if it sleeps; returns true. Returns false when the ring is
    /// full. Throws `closed` after `close`, `messageTooLarge` for a message that can never fit.
    /// The corresponding C call for the wake-up is `syscall(SYS_futex, …, FUTEX_WAKE, …)`
    /// (`Futex.wake`).
    func trySend(count: Int, _ write: (UnsafeMutableRawBufferPointer) -> Void) throws -> Bool

    /// Producer only — batched publication. Writes the messages `counts` describes, in order, as
    /// many as fit now: `write(i, bytes)` is handed exactly message i's `counts[i]` bytes of the
    /// ring to fill (a record never wraps; the bytes skipped at the end count, as in `trySend`).
    /// Then publishes all of them with ONE releasing store of tail, after the last one is written,
    /// and wakes the consumer if it sleeps: one fence and one look at the sleeping word for the
    /// batch, not one per message. The consumer sees none of the batch before that store, and all
    /// of it after. Returns how many messages were written and published: 0 when the first does not
    /// fit (or `counts` is empty). Throws `closed` after `close`, `messageTooLarge` for a message
    /// that can never fit — before writing anything.
    func trySend(batch counts: [Int], _ write: (_ index: Int, _ bytes: UnsafeMutableRawBufferPointer) -> Void) throws -> Int

    /// Consumer only. The oldest message, or nil when the ring is empty now. Throws `closed` once
    /// the ring is closed and drained.
    func tryReceive() throws -> [UInt8]?

    /// Consumer only — batched release. Hands up to `limit` of the oldest messages to `read`, in
    /// order, each as its bytes in the ring itself (no copy: valid only during that call of
    /// `read`), then releases all of them with ONE releasing store of head, after the last `read`
    /// has returned: the producer may reuse none of their bytes before. Returns how many: 0 when
    /// the ring is empty now (it does not wait) or `limit` is below 1. Throws `closed` once the
    /// ring is closed and drained.
    func tryReceive(upTo limit: Int, _ read: (UnsafeRawBufferPointer) -> Void) throws -> Int

    /// Consumer only. The oldest message, waiting up to `timeout` seconds for one (`.infinity`: as
    /// long as it takes) — asleep in the kernel, not spinning. Throws `empty` when the time is up,
    /// `closed` once closed and drained, `invalidTimeout` for a negative or NaN timeout. The
    /// corresponding C call is `syscall(SYS_futex, …, FUTEX_WAIT, …)` (`Futex.wait`).
    func receive(timeout: Double) throws -> [UInt8]

    /// Either side: marks the ring closed and wakes a sleeping consumer. Closing twice is harmless.
    func close()
}

extension SPSCRingContract {
    /// Sends `message` (copied into the ring), retrying while the ring is full: spins a little,
    /// then yields the CPU, then naps 50 µs between tries, for at most `timeout` seconds; throws
    /// `full` when the time is up. Given: the lesson is about the consumer's sleep, not the
    /// producer's. The corresponding C functions are `sched_yield` and `usleep`.
    public func send(_ message: [UInt8], timeout: Double) throws {
        guard timeout >= 0 else { throw RingError.invalidTimeout(timeout) }
        var full = FullRingWait(timeout: timeout)
        while try !trySend(count: message.count, { ring in message.withUnsafeBytes { ring.copyMemory(from: $0) } }) {
            try full.wait()
        }
    }

    /// Sends every message of `messages` (copied into the ring), in order, with
    /// `trySend(batch:_:)`: each call publishes as many as fit with one store of tail; the rest are
    /// retried while the ring is full, as `send(_:timeout:)` does; throws `full` when no room
    /// appeared for `timeout` seconds (the messages before were sent). Given, like `send`.
    public func send(batch messages: [[UInt8]], timeout: Double) throws {
        guard timeout >= 0 else { throw RingError.invalidTimeout(timeout) }
        var counts = messages.map { $0.count }
        var sent = 0
        var full = FullRingWait(timeout: timeout)
        while sent < messages.count {
            let first = sent
            let written = try trySend(batch: counts) { index, ring in
                messages[first + index].withUnsafeBytes { ring.copyMemory(from: $0) }
            }
            if written > 0 {
                sent += written
                if sent < messages.count { counts.removeFirst(written) }
                full = FullRingWait(timeout: timeout)          // room appeared: a new wait next time
                continue
            }
            try full.wait()
        }
    }
}

/// How `send` and `send(batch:)` wait while the ring is full: the first 63 tries again at once,
/// then each yields the CPU (`sched_yield`; from the 1024th try a nap of 50 µs, `usleep`), and
/// `RingError.full` once `timeout` seconds have passed since the 64th try (the clock is read
/// every 64 tries).
struct FullRingWait {
    let timeout: Double
    private var tries = 0
    private var deadline = 0.0

    init(timeout: Double) { self.timeout = timeout }

    /// A try found the ring full: waits before the next one, or throws `full` when the time is up.
    mutating func wait() throws {
        tries += 1
        if tries == 64 { deadline = Self.now() + timeout }
        if tries < 64 { return }
        if tries & 63 == 0 && Self.now() > deadline { throw RingError.full }
        if tries < 1024 { sched_yield() } else { usleep(50) }
    }

    /// Seconds on the monotonic clock (`clock_gettime(CLOCK_MONOTONIC)`).
    private static func now() -> Double {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
    }
}
