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

  /// Waits (bounded by `timeout`) until the xtest `start` began has exited; its status is xtest's.
  /// A run that can never end — its log still, and OP-TEE holding threads ACTIVE that no CPU runs (see
  /// `OpteeThread.stranded`), at two looks a `slice` apart — fails as a hang there and then, not at `timeout`.
  package func finish(_ id: String, timeout: Duration, slice: Duration = .seconds(5)) async throws -> XTestRun {
    let log = Self.log(id)
    let started = ContinuousClock.now, deadline = Deadline.after(timeout)
    try await watchForStrandedThreads(id, log: log, slice: slice, until: deadline)
    let result = try await t.run("while ! grep -qs '^\(Self.exitLine) ' \(log); do sleep 0.2; done; \(Self.verdicts(log)); "
      + "exit $(sed -n 's/^\(Self.exitLine) //p' \(log))", timeout: max(deadline.remaining, .seconds(1)))
    return XTestRun(status: result.status, report: XTestReport(parsing: result.output), output: result.output,
      seconds: (ContinuousClock.now - started).seconds)
  }

  /// Returns once xtest's run has exited (or `deadline` is less than a slice away); throws a hang when it cannot.
  /// Each slice in which the log did not grow, OP-TEE's threads and the CPUs are read at one stop in the secure
  /// world; a stack without a probe is only waited for.
  func watchForStrandedThreads(_ id: String, log: String, slice: Duration, until deadline: Deadline) async throws {
    let turns = max(1, Int(slice.seconds / 0.2))
    var size: Int?, looks: [String] = []
    while deadline.remaining > slice + .seconds(10) {
      let waited = try await t.run("i=0; while ! grep -qs '^\(Self.exitLine) ' \(log) && [ $i -lt \(turns) ]; do sleep 0.2; i=$((i+1)); done; "
        + "grep -qs '^\(Self.exitLine) ' \(log) && echo exited; wc -c < \(log)", timeout: slice + .seconds(10))
      let lines = waited.output.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
      if lines.contains("exited") { return }
      let now = lines.last.flatMap { Int($0) }
      defer { size = now }
      guard let now, now == size, let probe = try? t.optee.probe(),
        let (table, cpus) = try? await probe.threadsAndCPUs(deadline: .after(.seconds(5)))
      else { looks = []; continue }
      let stranded = OpteeThread.stranded(table, cpus: cpus)
      guard !stranded.isEmpty else { looks = []; continue }
      looks.append("\(table.map(\.description).joined(separator: ", ")); \(cpus.map(\.description).joined(separator: "; "))")
      if looks.count >= 2 {
        throw TestFailure(message: "xtest \(id) can never end: OP-TEE holds \(stranded.map(\.description).joined(separator: ", ")) while only \(cpus.count(where: \.secure)) of \(cpus.count) CPUs are in the secure world — calls that never come back — at \(looks.count) looks \(Int(slice.seconds)) s apart, xtest's log still at \(now) bytes",
          details: looks.enumerated().map { "look \($0.offset + 1): \($0.element)" }.joined(separator: "\n"), hangs: true)
      }
    }
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
