import Foundation
import Guest
import GDBRemote
import HarnessSupport
import Reporting
import Suites

/// Where each kind of interrupt goes on this platform, proven per case by GDB breakpoints on TF-A (bl31.elf) and
/// OP-TEE (tee.elf), the consoles and /proc/interrupts — and by timing, since the stack's periodic activity (the
/// 1 s test watchdog, timer ticks) would pick up the work of a broken interrupt path later and hide it.
package let secureInterruptsSuite = makeSecureInterruptsSuite()

package func makeSecureInterruptsSuite(bounds reference: SecureConsoleBounds = SecureConsoleBounds()) -> Suite {
  let table = RoutingLog()
  return Suite("secure-interrupts", "GICv3 routing: Secure and Non-secure Group 1 (and Group 0) × normal world, secure world, EL3") {
    Test("\(RoutingCase.secureInNormal.title): bytes typed at the secure console while Linux idles", timeout: .seconds(150),
      needs: StackLink.secureConsoleReads) { t in
      let probe = try t.optee.probe(), bounds = reference.scaled(t.pace)
      let route = t.optee.route
      // Each byte's bottom half is a call into OP-TEE, so the next byte may find CPU 0 in the secure world: every
      // interrupt is judged by where the CPU was when it was taken, and bytes are typed until four found it in the
      // normal world. A byte that arrives while the previous bottom half still reads raises no interrupt
      // of its own (the console keeps its receive interrupt off until then): on the FF-A stack 12 bytes gave 5.
      // Four bytes that ran no top half at all say the interrupt does not come: more bytes would add nothing.
      // The bytes come a fifth of a second apart, up to 48 of them (a healthy stack stops at 4 from the normal
      // world: over FF-A, 4 to 5 bytes in 10 runs, since OP-TEE's message loop is watched only for the handover).
      let wanted = 4
      // Where OP-TEE reads the console in the bottom half, the notification chain is watched too: a byte whose top
      // half ran and that was never read is then named by the link that lost it.
      let chain = t.facts.asyncNotifications == true
        ? ["notif_send_async", "yielding_console_notif"] + ["test_wd_callback"].filter { (try? probe.address(of: $0)) != nil } : []
      let notifiedBefore = chain.isEmpty ? 0 : try await t.interrupts.notifications()
      let onConsole = t.secureConsole.clock()
      let (log, routed) = try await probe.watching(route.handoverSymbols + ["console_itr_cb"] + chain, after: route.watchedAfter) { watch in
        try await t.secureConsole.typeOneByOne("0123456789UVWXYZuvwxyz#%!$&*+-/=?@^~abcdefghijkl", cadence: .milliseconds(200)) { typed in
          let paths = route.paths(of: "console_itr_cb", in: await watch.log)
          return paths.count { $0 == .fromNormalWorldThroughEL3 } >= wanted || (typed >= wanted && paths.isEmpty)
        }
      }
      let watchEnded = ContinuousClock.now
      let (el3Runs, handed, received) = route.handovers(in: log, ended: watchEnded, settle: .seconds(t.pace.scaled(1)))
      // The path first (its breakpoints see the first interrupts, which a broken stack may handle only once), then
      // the latencies without breakpoints — unless the path already broke where EL3 hands over, or a byte was never
      // read: those would only wait for bytes that cannot come, and the test fails either way.
      let handoverBroken = el3Runs > 0 && handed == 0
      let decided = handoverBroken || !routed.problems.isEmpty
      let single = decided ? nil : try await t.secureConsole.typeOneByOne("ABCDEFGHIJKLMNOPQRST", late: bounds.maxSeconds)
      let burst = decided ? nil : try await t.secureConsole.typeBurst("abcdefghijklmnopqrst")
      let burstEnd = burst.map { $0.latencies.compactMap { $0 }.max() } ?? nil
      if let single, burst != nil {
        t.note("20 bytes typed one at a time: typed → read by OP-TEE \(single.latencySummary)")
        t.measure(single.measured("typed one at a time → read by OP-TEE", bound: bounds.maxSeconds))
        if let burst { t.measure(burst.measured("typed in a burst → read by OP-TEE", bound: bounds.maxSeconds)) }
        t.note("a burst of 20 bytes: all read \(burstEnd.map { $0.formatted(decimals: 3) } ?? "never") s after the write")
      }
      let paths = route.paths(of: "console_itr_cb", in: log)
      let viaEL3 = paths.count { $0 == .fromNormalWorldThroughEL3 }
      t.note("\(routed.bytes.count) bytes with breakpoints set: console_itr_cb ran \(paths.count) times on CPU \(cpus(log, "console_itr_cb")): \(InterruptPath.summary(paths)); TF-A's \(route.el3Handler) ran \(log.count { $0.name == route.el3Handler }) times")
      let latency = single?.latencies.compactMap { $0 } ?? []
      let problems = (single?.problems ?? []) + (burst?.problems ?? []).map { "burst: \($0)" } + routed.problems.map { "with breakpoints: \($0)" }
      let bytes = "bytes: \(problems.isEmpty ? "all read" : problems.joined(separator: "; "))"
      // Bytes whose top half ran and that were never read, on a path EL3 did hand over: the notification chain
      // says which link lost them. Linux's count is read only then — a stack whose handover broke may have left
      // the guest unable to answer.
      let links = chain.isEmpty || handoverBroken || routed.problems.isEmpty || paths.isEmpty ? nil
        : NotificationLinks.console(in: log, counted: try await t.interrupts.notifications() - notifiedBefore)
      // A handler that never ran at all: the distributor says whether the interrupt could reach OP-TEE by any path.
      let inGIC = paths.isEmpty ? try? await probe.spiStateAtNextInterrupt(Interrupts.secureUARTIntid, deadline: .after(.seconds(5))) : nil
      var failure: String?, breaks: StackLink?, late: [HostStarvation.Late] = []
      // What a failure shows: the phase it was judged on — with breakpoints, what each of them saw between the
      // keystrokes and the reads.
      var shown = ("with breakpoints", routed.events + EventTimeline.hits(log, onConsole))
      if el3Runs > 0 && handed == 0, let receiver = route.receiver, received > 0 {
        // The link that broke, before what it broke: OP-TEE was given the interrupt and did not take it.
        failure = "TF-A's \(route.el3Handler) took \(el3Runs) secure interrupts from the normal world and OP-TEE received the handover (\(route.handover)) \(received) times at \(receiver), but its IRQ vector (\(route.handedEntry)) never ran in between: OP-TEE answered without taking the interrupt, which stayed pending and came straight back to EL3 (\(bytes))"
        breaks = .handover
      } else if handoverBroken {
        // The link that broke, before what it broke: EL3 took the interrupts and never entered OP-TEE.
        failure = "TF-A's \(route.el3Handler) took \(el3Runs) secure interrupts from the normal world, but OP-TEE's \(route.handedEntry) never ran after it: EL3 does not hand them to OP-TEE (\(route.handover)) (bytes: \(problems.isEmpty ? "all read" : problems.joined(separator: "; ")))"
        breaks = .handover
      } else if paths.isEmpty, let inGIC, !inGIC.enabled {
        // The link that broke, exactly: no path can bring a disabled interrupt to OP-TEE.
        failure = "OP-TEE's console handler (console_itr_cb) never ran for the \(routed.bytes.count) bytes typed with breakpoints set: the GIC distributor shows the secure UART's interrupt (INTID \(Interrupts.secureUARTIntid)) \(inGIC.explained)\(latency.isEmpty ? "" : "; bytes were read (\(single?.latencySummary ?? "")) by something periodic, not the secure UART interrupt") (\(bytes))"
        breaks = .secureUARTInterrupt
      } else if paths.isEmpty, let single, !latency.isEmpty {
        // The link that broke: bytes were read, but never by the console's interrupt handler.
        failure = "OP-TEE's console handler (console_itr_cb) never ran for the \(routed.bytes.count) bytes typed with breakpoints set, yet bytes were read (\(single.latencySummary)): something periodic picked them up, not the secure UART interrupt (\(bytes))"
      } else if !problems.isEmpty, let broken = links?.firstBroken {
        // The link that broke: the interrupt came, the bottom half that reads never did.
        failure = "the secure UART's interrupt reached OP-TEE's console handler \(paths.count) times, but OP-TEE reads the console in the bottom half, and \(broken) (\(bytes))"
        breaks = links?.breaks
      } else if !problems.isEmpty {
        failure = "bytes typed at the secure console were not each read once, in order: \(problems.joined(separator: "; "))"
        if routed.problems.isEmpty, let single, !single.problems.isEmpty {
          shown = ("one at a time, without breakpoints", single.events)
        } else if routed.problems.isEmpty, let burst {
          shown = ("in a burst, without breakpoints", burst.events)
        }
      } else if (median(latency) ?? .infinity) > bounds.medianSeconds || (latency.max() ?? .infinity) > bounds.maxSeconds {
        shown = ("one at a time, without breakpoints", single?.events ?? [])
        // A stall of the host delays a byte or two, not the median: only late bytes beside a median in bound can be its.
        if (median(latency) ?? .infinity) <= bounds.medianSeconds { late = single?.late(beyond: bounds.maxSeconds) ?? [] }
        failure = "bytes were read too late for their own interrupt (\(single?.latencySummary ?? "none"); bound median \(bounds.medianSeconds.formatted(decimals: 2)) s, max \(bounds.maxSeconds.formatted(decimals: 2)) s): something periodic picked them up, not the secure UART interrupt"
      } else if (burstEnd ?? .infinity) > bounds.burstSeconds {
        shown = ("in a burst, without breakpoints", burst?.events ?? [])
        late = burst?.late(beyond: bounds.burstSeconds) ?? []
        failure = "a burst of 20 bytes took \((burstEnd ?? .infinity).formatted(decimals: 3)) s to be read (bound \(bounds.burstSeconds.formatted(decimals: 2)) s)"
      } else if paths.contains(.unknown) {
        failure = "OP-TEE's console handler ran without either entry for a secure interrupt (from the normal world: \(route.el3Handler) → \(route.handedEntry); in the secure world: \(InterruptPath.secureIRQ)): \(InterruptPath.summary(paths))"
      } else if viaEL3 < wanted {
        failure = "of \(routed.bytes.count) bytes typed while Linux idled, \(viaEL3) reached OP-TEE's console handler from the normal world through TF-A (\(wanted) wanted); its \(paths.count) runs: \(InterruptPath.summary(paths))"
      }
      await table.record(RoutingRow(.secureInNormal, handler: "OP-TEE console_itr_cb, via \(route.description) (\(route.handover))",
        count: viaEL3, verdict: failure.map { "FAILED: \($0)" } ?? "passed (\(single?.latencySummary ?? ""))"))
      try t.require(failure == nil, breaks: breaks, failure ?? "",
        details: EventTimeline(shown.1).details("bytes typed \(shown.0)"), late: late)
    }

    // Between the spins' turns CPU 0 is in Linux for a moment: a byte may arrive then, and take TF-A's handover.
    Test("\(RoutingCase.secureInSecure.title): a byte typed while every OP-TEE thread spins in a TA", timeout: .seconds(150),
      needs: StackLink.secureConsoleReadsFromNormalWorld) { t in
      let probe = try t.optee.probe(), bounds = reference.scaled(t.pace)
      let route = t.optee.route
      let n = try t.optee.threads(), spinMs = 1500, text = "klmn"
      let onConsole = t.secureConsole.clock()
      let from = t.secure.now()
      // Every thread spins, all of them on CPU 0, where the secure UART's interrupt goes: left to the scheduler, the
      // spins may share CPU 1 while CPU 0 idles in the normal world. Taking turns at Linux's ticks, they keep CPU 0
      // in the secure world when the byte arrives; its bottom half waits for the spins to end.
      let (log, (typedAt, spins)) = try await probe.watching(route.entrySymbols + ["console_itr_cb"]) { _ in
        // A byte still unread 5 s after its spins ended says the bottom half does not read: the later rounds still
        // sample the path, without waiting for reads that will not come.
        var typedAt: [Double] = [], spins: [CallTimeline] = [], readWait = Duration.seconds(5)
        for (round, byte) in text.utf8.enumerated() {
          let calls = try await t.client.start(n, "spin", ms: spinMs, tag: "spin-\(round)", cpu: 0)
          try await t.client.waitUntilInvoking(calls, count: n)
          typedAt.append(try await t.secureConsole.type(byte))
          spins.append(try await t.client.finish(calls, timeout: .seconds(30)))
          if await !t.secureConsole.awaitRead(of: byte, timeout: readWait) { readWait = .milliseconds(500) }
        }
        return (typedAt, spins)
      }
      let input = await t.secureConsole.input(since: from)
      let paths = route.paths(of: "console_itr_cb", in: log)
      let direct = paths.count { $0 == .inSecureWorld }
      let tops = log.filter { $0.name == "console_itr_cb" }.map { onConsole($0.at) }
      let toTop = typedAt.compactMap { at in tops.first { $0 >= at }.map { $0 - at } }
      let labelled = zip(text.utf8, typedAt).compactMap { byte, at in tops.first { $0 >= at }.map { (byteLabel(byte), $0 - at) } }
      t.measure(Measured("typed while the TAs spin → top half", unit: "s", samples: labelled.map(\.1), labels: labelled.map(\.0), bound: bounds.maxSeconds))
      t.note("\(text.count) bytes, each typed while \(n) TA call(s) spun \(spinMs) ms: console_itr_cb ran \(paths.count) times on CPU \(cpus(log, "console_itr_cb")): \(InterruptPath.summary(paths)); typed → top half \(spread(toTop))")
      var failure: String?
      if let bad = spins.first(where: { !($0.isComplete && $0.failures.isEmpty) }) {
        failure = "a spinning call failed: \(bad.failures.map(\.result)) \(bad.otherLines)"
      } else if !input.problems(typed: Array(text.utf8)).isEmpty {
        failure = "bytes typed while the TAs spun were not each read once, in order: \(input.problems(typed: Array(text.utf8)).joined(separator: "; "))"
      } else if paths.count != text.count || direct * 2 <= paths.count || paths.contains(.unknown) {
        failure = "each byte should be taken directly by OP-TEE at its IRQ vector (\(InterruptPath.secureIRQ)) while the CPU spins in the secure world, without a detour through the normal world; saw \(paths.count) top halves for \(text.count) bytes: \(InterruptPath.summary(paths))"
      } else if toTop.count != text.count || (toTop.max() ?? .infinity) > bounds.maxSeconds {
        failure = "the top half ran too late while the TAs spun: \(toTop.map { $0.formatted(decimals: 3) }) s (bound \(bounds.maxSeconds.formatted(decimals: 2)) s)"
      }
      await table.record(RoutingRow(.secureInSecure, handler: "OP-TEE console_itr_cb, taken at OP-TEE's IRQ vector (\(InterruptPath.secureIRQ))",
        count: direct, verdict: failure.map { "FAILED: \($0)" } ?? "passed (typed → top half \(spread(toTop)))"))
      try t.require(failure == nil, failure ?? "")
    }

    Test("\(RoutingCase.secureInNormal.title), every OP-TEE thread busy: taken at once, no thread needed", timeout: .seconds(120),
      needs: StackLink.secureConsoleReadsFromNormalWorld) { t in
      // Every thread SUSPENDED in a wait, the CPUs back in Linux: a secure interrupt taken in the normal world
      // must still reach OP-TEE at once (through EL3: opteed's FIQ entry, or the SPMD's FFA_INTERRUPT), for its
      // top half needs no thread. Only the bottom half waits for one — and the console keeps its receive
      // interrupt off until that bottom half has read, so the bytes after the first raise none until then.
      let probe = try t.optee.probe(), bounds = reference.scaled(t.pace), route = t.optee.route
      let n = try t.optee.threads(), ms = 5000, text = "wxyz"
      let onConsole = t.secureConsole.clock()
      let from = t.secure.now()
      let calls = try await t.client.start(n, "wait", ms: ms, tag: "busy-secure")
      try await t.client.waitUntilInvoking(calls, count: n)
      let (log, (table, typedAt, watchEnded)) = try await probe.watching(route.handoverSymbols + ["console_itr_cb"], after: route.watchedAfter) { watch in
        var typedAt: [Double] = [], table: [OpteeThread]?
        for byte in text.utf8 {
          typedAt.append(try await t.secureConsole.type(byte))
          _ = try await t.poll(within: .seconds(bounds.maxSeconds)) { await watch.hits(of: "console_itr_cb") > 0 }
          // The table is read at OP-TEE's next interrupt: after the first byte, whose own may be the one.
          if table == nil { table = try? await watch.threadTable(deadline: .after(.seconds(5))) }
        }
        // The watch's end for judging what it saw: its body's (taking the breakpoints out comes after).
        return (table, typedAt, ContinuousClock.now)
      }
      let timeline = try await t.client.finish(calls, timeout: .seconds(30))
      await t.secureConsole.awaitReads(of: text.utf8, each: .seconds(5))
      let input = await t.secureConsole.input(since: from)
      let firstTop = log.first { $0.name == "console_itr_cb" }.map { onConsole($0.at) - typedAt[0] }
      let paths = route.paths(of: "console_itr_cb", in: log)
      // An EL3 entry the watch saw nothing after is the handover's failure once it is older than a settle.
      let (taken, handed, _) = route.handovers(in: log, ended: watchEnded, settle: .seconds(t.pace.scaled(1)))
      let busy = table?.count { !$0.isFree } ?? 0
      t.note("\(n) threads busy (\(table.map { $0.map(\.description).joined(separator: ", ") } ?? "the table could not be read")): the first byte's top half \(firstTop.map { "\($0.formatted(decimals: 3)) s after it was typed" } ?? "never ran"), \(InterruptPath.summary(paths)); meanwhile \(route.el3Handler) took \(taken) secure interrupts from the normal world, \(handed) handed to OP-TEE's \(route.handedEntry)")
      try t.require(timeline.isComplete && timeline.failures.isEmpty, "the waiting calls failed: \(timeline.failures.map(\.result))")
      // The link first: what EL3 took must have reached OP-TEE.
      let seen = EventTimeline(TypedBytes(bytes: Array(text.utf8), typedAt: typedAt, input: input).events + EventTimeline.hits(log, onConsole))
      try t.require(taken == handed, breaks: handed == 0 ? .handover : nil,
        "with every thread busy, \(route.el3Handler) took \(taken) secure interrupts from the normal world but only \(handed) reached OP-TEE's \(route.handedEntry) (\(route.handover)) right after",
        details: seen.details("bytes typed with breakpoints"))
      try t.require((firstTop ?? .infinity) <= bounds.maxSeconds,
        "with every thread busy, the secure UART's interrupt reached OP-TEE's console_itr_cb \(firstTop.map { "after \($0.formatted(decimals: 3)) s" } ?? "never") (bound \(bounds.maxSeconds.formatted(decimals: 2)) s), not at once: \(InterruptPath.summary(paths))")
      try t.require(paths.first == .fromNormalWorldThroughEL3,
        "with every thread busy, the byte's interrupt should come from the normal world through \(route.description) (\(route.handover)): \(InterruptPath.summary(paths))")
      try t.require(table != nil, "OP-TEE's thread table could not be read while the bytes were typed: whether every thread was busy is unknown")
      try t.require(busy == n, "\(n - busy) of \(n) threads were free while the bytes were typed: the case was not reached (\(table ?? []))")
      let problems = input.problems(typed: Array(text.utf8))
      try t.require(problems.isEmpty, "bytes typed while every thread was busy were not each read once, in order, once a thread was free: \(problems.joined(separator: "; "))")
    }

    Test("Secure Group 1 raised in the GIC through the stub, every OP-TEE thread busy: each handled once, at once", timeout: .seconds(120),
      needs: { _ in [.handover, .secureUARTInterrupt] }) { t in
      try await injectedWhileEveryThreadIsBusy(t, bounds: reference.scaled(t.pace))
    }

    Test("\(RoutingCase.nonSecureInSecure.title): Linux gets CPU 0 back while a TA spins there", timeout: .seconds(150)) { t in
      let probe = try t.optee.probe()
      let spinMs = 8000
      let spin = try await t.client.start(1, "spin", ms: spinMs, tag: "spin-cpu0", cpu: 0)
      try await t.client.waitUntilInvoking(spin, count: 1)
      let looking = try await t.guestClock()
      // At once, while the spin surely has most of its time ahead (on a busy host the looks below take seconds of
      // it), a real-time program moved onto CPU 0, no breakpoint set: Linux sends CPU 0 a reschedule IPI for it and
      // can run it there only once it has CPU 0 back — OP-TEE must leave for Linux's interrupt.
      let pinned = try await t.runPinned(to: 0)
      // Then OP-TEE's exits for foreign interrupts on CPU 0, counted for a second of the spin (every hit stops the
      // machine), and where CPU 0 is, looked at 10 times: the case reached.
      let (log, _) = try await probe.watching([InterruptPath.foreignFIQ, InterruptPath.foreignExit]) { _ in
        try await t.run("sleep 1")
      }
      var samples: [CPUStop] = []
      for _ in 0..<10 { samples.append(try await probe.whereIs(cpu: 0)); _ = try await t.run("sleep 0.1") }
      let timeline = try await t.client.finish(spin, timeout: .seconds(90))
      let secure = samples.count { $0.secure && $0.exceptionLevel < 3 }
      let exits = log.count { $0.name == InterruptPath.foreignExit && $0.cpu == 0 }
      let fiqs = log.count { $0.name == InterruptPath.foreignFIQ && $0.cpu == 0 }
      let returned = timeline.calls.first?.taReturnedNoEarlierThan
      t.note("CPU 0 during a \(spinMs) ms spin: in the secure world at \(secure) of \(samples.count) looks (\(describe(samples))); \(pinned.describe(against: returned))")
      t.note("during a second of the spin before, with breakpoints set: \(fiqs) foreign interrupts taken at \(InterruptPath.foreignFIQ), \(exits) exits to Linux (\(InterruptPath.foreignExit))")
      var failure: String?
      let stall = PinnedRun.stall(cpu: 0, whileTA: "spun", ms: spinMs, lookedAt: looking,
        ended: timeline.calls.first.map { ($0.end, $0.taMilliseconds, $0.succeeded) })
      if !(timeline.isComplete && timeline.failures.isEmpty) || returned == nil {
        failure = "the spinning call failed: \(timeline.failures.map(\.result))"
      } else if let stall {
        failure = stall
      } else if let failed = pinned.failure(whileTA: "spun", returned: returned) {
        // Before the looks: on a stack that keeps Linux out until the TA's end, the looks after the program find
        // CPU 0 back in Linux.
        failure = failed
      } else if secure * 2 < samples.count && fiqs == 0 {
        // OP-TEE's FIQ vector runs only in the secure world: its hits on CPU 0 prove the case reached even where
        // the looks mostly find CPU 0 in Linux (over FF-A each foreign interrupt's round trip through the SPMD and
        // back costs far more than the SMC stack's, so the spin gets a small share of CPU 0).
        failure = "CPU 0 was in the secure world at only \(secure) of \(samples.count) looks during the spin, and OP-TEE's \(InterruptPath.foreignFIQ) never ran on it: the case was not reached"
      } else if exits == 0 || fiqs < exits {
        failure = "OP-TEE left for the normal world \(exits) times for \(fiqs) foreign interrupts"
      }
      await table.record(RoutingRow(.nonSecureInSecure, handler: "OP-TEE \(InterruptPath.foreignFIQ) → \(InterruptPath.foreignExit) → Linux",
        count: exits, verdict: failure.map { "FAILED: \($0)" } ?? "passed (a real-time program moved onto CPU 0 ran there \(pinned.seconds.formatted(decimals: 3)) s later, while the TA spun there)"))
      try t.require(failure == nil, failure ?? "", details: timeline.otherLines.joined(separator: "\n"))
    }

    Test("\(RoutingCase.nonSecureInSecure.title), from S-EL0: Linux gets CPU 0 back while a TA computes in user mode with no system call", timeout: .seconds(120)) { t in
      let probe = try t.optee.probe()
      let ms = 8000
      let compute = try await t.client.startComputing(ms: ms, tag: "compute", cpu: 0)
      try await t.client.waitUntilInvoking(compute, count: 1)
      let looking = try await t.guestClock()
      // Where CPU 0 is while the TA computes, looked at up to 10 times until a look finds it in S-EL0 (the case
      // reached), with the vector table it uses there; then a second of FIQs on CPU 0: those taken straight from
      // user mode, and all that reached OP-TEE's FIQ handler (the others were taken in S-EL1).
      let (samples, userVectors) = try await userModeVectors(probe, t)
      guard let vbar = userVectors else {
        let ended = try await t.client.finish(compute, timeout: .seconds(90)).calls.first
        if let stall = PinnedRun.stall(cpu: 0, whileTA: "computed in user mode", ms: ms, lookedAt: looking,
          ended: ended.map { ($0.end, $0.taMilliseconds, $0.succeeded) }) { throw TestFailure(message: stall) }
        throw TestFailure(message: "CPU 0 was never in S-EL0 while the TA was to compute (\(describe(samples))): the case was not reached; the call \(ended.map { "ended after \($0.taMilliseconds) ms in the TA (\($0.result))" } ?? "did not end"), asked for \(ms) ms")
      }
      let points = [vbar + InterruptPath.fiqFromUser.offset: InterruptPath.fiqFromUser.name, try probe.address(of: InterruptPath.foreignFIQ): InterruptPath.foreignFIQ]
      // A second of them, or about the first 40 on CPU 0: every hit stops the machine, and a stack that leaves the secure
      // world hundreds of times a second (the FF-A one) would make a second of guest time take minutes.
      let (log, _) = try await probe.watching(points: points) { watch in
        try await t.poll(within: .seconds(1)) { await watch.log.count { $0.cpu == 0 } >= 40 }
      }
      // Then, without breakpoints, a real-time program moved onto CPU 0: it runs there only once Linux has CPU 0
      // back for the reschedule IPI it sent, which a TA computing without system calls allows only by leaving user
      // mode for the interrupt.
      let pinned = try await t.runPinned(to: 0)
      let timeline = try await t.client.finish(compute, timeout: .seconds(90))
      let returned = timeline.calls.first?.taReturnedNoEarlierThan
      let fromUser = log.count { $0.name == InterruptPath.fiqFromUser.name && $0.cpu == 0 }
      let fromKernel = max(0, log.count { $0.name == InterruptPath.foreignFIQ && $0.cpu == 0 } - fromUser)
      t.note("CPU 0 during a \(ms) ms computation in user mode: \(describe(samples)); user-mode vectors at 0x\(String(vbar, radix: 16)); with breakpoints set (a second, or until about 40 hits), FIQs taken from S-EL0 \(fromUser), from S-EL1 \(fromKernel); \(pinned.describe(against: returned))")
      try t.require(timeline.isComplete && timeline.failures.isEmpty && returned != nil, "the computing call failed: \(timeline.failures.map(\.result))",
        details: timeline.otherLines.joined(separator: "\n"))
      if let stall = PinnedRun.stall(cpu: 0, whileTA: "computed in user mode", ms: ms, lookedAt: looking,
        ended: timeline.calls.first.map { ($0.end, $0.taMilliseconds, $0.succeeded) }) { throw TestFailure(message: stall) }
      if let failed = pinned.failure(whileTA: "computed in user mode", returned: returned) { throw TestFailure(message: failed) }
      // Taken from S-EL0 at all is the proof: how many more are taken in S-EL1, on the way back to user mode,
      // depends on the watch's own stops (over FF-A a healthy stack showed 38 from S-EL0 beside 39 from S-EL1).
      try t.require(fromUser > 0,
        "no foreign interrupt was taken straight from S-EL0 while a TA computed in user mode on CPU 0 (\(InterruptPath.fiqFromUser.name) \(fromUser) times, from S-EL1 \(fromKernel) times): OP-TEE keeps FIQs masked in user mode, so the normal world is deaf while a TA computes")
    }

    Test("\(RoutingCase.secureInSecure.title), from S-EL0: a byte typed while a TA computes in user mode on CPU 0", timeout: .seconds(90),
      needs: StackLink.secureConsoleReads) { t in
      let probe = try t.optee.probe()
      let compute = try await t.client.startComputing(ms: 5000, tag: "compute-byte", cpu: 0)
      try await t.client.waitUntilInvoking(compute, count: 1)
      let (looks, userVectors) = try await userModeVectors(probe, t)
      guard let vbar = userVectors else {
        _ = try await t.client.finish(compute, timeout: .seconds(60))
        throw TestFailure(message: "CPU 0 was never in S-EL0 while the TA was to compute (\(describe(looks))): the case was not reached")
      }
      let points = [vbar + InterruptPath.irqFromUser.offset: InterruptPath.irqFromUser.name,
        try probe.address(of: InterruptPath.secureIRQ): InterruptPath.secureIRQ, try probe.address(of: "console_itr_cb"): "console_itr_cb",
        try probe.address(of: t.optee.route.el3Handler): t.optee.route.el3Handler]
      // A TA computing in user mode still leaves it for every foreign interrupt (over FF-A, Linux's 250 Hz timer):
      // a byte may find CPU 0 in OP-TEE's kernel or in Linux on its way out or back (TF-A's handler then runs
      // first). Bytes are typed, 150 ms apart, each once its top half ran, until one is taken straight from S-EL0,
      // up to twelve; a stack that never takes it from there fails on all of them.
      // Each byte's read is its bottom half, a yielding call: with OP-TEE's only thread computing it waits for the
      // TA to return, and the console's interrupt stays off until it ran. So the keystrokes wait for top halves, and
      // the reads are judged once the computation ended.
      let fromUser: @Sendable ([String]) -> Bool = { trail in
        trail.split(separator: "console_itr_cb", omittingEmptySubsequences: false).dropLast().contains { $0.contains(InterruptPath.irqFromUser.name) }
      }
      // Typing stops once the TA returned too: a byte typed after that proves nothing of S-EL0.
      let (log, typed) = try await probe.watching(points: points) { watch in
        try await t.secureConsole.typeOneByOne("uvwxyzUVWXYZ", cadence: .milliseconds(150), each: .seconds(5),
          until: { _ in
            if fromUser(await watch.log.filter { $0.cpu == 0 }.map(\.name)) { return true }
            let running = (try? await t.client.isRunning(compute)) ?? false
            return !running
          },
          heard: { typed in await watch.hits(of: "console_itr_cb") >= typed })
      }
      let timeline = try await t.client.finish(compute, timeout: .seconds(60))
      let returned = t.secure.now()
      let readWithin = 5.0
      let seen = await t.secureConsole.input(since: typed.typedAt.first ?? returned)
      await t.secureConsole.awaitReads(of: typed.bytes.filter { byte in !seen.reads.contains { $0.byte == byte } }, each: .seconds(readWithin))
      let input = await t.secureConsole.input(since: typed.typedAt.first ?? returned)
      // A byte is read within 5 s of its typing; where the TA held OP-TEE's only thread (or the count is unknown),
      // within 5 s of the computation's return.
      let alone = (t.facts.opteeThreads ?? 1) == 1
      let late = zip(typed.bytes, typed.typedAt).compactMap { byte, at -> String? in
        let from = alone ? max(at, returned) : at
        guard let read = input.firstRead(of: byte, after: at), read.time - from > readWithin else { return nil }
        return "\(byteLabel(byte)) read \((read.time - at).formatted(decimals: 2)) s after it was typed"
      }
      let trail = log.filter { $0.cpu == 0 }.map(\.name)
      t.note("CPU 0 before the bytes: \(describe(looks)); then, \(typed.bytes.count) bytes typed, on CPU 0: \(InterruptPath.trail(trail)); read \(zip(typed.bytes, typed.typedAt).map { byte, at in "\(byteLabel(byte)) \(input.firstRead(of: byte, after: at).map { "+\(($0.time - at).formatted(decimals: 2)) s" } ?? "never")" }.joined(separator: ", ")) after typing (the computation returned +\(((typed.typedAt.first.map { returned - $0 }) ?? 0).formatted(decimals: 2)) s after the first)")
      try t.require(timeline.isComplete && timeline.failures.isEmpty, "the computing call failed: \(timeline.failures.map(\.result))")
      let problems = input.problems(typed: typed.bytes)
      try t.require(problems.isEmpty, "bytes typed while a TA computed on CPU 0 were not each read once: \(problems.joined(separator: "; "))")
      try t.require(late.isEmpty, "bytes typed while a TA computed on CPU 0 were read more than \(readWithin.formatted(decimals: 0)) s after \(alone ? "the computation returned (OP-TEE's only thread)" : "their typing (another OP-TEE thread was free)"): \(late.joined(separator: "; "))")
      try t.require(fromUser(trail), trail.contains("console_itr_cb")
        ? "the secure UART's interrupt should be taken straight from S-EL0 (\(InterruptPath.irqFromUser.name) → \(InterruptPath.secureIRQ) → console_itr_cb) while a TA computes on CPU 0; for \(typed.bytes.count) bytes CPU 0 executed \(InterruptPath.trail(trail))"
        : "OP-TEE's console handler (console_itr_cb) never ran on CPU 0 for \(typed.bytes.count) byte(s) typed while a TA computed there in user mode: the secure UART's interrupt was not taken; CPU 0 executed \(InterruptPath.trail(trail))")
    }

    Test("a TA computing 30 s in user mode on CPU 0 leaves Linux without a lockup or an RCU stall", timeout: .seconds(200)) { t in
      // Linux reports a CPU that served no interrupt for 10 s as a hard lockup, and for 21 s (Debian's RCU stall
      // timeout) as an RCU stall: the console's bad-pattern watch fails the test on either.
      // The computation must outlast both by the TA's own clock, or it proves nothing. Linux must also ask for
      // CPU 0 meanwhile: TF-A's opteed switches Linux's timers off while the CPU is secure (NS_TIMER_SWITCH), so
      // CPU 0 comes back only for another interrupt, and an idle Linux may send it none for 10 s — on a stack
      // without asynchronous notifications its own watchdog then blamed a lockup on a stack that works (2 of 10
      // runs). So a real-time program is moved onto CPU 0 every 2 s, and each must run there at once.
      let atLeast = 25_000, period = 2.0
      let (asks, timeline) = try await t.askingForCPU(0, every: period) {
        try await t.client.compute(ms: 30_000, atLeast: atLeast, tag: "compute-long", cpu: 0, timeout: .seconds(60))
      }
      let call = timeline.calls.first, took = call?.taMilliseconds ?? 0
      try t.require(timeline.isComplete && timeline.failures.isEmpty, "the computing call failed: \(timeline.failures.map(\.result))",
        details: timeline.otherLines.joined(separator: "\n"))
      guard let call else { throw TestFailure(message: "the computing call reported nothing", details: timeline.otherLines.joined(separator: "\n")) }
      // The asks made while the TA computed, early enough that it had not returned by the time one was answered.
      let returned = call.taReturnedNoEarlierThan
      let during = asks.runs.filter { $0.from != 0 && $0.asked >= call.start && $0.asked + PinnedRun.marginSeconds < returned }
      // Answered in 2–23 ms on a quiet or busy host (case 3's program); a second, scaled to the host's pace, is far
      // above that and far below the 10 s after which Linux reports a lockup.
      let bound = t.pace.scaled(1)
      t.measure(Measured("Linux asked for CPU 0 → its program ran there", unit: "s", samples: during.map(\.seconds), bound: bound))
      t.note("a 30 s computation on CPU 0 took \(took) ms in the TA, \((call.end - call.start).formatted(decimals: 2)) s for the client; Linux asked for CPU 0 \(during.count) times meanwhile (of \(asks.runs.count) asks), answered after \(spread(during.map(\.seconds)))")
      try t.require(took >= atLeast, "the computation lasted \(took) ms by the TA's clock, less than the \(atLeast) ms that outlast Linux's lockup and RCU stall timeouts")
      let loop = asks.otherLines.joined(separator: "\n")
      try t.require(asks.failed.isEmpty, "a real-time program could not be moved onto CPU 0: \(asks.failed.joined(separator: "; "))", details: loop)
      // Each answer first: the loop asks again only once the last ask was answered, so a CPU that comes back late
      // also makes for fewer asks.
      if let failed = during.lazy.compactMap({ $0.failure(whileTA: "computed in user mode", returned: returned) }).first {
        throw TestFailure(message: failed)
      }
      let late = during.filter { $0.seconds > bound }
      try t.require(late.isEmpty, "a real-time program was moved onto CPU 0 \(during.count) times while a TA computed in user mode there, and \(late.count) of them ran there more than \(bound.formatted(decimals: 2)) s later (\(late.map { $0.seconds.formatted(decimals: 3) }.joined(separator: ", ")) s): CPU 0 came back to Linux late for its reschedule IPI (OP-TEE's exit for a foreign interrupt, TF-A's return to the normal world, or Linux's switch to the program)")
      let wanted = Int(Double(took) / 1000 / period / 2)
      try t.require(during.count >= wanted, "a real-time program was moved onto CPU 0 only \(during.count) times while the TA computed (\(wanted) wanted, half of one every \(Int(period)) s), each answered in time: the case was not reached", details: loop)
    }

    Test("\(RoutingCase.nonSecureInNormal.title): the normal console's interrupts", timeout: .seconds(60)) { t in
      let before = try await t.interrupts.line(matching: "pl011")
      let echoed = try await t.run("echo typed")
      let after = try await t.interrupts.line(matching: "pl011")
      let rise = zip(after.counts, before.counts).map { $0 - $1 }
      t.note("the normal UART (\(after.name)) interrupt rose by \(rise.map(String.init).joined(separator: ", ")) per CPU for one command")
      let ok = echoed.lines == ["typed"] && rise.reduce(0, +) > 0
      await table.record(RoutingRow(.nonSecureInNormal, handler: "Linux \(after.name)", count: rise.reduce(0, +),
        verdict: ok ? "passed" : "FAILED: no interrupt counted for typed input"))
      try t.require(ok, "typing at the normal console raised no pl011 interrupt in Linux: \(rise)")
    }

    Test("\(RoutingCase.secureInEL3.title): a byte arrives while CPU 0 is held in TF-A", timeout: .seconds(90),
      needs: StackLink.secureConsoleReads) { t in
      let probe = try t.optee.probe()
      let route = t.optee.route
      let from = t.secure.now()
      let byte: UInt8 = 0x2a
      let (seen, prompt) = try await probe.afterHeldInEL3(cpu: 0, at: route.smcHandler, entering: route.entersOPTEE, symbols: route.entrySymbols, until: "console_itr_cb",
        deadline: .after(.seconds(30)), prompt: { try await t.client.start(1, "return", tag: "el3-secure", cpu: 0) }) { _ in
        try await t.secure.send(bytes: [byte])
        try await probe.waitPending(intid: Interrupts.secureUARTIntid, deadline: .after(.seconds(3)))
      }
      let read = try await t.poll(within: .seconds(5)) {
        await t.secureConsole.input(since: from).firstRead(of: byte, after: from) != nil
      }
      let prompted = try await t.client.finish(prompt, timeout: .seconds(20))
      let paths = route.paths(of: "console_itr_cb", in: seen.log)
      t.note("CPU 0 held at \(route.smcHandler) (call 0x\(String(seen.call, radix: 16))) while the secure UART's interrupt became pending; let go, it executed \(InterruptPath.trail(seen.log.map(\.name)))")
      let ok = paths == [.inSecureWorld] && read
      await table.record(RoutingRow(.secureInEL3, handler: "held pending in EL3, then OP-TEE console_itr_cb at \(InterruptPath.secureIRQ) once TF-A entered OP-TEE",
        count: paths.count, verdict: ok ? "passed" : "FAILED: \(seen.log.map(\.name))"))
      try t.require(paths == [.inSecureWorld], "a Secure Group 1 interrupt pending while the CPU was in EL3 should be taken by OP-TEE's IRQ vector once TF-A entered the secure world; the CPU executed \(InterruptPath.trail(seen.log.map(\.name)))")
      try t.require(read, "OP-TEE never read the byte (0x2a) that arrived while the CPU was in EL3")
      try t.require(prompted.isComplete && prompted.failures.isEmpty, "the call made to enter OP-TEE through EL3 failed: \(prompted.failures.map(\.result))")
    }

    Test("\(RoutingCase.nonSecureInEL3.title): a normal-console interrupt while CPU 0 is held in TF-A", timeout: .seconds(90)) { t in
      let probe = try t.optee.probe()
      let route = t.optee.route
      // The normal UART's interrupt goes to CPU 0, so it meets the held CPU.
      let before = try await t.interrupts.line(matching: "pl011")
      let uart = try t.requireValue(before.hardwareNumber, "/proc/interrupts gives no GIC number for the normal UART: \(before.name)")
      _ = try await t.run("echo 1 > /proc/irq/\(before.irq)/smp_affinity")
      // XON (Ctrl-Q): the tty's flow control takes it, so the shell never sees a byte.
      let (seen, prompt) = try await probe.afterHeldInEL3(cpu: 0, at: route.smcHandler, entering: route.entersOPTEE, symbols: route.entrySymbols + [InterruptPath.foreignFIQ],
        until: InterruptPath.foreignExit, deadline: .after(.seconds(30)),
        prompt: { try await t.client.start(1, "return", tag: "el3-normal", cpu: 0) }) { _ in
        try await t.normal.send(bytes: [0x11])
        try await probe.waitPending(intid: uart, deadline: .after(.seconds(3)))
      }
      let prompted = try await t.client.finish(prompt, timeout: .seconds(20))
      let after = try await t.interrupts.line(matching: "pl011")
      let rise = zip(after.counts, before.counts).map { $0 - $1 }
      t.note("CPU 0 held at \(route.smcHandler) (call 0x\(String(seen.call, radix: 16))) while the normal UART's interrupt became pending; let go, it executed \(InterruptPath.trail(seen.log.map(\.name))); Linux's \(after.name) count +\(rise.map(String.init).joined(separator: ", +"))")
      let names = seen.log.map(\.name)
      let ok = names.contains(InterruptPath.foreignFIQ) && (rise.first ?? 0) > 0
      await table.record(RoutingRow(.nonSecureInEL3, handler: "held pending in EL3, then OP-TEE \(InterruptPath.foreignFIQ) → \(InterruptPath.foreignExit) → Linux \(after.name)",
        count: rise.first, verdict: ok ? "passed" : "FAILED: \(names)"))
      try t.require(names.contains(InterruptPath.foreignFIQ), "a Non-secure Group 1 interrupt pending while the CPU was in EL3 should reach OP-TEE as a foreign interrupt (\(InterruptPath.foreignFIQ)) once TF-A entered the secure world; the CPU executed \(InterruptPath.trail(names))")
      try t.require((rise.first ?? 0) > 0, "Linux never counted the normal UART's interrupt on CPU 0: \(rise)")
      try t.require(prompted.isComplete && prompted.failures.isEmpty, "the call made to enter OP-TEE through EL3 failed: \(prompted.failures.map(\.result))")
    }

    Test("\(RoutingCase.group0InEL3.title): raised in the GIC while CPU 0 is held in TF-A", timeout: .seconds(90)) { t in
      try await group0InEL3(t, bounds: reference.scaled(t.pace), table: table)
    }

    Test("\(RoutingCase.group0InSecure.title): raised in the GIC while a TA on CPU 0 makes a system call", timeout: .seconds(90)) { t in
      try await group0InSecureWorld(t, bounds: reference.scaled(t.pace), table: table)
    }

    Test("\(RoutingCase.group0InNormal.title): raised in the GIC for a CPU in Linux", timeout: .seconds(60)) { t in
      try await group0InNormalWorld(t, bounds: reference.scaled(t.pace), table: table)
    }

    // On a stack without a Group 0 interrupt it skips: it needs nothing there.
    Test("case 8, nested (optee_os#6010): a Group 0 interrupt raised while OP-TEE handles a Secure Group 1 one", timeout: .seconds(60),
      needs: { facts in Group0.present(facts) ? [.handover, .secureUARTInterrupt] : [] }) { t in
      try await group0DuringSecureHandler(t, bounds: reference.scaled(t.pace))
    }

    Test("secure timer: OP-TEE's test watchdog fires once a second while idle", timeout: .seconds(60), needs: { _ in [.handover] }) { t in
      try t.optee.require("CFG_NOTIF_TEST_WD", else: "this stack has no test watchdog")
      let probe = try t.optee.probe()
      let route = t.optee.route
      let (log, _) = try await probe.watching(["test_wd_callback"] + route.entrySymbols) { _ in try await t.run("sleep 6") }
      let fired = log.filter { $0.name == "test_wd_callback" }.map(\.at)
      let periods = zip(fired.dropFirst(), fired).map { ($0 - $1).seconds }
      let paths = route.paths(of: "test_wd_callback", in: log)
      t.note("test_wd_callback ran \(fired.count) times in 6 s; periods \(periods.map { $0.formatted(decimals: 3) }.joined(separator: ", ")) s; \(InterruptPath.summary(paths))")
      t.measure(Measured("test_wd_callback's periods", unit: "s", samples: periods, labels: periods.indices.map { "\($0 + 1)→\($0 + 2)" }))
      let mid = median(periods) ?? 0
      try t.require(fired.count >= 5, "the 1 s watchdog callout ran \(fired.count) times in 6 s")
      // A callout on a 1 s timer: the median may drift by a tick or two of the secure timer, one period by a
      // machine stop (each hit of the watch halts every CPU); both widen with a slower host.
      let (drift, jitter) = (t.pace.scaled(0.1), t.pace.scaled(0.35))
      try t.require(abs(mid - 1) <= drift && periods.allSatisfy { abs($0 - 1) <= jitter },
        "the watchdog's period is off: median \(mid.formatted(decimals: 3)) s, periods \(periods.map { $0.formatted(decimals: 3) })")
    }

    Test("the routing table", timeout: .seconds(10)) { t in
      for line in RoutingRow.table(await table.rows) { t.note(line) }
    }
  }
}

/// What the routing cases saw, for the table at the end of the suite.
actor RoutingLog {
  private(set) var rows: [RoutingRow] = []
  func record(_ row: RoutingRow) {
    rows.removeAll { $0.routingCase == row.routingCase }
    rows.append(row)
  }
}

/// The CPUs that executed `name`, as "0" or "0, 1".
func cpus(_ log: [WatchHit], _ name: String) -> String {
  Set(log.filter { $0.name == name }.map(\.cpu)).sorted().map(String.init).joined(separator: ", ")
}

/// Looks at CPU 0 up to 10 times until it is in S-EL0 (a look may find it in S-EL1, serving an interrupt): the
/// looks, and the vector table it uses there (nil when no look found it in user mode).
func userModeVectors(_ probe: SecureWorldProbe, _ t: TestContext) async throws -> (looks: [CPUStop], vbar: UInt64?) {
  var looks: [CPUStop] = []
  while looks.count < 10 {
    let (stop, vbar) = try await probe.vectorBase(cpu: 0)
    looks.append(stop)
    if stop.secure && stop.exceptionLevel == 0 { return (looks, vbar) }
    _ = try await t.run("sleep 0.05")
  }
  return (looks, nil)
}

/// Where a CPU was at each look: "EL0s EL1ns …".
func describe(_ looks: [CPUStop]) -> String {
  looks.map { "EL\($0.exceptionLevel)\($0.secure ? "s" : "ns")" }.joined(separator: " ")
}
