// Lesson 01's part host: its checks bound to the student's code, the reference and the mutants.
import Exercise01
import LabKit
import Lessons
import Mutants01
import Solution01

PartHost.main(Lesson01.entry(exercise: Exercise01.ForkAndMap.self, solution: Solution01.ForkAndMap.self,
                             mutants: ForkAndMapMutants.all))
