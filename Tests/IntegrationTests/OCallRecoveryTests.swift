import Foundation
import Guest
import HarnessSuites
import HarnessSupport
import Images
import Reporting
import Suites
import Testing

extension Integration {
@Suite struct OCallRecoveryTests {
  /// On the 1-thread stack a crash during an OCALL leaves no thread for the shared-memory release: the round trip
  /// and that scenario (the whole suite runs with `teeharness check --suite ocall-recovery --manifest threads-1`).
  @Test func theOneThreadScenarioPassesOnTheOneThreadStack() async throws {
    let (images, manifest, _) = try await Stack.prepare(manifest: "threads-1", cache: CacheLocation.resolve()) { print("images: \($0)") }
    let facts = try StackFacts(images: images, manifest: manifest)
    var runner = SuiteRunner(facts: facts, runDirectory: SharedStack.runFolder("ocall-threads-1"), reporter: TerminalReporter(), checks: .optee)
    runner.select = { _, test in test.name.hasPrefix("round trip") || test.name.hasPrefix("a client crash while the only thread") }
    let result = await runner.run([ocallRecoverySuite])
    for test in result.allTests where test.outcome == .failed || test.outcome == .error {
      Issue.record("\(test.name): \(test.outcome) \(test.message ?? "") \(test.details ?? "")")
    }
    // Whatever the stack does wrong must be a named known failure, never a silent skip.
    for test in result.allTests where test.outcome == .skipped {
      #expect(test.message?.hasPrefix("known failure") == true, "\(test.name) skipped: \(test.message ?? "")")
    }
    let oneThread = result.allTests.first { $0.name.hasPrefix("a client crash while the only thread") }
    #expect(oneThread?.outcome == .passed, "\(oneThread?.message ?? "not run")")
    #expect(oneThread?.notes.contains { $0.contains("thread 0 SUSPENDED") } == true, "\(oneThread?.notes ?? [])")
  }

  /// A plugin that never answers and a client nobody kills: reported as a hang naming the stuck thread, the
  /// client and the plugin call — never as a pass.
  @Test func aHungPluginWhoseClientIsNotKilledIsReportedAsAHang() async throws {
    let suite = makeOCallRecoverySuite(killHungClient: false)
    let hung = try #require(suite.tests.first { $0.name.hasPrefix("a hung plugin") })
    let runner = SuiteRunner(facts: try await SharedStack.shared.facts(), runDirectory: SharedStack.runFolder("ocall-hang"),
      reporter: TerminalReporter(), checks: .optee)
    let result = await runner.run([Suite("ocall-recovery") { hung }])
    let test = try #require(result.allTests.first)
    #expect(test.outcome == .failed, "a hung OCALL passed: \(test.message ?? "")")
    #expect(test.message?.contains("never came back") == true && test.message?.contains("SUSPENDED") == true, "\(test.message ?? "")")
    #expect(test.details?.contains("cmd=2") == true, "the hang report does not show the plugin call: \(test.details ?? "")")
    #expect(test.details?.contains("client pid") == true, "\(test.details ?? "")")
  }
}
}
