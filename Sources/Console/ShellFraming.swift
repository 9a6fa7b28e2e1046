import Foundation

/// How a command is sent over a serial shell so that its output and exit status can be read back, even though
/// the kernel prints its own messages in between. Pure.
///
/// Two shells take commands:
/// - **interactive**, the console's own login shell (a person's `boot`, or before the harness takes the console):
///   it echoes and redraws what is typed, so the whole frame is typed with every command,
///   `set -o pipefail; echo 'TH-'"B-<token>"; { <command>; } 2>&1 | sed 's/^/|/'; echo 'TH-'"E-<token>-$?"`,
///   and the echo shows the quotes, so only the shell's own output matches the markers;
/// - **quiet**, the harness's own shell (`QuietShell`): no echo, no prompt, the frame's two halves defined once as
///   shell functions, so only `thb <token>; ( trap - INT; <command>; ) >/tmp/.th 2>&1; the <token> $?` is typed.
///   The command runs in a subshell as before (its `exit`, `cd` and variables stay its own; Ctrl-C ends it, not
///   the shell), its output goes to a file, and `the` prints that file through `sed` only when it is not empty.
///
/// Either way every line the command printed arrives prefixed with `|`, so kernel messages the console
/// interleaves (which have no prefix) are told apart and `dmesg` output stays output; `pipefail` makes a
/// pipeline's status its first failure's. A command that leaves a job in the background must redirect that job's
/// output: in the interactive shell the pipe would stay open until the job ends, in the quiet one its output
/// would be lost.
package struct ShellFraming: Sendable, Equatable {
  package enum Style: Sendable, Equatable { case interactive, quiet }

  package var token: String
  package var command: String
  package var style: Style

  /// What starts every line a framed command printed.
  package static let outputPrefix = "|"

  package init(command: String, token: String, style: Style = .interactive) {
    self.command = command
    self.token = token
    self.style = style
  }

  /// The line to type (ending in a newline).
  package var line: String {
    let trimmed = command.trimmingCharacters(in: .whitespacesAndNewlines)
    let body = trimmed.hasSuffix("&") ? "\(trimmed) " : "\(trimmed); "
    switch style {
    case .interactive:
      return "set -o pipefail; echo 'TH-'\"B-\(token)\"; { \(body)} 2>&1 | sed 's/^/|/'; echo 'TH-'\"E-\(token)-$?\"\n"
    case .quiet:
      return "thb \(token); ( trap - INT; \(body)) >\(QuietShell.outputFile) 2>&1; the \(token) $?\n"
    }
  }

  /// Not anchored to a line start: output without a final newline puts the end marker on its last line. Nor do
  /// they wait for the marker's newline: a kernel message the console prints between a marker and its newline
  /// (`TH-B-<token>[   12.80] hrtimer: …`) must not hide the marker. The status is read up to its first non-digit.
  package var begin: Pattern { .literal("TH-B-\(token)") }
  package var end: Pattern { .regex("TH-E-\(token)-(\\d+)(?=\\D)") }

  /// The command's output from the text between the markers: the `|`-prefixed lines, prefix removed.
  package static func output(between text: String) -> String {
    text.split(separator: "\n", omittingEmptySubsequences: false)
      .filter { $0.hasPrefix(outputPrefix) }
      .map { String($0.dropFirst()) }
      .joined(separator: "\n")
  }

  /// A fresh random token.
  package static func randomToken() -> String {
    String((0..<10).map { _ in "0123456789abcdef".randomElement()! })
  }
}

/// The harness's own shell on the console, started from the interactive one: a non-interactive busybox `sh` that
/// reads its commands from the console with the terminal's echo off. The interactive shell echoes each typed
/// character and redraws long lines, which cost the guest about 40 ms of every command (of about 58 ms for a
/// short one, measured on the reference host); here a command costs about 16 ms. Pure: the lines to type.
package enum QuietShell {
  /// Where a framed command's output is kept until it has ended.
  package static let outputFile = "/tmp/.th"

  /// The interactive shell's prompt (the test machine's init sets it): the shell reads what is typed from then on.
  /// Also what starts a typed command's line in the transcript, as it did when the shell echoed it.
  package static let prompt = "teeharness# "
  /// Typed at the interactive shell: echo off, and this shell replaced by one that reads the console as its script
  /// (so it neither prompts nor edits lines). Wait for the typed line's echo before typing more: the line
  /// editor may read ahead of the line it is given.
  package static let enter = "stty -echo; exec sh /proc/self/fd/0\n"
  /// The end of `enter`'s echo: the interactive shell has taken the whole line.
  package static let entered = "exec sh /proc/self/fd/0"

  /// Typed once in the quiet shell: the shell ignores Ctrl-C, which each command's subshell takes back (a trapped
  /// SIGINT would leave busybox's `read` spinning afterwards), `pipefail` for good, and the frame's halves.
  package static let setup =
    "trap '' INT; set -o pipefail; thb() { echo \"TH-B-$1\"; }; "
    + "the() { [ -s \(outputFile) ] && sed 's/^/|/' \(outputFile); echo \"TH-E-$1-$2\"; }\n"
}
