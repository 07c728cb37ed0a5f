/// Lesson 09's clause table: the promises of its text (it has no contract of its own: it measures
/// lessons 05, 06 and 08) → the parts that check them → the mutants that prove them.
extension Lesson09 {
    public static var clauses: [Clause] { [
        Clause("a put wakes a get waiting on an empty queue at once: a message and its reply through two queues take at most 250 µs (median of 5 bursts of 200)",
               in: "text: your task, part 1; lesson 05 get(timeout:)", parts: [1],
               mutants: ["napping-get", "napping-put", "get-naps-first"]),
        Clause("a get waiting for messages 20 ms apart sleeps in the kernel: its process uses under 5 % of a CPU",
               in: "text: your task, part 2; lesson 05 get(timeout:) (a blocked get uses no CPU)", parts: [2],
               mutants: ["busy-wait-get", "tight-spin-get", "spin-before-sleep-get"]),
        Clause("a Connection moves 1 MiB messages through a pipe at ≥ 100 MiB/s (best of up to 3 tries): a few system calls per message, both ways",
               in: "text: your task, part 3; lesson 06 send(_:)/receive()", parts: [3],
               mutants: ["one-byte-writes", "one-byte-reads", "small-chunk-writes"]),
        Clause("copy(_:into:) into and out of a shared array is one bulk copy: at least half memcpy's speed on 4 MiB, each way (best of 9 rounds in turns)",
               in: "text: your task, part 4; lesson 08 copy(_:into:) (one bulk copy)", parts: [4],
               mutants: ["element-by-element-copy", "copy-out-element-by-element", "copy-in-through-fill"]),
        Clause("a function of lessons 05, 06 or 08 that is still todo() makes the part that measures it \"not started\", naming it",
               in: "text: there is no new code to write",
               notCheckable: "a mutant cannot be todo(); the lab's own tests check that the untouched exercises are \"not started\" in every part"),
        Clause("the figures of the table (pipe, queue, manager, locks, shared arrays, Python) and their ratios",
               in: "text: reading the table",
               notCheckable: "they are measurements of a machine, shown by lab bench for the student to read; a part asserts only floors that a correct implementation clears by 5–20×"),
        Clause("a ShareableList read is about 10× (14–32×) faster than a Manager list read; a fresh segment loses to a pipe for a one-off 64 KiB transfer",
               in: "text: why a Manager is slow; why a fresh segment loses to a pipe",
               notCheckable: "claims about Python and about this machine that lab bench measures side by side; no student code is involved"),
    ] }
}
