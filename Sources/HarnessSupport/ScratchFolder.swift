import Foundation

/// One folder per process for files that need not outlive it (`$TMPDIR/teeharness-<pid>-scratch`, only its owner
/// may enter): a leftover like any other once the process is gone (`Leftovers.sweep`), so even a process killed
/// without warning leaves nothing behind for longer than until the next harness starts.
package enum ScratchFolder {
  /// The folder, created on first use. A folder of that name that is not this user's own private one (somebody
  /// made it first) is passed over for a fresh one with a random suffix, swept the same way.
  package static let url: URL = {
    let base = Leftovers.temporaryFolder.appendingPathComponent("teeharness-\(getpid())-scratch")
    if mkdir(base.path, 0o700) == 0 || isPrivate(base.path) { return base }
    var template = Array((base.path + "-XXXXXX").utf8CString)
    let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) } != nil
    let path = template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    return made ? URL(fileURLWithPath: path, isDirectory: true) : base
  }()

  /// The path `name` inside the folder (not created).
  package static func path(_ name: String, isDirectory: Bool = false) -> URL {
    url.appendingPathComponent(name, isDirectory: isDirectory)
  }

  /// Whether `path` is a directory (not a link) this user owns and nobody else may write to.
  package static func isPrivate(_ path: String) -> Bool {
    var info = stat()
    guard lstat(path, &info) == 0 else { return false }
    return info.st_mode & S_IFMT == S_IFDIR && info.st_uid == getuid() && info.st_mode & 0o022 == 0
  }
}
