import Foundation
import HarnessSupport
import Suites

/// A run of the payload client (`teeharness-client calls`, images/payloads) in the guest's background: its
/// process and the file its JSON lines go to.
public struct GuestCalls: Sendable {
  public var log: String
  public var pid: Int
  public var tag: String
}

extension TestContext {
  /// Starts `count` parallel calls of the payload TA's `command` (`return`, `wait`, `spin`, `panic`) lasting
  /// `ms` each, in the background; returns at once. With `held`, the sessions open but the calls wait for
  /// `release(_:)`. With `cpu`, the client runs on that CPU only (so its calls enter the secure world there).
  public func startCalls(_ count: Int, _ command: String, ms: Int = 0, tag: String, held: Bool = false, cpu: Int? = nil)
    async throws -> GuestCalls
  {
    let go = held ? " -g /tmp/go-\(tag)" : ""
    _ = try await run("rm -f /tmp/go-\(tag)")
    return try await startClient("calls -n \(count) -c \(command) -m \(ms)\(go)", log: "/tmp/calls-\(tag).json", tag: tag, cpu: cpu)
  }

  /// Starts `teeharness-client ARGUMENTS` in the background (on CPU `cpu` only, when given), its output going
  /// to `log`.
  func startClient(_ arguments: String, log: String, tag: String, cpu: Int? = nil) async throws -> GuestCalls {
    let pin = cpu.map { "taskset \(1 << $0) " } ?? ""
    let started = try await run("\(pin)teeharness-client \(arguments) > \(log) 2>&1 & echo $!")
    guard started.status == 0, let pid = Int(started.output.trimmingCharacters(in: .whitespacesAndNewlines)) else {
      throw TestFailure(message: "the payload client did not start", details: started.output)
    }
    return GuestCalls(log: log, pid: pid, tag: tag)
  }

  /// Opens `sessions` sessions on the payload TA in a background process that holds them until killed.
  public func holdSessions(_ sessions: Int, tag: String) async throws -> GuestCalls {
    let calls = try await startClient("hold -n \(sessions)", log: "/tmp/hold-\(tag).json", tag: tag)
    try await waitFor(calls, event: "holding")
    return calls
  }

  /// Lets held calls go.
  public func release(_ calls: GuestCalls) async throws { _ = try await run("touch /tmp/go-\(calls.tag)") }

  /// Waits until all of `calls`' `count` calls are being made (each prints `invoking` just before its call).
  public func waitUntilInvoking(_ calls: GuestCalls, count: Int, timeout: Duration = .seconds(30)) async throws {
    try await waitFor(calls, event: "invoking", count: count, timeout: timeout)
  }

  /// Waits until `calls` printed `count` lines of `event` (`opened`, `invoking`, `call`) while it runs.
  public func waitFor(_ calls: GuestCalls, event: String, count: Int = 1, timeout: Duration = .seconds(30)) async throws {
    let lines = "$(grep -c '\"event\":\"\(event)\"' \(calls.log))"
    let waited = try await run(
      "while [ \"\(lines)\" -lt \(count) ]; do kill -0 \(calls.pid) 2>/dev/null || break; sleep 0.02; done; [ \"\(lines)\" -ge \(count) ]",
      timeout: timeout)
    guard waited.status == 0 else {
      let log = try? await run("cat \(calls.log)")
      throw TestFailure(message: "the payload client never reported \(count) × \(event)", details: log?.output)
    }
  }

  /// Waits for `calls` to end (its summary, or the process gone) and returns what it reported.
  public func finish(_ calls: GuestCalls, timeout: Duration = .seconds(60)) async throws -> CallTimeline {
    _ = try await run("while kill -0 \(calls.pid) 2>/dev/null && ! grep -q '\"event\":\"summary\"' \(calls.log); do sleep 0.05; done",
      timeout: timeout)
    let text = try await run("cat \(calls.log)")
    return CallTimeline(parsing: text.output)
  }

  /// Waits until guest process `pid` is gone; returns how long that took (seconds), nil if it outlived `within`.
  public func waitGone(_ pid: Int, within: Duration) async throws -> Double? {
    try await waitUntil("[ ! -d /proc/\(pid) ]", within: within)
  }

  /// Polls the guest shell condition `condition` until it holds; returns how long that took (seconds), nil if it
  /// still did not hold after `within` (the guest loop keeps its own deadline, so the shell stays usable).
  public func waitUntil(_ condition: String, within: Duration) async throws -> Double? {
    let started = ContinuousClock.now
    let limit = Int(within.seconds.rounded(.up)) + 1
    let waited = try await run("end=$(($(cut -d. -f1 /proc/uptime) + \(limit))); until \(condition); do "
      + "[ $(cut -d. -f1 /proc/uptime) -ge $end ] && exit 1; sleep 0.02; done", timeout: within + .seconds(15))
    return waited.status == 0 ? (ContinuousClock.now - started).seconds : nil
  }

  /// Looks at what only the host can see (console lines, parsed tool output) until `condition` holds or `within`
  /// passes, letting the guest's clock run 0.1 s between looks; returns whether it held. Looks at least once.
  public func poll(within: Duration, _ condition: () async throws -> Bool) async throws -> Bool {
    let deadline = Deadline.after(within)
    while try await !condition() {
      if deadline.hasPassed { return false }
      _ = try await run("sleep 0.1")
    }
    return true
  }

  /// The kernel functions the threads of guest process `pid` sleep in (`/proc/PID/task/*/wchan`).
  public func sleepingIn(_ pid: Int) async throws -> [String] {
    try await run("for f in /proc/\(pid)/task/*/wchan; do cat $f 2>/dev/null; echo; done").lines.filter { !$0.isEmpty }
  }

  /// Per-CPU counts of the interrupt named `name` in /proc/interrupts (e.g. `arch_timer`).
  public func interruptCounts(_ name: String) async throws -> [Int] {
    try await interruptLine(matching: " \(name)$").counts
  }

  /// The first /proc/interrupts line that matches `expression` (an ERE, e.g. `uart-pl011`): per-CPU counts and
  /// the rest of the line (controller, number, trigger, name).
  public func interruptLine(matching expression: String) async throws -> InterruptLine {
    guard let line = try await shell.interruptLine(matching: expression, deadline: deadline) else {
      let listed = try? await run("cat /proc/interrupts").output
      throw TestFailure(message: "no interrupt matching \(expression) in /proc/interrupts", details: listed)
    }
    return line
  }

  /// CFG_NUM_THREADS of the stack under test (from its build, never a constant).
  public func opteeThreads() throws -> Int {
    guard let n = facts.opteeThreads, n > 0 else {
      if !facts.opteeConfigKnown { try skip(facts.unknown("CFG_NUM_THREADS")) }
      throw TestFailure(message: "the OP-TEE build has no CFG_NUM_THREADS in conf.mk")
    }
    return n
  }

  /// Skips unless OP-TEE is built with the flag `name`; `what` says what the stack lacks without it.
  public func requireOptee(_ name: String, else what: String) throws {
    switch facts.opteeFlag(name) {
    case true: return
    case false: try skip("\(what) (\(name)=n)")
    case nil: try skip(facts.unknown(name))
    }
  }
}
