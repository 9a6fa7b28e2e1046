import Foundation

/// Unbuffered writes to standard output and error, so progress shows as it happens (also in CI logs, where
/// stdout is a pipe and `print` would hold lines back).
package enum Output {
  package static func line(_ text: String) {
    FileHandle.standardOutput.write(Data((text + "\n").utf8))
  }

  package static func error(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
  }
}
