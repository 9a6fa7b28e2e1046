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

  /// TF-A handing OP-TEE the secure interrupts it takes while a CPU is in the normal world (opteed's jump to
  /// OP-TEE's FIQ entry, the SPMD's FFA_INTERRUPT): broken when EL3's handler took them and OP-TEE's handler was
  /// never entered after it — not handed over, or handed over and not taken. A secure interrupt that finds its CPU
  /// in the secure world does not need it.
  package static let handover = StackLink("TF-A handing OP-TEE the secure interrupts it takes while a CPU is in the normal world")

  /// Calls beyond OP-TEE's thread count waiting for a free thread — queued by Linux's driver, or answered
  /// ETHREAD_LIMIT and retried — instead of failing: broken when a flood's calls fail.
  package static let waitingForAThread = StackLink("calls beyond OP-TEE's thread count waiting for a free thread instead of failing")

  /// Bytes sent through an OCALL to the tee-supplicant plugin coming back intact: broken when an echo that
  /// succeeded came back changed. Every recovery scenario ends with such an echo.
  package static let ocallBytes = StackLink("bytes sent through an OCALL to the tee-supplicant plugin coming back intact")

  /// What a test needs for the bytes it types at the secure console to be read: their interrupt and, where OP-TEE
  /// reads them in the bottom half (asynchronous notifications on), the notifications too.
  package static func secureConsoleReads(_ facts: StackFacts) -> [StackLink] {
    [.secureUARTInterrupt] + (facts.asyncNotifications == true ? [.notifications] : [])
  }

  /// What a test needs whose secure interrupts may find their CPU in Linux (bytes typed while it idles or
  /// between the turns of spinning TAs, the secure timer's): their reads and TF-A's handover.
  package static func secureConsoleReadsFromNormalWorld(_ facts: StackFacts) -> [StackLink] {
    [.handover] + secureConsoleReads(facts)
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
