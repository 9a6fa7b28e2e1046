import Foundation
import Suites

/// How the normal world reaches OP-TEE.
package enum OpteeTransport: String, Sendable {
  /// OP-TEE's own SMC ABI, through TF-A's opteed.
  case smc = "SMC"
  /// FF-A: direct requests, FFA_INTERRUPT, FF-A notifications — OP-TEE as the SPM Core at S-EL1 under TF-A's SPMD.
  case ffa = "FF-A"
}

/// OP-TEE as an FF-A partition.
package enum OpteeFFA {
  /// The UUID OP-TEE's partition answers to, as Linux's sysfs prints it (`%pUb`).
  package static let uuid = "486178e0-e7f8-11e3-bc5e-0002a5d5c51b"
}

/// OP-TEE's facts as the tests ask for them: a flag, a number, the thread count, whether it notifies.
extension StackFacts {
  /// An OP-TEE flag as built (or declared, or learned); nil when nothing says (no conf.mk, nothing declared).
  package func opteeFlag(_ name: String) -> Bool? {
    if let value = optee.values[name] { return value == "y" || value == "1" }
    return opteeConfigKnown ? false : nil
  }

  /// An OP-TEE number as built (or declared); nil when nothing says.
  package func opteeInteger(_ name: String) -> Int? { optee.integer(name) }

  /// Why a test needing OP-TEE's `name` cannot know it.
  package func unknown(_ name: String) -> String {
    "this stack does not say \(name) (its OP-TEE came without conf.mk, and the running stack did not show it): declare it with `facts: {\(name): …}` in the manifest or `--set fact.\(name)=…`"
  }

  /// How Linux reaches OP-TEE: SMCs to TF-A's OP-TEE dispatcher (the classic ABI, `SPD=opteed`), or FF-A
  /// messages through TF-A's SPM Dispatcher to OP-TEE as the SPM Core (`CFG_CORE_FFA`); nil when nothing says.
  package var transport: OpteeTransport? { opteeFlag("CFG_CORE_FFA").map { $0 ? .ffa : .smc } }

  /// `CFG_NUM_THREADS` as built.
  package var opteeThreads: Int? { optee.integer("CFG_NUM_THREADS") }
  /// Whether OP-TEE raises asynchronous notifications; nil when nothing says.
  package var asyncNotifications: Bool? { opteeFlag("CFG_CORE_ASYNC_NOTIF") }
  /// Whether the Linux driver knows OP-TEE's thread count and queues callers to it itself: as the manifest
  /// declares (`thread-count-advertised: n` for an OP-TEE that does not advertise it); on the SMC ABI yes, as
  /// upstream (OPTEE_SMC_EXCHANGE_CAPABILITIES); over FF-A no — that ABI carries no thread count, and Linux's
  /// driver starts its call queue unbounded and waits on TEE_ERROR_BUSY (drivers/tee/optee/ffa_abi.c).
  package var threadCountAdvertised: Bool {
    if let declared = manifest.facts["thread-count-advertised"] { return declared == "y" || declared == "1" }
    return transport != .ffa
  }

  /// Why the driver does not know the thread count, for messages.
  package var threadCountSource: String {
    manifest.facts["thread-count-advertised"] == nil && transport == .ffa
      ? "over FF-A the driver is given no thread count" : "OP-TEE does not advertise its thread count"
  }

  /// What OP-TEE answers a standard call that finds no free thread.
  package var noFreeThreadAnswer: String { transport == .ffa ? "TEE_ERROR_BUSY" : "ETHREAD_LIMIT" }
}
