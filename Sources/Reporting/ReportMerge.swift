/// Combines the reports of a sharded run into the report one unsharded run would have written: suites and their
/// tests in the order `rank` gives (the catalog's), properties from the first shard that ran the suite (every
/// shard boots the same stack), times summed per suite and taken as the longest shard for the whole run.
package enum ReportMerge {
  /// `rank(suite, test)` orders results (a reported case ranks as its test).
  package static func merge(_ shards: [RunResult], runDirectory: String,
    rank: (String, String) -> (suite: Int, test: Int)) throws(MergeError) -> RunResult
  {
    var suites: [String: SuiteResult] = [:]
    var seen: Set<String> = []
    for shard in shards {
      for suite in shard.suites {
        for test in suite.tests where !seen.insert(test.id).inserted {
          throw MergeError(message: "\(test.id) is in more than one shard's report")
        }
        if var merged = suites[suite.name] {
          merged.tests += suite.tests
          merged.seconds += suite.seconds
          merged.properties.merge(suite.properties) { first, _ in first }
          suites[suite.name] = merged
        } else {
          suites[suite.name] = suite
        }
      }
    }
    let ordered = suites.values.sorted { (rank($0.name, "").suite, $0.name) < (rank($1.name, "").suite, $1.name) }
      .map { suite -> SuiteResult in
        // A test's reported cases share its rank and come from the same shard: their own order is kept.
        var suite = suite
        suite.tests = suite.tests.enumerated()
          .sorted { (rank(suite.name, $0.element.name).test, $0.offset) < (rank(suite.name, $1.element.name).test, $1.offset) }
          .map(\.element)
        return suite
      }
    return RunResult(suites: ordered, seconds: shards.map(\.seconds).max() ?? 0, runDirectory: runDirectory)
  }

  package struct MergeError: Error, CustomStringConvertible {
    package var message: String
    package var description: String { message }
  }
}
