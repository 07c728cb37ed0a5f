// Lesson 11's part host: its checks bound to the student's code, the reference and the mutants.
import Exercise11
import LabKit
import Lessons
import Mutants11
import Solution11

PartHost.main(Lesson11.entry(exercise: Exercise11.MemfdSegment.self, solution: Solution11.MemfdSegment.self,
                             mutants: MemfdSegmentMutants.all))
