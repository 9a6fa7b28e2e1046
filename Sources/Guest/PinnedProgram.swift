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

  /// Whether Linux stood still while a TA that `what` on CPU `cpu` ran: its call (`ended`: the client's end, the
  /// TA's own milliseconds, whether it succeeded) had returned before the harness could read the guest's clock
  /// right after the client reported it started (`looking`). A CPU Linux never gets back stalls the whole of Linux
  /// soon (the shell's programs wait for it), so the report reaches the harness only once the TA is done. A call
  /// that failed, or ran for less than half of `ms`, says nothing of the kind.
  package static func stall(cpu: Int, whileTA what: String, ms: Int, lookedAt looking: Double,
    ended: (end: Double, taMilliseconds: Int, succeeded: Bool)?) -> String?
  {
    guard let ended, ended.succeeded, ended.taMilliseconds >= ms / 2, ended.end <= looking else { return nil }
    return "Linux stood still while the TA \(what) on CPU \(cpu): the call (\(ended.taMilliseconds) ms in the TA) had returned at \(ended.end.formatted(decimals: 2)) s of the guest's clock before Linux's shell could even report it started (\(looking.formatted(decimals: 2)) s) — Linux's interrupts on CPU \(cpu) waited for the TA"
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
      return "a program pinned to CPU \(cpu), started at \(started.formatted(decimals: 2)) s, ended only at \(ended.formatted(decimals: 2)) s, once the TA that \(what) there had returned (\(returned.formatted(decimals: 2)) s): Linux never had CPU \(cpu) back meanwhile, though the normal UART raised its interrupt every 50 ms: its interrupts waited for the TA"
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
  ///
  /// Meanwhile CPU 1 writes an empty line to the normal console every 50 ms: each raises the normal UART's
  /// interrupt (Non-secure Group 1, routed to CPU 0), the stimulus that must bring Linux back to a CPU a TA holds.
  /// Without it the program would wait for whatever else happens to interrupt the CPU: on a stack without
  /// asynchronous notifications nothing did for the whole 8 s of a TA's run (Linux's own reschedule IPI did not),
  /// on one with them the test watchdog's notification came once a second.
  package func runPinned(to cpu: Int, within: Duration = .seconds(30)) async throws -> PinnedRun {
    let done = "/tmp/.pinned"
    let result = try await run("rm -f \(done); read a _ < /proc/uptime; "
      + "(taskset \(PinnedRun.mask(cpu)) true; s=$?; read b _ < /proc/uptime; echo \"$s $b\" > \(done)) & "
      + "n=0; until [ -s \(done) ] || [ $n -ge 300 ]; do echo > /dev/console; sleep 0.05; n=$((n + 1)); done; "
      + "read s b < \(done) && [ \"$s\" = 0 ] || exit 1; echo $a $b", timeout: within)
    guard result.status == 0, let pinned = PinnedRun(cpu: cpu, output: result.output) else {
      throw TestFailure(message: "a program pinned to CPU \(cpu) did not run", details: result.output)
    }
    return pinned
  }
}
