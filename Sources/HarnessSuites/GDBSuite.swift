import Foundation
import Guest
import GDBRemote
import HarnessSupport
import Machine
import Suites

/// The GDB stub tells the truth about the machine: which world a CPU is in and how many OP-TEE threads are busy.
package let gdbSuite = Suite("gdb", "breakpoints in OP-TEE, the secure world's thread table, counted hits") {
  Test("an OP-TEE breakpoint is hit in secure EL1 when xtest reaches it", timeout: .seconds(120)) { t in
    let probe = try t.optee.probe()
    try await t.xtest.start("1001")
    let stop = try await probe.whenStopped(at: "tee_ta_open_session", deadline: .after(.seconds(60))) { $0 }
    t.note("tee_ta_open_session hit: \(stop.description)")
    try t.require(stop.secure && stop.exceptionLevel == 1, "the CPU should be in secure EL1, not \(stop.description)")
    let symbol = try probe.tee.symbol("tee_ta_open_session")
    try t.require(stop.pc == symbol.address, "stopped at pc 0x\(String(stop.pc, radix: 16)), not at the symbol")
    let done = try await t.xtest.finish("1001", timeout: .seconds(90))
    try t.require(done.passed, "xtest 1001 did not pass after the stop", details: done.output)
  }

  Test("the thread table is all FREE while idle") { t in
    // Idle is what remains once work in flight ended: the test watchdog's bottom half, a yielding call each
    // second, holds a thread for a moment on a machine that otherwise idles.
    let first = try await t.optee.threadTable()
    let table = first.allSatisfy(\.isFree) ? first : try await t.optee.probe().threadTableOnceFree(deadline: .after(.seconds(5)))
    t.note("thread table: \(table.map(\.description).joined(separator: ", "))\(table == first ? "" : " (at the first look: \(first.map(\.description).joined(separator: ", ")))")")
    try t.require(table.count == t.facts.opteeThreads, "OP-TEE has \(table.count) threads, the build says \(t.facts.opteeThreads ?? -1)")
    try t.require(table.allSatisfy { $0.isFree }, "busy while idle, still 5 s after the first look: \(table.filter { !$0.isFree })")
  }

  Test("a long call holds one thread while it waits", timeout: .seconds(120)) { t in
    let probe = try t.optee.probe()
    // regression_1009 suspends its thread in TEE_Wait (an RPC to the normal world) for a while.
    try await t.xtest.start("1009", suite: "regression")
    var busiest: [OpteeThread] = []
    let deadline = Deadline.after(.seconds(30))
    while busiest.isEmpty && !deadline.hasPassed {
      busiest = try await probe.threadTable().filter { !$0.isFree }
    }
    t.note("during xtest 1009: \(busiest.map(\.description).joined(separator: ", "))")
    try t.require(!busiest.isEmpty, "no OP-TEE thread was ever seen busy during xtest 1009")
    let done = try await t.xtest.finish("1009", timeout: .seconds(90))
    try t.require(done.passed, "xtest 1009 did not pass", details: done.output)
  }

  Test("the test watchdog's callout runs about once a second") { t in
    let probe = try t.optee.probe()
    try t.optee.require("CFG_NOTIF_TEST_WD", else: "this stack has no test watchdog")
    let hits = try await probe.countHits(of: "test_wd_callback", over: .seconds(4))
    t.note("test_wd_callback ran \(hits) times in 4 s")
    try t.require((3...5).contains(hits), "the 1 s watchdog callout should run about 4 times in 4 s, ran \(hits)")
  }
}
