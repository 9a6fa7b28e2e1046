import Foundation
import HarnessSupport
import Testing

@testable import Images

@Suite struct ImageStoreTests {
  static func scratchStore() throws -> ImageStore {
    let root = ScratchFolder.path("store-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
    return ImageStore(root: root)
  }

  static func publishSample(_ store: ImageStore, key: String) async throws -> URL {
    let out = try store.scratch(.uboot)
    try Data("u-boot".utf8).write(to: out.appendingPathComponent("u-boot.bin"))
    try FileManager.default.createDirectory(at: out.appendingPathComponent("sub"), withIntermediateDirectories: true)
    try Data("x".utf8).write(to: out.appendingPathComponent("sub/x"))
    _ = try await store.publish(out, component: .uboot, key: key, inputs: ["a"], seconds: 1)
    return store.directory(.uboot, key: key)
  }

  @Test func aPublishedOutputIsFoundIntact() async throws {
    let store = try Self.scratchStore()
    defer { try? FileManager.default.removeItem(at: store.root) }
    #expect({ if case .missing = try! awaitLookup(store) { true } else { false } }())
    _ = try await Self.publishSample(store, key: "k1")
    guard case .valid(let record) = try await store.lookup(.uboot, key: "k1") else { Issue.record("not valid"); return }
    #expect(record.files.keys.sorted() == ["sub/x", "u-boot.bin"])
  }

  @Test func aCorruptedOrMissingFileIsDetected() async throws {
    let store = try Self.scratchStore()
    defer { try? FileManager.default.removeItem(at: store.root) }
    let dir = try await Self.publishSample(store, key: "k1")
    try Data("U-boot".utf8).write(to: dir.appendingPathComponent("u-boot.bin"))
    guard case .corrupted(let bad) = try await store.lookup(.uboot, key: "k1") else { Issue.record("not detected"); return }
    #expect(bad == ["u-boot.bin"])
    try FileManager.default.removeItem(at: dir.appendingPathComponent("sub/x"))
    guard case .corrupted(let gone) = try await store.lookup(.uboot, key: "k1") else { Issue.record("not detected"); return }
    #expect(gone == ["sub/x"])
    try Data("{}".utf8).write(to: dir.appendingPathComponent("record.json"))
    guard case .corrupted(let record) = try await store.lookup(.uboot, key: "k1") else { Issue.record("not detected"); return }
    #expect(record == ["record.json"])
  }
}

private func awaitLookup(_ store: ImageStore) throws -> ImageStore.Lookup {
  FileManager.default.fileExists(atPath: store.directory(.uboot, key: "k1").path) ? .corrupted([]) : .missing
}

@Suite struct CacheKeyTests {
  let layout = try! ProjectLayout.find()

  func keys(_ manifest: String, overrides: ManifestOverrides = ManifestOverrides()) async throws -> [ComponentName: String] {
    let m = try ManifestLoader.load(layout.manifest(manifest), overrides: try overrides.tree())
    let lock = try LockFile.load(layout.lockFile)
    let cache = ScratchFolder.path("keys-\(UUID().uuidString)")
    defer { try? FileManager.default.removeItem(at: cache) }
    let builder = ImageBuilder(manifest: m, lock: lock, layout: layout, cache: cache,
      archive: DebianArchive(mirror: "http://mirror.invalid/debian", stateDirectory: URL(fileURLWithPath: "/nonexistent")),
      report: { _ in })
    var keys: [ComponentName: String] = [:]
    var outcomes: [ComponentName: ImageBuilder.Outcome] = [:]
    for spec in m.orderedComponents {
      let deps = spec.name.dependencies.compactMap { outcomes[$0] }
      let tree = try await builder.localTree(spec)?.digest
      let key = SHA256.hex(try await builder.inputs(of: spec, dependencies: deps, toolchain: "gcc 12", tree: tree).joined(separator: "\n"))
      keys[spec.name] = key
      outcomes[spec.name] = .init(component: spec.name, key: key, directory: URL(fileURLWithPath: "/"), builtSeconds: nil)
    }
    return keys
  }

  @Test func keysAreStableForTheSameInputs() async throws {
    #expect(try await keys("default") == keys("default"))
  }

  @Test func aVariantChangesOnlyTheComponentsItTouches() async throws {
    let base = try await keys("default")
    let four = try await keys("threads-4")
    #expect(base[.optee] != four[.optee])
    for c in [ComponentName.tfa, .uboot, .kernel] { #expect(base[c] == four[c], "\(c)") }
    // The payload TA is built with the OP-TEE's dev kit, and the initramfs carries it.
    #expect(base[.payloads] != four[.payloads] && base[.initramfs] != four[.initramfs])
    let k72 = try await keys("kernel-7.2")
    #expect(base[.kernel] != k72[.kernel])
    #expect(base[.initramfs] != k72[.initramfs], "the initramfs carries the kernel's modules")
    #expect(base[.optee] == k72[.optee] && base[.tfa] == k72[.tfa])
  }

  @Test func aTreeIsKeyedByItsContentAndAnEditChangesOnlyWhatIsBuiltFromIt() async throws {
    let tree = try LocalTreeTests.tree(["core/arch/arm/boot.c": "int a;\n", "mk/config.mk": "CFG_X ?= y\n", "ta/ta.mk": "\n"])
    let with = ManifestOverrides(with: ["optee=\(tree.path)"])
    let first = try await keys("default", overrides: with)
    #expect(try await keys("default", overrides: with) == first, "an untouched tree rebuilds nothing")
    let base = try await keys("default")
    #expect(first[.optee] != base[.optee])
    try Data("int a = 1;\n".utf8).write(to: tree.appendingPathComponent("core/arch/arm/boot.c"))
    let edited = try await keys("default", overrides: with)
    for c in [ComponentName.optee, .payloads, .initramfs] { #expect(edited[c] != first[c], "\(c)") }
    for c in [ComponentName.tfa, .uboot, .kernel] { #expect(edited[c] == first[c] && edited[c] == base[c], "\(c)") }
  }
}
