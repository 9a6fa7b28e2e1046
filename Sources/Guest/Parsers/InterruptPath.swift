import GDBRemote
import HarnessSupport

/// How a secure interrupt reached its OP-TEE handler, told from the order in which one CPU executed the entry
/// points a `SecureWorldWatch` logged just before the handler ran.
package enum InterruptPath: String, Sendable, Equatable, CaseIterable {
  /// The CPU was in the normal world: the interrupt was a FIQ taken to EL3, and TF-A handed it to OP-TEE (see
  /// `InterruptRoute`).
  case fromNormalWorldThroughEL3 = "from the normal world through TF-A"
  /// The CPU was in the secure world: an IRQ taken directly at OP-TEE's own vector (`elx_irq`).
  case inSecureWorld = "taken directly in the secure world"
  /// The watch saw no entry before the handler on that CPU.
  case unknown = "entry not seen"

  /// OP-TEE's IRQ vector (with GICv3, Secure Group 1 is an IRQ while the CPU is secure: native).
  package static let secureIRQ = "elx_irq"
  /// OP-TEE's FIQ vector (a Non-secure Group 1 interrupt while the CPU is secure: foreign).
  package static let foreignFIQ = "elx_fiq"
  /// The vector entries for a FIQ and an IRQ taken from a lower EL (S-EL0, a TA in user mode, AArch64): offsets
  /// from the vector base the CPU uses in user mode, and the names a watch logs them by.
  package static let fiqFromUser = (offset: UInt64(0x500), name: "FIQ from S-EL0 (VBAR+0x500)")
  package static let irqFromUser = (offset: UInt64(0x480), name: "IRQ from S-EL0 (VBAR+0x480)")
  /// Where OP-TEE leaves a thread for the normal world to serve a foreign interrupt (both transports).
  package static let foreignExit = "thread_foreign_intr_exit"

  /// The entry points one CPU executed, in order, with a run of the same few repeated written once with its count:
  /// "(IRQ from S-EL0 (VBAR+0x480) → elx_irq) × 10 → console_itr_cb".
  package static func trail(_ names: [String]) -> String { RepeatedRuns.trail(names) }

  /// "3 from the normal world through TF-A, 1 taken directly in the secure world".
  package static func summary(_ paths: [InterruptPath]) -> String {
    let parts = allCases.compactMap { path -> String? in
      let n = paths.count { $0 == path }
      return n == 0 ? nil : "\(n) \(path.rawValue)"
    }
    return parts.isEmpty ? "none" : parts.joined(separator: ", ")
  }
}

/// The way a secure interrupt taken in the normal world reaches OP-TEE, which differs by how the normal world
/// reaches OP-TEE; the symbols a watch sets breakpoints on to see it.
package struct InterruptRoute: Sendable, Equatable {
  /// TF-A's handler for a secure interrupt taken to EL3 while the CPU was in the normal world.
  package var el3Handler: String
  /// Where OP-TEE is entered with the interrupt.
  package var handedEntry: String
  /// How EL3 hands the interrupt to OP-TEE, in words.
  package var handover: String
  /// TF-A's handler of the SMC a call from the normal world enters EL3 with.
  package var smcHandler: String
  /// Where OP-TEE receives what EL3 hands it, when that is a message (FF-A's `thread_spmc_msg_recv`): it runs
  /// after the interrupt was taken, so the two tell "never entered" from "entered and not taken".
  package var receiver: String? = nil
  /// Whether `x0` at `smcHandler` is a call from the normal world that enters OP-TEE.
  package var entersOPTEE: @Sendable (UInt64) -> Bool

  /// SPD=opteed: TF-A's opteed sets OP-TEE's FIQ entry as the return address and enters it
  /// (`opteed_sel1_interrupt_handler` → `vector_fiq_entry`); calls that enter OP-TEE are yielding SMCs.
  package static let smc = InterruptRoute(el3Handler: "opteed_sel1_interrupt_handler", handedEntry: "vector_fiq_entry",
    handover: "opteed's jump to OP-TEE's FIQ entry", smcHandler: "opteed_smc_handler", entersOPTEE: { $0 & (1 << 31) == 0 })
  /// FF-A (SPD=spmd, OP-TEE the SPMC at S-EL1): TF-A's SPMD gives OP-TEE an FFA_INTERRUPT message, resuming it
  /// after the SMC in its message loop, where OP-TEE runs with its native interrupts unmasked — so the still
  /// pending interrupt is taken at once at OP-TEE's IRQ vector (`spmd_secure_interrupt_handler` → `elx_irq`), and
  /// OP-TEE answers FFA_NORMAL_WORLD_RESUME. Calls that enter OP-TEE are FF-A direct requests
  /// (FFA_MSG_SEND_DIRECT_REQ, 32- or 64-bit).
  package static let ffa = InterruptRoute(el3Handler: "spmd_secure_interrupt_handler", handedEntry: InterruptPath.secureIRQ,
    handover: "an FFA_INTERRUPT message from the SPMD", smcHandler: "spmd_smc_handler", receiver: "thread_spmc_msg_recv",
    entersOPTEE: { $0 == 0x8400_006F || $0 == 0xC400_006F })

  package static func == (a: InterruptRoute, b: InterruptRoute) -> Bool {
    (a.el3Handler, a.handedEntry, a.smcHandler) == (b.el3Handler, b.handedEntry, b.smcHandler)
  }


  /// The symbols a watch of the handover needs: the entries, and the receiver when there is one.
  package var handoverSymbols: [String] { entrySymbols + (receiver.map { [$0] } ?? []) }

  /// The receiver is watched only at a CPU's first hit after EL3's handler on it (`watching(_:after:_:)`): every
  /// call from the normal world passes through it, and a breakpoint's stop at each would slow what is watched —
  /// on the FF-A stack, watched there, a bottom half's call left OP-TEE for Linux's timer interrupt and was
  /// resumed 15 to 25 times, each resume a stop, and bytes typed at the secure console waited seconds for it.
  package var watchedAfter: [String: String] { receiver.map { [$0: el3Handler] } ?? [:] }

  /// "TF-A's spmd_secure_interrupt_handler → OP-TEE's elx_irq".
  package var description: String { "TF-A \(el3Handler) → \(handedEntry)" }

  /// The symbols a watch needs to tell the paths apart.
  package var entrySymbols: [String] {
    [el3Handler, handedEntry, InterruptPath.secureIRQ].reduce(into: []) { if !$0.contains($1) { $0.append($1) } }
  }

  /// How often EL3's handler ran in `log`; how often the same CPU's next entry was the one EL3 hands to (the
  /// handover itself, whatever handler ran afterwards); and, with a receiver, how often OP-TEE received the
  /// message after EL3's handler (within `settle` of it), taken or not. An EL3 entry the log ends on (its CPU executed nothing watched
  /// after it before the watch ended) is not counted — what followed was not seen — unless the watch went on
  /// for `settle` after it (`ended`: when the watch ended): a handover follows within microseconds of the
  /// guest's time, and a second outlasts any breakpoint's stop. A stack that drops the interrupt in EL3 and
  /// masks its source may run EL3's handler only once in a whole watch.
  package func handovers(in log: [WatchHit], ended: ContinuousClock.Instant? = nil, settle: Duration = .seconds(1))
    -> (taken: Int, handed: Int, received: Int)
  {
    var awaitingEntry: [Int: ContinuousClock.Instant] = [:], awaitingMessage: [Int: ContinuousClock.Instant] = [:]
    var taken = 0, handed = 0, received = 0
    for hit in log where handoverSymbols.contains(hit.name) {
      if hit.name == receiver {
        // The message follows EL3's handler at once: a later one (EL3 dropped the interrupt, and this is the CPU's
        // next call) is not its handover.
        if let at = awaitingMessage.removeValue(forKey: hit.cpu), hit.at < at + settle { received += 1 }
        awaitingEntry[hit.cpu] = nil
        continue
      }
      if awaitingEntry.removeValue(forKey: hit.cpu) != nil, hit.name == handedEntry { handed += 1 }
      if hit.name == el3Handler {
        taken += 1
        awaitingEntry[hit.cpu] = hit.at
        awaitingMessage[hit.cpu] = hit.at
      }
    }
    let undecided = awaitingEntry.values.count { at in ended.map { at + settle > $0 } ?? true }
    return (taken - undecided, handed, received)
  }

  /// The path of every hit of `handler` in `log`, in order: decided by the last entries the same CPU executed —
  /// EL3's handler then the entry it hands to is the normal world's route; OP-TEE's IRQ vector alone is the
  /// secure world's.
  package func paths(of handler: String, in log: [WatchHit]) -> [InterruptPath] {
    var entered: [Int: [String]] = [:]
    var paths: [InterruptPath] = []
    for hit in log {
      if hit.name == handler {
        let trail = entered[hit.cpu] ?? []
        if trail.last == handedEntry && trail.dropLast().last == el3Handler {
          paths.append(.fromNormalWorldThroughEL3)
        } else if trail.last == InterruptPath.secureIRQ {
          paths.append(.inSecureWorld)
        } else {
          paths.append(.unknown)
        }
        entered[hit.cpu] = nil
      } else if entrySymbols.contains(hit.name) {
        entered[hit.cpu, default: []].append(hit.name)
      }
    }
    return paths
  }
}

extension InterruptRoute {
  /// The route of a stack reached over `transport` (the classic one when nothing says).
  package init(_ transport: OpteeTransport?) { self = transport == .ffa ? .ffa : .smc }
}
