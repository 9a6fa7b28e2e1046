import Foundation
import Guest
import HarnessSuites
import Reporting
import Suites
import Testing

extension Integration {
@Suite struct ThreadExhaustionTests {
  func runner(_ label: String) async throws -> SuiteRunner {
    SuiteRunner(facts: try await SharedStack.shared.facts(), runDirectory: SharedStack.runFolder(label), reporter: TerminalReporter(), checks: .optee)
  }

  @Test func theSuitePassesOnTheDefaultStackWithTheDriverQueueing() async throws {
    let result = try await runner("thread-exhaustion").run([threadExhaustionSuite])
    for test in result.allTests where test.outcome != .passed {
      Issue.record("\(test.name): \(test.outcome) \(test.message ?? "") \(test.details ?? "")")
    }
    let flood = result.allTests.first { $0.name.hasPrefix("4 × CFG_NUM_THREADS") }
    #expect(flood?.notes.contains { $0.contains("queued by the Linux driver") } == true, "\(flood?.notes ?? [])")
    // Both threads busy: waiting in the TA (SUSPENDED), or running on the CPU the table was read from (ACTIVE).
    let during = flood?.notes.first { $0.hasPrefix("during the flood:") } ?? ""
    #expect(during.contains("thread 0 ") && during.contains("thread 1 ") && !during.contains("FREE"), "\(flood?.notes ?? [])")
  }

  @Test func aCallParkedForeverIsReportedAsALeakedThread() async throws {
    let leaky = makeThreadExhaustionSuite(parkForever: true)
    let flood = try #require(leaky.tests.first)
    let result = try await runner("thread-exhaustion-leak").run([Suite("thread-exhaustion") { flood }])
    let test = try #require(result.allTests.first)
    #expect(test.outcome == .failed, "a leaked thread passed: \(test.message ?? "")")
    #expect(test.message?.contains("SUSPENDED") == true, "\(test.message ?? "")")
  }
}
}
