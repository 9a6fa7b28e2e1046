/// What xtest printed, parsed: each case's verdict and the totals. Pure.
package struct XTestReport: Sendable, Equatable {
  package struct Case: Sendable, Equatable {
    package var name: String
    package var title: String
    package var passed: Bool
  }

  package var cases: [Case] = []
  package var subtests: Int?
  package var failedSubtests: Int?
  package var testCases: Int?
  package var failedTestCases: Int?
  /// The subtests xtest reports FAILED (`regression_1009.3`), sorted.
  package var failedSubtestNames: [String] = []
  /// The cases xtest skipped (`regression_1030 SKIPPED: "why"`), with xtest's reason.
  package var skipped: [String: String] = [:]

  /// Parses xtest's output: `* regression_1001 Title`, `  regression_1001 OK|FAILED`, `regression_1030 SKIPPED: "why"`, and the totals
  /// `N subtests of which M failed` / `N test cases of which M failed`.
  package init(parsing output: String) {
    var titles: [String: String] = [:]
    for raw in output.split(separator: "\n") {
      let line = raw.trimmingCharacters(in: .whitespaces)
      let words = line.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
      if words.count >= 2, words[0] == "*", Self.isCaseName(words[1]) {
        titles[words[1]] = words.dropFirst(2).joined(separator: " ")
      } else if words.count == 2, Self.isCaseName(words[0]), !words[0].contains("."),
        words[1] == "OK" || words[1] == "FAILED"
      {
        // A case's verdict; xtest repeats it in its closing summary.
        let verdict = Case(name: words[0], title: titles[words[0]] ?? "", passed: words[1] == "OK")
        if let i = cases.firstIndex(where: { $0.name == verdict.name }) {
          cases[i].passed = cases[i].passed && verdict.passed
        } else {
          cases.append(verdict)
        }
      } else if words.count >= 2, Self.isCaseName(words[0]), !words[0].contains("."), words[1] == "SKIPPED:" || words[1] == "SKIPPED" {
        skipped[words[0]] = words.dropFirst(2).joined(separator: " ").filter { $0 != "\"" }
      } else if words.count == 2, Self.isCaseName(words[0]), words[0].contains("."), words[1] == "FAILED" {
        if !failedSubtestNames.contains(words[0]) {
          failedSubtestNames.append(words[0])
          failedSubtestNames.sort()
        }
      } else if let totals = Self.totals(line) {
        if totals.kind.hasPrefix("subtest") {
          (subtests, failedSubtests) = (totals.count, totals.failed)
        } else {
          (testCases, failedTestCases) = (totals.count, totals.failed)
        }
      }
    }
  }

  /// `14 subtests of which 0 failed`, `1 test case of which 0 failed`.
  static func totals(_ line: String) -> (count: Int, kind: String, failed: Int)? {
    let words = line.split(separator: " ").map(String.init)
    guard words.count >= 6, words.suffix(3) == ["which", words[words.count - 2], "failed"] || words.last == "failed",
      let count = Int(words[0]), let failed = Int(words[words.count - 2]), words[words.count - 4] == "of"
    else { return nil }
    return (count, words[1..<(words.count - 4)].joined(separator: " "), failed)
  }

  /// `regression_1001`, a variant `regression_4006_dsa`, a subtest `regression_1009.3`: suite, `_`, digits,
  /// optionally `_` and a lower-case variant, optionally `.` and numbers.
  static func isCaseName(_ word: String) -> Bool {
    let ascii = { (c: Character, letters: Bool) in c.isASCII && (c.isNumber || (letters && c.isLetter)) }
    let base = word.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)[0]
    let parts = base.split(separator: "_", omittingEmptySubsequences: false)
    guard parts.count == 2 || parts.count == 3, let first = parts[0].first, first.isASCII, first.isLetter,
      parts[0].allSatisfy({ ascii($0, true) }), !parts[1].isEmpty, parts[1].allSatisfy({ ascii($0, false) })
    else { return false }
    if parts.count == 3, parts[2].isEmpty || !parts[2].allSatisfy({ ascii($0, true) && !$0.isUppercase }) { return false }
    let rest = word.dropFirst(base.count)
    return rest.isEmpty || (rest.count > 1 && rest.dropFirst().allSatisfy { ascii($0, false) || $0 == "." })
  }

}
