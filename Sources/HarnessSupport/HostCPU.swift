import Foundation

/// The host's CPU time from `/proc/stat`'s first line.
package enum HostCPU {
  /// (busy, total) clock ticks of all CPUs since boot; nil when `/proc/stat` cannot be read.
  package static func ticks(_ text: String? = try? String(contentsOfFile: "/proc/stat", encoding: .utf8)) -> (busy: Double, total: Double)? {
    guard let line = text?.split(separator: "\n").first, line.hasPrefix("cpu ") else { return nil }
    let values = line.split(separator: " ").dropFirst().compactMap { Double($0) }
    guard values.count >= 5 else { return nil }
    let total = values.prefix(8).reduce(0, +)  // user nice system idle iowait irq softirq steal (guest is in user)
    return (total - values[3] - values[4], total)
  }
}
