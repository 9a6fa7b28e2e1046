import Console
import Foundation
import HarnessSupport
import Machine
import Reporting

/// An assertion about the guest that did not hold: ends the test as a failure.
package struct TestFailure: Error, CustomStringConvertible, Sendable {
  package var message: String
  package var details: String?
  /// The guest can never finish what the test waits for: the failure says where it hangs, and the machine goes.
  package var hangs: Bool
  /// The link of the stack this failure found broken: later tests that need it fail at once, naming it.
  package var breaks: StackLink?
  /// The test knows the machine unusable now (a CPU that takes no interrupt again): nothing more is asked of it,
  /// and the next test gets another.
  package var spoilsMachine: Bool
  /// What came past its bound, and when: a failure whose every late thing the host's starving of QEMU covers for at
  /// least its overshoot (`HostStarvation.explains`) is the host's.
  package var late: [HostStarvation.Late]
  package init(message: String, details: String? = nil, hangs: Bool = false, breaks: StackLink? = nil, spoilsMachine: Bool = false,
    late: [HostStarvation.Late] = [])
  {
    self.message = message
    self.details = details
    self.hangs = hangs
    self.breaks = breaks
    self.spoilsMachine = spoilsMachine
    self.late = late
  }
  package var description: String { message }
}

/// Thrown by `skip`: the test does not apply to this stack.
package struct TestSkipped: Error, Sendable {
  package var reason: String
}

/// What a test body works with: the machine, the stack's facts, assertions and notes.
package final class TestContext: @unchecked Sendable {
  package let machine: Machine
  package let facts: StackFacts
  package let deadline: Deadline
  package let suite: String
  package let test: String
  /// How fast this host runs the guest (latency bounds scale with `pace.factor`).
  package let pace: HostPace
  private let lock = NSLock()
  private var checkFailures: [String] = []
  private var noteLines: [String] = []
  private var measured: [Measured] = []
  private var subresults: [TestResult] = []

  init(machine: Machine, facts: StackFacts, deadline: Deadline, suite: String, test: String, pace: HostPace = .reference) {
    self.machine = machine
    self.pace = pace
    self.facts = facts
    self.deadline = deadline
    self.suite = suite
    self.test = test
  }

  package var shell: ShellSession { machine.shell }
  package var normal: ConsoleSession { machine.normal }
  package var secure: ConsoleSession { machine.secure }

  /// Runs a command in the guest's shell (bounded by the test's deadline too).
  package func run(_ command: String, timeout: Duration = .seconds(60)) async throws -> ShellResult {
    try await shell.run(command, timeout: timeout, deadline: deadline)
  }

  /// Waits for `pattern` on the normal-world console.
  @discardableResult
  package func expectNormal(_ pattern: Pattern, timeout: Duration = .seconds(30)) async throws -> ExpectBuffer.Match {
    try await normal.expect(pattern, timeout: timeout, deadline: deadline)
  }

  /// Waits for `pattern` on the secure-world console.
  @discardableResult
  package func expectSecure(_ pattern: Pattern, timeout: Duration = .seconds(30)) async throws -> ExpectBuffer.Match {
    try await secure.expect(pattern, timeout: timeout, deadline: deadline)
  }

  /// The normal-world console's lines since `time` (a `normal.now()` reading), without timestamps.
  package func normalLines(since time: Double) async -> [String] { await normal.slice(from: time).map(\.text) }

  /// Ends the test as a failure unless `condition` holds.
  package func require(_ condition: Bool, _ message: @autoclosure () -> String, details: String? = nil) throws {
    guard condition else { throw TestFailure(message: message(), details: details) }
  }

  /// Ends the test as a failure unless `condition` holds; what the failure carries is read from the guest only then
  /// (a hang report costs seconds of guest work, too much to make on every success). A report that cannot be read
  /// says so and leaves the failure's own message.
  package func require(_ condition: Bool, _ message: @autoclosure () -> String, detailing details: () async throws -> String)
    async throws
  {
    guard !condition else { return }
    let text: String
    do { text = try await details() } catch { text = "(could not be read: \(error))" }
    throw TestFailure(message: message(), details: text)
  }

  /// Ends the test as a failure unless `condition` holds; the failure finds `link` broken (see `StackLink`).
  package func require(_ condition: Bool, breaks link: StackLink?, _ message: @autoclosure () -> String, details: String? = nil,
    late: [HostStarvation.Late] = []) throws
  {
    guard condition else { throw TestFailure(message: message(), details: details, breaks: link, late: late) }
  }

  /// The value, or the end of the test as a failure when there is none.
  package func requireValue<T>(_ value: T?, _ message: @autoclosure () -> String, details: String? = nil) throws -> T {
    guard let value else { throw TestFailure(message: message(), details: details) }
    return value
  }

  /// Records a failure unless `condition` holds, and goes on.
  package func check(_ condition: Bool, _ message: @autoclosure () -> String) {
    guard !condition else { return }
    lock.lock()
    checkFailures.append(message())
    lock.unlock()
  }

  /// Adds a line to the test's result (a measurement, a fact read from the guest).
  package func note(_ text: String) {
    lock.lock()
    noteLines.append(text)
    lock.unlock()
  }

  /// Keeps a measurement as data (`report.html` plots it); say it in a note too.
  package func measure(_ measurement: Measured) {
    lock.lock()
    measured.append(measurement)
    lock.unlock()
  }

  /// Reports a case of its own within this test (each xtest case, each routing case) as a separate result.
  /// A case reported again (a scenario repeated) keeps its first result.
  package func report(case name: String, _ outcome: Outcome, message: String? = nil, seconds: Double = 0) {
    lock.lock()
    defer { lock.unlock() }
    guard !subresults.contains(where: { $0.name == "\(test)/\(name)" }) else { return }
    subresults.append(TestResult(suite: suite, name: "\(test)/\(name)", outcome: outcome, message: message, seconds: seconds))
  }

  /// Ends the test as skipped, with the reason.
  package func skip(_ reason: String) throws -> Never { throw TestSkipped(reason: reason) }

  var collected: (failures: [String], notes: [String], measurements: [Measured], cases: [TestResult]) {
    lock.lock()
    defer { lock.unlock() }
    return (checkFailures, noteLines, measured, subresults)
  }
}
