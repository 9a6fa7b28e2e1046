import Foundation
import Guest
import HarnessSupport
import Suites

/// All of xtest's regression and pkcs11 suites, in groups by case number (each group a test, so `--jobs` spreads
/// them over machines), every case its own result, and what xtest counted checked against what it reported.
package let xtestFullSuite = Suite("xtest-full", "every case of xtest's regression and pkcs11 suites, in groups by case number") {
  for group in XTestGroup.all {
    Test(group.title, timeout: group.timeout) { t in try await runXTestGroup(group, in: t) }
  }
}

/// A part of xtest selected by the text its case names contain (`xtest -t regression _40` runs 4001–4018).
struct XTestGroup: Sendable {
  var suite: String
  var filter: String
  var title: String
  var timeout: Duration

  static let all: [XTestGroup] = [
    .init(suite: "regression", filter: "_1", title: "regression_1xxx: the TEE core", timeout: .seconds(1800)),
    .init(suite: "regression", filter: "_2", title: "regression_2xxx: sockets", timeout: .seconds(600)),
    .init(suite: "regression", filter: "_40", title: "regression_40xx: cryptographic operations", timeout: .seconds(2400)),
    .init(suite: "regression", filter: "_41", title: "regression_41xx: more cryptography", timeout: .seconds(1800)),
    .init(suite: "regression", filter: "_5", title: "regression_5xxx", timeout: .seconds(600)),
    .init(suite: "regression", filter: "_6", title: "regression_6xxx: secure storage", timeout: .seconds(1800)),
    .init(suite: "regression", filter: "_8", title: "regression_8xxx: certificates and big numbers", timeout: .seconds(1200)),
    .init(suite: "pkcs11", filter: "_1", title: "pkcs11_1xxx: the PKCS#11 TA", timeout: .seconds(1800)),
  ]

  /// Whether `name` (`regression_4012`) is one of this group's cases.
  func contains(_ name: String) -> Bool { name.hasPrefix(suite + "_") && name.contains(filter) }
}

/// Cases that fail on this harness's QEMU stacks for reasons outside the stack under test, with the reason; a
/// failure of one of them is reported skipped with it, a pass as a pass.
let knownXTestFailures: [String: String] = [:]

/// Runs one group: every case xtest holds for it (read from the guest's xtest binary) must be reported, and pass.
func runXTestGroup(_ group: XTestGroup, in t: TestContext) async throws {
  // The binary's strings one a line (busybox's `grep -o` prints one match a line, and a binary has few lines).
  let listed = try await t.run("tr '\\0' '\\n' < $(command -v xtest) | grep -E '^\(group.suite)_[0-9]{4}(_[a-z0-9]+)?$' | sort -u", timeout: .seconds(30))
  let held = listed.lines.filter(group.contains)
  if held.isEmpty { try t.skip("this xtest has no \(group.suite) case matching '\(group.filter)'") }
  // Under QEMU's emulation one SMC of xtest's cryptography can keep a CPU in the secure world for more than the
  // 10 s Linux's hard-lockup watchdog allows (seen: regression_4011 with two machines at once, a pkcs11 case alone):
  // the watchdog gets its longest threshold, 60 s; a CPU stuck for longer still fails the group.
  let thresh = try await t.run("echo 60 > /proc/sys/kernel/watchdog_thresh && cat /proc/sys/kernel/watchdog_thresh", timeout: .seconds(10))
  t.note("Linux's hard-lockup watchdog threshold: \(thresh.lines.last ?? "unknown") s (QEMU emulates what hardware does 100 times faster)")
  let run = try await t.xtest.run(group.filter, suite: group.suite, timeout: group.timeout - .seconds(20))
  let report = run.report
  var failed: [String] = []
  for c in report.cases {
    if let why = report.skipped[c.name] {
      t.report(case: c.name, .skipped, message: "xtest skipped it: \(why)")
    } else if c.passed {
      t.report(case: c.name, .passed)
    } else if let known = knownXTestFailures[c.name] {
      t.report(case: c.name, .skipped, message: "known failure: \(known)")
    } else {
      t.report(case: c.name, .failed, message: "xtest reports \(c.name) FAILED")
      failed.append(c.name)
    }
  }
  for (name, why) in report.skipped.sorted(by: { $0.key < $1.key }) { t.report(case: name, .skipped, message: "xtest skipped it: \(why)") }
  t.note("xtest -t \(group.suite) \(group.filter): \(report.cases.count) of the \(held.count) cases its binary holds, \(report.subtests ?? 0) subtests, \(report.failedSubtests ?? 0) failed; exit status \(run.status), \(run.seconds.formatted(decimals: 0)) s")
  let missing = held.filter { name in !report.cases.contains { $0.name == name } && report.skipped[name] == nil }
  try t.require(missing.isEmpty, "xtest holds \(missing.count) case(s) it did not report: \(missing.joined(separator: ", "))", details: run.output.lastLines(40))
  let named = report.cases.count + report.skipped.keys.count { name in !report.cases.contains { $0.name == name } }
  try t.require(report.testCases == named,
    "xtest counted \(report.testCases.map(String.init) ?? "no") test cases, its verdict lines name \(named)", details: run.output.lastLines(40))
  try t.require(failed.isEmpty, "xtest cases failed: \(failed.joined(separator: ", "))", details: run.output.lastLines(40))
  let onlyKnown = report.cases.allSatisfy { $0.passed || knownXTestFailures[$0.name] != nil }
  try t.require(run.passed || onlyKnown, "xtest exited with status \(run.status)", details: run.output.lastLines(40))
}
