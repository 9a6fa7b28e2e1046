import Foundation
import HarnessSupport

/// Downloaded archive files, stored by content: `downloads/<sha256>/<name>`. A file is only ever visible
/// there once apt's downloader has checked it against the lock's sha256; a file corrupted on disk later is
/// detected on use and fetched again.
package struct DownloadCache: Sendable {
  package var archive: DebianArchive
  package var directory: URL

  package init(archive: DebianArchive, directory: URL) {
    self.archive = archive
    self.directory = directory
  }

  /// The local copy of `file`, downloaded if needed, always verified.
  /// - Throws: `HarnessError` when the archive no longer serves the file (re-lock), serves different bytes,
  ///   or cannot be reached.
  package func fetch(_ file: LockedFile, note: @Sendable (String) -> Void = { _ in }) async throws -> URL {
    let fm = FileManager.default
    let folder = directory.appendingPathComponent(file.sha256, isDirectory: true)
    let target = folder.appendingPathComponent(file.name)
    if fm.fileExists(atPath: target.path) {
      if try await FileDigest.sha256(of: target) == file.sha256 { return target }
      note("cached download \(file.name) is corrupted (sha256 mismatch); fetching it again")
      try fm.removeItem(at: folder)
    }
    let staging = directory.appendingPathComponent("partial-\(getpid())-\(UUID().uuidString)", isDirectory: true)
    try fm.createDirectory(at: staging, withIntermediateDirectories: true)
    defer { try? fm.removeItem(at: staging) }
    let url = "\(archive.mirror)/\(Self.encodePath(file.path))"
    let result = try await Command.run([
      "/usr/lib/apt/apt-helper", "-o", "APT::Sandbox::User=root", "download-file", url,
      staging.appendingPathComponent(file.name).path, "SHA256:\(file.sha256)",
    ])
    guard result.succeeded else { throw Self.explain(result.output, file: file, url: url) }
    do {
      try fm.moveItem(at: staging, to: folder)
    } catch where fm.fileExists(atPath: target.path) {
      // Another build fetched it at the same time; theirs is as good as ours.
    }
    return target
  }

  static func encodePath(_ path: String) -> String {
    path.replacingOccurrences(of: "+", with: "%2b").replacingOccurrences(of: ":", with: "%3a")
  }

  /// Turns apt-helper's output into the one line a user can act on.
  static func explain(_ output: String, file: LockedFile, url: String) -> HarnessError {
    let what = "\(file.package) \(file.version) (\(file.name))"
    if output.contains("404") {
      return HarnessError("the archive no longer serves \(what): the lock pins a version that has left it",
        fix: "re-lock with `swift run teeharness images lock`, then build again")
    }
    if output.contains("Hash Sum mismatch") {
      return HarnessError("the archive's \(what) does not match the lock's sha256",
        fix: "re-lock with `swift run teeharness images lock` if the archive changed on purpose")
    }
    if output.contains("No space left") {
      return HarnessError("disk full while downloading \(what)", fix: "free space in the cache folder or pass --cache-dir")
    }
    if ["Could not resolve", "Failed to connect", "Temporary failure", "Connection timed out", "Network is unreachable"]
      .contains(where: output.contains)
    {
      return HarnessError("the Debian archive is unreachable (\(url))",
        fix: "check the network or proxy, or set TEEHARNESS_DEBIAN_MIRROR", details: output.lastLines(3))
    }
    return HarnessError("cannot download \(what) from \(url)", details: output.lastLines(6))
  }
}
