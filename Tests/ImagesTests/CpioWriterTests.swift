import Foundation
import HarnessSupport
import Testing

@testable import Images

@Suite struct CpioWriterTests {
  static let entries = [
    CpioEntry(path: "d", kind: .directory, permissions: 0o755),
    CpioEntry(path: "d/f", kind: .file(Data("hi\n".utf8)), permissions: 0o644),
    CpioEntry(path: "l", kind: .symlink(target: "d/f"), permissions: 0o777),
  ]

  @Test func writesTheGoldenNewcBytes() throws {
    func header(_ fields: [UInt32]) -> String { "070701" + fields.map { String(format: "%08X", $0) }.joined() }
    let golden =
      header([1, 0o40755, 0, 0, 2, 0, 0, 0, 0, 0, 0, 2, 0]) + "d\0"
      + header([2, 0o100644, 0, 0, 1, 0, 3, 0, 0, 0, 0, 4, 0]) + "d/f\0" + "\0\0" + "hi\n" + "\0"
      + header([3, 0o120777, 0, 0, 1, 0, 3, 0, 0, 0, 0, 2, 0]) + "l\0" + "d/f" + "\0"
      + header([0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 11, 0]) + "TRAILER!!!\0" + "\0\0\0"
    let archive = try CpioWriter.encode(Self.entries)
    #expect(archive == Data(golden.utf8))
    #expect(archive.count % 4 == 0)
  }

  @Test func theSameTreeGivesTheSameBytes() throws {
    #expect(try CpioWriter.encode(Self.entries) == CpioWriter.encode(Self.entries))
  }

  @Test func gnuCpioExtractsWhatItWrites() async throws {
    guard (try? Command.locate("cpio")) != nil else { return }
    let fm = FileManager.default
    let base = ScratchFolder.path("cpio-\(UUID().uuidString)")
    let tree = base.appendingPathComponent("tree"), out = base.appendingPathComponent("out")
    defer { try? fm.removeItem(at: base) }
    try fm.createDirectory(at: tree.appendingPathComponent("usr/bin"), withIntermediateDirectories: true)
    try fm.createDirectory(at: out, withIntermediateDirectories: true)
    try Data("#!/bin/sh\necho hi\n".utf8).write(to: tree.appendingPathComponent("usr/bin/hello"))
    try fm.setAttributes([.posixPermissions: 0o755], ofItemAtPath: tree.appendingPathComponent("usr/bin/hello").path)
    try fm.createSymbolicLink(atPath: tree.appendingPathComponent("bin").path, withDestinationPath: "usr/bin")
    let archive = base.appendingPathComponent("a.cpio")
    try CpioWriter.archive(tree: tree, to: archive)

    let listing = try await Command.output(["sh", "-c", "cpio -it < '\(archive.path)'"])
    #expect(listing.split(separator: "\n").filter { !$0.contains("blocks") } == ["bin", "usr", "usr/bin", "usr/bin/hello"])
    _ = try await Command.output(["sh", "-c", "cd '\(out.path)' && cpio -id --quiet < '\(archive.path)'"])
    #expect(fm.contents(atPath: out.appendingPathComponent("usr/bin/hello").path) == Data("#!/bin/sh\necho hi\n".utf8))
    #expect(try fm.destinationOfSymbolicLink(atPath: out.appendingPathComponent("bin").path) == "usr/bin")
    #expect(fm.isExecutableFile(atPath: out.appendingPathComponent("usr/bin/hello").path))
  }
}
