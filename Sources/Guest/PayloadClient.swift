import Foundation
import HarnessSupport
import Suites

/// A run of the payload client (`teeharness-client`, images/payloads) in the guest's background: its process
/// and the file its JSON lines go to.
package struct GuestCalls: Sendable {
  package var log: String
  package var pid: Int
  package var tag: String
}

/// The payload client: parallel calls into the payload TA, sessions held open, and what they reported.
package struct PayloadClient: Sendable {
  let t: TestContext

  /// Starts `count` parallel calls of the payload TA's `command` (`return`, `wait`, `spin`, `panic`) lasting
  /// `ms` each, in the background; returns at once. With `held`, the sessions open but the calls wait for
  /// `release(_:)`. With `cpu`, the client runs on that CPU only (so its calls enter the secure world there).
  package func start(_ count: Int, _ command: String, ms: Int = 0, tag: String, held: Bool = false, cpu: Int? = nil)
    async throws -> GuestCalls
  {
    let go = held ? " -g /tmp/go-\(tag)" : ""
    _ = try await t.run("rm -f /tmp/go-\(tag)")
    return try await launch("calls -n \(count) -c \(command) -m \(ms)\(go)", log: "/tmp/calls-\(tag).json", tag: tag, cpu: cpu)
  }

  /// Starts one call, on CPU `cpu`, whose TA computes for about `ms` ms in user mode without a single system call
  /// (a count of loop turns at the rate `computeRate` measures — on a stack that takes foreign interrupts from
  /// user mode, the rate counts their cost, so the call runs longer).
  package func startComputing(ms: Int, tag: String, cpu: Int) async throws -> GuestCalls {
    let perMillisecond = try await computeRate(tag: tag, cpu: cpu)
    return try await start(1, "compute", ms: Int(perMillisecond * Double(ms)), tag: tag, cpu: cpu)
  }

  /// Computes on CPU `cpu` in user mode until the TA's own clock says at least `atLeast` ms passed (aiming at
  /// `ms`): the rate is measured on short calls, and a long call may run faster than they did (QEMU translates
  /// the loop once, a host gets busier or quieter), so a call that ended early is made again, longer by what the
  /// first one fell short (aiming a tenth past `ms`: the rate kept rising on one host, 2.7 then 3.3 units a
  /// millisecond, and a single retry still ended at 24.8 s of 25). At most three calls; returns the last one's
  /// timeline.
  package func compute(ms: Int, atLeast: Int, tag: String, cpu: Int, timeout: Duration) async throws -> CallTimeline {
    var units = Int(try await computeRate(tag: tag, cpu: cpu) * Double(ms))
    var timeline = try await finish(try await start(1, "compute", ms: units, tag: tag, cpu: cpu), timeout: timeout)
    for again in 1...2 {
      guard let call = timeline.calls.first, call.succeeded, call.taMilliseconds < atLeast else { break }
      units = Int(Double(units) * Double(ms) * 1.1 / Double(max(call.taMilliseconds, 1)))
      timeline = try await finish(try await start(1, "compute", ms: units, tag: "\(tag)-again\(again)", cpu: cpu), timeout: timeout)
    }
    return timeline
  }

  /// Loop turns the payload TA computes per millisecond on `cpu` (in units of the TA's loop): calls of growing
  /// size until one takes 100 ms, then one more of that size, the code now translated and warm; the faster wins.
  func computeRate(tag: String, cpu: Int) async throws -> Double {
    var units = 64
    func measure() async throws -> CallTimeline.Call {
      let measured = try await finish(try await start(1, "compute", ms: units, tag: "\(tag)-rate", cpu: cpu))
      guard let call = measured.calls.first, call.succeeded else {
        throw TestFailure(message: "the payload TA could not compute \(units) units: \(measured.calls.first?.result ?? "no result")",
          details: measured.otherLines.joined(separator: "\n"))
      }
      return call
    }
    while true {
      let call = try await measure()
      if call.taMilliseconds >= 100 || units >= 1 << 22 {
        let again = try await measure()
        return Double(units) / Double(max(min(call.taMilliseconds, again.taMilliseconds), 1))
      }
      units *= 4
    }
  }

  /// `taskset`'s mask for one CPU (hexadecimal).
  package static func mask(_ cpu: Int) -> String { String(1 << cpu, radix: 16) }

  /// Starts `teeharness-client ARGUMENTS` in the background (on CPU `cpu` only, when given), its output going
  /// to `log`.
  func launch(_ arguments: String, log: String, tag: String, cpu: Int? = nil) async throws -> GuestCalls {
    let pin = cpu.map { "taskset \(Self.mask($0)) " } ?? ""
    let started = try await t.run("\(pin)teeharness-client \(arguments) > \(log) 2>&1 & echo $!")
    guard started.status == 0, let pid = Int(started.output.trimmingCharacters(in: .whitespacesAndNewlines)) else {
      throw TestFailure(message: "the payload client did not start", details: started.output)
    }
    return GuestCalls(log: log, pid: pid, tag: tag)
  }

  /// Opens `sessions` sessions on the payload TA in a background process that holds them until killed.
  package func holdSessions(_ sessions: Int, tag: String) async throws -> GuestCalls {
    let calls = try await launch("hold -n \(sessions)", log: "/tmp/hold-\(tag).json", tag: tag)
    try await waitFor(calls, event: "holding")
    return calls
  }

  /// Lets held calls go.
  package func release(_ calls: GuestCalls) async throws { _ = try await t.run("touch /tmp/go-\(calls.tag)") }

  /// Whether the client process of `calls` still runs (it ends once its calls returned).
  package func isRunning(_ calls: GuestCalls) async throws -> Bool {
    try await t.run("kill -0 \(calls.pid) 2>/dev/null").status == 0
  }

  /// Waits until all of `calls`' `count` calls are being made (each prints `invoking` just before its call).
  /// `failing` is the link that calls which already failed find broken.
  package func waitUntilInvoking(_ calls: GuestCalls, count: Int, timeout: Duration = .seconds(30), failing: StackLink? = nil) async throws {
    try await waitFor(calls, event: "invoking", count: count, timeout: timeout, failing: failing)
  }

  /// Waits until `calls` printed `count` lines of `event` (`opened`, `invoking`, `call`) while it runs; `failing`
  /// is the link that calls which ended in an error meanwhile find broken.
  package func waitFor(_ calls: GuestCalls, event: String, count: Int = 1, timeout: Duration = .seconds(30),
    failing: StackLink? = nil) async throws
  {
    let lines = "$(grep -c '\"event\":\"\(event)\"' \(calls.log))"
    let waited = try await t.run(
      "while [ \"\(lines)\" -lt \(count) ]; do kill -0 \(calls.pid) 2>/dev/null || break; sleep 0.02; done; [ \"\(lines)\" -ge \(count) ]",
      timeout: timeout)
    guard waited.status == 0 else {
      let log = try? await t.run("cat \(calls.log)")
      // Calls that already ended in an error say why the others never got as far.
      let failed = log.map { CallTimeline(parsing: $0.output).failures.map(\.result) } ?? []
      let why = failed.isEmpty ? "" : ": \(failed.count) of its calls had already failed (\(failed.joined(separator: ", ")))"
      throw TestFailure(message: "the payload client never reported \(count) × \(event)\(why)", details: log?.output,
        breaks: failed.isEmpty ? nil : failing)
    }
  }

  /// Waits for `calls` to end (its summary, or the process gone) and returns what it reported.
  package func finish(_ calls: GuestCalls, timeout: Duration = .seconds(60)) async throws -> CallTimeline {
    _ = try await t.run("while kill -0 \(calls.pid) 2>/dev/null && ! grep -q '\"event\":\"summary\"' \(calls.log); do sleep 0.05; done",
      timeout: timeout)
    let text = try await t.run("cat \(calls.log)")
    return CallTimeline(parsing: text.output)
  }
}
