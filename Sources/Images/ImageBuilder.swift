import Foundation
import HarnessSupport

/// Builds a stack from its manifest and the lock: per component, compute the key from every input, reuse the
/// stored output when it is there and intact, otherwise download, unpack, patch, run the recipe and publish.
package struct ImageBuilder: Sendable {
  package var manifest: StackManifest
  package var lock: LockFile
  package var layout: ProjectLayout
  package var store: ImageStore
  package var downloads: DownloadCache
  /// Progress and notes, one line each.
  package var report: @Sendable (String) -> Void
  /// When false, a component that is not in the store is an error instead of being built (`images path`).
  package var mayBuild = true

  package init(manifest: StackManifest, lock: LockFile, layout: ProjectLayout, cache: URL, archive: DebianArchive,
    report: @escaping @Sendable (String) -> Void)
  {
    self.manifest = manifest
    self.lock = lock
    self.layout = layout
    self.store = ImageStore(root: cache)
    self.downloads = DownloadCache(archive: archive, directory: cache.appendingPathComponent("downloads", isDirectory: true))
    self.report = report
  }

  /// What happened to one component.
  package struct Outcome: Sendable {
    package var component: ComponentName
    package var key: String
    package var directory: URL
    /// Seconds spent building now; nil when the stored output was reused.
    package var builtSeconds: Double?
    /// For a local tree: the folder its mirror and build folder are kept in between runs.
    package var workspace: URL?
  }

  /// Builds (or reuses) every component and returns where the stack's files are.
  /// - Throws: `HarnessError` naming the component, the command and the log for a failed build; the errors of
  ///   `DownloadCache.fetch` for archive problems; a lock error when the lock does not cover the manifest.
  package func build() async throws -> (StackImages, [Outcome]) {
    let missing = lock.missing(manifest.orderedComponents.flatMap(\.lockKeys))
    if !missing.isEmpty {
      throw HarnessError("the lock does not cover \(missing.map(\.description).joined(separator: ", ")) of manifest '\(manifest.name)'",
        fix: "run `swift run teeharness images lock`")
    }
    let toolchain = try await toolchainIdentity()
    var outcomes: [ComponentName: Outcome] = [:]
    for spec in manifest.orderedComponents {
      let dependencies = spec.name.dependencies.compactMap { outcomes[$0] }
      let local = try await localTree(spec)
      if !spec.prebuilt.isEmpty { try PrebuiltFiles.check(spec) }
      let inputs = try await inputs(of: spec, dependencies: dependencies, toolchain: toolchain, tree: local?.digest)
      let key = SHA256.hex(inputs.joined(separator: "\n"))
      outcomes[spec.name] = try await buildComponent(spec, key: key, inputs: inputs, dependencies: dependencies, tree: local)
    }
    var images = try StackImages(manifest: manifest, outcomes: outcomes)
    for spec in manifest.orderedComponents {
      for key in spec.lockKeys {
        for file in (try? lock.files(for: key)) ?? [] { images.packageVersions[file.package] = file.version }
      }
    }
    return (images, manifest.orderedComponents.compactMap { outcomes[$0.name] })
  }

  /// A local tree's files, its digest and the workspace its build keeps between runs.
  struct TreeBuild: Sendable {
    var tree: LocalTree
    var entries: [LocalTree.Entry]
    var digest: String
    /// Kept per tree path: `src/` (the mirror) and a build folder per set of options.
    var workspace: URL
    var options: [ComponentSpec.Option]

    var mirror: URL { workspace.appendingPathComponent("src", isDirectory: true) }
    var buildFolder: URL {
      workspace.appendingPathComponent("build-\(SHA256.hex(options.map(\.assignment).joined(separator: "\n")).prefix(12))", isDirectory: true)
    }
  }

  func localTree(_ spec: ComponentSpec) async throws -> TreeBuild? {
    guard let root = spec.tree else { return nil }
    let tree = LocalTree(root: root, ignoredButNeeded: spec.name.treeFetchedFolders)
    let workspace = store.root.appendingPathComponent("trees/\(spec.name.rawValue)-\(SHA256.hex(root.path).prefix(16))", isDirectory: true)
    let entries = try await tree.entries()
    guard !entries.isEmpty else {
      throw HarnessError("the \(spec.name.title) tree \(root.path) has no files", fix: "point `path` at a checkout")
    }
    try FileManager.default.createDirectory(at: workspace, withIntermediateDirectories: true)
    try TreeWorkspace.markUsed(workspace, tree: root)
    let digest = try await tree.digest(entries, cache: workspace.appendingPathComponent("digests.json"))
    return TreeBuild(tree: tree, entries: entries, digest: digest, workspace: workspace, options: spec.options)
  }

  /// The canonical description of everything that makes a component; its sha256 is the component's key.
  func inputs(of spec: ComponentSpec, dependencies: [Outcome], toolchain: String, tree: String? = nil) async throws -> [String] {
    var lines = ["teeharness-image-format 1", "component \(spec.name.rawValue)"]
    if !spec.prebuilt.isEmpty {
      lines.append("prebuilt-format 1")
      let roles = spec.prebuilt.keys.sorted()
      let digests = try await FileDigest.sha256(of: roles.map { spec.prebuilt[$0]! })
      for (role, digest) in zip(roles, digests) { lines.append("prebuilt \(role) \(digest)") }
      if spec.prebuilt["tee.elf"] != nil { lines.append("recipe optee-layout \(try recipeDigest("optee-layout"))") }
      for dependency in dependencies { lines.append("depends \(dependency.component.rawValue) \(dependency.key)") }
      return lines + (try ownSources(spec))
    }
    lines.append("recipe \(try recipeDigest(spec.name.rawValue))")
    if spec.name == .optee { lines.append("recipe optee-layout \(try recipeDigest("optee-layout"))") }
    if let tree { lines.append("tree \(tree)") }
    for key in spec.lockKeys {
      for file in try lock.files(for: key) { lines.append("file \(file.name) \(file.sha256)") }
    }
    for option in spec.options { lines.append("option \(option.assignment)") }
    for patch in spec.patches {
      guard let data = FileManager.default.contents(atPath: patch.path) else {
        throw HarnessError("patch \(patch.path) is unreadable", fix: "fix the manifest's patch list")
      }
      lines.append("patch \(patch.lastPathComponent) \(SHA256.hex([UInt8](data)))")
    }
    for dependency in dependencies { lines.append("depends \(dependency.component.rawValue) \(dependency.key)") }
    if spec.source != nil || tree != nil || spec.name.compiles { lines.append("toolchain \(toolchain)") }
    return lines + (try ownSources(spec))
  }

  /// The harness's own files that go into the component (the payloads' sources, the initramfs `/init`).
  private func ownSources(_ spec: ComponentSpec) throws -> [String] {
    guard let own = spec.name.ownSources else { return [] }
    let folder = layout.images.appendingPathComponent(own)
    return try ImageStore.regularFiles(below: folder).map { path in
      let data = FileManager.default.contents(atPath: folder.appendingPathComponent(path).path) ?? Data()
      return "own \(own)/\(path) \(SHA256.hex([UInt8](data)))"
    }
  }

  private func recipeDigest(_ name: String) throws -> String {
    let recipe = layout.images.appendingPathComponent("recipes/\(name).sh")
    guard let data = FileManager.default.contents(atPath: recipe.path) else {
      throw HarnessError("recipe \(recipe.path) is missing", fix: "restore images/recipes from git")
    }
    return SHA256.hex([UInt8](data))
  }

  private func toolchainIdentity() async throws -> String {
    let gcc = try await Command.output(["aarch64-linux-gnu-gcc", "-dumpfullversion"])
    return "aarch64-linux-gnu-gcc \(gcc)"
  }

  private func buildComponent(_ spec: ComponentSpec, key: String, inputs: [String], dependencies: [Outcome], tree: TreeBuild?)
    async throws -> Outcome
  {
    let name = spec.name.rawValue.padding(toLength: 10, withPad: " ", startingAt: 0)
    // The fast way: already built, checked without a lock (a published entry never changes).
    if case .valid = try await store.lookup(spec.name, key: key) {
      report("\(name) cached  \(key.prefix(12))")
      return Outcome(component: spec.name, key: key, directory: store.directory(spec.name, key: key), builtSeconds: nil,
        workspace: tree?.workspace)
    }
    // One builder of an entry at a time across harness processes; the one that waited finds it built.
    let lock = store.root.appendingPathComponent("locks/\(spec.name.rawValue)-\(key.prefix(32)).lock")
    return try await FileLock.with(lock, deadline: .after(.seconds(4 * 3600)),
      waiting: { report("\(name) another teeharness is building it: waiting") }) {
      try await buildLocked(spec, key: key, inputs: inputs, dependencies: dependencies, tree: tree)
    }
  }

  private func buildLocked(_ spec: ComponentSpec, key: String, inputs: [String], dependencies: [Outcome], tree: TreeBuild?)
    async throws -> Outcome
  {
    let name = spec.name.rawValue.padding(toLength: 10, withPad: " ", startingAt: 0)
    switch try await store.lookup(spec.name, key: key) {
    case .valid:
      report("\(name) cached  \(key.prefix(12))")
      return Outcome(component: spec.name, key: key, directory: store.directory(spec.name, key: key), builtSeconds: nil,
        workspace: tree?.workspace)
    case .corrupted(let files):
      report("\(name) cached output is corrupted (\(files.prefix(3).joined(separator: ", "))): rebuilding")
      try store.discard(spec.name, key: key)
    case .missing:
      break
    }
    guard mayBuild else {
      throw HarnessError("component \(spec.name.rawValue) of manifest '\(manifest.name)' is not built",
        fix: "run `swift run teeharness images build --manifest \(manifest.name)`")
    }
    let started = ContinuousClock.now
    let work = try store.scratch(spec.name)
    defer { try? FileManager.default.removeItem(at: work) }
    let logs = store.root.appendingPathComponent("logs", isDirectory: true)
    try FileManager.default.createDirectory(at: logs, withIntermediateDirectories: true)
    let log = logs.appendingPathComponent("\(spec.name.rawValue)-\(key.prefix(16)).log")
    try Data().write(to: log)
    report("\(name) building \(spec.origin) (log: \(log.path))")

    var step = ComponentBuild(spec: spec, work: work, log: log, downloads: downloads, lock: lock, layout: layout, report: report)
    step.tree = tree
    let output = try await step.run(dependencies: dependencies.map { ($0.component, $0.directory) })
    let seconds = (ContinuousClock.now - started).seconds
    _ = try await store.publish(output, component: spec.name, key: key, inputs: inputs, seconds: seconds)
    report("\(name) built in \(seconds.formatted(decimals: 1)) s  \(key.prefix(12))")
    return Outcome(component: spec.name, key: key, directory: store.directory(spec.name, key: key), builtSeconds: seconds,
      workspace: tree?.workspace)
  }
}

extension StackImages {
  init(manifest: StackManifest, outcomes: [ComponentName: ImageBuilder.Outcome]) throws {
    func dir(_ c: ComponentName) -> URL { outcomes[c]!.directory }
    let optee = dir(.optee), tfa = dir(.tfa), kernel = dir(.kernel)
    let qemu: URL
    switch manifest.machine.qemu {
    case .host(let binary): qemu = (try? Command.locate(binary)) ?? URL(fileURLWithPath: binary)
    case .built: qemu = dir(.qemu).appendingPathComponent("bin/qemu-system-aarch64")
    }
    let release = (try? String(contentsOf: kernel.appendingPathComponent("release"), encoding: .utf8))?
      .trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
    func existing(_ url: URL) -> URL? { FileManager.default.fileExists(atPath: url.path) ? url : nil }
    self.init(
      manifest: manifest.name,
      digest: SHA256.hex(outcomes.keys.sorted().map { "\($0.rawValue) \(outcomes[$0]!.key)" }.joined(separator: "\n")),
      keys: Dictionary(uniqueKeysWithValues: outcomes.map { ($0.key.rawValue, $0.value.key) }),
      bl1: tfa.appendingPathComponent("bl1.bin"), bl2: tfa.appendingPathComponent("bl2.bin"),
      bl31: tfa.appendingPathComponent("bl31.bin"), bl32: optee.appendingPathComponent("tee-header_v2.bin"),
      bl32Extra1: optee.appendingPathComponent("tee-pager_v2.bin"),
      bl32Extra2: optee.appendingPathComponent("tee-pageable_v2.bin"),
      bl33: dir(.uboot).appendingPathComponent("u-boot.bin"), tosFwConfig: existing(tfa.appendingPathComponent("tos_fw_config.dtb")),
      kernel: kernel.appendingPathComponent("Image"),
      initramfs: dir(.initramfs).appendingPathComponent("rootfs.cpio"), teeElf: existing(optee.appendingPathComponent("tee.elf")),
      bl31Elf: existing(tfa.appendingPathComponent("bl31.elf")), bl1Elf: existing(tfa.appendingPathComponent("bl1.elf")),
      bl2Elf: existing(tfa.appendingPathComponent("bl2.elf")), opteeConfig: existing(optee.appendingPathComponent("conf.mk")),
      opteeLayout: existing(optee.appendingPathComponent("layout.txt")),
      taDevKit: existing(optee.appendingPathComponent("export-ta_arm64")),
      kernelConfig: existing(kernel.appendingPathComponent("config")),
      kernelRelease: release, qemu: qemu)
  }
}
