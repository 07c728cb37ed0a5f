import Glibc
import LabKit
import Lessons
import Solution05
import Solution06
import Solution08
import Mutants05
import Mutants06
import Mutants08

/// Lesson 09's realistic mistakes: code that passes lessons 05, 06 and 08 but is slow where it
/// counts. Each is the reference of those lessons with one mistake, and the other two lessons'
/// references beside it.
public enum MeasureMutants {
    public static var all: [Mutant<Lesson09.Implementations>] {
        [
            Mutant(name: "busy-wait-get", mistake: "get polls the queue in a loop (get(timeout: 0) and sched_yield) instead of sleeping on a condition variable",
                        caughtBy: [2], implementation: (SharedQueueMutants.busyWaitGet, Connection.self, SharedArrays.self)),
            Mutant(name: "napping-get", mistake: "get naps 1 ms (usleep) whenever the queue is empty and looks again, instead of waiting on notEmpty",
                        caughtBy: [1], implementation: (SharedQueueMutants.nappingGet, Connection.self, SharedArrays.self)),
            Mutant(name: "one-byte-writes", mistake: "send writes the frame one byte per write() call",
                        caughtBy: [3], implementation: (SharedQueue.self, OneByteWrites.self, SharedArrays.self)),
            Mutant(name: "element-by-element-copy", mistake: "copy(_:into:) moves one element at a time through setElement and element(at:)",
                        caughtBy: [4], implementation: (SharedQueue.self, Connection.self, ElementByElementCopy.self)),
        ]
    }
}

final class OneByteWrites: ForwardsToConnection {
    let inner: Connection
    init(inner: Connection) { self.inner = inner }
    func send(_ message: [UInt8]) throws {
        guard descriptor >= 0 else { throw PipeError.closed }
        for byte in lengthPrefix(message.count) + message {
            try writeLoop(descriptor, [byte])                             // mistake: a system call per byte
        }
    }
}

enum ElementByElementCopy: ForwardsToSharedArrays {
    /// The index of the element at row-major `position`.
    static func index(of position: Int, shape: [Int]) -> [Int] {
        var index = [Int](repeating: 0, count: shape.count)
        var rest = position
        for k in (0..<shape.count).reversed() {
            index[k] = rest % shape[k]
            rest /= shape[k]
        }
        return index
    }

    static func copy<E: SharedElement>(_ values: [E], into array: SharedArray<E>) throws {
        guard values.count == array.count else { throw SharedArrayError.countMismatch(expected: array.count, got: values.count) }
        for (position, value) in values.enumerated() {
            try setElement(value, at: index(of: position, shape: array.shape), of: array)   // mistake: one at a time
        }
    }

    static func copy<E: SharedElement>(_ array: SharedArray<E>, into values: inout [E]) throws {
        guard values.count == array.count else { throw SharedArrayError.countMismatch(expected: array.count, got: values.count) }
        for position in values.indices {
            values[position] = try element(at: index(of: position, shape: array.shape), of: array)   // mistake: one at a time
        }
    }
}
