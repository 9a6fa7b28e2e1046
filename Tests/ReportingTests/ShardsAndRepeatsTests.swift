import Testing

@testable import Reporting

@Suite struct ShardsAndRepeatsTests {
  static func result(_ suite: String, _ name: String, _ outcome: Outcome = .passed, _ message: String? = nil) -> TestResult {
    TestResult(suite: suite, name: name, outcome: outcome, message: message, seconds: 1)
  }

  static let unsharded = RunResult(suites: [
    SuiteResult(name: "boot", properties: ["manifest": "default"], tests: (1...9).map { result("boot", "b\($0)") }, seconds: 9),
    SuiteResult(name: "xtest", properties: ["manifest": "default"],
      tests: [result("xtest", "1001"), result("xtest", "1001/regression_1001"), result("xtest", "1001/regression_1002"),
              result("xtest", "4001", .failed, "no")] + (1...6).map { result("xtest", "x\($0)") }, seconds: 10),
  ], seconds: 19, runDirectory: "/tmp/all")

  /// The catalog order of the fixture: its own order, a case ranking as its test.
  static func rank(_ suite: String, _ test: String) -> (suite: Int, test: Int) {
    guard let s = unsharded.suites.firstIndex(where: { $0.name == suite }) else { return (Int.max, Int.max) }
    let base = test.split(separator: "/").first.map(String.init) ?? test
    return (s, unsharded.suites[s].tests.firstIndex { $0.name == base } ?? Int.max)
  }

  @Test func shardsParseOnlyIOfN() {
    #expect(Shard("1/2") == Shard("1/2"))
    #expect(Shard("2/2")?.index == 2)
    for bad in ["0/2", "3/2", "1/0", "1", "a/b", "1/2/3", ""] { #expect(Shard(bad) == nil, "\(bad)") }
  }

  @Test func everyTestIsInExactlyOneShardAndTheSplitIsStable() {
    let names = (0..<200).map { "t\($0)" }
    for n in 1...4 {
      let shards = (1...n).map { Shard("\($0)/\(n)")! }
      for name in names { #expect(shards.filter { $0.contains(suite: "s", test: name) }.count == 1) }
    }
    let two = (Shard("1/2")!, Shard("2/2")!)
    let first = names.filter { two.0.contains(suite: "s", test: $0) }
    #expect(first.count > 60 && first.count < 140, "a fair split: \(first.count) of 200")
    #expect(first == names.filter { Shard("1/2")!.contains(suite: "s", test: $0) })
  }

  @Test func twoShardsMergedEqualTheUnshardedRunTestByTest() throws {
    let shards = (1...2).map { i -> RunResult in
      let shard = Shard("\(i)/2")!
      var run = Self.unsharded
      for s in run.suites.indices {
        // A case belongs to the shard of its test, which reported it.
        run.suites[s].tests.removeAll { !shard.contains(suite: $0.suite, test: String($0.name.split(separator: "/")[0])) }
      }
      run.suites.removeAll { $0.tests.isEmpty }
      return run
    }
    #expect(shards.allSatisfy { $0.allTests.count < Self.unsharded.allTests.count })
    let merged = try ReportMerge.merge(shards.reversed(), runDirectory: "/tmp/merged", rank: Self.rank)
    #expect(merged.allTests.map(\.id) == Self.unsharded.allTests.map(\.id))
    #expect(merged.allTests.map(\.outcome) == Self.unsharded.allTests.map(\.outcome))
    #expect(merged.suites.map(\.properties) == Self.unsharded.suites.map(\.properties))
    #expect(merged.exitCode == Self.unsharded.exitCode)
    #expect(JUnitWriter.xml(merged).replacingOccurrences(of: #"time="[0-9.]+""#, with: "", options: .regularExpression)
      == JUnitWriter.xml(Self.unsharded).replacingOccurrences(of: #"time="[0-9.]+""#, with: "", options: .regularExpression))
  }

  @Test func aTestInTwoShardsIsRefused() {
    #expect(throws: ReportMerge.MergeError.self) {
      try ReportMerge.merge([Self.unsharded, Self.unsharded], runDirectory: "/tmp/m", rank: Self.rank)
    }
  }

  @Test func repeatedRunsThatDisagreeAreFlaky() {
    let flaky = RepeatedRuns.combine([Self.result("s", "t"), Self.result("s", "t", .failed, "no line"), Self.result("s", "t")])
    #expect(flaky.outcome == .flaky)
    #expect(flaky.runs == [.passed, .failed, .passed])
    #expect(flaky.message?.contains("passed 2 of 3") == true && flaky.message?.contains("no line") == true)
    #expect(RepeatedRuns.combine([Self.result("s", "t"), Self.result("s", "t")]).outcome == .passed)
    let twice = RepeatedRuns.combine([Self.result("s", "t", .failed, "x"), Self.result("s", "t", .failed, "y")])
    #expect(twice.outcome == .failed && twice.notes == ["run 1 failed: x", "run 2 failed: y"], "each run's own reason is kept")
    #expect(RepeatedRuns.combine([Self.result("s", "t"), Self.result("s", "t", .error, "QEMU died")]).outcome == .error)
    let run = RunResult(suites: [SuiteResult(name: "s", properties: [:], tests: [flaky], seconds: 3)], seconds: 3, runDirectory: "/")
    #expect(run.exitCode == 1)
    #expect(JUnitWriter.xml(run).contains(#"type="flaky""#))
  }
}
