import Foundation
import HarnessSupport
import Images
import Machine
import Suites

/// What a stack's build did not say (a prebuilt OP-TEE without conf.mk), learned from one boot of it: whether
/// OP-TEE raises asynchronous notifications (Linux's driver says so at probe), whether its test watchdog runs
/// (the notification count rises every second while the guest idles), and its thread count (read through the
/// GDB stub, when there is a tee.elf). Declared facts are never overridden; what stays unknown stays nil.
package enum StackDiscovery {
  static let learnable = ["CFG_CORE_FFA", "CFG_CORE_ASYNC_NOTIF", "CFG_NOTIF_TEST_WD", "CFG_NUM_THREADS"]

  /// `learn`, printing what it learns; a boot that fails leaves the facts as they were (the suites' own boots
  /// report the failure).
  package static func learnOrSay(_ facts: StackFacts, runDirectory: URL) async -> StackFacts {
    do {
      return try await learn(facts, runDirectory: runDirectory) { Output.line($0) }
    } catch {
      Output.line("facts: the discovery boot failed (\(error)); what the build does not say stays unknown")
      return facts
    }
  }

  /// `facts` with what one boot shows added (and noted in `learned`); `facts` itself when the build said it all.
  /// - Throws: what booting the machine throws.
  package static func learn(_ facts: StackFacts, runDirectory: URL, report: (String) -> Void) async throws -> StackFacts {
    guard !facts.opteeConfigKnown, learnable.contains(where: { facts.optee.values[$0] == nil }) else { return facts }
    report("facts: the stack has no conf.mk; learning what it does from one boot")
    let configuration = try MachineConfiguration.make(images: facts.images, spec: facts.manifest.machine,
      runDirectory: runDirectory.appendingPathComponent("discovery", isDirectory: true))
    var learned = facts
    try await withMachine(configuration) { machine in
      try await machine.awaitReady(deadline: .after(.seconds(180)))
      func learn(_ name: String, _ value: String, _ how: String) {
        guard learned.optee.values[name] == nil else { return }
        learned.optee.values[name] = value
        learned.learned[name] = "\(value) (\(how))"
        report("facts: \(name)=\(value) (\(how))")
      }
      let ffa = try await machine.shell.run("ls /sys/bus/arm_ffa/drivers/optee/ 2>/dev/null | grep -c ^arm-ffa-", timeout: .seconds(10))
      let overFFA = (Int(ffa.output.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0) > 0
      learn("CFG_CORE_FFA", overFFA ? "y" : "n", overFFA ? "Linux's OP-TEE driver is bound to an FF-A partition" : "Linux's OP-TEE driver is bound to no FF-A partition")
      // Over FF-A the driver logs nothing about notifications: the FF-A driver's schedule-receiver interrupt
      // being listed says they are on.
      let name = Interrupts.notificationName(overFFA ? .ffa : .smc)
      let dmesg = try await machine.shell.run("dmesg | grep -E 'optee: (Asynchronous notifications enabled|initialized driver)'", timeout: .seconds(10))
      if dmesg.output.contains("optee: initialized driver") {
        let first = try await machine.shell.interruptLine(matching: name)
        let async = overFFA ? first != nil : dmesg.output.contains("Asynchronous notifications enabled")
        learn("CFG_CORE_ASYNC_NOTIF", async ? "y" : "n", overFFA
          ? "/proc/interrupts \(async ? "lists" : "does not list") the FF-A schedule-receiver interrupt"
          : "Linux's driver \(async ? "enabled" : "did not enable") asynchronous notifications")
        if async, let first {
          // The test watchdog is a 1 s callout that notifies; nothing else does on an idle guest. Watched for
          // two and a half of its periods, or until the count rises.
          let since = machine.now()
          var later = first.total
          while later == first.total && machine.now() < since + 2.5 {
            _ = try await machine.shell.run("sleep 0.25", timeout: .seconds(10))
            later = try await machine.shell.interruptLine(matching: name)?.total ?? later
          }
          learn("CFG_NOTIF_TEST_WD", later > first.total ? "y" : "n",
            "\(name) went from \(first.total) to \(later) in \((machine.now() - since).formatted(decimals: 1)) s of an idle guest")
        }
      }
      if let probe = machine.secureWorld, let table = try? await probe.threadTable(poke: true, deadline: .after(.seconds(10))) {
        learn("CFG_NUM_THREADS", "\(table.count)", "OP-TEE's thread table, read through the GDB stub")
      }
    }
    return learned
  }
}
