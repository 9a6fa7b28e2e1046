import Foundation
import HarnessSupport
import Testing

@Suite struct FileLockTests {
  static func lockFile() -> URL {
    ScratchFolder.path("locks-\(UUID().uuidString.prefix(8))/entry.lock")
  }

  /// A second writer waits (and is told so), and gives up at its deadline naming the lock.
  @Test func oneWriterAtATime() async throws {
    let url = Self.lockFile()
    defer { try? FileManager.default.removeItem(at: url.deletingLastPathComponent()) }
    try await FileLock.with(url, deadline: .after(.seconds(5))) {
      let told = Flag()
      await #expect {
        try await FileLock.with(url, deadline: .after(.milliseconds(300)), waiting: { told.set() }) {}
      } throws: { error in
        "\(error)".contains("entry.lock (another teeharness process holds it)")
      }
      #expect(told.value)
      // Readers do not get in while it is written either.
      await #expect(throws: DeadlineExceeded.self) {
        try await FileLock.with(url, exclusive: false, deadline: .after(.milliseconds(200))) {}
      }
    }
    // Released: the next one gets it at once.
    try await FileLock.with(url, deadline: .after(.milliseconds(200))) {}
  }

  @Test func readersShare() async throws {
    let url = Self.lockFile()
    defer { try? FileManager.default.removeItem(at: url.deletingLastPathComponent()) }
    try await FileLock.with(url, exclusive: false, deadline: .after(.seconds(5))) {
      try await FileLock.with(url, exclusive: false, deadline: .after(.milliseconds(200))) {}
    }
  }

  final class Flag: @unchecked Sendable {
    private let lock = NSLock()
    private var _value = false
    var value: Bool { lock.withLock { _value } }
    func set() { lock.withLock { _value = true } }
  }
}
