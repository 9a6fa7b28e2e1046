import Foundation
import HarnessSuites
import Images
import Testing

/// What the fault catalog says must catch each fault names a test the suites have: a renamed test would otherwise
/// leave its fault "not run" in `ci/faults`, a catch nobody could make.
@Suite struct FaultCatchersTests {
  @Test func everyCatchNamesATestOfTheSuitesItsFaultRuns() throws {
    let layout = try ProjectLayout.find()
    let files = layout.faultManifests()
    #expect(!files.isEmpty, "no fault manifests in \(layout.root.path)/manifests/faults")
    for file in files {
      let fault = try #require(try ManifestLoader.load(file).fault, "\(file.lastPathComponent) has no fault block")
      let ids = fault.suites.compactMap(Catalog.suite(named:)).flatMap { suite in suite.tests.map { "\(suite.name)/\($0.name)" } }
      #expect(ids.count > 0, "\(file.lastPathComponent) runs no suite of the catalog: \(fault.suites)")
      for catching in fault.caughtBy {
        #expect(ids.contains { $0.localizedCaseInsensitiveContains(catching.test) },
          "\(file.lastPathComponent): no test of \(fault.suites) is named like “\(catching.test)”")
      }
    }
  }
}
