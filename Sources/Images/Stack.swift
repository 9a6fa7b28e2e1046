import Foundation
import HarnessSupport

/// The one call commands and tests use to get a bootable stack: load the manifest, check the lock, build or
/// reuse every component.
package enum Stack {
  /// Builds (or finds) the stack of `manifest` (a name in `manifests/` or a path).
  /// - Throws: `HarnessError` for anything from a bad manifest to a failed build.
  package static func prepare(
    manifest: String, overrides: ManifestOverrides = ManifestOverrides(), cache: URL, build: Bool = true,
    report: @escaping @Sendable (String) -> Void = { _ in }
  ) async throws -> (StackImages, StackManifest, [ImageBuilder.Outcome]) {
    let layout = try ProjectLayout.find()
    let spec = try ManifestLoader.load(layout.manifest(manifest), overrides: try overrides.tree())
    let lock = try LockFile.load(layout.lockFile)
    try FileManager.default.createDirectory(at: cache, withIntermediateDirectories: true)
    Leftovers.sweep(cache: cache)
    let archive = try DebianArchive.host(cache: cache)
    var builder = ImageBuilder(manifest: spec, lock: lock, layout: layout, cache: cache, archive: archive, report: report)
    builder.mayBuild = build
    let (images, outcomes) = try await builder.build()
    return (images, spec, outcomes)
  }

  /// Resolves every package of `manifests` against the archive and writes the lock. Keys of other manifests
  /// already in the lock are kept when only some manifests are locked.
  package static func lock(manifests: [URL], layout: ProjectLayout, cache: URL, all: Bool,
    report: @escaping @Sendable (String) -> Void) async throws -> LockFile
  {
    let specs = try manifests.map { try ManifestLoader.load($0) }
    let archive = try DebianArchive.host(cache: cache)
    report("lock: updating package indexes (\(DebianArchive.suites.joined(separator: ", ")); arm64) in \(archive.stateDirectory.path)")
    try await archive.updateIndexes()
    var lock = all ? LockFile() : ((try? LockFile.load(layout.lockFile)) ?? LockFile())
    let keys = Set(specs.flatMap { $0.orderedComponents.flatMap(\.lockKeys) }).sorted()
    for key in keys {
      let files = try await archive.resolve(key)
      let versions = Set(files.map { "\($0.package) \($0.version)" }).sorted().joined(separator: ", ")
      let previous = lock.entries[key.description]
      report("lock: \(key) → \(versions)\(previous == nil ? " (new)" : previous == files ? "" : " (changed)")")
      lock.entries[key.description] = files
    }
    try lock.write(to: layout.lockFile)
    return lock
  }
}
