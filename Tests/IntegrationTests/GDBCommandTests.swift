import Foundation
import GDBRemote
import HarnessSupport
import Images
import Machine
import Testing

/// `teeharness boot` and `teeharness gdb` as a person uses them: a debugger attached to a live machine with
/// every world's symbols.
extension Integration {
@Suite struct GDBCommandTests {
  /// Starts `teeharness boot ARGS --out FOLDER` (standard input closed: it runs until signalled).
  func boot(_ label: String, _ arguments: [String]) async throws -> (ChildProcess, URL) {
    _ = try await SharedStack.shared.get()
    let out = SharedStack.runFolder(label)
    try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
    let harness = try ChildProcess([SignalTests.executable.path, "boot"] + arguments + ["--out", out.path], in: out,
      output: out.appendingPathComponent("harness.log"))
    return (harness, out)
  }

  func gdb(_ folder: URL, _ commands: [String]) async throws -> String {
    let argv = [SignalTests.executable.path, "gdb", "--run", folder.path, "--", "-batch"] + commands.flatMap { ["-ex", $0] }
    let result = try await Command.run(argv)
    #expect(result.status == 0, "\(result.output)")
    return result.output
  }

  func stop(_ harness: ChildProcess, _ folder: URL) async {
    harness.signal(SIGTERM)
    let status = await harness.wait(until: .after(.seconds(30)))
    #expect(status == 128 + SIGTERM)
    #expect(await eventually(within: .after(.seconds(10))) { qemuProcesses(mentioning: folder.path).isEmpty })
  }

  func log(_ folder: URL) -> String { (try? String(contentsOf: folder.appendingPathComponent("harness.log"), encoding: .utf8)) ?? "" }

  /// The last lines of the harness's output and of the secure console, for a failure's message.
  func tails(_ folder: URL) -> String {
    let secure = (try? String(contentsOf: folder.appendingPathComponent("secure.log"), encoding: .utf8)) ?? ""
    return "harness (last 40 lines):\n\(log(folder).lastLines(40))\nsecure console (last 15 lines):\n\(secure.lastLines(15))"
  }

  @Test func bootWaitsAtTheResetVectorForTheDebugger() async throws {
    let (harness, folder) = try await boot("gdb-wait", ["--gdb-wait"])
    defer { harness.signal(SIGKILL) }
    let up = await eventually(within: .after(.seconds(60))) { (try? DebugRecord.load(from: folder))?.isLive == true }
    try #require(up, "no machine record: \(log(folder))")
    let out = try await gdb(folder, ["info threads", "info registers pc", "print $SCR_EL3", "detach"])
    #expect(out.contains("Thread 1.1 (CPU#0") && out.contains("Thread 1.2 (CPU#1"), "\(out)")
    #expect(out.range(of: #"pc\s+0x0\s"#, options: .regularExpression) != nil, "not halted at the reset vector: \(out)")
    // Detaching let the CPUs run: TF-A's banner follows.
    let booted = await eventually(within: .after(.seconds(30))) {
      ((try? String(contentsOf: folder.appendingPathComponent("normal.log"), encoding: .utf8)) ?? "").contains("Booting Trusted Firmware")
    }
    #expect(booted, "the machine did not run after the debugger detached")
    await stop(harness, folder)
  }

  @Test func gdbHasOpteeTfaAndKernelSymbolsOnALiveMachine() async throws {
    let (images, _) = try await SharedStack.shared.get()
    let (harness, folder) = try await boot("gdb-symbols", [])
    defer { harness.signal(SIGKILL) }
    let kernel = folder.appendingPathComponent(DebugRecord.kernelSymbolsName)
    // The harness gives up after 180 s for the shell plus 120 s for the dump, and says so.
    let settled = await eventually(within: .after(.seconds(320))) {
      FileManager.default.fileExists(atPath: kernel.path) || log(folder).contains("no kernel symbols for gdb")
    }
    try #require(FileManager.default.fileExists(atPath: kernel.path),
      "no kernel symbols \(settled ? "(the harness gave up)" : "after 320 s"): \(tails(folder))")
    let threadCount = try ELFSymbols(contentsOf: try #require(images.teeElf)).address("thread_count")
    let bl31Main = try ELFSymbols(contentsOf: try #require(images.bl31Elf)).address("bl31_main")
    let out = try await gdb(folder, ["info threads", "info symbol schedule", "info address thread_count",
      "info address bl31_main", "detach"])
    #expect(out.contains("schedule in section .text of \(kernel.path)"), "\(out)")
    #expect(out.contains("0x" + String(threadCount, radix: 16)), "\(out)")
    #expect(out.contains("0x" + String(bl31Main, radix: 16)), "\(out)")
    #expect(out.contains("Thread 1.2 (CPU#1"), "\(out)")
    // A second session attaches again (the stub forgets the first one).
    let again = try await gdb(folder, ["info symbol schedule", "detach"])
    #expect(again.contains("schedule in section .text"), "\(again)")
    await stop(harness, folder)
  }
}
}
