import HarnessSupport

/// What a stack with one injected fault (`manifests/faults/`) must make the suites say: the `fault:` block of its
/// manifest. `ci/faults` runs the suites on each and `teeharness report faults` checks every expectation.
package struct FaultSpec: Sendable, Equatable {
  /// Where the fault sits (`TF-A`, `OP-TEE interrupt path`, `OP-TEE thread pool`, …).
  package var layer: String
  /// The suites to run on it.
  package var suites: [String]
  /// Each test that must fail, and what its failure must say.
  package var caughtBy: [Catch]

  package struct Catch: Sendable, Equatable {
    /// Part of the test's name (`case 6:`), or its suite and name (`secure-interrupts/case 6:`).
    package var test: String
    /// Parts of the failure's message, compared without regard to case: the symptom it must name — any one of
    /// them, when the fault may show either way (a starved CPU is a hard lockup or an RCU stall, whichever Linux
    /// notices first).
    package var says: [String]

    package init(test: String, says: String...) { (self.test, self.says) = (test, says) }
    package init(test: String, anyOf says: [String]) { (self.test, self.says) = (test, says) }

    /// Whether `message` names the symptom.
    package func named(in message: String) -> Bool { says.contains { message.localizedCaseInsensitiveContains($0) } }

    /// “words”, or “words” or “other words”.
    package var wanted: String { says.map { "“\($0)”" }.joined(separator: " or ") }
  }

  package init(layer: String, suites: [String], caughtBy: [Catch]) {
    (self.layer, self.suites, self.caughtBy) = (layer, suites, caughtBy)
  }

  /// The `fault:` block of a manifest.
  static func decode(_ tree: ManifestTree) throws -> FaultSpec {
    try tree.requireKeys(["where", "suites", "caught-by"], in: "fault")
    guard let layer = tree["where"], let suites = tree["suites"], let caught = tree["caught-by"] else {
      throw HarnessError("\(tree.location): a fault names `where` it is, the `suites` to run and what it is `caught-by`",
        fix: "see manifests/faults/secure-uart-irq-off.yaml")
    }
    guard case .sequence(let items, _) = caught, !items.isEmpty else {
      throw HarnessError("\(caught.location): `caught-by` must list at least one `test:` and what it `says:`",
        fix: "see manifests/faults/secure-uart-irq-off.yaml")
    }
    let catches = try items.map { item -> Catch in
      try item.requireKeys(["test", "says"], in: "caught-by")
      guard let test = item["test"], let says = item["says"] else {
        throw HarnessError("\(item.location): each catch names the `test` that must fail and what it `says`", fix: "add both")
      }
      let alternatives = try says.list("says")
      if let short = alternatives.first(where: { $0.count < 8 }) {
        throw HarnessError("\(says.location): `says: \(short)` would match almost any failure", fix: "quote the words that name the symptom (8 characters or more)")
      }
      guard !alternatives.isEmpty else {
        throw HarnessError("\(says.location): `says` is empty", fix: "quote the words that name the symptom (or a list of them, any of which will do)")
      }
      return Catch(test: try test.scalar("test"), anyOf: alternatives)
    }
    let names = try suites.list("suites")
    guard !names.isEmpty else {
      throw HarnessError("\(suites.location): `suites` is empty", fix: "name the suites that must catch the fault")
    }
    return FaultSpec(layer: try layer.scalar("where"), suites: names, caughtBy: catches)
  }
}

extension FaultSpec {
  /// The fault of the manifest a run was made of (its effective manifest, as a report keeps it); nil for a stack
  /// without one.
  package static func of(effectiveManifest text: String) throws -> FaultSpec? {
    try ManifestTree.parse(text, file: "the run's effective manifest")["fault"].map(decode)
  }
}
