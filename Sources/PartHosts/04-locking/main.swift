// Lesson 04's part host: its checks bound to the student's code, the reference and the mutants.
import Exercise04
import LabKit
import Lessons
import Mutants04
import Solution04

PartHost.main(Lesson04.entry(exercise: Exercise04.Locking.self, solution: Solution04.Locking.self,
                             mutants: LockingMutants.all))
