import Foundation
import HarnessSupport
import Images
import Testing

/// The stack a user is changing: an OP-TEE tree on disk (the Debian source, unpacked as a user's checkout would
/// be) and an OP-TEE/build `out/bin` folder, run through `teeharness check` as a user runs it.
extension Integration {
@Suite struct LocalStackTests {
  /// `teeharness ARGS` in `folder`; returns its exit status and output.
  func harness(_ arguments: [String], in folder: URL) async throws -> (status: Int32, output: String) {
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    let result = try await Command.run([SignalTests.executable.path] + arguments, in: folder)
    return (result.status, result.output)
  }

  /// Every test of a run's JSON report, by name: outcome and message.
  /// Passed — or skipped because it proves the other transport's path (the FF-A test on an SMC stack).
  static func passedHere(_ result: (outcome: String, message: String)) -> Bool {
    result.outcome == "passed" || (result.outcome == "skipped" && result.message.hasPrefix("OP-TEE is reached over"))
  }

  func outcomes(_ runFolder: URL) throws -> [String: (outcome: String, message: String)] {
    let data = try Data(contentsOf: runFolder.appendingPathComponent("report.json"))
    let report = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    var tests: [String: (String, String)] = [:]
    for suite in report["suites"] as? [[String: Any]] ?? [] {
      for test in suite["tests"] as? [[String: Any]] ?? [] {
        tests["\(suite["name"] ?? "")/\(test["name"] ?? "")"] = (test["outcome"] as? String ?? "", test["message"] as? String ?? "")
      }
    }
    return tests
  }

  @Test func anOPTEETreeOnDiskRunsTheDefaultSuitesAndAnEditRebuildsOnlyOPTEE() async throws {
    _ = try await SharedStack.shared.get()
    let tree = try await TestTrees.optee()
    let with = "optee=\(tree.path)"
    let files = try await TestTrees.contents(tree)

    // The default suites on the tree, as `check --with` runs them.
    let first = SharedStack.runFolder("tree")
    let run = try await harness(["check", "--with", with, "--out", first.path], in: first)
    #expect(run.status == 0, "\(run.output.lastLines(40))")
    let results = try outcomes(first)
    #expect(results.count >= 20 && results.values.allSatisfy(Self.passedHere),
      "\(results.filter { !Self.passedHere($0.value) })")
    let effective = try String(contentsOf: first.appendingPathComponent("manifest.yaml"), encoding: .utf8)
    #expect(effective.contains("path: \(tree.path)") && !effective.contains("source: optee-os"), "\(effective)")
    #expect(try await TestTrees.contents(tree) == files, "the build wrote into the user's tree")

    // A one-line edit: a boot line with a value of this run's own. Only OP-TEE and what is built from it change.
    let nonce = UUID().uuidString.prefix(8)
    let edited = Date()
    try TestTrees.edit(tree, line: "teeharness edit \(nonce)")
    let (_, _, outcomes) = try await Stack.prepare(manifest: "default", overrides: ManifestOverrides(with: [with]),
      cache: CacheLocation.resolve()) { print("images: \($0)") }
    let rebuilt = Set(outcomes.filter { $0.builtSeconds != nil }.map(\.component))
    #expect(rebuilt == [.optee, .payloads, .initramfs], "rebuilt: \(rebuilt)")
    let opteeSeconds = outcomes.first { $0.component == .optee }?.builtSeconds ?? 0
    let second = SharedStack.runFolder("tree-edit")
    let boot = try await harness(["check", "--with", with, "--suite", "boot", "--out", second.path], in: second)
    let verdict = Date().timeIntervalSince(edited)
    #expect(boot.status == 0, "\(boot.output.lastLines(40))")
    let secure = try String(contentsOf: second.appendingPathComponent("boot/machine-1/secure.log"), encoding: .utf8)
    #expect(secure.contains("I/TC: teeharness edit \(nonce)"), "the edit is not on the secure console")
    print("local tree: OP-TEE rebuilt after a one-line edit in \(opteeSeconds.formatted(decimals: 1)) s; edit → boot suite verdict \(verdict.formatted(decimals: 1)) s")

    // A tree that does not build: one line saying so with the compiler's error, exit 2, nothing stored.
    try TestTrees.edit(tree, line: "teeharness edit \(nonce)\"); syntax error here (")
    let broken = try await harness(["images", "build", "--with", with], in: second)
    #expect(broken.status == 2)
    #expect(broken.output.contains("error: building optee failed at recipe optee.sh"), "\(broken.output.lastLines(20))")
    #expect(broken.output.contains("boot.c") && broken.output.contains("error:"), "no compiler error shown: \(broken.output.lastLines(20))")
    try TestTrees.edit(tree, line: nil)
    #expect(try await TestTrees.contents(tree) == files, "the tree is not as it was")
  }

  @Test func anOutBinFolderPassesCheckWithBinDirAndTestsNeedingSymbolsSkip() async throws {
    let (images, _) = try await SharedStack.shared.get()
    let bin = SharedStack.runFolder("bin")
    try FileManager.default.createDirectory(at: bin, withIntermediateDirectories: true)
    // OP-TEE/build's names. No Image: the kernel comes from the manifest.
    let files: [(String, URL)] = [("bl1.bin", images.bl1), ("bl2.bin", images.bl2), ("bl31.bin", images.bl31),
      ("bl32.bin", images.bl32), ("bl32_extra1.bin", images.bl32Extra1), ("bl32_extra2.bin", images.bl32Extra2),
      ("bl33.bin", images.bl33)]
    for (name, file) in files { try FileManager.default.copyItem(at: file, to: bin.appendingPathComponent(name)) }
    // A rootfs of the user's own: this stack's userland without the harness's payloads, modules and /init, with
    // an /init of its own and merged /usr (lib → usr/lib), gzip-compressed as buildroot writes it.
    let rootfs = bin.appendingPathComponent("unpacked")
    try FileManager.default.createDirectory(at: rootfs, withIntermediateDirectories: true)
    let made = try await Command.run(["bash", "-c", """
      set -e; cd "$0"; cpio -idm --quiet < "$1"
      rm -f usr/bin/teeharness-client usr/lib/tee-supplicant/plugins/2b7e9d1c-* usr/lib/optee_armtz/c5cea996-* usr/lib/modules/*
      printf '#!/bin/sh\\nexec /bin/sh\\n' > init
      find . | LC_ALL=C sort | cpio -o -H newc --quiet | gzip -9 > ../rootfs.cpio.gz
      """, rootfs.path, images.initramfs.path])
    try #require(made.succeeded, "\(made.output)")

    let out = SharedStack.runFolder("bin-check")
    let run = try await harness(["check", "--bin-dir", bin.path, "--set", "fact.CFG_NUM_THREADS=2", "--suite", "boot",
      "--suite", "xtest", "--suite", "gdb", "--suite", "thread-exhaustion", "--out", out.path], in: out)
    #expect(run.status == 0, "\(run.output.lastLines(40))")
    let results = try outcomes(out)
    #expect(results["boot/every milestone is reached in order within its budget"]?.outcome == "passed")
    #expect(results["boot/OP-TEE reports the version that was built, and Linux agrees"]?.outcome == "passed")
    #expect(results["xtest/1001 core self tests"]?.outcome == "passed")
    #expect(results["xtest/1033 tee-supplicant plugin"]?.outcome == "passed", "the user's xtest plugin is kept")
    // The harness's /init, payload client and TA were added to the user's rootfs: the client spins every thread (the
    // test skips only after the spins ended as asked and the shell answered; Linux's side needs OP-TEE's symbols).
    let spinning = results["thread-exhaustion/every thread spinning: the normal world stays alive"]
    #expect(spinning?.outcome == "skipped" && spinning?.message.contains("no tee.elf") == true, "\(results)")
    let normal = try String(contentsOf: out.appendingPathComponent("boot/machine-1/normal.log"), encoding: .utf8)
    #expect(normal.contains("teeharness-init: tee-supplicant running"))
    // What the build did not say was learned from the running stack and reported with how.
    let report = try JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("report.json"))) as? [String: Any]
    let properties = ((report?["suites"] as? [[String: Any]])?.first?["properties"] as? [String: String]) ?? [:]
    #expect(properties["fact.CFG_CORE_ASYNC_NOTIF"]?.hasPrefix("learned: y (Linux's driver enabled") == true, "\(properties)")
    #expect(properties["fact.CFG_NOTIF_TEST_WD"]?.hasPrefix("learned: y") == true, "\(properties)")
    #expect(properties["fact.CFG_NUM_THREADS"] == nil, "no tee.elf: the thread count cannot be read")
    let gdb = results.filter { $0.key.hasPrefix("gdb/") }
    #expect(!gdb.isEmpty && gdb.values.allSatisfy { $0.outcome == "skipped" && $0.message.contains("no tee.elf") }, "\(gdb)")

    // A bl31.bin that is an ELF file, and a FIP cut short: refused before anything boots, exit 2, one line.
    try FileManager.default.removeItem(at: bin.appendingPathComponent("bl31.bin"))
    try FileManager.default.copyItem(at: try #require(images.bl31Elf), to: bin.appendingPathComponent("bl31.bin"))
    let elf = try await harness(["images", "build", "--bin-dir", bin.path], in: out)
    #expect(elf.status == 2 && elf.output.contains("bl31.bin") && elf.output.contains("is an ELF file"), "\(elf.output)")
    let tfa = bin.appendingPathComponent("tfa")
    try FileManager.default.createDirectory(at: tfa, withIntermediateDirectories: true)
    try FileManager.default.copyItem(at: images.bl1, to: tfa.appendingPathComponent("bl1.bin"))
    try Data([0x01, 0x00, 0x64, 0xaa] + [UInt8](repeating: 0, count: 12) + [UInt8](repeating: 7, count: 20))
      .write(to: tfa.appendingPathComponent("fip.bin"))
    let fip = try await harness(["images", "build", "--with", "tfa=\(tfa.path)"], in: out)
    #expect(fip.status == 2 && fip.output.contains("fip.bin") && fip.output.contains("truncated FIP"), "\(fip.output)")
  }

  @Test func aQEMUTreeRunsTheMachineAndAnEditRebuildsOnlyQEMU() async throws {
    _ = try await SharedStack.shared.get()
    let tree = try await TestTrees.qemu()
    try TestTrees.editQEMU(tree, line: nil)
    let with = "qemu=\(tree.path)"
    let files = try await TestTrees.contents(tree)

    let first = SharedStack.runFolder("qemu-tree")
    let run = try await harness(["check", "--with", with, "--suite", "boot", "--out", first.path], in: first)
    #expect(run.status == 0, "\(run.output.lastLines(40))")
    let results = try outcomes(first)
    #expect(!results.isEmpty && results.values.allSatisfy(Self.passedHere), "\(results)")
    let properties = try suiteProperties(first)
    #expect(properties["image.qemu.origin"] == "tree \(tree.path)", "\(properties)")
    let argv = properties["qemu.argv"] ?? ""
    #expect(argv.hasPrefix(CacheLocation.resolve().path) && argv.contains("/qemu/"), "the machine ran the tree's QEMU: \(argv)")
    #expect(try await TestTrees.contents(tree) == files, "the build wrote into the user's tree")

    // A one-line edit in the virt board: only QEMU is rebuilt, and the machine that boots says the new line.
    let nonce = UUID().uuidString.prefix(8)
    try TestTrees.editQEMU(tree, line: "teeharness edit \(nonce)")
    defer { try? TestTrees.editQEMU(tree, line: nil) }
    let (_, _, built) = try await Stack.prepare(manifest: "default", overrides: ManifestOverrides(with: [with]),
      cache: CacheLocation.resolve()) { print("images: \($0)") }
    let rebuilt = Set(built.filter { $0.builtSeconds != nil }.map(\.component))
    #expect(rebuilt == [.qemu], "rebuilt: \(rebuilt)")
    print("QEMU tree: one-line edit rebuilt in \((built.first { $0.component == .qemu }?.builtSeconds ?? 0).formatted(decimals: 1)) s")
    let second = SharedStack.runFolder("qemu-tree-edit")
    let boot = try await harness(["check", "--with", with, "--suite", "boot", "--out", second.path], in: second)
    #expect(boot.status == 0, "\(boot.output.lastLines(40))")
    let stderr = try String(contentsOf: second.appendingPathComponent("boot/machine-1/qemu.stderr"), encoding: .utf8)
    #expect(stderr.contains("teeharness edit \(nonce)"), "\(stderr)")
  }

  /// The properties of a run's first suite in its JSON report.
  func suiteProperties(_ runFolder: URL) throws -> [String: String] {
    let report = try JSONSerialization.jsonObject(with: Data(contentsOf: runFolder.appendingPathComponent("report.json"))) as? [String: Any]
    return ((report?["suites"] as? [[String: Any]])?.first?["properties"] as? [String: String]) ?? [:]
  }
}
}

/// The OP-TEE tree the local-stack tests share: Debian's optee-os source unpacked once into the cache, as a
/// user's checkout (its build folder is kept between runs, as a user's would be).
enum TestTrees {
  static let marker = "teeharness-test-edit"

  static func optee() async throws -> URL {
    let tree = try await unpacked(.optee, of: "default", as: "optee-os", marker: "core/arch/arm")
    try edit(tree, line: nil)  // a run that stopped half-way may have left its edit
    return tree
  }

  /// Debian's QEMU source of `qemu-10.yaml`, unpacked as a user's QEMU tree.
  static func qemu() async throws -> URL {
    try await unpacked(.qemu, of: "qemu-10", as: "qemu", marker: "hw/arm/virt.c")
  }

  /// The Debian source of `component` in `manifest`, unpacked once into the cache's test-trees (named
  /// `name-version`); `marker` is a file that shows the unpacking finished.
  static func unpacked(_ component: ComponentName, of manifest: String, as name: String, marker: String) async throws -> URL {
    let cache = CacheLocation.resolve()
    let layout = try ProjectLayout.find()
    let lock = try LockFile.load(layout.lockFile)
    let source = try #require(try ManifestLoader.load(layout.manifest(manifest)).components[component]?.lockKeys.first)
    let files = try lock.files(for: source)
    let dsc = try #require(files.first { $0.name.hasSuffix(".dsc") })
    let tree = cache.appendingPathComponent("test-trees/\(name)-\(dsc.version)", isDirectory: true)
    if !FileManager.default.fileExists(atPath: tree.appendingPathComponent(marker).path) {
      let downloads = DownloadCache(archive: try DebianArchive.host(cache: cache), directory: cache.appendingPathComponent("downloads"))
      let staging = cache.appendingPathComponent("test-trees/staging-\(UUID().uuidString)", isDirectory: true)
      try FileManager.default.createDirectory(at: staging, withIntermediateDirectories: true)
      defer { try? FileManager.default.removeItem(at: staging) }
      for file in files {
        try FileManager.default.copyItem(at: try await downloads.fetch(file), to: staging.appendingPathComponent(file.name))
      }
      let unpack = try await Command.run(["dpkg-source", "--no-check", "-x", staging.appendingPathComponent(dsc.name).path,
        staging.appendingPathComponent("tree").path])
      try #require(unpack.succeeded, "\(unpack.output)")
      try? FileManager.default.removeItem(at: tree)
      try FileManager.default.moveItem(at: staging.appendingPathComponent("tree"), to: tree)
    }
    return tree
  }

  /// Adds `line` as an info message after OP-TEE's version banner in boot.c, or (nil) removes what was added.
  static func edit(_ tree: URL, line: String?) throws {
    let file = tree.appendingPathComponent("core/arch/arm/kernel/boot.c")
    let text = try String(contentsOf: file, encoding: .utf8)
    var lines = text.components(separatedBy: "\n").filter { !$0.contains(marker) }
    if let line {
      let banner = "IMSG(\"OP-TEE version: %s\""
      let index = lines.firstIndex { (text: String) in text.contains(banner) }
      let at = try #require(index)
      lines.insert("\tIMSG(\"\(line)\"); /* \(marker) */", at: at + 1)
    }
    let updated = lines.joined(separator: "\n")
    if updated != text { try Data(updated.utf8).write(to: file) }
  }

  /// Adds a warning with `line` at the start of the virt board's init (QEMU prints it on stderr), or (nil)
  /// removes what was added.
  static func editQEMU(_ tree: URL, line: String?) throws {
    let file = tree.appendingPathComponent("hw/arm/virt.c")
    let text = try String(contentsOf: file, encoding: .utf8)
    var lines = text.components(separatedBy: "\n").filter { !$0.contains(marker) }
    if let line {
      let at = try #require(lines.firstIndex { (text: String) in text.hasPrefix("static void machvirt_init(MachineState *machine)") })
      let body = try #require(lines[at...].firstIndex { (text: String) in text == "{" })
      lines.insert("    warn_report(\"\(line)\"); /* \(marker) */", at: body + 1)
    }
    let updated = lines.joined(separator: "\n")
    if updated != text { try Data(updated.utf8).write(to: file) }
  }

  /// Every file of the tree with its digest: what "the tree was not touched" compares.
  static func contents(_ tree: URL) async throws -> [String] {
    let r = try await Command.run(["bash", "-c", "cd \"$0\" && find . -type f -print0 | sort -z | xargs -0 sha256sum", tree.path])
    try #require(r.succeeded)
    return r.output.split(separator: "\n").map(String.init)
  }
}
