import Foundation
import HarnessSupport
import Testing

@testable import Images

@Suite struct FaultCatalogTests {
  let layout = try! ProjectLayout.find()

  @Test func everyFaultOfTheCatalogLoadsAndSaysWhatMustCatchIt() throws {
    let files = layout.faultManifests()
    #expect(files.count >= 8)
    for file in files {
      let m = try ManifestLoader.load(file)
      let fault = try #require(m.fault, "\(file.lastPathComponent) has no fault block")
      #expect(!fault.caughtBy.isEmpty && !fault.suites.isEmpty && !fault.layer.isEmpty)
      // A fault is a patch on a stack that works.
      #expect(m.orderedComponents.contains { !$0.patches.isEmpty }, "\(file.lastPathComponent) patches nothing")
    }
  }

  @Test func aBareNameFindsAFaultOfTheCatalog() {
    #expect(layout.manifest("secure-uart-irq-off").path.hasSuffix("manifests/faults/secure-uart-irq-off.yaml"))
    #expect(layout.manifest("threads-4").path.hasSuffix("manifests/threads-4.yaml"))
    // A name in neither place stays where the error will say it is missing.
    #expect(layout.manifest("nope").path.hasSuffix("manifests/nope.yaml"))
  }

  @Test func theFaultTravelsWithTheEffectiveManifest() throws {
    let m = try ManifestLoader.load(layout.manifest("notif-not-raised"))
    let again = try FaultSpec.of(effectiveManifest: m.yaml)
    #expect(again == m.fault)
    #expect(try FaultSpec.of(effectiveManifest: try ManifestLoader.load(layout.manifest("default")).yaml) == nil)
    // A symptom that may show either way is a list, any of which will do; it travels too.
    let starved = try ManifestLoader.load(layout.manifest("user-mode-fiq-masked"))
    let computing = try #require(starved.fault?.caughtBy.first { $0.test.contains("computing") })
    #expect(computing.says.count == 2)
    #expect(computing.named(in: "RCU stall on the normal console: rcu: INFO: rcu_sched detected stalls on CPUs/tasks:"))
    #expect(!computing.named(in: "the computation lasted 24760 ms by the TA's clock"))
    #expect(try FaultSpec.of(effectiveManifest: starved.yaml) == starved.fault)
  }

  @Test func aBrokenFaultBlockIsOneClearError() throws {
    let dir = try ManifestLoaderTests.folder(["base.yaml": ManifestLoaderTests.minimal])
    let cases: [(String, String)] = [
      ("fault: {where: x, suites: [boot]}", "caught-by"),
      ("fault: {where: x, suites: [boot], caught-by: []}", "at least one"),
      ("fault: {where: x, suites: [boot], caught-by: [{test: a}]}", "says"),
      ("fault: {where: x, suites: [boot], caught-by: [{test: a, says: b, why: c}]}", "unknown key 'why'"),
      ("fault: {where: x, suite: [boot], caught-by: [{test: a, says: b}]}", "unknown key 'suite'"),
    ]
    for (i, (block, expected)) in cases.enumerated() {
      let file = dir.appendingPathComponent("f\(i).yaml")
      try Data("extends: base.yaml\n\(block)\n".utf8).write(to: file)
      #expect(throws: HarnessError.self) { try ManifestLoader.load(file) }
      do { _ = try ManifestLoader.load(file) } catch let e as HarnessError { #expect(e.line.contains(expected), "\(e.line)") }
    }
  }
}
