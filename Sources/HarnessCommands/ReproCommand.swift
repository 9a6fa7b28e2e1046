import ArgumentParser
import Foundation
import Guest
import HarnessSuites
import HarnessSupport
import Images
import Repro
import Reporting
import Suites

/// `teeharness repro FILE.yaml`: a declarative bug scenario, run as a one-test suite with `check`'s reports and
/// exit codes.
struct ReproCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "repro",
    abstract: "Run a reproducible bug script (YAML: a manifest, then steps on the booted machine).",
    discussion: "Steps: shell, secure, expect, gdb, threads, qmp, kill, wait (see repro/ and README). Exit status as `check`.")

  @Argument(help: "The script, e.g. repro/thread-flood.yaml.")
  var file: String

  @Option(name: .long, help: "Run on this manifest instead of the script's.")
  var manifest: String?

  @Option(name: .long, help: "Cache folder (default: ${XDG_CACHE_HOME:-$HOME/.cache}/teeharness).")
  var cacheDir: String?

  @Option(name: .long, help: "Run the scenario N times; flaky when its runs disagree.")
  var `repeat`: Int = 1

  @OptionGroup var overrides: OverrideOptions

  @OptionGroup var machines: FreshMachineOptions

  @OptionGroup var reports: ReportOptions

  func validate() throws {
    guard `repeat` >= 1 else { throw ValidationError("--repeat takes a count of 1 or more") }
  }

  func run() async throws {
    let url = URL(fileURLWithPath: file)
    let script = try ReproScript.load(url)
    var manifest = self.manifest ?? script.manifest
    if self.manifest == nil, manifest.contains("/") || manifest.hasSuffix(".yaml"), !manifest.hasPrefix("/") {
      manifest = url.deletingLastPathComponent().appendingPathComponent(manifest).path  // relative to the script
    }
    try HostSetup.forStack(manifest, overrides: overrides.value).requireInstalled()
    let runDirectory = try RunFolder.make(reports.out)
    let (images, loaded, _) = try await Stack.prepare(manifest: manifest, overrides: overrides.value, cache: CacheLocation.resolve(cacheDir)) { Output.line("images: \($0)") }
    try loaded.writeEffective(into: runDirectory)
    let facts = await StackDiscovery.learnOrSay(try StackFacts(images: images, manifest: loaded), runDirectory: runDirectory)
    var runner = SuiteRunner(facts: facts, runDirectory: runDirectory, reporter: TerminalReporter(), checks: .optee)
    runner.repeats = `repeat`
    machines.apply(to: &runner, cache: CacheLocation.resolve(cacheDir))
    try await reports.run([script.suite], with: runner)
  }
}
