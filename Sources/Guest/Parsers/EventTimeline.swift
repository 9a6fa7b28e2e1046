import Foundation
import GDBRemote
import HarnessSupport

/// Events on the machine's clock (keystrokes, reads, breakpoint hits) as a reader follows them: in order, a run
/// of the same event said once with its count and span ("12.790–13.096 thread_spmc_msg_recv on CPU 0 ×16").
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

  /// The lines, runs collapsed; at most `limit` of them, the last ones (what led to the end), with a first line
  /// saying how many earlier ones were left out.
  package func lines(limit: Int = 60) -> [String] {
    var runs: [(from: Double, to: Double, what: String, count: Int)] = []
    for event in events {
      if let last = runs.last, last.what == event.what {
        runs[runs.count - 1].to = event.at
        runs[runs.count - 1].count += 1
      } else {
        runs.append((event.at, event.at, event.what, 1))
      }
    }
    let said = runs.map { run in
      run.count == 1 ? "\(run.from.formatted(decimals: 3)) \(run.what)"
        : "\(run.from.formatted(decimals: 3))–\(run.to.formatted(decimals: 3)) \(run.what) ×\(run.count)"
    }
    guard said.count > limit, limit > 0 else { return said }
    return ["(\(said.count - limit + 1) earlier lines left out)"] + said.suffix(limit - 1)
  }
}
