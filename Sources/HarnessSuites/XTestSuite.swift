import Foundation
import Guest
import HarnessSupport
import Suites

/// OP-TEE's own regression tests as a smoke set, each xtest case reported as its own result.
package let xtestSuite = Suite("xtest", "xtest smoke: 1001, 1004, 1007 (TA panic recovery), 1033 (supplicant plugin)") {
  for (id, what, timeout) in [
    ("1001", "core self tests", 300), ("1004", "TA that panics and one that runs", 300),
    ("1007", "TA panic recovery", 300), ("1033", "tee-supplicant plugin", 300),
  ] {
    Test("\(id) \(what)", timeout: .seconds(timeout)) { t in
      try await runXTest(id, in: t, timeout: .seconds(timeout - 10))
    }
  }
}

/// Runs xtest case `id`, reports each case it ran, and fails unless every case passed and at least one ran.
func runXTest(_ id: String, in t: TestContext, timeout: Duration) async throws {
  let run = try await t.xtest.run(id, timeout: timeout)
  let report = run.report
  for c in report.cases {
    t.report(case: c.name, c.passed ? .passed : .failed, message: c.passed ? nil : "xtest reports \(c.name) FAILED")
  }
  t.note("xtest \(id): \(report.cases.count) cases, \(report.subtests ?? 0) subtests, \(report.failedSubtests ?? 0) failed; exit status \(run.status)")
  try t.require(!report.cases.isEmpty, "xtest \(id) ran no case", details: run.output)
  let failed = report.cases.filter { !$0.passed }.map(\.name)
  try t.require(failed.isEmpty, "xtest cases failed: \(failed.joined(separator: ", "))", details: run.output.lastLines(40))
  try t.require(run.passed, "xtest \(id) exited with status \(run.status)", details: run.output.lastLines(40))
  try t.require(report.failedSubtests == 0, "xtest \(id) reports \(report.failedSubtests ?? -1) failed subtests")
}
