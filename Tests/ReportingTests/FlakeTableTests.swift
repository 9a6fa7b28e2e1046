import Testing

@testable import Reporting

@Suite struct FlakeTableTests {
  static func run(_ tests: [TestResult]) -> RunResult {
    RunResult(suites: [SuiteResult(name: "s", properties: [:], tests: tests, seconds: 1)], seconds: 1, runDirectory: "/tmp/r")
  }

  @Test func runsFailuresAndErrorsPerTestAndCondition() {
    let quiet = Self.run([
      TestResult(suite: "s", name: "a", outcome: .passed, seconds: 10, runs: [.passed, .passed, .passed]),
      TestResult(suite: "s", name: "b", outcome: .flaky, seconds: 6, runs: [.passed, .failed, .passed]),
      TestResult(suite: "s", name: "c", outcome: .skipped, seconds: 0),
    ])
    let busy = Self.run([
      TestResult(suite: "s", name: "b", outcome: .error, seconds: 9, runs: [.passed, .error, .failed]),
      TestResult(suite: "s", name: "a", outcome: .passed, seconds: 2),
    ])
    let rows = FlakeTable.rows([("quiet", quiet), ("busy", busy)])
    #expect(rows.map { "\($0.test) \($0.condition) \($0.runs) \($0.failures) \($0.errors)" }
      == ["s/a quiet 3 0 0", "s/a busy 1 0 0", "s/b quiet 3 1 0", "s/b busy 3 1 1"])
    let table = FlakeTable.markdown(rows)
    #expect(table.suffix(2) == ["| **all** | quiet | 6 | 1 | 0 | 16 s |", "| **all** | busy | 4 | 1 | 1 | 11 s |"])
  }
}
