import Foundation
import HarnessSupport
import Testing

/// A file is written whole or not at all; what a killed harness staged goes at the next start.
@Suite struct AtomicFileTests {
  func folder() throws -> URL {
    let url = ScratchFolder.path("atomic-\(UUID().uuidString.prefix(8))", isDirectory: true)
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
  }

  @Test func theFileIsInPlaceAndNothingStagedRemains() throws {
    let dir = try folder()
    defer { try? FileManager.default.removeItem(at: dir) }
    let target = dir.appendingPathComponent("report.json")
    try AtomicFile.write(Data("old".utf8), to: target)
    try AtomicFile.write(Data("new".utf8), to: target)
    #expect(try String(contentsOf: target, encoding: .utf8) == "new")
    #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["report.json"])
  }

  @Test func aFileThatCannotBeWrittenIsNamedAndLeavesNothing() throws {
    let dir = try folder()
    defer { try? FileManager.default.removeItem(at: dir) }
    let missing = dir.appendingPathComponent("no-such-folder/report.json")
    #expect(throws: HarnessError.self) { try AtomicFile.write(Data("x".utf8), to: missing) }
    #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).isEmpty)
  }

  /// The journal of a dead harness names what it staged: those files go, anything else it names stays.
  @Test func whatADeadHarnessStagedIsSwept() async throws {
    let dir = try folder()
    defer { try? FileManager.default.removeItem(at: dir) }
    let gone = try ChildProcess(["true"], in: dir, output: URL(fileURLWithPath: "/dev/null"))
    #expect(await gone.wait(until: .after(.seconds(5))) == 0)
    let dead = gone.pid
    let staged = dir.appendingPathComponent(".report.json.\(dead).partial")
    let other = dir.appendingPathComponent("report.json")
    let foreign = dir.appendingPathComponent(".report.json.\(getpid()).partial")
    for url in [staged, other, foreign] { #expect(FileManager.default.createFile(atPath: url.path, contents: Data("x".utf8))) }
    // The journal lies in a temporary folder of this test's own: no other test's sweep takes it first.
    let temporary = dir.appendingPathComponent("tmp", isDirectory: true)
    try FileManager.default.createDirectory(at: temporary, withIntermediateDirectories: true)
    let journal = temporary.appendingPathComponent("teeharness-\(dead)-partials")
    try Data([staged, other, foreign].map { $0.path + "\n" }.joined().utf8).write(to: journal)
    let removed = Leftovers.sweep(cache: nil, temporary: temporary).map(\.path)
    #expect(removed.contains(staged.path) && removed.contains(journal.path), "\(removed)")
    #expect(!FileManager.default.fileExists(atPath: staged.path) && !FileManager.default.fileExists(atPath: journal.path))
    #expect(FileManager.default.fileExists(atPath: other.path) && FileManager.default.fileExists(atPath: foreign.path),
      "only `.NAME.PID.partial` files of the dead pid go")
  }
}
