import Foundation
import HarnessSupport
import Testing

@testable import Images

@Suite struct ManifestLoaderTests {
  let layout = try! ProjectLayout.find()

  /// Writes `files` into a fresh folder and returns it.
  static func folder(_ files: [String: String]) throws -> URL {
    let dir = ScratchFolder.path("manifests-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    for (name, text) in files { try Data(text.utf8).write(to: dir.appendingPathComponent(name)) }
    return dir
  }

  static let minimal = """
    name: mini
    components:
      optee: {source: optee-os, suite: sid, options: {CFG_NUM_THREADS: 2, CFG_CORE_ASLR: n}}
      tfa: {source: arm-trusted-firmware, suite: trixie, options: {PLAT: qemu}}
      uboot: {packages: [u-boot-qemu], suite: bookworm}
      kernel: {packages: [linux-image-arm64], follow: [linux-image-], suite: trixie}
      initramfs: {packages: [busybox-static, libc6], suite: sid}
    """

  @Test func theDefaultManifestDescribesTheVerifiedStack() throws {
    let m = try ManifestLoader.load(layout.manifest("default"))
    #expect(m.name == "default")
    #expect(m.components[.optee]?.source == PackageRef("optee-os", suite: "sid"))
    #expect(m.components[.tfa]?.source == PackageRef("arm-trusted-firmware", suite: "trixie"))
    #expect(m.opteeOption("CFG_CORE_ASLR") == "n")
    #expect(m.opteeOption("CFG_NUM_THREADS") == "2")
    #expect(m.components[.tfa]?.option("ENABLE_SVE_FOR_SWD") == "1")
    #expect(m.machine.qemu == .host(binary: "qemu-system-aarch64"))
    #expect(m.orderedComponents.map(\.name) == [.optee, .tfa, .uboot, .kernel, .payloads, .initramfs])
  }

  @Test func aVariantOverridesOnlyWhatItNames() throws {
    let base = try ManifestLoader.load(layout.manifest("default"))
    let four = try ManifestLoader.load(layout.manifest("threads-4"))
    #expect(four.name == "threads-4")
    #expect(four.opteeOption("CFG_NUM_THREADS") == "4")
    #expect(four.opteeOption("CFG_CORE_ASLR") == "n")
    #expect(four.components[.tfa] == base.components[.tfa])
    #expect(four.components[.kernel] == base.components[.kernel])
    let optionNames = four.components[.optee]!.options.map(\.name)
    #expect(optionNames == base.components[.optee]!.options.map(\.name), "merging keeps the base's order")
  }

  /// A thousand aliases of a thousand aliases (10^8 nodes once expanded, 11 GB and 90 s before the walk had a
  /// bound) is refused at once with one line.
  @Test func aliasesOfAliasesAreRefusedAtOnce() throws {
    var text = "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
    for (name, previous) in zip("bcdefgh", "abcdefg") {
      text += "\(name): &\(name) [" + Array(repeating: "*\(previous)", count: 10).joined(separator: ", ") + "]\n"
    }
    let started = ContinuousClock.now
    let error = #expect(throws: HarnessError.self) { try ManifestTree.parse(text, file: "laughs.yaml") }
    #expect(error?.message.contains("more than 100000 YAML nodes") == true, "\(error?.message ?? "")")
    #expect(ContinuousClock.now - started < .seconds(5))
  }

  @Test func everyShippedManifestLoads() throws {
    let names = try layout.allManifests().map { try ManifestLoader.load($0).name }
    #expect(Set(names).isSuperset(of: ["default", "threads-1", "threads-4", "no-async-notif", "kernel-7.2", "qemu-10"]))
    let qemu = try ManifestLoader.load(layout.manifest("qemu-10"))
    #expect(qemu.machine.qemu == .built)
    #expect(qemu.components[.qemu]?.source == PackageRef("qemu", suite: "trixie"))
    let k72 = try ManifestLoader.load(layout.manifest("kernel-7.2"))
    #expect(k72.components[.kernel]?.follow == ["linux-image-", "linux-binary-", "linux-modules-"])
    #expect(k72.components[.kernel]?.option("MODULES") == "ffa-core tee optee")
  }

  @Test func malformedYAMLNamesLineAndColumn() throws {
    let dir = try Self.folder(["bad.yaml": "name: x\ncomponents:\n  optee: [unclosed\n"])
    let error = #expect(throws: HarnessError.self) { try ManifestLoader.load(dir.appendingPathComponent("bad.yaml")) }
    #expect(error?.message.contains("malformed YAML") == true)
    #expect(error?.message.contains("bad.yaml:4:") == true || error?.message.contains("bad.yaml:3:") == true, "\(error?.message ?? "")")
  }

  @Test func anUnknownComponentIsPointedAt() throws {
    let dir = try Self.folder(["m.yaml": Self.minimal + "\n  ubot: {packages: [x], suite: sid}\n"])
    let error = #expect(throws: HarnessError.self) { try ManifestLoader.load(dir.appendingPathComponent("m.yaml")) }
    #expect(error?.message.contains("m.yaml:8:3: unknown component 'ubot'") == true, "\(error?.message ?? "")")
  }

  @Test func anUnknownKeyAndABadOptionNameAreRejected() throws {
    let dir = try Self.folder([
      "key.yaml": Self.minimal.replacingOccurrences(of: "suite: bookworm}", with: "suite: bookworm, flavour: x}"),
      "opt.yaml": Self.minimal.replacingOccurrences(of: "PLAT: qemu", with: "plat: qemu"),
    ])
    let key = #expect(throws: HarnessError.self) { try ManifestLoader.load(dir.appendingPathComponent("key.yaml")) }
    #expect(key?.message.contains("unknown key 'flavour' in component 'uboot'") == true)
    let opt = #expect(throws: HarnessError.self) { try ManifestLoader.load(dir.appendingPathComponent("opt.yaml")) }
    #expect(opt?.message.contains("'plat' is not a build option name") == true)
  }

  @Test func patchesResolveBesideTheManifestAndMustExist() throws {
    let dir = try Self.folder([
      "fix.patch": "--- a/x\n+++ b/x\n",
      "ok.yaml": "extends: base.yaml\ncomponents:\n  optee:\n    patches: [fix.patch]\n",
      "missing.yaml": "extends: base.yaml\ncomponents:\n  optee:\n    patches: [nope.patch]\n",
      "base.yaml": Self.minimal,
    ])
    let ok = try ManifestLoader.load(dir.appendingPathComponent("ok.yaml"))
    #expect(ok.components[.optee]?.patches.map(\.lastPathComponent) == ["fix.patch"])
    let error = #expect(throws: HarnessError.self) { try ManifestLoader.load(dir.appendingPathComponent("missing.yaml")) }
    #expect(error?.message.contains("missing.yaml:4:15: patch file") == true)
  }

  @Test func anExtendsCycleIsAnError() throws {
    let dir = try Self.folder(["a.yaml": "extends: b.yaml\n", "b.yaml": "extends: a.yaml\n"])
    let error = #expect(throws: HarnessError.self) { try ManifestLoader.load(dir.appendingPathComponent("a.yaml")) }
    #expect(error?.message.contains("cycle") == true)
  }

  @Test func aMissingRequiredComponentIsAnError() throws {
    let dir = try Self.folder(["m.yaml": "components:\n  optee: {source: optee-os, suite: sid}\n"])
    let error = #expect(throws: HarnessError.self) { try ManifestLoader.load(dir.appendingPathComponent("m.yaml")) }
    #expect(error?.message.contains("no 'tfa' component") == true)
  }
}
