import Foundation

/// Files written whole or not at all, with nothing left behind by a harness killed in between: the content is
/// staged beside its destination as `.NAME.PID.partial` and renamed over it; the staged path is first noted in
/// this process's journal in the temporary folder, from which the next start's `Leftovers.sweep` removes what a
/// dead harness staged (its destination may be anywhere: a run folder, `--junit`'s path, the cache).
package enum AtomicFile {
  /// - Throws: `HarnessError` naming the file when it cannot be staged or moved into place.
  package static func write(_ data: Data, to url: URL) throws {
    let staged = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).\(getpid()).partial")
    try journal.note(staged)
    do {
      try data.write(to: staged)
      guard rename(staged.path, url.path) == 0 else {
        throw HarnessError("cannot move \(staged.lastPathComponent) into place as \(url.path): \(String(cString: strerror(errno)))")
      }
    } catch {
      try? FileManager.default.removeItem(at: staged)
      if error is HarnessError { throw error }
      throw HarnessError("cannot write \(url.path): \(error.localizedDescription)", fix: "check that its folder exists and is writable")
    }
  }

  /// This process's journal: `teeharness-PID-partials` in the temporary folder, one staged path per line.
  static let journal = Journal(file: Leftovers.temporaryFolder.appendingPathComponent("teeharness-\(getpid())-partials"))

  final class Journal: @unchecked Sendable {
    let file: URL
    private let lock = NSLock()
    private var noted: Set<String> = []

    init(file: URL) {
      self.file = file
      // A harness that exits leaves no journal; one that is killed leaves it for the next start's sweep.
      atexit { unlink(AtomicFile.journal.file.path) }
    }

    /// Appends `url` once (a path staged again needs no second line).
    func note(_ url: URL) throws {
      try lock.withLock {
        guard !noted.contains(url.path) else { return }
        let fd = open(file.path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw HarnessError("cannot keep the journal \(file.path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        let line = Array((url.path + "\n").utf8)
        guard line.withUnsafeBytes({ Glibc.write(fd, $0.baseAddress, $0.count) }) == line.count else {
          throw HarnessError("cannot write the journal \(file.path): \(String(cString: strerror(errno)))")
        }
        noted.insert(url.path)
      }
    }
  }

  /// The staged files a dead harness's journal names: only `.NAME.PID.partial` files of that pid.
  static func staged(byJournal text: String, of pid: Int32) -> [URL] {
    text.split(separator: "\n").map(String.init).filter { path in
      Leftovers.owner(of: (path as NSString).lastPathComponent, pattern: #"^\..+\.(\d+)\.partial$"#) == pid
    }.map { URL(fileURLWithPath: $0) }
  }
}
