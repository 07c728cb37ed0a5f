// Lesson 09 — measure and choose. Read the lesson: swift run lab show 9
//
// There is nothing to write in this file. Lesson 09 measures the code you wrote in
//   lesson 05  Exercises/05-queues/SharedQueue.swift       (parts 1 and 2),
//   lesson 06  Exercises/06-pipes/Connection.swift          (part 3),
//   lesson 08  Exercises/08-shared-arrays/SharedArrays.swift (part 4),
// against performance floors that only a real mistake misses (a get that naps or spins, a write
// per byte, a copy element by element). Check it:     swift run lab check 9
// Measure everything, beside raw baselines and Python: swift run -c release lab bench
