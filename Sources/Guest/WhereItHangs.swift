import Console
import Foundation
import GDBRemote
import HarnessSupport
import Machine
import Suites

/// Where a test hangs on an OP-TEE stack, asked in order of what needs the least from the guest: OP-TEE's thread
/// table (through a CPU stopped in OP-TEE, else at its next interrupt) and where each CPU is through the GDB stub (whatever the guest does), then — once Ctrl-C gives the guest's shell back — the
/// xtest runs that never exited with the case they were in, and Linux's blocked tasks with their stacks (sysrq
/// `w`). A shell that does not come back is said too: its command is stuck in the kernel.
enum WhereItHangs {
  static func report(_ machine: Machine) async -> HangReport {
    var summary: [String] = [], details: [String] = []
    if let probe = machine.secureWorld {
      do {
        // A CPU already in OP-TEE reads it at once; else the next that enters its interrupt handler.
        let now = try? await probe.threadTableNow(deadline: .after(.seconds(5)))
        let table: [OpteeThread]
        if let now = now ?? nil { table = now } else { table = try await probe.threadTable(poke: true, deadline: .after(.seconds(10))) }
        summary.append("OP-TEE threads: \(table.map(\.description).joined(separator: ", "))")
      } catch {
        summary.append("OP-TEE's thread table could not be read (\(error))")
      }
      // Then where each CPU is, by OP-TEE's or TF-A's symbol: a CPU caught in EL3 or OP-TEE names a lockup's loop.
      if let cpus = try? await probe.whereCPUsAre(deadline: .after(.seconds(5))) { summary.append("CPUs: \(cpus.joined(separator: "; "))") }
    }
    // The kernel's hung-task report (a burst of lines) stopped the test: once it has printed, the shell may be
    // used again. What it printed already lists blocked tasks with their stacks.
    let from = machine.normal.now() - 1
    await machine.normal.awaitQuiet(0.5, deadline: .after(.seconds(5)))
    let reported = BlockedTask.parse(await machine.normal.slice(from: from).map(\.text))
    await machine.normal.clearAbort()
    try? await machine.shell.interrupt()
    guard let answer = try? await machine.shell.run("true", timeout: .seconds(5)), answer.status == 0 else {
      summary.append("the guest's shell does not answer Ctrl-C (its command is stuck in the kernel)")
      if !reported.isEmpty { summary.append("the kernel's hung tasks: \(reported.prefix(6).map(\.description).joined(separator: ", "))") }
      return HangReport(summary: summary, details: details.joined(separator: "\n"))
    }
    if let xtest = try? await machine.shell.run(XTest.unfinished, timeout: .seconds(10)) {
      let runs = XTest.unfinished(parsing: xtest.output)
      summary += runs.map { "\($0.log) never exited, last in \($0.last ?? "no case yet")" }
    }
    if let blocked = try? await machine.shell.run(Self.blockedTasks, timeout: .seconds(30)) {
      let tasks = BlockedTask.parse(blocked.output.split(separator: "\n").map(String.init))
      if !blocked.output.contains("Show Blocked State") {
        summary.append("sysrq w printed no list of blocked tasks")
      } else {
        summary.append(tasks.isEmpty ? "Linux has no blocked task" : "Linux's blocked tasks: \(tasks.prefix(6).map(\.description).joined(separator: ", "))")
      }
      details.append("Linux's blocked tasks (sysrq w):\n\(blocked.output)")
    }
    return HangReport(summary: summary, details: details.joined(separator: "\n"))
  }

  /// Dumps the blocked tasks into the kernel's log (the write returns once they are in it) and prints the last dump.
  static let blockedTasks = "echo w > /proc/sysrq-trigger; "
    + "dmesg | awk '/Show Blocked State/ { keep = \"\" } { keep = keep $0 \"\\n\" } END { printf \"%s\", keep }' | "
    + "sed -n '/Show Blocked State/,$p' | head -n 120"
}
