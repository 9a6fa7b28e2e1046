import Foundation
import HarnessSupport
import Suites

/// The harness's tee-supplicant plugin (images/payloads/plugin): OCALLs the payload TA makes to it, what it
/// logged, and its `hang` held or let go.
package struct Plugin: Sendable {
  let t: TestContext

  static let logFile = "/tmp/teeharness-plugin.log"
  /// While this file is absent the plugin's `hang` does not answer (TEEHARNESS_PLUGIN_RELEASE).
  static let releaseFile = "/tmp/teeharness-plugin-release"

  /// Starts one OCALL in the background: the TA calls the plugin's `command` (argument `ms`) with `bytes` bytes
  /// in shared memory of kind `memory`; with `cancelAfter`, the client requests the call's cancellation then.
  package func start(_ command: PluginCommand, ms: Int = 0, memory: SharedMemoryKind = .registered, bytes: Int = 256,
    cancelAfter: Int? = nil, tag: String) async throws -> GuestCalls
  {
    let cancel = cancelAfter.map { " -x \($0)" } ?? ""
    let calls = try await t.client.launch("ocall -c \(command.rawValue) -m \(ms) -s \(memory.rawValue) -b \(bytes)\(cancel)",
      log: "/tmp/ocall-\(tag).json", tag: tag)
    try await t.client.waitFor(calls, event: "invoking")
    return calls
  }

  /// Makes one OCALL and waits for its outcome.
  package func call(_ command: PluginCommand, ms: Int = 0, memory: SharedMemoryKind = .registered, bytes: Int = 256,
    tag: String, timeout: Duration = .seconds(30)) async throws -> OCallOutcome
  {
    try await outcome(of: try await start(command, ms: ms, memory: memory, bytes: bytes, tag: tag), timeout: timeout)
  }

  /// Waits for an OCALL client to end and returns what it reported.
  package func outcome(of calls: GuestCalls, timeout: Duration = .seconds(30)) async throws -> OCallOutcome {
    guard try await t.waitGone(calls.pid, within: timeout) != nil else {
      throw TestFailure(message: "the OCALL client (pid \(calls.pid)) did not end within \(timeout.seconds.formatted(decimals: 0)) s",
        details: try await t.hangReport(client: calls.pid))
    }
    let text = try await t.run("cat \(calls.log)").output
    guard let outcome = OCallOutcome(parsing: text) else {
      throw TestFailure(message: "the OCALL client reported no outcome", details: text)
    }
    return outcome
  }

  /// Empties the plugin's log (before a scenario, so its lines are the scenario's own).
  package func clearLog() async throws { _ = try await t.run(": > \(Self.logFile)") }

  package func log() async throws -> PluginLog {
    PluginLog(lines: try await t.run("cat \(Self.logFile) 2>/dev/null").lines)
  }

  /// Waits until the plugin is serving a call (it logged `serving`), i.e. the TA waits in its OCALL.
  package func waitServing(timeout: Duration = .seconds(15)) async throws {
    guard try await t.waitUntil("grep -q '^serving' \(Self.logFile) 2>/dev/null", within: timeout) != nil else {
      throw TestFailure(message: "the OCALL never reached the plugin within \(timeout.seconds.formatted(decimals: 0)) s",
        details: try await t.run("cat \(Self.logFile)").output)
    }
  }

  /// Waits until the plugin answered every call it began serving (bounded by `within`); true if it did.
  package func answeredAll(within: Duration) async throws -> Bool {
    try await t.waitUntil("[ $(grep -c '^served' \(Self.logFile)) -ge $(grep -c '^serving' \(Self.logFile)) ]", within: within) != nil
  }

  /// Waits until the plugin serves the call, then sends `signal` to `pid` unless the plugin has already answered —
  /// all inside the guest in one command, so no console round trip lets the plugin answer in between. True if the
  /// signal was sent mid-call; false when the plugin was faster.
  package func killWhileServing(_ pid: Int, signal: String = "KILL", timeout: Duration = .seconds(15)) async throws -> Bool {
    let limit = Int(timeout.seconds.rounded(.up)) + 1
    let sent = try await t.run(TestContext.until("grep -q '^serving' \(Self.logFile) 2>/dev/null", seconds: limit, pause: "0.01")
      + "; grep -q '^served' \(Self.logFile) || { kill -\(signal) \(pid); echo killed-mid-call; }", timeout: timeout + .seconds(15))
    guard sent.status == 0 else {
      throw TestFailure(message: "the OCALL never reached the plugin within \(timeout.seconds.formatted(decimals: 0)) s",
        details: try await t.run("cat \(Self.logFile)").output)
    }
    return sent.output.contains("killed-mid-call")
  }

  /// Lets the plugin's `hang` answer, so no supplicant thread stays blocked after a scenario.
  package func releaseHung() async throws { _ = try await t.run("touch \(Self.releaseFile)") }
  /// Makes the plugin's `hang` wait again.
  package func armHung() async throws { _ = try await t.run("rm -f \(Self.releaseFile)") }
}

/// tee-supplicant, as the guest runs it (init's supervisor restarts it when it dies).
package struct Supplicant: Sendable {
  let t: TestContext

  /// What tee-supplicant prints when it cannot open the supplicant device (another context still holds it).
  package static let refusedLine = "failed to find an OP-TEE supplicant device"
  /// What init's supervisor prints when tee-supplicant ended.
  package static let exitLine = "tee-supplicant exited with status"

  /// The tee-supplicant process that holds the supplicant device open (and so serves requests), nil if none.
  package func serving() async throws -> Int? {
    let found = try await t.run("for p in $(pidof tee-supplicant); do \(Self.holdsDevice("$p", then: "echo $p")); done")
    return found.lines.compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }.first
  }

  /// A guest shell loop running `then` when process `pid` has the supplicant device open: the shell's own test
  /// (`-ef`) compares each open file with the device, no process forked per look.
  static func holdsDevice(_ pid: String, then: String) -> String {
    "for f in /proc/\(pid)/fd/*; do [ $f -ef /dev/teepriv0 ] && { \(then); break; }; done"
  }

  /// Waits until a tee-supplicant other than `old` serves; returns its pid and how long that took.
  package func waitNew(replacing old: Int, within: Duration) async throws -> (pid: Int, seconds: Double)? {
    let serving = "for p in $(pidof tee-supplicant); do [ $p != \(old) ] && \(Self.holdsDevice("$p", then: "exit 0")); done; exit 1"
    guard let seconds = try await t.waitUntil("( \(serving) )", within: within), let pid = try await self.serving() else { return nil }
    return (pid, seconds)
  }
}

extension TestContext {
  /// Everything known about a call that did not come back: the thread table, where the client sleeps, the
  /// plugin's log, tasks in D state, the supplicant.
  package func hangReport(client: Int?) async throws -> String {
    var lines: [String] = []
    if let table = try? await optee.threadTable() {
      lines.append("OP-TEE threads: \(table.map(\.description).joined(separator: ", "))")
    }
    if let client {
      let state = try await run("cat /proc/\(client)/stat 2>/dev/null | cut -d' ' -f3").output.trimmingCharacters(in: .whitespacesAndNewlines)
      lines.append("client pid \(client): state \(state.isEmpty ? "gone" : state), waiting in \(try await sleepingIn(client).joined(separator: ", "))")
    }
    lines.append("tee-supplicant serving: \(try await supplicant.serving().map(String.init) ?? "none")")
    lines.append("tasks in D state: \(try await tasksInDState().joined(separator: "; "))")
    lines.append("plugin log:\n\(try await plugin.log().lines.joined(separator: "\n"))")
    return lines.joined(separator: "\n")
  }
}
