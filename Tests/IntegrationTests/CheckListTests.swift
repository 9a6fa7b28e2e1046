import Foundation
import HarnessSupport
import Testing

/// `check --list` and `--version`: answered from the manifest and the checkout alone, with nothing built.
@Suite struct CheckListTests {
  static var executable: URL {
    URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("teeharness")
  }

  @Test func listPrintsWhatTheSelectionWouldRun() async throws {
    try #require(FileManager.default.isExecutableFile(atPath: Self.executable.path))
    let all = try await Command.run([Self.executable.path, "check", "--list"])
    #expect(all.status == 0 && all.output.contains("boot/every milestone is reached in order within its budget"), "\(all.output)")
    // Several --test values: any of them; a fault's stack lists the suites its fault names.
    let some = try await Command.run([Self.executable.path, "check", "--list", "--manifest", "secure-uart-irq-off",
      "--test", "case 1:", "--test", "case 6:"])
    let lines = some.output.split(separator: "\n").map(String.init)
    // case 1, and case 6 twice (its bytes while Linux idles, and while every OP-TEE thread is busy).
    #expect(some.status == 0 && lines.count == 3 && lines.allSatisfy { $0.hasPrefix("secure-interrupts/case ") }, "\(some.output)")
    let unknown = try await Command.run([Self.executable.path, "check", "--list", "--suite", "nope"])
    #expect(unknown.status == 2 && unknown.output.contains("unknown suite 'nope'"))
  }

  /// `bench`'s catalog options are checked before anything is built or booted: a usage error (64).
  @Test func benchRefusesCatalogOptionsWithoutCatalog() async throws {
    try #require(FileManager.default.isExecutableFile(atPath: Self.executable.path))
    let stray = try await Command.run([Self.executable.path, "bench", "--jobs", "2"])
    #expect(stray.status == 64 && stray.output.contains("--jobs and --xtest-full go with --catalog"), "\(stray.output)")
    let zero = try await Command.run([Self.executable.path, "bench", "--catalog", "--jobs", "0"])
    #expect(zero.status == 64 && zero.output.contains("--jobs takes a count from 1 to 64"), "\(zero.output)")
  }

  /// `--last-failed` reads the newest report beside the run folder: only what did not pass runs, in its suites.
  @Test func lastFailedSelectsWhatDidNotPassInTheNewestReport() async throws {
    let parent = ScratchFolder.path("last-failed-\(UUID().uuidString.prefix(8))")
    defer { try? FileManager.default.removeItem(at: parent) }
    func report(_ folder: String, _ tests: [(String, String, String)]) throws {
      let url = parent.appendingPathComponent(folder)
      try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
      let items = tests.map { #"{"suite":"\#($0.0)","name":"\#($0.1)","outcome":"\#($0.2)","seconds":1,"notes":[],"slices":[]}"# }
      try Data(#"{"suites":[{"name":"x","properties":{},"seconds":1,"tests":[\#(items.joined(separator: ","))]}],"seconds":1,"runDirectory":"\#(url.path)"}"#.utf8)
        .write(to: url.appendingPathComponent("report.json"))
    }
    try report("older", [("boot", "the device tree carries the OP-TEE node", "failed")])
    try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSinceNow: -3600)],
      ofItemAtPath: parent.appendingPathComponent("older/report.json").path)
    try report("newer", [("xtest", "1001 core self tests", "error"), ("boot", "the device tree carries the OP-TEE node", "passed")])
    let listed = try await Command.run([Self.executable.path, "check", "--list", "--last-failed", "--out", parent.appendingPathComponent("next").path])
    let lines = listed.output.split(separator: "\n").map(String.init).filter { !$0.hasPrefix("last-failed:") }
    #expect(listed.status == 0 && lines == ["xtest/1001 core self tests"], "\(listed.output)")
  }

  @Test func versionNamesTheCommit() async throws {
    let version = try await Command.run([Self.executable.path, "--version"])
    let head = try await Command.output(["git", "-C", URL(fileURLWithPath: #filePath).deletingLastPathComponent().path, "rev-parse", "HEAD"])
    #expect(version.status == 0 && version.output.hasPrefix("teeharness ") && version.output.contains("(git \(head.prefix(12)))"), "\(version.output)")
  }
}
