import Glibc
import LabKit
import Lessons
import Solution02

/// Lesson 02's realistic mistakes. Each forwards to the reference except for its one mistake.
public enum NamedSegmentMutants {
    public static var all: [Mutant<any NamedSegmentContract.Type>] {
        [
            Mutant(name: "no-ftruncate", mistake: "create never calls ftruncate: the object stays 0 bytes (attachers see size 0, touching it is SIGBUS)",
                        caughtBy: [1, 2, 8], implementation: NoFtruncate.self),
            Mutant(name: "mode-0666", mistake: "create opens with mode 0666 instead of 0600",
                        caughtBy: [1], implementation: WideMode.self),
            Mutant(name: "page-rounded-size", mistake: "create rounds the size up to whole pages (10 bytes become 4096)",
                        caughtBy: [1, 8], implementation: PageRoundedSize.self),
            Mutant(name: "no-excl", mistake: "create opens without O_EXCL, so it reuses (and resizes) an existing segment",
                        caughtBy: [4], implementation: NoExclusive.self),
            Mutant(name: "attach-truncates", mistake: "attach calls ftruncate with the size it was asked, cutting the creator's data",
                        caughtBy: [3], implementation: AttachTruncates.self),
            Mutant(name: "attach-maps-asked-size", mistake: "attach maps the size it was asked instead of fstat's st_size",
                        caughtBy: [3, 8], implementation: AttachMapsAskedSize.self),
            Mutant(name: "no-name-check", mistake: "names go to shm_open unchecked (EINVAL/ENAMETOOLONG as system errors, not invalidName)",
                        caughtBy: [4], implementation: NoNameCheck.self),
            Mutant(name: "no-cleanup-on-failure", mistake: "a create that fails in mmap leaves the object it made in /dev/shm",
                        caughtBy: [4, 7], implementation: NoCleanupOnFailure.self),
            Mutant(name: "fixed-seed-names", mistake: "names come from a generator seeded with a constant: every process makes the same ones",
                        caughtBy: [5], implementation: FixedSeedNames.self),
            Mutant(name: "unlink-in-close", mistake: "close also calls shm_unlink, removing the segment for everyone",
                        caughtBy: [6], implementation: UnlinkInClose.self),
            Mutant(name: "close-noop", mistake: "close does not munmap",
                        caughtBy: [6], implementation: CloseNoop.self),
            Mutant(name: "descriptor-leak", mistake: "the shm_open descriptor is never closed",
                        caughtBy: [6], implementation: DescriptorLeak.self),
            Mutant(name: "unlink-noop", mistake: "unlink does nothing: every segment stays in /dev/shm",
                        caughtBy: [6, 7], implementation: UnlinkNoop.self),
            Mutant(name: "name-keeps-slash", mistake: "create and attach report the name as given, with its leading \"/\"",
                        caughtBy: [1, 3], implementation: NameKeepsSlash.self),
            Mutant(name: "attach-read-only", mistake: "attach opens O_RDONLY and maps PROT_READ: an attacher cannot write its answer",
                        caughtBy: [2], implementation: AttachReadOnly.self),
            Mutant(name: "create-map-private", mistake: "create maps MAP_PRIVATE: the creator's writes never reach the object",
                        caughtBy: [2, 8], implementation: CreateMapPrivate.self),
            Mutant(name: "attach-map-private", mistake: "attach maps MAP_PRIVATE: the attacher's writes never reach the creator",
                        caughtBy: [2], implementation: AttachMapPrivate.self),
            Mutant(name: "ascii-only-names", mistake: "names are refused unless every byte is A–Z a–z 0–9 . _ - (a valid non-ASCII name is invalidName)",
                        caughtBy: [4], implementation: AsciiOnlyNames.self),
            Mutant(name: "nul-accepted", mistake: "the name check forgets NUL: \"a\\0b\" reaches shm_open, which sees \"/a\"",
                        caughtBy: [4], implementation: NulAccepted.self),
            Mutant(name: "dot-accepted", mistake: "the name check refuses \"..\" but not \".\" (shm_open then says EEXIST: /dev/shm/. is the directory)",
                        caughtBy: [4], implementation: DotAccepted.self),
            Mutant(name: "length-in-characters", mistake: "the 255 limit counts characters, not UTF-8 bytes (128 × \"é\" passes and shm_open fails)",
                        caughtBy: [4], implementation: LengthInCharacters.self),
            Mutant(name: "limit-counts-slash", mistake: "the 255-byte limit counts the leading \"/\" too, refusing valid 255-byte names",
                        caughtBy: [4], implementation: LimitCountsSlash.self),
            Mutant(name: "error-name-as-given", mistake: ".alreadyExists and .notFound carry the name as given, with its leading \"/\"",
                        caughtBy: [4], implementation: ErrorNameAsGiven.self),
            Mutant(name: "open-errors-not-found", mistake: "every shm_open failure but EEXIST becomes .notFound (EMFILE, EACCES… are not .systemError)",
                        caughtBy: [4], implementation: OpenErrorsNotFound.self),
            Mutant(name: "size-checked-after-open", mistake: "create checks size > 0 only after shm_open created the object, and leaves it behind",
                        caughtBy: [4, 7], implementation: SizeCheckedAfterOpen.self),
            Mutant(name: "time-seeded-names", mistake: "names come from srandom(time(nil)): processes started in the same second make the same names",
                        caughtBy: [5], implementation: TimeSeededNames.self),
            Mutant(name: "pid-counter-names", mistake: "names are \"shm_<pid>_<counter>\": unique in every call and process, but anyone can guess the next one",
                        caughtBy: [5], implementation: PidCounterNames.self),
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
    /// The reference create, one step at a time, with a knob for each mistake.
    static func createSegment(name: String?, size: Int, flags: Int32 = O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, mode: mode_t = 0o600,
                       truncateTo: Int? = nil, truncate: Bool = true, checkName: Bool = true,
                       cleanUpOnFailure: Bool = true, closeDescriptor: Bool = true,
                       validate: (String) throws -> String = NamedSegment.path(for:), mapFlags: Int32 = MAP_SHARED,
                       sizeAfterOpen: Bool = false) throws -> NamedSegment {
        if !sizeAfterOpen { guard size > 0 else { throw NamedSegmentError.invalidSize(size) } }
        let given = name ?? NamedSegment.generateName()
        let path = checkName ? try validate(given) : (given.hasPrefix("/") ? given : "/" + given)
        let fd = shm_open(path, flags, mode)
        if fd == -1 { throw NamedSegment.error(from: "shm_open", path: path) }
        if sizeAfterOpen { guard size > 0 else { Glibc.close(fd); throw NamedSegmentError.invalidSize(size) } }
        defer { if closeDescriptor { Glibc.close(fd) } }
        if truncate && ftruncate(fd, off_t(truncateTo ?? size)) == -1 {
            let error = NamedSegment.error(from: "ftruncate", path: path)
            if cleanUpOnFailure { shm_unlink(path) }
            throw error
        }
        let address = mmap(nil, size, PROT_READ | PROT_WRITE, mapFlags, fd, 0)
        guard let address, address != MAP_FAILED else {
            let error = NamedSegment.error(from: "mmap", path: path)
            if cleanUpOnFailure { shm_unlink(path) }
            throw error
        }
        return NamedSegment(name: String(path.dropFirst()), bytes: UnsafeMutableRawBufferPointer(start: address, count: size))
    }

    /// The reference attach, with knobs.
    static func attachSegment(name: String, size asked: Int, truncate: Bool = false, mapAsked: Bool = false,
                              openFlags: Int32 = O_RDWR | O_CLOEXEC, protection: Int32 = PROT_READ | PROT_WRITE,
                              mapFlags: Int32 = MAP_SHARED) throws -> NamedSegment {
        let path = try NamedSegment.path(for: name)
        let fd = shm_open(path, openFlags, 0)
        if fd == -1 { throw NamedSegment.error(from: "shm_open", path: path) }
        defer { Glibc.close(fd) }
        if truncate && ftruncate(fd, off_t(asked)) == -1 { throw NamedSegment.error(from: "ftruncate", path: path) }
        var info = stat()
        if fstat(fd, &info) == -1 { throw NamedSegment.error(from: "fstat", path: path) }
        let size = mapAsked ? asked : Int(info.st_size)
        guard size > 0 else { return NamedSegment(name: String(path.dropFirst()), bytes: UnsafeMutableRawBufferPointer(start: nil, count: 0)) }
        let address = mmap(nil, size, protection, mapFlags, fd, 0)
        guard let address, address != MAP_FAILED else { throw NamedSegment.error(from: "mmap", path: path) }
        return NamedSegment(name: String(path.dropFirst()), bytes: UnsafeMutableRawBufferPointer(start: address, count: size))
    }

    final class NoFtruncate: ForwardsToNamedSegment {
        let inner: NamedSegment
        init(_ inner: NamedSegment) { self.inner = inner }
        static func create(name: String?, size: Int) throws -> NoFtruncate {
            NoFtruncate(try createSegment(name: name, size: size, truncate: false))          // mistake: the object stays empty
        }
    }

    final class WideMode: ForwardsToNamedSegment {
        let inner: NamedSegment
        init(_ inner: NamedSegment) { self.inner = inner }
        static func create(name: String?, size: Int) throws -> WideMode {
            WideMode(try createSegment(name: name, size: size, mode: 0o666))                 // mistake: everyone may read and write
        }
    }

    final class PageRoundedSize: ForwardsToNamedSegment {
        let inner: NamedSegment
        init(_ inner: NamedSegment) { self.inner = inner }
        static func create(name: String?, size: Int) throws -> PageRoundedSize {
            let page = Int(sysconf(Int32(_SC_PAGESIZE)))
            let rounded = size > 0 && size < Int.max / 2 ? (size + page - 1) / page * page : size
            return PageRoundedSize(try createSegment(name: name, size: size, truncateTo: rounded))   // mistake: whole pages
        }
        var size: Int { Int(objectSize("/" + inner.name)) }
    }

    /// What fstat says of an object (the page-rounded mutant reports it as its size).
    static func objectSize(_ path: String) -> off_t {
        let fd = shm_open(path, O_RDONLY | O_CLOEXEC, 0)
        guard fd >= 0 else { return -1 }
        defer { Glibc.close(fd) }
        var info = stat()
        return fstat(fd, &info) == 0 ? info.st_size : -1
    }

    final class NoExclusive: ForwardsToNamedSegment {
        let inner: NamedSegment
        init(_ inner: NamedSegment) { self.inner = inner }
        static func create(name: String?, size: Int) throws -> NoExclusive {
            NoExclusive(try createSegment(name: name, size: size, flags: O_CREAT | O_RDWR | O_CLOEXEC))   // mistake: no O_EXCL
        }
    }

    final class AttachTruncates: ForwardsToNamedSegment {
        let inner: NamedSegment
        init(_ inner: NamedSegment) { self.inner = inner }
        static func attach(name: String, size: Int) throws -> AttachTruncates {
            AttachTruncates(try attachSegment(name: name, size: size, truncate: true))      // mistake: resizes someone else's segment
        }
    }

    final class AttachMapsAskedSize: ForwardsToNamedSegment {
        let inner: NamedSegment
        init(_ inner: NamedSegment) { self.inner = inner }
        static func attach(name: String, size: Int) throws -> AttachMapsAskedSize {
            AttachMapsAskedSize(try attachSegment(name: name, size: size, mapAsked: true))  // mistake: trusts the caller's size
        }
    }

    final class NoNameCheck: ForwardsToNamedSegment {
        let inner: NamedSegment
        init(_ inner: NamedSegment) { self.inner = inner }
        static func create(name: String?, size: Int) throws -> NoNameCheck {
            NoNameCheck(try createSegment(name: name, size: size, checkName: false))        // mistake: shm_open judges the name
        }
        static func attach(name: String, size: Int) throws -> NoNameCheck {
            let path = name.hasPrefix("/") ? name : "/" + name
            let fd = shm_open(path, O_RDWR | O_CLOEXEC, 0)
            if fd == -1 { throw NamedSegment.error(from: "shm_open", path: path) }
            Glibc.close(fd)
            return NoNameCheck(try NamedSegment.attach(name: name, size: size))
        }
    }

    final class NoCleanupOnFailure: ForwardsToNamedSegment {
        let inner: NamedSegment
        init(_ inner: NamedSegment) { self.inner = inner }
        static func create(name: String?, size: Int) throws -> NoCleanupOnFailure {
            NoCleanupOnFailure(try createSegment(name: name, size: size, cleanUpOnFailure: false))   // mistake: leaks on failure
        }
    }

    final class FixedSeedNames: ForwardsToNamedSegment {
        let inner: NamedSegment
        init(_ inner: NamedSegment) { self.inner = inner }
        static var state: UInt64 = 42                                                       // mistake: the same seed everywhere
        static func generateName() -> String {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return "shm_" + String(state, radix: 16)
        }
        static func create(name: String?, size: Int) throws -> FixedSeedNames {
            FixedSeedNames(try createSegment(name: name ?? generateName(), size: size))
        }
    }

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

    final class DescriptorLeak: ForwardsToNamedSegment {
        let inner: NamedSegment
        init(_ inner: NamedSegment) { self.inner = inner }
        static func create(name: String?, size: Int) throws -> DescriptorLeak {
            DescriptorLeak(try createSegment(name: name, size: size, closeDescriptor: false))  // mistake: the fd stays open
        }
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

    final class AttachReadOnly: ForwardsToNamedSegment {
        let inner: NamedSegment
        init(_ inner: NamedSegment) { self.inner = inner }
        static func attach(name: String, size: Int) throws -> AttachReadOnly {
            AttachReadOnly(try attachSegment(name: name, size: size, openFlags: O_RDONLY | O_CLOEXEC, protection: PROT_READ))   // mistake
        }
    }

    final class CreateMapPrivate: ForwardsToNamedSegment {
        let inner: NamedSegment
        init(_ inner: NamedSegment) { self.inner = inner }
        static func create(name: String?, size: Int) throws -> CreateMapPrivate {
            CreateMapPrivate(try createSegment(name: name, size: size, mapFlags: MAP_PRIVATE))     // mistake: a private copy
        }
    }

    final class AttachMapPrivate: ForwardsToNamedSegment {
        let inner: NamedSegment
        init(_ inner: NamedSegment) { self.inner = inner }
        static func attach(name: String, size: Int) throws -> AttachMapPrivate {
            AttachMapPrivate(try attachSegment(name: name, size: size, mapFlags: MAP_PRIVATE))      // mistake: a private copy
        }
    }

    /// The reference's name check with one rule changed.
    static func validated(_ name: String, bare check: (String) -> Bool) throws -> String {
        let bare = name.hasPrefix("/") ? String(name.dropFirst()) : name
        guard check(bare) else { throw NamedSegmentError.invalidName(name) }
        return "/" + bare
    }

    final class AsciiOnlyNames: ForwardsToNamedSegment {
        let inner: NamedSegment
        init(_ inner: NamedSegment) { self.inner = inner }
        static func check(_ name: String) throws -> String {
            _ = try NamedSegment.path(for: name)
            return try validated(name) { bare in                                          // mistake: too strict
                bare.utf8.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x61 && $0 <= 0x7A)
                    || $0 == 0x2E || $0 == 0x5F || $0 == 0x2D }
            }
        }
        static func create(name: String?, size: Int) throws -> AsciiOnlyNames {
            AsciiOnlyNames(try createSegment(name: name, size: size, validate: check))
        }
        static func attach(name: String, size: Int) throws -> AsciiOnlyNames {
            _ = try check(name)
            return AsciiOnlyNames(try NamedSegment.attach(name: name, size: size))
        }
    }

    /// A name check with the reference's rules, some left out or changed.
    static func looseCheck(nul: Bool = true, dot: Bool = true, bytes: Bool = true, slashCounts: Bool = false) -> (String) throws -> String {
        { name in
            try validated(name) { bare in
                !bare.isEmpty && (!dot || bare != ".") && bare != ".." && !bare.contains("/")
                    && (!nul || !bare.utf8.contains(0))
                    && (bytes ? (slashCounts ? ("/" + bare).utf8.count : bare.utf8.count) : bare.count) <= 255
            }
        }
    }

    final class NulAccepted: ForwardsToNamedSegment {
        let inner: NamedSegment
        init(_ inner: NamedSegment) { self.inner = inner }
        static let check = looseCheck(nul: false)                                          // mistake: NUL goes through
        static func create(name: String?, size: Int) throws -> NulAccepted {
            NulAccepted(try createSegment(name: name, size: size, validate: check))
        }
        static func attach(name: String, size: Int) throws -> NulAccepted {
            NulAccepted(try attachLoosely(name: name, size: size, check: check))
        }
    }

    final class DotAccepted: ForwardsToNamedSegment {
        let inner: NamedSegment
        init(_ inner: NamedSegment) { self.inner = inner }
        static let check = looseCheck(dot: false)                                          // mistake: "." goes through
        static func create(name: String?, size: Int) throws -> DotAccepted {
            DotAccepted(try createSegment(name: name, size: size, validate: check))
        }
        static func attach(name: String, size: Int) throws -> DotAccepted {
            DotAccepted(try attachLoosely(name: name, size: size, check: check))
        }
    }

    final class LengthInCharacters: ForwardsToNamedSegment {
        let inner: NamedSegment
        init(_ inner: NamedSegment) { self.inner = inner }
        static let check = looseCheck(bytes: false)                                        // mistake: characters, not bytes
        static func create(name: String?, size: Int) throws -> LengthInCharacters {
            LengthInCharacters(try createSegment(name: name, size: size, validate: check))
        }
        static func attach(name: String, size: Int) throws -> LengthInCharacters {
            LengthInCharacters(try attachLoosely(name: name, size: size, check: check))
        }
    }

    final class LimitCountsSlash: ForwardsToNamedSegment {
        let inner: NamedSegment
        init(_ inner: NamedSegment) { self.inner = inner }
        static let check = looseCheck(slashCounts: true)                                   // mistake: "/" counted
        static func create(name: String?, size: Int) throws -> LimitCountsSlash {
            LimitCountsSlash(try createSegment(name: name, size: size, validate: check))
        }
        static func attach(name: String, size: Int) throws -> LimitCountsSlash {
            LimitCountsSlash(try attachLoosely(name: name, size: size, check: check))
        }
    }

    /// The reference attach after a different name check.
    static func attachLoosely(name: String, size: Int, check: (String) throws -> String) throws -> NamedSegment {
        let path = try check(name)
        let fd = shm_open(path, O_RDWR | O_CLOEXEC, 0)
        if fd == -1 { throw NamedSegment.error(from: "shm_open", path: path) }
        defer { Glibc.close(fd) }
        var info = stat()
        if fstat(fd, &info) == -1 { throw NamedSegment.error(from: "fstat", path: path) }
        let size = Int(info.st_size)
        guard size > 0 else { return NamedSegment(name: String(path.dropFirst()), bytes: UnsafeMutableRawBufferPointer(start: nil, count: 0)) }
        let address = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)
        guard let address, address != MAP_FAILED else { throw NamedSegment.error(from: "mmap", path: path) }
        return NamedSegment(name: String(path.dropFirst()), bytes: UnsafeMutableRawBufferPointer(start: address, count: size))
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

    final class SizeCheckedAfterOpen: ForwardsToNamedSegment {
        let inner: NamedSegment
        init(_ inner: NamedSegment) { self.inner = inner }
        static func create(name: String?, size: Int) throws -> SizeCheckedAfterOpen {
            SizeCheckedAfterOpen(try createSegment(name: name, size: size, sizeAfterOpen: true))   // mistake: shm_open first
        }
    }

    final class PidCounterNames: ForwardsToNamedSegment {
        let inner: NamedSegment
        init(_ inner: NamedSegment) { self.inner = inner }
        static var counter = 0
        static func generateName() -> String {
            counter += 1
            return "shm_\(getpid())_\(counter)"   // mistake: unique, not unpredictable
        }
        static func create(name: String?, size: Int) throws -> PidCounterNames {
            PidCounterNames(try createSegment(name: name ?? generateName(), size: size))
        }
    }

    final class TimeSeededNames: ForwardsToNamedSegment {
        let inner: NamedSegment
        init(_ inner: NamedSegment) { self.inner = inner }
        static var seeded = false
        static func generateName() -> String {
            if !seeded { srandom(UInt32(truncatingIfNeeded: time(nil))); seeded = true }   // mistake: the second is the seed
            let high = UInt64(UInt32(truncatingIfNeeded: random())), low = UInt64(UInt32(truncatingIfNeeded: random()))
            let hex = String(high << 32 | low, radix: 16)
            return "shm_" + String(repeating: "0", count: 16 - hex.count) + hex
        }
        static func create(name: String?, size: Int) throws -> TimeSeededNames {
            TimeSeededNames(try createSegment(name: name ?? generateName(), size: size))
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
