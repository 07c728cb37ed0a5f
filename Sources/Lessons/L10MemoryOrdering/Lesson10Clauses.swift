/// Lesson 10's clause table: every promise of the contract (`Lesson10Contract.swift`) and of the
/// lesson text → the parts that check it → the mutants that prove those parts fail when it is
/// broken. Four promises no part can check (three of them because x86-64 cannot show them) say why instead.
extension Lesson10 {
    public static var clauses: [Clause] { [
        // The flag (part 1).
        Clause("a reader that sees the flag sees every payload byte written before it",
               in: "PublicationContract.publish(count:_:)", parts: [1], mutants: ["flag-before-payload"]),
        Clause("read() is nil until the flag is set", in: "PublicationContract.read()", parts: [1], mutants: ["read-ignores-flag"]),
        Clause("read() returns exactly the payload published, its length from byte 8",
               in: "PublicationContract.read()", parts: [1], mutants: ["publish-without-length"]),
        Clause("the flag is stored .releasing and loaded .acquiring, not .relaxed", in: "text: Publication: release and acquire",
               notCheckable: "x86-64 keeps stores in order with stores and loads with loads, so .relaxed compiles to the same mov and no run here can show a reader seeing the flag before the payload; on arm64 one could"),
        // The seqlock (part 2).
        Clause("read never returns a record torn between two writes, with readers in three processes",
               in: "SeqlockContract.read()", parts: [2],
               mutants: ["torn-seqlock-read", "seqlock-no-recheck", "seqlock-odd-accepted", "sequence-bumped-once"]),
        Clause("the writer's words are fenced after the odd sequence and the reader's copy before the second sequence load",
               in: "text: A seqlock",
               notCheckable: "x86-64 does not reorder loads with loads or stores with stores, so a missing fence changes no run here (it would on arm64)"),
        // The ring's header (parts 3 and 9).
        Clause("a misaligned block is refused with RingError.misaligned, a small one with blockTooSmall",
               in: "SPSCRingContract.init(creatingIn:)", parts: [3], mutants: ["no-alignment-check"]),
        Clause("the header is RingLayout: magic, capacity, tail at 64 and head at 128 on lines of their own",
               in: "RingLayout", parts: [3, 9], mutants: ["indices-on-one-cache-line", "no-magic"]),
        Clause("tail and head count bytes of records: a 4-byte length and the message, padded to 8",
               in: "RingLayout", parts: [3, 9], mutants: ["records-not-padded"]),
        Clause("maximumMessageSize is half the capacity less 4; a longer message throws messageTooLarge at once",
               in: "SPSCRingContract.maximumMessageSize", parts: [3, 5], mutants: ["maximum-is-capacity"]),
        // Delivery (parts 4, 5, 8).
        Clause("a message is visible to the consumer only once every byte of it is written",
               in: "SPSCRingContract.trySend(count:_:)", parts: [4, 8], mutants: ["publish-before-copy"]),
        Clause("every message arrives once, in order and whole, across half a million messages",
               in: "SPSCRingContract.tryReceive()", parts: [4], mutants: ["missed-wrap", "tail-never-reloaded"]),
        Clause("a record never wraps: a padding length and the record at 0, the skipped bytes counted in tail and head",
               in: "RingLayout", parts: [5], mutants: ["missed-wrap", "padding-not-followed"]),
        Clause("trySend returns false when the record and the bytes skipped to the end do not fit",
               in: "SPSCRingContract.trySend(count:_:)", parts: [5], mutants: ["room-check-forgets-padding"]),
        // Sleeping and waking (part 6).
        Clause("a receive on an empty ring sleeps: under 5% of a CPU",
               in: "SPSCRingContract.receive(timeout:)", parts: [6], mutants: ["busy-wait-receive"]),
        Clause("each send wakes a receive asleep on an empty ring within 1 s",
               in: "SPSCRingContract.trySend(count:_:)", parts: [6], mutants: ["lost-wake-up", "sleeping-never-set"]),
        Clause("publish-then-look-for-a-sleeper and announce-then-look-for-a-message are fenced sequentially consistent on both sides",
               in: "text: Sleeping: a futex, and the lost wake-up",
               notCheckable: "with acquire/release only, x86's store buffer can let each side's load pass its own store, but only by chance: no part can arrange that interleaving, and the futex wait's bounded timeout would hide the loss"),
        // Closing (part 7).
        Clause("close wakes a receive asleep on an empty ring, which throws closed",
               in: "SPSCRingContract.close()", parts: [7], mutants: ["close-without-wake"]),
        Clause("after close, messages sent before are still received, then closed",
               in: "SPSCRingContract.tryReceive()", parts: [7], mutants: ["closed-before-drain"]),
        Clause("trySend throws closed after close", in: "SPSCRingContract.trySend(count:_:)", parts: [7], mutants: ["send-after-close"]),
        // Batched publication (part 11).
        Clause("trySend(batch:) publishes a batch with one releasing store of tail after its last message is written: the consumer sees none of it before",
               in: "SPSCRingContract.trySend(batch:_:)", parts: [11], mutants: ["publishes-each-message"]),
        Clause("trySend(batch:) writes as many messages as fit, the bytes skipped at the wrap counted, and returns how many it wrote",
               in: "SPSCRingContract.trySend(batch:_:)", parts: [11], mutants: ["batch-room-forgets-padding", "batch-returns-requested"]),
        Clause("a batch wakes a receive asleep on an empty ring", in: "SPSCRingContract.trySend(batch:_:)", parts: [11],
               mutants: ["batch-without-wake"]),
        Clause("a batch pays one fence and one look at the sleeping word, not one per message", in: "text: Batched publication",
               notCheckable: "a fence changes nothing another process can read; a batch that fences once per message is correct, only slower, which the bench shows (lab bench: the ring one message per send beside the ring in batches)"),
        // Batched release (part 12).
        Clause("tryReceive(upTo:_:) releases the messages it read with one releasing store of head, after the last read has returned",
               in: "SPSCRingContract.tryReceive(upTo:_:)", parts: [12], mutants: ["releases-each-message", "release-before-read"]),
        Clause("tryReceive(upTo:_:) hands at most limit messages, oldest first, each whole and in place, following the padding at the wrap",
               in: "SPSCRingContract.tryReceive(upTo:_:)", parts: [12], mutants: ["limit-ignored", "batch-receive-ignores-padding"]),
        Clause("tryReceive(upTo:_:) returns 0 on an empty ring at once, and throws closed once the ring is closed and drained",
               in: "SPSCRingContract.tryReceive(upTo:_:)", parts: [12], mutants: ["batch-receive-never-closed"]),
        // A producer that dies (part 8).
        Clause("a producer killed mid-send leaves the ring usable: a new producer process carries on, past the wrap",
               in: "text: A producer that dies mid-send", parts: [8], mutants: ["tail-in-process-memory", "head-never-reloaded"]),
    ] }
}
