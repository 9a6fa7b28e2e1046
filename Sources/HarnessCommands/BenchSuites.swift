import Foundation
import Guest
import HarnessSuites
import HarnessSupport
import Images
import Machine
import Reporting
import Suites

/// The default suites, run whole in each way a test can get its machine, for the figure users feel: how long
/// the main job takes.
enum BenchSuites {
  struct Mode {
    var name: String
    var snapshots: Bool
    var fresh: Suite.Fresh
  }

  static let modes = [
    Mode(name: "a restored machine per test", snapshots: true, fresh: .perTest),
    Mode(name: "a restored machine per suite", snapshots: true, fresh: .perSuite),
    Mode(name: "a booted machine per suite", snapshots: false, fresh: .perSuite),
  ]

  /// Runs the default suites once in every mode; adds one figure per mode (seconds for the whole run).
  /// - Throws: `HarnessError` when a run did not pass: its time would not be the time of the main job.
  static func run(_ images: StackImages, _ manifest: StackManifest, cache: URL, into runFolder: URL, round: Int,
    figures: inout Figures) async throws
  {
    let suites = Catalog.defaultSuites.compactMap(Catalog.suite(named:))
    let facts = try StackFacts(images: images, manifest: manifest)
    for mode in modes {
      let folder = runFolder.appendingPathComponent("suites-\(round)-\(mode.fresh.rawValue)\(mode.snapshots ? "" : "-booted")")
      var runner = SuiteRunner(facts: facts, runDirectory: folder, reporter: TerminalReporter(), checks: .optee)
      runner.snapshots = mode.snapshots ? SnapshotStore(cache: cache) : nil
      runner.fresh = mode.fresh
      Output.line("default suites, \(mode.name):")
      let result = await runner.run(suites)
      guard result.exitCode == 0 else {
        throw HarnessError("the default suites did not pass with \(mode.name) (exit \(result.exitCode)); see \(folder.path)",
          fix: "run `teeharness check` and mend what fails before benchmarking it")
      }
      figures.add("default suites: \(mode.name)", result.seconds)
    }
  }
}
