import Foundation
import Guest
import HarnessSupport
import HarnessSuites
import Images
import Reporting
import Suites
import Testing

extension Integration {
  /// The FF-A stack (OP-TEE as the S-EL1 SPMC under TF-A's SPMD): Linux reaches OP-TEE over FF-A, and a secure
  /// interrupt taken in the normal world reaches OP-TEE as an FFA_INTERRUPT message — proven on the stack, and
  /// failing, with the link named, on one whose OP-TEE does not take what it is handed.
  @Suite struct FFAStackTests {
    static func run(_ manifestName: String, select: @escaping @Sendable (Suites.Suite, Suites.Test) -> Bool) async throws -> RunResult {
      let (images, manifest, _) = try await Stack.prepare(manifest: manifestName, cache: CacheLocation.resolve()) { print("images: \($0)") }
      var runner = SuiteRunner(facts: try StackFacts(images: images, manifest: manifest),
        runDirectory: SharedStack.runFolder(manifestName), reporter: TerminalReporter(), checks: .optee)
      runner.select = select
      return await runner.run([bootSuite, secureInterruptsSuite])
    }

    @Test func linuxReachesOPTEEOverFFAAndSecureInterruptsComeAsFFAInterrupt() async throws {
      let result = try await Self.run("ffa-sel1-spmc") { suite, test in
        suite.name == "boot" || ["case 6", "case 5"].contains { test.name.hasPrefix($0) }
      }
      for test in result.allTests where test.outcome == .failed || test.outcome == .error {
        Issue.record("\(test.name): \(test.outcome) \(test.message ?? "") \(test.details?.prefix(2000) ?? "")")
      }
      let ffa = result.allTests.first { $0.name.hasPrefix("Linux reaches OP-TEE over FF-A") }
      #expect(ffa?.outcome == .passed, "\(ffa?.outcome.rawValue ?? "not run")")
      #expect(ffa?.notes.contains { $0.contains(OpteeFFA.uuid) } == true, "\(ffa?.notes ?? [])")
      let node = result.allTests.first { $0.name == "the device tree carries the OP-TEE node" }
      #expect(node?.outcome == .skipped, "an FF-A stack has no OP-TEE node: \(node?.outcome.rawValue ?? "not run")")
      let bytes = result.allTests.first { $0.name.hasPrefix("case 6") }
      #expect(bytes?.notes.contains { $0.contains("from the normal world through TF-A") && $0.contains("spmd_secure_interrupt_handler") } == true,
        "\(bytes?.notes ?? [])")
      let held = result.allTests.first { $0.name.hasPrefix("case 5") }
      #expect(held?.notes.contains { $0.contains("spmd_smc_handler") && $0.contains("elx_irq → console_itr_cb") } == true, "\(held?.notes ?? [])")
    }

    @Test func anOPTEEThatDoesNotTakeWhatTheSPMDHandsItFailsCase6NamingTheLink() async throws {
      // Only the idle case: with every thread busy, the interrupt this stack never takes starves the guest's shell.
      let result = try await Self.run("ffa-interrupt-masked") { _, test in test.name.hasPrefix("case 6") && !test.name.contains("busy") }
      let bytes = result.allTests.first { $0.name.hasPrefix("case 6") }
      #expect(bytes?.outcome == .failed, "\(bytes?.outcome.rawValue ?? "not run"): \(bytes?.message ?? "")")
      #expect(bytes?.message?.contains("OP-TEE answered without taking the interrupt") == true, "\(bytes?.message ?? "")")
      #expect(bytes?.message?.contains("spmd_secure_interrupt_handler") == true && bytes?.message?.contains("thread_spmc_msg_recv") == true)
    }
  }
}
