/// Lesson 05's promises — the contract's doc comments (Sources/Contracts/L05Queues) and the lesson
/// text (Exercises/05-queues/README.md) — each with the parts that check it and the mutants that
/// prove those parts fail when it is broken.
extension Lesson05 {
    public static var clauses: [Clause] { [
        // init and the block.
        Clause("a block whose start is not 8-aligned throws QueueError.misaligned(address:) with that address",
               in: "init(creatingIn:lock:); QueueError.misaligned", parts: [1], mutants: ["aligns-instead-of-refusing"]),
        Clause("a block too small throws blockTooSmall(bytes:minimum:) with its size; the minimum it names is exact: one byte less is refused, the minimum itself carries a message",
               in: "init(creatingIn:lock:); QueueError.blockTooSmall", parts: [1], mutants: ["block-minimum-off-by-one"]),
        Clause("init lays out a new, empty, open queue whatever the block held: bytes that are not zero, a block reused after a closed queue with messages",
               in: "init(creatingIn:lock:)", parts: [1], mutants: ["init-assumes-zeroed"]),
        Clause("the condition variables are process-shared: a put in one process wakes a getter in another",
               in: "init(creatingIn:lock:); text: Process-shared", parts: [2], mutants: ["conditions-not-process-shared"]),

        // put and get: order, counts, bytes.
        Clause("get returns the oldest message, exactly the bytes put: a producer process's 0…9 arrive as 0…9",
               in: "get(timeout:); text: part 1", parts: [1, 4], mutants: ["unlocked-copy-out", "wrap-around-loss"]),
        Clause("approximateCount is the message count: 10 after 10 puts, 0 after 10 gets, the number stored in a full queue",
               in: "approximateCount", parts: [1, 3], mutants: ["count-never-decremented", "init-assumes-zeroed"]),
        Clause("3 producer and 2 consumer processes × 20,000 messages: each message exactly once, intact, each producer's in order",
               in: "SharedQueueContract; text: part 4", parts: [4], mutants: ["unlocked-copy-out", "put-unlocked", "wrap-around-loss"]),
        Clause("every size from 0 bytes to maximumMessageSize goes through, with the ring's wrap-around point in the length, in the bytes and between them; two at once",
               in: "put(_:timeout:), get(timeout:); text: part 5", parts: [5], mutants: ["wrap-around-loss", "maximum-ignores-prefix"]),
        Clause("maximumMessageSize is what the empty ring holds (capacity − 4): a message of that size fits",
               in: "maximumMessageSize", parts: [5], mutants: ["maximum-ignores-prefix"]),
        Clause("a message longer than maximumMessageSize throws messageTooLarge(size:maximum:) at once, also with a timeout",
               in: "put(_:timeout:); QueueError.messageTooLarge", parts: [5], mutants: ["no-size-check"]),

        // Waiting.
        Clause("a get on an empty queue sleeps — no CPU, no naps — until a put wakes it",
               in: "get(timeout:): \"A blocked get sleeps\"", parts: [2], mutants: ["busy-wait-get", "napping-get"]),
        Clause("a put wakes every getter that may act (broadcast); a get that made room for two waiting putters wakes both",
               in: "text: Broadcast, not signal", parts: [2], mutants: ["signal-not-broadcast"]),
        Clause("a woken getter looks again: one put to two sleeping consumers makes exactly one return",
               in: "text: Wait in a loop", parts: [2], mutants: ["wait-with-if"]),
        Clause("get(timeout: 0.3) on an empty queue throws empty after about 0.3 s; put(timeout: 0.3) on a full one throws full after about 0.3 s (absolute deadlines on the condition variable's clock)",
               in: "put(_:timeout:), get(timeout:); text: Deadlines are absolute", parts: [3], mutants: ["relative-cond-deadline", "clock-mismatch"]),
        Clause("timeout 0 never waits: empty, or full, at once",
               in: "put(_:timeout:), get(timeout:)", parts: [3], mutants: ["relative-cond-deadline"]),
        Clause("a negative or NaN timeout throws invalidTimeout, in put and in get",
               in: "put(_:timeout:), get(timeout:); QueueError.invalidTimeout", parts: [3], mutants: ["nan-timeout-accepted"]),
        Clause("timeout .infinity waits as long as it takes, in get and in put, and never traps",
               in: "put(_:timeout:)", parts: [3], mutants: ["infinite-timeout-traps"]),
        Clause("a fractional timeout (5.999 s) waits for its event: the deadline's nanoseconds carry into seconds",
               in: "text: Deadlines are absolute", parts: [3], mutants: ["deadline-no-carry"]),

        // close.
        Clause("close wakes every consumer asleep in get (all three throw closed) and a producer asleep in put",
               in: "close()", parts: [6], mutants: ["close-without-wake", "signal-not-broadcast"]),
        Clause("after close, put throws closed — also into a full queue, with timeout 0",
               in: "close(); put(_:timeout:)", parts: [6], mutants: ["full-before-closed"]),
        Clause("after close, get returns the messages still queued, then throws closed at once — also with timeout 0",
               in: "close(); get(timeout:); text: Closing", parts: [6], mutants: ["no-drain-on-close", "empty-before-closed"]),
        Clause("closing twice is harmless",
               in: "close()", parts: [6], mutants: ["close-twice-throws"]),

        // A dead lock holder.
        Clause("a producer killed holding the lock inside put leaves every message it finished, intact and in order, and the queue serves new processes",
               in: "text: When a process dies holding the lock", parts: [7], mutants: ["reset-on-owner-death"]),
        Clause("pthread_cond_timedwait returning EOWNERDEAD is recovered from (pthread_mutex_consistent): the waiting get ends with empty and the queue works on",
               in: "text: When a process dies holding the lock", parts: [7], mutants: ["owner-dead-in-wait-ignored", "owner-dead-in-wait-not-consistent"]),
        Clause("a producer killed between writing the bytes and moving tail leaves no half message (publish last)",
               in: "text: publish last", notCheckable: "the window is a few instructions inside put while the lock is held: the part stops the producer whenever it holds the lock (SIGSTOP), but cannot stop it at that exact point without a hook inside the student's put, so a publish-first mistake is caught only on the runs where the stop lands there"),
        Clause("a process killed while it waits inside pthread_cond_wait does not wedge the queue",
               in: "text: What this queue does not survive", notCheckable: "the lesson says it is not covered: with glibc before 2.41 a later pthread_cond_broadcast can block for ever on the dead waiter, whatever the student writes"),
        Clause("approximateCount is read under the lock",
               in: "approximateCount", notCheckable: "an unlocked read of one aligned 8-byte field returns a value that was true at some instant, which is all the contract promises: no result can tell the two apart"),
    ] }
}
