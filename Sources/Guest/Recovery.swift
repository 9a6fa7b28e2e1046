import Foundation
import HarnessSupport
import Suites

/// The state a scenario must come back to: what the TEE holds, which tee-supplicant serves, how many problem
/// lines the kernel has logged.
package struct QuietState: Sendable {
  package var resources: TeeResources
  package var supplicant: Int
  package var kernelProblems: Int
}

/// Whether a scenario killed tee-supplicant on purpose.
package enum SupplicantFate: Sendable { case keeps, killed }

/// How a scenario recovered, measured from the moment something was killed.
package struct Recovery: Sendable {
  /// Kill → every OP-TEE thread FREE (read from the secure world).
  package var threadsFree: Double
  /// Kill → a new tee-supplicant serving, when the old one died.
  package var newSupplicant: Double?
  /// Kill → the next OCALL answered.
  package var nextOCall: Double
}

extension TestContext {
  /// Reads the state to come back to; requires a serving tee-supplicant. One OCALL is made first: the first
  /// since boot sets up what every later one reuses, and no scenario's baseline may depend on which ran before.
  package func quietState() async throws -> QuietState {
    guard let supplicant = try await supplicant.serving() else {
      throw TestFailure(message: "no tee-supplicant serves before the scenario", details: try await hangReport(client: nil))
    }
    let warm = try await plugin.call(.echo, memory: .registered, bytes: 16, tag: "warm")
    try require(warm.succeeded, "the OCALL before the scenario failed: \(warm.result) (plugin \(warm.plugin))")
    return QuietState(resources: try await optee.resources(), supplicant: supplicant, kernelProblems: try await kernelProblems().count)
  }

  /// After `event` (a kill, at `at`): every OP-TEE thread must be FREE within `bound`; the plugin must have
  /// answered what it was serving (a hung one is let go first, with `releasePlugin`); no TA instance, session or
  /// shared memory may be left; no task stuck in D state; no kernel warning; the next OCALL must work; and
  /// tee-supplicant must serve — the same process unless the scenario killed it. Failures carry everything known
  /// about the hang; a supplicant that died though nobody killed it is reported as tee-supplicant's known failure
  /// when the kernel had refused its answer (EBADF).
  @discardableResult
  package func requireRecovered(from before: QuietState, after event: String, at: ContinuousClock.Instant,
    consoleFrom: Double, supplicant fate: SupplicantFate, client: Int?, releasePlugin: Bool = false,
    bound: Duration = .seconds(10), leaksChecked: Bool = true) async throws -> Recovery
  {
    let table = try await optee.probe().threadTableOnceFree(deadline: .after(bound))
    let threadsFree = (ContinuousClock.now - at).seconds
    try await require(table.allSatisfy(\.isFree),
      "\(bound.seconds.formatted(decimals: 0)) s after \(event) the OCALL's thread never came back: \(table.filter { !$0.isFree }.map(\.description).joined(separator: ", "))"
    ) { try await hangReport(client: client) }

    if releasePlugin { try await plugin.releaseHung() }
    var newSupplicant: Double?
    if fate == .killed {
      let restarted = try await supplicant.waitNew(replacing: before.supplicant, within: .seconds(20))
      newSupplicant = restarted.map { _ in (ContinuousClock.now - at).seconds }
      try require(restarted != nil, "no tee-supplicant serves again 20 s after \(event)",
        details: await normalLines(since: consoleFrom).suffix(30).joined(separator: "\n"))
    } else {
      let answered = try await plugin.answeredAll(within: .seconds(15))
      // A supplicant that aborted on EBADF (optee_client#423) before its plugin answered took the plugin with it:
      // requireSameSupplicant tells that known failure from an unexplained death.
      let sameSupplicant = try await supplicant.serving() == before.supplicant
      check(answered || !sameSupplicant, "the plugin never answered what it was serving after \(event)")
      try await requireSameSupplicant(before.supplicant, after: event, consoleFrom: consoleFrom, clientKilled: client != nil)
    }

    if leaksChecked { try await requireNothingLeft(since: before, after: event) }

    let next = try await plugin.call(.echo, memory: .registered, bytes: 64, tag: "next")
    let nextOCall = (ContinuousClock.now - at).seconds
    check(next.succeeded, "the next OCALL after \(event) failed: result \(next.result), plugin \(next.plugin)")
    check(!next.succeeded || next.intact,
      "the next OCALL after \(event) succeeded but its bytes came back changed (\(next.returned) of \(next.bytes) bytes)")
    return Recovery(threadsFree: threadsFree, newSupplicant: newSupplicant, nextOCall: nextOCall)
  }

  /// No TA instance, session or pool growth since `before` (given 10 s to settle), no task in D state, no new
  /// kernel warning.
  package func requireNothingLeft(since before: QuietState, after event: String) async throws {
    var leaks: [String] = []
    _ = try await poll(within: .seconds(10)) {
      leaks = try await optee.resources().leaks(since: before.resources)
      return leaks.isEmpty
    }
    check(leaks.isEmpty, "left after \(event): \(leaks.joined(separator: "; "))")
    let stuck = try await tasksInDState()
    check(stuck.isEmpty, "tasks stuck in D state after \(event): \(stuck.joined(separator: "; "))")
    let problems = try await kernelProblems()
    check(problems.count <= before.kernelProblems,
      "the kernel logged after \(event): \(problems.dropFirst(before.kernelProblems).joined(separator: " | "))")
  }

  /// The scenario did not kill tee-supplicant: the same process must still serve. When the kernel refused its
  /// answer to a request whose client had been killed (TEE_IOC_SUPPL_SEND → EBADF), tee-supplicant ≤ 4.11 is
  /// aborting: it swallows the next request and exits, and that request then deadlocks in the driver (see
  /// "tee-supplicant is killed while it serves the OCALL"). That is its known failure, reported as such; the
  /// harness then restarts it while it is idle, so the scenario's own recovery is what the test measures.
  func requireSameSupplicant(_ old: Int, after event: String, consoleFrom: Double, clientKilled: Bool) async throws {
    let refusal = { (line: String) in line.contains("TEE_IOC_SUPPL_SEND") && line.contains("Bad file descriptor") }
    var lines: [String] = []
    // The answer to a killed client's request is refused just after the plugin logs it: give the supplicant's
    // error line up to 10 s to reach the console (a loaded host delays it by seconds), so an aborting supplicant
    // never survives into the next scenario and dies in the middle of it.
    _ = try await poll(within: .seconds(clientKilled ? 10 : 0)) {
      lines = await normalLines(since: consoleFrom)
      return lines.contains(where: refusal)
    }
    if let refused = lines.first(where: refusal) {
      let serving = try await supplicant.serving()
      if serving == old { _ = try await run("kill -9 \(old)") }
      let restarted = try await supplicant.waitNew(replacing: old, within: .seconds(20))
      try require(restarted != nil, "no tee-supplicant serves again after the aborting pid \(old) ended",
        details: await normalLines(since: consoleFrom).suffix(30).joined(separator: "\n"))
      note("tee-supplicant (pid \(old)) logged \"\(refused.drop { $0 != "E" })\" after \(event)\(serving == old ? "; restarted by the harness while idle" : "; it had exited"): pid \(restarted!.pid) serves now")
      report(case: "tee-supplicant survives \(event)", .skipped,
        message: "known failure of tee-supplicant (outside this project): when the client of a request it is serving "
          + "is killed, the kernel refuses the late answer with EBADF; tee-supplicant ≤ 4.11 treats that as fatal, "
          + "swallows the next request and exits (OP-TEE/optee_client#423)")
      return
    }
    let serving = try await supplicant.serving()
    guard serving != old else { return }
    let exits = lines.filter { $0.contains(Supplicant.exitLine) }
    check(false, "tee-supplicant (pid \(old)) died after \(event) though nobody killed it (\(exits.joined(separator: "; "))); serving now: \(serving.map(String.init) ?? "none")")
  }
}

extension Recovery {
  package var description: String {
    "thread FREE after \(threadsFree.formatted(decimals: 2)) s"
      + (newSupplicant.map { ", new tee-supplicant after \($0.formatted(decimals: 2)) s" } ?? "")
      + ", next OCALL answered after \(nextOCall.formatted(decimals: 2)) s"
  }
}
