import GDBRemote

/// How a secure interrupt reached its OP-TEE handler, told from the order in which one CPU executed the entry
/// points a `SecureWorldWatch` logged just before the handler ran.
package enum InterruptPath: String, Sendable, Equatable, CaseIterable {
  /// The CPU was in the normal world: the interrupt was a FIQ taken to EL3, TF-A's opteed handed it to OP-TEE's
  /// FIQ entry (`opteed_sel1_interrupt_handler` → `vector_fiq_entry`).
  case fromNormalWorldThroughEL3 = "from the normal world through TF-A"
  /// The CPU was in the secure world: an IRQ taken directly at OP-TEE's own vector (`elx_irq`).
  case inSecureWorld = "taken directly in the secure world"
  /// The watch saw no entry before the handler on that CPU.
  case unknown = "entry not seen"

  /// TF-A's handler for a Secure-EL1 interrupt that arrived while the CPU was in the normal world.
  package static let el3Handler = "opteed_sel1_interrupt_handler"
  /// OP-TEE's entry for a FIQ that TF-A passes on.
  package static let fiqEntry = "vector_fiq_entry"
  /// OP-TEE's IRQ vector (with GICv3, Secure Group 1 is an IRQ while the CPU is secure: native).
  package static let secureIRQ = "elx_irq"
  /// OP-TEE's FIQ vector (a Non-secure Group 1 interrupt while the CPU is secure: foreign).
  package static let foreignFIQ = "elx_fiq"
  /// The vector entries for a FIQ and an IRQ taken from a lower EL (S-EL0, a TA in user mode, AArch64): offsets
  /// from the vector base the CPU uses in user mode, and the names a watch logs them by.
  package static let fiqFromUser = (offset: UInt64(0x500), name: "FIQ from S-EL0 (VBAR+0x500)")
  package static let irqFromUser = (offset: UInt64(0x480), name: "IRQ from S-EL0 (VBAR+0x480)")
  /// Where OP-TEE leaves a thread for the normal world to serve a foreign interrupt.
  package static let foreignExit = "thread_foreign_intr_exit"
  /// The symbols a watch needs to tell the paths apart.
  package static let entrySymbols = [el3Handler, fiqEntry, secureIRQ]

  /// The path of every hit of `handler` in `log`, in order: decided by the last entry the same CPU executed.
  package static func paths(of handler: String, in log: [WatchHit]) -> [InterruptPath] {
    var entered: [Int: [String]] = [:]
    var paths: [InterruptPath] = []
    for hit in log {
      if hit.name == handler {
        let trail = entered[hit.cpu] ?? []
        switch trail.last {
        case secureIRQ: paths.append(.inSecureWorld)
        case fiqEntry where trail.dropLast().last == el3Handler: paths.append(.fromNormalWorldThroughEL3)
        default: paths.append(.unknown)
        }
        entered[hit.cpu] = nil
      } else if entrySymbols.contains(hit.name) {
        entered[hit.cpu, default: []].append(hit.name)
      }
    }
    return paths
  }

  /// "3 from the normal world through TF-A, 1 taken directly in the secure world".
  package static func summary(_ paths: [InterruptPath]) -> String {
    let parts = allCases.compactMap { path -> String? in
      let n = paths.count { $0 == path }
      return n == 0 ? nil : "\(n) \(path.rawValue)"
    }
    return parts.isEmpty ? "none" : parts.joined(separator: ", ")
  }
}
