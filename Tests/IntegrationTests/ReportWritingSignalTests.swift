import Foundation
import HarnessSupport
import Testing

/// The harness is stopped while it writes its reports: the moment is caught exactly by a shim preloaded into it
/// (built here with the host's C compiler) that stops the process just before the rename that puts `report.json`
/// in place, with the report staged beside it. Whatever the signal, the next start leaves no staged file behind,
/// and a report that exists is whole.
extension Integration {
@Suite struct ReportWritingSignalTests {
  static var executable: URL {
    URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("teeharness")
  }

  static let shimSource = """
    #define _GNU_SOURCE
    #include <dlfcn.h>
    #include <signal.h>
    #include <stdlib.h>
    #include <string.h>
    int rename(const char *from, const char *to) {
      static int (*real)(const char *, const char *);
      if (!real) real = (int (*)(const char *, const char *))dlsym(RTLD_NEXT, "rename");
      const char *stop = getenv("STOP_BEFORE_RENAMING_TO");
      if (stop && to && strcmp(stop, to) == 0) raise(SIGSTOP);
      return real(from, to);
    }
    """

  /// Builds the shim once per test into `folder`.
  static func shim(in folder: URL) async throws -> URL {
    let source = folder.appendingPathComponent("stop-at-rename.c"), library = folder.appendingPathComponent("stop-at-rename.so")
    try Data(shimSource.utf8).write(to: source)
    let built = try await Command.run(["cc", "-shared", "-fPIC", "-o", library.path, source.path, "-ldl"], timeout: .seconds(60))
    try #require(built.status == 0, "the shim did not build: \(built.output)")
    return library
  }

  /// The process's state letter from /proc (`T`: stopped).
  static func state(of pid: Int32) -> String? {
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8), let close = stat.lastIndex(of: ")") else { return nil }
    return stat[stat.index(after: close)...].split(separator: " ").first.map(String.init)
  }

  @Test(arguments: [SIGKILL, SIGTERM, SIGINT])
  func aSignalWhileTheReportsAreWrittenLeavesNothingStaged(signal: Int32) async throws {
    _ = try await SharedStack.shared.get()
    try #require(FileManager.default.isExecutableFile(atPath: Self.executable.path), "no \(Self.executable.path)")
    let work = SharedStack.runFolder("report-signal-\(signal)")
    try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: work) }
    let shim = try await Self.shim(in: work)
    for round in 1...5 {
      let out = work.appendingPathComponent("run-\(round)")
      let report = out.appendingPathComponent("report.json")
      var environment = ProcessInfo.processInfo.environment
      environment["LD_PRELOAD"] = shim.path
      environment["STOP_BEFORE_RENAMING_TO"] = report.path
      let log = work.appendingPathComponent("harness-\(round).log")
      let harness = try ChildProcess([Self.executable.path, "check", "--suite", "xtest", "--test", "1001", "--out", out.path],
        in: work, output: log, environment: environment)
      defer { harness.signal(SIGKILL) }
      let stopped = await eventually(within: .after(.seconds(240))) { Self.state(of: harness.pid) == "T" || !harness.isRunning }
      let said = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
      try #require(stopped && harness.isRunning, "round \(round): the harness never reached its report: \(said)")
      let staged = out.appendingPathComponent(".report.json.\(harness.pid).partial")
      #expect(FileManager.default.fileExists(atPath: staged.path), "round \(round): stopped, but \(staged.lastPathComponent) is not staged")
      harness.signal(signal)
      if signal != SIGKILL { harness.signal(SIGCONT) }
      let status = await harness.wait(until: .after(.seconds(30)))
      #expect(status != nil, "round \(round): the harness did not end after \(signal)")
      if signal == SIGKILL {
        #expect(status == 128 + SIGKILL)
      } else {
        // The run was over; the signal found it writing and it finished: the reports whole, the run's own status.
        #expect(status == 0, "round \(round): exit status \(status.map(String.init) ?? "none"): \((try? String(contentsOf: log, encoding: .utf8)) ?? "")")
        #expect(FileManager.default.fileExists(atPath: report.path), "round \(round): the report was not finished")
      }
      // The next start sweeps what a killed harness staged; a report that exists parses.
      let next = try await Command.run([Self.executable.path, "check", "--list"], timeout: .seconds(60))
      #expect(next.status == 0, "\(next.output)")
      #expect(!FileManager.default.fileExists(atPath: staged.path), "round \(round): \(staged.lastPathComponent) outlived the next start")
      let temporary = ProcessInfo.processInfo.environment["TMPDIR"].flatMap { $0.isEmpty ? nil : $0 } ?? "/tmp"
      let journal = URL(fileURLWithPath: temporary).appendingPathComponent("teeharness-\(harness.pid)-partials")
      #expect(!FileManager.default.fileExists(atPath: journal.path), "round \(round): the journal outlived the next start")
      let leftovers = try FileManager.default.contentsOfDirectory(atPath: out.path).filter { $0.hasPrefix(".") }
      #expect(leftovers.isEmpty, "round \(round): hidden files left in the run folder: \(leftovers)")
      if let data = FileManager.default.contents(atPath: report.path) {
        #expect((try? JSONSerialization.jsonObject(with: data)) != nil, "round \(round): report.json is not whole")
      }
      #expect(qemuProcesses(mentioning: out.path).isEmpty, "round \(round): a QEMU outlived the harness")
    }
  }
}
}
