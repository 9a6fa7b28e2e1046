import Foundation
import HarnessSupport
import Testing

@testable import Machine

@Suite struct SnapshotDigestTests {
  /// A saved machine as `saveSnapshot` leaves it: the state, its consoles' history, and their digests.
  static func savedMachine() async throws -> (store: SnapshotStore, state: URL) {
    let folder = ScratchFolder.path("snap-\(UUID().uuidString.prefix(8))", isDirectory: true)
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    let state = folder.appendingPathComponent("abc.vmstate")
    let consoles = SavedConsoles.file(beside: state)
    try Data((0..<100_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }).write(to: state)
    try SavedConsoles(normal: [], secure: [], savedAt: 1).encoded().write(to: consoles)
    let sums = try await FileDigest.sha256(of: [state, consoles])
    try Data("\(sums[0])  \(state.lastPathComponent)\n\(sums[1])  \(consoles.lastPathComponent)\n".utf8)
      .write(to: SnapshotStore.digests(beside: state))
    return (SnapshotStore(directory: folder), state)
  }

  @Test func anIntactSavedMachinePasses() async throws {
    let (store, state) = try await Self.savedMachine()
    defer { try? FileManager.default.removeItem(at: store.directory) }
    #expect(store.has(state))
    #expect(await SnapshotStore.damage(of: state) == nil)
  }

  @Test func aFlippedByteOrAMissingDigestIsDamage() async throws {
    let (store, state) = try await Self.savedMachine()
    defer { try? FileManager.default.removeItem(at: store.directory) }
    var bytes = try Data(contentsOf: state)
    bytes[50_000] ^= 0x01
    try bytes.write(to: state)
    try FileManager.default.setAttributes([.modificationDate: Date().addingTimeInterval(5)], ofItemAtPath: state.path)
    let why = await SnapshotStore.damage(of: state)
    #expect(why?.contains("abc.vmstate does not match its sha256") == true, "\(why ?? "nil")")
    #expect(why?.contains("100000 bytes, written 5.") == true && why?.contains("s after its digests") == true, "the late writer is named: \(why ?? "nil")")
    try FileManager.default.removeItem(at: SnapshotStore.digests(beside: state))
    #expect(!store.has(state), "a saved machine without its digests is not there")
  }

  /// `images snapshots`: a complete saved machine is usable; one without digests (saved before they existed) or
  /// with files missing is not, and is removed whole.
  @Test func entriesSayWhichSavedMachinesCanBeRestored() async throws {
    let (store, state) = try await Self.savedMachine()
    defer { try? FileManager.default.removeItem(at: store.directory) }
    let other = store.directory.appendingPathComponent(String(repeating: "b", count: 64) + ".vmstate")
    try Data("old".utf8).write(to: other)
    try Data("{}".utf8).write(to: SavedConsoles.file(beside: other))
    let entries = Dictionary(uniqueKeysWithValues: store.entries().map { ($0.key, $0) })
    #expect(entries.count == 1, "abc is not a key: \(entries.keys)")
    let old = try #require(entries[String(repeating: "b", count: 64)])
    #expect(old.unusable == "no <key>.vmstate.sha256" && old.files.count == 2)
    try await store.remove(old)
    #expect(!FileManager.default.fileExists(atPath: other.path) && store.has(state))
  }
}
