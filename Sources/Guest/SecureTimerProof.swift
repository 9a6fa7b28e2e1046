import Foundation
import GDBRemote
import HarnessSupport
import Machine
import Suites

/// Proof that a restored machine's secure timer runs, read from the timer itself first: OP-TEE sets a new compare
/// value (`CNTPS_CVAL_EL1`) each time it fires, so a value that moved since the machine became ready is the timer
/// running — whatever its callouts do (a test watchdog that stopped re-arming itself is the suites' finding, not
/// the restore's). Without the stub's view: the test watchdog, a callout on that timer, raises a notification
/// every period, so Linux's notification count (`optee_notification`, `ARM-FFA-SRI` over FF-A) rises — and when
/// it does not, the callout itself is caught running (a breakpoint), so a broken notification path is not taken
/// for a dead timer. (Its `WD call_count` line is no proof: OP-TEE prints it only for the first calls.)
struct SecureTimerProof: Sendable {
  /// Linux's notification count when the restored machine became ready.
  var count: Int
  /// The secure timer's compare value by CPU when the machine became ready (nil: not read).
  var compareValues: [Int: UInt64]?
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
    let values = try? await machine.secureWorld?.secureTimerCompareValues(deadline: .after(.seconds(5)))
    return SecureTimerProof(count: try await notifications(machine), compareValues: values ?? nil, since: machine.now())
  }

  static func notifications(_ machine: Machine) async throws -> Int {
    guard let line = try await machine.shell.interruptLine(matching: Interrupts.notificationName(nil)) else {
      throw HarnessError("/proc/interrupts lists no notification interrupt (optee_notification, ARM-FFA-SRI)")
    }
    return line.total
  }

  /// Nil when the secure timer runs; else why it is taken for dead. A compare value that moved proves it; else a
  /// risen notification count (the watchdog's callout raised them); else the callout itself is waited for with a
  /// breakpoint, so a notification interrupt that never reaches Linux is not blamed on the timer (the suites that
  /// test notifications name that). Waits at most until `within` seconds after `since`, or a period for the callout.
  func check(_ machine: Machine) async -> String? {
    // The timer itself.
    var stayed = ""
    if let before = compareValues, let probe = machine.secureWorld {
      // A period at least from now: OP-TEE may hold the timer disabled for a while between its callouts.
      let until = max(since + within, machine.now() + within)
      while let values = try? await probe.secureTimerCompareValues(deadline: .after(.seconds(5))) {
        // A value set anew, or a timer enabled since, is the timer running. None enabled is OP-TEE's choice, not
        // the restore's: no callout left to run (its test's periodic callout ends after 20 runs) — nothing to prove.
        if values.isEmpty || values.contains(where: { before[$0.key] != $0.value }) { return nil }
        stayed = values.sorted { $0.key < $1.key }.map { "0x\(String($0.value, radix: 16)) on CPU \($0.key)" }.joined(separator: ", ")
        if machine.now() > until || !machine.isRunning { break }
        try? await Task.sleep(for: .milliseconds(200))
      }
    }
    let timer = stayed.isEmpty ? "" : "its compare value (CNTPS_CVAL_EL1) stayed at \(stayed) since the machine was ready, "
    var now = count
    while true {
      guard let read = try? await Self.notifications(machine) else { break }
      now = read
      if now > count { return nil }
      if machine.now() > since + within || !machine.isRunning { break }
      try? await Task.sleep(for: .milliseconds(100))
    }
    guard let probe = machine.secureWorld, probe.tee.byName[Self.callout] != nil else {
      return "the secure timer does not run on this restored machine: \(timer)OP-TEE's test watchdog raised no notification in \((machine.now() - since).formatted(decimals: 1)) s after it was ready (the notification count stayed at \(now))"
    }
    do {
      try await probe.whenStopped(at: Self.callout, poke: false, deadline: .after(.seconds(within))) { _ in }
      return nil
    } catch is DeadlineExceeded {
      return "the secure timer does not run on this restored machine: \(timer)OP-TEE's watchdog callout (\(Self.callout), due every second on the secure timer) did not run in \(within.formatted(decimals: 0)) s, and Linux's notification count stayed at \(now)"
    } catch {
      return "the secure timer of this restored machine could not be checked: \(error)"
    }
  }

  /// The test watchdog's callout, run by OP-TEE's callout service on the secure timer.
  static let callout = "test_wd_callback"
}

extension StackChecks {
  /// OP-TEE's thread table at the next secure interrupt (`poke`: at once, at a standard call) or, when none comes within 5 s (a
  /// stack whose secure interrupts do not reach OP-TEE), where OP-TEE takes a standard call the harness makes: the
  /// check does not lean on the interrupt paths the suites test.
  /// A stack that let it happen once reads it at a standard call from then on (5 s of waiting per test add up to
  /// minutes on such a stack).
  static func threadTable(_ machine: Machine, _ probe: SecureWorldProbe, poke: Bool?) async throws -> (table: [OpteeThread], how: String?) {
    let stack = machine.configuration.images.digest
    let why = "read at a standard call: no secure interrupt entered OP-TEE within 5 s"
    // In the background, the call may wait in Linux for a thread a test left busy without keeping the shell.
    func atStandardCall(background: Bool = false) async throws -> [OpteeThread] {
      let shell = machine.shell, command = background ? "\(Machine.standardCall) &" : Machine.standardCall
      return try await probe.threadTable(atStandardCall: { _ = try await shell.run(command, timeout: .seconds(10)) },
        deadline: .after(.seconds(10)))
    }
    if deafStacks.contains(stack) { return (try await atStandardCall(), "\(why) earlier in this run") }
    // A look wanted at once enters OP-TEE by a standard call, not by a byte at the secure console: a stack that dies
    // of the console's interrupt (a path under test) is not killed by the check.
    if poke == true { return (try await atStandardCall(background: true), nil) }
    do {
      return (try await probe.threadTable(poke: poke, deadline: .after(.seconds(5))), nil)
    } catch is DeadlineExceeded {
      deafStacks.insert(stack)
      return (try await atStandardCall(), why)
    }
  }

  /// The stacks (by their images' digest) on which no secure interrupt entered OP-TEE within 5 s of a look.
  static let deafStacks = StackSet()

  /// How long a thread busy after a test may take to become FREE before it counts as left allocated: a bottom
  /// half or a returning call takes well under a second; five allow for a host busy with other work.
  static let settle = Duration.seconds(5)

  /// OP-TEE's: after every test every OP-TEE thread is FREE (read from the secure world through the GDB stub); a
  /// restored machine proves its secure timer runs (the test watchdog's notifications keep coming).
  package static let optee = StackChecks(
    afterTest: { machine, poke in
      // A thread left SUSPENDED or ACTIVE is a call that never came back. `poke` enters the secure world at once
      // (a standard call) rather than at the next timer tick.
      guard let probe = machine.secureWorld else { return .unavailable(machine.secureWorldError ?? "no probe") }
      do {
        let (first, how) = try await threadTable(machine, probe, poke: poke ? true : nil)
        let said = how.map { " (\($0))" } ?? ""
        if first.allSatisfy(\.isFree) { return .held("OP-TEE threads after the test: \(first.count), all FREE\(said)") }
        // Work the test left in flight (a bottom half, a call returning) ends within a second on a quiet host; a
        // thread busy at one look is named only if it is still busy after `settle`.
        let until = Deadline.after(Self.settle)
        var settled = first
        while settled.contains(where: { !$0.isFree }) && !until.hasPassed {
          settled = try await threadTable(machine, probe, poke: nil).table
        }
        let busy = settled.filter { !$0.isFree }
        if busy.isEmpty {
          return .held("OP-TEE threads after the test: \(settled.count), all FREE (once work in flight ended: \(first.filter { !$0.isFree }.map(\.description).joined(separator: ", ")) at the first look)")
        }
        return .broken("OP-TEE threads still allocated \(Int(Self.settle.seconds)) s after the test: \(busy.map(\.description).joined(separator: ", "))",
          "thread table at the first look: \(first.map(\.description).joined(separator: ", "))\nthread table \(Int(Self.settle.seconds)) s later: \(settled.map(\.description).joined(separator: ", "))\n\(await machine.context())")
      } catch {
        return .broken("the OP-TEE thread table could not be read after the test: \(error)", await machine.context())
      }
    },
    restored: { machine, facts in
      if let impossible = SecureTimerProof.impossible(facts) { return .failure(ProofImpossible(reason: impossible)) }
      let proof = try await SecureTimerProof.start(on: machine)
      // The watchdog's callout fires while the CPUs idle in Linux: its interrupt comes through TF-A's handover.
      return .success(RestoredProof(needs: [.handover]) { await proof.check($0) })
    },
    whereItHangs: WhereItHangs.report,
    explainAlarm: { machine, console, line in
      // OP-TEE prints a panic's call stack by address: told by function from tee.elf.
      guard console == "secure", let probe = machine.secureWorld else { return nil }
      // The stack is printed after the alarm's line: read once the secure console has been quiet a moment.
      await machine.secure.awaitQuiet(0.3, deadline: .after(.seconds(3)))
      let frames = OpteeCallStack.frames(in: await machine.secure.slice(from: -.infinity).map(\.text), after: line)
      guard !frames.isEmpty else { return nil }
      return "OP-TEE's call stack: \(OpteeCallStack.described(frames) { probe.tee.locate($0) })"
    })
}

/// A set of stack digests, shared by every machine of the process.
final class StackSet: @unchecked Sendable {
  private let lock = NSLock()
  private var stacks: Set<String> = []
  func contains(_ stack: String) -> Bool { lock.withLock { stacks.contains(stack) } }
  func insert(_ stack: String) { _ = lock.withLock { stacks.insert(stack) } }
}
