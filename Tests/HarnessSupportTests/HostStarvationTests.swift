import Foundation
import Testing

@testable import HarnessSupport

/// What the host took from a test: QEMU's threads looked at on the host, and the longest stretch a guest CPU was
/// ready to run yet got next to no host CPU.
@Suite struct HostStarvationTests {
  @Test func schedstatAndStatLinesSayTimesAndState() throws {
    let times = try #require(SchedStat.times("365473505 66700453 2425\n"))
    #expect(times.onCPU == 0.365473505 && times.waited == 0.066700453 && times.slices == 2425)
    #expect(SchedStat.times("365473505 1") == nil && SchedStat.times("") == nil && SchedStat.times("a b c") == nil)
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

  static func look(_ name: String, _ onCPU: Double, waited: Double = 0, slices: UInt64 = 1, runnable: Bool = true) -> HostStarvation.Sample {
    HostStarvation.Sample(name: name, onCPU: onCPU, waited: waited, slices: slices, runnable: runnable)
  }

  @Test func aThreadReadyToRunThatGetsNoCPUIsStarvedOnceLinuxCountsTheWait() {
    var tally = HostStarvation()
    func look(_ cpu0: HostStarvation.Sample, at: Double) {
      tally.add([1: cpu0, 2: Self.look("QEMU's CPU 1", at * 0.9)], at: at)
    }
    look(Self.look("QEMU's CPU 0", 5.0, waited: 1), at: 10)  // the baseline: what came before is not the test's
    look(Self.look("QEMU's CPU 0", 5.01, waited: 1), at: 10.1)  // ready, 10 % of a CPU: starved (the wait not ended)
    look(Self.look("QEMU's CPU 0", 5.02, waited: 1), at: 10.2)
    look(Self.look("QEMU's CPU 0", 5.07, waited: 1.2), at: 10.3)  // it ran: 10.0–10.2 ends, Linux counts 0.2 s
    look(Self.look("QEMU's CPU 0", 5.08, waited: 1.2), at: 10.4)  // ready and held again…
    look(Self.look("QEMU's CPU 0", 5.08, waited: 1.25, runnable: false), at: 10.5)  // …Linux counts 0.05 s only
    look(Self.look("QEMU's CPU 0", 5.08, waited: 1.25, runnable: false), at: 10.6)
    #expect(tally.stretches.count == 1)
    let longest = tally.longest
    #expect(longest?.thread == "QEMU's CPU 0" && longest?.from == 10 && abs((longest?.to ?? 0) - 10.2) < 1e-9)
    #expect(tally.description.hasPrefix("QEMU's CPU 0 was found ready to run yet given 20 % of a host CPU or less for 0.20 s (10.00–10.20 s of the machine's clock)"), "\(tally.description)")
    #expect(tally.description.hasSuffix("QEMU's threads waited for one: QEMU's CPU 0 0.25 s, QEMU's CPU 1 0.00 s"), "\(tally.description)")
  }

  @Test func whatCameLateIsTheHostsOnlyWhereAStarvationCoversItsOvershoot() {
    var tally = HostStarvation()
    tally.add([1: Self.look("QEMU's CPU 0", 1, waited: 0)], at: 15.0)
    tally.add([1: Self.look("QEMU's CPU 0", 1.01, waited: 0)], at: 15.1)
    tally.add([1: Self.look("QEMU's CPU 0", 1.02, waited: 0)], at: 16.0)
    tally.add([1: Self.look("QEMU's CPU 0", 1.5, waited: 0.9)], at: 16.6)  // 15.0–16.0 confirmed
    let byte = HostStarvation.Late(window: 15.13...16.02, overshoot: 0.37)
    #expect(tally.explains([byte]))
    #expect(tally.coverage(of: [byte]) == "15.13–16.02 s, 0.37 s past its bound: QEMU's CPU 0 starved 0.87 s of it")
    #expect(!tally.explains([HostStarvation.Late(window: 16.1...17.0, overshoot: 0.3)]), "late after the stall: not the host's")
    #expect(!tally.explains([byte, HostStarvation.Late(window: 16.1...17.0, overshoot: 0.3)]), "every late thing must be covered")
    #expect(!tally.explains([HostStarvation.Late(window: 15.5...16.5, overshoot: 0.6)]), "covered 0.5 s of 0.6")
    #expect(!tally.explains([]), "nothing late explains nothing")
  }

  @Test func aStretchStillGoingOnCountsOnlyIfTheThreadNeverGotACPU() {
    var waiting = HostStarvation()
    waiting.add([7: Self.look("QEMU's CPU 0", 1, slices: 40)], at: 0)
    waiting.add([7: Self.look("QEMU's CPU 0", 1.09, slices: 50)], at: 0.1)
    // One late look: the harness got no CPU for 3 s either; the guest's CPU never got one in them.
    waiting.add([7: Self.look("QEMU's CPU 0", 1.09, slices: 50)], at: 3.1)
    #expect(waiting.longest.map { abs($0.from - 0.1) < 1e-9 && abs($0.length - 3.0) < 1e-9 } == true)
    // Found running at each look, little CPU between, granted a CPU now and then, no wait counted: it slept.
    var napping = HostStarvation()
    for (i, on) in [1.0, 1.01, 1.02, 1.03].enumerated() {
      napping.add([8: Self.look("QEMU's CPU 1", on, waited: 0.5, slices: UInt64(10 + i))], at: Double(i) * 0.1)
    }
    #expect(napping.stretches.isEmpty)
    napping.add([8: Self.look("QEMU's CPU 1", 1.2, waited: 0.5, slices: 20)], at: 0.4)
    #expect(napping.stretches.isEmpty, "Linux counted no wait when it ended")
    // A thread no longer looked at (gone) has no stretch going on.
    var gone = HostStarvation()
    gone.add([7: Self.look("QEMU's CPU 0", 1), 9: Self.look("QEMU's CPU 1", 1)], at: 0)
    gone.add([7: Self.look("QEMU's CPU 0", 1), 9: Self.look("QEMU's CPU 1", 1.1)], at: 0.1)
    gone.add([9: Self.look("QEMU's CPU 1", 1.2)], at: 0.2)
    #expect(gone.stretches.isEmpty)
    var slow = HostStarvation()
    slow.add([7: Self.look("QEMU's CPU 0", 0)], at: 0)
    slow.add([7: Self.look("QEMU's CPU 0", 1.5)], at: 3)  // half a CPU: slow, not starved
    #expect(slow.longest == nil)
    #expect(slow.description.hasPrefix("no thread of QEMU was found starved (ready to run, given 20 % of a host CPU or less)"))
    #expect(HostStarvation().description.hasPrefix("QEMU's threads could not be read"))
  }

  @Test func theWatchLooksAtARealProcesssThreads() async throws {
    // This process stands for QEMU: its main thread is "QEMU's main loop", and it keeps running here.
    let watch = await StarvationWatch.start(qemu: getpid(), origin: .now, period: .milliseconds(10))
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
