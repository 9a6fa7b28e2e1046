import Foundation
import HarnessSupport

/// One line of Linux's /proc/interrupts: the interrupt's number (or name, e.g. `IPI0`), its count on each CPU,
/// and the rest of the line (controller, hardware number, trigger, name).
package struct InterruptLine: Sendable, Equatable {
  package var irq: String
  package var counts: [Int]
  package var name: String

  package var total: Int { counts.reduce(0, +) }
  /// The interrupt's number at its controller (the GIC's INTID: `GICv3  33 Level uart-pl011` → 33), when given.
  package var hardwareNumber: Int? { name.split(separator: " ").dropFirst().first.flatMap { Int($0) } }

  /// Parses `line` of /proc/interrupts, whose first line `header` names one `CPUn` column per CPU.
  /// Nil when the line is not an interrupt line (no `irq:`, fewer counts than CPUs).
  package init?(header: String, line: String) {
    let cpus = header.split(separator: " ").filter { $0.hasPrefix("CPU") }.count
    guard cpus > 0, let colon = line.firstIndex(of: ":") else { return nil }
    let irq = line[..<colon].trimmingCharacters(in: .whitespaces)
    let fields = line[line.index(after: colon)...].split(separator: " ", omittingEmptySubsequences: true)
    // Linux prints each count as an unsigned 32-bit number: a longer one is not a count (and sums cannot overflow).
    let counts = fields.prefix(cpus).compactMap { UInt32($0).map(Int.init) }
    guard !irq.isEmpty, counts.count == cpus else { return nil }
    self.irq = irq
    self.counts = counts
    self.name = fields.dropFirst(cpus).joined(separator: " ")
  }
}
