import Foundation
import HarnessSupport

/// Progress and the summary for a person or a CI log: colour only on a terminal without `NO_COLOR`.
public struct TerminalReporter: Sendable {
  public var colour: Bool

  public init(environment: [String: String] = ProcessInfo.processInfo.environment) {
    colour = isatty(STDOUT_FILENO) == 1 && environment["NO_COLOR"] == nil && environment["CI"] == nil
      && environment["TERM"] != "dumb"
  }

  func paint(_ text: String, _ code: String) -> String { colour ? "\u{1B}[\(code)m\(text)\u{1B}[0m" : text }

  public func label(_ outcome: Outcome) -> String {
    switch outcome {
    case .passed: paint("PASS", "32")
    case .failed: paint("FAIL", "31")
    case .error: paint("ERROR", "35")
    case .skipped: paint("SKIP", "33")
    }
  }

  public func line(_ text: String) { Output.line(text) }

  public func suiteStarted(_ name: String) { line(paint("suite \(name)", "1")) }

  public func testFinished(_ result: TestResult) {
    var text = "  \(label(result.outcome)) \(result.suite)/\(result.name) (\(result.seconds.formatted(decimals: 1)) s)"
    if let message = result.message, result.outcome != .passed { text += " — \(message)" }
    line(text)
    if result.outcome == .failed || result.outcome == .error, let details = result.details, !details.isEmpty {
      line(details.split(separator: "\n", omittingEmptySubsequences: false).map { "      \($0)" }.joined(separator: "\n"))
    }
  }

  public func summary(_ run: RunResult) {
    let counts = "\(run.count(.passed)) passed, \(run.count(.failed)) failed, \(run.count(.error)) errors, \(run.count(.skipped)) skipped"
    line("")
    line(paint("teeharness: \(counts) in \(run.seconds.formatted(decimals: 1)) s", run.exitCode == 0 ? "32;1" : "31;1"))
    for test in run.allTests where test.outcome == .failed || test.outcome == .error {
      line("  \(label(test.outcome)) \(test.suite)/\(test.name): \(test.message ?? "")")
    }
    line("  transcripts and reports: \(run.runDirectory)")
  }
}
