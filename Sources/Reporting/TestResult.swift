import Foundation

/// How a test ended. A failure is an assertion about the guest that did not hold; an error is the harness
/// not being able to do its job (QEMU died, an image is missing). A flaky test (run with `--repeat`) both
/// passed and failed.
public enum Outcome: String, Sendable, Codable {
  case passed, failed, error, skipped, flaky
}

/// One console's lines that belong to a test.
public struct ConsoleSlice: Sendable, Codable, Equatable {
  public var console: String
  public var lines: [String]
  public init(console: String, lines: [String]) {
    self.console = console
    self.lines = lines
  }
}

/// The result of one test (or one case a test reported, such as an xtest case).
public struct TestResult: Sendable, Codable {
  public var suite: String
  public var name: String
  public var outcome: Outcome
  /// Why it failed, errored or was skipped: the pattern, the timeout, what was seen.
  public var message: String?
  public var details: String?
  public var seconds: Double
  /// Notes the test recorded (measurements, facts read from the guest).
  public var notes: [String]
  public var slices: [ConsoleSlice]
  /// Each run's outcome when the test was repeated (`--repeat`), in order; nil when it ran once.
  public var runs: [Outcome]?

  public init(suite: String, name: String, outcome: Outcome, message: String? = nil, details: String? = nil,
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

  public var id: String { "\(suite)/\(name)" }

  /// The file name stem of a test's console slices in the run folder (`<stem>.normal.log`).
  public static func fileStem(_ name: String) -> String {
    String(name.map { $0.isLetter || $0.isNumber || $0 == "-" ? $0 : "_" })
  }
}

/// A suite's results and what they ran on.
public struct SuiteResult: Sendable, Codable {
  public var name: String
  /// manifest, stack digest, QEMU version and argv, boot milestones.
  public var properties: [String: String]
  public var tests: [TestResult]
  public var seconds: Double

  public init(name: String, properties: [String: String], tests: [TestResult], seconds: Double) {
    self.name = name
    self.properties = properties
    self.tests = tests
    self.seconds = seconds
  }

  public func count(_ outcome: Outcome) -> Int { tests.filter { $0.outcome == outcome }.count }
}

/// A whole run.
public struct RunResult: Sendable, Codable {
  public var suites: [SuiteResult]
  public var seconds: Double
  public var runDirectory: String

  public init(suites: [SuiteResult], seconds: Double, runDirectory: String) {
    self.suites = suites
    self.seconds = seconds
    self.runDirectory = runDirectory
  }

  public var allTests: [TestResult] { suites.flatMap(\.tests) }
  public func count(_ outcome: Outcome) -> Int { allTests.filter { $0.outcome == outcome }.count }

  /// 0 when everything passed (or was skipped), 1 when a test failed or is flaky, 2 when the harness hit an error.
  public var exitCode: Int32 {
    if count(.error) > 0 { return 2 }
    if count(.failed) > 0 || count(.flaky) > 0 { return 1 }
    return 0
  }
}
