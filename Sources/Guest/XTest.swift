import Foundation
import GDBRemote
import HarnessSupport
import Suites

/// What one xtest run said: its exit status, its verdict lines parsed, and those lines with
/// the context of any failure.
package struct XTestRun: Sendable {
  package var status: Int32
  package var report: XTestReport
  /// The verdict lines and the lines around each failure (what crossed the console).
  package var output: String
  package var seconds: Double
  package var passed: Bool { status == 0 }
}

/// OP-TEE's test program, run one way: `xtest [-t SUITE] ID` with its output in a file in the guest, of which only
/// the verdict lines and the context of failures cross the console; parsed by `XTestReport`. Without a suite,
/// every suite's case of that number runs (`1001` is `regression_1001` and `pkcs11_1001`).
package struct XTest: Sendable {
  let t: TestContext

  static func log(_ id: String) -> String { "/tmp/xtest-\(id).log" }

  /// The guest commands that print `log`'s verdict lines, then the context of its failures.
  static func verdicts(_ log: String) -> String {
    "grep -E '^\\* [a-z0-9]+_[0-9]+|[a-z0-9]+_[0-9][a-z0-9_.]* (OK|FAILED)$|[a-z0-9]+_[0-9][a-z0-9_]* SKIPPED|of which' \(log); echo '--- failure context:'; "
      + "grep -E -B4 '(FAILED|[^0] failed)' \(log) | tail -n 40"
  }

  static func command(_ id: String, suite: String?) -> String { "xtest \(suite.map { "-t \($0) " } ?? "")\(id)" }

  /// The line the guest appends to a run's log when xtest has exited, whatever way.
  static let exitLine = "xtest exit status"

  /// Runs xtest case `id` (`1001`) of `suite` (every suite's when nil) to its end. xtest runs in the guest's
  /// background while the shell waits for its log to say it exited: a hung xtest leaves a shell that Ctrl-C
  /// gets back, so the harness can still ask the guest where it hangs.
  package func run(_ id: String, suite: String? = nil, timeout: Duration) async throws -> XTestRun {
    try await start(id, suite: suite)
    return try await finish(id, timeout: timeout)
  }

  /// Starts xtest case `id` of `suite` (every suite's when nil) in the guest's background; `finish` waits for it.
  package func start(_ id: String, suite: String? = nil) async throws {
    let log = Self.log(id)
    // The subshell's own output goes to the log (a background job holding the console's pipe would keep this
    // command from ending); the exit line starts a line of its own even after a crash mid-line.
    _ = try await t.run("(\(Self.command(id, suite: suite)) 2>&1; printf '\\n\(Self.exitLine) %d\\n' $?) > \(log) 2>&1 &")
  }

  /// Waits (bounded by `timeout`, and by the test's own deadline less the time to read the verdicts) until the
  /// xtest `start` began has exited; its status is xtest's.
  /// A run that can never end — its log still, and OP-TEE holding threads ACTIVE that no CPU runs (see
  /// `OpteeThread.stranded`), at two looks in a row — fails as a hang there and then, not at `timeout`.
  /// A run still at work at `timeout` (its log grew lately) fails as too slow, not as a hang.
  package func finish(_ id: String, timeout: Duration, slice: Duration = .seconds(5)) async throws -> XTestRun {
    let log = Self.log(id)
    let started = ContinuousClock.now
    let budget = max(.seconds(5), min(timeout, t.deadline.remaining - Self.verdictsTime - Self.lookSlack))
    try await waitForExit(id, log: log, slice: slice, timeout: budget)
    let result = try await t.run("\(Self.verdicts(log)); exit $(sed -n 's/^\(Self.exitLine) //p' \(log))", timeout: Self.verdictsTime)
    return XTestRun(status: result.status, report: XTestReport(parsing: result.output), output: result.output,
      seconds: (ContinuousClock.now - started).seconds)
  }

  /// The time the guest's shell has to print an ended run's verdicts.
  static let verdictsTime = Duration.seconds(30)
  /// What a look's shell command may take beyond the guest time it waits: a guest whose shell xtest starves took
  /// 6–14 s for a look of 5 s.
  static let lookSlack = Duration.seconds(30)

  /// One look at a run: the guest's shell waits up to `seconds` of the guest's clock for the exit line, then says
  /// whether it came, the log's size and the last case or subcase xtest began. Bounded by the guest's clock, not by
  /// a count of turns: a guest whose shell xtest starves takes longer for each turn, not more time.
  static func look(_ log: String, seconds: Int) -> String {
    "(\(TestContext.until("grep -qs '^\(exitLine) ' \(log)", seconds: seconds, pause: "0.2"))) && echo exited; "
      + "echo \"size $(wc -c < \(log) 2>/dev/null)\"; echo \"last $(grep -sE '^\\* [a-z0-9]+_[0-9]+|^o [a-z0-9]+_[0-9.]+' \(log) | tail -n 1)\""
  }

  /// What `look` printed: whether the run exited, its log's size, the last case or subcase it began.
  package static func look(parsing output: String) -> (exited: Bool, size: Int?, last: String?) {
    let lines = output.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
    let size = lines.last { $0.hasPrefix("size ") }.flatMap { Int($0.dropFirst(5)) }
    let last = lines.last { $0.hasPrefix("last ") }.map { String($0.dropFirst(5)) }.flatMap { $0.isEmpty ? nil : $0 }
    return (lines.contains("exited"), size, last)
  }

  /// Returns once xtest's run has exited; throws a hang when it cannot end, a failure when `timeout` passes.
  /// Each look after which the log had not grown, OP-TEE's threads and the CPUs are read at one stop in the secure
  /// world; a stack without a probe is only waited for. A look's shell command may take the rest of `timeout` and
  /// `lookSlack` more: a shell slowed by a busy guest is not a hang; one that does not answer by then is.
  func waitForExit(_ id: String, log: String, slice: Duration, timeout: Duration) async throws {
    let deadline = Deadline.after(timeout)
    var size: Int?, lookedAt = ContinuousClock.now, growth: Growth?
    var looks: [String] = []
    while true {
      let seconds = max(1, min(Int(slice.seconds), Int(deadline.remaining.seconds)))
      let look = Self.look(parsing: try await t.run(Self.look(log, seconds: seconds),
        timeout: max(deadline.remaining, .seconds(seconds)) + Self.lookSlack).output)
      if look.exited { return }
      // A size the console garbled is no news: the last one read stands.
      let grew = look.size.map { now in size.map { now > $0 } ?? true } ?? false
      if grew, let now = look.size { growth = Growth(bytes: now, within: ContinuousClock.now - lookedAt, at: .now) }
      size = look.size ?? size
      lookedAt = .now
      if deadline.hasPassed {
        // A kernel line on the console can split the look's `exited`: asked once more before blaming the run.
        if (try? await t.run("grep -qs '^\(Self.exitLine) ' \(log)", timeout: Self.lookSlack))?.status == 0 { return }
        throw Self.tooSlow(id, timeout: timeout, slice: slice, size: size, growth: growth, last: look.last)
      }
      // A garbled look neither counts towards the hang verdict below nor undoes the looks that did.
      if look.size == nil { continue }
      guard let now = size, !grew, let probe = try? t.optee.probe(),
        let (table, cpus) = try? await probe.threadsAndCPUs(deadline: .after(.seconds(5)))
      else { looks = []; continue }
      let stranded = OpteeThread.stranded(table, cpus: cpus)
      guard !stranded.isEmpty else { looks = []; continue }
      looks.append("\(table.map(\.description).joined(separator: ", ")); \(cpus.map(\.description).joined(separator: "; "))")
      if looks.count >= 2 {
        throw TestFailure(message: "xtest \(id) can never end: OP-TEE holds \(stranded.map(\.description).joined(separator: ", ")) while only \(cpus.count(where: \.secure)) of \(cpus.count) CPUs are in the secure world — calls that never come back — at \(looks.count) looks in a row, xtest's log still at \(now) bytes",
          details: looks.enumerated().map { "look \($0.offset + 1): \($0.element)" }.joined(separator: "\n"), hangs: true)
      }
    }
  }

  /// The last growth of a run's log seen: its size then, the time between the two looks it lies in, and when.
  struct Growth { var bytes: Int, within: Duration, at: ContinuousClock.Instant }

  /// A run not ended at its deadline: still at work when its log grew within the last three slices (xtest writes
  /// its log in bursts, seconds apart on a busy guest), else a hang, with where it hangs.
  static func tooSlow(_ id: String, timeout: Duration, slice: Duration, size: Int?, growth: Growth?, last: String?) -> TestFailure {
    let ago = growth.map { ContinuousClock.now - $0.at }
    let atWork = ago.map { $0 <= slice * 3 } ?? false
    let progress: String
    if let growth, let ago, atWork {
      let within = "\(growth.within.seconds.formatted(decimals: 0)) s"
      let when = ago < .seconds(1) ? "its last \(within)" : "the \(within) that ended \(ago.seconds.formatted(decimals: 0)) s before"
      progress = "still at work, too slow for its time: its log grew to \(growth.bytes) bytes in \(when)"
    } else if let size {
      progress = "its log has not grown for at least \(ago.map { "\($0.seconds.formatted(decimals: 0)) s" } ?? "the whole run") (\(size) bytes)"
    } else {
      progress = "its log was never read"
    }
    return TestFailure(message: "xtest \(id) did not end within \(timeout.seconds.formatted(decimals: 0)) s — \(progress)\(last.map { ", last began: \($0)" } ?? "")",
      hangs: !atWork, spoilsMachine: true)
  }

  /// Guest commands that print, for each xtest run that has not exited, its log's name and the last case and
  /// subcase it began.
  static let unfinished = "for f in /tmp/xtest-*.log; do [ -f \"$f\" ] && ! grep -q '^\(exitLine) ' \"$f\" && "
    + "{ echo \"== $f\"; grep -E '^\\* [a-z0-9]+_[0-9]+|^o [a-z0-9]+_[0-9.]+' \"$f\" | tail -n 2; }; done; true"

  /// What `unfinished` printed: each run's log (without `/tmp/`) and the last case or subcase line it began.
  package static func unfinished(parsing output: String) -> [(log: String, last: String?)] {
    var runs: [(log: String, last: String?)] = []
    for line in output.split(separator: "\n").map({ $0.trimmingCharacters(in: .whitespaces) }) {
      if line.hasPrefix("== ") { runs.append((String(line.dropFirst(3)).replacingOccurrences(of: "/tmp/", with: ""), nil)) }
      else if !runs.isEmpty, !line.isEmpty { runs[runs.count - 1].last = line }
    }
    return runs
  }
}
