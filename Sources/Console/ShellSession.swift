import Foundation
import HarnessSupport

/// What a shell command left.
package struct ShellResult: Sendable {
  package var command: String
  package var output: String
  package var status: Int32
  package var seconds: Double
  package var lines: [String] { output.split(separator: "\n").map(String.init) }
}

/// The normal-world shell on the first console: run a command, get its output and exit status.
package actor ShellSession {
  package nonisolated let console: ConsoleSession
  /// Which shell takes the commands: the console's interactive one until `quieten` (or `assumeQuiet`).
  package private(set) var style: ShellFraming.Style = .interactive

  package init(console: ConsoleSession) { self.console = console }

  /// Runs `command` in the guest's shell and waits for it to finish. In the quiet shell, which does not echo, the
  /// command is written into the console's transcript as typed (`teeharness# <command>`).
  /// - Throws: `ExpectTimeout` naming the command when it does not finish within `timeout` (or `deadline`);
  ///   the console's errors when the machine fails meanwhile.
  package func run(_ command: String, timeout: Duration = .seconds(60), deadline: Deadline = .distantFuture) async throws
    -> ShellResult
  {
    let framing = ShellFraming(command: command, token: ShellFraming.randomToken(), style: style)
    let started = ContinuousClock.now
    if style == .quiet { await console.recordTyped(QuietShell.prompt + command) }
    try await console.send(framing.line)
    do {
      _ = try await console.expect(framing.begin, timeout: timeout, deadline: deadline)
      let remaining = timeout - (ContinuousClock.now - started)
      let end = try await console.expect(framing.end, timeout: max(remaining, .milliseconds(1)), deadline: deadline)
      return ShellResult(command: command, output: ShellFraming.output(between: end.before),
        status: Int32(end.groups[1]) ?? -1, seconds: (ContinuousClock.now - started).seconds)
    } catch var timeout as ExpectTimeout {
      timeout.pattern = "end of shell command `\(command)`"
      timeout.command = command
      throw timeout
    }
  }

  /// Takes the console from its interactive shell into the harness's quiet one (`QuietShell`) and sees it answer.
  /// A machine saved after this is restored with the quiet shell (`assumeQuiet`).
  /// - Throws: `ExpectTimeout` when the interactive shell does not take the line or the quiet one does not answer.
  package func quieten(deadline: Deadline) async throws {
    guard style == .interactive else { return }
    // Typed before the interactive shell reads, the line would be echoed by the terminal, not taken by the shell.
    try await expect(.literal(QuietShell.prompt), "the interactive shell's prompt `\(QuietShell.prompt)`", deadline: deadline)
    try await console.send(QuietShell.enter)
    try await expect(.literal(QuietShell.entered),
      "echo of `\(QuietShell.entered)` (the interactive shell taking the line that starts the quiet one)", deadline: deadline)
    try await console.send(QuietShell.setup)
    await console.recordTyped(QuietShell.setup.trimmingCharacters(in: .newlines))
    style = .quiet
    let answer = try await run("true", timeout: .seconds(30), deadline: deadline)
    guard answer.status == 0 else { throw HarnessError("the guest's quiet shell answered `true` with status \(answer.status)") }
  }

  private func expect(_ pattern: Pattern, _ what: String, deadline: Deadline) async throws {
    do {
      _ = try await console.expect(pattern, timeout: .seconds(30), deadline: deadline)
    } catch var timeout as ExpectTimeout {
      timeout.pattern = what
      throw timeout
    }
  }

  /// The console already has the quiet shell (a machine restored from one saved after `quieten`).
  package func assumeQuiet() { style = .quiet }
  /// The console has its interactive shell again (the machine was reset).
  package func assumeInteractive() { style = .interactive }

  /// Sends Ctrl-C to the foreground command (after a timeout, to get the shell back).
  package func interrupt() async throws { try await console.send(bytes: [0x03]) }
}
