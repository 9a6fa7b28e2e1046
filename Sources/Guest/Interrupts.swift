import Console
import Foundation
import HarnessSupport
import Suites

/// The interrupts as Linux sees them (`/proc/interrupts`, the device tree) and the ones only the platform knows.
package struct Interrupts: Sendable {
  let t: TestContext

  /// Linux's name for OP-TEE's notification interrupt in /proc/interrupts: the OP-TEE driver's own on the SMC
  /// stack; on the FF-A stack the FF-A driver's schedule-receiver interrupt (an SGI OP-TEE donates), which
  /// carries every partition's notifications — here only OP-TEE's.
  package static func notificationName(_ transport: OpteeTransport?) -> String {
    switch transport {
    case .ffa: "ARM-FFA-SRI"
    case .smc: "optee_notification"
    case nil: "optee_notification|ARM-FFA-SRI"  // either (an ERE), for a machine whose transport is not at hand
    }
  }
  /// This stack's name for the notification interrupt.
  package var notificationName: String { Self.notificationName(t.facts.transport) }
  /// QEMU virt wires its secure UART (UART1, OP-TEE's console) to SPI 8, INTID 40 (`VIRT_SECURE_UART` in
  /// hw/arm/virt.c); the secure world's device tree is not visible to Linux, so this one is the platform's.
  package static let secureUARTIntid = 40

  /// The first /proc/interrupts line that matches `expression` (an ERE, e.g. `uart-pl011`): per-CPU counts and
  /// the rest of the line (controller, number, trigger, name).
  package func line(matching expression: String) async throws -> InterruptLine {
    guard let line = try await t.shell.interruptLine(matching: expression, deadline: t.deadline) else {
      let listed = try? await t.run("cat /proc/interrupts").output
      throw TestFailure(message: "no interrupt matching \(expression) in /proc/interrupts", details: listed)
    }
    return line
  }

  /// How many notification interrupts Linux has counted, on all CPUs.
  package func notifications() async throws -> Int { try await line(matching: notificationName).total }

  /// OP-TEE's notification interrupt as the device tree's `/firmware/optee` node gives it (its cells in hex, and
  /// decoded when they are three).
  package func notificationInDeviceTree() async throws -> (cells: String, interrupt: NotificationInterrupt?) {
    let cells = try await t.run("hexdump -ve '1/1 \"%02x\"' /sys/firmware/devicetree/base/firmware/optee/interrupts").output
      .trimmingCharacters(in: .whitespacesAndNewlines)
    return (cells, NotificationInterrupt(deviceTreeCells: cells))
  }
}

extension ShellSession {
  /// The first /proc/interrupts line that matches `expression` (an ERE, e.g. `pl011` or ` arch_timer$`),
  /// nil when none does.
  package func interruptLine(matching expression: String, timeout: Duration = .seconds(10),
    deadline: Deadline = .distantFuture) async throws -> InterruptLine?
  {
    let quoted = expression.replacingOccurrences(of: "'", with: "'\\''")
    let lines = try await run("head -1 /proc/interrupts; grep -m1 -E '\(quoted)' /proc/interrupts", timeout: timeout,
      deadline: deadline).lines
    guard lines.count >= 2 else { return nil }
    return InterruptLine(header: lines[0], line: lines[1])
  }
}
