import Foundation

/// SHA-256 digests of files, computed by the system's `sha256sum` (fast for the large kernel and initramfs).
package enum FileDigest {
  /// Digests of `files`, in the same order.
  /// - Throws: `HarnessError` when a file cannot be read.
  package static func sha256(of files: [URL]) async throws -> [String] {
    guard !files.isEmpty else { return [] }
    var digests: [String] = []
    // Keep each argv well under the kernel's limit.
    for start in stride(from: 0, to: files.count, by: 500) {
      let chunk = Array(files[start..<min(start + 500, files.count)])
      let result = try await Command.run(["sha256sum", "--"] + chunk.map(\.path))
      guard result.succeeded else {
        throw HarnessError("cannot digest files: \(result.output.lastLines(3))")
      }
      let lines = result.output.split(separator: "\n")
      guard lines.count == chunk.count else { throw HarnessError("sha256sum gave \(lines.count) lines for \(chunk.count) files") }
      digests += lines.map { String($0.prefix(64)) }
    }
    return digests
  }

  package static func sha256(of file: URL) async throws -> String {
    try await sha256(of: [file])[0]
  }
}
