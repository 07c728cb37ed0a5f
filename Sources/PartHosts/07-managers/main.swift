// Lesson 07's part host: its checks bound to the student's code, the reference and the mutants.
import Exercise07
import LabKit
import Lessons
import Mutants07
import Solution07

PartHost.main(Lesson07.entry(exercise: Exercise07.Manager.self, solution: Solution07.Manager.self,
                             mutants: ManagersMutants.all))
