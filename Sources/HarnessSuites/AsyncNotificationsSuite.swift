import Foundation
import Guest
import GDBRemote
import HarnessSupport
import Reporting
import Suites

/// OP-TEE's asynchronous notifications end to end: a top half in secure interrupt context raises the
/// notification interrupt, Linux counts it and makes a yielding call, and the bottom half runs in a thread.
package let asyncNotificationsSuite = makeAsyncNotificationsSuite()

package func makeAsyncNotificationsSuite(bounds reference: SecureConsoleBounds = SecureConsoleBounds()) -> Suite {
  Suite("async-notifications", "top half → notification interrupt → bottom-half yielding call",
    unsupported: { facts in
      switch facts.asyncNotifications {
      case true: nil
      case false: "OP-TEE is built with CFG_CORE_ASYNC_NOTIF=n: it raises no notification interrupt"
      case nil: facts.unknown("CFG_CORE_ASYNC_NOTIF")
      }
    })
  {
    Test("discovery: the device tree, the driver and /proc/interrupts agree on the notification interrupt") { t in
      let intid = t.optee.notificationIntid
      let secureSaid = await t.secure.linesSinceBoot().contains {
        $0.text.contains("Asynchronous notifications are enabled") || $0.text.contains("Asynchronous notifications are ready")
      }
      if t.facts.transport == .ffa {
        // Over FF-A there is no device-tree node and the driver logs nothing: OP-TEE donates an SGI to the normal
        // world and hands its number to Linux's FF-A driver (FFA_FEATURES, schedule-receiver interrupt), which
        // requests it per CPU as ARM-FFA-SRI.
        let listed = try await t.interrupts.line(matching: t.interrupts.notificationName)
        t.note("FF-A: /proc/interrupts: \(listed.name); OP-TEE was built with INTID \(intid)")
        try t.require(listed.hardwareNumber == intid,
          "Linux's FF-A driver requested its schedule-receiver interrupt on \(listed.hardwareNumber.map { "INTID \($0)" } ?? listed.name), OP-TEE was built to donate INTID \(intid)")
        try t.require(secureSaid, "OP-TEE never said 'Asynchronous notifications are ready' on the secure console")
        return
      }
      let (cells, dt) = try await t.interrupts.notificationInDeviceTree()
      let driver = try await t.run("dmesg | grep -E 'optee: .*[Nn]otification'").lines
      let listed = try await t.interrupts.line(matching: t.interrupts.notificationName)
      t.note("device tree /firmware/optee interrupts = \(cells) → \(dt.map { "INTID \($0.intid), \($0.edge ? "edge" : "level")" } ?? "unreadable")")
      t.note("driver: \(driver.joined(separator: " | ")); /proc/interrupts: \(listed.name)")
      try t.require(dt?.intid == intid, "the device tree's notification interrupt is \(dt.map { "INTID \($0.intid)" } ?? cells), OP-TEE was built with \(intid)")
      try t.require(driver.contains { $0.contains("Asynchronous notifications enabled") }, "the driver did not log that asynchronous notifications are enabled", details: driver.joined(separator: "\n"))
      try t.require(listed.name.contains("\(intid)"), "/proc/interrupts does not list optee_notification on \(intid): \(listed.name)")
      try t.require(secureSaid, "OP-TEE never said 'Asynchronous notifications are enabled' on the secure console")
    }

    Test("a byte typed at the secure console: top half, one more notification, bottom half, in order", timeout: .seconds(120),
      needs: { _ in [.handover, .secureUARTInterrupt] }) { t in
      let probe = try t.optee.probe(), bounds = reference.scaled(t.pace)
      let text = "notify0123"
      // Linux's count is read inside the watch, so both count over (nearly) the same window.
      let (log, (typed, before, after)) = try await probe.watching(["console_itr_cb", "yielding_console_notif", "test_wd_callback", "notif_send_async"]) { _ in
        let before = try await t.interrupts.notifications()
        let typed = try await t.secureConsole.typeOneByOne(text)
        return (typed, before, try await t.interrupts.notifications())
      }
      let onConsole = t.secureConsole.clock()
      let chains = NotificationChain.chains(typed: typed,
        topHalves: log.filter { $0.name == "console_itr_cb" }.map { onConsole($0.at) },
        bottomHalves: log.filter { $0.name == "yielding_console_notif" }.map { onConsole($0.at) }, window: bounds.maxSeconds)
      let topHalves = log.count { $0.name == "console_itr_cb" }
      let watchdog = log.count { $0.name == "test_wd_callback" }
      let sent = log.count { $0.name == "notif_send_async" }, consoleSent = NotificationLinks.sends(by: "console_itr_cb", in: log)
      t.note("\(text.count) bytes: \(topHalves) top halves, OP-TEE sent \(sent) notifications, \(consoleSent) from the top half (the watchdog fired \(watchdog) times meanwhile), Linux counted +\(after - before), \(log.count { $0.name == "yielding_console_notif" }) bottom halves")
      for (name, step) in [("typed → top half", \NotificationChain.toTopHalf), ("top half → bottom half", \.toBottomHalf), ("top half → byte printed", \.toPrinted)] {
        let measured = chains.compactMap { chain in chain[keyPath: step].map { (byteLabel(chain.byte), $0) } }
        t.measure(Measured(name, unit: "s", samples: measured.map(\.1), labels: measured.map(\.0), bound: bounds.maxSeconds))
      }
      t.note("typed → top half \(spread(chains.compactMap(\.toTopHalf))); top half → bottom half \(spread(chains.compactMap(\.toBottomHalf))); top half → byte printed \(spread(chains.compactMap(\.toPrinted)))")
      // The console's own notifications are those its top half sent; Linux's count is of the one notification
      // interrupt every cause raises (the watchdog's too, about once a second), so it proves the link only.
      let links = NotificationLinks.console(in: log, counted: after - before)
      try t.require(links.firstBroken == nil, breaks: links.breaks, links.firstBroken ?? "")
      try t.require(typed.problems.isEmpty, "bytes typed at the secure console were not each read once, in order: \(typed.problems.joined(separator: "; "))")
      // A byte that a watchdog bottom half reads before its own interrupt is taken has no top half of its own — a
      // rare overlap (the UART interrupt is level-triggered). More than one in five means the bytes are being
      // picked up by the watchdog, not by their interrupt.
      let spared = min(watchdog, text.count / 5)
      let early = chains.filter(\.readBeforeItsInterrupt)
      try t.require(early.count <= spared,
        "\(early.count) bytes were printed before their top half ran (at most \(spared) may be read first by a watchdog bottom half; it ran \(watchdog) times): \(early.map(\.description).joined(separator: "; "))")
      try t.require(topHalves >= text.count - spared && topHalves <= text.count,
        "\(text.count) bytes ran the console's top half \(topHalves) times (one each, but for at most \(spared) a watchdog bottom half read first; the watchdog ran \(watchdog) times): the bytes were not delivered by their own interrupt")
      let latencies = typed.latencies.compactMap { $0 }
      try t.require((median(latencies) ?? .infinity) <= bounds.medianSeconds,
        "typed → read took \(typed.latencySummary) (bound median \(bounds.medianSeconds.formatted(decimals: 2)) s): something periodic picked the bytes up, not their interrupt")
      let broken = chains.filter { !$0.isComplete && $0.toTopHalf != nil && !$0.readBeforeItsInterrupt }
      try t.require(broken.isEmpty, "not every byte went top half → bottom half → printed, in that order: \(broken.map(\.description).joined(separator: "; "))")
      try t.require(consoleSent >= topHalves, "OP-TEE's console top half ran \(topHalves) times but sent only \(consoleSent) notifications")
      // One notification may be sent just before the count starts and land inside it.
      try t.require(after - before >= topHalves && after - before <= sent + 1,
        "Linux counted \(after - before) notification interrupts; OP-TEE sent \(sent), \(topHalves) of them from the console's top half")
      let late = chains.compactMap(\.toBottomHalf).filter { $0 > bounds.maxSeconds }
      try t.require(late.isEmpty, "the bottom half ran late: \(late.map { $0.formatted(decimals: 3) }) s after its top half (bound \(bounds.maxSeconds.formatted(decimals: 2)) s)")
    }

    Test("each notification's route, link by link: sent, its interrupt raised, fetched by Linux's driver, bottom half", timeout: .seconds(90),
      needs: { _ in [.handover, .secureUARTInterrupt] }) { t in
      let probe = try t.optee.probe()
      guard let transport = t.facts.transport else { try t.skip(t.facts.unknown("CFG_CORE_FFA")) }
      // The route is the transport's (learned from the stack): an SPI and OPTEE_SMC_GET_ASYNC_NOTIF_VALUE on the SMC
      // stack; the donated SGI, FFA_NOTIFICATION_INFO_GET and FFA_NOTIFICATION_GET over FF-A.
      let route = NotificationRoute(transport: transport, intid: t.optee.notificationIntid)
      // The watchdog's callouts are watched too: its notifications are then never taken for the console's.
      let others = ["test_wd_callback"].filter { (try? probe.address(of: $0)) != nil }
      let text = "route"
      let (log, typed) = try await probe.watching(["console_itr_cb", "yielding_console_notif"] + others + route.symbols, reading: route.reading) { _ in
        try await t.secureConsole.typeOneByOne(text)
      }
      let traces = route.traces(of: "console_itr_cb", bottomHalf: "yielding_console_notif", in: log)
      var steps: [String: [Double]] = [:], order: [String] = []
      for trace in traces {
        for (name, seconds) in route.steps(of: trace) {
          if steps[name] == nil { order.append(name) }
          steps[name, default: []].append(seconds)
        }
      }
      for name in order { t.measure(Measured(name, unit: "s", samples: steps[name]!)) }
      t.note("\(transport.rawValue): \(text.count) bytes, \(traces.count) top halves; \(order.map { "\($0) \(spread(steps[$0]!))" }.joined(separator: "; "))")
      let raisedAs = Set(traces.compactMap(\.raisedAs)).sorted()
      if !raisedAs.isEmpty { t.note("OP-TEE raised \(raisedAs.map { "INTID \($0)" }.joined(separator: ", ")) (\(route.raise)); the notification interrupt is \(route.interrupt)") }
      try t.require(!traces.isEmpty,
        "no byte typed at the secure console ran its top half (console_itr_cb): \(typed.problems.isEmpty ? "they were read, but not by their interrupt" : typed.problems.joined(separator: "; "))")
      let (cause, bottomHalf) = ("the secure console's top half (console_itr_cb)", "yielding_console_notif")
      let broken = route.firstBroken(traces, cause: cause, bottomHalf: bottomHalf)
      try t.require(broken == nil, breaks: route.breaks(traces, cause: cause, bottomHalf: bottomHalf), broken ?? "")
    }

    Test("the test watchdog's bottom half runs every period", timeout: .seconds(60), needs: { _ in [.handover] }) { t in
      try t.optee.require("CFG_NOTIF_TEST_WD", else: "this stack has no test watchdog")
      let probe = try t.optee.probe()
      let from = t.secure.now()
      let before = try await t.interrupts.notifications()
      let (log, _) = try await probe.watching(["test_wd_callback", "wd_ndrv_yielding_cb", "notif_send_async"]) { _ in try await t.run("sleep 5") }
      let after = try await t.interrupts.notifications()
      let calls = log.count { $0.name == "test_wd_callback" }, bottoms = log.count { $0.name == "wd_ndrv_yielding_cb" }
      // Timeouts counted before this test began (a restored machine's clock jump, an earlier test that held every
      // thread) are not this test's: only a count that rises during it is.
      let lines = await t.secure.lines()
      let earlier = lines.filter { $0.time < from }.compactMap { WatchdogLine(parsing: $0.text)?.timeouts }.max() ?? 0
      let timeouts = lines.filter { $0.time >= from }.compactMap { WatchdogLine(parsing: $0.text) }.filter { $0.timeouts > earlier }
      let sent = NotificationLinks.sends(by: "test_wd_callback", in: log)
      t.note("in 5 s: watchdog callouts \(calls), notifications sent by them \(sent), counted by Linux +\(after - before), its bottom halves \(bottoms); timeouts counted before the test \(earlier), new timeout lines \(timeouts.count)")
      try t.require((4...6).contains(calls), "the watchdog's callout ran \(calls) times in 5 s: OP-TEE's secure timer does not fire once a second")
      let links = NotificationLinks(cause: "the watchdog's callout (test_wd_callback)", causes: calls, sent: sent, counted: after - before,
        bottomHalf: "wd_ndrv_yielding_cb", bottomHalves: bottoms)
      try t.require(links.firstBroken == nil, breaks: links.breaks, links.firstBroken ?? "")
      try t.require(after - before >= calls - 1, "\(calls) callouts but Linux counted only \(after - before) notifications: notification interrupts are being lost")
      try t.require(bottoms >= calls - 1, "\(calls) callouts and \(after - before) notifications but only \(bottoms) bottom halves: bottom halves are being lost")
      try t.require(timeouts.isEmpty, "the watchdog timed out: \(timeouts.map(\.text).joined(separator: "; "))")
    }

    Test("every thread busy: the top half runs at once, the bottom half waits for a free thread", timeout: .seconds(120),
      needs: StackLink.secureConsoleReadsFromNormalWorld) { t in
      let probe = try t.optee.probe()
      let n = try t.optee.threads(), ms = 4000
      let text = "busy!"
      let calls = try await t.client.start(n, "wait", ms: ms, tag: "notif-busy")
      try await t.client.waitUntilInvoking(calls, count: n)
      let invoking = ContinuousClock.now
      let before = try await t.interrupts.notifications()
      let (log, (typed, table)) = try await probe.watching(["console_itr_cb", "yielding_console_notif", "notif_send_async", "test_wd_callback"]) { watch in
        let table = try await watch.threadTable()
        // Read by the time the bottom half must have run (below): waiting longer only delays the verdict.
        let due = Duration.seconds(Double(ms) / 1000 + t.pace.scaled(5)) - (ContinuousClock.now - invoking)
        return (try await t.secureConsole.typeBurst(text, within: max(due, .seconds(1))), table)
      }
      let timeline = try await t.client.finish(calls)
      let counted = try await t.interrupts.notifications() - before
      let top = log.first { $0.name == "console_itr_cb" }?.at
      let bottom = log.first { $0.name == "yielding_console_notif" && $0.at > (top ?? invoking) }?.at
      func since(_ a: ContinuousClock.Instant?) -> String { a.map { ($0 - invoking).seconds.formatted(decimals: 3) } ?? "never" }
      t.note("\(n) threads busy with \(ms) ms waits (\(table.map(\.description).joined(separator: ", "))); after they were invoking: top half at \(since(top)) s, bottom half at \(since(bottom)) s; typed → read \(typed.latencySummary)")
      try t.require(timeline.isComplete && timeline.failures.isEmpty, "the waiting calls failed: \(timeline.failures.map(\.result))")
      try t.require(table.allSatisfy { !$0.isFree }, "a thread was free: the calls did not take every thread (\(table))")
      // Lost bytes are named by the link that broke: no top half, or a top half and no bottom half at all.
      try t.require(typed.problems.isEmpty || top != nil,
        "the console's top half (console_itr_cb) never ran for bytes typed while every thread was busy: \(typed.problems.joined(separator: "; "))")
      // Which link lost them: the notification, its interrupt, or the bottom half.
      let links = NotificationLinks(cause: "the secure console's top half (console_itr_cb)", causes: log.count { $0.name == "console_itr_cb" },
        sent: NotificationLinks.sends(by: "console_itr_cb", in: log), counted: counted, bottomHalf: "yielding_console_notif",
        bottomHalves: bottom == nil ? 0 : 1)
      try t.require(typed.problems.isEmpty || bottom != nil, breaks: links.breaks,
        "while every thread was busy: \(links.firstBroken ?? "the top half ran at \(since(top)) s but no bottom half (yielding_console_notif) ran"), even once the threads were free: \(typed.problems.joined(separator: "; "))")
      try t.require(typed.problems.isEmpty, "bytes typed while every thread was busy were lost: \(typed.problems.joined(separator: "; "))")
      let topAfter = top.map { ($0 - invoking).seconds } ?? .infinity
      let bottomAfter = bottom.map { ($0 - invoking).seconds } ?? .infinity
      try t.require(topAfter < Double(ms) / 1000 - 1, "the top half did not run while every thread was busy (at \(since(top)) s)")
      try t.require(bottomAfter >= Double(ms) / 1000 - 1 && bottomAfter <= Double(ms) / 1000 + t.pace.scaled(5),
        "the bottom half should wait for a free thread (the waits end \(ms / 1000) s after they started) and then run: it ran at \(since(bottom)) s")
    }
  }
}
