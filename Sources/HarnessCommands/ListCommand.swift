import ArgumentParser
import Foundation
import HarnessSuites
import HarnessSupport
import Images
import Suites

struct ListCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(commandName: "list", abstract: "List the suites, their tests and the manifests.")

  func run() async throws {
    for suite in Catalog.all {
      Output.line("\(suite.name)\(Catalog.defaultSuites.contains(suite.name) ? " (default)" : "") — \(suite.summary)")
      for test in suite.tests { Output.line("  \(test.name)") }
    }
    Output.line("")
    Output.line("manifests:")
    let layout = try ProjectLayout.find()
    for file in try layout.allManifests() {
      Output.line("  \(file.deletingPathExtension().lastPathComponent) — \(Self.description(of: file))")
    }
    Output.line("")
    Output.line("fault catalog (manifests/faults/: one injected fault each; ci/faults runs them):")
    for file in layout.faultManifests() {
      let name = file.deletingPathExtension().lastPathComponent
      guard let manifest = try? ManifestLoader.load(file), let fault = manifest.fault else {
        Output.line("  \(name) — does not load: check it with `teeharness images --manifest \(name)`")
        continue
      }
      Output.line("  \(name) [\(fault.layer)] — \(Self.description(of: file))")
      for catching in fault.caughtBy { Output.line("    must fail: \(catching.test) — saying \(catching.wanted)") }
    }
  }

  /// A manifest's own `description:` line.
  static func description(of file: URL) -> String {
    let text = (try? String(contentsOf: file, encoding: .utf8)) ?? ""
    return text.split(separator: "\n").first { $0.hasPrefix("description:") }
      .map { $0.dropFirst("description:".count).trimmingCharacters(in: .whitespaces) } ?? ""
  }
}
