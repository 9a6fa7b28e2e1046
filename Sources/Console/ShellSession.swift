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

  package init(console: ConsoleSession) { self.console = console }

  /// Runs `command` in the guest's shell and waits for it to finish.
  /// - Throws: `ExpectTimeout` naming the command when it does not finish within `timeout` (or `deadline`);
  ///   the console's errors when the machine fails meanwhile.
  package func run(_ command: String, timeout: Duration = .seconds(60), deadline: Deadline = .distantFuture) async throws
    -> ShellResult
  {
    let framing = ShellFraming(command: command, token: ShellFraming.randomToken())
    let started = ContinuousClock.now
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

  /// Sends Ctrl-C to the foreground command (after a timeout, to get the shell back).
  package func interrupt() async throws { try await console.send(bytes: [0x03]) }
}
