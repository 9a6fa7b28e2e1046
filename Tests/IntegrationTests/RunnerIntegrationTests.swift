import Console
import GDBRemote
import Foundation
import Guest
import HarnessSuites
import HarnessSupport
import Machine
import Reporting
import Suites
import Testing

extension Integration {
@Suite struct RunnerTests {
  func runner(_ label: String) async throws -> SuiteRunner {
    SuiteRunner(facts: try await SharedStack.shared.facts(), runDirectory: SharedStack.runFolder(label), reporter: TerminalReporter(), checks: .optee)
  }

  @Test func theBootAndXTestSuitesPassOnTheDefaultStack() async throws {
    let result = try await runner("check").run([bootSuite, xtestSuite])
    // Passed, but for the FF-A boot test, skipped on this SMC stack as the other transport's.
    for test in result.allTests where test.outcome != .passed && !(test.outcome == .skipped && (test.message ?? "").hasPrefix("OP-TEE is reached over")) {
      Issue.record("\(test.suite)/\(test.name): \(test.outcome) \(test.message ?? "") \(test.details ?? "")")
    }
    let xtestCases = result.allTests.filter { $0.suite == "xtest" && $0.name.contains("/") }.map(\.name)
    #expect(xtestCases.contains { $0.hasSuffix("/regression_1001") })
    #expect(xtestCases.contains { $0.hasSuffix("/regression_1033") })
    let boot = result.suites.first { $0.name == "boot" }
    #expect(boot?.properties["boot.shell ready"] != nil)
    #expect(boot?.tests.allSatisfy { !$0.slices.isEmpty } == true)
    let milestones = boot?.tests.first?.notes ?? []
    #expect(milestones.contains { $0.hasPrefix("shell ready:") })
  }

  /// `--exitfirst`: the first failure ends the run; every test not run, in this suite and the next, is in the
  /// reports as skipped, saying after which test.
  @Test func exitFirstStopsAtTheFirstFailureAndReportsTheRestAsNotRun() async throws {
    let first = Suite("first") {
      Test("passes") { t in _ = try await t.run("true") }
      Test("fails") { t in try t.require(false, "on purpose") }
      Test("never runs") { t in _ = try await t.run("true") }
    }
    let second = Suite("second") { Test("never runs either") { t in _ = try await t.run("true") } }
    var runner = try await runner("exitfirst")
    runner.exitFirst = true
    runner.fresh = .perSuite
    let result = await runner.run([first, second])
    let outcome = Dictionary(uniqueKeysWithValues: result.allTests.map { ("\($0.suite)/\($0.name)", $0) })
    #expect(outcome["first/passes"]?.outcome == .passed && outcome["first/fails"]?.outcome == .failed)
    for name in ["first/never runs", "second/never runs either"] {
      #expect(outcome[name]?.outcome == .skipped && outcome[name]?.message == "not run: --exitfirst after first/fails failed",
        "\(name): \(outcome[name]?.message ?? "missing")")
    }
    #expect(result.exitCode == 1)
  }

  /// A failure that finds a link broken decides, at once and without a machine, every later test that needs it;
  /// a test that needs another link runs. With `runDependents` each runs to its own verdict.
  @Test func aTestThatNeedsALinkFoundBrokenFailsAtOnceNamingIt() async throws {
    let link = StackLink("the link under test"), other = StackLink("another link")
    let first = Suite("finds") {
      Test("finds it broken") { t in
        _ = try await t.run("true")
        try t.require(false, breaks: link, "the link is down on purpose")
      }
      Test("needs it") { t in _ = try await t.run("touch /tmp/needs-it-ran") }
    }
    let second = Suite("later") {
      Test("needs it too", needs: { _ in [other, link] }) { t in _ = try await t.run("true") }
      Test("needs another", needs: { _ in [other] }) { t in _ = try await t.run("true") }
    }
    var suites = [first, second]
    suites[0].tests[1].needs = { _ in [link] }
    var runner = try await runner("dependents")
    let result = await runner.run(suites)
    let outcome = Dictionary(uniqueKeysWithValues: result.allTests.map { ("\($0.suite)/\($0.name)", $0) })
    #expect(outcome["finds/finds it broken"]?.outcome == .failed)
    for name in ["finds/needs it", "later/needs it too"] {
      #expect(outcome[name]?.outcome == .failed && outcome[name]?.seconds == 0
        && outcome[name]?.message == "not run: it needs the link under test, which finds/finds it broken found broken: the link is down on purpose",
        "\(name): \(outcome[name]?.message ?? "missing")")
    }
    #expect(outcome["later/needs another"]?.outcome == .passed)
    runner.runDependents = true
    let anyway = await runner.run(suites)
    #expect(anyway.allTests.filter { $0.name.hasPrefix("needs") }.allSatisfy { $0.outcome == .passed })
  }

  /// A failure that knows its machine unusable (a CPU left deaf) is taken at its word: its machine, whose shell
  /// still answers, is not reused — the next test gets another.
  @Test func aFailureThatSpoilsItsMachineIsTakenAtItsWord() async throws {
    let suite = Suite("spoils") {
      Test("leaves a mark and spoils its machine") { t in
        _ = try await t.run("touch /tmp/spoiled-here")
        throw TestFailure(message: "the machine is no use now", spoilsMachine: true)
      }
      Test("gets another machine") { t in
        let mark = try await t.run("test -e /tmp/spoiled-here && echo kept || echo fresh")
        try t.require(mark.output == "fresh", "the spoiled machine was reused")
      }
    }
    var runner = try await runner("spoils")
    runner.fresh = .perSuite
    let result = await runner.run([suite])
    let outcome = Dictionary(uniqueKeysWithValues: result.allTests.map { ($0.name, $0) })
    let spoiled = outcome["leaves a mark and spoils its machine"]
    #expect(spoiled?.outcome == .failed && spoiled?.message == "the machine is no use now", "\(spoiled?.message ?? "missing")")
    #expect(outcome["gets another machine"]?.outcome == .passed, "\(outcome["gets another machine"]?.message ?? "missing")")
  }

  @Test func failuresErrorsAndSkipsAreToldApartAndASpoiledMachineIsReplaced() async throws {
    let suite = Suite("faults") {
      Test("an assertion about the guest that does not hold") { t in
        let r = try await t.run("cat /proc/sys/kernel/ostype")
        try t.require(r.output == "Windows", "the guest runs \(r.output)")
      }
      Test("a pattern that never shows", timeout: .seconds(20)) { t in
        // The normal world says something during the test too, so both consoles' slices have lines.
        _ = try await t.run("echo looking for a secure line")
        try await t.expectSecure("no such line ever", timeout: .seconds(2))
      }
      Test("a test that outlives its deadline", timeout: .seconds(3)) { t in
        _ = try await t.run("sleep 60", timeout: .seconds(120))
      }
      Test("a body that ignores its deadline", timeout: .seconds(3)) { t in
        _ = try await t.run("touch /tmp/abandoned-here")
        // Never resumes and never listens to its cancellation: the runner must leave it, and its machine.
        await withUnsafeContinuation { (_: UnsafeContinuation<Void, Never>) in }
      }
      Test("a machine an abandoned body kept is not reused") { t in
        let mark = try await t.run("test -e /tmp/abandoned-here && echo kept || echo fresh")
        try t.require(mark.output == "fresh", "the machine of the abandoned body was reused")
      }
      Test("a bad line the test did not allow") { t in
        _ = try await t.run("echo 'Kernel panic - not syncing: provoked by a test' > /dev/kmsg; sleep 1")
      }
      Test("a bad line the test allowed", allowing: ["kernel panic"]) { t in
        _ = try await t.run("echo 'Kernel panic - not syncing: provoked and allowed' > /dev/kmsg; sleep 1")
        let seen = await t.normal.lines().contains { $0.text.contains("Kernel panic - not syncing: provoked and allowed") }
        try t.require(seen, "the provoked line should be on the console")
      }
      Test("QEMU dies under the test") { t in
        t.machine.kill()
        _ = try await t.run("true")
      }
      Test("the next test gets a fresh machine") { t in
        let uptime = try await t.run("cut -d. -f1 /proc/uptime")
        try t.require((Int(uptime.output) ?? 999) < 60, "uptime \(uptime.output) s: not a fresh machine")
      }
      Test("a test that does not apply") { t in try t.skip("not on this stack") }
    }
    let result = try await runner("faults").run([suite])
    let outcome = Dictionary(uniqueKeysWithValues: result.allTests.map { ($0.name, $0) })
    /// What the runner said of a test, for an expectation that fails.
    func said(_ name: String) -> Comment {
      guard let r = outcome[name] else { return "\(name): no result" }
      return "\(name): \(r.outcome) — \(r.message ?? "")\n\(r.details ?? "")"
    }
    let assertion = "an assertion about the guest that does not hold"
    #expect(outcome[assertion]?.outcome == .failed && outcome[assertion]?.message?.contains("the guest runs Linux") == true, said(assertion))
    let never = outcome["a pattern that never shows"]
    #expect(never?.outcome == .failed && never?.message?.contains("on the secure console within 2.0 s") == true
      && never?.details?.contains("last lines of the normal-world console") == true, said("a pattern that never shows"))
    for late in ["a test that outlives its deadline", "a body that ignores its deadline"] {
      #expect(outcome[late]?.outcome == .failed && outcome[late]?.message?.contains("did not finish within 3 s") == true, said(late))
    }
    #expect(outcome["a machine an abandoned body kept is not reused"]?.outcome == .passed, said("a machine an abandoned body kept is not reused"))
    let badLine = "a bad line the test did not allow"
    #expect(outcome[badLine]?.outcome == .failed && outcome[badLine]?.message?.contains("kernel panic on the normal console") == true, said(badLine))
    #expect(outcome["a bad line the test allowed"]?.outcome == .passed, said("a bad line the test allowed"))
    #expect(outcome["QEMU dies under the test"]?.outcome == .error, said("QEMU dies under the test"))
    #expect(outcome["the next test gets a fresh machine"]?.outcome == .passed, said("the next test gets a fresh machine"))
    #expect(outcome["a test that does not apply"]?.outcome == .skipped, said("a test that does not apply"))
    #expect(result.exitCode == 2)
    #expect(qemuProcesses(mentioning: result.runDirectory).isEmpty)

    // A JUnit consumer accepts the report, and the failed test carries both consoles' lines.
    let junit = URL(fileURLWithPath: result.runDirectory).appendingPathComponent("junit.xml")
    try Data(JUnitWriter.xml(result).utf8).write(to: junit)
    let checker = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../ci/junit-check").standardized
    // A failure that lasted 2 s: the secure console's 1 s callout has printed into its slice, the shell's command
    // into the normal console's.
    let summary = URL(fileURLWithPath: result.runDirectory).appendingPathComponent("summary.md")
    let checked = try await Command.run([checker.path, junit.path, "--failing", "a pattern that never shows", "--summary", summary.path])
    #expect(checked.status == 0, "\(checked.output)")
    #expect(checked.output.contains("valid against junit-10.xsd"))
    // GitHub's job summary: the counts, then each test that did not pass with its message.
    let markdown = (try? String(contentsOf: summary, encoding: .utf8)) ?? ""
    #expect(markdown.contains("| failure | faults/a pattern that never shows | no ") && markdown.contains("**1** skipped"), "\(markdown)")
  }
}
}

extension Integration {
  @Suite struct ThreadInvariantTests {
    @Test func aTestThatLeavesACallInFlightIsReportedWithTheBusyThread() async throws {
      let suite = Suite("leak") {
        Test("leaves a waiting call behind") { t in
          // A TEE_Wait of ten minutes suspends its thread well past the check's settling time.
          let parked = try await t.client.start(1, "wait", ms: 600_000, tag: "parked")
          try await t.client.waitUntilInvoking(parked, count: 1)
        }
        Test("leaves a call that ends soon") { t in
          // Busy at the check's first look, FREE a moment later: work in flight, not a leak.
          let short = try await t.client.start(1, "wait", ms: 1500, tag: "short")
          try await t.client.waitUntilInvoking(short, count: 1)
        }
        Test("an exempt test may leave it", leavesThreadsBusy: "it starts a call on purpose") { t in
          _ = try await t.run("xtest -t regression 1009 > /dev/null 2>&1 &")
        }
      }
      let runner = SuiteRunner(facts: try await SharedStack.shared.facts(), runDirectory: SharedStack.runFolder("leak"),
        reporter: TerminalReporter(), checks: .optee)
      let result = await runner.run([suite])
      let leak = result.allTests.first { $0.name == "leaves a waiting call behind" }
      #expect(leak?.outcome == .failed)
      #expect(leak?.message?.contains("OP-TEE threads still allocated 5 s after the test: thread") == true, "\(leak?.message ?? "")")
      #expect(leak?.message?.contains("SUSPENDED") == true || leak?.message?.contains("ACTIVE") == true)
      let short = result.allTests.first { $0.name == "leaves a call that ends soon" }
      #expect(short?.outcome == .passed, "\(short?.message ?? "")")
      let exempt = result.allTests.first { $0.name == "an exempt test may leave it" }
      #expect(exempt?.outcome == .passed)
      #expect(exempt?.notes.contains { $0.contains("exempt: it starts a call on purpose") } == true)
    }
  }
}
