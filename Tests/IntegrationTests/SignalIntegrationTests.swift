import Foundation
import HarnessSupport
import Testing

/// The harness is stopped in the middle of a suite: no QEMU may survive it.
extension Integration {
@Suite struct SignalTests {
  /// The `teeharness` executable beside the test bundle.
  static var executable: URL {
    URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("teeharness")
  }

  /// Starts `teeharness check --suite boot`, waits until its QEMU runs, sends `signal`; returns the harness's
  /// exit status and the run folder (QEMU's command line names it).
  func stop(with signal: Int32, round: Int) async throws -> (status: Int32?, runFolder: String) {
    _ = try await SharedStack.shared.get()
    try #require(FileManager.default.isExecutableFile(atPath: Self.executable.path), "no \(Self.executable.path)")
    let out = SharedStack.runFolder("signal-\(signal)-\(round)")
    try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
    let log = out.appendingPathComponent("harness.log")
    let harness = try ChildProcess([Self.executable.path, "check", "--suite", "boot", "--out", out.path], in: out, output: log)
    defer { harness.signal(SIGKILL) }
    let started = await eventually(within: .after(.seconds(90))) { !qemuProcesses(mentioning: out.path).isEmpty || !harness.isRunning }
    try #require(started && harness.isRunning, "no QEMU started: \((try? String(contentsOf: log, encoding: .utf8)) ?? "")")
    harness.signal(signal)
    return (await harness.wait(until: .after(.seconds(30))), out.path)
  }

  @Test(arguments: [SIGINT, SIGTERM])
  func noQEMUOutlivesAnInterruptedHarness(signal: Int32) async throws {
    for round in 1...5 {
      let (status, folder) = try await stop(with: signal, round: round)
      #expect(status == 128 + signal, "round \(round): exit status \(status.map(String.init) ?? "none")")
      #expect(qemuProcesses(mentioning: folder).isEmpty, "round \(round): a QEMU outlived the harness")
    }
  }

  @Test func noQEMUOutlivesAKilledHarness() async throws {
    let (status, folder) = try await stop(with: SIGKILL, round: 1)
    #expect(status == 128 + SIGKILL)
    // Nothing in the harness ran: the process guard sees its pipe close and ends QEMU (TERM, then KILL).
    let gone = await eventually(within: .after(.seconds(10))) { qemuProcesses(mentioning: folder).isEmpty }
    #expect(gone, "QEMU outlived a SIGKILLed harness")
  }

  /// A reader that goes away (`check | head -1`): the harness neither dies of SIGPIPE nor traps on the failed
  /// write; the run ends as it would and its reports are written.
  @Test func aClosedStandardOutputCostsTheOutputNotTheRun() async throws {
    _ = try await SharedStack.shared.get()
    let out = SharedStack.runFolder("closed-stdout")
    try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
    let log = out.appendingPathComponent("harness.log")
    // `true` exits at once: every line the harness writes after that meets a closed pipe.
    let harness = try ChildProcess(["bash", "-c", "set -o pipefail; \"$0\" check --suite boot --out \"$1\" | true",
      Self.executable.path, out.path], in: out, output: log)
    let status = await harness.wait(until: .after(.seconds(240)))
    #expect(status == 0, "exit status \(status.map(String.init) ?? "none"): \((try? String(contentsOf: log, encoding: .utf8)) ?? "")")
    #expect(FileManager.default.fileExists(atPath: out.appendingPathComponent("report.json").path), "the reports were lost")
  }
}
}
