import Foundation
import HarnessSupport
import Reporting

/// What the payload client reported about one run of parallel calls: one JSON line per call and a summary
/// (`teeharness-client calls`). Pure: text in, facts out.
package struct CallTimeline: Sendable, Equatable {
  package struct Call: Sendable, Equatable {
    package var index: Int
    package var command: String
    package var milliseconds: Int
    package var opened: Bool
    /// TEEC result, e.g. `0x00000000`.
    package var result: String
    package var origin: Int
    /// Guest CLOCK_MONOTONIC seconds around `TEEC_InvokeCommand`.
    package var start: Double
    package var end: Double
    /// How long the TA itself measured the call (its time in the secure world).
    package var taMilliseconds: Int
    /// The TA's entry and return on OP-TEE's system time (ms; -1 when the TA did not say, e.g. it panicked).
    package var taIn: Int = -1
    package var taOut: Int = -1
    package var succeeded: Bool { result == "0x00000000" }
    /// When the TA ran, on the secure world's own clock: inside the time the call held a thread, so calls whose
    /// intervals overlap surely held threads at once (nil when the TA did not say).
    package var secureInterval: Range<Int>? { taIn >= 0 && taOut >= taIn ? taIn..<taOut : nil }
    /// The earliest the TA can have returned, on the client's clock: the call began at `start`, and the TA then
    /// ran `taMilliseconds` (its own clock, cut to whole ms) after its entry. The client's `end` can come well after
    /// the TA returned: Linux may first run other work that waited for the CPU, on the call's way back.
    package var taReturnedNoEarlierThan: Double { start + Double(taMilliseconds - 1) / 1000 }
  }

  package var calls: [Call]
  /// From the summary line: calls that returned what their command should (nil: no summary, the client died).
  package var ok: Int?
  /// Lines that were neither (a crash message, a kernel line).
  package var otherLines: [String]

  package init(parsing text: String) {
    calls = []
    otherLines = []
    for line in text.split(separator: "\n").map(String.init) {
      guard let data = line.data(using: .utf8),
        let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any],
        let event = object["event"] as? String
      else {
        if !line.trimmingCharacters(in: .whitespaces).isEmpty { otherLines.append(line) }
        continue
      }
      func int(_ key: String) -> Int { (object[key] as? NSNumber)?.intValue ?? -1 }
      func double(_ key: String) -> Double { (object[key] as? NSNumber)?.doubleValue ?? .nan }
      switch event {
      case "call":
        calls.append(Call(index: int("call"), command: object["command"] as? String ?? "?", milliseconds: int("ms"),
          opened: object["opened"] as? Bool ?? false, result: object["result"] as? String ?? "?", origin: int("origin"),
          start: double("start"), end: double("end"), taMilliseconds: int("ta_ms"), taIn: int("ta_in"), taOut: int("ta_out")))
      case "summary":
        ok = int("ok")
      default:
        continue
      }
    }
    calls.sort { $0.index < $1.index }
  }

  package var isComplete: Bool { ok != nil }
  package var failures: [Call] { calls.filter { !$0.succeeded } }

  /// The earliest call start (the flood's t = 0).
  package var origin: Double { calls.map(\.start).min() ?? .nan }
  /// First start to last end.
  package var wallSeconds: Double { (calls.map(\.end).max() ?? .nan) - origin }
  /// The longest call asked for, in seconds.
  var duration: Double { Double(calls.map(\.milliseconds).max() ?? 0) / 1000 }

  /// The most calls whose TA ran at the same moment, from the TA's own entry and return times (one clock for
  /// every call, unaffected by when a client thread got a CPU back). A call that returned in the millisecond
  /// another entered is not counted as overlapping it: the clock cannot tell their order.
  package func peakInSecureWorld() -> Int {
    var events: [(time: Int, delta: Int)] = []
    for call in calls {
      guard let interval = call.secureInterval, !interval.isEmpty else { continue }
      events.append((interval.lowerBound, 1))
      events.append((interval.upperBound, -1))
    }
    events.sort { $0.time != $1.time ? $0.time < $1.time : $0.delta < $1.delta }
    var current = 0, peak = 0
    for event in events {
      current += event.delta
      peak = max(peak, current)
    }
    return peak
  }

  /// Calls ending before `threads` threads could have served them: the i-th call to end (from 0) cannot end
  /// before (i / threads + 1) × its duration after the flood began. Empty when the waves hold.
  package func wavesViolated(threads: Int, tolerance: Double = 0.02) -> [String] {
    guard threads > 0 else { return ["no threads"] }
    let ends = calls.map(\.end).sorted()
    var violations: [String] = []
    for (i, end) in ends.enumerated() {
      let earliest = Double(i / threads + 1) * duration
      if end - origin < earliest - tolerance {
        violations.append("call #\(i + 1) to end ended at \((end - origin).formatted(decimals: 3)) s, before \(earliest.formatted(decimals: 3)) s")
      }
    }
    return violations
  }

  /// The least wall time `threads` threads need for these calls: ⌈calls / threads⌉ waves of the duration.
  package func lowerBound(threads: Int) -> Double {
    Double((calls.count + threads - 1) / max(threads, 1)) * duration
  }

  /// The end times, relative to the flood's start, rounded to 10 ms: "0.51 0.51 1.02 1.02 …".
  package var endsDescription: String {
    calls.map(\.end).sorted().map { ($0 - origin).formatted(decimals: 2) }.joined(separator: " ")
  }

  /// Each call's time in the secure world (its TA's entry and return on OP-TEE's clock), a lane per call in the
  /// order they entered, in seconds from the first entry.
  package func secureWorldSpans(_ name: String) -> Measured {
    let timed = calls.compactMap { call in call.secureInterval.map { (call.index, $0) } }.sorted { $0.1.lowerBound < $1.1.lowerBound }
    let origin = timed.map(\.1.lowerBound).min() ?? 0
    return Measured(name, unit: "s", spans: timed.map { index, interval in
      Measured.Span(lane: "call \(index)", start: Double(interval.lowerBound - origin) / 1000, end: Double(interval.upperBound - origin) / 1000)
    })
  }
}
