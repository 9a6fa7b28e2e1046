import Foundation
import Images

/// A named set of tests, each on a machine as fresh as the suite asks (a spoiled machine is always replaced).
package struct Suite: Sendable {
  package var name: String
  package var summary: String
  package var tests: [Test]
  /// Why this suite cannot run on a stack (e.g. async notifications disabled), or nil when it can.
  package var unsupported: @Sendable (StackFacts) -> String?
  /// How fresh a machine each test gets.
  package var fresh: Fresh = .perTest

  /// How fresh a machine each test gets. Restoring a saved machine takes under a second, so by default every
  /// test gets its own and nothing one test leaves behind reaches the next.
  package enum Fresh: String, Sendable, CaseIterable {
    /// Every test on a machine restored for it.
    case perTest = "per-test"
    /// One restored machine for the whole suite (tests that build on each other).
    case perSuite = "per-suite"
    /// One booted machine for the whole suite: the suite proves the boot itself.
    case coldBoot = "cold-boot"
  }

  package init(_ name: String, _ summary: String = "", unsupported: @escaping @Sendable (StackFacts) -> String? = { _ in nil },
    @TestBuilder tests: () -> [Test])
  {
    self.name = name
    self.summary = summary
    self.tests = tests()
    self.unsupported = unsupported
  }

  /// The same suite with machines as fresh as `fresh`.
  package func fresh(_ fresh: Fresh) -> Suite {
    var copy = self
    copy.fresh = fresh
    return copy
  }
}

/// One test: a scenario with a deadline.
package struct Test: Sendable {
  package var name: String
  package var timeout: Duration
  /// Bad-pattern rules this test provokes on purpose (by rule name, e.g. "OP-TEE panic").
  package var allowing: Set<String>
  /// Why this test is exempt from the check that every OP-TEE thread is FREE afterwards (nil: checked).
  package var leavesThreadsBusy: String?
  /// The links of the stack this test cannot pass without, on a stack with these facts: when an earlier test of
  /// the run found one broken, this one fails at once saying so (unless the runner runs dependents anyway).
  package var needs: @Sendable (StackFacts) -> [StackLink]
  package var body: @Sendable (TestContext) async throws -> Void

  package init(_ name: String, timeout: Duration = .seconds(60), allowing: Set<String> = [],
    leavesThreadsBusy reason: String? = nil, needs: @escaping @Sendable (StackFacts) -> [StackLink] = { _ in [] },
    _ body: @escaping @Sendable (TestContext) async throws -> Void)
  {
    self.name = name
    self.timeout = timeout
    self.allowing = allowing
    self.leavesThreadsBusy = reason
    self.needs = needs
    self.body = body
  }
}

@resultBuilder
package enum TestBuilder {
  package static func buildExpression(_ test: Test) -> [Test] { [test] }
  package static func buildExpression(_ tests: [Test]) -> [Test] { tests }
  package static func buildBlock(_ parts: [Test]...) -> [Test] { parts.flatMap { $0 } }
  package static func buildArray(_ parts: [[Test]]) -> [Test] { parts.flatMap { $0 } }
  package static func buildOptional(_ part: [Test]?) -> [Test] { part ?? [] }
  package static func buildEither(first: [Test]) -> [Test] { first }
  package static func buildEither(second: [Test]) -> [Test] { second }
}

/// What the suites know about the stack under test: learned from its build (OP-TEE's `conf.mk`, the packages it
/// was built from) and the running stack, overridden by the manifest's declared `facts:` — never from constants in
/// a test or the name of a file. A fact that cannot be learned is nil, and the tests that need it skip with the
/// reason. What the facts mean for OP-TEE is read by `Guest` (`StackFacts+OPTEE`).
package struct StackFacts: Sendable {
  package var images: StackImages
  package var manifest: StackManifest
  /// OP-TEE's resolved configuration (`conf.mk`) with the declared `CFG_*` facts over it.
  package var optee: OpteeConfig
  /// Whether the build left a `conf.mk` (a prebuilt OP-TEE may come without one).
  package var opteeConfigKnown: Bool
  /// Facts learned from the running stack, with how (for the report).
  package var learned: [String: String] = [:]

  package init(images: StackImages, manifest: StackManifest) throws {
    self.images = images
    self.manifest = manifest
    if let file = images.opteeConfig {
      optee = OpteeConfig(parsing: try String(contentsOf: file, encoding: .utf8))
      opteeConfigKnown = true
    } else {
      optee = OpteeConfig(parsing: "")
      opteeConfigKnown = false
    }
    for (name, value) in manifest.facts where name.hasPrefix("CFG_") { optee.values[name] = value }
  }

  /// The version of `package` the stack was built from (from the lock; nil for a local tree or prebuilt files).
  package func lockedVersion(of package: String) -> String? { images.packageVersions[package] }
}
