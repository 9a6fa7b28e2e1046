import Foundation

/// Unbuffered writes to standard output and error, so progress shows as it happens (also in CI logs, where
/// stdout is a pipe and `print` would hold lines back). A reader that went away (`check | head -1`, a closed
/// terminal) costs the output, never the run: SIGPIPE is ignored and a failed write is dropped.
package enum Output {
  package static func line(_ text: String) { write(text + "\n", to: STDOUT_FILENO) }

  package static func error(_ text: String) { write(text + "\n", to: STDERR_FILENO) }

  /// Writes `text` to standard output as it is (no newline added).
  package static func raw(_ text: String) { write(text, to: STDOUT_FILENO) }

  package static func raw(_ bytes: [UInt8]) { write(bytes, to: STDOUT_FILENO) }

  /// Ignores SIGPIPE for the process (a write to a closed pipe then fails with EPIPE instead of killing it).
  package static func survivePipes() { signal(SIGPIPE, SIG_IGN) }

  static func write(_ text: String, to fd: Int32) { write(Array(text.utf8), to: fd) }

  static func write(_ bytes: [UInt8], to fd: Int32) {
    var offset = 0
    while offset < bytes.count {
      let n = bytes[offset...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
      if n < 0 && errno == EINTR { continue }
      guard n > 0 else { return }
      offset += n
    }
  }
}
