import Foundation
import HarnessSupport
import Testing

@testable import Images

/// Manifests that name a user's tree or prebuilt files, and the command-line overrides that do the same.
@Suite struct LocalStackManifestTests {
  static let minimal = ManifestLoaderTests.minimal

  /// A fake OP-TEE tree (just what marks one) and a folder of prebuilt files in OP-TEE/build's names.
  static func fixtures() throws -> URL {
    let dir = try ManifestLoaderTests.folder(["base.yaml": minimal])
    let fm = FileManager.default
    for folder in ["optee_os/core/arch/arm", "optee_os/ta", "optee_os/mk", "bin", "notatree", "linux/arch/arm64", "linux/drivers/tee",
      "qemu/target/arm", "qemu/hw/arm"] {
      try fm.createDirectory(at: dir.appendingPathComponent(folder), withIntermediateDirectories: true)
    }
    try Data("CFG_X ?= y\n".utf8).write(to: dir.appendingPathComponent("optee_os/mk/config.mk"))
    try Data("obj-y += init/\n".utf8).write(to: dir.appendingPathComponent("linux/Kbuild"))
    for file in ["qemu/configure", "qemu/meson.build", "qemu/hw/arm/virt.c"] { try Data().write(to: dir.appendingPathComponent(file)) }
    var header = Array("OPTE".utf8) + [2, 0, 0, 0]
    header += [UInt8](repeating: 0, count: 32)
    try Data(header).write(to: dir.appendingPathComponent("bin/bl32.bin"))
    for name in ["bl1.bin", "bl2.bin", "bl31.bin", "bl32_extra1.bin", "bl32_extra2.bin", "bl33.bin"] {
      try Data([1, 2, 3, 4]).write(to: dir.appendingPathComponent("bin/\(name)"))
    }
    return dir
  }

  func load(_ dir: URL, _ text: String, overrides: ManifestOverrides? = nil) throws -> StackManifest {
    let file = dir.appendingPathComponent("m-\(UUID().uuidString.prefix(6)).yaml")
    try Data(text.utf8).write(to: file)
    return try ManifestLoader.load(file, overrides: try overrides?.tree())
  }

  func error(_ body: () throws -> Void) -> String {
    do {
      try body()
      return "no error"
    } catch let e as HarnessError {
      return e.message
    } catch {
      return "\(error)"
    }
  }

  @Test func aVariantWithAPathForgetsTheDebianSourceButKeepsOptionsAndPatches() throws {
    let dir = try Self.fixtures()
    let m = try load(dir, "extends: base.yaml\ncomponents:\n  optee:\n    path: optee_os\n    options: {CFG_NUM_THREADS: 4}\n")
    let optee = try #require(m.components[.optee])
    #expect(optee.tree?.path == dir.appendingPathComponent("optee_os").standardizedFileURL.path)
    #expect(optee.source == nil && optee.lockKeys.isEmpty)
    #expect(optee.option("CFG_NUM_THREADS") == "4" && optee.option("CFG_CORE_ASLR") == "n")
    #expect(m.components[.tfa]?.source != nil)
  }

  @Test func aKernelTreeForgetsTheOptionsOfDebiansPackagesButTakesItsOwn() throws {
    let dir = try Self.fixtures()
    let base = "extends: base.yaml\ncomponents:\n  kernel: {packages: [linux-image-arm64], suite: trixie, options: {MODULES: tee optee}}\n"
    try Data(base.utf8).write(to: dir.appendingPathComponent("debian-kernel.yaml"))
    let m = try load(dir, "extends: debian-kernel.yaml\ncomponents:\n  kernel: {path: linux, options: {CONFIG_OPTEE: y}}\n")
    let kernel = try #require(m.components[.kernel])
    #expect(kernel.tree?.lastPathComponent == "linux")
    #expect(kernel.options.map(\.assignment) == ["CONFIG_OPTEE=y"], "MODULES was an option of the Debian packages")
    // The packages stay, as the config DEFCONFIG=debian starts from; only then are they downloaded.
    #expect(kernel.packages.map(\.name) == ["linux-image-arm64"] && kernel.lockKeys.isEmpty)
    let debian = try load(dir, "extends: debian-kernel.yaml\ncomponents:\n  kernel: {path: linux, options: {DEFCONFIG: debian}}\n")
    #expect(debian.components[.kernel]?.lockKeys.map(\.package.name) == ["linux-image-arm64"])
    let alone = ManifestLoaderTests.minimal.replacingOccurrences(of: "kernel: {packages: [linux-image-arm64], follow: [linux-image-], suite: trixie}",
      with: "kernel: {path: linux, options: {DEFCONFIG: debian}}")
    #expect(error { _ = try load(dir, alone) }
      .contains("DEFCONFIG=debian starts from the config of Debian's kernel packages, and the kernel names none"))
  }

  @Test func aQEMUTreeRunsTheMachine() throws {
    let dir = try Self.fixtures()
    let m = try load(dir, "extends: base.yaml\ncomponents:\n  qemu: {path: qemu, options: {CONFIGURE: --enable-debug}}\n")
    #expect(m.machine.qemu == .built, "a QEMU tree is built to run the machine")
    #expect(m.components[.qemu]?.tree?.lastPathComponent == "qemu" && m.components[.qemu]?.option("CONFIGURE") == "--enable-debug")
    #expect(ComponentName.qemu.treeFetchedFolders == ["subprojects"])
    let viaFlag = try load(dir, "extends: base.yaml\n", overrides: ManifestOverrides(with: ["qemu=\(dir.path)/qemu"]))
    #expect(viaFlag.machine.qemu == .built && viaFlag.components[.qemu]?.tree != nil, "--with qemu=PATH takes the tree")
    #expect(error { _ = try load(dir, "extends: base.yaml\ncomponents:\n  qemu: {path: linux}\n") }
      .contains("is not a QEMU source tree (it has no configure)"))
  }

  @Test func prebuiltFilesAreFoundByOPTEEBuildsNamesAndDropTheBuildOptions() throws {
    let dir = try Self.fixtures()
    let m = try load(dir, "extends: base.yaml\ncomponents:\n  optee:\n    prebuilt: bin\n")
    let optee = try #require(m.components[.optee])
    #expect(optee.prebuilt["tee-header_v2.bin"]?.lastPathComponent == "bl32.bin")
    #expect(optee.prebuilt["tee-pageable_v2.bin"]?.lastPathComponent == "bl32_extra2.bin")
    #expect(optee.prebuilt["tee.elf"] == nil)
    #expect(optee.options.isEmpty && optee.source == nil)
    try PrebuiltFiles.check(optee)
  }

  @Test func badTreesAndPrebuiltFilesAreOneClearLineEach() throws {
    let dir = try Self.fixtures()
    #expect(error { _ = try load(dir, "extends: base.yaml\ncomponents:\n  optee: {path: nowhere}\n") }
      .contains("the OP-TEE OS tree \(dir.path)/nowhere does not exist"))
    #expect(error { _ = try load(dir, "extends: base.yaml\ncomponents:\n  optee: {path: notatree}\n") }
      .contains("is not a OP-TEE OS source tree (it has no core/arch/arm)"))
    #expect(error { _ = try load(dir, "extends: base.yaml\ncomponents:\n  optee: {path: optee_os, source: optee-os}\n") }
      .contains("gives both `path` and `source`"))
    #expect(error { _ = try load(dir, "extends: base.yaml\ncomponents:\n  uboot: {path: optee_os}\n") }
      .contains("component 'uboot' cannot be built from a local tree"))
    #expect(error { _ = try load(dir, "extends: base.yaml\ncomponents:\n  tfa: {prebuilt: {bl1.bin: bin/bl1.bin}}\n") }
      .contains("prebuilt TF-A lacks fip.bin, or bl2.bin and bl31.bin"))
    #expect(error { _ = try load(dir, "extends: base.yaml\ncomponents:\n  tfa: {prebuilt: {bl3.bin: bin/bl1.bin}}\n") }
      .contains("'bl3.bin' is not a prebuilt file of tfa"))
    #expect(error { _ = try load(dir, "extends: base.yaml\ncomponents:\n  kernel: {prebuilt: {Image: bin/none}}\n") }
      .contains("prebuilt Image \(dir.path)/bin/none not found"))
  }

  @Test func aPrebuiltFileOfTheWrongKindIsNamed() throws {
    let dir = try Self.fixtures()
    try Data([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]).write(to: dir.appendingPathComponent("bin/bl31.bin"))
    let m = try load(dir, "extends: base.yaml\ncomponents:\n  tfa: {prebuilt: bin}\n")
    let message = error { try PrebuiltFiles.check(m.components[.tfa]!) }
    #expect(message.contains("prebuilt bl31.bin of tfa (\(dir.path)/bin/bl31.bin) is not usable: it is an ELF file, not a raw binary"), "\(message)")
  }

  @Test func commandLineOverridesLayLikeAVariant() throws {
    let dir = try Self.fixtures()
    let cwd = FileManager.default.currentDirectoryPath
    let m = try load(dir, Self.minimal, overrides: ManifestOverrides(
      with: ["optee=\(dir.path)/optee_os"], set: ["optee.CFG_NUM_THREADS=8", "tfa.DEBUG=0", "fact.thread-count-advertised=n", "machine.cpu=max,sme=off"]))
    #expect(m.machine.cpu == "max,sme=off")
    #expect(m.components[.optee]?.tree != nil && m.components[.optee]?.option("CFG_NUM_THREADS") == "8")
    #expect(m.components[.tfa]?.option("DEBUG") == "0" && m.components[.tfa]?.option("PLAT") == "qemu")
    #expect(m.facts["thread-count-advertised"] == "n")
    let bin = try load(dir, Self.minimal, overrides: ManifestOverrides(binDir: "\(dir.path)/bin"))
    #expect(bin.components[.tfa]?.prebuilt.keys.sorted() == ["bl1.bin", "bl2.bin", "bl31.bin"])
    #expect(bin.components[.uboot]?.prebuilt["u-boot.bin"]?.lastPathComponent == "bl33.bin")
    #expect(bin.components[.kernel]?.packages.isEmpty == false, "the folder has no Image: the manifest's kernel stays")
    #expect(FileManager.default.currentDirectoryPath == cwd)
    #expect(error { _ = try load(dir, Self.minimal, overrides: ManifestOverrides(set: ["optea.CFG_X=1"])) }
      .contains("--set optea.CFG_X=1: unknown component 'optea'"))
    #expect(error { _ = try load(dir, Self.minimal, overrides: ManifestOverrides(set: ["optee.cfg=1"])) }
      .contains("--set optee.cfg=1: 'cfg' is not a build option name"))
    #expect(error { _ = try load(dir, Self.minimal, overrides: ManifestOverrides(with: ["optee=\(dir.path)/notatree"])) }
      .contains("prebuilt OP-TEE OS lacks tee-header_v2.bin"))
    #expect(error { _ = try load(dir, Self.minimal, overrides: ManifestOverrides(binDir: "\(dir.path)/notatree")) }
      .contains("holds none of bl1.bin"))
  }

  @Test func theEffectiveManifestReadsBackAsTheSameStack() throws {
    let dir = try Self.fixtures()
    let m = try load(dir, "extends: base.yaml\ncomponents:\n  optee: {path: optee_os, options: {CFG_X: 'y'}}\n  uboot: {prebuilt: {u-boot.bin: bin/bl33.bin}}\nfacts: {CFG_NUM_THREADS: 3}\n")
    let again = try load(ScratchFolder.url, m.yaml)
    #expect(again.components == m.components)
    #expect(again.facts == m.facts && again.machine == m.machine && again.name == m.name)
  }
}
