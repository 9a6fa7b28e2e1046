import Foundation
import HarnessSupport
import Testing

@Suite struct LeftoversTests {
  @Test func theOwnersPidIsReadFromEachKindOfName() {
    #expect(Leftovers.owner(of: "optee-os-p4242-0C36", pattern: #"^[a-z0-9-]+?-p(\d+)-"#) == 4242)
    #expect(Leftovers.owner(of: ".abc.vmstate.77.partial", pattern: #"^\..+\.(\d+)\.partial$"#) == 77)
    #expect(Leftovers.owner(of: "abc.vmstate", pattern: #"^\..+\.(\d+)\.partial$"#) == nil)
  }

  /// Tests' files and any process's scratch live in one private folder a later sweep removes once its owner is gone.
  @Test func theScratchFolderIsThisProcesssOwnPrivateLeftover() {
    #expect(ScratchFolder.isPrivate(ScratchFolder.url.path))
    #expect(Leftovers.owner(of: ScratchFolder.url.lastPathComponent, pattern: #"^teeharness-(\d+)-"#) == getpid())
    #expect(!ScratchFolder.isPrivate("/tmp"))
  }

  /// A killed run's scratch, partial download and half-saved machine go; a live run's and finished files stay.
  @Test func onlyWhatADeadProcessLeftIsSwept() async throws {
    let cache = ScratchFolder.path("leftovers-\(UUID().uuidString.prefix(8))", isDirectory: true)
    defer { try? FileManager.default.removeItem(at: cache) }
    let gone = try ChildProcess(["true"], in: cache.deletingLastPathComponent(), output: URL(fileURLWithPath: "/dev/null"))
    #expect(await gone.wait(until: .after(.seconds(5))) == 0)
    let dead = gone.pid, live = getpid()
    let fm = FileManager.default
    let paths = [
      "tmp/optee-os-p\(dead)-A", "tmp/optee-os-p\(live)-B", "downloads/partial-\(dead)-C", "downloads/0123abcd",
      "snapshots/.k.vmstate.\(dead).partial", "snapshots/.k.vmstate.\(live).partial", "snapshots/k.vmstate",
      "snapshots/.k.vmstate.s9f.\(dead).partial.written", "snapshots/.k.vmstate.s9f.\(live).partial.written",
    ]
    for path in paths {
      let url = cache.appendingPathComponent(path)
      try fm.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
      #expect(fm.createFile(atPath: url.path, contents: Data("x".utf8)))
    }
    let temporary = cache.appendingPathComponent("tmp-folder", isDirectory: true)
    try fm.createDirectory(at: temporary, withIntermediateDirectories: true)
    let removed = Set(Leftovers.sweep(cache: cache, temporary: temporary).map(\.path).filter { $0.hasPrefix(cache.path + "/") }
      .map { $0.replacingOccurrences(of: cache.path + "/", with: "") })
    #expect(removed == ["tmp/optee-os-p\(dead)-A", "downloads/partial-\(dead)-C", "snapshots/.k.vmstate.\(dead).partial",
      "snapshots/.k.vmstate.s9f.\(dead).partial.written"])
    for path in paths where !removed.contains(path) { #expect(fm.fileExists(atPath: cache.appendingPathComponent(path).path), "\(path)") }
  }
}
