import Foundation
import HarnessSupport

/// One component's build in its scratch folder: fetch and verify its Debian files, unpack them, apply the
/// manifest's patches, run the recipe, then the harness's own finishing step (the initramfs cpio, the OP-TEE
/// option check). Returns the finished output folder, ready to publish.
struct ComponentBuild: Sendable {
  var spec: ComponentSpec
  var work: URL
  var log: URL
  var downloads: DownloadCache
  var lock: LockFile
  var layout: ProjectLayout
  var report: @Sendable (String) -> Void
  /// The local tree the component is built from, when it is (`path:`).
  var tree: ImageBuilder.TreeBuild?

  func run(dependencies: [(ComponentName, URL)]) async throws -> URL {
    let fm = FileManager.default
    let out = work.appendingPathComponent("output", isDirectory: true)
    var src = work.appendingPathComponent("src", isDirectory: true)
    let root = work.appendingPathComponent("root", isDirectory: true)
    let scratch = work.appendingPathComponent("scratch", isDirectory: true)
    var build = scratch.appendingPathComponent("build", isDirectory: true)
    for dir in [out, root, scratch, build] { try fm.createDirectory(at: dir, withIntermediateDirectories: true) }
    if !spec.prebuilt.isEmpty {
      try await assemblePrebuilt(out, scratch: scratch, dependencies: dependencies)
      return out
    }

    if let source = spec.source {
      let files = try lock.files(for: LockKey(kind: .source, package: source, follow: []))
      let fetched = work.appendingPathComponent("fetched", isDirectory: true)
      try fm.createDirectory(at: fetched, withIntermediateDirectories: true)
      for file in files {
        let local = try await downloads.fetch(file, note: report)
        try fm.linkOrCopy(local, to: fetched.appendingPathComponent(file.name))
      }
      guard let dsc = files.first(where: { $0.name.hasSuffix(".dsc") }) else {
        throw HarnessError("the lock's entry for source \(source) has no .dsc", fix: "run `swift run teeharness images lock`")
      }
      try await step(["dpkg-source", "--no-check", "-x", fetched.appendingPathComponent(dsc.name).path, src.path], "unpack \(dsc.name)")
      for patch in spec.patches {
        try await step(["patch", "-p1", "--batch", "--forward", "-d", src.path, "-i", patch.path], "apply patch \(patch.lastPathComponent)",
          fix: "the patch does not apply to \(source) \(dsc.version): rebase it")
      }
      try await checkOptionsAreKnown(to: src, source: "\(source.name) \(dsc.version)")
    }
    if let tree {
      // The user's tree is only read: the build works in its mirror, with its own build folder, both kept.
      src = tree.mirror
      build = tree.buildFolder
      try fm.createDirectory(at: build, withIntermediateDirectories: true)
      let copied = try tree.tree.sync(tree.entries, to: src)
      try Data("\n# \(tree.tree.root.path) (\(tree.digest)): \(copied) of \(tree.entries.count) files copied into \(src.path)\n".utf8).append(to: log)
      for patch in spec.patches {
        try await step(["patch", "-p1", "--batch", "--forward", "--no-backup-if-mismatch", "-d", src.path, "-i", patch.path],
          "apply patch \(patch.lastPathComponent)", fix: "the patch does not apply to \(tree.tree.root.path): rebase it")
      }
      // A kernel's options are Kconfig symbols and the recipe's own: its recipe checks that each took effect;
      // QEMU's are its configure's, which rejects what it does not know.
      if spec.name != .kernel && spec.name != .qemu { try await checkOptionsAreKnown(to: src, source: "the tree \(tree.tree.root.path)") }
    }
    for key in spec.lockKeys where key.kind == .binary {
      for file in try lock.files(for: key) {
        let local = try await downloads.fetch(file, note: report)
        try await step(["dpkg-deb", "-x", local.path, root.path], "unpack \(file.name)")
      }
    }

    var environment = ProcessInfo.processInfo.environment
    environment["SRC"] = src.path
    environment["ROOT"] = root.path
    environment["OUT"] = out.path
    environment["WORK"] = scratch.path
    environment["BUILD"] = build.path
    environment["JOBS"] = String(ProcessInfo.processInfo.activeProcessorCount)
    environment["HARNESS_IMAGES"] = layout.images.path
    environment["LC_ALL"] = "C"
    environment["SOURCE_DATE_EPOCH"] = "0"
    // A build asks git for its version (OP-TEE's `git describe`, TF-A's build string): git must not find a
    // repository around the cache — CI keeps the cache inside the project's checkout — and name the build after it.
    environment["GIT_CEILING_DIRECTORIES"] = src.deletingLastPathComponent().path
    for (name, dir) in dependencies { environment["DEP_\(name.rawValue.uppercased())"] = dir.path }
    let recipe = layout.images.appendingPathComponent("recipes/\(spec.name.rawValue).sh")
    try await step(["bash", recipe.path] + spec.options.map(\.assignment), "recipe \(spec.name.rawValue).sh",
      in: spec.source != nil || tree != nil ? src : work, environment: environment)

    switch spec.name {
    case .initramfs: try finishInitramfs(out)
    case .optee where spec.source != nil || tree != nil: try checkOpteeOptions(out.appendingPathComponent("conf.mk"))
    default: break
    }
    return out
  }

  /// Prebuilt files, checked, under the names the component's output gives them; TF-A's BL2 and BL31 come out
  /// of a FIP when only that is given; OP-TEE's thread-table layout is read from a tee.elf when there is one.
  private func assemblePrebuilt(_ out: URL, scratch: URL, dependencies: [(ComponentName, URL)]) async throws {
    let fm = FileManager.default
    for (role, file) in spec.prebuilt where spec.name != .initramfs {
      try fm.copyItem(at: file, to: out.appendingPathComponent(role))
    }
    switch spec.name {
    case .initramfs:
      try await extendInitramfs(spec.prebuilt["rootfs.cpio.gz"]!, out: out, scratch: scratch, dependencies: dependencies)
    case .tfa:
      guard let fip = spec.prebuilt["fip.bin"] else { break }
      let bytes = [UInt8](try Data(contentsOf: fip))
      let package: FirmwareImagePackage
      do {
        package = try FirmwareImagePackage(header: bytes, size: bytes.count)
      } catch {
        throw HarnessError("prebuilt fip.bin (\(fip.path)) is not usable: \(error)", fix: "give the fip.bin TF-A's `make fip` wrote")
      }
      for (image, name) in [(FirmwareImagePackage.Image.bl2, "bl2.bin"), (.bl31, "bl31.bin")] where spec.prebuilt[name] == nil {
        guard let content = package.extract(image, from: bytes) else {
          throw HarnessError("prebuilt fip.bin (\(fip.path)) holds no \(name.dropLast(4).uppercased()) (\(image.rawValue))",
            fix: "build the FIP with BL2 and BL31, or give bl2.bin and bl31.bin")
        }
        try Data(content).write(to: out.appendingPathComponent(name))
      }
      // An SPMD's FIP carries the SPM Core manifest BL2 loads: kept for the flash the harness packs.
      if let manifest = package.extract(.tosFwConfig, from: bytes) {
        try Data(manifest).write(to: out.appendingPathComponent("tos_fw_config.dtb"))
      }
    case .optee where spec.prebuilt["tee.elf"] != nil:
      var environment = ProcessInfo.processInfo.environment
      environment["OUT"] = out.path
      environment["WORK"] = scratch.path
      let recipe = layout.images.appendingPathComponent("recipes/optee-layout.sh")
      try Data("\n$ bash \(recipe.path)\n".utf8).append(to: log)
      let result = try await Command.run(["bash", recipe.path], in: out, environment: environment, log: log)
      if !result.succeeded {
        // A tee.elf without debug information: the thread table cannot be read, and the tests that need it skip.
        try? fm.removeItem(at: out.appendingPathComponent("layout.txt"))
        report("\(spec.name.rawValue): tee.elf has no thread-table layout (no debug information?): tests that read OP-TEE's threads will skip")
      }
    case .kernel:
      try fm.createDirectory(at: out.appendingPathComponent("modules"), withIntermediateDirectories: true)
      try Data().write(to: out.appendingPathComponent("modules.order"))
    default: break
    }
  }

  /// A user's initramfs with the harness's own pieces appended as a second archive, which the kernel unpacks
  /// over the first: the harness's `/init` (the user's is replaced: it starts tee-supplicant and the shell the
  /// harness drives), the payloads (the TA goes where the archive keeps its TAs; the client and the
  /// tee-supplicant plugin) and the kernel component's OP-TEE modules. Each piece is placed where the user's
  /// archive resolves its path (its `lib → usr/lib` and other links followed), so no folder of theirs is
  /// replaced. The user's userland — busybox, tee-supplicant, libteec, xtest and its TAs — is used as it is.
  private func extendInitramfs(_ archive: URL, out: URL, scratch: URL, dependencies: [(ComponentName, URL)]) async throws {
    let fm = FileManager.default
    func unusable(_ why: String) -> HarnessError {
      HarnessError("prebuilt rootfs.cpio.gz (\(archive.path)) is not usable: \(why)", fix: "give the initramfs your build made (a gzip-compressed or plain newc cpio)")
    }
    var user = try Data(contentsOf: archive)
    var plain = [UInt8](user)
    if user.starts(with: [0x1f, 0x8b]) {
      let unpacked = scratch.appendingPathComponent("user.cpio")
      let gunzip = try await Command.run(["bash", "-c", "gzip -dc < \"$0\" > \"$1\"", archive.path, unpacked.path])
      guard gunzip.succeeded else { throw unusable("gzip cannot decompress it: \(gunzip.output.lastLines(1))") }
      plain = [UInt8](try Data(contentsOf: unpacked))
    }
    let listing: CpioListing
    do { listing = try CpioListing(plain) } catch { throw unusable("\(error)") }

    var entries: [CpioEntry] = []
    var folders: Set<String> = []
    func place(_ path: String, _ data: Data, permissions: UInt32) throws {
      guard let resolved = listing.resolve(path) else { throw unusable("its links loop around \(path)") }
      var parent = ""
      for component in resolved.split(separator: "/").dropLast() {
        parent = parent.isEmpty ? String(component) : "\(parent)/\(component)"
        if listing.entries[parent] != .directory && folders.insert(parent).inserted {
          entries.append(CpioEntry(path: parent, kind: .directory, permissions: 0o755))
        }
      }
      entries.append(CpioEntry(path: resolved, kind: .file(data), permissions: permissions))
    }
    let taFolder = listing.folder(named: "optee_armtz") ?? "usr/lib/optee_armtz"
    if let payloads = dependencies.first(where: { $0.0 == .payloads })?.1 {
      let rootfs = payloads.appendingPathComponent("rootfs")
      for path in try ImageStore.regularFiles(below: rootfs) {
        let file = rootfs.appendingPathComponent(path)
        let permissions = ((try fm.attributesOfItem(atPath: file.path))[.posixPermissions] as? NSNumber)?.uint32Value ?? 0o644
        let target = path.hasPrefix("usr/lib/optee_armtz/") ? "\(taFolder)/\(file.lastPathComponent)" : path
        try place(target, try Data(contentsOf: file), permissions: permissions)
      }
    }
    if let kernel = dependencies.first(where: { $0.0 == .kernel })?.1 {
      for name in ((try? fm.contentsOfDirectory(atPath: kernel.appendingPathComponent("modules").path)) ?? []).sorted() where name.hasSuffix(".ko") {
        try place("lib/modules/\(name)", try Data(contentsOf: kernel.appendingPathComponent("modules/\(name)")), permissions: 0o644)
      }
      try place("lib/modules/modules.order", try Data(contentsOf: kernel.appendingPathComponent("modules.order")), permissions: 0o644)
    }
    try place("init", try Data(contentsOf: layout.images.appendingPathComponent("initramfs/init")), permissions: 0o755)
    // The kernel looks for the next archive at a 4-byte boundary and skips the zeros before it.
    user.append(Data(count: (4 - user.count % 4) % 4))
    user.append(try CpioWriter.encode(entries))
    try user.write(to: out.appendingPathComponent("rootfs.cpio"))
  }

  /// Runs one build command with its output appended to the component log.
  /// - Throws: `HarnessError` naming the component, the step, the log, and showing its tail.
  private func step(_ argv: [String], _ what: String, in directory: URL? = nil, environment: [String: String]? = nil,
    fix: String? = nil) async throws
  {
    try Data("\n$ \(argv.joined(separator: " "))\n".utf8).append(to: log)
    let result = try await Command.run(argv, in: directory, environment: environment, log: log)
    guard result.succeeded else {
      let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
      let tail = text.lastLines(15)
      // The compiler's own error lines, wherever make's parallel output left them.
      let errors = text.split(separator: "\n").filter { $0.contains("error:") || $0.contains("Error ") }.suffix(10)
      let diskFull = text.contains("No space left on device")
      throw HarnessError(
        diskFull ? "building \(spec.name.rawValue) failed: disk full during \(what)"
          : "building \(spec.name.rawValue) failed at \(what): `\(argv.joined(separator: " "))` exited with status \(result.status)",
        fix: diskFull ? "free space in the cache folder or pass --cache-dir" : (fix ?? "see the log \(log.path)"),
        details: (errors.isEmpty ? "" : "--- errors in \(log.path)\n\(errors.joined(separator: "\n"))\n") + "--- last lines of \(log.path)\n\(tail)")
    }
  }

  /// A make variable the source never mentions is silently ignored by its build (and OP-TEE even copies it into
  /// `conf.mk`), so a misspelt option would pass unnoticed: every option must occur in the source's build files
  /// or code.
  private func checkOptionsAreKnown(to src: URL, source: String) async throws {
    for option in spec.options {
      let found = try await Command.run(["grep", "-rqw", "--include=*.mk", "--include=Makefile", "--include=*.c",
        "--include=*.h", "--include=*.S", "--include=*.py", "--", option.name, src.path])
      guard found.succeeded else {
        throw HarnessError("\(option.location.map { "\($0): " } ?? "")option \(option.name) is unknown to \(source): no build file or source mentions it",
          fix: "fix the option name in the manifest")
      }
    }
  }

  /// Writes `rootfs/` as the reproducible `rootfs.cpio` and drops the tree.
  private func finishInitramfs(_ out: URL) throws {
    let tree = out.appendingPathComponent("rootfs")
    do {
      try CpioWriter.archive(tree: tree, to: out.appendingPathComponent("rootfs.cpio"))
    } catch {
      throw HarnessError("building initramfs failed: cannot write the cpio archive (\(error.localizedDescription))")
    }
    try FileManager.default.removeItem(at: tree)
  }

  /// Every `CFG_*` option the manifest sets must reach OP-TEE's resolved configuration; a misspelt one is
  /// otherwise silently ignored by make.
  private func checkOpteeOptions(_ confMk: URL) throws {
    guard let text = try? String(contentsOf: confMk, encoding: .utf8) else {
      throw HarnessError("building optee produced no conf.mk", fix: "see the log \(log.path)")
    }
    let config = OpteeConfig(parsing: text)
    for option in spec.options where option.name.hasPrefix("CFG_") {
      guard let actual = config.values[option.name] else {
        throw HarnessError("\(option.location.map { "\($0): " } ?? "")option \(option.name) is unknown to \(spec.source?.description ?? "optee-os") (absent from its conf.mk)",
          fix: "fix the option name in the manifest")
      }
      guard OpteeConfig.same(actual, option.value) else {
        throw HarnessError("\(option.location.map { "\($0): " } ?? "")option \(option.name)=\(option.value) did not take effect: OP-TEE's conf.mk says \(option.name)=\(actual)",
          fix: "another option overrides it (see the log \(log.path))")
      }
    }
  }
}

extension Data {
  func append(to url: URL) throws {
    let handle = try FileHandle(forWritingTo: url)
    defer { try? handle.close() }
    try handle.seekToEnd()
    try handle.write(contentsOf: self)
  }
}

extension FileManager {
  /// A hard link where the file system allows it, else a copy.
  func linkOrCopy(_ source: URL, to target: URL) throws {
    if fileExists(atPath: target.path) { try removeItem(at: target) }
    do { try linkItem(at: source, to: target) } catch { try copyItem(at: source, to: target) }
  }
}
