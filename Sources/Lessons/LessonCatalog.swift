/// Every lesson as the runner sees it: description, parts, hints and peer names, no implementation.
/// A lesson added later is one more line here and one part host (see docs/ARCHITECTURE.md).
public enum LessonCatalog {
    public static var all: [LessonEntry] { [
        LessonEntry(info: EngineFixtures.info, parts: EngineFixtures.parts),
        LessonEntry(info: Lesson01.info, parts: Lesson01.parts),
        LessonEntry(info: Lesson02.info, parts: Lesson02.parts, peers: Lesson02.peers),
        LessonEntry(info: Lesson03.info, parts: Lesson03.parts),
        LessonEntry(info: Lesson04.info, parts: Lesson04.parts, peers: Lesson04.peers),
        LessonEntry(info: Lesson05.info, parts: Lesson05.parts, peers: Lesson05.peers),
        LessonEntry(info: Lesson06.info, parts: Lesson06.parts, peers: Lesson06.peers),
        LessonEntry(info: Lesson07.info, parts: Lesson07.parts, peers: Lesson07.peers),
        LessonEntry(info: Lesson08.info, parts: Lesson08.parts, peers: Lesson08.peers),
        LessonEntry(info: Lesson09.info, parts: Lesson09.parts),
        LessonEntry(info: Lesson10.info, parts: Lesson10.parts, peers: Lesson10.peers(queue: nil)),
    ] }
}
