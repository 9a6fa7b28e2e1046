import Console
import Foundation
import GDBRemote
import HarnessSupport
import Images
import QMP

/// QEMU died or could not be started; carries what is needed to see why.
package struct MachineError: Error, CustomStringConvertible, Sendable {
  package var message: String
  package var argv: [String]
  package var status: Int32?
  package var stderr: String
  package var description: String {
    var text = message
    if let status { text += " (exit status \(status))" }
    if !stderr.isEmpty { text += "\n--- QEMU stderr\n\(stderr)" }
    text += "\n--- QEMU command line\n\(argv.joined(separator: " "))"
    return text
  }
}

/// A running QEMU with the stack: both consoles, the shell, QMP and the GDB stub's connection. Created and
/// torn down only by `withMachine`.
package actor Machine {
  package nonisolated let configuration: MachineConfiguration
  package nonisolated let normal: ConsoleSession
  package nonisolated let secure: ConsoleSession
  package nonisolated let shell: ShellSession
  package nonisolated let qmp: QMPClient
  /// The GDB stub, connected and negotiated before the CPUs first ran (nil unless the configuration gives the
  /// stub to the harness).
  package nonisolated let gdb: RSPClient?
  /// OP-TEE's thread table and the secure world's state through the stub (nil when the stack's tee.elf or
  /// layout cannot be read; `secureWorldError` says why).
  package nonisolated let secureWorld: SecureWorldProbe?
  package nonisolated let secureWorldError: String?
  /// Why there is no probe, when the reason is that the stack came without OP-TEE's symbols (tests skip).
  package nonisolated let secureWorldMissingSymbols: String?
  nonisolated let process: ChildProcess
  package nonisolated let launchedAt: ContinuousClock.Instant

  package private(set) var milestones: [Milestone] = Milestone.boot
  /// Started from a saved machine rather than booted.
  package internal(set) var restored = false
  /// Bad-pattern lines seen so far (a test that did not allow them fails).
  package private(set) var alarms: [(console: String, alarm: BadPatternWatcher.Alarm)] = []

  init(configuration: MachineConfiguration, process: ChildProcess, normal: ConsoleSession, secure: ConsoleSession,
    qmp: QMPClient, gdb: RSPClient?, secureWorld: Result<SecureWorldProbe, any Error>, launchedAt: ContinuousClock.Instant)
  {
    switch secureWorld {
    case .success(let probe): (self.secureWorld, self.secureWorldError, secureWorldMissingSymbols) = (probe, nil, nil)
    case .failure(let error): (self.secureWorld, self.secureWorldError) = (nil, "\(error)")
      secureWorldMissingSymbols = (error as? SymbolsMissing)?.description
    }
    self.configuration = configuration
    self.process = process
    self.normal = normal
    self.secure = secure
    self.shell = ShellSession(console: normal)
    self.qmp = qmp
    self.gdb = gdb
    self.launchedAt = launchedAt
  }

  package nonisolated var pid: Int32 { process.pid }
  package nonisolated var isRunning: Bool { process.isRunning }
  /// Seconds since launch.
  package nonisolated func now() -> Double { (ContinuousClock.now - launchedAt).seconds }

  func raise(_ console: String, _ alarm: BadPatternWatcher.Alarm) async {
    alarms.append((console, alarm))
    let error = BadPatternSeen(console: console, alarm: alarm, context: await context())
    let waiting = alarmWaiters
    alarmWaiters = [:]
    for waiter in waiting.values { waiter.resume(returning: error) }
    await normal.abort(error)
    await secure.abort(error)
  }

  /// Who waits for the next alarm (`failingAtAlarm`), by id.
  private var alarmWaiters: [UUID: CheckedContinuation<BadPatternSeen?, Never>] = [:]

  /// The first alarm: at once if one was raised already, nil when the waiting task is cancelled.
  func nextAlarm() async -> BadPatternSeen? {
    let id = UUID()
    return await withTaskCancellationHandler {
      await withCheckedContinuation { continuation in
        if let (console, alarm) = alarms.first {
          continuation.resume(returning: BadPatternSeen(console: console, alarm: alarm, context: ""))
        } else if Task.isCancelled {
          continuation.resume(returning: nil)
        } else {
          alarmWaiters[id] = continuation
        }
      }
    } onCancel: {
      Task { await self.stopWaiting(id) }
    }
  }

  private func stopWaiting(_ id: UUID) { alarmWaiters.removeValue(forKey: id)?.resume(returning: nil) }

  /// Runs `body` until it ends or a console raises an alarm (a panic, an oops, an assertion): then `body` is
  /// cancelled and the alarm thrown at once — whatever `body` waits for (a breakpoint, a guest command) will not
  /// come from a stack that just died. A body that does not react to cancellation is left to end on its own.
  package func failingAtAlarm<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) async throws -> T {
    try await withAbort({
      guard let alarm = await self.nextAlarm() else { return nil }
      // The alarm's burst (a panic's call stack) goes on after its line: the context is read once it is in.
      try? await self.awaitQuietConsoles(0.2, deadline: .after(.seconds(2)))
      return BadPatternSeen(console: alarm.console, alarm: alarm.alarm, context: await self.context())
    }, body)
  }


  /// Forgets alarms (after a test that allowed them) and lets the consoles wait again.
  package func clearAlarms() async {
    alarms = []
    await normal.clearAbort()
    await secure.clearAbort()
  }

  /// The last lines of both consoles, and QEMU's state: what every failure shows.
  package nonisolated func context(lines: Int = 25) async -> String {
    var text = "--- last lines of the normal-world console\n\(await normal.tail(lines))\n"
    text += "--- last lines of the secure-world console\n\(await secure.tail(lines))"
    if let status = await exitStatus() {
      text += "\n--- QEMU exited with status \(status)\n\(stderrTail())"
    }
    return text
  }

  /// QEMU's exit status; once a console has closed, QEMU is on its way out and its status is waited for a
  /// moment (the console closes before the process is reaped).
  nonisolated func exitStatus() async -> Int32? {
    if let status = process.status { return status }
    let closed = await normal.hasClosed, secureClosed = await secure.hasClosed
    guard closed || secureClosed else { return nil }
    return await process.wait(until: .after(.seconds(2)))
  }

  nonisolated func stderrTail() -> String {
    let url = configuration.runDirectory.appendingPathComponent("qemu.stderr")
    return ((try? String(contentsOf: url, encoding: .utf8)) ?? "").lastLines(15)
  }

  /// Waits for every boot milestone, in order on each console, recording when each was reached.
  /// - Throws: `ExpectTimeout` naming the milestone not reached (with the last milestone that was, and both
  ///   consoles' tails); the consoles' errors when the machine fails.
  package func awaitReady(deadline: Deadline) async throws {
    let launched = launchedAt
    let secureTask = Task { [secure, milestones] in
      var reached: [Int: Double] = [:]
      for (i, m) in milestones.enumerated() where m.world == .secure {
        _ = try await secure.expect(.literal(m.pattern), timeout: Machine.remaining(m, since: launched), deadline: deadline)
        reached[i] = await secure.timeOfLine(containing: m.pattern) ?? (ContinuousClock.now - launched).seconds
      }
      return reached
    }
    do {
      for (i, m) in milestones.enumerated() where m.world == .normal {
        do {
          let match = try await normal.expect(m.waitPattern, timeout: Self.remaining(m, since: launched), deadline: deadline)
          if let missed = m.missedWhen, match.text.contains(missed.line) {
            throw MilestoneMissed(milestone: m.name, meaning: missed.meaning, context: await context())
          }
        } catch var timeout as ExpectTimeout {
          let last = milestones.filter { $0.reachedAt != nil }.max { $0.reachedAt! < $1.reachedAt! }
          timeout.pattern = "milestone '\(m.name)' (\"\(m.pattern)\"); last reached: \(last.map { "'\($0.name)' at \($0.reachedAt!.formatted(decimals: 2)) s" } ?? "none")"
          throw timeout
        }
        milestones[i].reachedAt = await normal.timeOfLine(containing: m.pattern) ?? now()
      }
      for (i, t) in try await secureTask.value { milestones[i].reachedAt = t }
    } catch {
      secureTask.cancel()
      throw error
    }
    // The console is ours from here on: its shell becomes the harness's quiet one, which answers.
    try await shell.quieten(deadline: deadline)
  }

  /// Stops the CPUs (QMP `stop`); the consoles stay attached.
  package nonisolated func pause() async throws { try await qmp.execute("stop") }
  /// Lets the CPUs run again (QMP `cont`).
  package nonisolated func resume() async throws { try await qmp.execute("cont") }
  /// Resets the machine (QMP `system_reset`): the whole stack boots again from BL1 on the same consoles, up to
  /// the console's interactive shell.
  package nonisolated func reset() async throws {
    try await qmp.execute("system_reset")
    await shell.assumeInteractive()
  }

  /// What is left of a milestone's budget (at least a moment, so a late milestone is still looked for once).
  static func remaining(_ m: Milestone, since launch: ContinuousClock.Instant) -> Duration {
    max(.seconds(m.budget) - (ContinuousClock.now - launch), .milliseconds(10))
  }

  /// Kills QEMU outright (a test of how the harness copes with a dying machine).
  package nonisolated func kill() { process.signal(SIGKILL) }

  /// The orderly end: QMP `quit`, then SIGTERM, then SIGKILL, then the private socket folder is removed. Never
  /// throws; safe to call twice; runs to the end even when the calling task is cancelled.
  package nonisolated func shutdown() async {
    let process = self.process, qmp = self.qmp, normal = self.normal, secure = self.secure, gdb = self.gdb
    await Task {
      if process.isRunning {
        _ = try? await qmp.execute("quit", deadline: .after(.seconds(2)))
        if await process.wait(until: .after(.seconds(3))) == nil { await process.terminate() }
      }
      await normal.waitClosed(deadline: .after(.seconds(1)))
      await secure.waitClosed(deadline: .after(.seconds(1)))
      await normal.close()
      await secure.close()
      await qmp.close()
      await gdb?.close()
    }.value
    // The private folder held only the sockets and the flash image: nothing to keep.
    try? FileManager.default.removeItem(at: configuration.socketDirectory)
  }
}
