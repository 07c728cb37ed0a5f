// Lesson 08's part host: its checks bound to the student's code, the reference and the mutants.
import Exercise08
import LabKit
import Lessons
import Mutants08
import Solution08

PartHost.main(Lesson08.entry(exercise: Exercise08.SharedArrays.self, solution: Solution08.SharedArrays.self,
                             mutants: SharedArraysMutants.all))
