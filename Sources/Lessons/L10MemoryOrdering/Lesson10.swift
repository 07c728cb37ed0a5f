/// Lesson 10: what it is, its parts and their hints.
public enum Lesson10: LessonDeclaration {
    public static let info = LessonInfo(number: 10, slug: "memory-ordering",
                                        title: "Memory ordering and a lock-free ring", defaultTimeout: 30)

    /// The flag, the seqlock and the ring, one implementation each; and lesson 05's reference
    /// queue, which the bench sets beside the ring (the same for the exercise, the reference and
    /// every mutant).
    public typealias Implementations = (publication: any PublicationContract.Type, seqlock: any SeqlockContract.Type,
                                        ring: any SPSCRingContract.Type, queue: any SharedQueueContract.Type)

    /// The programs this lesson's checks start as unrelated processes (`lab __peer 10 NAME …`).
    public static var peers: [Peer<Implementations>] { [
        Peer("bench") { lab, arguments in try RingBench.run(lab.ring, queue: lab.queue, arguments) },
    ] }

    static let notWoken = "A receive asleep on an empty ring was never woken. send must look at the sleeping word after it publishes tail (with a sequentially consistent fence between), bump the wake word and Futex.wake it; close must do the same."

    public static var parts: [Part<Implementations>] { [
        Part(1, "a payload published with a releasing store is seen whole by a reader in another process",
             check: { lab, context in try publicationSeenWhole(lab.publication, context) }, hints: [
            "Bind the flag: let flag = base.bindMemory(to: Atomic<UInt32>.self, capacity: 1). publish hands write the bytes from base + 64, stores the length at byte 8, and sets the flag last.",
            "The order is the whole point: write(payload) and the length first, then flag.pointee.store(1, ordering: .releasing). read: flag.pointee.load(ordering: .acquiring) == 1, then copy the payload.",
            "The lab stops the writer half-way through write and looks: if the flag is already set then, a reader takes half a payload. .relaxed instead of .releasing/.acquiring passes here on x86 but not on arm64 — read the lesson.",
        ]),
        Part(2, "a seqlock: readers in three processes never see a torn record, while the writer never waits",
             check: { lab, context in try seqlockNeverTorn(lab.seqlock, context) }, hints: [
            "The sequence is an Atomic<UInt64> at byte 0, the words from byte 64. write: sequence + 1 (odd), atomicMemoryFence(ordering: .releasing), update the words, sequence + 1 again with .releasing (even).",
            "read: load the sequence (.acquiring); if it is odd, a write is under way: try again. Copy the words, atomicMemoryFence(ordering: .acquiring), load the sequence again: only if it is the same even value is the copy whole. Otherwise loop.",
            "The lab's writer pauses in the middle of its update: a read that does not compare the two sequence values returns half of the old record and half of the new.",
        ]),
        Part(3, "the ring's header: magic, capacity, tail on line 1, head on line 2, records of a length and the bytes",
             check: { lab, context in try ringHeaderLayout(lab.ring, context) }, hints: [
            "Follow RingLayout in the contract: magic (UInt64, little-endian) at 0, capacity at 8, closed (UInt32) at 16, tail (bytes ever published) at 64, head (bytes ever consumed) at 128, the wake word at 192, sleeping at 196, data at 256.",
            "Tail and head count bytes, for ever (they never wrap): the record of a message starts at data + tail % capacity and takes RingLayout.recordSize(count) bytes: a 4-byte little-endian length and the bytes, padded to 8.",
            "Nothing else goes on tail's line (bytes 64-127) or head's line (128-191): the producer writes one, the consumer the other, and two writers on one cache line make it bounce between the CPUs on every message (false sharing).",
        ]),
        Part(4, "every message arrives once, in order and whole: a reader looking mid-copy, then 500,000 messages between two processes",
             check: { lab, context in try everyMessageOnceInOrder(lab.ring, context) }, hints: [
            "trySend: load your own tail (.relaxed), compute the room from your cached head; only when that says full, load head again (.acquiring). Write the length and call write(…) with exactly count bytes of the ring, then tail.store(tail + record, ordering: .releasing).",
            "The release store of tail is the publication: it must come after every byte of the record. The lab stops inside your write callback and looks: a tail moved before the copy hands the consumer half a message.",
            "tryReceive: when head equals your cached tail, load tail again (.acquiring); still equal: empty. Copy the record out, then head.store(head + record, ordering: .releasing) — after the copy, or the producer may overwrite what you are still reading.",
        ], ifTimedOut: "The consumer waited for a message it never saw. Either tryReceive answers \"empty\" from its cached copy of tail without loading tail again (.acquiring) when the copy says empty, or send never wakes a sleeping receive (see part 6).",
                 timeout: 90),
        Part(5, "every size from 0 bytes to the maximum, across the wrap point; full exactly when the record and the skipped bytes do not fit",
             check: { lab, context in try sizesAcrossTheWrap(lab.ring, context) }, hints: [
            "A record never wraps. When it does not fit between tail % capacity and the end of the data, write RingLayout.padding as the length there and put the record at 0: the record needs (capacity - position) + recordSize bytes of room, and tail moves by both.",
            "The consumer follows the padding: a length of RingLayout.padding means \"go on at 0\", and head moves past the skipped bytes too.",
            "maximumMessageSize is capacity / 2 - 4: wherever the indices stand, a record of half the capacity fits either before the end or after the wrap. A longer message throws RingError.messageTooLarge at once.",
        ]),
        Part(6, "a receive on an empty ring sleeps (under 5% of a CPU) and each send wakes it within 1 s",
             check: { lab, context in try sleepingReceiveWakes(lab.ring, context) }, hints: [
            "When the ring is empty, receive must sleep in the kernel: Futex.wait(wakeWord, expected: seen, timeout: left), where seen is the wake word read before you looked for a message one last time.",
            "The race: the consumer finds the ring empty, the producer publishes and sees nobody asleep, the consumer falls asleep — for ever. Announce first (sleeping = 1), fence (.sequentiallyConsistent), look again (tryReceive), then wait; the producer publishes tail, fences, and wakes when sleeping is 1 (bumping the wake word first, so a wait that has not started yet returns at once).",
            "Decide whether to wake from the block's sleeping word, never from your cached head: a cached index is allowed to be stale (that is what makes it cheap), and a stale one says \"the consumer still has messages\" when it is asleep.",
        ], ifTimedOut: notWoken, timeout: 40, quietWindow: 4),
        Part(7, "close wakes a sleeping receive; the messages left are drained, then closed",
             check: { lab, context in try closeWakesAndDrains(lab.ring, context) }, hints: [
            "close: closed = 1 (.releasing), a sequentially consistent fence, bump the wake word, Futex.wake it: a consumer asleep in receive must wake and see closed.",
            "tryReceive looks for a message first and at closed second; after seeing closed, load tail once more (a message sent just before close) before throwing RingError.closed. trySend throws closed at once.",
        ], ifTimedOut: notWoken, quietWindow: 3),
        Part(8, "a producer killed in the middle of a send leaves the ring usable: nothing half-written arrives, a new producer carries on past the wrap",
             check: { lab, context in try killedProducerLeavesRingUsable(lab.ring, context) }, hints: [
            "Nothing to recover if nothing is visible before it is whole: the record's bytes first, tail last. A producer that dies in between leaves bytes nobody will ever read.",
            "The next producer is a new process that was forked from the one that made the ring: read tail from the block in trySend (you are its only writer, so .relaxed), not from a copy kept in your object.",
        ]),
        Part(9, "Python reads the ring's header and the oldest message through SharedMemory (standard library only)",
             check: { lab, context in try pythonReadsRing(lab.ring, context) }, hints: [
            "Python reads struct.unpack_from('<8sQ', buf, 0) for the magic and the capacity, '<Q' at 64 for tail and at 128 for head, then the record at 256 + head % capacity: '<I' length and the bytes.",
            "The magic is the 8 bytes \"SHMRING1\": store RingLayout.magic.littleEndian at byte 0. Head must be the bytes consumed so far, not a count of messages.",
        ]),
        Part(10, "false sharing, measured: two processes' counters on one cache line against a line each",
             check: { lab, context in try falseSharingMeasured(lab.ring, context) }, graded: false, hints: [
            "Nothing more to write (it runs once your ring sends and receives a message): this part measures what the ring's layout avoids. Read the ratio it prints, and the lesson's section on cache lines.",
        ]),
        Part(11, "batched publication: a batch is invisible until its last message is written, then published with one store of tail; what fits across the wrap; a sleeping receive woken",
             check: { lab, context in try batchedPublication(lab.ring, context) }, hints: [
            "trySend(batch:_:) is trySend for several messages with the publication moved out of the loop: load tail once (.relaxed), then for each count: room? (from your cached head, the skipped bytes counted; reload head .acquiring only when it says full) → padding, length, write(i, bytes) — and carry the unpublished tail to the next message.",
            "After the loop, and only if something was written: ONE tail.store(end, ordering: .releasing), then the same wake-up as trySend (a .sequentiallyConsistent fence, and when sleeping is 1: exchange it to 0, bump the wake word, Futex.wake). Return how many were written — fewer than asked when the ring filled up.",
            "The lab stops your producer inside write for the batch's last message and looks at tail: a tail stored inside the loop (or a loop over trySend) shows the consumer half a batch. Check every count against maximumMessageSize before writing anything.",
        ], ifTimedOut: notWoken, timeout: 60),
        Part(12, "batched release: messages read in place, at most the limit, across the wrap; head stored once, after the last read",
             check: { lab, context in try batchedRelease(lab.ring, context) }, hints: [
            "tryReceive(upTo:_:) is tryReceive for several records without the copy: load head (.relaxed); when it equals your cached tail, load tail again (.acquiring) — empty: return 0 (or throw closed, as tryReceive does). Then walk the records from head towards the cached tail, at most limit of them, following a padding length to 0, handing each read(UnsafeRawBufferPointer(start: data + position + 4, count: length)).",
            "Carry the new head in a local variable while you walk; after the loop, ONE head.store(newHead, ordering: .releasing). read gets the bytes in the ring itself: until head moves past them, the producer cannot write there, so the store must come after the last read returns.",
            "The lab stops inside read for the batch's last message and looks at head from another process: a head stored per message (or for the whole batch before the reads) shows there. Return how many you handed to read.",
        ], ifTimedOut: "The consumer waited for a message it never saw: tryReceive(upTo:) must load tail again (.acquiring) when head equals its cached copy, and move head past every record it read.",
                 timeout: 60),
    ] }
}
