import Foundation

/// What a harness process killed without warning (SIGKILL, a crash, a power cut) leaves behind: socket folders,
/// captured-output files, build scratch, half-downloaded files, half-saved machines. Each carries its owner's pid
/// in its name; `sweep` removes those whose owner is gone. A live owner's files are never touched.
package enum Leftovers {
  /// Where leftovers may be, with the pattern of their names (the first group is the owner's pid).
  static func places(cache: URL?, temporary: URL) -> [(folder: URL, pattern: String)] {
    var places: [(URL, String)] = [(temporary, #"^teeharness-(\d+)-"#), (temporary, #"^teeharness-cmd-(\d+)-"#)]
    if let cache {
      places += [
        (cache.appendingPathComponent("tmp"), #"^[a-z0-9-]+?-p(\d+)-"#),
        (cache.appendingPathComponent("downloads"), #"^partial-(\d+)-"#),
        (cache.appendingPathComponent("snapshots"), #"^\..+\.(\d+)\.partial(\.written)?$"#),
      ]
    }
    return places
  }

  /// `$TMPDIR`, else `/tmp`.
  static var temporaryFolder: URL {
    URL(fileURLWithPath: ProcessInfo.processInfo.environment["TMPDIR"].flatMap { $0.isEmpty ? nil : $0 } ?? "/tmp")
  }

  /// The pid in `name` by `pattern`, if it matches.
  package static func owner(of name: String, pattern: String) -> Int32? {
    guard let regex = try? NSRegularExpression(pattern: pattern),
      let match = regex.firstMatch(in: name, range: NSRange(name.startIndex..., in: name)),
      let range = Range(match.range(at: 1), in: name)
    else { return nil }
    return Int32(name[range])
  }

  /// Whether process `pid` exists (as any user).
  package static func alive(_ pid: Int32) -> Bool { pid == getpid() || kill(pid, 0) == 0 || errno == EPERM }

  /// Removes every leftover of a dead harness under the temporary folder and `cache`; returns what it removed.
  /// (`temporary` is `$TMPDIR` but for tests, which sweep a folder of their own.)
  @discardableResult
  package static func sweep(cache: URL?, temporary temporaryFolder: URL = temporaryFolder) -> [URL] {
    var removed: [URL] = []
    let fm = FileManager.default
    // First the files a dead harness staged wherever it wrote (`AtomicFile`), then its journal with the rest.
    for name in (try? fm.contentsOfDirectory(atPath: temporaryFolder.path)) ?? [] {
      guard let pid = owner(of: name, pattern: #"^teeharness-(\d+)-partials$"#), !alive(pid),
        let text = try? String(contentsOf: temporaryFolder.appendingPathComponent(name), encoding: .utf8)
      else { continue }
      for staged in AtomicFile.staged(byJournal: text, of: pid) where (try? fm.removeItem(at: staged)) != nil { removed.append(staged) }
    }
    for (folder, pattern) in places(cache: cache, temporary: temporaryFolder) {
      for name in (try? fm.contentsOfDirectory(atPath: folder.path)) ?? [] {
        guard let pid = owner(of: name, pattern: pattern), !alive(pid) else { continue }
        let url = folder.appendingPathComponent(name)
        if (try? fm.removeItem(at: url)) != nil { removed.append(url) }
      }
    }
    return removed
  }
}
