import Foundation
import HarnessSupport
import Testing

@testable import Images

@Suite struct LocalTreeTests {
  static func tree(_ files: [String: String]) throws -> URL {
    let dir = ScratchFolder.path("tree-\(UUID().uuidString)")
    for (path, text) in files {
      let url = dir.appendingPathComponent(path)
      try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
      try Data(text.utf8).write(to: url)
    }
    return dir
  }

  static func git(_ dir: URL, _ args: String...) async throws {
    let r = try await Command.run(["git", "-C", dir.path, "-c", "user.email=t@t", "-c", "user.name=t"] + args)
    try #require(r.succeeded, "\(r.output)")
  }

  @Test func anEditChangesTheDigestAndTheMirrorCopiesOnlyThatFile() async throws {
    let root = try Self.tree(["core/a.c": "int a;\n", "core/b.c": "int b;\n", "Makefile": "all:\n"])
    let work = try Self.tree([:])
    let tree = LocalTree(root: root)
    let cache = work.appendingPathComponent("digests.json")
    let mirror = work.appendingPathComponent("src")
    let first = try await tree.entries()
    #expect(first.map(\.path) == ["Makefile", "core/a.c", "core/b.c"])
    let before = try await tree.digest(first, cache: cache)
    #expect(before.hasPrefix("content "))
    #expect(try tree.sync(first, to: mirror) == 3)
    #expect(try tree.sync(try await tree.entries(), to: mirror) == 0, "an untouched tree copies nothing")
    #expect(try await tree.digest(try await tree.entries(), cache: cache) == before)

    try Data("int a = 1;\n".utf8).write(to: root.appendingPathComponent("core/a.c"))
    try Data("x".utf8).write(to: mirror.appendingPathComponent("stray.o"))
    let edited = try await tree.entries()
    #expect(try await tree.digest(edited, cache: cache) != before)
    #expect(try tree.sync(edited, to: mirror) == 1)
    #expect(try String(contentsOf: mirror.appendingPathComponent("core/a.c"), encoding: .utf8) == "int a = 1;\n")
    #expect(!FileManager.default.fileExists(atPath: mirror.appendingPathComponent("stray.o").path), "what the tree lacks leaves the mirror")
    let a = LocalTree.stat(mirror.appendingPathComponent("core/a.c").path, as: "core/a.c")
    #expect(a == edited.first { $0.path == "core/a.c" }, "the copy keeps the file's time, so make sees what changed")
  }

  @Test func aCleanCheckoutIsKeyedByItsTreeIdAndIgnoredFilesDoNotCount() async throws {
    let root = try Self.tree(["core/a.c": "int a;\n", ".gitignore": "out/\n", "out/junk.o": "x"])
    try await Self.git(root, "init", "-q")
    try await Self.git(root, "add", "-A")
    try await Self.git(root, "commit", "-q", "-m", "x")
    let tree = LocalTree(root: root)
    let entries = try await tree.entries()
    #expect(entries.map(\.path) == [".gitignore", "core/a.c"])
    let clean = try await tree.digest(entries, cache: root.appendingPathComponent("../digests-\(UUID().uuidString).json"))
    #expect(clean.hasPrefix("git-tree "))
    try Data("int b;\n".utf8).write(to: root.appendingPathComponent("core/b.c"))
    let dirty = try await tree.digest(try await tree.entries(), cache: ScratchFolder.path("d-\(UUID().uuidString).json"))
    #expect(dirty.hasPrefix("content "), "an untracked file makes the tree dirty")
    // A tree unpacked into an ignored folder of some checkout is not that checkout's: all its files count.
    try FileManager.default.createDirectory(at: root.appendingPathComponent("out/tree"), withIntermediateDirectories: true)
    try Data("int c;\n".utf8).write(to: root.appendingPathComponent("out/tree/c.c"))
    let nested = LocalTree(root: root.appendingPathComponent("out/tree"))
    #expect(try await nested.entries().map(\.path) == ["c.c"])
  }

  @Test func theIgnoredFoldersABuildNeedsArePartOfTheTreeAndOfItsKey() async throws {
    let root = try Self.tree([
      "meson.build": "project('q')\n", ".gitignore": "/build/\n", "subprojects/.gitignore": "/dtc/\n",
      "subprojects/dtc.wrap": "[wrap-git]\n", "subprojects/dtc/libfdt/fdt.c": "int fdt;\n", "build/junk.o": "x",
    ])
    try await Self.git(root, "init", "-q")
    try await Self.git(root, "add", "-A")
    try await Self.git(root, "commit", "-q", "-m", "x")
    let plain = try await LocalTree(root: root).entries().map(\.path)
    #expect(!plain.contains("subprojects/dtc/libfdt/fdt.c"))
    let tree = LocalTree(root: root, ignoredButNeeded: ["subprojects"])
    let entries = try await tree.entries()
    #expect(entries.map(\.path) == [".gitignore", "meson.build", "subprojects/.gitignore", "subprojects/dtc.wrap", "subprojects/dtc/libfdt/fdt.c"])
    let cache = ScratchFolder.path("d-\(UUID().uuidString).json")
    let before = try await tree.digest(entries, cache: cache)
    #expect(before.hasPrefix("git-tree ") && before.contains(" with "), "\(before)")
    try Data("int fdt = 2;\n".utf8).write(to: root.appendingPathComponent("subprojects/dtc/libfdt/fdt.c"))
    let after = try await tree.digest(try await tree.entries(), cache: cache)
    #expect(after != before && after.hasPrefix("git-tree "), "an edit of a downloaded subproject changes the key; git still calls the tree clean")
  }
}

@Suite struct TreeWorkspaceTests {
  @Test func workspacesNameTheirTreeAndThoseOfGoneTreesAreFound() async throws {
    let cache = try LocalTreeTests.tree([:])
    let kept = try LocalTreeTests.tree(["Makefile": "all:\n"])
    let gone = cache.appendingPathComponent("deleted-tree")
    for (name, tree) in [("optee-1", kept), ("tfa-2", gone)] {
      let folder = cache.appendingPathComponent("trees/\(name)/src")
      try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
      try Data(repeating: 1, count: 4096).write(to: folder.appendingPathComponent("a.o"))
      try TreeWorkspace.markUsed(folder.deletingLastPathComponent(), tree: tree)
    }
    let all = await TreeWorkspace.all(cache: cache)
    #expect(Set(all.map { $0.folder.lastPathComponent }) == ["optee-1", "tfa-2"])
    let stale = try #require(all.first { $0.treeIsGone })
    #expect(stale.tree?.path == gone.path && stale.bytes >= 4096)
    try stale.remove()
    #expect(await TreeWorkspace.all(cache: cache).map(\.tree?.path) == [kept.path])
    #expect(FileManager.default.fileExists(atPath: kept.appendingPathComponent("Makefile").path), "the user's tree is untouched")
  }
}
