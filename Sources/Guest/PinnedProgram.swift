import Foundation
import Suites

/// A program run pinned to one CPU, with when it started and ended by the guest's clock (/proc/uptime, to 0.01 s:
/// boot time, the same as the payload client's CLOCK_MONOTONIC on a guest that never suspends): it can start and end
/// there only while that CPU is back in Linux, so one that ends while a TA still runs on the CPU proves Linux got
/// the CPU back meanwhile — for an interrupt it had to serve.
package struct PinnedRun: Sendable, Equatable {
  package var cpu: Int
  package var started: Double
  package var ended: Double
  package var seconds: Double { ended - started }

  /// `taskset`'s mask for one CPU (hexadecimal).
  package static func mask(_ cpu: Int) -> String { String(1 << cpu, radix: 16) }

  /// Parses the shell's `started ended` line (two /proc/uptime readings).
  package init?(cpu: Int, output: String) {
    let fields = output.split(whereSeparator: \.isWhitespace).compactMap { Double($0) }
    guard fields.count == 2, fields[1] >= fields[0] else { return nil }
    (self.cpu, started, ended) = (cpu, fields[0], fields[1])
  }
}

extension PinnedRun {
  /// Why Linux's timer is a poor witness on the SMC stack: with SPD=opteed TF-A saves the normal world's timers
  /// and switches them off while the CPU is secure (NS_TIMER_SWITCH), so a tick on a CPU held by a TA marks a
  /// return to Linux for some other interrupt; over FF-A the timer keeps running.
  package static func ticksNote(overFFA: Bool) -> String {
    overFFA ? "over FF-A Linux's timer keeps running while the CPU is secure"
      : "TF-A's opteed switches Linux's timer off while the CPU is secure: a tick there is a return to Linux for another interrupt"
  }

  /// "a program pinned to CPU 0 ran from 31.20 s to 32.05 s of the guest's clock (0.85 s); the TA returned at 37.90 s".
  package func describe(against returned: Double?) -> String {
    "a program pinned to CPU \(cpu) ran from \(started.formatted(decimals: 2)) s to \(ended.formatted(decimals: 2)) s of the guest's clock (\(seconds.formatted(decimals: 2)) s); the TA returned \(returned.map { "at \($0.formatted(decimals: 2)) s" } ?? "never")"
  }

  /// Why this run does not show that Linux had the CPU back while a TA that `what` there had not yet returned
  /// (its call's end, the guest's clock); nil when it does, or when the call never returned (a failure of its own).
  package func failure(whileTA what: String, returned: Double?) -> String? {
    guard let returned, returned.isFinite else { return nil }
    if started >= returned {
      return "the TA returned (\(returned.formatted(decimals: 2)) s) before a program pinned to CPU \(cpu) was started (\(started.formatted(decimals: 2)) s): the case was not reached"
    }
    // The readings are cut to 0.01 s: an end within that of the return does not count as before it.
    if ended + 0.01 >= returned {
      return "a program pinned to CPU \(cpu), started at \(started.formatted(decimals: 2)) s, ended only at \(ended.formatted(decimals: 2)) s, once the TA that \(what) there had returned (\(returned.formatted(decimals: 2)) s): Linux never had CPU \(cpu) back meanwhile, its interrupts waited for the TA"
    }
    return nil
  }
}

extension TestContext {
  /// The guest's clock now (seconds since boot, /proc/uptime: the payload client's clock too).
  package func guestClock() async throws -> Double {
    let result = try await run("cat /proc/uptime")
    guard let now = result.output.split(separator: " ").first.flatMap({ Double($0) }) else {
      throw TestFailure(message: "the guest's clock could not be read (/proc/uptime)", details: result.output)
    }
    return now
  }


  /// Runs `true` pinned to CPU `cpu` and says when it started and ended (the guest's clock). Bounded by `within`.
  package func runPinned(to cpu: Int, within: Duration = .seconds(30)) async throws -> PinnedRun {
    let result = try await run("read a _ < /proc/uptime; taskset \(PinnedRun.mask(cpu)) true || exit 1; read b _ < /proc/uptime; echo $a $b",
      timeout: within)
    guard result.status == 0, let pinned = PinnedRun(cpu: cpu, output: result.output) else {
      throw TestFailure(message: "a program pinned to CPU \(cpu) did not run", details: result.output)
    }
    return pinned
  }
}
