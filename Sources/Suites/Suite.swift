import Foundation
import Images

/// A named set of tests, each on a machine as fresh as the suite asks (a spoiled machine is always replaced).
public struct Suite: Sendable {
  public var name: String
  public var summary: String
  public var tests: [Test]
  /// Why this suite cannot run on a stack (e.g. async notifications disabled), or nil when it can.
  public var unsupported: @Sendable (StackFacts) -> String?
  /// How fresh a machine each test gets.
  public var fresh: Fresh = .perTest

  /// How fresh a machine each test gets. Restoring a saved machine takes under a second, so by default every
  /// test gets its own and nothing one test leaves behind reaches the next.
  public enum Fresh: String, Sendable, CaseIterable {
    /// Every test on a machine restored for it.
    case perTest = "per-test"
    /// One restored machine for the whole suite (tests that build on each other).
    case perSuite = "per-suite"
    /// One booted machine for the whole suite: the suite proves the boot itself.
    case coldBoot = "cold-boot"
  }

  public init(_ name: String, _ summary: String = "", unsupported: @escaping @Sendable (StackFacts) -> String? = { _ in nil },
    @TestBuilder tests: () -> [Test])
  {
    self.name = name
    self.summary = summary
    self.tests = tests()
    self.unsupported = unsupported
  }

  /// The same suite with machines as fresh as `fresh`.
  public func fresh(_ fresh: Fresh) -> Suite {
    var copy = self
    copy.fresh = fresh
    return copy
  }
}

/// One test: a scenario with a deadline.
public struct Test: Sendable {
  public var name: String
  public var timeout: Duration
  /// Bad-pattern rules this test provokes on purpose (by rule name, e.g. "OP-TEE panic").
  public var allowing: Set<String>
  /// Why this test is exempt from the check that every OP-TEE thread is FREE afterwards (nil: checked).
  public var leavesThreadsBusy: String?
  public var body: @Sendable (TestContext) async throws -> Void

  public init(_ name: String, timeout: Duration = .seconds(60), allowing: Set<String> = [],
    leavesThreadsBusy reason: String? = nil, _ body: @escaping @Sendable (TestContext) async throws -> Void)
  {
    self.name = name
    self.timeout = timeout
    self.allowing = allowing
    self.leavesThreadsBusy = reason
    self.body = body
  }
}

@resultBuilder
public enum TestBuilder {
  public static func buildExpression(_ test: Test) -> [Test] { [test] }
  public static func buildExpression(_ tests: [Test]) -> [Test] { tests }
  public static func buildBlock(_ parts: [Test]...) -> [Test] { parts.flatMap { $0 } }
  public static func buildArray(_ parts: [[Test]]) -> [Test] { parts.flatMap { $0 } }
  public static func buildOptional(_ part: [Test]?) -> [Test] { part ?? [] }
  public static func buildEither(first: [Test]) -> [Test] { first }
  public static func buildEither(second: [Test]) -> [Test] { second }
}

/// What the suites know about the stack under test, from its build (never from constants in a test).
public struct StackFacts: Sendable {
  public var images: StackImages
  public var manifest: StackManifest
  /// OP-TEE's resolved configuration (`conf.mk`).
  public var optee: OpteeConfig

  public init(images: StackImages, manifest: StackManifest) throws {
    self.images = images
    self.manifest = manifest
    let text = try String(contentsOf: images.opteeConfig, encoding: .utf8)
    optee = OpteeConfig(parsing: text)
    if let layout = try? ProjectLayout.find(), let lock = try? LockFile.load(layout.lockFile) {
      for component in manifest.orderedComponents {
        for key in component.lockKeys {
          for file in (try? lock.files(for: key)) ?? [] { lockedVersions[file.package] = file.version }
        }
      }
    }
  }

  /// `CFG_NUM_THREADS` as built.
  public var opteeThreads: Int? { optee.integer("CFG_NUM_THREADS") }
  public var asyncNotifications: Bool { optee.flag("CFG_CORE_ASYNC_NOTIF") }
  /// Whether OP-TEE tells the normal world its thread count (so the Linux driver queues callers itself):
  /// false when the stack carries the `thread-count-unadvertised` patch (manifests/threads-unadvertised.yaml).
  public var threadCountAdvertised: Bool {
    !(manifest.components[.optee]?.patches ?? []).contains { $0.lastPathComponent.contains("thread-count-unadvertised") }
  }

  /// The version of `package` the stack was built from (from the lock).
  public func lockedVersion(of package: String) -> String? { lockedVersions[package] }
  public var lockedVersions: [String: String] = [:]
}
