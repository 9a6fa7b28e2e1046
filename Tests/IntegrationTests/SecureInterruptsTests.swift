import Foundation
import Guest
import HarnessSupport
import HarnessSuites
import Images
import Reporting
import Suites
import Testing

extension Integration {
@Suite struct SecureInterruptsTests {
  /// The routing cases this stack shows cleanly (a CPU in the normal world, a CPU held in EL3) and the whole
  /// notification chain, on one booted default stack.
  @Test func secureConsoleBytesAndTheNotificationChainAreProvenOnTheDefaultStack() async throws {
    var runner = SuiteRunner(facts: try await SharedStack.shared.facts(), runDirectory: SharedStack.runFolder("secure-interrupts"),
      reporter: TerminalReporter(), checks: .optee)
    runner.select = { suite, test in
      suite.name == "async-notifications" || ["case 6", "case 5", "case 2", "case 7", "case 8", "case 9", "secure timer", "the routing table"]
        .contains { test.name.hasPrefix($0) }
    }
    let result = await runner.run([secureInterruptsSuite, asyncNotificationsSuite])
    for test in result.allTests where test.outcome == .failed || test.outcome == .error {
      Issue.record("\(test.name): \(test.outcome) \(test.message ?? "") \(test.details?.prefix(2000) ?? "")")
    }
    let byteCase = result.allTests.first { $0.name.hasPrefix("case 6") }
    #expect(byteCase?.notes.contains { $0.contains("from the normal world through TF-A") } == true, "\(byteCase?.notes ?? [])")
    let held = result.allTests.first { $0.name.hasPrefix("case 5") }
    #expect(held?.notes.contains { $0.contains("elx_irq → console_itr_cb") } == true, "\(held?.notes ?? [])")
    // This stack's TF-A has no Group 0 interrupt (the group0 stack's has): listed as skipped with the reason, never passed.
    let group0 = result.allTests.filter { $0.name.hasPrefix("case 7") || $0.name.hasPrefix("case 8") || $0.name.hasPrefix("case 9") }
    #expect(group0.count == 4 && group0.allSatisfy { $0.outcome == .skipped && ($0.message ?? "").contains("--manifest group0") },
      "\(group0.map { "\($0.name): \($0.outcome) \($0.message ?? "")" })")
    let table = result.allTests.first { $0.name == "the routing table" }
    #expect(table?.notes.filter { $0.contains("|") }.count == 10, "\(table?.notes ?? [])")
  }

  /// A stack whose secure UART interrupt is never enabled still reads every byte — late, when the watchdog's
  /// bottom half runs. Both suites must fail on it, naming the missing interrupt, not pass late.
  @Test func aSecureUARTWhoseInterruptIsNeverEnabledFailsBothSuites() async throws {
    let (images, manifest, _) = try await Stack.prepare(manifest: "secure-uart-irq-off", cache: CacheLocation.resolve()) { print("images: \($0)") }
    var runner = SuiteRunner(facts: try StackFacts(images: images, manifest: manifest),
      runDirectory: SharedStack.runFolder("secure-uart-irq-off"), reporter: TerminalReporter(), checks: .optee)
    runner.select = { _, test in test.name.hasPrefix("case 6") || test.name.hasPrefix("a byte typed at the secure console") }
    let result = await runner.run([secureInterruptsSuite, asyncNotificationsSuite])
    let bytes = result.allTests.first { $0.name.hasPrefix("case 6") }
    #expect(bytes?.outcome == .failed, "\(bytes?.outcome.rawValue ?? "not run"): \(bytes?.message ?? "")")
    // The link named: the console handler never ran for the bytes, and the distributor shows why.
    #expect(bytes?.message?.contains("never enabled: GICD_ISENABLER's bit is clear") == true, "\(bytes?.message ?? "")")
    // The byte chain needs that link: decided at once, naming it and the test that found it.
    let chain = result.allTests.first { $0.name.hasPrefix("a byte typed at the secure console") }
    #expect(chain?.outcome == .failed, "\(chain?.outcome.rawValue ?? "not run"): \(chain?.message ?? "")")
    #expect(chain?.message?.hasPrefix("not run: it needs the secure UART's interrupt (INTID 40) enabled in the GIC distributor, which secure-interrupts/case 6") == true,
      "\(chain?.message ?? "")")
  }
}
}
