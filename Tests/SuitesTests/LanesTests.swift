import HarnessSupport
import Foundation
import Reporting
import Testing

@testable import Suites

/// `--jobs`: how a suite's tests are spread over machines, and how their results come back in the suite's order.
@Suite struct LanesTests {
  static func tests(_ names: [String]) -> [Suites.Test] { names.map { Suites.Test($0) { _ in } } }

  @Test func theLongestTestsAreSpreadFirstOntoTheLeastLoadedMachine() {
    let tests = Self.tests(["a", "b", "c", "d", "e"])
    let seconds: [String: Double] = ["a": 10, "b": 700, "c": 30, "d": 60, "e": 20]
    let lanes = Lanes.split(tests, jobs: 2) { seconds[$0.name] }
    #expect(lanes.map { $0.map(\.name) } == [["b"], ["a", "c", "d", "e"]])
    let three = Lanes.split(tests, jobs: 3) { _ in 5 }
    #expect(three.map { $0.map(\.name) } == [["a", "d"], ["b", "e"], ["c"]], "equal lengths: round robin, each lane in the suite's order")
  }

  @Test func oneJobOrOneTestIsOneLaneAndNoLaneIsEmpty() {
    let tests = Self.tests(["a", "b"])
    #expect(Lanes.split(tests, jobs: 1) { _ in 1 }.map { $0.map(\.name) } == [["a", "b"]])
    #expect(Lanes.split(Self.tests(["a"]), jobs: 4) { _ in 1 }.count == 1)
    #expect(Lanes.split(tests, jobs: 8) { _ in 1 }.count == 2)
    #expect(Lanes.split([], jobs: 2) { _ in 1 }.map(\.count) == [0])
  }

  @Test func anUnknownTestCountsAsTheMeanOfTheKnownOnes() {
    let tests = Self.tests(["new", "long", "short"])
    let seconds: [String: Double] = ["long": 100, "short": 10]
    // "new" counts 55: long alone, then new and short together.
    #expect(Lanes.split(tests, jobs: 2) { seconds[$0.name] }.map { $0.map(\.name) } == [["long"], ["new", "short"]])
  }

  @Test func theSharedQueueHandsOutTheLongestTestLeftWhateverItsSuite() {
    let items = ["boot/a", "xtest/b", "ocall/c", "xtest/d", "ocall/new"]
    let seconds: [String: Double] = ["boot/a": 5, "xtest/b": 30, "ocall/c": 90, "xtest/d": 30]
    let queue = SharedQueue(items) { seconds[$0] }
    var handed: [String] = []
    while let next = queue.next() { handed.append(next) }
    // "ocall/new" counts as the mean of the known (38.75 s); equal lengths keep the given order.
    #expect(handed == ["ocall/c", "ocall/new", "xtest/b", "xtest/d", "boot/a"])
    #expect(queue.next() == nil)
  }

  @Test func resultsComeBackInTheSuitesOrderWithTheirCases() {
    func r(_ name: String) -> TestResult { TestResult(suite: "s", name: name, outcome: .passed, seconds: 1) }
    let lanes = [[r("b"), r("b/case1"), r("d")], [r("a"), r("a/case1"), r("a/case2"), r("c")]]
    #expect(Lanes.merge(lanes, order: ["a", "b", "c", "d"]).map(\.name) == ["a", "a/case1", "a/case2", "b", "b/case1", "c", "d"])
  }

  @Test func durationsAreKeptAcrossRunsAndABrokenFileIsNoFile() async throws {
    let folder = ScratchFolder.path("durations-\(UUID().uuidString.prefix(8))")
    defer { try? FileManager.default.removeItem(at: folder) }
    let durations = TestDurations(cache: folder)
    #expect(durations.load().isEmpty)
    let run = RunResult(suites: [SuiteResult(name: "s", properties: [:], tests: [
      TestResult(suite: "s", name: "ran", outcome: .passed, seconds: 12.34),
      TestResult(suite: "s", name: "skipped", outcome: .skipped, seconds: 0),
      TestResult(suite: "s", name: "erred", outcome: .error, seconds: 3),
      TestResult(suite: "s", name: "failed", outcome: .failed, seconds: 200),
    ], seconds: 20)], seconds: 20, runDirectory: "/tmp")
    await durations.record(run)
    #expect(durations.load() == ["s/ran": 12.3])
    try Data("{not json".utf8).write(to: durations.file)
    #expect(durations.load().isEmpty)
    await durations.record(run)
    #expect(durations.load() == ["s/ran": 12.3])
  }

  @Test func aRepeatedTestIsKeptAtOneRunsLength() async throws {
    let folder = ScratchFolder.path("durations-\(UUID().uuidString.prefix(8))")
    defer { try? FileManager.default.removeItem(at: folder) }
    let durations = TestDurations(cache: folder)
    let runs = [8.0, 9.0, 10.0].map { TestResult(suite: "s", name: "spin", outcome: .passed, seconds: $0) }
    let once = TestResult(suite: "s", name: "once", outcome: .passed, seconds: 20)
    await durations.record(RunResult(suites: [SuiteResult(name: "s", properties: [:],
      tests: [RepeatedRuns.combine(runs), once], seconds: 47)], seconds: 47, runDirectory: "/tmp"))
    // 27 s over three runs is 9 s a run: still shorter than the test run once for 20 s.
    #expect(durations.load() == ["s/spin": 9.0, "s/once": 20.0])
  }
}
