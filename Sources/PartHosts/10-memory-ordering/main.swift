// Lesson 10's part host: its checks bound to the student's code, the reference and the mutants;
// lesson 05's reference queue for the bench.
import Exercise10
import LabKit
import Lessons
import Mutants10
import Solution05
import Solution10

PartHost.main(Lesson10.entry(
    exercise: (Exercise10.Publication.self, Exercise10.Seqlock.self, Exercise10.LockFreeRing.self, Solution05.SharedQueue.self),
    solution: (Solution10.Publication.self, Solution10.Seqlock.self, Solution10.LockFreeRing.self, Solution05.SharedQueue.self),
    mutants: LockFreeMutants.all))
