import Foundation
import HarnessSupport

/// Where the project's own inputs live: `manifests/` and `images/` (recipes, the initramfs `/init`, payloads).
package struct ProjectLayout: Sendable {
  package var root: URL
  package var manifests: URL { root.appendingPathComponent("manifests", isDirectory: true) }
  package var images: URL { root.appendingPathComponent("images", isDirectory: true) }

  package init(root: URL) { self.root = root }

  /// `$TEEHARNESS_ROOT`, else the first folder upward from the current directory, else upward from this
  /// source file, that holds both `manifests/` and `images/recipes/`.
  /// - Throws: `HarnessError` when none does.
  package static func find(file: String = #filePath) throws -> ProjectLayout {
    let env = ProcessInfo.processInfo.environment
    if let root = env["TEEHARNESS_ROOT"], !root.isEmpty { return ProjectLayout(root: URL(fileURLWithPath: root)) }
    for start in [FileManager.default.currentDirectoryPath, URL(fileURLWithPath: file).deletingLastPathComponent().path] {
      var dir = URL(fileURLWithPath: start, isDirectory: true)
      while dir.path != "/" {
        if FileManager.default.fileExists(atPath: dir.appendingPathComponent("images/recipes").path),
          FileManager.default.fileExists(atPath: dir.appendingPathComponent("manifests").path)
        {
          return ProjectLayout(root: dir)
        }
        dir.deleteLastPathComponent()
      }
    }
    throw HarnessError("cannot find the teeharness project folder (manifests/ and images/)",
      fix: "run from the project checkout or set TEEHARNESS_ROOT")
  }

  /// The manifest named on a command line (a bare name is looked up in `manifests/`).
  package func manifest(_ nameOrPath: String) -> URL {
    ManifestLoader.locate(nameOrPath, manifestsDirectory: manifests)
  }

  package var lockFile: URL { LockFile.location(manifestsDirectory: manifests) }

  /// Every manifest in `manifests/`, by name.
  package func allManifests() throws -> [URL] {
    try FileManager.default.contentsOfDirectory(at: manifests, includingPropertiesForKeys: nil)
      .filter { $0.pathExtension == "yaml" }.sorted { $0.lastPathComponent < $1.lastPathComponent }
  }

  /// Every stack of the fault catalog (`manifests/faults/`), by name.
  package func faultManifests() -> [URL] {
    let folder = manifests.appendingPathComponent(ManifestLoader.faultsFolder, isDirectory: true)
    return ((try? FileManager.default.contentsOfDirectory(at: folder, includingPropertiesForKeys: nil)) ?? [])
      .filter { $0.pathExtension == "yaml" }.sorted { $0.lastPathComponent < $1.lastPathComponent }
  }
}
