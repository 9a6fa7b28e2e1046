import Console
import Foundation
import GDBRemote
import HarnessSupport

/// How a person's debugger finds a machine started by `teeharness boot`: written as `machine.json` into the
/// run folder, read by `teeharness gdb`.
package struct DebugRecord: Codable, Sendable, Equatable {
  package static let fileName = "machine.json"
  package static let kernelSymbolsName = "kernel-symbols.elf"

  package var manifest: String
  /// QEMU's process id (the record is stale once it is gone).
  package var qemuPid: Int32
  /// The unix socket QEMU's GDB stub listens on.
  package var gdbSocket: String
  /// Symbol files, when the stack has them.
  package var teeElf: String?
  package var bl31Elf: String?

  package init(manifest: String, configuration: MachineConfiguration, qemuPid: Int32) {
    self.manifest = manifest
    self.qemuPid = qemuPid
    self.gdbSocket = configuration.gdbSocket
    self.teeElf = configuration.images.teeElf?.path
    self.bl31Elf = configuration.images.bl31Elf?.path
  }

  package var isLive: Bool { kill(qemuPid, 0) == 0 && FileManager.default.fileExists(atPath: gdbSocket) }

  package func write(to runDirectory: URL) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    try AtomicFile.write(try encoder.encode(self), to: runDirectory.appendingPathComponent(Self.fileName))
  }

  /// The record in `runDirectory`.
  /// - Throws: `HarnessError` when there is none or it cannot be read.
  package static func load(from runDirectory: URL) throws -> DebugRecord {
    let file = runDirectory.appendingPathComponent(fileName)
    guard let data = FileManager.default.contents(atPath: file.path) else {
      throw HarnessError("no machine in \(runDirectory.path) (\(fileName) missing)",
        fix: "start one with `swift run teeharness boot` and pass its run folder with --run")
    }
    do {
      return try JSONDecoder().decode(DebugRecord.self, from: data)
    } catch {
      throw HarnessError("\(file.path) is not a machine record: \(error)", fix: "start the machine again with `teeharness boot`")
    }
  }

  /// The newest run folder under `base` whose machine is still running.
  package static func newestLive(under base: URL) -> URL? {
    let folders = (try? FileManager.default.contentsOfDirectory(at: base, includingPropertiesForKeys: nil)) ?? []
    // Run folders are named by their start time, so the greatest name is the newest.
    return folders
      .filter { (try? load(from: $0))?.isLive == true }
      .max { $0.lastPathComponent < $1.lastPathComponent }
  }

  /// The gdb commands that load every world's symbols at their run-time addresses and attach: tee.elf (OP-TEE is
  /// built without ASLR), bl31.elf, and the kernel's symbols when they were captured.
  package func gdbScript(kernelSymbols: URL?) -> String {
    var lines = ["set pagination off", "set confirm off", "set architecture aarch64"]
    lines += [teeElf, bl31Elf].compactMap { $0.map { "add-symbol-file \($0)" } }
    if let kernelSymbols { lines.append("add-symbol-file \(kernelSymbols.path)") }
    lines += ["target remote \(gdbSocket)", "set confirm on"]
    return lines.joined(separator: "\n") + "\n"
  }
}

/// The running kernel's symbols, from the guest's `/proc/kallsyms` (KASLR moves them on every boot).
package enum KernelSymbols {
  /// Reads `/proc/kallsyms` through the shell (compressed: the console carries about 87 KB/s) and writes a
  /// symbol file gdb loads; returns how many symbols.
  @discardableResult
  package static func capture(_ shell: ShellSession, to file: URL, deadline: Deadline = .after(.seconds(120))) async throws -> Int {
    let result = try await shell.run("grep -E '^[0-9a-f]+ [tTdDbBrR] ' /proc/kallsyms | gzip -c | base64",
      timeout: .seconds(120), deadline: deadline)
    guard result.status == 0, let gzipped = Data(base64Encoded: result.output, options: .ignoreUnknownCharacters) else {
      throw HarnessError("the guest's /proc/kallsyms could not be read (status \(result.status))")
    }
    let packed = file.deletingLastPathComponent().appendingPathComponent(".kallsyms-\(getpid()).gz")
    try gzipped.write(to: packed)
    defer { try? FileManager.default.removeItem(at: packed) }
    let symbols = SymbolFile.kallsyms(try await Command.output(["gzip", "-dc", packed.path]))
    guard symbols.count > 1000 else {
      throw HarnessError("the guest's /proc/kallsyms gave only \(symbols.count) symbols", fix: "boot a kernel built with CONFIG_KALLSYMS_ALL")
    }
    try AtomicFile.write(Data(SymbolFile.elf(symbols)), to: file)
    return symbols.count
  }
}
