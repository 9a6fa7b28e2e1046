import Foundation
import HarnessSupport

/// What a manifest asks the archive for: a source package, or binary packages (optionally following their
/// dependencies by name prefix).
package struct LockKey: Sendable, Hashable, Comparable, CustomStringConvertible {
  package enum Kind: String, Sendable, Codable { case source, binary }
  package var kind: Kind
  package var package: PackageRef
  package var follow: [String]

  /// The key as written in the lock: `source optee-os/sid`, `binary linux-image-arm64/trixie follow linux-image-`.
  package var description: String {
    "\(kind.rawValue) \(package)" + (follow.isEmpty ? "" : " follow \(follow.joined(separator: ","))")
  }
  package static func < (a: LockKey, b: LockKey) -> Bool { a.description < b.description }
}

/// One file of the archive, pinned: where it lives under the mirror and what it must hash to.
package struct LockedFile: Sendable, Hashable, Codable {
  package var package: String
  package var version: String
  package var name: String
  /// Path below the mirror root, `pool/main/o/optee-os/optee-os_4.10.0-2.dsc`.
  package var path: String
  package var size: Int
  package var sha256: String

  /// Why this entry cannot be used to name files in the cache or the mirror (its digest and name become paths
  /// there), or nil when it can: a digest of 64 lowercase hex digits, a plain file name, a relative path inside the mirror.
  package var unsafe: String? {
    let hex = Set("0123456789abcdef")
    if sha256.count != 64 || !sha256.allSatisfy(hex.contains) { return "a sha256 that is not 64 lowercase hex digits (\(sha256.prefix(80)))" }
    if name.isEmpty || name == "." || name == ".." || name.contains("/") || name.contains("\0") { return "a file name that is not a plain name (\(name.prefix(80)))" }
    let parts = path.split(separator: "/", omittingEmptySubsequences: false)
    if path.isEmpty || path.hasPrefix("/") || path.contains("\0") || parts.contains(where: { $0 == ".." || $0 == "." || $0.isEmpty }) {
      return "a mirror path that is not a plain relative path (\(path.prefix(120)))"
    }
    if size < 0 { return "a negative size (\(size))" }
    return nil
  }
}

/// `manifests/default.lock`: every package any manifest in the folder names, resolved to versions and sha256
/// digests. Written by `teeharness images lock`; builds download exactly these files and verify them.
package struct LockFile: Sendable, Codable, Equatable {
  package var format: Int = 1
  package var entries: [String: [LockedFile]] = [:]

  package init() {}

  /// The lock beside the manifests: `<dir>/default.lock`.
  package static func location(manifestsDirectory: URL) -> URL {
    manifestsDirectory.appendingPathComponent("default.lock")
  }

  /// - Throws: `HarnessError` when the file is missing or not a lock.
  package static func load(_ url: URL) throws -> LockFile {
    guard let data = FileManager.default.contents(atPath: url.path) else {
      throw HarnessError("lock file \(url.path) not found", fix: "run `swift run teeharness images lock`")
    }
    let lock: LockFile
    do {
      lock = try JSONDecoder().decode(LockFile.self, from: data)
    } catch {
      throw HarnessError("lock file \(url.path) is not a valid lock (\(error.localizedDescription))",
        fix: "restore it from git or run `swift run teeharness images lock`")
    }
    for (key, files) in lock.entries.sorted(by: { $0.key < $1.key }) {
      for file in files {
        if let why = file.unsafe {
          throw HarnessError("lock file \(url.path): entry '\(key)' has \(why)",
            fix: "restore it from git or run `swift run teeharness images lock`")
        }
      }
    }
    return lock
  }

  /// Writes the lock atomically (sorted, stable: the same resolution gives the same bytes).
  package func write(to url: URL) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    try AtomicFile.write(try encoder.encode(self) + Data("\n".utf8), to: url)
  }

  /// The pinned files for `key`.
  /// - Throws: `HarnessError` when the lock does not cover it (a manifest changed since the last `lock`).
  package func files(for key: LockKey) throws -> [LockedFile] {
    guard let files = entries[key.description], !files.isEmpty else {
      throw HarnessError("the lock has no entry for '\(key)'", fix: "run `swift run teeharness images lock` to resolve it")
    }
    return files
  }

  /// The keys of `manifests` that the lock does not cover.
  package func missing(_ keys: [LockKey]) -> [LockKey] { keys.filter { entries[$0.description] == nil } }
}
