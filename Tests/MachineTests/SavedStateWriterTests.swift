import HarnessSupport
import Foundation
import Testing

@testable import Machine

/// The writer QEMU saves a machine through says when the file is whole: not when QEMU has written its last byte into
/// the pipe, but once `cat` has drained it (a digest taken earlier is of a truncated file).
@Suite struct SavedStateWriterTests {
  static func folder() throws -> URL {
    let folder = ScratchFolder.path("writer-\(UUID().uuidString.prefix(8))", isDirectory: true)
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    return folder
  }

  /// Runs the writer as QEMU does (`/bin/sh -c`, the state on its standard input); returns it with the pipe's end.
  static func writer(_ file: URL, _ report: URL) throws -> (Process, FileHandle) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/bin/sh")
    process.arguments = ["-c", SavedStateWriter.command(writing: file, reportingTo: report)]
    let pipe = Pipe()
    process.standardInput = pipe
    try process.run()
    return (process, pipe.fileHandleForWriting)
  }

  @Test func theWriterIsDoneOnlyOnceTheWholeStateIsInTheFile() async throws {
    let folder = try Self.folder()
    defer { try? FileManager.default.removeItem(at: folder) }
    let (file, report) = (folder.appendingPathComponent("it's a.partial"), folder.appendingPathComponent("it's a.partial.written"))
    let (process, input) = try Self.writer(file, report)
    let state = Data((0..<4_000_000).map { UInt8(truncatingIfNeeded: $0 &* 7) })
    input.write(state)
    #expect(SavedStateWriter.outcome(in: report) == .running, "the pipe is still open: the writer cannot be done")
    try input.close()
    process.waitUntilExit()
    #expect(SavedStateWriter.outcome(in: report) == .done)
    #expect(try Data(contentsOf: file) == state)
  }

  @Test func aWriterThatCannotWriteSaysSo() async throws {
    let folder = try Self.folder()
    defer { try? FileManager.default.removeItem(at: folder) }
    let (process, input) = try Self.writer(folder.appendingPathComponent("missing/state"), folder.appendingPathComponent("state.written"))
    try input.close()
    process.waitUntilExit()
    guard case .failed(let status) = SavedStateWriter.outcome(in: folder.appendingPathComponent("state.written")) else {
      Issue.record("a writer whose file cannot be created reported \(SavedStateWriter.outcome(in: folder.appendingPathComponent("state.written")))")
      return
    }
    #expect(status != "0")
  }

  @Test func aReportNotYetWholeIsNotAnOutcome() throws {
    let folder = try Self.folder()
    defer { try? FileManager.default.removeItem(at: folder) }
    let report = folder.appendingPathComponent("r.written")
    #expect(SavedStateWriter.outcome(in: report) == .running)
    try Data().write(to: report)
    #expect(SavedStateWriter.outcome(in: report) == .running)
    try Data("0".utf8).write(to: report)
    #expect(SavedStateWriter.outcome(in: report) == .running)
    try Data("0\n".utf8).write(to: report)
    #expect(SavedStateWriter.outcome(in: report) == .done)
    try Data("\u{0}\u{ff}garbage\n".utf8).write(to: report)
    if case .failed = SavedStateWriter.outcome(in: report) {} else { Issue.record("garbage must not read as done") }
  }

  /// The writer of an abandoned save (its QEMU ended, its `cat` drained the rest into a file already removed) reports
  /// after that save has given up: the next save of the same machine by the same process must not read that report
  /// as its own, nor share its state file (it would digest a file still being written).
  @Test func everySaveWritesAndReportsThroughNamesOfItsOwn() throws {
    let folder = try Self.folder()
    defer { try? FileManager.default.removeItem(at: folder) }
    let state = folder.appendingPathComponent("k.vmstate")
    let (first, second) = (SavedStateWriter.partial(of: state), SavedStateWriter.partial(of: state))
    #expect(first != second)
    for name in [first, second].map(\.lastPathComponent) {
      #expect(name.hasPrefix(".k.vmstate.") && name.hasSuffix(".\(getpid()).partial"), "\(name)")
    }
    let (abandoned, input) = try Self.writer(first, first.appendingPathExtension("written"))
    try input.close()
    abandoned.waitUntilExit()
    #expect(SavedStateWriter.outcome(in: first.appendingPathExtension("written")) == .done)
    #expect(SavedStateWriter.outcome(in: second.appendingPathExtension("written")) == .running)
  }
}
