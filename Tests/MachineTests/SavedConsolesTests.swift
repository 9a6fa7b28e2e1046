import Console
import Foundation
import HarnessSupport
import Machine
import Testing

@Suite struct SavedConsolesTests {
  func temporaryFolder() throws -> URL {
    let url = ScratchFolder.path("saved-consoles-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
  }

  @Test func linesCountBackFromTheSaveAndSurviveTheFile() throws {
    let folder = try temporaryFolder()
    defer { try? FileManager.default.removeItem(at: folder) }
    let saved = SavedConsoles(
      normal: [Transcript.Line(time: 1.0, text: "Booting Linux"), Transcript.Line(time: 6.5, text: "# ")],
      secure: [Transcript.Line(time: 0.5, text: "I/TC: Asynchronous notifications are enabled")], savedAt: 7.0)
    #expect(saved.normalLines.map(\.time) == [-6.0, -0.5])
    #expect(saved.secureLines.map(\.time) == [-6.5])
    let file = SavedConsoles.file(beside: folder.appendingPathComponent("abc.vmstate"))
    #expect(file.lastPathComponent == "abc.consoles.json")
    try saved.encoded().write(to: file)
    #expect(try SavedConsoles(contentsOf: file) == saved)
  }

  @Test func aDamagedHistoryIsAnErrorNamingTheFile() throws {
    let folder = try temporaryFolder()
    defer { try? FileManager.default.removeItem(at: folder) }
    let file = folder.appendingPathComponent("abc.consoles.json")
    try Data("{\"normal\": [".utf8).write(to: file)
    let error = #expect(throws: HarnessError.self) { try SavedConsoles(contentsOf: file) }
    #expect(error?.line.contains(file.path) == true)
  }

  @Test func aSavedMachineExistsOnlyWithItsHistoryAndIsDiscardedWholly() throws {
    let folder = try temporaryFolder()
    defer { try? FileManager.default.removeItem(at: folder) }
    let store = SnapshotStore(directory: folder)
    let state = folder.appendingPathComponent("k.vmstate"), history = SavedConsoles.file(beside: state)
    try Data("state".utf8).write(to: state)
    #expect(!store.has(state), "a state without its consoles' history is not a saved machine")
    try Data("{}".utf8).write(to: history)
    #expect(!store.has(state), "nor one without the digests of its files")
    let digests = SnapshotStore.digests(beside: state)
    try Data("x  k.vmstate\n".utf8).write(to: digests)
    #expect(store.has(state))
    store.discard(state)
    #expect([state, history, digests].allSatisfy { !FileManager.default.fileExists(atPath: $0.path) })
  }
}
