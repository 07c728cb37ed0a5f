// Lesson 02's part host: its checks bound to the student's code, the reference and the mutants.
import Exercise02
import LabKit
import Lessons
import Mutants02
import Solution02

PartHost.main(Lesson02.entry(exercise: Exercise02.NamedSegment.self, solution: Solution02.NamedSegment.self,
                             mutants: NamedSegmentMutants.all))
