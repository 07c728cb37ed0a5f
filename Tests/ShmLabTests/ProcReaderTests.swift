import Glibc
@testable import LabKit
import Testing

/// The /proc readers on made-up file contents (one parser per file, shared by the checks, the
/// stall watch and the sweep), and once on this test process itself.
@Suite("What /proc says, read one way")
struct ProcReaderTests {
    @Test("a stat line: the command may hold spaces and parentheses; state, parent, group and CPU ticks follow it")
    func statLine() throws {
        let line = try #require(ProcessInspection.StatLine.parse(
            "4242 (lab (x) y) S 17 4242 4242 0 -1 4194560 100 0 0 0 25 5 0 0 20 0 1 0 12345 1000 100\n"))
        #expect(line.command == "lab (x) y")
        #expect(line.state == "S")
        #expect(line.parent == 17)
        #expect(line.group == 4242)
        #expect(line.cpuTicks == 30)
        #expect(ProcessInspection.StatLine.parse("garbage") == nil)
    }

    @Test("a syscall line: the number and six arguments; a running thread gives none")
    func systemCall() throws {
        let call = try #require(ProcessInspection.SystemCallInProgress.parse(
            "202 0x7f0000001040 0x89 0x0 0x0 0x0 0xffffffff 0x7ffc 0x7f01\n"))
        #expect(call.number == 202)
        #expect(call.arguments == [0x7f00_0000_1040, 0x89, 0, 0, 0, 0xffff_ffff])
        #expect(ProcessInspection.SystemCallInProgress.parse("running\n") == nil)
        #expect(ProcessInspection.SystemCallInProgress.parse("-1 0x7ffc 0x7f01\n") == nil)
        #expect(ProcessInspection.SystemCallInProgress.parse("7 0x1\n")?.arguments == [])
        let partial = ProcessInspection.SystemCallInProgress(number: 7, arguments: [])
        #expect(ThreadWait.blockedCall(partial, pid: getpid(), tid: getpid(), pipeWriters: { _ in [] }) == "in system call 7")
    }

    static let maps = """
        55d0a000-55d0b000 r-xp 00000000 08:01 1234 /usr/bin/lab
        55d0c000-55d2d000 rw-p 00000000 00:00 0 [heap]
        7f0000000000-7f0000002000 rw-s 00000000 00:01 77 /dev/zero (deleted)
        7f0000010000-7f0000011000 rw-s 00000000 00:1a 99 /dev/shm/lab-counter
        7f0000020000-7f0000021000 rw-p 00000000 00:00 0
        7ffc0000-7ffd0000 rw-p 00000000 00:00 0 [stack]
        """

    @Test("the mapping that holds an address, and where it lies in words")
    func mapping() throws {
        let anonymous = try #require(ProcessInspection.mappingLine(containing: 0x7f00_0000_1040, inMaps: Self.maps))
        #expect(anonymous.hasSuffix("/dev/zero (deleted)"))
        #expect(ThreadWait.mapping(anonymous, containing: 0x7f00_0000_1040) == "+0x1040 in a MAP_SHARED anonymous mapping")
        let named = try #require(ProcessInspection.mappingLine(containing: 0x7f00_0001_0008, inMaps: Self.maps))
        #expect(ThreadWait.mapping(named, containing: 0x7f00_0001_0008) == "+0x8 in /dev/shm/lab-counter (MAP_SHARED)")
        let privateLine = try #require(ProcessInspection.mappingLine(containing: 0x7f00_0002_0000, inMaps: Self.maps))
        #expect(ThreadWait.mapping(privateLine, containing: 0x7f00_0002_0000) == "+0x0 in a MAP_PRIVATE anonymous mapping")
        let heap = try #require(ProcessInspection.mappingLine(containing: 0x55d0_c010, inMaps: Self.maps))
        #expect(ThreadWait.mapping(heap, containing: 0x55d0_c010) == "on the heap")
        #expect(ProcessInspection.mappingLine(containing: 0x7f00_0000_2000, inMaps: Self.maps) == nil, "the end is exclusive")
    }

    @Test("descendants by parent links: children, theirs, not the root's siblings")
    func descendants() {
        func entry(_ pid: pid_t, _ parent: pid_t) -> ProcessInspection.ProcessEntry {
            .init(pid: pid, parent: parent, group: pid, state: "S", command: "x")
        }
        let table = [entry(1, 0), entry(10, 1), entry(11, 10), entry(12, 11), entry(13, 10), entry(20, 1)]
        #expect(ProcessInspection.descendants(of: 10, in: table) == [11, 12, 13])
        #expect(ProcessInspection.descendants(of: 20, in: table) == [])
    }

    @Test("this process through each reader: its parent, CPU time, threads and the mapping of a local")
    func thisProcess() throws {
        let me = getpid()
        let entry = try #require(ProcessInspection.process(me))
        #expect(entry.parent == getppid())
        #expect(ProcessInspection.state(of: me) != nil)
        let snapshot = try #require(ProcessSnapshot.of(me))
        #expect(snapshot.cpuNanoseconds > 0)
        let threads = ThreadSample.threads(of: me)
        #expect(threads.contains { $0.tid == me })
        var local = 0
        let address = withUnsafeMutablePointer(to: &local) { UInt(bitPattern: $0) }
        #expect(ProcessInspection.mappingLine(containing: address, in: me) == ProcessInspection.mappingLine(containing: address))
    }
}
