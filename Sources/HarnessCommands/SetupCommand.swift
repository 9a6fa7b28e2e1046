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

  func run() async throws {
    let layout = try ProjectLayout.find()
    let manifests = try manifest.map { [try ManifestLoader.load(layout.manifest($0))] } ?? []
    let installed = try await HostSetup(building: manifests, browser: browser).ensure { Output.line($0) }
    Output.line(installed.isEmpty ? "setup: host prerequisites present, nothing changed" : "setup: installed \(installed.joined(separator: " "))")
  }
}
