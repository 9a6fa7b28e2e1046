import Foundation
import HarnessSupport

#if canImport(Glibc)
  import Glibc
#endif

/// A user's source tree, built without ever being written to. What makes it is the set of files git tracks plus
/// the untracked ones it does not ignore (every file, outside git); its digest is the cache key: a clean git
/// tree's id, else a hash of those files' contents. The build works in a mirror of those files in the cache (one
/// per tree), kept between runs with each file's modification time, so that `make` recompiles only what was
/// edited, in a build folder of its own for each set of options.
struct LocalTree: Sendable {
  var root: URL
  /// Folders whose files git ignores but the build needs, as part of the tree (QEMU's `subprojects/`, which
  /// meson downloads into a checkout once and cannot fetch here).
  var ignoredButNeeded: [String] = []

  /// One file of the tree: a regular file (with its mode) or a symbolic link.
  struct Entry: Sendable, Equatable {
    var path: String
    var size: Int
    var modified: timespec
    var mode: mode_t
    var link: String?

    static func == (a: Entry, b: Entry) -> Bool {
      a.path == b.path && a.size == b.size && a.modified.tv_sec == b.modified.tv_sec
        && a.modified.tv_nsec == b.modified.tv_nsec && a.mode == b.mode && a.link == b.link
    }
  }

  /// The tree's files, sorted, with what `lstat` says of each.
  /// - Throws: `HarnessError` when git cannot list a checkout's files.
  func entries() async throws -> [Entry] {
    let paths: [String]
    if try await isGitCheckout() {
      var listed = try await git(["ls-files", "-z", "--cached", "--others", "--exclude-standard"])
      if !ignoredButNeeded.isEmpty {
        listed += try await git(["ls-files", "-z", "--others", "--ignored", "--exclude-standard", "--"] + ignoredButNeeded)
      }
      paths = Array(Set(listed.split(separator: "\0").map(String.init)))
    } else {
      paths = Self.walk(root)
    }
    return paths.sorted().compactMap { Self.stat(root.appendingPathComponent($0).path, as: $0) }
  }

  /// The key of the tree's content: `git-tree <id>` for a clean checkout (with the content of the ignored files
  /// it needs), else `content <sha256>` over every file's path, mode and digest (digests of unchanged files are
  /// reused from `cache`).
  func digest(_ entries: [Entry], cache: URL) async throws -> String {
    if try await isGitCheckout(), try await git(["status", "--porcelain", "--untracked-files=normal", "--", "."]).isEmpty {
      let id = try await git(["rev-parse", "HEAD:./"]).trimmingCharacters(in: .whitespacesAndNewlines)
      if !id.isEmpty {
        let needed = entries.filter { entry in ignoredButNeeded.contains { entry.path.hasPrefix($0 + "/") } }
        return needed.isEmpty ? "git-tree \(id)" : "git-tree \(id) with \(try await contentDigest(needed, cache: cache))"
      }
    }
    return "content \(try await contentDigest(entries, cache: cache))"
  }

  /// The sha256 over `entries`' paths, modes and contents.
  private func contentDigest(_ entries: [Entry], cache: URL) async throws -> String {
    var known = (try? JSONDecoder().decode([String: DigestRecord].self, from: Data(contentsOf: cache))) ?? [:]
    let stale = entries.filter { $0.link == nil && known[$0.path] != DigestRecord($0, sha256: known[$0.path]?.sha256 ?? "") }
    let digests = try await FileDigest.sha256(of: stale.map { root.appendingPathComponent($0.path) })
    for (entry, sha) in zip(stale, digests) { known[entry.path] = DigestRecord(entry, sha256: sha) }
    let lines = entries.map { entry in
      entry.link.map { "\(entry.path) link \($0)" }
        ?? "\(entry.path) \(entry.mode & 0o111 != 0 ? "x" : "-") \(known[entry.path]!.sha256)"
    }
    let kept = Dictionary(uniqueKeysWithValues: entries.compactMap { e in known[e.path].map { (e.path, $0) } })
    try? AtomicFile.write(try JSONEncoder().encode(kept), to: cache)
    return SHA256.hex(lines.joined(separator: "\n"))
  }

  /// What the digest cache remembers of a file: its size and time, and the digest they stood for.
  struct DigestRecord: Codable, Equatable {
    var size: Int
    var seconds: Int
    var nanoseconds: Int
    var sha256: String
    init(_ entry: Entry, sha256: String) {
      (size, seconds, nanoseconds, self.sha256) = (entry.size, entry.modified.tv_sec, entry.modified.tv_nsec, sha256)
    }
  }

  /// Makes `mirror` hold exactly `entries`: a file whose size or time differs is copied (times kept), links are
  /// recreated, anything else is removed. Returns how many files were copied.
  /// - Throws: `HarnessError` when a file cannot be copied.
  @discardableResult
  func sync(_ entries: [Entry], to mirror: URL) throws -> Int {
    let fm = FileManager.default
    try fm.createDirectory(at: mirror, withIntermediateDirectories: true)
    var copied = 0
    let wanted = Set(entries.map(\.path))
    for path in Self.walk(mirror) where !wanted.contains(path) {
      try? fm.removeItem(at: mirror.appendingPathComponent(path))
    }
    for entry in entries {
      let target = mirror.appendingPathComponent(entry.path)
      let present = Self.stat(target.path, as: entry.path)
      if let present, present.size == entry.size, present.link == entry.link, present.mode == entry.mode,
        present.modified.tv_sec == entry.modified.tv_sec, present.modified.tv_nsec == entry.modified.tv_nsec
      {
        continue
      }
      try fm.createDirectory(at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
      if present != nil { try? fm.removeItem(at: target) }
      if let link = entry.link {
        try fm.createSymbolicLink(atPath: target.path, withDestinationPath: link)
        continue
      }
      let temporary = target.deletingLastPathComponent().appendingPathComponent(".teeharness-\(target.lastPathComponent)")
      do {
        try? fm.removeItem(at: temporary)
        try fm.copyItem(at: root.appendingPathComponent(entry.path), to: temporary)
        chmod(temporary.path, entry.mode & 0o7777)
        var times = [entry.modified, entry.modified]
        guard utimensat(AT_FDCWD, temporary.path, &times, 0) == 0 else { throw HarnessError("cannot set the time of \(temporary.path)") }
        try fm.moveItem(at: temporary, to: target)
      } catch {
        try? fm.removeItem(at: temporary)
        throw HarnessError("cannot copy \(entry.path) of \(root.path) into the build's mirror: \(error.localizedDescription)",
          fix: "check the file's permissions and the free space of the cache")
      }
      copied += 1
    }
    return copied
  }

  /// Whether git tracks the tree's files: a checkout, or a folder of one. A folder that only lies inside some
  /// checkout (ignored or untracked, like a tree unpacked into a project's output folder) is not.
  func isGitCheckout() async throws -> Bool {
    let inside = try await Command.run(["git", "-c", "safe.directory=*", "-C", root.path, "rev-parse", "--is-inside-work-tree"])
    guard inside.succeeded && inside.output.hasPrefix("true") else { return false }
    let tracked = try await Command.run(["git", "-c", "safe.directory=*", "-C", root.path, "ls-files", "--cached", "--", "."])
    return tracked.succeeded && !tracked.output.isEmpty
  }

  private func git(_ arguments: [String]) async throws -> String {
    let result = try await Command.run(["git", "-c", "safe.directory=*", "-C", root.path] + arguments)
    guard result.succeeded else {
      throw HarnessError("git cannot read the tree \(root.path): \(result.output.lastLines(2))", fix: "check the checkout (git status)")
    }
    return result.output
  }

  /// Every regular file and link below `root` (relative paths), `.git` folders left out.
  static func walk(_ root: URL) -> [String] {
    guard let enumerator = FileManager.default.enumerator(atPath: root.path) else { return [] }
    var paths: [String] = []
    while let path = enumerator.nextObject() as? String {
      if path == ".git" || path.hasSuffix("/.git") {
        enumerator.skipDescendants()
        continue
      }
      var info = Glibc.stat()
      guard lstat(root.appendingPathComponent(path).path, &info) == 0 else { continue }
      let type = info.st_mode & S_IFMT
      if type == S_IFREG || type == S_IFLNK { paths.append(path) }
    }
    return paths
  }

  static func stat(_ file: String, as path: String) -> Entry? {
    var info = Glibc.stat()
    guard lstat(file, &info) == 0 else { return nil }
    let type = info.st_mode & S_IFMT
    var link: String?
    if type == S_IFLNK {
      link = try? FileManager.default.destinationOfSymbolicLink(atPath: file)
    } else if type != S_IFREG {
      return nil
    }
    return Entry(path: path, size: Int(info.st_size), modified: info.st_mtim, mode: info.st_mode & 0o7777, link: link)
  }
}
