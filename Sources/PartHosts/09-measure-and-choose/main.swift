// Lesson 09's part host: it measures the student's lessons 05, 06 and 08 (and their references).
import Exercise05
import Exercise06
import Exercise08
import LabKit
import Lessons
import Mutants09
import Solution05
import Solution06
import Solution08

PartHost.main(Lesson09.entry(
    exercise: (Exercise05.SharedQueue.self, Exercise06.Connection.self, Exercise08.SharedArrays.self),
    solution: (Solution05.SharedQueue.self, Solution06.Connection.self, Solution08.SharedArrays.self),
    mutants: MeasureMutants.all))
