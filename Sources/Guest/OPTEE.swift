import Foundation
import GDBRemote
import HarnessSupport
import Suites

/// OP-TEE as the tests see it: what the stack says of it (never a constant), its secure world through the GDB
/// stub, and what it holds.
package struct OPTEE: Sendable {
  let t: TestContext

  /// The notification interrupt OP-TEE's qemu_armv8a platform uses when its build does not say
  /// (`CFG_CORE_ASYNC_NOTIF_GIC_INTID`'s default there).
  package static let defaultNotificationIntid = 219

  /// How a secure interrupt taken in the normal world reaches OP-TEE on this stack.
  package var route: InterruptRoute { InterruptRoute(t.facts.transport) }

  /// CFG_NUM_THREADS of the stack under test (from its build, never a constant); a skip when nothing says.
  package func threads() throws -> Int {
    guard let n = t.facts.opteeThreads, n > 0 else {
      if !t.facts.opteeConfigKnown { try t.skip(t.facts.unknown("CFG_NUM_THREADS")) }
      throw TestFailure(message: "the OP-TEE build has no CFG_NUM_THREADS in conf.mk")
    }
    return n
  }

  /// Skips unless OP-TEE is built with the flag `name`; `what` says what the stack lacks without it.
  package func require(_ name: String, else what: String) throws {
    switch t.facts.opteeFlag(name) {
    case true: return
    case false: try t.skip("\(what) (\(name)=n)")
    case nil: try t.skip(t.facts.unknown(name))
    }
  }

  /// The notification interrupt OP-TEE was built with.
  package var notificationIntid: Int {
    t.facts.optee.integer("CFG_CORE_ASYNC_NOTIF_GIC_INTID") ?? Self.defaultNotificationIntid
  }

  /// The machine's secure-world probe; a skip when the stack came without OP-TEE's symbols, else a failure saying
  /// why there is none.
  package func probe() throws -> SecureWorldProbe {
    guard let probe = t.machine.secureWorld else {
      if let missing = t.machine.secureWorldMissingSymbols { try t.skip(missing) }
      throw TestFailure(message: "no secure-world probe: \(t.machine.secureWorldError ?? "unknown reason")")
    }
    return probe
  }

  /// OP-TEE's thread table, read from the secure world.
  package func threadTable() async throws -> [OpteeThread] { try await probe().threadTable() }

  /// The TEE's loaded TA instances and memory pools (`xtest --stats`).
  package func resources() async throws -> TeeResources {
    let ta = try await t.run("xtest --stats --ta 2>&1")
    let alloc = try await t.run("xtest --stats --alloc 2>&1")
    guard alloc.status == 0 else { throw TestFailure(message: "xtest --stats --alloc failed", details: alloc.output) }
    return TeeResources(instances: TeeResources.instances(parsing: ta.output),
      allocated: TeeResources.allocations(parsing: alloc.output))
  }
}
