/// How the harness ends: the exit codes every command shares.
package enum HarnessExit: Int32, Sendable {
  /// Everything asked for ran and held.
  case passed = 0
  /// A test ran and an assertion about the guest did not hold.
  case failed = 1
  /// The harness could not do its job: bad input, a missing tool, QEMU died, an image is missing.
  case infrastructure = 2
  /// The command line itself was wrong.
  case usage = 64
  /// Stopped by SIGINT (Ctrl-C) or SIGTERM; machines were shut down and reports written.
  case interruptedByINT = 130
  case interruptedByTERM = 143
}

/// An error that explains itself in one line: what went wrong and how to fix it.
///
/// Every infrastructure problem the user can act on (a broken manifest, a missing tool, a corrupted cache file,
/// an unreachable package) is reported as a `HarnessError`; the command prints `error: <message>` and exits 2.
package struct HarnessError: Error, CustomStringConvertible, Sendable {
  package var message: String
  /// What the user can do about it, if anything is known.
  package var fix: String?
  /// Extra lines shown below the message (a log tail, console tails); never part of the one-line summary.
  package var details: String?

  package init(_ message: String, fix: String? = nil, details: String? = nil) {
    self.message = message
    self.fix = fix
    self.details = details
  }

  /// The one line: `message — fix`.
  package var line: String { fix.map { "\(message) — \($0)" } ?? message }

  package var description: String {
    details.map { "\(line)\n\($0)" } ?? line
  }
}
