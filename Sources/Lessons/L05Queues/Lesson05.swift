/// Lesson 05: what it is, its parts and their hints.
public enum Lesson05: LessonDeclaration {
    public static let info = LessonInfo(number: 5, slug: "queues",
                                        title: "Queues: a bounded multi-process queue in shared memory", defaultTimeout: 20)

    static let waiterNotWoken = "A process waiting in get or put was never woken. The condition variables must be "
        + "process-shared (pthread_condattr_setpshared), and whoever changes the queue must broadcast: put wakes "
        + "getters (notEmpty), get wakes putters (notFull), close wakes both."

    public static var parts: [Part<any SharedQueueContract.Type>] { [
        Part(1, "the post's example, with an end: a producer sends 0…9, the consumer receives 0…9 in order",
             check: { lab, context in try tutorialExample(lab, context) }, hints: [
            "Lay the block out as a header (two pthread_cond_t, head and tail positions, a message count, a closed flag) followed by the ring. Bind the header with bindMemory(to:capacity:).",
            "put: take the lab's lock, write a 4-byte length and the bytes at tail (modulo the ring's size), then move tail and add 1 to the count. get: the same from head. approximateCount reads the count under the lock.",
            "Check the block first: not 8-aligned → QueueError.misaligned; smaller than your header plus a few bytes of ring → QueueError.blockTooSmall(bytes:minimum:).",
            "The minimum you report is checked exactly: a block of minimum − 1 bytes is refused, one of exactly minimum bytes carries a 1-byte message. And init writes every header field itself (head, tail, count, closed): the part hands it a block full of other bytes, and one reused after a closed queue.",
        ], ifTimedOut: waiterNotWoken),
        Part(2, "a blocked consumer sleeps (no CPU) and wakes on put; blocked producers wake when a get makes room",
             check: { lab, context in try consumerSleepsAndWakes(lab, context) }, hints: [
            "A waiting get must sleep in the kernel, not loop: while the ring is empty, pthread_cond_timedwait(notEmpty, lock.address, &deadline). It releases the lock while asleep and takes it back before returning.",
            "Initialise both condition variables with a pthread_condattr_t on which you called pthread_condattr_setpshared(&a, Int32(PTHREAD_PROCESS_SHARED)) — or a put in another process never wakes the getter.",
            "After a get, use pthread_cond_broadcast(notFull), not pthread_cond_signal: messages differ in size, so the room freed may fit several waiting putters, and a signal may wake one whose message still does not fit.",
            "Wait in a while loop, not an if: put broadcasts to every sleeping getter, so one put wakes two consumers, and only one finds the message. The other must look again and sleep on (\"one put made two consumers return\").",
        // The check sleeps 0.5 s while the consumer waits in get: every process asleep on purpose.
        ], ifTimedOut: waiterNotWoken, timeout: 45, quietWindow: 5),
        Part(3, "full → put times out with full; empty → get times out with empty, each near its timeout",
             check: { lab, context in try timeoutsNearTheirTime(lab, context) }, hints: [
            "pthread_cond_timedwait takes an absolute deadline, on the clock the condition variable was told to use: pthread_condattr_setclock(&a, CLOCK_MONOTONIC), then now (clock_gettime(CLOCK_MONOTONIC)) + timeout.",
            "Loop: while there is no room (or no message) { if the last wait timed out, throw .full (.empty); wait again }. A timeout of 0 never waits. A negative or NaN timeout → QueueError.invalidTimeout.",
            "A timeout of .infinity waits as long as it takes: pthread_cond_wait, no deadline (now + .infinity is no time at all). The part checks that .infinity and 5.999 s both wait for their put or get.",
        // Gets and puts that wait out their 0.3 s timeouts on purpose.
        ], ifTimedOut: waiterNotWoken, quietWindow: 3),
        Part(4, "3 producers × 2 consumers × 20,000 messages: each exactly once, each producer's in order",
             check: { lab, context in try manyProducersAndConsumers(lab, context) }, hints: [
            "Everything that reads or changes the header or the ring happens while holding the lock — including copying the message out in get.",
            "Many wrap-arounds happen here: a message (and even its 4-byte length) may start near the end of the ring and continue at its start.",
        ], ifTimedOut: waiterNotWoken, timeout: 40),
        Part(5, "sizes from 0 bytes to the maximum, across the ring's wrap-around point",
             check: { lab, context in try sizesAcrossTheWrap(lab, context) }, hints: [
            "Copy in two pieces: min(count, capacity - start) bytes at start, the rest at the ring's beginning. The same when reading.",
            "maximumMessageSize is what fits in the empty ring: capacity minus the length prefix. A longer message can never fit: throw QueueError.messageTooLarge(size:maximum:) at once instead of waiting for room.",
        ], ifTimedOut: waiterNotWoken),
        Part(6, "close: blocked consumers wake, drain what is left, then see closed",
             check: { lab, context in try closeWakesAndDrains(lab, context) }, hints: [
            "close sets the closed flag under the lock and broadcasts both condition variables: every waiter must wake, not just one.",
            "get checks for a message first and for closed second: after close, getters still receive what was put before, and only an empty, closed queue throws .closed. put throws .closed at once.",
        ], ifTimedOut: waiterNotWoken, timeout: 30),
        Part(7, "a producer killed holding the lock in put leaves the queue usable (robust lock; a killed waiter is not covered)",
             check: { lab, context in try killedProducerDoesNotWedge(lab, context) }, hints: [
            "Write the message's bytes first and move tail last: if the process dies before, the message simply does not exist yet.",
            "pthread_cond_timedwait can return EOWNERDEAD: the lock's holder died while you were waiting. You hold the lock now: call pthread_mutex_consistent(lock.address) and go on (and broadcast, in case the dead process owed someone a wake-up).",
            "A dead holder leaves a consistent header when put publishes with one store (tail and count last): reset nothing after EOWNERDEAD. \"messages the killed producer had finished putting were lost\" means head, tail or count were reset; \"a corrupted message\" means tail moved before the bytes were written.",
        // A consumer's get(timeout: 0.6) runs out on purpose while the lock's holder sleeps.
        ], ifTimedOut: waiterNotWoken, timeout: 40, quietWindow: 4),
    ] }
}
