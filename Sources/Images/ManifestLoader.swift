import Foundation
import HarnessSupport

/// Reads a manifest file, lays it over the manifest it `extends`, and checks every key.
///
/// Errors point at the offending place: `manifests/x.yaml:12:5: unknown component 'ubot' (known: …)`.
public enum ManifestLoader {
  /// Loads `file` (following `extends`).
  /// - Throws: `HarnessError` for a missing file, malformed YAML, an unknown key, component or option, a wrong
  ///   type, a missing patch file, or an `extends` cycle.
  public static func load(_ file: URL) throws -> StackManifest {
    let tree = try mergedTree(file, seen: [])
    return try decode(tree, file: file)
  }

  /// The manifest named on a command line: a path, or a bare name looked up in `manifests/` (`threads-4`).
  public static func locate(_ nameOrPath: String, manifestsDirectory: URL) -> URL {
    if nameOrPath.contains("/") || nameOrPath.hasSuffix(".yaml") {
      return URL(fileURLWithPath: nameOrPath).standardizedFileURL
    }
    return manifestsDirectory.appendingPathComponent("\(nameOrPath).yaml")
  }

  static func mergedTree(_ file: URL, seen: [URL]) throws -> ManifestTree {
    let file = file.standardizedFileURL
    guard !seen.contains(file) else {
      throw HarnessError("\(file.path): `extends` forms a cycle (\((seen + [file]).map(\.lastPathComponent).joined(separator: " → ")))",
        fix: "make one manifest the base")
    }
    guard let text = try? String(contentsOf: file, encoding: .utf8) else {
      throw HarnessError("manifest \(file.path) not found or unreadable", fix: "name a file in manifests/ (see `swift run teeharness list`)")
    }
    let tree = try ManifestTree.parse(text, file: file.path)
    guard case .mapping = tree else {
      throw HarnessError("\(tree.location): a manifest is a mapping of `name`, `machine`, `components`", fix: "see manifests/default.yaml")
    }
    guard let extends = tree["extends"] else { return tree }
    let named = try extends.scalar("extends")
    let base = named.hasPrefix("/") ? URL(fileURLWithPath: named) : file.deletingLastPathComponent().appendingPathComponent(named)
    return try mergedTree(base, seen: seen + [file]).merged(with: tree.removing("extends"))
  }

  static func decode(_ tree: ManifestTree, file: URL) throws -> StackManifest {
    try tree.requireKeys(["name", "description", "machine", "components"], in: "manifest")
    let name = try tree["name"].map { try $0.scalar("name") } ?? file.deletingPathExtension().lastPathComponent
    var machine = MachineSpec()
    if let m = tree["machine"] {
      try m.requireKeys(["cpu", "smp", "memory", "append", "qemu"], in: "machine")
      if let v = m["cpu"] { machine.cpu = try v.scalar("cpu") }
      if let v = m["smp"] { machine.smp = try integer(v, "smp", range: 1...8) }
      if let v = m["memory"] { machine.memoryMiB = try integer(v, "memory", range: 256...8192) }
      if let v = m["append"] { machine.append = try v.scalar("append") }
      if let v = m["qemu"] {
        let choice = try v.scalar("qemu")
        machine.qemu = choice == "built" ? .built : .host(binary: choice == "host" ? "qemu-system-aarch64" : choice)
      }
    }
    guard let componentsTree = tree["components"], case .mapping(let entries, _) = componentsTree else {
      throw HarnessError("\(tree.location): the manifest has no `components` mapping", fix: "see manifests/default.yaml")
    }
    var components: [ComponentName: ComponentSpec] = [:]
    for entry in entries {
      guard let component = ComponentName(rawValue: entry.key) else {
        throw HarnessError(
          "\(entry.keyLocation): unknown component '\(entry.key)' (known: \(ComponentName.allCases.map(\.rawValue).joined(separator: ", ")))",
          fix: "fix the name or remove it")
      }
      components[component] = try decodeComponent(component, entry.value)
    }
    for required in [ComponentName.optee, .tfa, .uboot, .kernel, .initramfs] where components[required] == nil {
      throw HarnessError("\(file.path): the stack has no '\(required.rawValue)' component", fix: "add it (see manifests/default.yaml)")
    }
    if machine.qemu == .built && components[.qemu] == nil {
      throw HarnessError("\(file.path): `machine.qemu: built` needs a 'qemu' component", fix: "add one (see manifests/qemu-10.yaml)")
    }
    return StackManifest(name: name, file: file, machine: machine, components: components)
  }

  static func decodeComponent(_ name: ComponentName, _ tree: ManifestTree) throws -> ComponentSpec {
    try tree.requireKeys(["source", "packages", "suite", "follow", "options", "patches"], in: "component '\(name.rawValue)'")
    guard let suiteTree = tree["suite"] else {
      throw HarnessError("\(tree.location): component '\(name.rawValue)' names no `suite`", fix: "add e.g. `suite: sid`")
    }
    let suite = try suiteTree.scalar("suite")
    let source = try tree["source"].map { PackageRef(try $0.scalar("source"), suite: suite) }
    let packages = try (tree["packages"].map { try $0.list("packages") } ?? []).map { PackageRef($0, suite: suite) }
    if source == nil && packages.isEmpty {
      throw HarnessError("\(tree.location): component '\(name.rawValue)' names neither a `source` nor `packages`",
        fix: "add `source: <Debian source package>` or `packages: [...]`")
    }
    var options: [ComponentSpec.Option] = []
    if let optionsTree = tree["options"] {
      guard case .mapping(let entries, _) = optionsTree else {
        throw HarnessError("\(optionsTree.location): `options` must be a mapping of NAME: value", fix: "write e.g. `CFG_NUM_THREADS: 4`")
      }
      for entry in entries {
        guard entry.key.range(of: #"^[A-Z][A-Za-z0-9_]*$"#, options: .regularExpression) != nil else {
          throw HarnessError("\(entry.keyLocation): '\(entry.key)' is not a build option name of component '\(name.rawValue)'",
            fix: "options are make variables such as CFG_NUM_THREADS or DEBUG")
        }
        options.append(.init(name: entry.key, value: try entry.value.scalar(entry.key), location: entry.keyLocation))
      }
    }
    var patches: [URL] = []
    if let patchesTree = tree["patches"] {
      guard case .sequence(let items, _) = patchesTree else {
        throw HarnessError("\(patchesTree.location): `patches` must be a list of files", fix: "write `patches: [patches/fix.patch]`")
      }
      for item in items {
        let relative = try item.scalar("patch")
        let base = URL(fileURLWithPath: item.location.file).deletingLastPathComponent()
        let url = URL(fileURLWithPath: relative, relativeTo: base).standardizedFileURL
        guard FileManager.default.fileExists(atPath: url.path) else {
          throw HarnessError("\(item.location): patch file \(url.path) not found", fix: "fix the path (relative to the manifest)")
        }
        patches.append(url)
      }
      if source == nil && !patches.isEmpty {
        throw HarnessError("\(patchesTree.location): patches apply only to a component built from `source`", fix: "remove them")
      }
    }
    let follow = try tree["follow"].map { try $0.list("follow") } ?? []
    return ComponentSpec(name: name, source: source, packages: packages, follow: follow, options: options, patches: patches)
  }



  static func integer(_ tree: ManifestTree, _ what: String, range: ClosedRange<Int>) throws -> Int {
    let text = try tree.scalar(what)
    guard let value = Int(text), range.contains(value) else {
      throw HarnessError("\(tree.location): `\(what)` must be a whole number from \(range.lowerBound) to \(range.upperBound), not '\(text)'",
        fix: "fix the value")
    }
    return value
  }
}
