import Foundation
import Images
import Reporting

/// The fault catalog's runs judged against what each fault must make the suites say: per fault, whether every
/// expected failure came with its symptom, when the fault was first named, and which tests it failed (the kill
/// matrix). A run without a fault is a baseline: every failure on it is a false alarm. Pure: runs in, rows out.
package enum KillMatrix {
  package struct Row: Sendable, Equatable {
    /// The stack's name (`secure-uart-irq-off`, or `default` for a baseline).
    package var stack: String
    /// The fault (nil: a baseline run on a working stack).
    package var fault: FaultSpec?
    package var checks: [Check]
    /// Tests that failed, by id, in run order.
    package var failed: [String]
    /// Tests that ended in an error (the harness could not judge), by id.
    package var errors: [String]
    /// How many tests ran (not skipped).
    package var ran: Int
    /// When the fault was first named: the earliest verdict of a test that failed as expected, from the run's start.
    package var namedAt: Double?
    package var runSeconds: Double

    /// Every expected failure came with its symptom (a baseline: nothing failed and nothing errored).
    package var holds: Bool { fault == nil ? failed.isEmpty && errors.isEmpty : checks.allSatisfy { $0.met } }
  }

  package struct Check: Sendable, Equatable {
    package var expected: FaultSpec.Catch
    /// What the run showed for it.
    package var seen: Seen
    package var met: Bool { if case .named = seen { true } else { false } }
  }

  package enum Seen: Sendable, Equatable {
    /// The test failed and its message names the symptom (`decided`: without running, by a link an earlier test
    /// found broken, whose words it repeats).
    case named(test: String, at: Double?, decided: Bool = false)
    /// The test failed, but its message does not say what it must.
    case otherSymptom(test: String, message: String)
    /// The test passed (the fault escaped it), errored or was skipped.
    case notFailed(test: String, outcome: Outcome, message: String?)
    /// No test of the run matches.
    case notRun
  }

  /// One row per run: `stack`, its fault (nil for a baseline) and its results.
  package static func rows(_ runs: [(stack: String, fault: FaultSpec?, run: RunResult)]) -> [Row] {
    runs.map { stack, fault, run in
      let tests = run.allTests.filter { $0.outcome != .skipped && !$0.isCase(in: run) }
      let checks = (fault?.caughtBy ?? []).map { expected in Check(expected: expected, seen: seen(expected, in: tests)) }
      let namedAt = checks.compactMap { check -> Double? in if case .named(_, let at, _) = check.seen { at } else { nil } }.min()
      return Row(stack: stack, fault: fault, checks: checks,
        failed: tests.filter { $0.outcome == .failed || $0.outcome == .flaky }.map(\.id),
        errors: tests.filter { $0.outcome == .error }.map(\.id), ran: tests.count, namedAt: namedAt, runSeconds: run.seconds)
    }
  }

  /// The best evidence for one expectation: a failure naming the symptom, else a failure naming another, else
  /// the matching test's outcome.
  static func seen(_ expected: FaultSpec.Catch, in tests: [TestResult]) -> Seen {
    let candidates = tests.filter { $0.id.localizedCaseInsensitiveContains(expected.test) }
    let failed = candidates.filter { $0.outcome == .failed || $0.outcome == .flaky }
    if let hit = failed.first(where: { expected.named(in: $0.message ?? "") }) {
      return .named(test: hit.id, at: hit.verdictAt, decided: BrokenLinks.decided(hit))
    }
    if let other = failed.first { return .otherSymptom(test: other.id, message: other.message ?? "") }
    if let test = candidates.first { return .notFailed(test: test.id, outcome: test.outcome, message: test.message) }
    return .notRun
  }

  /// The summary (one line per stack) and the matrix (tests × stacks: ✗ failed, ↳ failed at once for a link an
  /// earlier test found broken, E error, · passed, blank: not run).
  package static func markdown(_ rows: [Row], runs: [RunResult]) -> [String] {
    var lines = ["| stack | where | verdict | named by | first named at | run | green run of its suites | failed / ran |",
      "|---|---|---|---|---|---|---|---|"]
    // A red run should take no longer than a green one of the same suites on its baseline.
    let baselines = zip(rows, runs).filter { $0.0.fault == nil }.map(\.1)
    for (row, run) in zip(rows, runs) {
      let green = row.fault.flatMap { fault in
        baseline(of: run, among: baselines).map { $0.suites.filter { fault.suites.contains($0.name) }.map(\.seconds).reduce(0, +) }
      }
      let verdict = row.fault == nil
        ? (row.holds ? "baseline: no false alarm" : "baseline: **\(row.failed.count + row.errors.count) false alarm(s)**")
        : (row.holds ? "caught" : "**escaped**")
      let named = row.checks.map(describe).joined(separator: "<br>")
      let at = row.namedAt.map { "\(Int($0.rounded())) s" } ?? "–"
      lines.append("| \(row.stack) | \(row.fault?.layer ?? "–") | \(verdict) | \(named.isEmpty ? "–" : named) | \(at) | \(Int(row.runSeconds.rounded())) s | \(green.map { "\(Int($0.rounded())) s" } ?? "–") | \(row.failed.count) / \(row.ran)\(row.errors.isEmpty ? "" : ", \(row.errors.count) errors") |")
    }
    lines.append("")
    lines.append("| test | " + rows.map(\.stack).joined(separator: " | ") + " |")
    lines.append("|---|" + String(repeating: "---|", count: rows.count))
    var order: [String] = []
    for run in runs { for test in run.allTests where !test.isCase(in: run) && !order.contains(test.id) { order.append(test.id) } }
    for id in order {
      let cells = zip(rows, runs).map { row, run -> String in
        if row.failed.contains(id) { return run.allTests.contains { $0.id == id && BrokenLinks.decided($0) } ? "↳" : "✗" }
        if row.errors.contains(id) { return "E" }
        return run.allTests.contains { $0.id == id && $0.outcome == .passed } ? "·" : " "
      }
      lines.append("| \(id) | " + cells.joined(separator: " | ") + " |")
    }
    return lines
  }

  /// The baseline a fault's run is measured against: the one whose stack shares the most images with it (the
  /// stack the fault extends differs from it by the patched component alone).
  static func baseline(of run: RunResult, among baselines: [RunResult]) -> RunResult? {
    func images(_ run: RunResult) -> [String: String] {
      (run.suites.first?.properties ?? [:]).filter { $0.key.hasPrefix("image.") && !$0.key.hasSuffix(".origin") }
    }
    let own = images(run)
    return baselines.max { a, b in
      images(a).count { own[$0.key] == $0.value } < images(b).count { own[$0.key] == $0.value }
    }
  }

  static func describe(_ check: Check) -> String {
    let wanted = "\(check.expected.test) says \(check.expected.wanted)"
    switch check.seen {
    case .named(let test, _, let decided): return "✓ \(test)\(decided ? " (↳ decided by a link found broken before it)" : "")"
    case .otherSymptom(let test, let message): return "✗ \(wanted): \(test) failed saying “\(message.prefix(160))”"
    case .notFailed(let test, let outcome, let message):
      return "✗ \(wanted): \(test) \(outcome.rawValue)\(message.map { " (“\($0.prefix(120))”)" } ?? "")"
    case .notRun: return "✗ \(wanted): no such test ran"
    }
  }
}

extension TestResult {
  /// An xtest case or another case a test reported (`test/case`), which its test's own result already counts.
  func isCase(in run: RunResult) -> Bool {
    name.contains("/") && run.allTests.contains { $0.suite == suite && name.hasPrefix($0.name + "/") }
  }
}
