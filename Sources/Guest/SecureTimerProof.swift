import Foundation
import HarnessSupport
import Machine
import Suites

/// Proof that a restored machine's secure timer runs: the test watchdog, a callout on that timer, raises a
/// notification every period, so Linux's `optee_notification` count rises after the machine became ready.
/// (Its `WD call_count` line is no proof: OP-TEE prints it only for the first calls.) The byte that made OP-TEE
/// run for the re-arm was handled before ready, so its notification is in the baseline.
struct SecureTimerProof: Sendable {
  /// Linux's notification count when the restored machine became ready.
  var count: Int
  /// When that was (machine seconds).
  var since: Double
  /// How long after `since` the count must have risen (the watchdog's period is 1 s).
  var within = 3.0

  /// Nil when the stack can give the proof; else why not.
  static func impossible(_ facts: StackFacts) -> String? {
    switch (facts.asyncNotifications, facts.opteeFlag("CFG_NOTIF_TEST_WD")) {
    case (true, true): nil
    case (nil, _), (_, nil): "the stack does not say whether it has the test watchdog (no conf.mk)"
    default: "the stack has no test watchdog"
    }
  }

  /// Takes the baseline on a machine that just became ready.
  static func start(on machine: Machine) async throws -> SecureTimerProof {
    SecureTimerProof(count: try await notifications(machine), since: machine.now())
  }

  static func notifications(_ machine: Machine) async throws -> Int {
    guard let line = try await machine.shell.interruptLine(matching: Interrupts.notificationName) else {
      throw HarnessError("/proc/interrupts lists no optee_notification interrupt")
    }
    return line.total
  }

  /// Nil when the count rose in time; else why the timer is taken for dead. Waits at most until `within`
  /// seconds after `since`.
  func check(_ machine: Machine) async -> String? {
    var now = count
    while true {
      guard let read = try? await Self.notifications(machine) else { return "the notification count could not be read" }
      now = read
      if now > count { return nil }
      if machine.now() > since + within || !machine.isRunning { break }
      try? await Task.sleep(for: .milliseconds(100))
    }
    return "the secure timer does not run on this restored machine: OP-TEE's test watchdog raised no notification in \((machine.now() - since).formatted(decimals: 1)) s after it was ready (optee_notification stayed at \(now))"
  }
}

extension StackChecks {
  /// OP-TEE's: after every test every OP-TEE thread is FREE (read from the secure world through the GDB stub); a
  /// restored machine proves its secure timer runs (the test watchdog's notifications keep coming).
  package static let optee = StackChecks(
    afterTest: { machine, poke in
      // A thread left SUSPENDED or ACTIVE is a call that never came back. `poke` enters the secure world at once
      // (a byte at the secure console) rather than at the next timer tick.
      guard let probe = machine.secureWorld else { return .unavailable(machine.secureWorldError ?? "no probe") }
      do {
        let table = try await probe.threadTable(poke: poke ? true : nil, deadline: .after(.seconds(10)))
        let busy = table.filter { !$0.isFree }
        if busy.isEmpty { return .held("OP-TEE threads after the test: \(table.count), all FREE") }
        return .broken("OP-TEE threads left allocated after the test: \(busy.map(\.description).joined(separator: ", "))",
          "thread table: \(table.map(\.description).joined(separator: ", "))\n\(await machine.context())")
      } catch {
        return .broken("the OP-TEE thread table could not be read after the test: \(error)", await machine.context())
      }
    },
    restored: { machine, facts in
      if let impossible = SecureTimerProof.impossible(facts) { return .failure(ProofImpossible(reason: impossible)) }
      let proof = try await SecureTimerProof.start(on: machine)
      return .success(RestoredProof { await proof.check($0) })
    })
}
