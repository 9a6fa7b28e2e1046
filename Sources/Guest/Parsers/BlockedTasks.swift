import Foundation

/// Linux's list of blocked tasks (sysrq `w`, "Show Blocked State"; or the hung-task detector's reports): each
/// task, its state and where it waits — the first frame of its stack that is not the scheduler's or a generic
/// wait's. Pure; lines may carry the kernel's `[ time]` prefix.
package struct BlockedTask: Sendable, Equatable, CustomStringConvertible {
  package var name: String
  package var pid: Int?
  package var state: String
  /// The first frame that says what the task waits for (`optee_cq_wait_for_completion [optee]`).
  package var waitsIn: String?
  package var frames: [String]

  package var description: String {
    "\(name)\(pid.map { " (pid \($0))" } ?? "") \(state)\(waitsIn.map { " in \($0)" } ?? "")"
  }

  /// Frames of the scheduler and of generic waits, which say nothing of what the task waits for.
  static let genericFrames = ["__switch_to", "__schedule", "schedule", "io_schedule", "preempt_schedule", "wait_for_common",
    "__wait_for_common", "do_wait_for_common", "wait_for_completion", "__mutex_lock", "mutex_lock", "rwsem_down",
    "down_read", "down_write", "__down", "down", "bit_wait", "out_of_line_wait_on_bit", "__wait_on_bit", "ret_from_fork", "kthread"]

  package static func parse(_ lines: [String]) -> [BlockedTask] {
    var tasks: [BlockedTask] = []
    for raw in lines {
      let line = Self.withoutTime(raw)
      if let task = Self.header(line) {
        tasks.append(task)
      } else if !tasks.isEmpty, let frame = Self.frame(line) {
        tasks[tasks.count - 1].frames.append(frame)
        if tasks[tasks.count - 1].waitsIn == nil, !Self.isGeneric(frame) { tasks[tasks.count - 1].waitsIn = frame }
      }
    }
    return tasks
  }

  /// `task:xtest state:D stack:0 pid:170 tgid:170 ppid:150 flags:0x00000008`
  static func header(_ line: String) -> BlockedTask? {
    let words = line.split(separator: " ", omittingEmptySubsequences: true)
    guard let first = words.first, first.hasPrefix("task:"), first.count > 5 else { return nil }
    // `pid:170` or, on older kernels, `pid:  170`.
    func value(_ key: String) -> String? {
      guard let at = words.firstIndex(where: { $0.hasPrefix(key) }) else { return nil }
      let rest = words[at].dropFirst(key.count)
      return rest.isEmpty ? (at + 1 < words.count ? String(words[at + 1]) : nil) : String(rest)
    }
    return BlockedTask(name: String(first.dropFirst(5)), pid: value("pid:").flatMap { Int($0) }, state: value("state:") ?? "?",
      waitsIn: nil, frames: [])
  }

  /// ` optee_cq_wait_for_completion+0x98/0x120 [optee]` → `optee_cq_wait_for_completion [optee]`
  static func frame(_ line: String) -> String? {
    let text = line.trimmingCharacters(in: .whitespaces)
    guard let plus = text.firstIndex(of: "+"), plus != text.startIndex,
      text[text.index(after: plus)...].hasPrefix("0x"),
      text[..<plus].allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" || $0 == "." })
    else { return nil }
    let module = text.range(of: " [").map { String(text[$0.lowerBound...]) } ?? ""
    return String(text[..<plus]) + module
  }

  static func isGeneric(_ frame: String) -> Bool {
    let name = frame.split(separator: " ").first.map(String.init) ?? frame
    return genericFrames.contains { name == $0 || name.hasPrefix($0 + "_") || name.hasPrefix($0 + ".") }
  }

  /// Without the kernel's `[ time]` prefix (and `[ T170]`, the caller's, where printk names it).
  static func withoutTime(_ line: String) -> String {
    var rest = Substring(line)
    while rest.hasPrefix("["), let close = rest.firstIndex(of: "]") { rest = rest[rest.index(after: close)...] }
    return String(rest)
  }
}
