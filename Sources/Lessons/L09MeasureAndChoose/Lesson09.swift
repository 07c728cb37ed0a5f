/// Lesson 09: what it is, its parts and their hints. It measures the student's lessons 05
/// (queue), 06 (connection) and 08 (shared arrays); it adds no code of its own to write.
public enum Lesson09: LessonDeclaration {
    public static let info = LessonInfo(number: 9, slug: "measure-and-choose", title: "Measure and choose",
                                        defaultTimeout: 30, uses: [5, 6, 8])

    /// Part 1: the longest a message and its reply may take through two queues (µs, median).
    public static let queueRoundTripCeiling = 250.0
    /// Part 2: the waiting consumer's CPU time, as a fraction of the wall time.
    public static let consumerCPUCeiling = 0.05
    /// Part 3: MiB/s a simplex connection must carry in 1 MiB messages.
    public static let pipeFloorMiBs = 100.0
    /// Part 4: the shared array's bulk copies, as a fraction of memcpy's speed in the same run
    /// (best round of `copyRounds`, `copyBytes` each).
    public static let copyFraction = 0.5
    public static let copyBytes = 4 << 20
    public static let copyRounds = 9

    public static var parts: [Part<Implementations>] { [
        Part(1, "queue hand-off: a message and its reply through two of your queues in under 250 µs (lesson 05)",
             check: { lab, _ in try queueHandOff(lab.queue) }, hints: [
            "This part runs your lesson 05 SharedQueue: the part's process puts an 8-byte message on one queue, an echo process gets it and puts it back on a second queue, and the part gets the reply — 1,000 times. Every get finds its queue empty and must be woken by the other process's put.",
            "A raw pipe does this round trip in a few microseconds here, your queue in about the same when a put wakes the waiting get at once: pthread_cond_timedwait on notEmpty in get, pthread_cond_broadcast(notEmpty) in put.",
            "A get that naps (usleep) and looks again waits out its nap on every message: with a 1 ms nap, every round trip takes more than 1 ms, whatever the machine. Remove every fixed sleep from get and put.",
        ], ifTimedOut: "The echo process never got (or never returned) a message: is a waiting get woken by put (see lesson 05's part 2)?",
                 timeout: 30),
        Part(2, "a consumer waiting for messages that arrive every 20 ms uses under 5% of a CPU (lesson 05)",
             check: { lab, _ in try consumerSleeps(lab.queue) }, hints: [
            "Between messages your get has nothing to do for 20 ms. It must sleep in the kernel until a put wakes it: pthread_cond_timedwait(notEmpty, lock.address, &deadline), which releases the lock while asleep.",
            "A loop that calls get(timeout: 0), or checks the ring and calls sched_yield(), keeps a CPU busy the whole time: that is what this part measures (the consumer's CPU time, from getrusage, against the wall time).",
        ], ifTimedOut: "The consumer did not receive the 25 messages: is a waiting get woken by put (condition variables process-shared, put broadcasting notEmpty)?",
                 timeout: 30,
                 // The producer naps 20 ms between 25 messages and the consumer waits for each: about
                 // 0.5 s in which every process sleeps on purpose.
                 quietWindow: 5),
        Part(3, "pipe: 1 MiB messages through your Connection at ≥ 100 MiB/s (lesson 06)",
             check: { lab, _ in try pipeRate(lab.connection) }, hints: [
            "This part runs your lesson 06 Connection: a forked writer sends 32 messages of 1 MiB through a pipe, the part's process receives them. A raw pipe moves more than 1 GiB/s here; the floor is a tenth of that.",
            "Every write() is a system call (about a microsecond): writing one byte at a time costs a million system calls per MiB. Write the header and the payload with as few write() calls as possible — one per buffer, looping only over partial writes.",
            "The same when reading: read() into the whole remaining part of the message, not one byte (or 4 bytes) at a time.",
        ], ifTimedOut: "receive() did not return the messages: see lesson 06 (a read loop that never ends, or a missing end-of-file).",
                 timeout: 30),
        Part(4, "shared-array bulk copy of 4 MiB at ≥ half memcpy's speed, both ways (lesson 08)",
             check: { lab, _ in try copySpeed(lab.arrays) }, hints: [
            "This part runs your lesson 08 copy(_:into:) both ways on a 4 MiB Float64 array and times memcpy of the same size in the same run, in turns, 9 rounds (one, when a first round on 512 KiB shows a copy ten times below the floor). Your copies must reach at least half memcpy's speed (the best round of each is compared).",
            "The elements of the array and of the Swift array are contiguous on both sides: one bulk copy moves them all — values.withUnsafeBytes { ... copyMemory(from:) } or memcpy.",
            "A loop over the elements through setElement/element (or any per-element subscript) does an index computation and a bounds check per element: a hundred times slower than memcpy in a debug build.",
        ], timeout: 30),
    ] }
}
