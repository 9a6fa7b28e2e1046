import Foundation
import Testing

@testable import HarnessSupport

/// What the host took from a test: QEMU's threads looked at on the host, and the longest stretch a guest CPU was
/// ready to run yet got next to no host CPU.
@Suite struct HostStarvationTests {
  @Test func schedstatAndStatLinesSayTimesAndState() throws {
    let times = try #require(SchedStat.times("365473505 66700453 2425\n"))
    #expect(times.onCPU == 0.365473505 && times.waited == 0.066700453)
    #expect(SchedStat.times("365473505") == nil && SchedStat.times("") == nil && SchedStat.times("a b c") == nil)
    #expect(SchedStat.runnable("15418 (CPU 0/TCG) R 1 15409 15409 0 -1") == true)
    #expect(SchedStat.runnable("15419 (CPU 1/TCG) S 1 15409") == false)
    #expect(SchedStat.runnable("7 (a) b) R 1") == true, "the name may hold parentheses and spaces")
    #expect(SchedStat.runnable("garbage") == nil)
  }

  @Test func qemusThreadsAreNamedByWhatTheyRun() {
    #expect(StarvationWatch.name(thread: 10, comm: "qemu-system-aar", qemu: 10) == "QEMU's main loop")
    #expect(StarvationWatch.name(thread: 12, comm: "CPU 1/TCG", qemu: 10) == "QEMU's CPU 1")
    #expect(StarvationWatch.name(thread: 12, comm: "ALL CPUs/TCG", qemu: 10) == "QEMU's ALL CPUs")
    #expect(StarvationWatch.name(thread: 13, comm: "qemu-system-aar", qemu: 10) == nil, "a worker does not run the guest")
    #expect(StarvationWatch.name(thread: 14, comm: "call_rcu", qemu: 10) == nil)
  }

  static func look(_ name: String, _ onCPU: Double, waited: Double = 0, runnable: Bool = true) -> HostStarvation.Sample {
    HostStarvation.Sample(name: name, onCPU: onCPU, waited: waited, runnable: runnable)
  }

  @Test func aThreadReadyToRunThatGetsNoCPUIsStarvedOnceLinuxCountsTheWait() {
    var tally = HostStarvation()
    func look(_ cpu0: HostStarvation.Sample, at: Double) {
      tally.add([1: cpu0, 2: Self.look("QEMU's CPU 1", at * 0.9)], at: at)
    }
    look(Self.look("QEMU's CPU 0", 5.0, waited: 1), at: 0)  // the baseline: what came before is not the test's
    look(Self.look("QEMU's CPU 0", 5.01, waited: 1), at: 0.1)  // ready, 10 % of a CPU: starved (the wait not ended)
    look(Self.look("QEMU's CPU 0", 5.02, waited: 1), at: 0.2)
    look(Self.look("QEMU's CPU 0", 5.07, waited: 1.2), at: 0.3)  // it ran: the stretch ends, Linux counts 0.2 s
    look(Self.look("QEMU's CPU 0", 5.08, waited: 1.2), at: 0.4)  // ready and held again…
    look(Self.look("QEMU's CPU 0", 5.08, waited: 1.25, runnable: false), at: 0.5)  // …but Linux counts 0.05 s only
    look(Self.look("QEMU's CPU 0", 5.08, waited: 1.25, runnable: false), at: 0.6)
    let worst = tally.worst
    #expect(worst?.name == "QEMU's CPU 0")
    #expect(abs((worst?.length ?? 0) - 0.2) < 1e-9 && worst?.from == 0)
    #expect(abs((tally.threads[1]?.waited ?? 0) - 0.25) < 1e-9, "Linux's own count of the waits that ended")
    #expect(tally.explains(overshoot: 0.15) && !tally.explains(overshoot: 0.3))
    #expect(tally.description.hasPrefix("QEMU's CPU 0 was found ready to run yet got 20 % of a host CPU or less for 0.20 s in a row, from 0.00 s into the test"), "\(tally.description)")
    #expect(tally.description.hasSuffix("QEMU's threads waited for one: QEMU's CPU 0 0.25 s, QEMU's CPU 1 0.00 s"), "\(tally.description)")
  }

  @Test func aStretchStillGoingOnCountsAndOneLinuxDeniesDoesNot() {
    var tally = HostStarvation()
    tally.add([7: Self.look("QEMU's CPU 0", 1)], at: 0)
    tally.add([7: Self.look("QEMU's CPU 0", 1.09)], at: 0.1)
    // One late look: the harness got no CPU for 3 s either, and the guest's CPU ran 0.1 s of them; still waiting.
    tally.add([7: Self.look("QEMU's CPU 0", 1.19)], at: 3.1)
    #expect(tally.explains(overshoot: 2.9) && !tally.explains(overshoot: 3.5))
    #expect(abs((tally.worst?.length ?? 0) - 3.0) < 1e-9 && abs((tally.worst?.from ?? 0) - 0.1) < 1e-9)
    // Found running at each look, little CPU between, and no wait counted: it slept in between.
    var napping = HostStarvation()
    for (i, on) in [1.0, 1.01, 1.02, 1.03, 1.2].enumerated() { napping.add([8: Self.look("QEMU's CPU 1", on, waited: 0.5)], at: Double(i) * 0.1) }
    #expect(napping.worst == nil)
    // A kernel whose schedstat says nothing: CPU time that never moves proves nothing.
    var silent = HostStarvation()
    for i in 0..<20 { silent.add([9: Self.look("QEMU's CPU 0", 0)], at: Double(i) * 0.1) }
    #expect(silent.worst == nil)
    var slow = HostStarvation()
    slow.add([7: Self.look("QEMU's CPU 0", 0)], at: 0)
    slow.add([7: Self.look("QEMU's CPU 0", 1.5)], at: 3)  // half a CPU: slow, not starved
    #expect(slow.worst == nil && !slow.explains(overshoot: 0.1))
    #expect(slow.description.hasPrefix("no thread of QEMU was found ready to run yet held to 20 % of a host CPU or less"))
    #expect(HostStarvation().description.hasPrefix("QEMU's threads could not be read"))
  }

  @Test func theWatchLooksAtARealProcesssThreads() async throws {
    // This process stands for QEMU: its main thread is "QEMU's main loop", and it keeps running here.
    let watch = await StarvationWatch.start(qemu: getpid(), period: .milliseconds(10))
    let until = ContinuousClock.now + .milliseconds(100)
    while ContinuousClock.now < until { await Task.yield() }
    let tally = await watch.stop()
    // A host without schedstat gives no looks at all (and the description says so).
    if FileManager.default.fileExists(atPath: "/proc/self/schedstat") {
      #expect(tally.threads.values.map(\.name) == ["QEMU's main loop"])
    }
    #expect(tally.threads.values.allSatisfy { $0.waited >= 0 })
  }
}
