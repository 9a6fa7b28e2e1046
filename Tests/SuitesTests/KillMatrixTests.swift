import Images
import Reporting
import Testing

@testable import Suites

@Suite struct KillMatrixTests {
  func run(_ tests: [TestResult], seconds: Double = 100) -> RunResult {
    RunResult(suites: [SuiteResult(name: "s", properties: [:], tests: tests, seconds: seconds)], seconds: seconds, runDirectory: "/r")
  }

  func test(_ name: String, _ outcome: Outcome, _ message: String? = nil, at: Double? = nil) -> TestResult {
    var r = TestResult(suite: "s", name: name, outcome: outcome, message: message, seconds: 1)
    r.verdictAt = at
    return r
  }

  let fault = FaultSpec(layer: "OP-TEE", suites: ["s"], caughtBy: [.init(test: "a byte", says: "notification interrupt")])

  @Test func aFaultIsCaughtOnlyByTheFailureThatNamesIt() {
    let named = run([test("a byte typed", .failed, "the notification interrupt does not reach Linux", at: 42), test("other", .passed)])
    let wrongWords = run([test("a byte typed", .failed, "the secure timer does not run")])
    let escaped = run([test("a byte typed", .passed)])
    let rows = KillMatrix.rows([("named", fault, named), ("wrong", fault, wrongWords), ("escaped", fault, escaped),
      ("missing", fault, run([test("other", .failed, "x")]))])
    #expect(rows[0].holds && rows[0].namedAt == 42 && rows[0].failed == ["s/a byte typed"] && rows[0].ran == 2)
    #expect(!rows[1].holds)
    #expect(rows[1].checks[0].seen == .otherSymptom(test: "s/a byte typed", message: "the secure timer does not run"))
    #expect(!rows[2].holds && rows[2].checks[0].seen == .notFailed(test: "s/a byte typed", outcome: .passed, message: nil))
    #expect(!rows[3].holds && rows[3].checks[0].seen == .notRun)
  }

  @Test func anErrorIsNotACatch() {
    let rows = KillMatrix.rows([("e", fault, run([test("a byte typed", .error, "boot failed: the notification interrupt")]))])
    #expect(!rows[0].holds)
    #expect(rows[0].errors == ["s/a byte typed"])
  }

  @Test func aBaselineHoldsOnlyWithoutFailuresOrErrors() {
    let rows = KillMatrix.rows([("default", nil, run([test("x", .passed)])), ("default", nil, run([test("x", .failed, "no")])),
      ("default", nil, run([test("x", .error, "no")]))])
    #expect(rows.map(\.holds) == [true, false, false])
  }

  /// A fault on the FF-A stack is measured against the FF-A baseline: the one sharing most of its images.
  @Test func eachFaultIsMeasuredAgainstTheBaselineItDiffersLeastFrom() {
    func stack(_ images: [String: String], seconds: Double) -> RunResult {
      RunResult(suites: [SuiteResult(name: "s", properties: images, tests: [test("a byte typed", .passed)], seconds: seconds)],
        seconds: seconds, runDirectory: "/r")
    }
    let smc = stack(["image.tfa": "smc", "image.optee": "plain", "image.kernel": "k"], seconds: 100)
    let ffa = stack(["image.tfa": "spmd", "image.optee": "spmc", "image.kernel": "k"], seconds: 70)
    let broken = stack(["image.tfa": "spmd", "image.optee": "spmc-broken", "image.kernel": "k"], seconds: 80)
    #expect(KillMatrix.baseline(of: broken, among: [smc, ffa])?.seconds == 70)
    let rows = KillMatrix.rows([("default", nil, smc), ("ffa", nil, ffa), ("broken", fault, broken)])
    #expect(KillMatrix.markdown(rows, runs: [smc, ffa, broken]).contains { $0.hasPrefix("| broken |") && $0.contains("| 80 s | 70 s |") })
  }

  @Test func theMatrixMarksEachTestPerStack() {
    let runs = [run([test("t1", .failed, "the notification interrupt", at: 3), test("t1/case", .failed)]), run([test("t1", .passed)])]
    let rows = KillMatrix.rows([("f", fault, runs[0]), ("default", nil, runs[1])])
    let lines = KillMatrix.markdown(rows, runs: runs)
    #expect(lines.contains("| s/t1 | ✗ | · |"))
    // A case a test reported is counted by its test.
    #expect(!lines.contains { $0.hasPrefix("| s/t1/case") })
    #expect(lines.contains { $0.hasPrefix("| f | OP-TEE | **escaped**") })
  }

  /// A test failed at once for a link an earlier test found broken is told apart from one that failed by itself.
  @Test func aTestDecidedByABrokenLinkIsMarkedSo() {
    let finding = BrokenLinks.Finding(link: StackLink("the notifications"), foundBy: "s/t1", message: "the notification interrupt does not reach Linux")
    let runs = [run([test("t1", .failed, finding.message, at: 3), test("a byte typed", .failed, BrokenLinks.message(finding), at: 4)])]
    let rows = KillMatrix.rows([("f", fault, runs[0])])
    #expect(rows[0].checks[0].seen == .named(test: "s/a byte typed", at: 4, decided: true))
    let lines = KillMatrix.markdown(rows, runs: runs)
    #expect(lines.contains("| s/t1 | ✗ |") && lines.contains("| s/a byte typed | ↳ |"))
    #expect(lines.contains { $0.contains("✓ s/a byte typed (↳ decided by a link found broken before it)") })
  }
}
