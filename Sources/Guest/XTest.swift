import Foundation
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
    "grep -E '^\\* [a-z0-9]+_[0-9]+|[a-z0-9]+_[0-9.]+ (OK|FAILED)$|of which' \(log); echo '--- failure context:'; "
      + "grep -E -B4 '(FAILED|[^0] failed)' \(log) | tail -n 40"
  }

  static func command(_ id: String, suite: String?) -> String { "xtest \(suite.map { "-t \($0) " } ?? "")\(id)" }

  /// Runs xtest case `id` (`1001`) of `suite` (every suite's when nil) to its end.
  package func run(_ id: String, suite: String? = nil, timeout: Duration) async throws -> XTestRun {
    let log = Self.log(id)
    let result = try await t.run("\(Self.command(id, suite: suite)) > \(log) 2>&1; status=$?; \(Self.verdicts(log)); exit $status",
      timeout: timeout)
    return XTestRun(status: result.status, report: XTestReport(parsing: result.output), output: result.output, seconds: result.seconds)
  }

  /// Starts xtest case `id` of `suite` (every suite's when nil) in the guest's background; `finish` waits for it.
  package func start(_ id: String, suite: String? = nil) async throws {
    _ = try await t.run("\(Self.command(id, suite: suite)) > \(Self.log(id)) 2>&1 &")
  }

  /// Waits (bounded by `timeout`) until the xtest `start` began is done; its status is 0 only if it passed.
  package func finish(_ id: String, timeout: Duration) async throws -> XTestRun {
    let log = Self.log(id)
    let result = try await t.run("while ! grep -q 'TEE test application done' \(log); do sleep 0.2; done; \(Self.verdicts(log)); "
      + "grep -q 'test cases\\? of which 0 failed' \(log)", timeout: timeout)
    return XTestRun(status: result.status, report: XTestReport(parsing: result.output), output: result.output, seconds: result.seconds)
  }
}
