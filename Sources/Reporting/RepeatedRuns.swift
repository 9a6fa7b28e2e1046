/// One test run several times (`--repeat N`) reported as one result: passed or failed when every run agreed,
/// flaky when it both passed and failed; an error or a skip in any run wins, since then the test said nothing.
package enum RepeatedRuns {
  package static func combine(_ runs: [TestResult]) -> TestResult {
    guard runs.count > 1 else { return runs[0] }
    let outcomes = runs.map(\.outcome)
    let passed = outcomes.filter { $0 == .passed }.count
    let failed = outcomes.filter { $0 == .failed }.count
    // The result speaks for the first run that did not pass (its message, details and console slices).
    let firstBad = runs.first { $0.outcome != .passed } ?? runs[0]
    var result = firstBad
    result.runs = outcomes
    result.seconds = runs.map(\.seconds).reduce(0, +)
    // Every run that did not pass says why, not only the first: a flaky test's other failures may differ.
    result.notes = runs.enumerated().flatMap { i, run in
      let why = run.outcome == .passed || run.outcome == .skipped ? [] : ["run \(i + 1) \(run.outcome.rawValue): \(run.message ?? "")"]
      return why + run.notes.map { "run \(i + 1): \($0)" }
    }
    let measured = runs.enumerated().flatMap { i, run in
      (run.measurements ?? []).map { var m = $0; m.name = "run \(i + 1): \(m.name)"; return m }
    }
    result.measurements = measured.isEmpty ? nil : measured
    if outcomes.contains(.error) {
      result.outcome = .error
    } else if outcomes.contains(.skipped) {
      result.outcome = .skipped
    } else if passed > 0 && failed > 0 {
      result.outcome = .flaky
      result.message = "flaky: passed \(passed) of \(runs.count) runs; run \(outcomes.firstIndex(of: .failed)! + 1) failed: \(firstBad.message ?? "")"
    } else if failed > 0 {
      result.message = "failed all \(runs.count) runs; the first: \(firstBad.message ?? "")"
    }
    return result
  }
}
