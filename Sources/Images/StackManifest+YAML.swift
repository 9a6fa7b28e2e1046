import Foundation
import HarnessSupport

extension StackManifest {
  /// The manifest as a self-contained YAML file: no `extends`, every path absolute. What a run was made of, so
  /// that `check --manifest <run>/manifest.yaml` replays it.
  package var yaml: String {
    var lines = ["# the effective manifest of '\(name)' (from \(file.path))", "name: \(Self.quote(name))", "machine:"]
    lines.append("  cpu: \(Self.quote(machine.cpu))")
    lines.append("  smp: \(machine.smp)")
    lines.append("  memory: \(machine.memoryMiB)")
    lines.append("  append: \(Self.quote(machine.append))")
    switch machine.qemu {
    case .host(let binary): lines.append("  qemu: \(Self.quote(binary == "qemu-system-aarch64" ? "host" : binary))")
    case .built: lines.append("  qemu: built")
    }
    lines.append("components:")
    for spec in orderedComponents {
      lines.append("  \(spec.name.rawValue):")
      if let tree = spec.tree { lines.append("    path: \(Self.quote(tree.path))") }
      if !spec.prebuilt.isEmpty {
        lines.append("    prebuilt:")
        for (role, url) in spec.prebuilt.sorted(by: { $0.key < $1.key }) { lines.append("      \(Self.quote(role)): \(Self.quote(url.path))") }
      }
      let suite = spec.source?.suite ?? spec.packages.first?.suite
      if let source = spec.source { lines.append("    source: \(Self.quote(source.name))") }
      if !spec.packages.isEmpty { lines.append("    packages: [\(spec.packages.map { Self.quote($0.name) }.joined(separator: ", "))]") }
      if !spec.follow.isEmpty { lines.append("    follow: [\(spec.follow.map(Self.quote).joined(separator: ", "))]") }
      if let suite { lines.append("    suite: \(Self.quote(suite))") }
      if !spec.options.isEmpty {
        lines.append("    options:")
        for option in spec.options { lines.append("      \(option.name): \(Self.quote(option.value))") }
      }
      if !spec.patches.isEmpty {
        lines.append("    patches:")
        for patch in spec.patches { lines.append("      - \(Self.quote(patch.path))") }
      }
    }
    if !facts.isEmpty {
      lines.append("facts:")
      for (name, value) in facts.sorted(by: { $0.key < $1.key }) { lines.append("  \(name): \(Self.quote(value))") }
    }
    if let fault {
      lines += ["fault:", "  where: \(Self.quote(fault.layer))", "  suites: [\(fault.suites.map(Self.quote).joined(separator: ", "))]", "  caught-by:"]
      for catching in fault.caughtBy {
        lines += ["    - test: \(Self.quote(catching.test))", "      says: \(catching.says.count == 1 ? Self.quote(catching.says[0]) : "[\(catching.says.map(Self.quote).joined(separator: ", "))]")"]
      }
    }
    return lines.joined(separator: "\n") + "\n"
  }

  /// Writes `manifest.yaml` (the effective manifest) into a run folder.
  package func writeEffective(into runDirectory: URL) throws {
    try AtomicFile.write(Data(yaml.utf8), to: runDirectory.appendingPathComponent("manifest.yaml"))
  }

  /// A YAML scalar that reads back as the same string.
  static func quote(_ value: String) -> String {
    let plain = value.range(of: #"^[A-Za-z0-9_./+-][A-Za-z0-9_./+ =,-]*$"#, options: .regularExpression) != nil
      && !value.hasSuffix(" ") && !["y", "n", "yes", "no", "true", "false", "null", "on", "off", "~"].contains(value.lowercased())
    if plain { return value }
    return "'" + value.replacingOccurrences(of: "'", with: "''") + "'"
  }
}
