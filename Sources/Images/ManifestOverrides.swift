import Foundation
import HarnessSupport

/// A manifest changed from the command line, with no file to write: `--with optee=../optee_os` (a local tree,
/// or a folder of prebuilt files), `--set optee.CFG_NUM_THREADS=4` (a build option, or `fact.NAME=value`) and
/// `--set machine.cpu=max,sme=off` and `--bin-dir out/bin` (OP-TEE/build's output folder, taken as it is). Laid over the manifest like a variant.
package struct ManifestOverrides: Sendable, Equatable {
  package var with: [String] = []
  package var set: [String] = []
  package var binDir: String?

  package init(with: [String] = [], set: [String] = [], binDir: String? = nil) {
    self.with = with
    self.set = set
    self.binDir = binDir
  }

  package var isEmpty: Bool { with.isEmpty && set.isEmpty && binDir == nil }

  /// The command-line words that make these overrides (for the report).
  package var words: [String] {
    with.map { "--with \($0)" } + set.map { "--set \($0)" } + (binDir.map { ["--bin-dir \($0)"] } ?? [])
  }

  /// The overrides as a manifest tree to lay over the manifest, or nil when there are none.
  /// - Throws: `HarnessError` for a malformed word, an unknown component, or a `--bin-dir` that holds nothing
  ///   the harness can use.
  package func tree() throws -> ManifestTree? {
    guard !isEmpty else { return nil }
    var components: [String: [ManifestTree.Entry]] = [:]
    var order: [String] = []
    var facts: [ManifestTree.Entry] = []
    var machine: [ManifestTree.Entry] = []
    func add(_ component: ComponentName, _ key: String, _ value: ManifestTree, _ location: SourceLocation) {
      if components[component.rawValue] == nil { order.append(component.rawValue) }
      components[component.rawValue, default: []].removeAll { $0.key == key }
      components[component.rawValue, default: []].append(.init(key: key, keyLocation: location, value: value))
    }

    if let binDir {
      let location = SourceLocation.commandLine("--bin-dir \(binDir)")
      let folder = ManifestLoader.resolve(binDir, at: location)
      var isDirectory: ObjCBool = false
      guard FileManager.default.fileExists(atPath: folder.path, isDirectory: &isDirectory), isDirectory.boolValue else {
        throw HarnessError("--bin-dir \(binDir): no such folder", fix: "give OP-TEE/build's out/bin folder (bl1.bin, bl2.bin, … Image)")
      }
      var found = 0
      for component in [ComponentName.tfa, .optee, .uboot, .kernel, .initramfs] {
        var entries: [ManifestTree.Entry] = []
        for role in component.prebuiltRoles {
          guard let file = ([role.name] + role.aliases).map({ folder.appendingPathComponent($0) })
            .first(where: { FileManager.default.fileExists(atPath: $0.path) })
          else { continue }
          entries.append(.init(key: role.name, keyLocation: location, value: .scalar(file.path, location)))
        }
        guard !entries.isEmpty else { continue }
        found += entries.count
        add(component, "prebuilt", .mapping(entries, location), location)
      }
      guard found > 0 else {
        throw HarnessError("--bin-dir \(binDir) holds none of bl1.bin, bl2.bin, bl31.bin, bl32.bin, bl32_extra1.bin, bl32_extra2.bin, bl33.bin, Image, rootfs.cpio.gz",
          fix: "give OP-TEE/build's out/bin folder")
      }
    }

    for word in with {
      let location = SourceLocation.commandLine("--with \(word)")
      guard let eq = word.firstIndex(of: "="), let component = ComponentName(rawValue: String(word[..<eq])),
        !word[word.index(after: eq)...].isEmpty
      else {
        throw HarnessError("--with \(word): write COMPONENT=PATH with a component of \(ComponentName.allCases.map(\.rawValue).joined(separator: ", "))",
          fix: "e.g. --with optee=../optee_os")
      }
      let path = String(word[word.index(after: eq)...])
      let url = ManifestLoader.resolve(path, at: location)
      // A source tree is built; any other folder is taken for the component's prebuilt files.
      let isTree = component.treeMarkers.map { $0.allSatisfy { FileManager.default.fileExists(atPath: url.appendingPathComponent($0).path) } } ?? false
      add(component, isTree || component.prebuiltRoles.isEmpty ? "path" : "prebuilt", .scalar(url.path, location), location)
    }

    for word in set {
      let location = SourceLocation.commandLine("--set \(word)")
      guard let dot = word.firstIndex(of: "."), let eq = word.firstIndex(of: "="), dot < eq else {
        throw HarnessError("--set \(word): write COMPONENT.OPTION=VALUE (or machine.KEY=VALUE, fact.NAME=VALUE)", fix: "e.g. --set optee.CFG_NUM_THREADS=4")
      }
      let owner = String(word[..<dot]), name = String(word[word.index(after: dot)..<eq])
      let value = ManifestTree.scalar(String(word[word.index(after: eq)...]), location)
      if owner == "fact" || owner == "machine" {
        if owner == "fact" { facts.append(.init(key: name, keyLocation: location, value: value)) }
        else { machine.append(.init(key: name, keyLocation: location, value: value)) }
        continue
      }
      guard let component = ComponentName(rawValue: owner) else {
        throw HarnessError("--set \(word): unknown component '\(owner)' (known: \(ComponentName.allCases.map(\.rawValue).joined(separator: ", ")), or machine, fact)",
          fix: "fix the component's name")
      }
      var options = components[component.rawValue]?.first { $0.key == "options" }?.value.entries ?? []
      options.removeAll { $0.key == name }
      options.append(.init(key: name, keyLocation: location, value: value))
      add(component, "options", .mapping(options, location), location)
    }

    let here = SourceLocation.commandLine("command line")
    var top: [ManifestTree.Entry] = []
    if !order.isEmpty {
      top.append(.init(key: "components", keyLocation: here,
        value: .mapping(order.map { .init(key: $0, keyLocation: here, value: .mapping(components[$0]!, here)) }, here)))
    }
    if !facts.isEmpty { top.append(.init(key: "facts", keyLocation: here, value: .mapping(facts, here))) }
    if !machine.isEmpty { top.append(.init(key: "machine", keyLocation: here, value: .mapping(machine, here))) }
    return .mapping(top, here)
  }
}

extension ManifestTree {
  /// The entries of a mapping (none for anything else).
  var entries: [Entry] {
    guard case .mapping(let entries, _) = self else { return [] }
    return entries
  }
}
