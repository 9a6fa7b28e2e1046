import Foundation
import HarnessSupport

/// What each component of a stack is, in versions a person can look up: Debian packages with the locked version
/// (and whether it was built from that source), a local tree with its git commit, prebuilt files as such.
package enum ComponentVersions {
  /// `component.NAME` → its versions, for reports.
  package static func of(_ manifest: StackManifest, locked versions: [String: String]) async -> [String: String] {
    var out: [String: String] = [:]
    for spec in manifest.orderedComponents {
      if !spec.prebuilt.isEmpty {
        out["component.\(spec.name.rawValue)"] = "prebuilt: " + spec.prebuilt.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value.path)" }.joined(separator: ", ")
      } else if let tree = spec.tree {
        out["component.\(spec.name.rawValue)"] = "tree \(tree.path)\(await commit(of: tree).map { " at \($0)" } ?? " (not a git checkout)")"
      } else {
        let packages = spec.source.map { [$0] } ?? spec.packages
        let listed = packages.map { "\($0.name) \(versions[$0.name] ?? "(unlocked)") (\($0.suite))" }.joined(separator: ", ")
        out["component.\(spec.name.rawValue)"] = spec.source != nil ? "built from source \(listed)" : listed
      }
    }
    return out
  }

  /// `git describe --always --dirty --abbrev=12` of a tree (nil when it is not a checkout of its own or git is
  /// missing); read only: git takes no lock and writes nothing into the user's tree.
  static func commit(of tree: URL) async -> String? {
    let git = ["git", "--no-optional-locks", "-C", tree.path]
    guard let top = try? await Command.run(git + ["rev-parse", "--show-toplevel"], timeout: .seconds(20)), top.status == 0,
      URL(fileURLWithPath: top.output.trimmingCharacters(in: .whitespacesAndNewlines)).resolvingSymlinksInPath().path
        == tree.resolvingSymlinksInPath().path,
      let result = try? await Command.run(git + ["describe", "--always", "--dirty", "--abbrev=12"], timeout: .seconds(20)),
      result.status == 0
    else { return nil }
    let text = result.output.trimmingCharacters(in: .whitespacesAndNewlines)
    return text.isEmpty ? nil : text
  }
}
