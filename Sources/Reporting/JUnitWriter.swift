import Foundation

/// JUnit XML as GitLab and Jenkins read it: one `testsuite` per suite with its properties, one `testcase` per
/// test with `failure`, `error` or `skipped`, and the consoles' slices in `system-out` (normal world) and
/// `system-err` (secure world). Valid against Jenkins' junit-10.xsd (`ci/junit-check` validates a report with it).
/// A flaky test (`--repeat`) is a failure of type `flaky`, so a CI server shows it.
package enum JUnitWriter {
  package static func xml(_ run: RunResult) -> String {
    var out = #"<?xml version="1.0" encoding="UTF-8"?>"# + "\n"
    out += #"<testsuites name="teeharness" tests="\#(run.allTests.count)" failures="\#(run.count(.failed) + run.count(.flaky))" errors="\#(run.count(.error))" time="\#(seconds(run.seconds))">"# + "\n"
    for suite in run.suites {
      out += #"  <testsuite name="\#(escape(suite.name))" tests="\#(suite.tests.count)" failures="\#(suite.count(.failed) + suite.count(.flaky))" errors="\#(suite.count(.error))" skipped="\#(suite.count(.skipped))" time="\#(seconds(suite.seconds))">"# + "\n"
      let properties = suite.properties.merging((run.environment ?? [:]).map { ("environment.\($0.key)", $0.value) }) { a, _ in a }
      if !properties.isEmpty {
        out += "    <properties>\n"
        for (key, value) in properties.sorted(by: { $0.key < $1.key }) {
          out += #"      <property name="\#(escape(key))" value="\#(escape(value))"/>"# + "\n"
        }
        out += "    </properties>\n"
      }
      for test in suite.tests {
        out += #"    <testcase classname="\#(escape(suite.name))" name="\#(escape(test.name))" time="\#(seconds(test.seconds))">"# + "\n"
        let message = escape(test.message ?? "")
        let body = escape([test.message, test.details].compactMap { $0 }.joined(separator: "\n"))
        switch test.outcome {
        case .failed: out += #"      <failure message="\#(message)" type="assertion">\#(body)</failure>"# + "\n"
        case .flaky: out += #"      <failure message="\#(message)" type="flaky">\#(body)</failure>"# + "\n"
        case .error: out += #"      <error message="\#(message)" type="infrastructure">\#(body)</error>"# + "\n"
        case .skipped: out += #"      <skipped message="\#(message)"/>"# + "\n"
        case .passed: break
        }
        let normal = test.slices.first { $0.console == "normal" }?.lines ?? []
        let secure = test.slices.first { $0.console == "secure" }?.lines ?? []
        let notes = test.notes.map { "note: \($0)" }
        let attachments = normal.isEmpty && secure.isEmpty ? [] : attachments(of: test)
        if !normal.isEmpty || !notes.isEmpty || !attachments.isEmpty {
          out += "      <system-out>\(escape((notes + normal + attachments).joined(separator: "\n")))</system-out>\n"
        }
        if !secure.isEmpty { out += "      <system-err>\(escape(secure.joined(separator: "\n")))</system-err>\n" }
        out += "    </testcase>\n"
      }
      out += "  </testsuite>\n"
    }
    out += "</testsuites>\n"
    return out
  }

  /// The test's whole transcripts in the run folder, as Jenkins' and GitLab's attachment lines.
  static func attachments(of test: TestResult) -> [String] {
    guard let folder = test.transcripts else { return [] }
    let runs: [Int?] = test.runs.map { $0.indices.map { $0 + 1 } } ?? [nil]
    return runs.flatMap { run in
      ["normal", "secure"].map { "[[ATTACHMENT|\(folder)/\(TestResult.transcriptName(test.name, console: $0, run: run))]]" }
    }
  }

  static func seconds(_ s: Double) -> String { String(format: "%.3f", s) }

  /// Escapes XML metacharacters and removes what XML 1.0 cannot hold at all (control characters such as
  /// the ESC of terminal sequences).
  package static func escape(_ text: String) -> String { Markup.escape(text, unholdable: .drop) }
}
