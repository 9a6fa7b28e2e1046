import Foundation
import Machine

/// What the runner asks of the stack around every test, beyond the test's own assertions. The runner knows no
/// particular stack: whoever knows one registers its checks (`Guest`'s `StackChecks.optee`).
package struct StackChecks: Sendable {
  /// The outcome of an invariant the stack must keep after every test.
  package enum Invariant: Sendable { case held(String), broken(String, String?), unavailable(String) }

  /// After a test, with the guest idle: the invariant. `poke` makes the stack show it at once, for a machine no
  /// later test uses.
  package var afterTest: @Sendable (Machine, _ poke: Bool) async -> Invariant
  /// On a restored machine once ready: a proof that it works as a booted one does, checked again after each test
  /// on it (nil when it holds, else why not); or why there can be no such proof.
  package var restored: @Sendable (Machine, StackFacts) async throws -> Result<RestoredProof, ProofImpossible>
  /// When a test hangs (a guest command or the test itself ran out of time): where, as the stack can tell.
  package var whereItHangs: @Sendable (Machine) async -> HangReport
  /// When a bad line on a console failed a test: what the stack can add to it (the panic's call stack by
  /// function), or nil.
  package var explainAlarm: @Sendable (Machine, _ console: String, _ line: String) async -> String?

  package init(afterTest: @escaping @Sendable (Machine, Bool) async -> Invariant,
    restored: @escaping @Sendable (Machine, StackFacts) async throws -> Result<RestoredProof, ProofImpossible>,
    whereItHangs: @escaping @Sendable (Machine) async -> HangReport = { _ in HangReport(summary: [], details: "") },
    explainAlarm: @escaping @Sendable (Machine, String, String) async -> String? = { _, _, _ in nil })
  {
    self.afterTest = afterTest
    self.restored = restored
    self.whereItHangs = whereItHangs
    self.explainAlarm = explainAlarm
  }
}

/// Where a hung test hangs: short findings for the failure's message, and the evidence for its details.
package struct HangReport: Sendable, Equatable {
  /// Each finding in a few words (`OP-TEE threads: 0 SUSPENDED, 1 FREE`).
  package var summary: [String]
  /// The evidence: tables, the guest's blocked tasks with their stacks.
  package var details: String

  package init(summary: [String], details: String) {
    self.summary = summary
    self.details = details
  }
}

/// A proof taken when a restored machine became ready: `check` says nil while it still holds.
package struct RestoredProof: Sendable {
  /// The links of the stack the proof leans on: with one found broken, its failing proves nothing of the restore.
  package var needs: [StackLink]
  package var check: @Sendable (Machine) async -> String?
  package init(needs: [StackLink] = [], check: @escaping @Sendable (Machine) async -> String?) {
    self.needs = needs
    self.check = check
  }
}

/// Why a restored machine cannot be proven to work (said in the run's properties).
package struct ProofImpossible: Error, Sendable {
  package var reason: String
  package init(reason: String) { self.reason = reason }
}
