import Foundation
import HarnessSupport
import Testing

extension Integration {
  /// Two harness processes on one cache, started together, with no saved machine yet: one saves it, the other
  /// waits for it or boots its own; neither loads a half-saved machine; both pass.
  @Suite struct SharedCacheTests {
    @Test func twoRunsStartedTogetherOnOneCacheBothPass() async throws {
      _ = try await SharedStack.shared.get()
      // The built images are shared; the saved machines start empty.
      let cache = SharedStack.runFolder("shared-cache")
      try FileManager.default.createDirectory(at: cache, withIntermediateDirectories: true)
      defer { try? FileManager.default.removeItem(at: cache) }
      for folder in ["downloads", "store", "trees", "tools"] {
        try? FileManager.default.createSymbolicLink(at: cache.appendingPathComponent(folder),
          withDestinationURL: CacheLocation.resolve().appendingPathComponent(folder))
      }
      let runs = try ["a", "b"].map { name -> (ChildProcess, URL, URL) in
        let out = SharedStack.runFolder("shared-cache-\(name)")
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        let log = out.appendingPathComponent("harness.log")
        var environment = ProcessInfo.processInfo.environment
        environment["TEEHARNESS_CACHE"] = cache.path
        let harness = try ChildProcess([SignalTests.executable.path, "check", "--suite", "xtest", "--out", out.path],
          in: out, output: log, environment: environment)
        return (harness, out, log)
      }
      for (harness, out, log) in runs {
        let status = await harness.wait(until: .after(.seconds(600)))
        #expect(status == 0, "\(out.lastPathComponent): exit \(status.map(String.init) ?? "none"): \((try? String(contentsOf: log, encoding: .utf8))?.lastLines(15) ?? "")")
      }
      let saved = try FileManager.default.contentsOfDirectory(atPath: cache.appendingPathComponent("snapshots").path)
      #expect(saved.filter { $0.hasSuffix(".vmstate") }.count == 1 && saved.filter { $0.hasSuffix(".sha256") }.count == 1, "\(saved)")
      #expect(!saved.contains { $0.hasSuffix(".partial") }, "\(saved)")
    }
  }
}
