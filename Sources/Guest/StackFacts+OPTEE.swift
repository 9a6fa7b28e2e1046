import Foundation
import Suites

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

  /// `CFG_NUM_THREADS` as built.
  package var opteeThreads: Int? { optee.integer("CFG_NUM_THREADS") }
  /// Whether OP-TEE raises asynchronous notifications; nil when nothing says.
  package var asyncNotifications: Bool? { opteeFlag("CFG_CORE_ASYNC_NOTIF") }
  /// Whether OP-TEE tells the normal world its thread count (so the Linux driver queues callers itself): as the
  /// manifest declares (`thread-count-advertised: n` for an OP-TEE that does not), true otherwise, as upstream.
  package var threadCountAdvertised: Bool { (manifest.facts["thread-count-advertised"]).map { $0 == "y" || $0 == "1" } ?? true }
}
