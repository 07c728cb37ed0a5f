// Lesson 03's part host: its checks bound to the student's code, the reference and the mutants.
import Exercise03
import LabKit
import Lessons
import Mutants03
import Solution03

PartHost.main(Lesson03.entry(exercise: Exercise03.IntegerBytes.self, solution: Solution03.IntegerBytes.self,
                             mutants: IntegerBytesMutants.all))
