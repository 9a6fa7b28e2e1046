import Foundation
import GDBRemote
import HarnessSupport

/// Events on the machine's clock (keystrokes, reads, breakpoint hits) as a reader follows them: in order, a run
/// of the same few events said once with its count and span ("12.790–13.096 thread_spmc_msg_recv on CPU 0 ×16").
package struct EventTimeline: Sendable, Equatable {
  package struct Event: Sendable, Equatable {
    package var at: Double
    package var what: String
    package init(_ at: Double, _ what: String) { (self.at, self.what) = (at, what) }
  }
  package var events: [Event]

  package init(_ events: [Event]) { self.events = events.sorted { $0.at < $1.at } }

  /// A watch's hits as events, their times put on the machine's clock by `clock`.
  package static func hits(_ log: [WatchHit], _ clock: (ContinuousClock.Instant) -> Double) -> [Event] {
    log.map { Event(clock($0.at), "\($0.name) on CPU \($0.cpu)") }
  }

  /// A failure's details: `heading`, then the lines.
  package func details(_ heading: String, limit: Int = 80) -> String {
    ([heading + ", on the machine's clock:"] + lines(limit: limit)).joined(separator: "\n")
  }

  /// The lines, runs collapsed (a run of the same few events in a row, such as a storm's two breakpoints, said
  /// once with its span and count: "12.790–13.096 (a → b) ×16"); at most `limit` of them, the last ones (what led
  /// to the end), with a first line saying how many earlier ones were left out.
  package func lines(limit: Int = 60) -> [String] {
    let said = RepeatedRuns.split(events.map(\.what)).map { run -> String in
      let first = events[run.start], last = events[run.start + run.length * run.times - 1]
      let unit = events[run.start..<(run.start + run.length)].map(\.what).joined(separator: " → ")
      if run.times == 1 { return "\(first.at.formatted(decimals: 3)) \(unit)" }
      let what = run.length == 1 ? unit : "(\(unit))"
      return "\(first.at.formatted(decimals: 3))–\(last.at.formatted(decimals: 3)) \(what) ×\(run.times)"
    }
    guard said.count > limit, limit > 0 else { return said }
    return ["(\(said.count - limit + 1) earlier lines left out)"] + said.suffix(limit - 1)
  }
}
