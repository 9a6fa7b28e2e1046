import Foundation
import HarnessSupport
import Testing

extension Integration {
  /// The live status line in a real terminal (tmux) 60 and 200 columns wide, during a real run whose test name
  /// is wider than 60 columns: at any moment at most one row shows it, and none is left when the run ends.
  @Suite struct StatusLineTmuxTests {
    @Test(arguments: [60, 200])
    func theStatusLineLeavesNoStaleRows(columns: Int) async throws {
      _ = try await SharedStack.shared.get()
      let server = "teeharness-\(UUID().uuidString.prefix(8))"
      let out = SharedStack.runFolder("tmux-\(columns)")
      let tmux = { (arguments: [String]) in try await Command.run(["tmux", "-L", server] + arguments) }
      defer { Task { _ = try? await Command.run(["tmux", "-L", server, "kill-server"]) } }
      let command = "env -u CI TERM=xterm '\(SignalTests.executable.path)' check --suite boot --test 'the TEE devices exist' --out '\(out.path)'; echo run-ended"
      // The pane stays open a while after the run so its last screen can be read; the server is ended below.
      let started = try await tmux(["new-session", "-d", "-x", "\(columns)", "-y", "50", command + "; sleep 60"])
      try #require(started.succeeded, "tmux: \(started.output)")
      var most = 0
      var counted = false
      var screen = ""
      let deadline = Deadline.after(.seconds(240))
      while !deadline.hasPassed {
        screen = try await tmux(["capture-pane", "-p", "-J"]).output
        let rows = try await tmux(["capture-pane", "-p"]).output.split(separator: "\n", omittingEmptySubsequences: false)
        most = max(most, rows.count { $0.contains("  … ") || $0.hasSuffix(" s") && $0.contains("tee-supplicant") && !$0.contains("PASS") })
        counted = counted || screen.contains("[1/1] boot/")
        if screen.contains("run-ended") { break }
        try await Task.sleep(for: .milliseconds(200))  // the next look at the screen; the loop ends on the marker
      }
      #expect(screen.contains("run-ended"), "the run did not end: \(screen)")
      #expect(most <= 1, "\(most) rows showed the status line at once")
      let finalRows = try await tmux(["capture-pane", "-p"]).output.split(separator: "\n")
      _ = try? await tmux(["kill-server"])
      #expect(!finalRows.contains { $0.contains("  … ") }, "a stale status row is left:\n\(finalRows.joined(separator: "\n"))")
      #expect(screen.contains("1 passed"), "\(screen)")
      #expect(counted, "the status line never showed the [n/N] counter")
    }
  }
}
