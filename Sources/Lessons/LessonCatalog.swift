/// Every lesson as the runner sees it: description, parts, hints, peer names and clause table, no
/// implementation. A lesson added later is one more line here and one part host (see
/// docs/ARCHITECTURE.md).
public enum LessonCatalog {
    public static var all: [LessonEntry] { [
        EngineFixtures.catalogEntry,
        Lesson01.catalogEntry,
        Lesson02.catalogEntry,
        Lesson03.catalogEntry,
        Lesson04.catalogEntry,
        Lesson05.catalogEntry,
        Lesson06.catalogEntry,
        Lesson07.catalogEntry,
        Lesson08.catalogEntry,
        Lesson09.catalogEntry,
        Lesson10.catalogEntry,
        Lesson11.catalogEntry,
        Lesson12.catalogEntry,
    ] }
}
