/// Repeated runs of the same tests under several conditions (`ci/flake`) as one table: per test and condition,
/// how many runs, how many failed or errored, and their time. Pure: reports in, lines out.
package enum FlakeTable {
  package struct Row: Sendable, Equatable {
    package var test: String
    package var condition: String
    package var runs: Int
    package var failures: Int
    package var errors: Int
    package var seconds: Double
  }

  /// One row per test and condition, tests in the order they first appear. A reported case (an xtest case) is
  /// left out: its test's own row counts it.
  package static func rows(_ reports: [(condition: String, run: RunResult)]) -> [Row] {
    var rows: [Row] = []
    for (condition, run) in reports {
      for test in run.allTests where test.outcome != .skipped {
        let outcomes = test.runs ?? [test.outcome]
        let row = Row(test: test.id, condition: condition, runs: outcomes.count,
          failures: outcomes.count { $0 == .failed || $0 == .flaky }, errors: outcomes.count { $0 == .error },
          seconds: test.seconds)
        if let i = rows.firstIndex(where: { $0.test == row.test && $0.condition == row.condition }) {
          rows[i].runs += row.runs
          rows[i].failures += row.failures
          rows[i].errors += row.errors
          rows[i].seconds += row.seconds
        } else {
          rows.append(row)
        }
      }
    }
    let order = rows.map(\.test).reduce(into: [String]()) { if !$0.contains($1) { $0.append($1) } }
    return rows.enumerated().sorted { (order.firstIndex(of: $0.element.test)!, $0.offset) < (order.firstIndex(of: $1.element.test)!, $1.offset) }.map(\.element)
  }

  /// A Markdown table with a total line per condition.
  package static func markdown(_ rows: [Row]) -> [String] {
    var lines = ["| test | condition | runs | failures | errors | time |", "|---|---|---|---|---|---|"]
    for row in rows {
      lines.append("| \(row.test) | \(row.condition) | \(row.runs) | \(row.failures) | \(row.errors) | \(Int(row.seconds.rounded())) s |")
    }
    var conditions: [String] = []
    for row in rows where !conditions.contains(row.condition) { conditions.append(row.condition) }
    for condition in conditions {
      let of = rows.filter { $0.condition == condition }
      lines.append("| **all** | \(condition) | \(of.map(\.runs).reduce(0, +)) | \(of.map(\.failures).reduce(0, +)) | \(of.map(\.errors).reduce(0, +)) | \(Int(of.map(\.seconds).reduce(0, +).rounded())) s |")
    }
    return lines
  }
}
