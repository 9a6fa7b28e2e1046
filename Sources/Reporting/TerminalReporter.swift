import Foundation
import HarnessSupport

/// Progress and the summary for a person or a CI log. On a terminal (and not under `CI`), a live status line
/// shows the running suite, test and elapsed time; in CI or through a pipe only plain lines are written.
/// Colour only on a terminal without `NO_COLOR`.
package struct TerminalReporter: Sendable {
  package var colour: Bool
  package var live: Bool
  let status: StatusLine?

  package init(environment: [String: String] = ProcessInfo.processInfo.environment) {
    let terminal = isatty(STDOUT_FILENO) == 1 && environment["TERM"] != "dumb"
    let ci = ["", "0", "false"].contains(environment["CI"] ?? "") == false
    live = terminal && !ci
    colour = terminal && !ci && environment["NO_COLOR"].map(\.isEmpty) != false
    status = live ? StatusLine() : nil
  }

  func paint(_ text: String, _ code: String) -> String { colour ? "\u{1B}[\(code)m\(text)\u{1B}[0m" : text }

  package func label(_ outcome: Outcome) -> String {
    switch outcome {
    case .passed: paint("PASS", "32")
    case .failed: paint("FAIL", "31")
    case .error: paint("ERROR", "35")
    case .skipped: paint("SKIP", "33")
    case .flaky: paint("FLAKY", "31")
    }
  }

  package func line(_ text: String) {
    if let status { status.print(text) } else { Output.line(text) }
  }

  package func suiteStarted(_ name: String) { line(paint("suite \(name)", "1")) }

  /// How many test runs the run plans (`[n/N]` on the status line).
  package func plan(_ runs: Int) { status?.plan(runs) }

  /// On a terminal: `… [n/N] suite/test 12 s` until the test finishes. `run` counts repeats (`--repeat`).
  package func testStarted(suite: String, test: String, run: (Int, of: Int)? = nil) {
    let repeatText = run.map { " (run \($0.0) of \($0.of))" } ?? ""
    status?.start("\(suite)/\(test)", "\(suite)/\(test)\(repeatText)")
  }

  package func testFinished(_ result: TestResult) {
    status?.finish(result.id)
    var text = "  \(label(result.outcome)) \(result.suite)/\(result.name) (\(result.seconds.formatted(decimals: 1)) s)"
    if let runs = result.runs { text += " [\(runs.map(\.rawValue).joined(separator: " "))]" }
    if let message = result.message, result.outcome != .passed { text += " — \(message)" }
    line(text)
    if [.failed, .error, .flaky].contains(result.outcome), let details = result.details, !details.isEmpty {
      line(details.split(separator: "\n", omittingEmptySubsequences: false).map { "      \($0)" }.joined(separator: "\n"))
    }
  }

  package func summary(_ run: RunResult) {
    status?.stop()
    var counts = "\(run.count(.passed)) passed, \(run.count(.failed)) failed, \(run.count(.error)) errors, \(run.count(.skipped)) skipped"
    if run.count(.flaky) > 0 { counts += ", \(run.count(.flaky)) flaky" }
    line("")
    line(paint("teeharness: \(counts) in \(run.seconds.formatted(decimals: 1)) s", run.exitCode == 0 ? "32;1" : "31;1"))
    let folder = URL(fileURLWithPath: run.runDirectory)
    for test in run.allTests where [.failed, .error, .flaky].contains(test.outcome) {
      line("  \(label(test.outcome)) \(test.id): \(test.message ?? "")")
      if !test.slices.isEmpty {
        // A repeated test's logs are per run: point at the first run that did not pass.
        let run = test.runs.map { runs in ".run-\((runs.firstIndex { $0 != .passed } ?? 0) + 1)" } ?? ""
        let base = folder.appendingPathComponent(test.suite).appendingPathComponent(TestResult.fileStem(test.name) + run).path
        line("      logs: \(base).normal.log, \(base).secure.log")
      }
    }
    line("  transcripts and reports: \(run.runDirectory) (to look at: \(run.runDirectory)/report.html)")
  }
}

/// The one live line at the bottom of a terminal: the tests running now (one per machine with `--jobs`), each with
/// its elapsed time, redrawn every second; erased before any other line is written so output never interleaves
/// with it.
final class StatusLine: @unchecked Sendable {
  private let lock = NSLock()
  private var running: [(key: String, text: String, started: ContinuousClock.Instant)] = []
  private var ticker: Task<Void, Never>?
  private var planned = 0
  private var begun = 0

  func plan(_ runs: Int) { lock.withLock { planned = runs } }

  /// A test began (`key` names it until `finish`).
  func start(_ key: String, _ text: String) {
    lock.withLock {
      begun += 1
      let shown = planned > 0 ? "[\(min(begun, planned))/\(planned)] \(text)" : text
      running.removeAll { $0.key == key }
      running.append((key, shown, .now))
      draw()
      if ticker == nil {
        ticker = Task { [weak self] in
          while !Task.isCancelled {
            try? await Task.sleep(for: .seconds(1))  // a clock for the display, not a wait for the guest
            self?.tick()
          }
        }
      }
    }
  }

  /// The test `key` ended: the line shows the others still running, or goes.
  func finish(_ key: String) {
    lock.withLock {
      running.removeAll { $0.key == key }
      if running.isEmpty { clear() } else { draw() }
    }
  }

  /// No test runs any more (the summary follows).
  func stop() { lock.withLock { running = []; clear() } }

  /// Called with the lock held.
  private func clear() {
    ticker?.cancel()
    ticker = nil
    Output.raw("\r\u{1B}[K")
  }

  private func tick() { lock.withLock { draw() } }

  func print(_ line: String) {
    lock.withLock {
      Output.raw((running.isEmpty ? "" : "\r\u{1B}[K") + line + "\n")
      draw()
    }
  }

  /// Called with the lock held.
  private func draw() {
    guard let last = running.last else { return }
    let seconds = { (started: ContinuousClock.Instant) in Int((ContinuousClock.now - started).seconds) }
    let text: String, suffix: String
    if running.count == 1 {
      (text, suffix) = ("  … \(last.text)", " \(seconds(last.started)) s")
    } else {
      (text, suffix) = ("  … " + running.map { "\($0.text) \(seconds($0.started)) s" }.joined(separator: " · "), "")
    }
    Output.raw("\r\u{1B}[K" + Self.fitted(text, suffix: suffix, width: Self.columns()))
  }

  /// `text` + `suffix` in fewer than `width` columns (a line as wide as the terminal would wrap, and `\r` would
  /// then redraw only its last row): the middle of `text` gives way to `…`.
  static func fitted(_ text: String, suffix: String, width: Int) -> String {
    let room = max(width - 1 - suffix.count, 8)
    guard text.count > room else { return text + suffix }
    let head = (room - 1) / 2, tail = room - 1 - head
    return String(text.prefix(head)) + "…" + String(text.suffix(tail)) + suffix
  }

  /// The terminal's width (80 when standard output is not a terminal that says).
  static func columns() -> Int {
    var size = winsize()
    guard ioctl(STDOUT_FILENO, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 else { return 80 }
    return Int(size.ws_col)
  }
}
