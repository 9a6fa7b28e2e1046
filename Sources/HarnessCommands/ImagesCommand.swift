import ArgumentParser
import Foundation
import HarnessSupport
import Images
import Machine

struct ImagesCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "images",
    abstract: "Build, lock and locate stack images.",
    subcommands: [Build.self, Lock.self, Path.self, Trees.self, Snapshots.self])

  struct Build: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Download, verify, build and cache a stack.")
    @OptionGroup var stack: StackOptions

    func run() async throws {
      try HostSetup.forStack(stack.manifest, overrides: stack.overrides.value).requireInstalled()
      let started = ContinuousClock.now
      let (images, _, outcomes) = try await Stack.prepare(manifest: stack.manifest, overrides: stack.overrides.value, cache: stack.cache) { Output.line($0) }
      let built = outcomes.compactMap(\.builtSeconds).reduce(0, +)
      Output.line("stack \(images.manifest) \(images.digest.prefix(12)) ready in \((ContinuousClock.now - started).seconds.formatted(decimals: 1)) s"
        + (built > 0 ? " (\(outcomes.filter { $0.builtSeconds != nil }.count) built, \(built.formatted(decimals: 1)) s)" : " (all cached)"))
    }
  }

  struct Lock: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Resolve every manifest's packages to versions and sha256 and write manifests/default.lock.")
    @Option(name: .long, help: "Only this manifest's packages (others in the lock are kept).")
    var manifest: String?
    @Option(name: .long, help: "Cache folder (holds the private apt state).")
    var cacheDir: String?

    func run() async throws {
      let layout = try ProjectLayout.find()
      let files = try manifest.map { [layout.manifest($0)] } ?? layout.allManifests()
      let lock = try await Stack.lock(manifests: files, layout: layout, cache: CacheLocation.resolve(cacheDir),
        all: manifest == nil) { Output.line($0) }
      Output.line("lock: wrote \(layout.lockFile.path) (\(lock.entries.count) entries)")
    }
  }

  struct Path: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print where a built stack's files are, as JSON.")
    @OptionGroup var stack: StackOptions

    func run() async throws {
      let (images, _, _) = try await Stack.prepare(manifest: stack.manifest, overrides: stack.overrides.value, cache: stack.cache, build: false)
      let data = try JSONSerialization.data(withJSONObject: images.jsonObject,
        options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
      Output.line(String(decoding: data, as: UTF8.self))
    }
  }
}

extension ImagesCommand {
  struct Trees: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "List what the cache keeps for local trees (mirror and build folders), and remove what is no longer needed.")
    @OptionGroup var cache: CacheOption
    @Flag(name: .long, help: "Remove the workspaces of trees that no longer exist.")
    var removeGone = false
    @Option(name: .long, help: "Remove the workspaces not built for this many days.")
    var unusedDays: Int?

    func validate() throws { try CacheListing.days(unusedDays, "--unused-days") }

    func run() async throws {
      let workspaces = await TreeWorkspace.all(cache: cache.url)
      let cutoff = CacheListing.cutoff(unusedDays)
      try await CacheListing.prune(workspaces, none: "no local tree workspaces in the cache", bytes: \.bytes,
        line: { w in
          "\(w.tree?.path ?? "(tree unknown)")  \(CacheListing.size(w.bytes))  built \(CacheListing.age(w.lastUsed))"
            + (w.treeIsGone ? "  (tree gone)" : "") + "  \(w.folder.lastPathComponent)"
        },
        stale: { w in (removeGone && w.treeIsGone) || (cutoff.map { w.lastUsed < $0 } ?? false) },
        remove: { try $0.remove() })
    }

  }
}

/// `--cache-dir`, for the commands that look after the cache.
struct CacheOption: ParsableArguments {
  @Option(name: .customLong("cache-dir"), help: "Cache folder (default: ${XDG_CACHE_HOME:-$HOME/.cache}/teeharness).")
  var path: String?
  var url: URL { CacheLocation.resolve(path) }
}

/// A cache listing a line per item, removing the stale ones and saying what that freed.
enum CacheListing {
  /// A count of days given on the command line must not be negative.
  static func days(_ days: Int?, _ option: String) throws {
    if let days, days < 0 { throw ValidationError("\(option) takes a count of 0 or more") }
  }

  /// The moment `days` ago, if given.
  static func cutoff(_ days: Int?) -> Date? { days.map { Date().addingTimeInterval(-Double($0) * 86_400) } }

  static func prune<Item>(_ items: [Item], none: String, bytes: (Item) -> Int64, line: (Item) -> String,
    stale: (Item) -> Bool, remove: (Item) async throws -> Void) async throws
  {
    var freed: Int64 = 0
    for item in items {
      guard stale(item) else {
        Output.line(line(item))
        continue
      }
      try await remove(item)
      freed += bytes(item)
      Output.line("removed \(line(item))")
    }
    if items.isEmpty { Output.line(none) }
    if freed > 0 { Output.line("freed \(size(freed))") }
  }

  static func size(_ bytes: Int64) -> String {
    bytes >= 1 << 30 ? "\((Double(bytes) / Double(1 << 30)).formatted(decimals: 1)) GiB" : "\(bytes >> 20) MiB"
  }

  /// `today`, `3 d ago`, or `?` when unknown.
  static func age(_ date: Date?) -> String {
    guard let date else { return "?" }
    let days = max(0, Int(Date().timeIntervalSince(date) / 86_400))
    return days == 0 ? "today" : "\(days) d ago"
  }
}

extension ImagesCommand {
  struct Snapshots: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "List the saved machines in the cache, and remove those that will never be restored or are old.")
    @OptionGroup var cache: CacheOption
    @Flag(name: .long, help: "Remove saved machines that cannot be restored (files missing, or saved before digests).")
    var removeUnusable = false
    @Option(name: .long, help: "Remove saved machines saved more than this many days ago.")
    var olderThanDays: Int?

    func validate() throws { try CacheListing.days(olderThanDays, "--older-than-days") }

    func run() async throws {
      let store = SnapshotStore(cache: cache.url)
      let cutoff = CacheListing.cutoff(olderThanDays)
      try await CacheListing.prune(store.entries(), none: "no saved machines in \(store.directory.path)", bytes: \.bytes,
        line: { e in
          "\(e.key.prefix(16))  \(CacheListing.size(e.bytes))  saved \(CacheListing.age(e.saved))"
            + (e.unusable.map { "  (unusable: \($0))" } ?? "")
        },
        stale: { e in (removeUnusable && e.unusable != nil) || (cutoff.map { (e.saved ?? .distantPast) < $0 } ?? false) },
        remove: { try await store.remove($0) })
    }
  }
}

extension HostSetup {
  /// What the host needs for `manifest` (by name or path) with `overrides`: building QEMU adds its tools.
  /// - Throws: `HarnessError` for a manifest that does not load.
  static func forStack(_ manifest: String, overrides: ManifestOverrides) throws -> HostSetup {
    let layout = try ProjectLayout.find()
    return HostSetup(building: [try ManifestLoader.load(layout.manifest(manifest), overrides: try overrides.tree())])
  }

  /// Fails with the install command when host tools are missing (commands other than `setup` and `check` do not
  /// install anything).
  func requireInstalled() throws {
    let missing = missingPackages()
    guard missing.isEmpty else {
      throw HarnessError("host prerequisites missing: \(missing.joined(separator: " "))",
        fix: "run `swift run teeharness setup` (as root)")
    }
  }
}
