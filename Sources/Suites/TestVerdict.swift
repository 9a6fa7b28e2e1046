import Console
import Foundation
import GDBRemote
import HarnessSupport
import Machine
import Reporting

/// How a test ended: from what its body threw, then what the checks after it found, in order of precedence.
/// Pure (the machine's console tails come in as `context`), so every way a test can end is tested without QEMU.
struct TestVerdict: Sendable, Equatable {
  var outcome = Outcome.passed
  var message: String?
  var details: String?
  var notes: [String] = []
  /// The machine must not serve another test (a thread left busy, a restored machine whose proof failed).
  var spoilsMachine = false
  /// What the body found past its bound, and when (`TestFailure.late`).
  var late: [HostStarvation.Late] = []

  /// The verdict of a body that threw `error` (nil: it returned); `deadlinePassed` says whether the test's own
  /// deadline had passed when it ended, `context` the tails of both consoles.
  static func of(_ error: (any Error)?, timeout: Duration, deadlinePassed: Bool, context: @autoclosure () -> String?) -> TestVerdict {
    var v = TestVerdict()
    guard let error else { return v }
    let whole = "the test did not finish within \(timeout.seconds.formatted(decimals: 0)) s"
    switch error {
    case let failure as TestFailure:
      (v.outcome, v.message, v.details, v.late) = (.failed, failure.message, failure.details, failure.late)
    case let skipped as TestSkipped: (v.outcome, v.message) = (.skipped, skipped.reason)
    case let end as SecureDeadEnd:
      // The stack is dead on that CPU: nothing more is asked of the machine.
      (v.outcome, v.message, v.details, v.spoilsMachine) = (.failed, end.description, context(), true)
    case let late as DeadlineExceeded where late.channel:
      // QMP or the GDB stub did not answer the harness: its trouble, not the stack's.
      (v.outcome, v.message, v.details) = (.error, late.description, context())
    case let late as DeadlineExceeded:
      // The test's own deadline, or one of a wait inside it.
      (v.outcome, v.message, v.details) = (.failed, deadlinePassed ? whole : late.description, context())
    default:
      let (m, d) = explain(error)
      (v.outcome, v.message, v.details) = (isInfrastructure(error) ? .error : .failed, m, d)
      // A wait inside the test ran into the test's own deadline: say so first.
      if v.outcome == .failed && deadlinePassed { v.message = "\(whole): \(m)" }
    }
    return v
  }

  /// The test's own `check` failures fail a test that otherwise passed.
  mutating func add(checkFailures: [String], notes more: [String]) {
    notes += more
    if outcome == .passed && !checkFailures.isEmpty { (outcome, message) = (.failed, checkFailures.joined(separator: "; ")) }
  }

  /// The stack's invariant after the test: broken, it fails a passed test; either way it spoils the machine.
  mutating func add(invariant: StackChecks.Invariant) {
    switch (invariant, outcome) {
    case (.held(let note), .passed): notes.append(note)
    case (.unavailable(let why), .passed): notes.append("thread check not run: \(why)")
    case (.broken(let m, let d), .passed): (outcome, message, details, spoilsMachine) = (.failed, m, d, true)
    case (.broken(let m, _), .failed):
      // A failed test that left a thread behind would spoil every later one.
      notes.append("\(m): the next test gets a fresh machine")
      spoilsMachine = true
    default: break
    }
  }

  /// A restored machine's proof that failed after a passed test (`dead`: why): the test fails, the machine goes.
  mutating func add(restoredProofFailure dead: String?, context: @autoclosure () -> String) {
    guard outcome == .passed, let dead else { return }
    (outcome, message, details, spoilsMachine) = (.failed, dead, context(), true)
  }

  /// A bad line on a console during a passed test fails it.
  mutating func add(alarm: (console: String, alarm: BadPatternWatcher.Alarm)?, context: @autoclosure () -> String) {
    guard outcome == .passed, let alarm else { return }
    (outcome, message, details) = (.failed, "\(alarm.alarm.rule) on the \(alarm.console) console: \(alarm.alarm.line)", context())
  }

  /// Whether a body that threw `error` hung: it ran into its own deadline, a guest command did not end, the
  /// kernel reported a hung task, or the test found the guest unable to finish. (A wait for an event that did not come is a failure that says so, not a hang.)
  static func isHang(_ error: (any Error)?, deadlinePassed: Bool) -> Bool {
    (error is DeadlineExceeded && deadlinePassed) || (error as? ExpectTimeout)?.command != nil || (error as? TestFailure)?.hangs == true
      || (error as? BadPatternSeen).map { BadPatternWatcher.stalls.contains($0.alarm.rule) } == true
  }

  /// Where a failed test hung: said after its message, the evidence before its details; the machine goes.
  mutating func add(hang: HangReport) {
    guard outcome == .failed, !hang.summary.isEmpty || !hang.details.isEmpty else { return }
    if !hang.summary.isEmpty { message = "\(message ?? "the test hung") — where it hangs: \(hang.summary.joined(separator: "; "))" }
    details = [hang.details, details ?? ""].filter { !$0.isEmpty }.joined(separator: "\n\n")
    spoilsMachine = true
  }

  /// A test that failed on a host too slow to judge its timing ends as an error that says so: the stack is not
  /// blamed for what the host could not do in time.
  mutating func add(pace: HostPace) {
    guard outcome == .failed, pace.tooSlowToJudge else { return }
    outcome = .error
    message = "host too slow to judge: \(pace) (more than \(HostPace.judgeable.formatted(decimals: 0))×); the test said: \(message ?? "")"
  }

  /// What the host took from the test's body: a failure or an error shows it first in its details. A failure
  /// whose every late thing (`late`) lies over a starvation of one of QEMU's threads at least as long as its
  /// overshoot, judged (`judging`: no alarm came with it), ends as an error that says so, with the host's share in
  /// its message: the host alone explains it. A pass that lived through a starvation of half a second or more
  /// notes it.
  mutating func add(starvation: HostStarvation, judging: Bool) {
    switch outcome {
    case .failed where judging && starvation.explains(late):
      outcome = .error
      message = "host too slow to judge: what came late lies over a starvation of QEMU (\(starvation.coverage(of: late))); \(starvation); the test said: \(message ?? "")"
    case .failed, .error:
      details = ["host: \(starvation)", details ?? ""].filter { !$0.isEmpty }.joined(separator: "\n\n")
    case .passed where (starvation.longest?.length ?? 0) >= 0.5:
      notes.append("host: \(starvation)")
    default: break
    }
  }

  static func isInfrastructure(_ error: any Error) -> Bool {
    switch error {
    case is ExpectTimeout, is BadPatternSeen, is TestFailure, is MilestoneMissed: false
    default: true
    }
  }

  /// A one-line message and the details (console tails, QEMU's output) for any error.
  static func explain(_ error: any Error) -> (String, String?) {
    switch error {
    case let e as ExpectTimeout:
      return ("no \(e.pattern) on the \(e.console) console within \(e.timeout.seconds.formatted(decimals: 1)) s", e.context)
    case let e as BadPatternSeen: return ("\(e.alarm.rule) on the \(e.console) console: \(e.alarm.line)", e.context)
    case let e as MilestoneMissed: return (e.description, e.context)
    case let e as ConsoleClosed: return ("the \(e.console) console closed: QEMU exited", e.context)
    case let e as MachineError:
      let lines = e.description.split(separator: "\n", maxSplits: 1).map(String.init)
      return (lines[0], lines.count > 1 ? lines[1] : nil)
    case let e as HarnessError: return (e.line, e.details)
    case is CancellationError: return ("interrupted", nil)
    default: return (String(describing: error), nil)
    }
  }
}
