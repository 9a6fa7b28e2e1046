import Foundation

/// What a finished command left behind.
package struct CommandResult: Sendable {
  package var argv: [String]
  package var status: Int32
  /// Standard output and standard error, interleaved, when the command was captured; empty when logged to a file.
  package var output: String
  package var succeeded: Bool { status == 0 }
}

/// Runs host programs to completion: build steps, apt, gdb helpers. Long-lived processes (QEMU) use
/// `ChildProcess` instead.
package enum Command {
  /// Finds `name` on `PATH` (or takes it as is when it contains a slash).
  /// - Throws: `HarnessError` naming the tool and how to get it when it is not there.
  package static func locate(_ name: String, hint: String? = nil) throws -> URL {
    if name.contains("/") {
      guard FileManager.default.isExecutableFile(atPath: name) else {
        throw HarnessError("\(name) is not an executable file", fix: hint)
      }
      return URL(fileURLWithPath: name)
    }
    let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
    for dir in path.split(separator: ":") {
      let candidate = "\(dir)/\(name)"
      if FileManager.default.isExecutableFile(atPath: candidate) { return URL(fileURLWithPath: candidate) }
    }
    throw HarnessError("\(name) not found on PATH", fix: hint ?? "run `swift run teeharness setup` as root")
  }

  /// Runs `argv`; its output goes to `log` (appended) or, without a log, is captured into the result.
  /// The command runs in a process group of its own that cannot outlive the harness (`ChildProcess`):
  /// cancelling the calling task, or `timeout` passing, ends it and everything it started (TERM, then KILL).
  /// - Throws: `HarnessError` when the program cannot be found or started, or does not end within `timeout`.
  ///   A non-zero exit is *not* thrown: look at `status`.
  @discardableResult
  package static func run(
    _ argv: [String], in directory: URL? = nil, environment: [String: String]? = nil, log: URL? = nil,
    timeout: Duration = .seconds(4 * 3600)
  ) async throws -> CommandResult {
    let sink = log ?? FileManager.default.temporaryDirectory.appendingPathComponent("teeharness-cmd-\(getpid())-\(UUID().uuidString)")
    defer { if log == nil { try? FileManager.default.removeItem(at: sink) } }
    let here = directory ?? URL(fileURLWithPath: FileManager.default.currentDirectoryPath, isDirectory: true)
    let process = try ChildProcess(argv, in: here, output: sink, append: log != nil, environment: environment)
    let deadline = Deadline.after(timeout)
    let status = await withTaskCancellationHandler {
      await process.wait(until: deadline)
    } onCancel: {
      Task { await process.terminate() }
    }
    guard let status else {
      await process.terminate()
      if Task.isCancelled { throw CancellationError() }
      throw HarnessError("`\(argv.prefix(4).joined(separator: " "))` did not finish within \(Int(timeout.seconds)) s: ended",
        details: ((try? String(contentsOf: sink, encoding: .utf8)) ?? "").lastLines(20))
    }
    // Cancelled: the group is ended even if the program itself had already exited.
    if Task.isCancelled { await process.terminate() }
    let output = log == nil ? (try? String(contentsOf: sink, encoding: .utf8)) ?? "" : ""
    return CommandResult(argv: argv, status: status, output: output)
  }

  /// Runs `argv` and returns its output, trimmed.
  /// - Throws: `HarnessError` with the command and its output when it exits non-zero.
  package static func output(_ argv: [String], in directory: URL? = nil) async throws -> String {
    let result = try await run(argv, in: directory)
    guard result.succeeded else {
      throw HarnessError(
        "`\(argv.joined(separator: " "))` exited with status \(result.status)",
        details: result.output.lastLines(20))
    }
    return result.output.trimmingCharacters(in: .whitespacesAndNewlines)
  }
}

extension String {
  /// The last `n` lines, for error messages and log tails.
  package func lastLines(_ n: Int) -> String {
    split(separator: "\n", omittingEmptySubsequences: false).suffix(n).joined(separator: "\n")
  }
}
