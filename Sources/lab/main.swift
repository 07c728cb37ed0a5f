// Wires the lessons to the student's Exercises, the reference Solutions and the Mutants.
import Exercises
import LabKit
import Lessons
import Mutants
import Solutions

Lab.main(pristine: PristineStubs.files, lessons: [
    EngineFixtures.entry,
    Lesson01.entry(exercise: Exercises.ForkAndMap.self, solution: Solutions.ForkAndMap.self,
                   mutants: ForkAndMapMutants.all),
    Lesson02.entry(exercise: Exercises.NamedSegment.self, solution: Solutions.NamedSegment.self,
                   mutants: NamedSegmentMutants.all),
    Lesson03.entry(exercise: Exercises.IntegerBytes.self, solution: Solutions.IntegerBytes.self,
                   mutants: IntegerBytesMutants.all),
    Lesson04.entry(exercise: Exercises.Locking.self, solution: Solutions.Locking.self,
                   mutants: LockingMutants.all),
    Lesson05.entry(exercise: Exercises.SharedQueue.self, solution: Solutions.SharedQueue.self,
                   mutants: SharedQueueMutants.all),
    Lesson06.entry(exercise: Exercises.Connection.self, solution: Solutions.Connection.self,
                   mutants: PipesMutants.all),
    Lesson07.entry(exercise: Exercises.Manager.self, solution: Solutions.Manager.self,
                   mutants: ManagersMutants.all),
    Lesson08.entry(exercise: Exercises.SharedArrays.self, solution: Solutions.SharedArrays.self,
                   mutants: SharedArraysMutants.all),
    Lesson09.entry(exercise: (Exercises.SharedQueue.self, Exercises.Connection.self, Exercises.SharedArrays.self),
                   solution: (Solutions.SharedQueue.self, Solutions.Connection.self, Solutions.SharedArrays.self),
                   mutants: MeasureMutants.all),
])
