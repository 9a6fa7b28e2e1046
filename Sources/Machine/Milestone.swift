import Console
import Foundation

/// A named point of the boot, seen on one console, with the time it was reached.
package struct Milestone: Sendable, Equatable {
  package enum World: String, Sendable { case normal, secure }

  package var name: String
  package var world: World
  package var pattern: String
  /// Seconds after launch by which it must be reached.
  package var budget: Double
  /// Seconds after launch it was reached (nil until then).
  package var reachedAt: Double?
  /// A line that proves the milestone will never come, and what it means (the wait ends there).
  package var missedWhen: (line: String, meaning: String)?

  package static func == (a: Milestone, b: Milestone) -> Bool {
    a.name == b.name && a.world == b.world && a.pattern == b.pattern && a.budget == b.budget && a.reachedAt == b.reachedAt
      && a.missedWhen?.line == b.missedWhen?.line
  }

  /// What the wait for it looks for: the milestone, or the line that proves it missed.
  var waitPattern: Pattern {
    guard let missed = missedWhen else { return .literal(pattern) }
    return .regex(NSRegularExpression.escapedPattern(for: pattern) + "|" + NSRegularExpression.escapedPattern(for: missed.line))
  }

  /// The boot's milestones, in the order they happen on each console.
  package static let boot: [Milestone] = [
    Milestone(name: "TF-A started", world: .normal, pattern: "Booting Trusted Firmware", budget: 10),
    Milestone(name: "secure world up", world: .secure, pattern: "Primary CPU switching to normal world boot", budget: 20),
    Milestone(name: "U-Boot started", world: .normal, pattern: "U-Boot 20", budget: 20),
    Milestone(name: "Linux booting", world: .normal, pattern: "Booting Linux on physical CPU", budget: 30),
    Milestone(name: "OP-TEE driver probed", world: .normal, pattern: "optee: initialized driver", budget: 90,
      missedWhen: ("teeharness-init: no /dev/teepriv0",
        "Linux came up without OP-TEE's driver (no /dev/teepriv0): the kernel has it neither built in nor among the modules the initramfs loads (CONFIG_OPTEE), or it found no OP-TEE node in the device tree")),
    Milestone(name: "tee-supplicant running", world: .normal, pattern: "teeharness-init: tee-supplicant running", budget: 100),
    Milestone(name: "shell ready", world: .normal, pattern: "teeharness-init: ready", budget: 110),
  ]
}

/// The boot printed the line that says a milestone will not come (the driver found no TEE, …): the stack failed.
package struct MilestoneMissed: Error, CustomStringConvertible, Sendable {
  package var milestone: String
  package var meaning: String
  /// Both consoles' last lines.
  package var context: String
  package var description: String { "no milestone '\(milestone)': \(meaning)" }
  package init(milestone: String, meaning: String, context: String) {
    (self.milestone, self.meaning, self.context) = (milestone, meaning, context)
  }
}
