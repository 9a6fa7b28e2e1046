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

  package init(afterTest: @escaping @Sendable (Machine, Bool) async -> Invariant,
    restored: @escaping @Sendable (Machine, StackFacts) async throws -> Result<RestoredProof, ProofImpossible>)
  {
    self.afterTest = afterTest
    self.restored = restored
  }
}

/// A proof taken when a restored machine became ready: `check` says nil while it still holds.
package struct RestoredProof: Sendable {
  package var check: @Sendable (Machine) async -> String?
  package init(check: @escaping @Sendable (Machine) async -> String?) { self.check = check }
}

/// Why a restored machine cannot be proven to work (said in the run's properties).
package struct ProofImpossible: Error, Sendable {
  package var reason: String
  package init(reason: String) { self.reason = reason }
}
