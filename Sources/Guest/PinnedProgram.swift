import Foundation
import Suites

/// A real-time program moved onto one CPU (`teeharness-client pin CPU`, SCHED_FIFO): Linux must preempt whatever runs
/// there at once, and asks the CPU to with a reschedule IPI (an SGI, Non-secure Group 1), so the program runs there
/// only once that CPU took the interrupt and Linux had it back. While a TA holds the CPU that is only when OP-TEE
/// left it for Linux's interrupt: a program that ran well before the TA returned proves it did — a second before
/// the TA's return by the TA's own clock, not the client's end (Linux preempts the client for the program on the
/// call's way back, and a TA that kept the interrupt masked takes it in its closing system call, so a program that
/// waited for the whole TA still runs just before either end). Times are the guest's CLOCK_MONOTONIC, the payload
/// client's calls' clock.
package struct PinnedRun: Sendable, Equatable, Decodable {
  package var cpu: Int
  /// The CPU it started on. When that is `cpu` itself it was born there: Linux had the CPU back, not for the IPI.
  package var from: Int
  package var on: Int
  /// When the move was asked for, and when the program ran on `on`.
  package var asked: Double
  package var ran: Double
  /// How long the CPU took to take the IPI and switch to the program.
  package var seconds: Double { ran - asked }

  /// Reads the program's `pinned` line; nil when there is none, it ran elsewhere, or its times are not in order.
  package init?(cpu: Int, output: String) {
    guard let line = output.split(separator: "\n").last(where: { $0.contains(#""event":"pinned""#) }),
      let run = try? JSONDecoder().decode(PinnedRun.self, from: Data(line.utf8)),
      run.cpu == cpu, run.on == cpu, run.asked.isFinite, run.ran.isFinite, run.ran >= run.asked
    else { return nil }
    self = run
  }
}

extension PinnedRun {
  /// "a real-time program moved onto CPU 0 from CPU 1 at 31.20 s ran there 0.004 s later; the TA returned at 37.90 s
  /// at the earliest".
  package func describe(against returned: Double?) -> String {
    "a real-time program moved onto CPU \(cpu) \(from == cpu ? "(born there)" : "from CPU \(from)") at \(asked.formatted(decimals: 2)) s of the guest's clock ran there \(seconds.formatted(decimals: 3)) s later; the TA returned \(returned.map { "at \($0.formatted(decimals: 2)) s at the earliest" } ?? "never")"
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

  /// How long before the TA's end the program must have run. A CPU that takes the IPI at once runs it within
  /// milliseconds of asking, seconds before the TA ends (3.0–12.1 s in 200 runs on five stacks, quiet and busy);
  /// one that takes it only as the TA ends — in the TA's closing system call, where OP-TEE takes the foreign
  /// interrupt it kept masked while the TA computed — runs it milliseconds before the TA's own end reading (10 ms
  /// seen), which follows that excursion.
  package static let marginSeconds = 1.0

  /// Why this run does not show that Linux had the CPU back while a TA that `what` there was still running
  /// (`returned`: the earliest the TA can have returned, `CallTimeline.Call.taReturnedNoEarlierThan`); nil when it
  /// does, or when the call never returned (a failure of its own).
  package func failure(whileTA what: String, returned: Double?) -> String? {
    guard let returned, returned.isFinite else { return nil }
    let margin = Self.marginSeconds
    if asked + margin >= returned {
      return "the TA returned (at \(returned.formatted(decimals: 2)) s at the earliest) less than \(margin.formatted(decimals: 1)) s after a real-time program was moved onto CPU \(cpu) (\(asked.formatted(decimals: 2)) s): the case was not reached"
    }
    if ran + margin >= returned {
      let when = ran >= returned ? "after the TA that \(what) there had returned" : "\((returned - ran).formatted(decimals: 3)) s before the TA that \(what) there returned, as it ended"
      return "a real-time program moved onto CPU \(cpu) at \(asked.formatted(decimals: 2)) s ran there only at \(ran.formatted(decimals: 3)) s, \(when) (at \(returned.formatted(decimals: 3)) s at the earliest, by its own clock): Linux never had CPU \(cpu) back for the reschedule IPI it sent there while the TA ran — its interrupts waited for the TA's end"
    }
    return nil
  }
}

extension TestContext {
  /// The guest's clock now (seconds since boot, /proc/uptime: CLOCK_BOOTTIME to 0.01 s, the payload client's
  /// CLOCK_MONOTONIC on a guest that never suspends).
  package func guestClock() async throws -> Double {
    let result = try await run("cat /proc/uptime")
    guard let now = result.output.split(separator: " ").first.flatMap({ Double($0) }) else {
      throw TestFailure(message: "the guest's clock could not be read (/proc/uptime)", details: result.output)
    }
    return now
  }

  /// Moves a real-time program onto CPU `cpu` (`teeharness-client pin`) and says when it asked and when it ran there
  /// (the guest's CLOCK_MONOTONIC). The program's own move is the stimulus: Linux sends the CPU a reschedule IPI and
  /// must switch to the program as soon as it took it. Bounded by `within`.
  package func runPinned(to cpu: Int, within: Duration = .seconds(30)) async throws -> PinnedRun {
    let result = try await run("teeharness-client pin \(cpu)", timeout: within)
    guard result.status == 0, let pinned = PinnedRun(cpu: cpu, output: result.output) else {
      throw TestFailure(message: "a real-time program moved onto CPU \(cpu) did not report running there (teeharness-client pin \(cpu) exited \(result.status))", details: result.output)
    }
    return pinned
  }
}

/// What Linux's asks for one CPU came to (`TestContext.askingForCPU`): each ask's run, in order, the lines of the
/// asks that failed (the program could not become real-time, or ran elsewhere), and the loop's other lines (why
/// it could not run at all).
package struct PinnedAsks: Sendable, Equatable {
  package var runs: [PinnedRun]
  package var failed: [String]
  package var otherLines: [String]

  /// Reads the output of the asking loop: one `pinned` line per ask.
  package init(cpu: Int, output: String) {
    let lines = output.split(separator: "\n").map(String.init)
    let asks = lines.filter { $0.contains(#""event":"pinned""#) }
    runs = asks.compactMap { PinnedRun(cpu: cpu, output: $0) }
    failed = asks.filter { PinnedRun(cpu: cpu, output: $0) == nil }
    otherLines = lines.filter { !$0.contains(#""event":"pinned""#) }
  }
}

extension TestContext {
  /// Runs `body` while Linux is asked for CPU `cpu` every `period` seconds: a loop in the guest's background, kept
  /// on the other CPUs, moves a real-time program onto it again and again (`runPinned`'s stimulus: Linux sends the
  /// CPU a reschedule IPI each time). Returns the asks and `body`'s result; the loop ends with `body`, also when it
  /// throws.
  package func askingForCPU<T: Sendable>(_ cpu: Int, every period: Double, _ body: () async throws -> T) async throws
    -> (asks: PinnedAsks, result: T)
  {
    let counted = try await run("grep -c ^processor /proc/cpuinfo")
    let text = counted.output.trimmingCharacters(in: .whitespacesAndNewlines)
    guard let cpus = Int(text), cpus > 1, cpu < cpus else {
      throw TestFailure(message: "the guest has \(text.isEmpty ? "no readable count of" : text) CPUs: none besides CPU \(cpu) to move real-time programs onto it from",
        details: counted.output)
    }
    let others = String((1 << cpus) - 1 - (1 << cpu), radix: 16)
    // Names of this run's own: a program of an earlier run that still waits cannot write into this one's log.
    let name = "/tmp/asks-cpu\(cpu)-\(UUID().uuidString.prefix(8))", log = "\(name).json", stop = "\(name).stop"
    let started = try await run("taskset \(others) sh -c 'while [ ! -e \(stop) ]; do teeharness-client pin \(cpu); sleep \(period); done' > \(log) 2>&1 & echo $!")
    guard let pid = Int(started.output.trimmingCharacters(in: .whitespacesAndNewlines)) else {
      throw TestFailure(message: "the loop that moves real-time programs onto CPU \(cpu) did not start", details: started.output)
    }
    let result: T
    do {
      result = try await body()
    } catch {
      _ = try? await run("touch \(stop); kill \(pid) 2>/dev/null")
      throw error
    }
    // The last ask ends at once now that `body` is over; the loop then sees the stop within its period.
    _ = try await run("touch \(stop); while kill -0 \(pid) 2>/dev/null; do sleep 0.05; done", timeout: .seconds(period + 15))
    return (PinnedAsks(cpu: cpu, output: try await run("cat \(log)").output), result)
  }
}
