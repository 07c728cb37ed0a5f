// Lesson 12's part host: its checks bound to the student's code, the reference and the mutants.
import Exercise12
import LabKit
import Lessons
import Mutants12
import Solution12

PartHost.main(Lesson12.entry(exercise: Exercise12.SyncManager.self, solution: Solution12.SyncManager.self,
                             mutants: RemoteManagersMutants.all))
