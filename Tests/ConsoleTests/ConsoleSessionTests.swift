import Console
import Foundation
import HarnessSupport
import Testing
import TestSupport

/// The console session against a scripted guest on a real socket: waits, their failures and what they name.
@Suite struct ConsoleSessionTests {
  @Test func aPatternSplitAcrossWritesIsFoundAndConsumed() async throws {
    let console = try await FakeConsole()
    try console.say("[    1.0] optee: revision 4.10 (")
    try console.say("abcdef)\n# ")
    let match = try await console.session.expect(.regex(#"optee: revision (\d+)\.(\d+)"#), timeout: .seconds(5))
    #expect(match.groups == ["optee: revision 4.10", "4", "10"])
    await #expect(throws: ExpectTimeout.self) {
      try await console.session.expect(.literal("optee: revision"), timeout: .milliseconds(200))
    }
    try await console.session.send("echo hi\n")
    try await withDeadline(.after(.seconds(5)), "the typed line") {
      while !console.typed.contains("echo hi\n") { try await Task.sleep(for: .milliseconds(10)) }
    }
  }

  @Test func aWaitThatRunsOutNamesTheConsoleThePatternAndBothTails() async throws {
    let console = try await FakeConsole(name: "secure", rules: BadPatternWatcher.secureWorld)
    try console.say("I/TC: OP-TEE version: 4.10\n")
    let error = await #expect(throws: ExpectTimeout.self) {
      try await console.session.expect(.literal("Primary CPU switching to normal world boot"), timeout: .milliseconds(300))
    }
    let text = "\(error!)"
    #expect(text.hasPrefix("no \"Primary CPU switching to normal world boot\" on the secure console within 0.3 s"), "\(text)")
    #expect(text.contains("--- both consoles' last lines"))
  }

  @Test func aBadLineRaisesAnAlarmAndAClosedConsoleEndsTheWait() async throws {
    let console = try await FakeConsole()
    try console.say("[   12.5] Kernel panic - not syncing: Attempted to kill init!\n")
    try await withDeadline(.after(.seconds(5)), "the alarm") {
      while console.alarms.isEmpty { try await Task.sleep(for: .milliseconds(10)) }
    }
    #expect(console.alarms.map(\.rule) == ["kernel panic"])
    // Whether the wait begins before or after the hang-up, it ends with the console closed, naming its pattern.
    let waiting = Task { try await console.session.expect(.literal("# "), timeout: .seconds(30)) }
    console.hangUp()
    let outcome = await waiting.result
    #expect(throws: ConsoleClosed.self) { try outcome.get() }
    if case .failure(let closed) = outcome {
      #expect("\(closed)".hasPrefix("the normal console closed (QEMU exited) while waiting for \"# \""), "\(closed)")
    }
  }
}
