// Lesson 06's part host: its checks bound to the student's code, the reference and the mutants.
import Exercise06
import LabKit
import Lessons
import Mutants06
import Solution06

PartHost.main(Lesson06.entry(exercise: Exercise06.Connection.self, solution: Solution06.Connection.self,
                             mutants: PipesMutants.all))
