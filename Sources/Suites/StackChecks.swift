import Foundation
import Machine

/// What the runner asks of the stack around every test, beyond the test's own assertions. The runner knows no
/// particular stack: whoever knows one registers its checks (`Guest`'s `StackChecks.optee`), and `none` checks
/// nothing.
public struct StackChecks: Sendable {
  /// The outcome of an invariant the stack must keep after every test.
  public enum Invariant: Sendable { case held(String), broken(String, String?), unavailable(String) }

  /// After a test, with the guest idle: the invariant. `poke` makes the stack show it at once, for a machine no
  /// later test uses.
  public var afterTest: @Sendable (Machine, _ poke: Bool) async -> Invariant
  /// On a restored machine once ready: a proof that it works as a booted one does, checked again after each test
  /// on it (nil when it holds, else why not); or why there can be no such proof.
  public var restored: @Sendable (Machine, StackFacts) async throws -> Result<RestoredProof, ProofImpossible>

  public init(afterTest: @escaping @Sendable (Machine, Bool) async -> Invariant,
    restored: @escaping @Sendable (Machine, StackFacts) async throws -> Result<RestoredProof, ProofImpossible>)
  {
    self.afterTest = afterTest
    self.restored = restored
  }

  /// Checks nothing.
  public static let none = StackChecks(afterTest: { _, _ in .unavailable("no stack checks") },
    restored: { _, _ in .failure(ProofImpossible(reason: "no stack checks")) })
}

/// A proof taken when a restored machine became ready: `check` says nil while it still holds.
public struct RestoredProof: Sendable {
  public var check: @Sendable (Machine) async -> String?
  public init(check: @escaping @Sendable (Machine) async -> String?) { self.check = check }
}

/// Why a restored machine cannot be proven to work (said in the run's properties).
public struct ProofImpossible: Error, Sendable {
  public var reason: String
  public init(reason: String) { self.reason = reason }
}
