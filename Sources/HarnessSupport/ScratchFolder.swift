import Foundation

/// One folder per process for files that need not outlive it (`$TMPDIR/teeharness-<pid>-scratch`): a leftover
/// like any other once the process is gone (`Leftovers.sweep`), so even a process killed without warning leaves
/// nothing behind for longer than until the next harness starts.
package enum ScratchFolder {
  /// The folder, created on first use.
  package static let url: URL = {
    let url = Leftovers.temporaryFolder.appendingPathComponent("teeharness-\(getpid())-scratch", isDirectory: true)
    try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
  }()

  /// The path `name` inside the folder (not created).
  package static func path(_ name: String, isDirectory: Bool = false) -> URL {
    url.appendingPathComponent(name, isDirectory: isDirectory)
  }
}
