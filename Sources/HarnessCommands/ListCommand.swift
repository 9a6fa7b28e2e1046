import ArgumentParser
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
      let text = (try? String(contentsOf: file, encoding: .utf8)) ?? ""
      let description = text.split(separator: "\n").first { $0.hasPrefix("description:") }
        .map { $0.dropFirst("description:".count).trimmingCharacters(in: .whitespaces) } ?? ""
      Output.line("  \(file.deletingPathExtension().lastPathComponent) — \(description)")
    }
  }
}
