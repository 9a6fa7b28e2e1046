import ArgumentParser
import Foundation
import HarnessSupport
import Machine

struct GDBCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "gdb",
    abstract: "Debug a machine started by `teeharness boot`: gdb-multiarch with OP-TEE, TF-A and kernel symbols, attached.",
    discussion: """
      tee.elf and bl31.elf are loaded at their link addresses (OP-TEE is built without ASLR); the kernel's \
      symbols come from the guest's /proc/kallsyms, saved by `boot` once the shell is up. Arguments after `--` \
      go to gdb (e.g. `-- -batch -ex 'info threads'`). Attaching stops the CPUs; `continue` or `detach` lets \
      them run. Secure memory reads only while a CPU is stopped in the secure world.
      """)

  @Option(name: .customLong("run"), help: "The run folder of `teeharness boot` (default: the newest one still running under teeharness-out).")
  var runFolder: String?

  @Argument(parsing: .postTerminator, help: "Arguments passed to gdb-multiarch.")
  var gdbArguments: [String] = []

  func run() throws {
    let gdb = try Command.locate("gdb-multiarch")
    let folder: URL
    if let runFolder {
      folder = URL(fileURLWithPath: runFolder, isDirectory: true)
    } else {
      guard let newest = DebugRecord.newestLive(under: URL(fileURLWithPath: "teeharness-out", isDirectory: true)) else {
        throw HarnessError("no running machine under teeharness-out", fix: "start one with `swift run teeharness boot` (or pass --run DIR)")
      }
      folder = newest
    }
    let record = try DebugRecord.load(from: folder)
    guard record.isLive else {
      throw HarnessError("the machine of \(folder.path) is no longer running (QEMU pid \(record.qemuPid))",
        fix: "start one with `swift run teeharness boot`")
    }
    let symbols = folder.appendingPathComponent(DebugRecord.kernelSymbolsName)
    let kernel = FileManager.default.fileExists(atPath: symbols.path) ? symbols : nil
    if kernel == nil {
      Output.error("teeharness: no kernel symbols yet (they are saved once the guest shell is up); OP-TEE and TF-A symbols only")
    }
    let script = folder.appendingPathComponent("gdbinit")
    try AtomicFile.write(Data(record.gdbScript(kernelSymbols: kernel).utf8), to: script)
    // gdb takes over this process, and with it the terminal.
    let argv = [gdb.path, "-q", "-nx", "-x", script.path] + gdbArguments
    let cArgs = argv.map { strdup($0) } + [nil]
    execv(gdb.path, cArgs)
    throw HarnessError("cannot start \(gdb.path): \(String(cString: strerror(errno)))", fix: "run `swift run teeharness setup` (as root)")
  }
}
