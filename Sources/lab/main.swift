// Wires the lessons to the student's Exercises, the reference Solutions and the Mutants.
import Exercises
import LabKit
import Lessons
import Mutants
import Solutions

Lab.main(lessons: [
    EngineFixtures.entry,
    Lesson01.entry(exercise: Exercises.ForkAndMap.self, solution: Solutions.ForkAndMap.self,
                   mutants: ForkAndMapMutants.all),
    Lesson06.entry(exercise: Exercises.Connection.self, solution: Solutions.Connection.self,
                   mutants: PipesMutants.all),
    Lesson07.entry(exercise: Exercises.Manager.self, solution: Solutions.Manager.self,
                   mutants: ManagersMutants.all),
])
