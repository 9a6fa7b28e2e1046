import Foundation
import Guest
import GDBRemote
import HarnessSupport
import Reporting
import Suites

/// OP-TEE has CFG_NUM_THREADS threads. More concurrent calls than that must all be served — queued by the
/// Linux driver when OP-TEE advertises its thread count, or answered `OPTEE_SMC_RETURN_ETHREAD_LIMIT` and retried
/// when it does not — with no hang, no lost call and no leaked thread.
package let threadExhaustionSuite = makeThreadExhaustionSuite()

/// `parkForever` leaves one call waiting forever after the flood (a leak the thread invariant must report:
/// the proof that this suite can fail).
package func makeThreadExhaustionSuite(parkForever: Bool = false) -> Suite {
  Suite("thread-exhaustion", "more concurrent calls than OP-TEE threads: waves, ETHREAD_LIMIT, killed callers") {
    Test("4 × CFG_NUM_THREADS waits of 500 ms are served in waves", timeout: .seconds(120)) { t in
      let n = try t.optee.threads(), k = 4 * n, ms = 500
      let probe = try t.optee.probe()
      let busyAnswer = t.facts.noFreeThreadAnswer
      guard let ethreadLimit = probe.layout.ethreadLimitReturn else {
        throw TestFailure(message: "the OP-TEE layout has no address for its no-free-thread answer (rebuild the images)")
      }
      let (limitReturns, (timeline, table)) = try await probe.watching(ethreadLimit) { watch in
        let calls = try await t.client.start(k, "wait", ms: ms, tag: "flood")
        try await t.client.waitUntilInvoking(calls, count: k, failing: .waitingForAThread)
        // A read that falls on a wave's boundary (a call just returned, the next not yet in) is looked at again, up
        // to twice more (two reads in a row once both fell on one), the busiest kept; a re-read that fails (the
        // flood may be over by then) leaves the table already read to be judged.
        var table = try await watch.threadTable()
        for _ in 0..<2 where table.count(where: { !$0.isFree }) < n {
          guard let again = try? await watch.threadTable() else { break }
          if again.count(where: { !$0.isFree }) > table.count(where: { !$0.isFree }) { table = again }
        }
        return (try await t.client.finish(calls), table)
      }
      let busy = table.filter { !$0.isFree }
      t.note("\(k) calls on \(n) threads: ends at \(timeline.endsDescription) s; wall \(timeline.wallSeconds.formatted(decimals: 2)) s (lower bound \(timeline.lowerBound(threads: n).formatted(decimals: 2)) s)")
      t.note("during the flood: \(table.map(\.description).joined(separator: ", "))")
      t.note(limitReturns == 0
        ? "queued by the Linux driver: OP-TEE answered \(busyAnswer) 0 times"
        : "queued by OP-TEE's \(busyAnswer) (\(limitReturns) times), the driver waited and retried")
      try t.require(timeline.isComplete && timeline.calls.count == k, "the client did not report \(k) calls",
        details: (timeline.otherLines + timeline.failures.map { "call \($0.index): \($0.result)" }).joined(separator: "\n"))
      try t.require(timeline.failures.isEmpty, breaks: .waitingForAThread, "\(timeline.failures.count) of \(k) calls failed: \(timeline.failures.map { "\($0.index): \($0.result) origin \($0.origin)" })")
      let timed = timeline.calls.count { $0.secureInterval != nil }
      try t.require(timed == k, "\(k - timed) of \(k) calls did not report when their TA entered and returned (the payload TA is older than its client: rebuild the images)")
      let peak = timeline.peakInSecureWorld()
      t.measure(timeline.secureWorldSpans("calls in the secure world, on OP-TEE's clock (\(k) calls, \(n) threads)"))
      t.note("at most \(peak) TA calls ran at once, on OP-TEE's own clock")
      t.check(peak <= n, "\(peak) calls were in the secure world at once (their TAs' own entry and return times overlap), OP-TEE has \(n) threads")
      t.check(timeline.wavesViolated(threads: n).isEmpty, "not served in waves of \(n): \(timeline.wavesViolated(threads: n).joined(separator: "; "))")
      t.check(timeline.wallSeconds >= timeline.lowerBound(threads: n) - 0.02, "the flood took \(timeline.wallSeconds) s, less than \(n) threads can")
      // Every thread busy at once: seen in the table at one instant, or, exactly, as n TA calls overlapping on
      // OP-TEE's own clock (a driver that backs off after ETHREAD_LIMIT may leave a thread free at the instant read).
      t.check(busy.count == n || peak == n,
        "the thread table showed \(busy.count) busy threads during the flood, expected all \(n), and at most \(peak) TA calls overlapped on OP-TEE's clock")
      if t.facts.threadCountAdvertised {
        t.check(limitReturns == 0, "OP-TEE advertises its thread count, yet answered \(busyAnswer) \(limitReturns) times: more calls reached OP-TEE than its \(n) threads (the count it advertised is not \(n), or the driver does not queue to it)")
      } else {
        t.check(limitReturns > 0, "\(t.facts.threadCountSource), yet \(busyAnswer) was never answered: who queued?")
      }
      if parkForever {
        let parked = try await t.client.start(1, "wait", ms: Int(UInt32.max), tag: "parked")
        try await t.client.waitUntilInvoking(parked, count: 1)
      }
    }

    Test("every thread spinning: the normal world stays alive", timeout: .seconds(150)) { t in
      let n = try t.optee.threads(), ms = 8000
      // A stack without OP-TEE's symbols has no probe: the spins and the shell are judged all the same, then the
      // test skips for what needs the symbols.
      let probe = t.machine.secureWorld
      // Linux's IRQ vectors, read while Linux idles.
      let vectors = try await probe?.linuxIRQVectors()
      var table: [OpteeThread] = [], cpus: [Int] = [], atOnce = n, interrupts: LinuxInterrupts?
      let calls: GuestCalls
      if let probe, let vectors {
        cpus = Array(0..<(try await probe.cpuCount(deadline: .after(.seconds(5)))))
        // The calls on their way into their TAs, seen in OP-TEE (tee_ta_invoke_command) rather than from the shell,
        // which may get no CPU while the calls spin on every CPU. With more threads than CPUs, the calls beyond one
        // per CPU get into OP-TEE only when Linux gives their clients a CPU, which its scheduler may leave for the
        // whole spin (on the SMC stack TF-A stops Linux's timer while a CPU is secure): seen on threads-4, the last
        // two calls entered as the first two ended. So every CPU spinning is what is waited for, and the verdict
        // holds at least that many calls in their TAs.
        atOnce = min(n, cpus.count)
        let invoke = "tee_ta_invoke_command", wanted = atOnce
        (_, calls) = try await probe.watching([invoke]) { watch in
          let calls = try await t.client.start(n, "spin", ms: ms, tag: "spin")
          let reached = try await watch.untilHits(of: invoke, atLeast: wanted, deadline: .after(.seconds(20)))
          let hits = await watch.hits(of: invoke)
          try t.require(reached, "\(wanted) of the \(n) spinning calls did not reach OP-TEE's \(invoke) within 20 s (\(hits) did)")
          return calls
        }
        table = try await probe.threadTable(deadline: .after(.seconds(10)))
        // Then Linux's reschedule IPI raised in the GIC on every CPU at once, the counter read there, and each CPU's
        // first entry into Linux's IRQ vectors after it: a CPU in Linux takes it at once, a CPU in a spinning TA
        // only if OP-TEE leaves for it.
        interrupts = try await probe.linuxInterrupts(raisingOn: cpus, vectors: vectors, deadline: .after(.seconds(Double(ms) / 1000 + 20)))
      } else {
        calls = try await t.client.start(n, "spin", ms: ms, tag: "spin")
        try await t.client.waitUntilInvoking(calls, count: n)
      }
      // The shell may take the whole bound judged below and 15 s more before its silence is a hang, not a slow answer.
      let answerBound = Double(ms) / 1000 + t.pace.scaled(5)
      let answer = try await t.run("echo alive", timeout: .seconds(answerBound + 15))
      let timeline = try await t.client.finish(calls)
      t.note("\(n) calls spinning \(ms) ms (threads then: \(table.map(\.description).joined(separator: ", "))); Linux's first IRQ after its IPI was raised on every CPU: \(interrupts?.describe(againstFirstReturn: timeline.calls) ?? "not looked at"); the shell answered in \(answer.seconds.formatted(decimals: 3)) s")
      try t.require(timeline.isComplete && timeline.failures.isEmpty, "spinning calls failed: \(timeline.failures.map(\.result))",
        details: timeline.otherLines.joined(separator: "\n"))
      try t.require(timeline.calls.allSatisfy { $0.taMilliseconds >= ms }, "a spin ended early: \(timeline.calls.map(\.taMilliseconds)) ms")
      // Whether user space runs before a spinning call yields is the scheduler's choice: seen from 0.06 s to the
      // whole spin (7.1 s of 8).
      try t.require(answer.lines == ["alive"] && answer.seconds < answerBound,
        "the shell took \(answer.seconds) s to answer while the secure world spun \(ms) ms")
      _ = try t.optee.probe()
      guard let interrupts else { return }
      let silent = cpus.filter { cpu in !interrupts.taken.contains { $0.cpu == cpu } }
      try t.require(silent.isEmpty, "Linux took no interrupt on CPU \(silent.map(String.init).joined(separator: ", ")) (its IRQ vectors never entered there) after its reschedule IPI was raised there, within the \(ms / 1000 + 20) s given to the raise and the interrupts — while the calls spun and after")
      let late = interrupts.taken.compactMap { interrupts.failure(of: $0, whileSpinning: timeline.calls, atOnce: atOnce) }
      try t.require(late.isEmpty, late.joined(separator: "; "))
    }

    Test("a caller killed while it waits for a free thread", timeout: .seconds(120), needs: { _ in [.waitingForAThread] }) { t in
      let n = try t.optee.threads()
      // The extra caller opens its session while threads are free, then calls once every thread is taken.
      let queued = try await t.client.start(1, "wait", ms: 100, tag: "queued", held: true)
      try await t.client.waitFor(queued, event: "opened")
      let holders = try await t.client.start(n, "wait", ms: 3000, tag: "holders")
      try await t.client.waitUntilInvoking(holders, count: n)
      try await t.client.release(queued)
      try await t.client.waitUntilInvoking(queued, count: 1)
      let table = try await t.optee.probe().threadTable()
      let waitingIn = try await t.sleepingIn(queued.pid)
      t.note("the extra caller waits (threads: \(table.map(\.description).joined(separator: ", "))) in \(waitingIn.joined(separator: ", "))")
      try t.require(table.allSatisfy { !$0.isFree }, "a thread was free: the extra caller was not made to wait")
      _ = try await t.run("kill -9 \(queued.pid)")
      let gone = try await t.waitGone(queued.pid, within: .seconds(15))
      t.note("the killed caller was gone after \(gone.map { $0.formatted(decimals: 2) } ?? "never") s")
      let held = try await t.client.finish(holders)
      try t.require(gone != nil, "the killed caller never went away")
      try t.require(held.isComplete && held.failures.isEmpty, "the other callers failed: \(held.failures.map(\.result))")
      let next = try await t.client.finish(try await t.client.start(2 * n, "wait", ms: 100, tag: "after-queued-kill"))
      try t.require(next.isComplete && next.failures.isEmpty, "the next flood failed: \(next.failures.map(\.result))")
    }

    Test("a caller killed while its call waits in the secure world", timeout: .seconds(120), needs: { _ in [.waitingForAThread] }) { t in
      let n = try t.optee.threads(), ms = 4000
      let probe = try t.optee.probe()
      let victim = try await t.client.start(1, "wait", ms: ms, tag: "victim")
      try await t.client.waitUntilInvoking(victim, count: 1)
      let during = try await probe.threadTable()
      t.note("before the kill: \(during.map(\.description).joined(separator: ", "))")
      try t.require(during.contains { !$0.isFree }, "the victim's call never held a thread")
      let killed = ContinuousClock.now
      _ = try await t.run("kill -9 \(victim.pid)")
      let gone = try await t.waitGone(victim.pid, within: .seconds(15))
      // The driver does not cancel the call: TEE_Wait goes on until its time is up, then the thread is freed.
      let table = try await probe.threadTableOnceFree(deadline: .after(.seconds(Double(ms) / 1000 + 5)))
      let recovery = (ContinuousClock.now - killed).seconds
      t.note("kill → caller gone \(gone.map { $0.formatted(decimals: 2) } ?? "never") s, every thread FREE \(recovery.formatted(decimals: 2)) s (table read at secure interrupts, ~1 s apart; the wait was \(ms) ms)")
      try t.require(!table.contains { !$0.isFree }, "\(ms / 1000 + 5) s after the kill: \(table.filter { !$0.isFree })")
      try t.require(gone != nil, "the killed caller never went away")
      let next = try await t.client.finish(try await t.client.start(2 * n, "wait", ms: 100, tag: "after-victim"))
      try t.require(next.isComplete && next.failures.isEmpty, "the next flood failed: \(next.failures.map(\.result))")
    }

    Test("sessions held open hold no thread and end with their process", needs: { _ in [.waitingForAThread] }) { t in
      let n = try t.optee.threads(), sessions = 4 * n
      let holder = try await t.client.holdSessions(sessions, tag: "sessions")
      let said = try await t.run("cat \(holder.log)").output
      try t.require(said.contains("\"sessions\":\(sessions),"), "the client could not open \(sessions) sessions", details: said)
      let table = try await t.optee.probe().threadTable()
      t.note("\(sessions) sessions open: \(table.map(\.description).joined(separator: ", "))")
      try t.require(table.allSatisfy(\.isFree), "open sessions hold threads: \(table.filter { !$0.isFree })")
      let beside = try await t.client.finish(try await t.client.start(2 * n, "return", tag: "beside-sessions"))
      try t.require(beside.isComplete && beside.failures.isEmpty, "calls beside the held sessions failed: \(beside.failures.map(\.result))")
      _ = try await t.run("kill -9 \(holder.pid)")
      try t.require(try await t.waitGone(holder.pid, within: .seconds(10)) != nil, "the killed holder never went away")
    }

    Test("xtest 1009 (TEE wait) and 1013 (concurrency) pass", timeout: .seconds(300), needs: { _ in [.waitingForAThread] }) { t in
      let n = try t.optee.threads()
      for id in ["1009", "1013"] {
        let result = try await t.xtest.run(id, suite: "regression", timeout: .seconds(180))
        let failed = Set(result.report.failedSubtestNames)
        let summary = result.report.testCases.map { "\($0) test case\($0 == 1 ? "" : "s") of which \(result.report.failedTestCases ?? 0) failed" }
        t.note("xtest \(id): \(summary ?? "passed") in \(result.seconds.formatted(decimals: 1)) s")
        if !result.passed, let known = knownXTestFailure(id: id, failed: failed, threads: n) {
          t.note(known)
          for subtest in failed.sorted() { t.report(case: subtest, .skipped, message: "known failure: \(known)") }
          continue
        }
        try t.require(result.passed, "xtest \(id) failed: \(failed.sorted().joined(separator: ", "))", details: result.output)
      }
    }
  }
}

/// Failures of the stack itself, outside this project, that a stack of this shape cannot avoid — each with why.
func knownXTestFailure(id: String, failed: Set<String>, threads: Int) -> String? {
  if id == "1009", threads == 1, failed == ["regression_1009.3"] {
    return "regression_1009.3 (cancel a TEE_Wait) cannot pass with one OP-TEE thread: the cancel request is itself a "
      + "standard call, the driver queues it until a thread is free, and the only thread is the one waiting — the "
      + "wait ends normally (TEEC_SUCCESS) instead of TEEC_ERROR_CANCEL"
  }
  return nil
}
