import ArgumentParser
import Foundation
import HarnessSupport
import Images

struct SetupCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "setup",
    abstract: "Check and install the host prerequisites from the host's own release (as root; otherwise prints the command).")

  @Option(name: .long, help: "Also what this manifest needs (e.g. qemu-10 builds QEMU from source).")
  var manifest: String?

  @Flag(name: .long, help: "Also a headless browser (chromium) that renders report.html to a picture.")
  var browser = false

  @Flag(name: .long, help: "Only what a report job needs (Python with pip, for ci/junit-check), not the tools that build and boot the stack.")
  var reports = false

  @Flag(name: .long, help: "Only print the command that installs what is missing (for an administrator to run), and change nothing.")
  var print = false

  func run() async throws {
    let layout = try ProjectLayout.find()
    let manifests = try manifest.map { [try ManifestLoader.load(layout.manifest($0))] } ?? []
    var setup = HostSetup(building: manifests, browser: browser)
    if reports { setup.requirements = HostSetup.reportTools }
    if print {
      let missing = setup.missingPackages()
      Output.line(missing.isEmpty ? "# nothing missing on \(setup.release.name)"
        : "apt-get update && \(setup.installCommand(missing).joined(separator: " "))")
      return
    }
    let installed = try await setup.ensure { Output.line($0) }
    Output.line(installed.isEmpty ? "setup: host prerequisites present, nothing changed" : "setup: installed \(installed.joined(separator: " "))")
  }
}
