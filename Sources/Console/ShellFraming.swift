import Foundation

/// How a command is sent over a serial shell so that its output and exit status can be read back, even though
/// the terminal echoes what is typed and the kernel prints its own messages in between. Pure.
///
/// The line sent is
/// `set -o pipefail; echo 'TH-'"B-<token>"; { <command>; } 2>&1 | sed 's/^/|/'; echo 'TH-'"E-<token>-$?"`:
/// - the echo of the typed line shows the quotes, so only the shell's own output matches `TH-B-<token>` and
///   `TH-E-<token>-<status>`;
/// - every line the command prints arrives prefixed with `|`, so kernel messages the console interleaves (which
///   have no prefix) are told apart, and `dmesg` output stays output;
/// - `pipefail` makes `$?` the command's status, not sed's.
///
/// A command that leaves a job in the background must redirect that job's output, or the pipe stays open
/// until the job ends.
package struct ShellFraming: Sendable, Equatable {
  package var token: String
  package var command: String

  /// What starts every line a framed command printed.
  package static let outputPrefix = "|"

  package init(command: String, token: String) {
    self.command = command
    self.token = token
  }

  /// The line to type (ending in a newline).
  package var line: String {
    let trimmed = command.trimmingCharacters(in: .whitespacesAndNewlines)
    let body = trimmed.hasSuffix("&") ? "\(trimmed) " : "\(trimmed); "
    return "set -o pipefail; echo 'TH-'\"B-\(token)\"; { \(body)} 2>&1 | sed 's/^/|/'; echo 'TH-'\"E-\(token)-$?\"\n"
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
