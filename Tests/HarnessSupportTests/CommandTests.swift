import Foundation
import HarnessSupport
import Testing

@Suite struct CommandTests {
  /// The pids of the processes whose command line contains `marker`.
  static func processes(_ marker: String) -> [Int32] {
    let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
    return entries.compactMap { Int32($0) }.filter { pid in
      let cmdline = (try? Data(contentsOf: URL(fileURLWithPath: "/proc/\(pid)/cmdline"))) ?? Data()
      return String(decoding: cmdline, as: UTF8.self).contains(marker) && pid != getpid()
    }
  }

  static func until(_ what: String, _ condition: @escaping @Sendable () -> Bool) async throws {
    try await withDeadline(.after(.seconds(10)), what) {
      while !condition() { try await Task.sleep(for: .milliseconds(20)) }
    }
  }

  /// A build step's children (make's compilers) end with it when the run is cancelled (Ctrl-C).
  @Test func cancellingACommandEndsEverythingItStarted() async throws {
    let marker = "teeharness-cmd-test-\(UUID().uuidString.prefix(8))"
    let script = "sleep 313 & sleep 314 & wait # \(marker)"
    let task = Task { try await Command.run(["sh", "-c", script]) }
    try await Self.until("the command's children to start") { Self.processes("sleep 31").count >= 2 && !Self.processes(marker).isEmpty }
    let children = Self.processes("sleep 31")
    task.cancel()
    _ = try? await task.value
    try await Self.until("the command's group to end") { children.allSatisfy { kill($0, 0) != 0 } }
  }

  @Test func aCommandThatOutlivesItsTimeoutIsEndedAndSaysSo() async throws {
    let started = ContinuousClock.now
    await #expect {
      try await Command.run(["sh", "-c", "echo working; sleep 300"], timeout: .milliseconds(300))
    } throws: { error in
      let text = "\(error)"
      return text.contains("did not finish within") && text.contains("working")
    }
    #expect(ContinuousClock.now - started < .seconds(10))
  }
}
