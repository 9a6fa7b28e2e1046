import Foundation
import HarnessSupport
import Reporting

/// How long each test took when it last ran to a verdict (`suite/test` → seconds), kept in the cache: `--jobs`
/// spreads the longest tests first.
package struct TestDurations: Sendable {
  package var file: URL

  package init(cache: URL) { file = cache.appendingPathComponent("durations.json") }

  /// What the file holds; nothing when it is missing or unreadable (it only guides the order).
  package func load() -> [String: Double] {
    guard let data = FileManager.default.contents(atPath: file.path),
      let table = try? JSONDecoder().decode([String: Double].self, from: data)
    else { return [:] }
    return table.filter { $0.value.isFinite && $0.value >= 0 }
  }

  /// Adds the run's passed tests, one writer at a time; a file that cannot be written is left as it was. A skip or an
  /// error says nothing of a test's length, and neither does a failure: a test that fails on a broken stack ends
  /// early or waits out a hang, and its time would misplace it in every later run. A test run N times (`--repeat`)
  /// reports the sum of its runs; the file keeps one run's length, as `--jobs` plans one run of each test.
  package func record(_ run: RunResult) async {
    let measured = run.allTests.filter { $0.outcome == .passed && $0.seconds > 0 && $0.seconds.isFinite }
    guard !measured.isEmpty else { return }
    try? await FileLock.with(file.appendingPathExtension("lock"), deadline: .after(.seconds(10))) {
      var table = load()
      for test in measured {
        let runs = Double(max(1, test.runs?.count ?? 1))
        table[test.id] = (test.seconds / runs * 10).rounded() / 10
      }
      let encoder = JSONEncoder()
      encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
      try AtomicFile.write(try encoder.encode(table), to: file)
    }
  }
}
