import Foundation

/// How a test ended. A failure is an assertion about the guest that did not hold; an error is the harness
/// not being able to do its job (QEMU died, an image is missing). A flaky test (run with `--repeat`) both
/// passed and failed.
package enum Outcome: String, Sendable, Codable {
  case passed, failed, error, skipped, flaky
}

/// One console's lines that belong to a test.
package struct ConsoleSlice: Sendable, Codable, Equatable {
  package var console: String
  package var lines: [String]
  package init(console: String, lines: [String]) {
    self.console = console
    self.lines = lines
  }
}

/// The result of one test (or one case a test reported, such as an xtest case).
package struct TestResult: Sendable, Codable {
  package var suite: String
  package var name: String
  package var outcome: Outcome
  /// Why it failed, errored or was skipped: the pattern, the timeout, what was seen.
  package var message: String?
  package var details: String?
  package var seconds: Double
  /// Notes the test recorded (measurements, facts read from the guest).
  package var notes: [String]
  /// What the test measured, as data for plots (nil when it measured nothing, and in older reports).
  package var measurements: [Measured]?
  package var slices: [ConsoleSlice]
  /// The folder of the test's whole console transcripts (`<stem>.normal.log`, `<stem>.secure.log`); kept when
  /// shards' reports are merged.
  package var transcripts: String?
  /// Each run's outcome when the test was repeated (`--repeat`), in order; nil when it ran once.
  package var runs: [Outcome]?
  /// When the verdict was in, in seconds from the start of the run (nil for a result the runner made without
  /// running the test, and in reports written before it was recorded).
  package var verdictAt: Double?

  package init(suite: String, name: String, outcome: Outcome, message: String? = nil, details: String? = nil,
    seconds: Double, notes: [String] = [], slices: [ConsoleSlice] = [], runs: [Outcome]? = nil)
  {
    self.suite = suite
    self.name = name
    self.outcome = outcome
    self.message = message
    self.details = details
    self.seconds = seconds
    self.notes = notes
    self.slices = slices
    self.runs = runs
  }

  package var id: String { "\(suite)/\(name)" }

  /// The name of a test's whole transcript of `console` (`normal`, `secure`) in its folder; `run` numbers the runs
  /// of a repeated test.
  package static func transcriptName(_ name: String, console: String, run: Int? = nil) -> String {
    "\(fileStem(name))\(run.map { ".run-\($0)" } ?? "").\(console).log"
  }

  /// The file name stem of a test's console slices in the run folder (`<stem>.normal.log`).
  package static func fileStem(_ name: String) -> String {
    String(name.map { $0.isLetter || $0.isNumber || $0 == "-" ? $0 : "_" })
  }
}

/// A suite's results and what they ran on.
package struct SuiteResult: Sendable, Codable {
  package var name: String
  /// manifest, stack digest, QEMU version and argv, boot milestones.
  package var properties: [String: String]
  package var tests: [TestResult]
  package var seconds: Double

  package init(name: String, properties: [String: String], tests: [TestResult], seconds: Double) {
    self.name = name
    self.properties = properties
    self.tests = tests
    self.seconds = seconds
  }

  package func count(_ outcome: Outcome) -> Int { tests.filter { $0.outcome == outcome }.count }
}

/// A whole run.
package struct RunResult: Sendable, Codable {
  /// The JSON report's format: raised when a field changes meaning or goes (nil in reports older than it).
  package var schemaVersion: Int? = RunResult.currentSchema
  package static let currentSchema = 1
  package var suites: [SuiteResult]
  package var seconds: Double
  package var runDirectory: String
  /// Where the run ran: the harness's version and commit, the host (kernel, cores, memory), the user; also a
  /// property of every JUnit `testsuite` (`environment.NAME`).
  package var environment: [String: String]?

  package init(suites: [SuiteResult], seconds: Double, runDirectory: String) {
    self.suites = suites
    self.seconds = seconds
    self.runDirectory = runDirectory
  }

  package var allTests: [TestResult] { suites.flatMap(\.tests) }
  package func count(_ outcome: Outcome) -> Int { allTests.filter { $0.outcome == outcome }.count }

  /// 0 when everything passed (or was skipped), 1 when a test failed or is flaky, 2 when the harness hit an error.
  package var exitCode: Int32 {
    if count(.error) > 0 { return 2 }
    if count(.failed) > 0 || count(.flaky) > 0 { return 1 }
    return 0
  }
}
