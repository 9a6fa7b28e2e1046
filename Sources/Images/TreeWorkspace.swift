import Foundation
import HarnessSupport

/// What the cache keeps for a local tree between runs (`trees/<component>-<hash of its path>/`): the mirror of
/// its files, a build folder per set of options, and a note of the tree's path and when it was last built.
/// Users list them and remove what they no longer need (`teeharness images trees`).
package struct TreeWorkspace: Sendable {
  package var folder: URL
  /// The tree it mirrors, when the note says (nil for a workspace without one).
  package var tree: URL?
  package var lastUsed: Date
  package var bytes: Int64

  /// Whether the tree it mirrors is gone.
  package var treeIsGone: Bool { tree.map { !FileManager.default.fileExists(atPath: $0.path) } ?? false }

  static let note = "tree-path"

  /// Records that `workspace` serves `tree` and was used now.
  static func markUsed(_ workspace: URL, tree: URL) throws {
    try AtomicFile.write(Data((tree.path + "\n").utf8), to: workspace.appendingPathComponent(note))
  }

  /// Every workspace under the cache's `trees/`, most recently used first.
  package static func all(cache: URL) async -> [TreeWorkspace] {
    let trees = cache.appendingPathComponent("trees", isDirectory: true)
    let names = (try? FileManager.default.contentsOfDirectory(atPath: trees.path)) ?? []
    var found: [TreeWorkspace] = []
    for name in names.sorted() {
      let folder = trees.appendingPathComponent(name, isDirectory: true)
      let noteFile = folder.appendingPathComponent(note)
      let path = (try? String(contentsOf: noteFile, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
      let attributes = try? FileManager.default.attributesOfItem(atPath: (path == nil ? folder : noteFile).path)
      let used = attributes?[.modificationDate] as? Date ?? .distantPast
      let du = try? await Command.run(["du", "-sk", folder.path])
      let kib = du.flatMap { Int64($0.output.split(separator: "\t").first ?? "") } ?? 0
      found.append(TreeWorkspace(folder: folder, tree: path.flatMap { $0.isEmpty ? nil : URL(fileURLWithPath: $0) },
        lastUsed: used, bytes: kib * 1024))
    }
    return found.sorted { $0.lastUsed > $1.lastUsed }
  }

  /// Removes the workspace (its mirror and build folders; the user's tree is not touched).
  package func remove() throws {
    try FileManager.default.removeItem(at: folder)
  }
}
