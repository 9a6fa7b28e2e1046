import Suites

/// Every suite, by name, in the order `check` runs them.
package enum Catalog {
  package static let all: [Suite] = [
    bootSuite, xtestSuite, gdbSuite, threadExhaustionSuite, secureInterruptsSuite, asyncNotificationsSuite, ocallRecoverySuite,
    xtestFullSuite,
  ]
  /// What `check` runs without `--suite`. `ocall-recovery` is asked for by name: on this stack every
  /// supplicant death deadlocks the driver until the client is killed, and its 60 kill rounds take ~15 min.
  package static let defaultSuites = ["boot", "xtest", "thread-exhaustion"]

  package static func suite(named name: String) -> Suite? { all.first { $0.name == name } }

  /// Where a result goes in a report: its suite's place in the catalog, then its test's place in the suite (a
  /// reported case, `test/case`, ranks as its test). Unknown names go last.
  package static func rank(suite: String, test: String) -> (suite: Int, test: Int) {
    guard let s = all.firstIndex(where: { $0.name == suite }) else { return (Int.max, Int.max) }
    let tests = all[s].tests
    let t = tests.firstIndex { $0.name == test } ?? tests.firstIndex { test.hasPrefix($0.name + "/") } ?? Int.max
    return (s, t)
  }
}
