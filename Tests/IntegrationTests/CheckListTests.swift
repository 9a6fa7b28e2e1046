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
    #expect(some.status == 0 && lines.count == 2 && lines.allSatisfy { $0.hasPrefix("secure-interrupts/case ") }, "\(some.output)")
    let unknown = try await Command.run([Self.executable.path, "check", "--list", "--suite", "nope"])
    #expect(unknown.status == 2 && unknown.output.contains("unknown suite 'nope'"))
  }

  @Test func versionNamesTheCommit() async throws {
    let version = try await Command.run([Self.executable.path, "--version"])
    let head = try await Command.output(["git", "-C", URL(fileURLWithPath: #filePath).deletingLastPathComponent().path, "rev-parse", "HEAD"])
    #expect(version.status == 0 && version.output.hasPrefix("teeharness ") && version.output.contains("(git \(head.prefix(12)))"), "\(version.output)")
  }
}
