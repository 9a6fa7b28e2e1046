import Console
import Foundation
import HarnessSupport
import Images
import Machine
import Testing

extension Integration {
@Suite struct BootTests {
  @Test func theBuiltStackBootsBothWorlds() async throws {
    let config = try await SharedStack.shared.configuration("banners")
    try await withMachine(config) { m in
      let version = try await m.secure.expect(.regex(#"OP-TEE version: (\S+)\s"#), timeout: .seconds(60))
      #expect(version.groups[1].contains("4.10"))
      _ = try await m.normal.expect("Booting Linux on physical CPU", timeout: .seconds(90))
      _ = try await m.normal.expect("teeharness-init: ready", timeout: .seconds(120))
      let uname = try await m.shell.run("uname -r")
      #expect(uname.status == 0)
      #expect(uname.output == config.images.kernelRelease)
      #expect(try await m.qmp.status() == "running")
      try await m.pause()
      #expect(try await m.qmp.status() == "paused")
      try await m.resume()
      #expect(try await m.qmp.status() == "running")
      #expect(try await m.shell.run("echo alive").output == "alive")
    }
  }

  @Test func theShellReportsStatusAndSurvivesKernelMessages() async throws {
    try await withReadyMachine("shell") { m in
      let failing = try await m.shell.run("echo out; echo err >&2; exit_code() { return 7; }; exit_code")
      #expect(failing.status == 7)
      #expect(failing.lines == ["out", "err"])
      // The kernel prints onto the same console while the command runs.
      let noisy = try await m.shell.run("for i in 1 2 3; do echo kernel-note-$i > /dev/kmsg; echo line-$i; done")
      #expect(noisy.status == 0)
      #expect(noisy.lines == ["line-1", "line-2", "line-3"])
      let log = try await m.shell.run("dmesg | grep -c kernel-note-")
      #expect(log.output == "3")
      let unfinished = try await m.shell.run("printf 'no newline'")
      #expect(unfinished.output == "no newline")
      // Each command has a shell of its own: its `exit` and `cd` end there.
      #expect(await m.shell.style == .quiet)
      #expect(try await m.shell.run("cd /proc; exit 3").status == 3)
      #expect(try await m.shell.run("pwd").output == "/")
      let many = try await m.shell.run("seq 40")
      #expect(many.lines == (1...40).map(String.init))
      #expect(try await m.shell.run("true").output == "")
    }
  }

  @Test func aCommandThatDoesNotFinishNamesItselfAndBothConsoles() async throws {
    try await withReadyMachine("hang") { m in
      // A job left in the background lives on through the Ctrl-C below; `read` still works after it.
      _ = try await m.shell.run("sleep 60 > /dev/null 2>&1 & echo $! > /tmp/background")
      let started = ContinuousClock.now
      let error = await #expect(throws: ExpectTimeout.self) { try await m.shell.run("sleep 30", timeout: .seconds(2)) }
      #expect(ContinuousClock.now - started < .seconds(10))
      #expect(error?.console == "normal")
      #expect(error?.pattern.contains("sleep 30") == true)
      #expect(error?.context.contains("last lines of the normal-world console") == true)
      #expect(error?.context.contains("last lines of the secure-world console") == true)
      #expect(error?.context.contains("I/TC:") == true, "the secure tail shows OP-TEE's lines")
      #expect(error?.context.contains("teeharness# sleep 30") == true, "the normal tail shows the command typed")
      try await m.shell.interrupt()
      #expect(try await m.shell.run("echo back").output == "back")
      #expect(try await m.shell.run("read up _ < /proc/uptime; echo ${up%.*}", timeout: .seconds(10)).status == 0)
      #expect(try await m.shell.run("kill -0 $(cat /tmp/background)").status == 0, "the background job outlived Ctrl-C")
    }
  }

  @Test func aBadLineOnAConsoleAbortsTheWaitAndQuotesIt() async throws {
    try await withReadyMachine("badline") { m in
      // A real kernel log line on the console, as an oops would print it.
      try await m.normal.send("echo 'BUG: teeharness provoked' > /dev/kmsg\n")
      let error = await #expect(throws: BadPatternSeen.self) {
        _ = try await m.normal.expect("this never comes", timeout: .seconds(30))
      }
      #expect(error?.alarm.rule == "kernel BUG")
      #expect(error?.alarm.line.contains("BUG: teeharness provoked") == true)
      #expect(await m.alarms.count == 1)
    }
  }

  @Test func qemuDyingMidWaitIsAnErrorWithItsStatus() async throws {
    let config = try await SharedStack.shared.configuration("killed")
    let error = await #expect(throws: ConsoleClosed.self) {
      try await withMachine(config) { m in
        _ = try await m.normal.expect("Booting Linux", timeout: .seconds(90))
        m.kill()
        _ = try await m.normal.expect("this never comes", timeout: .seconds(60))
      }
    }
    #expect(error?.context.contains("QEMU exited with status 137") == true)
    #expect(qemuProcesses(mentioning: config.runDirectory.path).isEmpty)
    #expect(!FileManager.default.fileExists(atPath: config.socketDirectory.path), "teardown removes the private folder")
  }

  @Test func aMissingQEMUOrImageOrALongSocketPathIsAClearError() async throws {
    var config = try await SharedStack.shared.configuration("bad-input")
    var noQEMU = config
    noQEMU.images.qemu = URL(fileURLWithPath: "/nonexistent/qemu-system-aarch64")
    let missingQEMU = await #expect(throws: HarnessError.self) { try await withMachine(noQEMU) { _ in } }
    #expect(missingQEMU?.message.contains("QEMU binary") == true)
    #expect(missingQEMU?.fix?.contains("setup") == true)

    var noKernel = config
    noKernel.images.kernel = URL(fileURLWithPath: "/nonexistent/Image")
    let missingImage = await #expect(throws: HarnessError.self) { try await withMachine(noKernel) { _ in } }
    #expect(missingImage?.message.contains("image kernel missing") == true)

    config.socketDirectory = URL(fileURLWithPath: "/tmp/" + String(repeating: "x", count: 120))
    let long = await #expect(throws: HarnessError.self) { try await withMachine(config) { _ in } }
    #expect(long?.message.contains("socket path too long") == true)
  }

  @Test func qemuThatExitsAtOnceShowsItsStderrAndArgv() async throws {
    var config = try await SharedStack.shared.configuration("early-exit")
    config.spec.cpu = "no-such-cpu"
    let error = await #expect(throws: MachineError.self) { try await withMachine(config) { _ in } }
    #expect(error?.status != nil)
    #expect(error?.stderr.isEmpty == false)
    #expect(error?.argv.contains("no-such-cpu") == true)
    #expect(!FileManager.default.fileExists(atPath: config.socketDirectory.path), "a failed launch leaves no private folder")
  }
}
}
