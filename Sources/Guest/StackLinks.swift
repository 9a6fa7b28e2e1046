import Suites

/// The links of an OP-TEE stack that tests lean on, each found broken only by evidence that no path can carry it
/// (see `StackLink`).
extension StackLink {
  /// The secure UART's interrupt enabled in the GIC: the distributor showing it disabled means no byte typed at
  /// the secure console reaches OP-TEE by any path.
  package static let secureUARTInterrupt = StackLink("the secure UART's interrupt (INTID \(Interrupts.secureUARTIntid)) enabled in the GIC distributor")
  /// A notification OP-TEE sent reaching Linux and bringing a bottom half: broken when one sent is never counted by
  /// Linux, or counted and followed by no bottom half.
  package static let notifications = StackLink("OP-TEE's asynchronous notifications reaching Linux and bringing a bottom half")

  /// What a test needs for the bytes it types at the secure console to be read: their interrupt and, where OP-TEE
  /// reads them in the bottom half (asynchronous notifications on), the notifications too.
  package static func secureConsoleReads(_ facts: StackFacts) -> [StackLink] {
    [.secureUARTInterrupt] + (facts.asyncNotifications == true ? [.notifications] : [])
  }
}

extension NotificationLinks {
  /// The link the first broken one breaks for every cause: a notification that was sent (or counted) and went no
  /// further. Nil when nothing broke, or only this cause's own sending did.
  package var breaks: StackLink? {
    guard firstBroken != nil, (sent ?? 0) > 0 || counted > 0 else { return nil }
    return .notifications
  }
}

extension NotificationRoute {
  /// The link `firstBroken` found broken for every cause: notifications all sent, and one went no further.
  package func breaks(_ traces: [Trace], cause: String, bottomHalf: String) -> StackLink? {
    guard firstBroken(traces, cause: cause, bottomHalf: bottomHalf) != nil, traces.allSatisfy({ $0.sent != nil }) else { return nil }
    return .notifications
  }
}
