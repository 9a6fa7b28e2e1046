import Foundation
@testable import GDBRemote
import HarnessSupport
import Machine
import Reporting
import Testing

@testable import Console
@testable import Suites

/// Every way a test can end, and what the checks after it change: without a machine.
@Suite struct TestVerdictTests {
  func verdict(_ error: (any Error)?, deadlinePassed: Bool = false) -> TestVerdict {
    TestVerdict.of(error, timeout: .seconds(60), deadlinePassed: deadlinePassed, context: "--- consoles")
  }

  @Test func whatTheBodyThrewDecidesTheOutcome() {
    #expect(verdict(nil).outcome == .passed)
    let failed = verdict(TestFailure(message: "3 calls at once", details: "table"))
    #expect(failed == TestVerdict(outcome: .failed, message: "3 calls at once", details: "table"))
    #expect(verdict(TestSkipped(reason: "no tee.elf")) == TestVerdict(outcome: .skipped, message: "no tee.elf"))
    let wait = ExpectTimeout(console: "secure", pattern: "\"got 0x2a\"", timeout: .seconds(5), context: "tails")
    #expect(verdict(wait) == TestVerdict(outcome: .failed, message: "no \"got 0x2a\" on the secure console within 5.0 s", details: "tails"),
      "a console wait that ran out is the guest's failure")
    let harness = verdict(HarnessError("the GDB stub connection closed (QEMU exited)"))
    #expect(harness.outcome == .error && harness.message == "the GDB stub connection closed (QEMU exited)",
      "the harness's own trouble is an error, not the stack's failure")
    #expect(verdict(CancellationError()) == TestVerdict(outcome: .error, message: "interrupted"))
  }

  /// A CPU in a vector entry that branches to itself fails the test at once, saying which, and the machine goes.
  @Test func aCPUInADeadEndFailsTheTestAndSpoilsTheMachine() {
    let cpu = CPUStop(thread: "1", pc: 0xe102200, exceptionLevel: 1, secure: true)
    let ended = verdict(SecureDeadEnd(cpu: cpu, symbol: "el1_sync_sp1", file: "tee.elf"))
    #expect(ended.outcome == .failed && ended.spoilsMachine && ended.details == "--- consoles")
    #expect(ended.message == "CPU 0 entered el1_sync_sp1 (tee.elf), a vector entry that branches to itself: an exception taken while OP-TEE ran on its own exception stack (SP_EL1): a fault inside its exception handling; the CPU never leaves it")
  }

  @Test func aHungTestSaysWhereItHangs() {
    var shell = ExpectTimeout(console: "normal", pattern: "end of shell command `xtest 1004`", timeout: .seconds(290), context: "tails")
    #expect(!TestVerdict.isHang(shell, deadlinePassed: false), "a console wait that is not a shell command's is not a hang")
    shell.command = "xtest 1004"
    #expect(TestVerdict.isHang(shell, deadlinePassed: false))
    #expect(TestVerdict.isHang(DeadlineExceeded("late", after: .seconds(1)), deadlinePassed: true))
    #expect(!TestVerdict.isHang(DeadlineExceeded("no CPU executed console_itr_cb in time", after: .seconds(5)), deadlinePassed: false),
      "a wait for an event that did not come is not a hang")
    #expect(!TestVerdict.isHang(TestFailure(message: "x"), deadlinePassed: true) && !TestVerdict.isHang(nil, deadlinePassed: true))
    let hung = BadPatternSeen(console: "normal", alarm: .init(rule: BadPatternWatcher.hungTask, line: "INFO: task irq/16-optee_no:143 blocked for more than 120 seconds."), context: "")
    #expect(TestVerdict.isHang(hung, deadlinePassed: false), "the kernel's hung-task report is a hang")
    let lockup = BadPatternSeen(console: "normal", alarm: .init(rule: BadPatternWatcher.hardLockup, line: "watchdog: Watchdog detected hard LOCKUP on cpu 1"), context: "")
    #expect(TestVerdict.isHang(lockup, deadlinePassed: false), "a CPU stuck without interrupts: the test says where")
    let oops = BadPatternSeen(console: "normal", alarm: .init(rule: "kernel oops", line: "Internal error: Oops"), context: "")
    #expect(!TestVerdict.isHang(oops, deadlinePassed: false))
    var v = verdict(shell)
    v.add(hang: HangReport(summary: ["OP-TEE threads: thread 0 ACTIVE, thread 1 ACTIVE", "xtest-1004.log never exited, last in o regression_1004.2"],
      details: "Linux's blocked tasks (sysrq w): …"))
    #expect(v.outcome == .failed && v.spoilsMachine)
    #expect(v.message == "no end of shell command `xtest 1004` on the normal console within 290.0 s — where it hangs: OP-TEE threads: thread 0 ACTIVE, thread 1 ACTIVE; xtest-1004.log never exited, last in o regression_1004.2")
    #expect(v.details == "Linux's blocked tasks (sysrq w): …\n\ntails")
    var empty = verdict(shell)
    empty.add(hang: HangReport(summary: [], details: ""))
    #expect(empty == verdict(shell), "nothing learned: nothing changed")
  }

  @Test func aDeadlineSaysWhoseItWas() {
    let inner = DeadlineExceeded("no CPU executed console_itr_cb (tee.elf) in time", after: .seconds(5))
    #expect(verdict(inner).message == inner.description && verdict(inner).details == "--- consoles")
    #expect(verdict(inner, deadlinePassed: true).message == "the test did not finish within 60 s")
    let wait = ExpectTimeout(console: "normal", pattern: "\"# \"", timeout: .seconds(30), context: "tails")
    #expect(verdict(wait, deadlinePassed: true).message == "the test did not finish within 60 s: no \"# \" on the normal console within 30.0 s")
  }

  /// The rule the README states: the stack failing is a failure, the harness's own channels are errors.
  @Test func theHarnessChannelsNotAnsweringIsAnErrorTheStackFailingIsAFailure() {
    let stub = verdict(DeadlineExceeded("GDB stub: the reply to `m1000,8`", after: .seconds(5), channel: true))
    #expect(stub.outcome == .error && stub.message?.contains("GDB stub: the reply to") == true)
    #expect(verdict(DeadlineExceeded("QMP did not answer query-status", after: .zero, channel: true)).outcome == .error)
    #expect(verdict(DeadlineExceeded("GDB stub: a stop of the target", after: .seconds(5))).outcome == .failed,
      "a breakpoint the guest never reached says something of the guest")
    let missed = MilestoneMissed(milestone: "optee driver", meaning: "the driver found no TEE", context: "--- consoles")
    #expect(!TestVerdict.isInfrastructure(missed) && TestVerdict.explain(missed).0 == "no milestone 'optee driver': the driver found no TEE")
  }

  @Test func theChecksAfterTheTestFailItInOrderAndSpoilTheMachine() {
    var v = verdict(nil)
    v.add(checkFailures: [], notes: ["4 calls"])
    v.add(invariant: .held("OP-TEE threads after the test: 2, all FREE"))
    #expect(v.outcome == .passed && v.notes == ["4 calls", "OP-TEE threads after the test: 2, all FREE"] && !v.spoilsMachine)

    var checked = verdict(nil)
    checked.add(checkFailures: ["a spin ended early", "timer stalled"], notes: [])
    #expect(checked.outcome == .failed && checked.message == "a spin ended early; timer stalled")

    var leaked = verdict(nil)
    leaked.add(invariant: .broken("OP-TEE threads left allocated after the test: thread 0 SUSPENDED", "table"))
    leaked.add(alarm: ("normal", .init(rule: "kernel panic", line: "Kernel panic")), context: "tails")
    #expect(leaked.outcome == .failed && leaked.message!.hasPrefix("OP-TEE threads left allocated") && leaked.spoilsMachine,
      "the first check that fails names the test's failure")

    var failedAndLeaked = verdict(TestFailure(message: "the call failed"))
    failedAndLeaked.add(invariant: .broken("OP-TEE threads left allocated after the test: thread 1 ACTIVE", nil))
    #expect(failedAndLeaked.message == "the call failed" && failedAndLeaked.spoilsMachine)
    #expect(failedAndLeaked.notes == ["OP-TEE threads left allocated after the test: thread 1 ACTIVE: the next test gets a fresh machine"])

    var restored = verdict(nil)
    restored.add(restoredProofFailure: "the secure timer does not run on this restored machine", context: "tails")
    #expect(restored.outcome == .failed && restored.spoilsMachine && restored.details == "tails")

    var alarmed = verdict(nil)
    alarmed.add(alarm: ("secure", .init(rule: "OP-TEE panic", line: "E/TC:0 Panic")), context: "tails")
    #expect(alarmed.message == "OP-TEE panic on the secure console: E/TC:0 Panic" && !alarmed.spoilsMachine)

    var skipped = verdict(TestSkipped(reason: "no watchdog"))
    skipped.add(invariant: .broken("left", nil))
    skipped.add(alarm: ("normal", .init(rule: "kernel oops", line: "Oops")), context: "")
    #expect(skipped.outcome == .skipped && !skipped.spoilsMachine, "a skipped test is not failed by what came after")
  }
}

@Suite struct HostPaceTests {
  @Test func boundsScaleWithASlowerHostOnly() {
    #expect(HostPace(seconds: HostPace.referenceSeconds / 2).factor == 1, "a faster host keeps the bounds")
    let twice = HostPace(seconds: 2 * HostPace.referenceSeconds)
    #expect(abs(twice.factor - 2) < 1e-9 && abs(twice.scaled(0.5) - 1) < 1e-9)
    #expect(!twice.tooSlowToJudge && HostPace(seconds: 4 * HostPace.referenceSeconds).tooSlowToJudge)
  }

  @Test func aFailureOnAHostTooSlowToJudgeIsAnErrorThatSaysSo() {
    var slow = TestVerdict(outcome: .failed, message: "the bottom half ran late")
    slow.add(pace: HostPace(seconds: 4 * HostPace.referenceSeconds))
    #expect(slow.outcome == .error)
    #expect(slow.message?.hasPrefix("host too slow to judge: the guest's calibration loop took 3.000 s, 4.0× the reference host's 0.75 s") == true, "\(slow.message ?? "")")
    #expect(slow.message?.hasSuffix("the test said: the bottom half ran late") == true)
    var fine = TestVerdict(outcome: .failed, message: "the bottom half ran late")
    fine.add(pace: HostPace(seconds: 2 * HostPace.referenceSeconds))
    #expect(fine.outcome == .failed, "a host twice as slow is still judged (its bounds were scaled)")
    var passed = TestVerdict()
    passed.add(pace: HostPace(seconds: 10))
    #expect(passed.outcome == .passed)
  }
}

@Suite struct StarvationVerdictTests {
  /// QEMU's CPU 0 found ready to run and never given a CPU from 15.0 s to 15.0 + `seconds` of the machine's clock.
  static func starved(_ seconds: Double) -> HostStarvation {
    var tally = HostStarvation()
    let look = { (on: Double) in HostStarvation.Sample(name: "QEMU's CPU 0", onCPU: on, waited: 0, slices: 7, runnable: true) }
    tally.add([3: look(1)], at: 15)
    tally.add([3: look(1)], at: 15 + seconds)
    return tally
  }
  static let byte = HostStarvation.Late(window: 15.1...16.0, overshoot: 0.37)

  @Test func whatCameLateOverAStarvationAsLongAsItsOvershootIsTheHosts() {
    var failed = TestVerdict(outcome: .failed, message: "bytes were read too late", late: [Self.byte])
    failed.add(starvation: Self.starved(0.91), judging: true)
    #expect(failed.outcome == .error)
    #expect(failed.message?.hasPrefix("host too slow to judge: what came late lies over a starvation of QEMU (15.10–16.00 s, 0.37 s past its bound: QEMU's CPU 0 starved 0.81 s of it); QEMU's CPU 0 was found ready to run") == true, "\(failed.message ?? "")")
    #expect(failed.message?.hasSuffix("the test said: bytes were read too late") == true)
  }

  @Test func whatTheStarvationCannotExplainStaysAFailureAndShowsTheHostsShare() {
    var elsewhere = TestVerdict(outcome: .failed, message: "read late", details: "consoles",
      late: [HostStarvation.Late(window: 20...21, overshoot: 0.3)])
    elsewhere.add(starvation: Self.starved(0.91), judging: true)
    #expect(elsewhere.outcome == .failed && elsewhere.message == "read late", "the stall was not when the byte was late")
    #expect(elsewhere.details?.hasPrefix("host: QEMU's CPU 0 was found ready to run yet given 20 % of a host CPU or less for 0.91 s") == true, "\(elsewhere.details ?? "")")
    #expect(elsewhere.details?.hasSuffix("\n\nconsoles") == true)
    var notALatency = TestVerdict(outcome: .failed, message: "GICD_ISENABLER's bit is clear")
    notALatency.add(starvation: Self.starved(5), judging: true)
    #expect(notALatency.outcome == .failed, "a failure that names nothing late stays one, whatever the host did")
    var alarmed = TestVerdict(outcome: .failed, message: "late", late: [Self.byte])
    alarmed.add(starvation: Self.starved(5), judging: false)
    #expect(alarmed.outcome == .failed, "a panic came with it")
    var erred = TestVerdict(outcome: .error, message: "the GDB stub did not answer")
    erred.add(starvation: Self.starved(0.4), judging: true)
    #expect(erred.outcome == .error && erred.details?.hasPrefix("host: ") == true, "an error shows the host's share too")
    var passed = TestVerdict()
    passed.add(starvation: Self.starved(0.4), judging: true)
    #expect(passed == TestVerdict(), "a pass on a fair host says nothing of it")
    passed.add(starvation: Self.starved(0.6), judging: true)
    #expect(passed.outcome == .passed && passed.notes.first?.hasPrefix("host: QEMU's CPU 0") == true)
  }
}
