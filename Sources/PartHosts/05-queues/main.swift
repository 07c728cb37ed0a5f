// Lesson 05's part host: its checks bound to the student's code, the reference and the mutants.
import Exercise05
import LabKit
import Lessons
import Mutants05
import Solution05

PartHost.main(Lesson05.entry(exercise: Exercise05.SharedQueue.self, solution: Solution05.SharedQueue.self,
                             mutants: SharedQueueMutants.all))
