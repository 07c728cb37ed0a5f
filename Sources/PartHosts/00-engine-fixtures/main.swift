// The engine fixtures' part host: deliberately misbehaving parts for the engine's own tests.
import LabKit
import Lessons

PartHost.main(EngineFixtures.entry(exercise: (), solution: ()))
