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
                        caughtBy: [3], implementation: AttachMapsAskedSize.self),
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
                       cleanUpOnFailure: Bool = true, closeDescriptor: Bool = true) throws -> NamedSegment {
        guard size > 0 else { throw NamedSegmentError.invalidSize(size) }
        let given = name ?? NamedSegment.generateName()
        let path = checkName ? try NamedSegment.path(for: given) : (given.hasPrefix("/") ? given : "/" + given)
        let fd = shm_open(path, flags, mode)
        if fd == -1 { throw NamedSegment.error(from: "shm_open", path: path) }
        defer { if closeDescriptor { Glibc.close(fd) } }
        if truncate && ftruncate(fd, off_t(truncateTo ?? size)) == -1 {
            let error = NamedSegment.error(from: "ftruncate", path: path)
            if cleanUpOnFailure { shm_unlink(path) }
            throw error
        }
        let address = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)
        guard let address, address != MAP_FAILED else {
            let error = NamedSegment.error(from: "mmap", path: path)
            if cleanUpOnFailure { shm_unlink(path) }
            throw error
        }
        return NamedSegment(name: String(path.dropFirst()), bytes: UnsafeMutableRawBufferPointer(start: address, count: size))
    }

    /// The reference attach, with knobs.
    static func attachSegment(name: String, size asked: Int, truncate: Bool = false, mapAsked: Bool = false) throws -> NamedSegment {
        let path = try NamedSegment.path(for: name)
        let fd = shm_open(path, O_RDWR | O_CLOEXEC, 0)
        if fd == -1 { throw NamedSegment.error(from: "shm_open", path: path) }
        defer { Glibc.close(fd) }
        if truncate && ftruncate(fd, off_t(asked)) == -1 { throw NamedSegment.error(from: "ftruncate", path: path) }
        var info = stat()
        if fstat(fd, &info) == -1 { throw NamedSegment.error(from: "fstat", path: path) }
        let size = mapAsked ? asked : Int(info.st_size)
        guard size > 0 else { return NamedSegment(name: String(path.dropFirst()), bytes: UnsafeMutableRawBufferPointer(start: nil, count: 0)) }
        let address = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)
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
}
