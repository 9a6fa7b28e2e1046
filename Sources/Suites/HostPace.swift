import Console
import Foundation
import HarnessSupport

/// How fast this host runs the guest, against the host the suites' timing bounds were set on: the time the guest's
/// shell takes for a fixed loop (pure user-space work, no I/O), measured once per run on its first machine. A
/// factor of 2 means the guest runs at half the reference speed (a slower host, or one busy with other work):
/// latency bounds are multiplied by it, and beyond `judgeable` a failure is not the stack's to own.
package struct HostPace: Sendable, Equatable, CustomStringConvertible {
  /// The loop's best time in this run, in seconds (the least of `tries`: other work only ever adds to it).
  package var seconds: Double

  package init(seconds: Double) { self.seconds = seconds }

  /// The loop's time on the reference host (2 cores, QEMU 7.2 TCG, nothing else running): best of 3 measured
  /// 0.70–0.88 s on a quiet host, 0.92–1.03 s with one of its two cores kept busy.
  package static let referenceSeconds = 0.75
  /// Slower than this, a test's timing failure is reported as an error: the host is too slow to judge.
  package static let judgeable = 3.0
  /// The loop: 2,000 rounds of the shell's own arithmetic, on every CPU of the guest at once (one pinned loop
  /// each), so a host core taken by other work shows as it does to the suites' multi-CPU scenarios.
  static let loop = #"n=$(nproc); c=1; while [ $c -lt $((1 << n)) ]; do taskset $c sh -c 'i=0; while [ $i -lt 2000 ]; do i=$((i+1)); done' & c=$((c << 1)); done; wait"#
  static let tries = 3

  /// The reference host's pace, for a run that could not measure one.
  package static let reference = HostPace(seconds: referenceSeconds)

  /// How many times slower than the reference the guest runs (never less than 1: a faster host keeps the bounds).
  package var factor: Double { max(1, seconds / Self.referenceSeconds) }
  package var tooSlowToJudge: Bool { seconds / Self.referenceSeconds > Self.judgeable }

  /// `seconds` scaled to this host.
  package func scaled(_ seconds: Double) -> Double { seconds * factor }

  package var description: String {
    "the guest's calibration loop took \(seconds.formatted(decimals: 3)) s, \((seconds / Self.referenceSeconds).formatted(decimals: 1))× the reference host's \(Self.referenceSeconds.formatted(decimals: 2)) s"
  }

  /// Times the loop in the guest's shell (`tries` times, the best kept).
  package static func measure(_ shell: ShellSession, deadline: Deadline) async throws -> HostPace {
    var best = Double.infinity
    for _ in 0..<tries {
      let started = ContinuousClock.now
      _ = try await shell.run(loop, timeout: .seconds(30), deadline: deadline)
      best = min(best, (ContinuousClock.now - started).seconds)
    }
    return HostPace(seconds: best)
  }
}
