import Foundation
import HarnessSupport

/// Reads a manifest file, lays it over the manifest it `extends`, and checks every key.
///
/// Errors point at the offending place: `manifests/x.yaml:12:5: unknown component 'ubot' (known: …)`.
package enum ManifestLoader {
  /// Loads `file` (following `extends`).
  /// - Throws: `HarnessError` for a missing file, malformed YAML, an unknown key, component or option, a wrong
  ///   type, a missing patch file, or an `extends` cycle.
  package static func load(_ file: URL, overrides: ManifestTree? = nil) throws -> StackManifest {
    var tree = try mergedTree(file, seen: [])
    if let overrides { tree = layered(tree, overrides) }
    return try decode(tree, file: file)
  }

  /// `top` laid over `base`, where a component that `top` gives another origin forgets its old one: a `path` or
  /// `prebuilt` replaces `source`, `packages`, `suite` and `follow` (prebuilt files also drop `options` and
  /// `patches`, which they cannot take; a tree drops the options of binary packages, and a kernel tree keeps the
  /// packages, whose config `DEFCONFIG=debian` builds it with), a `source` replaces `path`, `prebuilt` and
  /// `packages`, and `packages` replace `path`, `prebuilt` and a `source` with its options and patches.
  static func layered(_ base: ManifestTree, _ top: ManifestTree) -> ManifestTree {
    guard case .mapping(var entries, let location) = base, let topComponents = top["components"],
      case .mapping(let overridden, _) = topComponents,
      let i = entries.firstIndex(where: { $0.key == "components" })
    else { return base.merged(with: top) }
    var components = entries[i].value
    for entry in overridden {
      guard var component = components[entry.key] else { continue }
      let keys = Set((entry.value.mappingKeys))
      var dropped: [String] = []
      if keys.contains("prebuilt") { dropped = ["source", "packages", "suite", "follow", "path", "options", "patches"] }
      else if keys.contains("path") {
        // A tree is built like the source it replaces, with its options; options for Debian's binary packages
        // (a kernel's MODULES) are not a tree's.
        // A kernel tree keeps Debian's kernel packages, as the config `DEFCONFIG=debian` starts from.
        dropped = ["source", "prebuilt"] + (entry.key == "kernel" ? [] : ["packages", "suite", "follow"])
          + (component["source"] == nil && component["packages"] != nil ? ["options"] : [])
      }
      else if keys.contains("source") { dropped = ["path", "prebuilt", "packages"] }
      else if keys.contains("packages") {
        // Binary packages instead of a source: the source's build options and patches go with it.
        dropped = ["path", "prebuilt"] + (component["source"] != nil ? ["source", "options", "patches"] : [])
      }
      for key in dropped { component = component.removing(key) }
      components = components.replacing(entry.key, with: component)
    }
    entries[i].value = components
    return ManifestTree.mapping(entries, location).merged(with: top)
  }

  /// The manifest named on a command line: a path, or a bare name looked up in `manifests/` (`threads-4`) and
  /// then in its fault catalog, `manifests/faults/` (`secure-uart-irq-off`).
  package static func locate(_ nameOrPath: String, manifestsDirectory: URL) -> URL {
    if nameOrPath.contains("/") || nameOrPath.hasSuffix(".yaml") {
      return URL(fileURLWithPath: nameOrPath).standardizedFileURL
    }
    let stack = manifestsDirectory.appendingPathComponent("\(nameOrPath).yaml")
    let fault = manifestsDirectory.appendingPathComponent(faultsFolder).appendingPathComponent("\(nameOrPath).yaml")
    return !FileManager.default.fileExists(atPath: stack.path) && FileManager.default.fileExists(atPath: fault.path) ? fault : stack
  }

  /// The fault catalog's folder inside `manifests/`.
  package static let faultsFolder = "faults"

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
    return layered(try mergedTree(base, seen: seen + [file]), tree.removing("extends"))
  }

  static func decode(_ tree: ManifestTree, file: URL) throws -> StackManifest {
    try tree.requireKeys(["name", "description", "machine", "components", "facts", "fault"], in: "manifest")
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
    // A QEMU tree is there to run the machine on.
    if components[.qemu]?.tree != nil { machine.qemu = .built }
    if machine.qemu == .built && components[.qemu] == nil {
      throw HarnessError("\(file.path): `machine.qemu: built` needs a 'qemu' component", fix: "add one (see manifests/qemu-10.yaml)")
    }
    var manifest = StackManifest(name: name, file: file, machine: machine, components: components)
    manifest.facts = try decodeFacts(tree["facts"])
    manifest.fault = try tree["fault"].map(FaultSpec.decode)
    return manifest
  }

  /// Facts the harness would otherwise learn from the build: `CFG_*` values and the harness's own facts.
  package static let harnessFacts = ["thread-count-advertised"]

  static func decodeFacts(_ tree: ManifestTree?) throws -> [String: String] {
    guard let tree else { return [:] }
    guard case .mapping(let entries, _) = tree else {
      throw HarnessError("\(tree.location): `facts` must be a mapping of NAME: value", fix: "write e.g. `CFG_NUM_THREADS: 4`")
    }
    var facts: [String: String] = [:]
    for entry in entries {
      guard harnessFacts.contains(entry.key) || entry.key.range(of: #"^CFG_[A-Z0-9_]+$"#, options: .regularExpression) != nil else {
        throw HarnessError("\(entry.keyLocation): '\(entry.key)' is not a fact (a CFG_* name or one of: \(harnessFacts.joined(separator: ", ")))",
          fix: "fix the name")
      }
      facts[entry.key] = try entry.value.scalar(entry.key)
    }
    return facts
  }

  static func decodeComponent(_ name: ComponentName, _ tree: ManifestTree) throws -> ComponentSpec {
    try tree.requireKeys(["source", "packages", "suite", "follow", "options", "patches", "path", "prebuilt"],
      in: "component '\(name.rawValue)'")
    let local = try tree["path"].map { try decodeTree(name, $0) }
    let prebuilt = try tree["prebuilt"].map { try decodePrebuilt(name, $0) } ?? [:]
    // A kernel tree may keep Debian's kernel packages: their config is where `DEFCONFIG=debian` starts.
    let keepsPackages = name == .kernel && local != nil && prebuilt.isEmpty
    if local != nil || !prebuilt.isEmpty {
      for key in (keepsPackages ? ["source"] : ["source", "packages", "suite", "follow"]) + (prebuilt.isEmpty ? [] : ["options", "patches", "path"]) {
        if let value = tree[key] {
          throw HarnessError("\(value.location): component '\(name.rawValue)' gives both `\(local != nil && prebuilt.isEmpty ? "path" : "prebuilt")` and `\(key)`",
            fix: "keep one origin: a local tree (`path`), prebuilt files (`prebuilt`) or Debian's (`source`/`packages`)")
        }
      }
    }
    var source: PackageRef?
    var packages: [PackageRef] = []
    if keepsPackages, let listed = tree["packages"] {
      let suite = try tree["suite"].map { try $0.scalar("suite") } ?? ""
      guard !suite.isEmpty else { throw HarnessError("\(listed.location): the kernel's `packages` name no `suite`", fix: "add e.g. `suite: trixie`") }
      packages = try listed.list("packages").map { PackageRef($0, suite: suite) }
    } else if local == nil && prebuilt.isEmpty {
      guard let suiteTree = tree["suite"] else {
        throw HarnessError("\(tree.location): component '\(name.rawValue)' names no `suite`", fix: "add e.g. `suite: sid`")
      }
      let suite = try suiteTree.scalar("suite")
      source = try tree["source"].map { PackageRef(try $0.scalar("source"), suite: suite) }
      packages = try (tree["packages"].map { try $0.list("packages") } ?? []).map { PackageRef($0, suite: suite) }
      if source == nil && packages.isEmpty {
        throw HarnessError("\(tree.location): component '\(name.rawValue)' names neither a `source` nor `packages`",
          fix: "add `source: <Debian source package>`, `packages: [...]`, `path: <local tree>` or `prebuilt: <folder>`")
      }
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
        let url = resolve(try item.scalar("patch"), at: item.location)
        guard FileManager.default.fileExists(atPath: url.path) else {
          throw HarnessError("\(item.location): patch file \(url.path) not found", fix: "fix the path (relative to the manifest)")
        }
        patches.append(url)
      }
      if source == nil && local == nil && !patches.isEmpty {
        throw HarnessError("\(patchesTree.location): patches apply only to a component built from `source` or `path`", fix: "remove them")
      }
    }
    if keepsPackages, packages.isEmpty, let option = options.last(where: { $0.name == "DEFCONFIG" }), option.value == "debian" {
      throw HarnessError("\(option.location.map { "\($0): " } ?? "")DEFCONFIG=debian starts from the config of Debian's kernel packages, and the kernel names none",
        fix: "extend a manifest whose kernel has `packages` (default.yaml), or add `packages: [linux-image-6.12-arm64]` and `suite: trixie`")
    }
    let follow = try tree["follow"].map { try $0.list("follow") } ?? []
    var spec = ComponentSpec(name: name, source: source, packages: packages, follow: follow, options: options, patches: patches)
    spec.tree = local
    spec.prebuilt = prebuilt
    return spec
  }

  /// A path as written at `location`: absolute, or relative to the file it is written in (the current folder
  /// for the command line).
  package static func resolve(_ path: String, at location: SourceLocation) -> URL {
    if path.hasPrefix("/") { return URL(fileURLWithPath: path).standardizedFileURL }
    let base = location.line == 0 ? URL(fileURLWithPath: FileManager.default.currentDirectoryPath, isDirectory: true)
      : URL(fileURLWithPath: location.file).deletingLastPathComponent()
    return URL(fileURLWithPath: path, relativeTo: base).standardizedFileURL
  }

  /// `path:` — a folder that holds the component's kind of source tree.
  static func decodeTree(_ name: ComponentName, _ tree: ManifestTree) throws -> URL {
    guard let markers = name.treeMarkers else {
      throw HarnessError("\(tree.location): component '\(name.rawValue)' cannot be built from a local tree",
        fix: "local trees are for \(ComponentName.allCases.filter { $0.treeMarkers != nil }.map(\.rawValue).joined(separator: ", ")); give `prebuilt` files instead")
    }
    let url = resolve(try tree.scalar("path"), at: tree.location)
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory), isDirectory.boolValue else {
      throw HarnessError("\(tree.location): the \(name.title) tree \(url.path) does not exist or is not a folder", fix: "fix the path")
    }
    if let missing = markers.first(where: { !FileManager.default.fileExists(atPath: url.appendingPathComponent($0).path) }) {
      throw HarnessError("\(tree.location): \(url.path) is not a \(name.title) source tree (it has no \(missing))",
        fix: "point `path` at the top of a \(name.title) checkout")
    }
    return url
  }

  /// `prebuilt:` — a folder holding the files by their names (or OP-TEE/build's), or a mapping role: file.
  static func decodePrebuilt(_ name: ComponentName, _ tree: ManifestTree) throws -> [String: URL] {
    let roles = name.prebuiltRoles
    guard !roles.isEmpty else {
      throw HarnessError("\(tree.location): component '\(name.rawValue)' cannot be given prebuilt",
        fix: "prebuilt files are for \(ComponentName.allCases.filter { !$0.prebuiltRoles.isEmpty }.map(\.rawValue).joined(separator: ", "))")
    }
    var files: [String: URL] = [:]
    let fm = FileManager.default
    switch tree {
    case .scalar(let path, let location):
      let folder = resolve(path, at: location)
      var isDirectory: ObjCBool = false
      guard fm.fileExists(atPath: folder.path, isDirectory: &isDirectory), isDirectory.boolValue else {
        throw HarnessError("\(location): the prebuilt folder \(folder.path) does not exist", fix: "fix the path, or map each file (`bl31.bin: path`)")
      }
      for role in roles {
        if let found = ([role.name] + role.aliases).map({ folder.appendingPathComponent($0) }).first(where: { fm.fileExists(atPath: $0.path) }) {
          files[role.name] = found
        }
      }
    case .mapping(let entries, _):
      for entry in entries {
        guard let role = name.prebuiltRole(named: entry.key) else {
          throw HarnessError("\(entry.keyLocation): '\(entry.key)' is not a prebuilt file of \(name.rawValue) (one of: \(roles.map(\.name).joined(separator: ", ")))",
            fix: "fix the name")
        }
        let url = resolve(try entry.value.scalar(entry.key), at: entry.value.location)
        guard fm.fileExists(atPath: url.path) else {
          throw HarnessError("\(entry.value.location): prebuilt \(entry.key) \(url.path) not found", fix: "fix the path")
        }
        files[role.name] = url
      }
    case .sequence:
      throw HarnessError("\(tree.location): `prebuilt` is a folder or a mapping of file: path", fix: "write `prebuilt: out/bin` or `prebuilt: {bl31.bin: …}`")
    }
    if let missing = name.missingPrebuilt(Set(files.keys)) {
      throw HarnessError("\(tree.location): prebuilt \(name.title) lacks \(missing)", fix: "add the file(s), or build the component from `source` or `path`")
    }
    return files
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
