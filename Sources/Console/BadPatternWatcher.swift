/// Lines that mean the stack is broken, on either console, whatever test is running: a kernel panic, an OP-TEE
/// panic, an RCU stall. Pure: complete lines in, alarms out. A test that provokes one may allow it by name.
package struct BadPatternWatcher: Sendable {
  package struct Rule: Sendable, Equatable {
    package var name: String
    package var expression: String
    let pattern: Pattern
    package init(_ name: String, _ expression: String) {
      self.name = name
      self.expression = expression
      self.pattern = .regex(expression)
    }
    package static func == (a: Rule, b: Rule) -> Bool { a.name == b.name && a.expression == b.expression }
  }

  /// A rule that fired.
  package struct Alarm: Sendable, Equatable, CustomStringConvertible {
    package var rule: String
    package var line: String
    package var description: String { "\(rule): \(line)" }
  }

  /// The kernel's hung-task detector: a task blocked for minutes (a test that hangs says where).
  package static let hungTask = "hung task"
  /// A CPU that took no interrupt for seconds (Linux's hard-lockup watchdog), and RCU's stall detector: the guest is
  /// stuck, like a hung task (a test that meets one says where).
  package static let hardLockup = "hard lockup", rcuStall = "RCU stall"
  /// The alarms that mean the guest is stuck somewhere, not broken.
  package static let stalls: Set<String> = [hungTask, hardLockup, rcuStall]

  package static let normalWorld: [Rule] = [
    Rule("kernel panic", #"Kernel panic"#),
    Rule("kernel oops", #"Internal error: Oops|\bOops\b"#),
    Rule("kernel BUG", #"\bBUG:"#),
    Rule(rcuStall, #"rcu.*detected stalls"#),
    Rule(hungTask, #"blocked for more than \d+ seconds"#),
    Rule(hardLockup, #"Watchdog detected hard LOCKUP"#),
    Rule("TF-A error", #"^ERROR:\s"#),
    Rule("TF-A panic", #"^PANIC|Unhandled Exception in EL3"#),
  ]
  package static let secureWorld: [Rule] = [
    Rule("OP-TEE panic", #"Panic at|Panic '"#),
    Rule("OP-TEE assertion", #"assertion .* failed"#),
    Rule("TF-A error", #"^ERROR:\s"#),
    Rule("TF-A panic", #"^PANIC|Unhandled Exception in EL3"#),
  ]

  /// Lines that look bad but are known harmless on this stack (U-Boot's fdt reservation message).
  package static let harmless: [Pattern] = [.literal("ERROR: reserving fdt memory region failed")]

  package var rules: [Rule]
  /// Rule names a test has allowed for now.
  package var allowed: Set<String> = []
  private var line = ""

  package init(rules: [Rule]) { self.rules = rules }

  /// Feeds decoded console text; returns an alarm for each complete line a rule (not allowed) matches.
  package mutating func feed(_ text: String) -> [Alarm] {
    var alarms: [Alarm] = []
    for character in text {
      if character == "\n" {
        if let alarm = check(line) { alarms.append(alarm) }
        line = ""
      } else if line.utf8.count < 4096 {
        line.append(character)
      }
    }
    return alarms
  }

  func check(_ line: String) -> Alarm? {
    // A command's own output (framed with `|` by the shell session) is data a test reads, not the stack talking.
    if line.hasPrefix(ShellFraming.outputPrefix) { return nil }
    if Self.harmless.contains(where: { $0.firstMatch(in: line) != nil }) { return nil }
    for rule in rules where !allowed.contains(rule.name) {
      if rule.pattern.firstMatch(in: line) != nil { return Alarm(rule: rule.name, line: line) }
    }
    return nil
  }
}
