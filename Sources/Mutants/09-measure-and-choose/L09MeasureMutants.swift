import Glibc
import LabKit
import Lessons
import Solution05
import Solution06
import Solution08
import Mutants06
import Mutants08

/// Lesson 09's realistic mistakes: code that passes lessons 05, 06 and 08 but is slow where it
/// counts, written from lesson 09's clause table. Each wraps the reference of its lesson with one
/// mistake, with the other two lessons' references beside it.
public enum MeasureMutants {
    public static var all: [Mutant<Lesson09.Implementations>] {
        [
            // Part 1: a put wakes the waiting get at once.
            Mutant(name: "napping-get", mistake: "get naps 1 ms (usleep) whenever the queue is empty and looks again, instead of waiting on notEmpty",
                   caughtBy: [1], implementation: (SlowQueue<NappingGet>.self, Connection.self, SharedArrays.self)),
            Mutant(name: "napping-put", mistake: "put sleeps 1 ms after each message \"to give the consumer a chance to run\"",
                   caughtBy: [1], implementation: (SlowQueue<NappingPut>.self, Connection.self, SharedArrays.self)),
            Mutant(name: "get-naps-first", mistake: "get sleeps 1 ms before it looks, \"to let messages collect\"",
                   caughtBy: [1], implementation: (SlowQueue<GetNapsFirst>.self, Connection.self, SharedArrays.self)),
            // Part 2: a waiting get sleeps in the kernel.
            Mutant(name: "busy-wait-get", mistake: "get polls the queue in a loop (get(timeout: 0) and sched_yield) instead of sleeping on a condition variable",
                   caughtBy: [2], implementation: (SlowQueue<BusyWaitGet>.self, Connection.self, SharedArrays.self)),
            Mutant(name: "tight-spin-get", mistake: "get polls the queue in a tight loop, not even yielding the CPU",
                   caughtBy: [2], implementation: (SlowQueue<TightSpinGet>.self, Connection.self, SharedArrays.self)),
            Mutant(name: "spin-before-sleep-get", mistake: "get spins for 10 ms (\"spinning is faster than sleeping\") before it waits on the condition variable",
                   caughtBy: [2], implementation: (SlowQueue<SpinBeforeSleepGet>.self, Connection.self, SharedArrays.self)),
            // Part 3: a few system calls per message.
            Mutant(name: "one-byte-writes", mistake: "send writes the frame one byte per write() call",
                   caughtBy: [3], implementation: (SharedQueue.self, SlowConnection<OneByteWrites>.self, SharedArrays.self)),
            Mutant(name: "one-byte-reads", mistake: "receive reads the frame one byte per read() call",
                   caughtBy: [3], implementation: (SharedQueue.self, SlowConnection<OneByteReads>.self, SharedArrays.self)),
            Mutant(name: "small-chunk-writes", mistake: "send writes the payload in 16-byte pieces, one write() each",
                   caughtBy: [3], implementation: (SharedQueue.self, SlowConnection<SmallChunkWrites>.self, SharedArrays.self)),
            // Part 4: one bulk copy.
            Mutant(name: "element-by-element-copy", mistake: "copy(_:into:) moves one element at a time through setElement and element(at:)",
                   caughtBy: [4], implementation: (SharedQueue.self, Connection.self, ElementByElementCopy.self)),
            Mutant(name: "copy-out-element-by-element", mistake: "copying out of the array goes element by element through element(at:); copying in is one memcpy",
                   caughtBy: [4], implementation: (SharedQueue.self, Connection.self, CopyOutElementByElement.self)),
            Mutant(name: "copy-in-through-fill", mistake: "copying into the array calls fill(_:rows:with:) with a closure that looks each value up",
                   caughtBy: [4], implementation: (SharedQueue.self, Connection.self, CopyInThroughFill.self)),
        ]
    }
}

// MARK: - Lesson 05: the reference queue with a slow habit

public protocol QueueHabit { static var habit: SlowQueueHabit { get } }
public enum SlowQueueHabit { case nappingGet, nappingPut, getNapsFirst, busyWaitGet, tightSpinGet, spinBeforeSleepGet }
public enum NappingGet: QueueHabit { public static let habit = SlowQueueHabit.nappingGet }
public enum NappingPut: QueueHabit { public static let habit = SlowQueueHabit.nappingPut }
public enum GetNapsFirst: QueueHabit { public static let habit = SlowQueueHabit.getNapsFirst }
public enum BusyWaitGet: QueueHabit { public static let habit = SlowQueueHabit.busyWaitGet }
public enum TightSpinGet: QueueHabit { public static let habit = SlowQueueHabit.tightSpinGet }
public enum SpinBeforeSleepGet: QueueHabit { public static let habit = SlowQueueHabit.spinBeforeSleepGet }

/// The reference queue (its state lives in the block, so every process forked after init shares
/// it), with one slow habit around get or put.
public struct SlowQueue<Habit: QueueHabit>: SharedQueueContract {
    let inner: SharedQueue

    public init(creatingIn block: UnsafeMutableRawBufferPointer, lock: ProcessSharedMutex) throws {
        inner = try SharedQueue(creatingIn: block, lock: lock)
    }

    public var maximumMessageSize: Int { inner.maximumMessageSize }
    public var approximateCount: Int { inner.approximateCount }
    public func close() throws { try inner.close() }

    public func put(_ message: [UInt8], timeout: Double) throws {
        try inner.put(message, timeout: timeout)
        if Habit.habit == .nappingPut { usleep(1000) }                        // mistake (nappingPut)
    }

    /// Polls with get(timeout: 0) until `timeout`, doing `between` after each miss.
    func poll(timeout: Double, until deadline: Double? = nil, _ between: () -> Void) throws -> [UInt8]? {
        let end = deadline ?? (monotonicSeconds() + timeout)
        while true {
            do {
                return try inner.get(timeout: 0)
            } catch QueueError.empty {
                if monotonicSeconds() >= end { return nil }
                between()
            }
        }
    }

    public func get(timeout: Double) throws -> [UInt8] {
        switch Habit.habit {
        case .nappingGet:
            guard let message = try poll(timeout: timeout, { usleep(1000) }) else { throw QueueError.empty }   // mistake
            return message
        case .getNapsFirst:
            usleep(1000)                                                      // mistake: every get waits first
            return try inner.get(timeout: timeout)
        case .busyWaitGet:
            guard let message = try poll(timeout: timeout, { sched_yield() }) else { throw QueueError.empty }  // mistake
            return message
        case .tightSpinGet:
            guard let message = try poll(timeout: timeout, {}) else { throw QueueError.empty }                // mistake
            return message
        case .spinBeforeSleepGet:
            let spinUntil = monotonicSeconds() + min(timeout, 0.01)
            if let message = try poll(timeout: timeout, until: spinUntil, {}) { return message }              // mistake: 10 ms of spinning
            return try inner.get(timeout: max(0, timeout - 0.01))
        case .nappingPut:
            return try inner.get(timeout: timeout)
        }
    }
}

// MARK: - Lesson 06: the reference connection with small system calls

public protocol ConnectionHabit { static var habit: SlowConnectionHabit { get } }
public enum SlowConnectionHabit { case oneByteWrites, oneByteReads, smallChunkWrites }
public enum OneByteWrites: ConnectionHabit { public static let habit = SlowConnectionHabit.oneByteWrites }
public enum OneByteReads: ConnectionHabit { public static let habit = SlowConnectionHabit.oneByteReads }
public enum SmallChunkWrites: ConnectionHabit { public static let habit = SlowConnectionHabit.smallChunkWrites }

/// The reference connection, except for how many bytes each write() or read() moves (the rest is
/// lesson 06's forwarding to the reference).
public final class SlowConnection<Habit: ConnectionHabit>: ForwardsToConnection {
    public let inner: Connection
    public init(inner: Connection) { self.inner = inner }

    /// Writes all of `bytes` in pieces of at most `piece` bytes, one write() each.
    func write(_ bytes: [UInt8], piece: Int) throws {
        guard descriptor >= 0 else { throw PipeError.closed }
        try bytes.withUnsafeBytes { raw in
            var done = 0
            while done < raw.count {
                let n = Glibc.write(descriptor, raw.baseAddress! + done, min(piece, raw.count - done))
                if n == -1 {
                    if errno == EINTR { continue }
                    throw SystemError("write", object: "fd \(descriptor)")
                }
                done += n
            }
        }
    }

    public func send(_ message: [UInt8]) throws {
        let header = lengthPrefix(message.count)
        switch Habit.habit {
        case .oneByteWrites: try write(header + message, piece: 1)               // mistake: a system call per byte
        case .smallChunkWrites: try write(header + message, piece: 16)           // mistake: 16 bytes per system call
        case .oneByteReads: try inner.send(message)
        }
    }

    /// Reads exactly `count` bytes, one read() per byte; nil at end-of-file before the first.
    func readBytes(_ count: Int) throws -> [UInt8]? {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(count)
        var byte: UInt8 = 0
        while bytes.count < count {
            let n = Glibc.read(descriptor, &byte, 1)                          // mistake: one byte per read()
            if n == -1 {
                if errno == EINTR { continue }
                throw SystemError("read", object: "fd \(descriptor)")
            }
            if n == 0 {
                if bytes.isEmpty { return nil }
                throw PipeError.truncated(expected: count, received: bytes.count)
            }
            bytes.append(byte)
        }
        return bytes
    }

    public func receive() throws -> [UInt8] {
        guard Habit.habit == .oneByteReads else { return try inner.receive() }
        guard descriptor >= 0 else { throw PipeError.closed }
        guard let header = try readBytes(4) else { throw PipeError.endOfFile }
        let length = try checkedLength(bigEndianLength(header))
        if length == 0 { return [] }
        guard let payload = try readBytes(length) else { throw PipeError.truncated(expected: length, received: 0) }
        return payload
    }
}

// MARK: - Lesson 08: copies that are not one bulk copy

enum ElementByElementCopy: ForwardsToSharedArrays {
    static func copy<E: SharedElement>(_ values: [E], into array: SharedArray<E>) throws {
        guard values.count == array.count else { throw SharedArrayError.countMismatch(expected: array.count, got: values.count) }
        for (position, value) in values.enumerated() {
            try setElement(value, at: Lesson08.indexOf(position, array.shape), of: array)   // mistake: one at a time
        }
    }

    static func copy<E: SharedElement>(_ array: SharedArray<E>, into values: inout [E]) throws {
        guard values.count == array.count else { throw SharedArrayError.countMismatch(expected: array.count, got: values.count) }
        for position in values.indices {
            values[position] = try element(at: Lesson08.indexOf(position, array.shape), of: array)   // mistake: one at a time
        }
    }
}

enum CopyOutElementByElement: ForwardsToSharedArrays {
    static func copy<E: SharedElement>(_ array: SharedArray<E>, into values: inout [E]) throws {
        guard values.count == array.count else { throw SharedArrayError.countMismatch(expected: array.count, got: values.count) }
        for position in values.indices {
            values[position] = try element(at: Lesson08.indexOf(position, array.shape), of: array)   // mistake: one at a time
        }
    }
}

enum CopyInThroughFill: ForwardsToSharedArrays {
    static func copy<E: SharedElement>(_ values: [E], into array: SharedArray<E>) throws {
        guard values.count == array.count else { throw SharedArrayError.countMismatch(expected: array.count, got: values.count) }
        let shape = array.shape
        try fill(array, rows: 0..<shape[0]) { index in
            values[(try? offset(of: index, shape: shape)) ?? 0]                  // mistake: a closure call and a lookup per element
        }
    }
}
