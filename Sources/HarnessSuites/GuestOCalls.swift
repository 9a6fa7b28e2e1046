import Foundation
import HarnessSupport
import Suites

/// What the harness's tee-supplicant plugin does with an OCALL (images/payloads/plugin).
public enum PluginCommand: String, Sendable {
  case echo, sleep, hang, crash
}

/// The kind of shared memory the client hands the TA for an OCALL's bytes.
public enum SharedMemoryKind: String, Sendable, CaseIterable {
  /// No buffer: the TA sends bytes of its own.
  case none
  /// The client's own buffer, registered with the driver (TEEC_RegisterSharedMemory).
  case registered
  /// A temporary reference: libteec shares the buffer for the one call.
  case temporary
  /// Memory the driver allocates (TEEC_AllocateSharedMemory).
  case allocated
}

/// How an OCALL ended, as the payload client reported it (its `ocall` JSON line).
public struct OCallOutcome: Sendable, Decodable {
  public var command: String
  public var memory: String
  public var result: String
  public var origin: Int
  /// What `tee_invoke_supp_plugin()` returned inside the TA.
  public var plugin: String
  public var bytes: Int
  public var returned: Int
  public var intact: Bool
  /// The checksum of the bytes sent (the plugin logs the same checksum of what it saw).
  public var sum: UInt32
  public var start: Double
  public var end: Double
  public var taMilliseconds: Int

  enum CodingKeys: String, CodingKey {
    case command, memory, result, origin, plugin, bytes, returned, intact, sum, start, end
    case taMilliseconds = "ta_ms"
  }

  public var succeeded: Bool { result == "0x00000000" }
  public var seconds: Double { end - start }

  /// The `ocall` line of the client's output, nil when it printed none (it was killed first).
  public init?(parsing text: String) {
    let decoder = JSONDecoder()
    guard let line = text.split(separator: "\n").last(where: { $0.contains(#""event":"ocall""#) && $0.contains(#""command""#) }),
      let outcome = try? decoder.decode(OCallOutcome.self, from: Data(line.utf8))
    else { return nil }
    self = outcome
  }
}

/// What the plugin logged: `serving` when a call reached it, `served` when it answered.
public struct PluginLog: Sendable {
  public var lines: [String]
  public var serving: [String] { lines.filter { $0.hasPrefix("serving ") } }
  public var served: [String] { lines.filter { $0.hasPrefix("served ") } }

  /// Whether the plugin saw bytes with this checksum and answered.
  public func served(sum: UInt32) -> Bool { served.contains { $0.hasSuffix(" sum=\(sum)") } }
}

extension TestContext {
  static let pluginLog = "/tmp/teeharness-plugin.log"
  /// While this file is absent the plugin's `hang` does not answer (TEEHARNESS_PLUGIN_RELEASE).
  static let pluginRelease = "/tmp/teeharness-plugin-release"
  /// What tee-supplicant prints when it cannot open the supplicant device (another context still holds it).
  static let supplicantRefused = "failed to find an OP-TEE supplicant device"

  /// Starts one OCALL in the background: the TA calls the plugin's `command` (argument `ms`) with `bytes` bytes
  /// in shared memory of kind `memory`; with `cancelAfter`, the client requests the call's cancellation then.
  public func startOCall(_ command: PluginCommand, ms: Int = 0, memory: SharedMemoryKind = .registered, bytes: Int = 256,
    cancelAfter: Int? = nil, tag: String) async throws -> GuestCalls
  {
    let cancel = cancelAfter.map { " -x \($0)" } ?? ""
    let calls = try await startClient("ocall -c \(command.rawValue) -m \(ms) -s \(memory.rawValue) -b \(bytes)\(cancel)",
      log: "/tmp/ocall-\(tag).json", tag: tag)
    try await waitFor(calls, event: "invoking")
    return calls
  }

  /// Makes one OCALL and waits for its outcome.
  public func ocall(_ command: PluginCommand, ms: Int = 0, memory: SharedMemoryKind = .registered, bytes: Int = 256,
    tag: String, timeout: Duration = .seconds(30)) async throws -> OCallOutcome
  {
    try await outcome(of: try await startOCall(command, ms: ms, memory: memory, bytes: bytes, tag: tag), timeout: timeout)
  }

  /// Waits for an OCALL client to end and returns what it reported.
  public func outcome(of calls: GuestCalls, timeout: Duration = .seconds(30)) async throws -> OCallOutcome {
    guard try await waitGone(calls.pid, within: timeout) != nil else {
      throw TestFailure(message: "the OCALL client (pid \(calls.pid)) did not end within \(timeout.seconds.formatted(decimals: 0)) s",
        details: try await hangReport(client: calls.pid))
    }
    let text = try await run("cat \(calls.log)").output
    guard let outcome = OCallOutcome(parsing: text) else {
      throw TestFailure(message: "the OCALL client reported no outcome", details: text)
    }
    return outcome
  }

  /// Empties the plugin's log (before a scenario, so its lines are the scenario's own).
  public func clearPluginLog() async throws { _ = try await run(": > \(Self.pluginLog)") }

  public func pluginLog() async throws -> PluginLog {
    PluginLog(lines: try await run("cat \(Self.pluginLog) 2>/dev/null").lines)
  }

  /// Waits until the plugin is serving a call (it logged `serving`), i.e. the TA waits in its OCALL.
  public func waitPluginServing(timeout: Duration = .seconds(15)) async throws {
    guard try await waitUntil("grep -q '^serving' \(Self.pluginLog) 2>/dev/null", within: timeout) != nil else {
      throw TestFailure(message: "the OCALL never reached the plugin within \(timeout.seconds.formatted(decimals: 0)) s",
        details: try await run("cat \(Self.pluginLog)").output)
    }
  }

  /// Waits until the plugin serves the call, then sends `signal` to `pid` unless the plugin has already answered —
  /// all inside the guest in one command, so no console round trip lets the plugin answer in between. True if the
  /// signal was sent mid-call; false when the plugin was faster.
  public func killWhileServing(_ pid: Int, signal: String = "KILL", timeout: Duration = .seconds(15)) async throws -> Bool {
    let limit = Int(timeout.seconds.rounded(.up)) + 1
    let sent = try await run("end=$(($(cut -d. -f1 /proc/uptime) + \(limit))); "
      + "until grep -q '^serving' \(Self.pluginLog) 2>/dev/null; do [ $(cut -d. -f1 /proc/uptime) -ge $end ] && exit 1; sleep 0.01; done; "
      + "grep -q '^served' \(Self.pluginLog) || { kill -\(signal) \(pid); echo killed-mid-call; }", timeout: timeout + .seconds(15))
    guard sent.status == 0 else {
      throw TestFailure(message: "the OCALL never reached the plugin within \(timeout.seconds.formatted(decimals: 0)) s",
        details: try await run("cat \(Self.pluginLog)").output)
    }
    return sent.output.contains("killed-mid-call")
  }

  /// The tee-supplicant process that holds the supplicant device open (and so serves requests), nil if none.
  public func servingSupplicant() async throws -> Int? {
    let found = try await run(
      "for p in $(pidof tee-supplicant); do ls -l /proc/$p/fd 2>/dev/null | grep -q teepriv0 && echo $p; done")
    return found.lines.compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }.first
  }

  /// Waits until a tee-supplicant other than `old` serves; returns its pid and how long that took.
  public func waitNewSupplicant(replacing old: Int, within: Duration) async throws -> (pid: Int, seconds: Double)? {
    let serving = "for p in $(pidof tee-supplicant); do [ $p != \(old) ] && ls -l /proc/$p/fd 2>/dev/null | grep -q teepriv0 && exit 0; done; exit 1"
    guard let seconds = try await waitUntil("( \(serving) )", within: within), let pid = try await servingSupplicant() else { return nil }
    return (pid, seconds)
  }

  /// Tasks in uninterruptible sleep (state D), each as `pid name wchan`.
  public func tasksInDState() async throws -> [String] {
    try await run("for s in /proc/[0-9]*/stat; do set -- $(cat $s 2>/dev/null); [ \"$3\" = D ] && "
      + "echo \"$1 $2 $(cat /proc/$1/wchan 2>/dev/null)\"; done").lines
  }

  /// Kernel log lines that report a problem (warnings, bugs, oopses, hung tasks), oldest first.
  public func kernelProblems() async throws -> [String] {
    // Bracketed letters keep the typed command itself (echoed on the console) clear of the bad-pattern rules.
    try await run("dmesg | grep -E 'WARNING:|B[U]G:|O[o]ps|cut here|blocked for more than|use-after-free'").lines
  }

  /// The TEE's loaded TA instances and memory pools (`xtest --stats`).
  public func teeResources() async throws -> TeeResources {
    let ta = try await run("xtest --stats --ta 2>&1")
    let alloc = try await run("xtest --stats --alloc 2>&1")
    guard alloc.status == 0 else { throw TestFailure(message: "xtest --stats --alloc failed", details: alloc.output) }
    return TeeResources(instances: TeeResources.instances(parsing: ta.output),
      allocated: TeeResources.allocations(parsing: alloc.output))
  }

  /// Everything known about a call that did not come back: the thread table, where the client sleeps, the
  /// plugin's log, tasks in D state, the supplicant.
  public func hangReport(client: Int?) async throws -> String {
    var lines: [String] = []
    if let table = try? await secureWorldProbe().threadTable() {
      lines.append("OP-TEE threads: \(table.map(\.description).joined(separator: ", "))")
    }
    if let client {
      let state = try await run("cat /proc/\(client)/stat 2>/dev/null | cut -d' ' -f3").output.trimmingCharacters(in: .whitespacesAndNewlines)
      lines.append("client pid \(client): state \(state.isEmpty ? "gone" : state), waiting in \(try await sleepingIn(client).joined(separator: ", "))")
    }
    lines.append("tee-supplicant serving: \(try await servingSupplicant().map(String.init) ?? "none")")
    lines.append("tasks in D state: \(try await tasksInDState().joined(separator: "; "))")
    lines.append("plugin log:\n\(try await pluginLog().lines.joined(separator: "\n"))")
    return lines.joined(separator: "\n")
  }
}
