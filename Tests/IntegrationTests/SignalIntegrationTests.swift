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
    for round in 1...5 {
      let (status, folder) = try await stop(with: SIGKILL, round: round)
      #expect(status == 128 + SIGKILL)
      // Nothing in the harness ran: the process guard sees its pipe close and ends QEMU (TERM, then KILL).
      let gone = await eventually(within: .after(.seconds(10))) { qemuProcesses(mentioning: folder).isEmpty }
      #expect(gone, "round \(round): QEMU outlived a SIGKILLed harness")
    }
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

  /// Stopped while a restored machine runs its tests (the restore itself, or a test in flight), 5 times per
  /// signal: no QEMU survives, the saved machine is kept intact (an interrupted restore is not a damaged file),
  /// and the run's socket folder is gone once the harness starts again.
  @Test(arguments: [SIGINT, SIGTERM, SIGKILL])
  func aStopDuringARestoredRunLeavesNothingAndKeepsTheSavedMachine(signal: Int32) async throws {
    _ = try await SharedStack.shared.get()
    for round in 1...5 {
      let out = SharedStack.runFolder("restored-\(signal)-\(round)")
      try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
      let log = out.appendingPathComponent("harness.log")
      let harness = try ChildProcess([Self.executable.path, "check", "--suite", "xtest", "--out", out.path], in: out, output: log)
      defer { harness.signal(SIGKILL) }
      // Later rounds stop later: round 1 in the restore, round k in a machine restored
      // after k − 1 tests have finished.
      let finished = await eventually(within: .after(.seconds(120))) {
        let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
        return text.components(separatedBy: "PASS ").count - 1 >= round - 1 || !harness.isRunning
      }
      try #require(finished && harness.isRunning, "round \(round): the run ended first: \((try? String(contentsOf: log, encoding: .utf8)) ?? "")")
      // A machine restored from the saved one (QEMU with `-incoming`), and its private folder (sockets, flash
      // image: `<tmp>/teeharness-<harness pid>-XXXXXX`), read at one look: the machine may be gone at the next.
      var folders: [String] = []
      let restored = await eventually(within: .after(.seconds(120))) {
        folders = qemuProcesses(mentioning: out.path).flatMap { pid -> [String] in
          let cmdline = String(decoding: (FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") ?? Data()).map { $0 == 0 ? 0x20 : $0 }, as: UTF8.self)
          guard cmdline.contains("-incoming"),
            let regex = try? NSRegularExpression(pattern: "/[^ ,=]*/teeharness-\(harness.pid)-[A-Za-z0-9]{6}")
          else { return [] }
          return regex.matches(in: cmdline, range: NSRange(cmdline.startIndex..., in: cmdline)).compactMap { Range($0.range, in: cmdline).map { String(cmdline[$0]) } }
        }
        return !folders.isEmpty || !harness.isRunning
      }
      try #require(restored && harness.isRunning, "round \(round): no restored machine: \((try? String(contentsOf: log, encoding: .utf8)) ?? "")")
      harness.signal(signal)
      let status = await harness.wait(until: .after(.seconds(40)))
      #expect(status != nil, "round \(round): the harness did not end")
      let gone = await eventually(within: .after(.seconds(10))) { qemuProcesses(mentioning: out.path).isEmpty }
      #expect(gone, "round \(round): a QEMU outlived the harness")
      _ = try await Command.run([Self.executable.path, "list"])
      for folder in Set(folders) {
        #expect(!FileManager.default.fileExists(atPath: folder), "round \(round): socket folder \(folder) left")
      }
      let snapshots = CacheLocation.resolve().appendingPathComponent("snapshots")
      let names = (try? FileManager.default.contentsOfDirectory(atPath: snapshots.path)) ?? []
      #expect(!names.contains { $0.hasSuffix(".\(harness.pid).partial") }, "round \(round): a half-saved machine left")
    }
    // Still there and intact: the next run restores it.
    let out = SharedStack.runFolder("restored-after-\(signal)")
    let after = try await Command.run([Self.executable.path, "check", "--suite", "xtest", "--out", out.path])
    #expect(after.status == 0, "\(after.output.lastLines(10))")
    let report = (try? String(contentsOf: out.appendingPathComponent("report.json"), encoding: .utf8)) ?? ""
    #expect(report.contains("restore.ready") && !report.contains("restore.damaged") && !report.contains("restore.failed"),
      "the saved machine did not survive the interruptions")
  }

  /// Processes whose command line or working folder mentions `text`.
  static func processes(mentioning text: String) -> [Int32] {
    let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
    return entries.compactMap { Int32($0) }.filter { pid in
      guard pid != getpid(), let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return false }
      let cmdline = String(decoding: data.map { $0 == 0 ? 0x20 : $0 }, as: UTF8.self)
      let cwd = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/cwd")) ?? ""
      let state = (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8))?.split(separator: " ").dropFirst(2).first
      return (cmdline.contains(text) || cwd.contains(text)) && state != "Z"
    }
  }

  /// An image build stopped while OP-TEE compiles, 5 times per signal: no make or compiler outlives the harness,
  /// and its scratch folder is gone once the harness starts again; nothing half-built is stored.
  @Test(arguments: [SIGINT, SIGTERM, SIGKILL])
  func noBuildToolOutlivesAnInterruptedBuild(signal: Int32) async throws {
    _ = try await SharedStack.shared.get()
    let cache = CacheLocation.resolve()
    for round in 1...5 {
      let out = SharedStack.runFolder("build-\(signal)-\(round)")
      try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
      let log = out.appendingPathComponent("harness.log")
      // A thread count no stored OP-TEE has (none of these builds is ever finished): it starts from nothing.
      let mark = "CFG_NUM_THREADS=\(Int.random(in: 11...63))"
      let harness = try ChildProcess([Self.executable.path, "images", "build", "--set", "optee.\(mark)"], in: out, output: log)
      defer { harness.signal(SIGKILL) }
      let scratch = "tmp/optee-p\(harness.pid)-"
      let compiling = await eventually(within: .after(.seconds(120))) {
        Self.processes(mentioning: scratch).contains { pid in
          let name = (try? String(contentsOfFile: "/proc/\(pid)/comm", encoding: .utf8)) ?? ""
          return name.hasPrefix("make") || name.hasPrefix("cc1") || name.contains("gcc")
        } || !harness.isRunning
      }
      try #require(compiling && harness.isRunning, "round \(round): OP-TEE never compiled: \((try? String(contentsOf: log, encoding: .utf8)) ?? "")")
      let tools = Self.processes(mentioning: scratch)
      harness.signal(signal)
      let status = await harness.wait(until: .after(.seconds(30)))
      #expect(status != nil, "round \(round): the harness did not end")
      let gone = await eventually(within: .after(.seconds(10))) { tools.allSatisfy { kill($0, 0) != 0 } && Self.processes(mentioning: scratch).isEmpty }
      #expect(gone, "round \(round): \(Self.processes(mentioning: scratch).count) build processes outlived the harness")
      // The next start sweeps what the killed one left; the store has no half-built entry.
      _ = try await Command.run([Self.executable.path, "list"])
      let left = ((try? FileManager.default.contentsOfDirectory(atPath: cache.appendingPathComponent("tmp").path)) ?? [])
        .filter { $0.hasPrefix("optee-p\(harness.pid)-") }
      #expect(left.isEmpty, "round \(round): scratch left: \(left)")
      let stored = (try? FileManager.default.contentsOfDirectory(atPath: cache.appendingPathComponent("store/optee").path)) ?? []
      for key in stored {
        let record = cache.appendingPathComponent("store/optee/\(key)/record.json")
        let text = (try? String(contentsOf: record, encoding: .utf8)) ?? ""
        #expect(!text.contains("\(mark)\""), "round \(round): a build that was stopped is in the store")
      }
    }
  }
}
}
