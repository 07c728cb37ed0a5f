// Wires the runner to the lessons' catalog. The runner links no student code: each lesson's parts
// run in that lesson's part host (`lab-lesson-NN`), which the runner builds when it needs it.
import LabKit
import Lessons

Lab.main(pristine: PristineStubs.files, lessons: LessonCatalog.all)
