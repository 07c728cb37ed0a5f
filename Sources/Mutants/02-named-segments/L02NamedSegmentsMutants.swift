import Glibc
import LabKit
import Lessons
import Solution02

/// Lesson 02's realistic mistakes. Each forwards to the reference except for its one mistake.
public enum NamedSegmentMutants {
    public static var all: [Mutant<any NamedSegmentContract.Type>] {
        [
            Mutant(name: "no-ftruncate", mistake: "create never calls ftruncate: the object stays 0 bytes (attachers see size 0, touching it is SIGBUS)",
                        caughtBy: [1, 2, 8], implementation: FaultySegment<NoFtruncate>.self),
            Mutant(name: "mode-0666", mistake: "create opens with mode 0666 instead of 0600",
                        caughtBy: [1], implementation: FaultySegment<WideMode>.self),
            Mutant(name: "page-rounded-size", mistake: "create rounds the size up to whole pages (10 bytes become 4096)",
                        caughtBy: [1, 8], implementation: FaultySegment<PageRoundedSize>.self),
            Mutant(name: "no-excl", mistake: "create opens without O_EXCL, so it reuses (and resizes) an existing segment",
                        caughtBy: [4], implementation: FaultySegment<NoExclusive>.self),
            Mutant(name: "attach-truncates", mistake: "attach calls ftruncate with the size it was asked, cutting the creator's data",
                        caughtBy: [3], implementation: FaultySegment<AttachTruncates>.self),
            Mutant(name: "attach-maps-asked-size", mistake: "attach maps the size it was asked instead of fstat's st_size",
                        caughtBy: [3, 8], implementation: FaultySegment<AttachMapsAskedSize>.self),
            Mutant(name: "no-name-check", mistake: "names go to shm_open unchecked (EINVAL/ENAMETOOLONG as system errors, not invalidName)",
                        caughtBy: [4], implementation: FaultySegment<NoNameCheck>.self),
            Mutant(name: "no-cleanup-on-failure", mistake: "a create that fails in mmap leaves the object it made in /dev/shm",
                        caughtBy: [4, 7], implementation: FaultySegment<NoCleanupOnFailure>.self),
            Mutant(name: "fixed-seed-names", mistake: "names come from a generator seeded with a constant: every process makes the same ones",
                        caughtBy: [5], implementation: FaultySegment<FixedSeedNames>.self),
            Mutant(name: "unlink-in-close", mistake: "close also calls shm_unlink, removing the segment for everyone",
                        caughtBy: [6], implementation: UnlinkInClose.self),
            Mutant(name: "close-noop", mistake: "close does not munmap",
                        caughtBy: [6], implementation: CloseNoop.self),
            Mutant(name: "descriptor-leak", mistake: "the shm_open descriptor is never closed",
                        caughtBy: [6], implementation: FaultySegment<DescriptorLeak>.self),
            Mutant(name: "unlink-noop", mistake: "unlink does nothing: every segment stays in /dev/shm",
                        caughtBy: [6, 7], implementation: UnlinkNoop.self),
            Mutant(name: "name-keeps-slash", mistake: "create and attach report the name as given, with its leading \"/\"",
                        caughtBy: [1, 3], implementation: NameKeepsSlash.self),
            Mutant(name: "attach-read-only", mistake: "attach opens O_RDONLY and maps PROT_READ: an attacher cannot write its answer",
                        caughtBy: [2], implementation: FaultySegment<AttachReadOnly>.self),
            Mutant(name: "create-map-private", mistake: "create maps MAP_PRIVATE: the creator's writes never reach the object",
                        caughtBy: [2, 8], implementation: FaultySegment<CreateMapPrivate>.self),
            Mutant(name: "attach-map-private", mistake: "attach maps MAP_PRIVATE: the attacher's writes never reach the creator",
                        caughtBy: [2], implementation: FaultySegment<AttachMapPrivate>.self),
            Mutant(name: "ascii-only-names", mistake: "names are refused unless every byte is A–Z a–z 0–9 . _ - (a valid non-ASCII name is invalidName)",
                        caughtBy: [4], implementation: FaultySegment<AsciiOnlyNames>.self),
            Mutant(name: "nul-accepted", mistake: "the name check forgets NUL: \"a\\0b\" reaches shm_open, which sees \"/a\"",
                        caughtBy: [4], implementation: FaultySegment<NulAccepted>.self),
            Mutant(name: "dot-accepted", mistake: "the name check refuses \"..\" but not \".\" (shm_open then says EEXIST: /dev/shm/. is the directory)",
                        caughtBy: [4], implementation: FaultySegment<DotAccepted>.self),
            Mutant(name: "length-in-characters", mistake: "the 255 limit counts characters, not UTF-8 bytes (128 × \"é\" passes and shm_open fails)",
                        caughtBy: [4], implementation: FaultySegment<LengthInCharacters>.self),
            Mutant(name: "limit-counts-slash", mistake: "the 255-byte limit counts the leading \"/\" too, refusing valid 255-byte names",
                        caughtBy: [4], implementation: FaultySegment<LimitCountsSlash>.self),
            Mutant(name: "error-name-as-given", mistake: ".alreadyExists and .notFound carry the name as given, with its leading \"/\"",
                        caughtBy: [4], implementation: ErrorNameAsGiven.self),
            Mutant(name: "open-errors-not-found", mistake: "every shm_open failure but EEXIST becomes .notFound (EMFILE, EACCES… are not .systemError)",
                        caughtBy: [4], implementation: OpenErrorsNotFound.self),
            Mutant(name: "size-checked-after-open", mistake: "create checks size > 0 only after shm_open created the object, and leaves it behind",
                        caughtBy: [4, 7], implementation: FaultySegment<SizeCheckedAfterOpen>.self),
            Mutant(name: "time-seeded-names", mistake: "names come from srandom(time(nil)): processes started in the same second make the same names",
                        caughtBy: [5], implementation: FaultySegment<TimeSeededNames>.self),
            Mutant(name: "pid-counter-names", mistake: "names are \"shm_<pid>_<counter>\": unique in every call and process, but anyone can guess the next one",
                        caughtBy: [5], implementation: FaultySegment<PidCounterNames>.self),
            Mutant(name: "generated-name-with-slash", mistake: "generateName returns \"/shm_…\", the form shm_open wants, not a plain name",
                        caughtBy: [5], implementation: GeneratedNameWithSlash.self),
            Mutant(name: "close-not-idempotent", mistake: "a second close() calls munmap again, unmapping whatever was mapped there since",
                        caughtBy: [6], implementation: CloseNotIdempotent.self),
            Mutant(name: "keeps-fd-no-cloexec", mistake: "the segment keeps a descriptor until close(), opened with open(\"/dev/shm/NAME\", O_RDWR): no O_CLOEXEC (glibc's shm_open adds it, open does not)",
                        caughtBy: [6], implementation: KeepsDescriptorWithoutCloexec.self),
        ]
    }
}

/// Forwards every requirement to the reference segment; mutants override one.
public protocol ForwardsToNamedSegment: NamedSegmentContract {
    var inner: NamedSegment { get }
    init(_ inner: NamedSegment)
}

extension ForwardsToNamedSegment {
    public static func create(name: String?, size: Int) throws -> Self { Self(try NamedSegment.create(name: name, size: size)) }
    public static func attach(name: String, size: Int) throws -> Self { Self(try NamedSegment.attach(name: name, size: size)) }
    public static func generateName() -> String { NamedSegment.generateName() }
    public var name: String { inner.name }
    public var size: Int { inner.size }
    public var bytes: UnsafeMutableRawBufferPointer { inner.bytes }
    public func close() throws { try inner.close() }
    public func unlink() throws { try inner.unlink() }
}

extension NamedSegmentMutants {
    // MARK: - mistakes in the reference's steps

    /// One mutant's mistake, made by `FaultySegment<M>`.
    protocol SegmentMistake {}
    /// A mistake in create's steps: `FaultySegment` makes its create step by step.
    protocol CreateMistake: SegmentMistake {}
    /// A mistake in attach's steps: `FaultySegment` makes its attach step by step.
    protocol AttachMistake: SegmentMistake {}
    /// A name check with one rule changed: create's (and, for an `AttachMistake` too, attach's) check.
    protocol NameRuleMistake: CreateMistake {}
    /// A name generator of the wrong kind: create names a segment with it when no name is given.
    protocol NameGeneratorMistake: CreateMistake { static func generateName() -> String }

    enum NoFtruncate: CreateMistake {}
    enum WideMode: CreateMistake {}
    enum PageRoundedSize: CreateMistake {}
    enum NoExclusive: CreateMistake {}
    enum NoNameCheck: CreateMistake {}          // (attach: only a probing shm_open, then the reference)
    enum NoCleanupOnFailure: CreateMistake {}
    enum DescriptorLeak: CreateMistake {}
    enum CreateMapPrivate: CreateMistake {}
    enum SizeCheckedAfterOpen: CreateMistake {}
    enum AttachTruncates: AttachMistake {}
    enum AttachMapsAskedSize: AttachMistake {}
    enum AttachReadOnly: AttachMistake {}
    enum AttachMapPrivate: AttachMistake {}
    enum AsciiOnlyNames: NameRuleMistake {}     // (attach: its check, then the reference)
    enum NulAccepted: NameRuleMistake, AttachMistake {}
    enum DotAccepted: NameRuleMistake, AttachMistake {}
    enum LengthInCharacters: NameRuleMistake, AttachMistake {}
    enum LimitCountsSlash: NameRuleMistake, AttachMistake {}

    enum FixedSeedNames: NameGeneratorMistake {
        static var state: UInt64 = 42                                                       // mistake: the same seed everywhere
        static func generateName() -> String {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return "shm_" + String(state, radix: 16)
        }
    }

    enum TimeSeededNames: NameGeneratorMistake {
        static var seeded = false
        static func generateName() -> String {
            if !seeded { srandom(UInt32(truncatingIfNeeded: time(nil))); seeded = true }   // mistake: the second is the seed
            let high = UInt64(UInt32(truncatingIfNeeded: random())), low = UInt64(UInt32(truncatingIfNeeded: random()))
            let hex = String(high << 32 | low, radix: 16)
            return "shm_" + String(repeating: "0", count: 16 - hex.count) + hex
        }
    }

    enum PidCounterNames: NameGeneratorMistake {
        static var counter = 0
        static func generateName() -> String {
            counter += 1
            return "shm_\(getpid())_\(counter)"   // mistake: unique, not unpredictable
        }
    }

    /// The reference segment, with create and attach done step by step (shm_open, ftruncate, fstat, mmap)
    /// and the mistake M at its line. Requirements M does not touch forward to the reference.
    final class FaultySegment<M: SegmentMistake>: ForwardsToNamedSegment {
        let inner: NamedSegment
        init(_ inner: NamedSegment) { self.inner = inner }

        static func create(name: String?, size: Int) throws -> FaultySegment {
            guard M.self is CreateMistake.Type else { return FaultySegment(try NamedSegment.create(name: name, size: size)) }
            let name = (M.self as? NameGeneratorMistake.Type).map { name ?? $0.generateName() } ?? name   // (picked before the size check)
            if M.self != SizeCheckedAfterOpen.self { guard size > 0 else { throw NamedSegmentError.invalidSize(size) } }
            let path = try checked(name ?? NamedSegment.generateName())
            let fd = try opened(path, M.self == NoExclusive.self ? O_CREAT | O_RDWR | O_CLOEXEC          // mistake (NoExclusive): no O_EXCL
                                    : O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC,
                                mode: M.self == WideMode.self ? 0o666 : 0o600)                            // mistake (WideMode): everyone may read and write
            if M.self == SizeCheckedAfterOpen.self {
                guard size > 0 else { Glibc.close(fd); throw NamedSegmentError.invalidSize(size) }       // mistake (SizeCheckedAfterOpen): shm_open first
            }
            defer { if M.self != DescriptorLeak.self { Glibc.close(fd) } }                               // mistake (DescriptorLeak): the fd stays open
            let cleanUpOnFailure = M.self != NoCleanupOnFailure.self                                     // mistake (NoCleanupOnFailure): leaks on failure
            let length = M.self == PageRoundedSize.self ? pageRounded(size) : size                        // mistake (PageRoundedSize): whole pages
            if M.self != NoFtruncate.self && ftruncate(fd, off_t(length)) == -1 {                        // mistake (NoFtruncate): the object stays empty
                let error = NamedSegment.error(from: "ftruncate", path: path)
                if cleanUpOnFailure { shm_unlink(path) }
                throw error
            }
            let mapFlags = M.self == CreateMapPrivate.self ? MAP_PRIVATE : MAP_SHARED                    // mistake (CreateMapPrivate): a private copy
            let address = mmap(nil, size, PROT_READ | PROT_WRITE, mapFlags, fd, 0)
            guard let address, address != MAP_FAILED else {
                let error = NamedSegment.error(from: "mmap", path: path)
                if cleanUpOnFailure { shm_unlink(path) }
                throw error
            }
            return FaultySegment(NamedSegment(name: String(path.dropFirst()), bytes: UnsafeMutableRawBufferPointer(start: address, count: size)))
        }

        static func attach(name: String, size asked: Int) throws -> FaultySegment {
            if M.self == NoNameCheck.self {                                                             // mistake (NoNameCheck): shm_open judges the name
                Glibc.close(try opened(name.hasPrefix("/") ? name : "/" + name, O_RDWR | O_CLOEXEC))
            }
            if M.self == AsciiOnlyNames.self { _ = try checked(name) }
            guard M.self is AttachMistake.Type else { return FaultySegment(try NamedSegment.attach(name: name, size: asked)) }
            let path = try checked(name)
            let readOnly = M.self == AttachReadOnly.self                                                 // mistake (AttachReadOnly): O_RDONLY and PROT_READ
            let fd = try opened(path, readOnly ? O_RDONLY | O_CLOEXEC : O_RDWR | O_CLOEXEC)
            defer { Glibc.close(fd) }
            if M.self == AttachTruncates.self && ftruncate(fd, off_t(asked)) == -1 {                     // mistake (AttachTruncates): resizes someone else's segment
                throw NamedSegment.error(from: "ftruncate", path: path)
            }
            var info = stat()
            if fstat(fd, &info) == -1 { throw NamedSegment.error(from: "fstat", path: path) }
            let size = M.self == AttachMapsAskedSize.self ? asked : Int(info.st_size)                  // mistake (AttachMapsAskedSize): trusts the caller's size
            guard size > 0 else { return FaultySegment(NamedSegment(name: String(path.dropFirst()), bytes: UnsafeMutableRawBufferPointer(start: nil, count: 0))) }
            let mapFlags = M.self == AttachMapPrivate.self ? MAP_PRIVATE : MAP_SHARED                    // mistake (AttachMapPrivate): a private copy
            let address = mmap(nil, size, readOnly ? PROT_READ : PROT_READ | PROT_WRITE, mapFlags, fd, 0)
            guard let address, address != MAP_FAILED else { throw NamedSegment.error(from: "mmap", path: path) }
            return FaultySegment(NamedSegment(name: String(path.dropFirst()), bytes: UnsafeMutableRawBufferPointer(start: address, count: size)))
        }

        static func generateName() -> String { (M.self as? NameGeneratorMistake.Type)?.generateName() ?? NamedSegment.generateName() }

        var size: Int { M.self == PageRoundedSize.self ? Int(objectSize("/" + inner.name)) : inner.size }   // (PageRoundedSize: what fstat says)

        /// "/name" for shm_open: the reference's check (`NamedSegment.path(for:)`), or M's.
        static func checked(_ name: String) throws -> String {
            if M.self == NoNameCheck.self { return name.hasPrefix("/") ? name : "/" + name }           // mistake (NoNameCheck): no check at all
            if M.self == AsciiOnlyNames.self { _ = try NamedSegment.path(for: name) }
            guard M.self is NameRuleMistake.Type else { return try NamedSegment.path(for: name) }
            let bare = name.hasPrefix("/") ? String(name.dropFirst()) : name
            let allowed: Bool
            if M.self == AsciiOnlyNames.self {                                                          // mistake (AsciiOnlyNames): too strict
                allowed = bare.utf8.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x61 && $0 <= 0x7A)
                    || $0 == 0x2E || $0 == 0x5F || $0 == 0x2D }
            } else {
                allowed = !bare.isEmpty && (M.self == DotAccepted.self || bare != ".")                  // mistake (DotAccepted): "." goes through
                    && bare != ".." && !bare.contains("/")
                    && (M.self == NulAccepted.self || !bare.utf8.contains(0))                           // mistake (NulAccepted): NUL goes through
                    && (M.self == LengthInCharacters.self ? bare.count                                  // mistake (LengthInCharacters): characters, not bytes
                        : M.self == LimitCountsSlash.self ? ("/" + bare).utf8.count                     // mistake (LimitCountsSlash): "/" counted
                        : bare.utf8.count) <= 255
            }
            guard allowed else { throw NamedSegmentError.invalidName(name) }
            return "/" + bare
        }
    }

    /// shm_open(path, flags, mode), or the error the reference makes of its errno.
    static func opened(_ path: String, _ flags: Int32, mode: mode_t = 0) throws -> Int32 {
        let fd = shm_open(path, flags, mode)
        if fd == -1 { throw NamedSegment.error(from: "shm_open", path: path) }
        return fd
    }

    /// `size` rounded up to whole pages (sysconf(_SC_PAGESIZE)); a size that is not positive, or too large to round, as it is.
    static func pageRounded(_ size: Int) -> Int {
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        return size > 0 && size < Int.max / 2 ? (size + page - 1) / page * page : size
    }

    /// What fstat says of an object (the page-rounded mutant reports it as its size).
    static func objectSize(_ path: String) -> off_t {
        let fd = shm_open(path, O_RDONLY | O_CLOEXEC, 0)
        guard fd >= 0 else { return -1 }
        defer { Glibc.close(fd) }
        var info = stat()
        return fstat(fd, &info) == 0 ? info.st_size : -1
    }

    // MARK: - mistakes outside those steps

    final class UnlinkInClose: ForwardsToNamedSegment {
        let inner: NamedSegment
        init(_ inner: NamedSegment) { self.inner = inner }
        func close() throws {
            try inner.close()
            shm_unlink("/" + inner.name)                                                    // mistake: close is not unlink
        }
    }

    final class CloseNoop: ForwardsToNamedSegment {
        let inner: NamedSegment
        init(_ inner: NamedSegment) { self.inner = inner }
        func close() throws {}                                                              // mistake: never munmaps
    }

    final class UnlinkNoop: ForwardsToNamedSegment {
        let inner: NamedSegment
        init(_ inner: NamedSegment) { self.inner = inner }
        func unlink() throws {}                                                             // mistake: the name stays forever
    }

    final class NameKeepsSlash: ForwardsToNamedSegment {
        let inner: NamedSegment
        let given: String
        init(_ inner: NamedSegment) { self.inner = inner; self.given = inner.name }
        init(_ inner: NamedSegment, given: String) { self.inner = inner; self.given = given }
        static func create(name: String?, size: Int) throws -> NameKeepsSlash {
            let segment = try NamedSegment.create(name: name, size: size)
            return NameKeepsSlash(segment, given: name ?? segment.name)                     // mistake: the name as given
        }
        static func attach(name: String, size: Int) throws -> NameKeepsSlash {
            NameKeepsSlash(try NamedSegment.attach(name: name, size: size), given: name)    // mistake: the name as given
        }
        var name: String { given }
    }

    final class ErrorNameAsGiven: ForwardsToNamedSegment {
        let inner: NamedSegment
        init(_ inner: NamedSegment) { self.inner = inner }
        static func renamed(_ error: NamedSegmentError, _ given: String) -> NamedSegmentError {
            switch error {
            case .alreadyExists: return .alreadyExists(given)                               // mistake: with the "/"
            case .notFound: return .notFound(given)
            default: return error
            }
        }
        static func create(name: String?, size: Int) throws -> ErrorNameAsGiven {
            do { return ErrorNameAsGiven(try NamedSegment.create(name: name, size: size)) }
            catch let error as NamedSegmentError { throw renamed(error, name ?? "") }
        }
        static func attach(name: String, size: Int) throws -> ErrorNameAsGiven {
            do { return ErrorNameAsGiven(try NamedSegment.attach(name: name, size: size)) }
            catch let error as NamedSegmentError { throw renamed(error, name) }
        }
    }

    final class OpenErrorsNotFound: ForwardsToNamedSegment {
        let inner: NamedSegment
        init(_ inner: NamedSegment) { self.inner = inner }
        static func attach(name: String, size: Int) throws -> OpenErrorsNotFound {
            do { return OpenErrorsNotFound(try NamedSegment.attach(name: name, size: size)) }
            catch NamedSegmentError.systemError(call: "shm_open", _) {
                throw NamedSegmentError.notFound(String(try NamedSegment.path(for: name).dropFirst()))   // mistake: any failure is "not found"
            }
        }
        static func create(name: String?, size: Int) throws -> OpenErrorsNotFound {
            do { return OpenErrorsNotFound(try NamedSegment.create(name: name, size: size)) }
            catch NamedSegmentError.systemError(call: "shm_open", _) {
                throw NamedSegmentError.notFound(String(try NamedSegment.path(for: name ?? "x").dropFirst()))
            }
        }
    }

    final class GeneratedNameWithSlash: ForwardsToNamedSegment {
        let inner: NamedSegment
        init(_ inner: NamedSegment) { self.inner = inner }
        static func generateName() -> String { "/" + NamedSegment.generateName() }       // mistake: shm_open's form
    }

    final class CloseNotIdempotent: ForwardsToNamedSegment {
        let inner: NamedSegment
        init(_ inner: NamedSegment) { self.inner = inner }
        func close() throws {
            guard let base = inner.bytes.baseAddress else { return }
            if munmap(base, inner.bytes.count) == -1 {                                      // mistake: every call unmaps
                throw NamedSegmentError.systemError(call: "munmap", errno: errno)
            }
        }
    }

    final class KeepsDescriptorWithoutCloexec: ForwardsToNamedSegment {
        let inner: NamedSegment
        var descriptor: Int32
        init(_ inner: NamedSegment) { self.inner = inner; descriptor = -1 }
        init(_ inner: NamedSegment, descriptor: Int32) { self.inner = inner; self.descriptor = descriptor }
        static func create(name: String?, size: Int) throws -> KeepsDescriptorWithoutCloexec {
            let segment = try NamedSegment.create(name: name, size: size)
            let fd = open("/dev/shm/" + segment.name, O_RDWR)                              // mistake: no O_CLOEXEC, kept open
            return KeepsDescriptorWithoutCloexec(segment, descriptor: fd)
        }
        static func attach(name: String, size: Int) throws -> KeepsDescriptorWithoutCloexec {
            let segment = try NamedSegment.attach(name: name, size: size)
            let fd = open("/dev/shm/" + segment.name, O_RDWR)
            return KeepsDescriptorWithoutCloexec(segment, descriptor: fd)
        }
        func close() throws {
            if descriptor >= 0 { Glibc.close(descriptor); descriptor = -1 }
            try inner.close()
        }
    }
}
