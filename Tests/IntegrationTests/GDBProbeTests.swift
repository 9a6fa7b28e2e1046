import Foundation
import Guest
import GDBRemote
import HarnessSupport
import Machine
import HarnessSuites
import Reporting
import Suites
import Testing

extension Integration {
  @Suite struct GDBProbeTests {
    @Test func theThreadTableIsReadFromTheSecureWorld() async throws {
      try await withReadyMachine("probe") { m in
        let probe = try #require(m.secureWorld, "\(m.secureWorldError ?? "")")
        let started = ContinuousClock.now
        let table = try await probe.threadTable()
        print("thread table in \(ContinuousClock.now - started): \(table)")
        #expect(table.count == 2)
        #expect(table.allSatisfy { $0.isFree })
        let stop = try await probe.whenStopped { $0 }
        print(stop.description)
        #expect(stop.secure && stop.exceptionLevel == 1)
        #expect(try await m.shell.run("echo alive").output == "alive")
      }
    }
  }
}

extension Integration {
  @Suite struct GDBSuiteTests {
    @Test func theGDBSuitePassesAndTheInvariantRanAfterEveryTest() async throws {
      let runner = SuiteRunner(facts: try await SharedStack.shared.facts(), runDirectory: SharedStack.runFolder("gdb"),
        reporter: TerminalReporter(), checks: .optee)
      let result = await runner.run([gdbSuite])
      for test in result.allTests where test.outcome != .passed {
        Issue.record("\(test.name): \(test.outcome) \(test.message ?? "")")
      }
      #expect(result.allTests.allSatisfy { $0.notes.contains { $0.contains("all FREE") } })
    }
  }
}
