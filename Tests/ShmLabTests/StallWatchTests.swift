import LabKit
import Testing

/// The stall rule on made-up looks at a part's threads (no process is started): quiet means every
/// thread asleep, next to no CPU, nothing printed and no process started or ended, for the window.
@Suite("Stall detection decides from CPU, states and activity")
struct StallWatchTests {
    static func thread(_ tid: Int32, _ state: Character, cpu milliseconds: Double) -> ThreadSample {
        ThreadSample(pid: tid, tid: tid, state: state, cpuNanoseconds: UInt64(milliseconds * 1e6))
    }

    /// Feeds looks 0.1 s apart for `seconds`; `threads(t)` gives the threads at time t. Returns
    /// the first time the watch called the part stalled, or nil.
    static func firstStall(window: Double = 1.5, seconds: Double, activityAt: Set<Int> = [],
                           _ threads: (Double) -> [ThreadSample]) -> Double? {
        var watch = StallWatch(window: window, now: 0)
        var look = 1
        while Double(look) * 0.1 <= seconds + 1e-9 {
            let t = Double(look) * 0.1
            if watch.observe(threads(t), at: t, activity: activityAt.contains(look)) { return t }
            look += 1
        }
        return nil
    }

    @Test("one process asleep with no CPU is stalled once the window has passed")
    func asleepIsStalled() throws {
        let at = try #require(Self.firstStall(seconds: 5) { _ in [Self.thread(10, "S", cpu: 40)] })
        #expect(at >= 1.5 && at <= 1.7, "\(at)")
    }

    @Test("a parent polling its deadlocked children (well under 1% CPU) still counts as quiet")
    func pollingParentIsQuiet() {
        let at = Self.firstStall(seconds: 5) { t in
            [Self.thread(10, "S", cpu: 50 + t * 4),          // 4 ms of CPU a second: waitForProcess's naps
             Self.thread(11, "S", cpu: 20), Self.thread(12, "S", cpu: 20)]
        }
        #expect(at != nil)
    }

    @Test("a busy loop is never stalled, even when it is caught asleep now and then")
    func busyIsNeverStalled() {
        #expect(Self.firstStall(seconds: 10) { t in [Self.thread(10, Int(t * 10) % 7 == 0 ? "S" : "R", cpu: t * 300)] } == nil)
        // Work in bursts: 20 ms of CPU every 0.5 s is real progress.
        #expect(Self.firstStall(seconds: 10) { t in [Self.thread(10, "S", cpu: 20 * (t / 0.5).rounded(.down))] } == nil)
    }

    @Test("a thread running at the end of the window defers the verdict; output, a new or an ended process resets it")
    func progressResets() throws {
        let deferred = try #require(Self.firstStall(seconds: 5) { t in [Self.thread(10, t < 2.05 ? "R" : "S", cpu: 10)] })
        #expect(deferred >= 2.1 - 1e-9, "\(deferred)")
        let printed = try #require(Self.firstStall(seconds: 5, activityAt: [10]) { _ in [Self.thread(10, "S", cpu: 10)] })
        #expect(printed >= 2.5 - 1e-9, "\(printed)")
        let forked = try #require(Self.firstStall(seconds: 5) { t in
            [Self.thread(10, "S", cpu: 10)] + (t >= 1.0 ? [Self.thread(11, "S", cpu: 5)] : [])
        })
        #expect(forked >= 2.5 - 1e-9, "\(forked)")
        let disk = Self.firstStall(seconds: 5) { _ in [Self.thread(10, "D", cpu: 10)] }
        #expect(disk == nil, "uninterruptible I/O is not a deadlock")
    }

    @Test("a part that declares a longer window is not stalled before it")
    func declaredWindow() throws {
        #expect(Self.firstStall(window: 6, seconds: 5) { _ in [Self.thread(10, "S", cpu: 10)] } == nil)
    }
}
