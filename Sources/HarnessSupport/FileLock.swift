import Foundation

/// An advisory lock on a file (`flock`), shared between harness processes on one cache: one writer of an entry
/// at a time, readers while no one writes. The kernel drops it when its holder dies, however it dies, and no
/// child process inherits it.
package enum FileLock {
  /// Runs `body` holding the lock at `url` (created if needed), exclusive or shared; `waiting` is called once if
  /// another process holds it first.
  /// - Throws: `DeadlineExceeded` naming the lock when it is not free before `deadline`; else what `body` throws.
  package static func with<T>(
    _ url: URL, exclusive: Bool = true, deadline: Deadline, waiting: (() -> Void)? = nil, _ body: () async throws -> T
  ) async throws -> T {
    try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
    let fd = open(url.path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
    guard fd >= 0 else { throw HarnessError("cannot open the cache lock \(url.path): \(String(cString: strerror(errno)))") }
    defer { close(fd) }
    let started = ContinuousClock.now
    var told = false
    while flock(fd, (exclusive ? LOCK_EX : LOCK_SH) | LOCK_NB) != 0 {
      guard errno == EWOULDBLOCK || errno == EINTR else {
        throw HarnessError("cannot lock \(url.path): \(String(cString: strerror(errno)))")
      }
      if !told { waiting?(); told = true }
      if deadline.hasPassed {
        throw DeadlineExceeded("the cache lock \(url.path) (another teeharness process holds it)", after: .now - started)
      }
      try await Task.sleep(for: .milliseconds(100))
    }
    defer { flock(fd, LOCK_UN) }
    return try await body()
  }
}
